//! Resolution changes: the U-Net's down/up steps (conv + pixel (un)shuffle) and the bilinear
//! resize that fits a prompt to its feature map.

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

use super::blocks::conv;
use crate::ops::tensor::{self, conv_same};
use crate::ops::ModelBackend;

/// Conv3x3(C -> C/2) then PixelUnshuffle(2): half the size, twice the channels.
#[derive(Module, Debug)]
pub struct Downsample<B: Backend> {
    /// One conv; a Vec so that its name is `body.0.weight` as in the reference's Sequential.
    pub body: Vec<Conv2d<B>>,
}

impl<B: ModelBackend> Downsample<B> {
    pub fn new(channels: usize, device: &B::Device) -> Self {
        Self {
            body: vec![conv(channels, channels / 2, 3, 1, device)],
        }
    }

    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let x = conv_same(self.body[0].weight.val(), x);
        tensor::pixel_unshuffle(x)
    }
}

/// Conv3x3(C -> 2C) then PixelShuffle(2): twice the size, half the channels.
#[derive(Module, Debug)]
pub struct Upsample<B: Backend> {
    pub body: Vec<Conv2d<B>>,
}

impl<B: ModelBackend> Upsample<B> {
    pub fn new(channels: usize, device: &B::Device) -> Self {
        Self {
            body: vec![conv(channels, channels * 2, 3, 1, device)],
        }
    }

    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let x = conv_same(self.body[0].weight.val(), x);
        tensor::pixel_shuffle(x)
    }
}

/// The (dst x src) matrix of 1-D linear interpolation with PyTorch's `align_corners=False`:
/// half-pixel centres, source coordinate clamped at 0 and at the last pixel, no antialiasing.
fn linear_resize_matrix(src: usize, dst: usize) -> Vec<f32> {
    let scale = src as f64 / dst as f64;
    let mut m = vec![0.0f32; dst * src];
    for i in 0..dst {
        let pos = ((i as f64 + 0.5) * scale - 0.5).max(0.0);
        let i0 = (pos.floor() as usize).min(src - 1);
        let i1 = (i0 + 1).min(src - 1);
        let frac = (pos - i0 as f64) as f32;
        m[i * src + i0] += 1.0 - frac;
        m[i * src + i1] += frac;
    }
    m
}

/// Bilinear resize of (B, C, h, w) to (B, C, H, W), as `F.interpolate(mode="bilinear")`.
/// Separable, so it is two small matmuls: rows (H x h) @ x @ cols^T (w x W).
pub fn resize_bilinear<B: Backend>(x: Tensor<B, 4>, height: usize, width: usize) -> Tensor<B, 4> {
    let [b, c, h, w] = x.dims();
    let device = x.device();
    let rows = Tensor::<B, 2>::from_data(
        TensorData::new(linear_resize_matrix(h, height), [height, h]),
        &device,
    );
    let cols = Tensor::<B, 2>::from_data(
        TensorData::new(linear_resize_matrix(w, width), [width, w]),
        &device,
    );
    let x = x.reshape([b * c, h, w]);
    let rows = rows.unsqueeze_dim::<3>(0).expand([b * c, height, h]);
    let cols_t = cols
        .transpose()
        .unsqueeze_dim::<3>(0)
        .expand([b * c, w, width]);
    rows.matmul(x).matmul(cols_t).reshape([b, c, height, width])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resize_matrix_rows_sum_to_one_and_identity_is_exact() {
        for (src, dst) in [(16, 8), (4, 12), (5, 7), (8, 8)] {
            let m = linear_resize_matrix(src, dst);
            for row in m.chunks(src) {
                assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
            }
        }
        let m = linear_resize_matrix(3, 3);
        assert_eq!(m, vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
    }

    #[test]
    fn downscale_by_two_averages_pairs() {
        // PyTorch: src = (i + 0.5) * 2 - 0.5 = 2i + 0.5 -> mean of pixels 2i and 2i+1.
        let m = linear_resize_matrix(4, 2);
        assert_eq!(m, vec![0.5, 0.5, 0.0, 0.0, 0.0, 0.0, 0.5, 0.5]);
    }
}
