//! The browser tests (`tests/web.rs`) embed the reference fixtures at compile time, as a page
//! has no file system: tell them where the shared folder is (`$MIRL_SHARED`, or `../shared`
//! beside the repository, as the native tests read it).
fn main() {
    println!("cargo:rerun-if-env-changed=MIRL_SHARED");
    // CARGO_MANIFEST_DIR read when the script runs, not when it was compiled: a build
    // directory shared between checkouts reuses the compiled script.
    let shared = std::env::var("MIRL_SHARED").unwrap_or_else(|_| {
        let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
        format!("{manifest}/../shared")
    });
    println!("cargo:rustc-env=MIRL_SHARED_DIR={shared}");
}
