//! Any bytes as a `.mirl` ticket: an error or a ticket, never a panic or an allocation beyond
//! what the config's bounds allow.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mirl::ticket::Ticket;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(ticket) = Ticket::from_bytes(bytes) {
        // A ticket that reads must also describe itself and write back to one that reads.
        Ticket::inspect(bytes).expect("a ticket that reads can be inspected");
        let again = ticket.to_bytes().expect("a ticket that reads can be written");
        Ticket::from_bytes(&again).expect("a written ticket reads back");
    }
});
