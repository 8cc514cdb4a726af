//! LayerNorm across channels as one operation with its own gradient
//! ([`ModelBackend::channel_norm`]). Traced by burn, its forward and backward passes were some
//! thirty small operations each time it ran.

use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensor;
use burn::tensor::Tensor;

#[cfg(doc)]
use super::backend::ModelBackend;
use super::convert::{float, primitive};

/// LayerNorm's epsilon (PromptIR's `WithBias_LayerNorm`).
pub const EPS: f32 = 1e-5;

/// [`ModelBackend::channel_norm`]'s default. Every step across channels is a matrix product (a
/// centring matrix, a row of 1/c, outer products that spread the scale and shift over the
/// pixels), so the elementwise operations meet operands of one shape, which backends run faster
/// than reductions and broadcasts along the channel axis of NCHW.
pub(crate) fn forward_by_burn<B: Backend>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    bias: FloatTensor<B>,
) -> FloatTensor<B> {
    let x = float::<B, 4>(x);
    let [b, c, h, w] = x.dims();
    let device = x.device();
    let inv_c = 1.0 / c as f32;
    let centring = (Tensor::<B, 2>::eye(c, &device) - inv_c).reshape([1, c, c]);
    let centered = centring.matmul(x.reshape([b, c, h * w]));
    let mean = Tensor::<B, 3>::full([1, 1, c], inv_c, &device);
    let var = mean.matmul(centered.clone().powi_scalar(2));
    let inv_std = (var + EPS).sqrt().recip();
    let scale = float::<B, 1>(weight).reshape([1, c, 1]).matmul(inv_std);
    let ones = Tensor::<B, 3>::ones([b, 1, h * w], &device);
    let shift = float::<B, 1>(bias).reshape([1, c, 1]).matmul(ones);
    primitive((centered * scale + shift).reshape([b, c, h, w]))
}

/// [`ModelBackend::channel_norm_backward`]'s default, in burn's tensor operations: with x̂ the
/// normalised input and g = grad · weight, dx = (g − mean_c(g) − x̂ · mean_c(g · x̂)) / std,
/// dweight = Σ grad · x̂, dbias = Σ grad.
pub(crate) fn backward_by_burn<B: Backend>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> [FloatTensor<B>; 3] {
    let x = float::<B, 4>(x);
    let grad = float::<B, 4>(grad);
    let c = x.dims()[1];
    let centered = x.clone() - x.mean_dim(1);
    let var = centered.clone().powi_scalar(2).mean_dim(1);
    let inv_std = (var + EPS).sqrt().recip();
    let xhat = centered * inv_std.clone();
    let per_channel = |t: Tensor<B, 4>| t.sum_dim(0).sum_dim(2).sum_dim(3).reshape([c]);
    let dbias = per_channel(grad.clone());
    let dweight = per_channel(grad.clone() * xhat.clone());
    let g = grad * float::<B, 1>(weight).reshape([1, c, 1, 1]);
    let dx = (g.clone() - g.clone().mean_dim(1) - xhat.clone() * (g * xhat).mean_dim(1)) * inv_std;
    [primitive(dx), primitive(dweight), primitive(dbias)]
}

#[cfg(all(test, feature = "flex", feature = "autodiff"))]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};
    use burn::tensor::{Distribution, Tolerance};

    use crate::ops::tensor::layer_norm;

    type AD = Autodiff<Flex>;

    fn random<B: Backend, const D: usize>(shape: [usize; D]) -> Tensor<B, D> {
        Tensor::random(shape, Distribution::Normal(0.5, 2.0), &Default::default())
    }

    /// Gradients of sum(LN(x) * r) with respect to x, weight and bias, through `forward`.
    fn grads(
        x: Tensor<Flex, 4>,
        weight: Tensor<Flex, 1>,
        bias: Tensor<Flex, 1>,
        r: Tensor<Flex, 4>,
        forward: impl Fn(Tensor<AD, 4>, Tensor<AD, 1>, Tensor<AD, 1>) -> Tensor<AD, 4>,
    ) -> (Tensor<Flex, 4>, Tensor<Flex, 4>, [Tensor<Flex, 1>; 2]) {
        let x = Tensor::<AD, 4>::from_inner(x).require_grad();
        let weight = Tensor::<AD, 1>::from_inner(weight).require_grad();
        let bias = Tensor::<AD, 1>::from_inner(bias).require_grad();
        let y = forward(x.clone(), weight.clone(), bias.clone());
        let g = (y.clone() * Tensor::from_inner(r)).sum().backward();
        let dw = weight.grad(&g).unwrap();
        let db = bias.grad(&g).unwrap();
        (y.inner(), x.grad(&g).unwrap(), [dw, db])
    }

    /// The CPU loops, the autodiff operation and burn's traced formula agree on the output and
    /// on all three gradients, and so does the default backward that GPU backends use.
    #[test]
    fn matches_the_traced_formula_and_its_gradients() {
        for shape in [[2, 6, 5, 7], [1, 16, 4, 4]] {
            let c = shape[1];
            let (x, r) = (random::<Flex, 4>(shape), random::<Flex, 4>(shape));
            let (w, b) = (random::<Flex, 1>([c]), random::<Flex, 1>([c]));
            let tolerance = Tolerance::<f32>::absolute(1e-4);
            let traced = |x: Tensor<AD, 4>, w: Tensor<AD, 1>, b: Tensor<AD, 1>| {
                float(forward_by_burn::<AD>(
                    primitive(x),
                    primitive(w),
                    primitive(b),
                ))
            };
            let (y_ref, dx_ref, [dw_ref, db_ref]) =
                grads(x.clone(), w.clone(), b.clone(), r.clone(), traced);
            let (y, dx, [dw, db]) = grads(x.clone(), w.clone(), b, r.clone(), layer_norm::<AD>);
            y.into_data()
                .assert_approx_eq(&y_ref.into_data(), tolerance);
            dx.into_data()
                .assert_approx_eq(&dx_ref.clone().into_data(), tolerance);
            dw.into_data()
                .assert_approx_eq(&dw_ref.clone().into_data(), tolerance);
            db.into_data()
                .assert_approx_eq(&db_ref.clone().into_data(), tolerance);

            let [dx, dw, db] = backward_by_burn::<Flex>(primitive(x), primitive(w), primitive(r));
            float::<Flex, 4>(dx)
                .into_data()
                .assert_approx_eq(&dx_ref.into_data(), tolerance);
            float::<Flex, 1>(dw)
                .into_data()
                .assert_approx_eq(&dw_ref.into_data(), tolerance);
            float::<Flex, 1>(db)
                .into_data()
                .assert_approx_eq(&db_ref.into_data(), tolerance);
        }
    }
}
