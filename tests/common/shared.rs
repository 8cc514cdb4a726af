//! Where the shared folder is, for the integration tests of both crates (each includes this
//! file): the reference fixtures and the photos live outside the repository.

use std::path::{Path, PathBuf};

/// The shared folder: `$MIRL_SHARED`, or `shared` beside the repository. A missing one is
/// named with what it should hold and how to point at it.
pub fn shared() -> PathBuf {
    let dir = std::env::var_os("MIRL_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| repository().join("../shared"));
    let missing: Vec<&str> = ["fixtures", "data"]
        .into_iter()
        .filter(|sub| !dir.join(sub).is_dir())
        .collect();
    assert!(
        missing.is_empty(),
        "the shared folder lacks {}: expected {} to hold fixtures/ and data/ (set MIRL_SHARED to the folder that does)",
        missing.join(" and "),
        dir.display()
    );
    dir
}

/// The repository's root: the folder above the crate's manifest that holds Cargo.lock.
fn repository() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .unwrap_or(manifest)
        .to_path_buf()
}
