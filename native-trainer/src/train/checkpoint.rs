//! The run's checkpoint: everything a killed run needs to go on exactly as if it had not been
//! killed (settings, position, masks, initial and rewind weights, model and AdamW state), in
//! one safetensors file that is replaced atomically, so a crash or a full disk leaves the last
//! good one in place.

use std::collections::HashMap;

use anyhow::{bail, ensure, Context, Result};
use mirl::params::{f32_le_bytes, HostTensor, NamedParams};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};

use super::masks::Masks;
use super::report::RoundReport;

pub const FILE: &str = "checkpoint.safetensors";
const FORMAT: &str = "mirl-checkpoint";
const VERSION: &str = "1";

/// Where the run stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// The round in progress.
    pub round: u32,
    /// Steps of that round already taken.
    pub step: u64,
    /// Wall time spent in that round so far, in seconds.
    pub round_seconds: f64,
    /// Losses of the round's most recent steps, for its final loss.
    pub losses: Vec<f32>,
    /// Finished rounds.
    pub rows: Vec<RoundReport>,
    /// Whether every round has finished.
    pub done: bool,
    /// Seconds per round of a timed run, once settled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round_secs: Option<f64>,
}

pub struct Checkpoint {
    /// The run's settings as JSON, to refuse resuming with different ones.
    pub settings: serde_json::Value,
    pub progress: Progress,
    pub masks: Masks,
    /// The weights at step 0.
    pub init: NamedParams,
    /// With late rewinding, the weights at the rewind step once it has been reached.
    pub rewind_to: Option<NamedParams>,
    /// burn records (named MessagePack) of the model and of the optimizer.
    pub model: Vec<u8>,
    pub optim: Vec<u8>,
}

impl Checkpoint {
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut tensors: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
        for (name, keep) in &self.masks.keep {
            let bytes = keep.iter().map(|&k| k as u8).collect();
            tensors.push((format!("mask/{name}"), Dtype::U8, vec![keep.len()], bytes));
        }
        let mut add_params = |prefix: &str, params: &NamedParams| {
            for (name, t) in params {
                tensors.push((
                    format!("{prefix}/{name}"),
                    Dtype::F32,
                    t.shape.clone(),
                    f32_le_bytes(&t.data),
                ));
            }
        };
        add_params("init", &self.init);
        if let Some(r) = &self.rewind_to {
            add_params("rewind", r);
        }
        for (name, bytes) in [("model", &self.model), ("optim", &self.optim)] {
            tensors.push((name.into(), Dtype::U8, vec![bytes.len()], bytes.clone()));
        }
        let metadata = HashMap::from([
            ("format".to_string(), FORMAT.to_string()),
            ("version".to_string(), VERSION.to_string()),
            ("settings".to_string(), self.settings.to_string()),
            (
                "progress".to_string(),
                serde_json::to_string(&self.progress)?,
            ),
        ]);
        let views: Vec<(String, TensorView<'_>)> = tensors
            .iter()
            .map(|(name, dtype, shape, bytes)| {
                Ok((name.clone(), TensorView::new(*dtype, shape.clone(), bytes)?))
            })
            .collect::<Result<_>>()?;
        Ok(safetensors::serialize(views, Some(metadata))?)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let (_, header) =
            SafeTensors::read_metadata(bytes).context("not a checkpoint (bad header)")?;
        let meta = header.metadata().clone().unwrap_or_default();
        ensure!(
            meta.get("format").map(String::as_str) == Some(FORMAT),
            "not a mirl training checkpoint"
        );
        if meta.get("version").map(String::as_str) != Some(VERSION) {
            bail!(
                "checkpoint version {:?} is not supported (this build reads {VERSION})",
                meta.get("version")
            );
        }
        let settings = serde_json::from_str(meta.get("settings").context("no settings")?)?;
        let progress = serde_json::from_str(meta.get("progress").context("no progress")?)?;
        let st = SafeTensors::deserialize(bytes).context("the checkpoint is damaged")?;
        let mut masks = Masks::default();
        let mut init = NamedParams::new();
        let mut rewind = NamedParams::new();
        let (mut model, mut optim) = (None, None);
        for (name, view) in st.tensors() {
            let data = view.data();
            if let Some(param) = name.strip_prefix("mask/") {
                masks
                    .keep
                    .insert(param.to_string(), data.iter().map(|&b| b != 0).collect());
            } else if let Some(param) = name.strip_prefix("init/") {
                init.insert(
                    param.to_string(),
                    HostTensor::from_safetensors(&name, &view)?,
                );
            } else if let Some(param) = name.strip_prefix("rewind/") {
                rewind.insert(
                    param.to_string(),
                    HostTensor::from_safetensors(&name, &view)?,
                );
            } else if name == "model" {
                model = Some(data.to_vec());
            } else if name == "optim" {
                optim = Some(data.to_vec());
            }
        }
        Ok(Self {
            settings,
            progress,
            masks,
            init,
            rewind_to: (!rewind.is_empty()).then_some(rewind),
            model: model.context("the checkpoint has no model state")?,
            optim: optim.context("the checkpoint has no optimizer state")?,
        })
    }
}

/// The settings that differ between a run and a resume attempt, as "key: was A, now B".
pub fn differences(was: &serde_json::Value, now: &serde_json::Value) -> Vec<String> {
    let (Some(was), Some(now)) = (was.as_object(), now.as_object()) else {
        return vec!["the settings are unreadable".into()];
    };
    let mut keys: Vec<&String> = was.keys().chain(now.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| was.get(*k) != now.get(*k))
        .map(|k| {
            let show = |v: Option<&serde_json::Value>| {
                v.map_or("(unset)".to_string(), |v| {
                    let s = v.to_string();
                    if s.chars().count() > 80 {
                        format!("{}...", s.chars().take(77).collect::<String>())
                    } else {
                        s
                    }
                })
            };
            format!(
                "{k}: the run has {}, now {}",
                show(was.get(k)),
                show(now.get(k))
            )
        })
        .collect()
}
