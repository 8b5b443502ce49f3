//! The FCRL benchmark's evaluation protocol (`downstream:` in an experiment file): a trained
//! model's representation of the training, validation and test rows (a representation
//! learner's z, a network's last hidden layer) is computed once, standardised with the
//! training rows' statistics, and classifiers are fitted on it alone (without the group):
//! scikit-learn's `MLPClassifier` with its defaults (one hidden layer of 50, Adam), `runs`
//! times from different seeds. Each run's validation and test metrics are a row of
//! `downstream.csv`; a trial's point is the mean accuracy and the largest gaps over its runs
//! ([`summarize`]), as the benchmark reports them.

use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::data::{Dataset, Split};
use crate::metrics::SplitMetrics;
use crate::train::Evaluated;

/// `downstream:` as the experiment file gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Protocol {
    /// Classifiers fitted per trial (the benchmark's 5).
    #[serde(default = "five")]
    pub runs: usize,
    /// Epochs each may take at most (scikit-learn's `max_iter`; the benchmark's 1000).
    #[serde(default = "thousand")]
    pub max_epochs: usize,
}

fn five() -> usize {
    5
}

fn thousand() -> usize {
    1000
}

impl Protocol {
    /// What is wrong with its values, in words that follow `downstream.`.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !(1..=100).contains(&self.runs) {
            problems.push(format!(
                "downstream.runs: expected 1 to 100, found {}",
                self.runs
            ));
        }
        if !(1..=100_000).contains(&self.max_epochs) {
            problems.push(format!(
                "downstream.max_epochs: expected 1 to 100000, found {}",
                self.max_epochs
            ));
        }
        problems
    }
}

/// One downstream classifier's metrics on one split (a row of `downstream.csv`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DownstreamRow {
    pub trial_id: String,
    /// 0-based.
    pub run: usize,
    pub split: Evaluated,
    /// Epochs the classifier took (it stops after 10 without a 1e-4 better training loss).
    pub epochs: usize,
    pub accuracy: f64,
    pub bce: f64,
    pub dp_soft: f64,
    pub dp_hard: f64,
    pub eo: f64,
    pub equalized_odds: f64,
    pub positive_rate: f64,
    pub probability_std: f64,
}

pub const DOWNSTREAM_FILE: &str = "downstream.csv";

/// Fit `protocol.runs` classifiers on `encoded` (the training, validation and test rows'
/// representations, `width` numbers each) and evaluate each on validation and test.
pub fn evaluate(
    protocol: &Protocol,
    trial_id: &str,
    seed: u64,
    (width, encoded): (usize, [Vec<f32>; 3]),
    data: &Dataset,
) -> Vec<DownstreamRow> {
    let [train, validation, test] = standardised(width, encoded);
    let labels: Vec<f64> = data.train.labels.iter().map(|&y| f64::from(y)).collect();
    let mut rows = Vec::new();
    for run in 0..protocol.runs {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(100 + run as u64);
        let (classifier, epochs) = Mlp::fit(&train, width, &labels, protocol.max_epochs, &mut rng);
        for (which, x, split) in [
            (Evaluated::Validation, &validation, &data.validation),
            (Evaluated::Test, &test, &data.test),
        ] {
            let p: Vec<f32> = (x.chunks_exact(width))
                .map(|row| classifier.probability(row) as f32)
                .collect();
            rows.push(row_of(
                trial_id,
                run,
                which,
                epochs,
                &p,
                split,
                data.n_groups(),
            ));
        }
    }
    rows
}

fn row_of(
    trial_id: &str,
    run: usize,
    split: Evaluated,
    epochs: usize,
    p: &[f32],
    rows: &Split,
    n_groups: usize,
) -> DownstreamRow {
    let m = SplitMetrics::compute(p, &rows.labels, &rows.groups, n_groups);
    DownstreamRow {
        trial_id: trial_id.to_string(),
        run,
        split,
        epochs,
        accuracy: m.accuracy,
        bce: m.bce,
        dp_soft: m.dp_soft,
        dp_hard: m.dp_hard,
        eo: m.eo,
        equalized_odds: m.equalized_odds,
        positive_rate: m.positive_rate,
        probability_std: m.probability_std,
    }
}

/// A trial's point on one split from its runs' rows: the mean accuracy (and BCE, positive
/// rate, spread) and the largest of each gap, as the benchmark reports them.
pub fn summarize(runs: &[&DownstreamRow]) -> SplitMetrics {
    let mean = |f: fn(&DownstreamRow) -> f64| crate::metrics::mean(runs.iter().map(|r| f(r)));
    let most = |f: fn(&DownstreamRow) -> f64| runs.iter().map(|r| f(r)).fold(f64::NAN, f64::max);
    SplitMetrics {
        accuracy: mean(|r| r.accuracy),
        bce: mean(|r| r.bce),
        dp_soft: most(|r| r.dp_soft),
        dp_hard: most(|r| r.dp_hard),
        eo: most(|r| r.eo),
        equalized_odds: most(|r| r.equalized_odds),
        positive_rate: mean(|r| r.positive_rate),
        probability_std: mean(|r| r.probability_std),
        group_positive_rates: Vec::new(),
    }
}

/// Each split's rows as `f64`, standardised with the training rows' means and standard
/// deviations (scikit-learn's `StandardScaler`: a constant column is only centred).
fn standardised(width: usize, encoded: [Vec<f32>; 3]) -> [Vec<f64>; 3] {
    let train = &encoded[0];
    let n = (train.len() / width).max(1) as f64;
    let mut mean = vec![0.0; width];
    let mut var = vec![0.0; width];
    for row in train.chunks_exact(width) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += f64::from(v) / n;
        }
    }
    for row in train.chunks_exact(width) {
        for ((s, &v), m) in var.iter_mut().zip(row).zip(&mean) {
            *s += (f64::from(v) - m).powi(2) / n;
        }
    }
    // As scikit-learn, a constant column is only centred (its spread would be rounding).
    let constant = |c: usize| train.iter().skip(c).step_by(width).all(|&v| v == train[c]);
    let scale: Vec<f64> = (var.iter().enumerate())
        .map(|(c, &v)| {
            if v > 0.0 && !constant(c) {
                v.sqrt()
            } else {
                1.0
            }
        })
        .collect();
    encoded.map(|values| {
        (values.iter().enumerate())
            .map(|(i, &v)| (f64::from(v) - mean[i % width]) / scale[i % width])
            .collect()
    })
}

/// scikit-learn's `MLPClassifier` with its defaults, for a binary label: inputs → 50 ReLU →
/// 1 logistic, Glorot-uniform initialisation, Adam (its own form: learning rate 1e-3 scaled by
/// the bias corrections, ε outside the root), L2 α = 1e-4 divided by the batch's rows,
/// batches of min(200, n) reshuffled every epoch, stopped once the epoch's training loss has
/// not improved on the best by 1e-4 for more than 10 epochs.
pub struct Mlp {
    width: usize,
    /// `[width, 50]`, then 50 biases, then 50 output weights, then the output bias.
    params: Vec<f64>,
}

const HIDDEN: usize = 50;
const ALPHA: f64 = 1e-4;
const RATE: f64 = 1e-3;
const TOL: f64 = 1e-4;
const NO_CHANGE: usize = 10;

impl Mlp {
    /// Offsets of the four parameter blocks.
    fn layout(width: usize) -> [usize; 4] {
        let w1 = 0;
        let b1 = width * HIDDEN;
        let w2 = b1 + HIDDEN;
        let b2 = w2 + HIDDEN;
        [w1, b1, w2, b2]
    }

    /// Fitted on `x` (`width` numbers per row) and 0/1 `y`; with the epochs it took.
    pub fn fit(
        x: &[f64],
        width: usize,
        y: &[f64],
        max_epochs: usize,
        rng: &mut ChaCha8Rng,
    ) -> (Self, usize) {
        let n = y.len();
        let [_, _, w2, b2] = Self::layout(width);
        let mut params = vec![0.0; b2 + 1];
        // Glorot uniform with ReLU's factor 6, weights then biases per layer, as sklearn.
        let hidden_bound = (6.0 / (width + HIDDEN) as f64).sqrt();
        let output_bound = (6.0 / (HIDDEN + 1) as f64).sqrt();
        for (range, bound) in [(0..w2, hidden_bound), (w2..params.len(), output_bound)] {
            for v in &mut params[range] {
                *v = rng.random_range(-bound..bound);
            }
        }
        let mut mlp = Self { width, params };
        let batch = n.clamp(1, 200);
        let mut order: Vec<usize> = (0..n).collect();
        let (mut first, mut second) = (vec![0.0; mlp.params.len()], vec![0.0; mlp.params.len()]);
        let mut grad = vec![0.0; mlp.params.len()];
        let (mut t, mut best, mut stale) = (0i32, f64::INFINITY, 0);
        for epoch in 1..=max_epochs {
            order.shuffle(rng);
            let mut total = 0.0;
            for rows in order.chunks(batch) {
                let loss = mlp.gradient(x, y, rows, &mut grad);
                total += loss * rows.len() as f64;
                t += 1;
                let rate = RATE * (1.0 - 0.999f64.powi(t)).sqrt() / (1.0 - 0.9f64.powi(t));
                for i in 0..mlp.params.len() {
                    first[i] = 0.9 * first[i] + 0.1 * grad[i];
                    second[i] = 0.999 * second[i] + 0.001 * grad[i] * grad[i];
                    mlp.params[i] -= rate * first[i] / (second[i].sqrt() + 1e-8);
                }
            }
            let loss = total / n as f64;
            stale = if loss > best - TOL { stale + 1 } else { 0 };
            best = best.min(loss);
            if stale > NO_CHANGE {
                return (mlp, epoch);
            }
        }
        (mlp, max_epochs)
    }

    /// The batch's loss (mean log loss + α/2·Σw²/rows) and its gradient into `grad`.
    fn gradient(&self, x: &[f64], y: &[f64], rows: &[usize], grad: &mut [f64]) -> f64 {
        let (width, p) = (self.width, &self.params);
        let [w1, b1, w2, b2] = Self::layout(width);
        grad.fill(0.0);
        let m = rows.len() as f64;
        let mut loss = 0.0;
        let mut back = [0.0; HIDDEN];
        for &r in rows {
            let input = &x[r * width..(r + 1) * width];
            let hidden = self.hidden(input);
            let logit = p[b2] + dot(&hidden, &p[w2..b2]);
            let q = 1.0 / (1.0 + (-logit).exp());
            // sklearn clips probabilities to [eps, 1 − eps] in its log loss.
            let clipped = q.clamp(1e-15, 1.0 - 1e-15);
            loss -= y[r] * clipped.ln() + (1.0 - y[r]) * (1.0 - clipped).ln();
            let delta = (q - y[r]) / m;
            grad[b2] += delta;
            for j in 0..HIDDEN {
                grad[w2 + j] += delta * hidden[j];
                back[j] = if hidden[j] > 0.0 {
                    delta * p[w2 + j]
                } else {
                    0.0
                };
                grad[b1 + j] += back[j];
            }
            // Row k of the first layer's weights is contiguous: the inner loop vectorises.
            for (k, &v) in input.iter().enumerate() {
                let row = &mut grad[w1 + k * HIDDEN..w1 + (k + 1) * HIDDEN];
                for (g, b) in row.iter_mut().zip(&back) {
                    *g += v * b;
                }
            }
        }
        let mut squares = 0.0;
        for range in [w1..b1, w2..b2] {
            for i in range {
                squares += p[i] * p[i];
                grad[i] += ALPHA * p[i] / m;
            }
        }
        loss / m + 0.5 * ALPHA * squares / m
    }

    /// The hidden layer's ReLU outputs for one row.
    fn hidden(&self, row: &[f64]) -> [f64; HIDDEN] {
        let p = &self.params;
        let [w1, b1, _, _] = Self::layout(self.width);
        let mut a = [0.0; HIDDEN];
        a.copy_from_slice(&p[b1..b1 + HIDDEN]);
        for (k, &v) in row.iter().enumerate() {
            for (a, w) in a.iter_mut().zip(&p[w1 + k * HIDDEN..w1 + (k + 1) * HIDDEN]) {
                *a += v * w;
            }
        }
        a.map(|v| v.max(0.0))
    }

    /// P(y = 1) for one row.
    pub fn probability(&self, row: &[f64]) -> f64 {
        let [_, _, w2, b2] = Self::layout(self.width);
        let logit = self.params[b2] + dot(&self.hidden(row), &self.params[w2..b2]);
        1.0 / (1.0 + (-logit).exp())
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(run: usize, accuracy: f64, dp_hard: f64, dp_soft: f64) -> DownstreamRow {
        DownstreamRow {
            trial_id: "t".into(),
            run,
            split: Evaluated::Test,
            epochs: 10,
            accuracy,
            bce: 0.4,
            dp_soft,
            dp_hard,
            eo: dp_hard / 2.0,
            equalized_odds: dp_hard,
            positive_rate: 0.2,
            probability_std: 0.3,
        }
    }

    /// The benchmark's aggregation: accuracy averaged over the runs, each gap the largest.
    #[test]
    fn a_trials_point_is_the_runs_mean_accuracy_and_largest_gaps() {
        let runs = [
            row(0, 0.80, 0.05, 0.04),
            row(1, 0.82, 0.09, 0.03),
            row(2, 0.84, 0.07, 0.06),
        ];
        let point = summarize(&runs.iter().collect::<Vec<_>>());
        assert!((point.accuracy - 0.82).abs() < 1e-12);
        assert_eq!((point.dp_hard, point.dp_soft), (0.09, 0.06));
        assert_eq!((point.eo, point.equalized_odds), (0.045, 0.09));
    }

    /// On two clusters a line apart, the classifier separates them and stops once its loss
    /// stops falling; a constant column is only centred.
    #[test]
    fn the_classifier_learns_a_separable_label_and_stops_early() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let n = 400;
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..n {
            let label = i % 2;
            x.extend([label as f32 * 2.0 - 1.0 + rng.random_range(-0.3..0.3), 5.0]);
            y.push(label as f64);
        }
        let [train, ..] = standardised(2, [x.clone(), x.clone(), x]);
        assert!(train.iter().skip(1).step_by(2).all(|&v| v.abs() < 1e-9));
        let (mlp, epochs) = Mlp::fit(&train, 2, &y, 1000, &mut rng);
        assert!(epochs < 1000, "stopped after {epochs} epochs");
        let right = (train.chunks(2).zip(&y))
            .filter(|(row, y)| (mlp.probability(row) > 0.5) == (**y == 1.0))
            .count();
        assert_eq!(right, n);
    }
}
