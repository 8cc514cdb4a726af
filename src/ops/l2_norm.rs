//! Rows scaled to unit length, as `torch.nn.functional.normalize` over the last dimension
//! (attention's q and k), as one operation with its own gradient
//! ([`ModelBackend::l2_normalize`]). Traced by burn
//! it was six operations and their gradients.

use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensor;

#[cfg(doc)]
use super::backend::ModelBackend;
use super::convert::{float, primitive};

/// The smallest squared length a row is divided by: `normalize`'s eps of 1e-12, squared.
pub const MIN_SQUARED: f32 = 1e-24;

/// [`ModelBackend::l2_normalize`]'s default:
/// `x / max(||x||, 1e-12)`. The clamp goes inside the square root (same value): sqrt's gradient
/// at an all-zero row, which pruning produces, would otherwise be infinite and turn the backward
/// pass into NaN.
pub(crate) fn forward_by_burn<B: Backend>(x: FloatTensor<B>) -> FloatTensor<B> {
    let x = float::<B, 4>(x);
    let norm = x
        .clone()
        .powi_scalar(2)
        .sum_dim(3)
        .clamp_min(MIN_SQUARED)
        .sqrt();
    primitive(x / norm)
}

/// [`ModelBackend::l2_normalize_backward`]'s
/// default, in burn's tensor operations: with n the clamped length and y = x / n,
/// dx = (grad − y · Σ grad · y) / n, the sum dropped where the clamp holds n constant.
pub(crate) fn backward_by_burn<B: Backend>(
    x: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> FloatTensor<B> {
    let (x, grad) = (float::<B, 4>(x), float::<B, 4>(grad));
    let squared = x.clone().powi_scalar(2).sum_dim(3);
    let free = squared.clone().greater_elem(MIN_SQUARED).float();
    let norm = squared.clamp_min(MIN_SQUARED).sqrt();
    let y = x / norm.clone();
    let along = (grad.clone() * y.clone()).sum_dim(3) * free;
    primitive((grad - y * along) / norm)
}

#[cfg(all(test, feature = "flex", feature = "autodiff"))]
mod tests {
    use super::*;
    use crate::ops::backend::ModelBackend;
    use crate::ops::tests::close;
    use burn::backend::{Autodiff, Flex};
    use burn::tensor::{Distribution, Tensor};

    type AD = Autodiff<Flex>;

    /// The output and the gradient of sum(normalize(x) * r) with respect to x.
    fn grads(
        x: Tensor<Flex, 4>,
        r: Tensor<Flex, 4>,
        normalize: impl Fn(FloatTensor<AD>) -> FloatTensor<AD>,
    ) -> [Tensor<Flex, 4>; 2] {
        let x = Tensor::<AD, 4>::from_inner(x).require_grad();
        let y = float::<AD, 4>(normalize(primitive(x.clone())));
        let g = (y.clone() * Tensor::from_inner(r)).sum().backward();
        [y.inner(), x.grad(&g).unwrap()]
    }

    /// The CPU loops (through the autodiff operation) and burn's traced formula agree on the
    /// output and the gradient, an all-zero row (a pruned head) included, and so does the
    /// default backward that GPU backends use.
    #[test]
    fn matches_the_traced_formula_and_its_gradient() {
        let device = Default::default();
        let shape = [2, 3, 4, 50];
        let x = Tensor::<Flex, 4>::random(shape, Distribution::Normal(0.0, 2.0), &device);
        let x = x.slice_assign(
            [0..1, 1..2, 2..3, 0..50],
            Tensor::zeros([1, 1, 1, 50], &device),
        );
        let r = Tensor::<Flex, 4>::random(shape, Distribution::Normal(0.0, 1.0), &device);
        // Relative too: the zero row's gradient is the output's divided by 1e-12.
        let tolerance = close();
        let reference = grads(x.clone(), r.clone(), forward_by_burn::<AD>);
        let ours = grads(x.clone(), r.clone(), AD::l2_normalize);
        for (ours, reference) in ours.into_iter().zip(&reference) {
            ours.into_data()
                .assert_approx_eq(&reference.clone().into_data(), tolerance);
        }
        float::<Flex, 4>(backward_by_burn::<Flex>(primitive(x), primitive(r)))
            .into_data()
            .assert_approx_eq(&reference[1].clone().into_data(), tolerance);
    }
}
