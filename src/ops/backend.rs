//! [`ModelBackend`], the backend trait the network is generic over: burn's, plus the operations
//! that the network runs as units of their own, each with its gradient. burn 0.21 would trace
//! them as many small operations, which on a CPU backend cost more in passes over memory than in
//! arithmetic. Every backend gets a default built from burn's tensor operations (each
//! operation's own module); the CPU backend overrides them with direct loops (`cpu.rs`,
//! `products.rs`), and the autodiff backend records each as one node with its gradient.

use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensor;

#[cfg(feature = "flex")]
use super::convert::{dims4, f32s, flex};
use super::{conv, depthwise, gelu_gate, gram, l2_norm, layer_norm, pointwise, shuffle};

/// A burn backend the network runs on.
pub trait ModelBackend: Backend {
    /// Depthwise convolution, stride 1, "same" padding, no bias: `x` is [batch, channels, h, w]
    /// and `weight` [channels, 1, k, k] with k odd.
    fn depthwise_conv2d(x: FloatTensor<Self>, weight: FloatTensor<Self>) -> FloatTensor<Self> {
        depthwise::conv_by_burn::<Self>(x, weight)
    }

    /// The gradient of [`depthwise_conv2d`](Self::depthwise_conv2d) with respect to its k x k
    /// weight, given its input `x` and the gradient of its output `grad`.
    fn depthwise_weight_grad(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        k: usize,
    ) -> FloatTensor<Self> {
        depthwise::weight_grad_by_shifts::<Self>(x, grad, k)
    }

    /// Convolution, stride 1, "same" zero padding, no bias, one group: `x` is [batch, in, h, w]
    /// and `weight` [out, in, k, k] with k odd. The network's full 3x3 convolutions.
    fn conv2d_same(x: FloatTensor<Self>, weight: FloatTensor<Self>) -> FloatTensor<Self> {
        conv::forward_by_burn::<Self>(x, weight)
    }

    /// The gradients of [`conv2d_same`](Self::conv2d_same) with respect to `x` and `weight`.
    fn conv2d_same_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> [FloatTensor<Self>; 2] {
        conv::backward_by_burn::<Self>(x, weight, grad)
    }

    /// LayerNorm across the channels of each pixel of `x` [batch, channels, h, w], with the
    /// affine `weight` and `bias` of shape `[channels]` (biased variance, eps 1e-5).
    fn channel_norm(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        layer_norm::forward_by_burn::<Self>(x, weight, bias)
    }

    /// The gradients of [`channel_norm`](Self::channel_norm) with respect to `x`, `weight` and
    /// `bias`, given its input, its weight and the gradient of its output.
    fn channel_norm_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> [FloatTensor<Self>; 3] {
        layer_norm::backward_by_burn::<Self>(x, weight, grad)
    }

    /// A 1x1 convolution without bias: `x` is [batch, in, h, w], `weight` [out, in, 1, 1].
    fn pointwise_conv(x: FloatTensor<Self>, weight: FloatTensor<Self>) -> FloatTensor<Self> {
        pointwise::forward_by_matmul::<Self>(x, weight)
    }

    /// The gradients of [`pointwise_conv`](Self::pointwise_conv) with respect to `x` and
    /// `weight`.
    fn pointwise_conv_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> [FloatTensor<Self>; 2] {
        pointwise::backward_by_matmul::<Self>(x, weight, grad)
    }

    /// `gelu(a) * b` (exact GELU), the feed-forward gate; `a` and `b` of one shape.
    fn gelu_gate(a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
        gelu_gate::forward_by_burn::<Self>(a, b)
    }

    /// The gradients of [`gelu_gate`](Self::gelu_gate) with respect to `a` and `b`.
    fn gelu_gate_backward(
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> [FloatTensor<Self>; 2] {
        gelu_gate::backward_by_burn::<Self>(a, b, grad)
    }

    /// Each row along the last dimension of `x` [batch, heads, channels, pixels] divided by its
    /// length, clamped to at least 1e-12 (`torch.nn.functional.normalize`).
    fn l2_normalize(x: FloatTensor<Self>) -> FloatTensor<Self> {
        l2_norm::forward_by_burn::<Self>(x)
    }

    /// The gradient of [`l2_normalize`](Self::l2_normalize) with respect to `x`.
    fn l2_normalize_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        l2_norm::backward_by_burn::<Self>(x, grad)
    }

    /// q·kᵀ over the pixels: `q` and `k` are [batch, heads, channels, pixels], the result
    /// [batch, heads, channels, channels]. Attention's one product whose inner dimension grows
    /// with the image.
    fn gram(q: FloatTensor<Self>, k: FloatTensor<Self>) -> FloatTensor<Self> {
        gram::by_matmul::<Self>(q, k)
    }

    /// PixelShuffle(2): `x` [batch, 4c, h, w] to [batch, c, 2h, 2w], output channel c at
    /// (2y + i, 2x + j) reading input channel 4c + 2i + j at (y, x). The autodiff backend keeps
    /// burn's operations (a reshape and a permutation) and their gradients.
    fn pixel_shuffle(x: FloatTensor<Self>) -> FloatTensor<Self> {
        shuffle::pixel_shuffle_by_burn::<Self>(x)
    }

    /// PixelUnshuffle(2), the inverse of [`pixel_shuffle`](Self::pixel_shuffle).
    fn pixel_unshuffle(x: FloatTensor<Self>) -> FloatTensor<Self> {
        shuffle::pixel_unshuffle_by_burn::<Self>(x)
    }
}

#[cfg(feature = "flex")]
use super::products;

#[cfg(feature = "flex")]
impl ModelBackend for burn::backend::Flex {
    fn depthwise_conv2d(x: FloatTensor<Self>, weight: FloatTensor<Self>) -> FloatTensor<Self> {
        let dims = dims4(&x);
        let k = dims4(&weight)[2];
        match (f32s(&x), f32s(&weight)) {
            (Some(xs), Some(ws)) => flex(super::cpu::depthwise_conv(&xs, &ws, dims, k), &dims),
            _ => depthwise::conv_by_burn::<Self>(x, weight),
        }
    }

    fn depthwise_weight_grad(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        k: usize,
    ) -> FloatTensor<Self> {
        let dims = dims4(&grad);
        match (f32s(&x), f32s(&grad)) {
            (Some(xs), Some(gs)) => flex(
                super::cpu::depthwise_weight_grad(&xs, &gs, dims, k),
                &[dims[1], 1, k, k],
            ),
            _ => depthwise::weight_grad_by_shifts::<Self>(x, grad, k),
        }
    }

    /// A pruned weight (at most [`SPARSE_DENSITY`] non-zero) runs from its non-zeros alone.
    fn conv2d_same(x: FloatTensor<Self>, weight: FloatTensor<Self>) -> FloatTensor<Self> {
        let dims = dims4(&x);
        let [o, _, k, _] = dims4(&weight);
        let [b, _, h, w] = dims;
        let density = SPARSE_DENSITY * (w as f64 / SPARSE_ROW_WIDTH as f64).min(1.0);
        // The input is read (and made contiguous if need be) only for the sparse loop.
        if let Some(ws) = sparse_values(&weight, density) {
            if let Some(xs) = f32s(&x) {
                return flex(super::cpu::sparse_conv(&xs, &ws, dims, o, k), &[b, o, h, w]);
            }
        }
        match f32s(&x).filter(|_| conv::columns_fit(dims, k)) {
            Some(xs) => conv::forward_by_columns(&xs, dims, weight),
            None => conv::forward_by_burn::<Self>(x, weight),
        }
    }

    fn conv2d_same_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> [FloatTensor<Self>; 2] {
        match f32s(&x).filter(|_| conv::columns_fit(dims4(&x), dims4(&weight)[2])) {
            Some(xs) => conv::backward_by_columns(&xs, dims4(&x), weight, grad),
            None => conv::backward_by_burn::<Self>(x, weight, grad),
        }
    }

    fn channel_norm(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let dims = dims4(&x);
        match (f32s(&x), f32s(&weight), f32s(&bias)) {
            (Some(xs), Some(ws), Some(bs)) => {
                flex(super::cpu::layer_norm(&xs, &ws, &bs, dims), &dims)
            }
            _ => layer_norm::forward_by_burn::<Self>(x, weight, bias),
        }
    }

    fn channel_norm_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> [FloatTensor<Self>; 3] {
        let dims = dims4(&x);
        match (f32s(&x), f32s(&weight), f32s(&grad)) {
            (Some(xs), Some(ws), Some(gs)) => {
                let (dx, dw, db) = super::cpu::layer_norm_backward(&xs, &ws, &gs, dims);
                [flex(dx, &dims), flex(dw, &[dims[1]]), flex(db, &[dims[1]])]
            }
            _ => layer_norm::backward_by_burn::<Self>(x, weight, grad),
        }
    }

    /// A pruned weight (at most [`SPARSE_DENSITY`] non-zero) runs from its non-zeros alone.
    fn pointwise_conv(x: FloatTensor<Self>, weight: FloatTensor<Self>) -> FloatTensor<Self> {
        let [b, c, h, w] = dims4(&x);
        let out = dims4(&weight)[0];
        // The input is read (and made contiguous if need be) only for the sparse loop.
        if let Some(ws) = sparse_values(&weight, SPARSE_DENSITY) {
            if let Some(xs) = f32s(&x) {
                let y = super::cpu::sparse_pointwise(&xs, &ws, [b, c, h * w], out);
                return flex(y, &[b, out, h, w]);
            }
        }
        match (f32s(&x), f32s(&weight)) {
            (Some(xs), Some(ws)) if products::fits(out, c, h * w) => flex(
                products::weight_times(&ws, &xs, [b, c, h * w], out),
                &[b, out, h, w],
            ),
            _ => pointwise::forward_by_matmul::<Self>(x, weight),
        }
    }

    fn pointwise_conv_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> [FloatTensor<Self>; 2] {
        let [b, c, h, w] = dims4(&x);
        let out = dims4(&weight)[0];
        let operands = (f32s(&x), f32s(&weight), f32s(&grad));
        match operands {
            (Some(xs), Some(ws), Some(gs)) if products::fits(out, c, h * w) => [
                flex(
                    products::weight_transposed_times(&ws, &gs, [b, out, h * w], c),
                    &[b, c, h, w],
                ),
                flex(
                    products::weight_grad(&gs, &xs, [b, out, h * w], c),
                    &[out, c, 1, 1],
                ),
            ],
            _ => pointwise::backward_by_matmul::<Self>(x, weight, grad),
        }
    }

    fn gelu_gate(a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
        let shape = a.layout().shape().to_vec();
        match (f32s(&a), f32s(&b)) {
            (Some(xs), Some(ys)) if xs.len() == ys.len() => {
                flex(super::cpu::gelu_gate(&xs, &ys), &shape)
            }
            _ => gelu_gate::forward_by_burn::<Self>(a, b),
        }
    }

    fn gelu_gate_backward(
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> [FloatTensor<Self>; 2] {
        let shape = a.layout().shape().to_vec();
        match (f32s(&a), f32s(&b), f32s(&grad)) {
            (Some(xs), Some(ys), Some(gs)) if xs.len() == ys.len() && xs.len() == gs.len() => {
                let (da, db) = super::cpu::gelu_gate_backward(&xs, &ys, &gs);
                [flex(da, &shape), flex(db, &shape)]
            }
            _ => gelu_gate::backward_by_burn::<Self>(a, b, grad),
        }
    }

    fn l2_normalize(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let dims = dims4(&x);
        match f32s(&x) {
            Some(xs) => flex(super::cpu::l2_normalize(&xs, dims[3]), &dims),
            None => l2_norm::forward_by_burn::<Self>(x),
        }
    }

    fn l2_normalize_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        let dims = dims4(&x);
        match (f32s(&x), f32s(&grad)) {
            (Some(xs), Some(gs)) => {
                flex(super::cpu::l2_normalize_backward(&xs, &gs, dims[3]), &dims)
            }
            _ => l2_norm::backward_by_burn::<Self>(x, grad),
        }
    }

    /// A row loop, where burn-flex copies the permuted view one strided index at a time.
    fn pixel_shuffle(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let [b, c, h, w] = dims4(&x);
        match f32s(&x) {
            Some(xs) => flex(
                super::cpu::pixel_shuffle(&xs, [b, c, h, w]),
                &[b, c / 4, 2 * h, 2 * w],
            ),
            None => shuffle::pixel_shuffle_by_burn::<Self>(x),
        }
    }

    fn pixel_unshuffle(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let [b, c, h, w] = dims4(&x);
        match f32s(&x) {
            Some(xs) => flex(
                super::cpu::pixel_unshuffle(&xs, [b, c, h, w]),
                &[b, 4 * c, h / 2, w / 2],
            ),
            None => shuffle::pixel_unshuffle_by_burn::<Self>(x),
        }
    }
}

/// Density up to which the CPU backend runs a 1x1 or 3x3 convolution from the weight's non-zeros
/// (natively, one thread, `bench/sparse_crossover.rs`). A 1x1 convolution's matrix product
/// stays faster above about half (16 to 64 input channels: the sparse loop took 0.2-0.45 of
/// its time at 10%, 0.5-1.1 at 50%). A 3x3 one's sparse loop beats burn's convolution up to 50%
/// and beyond on rows of 128 pixels or more, but only up to 20% on rows of 32 (128 channels):
/// below [`SPARSE_ROW_WIDTH`] the threshold shrinks with the width.
#[cfg(feature = "flex")]
pub const SPARSE_DENSITY: f64 = 0.4;

/// Row width below which a 3x3 convolution's sparse threshold shrinks in proportion: its loop
/// runs along rows, and on short ones the loop's overhead outweighs the zeros it skips.
#[cfg(feature = "flex")]
pub const SPARSE_ROW_WIDTH: usize = 64;

/// A weight's values when at most `density` of them are non-zero.
#[cfg(feature = "flex")]
fn sparse_values(
    weight: &burn::backend::flex::FlexTensor,
    density: f64,
) -> Option<std::borrow::Cow<'_, [f32]>> {
    f32s(weight).filter(|ws| {
        let nonzero = ws.iter().filter(|&&v| v != 0.0).count();
        (nonzero as f64) <= density * ws.len() as f64
    })
}

/// The pixels a WebGPU matrix product sums over at once in [`ModelBackend::gram`].
#[cfg(feature = "wgpu")]
pub const GRAM_CHUNK: usize = 8192;

#[cfg(feature = "wgpu")]
impl ModelBackend for burn::backend::Wgpu {
    /// In chunks of [`GRAM_CHUNK`] pixels, summed: Firefox's WebGPU (153 ESR, on lavapipe)
    /// returns wrong products for an inner dimension of 16,384 or more (12,288 is right), and
    /// a tile of 128x128 pixels has that many at full resolution. Chromium's WebGPU and native
    /// Vulkan are right either way; the chunks cost them a few small additions.
    fn gram(q: FloatTensor<Self>, k: FloatTensor<Self>) -> FloatTensor<Self> {
        use super::convert::{float, primitive};
        let (q, k) = (float::<Self, 4>(q), float::<Self, 4>(k));
        let [b, heads, c, n] = q.dims();
        let chunk = |t: &burn::tensor::Tensor<Self, 4>, start: usize| {
            t.clone()
                .slice([0..b, 0..heads, 0..c, start..(start + GRAM_CHUNK).min(n)])
        };
        let gram = (0..n)
            .step_by(GRAM_CHUNK)
            .map(|start| chunk(&q, start).matmul(chunk(&k, start).swap_dims(2, 3)))
            .reduce(|sum, part| sum + part)
            .expect("at least one pixel");
        primitive(gram)
    }
}

#[cfg(feature = "cuda")]
impl ModelBackend for burn::backend::Cuda {}

#[cfg(feature = "autodiff")]
mod autodiff {
    use super::ModelBackend;
    use crate::ops::convert::{float, primitive};
    use burn::backend::autodiff::checkpoint::base::Checkpointer;
    use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
    use burn::backend::autodiff::grads::Gradients;
    use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
    use burn::backend::autodiff::{Autodiff, NodeId};
    use burn::tensor::ops::FloatTensor;

    /// The checkpointed operands of an operation, in parent order.
    type Operands<const N: usize> = [NodeId; N];

    /// Runs `forward` on the inner backend and records `step` for the backward pass, with every
    /// operand checkpointed.
    fn tracked<B, C, S, const N: usize>(
        step: S,
        parents: [&FloatTensor<Autodiff<B, C>>; N],
        forward: impl FnOnce() -> FloatTensor<B>,
    ) -> FloatTensor<Autodiff<B, C>>
    where
        B: ModelBackend,
        C: CheckpointStrategy,
        S: Backward<B, N, State = Operands<N>>,
    {
        let prep = step
            .prepare::<C>(parents.map(|t| t.node.clone()))
            .compute_bound()
            .stateful();
        match prep {
            OpsKind::Tracked(mut prep) => {
                let state = parents.map(|t| prep.checkpoint(t));
                prep.finish(state, forward())
            }
            OpsKind::UnTracked(prep) => prep.finish(forward()),
        }
    }

    /// The output's gradient and the checkpointed operands of a backward step.
    fn inputs<B: ModelBackend, const N: usize>(
        ops: &Ops<Operands<N>, N>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) -> (FloatTensor<B>, [FloatTensor<B>; N]) {
        (
            grads.consume::<B>(&ops.node),
            ops.state
                .map(|node| checkpointer.retrieve_node_output::<FloatTensor<B>>(node)),
        )
    }

    /// Gives each tracked parent its gradient, in parent order.
    fn register<B: ModelBackend, const N: usize>(
        ops: Ops<Operands<N>, N>,
        grads: &mut Gradients,
        parent_grads: [FloatTensor<B>; N],
    ) {
        for (node, grad) in ops.parents.into_iter().zip(parent_grads) {
            if let Some(node) = node {
                grads.register::<B>(node.id, grad);
            }
        }
    }

    #[derive(Debug)]
    struct DepthwiseBackward;

    impl<B: ModelBackend> Backward<B, 2> for DepthwiseBackward {
        type State = Operands<2>;

        fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, cp: &mut Checkpointer) {
            let (grad, [x, weight]) = inputs::<B, 2>(&ops, grads, cp);
            let [node_x, node_weight] = &ops.parents;
            let k = float::<B, 4>(weight.clone()).dims()[2];
            if let Some(node) = node_x {
                // The same convolution of the output gradient with the kernel turned by 180°.
                let flipped = primitive(float::<B, 4>(weight).flip([2, 3]));
                grads.register::<B>(node.id, B::depthwise_conv2d(grad.clone(), flipped));
            }
            if let Some(node) = node_weight {
                grads.register::<B>(node.id, B::depthwise_weight_grad(x, grad, k));
            }
        }
    }

    #[derive(Debug)]
    struct ConvBackward;

    impl<B: ModelBackend> Backward<B, 2> for ConvBackward {
        type State = Operands<2>;

        fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, cp: &mut Checkpointer) {
            let (grad, [x, weight]) = inputs::<B, 2>(&ops, grads, cp);
            register::<B, 2>(ops, grads, B::conv2d_same_backward(x, weight, grad));
        }
    }

    #[derive(Debug)]
    struct LayerNormBackward;

    impl<B: ModelBackend> Backward<B, 3> for LayerNormBackward {
        type State = Operands<3>;

        fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, cp: &mut Checkpointer) {
            let (grad, [x, weight, _]) = inputs::<B, 3>(&ops, grads, cp);
            register::<B, 3>(ops, grads, B::channel_norm_backward(x, weight, grad));
        }
    }

    #[derive(Debug)]
    struct PointwiseBackward;

    impl<B: ModelBackend> Backward<B, 2> for PointwiseBackward {
        type State = Operands<2>;

        fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, cp: &mut Checkpointer) {
            let (grad, [x, weight]) = inputs::<B, 2>(&ops, grads, cp);
            register::<B, 2>(ops, grads, B::pointwise_conv_backward(x, weight, grad));
        }
    }

    #[derive(Debug)]
    struct GeluGateBackward;

    impl<B: ModelBackend> Backward<B, 2> for GeluGateBackward {
        type State = Operands<2>;

        fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, cp: &mut Checkpointer) {
            let (grad, [a, b]) = inputs::<B, 2>(&ops, grads, cp);
            register::<B, 2>(ops, grads, B::gelu_gate_backward(a, b, grad));
        }
    }

    #[derive(Debug)]
    struct L2NormalizeBackward;

    impl<B: ModelBackend> Backward<B, 1> for L2NormalizeBackward {
        type State = Operands<1>;

        fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, cp: &mut Checkpointer) {
            let (grad, [x]) = inputs::<B, 1>(&ops, grads, cp);
            register::<B, 1>(ops, grads, [B::l2_normalize_backward(x, grad)]);
        }
    }

    impl<B: ModelBackend, C: CheckpointStrategy> ModelBackend for Autodiff<B, C> {
        fn depthwise_conv2d(x: FloatTensor<Self>, weight: FloatTensor<Self>) -> FloatTensor<Self> {
            tracked::<B, C, _, 2>(DepthwiseBackward, [&x, &weight], || {
                B::depthwise_conv2d(x.primitive.clone(), weight.primitive.clone())
            })
        }

        fn conv2d_same(x: FloatTensor<Self>, weight: FloatTensor<Self>) -> FloatTensor<Self> {
            tracked::<B, C, _, 2>(ConvBackward, [&x, &weight], || {
                B::conv2d_same(x.primitive.clone(), weight.primitive.clone())
            })
        }

        fn channel_norm(
            x: FloatTensor<Self>,
            weight: FloatTensor<Self>,
            bias: FloatTensor<Self>,
        ) -> FloatTensor<Self> {
            tracked::<B, C, _, 3>(LayerNormBackward, [&x, &weight, &bias], || {
                B::channel_norm(
                    x.primitive.clone(),
                    weight.primitive.clone(),
                    bias.primitive.clone(),
                )
            })
        }

        fn pointwise_conv(x: FloatTensor<Self>, weight: FloatTensor<Self>) -> FloatTensor<Self> {
            tracked::<B, C, _, 2>(PointwiseBackward, [&x, &weight], || {
                B::pointwise_conv(x.primitive.clone(), weight.primitive.clone())
            })
        }

        fn gelu_gate(a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
            tracked::<B, C, _, 2>(GeluGateBackward, [&a, &b], || {
                B::gelu_gate(a.primitive.clone(), b.primitive.clone())
            })
        }

        fn l2_normalize(x: FloatTensor<Self>) -> FloatTensor<Self> {
            tracked::<B, C, _, 1>(L2NormalizeBackward, [&x], || {
                B::l2_normalize(x.primitive.clone())
            })
        }
    }
}
