//! PixelShuffle(2) and its inverse ([`ModelBackend::pixel_shuffle`]), the up- and downsampling
//! between the network's levels: burn's defaults. The CPU backend runs them as row loops
//! (`cpu::pixel_shuffle`), where burn-flex copies the permuted view one strided index at a time.

use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensor;

#[cfg(doc)]
use super::backend::ModelBackend;
use super::convert::{float, primitive};

/// PixelShuffle(2) from burn's operations ([`ModelBackend::pixel_shuffle`]'s default).
pub(crate) fn pixel_shuffle_by_burn<B: Backend>(x: FloatTensor<B>) -> FloatTensor<B> {
    let x = float::<B, 4>(x);
    let [b, c, h, w] = x.dims();
    primitive(
        x.reshape([b, c / 4, 2, 2, h, w])
            .permute([0, 1, 4, 2, 5, 3])
            .reshape([b, c / 4, h * 2, w * 2]),
    )
}

/// PixelUnshuffle(2) from burn's operations ([`ModelBackend::pixel_unshuffle`]'s default).
pub(crate) fn pixel_unshuffle_by_burn<B: Backend>(x: FloatTensor<B>) -> FloatTensor<B> {
    let x = float::<B, 4>(x);
    let [b, c, h, w] = x.dims();
    primitive(
        x.reshape([b, c, h / 2, 2, w / 2, 2])
            .permute([0, 1, 3, 5, 2, 4])
            .reshape([b, c * 4, h / 2, w / 2]),
    )
}
