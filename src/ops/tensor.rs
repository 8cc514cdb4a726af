//! The operations as the network calls them, on burn `Tensor`s: each a call of the
//! [`ModelBackend`] operation on the tensors' primitives.

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
