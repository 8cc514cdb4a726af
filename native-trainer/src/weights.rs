//! Reading reference weights: safetensors files with PyTorch names, and PyTorch /
//! PyTorch-Lightning checkpoints (`state_dict` with a `net.` prefix, as MIR-L saves them).
//!
//! Checkpoints are read with `pytorch-reader`, which interprets pickle data without executing
//! any of it: a checkpoint cannot run code here, unlike `torch.load` in Python.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use mirl::config::UNUSED_MODULES;
use mirl::params::{HostTensor, NamedParams, StoredFloat};

/// What an import kept and dropped.
pub struct Loaded {
    pub params: NamedParams,
    /// Tensors of modules the reference defines but never uses.
    pub dropped: Vec<String>,
    /// The prefix removed from every name ("net.", "module." or "").
    pub prefix: String,
}

/// Reads every tensor of a weights file, strips a common wrapper prefix and drops the
/// reference's unused modules.
pub fn load(path: &Path) -> Result<Loaded> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let raw = if safetensors::SafeTensors::deserialize(&bytes).is_ok() {
        read_safetensors(&bytes)?
    } else {
        drop(bytes);
        read_pytorch(path).with_context(|| {
            format!(
                "{} is neither a safetensors file nor a readable PyTorch checkpoint",
                path.display()
            )
        })?
    };
    if raw.is_empty() {
        bail!("{} holds no tensors", path.display());
    }
    let prefix = ["net.", "module.", "model."]
        .into_iter()
        .find(|p| raw.iter().all(|(n, _)| n.starts_with(p)))
        .unwrap_or("")
        .to_string();
    let mut params = NamedParams::new();
    let mut dropped = Vec::new();
    for (name, t) in raw {
        let name = name[prefix.len()..].to_string();
        if UNUSED_MODULES
            .iter()
            .any(|m| name.starts_with(&format!("{m}.")))
        {
            dropped.push(name);
        } else {
            params.insert(name, t);
        }
    }
    Ok(Loaded {
        params,
        dropped,
        prefix,
    })
}

fn read_safetensors(bytes: &[u8]) -> Result<Vec<(String, HostTensor)>> {
    let st = safetensors::SafeTensors::deserialize(bytes)?;
    st.tensors()
        .into_iter()
        .map(|(name, view)| Ok((name.clone(), HostTensor::from_safetensors(&name, &view)?)))
        .collect()
}

fn read_pytorch(path: &Path) -> Result<Vec<(String, HostTensor)>> {
    use pytorch_reader::{DType as D, PytorchReader};
    // Lightning checkpoints keep the weights under "state_dict" beside epoch counters and
    // optimizer state; plain `torch.save(model.state_dict())` files have them at the top.
    let reader = match PytorchReader::with_top_level_key(path, "state_dict") {
        Ok(r) => r,
        Err(_) => PytorchReader::new(path).map_err(|e| anyhow!("{e}"))?,
    };
    let mut out = Vec::new();
    for (name, t) in reader.into_tensors() {
        let raw = t.read()?;
        let float = match t.dtype() {
            D::F32 => StoredFloat::F32,
            D::F16 => StoredFloat::F16,
            D::BF16 => StoredFloat::BF16,
            D::F64 => StoredFloat::F64,
            other => bail!("{name} has dtype {other:?}; weights must be floating point"),
        };
        out.push((
            name,
            HostTensor::new(t.shape().to_vec(), float.decode(&raw)),
        ));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}
