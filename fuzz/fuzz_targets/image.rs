//! Any bytes as a photo: decoded as the command line does (PNG, JPEG, BMP, WebP, TIFF; size checked before
//! the pixels), then through the restore pipeline with an identity network, which must give
//! back the decoded image's size and layout.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mirl::pipeline::{decode, Options, Restoration, TileSize};
use mirl::tasks::Tasks;

fuzz_target!(|bytes: &[u8]| {
    let Ok(img) = decode(bytes) else { return };
    let mut job = Restoration::new(&img, &Options::new(Tasks::all(), TileSize::Side(64))).expect("a decoded image is within the limits");
    for i in 0..job.tiles().len() {
        let (data, _) = job.tile_input(i);
        job.add_tile_output(i, &data).expect("tile outputs of the right size");
    }
    let (out, _) = job.finish().expect("every tile ran");
    assert_eq!((out.width(), out.height()), (img.width(), img.height()));
});
