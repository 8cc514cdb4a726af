//! Helpers shared by the command-line tests: the shared folder and running the binary.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::{Command, Output};

/// The shared folder (fixtures, data): `$MIRL_SHARED`, or `../shared` beside the repository.
pub fn shared() -> PathBuf {
    let dir = std::env::var_os("MIRL_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    assert!(
        dir.join("fixtures").is_dir() && dir.join("data").is_dir(),
        "the shared fixtures and data are missing: expected {0}/fixtures and {0}/data (set MIRL_SHARED)",
        dir.display()
    );
    dir
}

pub fn fixture(path: &str) -> PathBuf {
    shared().join("fixtures").join(path)
}

/// Runs native-trainer, echoing its stderr into the test's output.
pub fn cli(args: &[&dyn AsRef<OsStr>]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_native-trainer"))
        .args(args.iter().map(|a| a.as_ref()))
        .output()
        .unwrap();
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    out
}

/// Runs native-trainer, expecting success; returns stdout.
pub fn ok(args: &[&dyn AsRef<OsStr>]) -> String {
    let out = cli(args);
    assert!(
        out.status.success(),
        "native-trainer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs native-trainer, expecting a clean failure (status 2, no panic); returns stderr.
pub fn err(args: &[&dyn AsRef<OsStr>]) -> String {
    let out = cli(args);
    assert_eq!(
        out.status.code(),
        Some(2),
        "expected a clean failure, got {:?}",
        out.status
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}
