//! The losses' gradients with respect to the logits, one value per row, from the same
//! per-batch weights the burn engine's losses use (losses.rs defines the losses).

use crate::train::losses::{FairnessWeights, GroupWeights};

pub fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

/// `d = ∂(mean BCE)/∂logit = (σ(z) − y) / rows`; returns the mean BCE itself, in the same
/// pass, as `metrics::binary_cross_entropy` computes it (log terms clamped at −100, as
/// PyTorch's `BCELoss`).
pub fn bce(logits: &[f32], labels: &[f32], d: &mut [f32]) -> f64 {
    let rows = logits.len() as f32;
    let log = |x: f64| x.ln().max(-100.0);
    let mut loss = 0.0;
    for ((d, &z), &y) in d.iter_mut().zip(logits).zip(labels) {
        let p = sigmoid(z);
        *d = (p - y) / rows;
        let (p, y) = (f64::from(p), f64::from(y));
        loss += -(y * log(p) + (1.0 - y) * log(1.0 - p));
    }
    loss / logits.len().max(1) as f64
}

/// `d += scale · ∂(fairness loss)/∂logit`.
pub fn fairness(weights: &FairnessWeights, logits: &[f32], scale: f32, d: &mut [f32]) {
    let probabilities: Vec<f32> = logits.iter().map(|&z| sigmoid(z)).collect();
    // ∂p/∂z = p(1 − p).
    let mut add = |d_probability: &dyn Fn(usize) -> f32| {
        for (row, (d, &p)) in d.iter_mut().zip(&probabilities).enumerate() {
            *d += scale * d_probability(row) * p * (1.0 - p);
        }
    };
    match weights {
        FairnessWeights::Dp { means, squared } => {
            let gap = Gap::of(means, &probabilities);
            let outer = if *squared { 2.0 * gap.value } else { 1.0 };
            add(&|row| outer * gap.d_value(means, row));
        }
        FairnessWeights::Reference { weights } => {
            // ½(μ₀ − μ_all)² on s = σ(p): ∂/∂p = (μ₀ − μ_all)(w₀ − w_all)·s(1 − s).
            let twice: Vec<f32> = probabilities.iter().map(|&p| sigmoid(p)).collect();
            let (mut first, mut all) = (0.0, 0.0);
            for (s, w) in twice.iter().zip(weights.chunks_exact(2)) {
                first += s * w[0];
                all += s * w[1];
            }
            add(&|row| {
                let (w, s) = (&weights[2 * row..2 * row + 2], twice[row]);
                (first - all) * (w[0] - w[1]) * s * (1.0 - s)
            });
        }
        FairnessWeights::Eo {
            positives,
            negatives,
        } => {
            // The larger of the two gaps carries the whole gradient, as max() does.
            let gaps = [positives, negatives]
                .into_iter()
                .flatten()
                .map(|means| (means, Gap::of(means, &probabilities)));
            let (means, gap) = gaps
                .reduce(|a, b| if b.1.value > a.1.value { b } else { a })
                .expect("an eo target has a stratum");
            add(&|row| gap.d_value(means, row));
        }
    }
}

/// The largest gap between groups' means: max − min, and which groups they are.
struct Gap {
    value: f32,
    highest: usize,
    lowest: usize,
}

impl Gap {
    fn of(means: &GroupWeights, values: &[f32]) -> Self {
        let mut group_means = vec![0.0f32; means.present];
        for (&v, row) in values.iter().zip(means.weights.chunks_exact(means.present)) {
            for (mean, w) in group_means.iter_mut().zip(row) {
                *mean += v * w;
            }
        }
        let position = |better: fn(f32, f32) -> bool| {
            (1..means.present).fold(0, |best, g| {
                if better(group_means[g], group_means[best]) {
                    g
                } else {
                    best
                }
            })
        };
        let (highest, lowest) = (position(|a, b| a > b), position(|a, b| a < b));
        Self {
            value: group_means[highest] - group_means[lowest],
            highest,
            lowest,
        }
    }

    /// ∂gap/∂value of `row`.
    fn d_value(&self, means: &GroupWeights, row: usize) -> f32 {
        let w = &means.weights[row * means.present..(row + 1) * means.present];
        w[self.highest] - w[self.lowest]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::losses::FairnessLoss;

    /// The largest gap between groups' mean probabilities over the rows `include` keeps,
    /// written out in f64 apart from the weights.
    fn largest_gap(p: &[f64], groups: &[u32], include: impl Fn(usize) -> bool) -> f64 {
        let mut sums = [(0.0, 0usize); 4];
        for (row, (&p, &g)) in p.iter().zip(groups).enumerate() {
            if include(row) {
                sums[g as usize].0 += p;
                sums[g as usize].1 += 1;
            }
        }
        let means: Vec<f64> = (sums.iter().filter(|(_, n)| *n > 0))
            .map(|(s, n)| s / *n as f64)
            .collect();
        let max = means.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        max - means.iter().copied().fold(f64::INFINITY, f64::min)
    }

    /// Each fairness loss of the logits, in f64.
    fn loss(kind: FairnessLoss, logits: &[f64], labels: &[f32], groups: &[u32]) -> f64 {
        let sigmoid = |z: f64| 1.0 / (1.0 + (-z).exp());
        let p: Vec<f64> = logits.iter().map(|&z| sigmoid(z)).collect();
        let positive = |row: usize| labels[row] > 0.5;
        match kind {
            FairnessLoss::DpAbs => largest_gap(&p, groups, |_| true),
            FairnessLoss::DpSquared => largest_gap(&p, groups, |_| true).powi(2),
            FairnessLoss::Eo => {
                largest_gap(&p, groups, positive).max(largest_gap(&p, groups, |row| !positive(row)))
            }
            FairnessLoss::EqualOpportunity => largest_gap(&p, groups, positive),
            FairnessLoss::DpReference => {
                // Group 0 against the whole batch, on σ applied twice.
                let s: Vec<f64> = p.iter().map(|&p| sigmoid(p)).collect();
                let first: Vec<f64> = (s.iter().zip(groups))
                    .filter(|(_, g)| **g == 0)
                    .map(|(s, _)| *s)
                    .collect();
                let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
                0.5 * (mean(&first) - mean(&s)).powi(2)
            }
        }
    }

    /// Four groups: every loss's gradient with respect to the logits, as the fused engine
    /// takes it, against central differences of the loss written out in f64.
    #[test]
    fn multi_group_fairness_gradients_match_central_differences() {
        let logits: [f32; 12] = [
            0.3, -1.2, 2.0, 0.7, -0.4, 1.1, -2.2, 0.05, 1.6, -0.9, 0.45, -0.15,
        ];
        let labels: [f32; 12] = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0];
        let groups: [u32; 12] = [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3];
        for kind in FairnessLoss::ALL.iter().copied() {
            let weights = FairnessWeights::new(kind, &groups, &labels, 4).unwrap();
            let mut d = [0.0f32; 12];
            fairness(&weights, &logits, 1.0, &mut d);
            let z: Vec<f64> = logits.iter().map(|&z| f64::from(z)).collect();
            for row in 0..12 {
                let at = |shift: f64| {
                    let mut moved = z.clone();
                    moved[row] += shift;
                    loss(kind, &moved, &labels, &groups)
                };
                let numeric = (at(1e-4) - at(-1e-4)) / 2e-4;
                assert!(
                    (f64::from(d[row]) - numeric).abs() < 1e-5,
                    "{kind:?} row {row}: {} against {numeric}",
                    d[row]
                );
            }
            assert!(
                d.iter().any(|&g| g != 0.0),
                "{kind:?}: some row moves the loss"
            );
        }
    }
}
