//! The browser tests (`tests/web.rs`) embed the reference fixtures at compile time, as a page
//! has no file system: tell them where the shared folder is (`$MIRL_SHARED`, or `../shared`
//! beside the repository, as the native tests read it).
fn main() {
    println!("cargo:rerun-if-env-changed=MIRL_SHARED");
    let shared = std::env::var("MIRL_SHARED")
        .unwrap_or_else(|_| format!("{}/../shared", env!("CARGO_MANIFEST_DIR")));
    println!("cargo:rustc-env=MIRL_SHARED_DIR={shared}");
}
