//! The network config (the JSON schema of PromptIR's `config.json`), its presets, and the
//! shapes of every parameter it implies, computed without allocating anything.

use crate::error::{Error, Result};
use burn::config::Config;

/// Size of one prompt block's learned prompt: `dim` channels of `size` x `size` pixels.
#[derive(Config, Debug, PartialEq)]
pub struct PromptSpec {
    pub dim: usize,
    pub size: usize,
}

/// PromptIR's hyper-parameters. Field names and meaning follow the reference's config.json.
#[derive(Config, Debug, PartialEq)]
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
        32 * (2 * self.dim + self.prompts[0].dim) as u64
    }

    /// Checks every bound and divisibility rule; run before anything is allocated.
    pub fn validate(&self) -> Result<()> {
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
        for (channels, heads, what) in self.attention_layouts() {
            if channels % heads != 0 {
                return bad(format!(
                    "{what} has {channels} channels, not divisible by its {heads} heads"
                ));
            }
            if self.ffn_hidden(channels) == 0 {
                return bad(format!("{what}: ffn hidden width rounds to 0"));
            }
        }
        let total: usize = self
            .parameter_shapes()
            .iter()
            .map(|(_, s)| s.iter().product::<usize>())
            .sum();
        if total > MAX_PARAMETERS {
            return bad(format!(
                "{total} parameters exceed the limit of {MAX_PARAMETERS}"
            ));
        }
        Ok(())
    }

    /// (channels, heads, name) of every kind of transformer block in the network.
    fn attention_layouts(&self) -> Vec<(usize, usize, &'static str)> {
        let d = self.dim;
        let h = self.heads;
        let p = &self.prompts;
        vec![
            (d, h[0], "encoder_level1"),
            (2 * d, h[1], "encoder_level2"),
            (4 * d, h[2], "encoder_level3"),
            (8 * d, h[3], "latent"),
            (2 * d, h[0], "decoder_level1"),
            (8 * d + p[2].dim, h[2], "noise_level3"),
            (4 * d + p[1].dim, h[2], "noise_level2"),
            (2 * d + p[0].dim, h[2], "noise_level1"),
        ]
    }

    /// Every parameter of the network with its reference name and shape, in a fixed order.
    /// Pure arithmetic: safe to call on an unvalidated config with small values.
    pub fn parameter_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let d = self.dim;
        let h = self.heads;
        let [p1, p2, p3] = &self.prompts;
        let mut out = Vec::new();
        let conv = |out: &mut Vec<(String, Vec<usize>)>,
                    name: String,
                    cin: usize,
                    cout: usize,
                    k: usize| { out.push((name, vec![cout, cin, k, k])) };
        let block =
            |out: &mut Vec<(String, Vec<usize>)>, prefix: String, c: usize, heads: usize| {
                let hid = self.ffn_hidden(c);
                for norm in ["norm1", "norm2"] {
                    out.push((format!("{prefix}.{norm}.body.weight"), vec![c]));
                    out.push((format!("{prefix}.{norm}.body.bias"), vec![c]));
                }
                out.push((format!("{prefix}.attn.temperature"), vec![heads, 1, 1]));
                out.push((format!("{prefix}.attn.qkv.weight"), vec![3 * c, c, 1, 1]));
                out.push((
                    format!("{prefix}.attn.qkv_dwconv.weight"),
                    vec![3 * c, 1, 3, 3],
                ));
                out.push((
                    format!("{prefix}.attn.project_out.weight"),
                    vec![c, c, 1, 1],
                ));
                out.push((
                    format!("{prefix}.ffn.project_in.weight"),
                    vec![2 * hid, c, 1, 1],
                ));
                out.push((
                    format!("{prefix}.ffn.dwconv.weight"),
                    vec![2 * hid, 1, 3, 3],
                ));
                out.push((
                    format!("{prefix}.ffn.project_out.weight"),
                    vec![c, hid, 1, 1],
                ));
            };
        let level =
            |out: &mut Vec<(String, Vec<usize>)>, name: &str, n: usize, c: usize, heads: usize| {
                for i in 0..n {
                    block(out, format!("{name}.{i}"), c, heads);
                }
            };
        let prompt =
            |out: &mut Vec<(String, Vec<usize>)>, name: &str, p: &PromptSpec, lin: usize| {
                out.push((
                    format!("{name}.prompt_param"),
                    vec![1, self.prompt_len, p.dim, p.size, p.size],
                ));
                out.push((
                    format!("{name}.linear_layer.weight"),
                    vec![self.prompt_len, lin],
                ));
                out.push((format!("{name}.linear_layer.bias"), vec![self.prompt_len]));
                out.push((format!("{name}.conv3x3.weight"), vec![p.dim, p.dim, 3, 3]));
            };
        let [n1, n2, n3, n4] = self.num_blocks;
        conv(&mut out, "patch_embed.proj.weight".into(), 3, d, 3);
        level(&mut out, "encoder_level1", n1, d, h[0]);
        conv(&mut out, "down1_2.body.0.weight".into(), d, d / 2, 3);
        level(&mut out, "encoder_level2", n2, 2 * d, h[1]);
        conv(&mut out, "down2_3.body.0.weight".into(), 2 * d, d, 3);
        level(&mut out, "encoder_level3", n3, 4 * d, h[2]);
        conv(&mut out, "down3_4.body.0.weight".into(), 4 * d, 2 * d, 3);
        level(&mut out, "latent", n4, 8 * d, h[3]);
        prompt(&mut out, "prompt1", p1, 2 * d);
        prompt(&mut out, "prompt2", p2, 4 * d);
        prompt(&mut out, "prompt3", p3, 8 * d);
        block(&mut out, "noise_level3".into(), 8 * d + p3.dim, h[2]);
        conv(
            &mut out,
            "reduce_noise_level3.weight".into(),
            8 * d + p3.dim,
            4 * d,
            1,
        );
        conv(&mut out, "up4_3.body.0.weight".into(), 4 * d, 8 * d, 3);
        conv(
            &mut out,
            "reduce_chan_level3.weight".into(),
            6 * d,
            4 * d,
            1,
        );
        level(&mut out, "decoder_level3", n3, 4 * d, h[2]);
        block(&mut out, "noise_level2".into(), 4 * d + p2.dim, h[2]);
        conv(
            &mut out,
            "reduce_noise_level2.weight".into(),
            4 * d + p2.dim,
            4 * d,
            1,
        );
        conv(&mut out, "up3_2.body.0.weight".into(), 4 * d, 8 * d, 3);
        conv(
            &mut out,
            "reduce_chan_level2.weight".into(),
            4 * d,
            2 * d,
            1,
        );
        level(&mut out, "decoder_level2", n2, 2 * d, h[1]);
        block(&mut out, "noise_level1".into(), 2 * d + p1.dim, h[2]);
        conv(
            &mut out,
            "reduce_noise_level1.weight".into(),
            2 * d + p1.dim,
            2 * d,
            1,
        );
        conv(&mut out, "up2_1.body.0.weight".into(), 2 * d, 4 * d, 3);
        level(&mut out, "decoder_level1", n1, 2 * d, h[0]);
        level(
            &mut out,
            "refinement",
            self.num_refinement_blocks,
            2 * d,
            h[0],
        );
        conv(&mut out, "output.weight".into(), 2 * d, 3, 3);
        out
    }

    /// Total number of parameters.
    pub fn num_parameters(&self) -> usize {
        self.parameter_shapes()
            .iter()
            .map(|(_, s)| s.iter().product::<usize>())
            .sum()
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

impl PromptIrConfig {
    /// Multiply-accumulates per input pixel: every convolution plus the two channel-attention
    /// matmuls of each transformer block (elementwise work, norms and the prompt mix excluded).
    /// Multiply by 1e6 for MACs per megapixel; FLOPs are twice that.
    pub fn macs_per_pixel(&self) -> f64 {
        let area = |name: &str| -> f64 {
            let top = name.split('.').next().unwrap_or("");
            match top {
                "patch_embed" | "encoder_level1" | "down1_2" | "decoder_level1" | "refinement"
                | "output" => 1.0,
                "encoder_level2"
                | "down2_3"
                | "reduce_chan_level2"
                | "decoder_level2"
                | "prompt1"
                | "noise_level1"
                | "reduce_noise_level1"
                | "up2_1" => 0.25,
                "encoder_level3"
                | "down3_4"
                | "reduce_chan_level3"
                | "decoder_level3"
                | "prompt2"
                | "noise_level2"
                | "reduce_noise_level2"
                | "up3_2" => 1.0 / 16.0,
                _ => 1.0 / 64.0, // latent, prompt3, noise_level3, reduce_noise_level3, up4_3
            }
        };
        let shapes: std::collections::HashMap<String, Vec<usize>> =
            self.parameter_shapes().into_iter().collect();
        let mut macs = 0.0;
        for (name, shape) in &shapes {
            if shape.len() == 4 {
                // conv weight (out, in/groups, k, k): one MAC per weight per output pixel.
                macs += shape.iter().product::<usize>() as f64 * area(name);
            }
            if let Some(prefix) = name.strip_suffix("attn.temperature") {
                // q@k^T and attn@v: 2 * C * (C / heads) per pixel.
                let c = shapes[&format!("{prefix}attn.project_out.weight")][0] as f64;
                macs += 2.0 * c * (c / shape[0] as f64) * area(name);
            }
        }
        macs
    }
}
