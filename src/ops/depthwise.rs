//! Depthwise convolution with a gradient of its own ([`ModelBackend::depthwise_conv2d`]). burn
//! 0.21 differentiates a grouped convolution one group at a time (a convolution, a slice and a
//! slice-assign per channel) and takes the input gradient through a transposed convolution;
//! here the input gradient is a forward convolution and the weight gradient one pass.

use burn::tensor::backend::Backend;
use burn::tensor::module::conv2d;
use burn::tensor::ops::{ConvOptions, FloatTensor};
use burn::tensor::Tensor;

#[cfg(doc)]
use super::backend::ModelBackend;
use super::convert::{float, primitive};

/// [`ModelBackend::depthwise_conv2d`]'s default: burn's grouped convolution.
pub(crate) fn conv_by_burn<B: Backend>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
) -> FloatTensor<B> {
    let weight = float::<B, 4>(weight);
    let [channels, _, k, _] = weight.dims();
    let options = ConvOptions::new([1, 1], [k / 2, k / 2], [1, 1], channels);
    primitive(conv2d(float::<B, 4>(x), weight, None, options))
}

/// [`ModelBackend::depthwise_weight_grad`]'s default: the sum over pixels of `grad` times each
/// of the k² shifted copies of `x`, whole-tensor operations that every backend runs well.
pub(crate) fn weight_grad_by_shifts<B: Backend>(
    x: FloatTensor<B>,
    grad: FloatTensor<B>,
    k: usize,
) -> FloatTensor<B> {
    let grad = float::<B, 4>(grad);
    let [b, c, h, w] = grad.dims();
    let p = k / 2;
    let padded = float::<B, 4>(x).pad((p, p, p, p), 0.0);
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

#[cfg(all(test, feature = "flex", feature = "autodiff"))]
mod tests {
    use super::*;
    use crate::ops::tests::close;
    use burn::backend::{Autodiff, Flex};
    use burn::nn::conv::Conv2d;
    use burn::tensor::{Distribution, Tolerance};

    use crate::ops::tensor::depthwise;
    use crate::ops::tests::same_conv as conv;
    use crate::ops::ModelBackend;

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
            let tolerance = close();
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
        float::<Flex, 4>(shifts)
            .into_data()
            .assert_approx_eq::<f32>(
                &float::<Flex, 4>(direct).into_data(),
                Tolerance::absolute(1e-4),
            );
    }
}
