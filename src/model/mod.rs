//! PromptIR, the network MIR-L prunes, as burn modules generic over the backend.
//! Field names follow the reference implementation, so parameter paths equal its names.

pub mod blocks;
pub mod layout;
pub mod prompt;
pub mod sampling;

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use crate::config::PromptIrConfig;
use crate::ops::tensor::conv_same;
use crate::ops::ModelBackend;
use blocks::{conv, level, pointwise, run_level, TransformerBlock};
use prompt::PromptGenBlock;
use sampling::{Downsample, Upsample};

/// The first 3x3 conv from RGB (and the quality planes, where the config has them) to `dim`
/// channels (`patch_embed.proj.weight`).
#[derive(Module, Debug)]
pub struct PatchEmbed<B: Backend> {
    pub proj: Conv2d<B>,
}

/// The all-in-one restoration network: a 4-level transformer U-Net with prompt blocks in the
/// decoder. Input and output are NCHW RGB in [0, 1]; H and W must be multiples of 8.
///
/// The fields are in the order `forward` runs them: [`layout`] reads each layer's resolution
/// from that order (a quarter of the pixels after each `Downsample`, four times as many after
/// each `Upsample`).
#[derive(Module, Debug)]
pub struct PromptIr<B: ModelBackend> {
    pub patch_embed: PatchEmbed<B>,
    pub encoder_level1: Vec<TransformerBlock<B>>,
    pub down1_2: Downsample<B>,
    pub encoder_level2: Vec<TransformerBlock<B>>,
    pub down2_3: Downsample<B>,
    pub encoder_level3: Vec<TransformerBlock<B>>,
    pub down3_4: Downsample<B>,
    pub latent: Vec<TransformerBlock<B>>,
    pub prompt3: PromptGenBlock<B>,
    pub noise_level3: TransformerBlock<B>,
    pub reduce_noise_level3: Conv2d<B>,
    pub up4_3: Upsample<B>,
    pub reduce_chan_level3: Conv2d<B>,
    pub decoder_level3: Vec<TransformerBlock<B>>,
    pub prompt2: PromptGenBlock<B>,
    pub noise_level2: TransformerBlock<B>,
    pub reduce_noise_level2: Conv2d<B>,
    pub up3_2: Upsample<B>,
    pub reduce_chan_level2: Conv2d<B>,
    pub decoder_level2: Vec<TransformerBlock<B>>,
    pub prompt1: PromptGenBlock<B>,
    pub noise_level1: TransformerBlock<B>,
    pub reduce_noise_level1: Conv2d<B>,
    pub up2_1: Upsample<B>,
    pub decoder_level1: Vec<TransformerBlock<B>>,
    pub refinement: Vec<TransformerBlock<B>>,
    pub output: Conv2d<B>,
}

impl PromptIrConfig {
    /// Builds the network with PyTorch's default initialisation. The config must be valid
    /// ([`PromptIrConfig::validate`]); parameters are allocated lazily, on first use.
    pub fn init<B: ModelBackend>(&self, device: &B::Device) -> PromptIr<B> {
        let d = self.dim;
        let h = self.heads;
        let [n1, n2, n3, n4] = self.num_blocks;
        let [p1, p2, p3] = &self.prompts;
        let tb =
            |c: usize, heads: usize| TransformerBlock::new(c, heads, self.ffn_hidden(c), device);
        let lvl = |n: usize, c: usize, heads: usize| level(n, c, heads, self.ffn_hidden(c), device);
        PromptIr {
            patch_embed: PatchEmbed {
                proj: conv(self.in_channels(), d, 3, 1, device),
            },
            encoder_level1: lvl(n1, d, h[0]),
            down1_2: Downsample::new(d, device),
            encoder_level2: lvl(n2, 2 * d, h[1]),
            down2_3: Downsample::new(2 * d, device),
            encoder_level3: lvl(n3, 4 * d, h[2]),
            down3_4: Downsample::new(4 * d, device),
            latent: lvl(n4, 8 * d, h[3]),
            prompt3: PromptGenBlock::new(p3, self.prompt_len, 8 * d, device),
            noise_level3: tb(8 * d + p3.dim, h[2]),
            reduce_noise_level3: conv(8 * d + p3.dim, 4 * d, 1, 1, device),
            up4_3: Upsample::new(4 * d, device),
            reduce_chan_level3: conv(6 * d, 4 * d, 1, 1, device),
            decoder_level3: lvl(n3, 4 * d, h[2]),
            prompt2: PromptGenBlock::new(p2, self.prompt_len, 4 * d, device),
            noise_level2: tb(4 * d + p2.dim, h[2]),
            reduce_noise_level2: conv(4 * d + p2.dim, 4 * d, 1, 1, device),
            up3_2: Upsample::new(4 * d, device),
            reduce_chan_level2: conv(4 * d, 2 * d, 1, 1, device),
            decoder_level2: lvl(n2, 2 * d, h[1]),
            prompt1: PromptGenBlock::new(p1, self.prompt_len, 2 * d, device),
            noise_level1: tb(2 * d + p1.dim, h[2]),
            reduce_noise_level1: conv(2 * d + p1.dim, 2 * d, 1, 1, device),
            up2_1: Upsample::new(2 * d, device),
            decoder_level1: lvl(n1, 2 * d, h[0]),
            refinement: lvl(self.num_refinement_blocks, 2 * d, h[0]),
            output: conv(2 * d, 3, 3, 1, device),
        }
    }
}

impl<B: ModelBackend> PromptIr<B> {
    /// Whether the network takes the quantization planes after R, G and B
    /// ([`PromptIrConfig::quality_map`]).
    pub fn reads_quality(&self) -> bool {
        self.patch_embed.proj.weight.dims()[1] > 3
    }

    /// Peak activation bytes per input pixel of a forward pass on the CPU
    /// ([`PromptIrConfig::activation_bytes_per_pixel`]), from the network's own widths.
    pub fn activation_bytes_per_pixel(&self) -> u64 {
        crate::config::activation_bytes_per_pixel(
            self.patch_embed.proj.weight.dims()[0],
            self.prompt1.prompt_param.dims()[2],
        )
    }

    /// Restores a batch: `img` is (B, 3, H, W) in [0, 1] with H, W multiples of 8. The output is
    /// not clamped (the reference does not clamp; the image pipeline does).
    pub fn forward(&self, img: Tensor<B, 4>) -> Tensor<B, 4> {
        let x = conv_same(self.patch_embed.proj.weight.val(), img.clone());
        let e1 = run_level(&self.encoder_level1, x);
        let e2 = run_level(&self.encoder_level2, self.down1_2.forward(e1.clone()));
        let e3 = run_level(&self.encoder_level3, self.down2_3.forward(e2.clone()));
        let lat = run_level(&self.latent, self.down3_4.forward(e3.clone()));

        let lat = with_prompt(
            &self.prompt3,
            &self.noise_level3,
            &self.reduce_noise_level3,
            lat,
        );
        let t = pointwise(
            &self.reduce_chan_level3,
            Tensor::cat(vec![self.up4_3.forward(lat), e3], 1),
        );
        let d3 = run_level(&self.decoder_level3, t);

        let d3 = with_prompt(
            &self.prompt2,
            &self.noise_level2,
            &self.reduce_noise_level2,
            d3,
        );
        let t = pointwise(
            &self.reduce_chan_level2,
            Tensor::cat(vec![self.up3_2.forward(d3), e2], 1),
        );
        let d2 = run_level(&self.decoder_level2, t);

        let d2 = with_prompt(
            &self.prompt1,
            &self.noise_level1,
            &self.reduce_noise_level1,
            d2,
        );
        let d1 = run_level(
            &self.decoder_level1,
            Tensor::cat(vec![self.up2_1.forward(d2), e1], 1),
        );
        let d1 = run_level(&self.refinement, d1);
        // The residual is the photo's: quality planes, where there are any, come after it.
        conv_same(self.output.weight.val(), d1) + img.narrow(1, 0, 3)
    }
}

/// reduce(TB(cat[x, prompt(x)])): how each decoder level takes in its prompt.
fn with_prompt<B: ModelBackend>(
    prompt: &PromptGenBlock<B>,
    block: &TransformerBlock<B>,
    reduce: &Conv2d<B>,
    x: Tensor<B, 4>,
) -> Tensor<B, 4> {
    let p = prompt.forward(x.clone());
    pointwise(reduce, block.forward(Tensor::cat(vec![x, p], 1)))
}
