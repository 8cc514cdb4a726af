//! PromptIR's building blocks: channel LayerNorm, MDTA attention, GDFN feed-forward and the
//! transformer block that chains them. Field names equal the reference's parameter names.

use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Initializer, PaddingConfig2d};
use burn::tensor::activation::softmax;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use crate::ops::tensor::{self, depthwise, layer_norm};
use crate::ops::ModelBackend;

/// A bias-free convolution with "same" padding (PromptIR uses no conv biases).
pub fn conv<B: Backend>(
    cin: usize,
    cout: usize,
    kernel: usize,
    groups: usize,
    device: &B::Device,
) -> Conv2d<B> {
    let pad = kernel / 2;
    Conv2dConfig::new([cin, cout], [kernel, kernel])
        .with_groups(groups)
        .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
        .with_bias(false)
        .init(device)
}

/// `conv.forward(x)` for a 1x1 convolution ([`ModelBackend::pointwise_conv`]).
pub fn pointwise<B: ModelBackend>(conv: &Conv2d<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    tensor::pointwise(conv.weight.val(), x)
}

/// `depthwise(dw, pointwise(pw, x))` cut into `parts` equal groups of channels (q, k and v;
/// the two halves of the feed-forward gate). Each group is computed from its own rows of the
/// weights, so it is a tensor of its own: chunks of the whole would be strided views, which a
/// CPU backend's elementwise operations walk one index at a time.
fn expand_in_parts<B: ModelBackend>(
    pw: &Conv2d<B>,
    dw: &Conv2d<B>,
    x: Tensor<B, 4>,
    parts: usize,
) -> Vec<Tensor<B, 4>> {
    let [out, c, _, _] = pw.weight.dims();
    let k = dw.weight.dims()[2];
    let n = out / parts;
    (0..parts)
        .map(|i| {
            let rows = i * n..(i + 1) * n;
            let pw = pw.weight.val().slice([rows.clone(), 0..c, 0..1, 0..1]);
            let dw = dw.weight.val().slice([rows, 0..1, 0..k, 0..k]);
            depthwise(dw, tensor::pointwise(pw, x.clone()))
        })
        .collect()
}

/// The affine parameters of a LayerNorm (`norm.body.weight` / `norm.body.bias` in the reference).
#[derive(Module, Debug)]
pub struct WithBiasLayerNorm<B: Backend> {
    pub weight: Param<Tensor<B, 1>>,
    pub bias: Param<Tensor<B, 1>>,
}

/// LayerNorm over channels at every pixel of an NCHW tensor (biased variance, eps 1e-5).
#[derive(Module, Debug)]
pub struct LayerNorm<B: Backend> {
    pub body: WithBiasLayerNorm<B>,
}

impl<B: ModelBackend> LayerNorm<B> {
    pub fn new(channels: usize, device: &B::Device) -> Self {
        let body = WithBiasLayerNorm {
            weight: Initializer::Ones.init([channels], device),
            bias: Initializer::Zeros.init([channels], device),
        };
        Self { body }
    }

    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        layer_norm(x, self.body.weight.val(), self.body.bias.val())
    }
}

/// Multi-DConv head transposed attention: attention between channels, not pixels, so its cost
/// grows linearly with the image.
#[derive(Module, Debug)]
pub struct Attention<B: ModelBackend> {
    pub temperature: Param<Tensor<B, 3>>,
    pub qkv: Conv2d<B>,
    pub qkv_dwconv: Conv2d<B>,
    pub project_out: Conv2d<B>,
    pub heads: usize,
}

impl<B: ModelBackend> Attention<B> {
    pub fn new(channels: usize, heads: usize, device: &B::Device) -> Self {
        Self {
            temperature: Initializer::Ones.init([heads, 1, 1], device),
            qkv: conv(channels, 3 * channels, 1, 1, device),
            qkv_dwconv: conv(3 * channels, 3 * channels, 3, 3 * channels, device),
            project_out: conv(channels, channels, 1, 1, device),
            heads,
        }
    }

    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let [b, c, h, w] = x.dims();
        let heads = self.heads;
        let per_head = |t: Tensor<B, 4>| t.reshape([b, heads, c / heads, h * w]);
        let mut parts = expand_in_parts(&self.qkv, &self.qkv_dwconv, x, 3).into_iter();
        let unit = |t| tensor::l2_normalize(per_head(t));
        let q = unit(parts.next().unwrap());
        let k = unit(parts.next().unwrap());
        let v = per_head(parts.next().unwrap());
        let temperature = self.temperature.val().unsqueeze_dim::<4>(0);
        let attn = softmax(tensor::gram(q, k) * temperature, 3);
        pointwise(&self.project_out, attn.matmul(v).reshape([b, c, h, w]))
    }
}

/// Gated-Dconv feed-forward network: gelu(x1) * x2 over a depthwise-convolved expansion.
#[derive(Module, Debug)]
pub struct FeedForward<B: ModelBackend> {
    pub project_in: Conv2d<B>,
    pub dwconv: Conv2d<B>,
    pub project_out: Conv2d<B>,
}

impl<B: ModelBackend> FeedForward<B> {
    pub fn new(channels: usize, hidden: usize, device: &B::Device) -> Self {
        Self {
            project_in: conv(channels, 2 * hidden, 1, 1, device),
            dwconv: conv(2 * hidden, 2 * hidden, 3, 2 * hidden, device),
            project_out: conv(hidden, channels, 1, 1, device),
        }
    }

    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let mut halves = expand_in_parts(&self.project_in, &self.dwconv, x, 2).into_iter();
        let x1 = halves.next().unwrap();
        let x2 = halves.next().unwrap();
        let gated = tensor::gelu_gate(x1, x2);
        pointwise(&self.project_out, gated)
    }
}

/// x + MDTA(LN(x)), then x + GDFN(LN(x)).
#[derive(Module, Debug)]
pub struct TransformerBlock<B: ModelBackend> {
    pub norm1: LayerNorm<B>,
    pub attn: Attention<B>,
    pub norm2: LayerNorm<B>,
    pub ffn: FeedForward<B>,
}

impl<B: ModelBackend> TransformerBlock<B> {
    pub fn new(channels: usize, heads: usize, hidden: usize, device: &B::Device) -> Self {
        Self {
            norm1: LayerNorm::new(channels, device),
            attn: Attention::new(channels, heads, device),
            norm2: LayerNorm::new(channels, device),
            ffn: FeedForward::new(channels, hidden, device),
        }
    }

    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let x = x.clone() + self.attn.forward(self.norm1.forward(x));
        x.clone() + self.ffn.forward(self.norm2.forward(x))
    }
}

/// A level of the U-Net: `n` transformer blocks in sequence.
pub fn level<B: ModelBackend>(
    n: usize,
    channels: usize,
    heads: usize,
    hidden: usize,
    device: &B::Device,
) -> Vec<TransformerBlock<B>> {
    (0..n)
        .map(|_| TransformerBlock::new(channels, heads, hidden, device))
        .collect()
}

pub fn run_level<B: ModelBackend>(blocks: &[TransformerBlock<B>], x: Tensor<B, 4>) -> Tensor<B, 4> {
    blocks.iter().fold(x, |x, block| block.forward(x))
}
