//! Evaluation metrics: plain functions over slices, shared by training, selection, plots and
//! tests. `probabilities` are the network's sigmoid outputs; a prediction is positive when
//! its probability exceeds 0.5.

/// Everything reported for one split at one epoch.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SplitMetrics {
    pub accuracy: f64,
    /// Mean binary cross-entropy, with log terms clamped at −100 as PyTorch's `BCELoss`.
    pub bce: f64,
    /// ΔDP soft: largest gap between groups' mean predicted probability.
    pub dp_soft: f64,
    /// ΔDP hard: largest gap between groups' positive-prediction rates.
    pub dp_hard: f64,
    /// ΔEO: largest gap between groups' true-positive rates (equal opportunity).
    pub eo: f64,
    /// The larger of the largest gaps in true- and false-positive rates, fairlearn's
    /// `equalized_odds_difference` (NaN in rows written before it was recorded).
    pub equalized_odds: f64,
    /// Share of rows predicted positive.
    pub positive_rate: f64,
    /// Standard deviation of the predicted probabilities; near 0 for a collapsed network.
    pub probability_std: f64,
    /// Each group's share of rows predicted positive (NaN for a group with no rows), whose
    /// largest gap is ΔDP hard.
    pub group_positive_rates: Vec<f64>,
}

impl SplitMetrics {
    pub fn compute(probabilities: &[f32], labels: &[f32], groups: &[u32], n_groups: usize) -> Self {
        let predictions: Vec<f32> = probabilities.iter().map(|&p| predict(p)).collect();
        let positives: Vec<bool> = labels.iter().map(|&y| y > 0.5).collect();
        let tpr_gap = largest_group_gap(&predictions, groups, n_groups, |row| positives[row]);
        let fpr_gap = largest_group_gap(&predictions, groups, n_groups, |row| !positives[row]);
        Self {
            accuracy: accuracy(probabilities, labels),
            bce: binary_cross_entropy(probabilities, labels),
            dp_soft: largest_group_gap(probabilities, groups, n_groups, |_| true),
            dp_hard: largest_group_gap(&predictions, groups, n_groups, |_| true),
            eo: tpr_gap,
            equalized_odds: tpr_gap.max(fpr_gap),
            positive_rate: mean(predictions.iter().map(|&p| f64::from(p))),
            probability_std: std_dev(probabilities),
            group_positive_rates: group_means(&predictions, groups, n_groups, |_| true),
        }
    }

    /// The expected metrics of a randomized classifier that says yes to each row with
    /// probability `q`: accuracy, ΔDP, ΔEO and equalized odds of the groups' mean q (soft and hard ΔDP are
    /// the same number), BCE and spread of q itself.
    pub fn expected(q: &[f64], labels: &[f32], groups: &[u32], n_groups: usize) -> Self {
        let q32: Vec<f32> = q.iter().map(|&v| v as f32).collect();
        let positives: Vec<bool> = labels.iter().map(|&y| y > 0.5).collect();
        let dp = largest_group_gap(q, groups, n_groups, |_| true);
        let tpr_gap = largest_group_gap(q, groups, n_groups, |row| positives[row]);
        let fpr_gap = largest_group_gap(q, groups, n_groups, |row| !positives[row]);
        Self {
            accuracy: mean(
                q.iter()
                    .zip(&positives)
                    .map(|(&q, &y)| if y { q } else { 1.0 - q }),
            ),
            bce: binary_cross_entropy(&q32, labels),
            dp_soft: dp,
            dp_hard: dp,
            eo: tpr_gap,
            equalized_odds: tpr_gap.max(fpr_gap),
            positive_rate: mean(q.iter().copied()),
            probability_std: std_dev(&q32),
            group_positive_rates: group_means(q, groups, n_groups, |_| true),
        }
    }

    /// The network predicts (nearly) the same thing for everyone: trivially fair, useless.
    pub fn is_degenerate(&self) -> bool {
        self.positive_rate == 0.0 || self.positive_rate == 1.0 || self.probability_std < 1e-3
    }
}

fn predict(probability: f32) -> f32 {
    f32::from(probability > 0.5)
}

pub fn accuracy(probabilities: &[f32], labels: &[f32]) -> f64 {
    let correct = probabilities
        .iter()
        .zip(labels)
        .filter(|&(&p, &y)| predict(p) == y)
        .count();
    correct as f64 / labels.len().max(1) as f64
}

pub fn binary_cross_entropy(probabilities: &[f32], labels: &[f32]) -> f64 {
    let log = |x: f64| x.ln().max(-100.0);
    mean(probabilities.iter().zip(labels).map(|(&p, &y)| {
        let (p, y) = (f64::from(p), f64::from(y));
        -(y * log(p) + (1.0 - y) * log(1.0 - p))
    }))
}

/// Max over pairs of groups of the gap between the groups' means of `values`, over the rows
/// where `include(row)` holds. Groups with no such row are left out; with fewer than two
/// groups present the gap is 0. For two groups this is |mean₀ − mean₁|.
pub fn largest_group_gap<T: Copy + Into<f64>>(
    values: &[T],
    groups: &[u32],
    n_groups: usize,
    include: impl Fn(usize) -> bool,
) -> f64 {
    largest_gap(&group_means(values, groups, n_groups, include))
}

/// The largest gap between groups' values of one metric: the one definition of a
/// between-group gap (ΔDP soft and hard, ΔEO, equalized odds' two rates), here and in
/// `audit`. NaN values (a group without the rows the metric needs) are left out; with fewer
/// than two groups left the gap is 0.
pub fn largest_gap(per_group: &[f64]) -> f64 {
    let present: Vec<f64> = per_group.iter().copied().filter(|v| !v.is_nan()).collect();
    if present.len() < 2 {
        return 0.0;
    }
    let max = present.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let min = present.iter().copied().fold(f64::INFINITY, f64::min);
    max - min
}

/// One group's (or all rows') rates, from decided rows: (probability, decision, label).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct GroupRates {
    pub rows: f64,
    /// Share predicted positive.
    pub selection_rate: f64,
    /// Share of positives predicted positive (NaN without positives).
    pub tpr: f64,
    /// Share of negatives predicted positive (NaN without negatives).
    pub fpr: f64,
    pub accuracy: f64,
    /// Mean predicted probability.
    pub mean_probability: f64,
}

impl GroupRates {
    pub fn of(rows: impl Iterator<Item = (f64, bool, bool)>) -> Self {
        let (mut n, mut selected, mut correct, mut probability) = (0usize, 0usize, 0usize, 0.0);
        let (mut positives, mut true_positives, mut negatives, mut false_positives) =
            (0usize, 0usize, 0usize, 0usize);
        for (p, decision, label) in rows {
            n += 1;
            selected += usize::from(decision);
            correct += usize::from(decision == label);
            probability += p;
            if label {
                positives += 1;
                true_positives += usize::from(decision);
            } else {
                negatives += 1;
                false_positives += usize::from(decision);
            }
        }
        let share = |a: f64, b: usize| if b == 0 { f64::NAN } else { a / b as f64 };
        Self {
            rows: n as f64,
            selection_rate: share(selected as f64, n),
            tpr: share(true_positives as f64, positives),
            fpr: share(false_positives as f64, negatives),
            accuracy: share(correct as f64, n),
            mean_probability: share(probability, n),
        }
    }
}

/// The between-group gaps of groups' rates (groups without rows left out).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Gaps {
    /// In mean probability: ΔDP soft.
    pub dp_soft: f64,
    /// In selection rate: ΔDP hard, fairlearn's `demographic_parity_difference`.
    pub dp_hard: f64,
    /// In TPR: ΔEO, equal opportunity (the `eo` of `epochs.csv`).
    pub eo: f64,
    /// The larger of the TPR and FPR gaps: fairlearn's `equalized_odds_difference`.
    pub equalized_odds: f64,
}

impl Gaps {
    pub fn of(groups: &[GroupRates]) -> Self {
        let gap = |f: fn(&GroupRates) -> f64| {
            let values: Vec<f64> = (groups.iter().filter(|g| g.rows > 0.0)).map(f).collect();
            largest_gap(&values)
        };
        let (tpr_gap, fpr_gap) = (gap(|g| g.tpr), gap(|g| g.fpr));
        Self {
            dp_soft: gap(|g| g.mean_probability),
            dp_hard: gap(|g| g.selection_rate),
            eo: tpr_gap,
            equalized_odds: tpr_gap.max(fpr_gap),
        }
    }
}

/// Each group's mean of `values` over the rows where `include(row)` holds; NaN for a group
/// with no such row.
pub fn group_means<T: Copy + Into<f64>>(
    values: &[T],
    groups: &[u32],
    n_groups: usize,
    include: impl Fn(usize) -> bool,
) -> Vec<f64> {
    let mut sums = vec![0.0f64; n_groups];
    let mut counts = vec![0usize; n_groups];
    for (row, (&value, &group)) in values.iter().zip(groups).enumerate() {
        if include(row) {
            sums[group as usize] += value.into();
            counts[group as usize] += 1;
        }
    }
    sums.iter()
        .zip(&counts)
        .map(|(&sum, &count)| {
            if count > 0 {
                sum / count as f64
            } else {
                f64::NAN
            }
        })
        .collect()
}

/// Accuracy of always predicting the more frequent label.
pub fn majority_accuracy(labels: &[f32]) -> f64 {
    let positive = mean(labels.iter().map(|&y| f64::from(y)));
    positive.max(1.0 - positive)
}

pub fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, count) = values.fold((0.0, 0usize), |(s, c), v| (s + v, c + 1));
    sum / count.max(1) as f64
}

fn std_dev(values: &[f32]) -> f64 {
    let m = mean(values.iter().map(|&v| f64::from(v)));
    mean(values.iter().map(|&v| (f64::from(v) - m).powi(2))).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Six people, two groups. Group 0 = rows 0..3, group 1 = rows 3..6.
    const PROBABILITIES: [f32; 6] = [0.9, 0.2, 0.6, 0.4, 0.7, 0.1];
    const LABELS: [f32; 6] = [1.0, 0.0, 0.0, 1.0, 1.0, 0.0];
    const GROUPS: [u32; 6] = [0, 0, 0, 1, 1, 1];

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6
    }

    #[test]
    fn metrics_match_hand_computed_values() {
        let m = SplitMetrics::compute(&PROBABILITIES, &LABELS, &GROUPS, 2);
        // Predictions 1,0,1,0,1,0 against labels 1,0,0,1,1,0: rows 2 and 3 wrong.
        assert!(close(m.accuracy, 4.0 / 6.0));
        // Group means of probabilities: 1.7/3 and 1.2/3.
        assert!(close(m.dp_soft, 0.5 / 3.0), "{}", m.dp_soft);
        // Positive rates: 2/3 and 1/3.
        assert!(close(m.dp_hard, 1.0 / 3.0));
        assert!(close(m.group_positive_rates[0], 2.0 / 3.0));
        assert!(close(m.group_positive_rates[1], 1.0 / 3.0));
        // True-positive rates: group 0 has one positive (row 0, predicted 1) → 1;
        // group 1 has rows 3 (predicted 0) and 4 (predicted 1) → 1/2.
        assert!(close(m.eo, 0.5));
        assert!(close(m.positive_rate, 0.5));
        let bce =
            -(0.9f64.ln() + 0.8f64.ln() + 0.4f64.ln() + 0.4f64.ln() + 0.7f64.ln() + 0.9f64.ln())
                / 6.0;
        assert!((m.bce - bce).abs() < 1e-6, "{} vs {bce}", m.bce);
        assert!(!m.is_degenerate());
    }

    /// fairlearn's `equalized_odds_difference`: the larger of the TPR and FPR gaps.
    #[test]
    fn equalized_odds_is_the_larger_of_the_tpr_and_fpr_gaps() {
        let probabilities = [0.9, 0.8, 0.6, 0.4, 0.7, 0.1];
        let m = SplitMetrics::compute(&probabilities, &LABELS, &GROUPS, 2);
        // TPR: 1 (row 0) against 1/2 (rows 3, 4); FPR: 1 (rows 1, 2 both said yes) against
        // 0 (row 5): the FPR gap, 1, is the larger.
        assert!(close(m.eo, 0.5) && close(m.equalized_odds, 1.0), "{m:?}");
        // The original rows: FPR 1/2 against 0, TPR 1 against 1/2: both gaps 1/2.
        let m = SplitMetrics::compute(&PROBABILITIES, &LABELS, &GROUPS, 2);
        assert!(close(m.equalized_odds, 0.5), "{m:?}");
        // A randomized classifier's expected rates: TPR 0.9 against (0.4 + 0.7)/2 = 0.55,
        // FPR (0.8 + 0.6)/2 = 0.7 against 0.1.
        let q = probabilities.map(f64::from);
        let m = SplitMetrics::expected(&q, &LABELS, &GROUPS, 2);
        assert!(close(m.eo, 0.35) && close(m.equalized_odds, 0.6), "{m:?}");
    }

    #[test]
    fn largest_gap_over_three_groups_and_absent_groups() {
        let values = [0.2, 0.4, 0.9, 0.5];
        // Group 1 has no rows: only groups 0 (0.3), 2 (0.9) and 3 (0.5) count.
        assert!(close(
            largest_group_gap(&values, &[0, 0, 2, 3], 4, |_| true),
            0.6
        ));
        // One group present: no gap.
        assert_eq!(largest_group_gap(&values, &[1, 1, 1, 1], 2, |_| true), 0.0);
    }

    #[test]
    fn bce_clamps_log_of_zero() {
        assert!(close(binary_cross_entropy(&[0.0], &[1.0]), 100.0));
        assert!(close(binary_cross_entropy(&[1.0], &[1.0]), 0.0));
    }

    #[test]
    fn a_constant_network_is_degenerate() {
        let m = SplitMetrics::compute(&[0.3; 6], &LABELS, &GROUPS, 2);
        assert!(m.is_degenerate());
        assert_eq!(m.dp_soft, 0.0);
        assert!(close(m.accuracy, 0.5));
    }
}
