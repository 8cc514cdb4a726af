//! The browser tests (`tests/web.rs`) embed the reference fixtures at compile time, as a page
//! has no file system: tell them where the shared folder is (`$MIRL_SHARED`, or `../shared`
//! beside the repository, as the native tests read it), or that it is missing.
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-env-changed=MIRL_SHARED");
    println!("cargo::rustc-check-cfg=cfg(mirl_no_shared)");
    // The default is relative to tests/web.rs (include_bytes! resolves it from there), not an
    // absolute path: a build folder shared between checkouts reuses this script's output.
    let (shared, from_tests) = match std::env::var("MIRL_SHARED") {
        Ok(dir) => {
            let dir = std::path::absolute(&dir).unwrap_or_else(|_| dir.into());
            (dir.clone(), dir.display().to_string())
        }
        Err(_) => {
            let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it");
            (
                Path::new(&manifest).join("../shared"),
                "../../shared".into(),
            )
        }
    };
    println!("cargo:rustc-env=MIRL_SHARED_DIR={from_tests}");
    if !shared.join("fixtures/promptir-tiny").is_dir() {
        println!("cargo:rustc-cfg=mirl_no_shared");
    }
}
