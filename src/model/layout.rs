//! What the module tree says about the network: every parameter's reference name and shape,
//! the share of the input's pixels its layer runs on, and the figures that follow (parameter
//! count, attention layouts, compute per pixel). All of it is read from the network that
//! [`PromptIrConfig::init`] builds, left uninitialised (burn's parameters are lazy, so nothing
//! is allocated): the network is written once, in `init` and `forward`.

use burn::module::Param;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use crate::config::{PromptIrConfig, MAX_PARAMETERS};
use crate::error::{Error, Result};
use crate::walk::{visit_params, ParamVisitor};

/// The backend the uninitialised network is built on: any compiled-in one will do, since no
/// parameter is ever materialised.
#[cfg(feature = "flex")]
type LayoutBackend = burn::backend::Flex;
#[cfg(all(not(feature = "flex"), feature = "wgpu"))]
type LayoutBackend = burn::backend::Wgpu;
#[cfg(all(not(feature = "flex"), not(feature = "wgpu"), feature = "cuda"))]
type LayoutBackend = burn::backend::Cuda;

/// One parameter of the network.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamLayout {
    /// The reference's name, e.g. `encoder_level1.0.attn.qkv.weight`.
    pub name: String,
    pub shape: Vec<usize>,
    /// The pixels its layer runs on, as a fraction of the input's: 1, 1/4, 1/16 or 1/64.
    pub area: f64,
}

/// One transformer block: where it is and how its attention splits its channels.
#[derive(Debug, Clone, PartialEq)]
pub struct AttentionLayout {
    /// The block's path, e.g. `noise_level3` or `latent.0`.
    pub block: String,
    pub channels: usize,
    pub heads: usize,
    /// The feed-forward network's hidden width.
    pub hidden: usize,
}

/// Walks the module tree in field order, which is the order `forward` runs the layers in:
/// after each `Downsample` the features have a quarter of the pixels, after each `Upsample`
/// four times as many.
struct Walker {
    area: f64,
    out: Vec<ParamLayout>,
}

impl<B: Backend> ParamVisitor<B> for Walker {
    fn leave(&mut self, container_type: &str) {
        match container_type {
            "Struct:Downsample" => self.area /= 4.0,
            "Struct:Upsample" => self.area *= 4.0,
            _ => {}
        }
    }

    fn visit<const D: usize>(&mut self, path: &str, param: &Param<Tensor<B, D>>) {
        self.out.push(ParamLayout {
            name: path.to_string(),
            shape: param.lazy_shape().dims::<D>().to_vec(),
            area: self.area,
        });
    }
}

impl PromptIrConfig {
    /// Checks every bound and divisibility rule; run before anything is allocated.
    pub fn validate(&self) -> Result<()> {
        self.check_bounds()?;
        let layout = self.layout();
        for a in attention_layouts(&layout) {
            if a.channels % a.heads != 0 {
                return Err(Error::Config(format!(
                    "{} has {} channels, not divisible by its {} heads",
                    a.block, a.channels, a.heads
                )));
            }
        }
        let total = total_parameters(&layout);
        if total > MAX_PARAMETERS {
            return Err(Error::Config(format!(
                "{total} parameters exceed the limit of {MAX_PARAMETERS}"
            )));
        }
        Ok(())
    }

    /// Every parameter of the network, in the order `forward` uses them. The config's fields
    /// must be in bounds: [`PromptIrConfig::validate`] checks those before it calls this.
    pub fn layout(&self) -> Vec<ParamLayout> {
        let network = self.init::<LayoutBackend>(&Default::default());
        let mut walker = Walker {
            area: 1.0,
            out: Vec::new(),
        };
        visit_params(&network, &mut walker);
        walker.out
    }

    /// Every parameter with its reference name and shape, in the order `forward` uses them.
    pub fn parameter_shapes(&self) -> Vec<(String, Vec<usize>)> {
        self.layout()
            .into_iter()
            .map(|p| (p.name, p.shape))
            .collect()
    }

    /// Total number of parameters.
    pub fn num_parameters(&self) -> usize {
        total_parameters(&self.layout())
    }

    /// Every transformer block, read from its parameters: `attn.temperature` is (heads, 1, 1),
    /// `attn.project_out.weight` (C, C, 1, 1), `ffn.project_out.weight` (C, hidden, 1, 1).
    pub fn attention_layouts(&self) -> Vec<AttentionLayout> {
        attention_layouts(&self.layout())
    }

    /// Multiply-accumulates per input pixel: every convolution plus the two channel-attention
    /// matmuls of each transformer block (elementwise work, norms and the prompt mix excluded).
    /// Multiply by 1e6 for MACs per megapixel; FLOPs are twice that.
    pub fn macs_per_pixel(&self) -> f64 {
        let layout = self.layout();
        let convs: f64 = layout
            .iter()
            .filter(|p| p.shape.len() == 4)
            // conv weight (out, in/groups, k, k): one MAC per weight per output pixel.
            .map(|p| p.shape.iter().product::<usize>() as f64 * p.area)
            .sum();
        let area_of = |name: &str| {
            layout
                .iter()
                .find(|p| p.name == name)
                .map_or(0.0, |p| p.area)
        };
        let attention: f64 = attention_layouts(&layout)
            .iter()
            .map(|a| {
                // q@k^T and attn@v: 2 * C * (C / heads) per pixel.
                let c = a.channels as f64;
                let area = area_of(&format!("{}.attn.temperature", a.block));
                2.0 * c * (c / a.heads as f64) * area
            })
            .sum();
        convs + attention
    }
}

pub(crate) fn total_parameters(layout: &[ParamLayout]) -> usize {
    layout
        .iter()
        .map(|p| p.shape.iter().product::<usize>())
        .sum()
}

pub(crate) fn attention_layouts(layout: &[ParamLayout]) -> Vec<AttentionLayout> {
    let shape = |name: String| {
        layout
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.shape.clone())
            .unwrap_or_else(|| panic!("a transformer block without {name}"))
    };
    layout
        .iter()
        .filter_map(|p| {
            let block = p.name.strip_suffix(".attn.temperature")?;
            Some(AttentionLayout {
                block: block.to_string(),
                channels: shape(format!("{block}.attn.project_out.weight"))[0],
                heads: p.shape[0],
                hidden: shape(format!("{block}.ffn.project_out.weight"))[1],
            })
        })
        .collect()
}
