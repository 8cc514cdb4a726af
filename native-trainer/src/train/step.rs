//! One optimisation step under pruning masks, as MIR-L does it: L1 loss (or [`Loss::Luma`]), backward, gradients of
//! pruned weights zeroed, AdamW, then pruned weights zeroed again. Weight decay and Adam's
//! moments therefore never move a pruned weight off exactly 0.

use std::collections::HashMap;

use burn::module::{AutodiffModule, Param, ParamId};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{AdamW, AdamWConfig, GradientsParams, Optimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Tensor, TensorData};
use mirl::walk::{map_params, visit_params, ParamMapper, ParamVisitor};
use mirl::PromptIr;
use rayon::prelude::*;

use super::masks::Masks;
use crate::backend::TrainBackend;
use crate::data::Batch;
use crate::ranks::Ranks;

pub type Adam<AB> = OptimizerAdaptor<AdamW, PromptIr<AB>, AB>;

/// What a step minimises.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Loss {
    /// L1 over R, G and B, as MIR-L.
    #[default]
    L1,
    /// L1 over the error's luma and its two colour differences (JPEG's Y, Cb, Cr), the colour
    /// differences weighted a quarter: where a 4:2:0 JPEG's error mostly lies, and what the
    /// eye sees.
    Luma,
}

impl Loss {
    /// The loss of `error` (output minus target, NCHW), summed: each shard adds its share.
    fn sum<B: Backend>(self, error: Tensor<B, 4>) -> Tensor<B, 1> {
        match self {
            Loss::L1 => error.abs().sum(),
            Loss::Luma => {
                // ITU-R BT.601 as JPEG: Y, then Cb and Cr scaled to Y's range.
                const YCC: [[f32; 3]; 3] = [
                    [0.299, 0.587, 0.114],
                    [-0.168_736, -0.331_264, 0.5],
                    [0.5, -0.418_688, -0.081_312],
                ];
                const WEIGHT: [f32; 3] = [1.0, 0.25, 0.25];
                let c = error.clone().chunk(3, 1);
                (0..3)
                    .map(|k| {
                        let [a, b, d] = YCC[k];
                        (c[0].clone().mul_scalar(a)
                            + c[1].clone().mul_scalar(b)
                            + c[2].clone().mul_scalar(d))
                        .abs()
                        .sum()
                        .mul_scalar(WEIGHT[k])
                    })
                    .reduce(|x, y| x + y)
                    .expect("three channels")
            }
        }
    }
}

/// AdamW hyper-parameters (PyTorch's names and meaning).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AdamSettings {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
}

impl AdamSettings {
    /// A fresh optimizer: MIR-L starts every round with new moments.
    pub fn init<AB: TrainBackend>(&self) -> Adam<AB> {
        AdamWConfig::new()
            .with_beta_1(self.beta1 as f32)
            .with_beta_2(self.beta2 as f32)
            .with_epsilon(self.eps as f32)
            .with_weight_decay(self.weight_decay as f32)
            .init()
    }
}

/// Learning rate at `step` (0-based) of a round of `steps`: linear warm-up over `warmup`
/// steps to `base`, then cosine decay to 0 at the round's end.
pub fn learning_rate(base: f64, step: u64, steps: u64, warmup: u64) -> f64 {
    if step < warmup {
        return base * (step + 1) as f64 / warmup as f64;
    }
    let span = steps.saturating_sub(warmup).max(1) as f64;
    let t = (step - warmup) as f64 / span;
    base * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())
}

/// Learning rate at a fraction `done` of a timed round: the same warm-up (a ninth of the
/// round) and cosine decay as [`learning_rate`], on the clock.
pub fn timed_learning_rate(base: f64, done: f64) -> f64 {
    const N: u64 = 1 << 20;
    learning_rate(base, (done.clamp(0.0, 1.0) * N as f64) as u64, N, N / 9)
}

/// Masks as 0/1 tensors on the training device, flattened, by parameter name.
pub struct DeviceMasks<B: Backend> {
    by_name: HashMap<String, Tensor<B, 1>>,
}

impl<B: Backend> DeviceMasks<B> {
    /// `None` when every weight is kept, so dense rounds skip masking.
    pub fn new(masks: &Masks, device: &B::Device) -> Option<Self> {
        if masks.is_dense() {
            return None;
        }
        let by_name = masks
            .keep
            .iter()
            .map(|(name, keep)| {
                let values: Vec<f32> = keep.iter().map(|&k| k as u8 as f32).collect();
                let n = values.len();
                let t = Tensor::from_data(TensorData::new(values, [n]), device);
                (name.clone(), t)
            })
            .collect();
        Some(Self { by_name })
    }
}

/// How one step runs: its learning rate, what it minimises, the shards it cuts this
/// process's part of the batch into, and the crops of the whole batch (all ranks').
#[derive(Debug, Clone, Copy)]
pub struct StepRun {
    pub lr: f64,
    pub loss: Loss,
    pub shards: usize,
    pub crops: usize,
}

/// Runs one step and returns the model and the batch's loss. The batch is cut into `shards`
/// parts (whole crops, as even as they allow), each run forward and backward on its own thread
/// through its own copy of the model (same parameter ids, its own autodiff graph), and their
/// gradients are summed in a fixed order: the same step on all cores, deterministic for a given
/// `shards`. Under several ranks, `batch` is this rank's share, and the gradients and the loss
/// are then summed over the ranks: every rank takes the same step.
pub fn train_step<AB: TrainBackend>(
    model: PromptIr<AB>,
    optim: &mut Adam<AB>,
    masks: Option<&DeviceMasks<AB::InnerBackend>>,
    batch: Batch,
    run: StepRun,
    ranks: &Ranks,
    device: &AB::Device,
) -> (PromptIr<AB>, f32) {
    let StepRun {
        lr,
        loss,
        shards,
        crops,
    } = run;
    // The mean over the whole batch: each shard of each rank adds its share.
    let total = (batch.input.len() / batch.shape[0].max(1) * crops) as f32;
    let shard_grads = |shard: Batch| {
        // Straight from `valid()`: a clone of the inner module would drop `require_grad`.
        let replica = PromptIr::<AB>::from_inner(model.valid());
        let input_shape = shard.input_shape();
        let input = Tensor::<AB, 4>::from_data(TensorData::new(shard.input, input_shape), device);
        let target = Tensor::<AB, 4>::from_data(TensorData::new(shard.target, shard.shape), device);
        let loss = loss.sum(replica.forward(input) - target).div_scalar(total);
        let value = loss.clone().into_scalar().elem::<f32>();
        (
            GradientsParams::from_grads(loss.backward(), &replica),
            value,
        )
    };
    let results: Vec<_> = batch
        .split(shards)
        .into_par_iter()
        .map(shard_grads)
        .collect();
    let mut loss = [results.iter().map(|(_, value)| value).sum()];
    ranks.sum(&mut loss);
    let mut sum = GradSum {
        masks,
        shards: results.into_iter().map(|(grads, _)| grads).collect(),
        grads: GradientsParams::new(),
        flat: (ranks.size() > 1).then(Flat::default),
    };
    visit_params(&model, &mut sum);
    let mut grads = sum.grads;
    if let Some(mut flat) = sum.flat {
        // Every rank flattened the same parameters in the same order: one sum across the
        // ranks for the whole step, then each gradient back in its place.
        ranks.sum(&mut flat.values);
        visit_params(
            &model,
            &mut Unflatten {
                masks,
                flat,
                grads: &mut grads,
            },
        );
    }
    let mut model = optim.step(lr, model, grads);
    if let Some(masks) = masks {
        model = map_params(model, &mut WeightMasker { masks });
    }
    (model, loss[0])
}

/// Sums each parameter's gradient over the shards, in shard order. With one rank it zeroes the
/// gradients of pruned weights and registers them; with several it appends them to `flat`,
/// for one sum across the ranks.
struct GradSum<'a, B: Backend> {
    masks: Option<&'a DeviceMasks<B>>,
    shards: Vec<GradientsParams>,
    grads: GradientsParams,
    flat: Option<Flat>,
}

/// Gradients laid end to end in host memory, with where each parameter's lie.
#[derive(Default)]
struct Flat {
    values: Vec<f32>,
    at: HashMap<ParamId, std::ops::Range<usize>>,
}

/// A gradient with the gradients of `path`'s pruned weights zeroed.
fn masked<B: Backend, const D: usize>(
    masks: Option<&DeviceMasks<B>>,
    path: &str,
    grad: Tensor<B, D>,
) -> Tensor<B, D> {
    match masks.and_then(|masks| masks.by_name.get(path)) {
        Some(mask) => {
            let dims = grad.dims();
            grad * mask.clone().reshape(dims)
        }
        None => grad,
    }
}

impl<AB: AutodiffBackend> ParamVisitor<AB> for GradSum<'_, AB::InnerBackend> {
    fn visit<const D: usize>(&mut self, path: &str, param: &Param<Tensor<AB, D>>) {
        let Some(grad) = self
            .shards
            .iter_mut()
            .filter_map(|g| g.remove::<AB::InnerBackend, D>(param.id))
            .reduce(|a, b| a + b)
        else {
            return;
        };
        match &mut self.flat {
            Some(flat) => {
                let start = flat.values.len();
                let values = grad.into_data().into_vec::<f32>().expect("f32 gradients");
                flat.values.extend(values);
                flat.at.insert(param.id, start..flat.values.len());
            }
            None => self
                .grads
                .register(param.id, masked(self.masks, path, grad)),
        }
    }
}

/// Puts the gradients summed across the ranks back, masked, as each parameter's.
struct Unflatten<'a, B: Backend> {
    masks: Option<&'a DeviceMasks<B>>,
    flat: Flat,
    grads: &'a mut GradientsParams,
}

impl<AB: AutodiffBackend> ParamVisitor<AB> for Unflatten<'_, AB::InnerBackend> {
    fn visit<const D: usize>(&mut self, path: &str, param: &Param<Tensor<AB, D>>) {
        let Some(range) = self.flat.at.get(&param.id) else {
            return;
        };
        let value = param.val();
        let data = TensorData::new(self.flat.values[range.clone()].to_vec(), value.dims());
        let grad = Tensor::<AB::InnerBackend, D>::from_data(data, &value.device());
        self.grads
            .register(param.id, masked(self.masks, path, grad));
    }
}

struct WeightMasker<'a, B: Backend> {
    masks: &'a DeviceMasks<B>,
}

impl<AB: AutodiffBackend> ParamMapper<AB> for WeightMasker<'_, AB::InnerBackend> {
    fn map<const D: usize>(
        &mut self,
        path: &str,
        param: Param<Tensor<AB, D>>,
    ) -> Param<Tensor<AB, D>> {
        let Some(mask) = self.masks.by_name.get(path) else {
            return param;
        };
        param.map(|t| {
            let dims = t.dims();
            Tensor::from_inner(t.inner() * mask.clone().reshape(dims)).require_grad()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::masks::{rewind, Scope};
    use burn::backend::{Autodiff, Flex};
    use mirl::params::{load_params, read_params};
    use mirl::PromptIrConfig;
    use rand::{RngExt, SeedableRng};

    type AB = Autodiff<Flex>;

    /// MIR-L's claims about masking, on the tiny network with strong weight decay: pruned
    /// weights are exactly 0 after many AdamW steps, survivors do train, and rewinding puts
    /// the survivors back to their initial values bit for bit.
    #[test]
    fn masked_training_keeps_pruned_weights_at_zero_and_rewinds_exactly() {
        let device = Default::default();
        let config = PromptIrConfig::preset("tiny").unwrap();
        AB::seed(&device, 3);
        let init = read_params(&config.init::<AB>(&device));
        let mut masks = Masks::dense(&init);
        masks.prune(&init, 0.5, Scope::Global);
        let mut start = init.clone();
        masks.apply(&mut start);
        let mut model = load_params(config.init::<AB>(&device), &start, &device).unwrap();
        let adam = AdamSettings {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.5,
        };
        let mut optim = adam.init::<AB>();
        let device_masks = DeviceMasks::new(&masks, &device).unwrap();
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(1);
        for _ in 0..30 {
            let n = 2 * 3 * 16 * 16;
            let target: Vec<f32> = (0..n).map(|_| rng.random::<f32>()).collect();
            let input = target
                .iter()
                .map(|v| v + rng.random::<f32>() * 0.2)
                .collect();
            let batch = Batch {
                input,
                target,
                shape: [2, 3, 16, 16],
                planes: 0,
            };
            model = train_step(
                model,
                &mut optim,
                Some(&device_masks),
                batch,
                StepRun {
                    lr: 1e-3,
                    loss: Loss::L1,
                    shards: 2,
                    crops: 2,
                },
                &Ranks::one(),
                &device,
            )
            .0;
        }
        let trained = read_params(&model);
        let mut moved = 0;
        for (name, keep) in &masks.keep {
            for (i, &k) in keep.iter().enumerate() {
                let (w, w0) = (trained[name].data[i], init[name].data[i]);
                if k {
                    moved += (w != w0) as usize;
                } else {
                    assert_eq!(w, 0.0, "pruned {name}[{i}] moved to {w}");
                }
            }
        }
        assert!(moved > masks.kept() / 2, "only {moved} survivors trained");

        masks.prune(&trained, 0.2, Scope::Global);
        let rewound = rewind(&trained, &init, &masks, false);
        let model = load_params(model, &rewound, &device).unwrap();
        let back = read_params(&model);
        for (name, keep) in &masks.keep {
            for (i, &k) in keep.iter().enumerate() {
                let want = if k { init[name].data[i] } else { 0.0 };
                assert_eq!(back[name].data[i].to_bits(), want.to_bits(), "{name}[{i}]");
            }
        }
    }

    /// Cutting a batch into shards is the same step: the same loss and weights as one piece (to
    /// float rounding), with an uneven split too, and bit-identical when repeated.
    #[test]
    fn a_sharded_step_matches_the_whole_batch() {
        let device = Default::default();
        let config = PromptIrConfig::preset("tiny").unwrap();
        AB::seed(&device, 5);
        let init = read_params(&config.init::<AB>(&device));
        let adam = AdamSettings {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
        };
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(2);
        let shape = [3, 3, 16, 16];
        let batches: Vec<(Vec<f32>, Vec<f32>)> = (0..4)
            .map(|_| {
                let n = shape.iter().product();
                let target: Vec<f32> = (0..n).map(|_| rng.random::<f32>()).collect();
                let input = target
                    .iter()
                    .map(|v| v + rng.random::<f32>() * 0.2)
                    .collect();
                (input, target)
            })
            .collect();
        let train = |shards: usize| {
            let mut model = load_params(config.init::<AB>(&device), &init, &device).unwrap();
            let mut optim = adam.init::<AB>();
            let mut losses = Vec::new();
            for (input, target) in &batches {
                let batch = Batch {
                    input: input.clone(),
                    target: target.clone(),
                    shape,
                    planes: 0,
                };
                let (next, loss) = train_step(
                    model,
                    &mut optim,
                    None,
                    batch,
                    StepRun {
                        lr: 1e-3,
                        loss: Loss::L1,
                        shards,
                        crops: shape[0],
                    },
                    &Ranks::one(),
                    &device,
                );
                model = next;
                losses.push(loss);
            }
            (losses, read_params(&model))
        };
        let (whole_loss, whole) = train(1);
        let (split_loss, split) = train(2);
        for (a, b) in whole_loss.iter().zip(&split_loss) {
            assert!((a - b).abs() < 1e-5, "loss {a} whole, {b} in shards");
        }
        for (name, p) in &whole {
            for (a, b) in p.data.iter().zip(&split[name].data) {
                assert!((a - b).abs() < 1e-5, "{name}: {a} whole, {b} in shards");
            }
        }
        assert_eq!(
            train(2),
            (split_loss, split),
            "a repeated sharded run differs"
        );
    }

    #[test]
    fn schedule_warms_up_then_decays_to_zero() {
        let lr = |s| learning_rate(1.0, s, 100, 10);
        assert!((lr(0) - 0.1).abs() < 1e-12);
        assert!((lr(9) - 1.0).abs() < 1e-12);
        assert!((lr(10) - 1.0).abs() < 1e-12);
        assert!((lr(55) - 0.5).abs() < 1e-12);
        assert!(lr(99) < 0.001);
        assert!((1..100).all(|s| s < 10 || lr(s) <= lr(s - 1)));
        // On the clock: the same shape.
        assert!((timed_learning_rate(1.0, 0.5 / 9.0) - 0.5).abs() < 1e-5);
        assert!((timed_learning_rate(1.0, 1.0 / 9.0 + 0.5 * 8.0 / 9.0) - 0.5).abs() < 1e-5);
        assert_eq!(timed_learning_rate(1.0, 1.5), 0.0);
    }
}
