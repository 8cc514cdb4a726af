//! The network config (the JSON schema of PromptIR's `config.json`), its presets and the
//! bounds on its fields. What a config implies (parameter shapes, compute, the checks that
//! need them) is read from the network itself, in `model::layout`.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Size of one prompt block's learned prompt: `dim` channels of `size` x `size` pixels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PromptSpec {
    pub dim: usize,
    pub size: usize,
}

/// PromptIR's hyper-parameters. Field names and meaning follow the reference's config.json.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PromptIrConfig {
    /// Channels at level 1 (`d`); levels 2, 3 and the latent use 2d, 4d and 8d.
    pub dim: usize,
    /// Transformer blocks at levels 1..3 and in the latent.
    pub num_blocks: [usize; 4],
    /// Transformer blocks in the refinement stage.
    pub num_refinement_blocks: usize,
    /// Attention heads at levels 1..3 and in the latent.
    pub heads: [usize; 4],
    /// GDFN hidden width = floor(C * factor).
    pub ffn_expansion_factor: f64,
    /// Number of learned prompt components mixed per prompt block.
    pub prompt_len: usize,
    /// The three prompt blocks, from the finest decoder level (prompt1) to the coarsest.
    pub prompts: [PromptSpec; 3],
    /// mirl's extension: the network also takes the JPEG quantization as input, two constant
    /// planes after R, G and B ([`crate::jpeg_file::quality_planes`]), as QGCN takes the
    /// tables. Absent (false) in the reference's configs.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub quality_map: bool,
}

/// Upper bounds that keep a hostile or corrupt config from allocating absurd amounts of memory.
pub const MAX_DIM: usize = 512;
pub const MAX_BLOCKS: usize = 64;
pub const MAX_HEADS: usize = 64;
pub const MAX_PROMPT_LEN: usize = 64;
pub const MAX_PROMPT_DIM: usize = 2048;
pub const MAX_PROMPT_SIZE: usize = 256;
pub const MAX_FFN_FACTOR: f64 = 16.0;
/// No supported network has more parameters than this (the paper's has 35.4M).
pub const MAX_PARAMETERS: usize = 500_000_000;

/// Names of the presets accepted by [`PromptIrConfig::preset`].
pub const PRESETS: [&str; 3] = ["paper", "small", "tiny"];

impl PromptIrConfig {
    /// The reference's network with these hyper-parameters.
    pub fn new(
        dim: usize,
        num_blocks: [usize; 4],
        num_refinement_blocks: usize,
        heads: [usize; 4],
        ffn_expansion_factor: f64,
        prompt_len: usize,
        prompts: [PromptSpec; 3],
    ) -> Self {
        Self {
            dim,
            num_blocks,
            num_refinement_blocks,
            heads,
            ffn_expansion_factor,
            prompt_len,
            prompts,
            quality_map: false,
        }
    }

    /// A named preset:
    /// - `paper`: the network of PromptIR and MIR-L (35,376,967 parameters, 5.27 TFLOP/MP).
    /// - `small`: dim 16, blocks `[1, 1, 1, 2]` (the promptir-tiny fixture's config), 1,494,342
    ///   parameters: trains on a laptop CPU and runs in a browser.
    /// - `tiny`: dim 8, one block per level: for tests and quick experiments.
    pub fn preset(name: &str) -> Result<Self> {
        let p = |dim, size| PromptSpec { dim, size };
        Ok(match name {
            "paper" => Self::new(
                48,
                [4, 6, 6, 8],
                4,
                [1, 2, 4, 8],
                2.66,
                5,
                [p(64, 64), p(128, 32), p(320, 16)],
            ),
            "small" => Self::new(
                16,
                [1, 1, 1, 2],
                1,
                [1, 2, 4, 8],
                2.66,
                5,
                [p(16, 16), p(32, 8), p(64, 4)],
            ),
            "tiny" => Self::new(
                8,
                [1, 1, 1, 1],
                1,
                [1, 2, 4, 8],
                2.0,
                3,
                [p(8, 16), p(16, 8), p(32, 4)],
            ),
            other => {
                return Err(Error::Config(format!(
                    "unknown preset {other:?} (known: {})",
                    PRESETS.join(", ")
                )))
            }
        })
    }

    /// Parses and validates a config from JSON text.
    pub fn from_json(text: &str) -> Result<Self> {
        let config: Self = serde_json::from_str(text).map_err(Error::ConfigJson)?;
        config.validate()?;
        Ok(config)
    }

    /// The config as compact JSON (the form stored in tickets).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a config always serialises")
    }

    /// Channels the network takes: R, G, B, and the quality planes where it reads them.
    pub fn in_channels(&self) -> usize {
        3 + if self.quality_map {
            crate::jpeg_file::QUALITY_PLANES
        } else {
            0
        }
    }

    /// GDFN hidden width for `channels` input channels: `int(C * f)` as the reference computes it.
    pub fn ffn_hidden(&self, channels: usize) -> usize {
        (channels as f64 * self.ffn_expansion_factor) as usize
    }

    /// Peak bytes the CPU backend's activations take per input pixel in a forward pass: an
    /// upper bound with some margin, checked against the measured peak in `tests/memory.rs`.
    /// The widest full-resolution features are the decoder's first level fused with its
    /// prompt (2 dim + prompt channels); about eight f32 tensors of that width are alive at
    /// the peak.
    pub fn activation_bytes_per_pixel(&self) -> u64 {
        activation_bytes_per_pixel(self.dim, self.prompts[0].dim)
    }

    /// The rules on the fields alone: what building the (uninitialised) network needs
    /// ([`PromptIrConfig::validate`], in `model::layout`, checks the rest).
    pub(crate) fn check_bounds(&self) -> Result<()> {
        let bad = |msg: String| Err(Error::Config(msg));
        let d = self.dim;
        if d == 0 || d > MAX_DIM || !d.is_multiple_of(2) {
            return bad(format!("dim {d} must be even and in 2..={MAX_DIM}"));
        }
        for (i, &n) in self.num_blocks.iter().enumerate() {
            if n == 0 || n > MAX_BLOCKS {
                return bad(format!("num_blocks[{i}] = {n} must be in 1..={MAX_BLOCKS}"));
            }
        }
        if self.num_refinement_blocks > MAX_BLOCKS {
            return bad(format!(
                "num_refinement_blocks = {} exceeds {MAX_BLOCKS}",
                self.num_refinement_blocks
            ));
        }
        for (i, &h) in self.heads.iter().enumerate() {
            if h == 0 || h > MAX_HEADS {
                return bad(format!("heads[{i}] = {h} must be in 1..={MAX_HEADS}"));
            }
        }
        let f = self.ffn_expansion_factor;
        if !(f.is_finite() && f > 0.0 && f <= MAX_FFN_FACTOR) {
            return bad(format!(
                "ffn_expansion_factor {f} must be in (0, {MAX_FFN_FACTOR}]"
            ));
        }
        if self.prompt_len == 0 || self.prompt_len > MAX_PROMPT_LEN {
            return bad(format!(
                "prompt_len {} must be in 1..={MAX_PROMPT_LEN}",
                self.prompt_len
            ));
        }
        for (i, p) in self.prompts.iter().enumerate() {
            if p.dim == 0 || p.dim > MAX_PROMPT_DIM || p.size == 0 || p.size > MAX_PROMPT_SIZE {
                return bad(format!(
                    "prompts[{i}] = {{dim {}, size {}}} must have dim in 1..={MAX_PROMPT_DIM} and size in 1..={MAX_PROMPT_SIZE}",
                    p.dim, p.size
                ));
            }
        }
        // The narrowest transformer block has `dim` channels (encoder level 1).
        if self.ffn_hidden(d) == 0 {
            return bad(format!(
                "ffn_expansion_factor {f} leaves no hidden width for dim {d}"
            ));
        }
        Ok(())
    }
}

/// Whether MIR-L prunes a parameter: every parameter whose name contains "weight".
pub fn is_prunable(name: &str) -> bool {
    name.contains("weight")
}

/// Modules the reference defines but never uses; present in its checkpoints, ignored on import.
pub const UNUSED_MODULES: [&str; 6] = [
    "chnl_reduce1",
    "chnl_reduce2",
    "chnl_reduce3",
    "reduce_noise_channel_1",
    "reduce_noise_channel_2",
    "reduce_noise_channel_3",
];

/// [`PromptIrConfig::activation_bytes_per_pixel`] of a network whose first level has `dim`
/// channels and whose first prompt `prompt_dim` (a built network knows both).
pub(crate) fn activation_bytes_per_pixel(dim: usize, prompt_dim: usize) -> u64 {
    32 * (2 * dim + prompt_dim) as u64
}
