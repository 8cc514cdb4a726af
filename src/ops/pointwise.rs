//! The network's 1x1 convolutions (no bias) as one operation with its own gradient
//! ([`ModelBackend::pointwise_conv`]): a matrix
//! product over the pixels each way, where a CPU backend's general convolution gradient is
//! several times slower.

use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensor;

#[cfg(doc)]
use super::backend::ModelBackend;
use super::convert::{float, primitive};

/// [`ModelBackend::pointwise_conv`]'s default: one
/// matrix product of the weight [out, in] with each image's [in, pixels].
pub(crate) fn forward_by_matmul<B: Backend>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
) -> FloatTensor<B> {
    let (x, weight) = (float::<B, 4>(x), float::<B, 4>(weight));
    let [b, c, h, w] = x.dims();
    let out = weight.dims()[0];
    primitive(
        weight
            .reshape([1, out, c])
            .matmul(x.reshape([b, c, h * w]))
            .reshape([b, out, h, w]),
    )
}

/// [`ModelBackend::pointwise_conv_backward`]'s
/// default: dx = weightᵀ · grad for each image, dweight = Σ grad · xᵀ over the batch.
pub(crate) fn backward_by_matmul<B: Backend>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> [FloatTensor<B>; 2] {
    let (x, weight) = (float::<B, 4>(x), float::<B, 4>(weight));
    let [b, c, h, w] = x.dims();
    let out = weight.dims()[0];
    let grad = float::<B, 4>(grad).reshape([b, out, h * w]);
    let dx = weight
        .reshape([1, out, c])
        .swap_dims(1, 2)
        .matmul(grad.clone())
        .reshape([b, c, h, w]);
    let dweight = grad
        .matmul(x.reshape([b, c, h * w]).swap_dims(1, 2))
        .sum_dim(0)
        .reshape([out, c, 1, 1]);
    [primitive(dx), primitive(dweight)]
}

#[cfg(all(test, feature = "flex", feature = "autodiff"))]
mod tests {
    use super::*;
    use crate::ops::backend::ModelBackend;
    use crate::ops::tests::close;
    use burn::backend::{Autodiff, Flex};
    use burn::tensor::{Distribution, Tensor};

    type AD = Autodiff<Flex>;

    fn random<const D: usize>(shape: [usize; D]) -> Tensor<Flex, D> {
        Tensor::random(shape, Distribution::Normal(0.0, 1.0), &Default::default())
    }

    /// The output and the gradients of sum(conv(x, weight) * r) with respect to x and weight.
    fn grads(
        [x, weight, r]: [Tensor<Flex, 4>; 3],
        conv: impl Fn(FloatTensor<AD>, FloatTensor<AD>) -> FloatTensor<AD>,
    ) -> [Tensor<Flex, 4>; 3] {
        let x = Tensor::<AD, 4>::from_inner(x).require_grad();
        let weight = Tensor::<AD, 4>::from_inner(weight).require_grad();
        let y = float::<AD, 4>(conv(primitive(x.clone()), primitive(weight.clone())));
        let g = (y.clone() * Tensor::from_inner(r)).sum().backward();
        [y.inner(), x.grad(&g).unwrap(), weight.grad(&g).unwrap()]
    }

    /// The CPU products (through the autodiff operation), burn's traced matrix products, and
    /// the default backward that GPU backends use agree on the output and both gradients, with a
    /// dense weight and with a pruned one (which the CPU forward pass runs from its non-zeros).
    #[test]
    fn matches_the_traced_products_and_their_gradients() {
        let (b, c, o, h, w) = (3, 6, 5, 7, 9);
        let dense = random([o, c, 1, 1]);
        let keep = Tensor::<Flex, 1>::from_floats(
            std::array::from_fn::<f32, 30, _>(|i| (i % 4 == 0) as u8 as f32),
            &Default::default(),
        );
        let pruned = dense.clone() * keep.reshape([o, c, 1, 1]);
        for weight in [dense, pruned] {
            let inputs = [random([b, c, h, w]), weight, random([b, o, h, w])];
            let tolerance = close();
            let reference = grads(inputs.clone(), forward_by_matmul::<AD>);
            let ours = grads(inputs.clone(), AD::pointwise_conv);
            for (ours, reference) in ours.into_iter().zip(&reference) {
                ours.into_data()
                    .assert_approx_eq(&reference.clone().into_data(), tolerance);
            }
            let [x, weight, r] = inputs;
            let by_matmul =
                backward_by_matmul::<Flex>(primitive(x), primitive(weight), primitive(r));
            for (ours, reference) in by_matmul.into_iter().zip(&reference[1..]) {
                float::<Flex, 4>(ours)
                    .into_data()
                    .assert_approx_eq(&reference.clone().into_data(), tolerance);
            }
        }
    }
}
