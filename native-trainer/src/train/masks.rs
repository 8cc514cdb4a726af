//! Pruning masks over the prunable weights (every parameter whose name contains "weight"), how
//! MIR-L chooses them (global or layer-wise magnitude), layer-adaptive magnitude (LAMP), the
//! random-pruning control, and rewinding survivors to earlier values.

use std::collections::BTreeMap;

use mirl::config::is_prunable;
use mirl::params::{HostTensor, NamedParams};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use serde::{Deserialize, Serialize};

/// The layer that writes the restored image; layer-wise pruning cuts it at half rate.
const OUTPUT_LAYER: &str = "output.weight";

/// Where one magnitude threshold applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// One threshold over all prunable weights (MIR-L's default).
    Global,
    /// Each tensor pruned by the same fraction of its own survivors; the output layer at half.
    LayerWise,
    /// One threshold over layer-adaptive scores (LAMP: Lee et al., ICLR 2021): a weight's square
    /// over the sum of the squares of its layer's survivors at least as large. One magnitude
    /// threshold empties the layers whose weights are small: in the OSN campaign it left the
    /// output layer 2 of its 432 weights at 22% density. LAMP never empties a layer.
    Lamp,
}

/// Which prunable weights survive, per parameter name.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Masks {
    pub keep: BTreeMap<String, Vec<bool>>,
}

impl Masks {
    /// Every prunable weight of `params` kept.
    pub fn dense(params: &NamedParams) -> Self {
        let keep = params
            .iter()
            .filter(|(name, _)| is_prunable(name))
            .map(|(name, t)| (name.clone(), vec![true; t.numel()]))
            .collect();
        Self { keep }
    }

    /// The non-zero prunable weights of `params` (e.g. of a ticket).
    pub fn from_nonzero(params: &NamedParams) -> Self {
        let keep = params
            .iter()
            .filter(|(name, _)| is_prunable(name))
            .map(|(name, t)| (name.clone(), t.data.iter().map(|&v| v != 0.0).collect()))
            .collect();
        Self { keep }
    }

    /// Prunable weights in all.
    pub fn total(&self) -> usize {
        self.keep.values().map(Vec::len).sum()
    }

    /// Prunable weights kept.
    pub fn kept(&self) -> usize {
        self.keep
            .values()
            .map(|m| m.iter().filter(|&&k| k).count())
            .sum()
    }

    /// Kept / total over the prunable weights.
    pub fn density(&self) -> f64 {
        self.kept() as f64 / self.total().max(1) as f64
    }

    /// Whether every weight is kept (no masking needed).
    pub fn is_dense(&self) -> bool {
        self.keep.values().all(|m| m.iter().all(|&k| k))
    }

    /// Cuts `fraction` of the surviving weights with the smallest magnitude in `params` (for
    /// `Lamp`, the smallest layer-adaptive score).
    /// Masks only shrink: a pruned weight never returns.
    pub fn prune(&mut self, params: &NamedParams, fraction: f64, scope: Scope) {
        match scope {
            Scope::Global => {
                let layers: Vec<String> = self.keep.keys().cloned().collect();
                self.prune_among(params, &layers, fraction);
            }
            Scope::LayerWise => {
                let names: Vec<String> = self.keep.keys().cloned().collect();
                for name in names {
                    let f = if name == OUTPUT_LAYER {
                        fraction / 2.0
                    } else {
                        fraction
                    };
                    self.prune_among(params, std::slice::from_ref(&name), f);
                }
            }
            Scope::Lamp => {
                let layers: Vec<String> = self.keep.keys().cloned().collect();
                let scores = self.lamp_scores(params);
                self.prune_among(&scores, &layers, fraction);
            }
        }
    }

    /// Each surviving weight's LAMP score, w² / Σ v² over the survivors v of its layer with
    /// |v| ≥ |w|; pruned weights score 0 (`prune_among` skips them). A layer's largest weight
    /// scores 1, the most there is, so it goes last: only a round that cuts more than all the
    /// other survivors empties a layer.
    fn lamp_scores(&self, params: &NamedParams) -> NamedParams {
        self.keep
            .iter()
            .map(|(name, keep)| {
                let w = &params[name];
                let mut order: Vec<usize> = (0..keep.len()).filter(|&i| keep[i]).collect();
                order.sort_by(|&a, &b| w.data[b].abs().total_cmp(&w.data[a].abs()));
                let mut scores = vec![0.0f32; keep.len()];
                let mut sum = 0.0f64;
                // Largest first, so the running sum is the denominator; equal magnitudes share
                // the score of the first of them, which keeps ties tied.
                let mut previous: Option<(f32, f32)> = None;
                for i in order {
                    let m = w.data[i].abs();
                    sum += f64::from(m) * f64::from(m);
                    let score = match previous {
                        Some((pm, ps)) if pm == m => ps,
                        _ if sum > 0.0 => (f64::from(m) * f64::from(m) / sum) as f32,
                        _ => 0.0,
                    };
                    scores[i] = score;
                    previous = Some((m, score));
                }
                (name.clone(), HostTensor::new(w.shape.clone(), scores))
            })
            .collect()
    }

    /// Prunes exactly round(fraction * survivors) weights among `layers`, smallest |w| first;
    /// ties at the threshold are cut in name and index order, so the result is deterministic.
    fn prune_among(&mut self, params: &NamedParams, layers: &[String], fraction: f64) {
        let mut magnitudes: Vec<f32> = Vec::new();
        for name in layers {
            let (keep, w) = (&self.keep[name], &params[name].data);
            magnitudes.extend(
                keep.iter()
                    .zip(w)
                    .filter(|(k, _)| **k)
                    .map(|(_, v)| v.abs()),
            );
        }
        let cut = (fraction * magnitudes.len() as f64).round() as usize;
        if cut == 0 {
            return;
        }
        let (_, &mut threshold, _) = magnitudes.select_nth_unstable_by(cut - 1, f32::total_cmp);
        let below = magnitudes.iter().filter(|&&m| m < threshold).count();
        let mut ties = cut - below;
        for name in layers {
            let w = &params[name].data;
            for (k, v) in self.keep.get_mut(name).unwrap().iter_mut().zip(w) {
                if !*k {
                    continue;
                }
                let m = v.abs();
                if m < threshold {
                    *k = false;
                } else if m == threshold && ties > 0 {
                    *k = false;
                    ties -= 1;
                }
            }
        }
    }

    /// Random masks with the same number of survivors in every layer as `self`.
    pub fn random_like(&self, seed: u64) -> Self {
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let keep = self
            .keep
            .iter()
            .map(|(name, m)| {
                let kept = m.iter().filter(|&&k| k).count();
                let mut fresh: Vec<bool> = (0..m.len()).map(|i| i < kept).collect();
                fresh.shuffle(&mut rng);
                (name.clone(), fresh)
            })
            .collect();
        Self { keep }
    }

    /// Sets every pruned weight of `params` to zero.
    pub fn apply(&self, params: &mut NamedParams) {
        for (name, keep) in &self.keep {
            let t = params.get_mut(name).expect("masks match the network");
            for (v, &k) in t.data.iter_mut().zip(keep) {
                if !k {
                    *v = 0.0;
                }
            }
        }
    }
}

/// Parameters MIR-L's code does not rewind: they keep their trained values.
pub fn kept_on_rewind(name: &str) -> bool {
    name.ends_with("prompt_param") || name.ends_with("temperature")
}

/// The weights a new round starts from: every parameter from `origin` (initialisation or an
/// early step), except prompt_param and temperature, which keep their `trained` values unless
/// `everything`; then pruned weights set to zero.
pub fn rewind(
    trained: &NamedParams,
    origin: &NamedParams,
    masks: &Masks,
    everything: bool,
) -> NamedParams {
    let mut out: NamedParams = origin
        .iter()
        .map(|(name, t)| {
            let source = if !everything && kept_on_rewind(name) {
                &trained[name]
            } else {
                t
            };
            (name.clone(), source.clone())
        })
        .collect();
    masks.apply(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> NamedParams {
        let mut p = NamedParams::new();
        let w: Vec<f32> = (0..100).map(|i| ((i * 37) % 100) as f32 - 50.0).collect();
        p.insert("a.weight".into(), HostTensor::new(vec![10, 10], w));
        p.insert(
            "output.weight".into(),
            HostTensor::new(vec![40], (0..40).map(|i| i as f32 * 0.1).collect()),
        );
        p.insert(
            "a.bias".into(),
            HostTensor::new(vec![3], vec![1.0, 2.0, 3.0]),
        );
        p.insert(
            "p.prompt_param".into(),
            HostTensor::new(vec![2], vec![5.0, 6.0]),
        );
        p
    }

    #[test]
    fn global_pruning_cuts_the_smallest_and_stays_nested() {
        let p = params();
        let mut m = Masks::dense(&p);
        assert_eq!(m.total(), 140);
        assert!(!m.keep.contains_key("a.bias"));
        let mut previous = m.clone();
        for round in 1..=5 {
            m.prune(&p, 0.2, Scope::Global);
            let want = 140.0 * 0.8f64.powi(round);
            assert!(
                (m.kept() as f64 - want).abs() <= round as f64,
                "round {round}"
            );
            for (name, keep) in &m.keep {
                for (i, (&now, &before)) in keep.iter().zip(&previous.keep[name]).enumerate() {
                    assert!(!now || before, "{name}[{i}] came back");
                }
            }
            previous = m.clone();
        }
        // Survivors are the largest magnitudes.
        let smallest_kept = m
            .keep
            .iter()
            .flat_map(|(n, k)| {
                k.iter()
                    .zip(&p[n].data)
                    .filter(|(k, _)| **k)
                    .map(|(_, v)| v.abs())
            })
            .fold(f32::INFINITY, f32::min);
        let largest_cut = m
            .keep
            .iter()
            .flat_map(|(n, k)| {
                k.iter()
                    .zip(&p[n].data)
                    .filter(|(k, _)| !**k)
                    .map(|(_, v)| v.abs())
            })
            .fold(0.0f32, f32::max);
        assert!(largest_cut <= smallest_kept);
    }

    #[test]
    fn layer_wise_pruning_halves_the_output_rate() {
        let p = params();
        let mut m = Masks::dense(&p);
        m.prune(&p, 0.2, Scope::LayerWise);
        let kept = |n: &str| m.keep[n].iter().filter(|&&k| k).count();
        assert_eq!(kept("a.weight"), 80);
        assert_eq!(kept("output.weight"), 36);
    }

    #[test]
    fn lamp_pruning_spares_a_layer_of_small_weights() {
        let mut p = params();
        // A layer whose weights are all smaller than any other's: one magnitude threshold
        // empties it, LAMP keeps a share of it and its largest weight.
        let small: Vec<f32> = (1..=20).map(|i| i as f32 * 1e-3).collect();
        p.insert("small.weight".into(), HostTensor::new(vec![20], small));
        let kept = |m: &Masks, n: &str| m.keep[n].iter().filter(|&&k| k).count();

        let mut global = Masks::dense(&p);
        global.prune(&p, 0.5, Scope::Global);
        assert_eq!(kept(&global, "small.weight"), 0);

        let mut lamp = Masks::dense(&p);
        let mut previous = lamp.clone();
        for _ in 0..4 {
            lamp.prune(&p, 0.5, Scope::Lamp);
            for name in lamp.keep.keys() {
                assert!(kept(&lamp, name) >= 1, "{name} emptied");
                let nested = lamp.keep[name].iter().zip(&previous.keep[name]);
                assert!(nested.into_iter().all(|(&now, &before)| !now || before));
            }
            previous = lamp.clone();
        }
        assert_eq!(lamp.kept(), 10);
        // Within a layer the survivors are still its largest.
        let small = &lamp.keep["small.weight"];
        assert!(small[19], "the largest small weight is kept");
        let first_kept = small.iter().position(|&k| k).unwrap();
        assert!(small[first_kept..].iter().all(|&k| k));
    }

    #[test]
    fn random_masks_keep_per_layer_counts() {
        let p = params();
        let mut m = Masks::dense(&p);
        m.prune(&p, 0.5, Scope::Global);
        let r = m.random_like(3);
        assert_ne!(r, m);
        for (name, keep) in &m.keep {
            let count = |k: &Vec<bool>| k.iter().filter(|&&x| x).count();
            assert_eq!(count(keep), count(&r.keep[name]), "{name}");
        }
    }

    #[test]
    fn rewind_restores_survivors_bit_for_bit_and_keeps_prompts() {
        let init = params();
        let mut trained = init.clone();
        for t in trained.values_mut() {
            t.data.iter_mut().for_each(|v| *v = *v * 1.5 + 0.25);
        }
        let mut m = Masks::dense(&trained);
        m.prune(&trained, 0.3, Scope::Global);
        let r = rewind(&trained, &init, &m, false);
        for (name, t) in &r {
            for (i, v) in t.data.iter().enumerate() {
                let kept = m.keep.get(name).is_none_or(|k| k[i]);
                let want = if !kept {
                    0.0
                } else if name == "p.prompt_param" {
                    trained[name].data[i]
                } else {
                    init[name].data[i]
                };
                assert_eq!(v.to_bits(), want.to_bits(), "{name}[{i}]");
            }
        }
        let all = rewind(&trained, &init, &m, true);
        assert_eq!(all["p.prompt_param"], init["p.prompt_param"]);
    }
}
