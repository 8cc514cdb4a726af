//! Where a pruned 1x1 convolution is faster from its non-zeros than as a matrix product, on
//! this CPU and one thread: prints the best of 5 for both and their ratio, by layer shape and
//! density. `SPARSE_DENSITY` (src/model/backend.rs) is chosen from these figures.
//!
//!   RAYON_NUM_THREADS=1 cargo run --release --example sparse_crossover

use burn::backend::Flex;
use burn::tensor::{Tensor, TensorData};
use mirl::model::cpu::sparse_pointwise;

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
        let x: Vec<f32> = (0..c * hw)
            .map(|i| ((i * 7919) % 1000) as f32 * 1e-3)
            .collect();
        for density in [0.05, 0.1, 0.2, 0.3, 0.4, 0.5] {
            // A fixed scatter of non-zeros at about `density`.
            let w: Vec<f32> = (0..o * c)
                .map(|i| {
                    if (i * 2_654_435_761 % 1000) as f64 / 1000.0 < density {
                        0.5
                    } else {
                        0.0
                    }
                })
                .collect();
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
}
