//! The operations as the network calls them, on burn `Tensor`s: each a call of the
//! [`ModelBackend`] operation on the tensors' primitives. The network calls its operations
//! through these alone.

use burn::tensor::Tensor;

use super::backend::ModelBackend;
use super::convert::{float, primitive};

/// `conv.forward(x)` for a convolution made by `model::blocks::conv` with groups 1.
pub fn conv_same<B: ModelBackend>(weight: Tensor<B, 4>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    float(B::conv2d_same(primitive(x), primitive(weight)))
}

/// A depthwise convolution (groups = channels, no bias, "same" padding) with kernel `weight`
/// [channels, 1, k, k]: `conv.forward(x)` for such a conv.
pub fn depthwise<B: ModelBackend>(weight: Tensor<B, 4>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    float(B::depthwise_conv2d(primitive(x), primitive(weight)))
}

/// LayerNorm across the channels of each pixel of `x` [batch, channels, h, w].
pub fn layer_norm<B: ModelBackend>(
    x: Tensor<B, 4>,
    weight: Tensor<B, 1>,
    bias: Tensor<B, 1>,
) -> Tensor<B, 4> {
    float(B::channel_norm(
        primitive(x),
        primitive(weight),
        primitive(bias),
    ))
}

/// `conv.forward(x)` for a 1x1 convolution without bias, `weight` [out, in, 1, 1].
pub fn pointwise<B: ModelBackend>(weight: Tensor<B, 4>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    float(B::pointwise_conv(primitive(x), primitive(weight)))
}

/// `gelu(a) * b` (exact GELU), the feed-forward gate.
pub fn gelu_gate<B: ModelBackend>(a: Tensor<B, 4>, b: Tensor<B, 4>) -> Tensor<B, 4> {
    float(B::gelu_gate(primitive(a), primitive(b)))
}

/// Each row along the last dimension divided by its length (at least 1e-12).
pub fn l2_normalize<B: ModelBackend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    float(B::l2_normalize(primitive(x)))
}

/// q·kᵀ over the pixels: [batch, heads, channels, pixels] twice to [batch, heads, channels,
/// channels].
pub fn gram<B: ModelBackend>(q: Tensor<B, 4>, k: Tensor<B, 4>) -> Tensor<B, 4> {
    float(B::gram(primitive(q), primitive(k)))
}

/// PixelShuffle(2): [batch, 4c, h, w] to [batch, c, 2h, 2w].
pub fn pixel_shuffle<B: ModelBackend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    float(B::pixel_shuffle(primitive(x)))
}

/// PixelUnshuffle(2): [batch, c, 2h, 2w] to [batch, 4c, h, w].
pub fn pixel_unshuffle<B: ModelBackend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    float(B::pixel_unshuffle(primitive(x)))
}
