//! Depthwise convolution with a gradient of its own. burn 0.21 differentiates a grouped
//! convolution one group at a time (a convolution, a slice and a slice-assign per channel) and
//! takes the input gradient through a transposed convolution, which made the depthwise layers a
//! large part of a training step. [`ModelBackend`] is the backend trait the network is generic
//! over: burn's, plus this one operation, which the autodiff backend differentiates with a
//! forward convolution (input gradient) and [`ModelBackend::depthwise_weight_grad`].

use burn::tensor::backend::Backend;
use burn::tensor::module::conv2d;
use burn::tensor::ops::{ConvOptions, FloatTensor};
use burn::tensor::{Tensor, TensorPrimitive};

/// A burn backend the network runs on.
pub trait ModelBackend: Backend {
    /// Depthwise convolution, stride 1, "same" padding, no bias: `x` is [batch, channels, h, w]
    /// and `weight` [channels, 1, k, k] with k odd.
    fn depthwise_conv2d(x: FloatTensor<Self>, weight: FloatTensor<Self>) -> FloatTensor<Self> {
        let weight = float::<Self>(weight);
        let [channels, _, k, _] = weight.dims();
        primitive(conv2d(float::<Self>(x), weight, None, options(channels, k)))
    }

    /// The gradient of [`depthwise_conv2d`](Self::depthwise_conv2d) with respect to its k x k
    /// weight, given its input `x` and the gradient of its output `grad`. By default the sum over
    /// pixels of `grad` times each of the k² shifted copies of `x`: whole-tensor operations that
    /// every backend runs well.
    fn depthwise_weight_grad(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        k: usize,
    ) -> FloatTensor<Self> {
        weight_grad_by_shifts::<Self>(x, grad, k)
    }
}

/// A depthwise convolution (groups = channels, no bias, "same" padding) with kernel `weight`
/// [channels, 1, k, k]: `conv.forward(x)` for such a conv.
pub fn depthwise<B: ModelBackend>(weight: Tensor<B, 4>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    float(B::depthwise_conv2d(primitive(x), primitive(weight)))
}

/// [`ModelBackend::depthwise_weight_grad`]'s default.
fn weight_grad_by_shifts<B: Backend>(
    x: FloatTensor<B>,
    grad: FloatTensor<B>,
    k: usize,
) -> FloatTensor<B> {
    let grad = float::<B>(grad);
    let [b, c, h, w] = grad.dims();
    let p = k / 2;
    let padded = float::<B>(x).pad((p, p, p, p), 0.0);
    let taps = (0..k * k)
        .map(|t| {
            let (ky, kx) = (t / k, t % k);
            let shifted = padded.clone().slice([0..b, 0..c, ky..ky + h, kx..kx + w]);
            (shifted * grad.clone())
                .sum_dim(3)
                .sum_dim(2)
                .sum_dim(0)
                .reshape([c, 1])
        })
        .collect();
    primitive(Tensor::cat(taps, 1).reshape([c, 1, k, k]))
}

fn options(channels: usize, k: usize) -> ConvOptions<2> {
    ConvOptions::new([1, 1], [k / 2, k / 2], [1, 1], channels)
}

fn float<B: Backend>(t: FloatTensor<B>) -> Tensor<B, 4> {
    Tensor::from_primitive(TensorPrimitive::Float(t))
}

fn primitive<B: Backend>(t: Tensor<B, 4>) -> FloatTensor<B> {
    t.into_primitive().tensor()
}

#[cfg(feature = "flex")]
impl ModelBackend for burn::backend::Flex {
    /// On the CPU, shifted copies are strided copies; a direct loop reads each input once.
    fn depthwise_weight_grad(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        k: usize,
    ) -> FloatTensor<Self> {
        let (x, grad) = (float::<Self>(x), float::<Self>(grad));
        let dims = grad.dims();
        let device = grad.device();
        let values = |t: Tensor<Self, 4>| {
            let data = t.into_data().convert::<f32>();
            data.into_vec::<f32>().expect("converted to f32")
        };
        let dw = weight_grad_direct(&values(x), &values(grad), dims, k);
        let data = burn::tensor::TensorData::new(dw, [dims[1], 1, k, k]);
        primitive(Tensor::<Self, 4>::from_data(data, &device))
    }
}

#[cfg(feature = "wgpu")]
impl ModelBackend for burn::backend::Wgpu {}

#[cfg(feature = "cuda")]
impl ModelBackend for burn::backend::Cuda {}

/// dW[c, ky, kx] = Σ over batch and pixels of x[.., c, i + ky - p, j + kx - p] · grad[.., c, i, j]
/// with zeros outside the image; `x` and `grad` are row-major [b, c, h, w].
fn weight_grad_direct(x: &[f32], grad: &[f32], [b, c, h, w]: [usize; 4], k: usize) -> Vec<f32> {
    let p = (k / 2) as isize;
    let mut out = vec![0.0f32; c * k * k];
    for plane in 0..b * c {
        let ch = plane % c;
        let xs = &x[plane * h * w..][..h * w];
        let gs = &grad[plane * h * w..][..h * w];
        for ky in 0..k {
            let dy = ky as isize - p;
            let rows = (0isize.max(-dy) as usize)..((h as isize).min(h as isize - dy) as usize);
            for kx in 0..k {
                let dx = kx as isize - p;
                let j0 = 0isize.max(-dx) as usize;
                let j1 = (w as isize).min(w as isize - dx) as usize;
                let mut acc = 0.0f32;
                for i in rows.clone() {
                    let x_row = ((i as isize + dy) as usize) * w;
                    let xr = &xs[x_row + (j0 as isize + dx) as usize..][..j1 - j0];
                    let gr = &gs[i * w + j0..i * w + j1];
                    acc += dot(xr, gr);
                }
                out[(ch * k + ky) * k + kx] += acc;
            }
        }
    }
    out
}

/// Σ a·b in eight running sums, an order the compiler may vectorise (one running sum it may not).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .map(|(x, y)| x * y)
        .sum();
    let mut lanes = [0.0f32; 8];
    for (x, y) in a8.zip(b8) {
        for l in 0..8 {
            lanes[l] += x[l] * y[l];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

#[cfg(feature = "autodiff")]
mod autodiff {
    use super::{float, primitive, ModelBackend};
    use burn::backend::autodiff::checkpoint::base::Checkpointer;
    use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
    use burn::backend::autodiff::grads::Gradients;
    use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
    use burn::backend::autodiff::{Autodiff, NodeId};
    use burn::tensor::ops::FloatTensor;

    /// The gradient of a depthwise convolution with respect to its input: the same convolution
    /// of the output gradient with the kernel turned by 180°, which every backend runs as a
    /// forward pass.
    fn depthwise_input_grad<B: ModelBackend>(
        weight: FloatTensor<B>,
        grad: FloatTensor<B>,
    ) -> FloatTensor<B> {
        let flipped = primitive(float::<B>(weight).flip([2, 3]));
        B::depthwise_conv2d(grad, flipped)
    }

    #[derive(Debug)]
    struct DepthwiseBackward;

    impl<B: ModelBackend> Backward<B, 2> for DepthwiseBackward {
        /// The checkpointed input and weight.
        type State = (NodeId, NodeId);

        fn backward(
            self,
            ops: Ops<Self::State, 2>,
            grads: &mut Gradients,
            checkpointer: &mut Checkpointer,
        ) {
            let [node_x, node_weight] = ops.parents;
            let grad = grads.consume::<B>(&ops.node);
            let (x_state, weight_state) = ops.state;
            let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x_state);
            let weight = checkpointer.retrieve_node_output::<FloatTensor<B>>(weight_state);
            let k = float::<B>(weight.clone()).dims()[2];
            if let Some(node) = node_x {
                grads.register::<B>(node.id, depthwise_input_grad::<B>(weight, grad.clone()));
            }
            if let Some(node) = node_weight {
                grads.register::<B>(node.id, B::depthwise_weight_grad(x, grad, k));
            }
        }
    }

    impl<B: ModelBackend, C: CheckpointStrategy> ModelBackend for Autodiff<B, C> {
        fn depthwise_conv2d(x: FloatTensor<Self>, weight: FloatTensor<Self>) -> FloatTensor<Self> {
            let prep = DepthwiseBackward
                .prepare::<C>([x.node.clone(), weight.node.clone()])
                .compute_bound()
                .stateful();
            match prep {
                OpsKind::Tracked(mut prep) => {
                    let state = (prep.checkpoint(&x), prep.checkpoint(&weight));
                    prep.finish(state, B::depthwise_conv2d(x.primitive, weight.primitive))
                }
                OpsKind::UnTracked(prep) => {
                    prep.finish(B::depthwise_conv2d(x.primitive, weight.primitive))
                }
            }
        }
    }
}

#[cfg(all(test, feature = "flex", feature = "autodiff"))]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};
    use burn::nn::conv::Conv2d;
    use burn::tensor::{Distribution, Tolerance};

    use crate::model::blocks::conv;

    type AD = Autodiff<Flex>;

    fn random<B: Backend>(shape: [usize; 4]) -> Tensor<B, 4> {
        Tensor::random(shape, Distribution::Normal(0.0, 1.0), &Default::default())
    }

    /// Input and weight gradients of sum(conv(x) * r), through `forward`.
    fn grads(
        conv: &Conv2d<AD>,
        x: Tensor<AD, 4>,
        r: Tensor<AD, 4>,
        forward: impl Fn(&Conv2d<AD>, Tensor<AD, 4>) -> Tensor<AD, 4>,
    ) -> (Tensor<Flex, 4>, Tensor<Flex, 4>) {
        let x = x.require_grad();
        let g = (forward(conv, x.clone()) * r).sum().backward();
        (x.grad(&g).unwrap(), conv.weight.grad(&g).unwrap())
    }

    #[test]
    fn matches_burns_grouped_convolution_and_its_gradients() {
        // Odd sizes on purpose: a non-square image and a batch, for the edges of every shift.
        for (shape, k) in [([2, 6, 5, 7], 3), ([1, 4, 9, 8], 5)] {
            let [_, c, _, _] = shape;
            let conv = conv::<AD>(c, c, k, c, &Default::default());
            let (x, r) = (random::<AD>(shape), random::<AD>(shape));
            let tolerance = Tolerance::<f32>::absolute(1e-5);
            depthwise(conv.weight.val(), x.clone())
                .into_data()
                .assert_approx_eq(&conv.forward(x.clone()).into_data(), tolerance);
            let (dx, dw) = grads(&conv, x.clone(), r.clone(), |conv, x| {
                depthwise(conv.weight.val(), x)
            });
            let (dx_ref, dw_ref) = grads(&conv, x, r, |conv, x| conv.forward(x));
            dx.into_data()
                .assert_approx_eq(&dx_ref.into_data(), tolerance);
            dw.into_data()
                .assert_approx_eq::<f32>(&dw_ref.into_data(), Tolerance::absolute(1e-4));
        }
    }

    #[test]
    fn the_default_weight_gradient_matches_the_cpu_loop() {
        let (x, grad) = (random::<Flex>([2, 5, 6, 9]), random::<Flex>([2, 5, 6, 9]));
        let direct = Flex::depthwise_weight_grad(primitive(x.clone()), primitive(grad.clone()), 3);
        let shifts = weight_grad_by_shifts::<Flex>(primitive(x), primitive(grad), 3);
        float::<Flex>(shifts).into_data().assert_approx_eq::<f32>(
            &float::<Flex>(direct).into_data(),
            Tolerance::absolute(1e-4),
        );
    }
}
