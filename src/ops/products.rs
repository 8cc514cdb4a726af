//! The matrix products of the CPU backend's 1x1 convolutions and unfolded 3x3 ones, forward and
//! backward, as `gemm` calls that write their result straight into the returned buffer.
//! burn-flex 0.21's matmul zeroes a byte buffer for its output and then copies it into aligned
//! memory (`FlexTensor::empty` through `Bytes::from_bytes_vec`): two extra passes over every
//! product, a tenth of a training step at 8 x 48². Upstream, `empty` could allocate the element
//! type's own vector and skip both.
//!
//! One product per image of the batch, each on one thread: the products of a training batch are
//! small and its shards already keep the cores busy. Larger ones (whole photos) stay with
//! burn-flex, which splits them across threads ([`fits`]).

/// Largest product (m·n·k multiply-adds per image) computed here: burn-flex's own threshold for
/// splitting a product across threads.
const MAX_PRODUCT: usize = 192 * 192 * 192;

/// Whether one image's product of an `[o, c]` weight with `[c, n]` values is computed here.
pub fn fits(o: usize, c: usize, n: usize) -> bool {
    o.checked_mul(c)
        .and_then(|v| v.checked_mul(n))
        .is_some_and(|v| v > 0 && v <= MAX_PRODUCT)
}

/// A row-major matrix of `rows` x `cols` values, or the transpose of one.
#[derive(Clone, Copy)]
struct Matrix<'a> {
    values: &'a [f32],
    rows: usize,
    cols: usize,
    transposed: bool,
}

impl<'a> Matrix<'a> {
    fn new(values: &'a [f32], rows: usize, cols: usize) -> Self {
        assert_eq!(values.len(), rows * cols, "a matrix's values fill it");
        Self {
            values,
            rows,
            cols,
            transposed: false,
        }
    }

    fn t(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            transposed: !self.transposed,
            ..self
        }
    }

    /// (row stride, column stride) of the matrix as seen.
    fn strides(&self) -> (isize, isize) {
        match self.transposed {
            false => (self.cols as isize, 1),
            true => (1, self.rows as isize),
        }
    }
}

/// `out = a · b`, or `out += a · b` with `accumulate`; `out` row-major [a.rows, b.cols].
///
/// # Safety
/// `out` points to `a.rows · b.cols` writable values, initialised where `accumulate`.
unsafe fn product(out: *mut f32, a: Matrix<'_>, b: Matrix<'_>, accumulate: bool) {
    assert_eq!(a.cols, b.rows, "inner dimensions match");
    let (m, k, n) = (a.rows, a.cols, b.cols);
    let ((a_rs, a_cs), (b_rs, b_cs)) = (a.strides(), b.strides());
    // SAFETY: both operands' strides stay within their slices (checked in `Matrix::new`); `out`
    // is the caller's. With `read_dst` false gemm writes every value of `out` without reading
    // it (alpha is ignored), so `out` may be uninitialised then.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out,
            1,
            n as isize,
            accumulate,
            a.values.as_ptr(),
            a_cs,
            a_rs,
            b.values.as_ptr(),
            b_cs,
            b_rs,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}

/// A buffer of `len` values that `fill` writes in full, without zeroing it first.
fn filled(len: usize, fill: impl FnOnce(*mut f32)) -> Vec<f32> {
    let mut out = Vec::<f32>::with_capacity(len);
    fill(out.as_mut_ptr());
    // SAFETY: `fill` wrote all `len` values (every caller's products cover the buffer).
    unsafe { out.set_len(len) };
    out
}

/// `y[i] = weight · x[i]` for each image i: `weight` [o, c], `x` [b, c, n], `y` [b, o, n]. A 1x1
/// convolution's forward pass, or a full one's over unfolded columns.
pub fn weight_times(weight: &[f32], x: &[f32], [b, c, n]: [usize; 3], o: usize) -> Vec<f32> {
    let w = Matrix::new(weight, o, c);
    filled(b * o * n, |out| {
        for (i, xs) in x.chunks_exact(c * n).take(b).enumerate() {
            // SAFETY: image i's [o, n] block of the b·o·n values.
            unsafe { product(out.add(i * o * n), w, Matrix::new(xs, c, n), false) }
        }
    })
}

/// `dx[i] = weightᵀ · grad[i]`: the input gradient of [`weight_times`], [b, c, n].
pub fn weight_transposed_times(
    weight: &[f32],
    grad: &[f32],
    [b, o, n]: [usize; 3],
    c: usize,
) -> Vec<f32> {
    let wt = Matrix::new(weight, o, c).t();
    filled(b * c * n, |out| {
        for (i, gs) in grad.chunks_exact(o * n).take(b).enumerate() {
            // SAFETY: image i's [c, n] block of the b·c·n values.
            unsafe { product(out.add(i * c * n), wt, Matrix::new(gs, o, n), false) }
        }
    })
}

/// `Σ_i grad[i] · x[i]ᵀ`: the weight gradient of [`weight_times`], [o, c], summed in image order.
pub fn weight_grad(grad: &[f32], x: &[f32], [b, o, n]: [usize; 3], c: usize) -> Vec<f32> {
    if b == 0 {
        return vec![0.0; o * c];
    }
    let images = grad.chunks_exact(o * n).zip(x.chunks_exact(c * n)).take(b);
    filled(o * c, |out| {
        for (i, (gs, xs)) in images.enumerate() {
            let (g, xt) = (Matrix::new(gs, o, n), Matrix::new(xs, c, n).t());
            // SAFETY: the [o, c] buffer, written by the first product and added to after.
            unsafe { product(out, g, xt, i > 0) }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain triple loop, for a reference.
    fn naive(a: &[f32], b: &[f32], [m, k, n]: [usize; 3]) -> Vec<f32> {
        (0..m * n)
            .map(|i| (0..k).map(|j| a[i / n * k + j] * b[j * n + i % n]).sum())
            .collect()
    }

    fn values(len: usize, seed: usize) -> Vec<f32> {
        (0..len)
            .map(|i| ((i * 7919 + seed * 104_729) % 1009) as f32 / 1009.0 - 0.5)
            .collect()
    }

    fn transpose(a: &[f32], rows: usize, cols: usize) -> Vec<f32> {
        (0..rows * cols)
            .map(|i| a[i % rows * cols + i / rows])
            .collect()
    }

    fn assert_close(a: &[f32], b: &[f32]) {
        assert_eq!(a.len(), b.len());
        let worst = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max);
        assert!(worst < 1e-4, "largest difference {worst}");
    }

    /// The three products against the triple loop, image by image, with odd sizes.
    #[test]
    fn products_match_the_triple_loop() {
        let ([b, c, n], o) = ([3, 5, 37], 7);
        let (w, x, g) = (values(o * c, 1), values(b * c * n, 2), values(b * o * n, 3));
        let y = weight_times(&w, &x, [b, c, n], o);
        let dx = weight_transposed_times(&w, &g, [b, o, n], c);
        let mut dw = vec![0.0; o * c];
        for i in 0..b {
            let (xs, gs) = (&x[i * c * n..][..c * n], &g[i * o * n..][..o * n]);
            assert_close(&y[i * o * n..][..o * n], &naive(&w, xs, [o, c, n]));
            let wt = transpose(&w, o, c);
            assert_close(&dx[i * c * n..][..c * n], &naive(&wt, gs, [c, o, n]));
            let xt = transpose(xs, c, n);
            for (d, v) in dw.iter_mut().zip(naive(gs, &xt, [o, n, c])) {
                *d += v;
            }
        }
        assert_close(&weight_grad(&g, &x, [b, o, n], c), &dw);
    }

    #[test]
    fn sizes_beyond_the_threshold_or_empty_are_left_to_burn() {
        assert!(fits(48, 48, 4 * 2304 / 4));
        assert!(!fits(256, 256, 256));
        assert!(!fits(0, 4, 4));
        assert!(!fits(usize::MAX, 2, 2));
    }
}
