//! The network's full convolutions (3x3, "same" padding, no bias) as one operation with its own
//! gradient ([`ModelBackend::conv2d_same`]). burn 0.21's CPU backend computes a convolution's
//! weight gradient as a convolution over the batch, slower than the forward pass several times
//! over; on the CPU this one is a matrix product over unfolded columns both ways, for inputs
//! the size of a training batch.

use burn::tensor::backend::Backend;
use burn::tensor::module::conv2d;
use burn::tensor::ops::{ConvOptions, FloatTensor};

#[cfg(doc)]
use super::backend::ModelBackend;
use super::convert::{float, primitive};

fn options(k: usize) -> ConvOptions<2> {
    ConvOptions::new([1, 1], [k / 2, k / 2], [1, 1], 1)
}

/// [`ModelBackend::conv2d_same`]'s default: burn's convolution.
pub(crate) fn forward_by_burn<B: Backend>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
) -> FloatTensor<B> {
    let weight = float::<B, 4>(weight);
    let k = weight.dims()[2];
    primitive(conv2d(float::<B, 4>(x), weight, None, options(k)))
}

/// [`ModelBackend::conv2d_same_backward`]'s default: burn's convolution gradients.
pub(crate) fn backward_by_burn<B: Backend>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> [FloatTensor<B>; 2] {
    let k = float::<B, 4>(weight.clone()).dims()[2];
    let dx = B::conv2d_x_backward(x.clone(), weight.clone(), grad.clone(), options(k));
    let dw = B::conv2d_weight_backward(x, weight, grad, options(k));
    [dx, dw]
}

/// Largest unfolded input, in bytes, that the CPU path builds: a training batch's fits; a
/// whole photo's or a 512-pixel tile's would not (a 32-channel tile unfolds to 300 MB), and
/// those go through burn's direct convolution, which needs no buffer.
#[cfg(feature = "flex")]
const COLUMNS_MAX_BYTES: usize = 128 << 20;

/// Whether [`forward_by_columns`] unfolds `x` [b, c, h, w] for a k x k kernel within
/// [`COLUMNS_MAX_BYTES`].
#[cfg(feature = "flex")]
pub(crate) fn columns_fit([b, c, h, w]: [usize; 4], k: usize) -> bool {
    [b, c, k, k, h, w, 4]
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .is_some_and(|bytes| bytes <= COLUMNS_MAX_BYTES)
}

#[cfg(feature = "flex")]
mod columns {
    use super::*;
    use crate::ops::convert::{dims4, f32s, flex};
    use crate::ops::{cpu, products};
    use burn::backend::Flex;

    /// out[b] = W [out, in·k²] · columns(x[b]) [in·k², h·w].
    pub(crate) fn forward_by_columns(
        x: &[f32],
        [b, c, h, w]: [usize; 4],
        weight: FloatTensor<Flex>,
    ) -> FloatTensor<Flex> {
        let [o, _, k, _] = dims4(&weight);
        let (ckk, n) = (c * k * k, h * w);
        let cols = cpu::im2col(x, [b, c, h, w], k);
        if let Some(ws) = f32s(&weight).filter(|_| products::fits(o, ckk, n)) {
            return flex(
                products::weight_times(&ws, &cols, [b, ckk, n], o),
                &[b, o, h, w],
            );
        }
        let cols = float::<Flex, 3>(flex(cols, &[b, ckk, n]));
        let weight = float::<Flex, 4>(weight).reshape([1, o, ckk]);
        primitive(weight.matmul(cols).reshape([b, o, h, w]))
    }

    /// dW = Σ over the batch of grad · columnsᵀ; dx = the columns of Wᵀ · grad folded back.
    pub(crate) fn backward_by_columns(
        x: &[f32],
        [b, c, h, w]: [usize; 4],
        weight: FloatTensor<Flex>,
        grad: FloatTensor<Flex>,
    ) -> [FloatTensor<Flex>; 2] {
        let [o, _, k, _] = dims4(&weight);
        let (ckk, n) = (c * k * k, h * w);
        let cols = cpu::im2col(x, [b, c, h, w], k);
        if let (Some(ws), Some(gs)) = (f32s(&weight), f32s(&grad)) {
            if products::fits(o, ckk, n) {
                let dw = products::weight_grad(&gs, &cols, [b, o, n], ckk);
                let dcols = products::weight_transposed_times(&ws, &gs, [b, o, n], ckk);
                let dx = cpu::col2im(&dcols, [b, c, h, w], k);
                return [flex(dx, &[b, c, h, w]), flex(dw, &[o, c, k, k])];
            }
        }
        let cols = float::<Flex, 3>(flex(cols, &[b, ckk, h * w]));
        let grad = float::<Flex, 4>(grad).reshape([b, o, h * w]);
        let weight = float::<Flex, 4>(weight).reshape([1, o, ckk]);
        let dw = grad
            .clone()
            .matmul(cols.swap_dims(1, 2))
            .sum_dim(0)
            .reshape([o, c, k, k]);
        let dcols = primitive(weight.swap_dims(1, 2).matmul(grad));
        let dcols = f32s(&dcols).expect("the columns are f32, as x is");
        let dx = flex(cpu::col2im(&dcols, [b, c, h, w], k), &[b, c, h, w]);
        [dx, primitive(dw)]
    }
}

#[cfg(feature = "flex")]
pub(crate) use columns::{backward_by_columns, forward_by_columns};

#[cfg(all(test, feature = "flex", feature = "autodiff"))]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};
    use burn::nn::conv::Conv2d;
    use burn::tensor::{Distribution, Tensor, Tolerance};

    use crate::ops::tensor::conv_same;
    use crate::ops::tests::same_conv as conv;

    type AD = Autodiff<Flex>;

    /// Output, input gradient and weight gradient of sum(conv(x) * r), through `forward`.
    fn run(
        conv: &Conv2d<AD>,
        x: Tensor<AD, 4>,
        r: Tensor<AD, 4>,
        forward: impl Fn(&Conv2d<AD>, Tensor<AD, 4>) -> Tensor<AD, 4>,
    ) -> [Tensor<Flex, 4>; 3] {
        let x = x.require_grad();
        let y = forward(conv, x.clone());
        let g = (y.clone() * r).sum().backward();
        [
            y.inner(),
            x.grad(&g).unwrap(),
            conv.weight.grad(&g).unwrap(),
        ]
    }

    /// The CPU's unfolded-column convolution and its gradients equal burn's.
    #[test]
    fn matches_burns_convolution_and_its_gradients() {
        // Training batches unfold; a 512-pixel tile of 32 channels (300 MB unfolded) does not.
        assert!(columns_fit([16, 32, 64, 64], 3));
        assert!(!columns_fit([1, 32, 512, 512], 3));
        // Odd sizes on purpose, and channels in and out that differ.
        for (shape, out, k) in [
            ([2, 3, 5, 7], 8, 3),
            ([1, 4, 9, 8], 2, 5),
            ([3, 16, 4, 4], 32, 3),
        ] {
            let conv = conv::<AD>(shape[1], out, k, 1, &Default::default());
            let random = |s: [usize; 4]| {
                Tensor::<AD, 4>::random(s, Distribution::Normal(0.0, 1.0), &Default::default())
            };
            let x = random(shape);
            let r = random([shape[0], out, shape[2], shape[3]]);
            let ours = run(&conv, x.clone(), r.clone(), |c, x| {
                conv_same(c.weight.val(), x)
            });
            let burns = run(&conv, x, r, |c, x| c.forward(x));
            for (a, b) in ours.into_iter().zip(burns) {
                a.into_data()
                    .assert_approx_eq::<f32>(&b.into_data(), Tolerance::absolute(1e-4));
            }
        }
    }
}
