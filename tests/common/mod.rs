//! Helpers shared by the integration tests: where ../shared lives and fixture loading.
#![allow(dead_code)]

use std::path::PathBuf;

use safetensors::SafeTensors;

#[path = "shared.rs"]
mod shared_dir;
pub use shared_dir::shared;

pub fn fixture(name: &str) -> PathBuf {
    shared().join("fixtures").join(name)
}

/// Reads an f32 tensor from a safetensors file: (shape, values).
pub fn read_tensor(path: &std::path::Path, name: &str) -> (Vec<usize>, Vec<f32>) {
    let bytes =
        std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let t = mirl::params::HostTensor::from_safetensors(name, &st.tensor(name).unwrap()).unwrap();
    (t.shape, t.data)
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}
