//! The operations the network runs, apart from the network (`model`): [`ModelBackend`], burn's
//! backend trait plus the operations the network runs as units of their own. Each operation's
//! module holds its burn default (what GPU backends run) and its gradient's; `backend.rs` holds
//! the trait, the CPU backend's overrides and the autodiff backend's tracking; `cpu.rs` and
//! `products.rs` hold the CPU loops under them. Nothing here depends on `model`.

pub mod backend;
pub mod conv;
mod convert;
#[cfg(feature = "flex")]
pub mod cpu;
pub mod depthwise;
pub mod gelu_gate;
mod gram;
pub mod l2_norm;
pub mod layer_norm;
pub mod pointwise;
#[cfg(feature = "flex")]
pub mod products;
mod shuffle;
pub mod tensor;

pub use backend::ModelBackend;

#[cfg(all(test, feature = "flex", feature = "autodiff"))]
pub(crate) mod tests {
    use burn::nn::conv::{Conv2d, Conv2dConfig};
    use burn::nn::PaddingConfig2d;
    use burn::tensor::backend::Backend;
    use burn::tensor::Tolerance;

    /// How closely a CPU operation must match burn's reference, output and gradients: within
    /// 1e-5, or 1e-5 of the value where it is large (gradients reach about 50 on the random
    /// inputs, where one f32 step is 4e-6 and a sum taken in another order differs by a few).
    pub(crate) fn close() -> Tolerance<f32> {
        Tolerance::rel_abs(1e-5, 1e-5)
    }

    /// A bias-free k x k convolution with "same" padding, as the network's, to test against.
    pub(crate) fn same_conv<B: Backend>(
        cin: usize,
        cout: usize,
        k: usize,
        groups: usize,
        device: &B::Device,
    ) -> Conv2d<B> {
        let p = k / 2;
        Conv2dConfig::new([cin, cout], [k, k])
            .with_groups(groups)
            .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
            .with_bias(false)
            .init(device)
    }
}
