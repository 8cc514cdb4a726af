//! The feed-forward gate `gelu(a) * b` (exact GELU) as one operation with its own gradient
//! ([`ModelBackend::gelu_gate`]). Traced by burn, its
//! forward and backward passes were some ten passes over the block's widest tensors.

use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensor;

#[cfg(doc)]
use super::backend::ModelBackend;
use super::convert::{float, primitive};

/// [`ModelBackend::gelu_gate`]'s default, from burn's
/// operations.
pub(crate) fn forward_by_burn<B: Backend>(a: FloatTensor<B>, b: FloatTensor<B>) -> FloatTensor<B> {
    primitive(burn::tensor::activation::gelu(float::<B, 4>(a)) * float::<B, 4>(b))
}

/// [`ModelBackend::gelu_gate_backward`]'s
/// default, in burn's tensor operations: with Φ and φ the normal distribution and density,
/// da = grad · b · (Φ(a) + a · φ(a)), db = grad · a · Φ(a).
pub(crate) fn backward_by_burn<B: Backend>(
    a: FloatTensor<B>,
    b: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> [FloatTensor<B>; 2] {
    let (a, b, grad) = (float::<B, 4>(a), float::<B, 4>(b), float::<B, 4>(grad));
    let cdf = a
        .clone()
        .mul_scalar(std::f32::consts::FRAC_1_SQRT_2)
        .erf()
        .add_scalar(1.0)
        .mul_scalar(0.5);
    let pdf = a
        .clone()
        .powi_scalar(2)
        .mul_scalar(-0.5)
        .exp()
        .mul_scalar(0.5 * std::f32::consts::FRAC_2_SQRT_PI * std::f32::consts::FRAC_1_SQRT_2);
    let slope = cdf.clone() + a.clone() * pdf;
    let da = grad.clone() * b * slope;
    let db = grad * a * cdf;
    [primitive(da), primitive(db)]
}

#[cfg(all(test, feature = "flex", feature = "autodiff"))]
mod tests {
    use super::*;
    use crate::ops::backend::ModelBackend;
    use crate::ops::tests::close;
    use burn::backend::{Autodiff, Flex};
    use burn::tensor::{Distribution, Tensor};

    type AD = Autodiff<Flex>;

    fn random(shape: [usize; 4]) -> Tensor<Flex, 4> {
        Tensor::random(shape, Distribution::Normal(0.0, 3.0), &Default::default())
    }

    /// The output and the gradients of sum(gate(a, b) * r) with respect to a and b.
    fn grads(
        [a, b, r]: [Tensor<Flex, 4>; 3],
        gate: impl Fn(FloatTensor<AD>, FloatTensor<AD>) -> FloatTensor<AD>,
    ) -> [Tensor<Flex, 4>; 3] {
        let a = Tensor::<AD, 4>::from_inner(a).require_grad();
        let b = Tensor::<AD, 4>::from_inner(b).require_grad();
        let y = float::<AD, 4>(gate(primitive(a.clone()), primitive(b.clone())));
        let g = (y.clone() * Tensor::from_inner(r)).sum().backward();
        [y.inner(), a.grad(&g).unwrap(), b.grad(&g).unwrap()]
    }

    /// The CPU loops (through the autodiff operation) and burn's traced formula agree on the
    /// output and both gradients, and so does the default backward that GPU backends use.
    #[test]
    fn matches_the_traced_formula_and_its_gradients() {
        let shape = [2, 5, 7, 9];
        let inputs = [random(shape), random(shape), random(shape)];
        let tolerance = close();
        let reference = grads(inputs.clone(), forward_by_burn::<AD>);
        let ours = grads(inputs.clone(), AD::gelu_gate);
        for (ours, reference) in ours.into_iter().zip(&reference) {
            ours.into_data()
                .assert_approx_eq(&reference.clone().into_data(), tolerance);
        }
        let [a, b, r] = inputs;
        let by_burn = backward_by_burn::<Flex>(primitive(a), primitive(b), primitive(r));
        for (ours, reference) in by_burn.into_iter().zip(&reference[1..]) {
            float::<Flex, 4>(ours)
                .into_data()
                .assert_approx_eq(&reference.clone().into_data(), tolerance);
        }
    }
}
