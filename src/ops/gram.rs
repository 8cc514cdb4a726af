//! Attention's q·kᵀ ([`ModelBackend::gram`]): burn's default.

use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensor;

#[cfg(doc)]
use super::backend::ModelBackend;
use super::convert::{float, primitive};

/// q·kᵀ, the sums over the last dimension (the pixels) of each pair of rows of `q` and `k`, both
/// [b, heads, channels, pixels]: one matrix product ([`ModelBackend::gram`]'s default).
pub(crate) fn by_matmul<B: Backend>(q: FloatTensor<B>, k: FloatTensor<B>) -> FloatTensor<B> {
    primitive(float::<B, 4>(q).matmul(float::<B, 4>(k).swap_dims(2, 3)))
}
