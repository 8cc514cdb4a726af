//! Where a pruned convolution is faster from its non-zeros, on this CPU and one thread: a 1x1
//! convolution against the matrix product, a 3x3 one against burn's convolution; prints the
//! best of 5 for both and their ratio, by layer shape and density. `SPARSE_DENSITY`
//! (src/ops/backend.rs) is chosen from these figures.
//!
//!   RAYON_NUM_THREADS=1 cargo run --release --example sparse_crossover

use burn::backend::Flex;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Tensor, TensorData};
use mirl::ops::cpu::{sparse_conv, sparse_pointwise};

const DENSITIES: [f64; 6] = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5];

/// `n` weights with a fixed scatter of non-zeros at about `density`.
fn scattered(n: usize, density: f64) -> Vec<f32> {
    (0..n)
        .map(|i| {
            if (i * 2_654_435_761 % 1000) as f64 / 1000.0 < density {
                0.5
            } else {
                0.0
            }
        })
        .collect()
}

fn pixels(n: usize) -> Vec<f32> {
    (0..n).map(|i| ((i * 7919) % 1000) as f32 * 1e-3).collect()
}

fn best_of_5(f: impl Fn() -> Vec<f32>) -> f64 {
    (0..5)
        .map(|_| {
            let start = std::time::Instant::now();
            std::hint::black_box(f());
            start.elapsed().as_secs_f64() * 1e3
        })
        .fold(f64::MAX, f64::min)
}

fn main() {
    println!("| in | out | pixels | density | matrix product | sparse | sparse / product |");
    println!("|---|---|---|---|---|---|---|");
    for (c, o, side) in [
        (16, 48, 256),
        (16, 64, 256),
        (32, 96, 128),
        (64, 192, 64),
        (16, 16, 256),
    ] {
        let hw = side * side;
        let x = pixels(c * hw);
        for density in DENSITIES {
            let w = scattered(o * c, density);
            let device = Default::default();
            let wt = Tensor::<Flex, 2>::from_data(TensorData::new(w.clone(), [o, c]), &device);
            let xt = Tensor::<Flex, 2>::from_data(TensorData::new(x.clone(), [c, hw]), &device);
            let dense = best_of_5(|| {
                wt.clone()
                    .matmul(xt.clone())
                    .into_data()
                    .into_vec()
                    .unwrap()
            });
            let sparse = best_of_5(|| sparse_pointwise(&x, &w, [1, c, hw], o));
            println!(
                "| {c} | {o} | {side}x{side} | {density} | {dense:.2} ms | {sparse:.2} ms | {:.2} |",
                sparse / dense
            );
        }
    }
    println!();
    println!("| in | out | pixels | density | burn's 3x3 convolution | sparse | sparse / burn |");
    println!("|---|---|---|---|---|---|---|");
    for (c, o, side) in [
        (3, 16, 256),
        (16, 8, 256),
        (32, 16, 128),
        (64, 32, 64),
        (128, 64, 32),
    ] {
        let x = pixels(c * side * side);
        for density in DENSITIES {
            let w = scattered(o * c * 9, density);
            let device = Default::default();
            let wt =
                Tensor::<Flex, 4>::from_data(TensorData::new(w.clone(), [o, c, 3, 3]), &device);
            let xt = Tensor::<Flex, 4>::from_data(
                TensorData::new(x.clone(), [1, c, side, side]),
                &device,
            );
            let options = ConvOptions::new([1, 1], [1, 1], [1, 1], 1);
            let dense = best_of_5(|| {
                conv2d(xt.clone(), wt.clone(), None, options.clone())
                    .into_data()
                    .into_vec()
                    .unwrap()
            });
            let sparse = best_of_5(|| sparse_conv(&x, &w, [1, c, side, side], o, 3));
            println!(
                "| {c} | {o} | {side}x{side} | {density} | {dense:.2} ms | {sparse:.2} ms | {:.2} |",
                sparse / dense
            );
        }
    }
}
