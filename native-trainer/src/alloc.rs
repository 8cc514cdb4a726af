//! The process's allocator: mimalloc, told to keep the memory it frees.
//!
//! A training step or a restore allocates and frees tensors of the same sizes over and over.
//! glibc's malloc returns large blocks to the system, and mimalloc by default purges freed pages
//! after a delay that a step outlasts; either way each reuse costs a page fault per 4 KiB page,
//! which `bench/profile.sh` measured at 29% of a training step at 64² and two thirds of a
//! one-thread restore. Kept, the process's memory stays at its peak, which it reaches anyway.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc 3's `mi_option_purge_delay` (its `mimalloc.h`), which libmimalloc-sys does not name.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Never return freed pages to the system (a purge delay of −1).
pub fn keep_freed_memory() {
    // SAFETY: setting an option is allowed at any time, from any thread.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, -1) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_option_set_is_the_purge_delay() {
        // Read before any test sets it: the purge delay's default, 1,000 ms in mimalloc 3.
        // Another option here would mean that the pinned version's numbering changed.
        assert_eq!(unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) }, 1000);
        keep_freed_memory();
        assert_eq!(unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) }, -1);
    }
}
