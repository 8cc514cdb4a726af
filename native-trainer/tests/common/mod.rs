//! Helpers shared by the command-line tests: the shared folder and running the binary.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "../../../tests/common/shared.rs"]
mod shared_dir;
pub use shared_dir::shared;

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

/// A training folder of 4 CBSD432 photos (3 to train on, 1 held out), copied into `dir`.
pub fn training_photos(dir: &Path) -> PathBuf {
    let src = shared().join("data/train/cbsd432");
    let mut photos: Vec<PathBuf> = std::fs::read_dir(&src)
        .unwrap_or_else(|e| panic!("the training photos are missing: {}: {e}", src.display()))
        .map(|e| e.unwrap().path())
        .collect();
    photos.sort();
    let out = dir.join("photos");
    std::fs::create_dir_all(&out).unwrap();
    for p in photos.iter().take(4) {
        std::fs::copy(p, out.join(p.file_name().unwrap())).unwrap();
    }
    out
}

/// Where a run stands, read from its checkpoint: (round, step, done).
pub fn progress(out: &Path) -> Option<(u64, u64, bool)> {
    let bytes = std::fs::read(out.join("checkpoint.safetensors")).ok()?;
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).ok()?;
    let p: serde_json::Value =
        serde_json::from_str(header.metadata().as_ref()?.get("progress")?).ok()?;
    Some((
        p["round"].as_u64()?,
        p["step"].as_u64()?,
        p["done"].as_bool()?,
    ))
}
