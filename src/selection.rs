//! Model selection: which epochs of a configuration are reported. A configuration's seeds
//! are first combined epoch by epoch (mean accuracy, worst ΔDP, as the paper reports them);
//! a policy then picks epochs from that curve, so every policy works the same with one seed
//! or many.

use serde::Deserialize;

use crate::metrics::{SplitMetrics, mean};
use crate::pareto::pareto_front;
use crate::train::EpochMetrics;

/// The gap that selection, fronts and AOPAC read (`fairness_metric:`), always at the worst
/// seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FairnessMetric {
    /// The gap in mean predicted probability: what the methods' losses shrink.
    #[default]
    DpSoft,
    /// The gap in positive-prediction rate, fairlearn's `demographic_parity_difference`.
    DpHard,
    /// The gap in true-positive rate (equal opportunity; `equal-opportunity` also reads).
    #[serde(alias = "equal-opportunity")]
    Eo,
    /// The larger of the gaps in true- and false-positive rate, fairlearn's
    /// `equalized_odds_difference`.
    EqualizedOdds,
}

impl FairnessMetric {
    /// Soft and hard ΔDP: the two every report gives.
    pub const REPORTED: [Self; 2] = [Self::DpSoft, Self::DpHard];

    pub fn name(self) -> &'static str {
        match self {
            Self::DpSoft => "dp-soft",
            Self::DpHard => "dp-hard",
            Self::Eo => "eo",
            Self::EqualizedOdds => "equalized-odds",
        }
    }

    /// For titles and tables.
    pub fn symbol(self) -> &'static str {
        match self {
            Self::DpSoft => "ΔDP soft",
            Self::DpHard => "ΔDP hard",
            Self::Eo => "ΔEO",
            Self::EqualizedOdds => "ΔEOdds",
        }
    }

    /// Each seed's gap, in seed order.
    fn seed_gaps(self, stats: &SeedStats) -> &[f64] {
        let index = match self {
            Self::DpSoft => 0,
            Self::DpHard => 1,
            Self::Eo => 2,
            Self::EqualizedOdds => 3,
        };
        &stats.seed_gaps[index]
    }

    /// The mean gap over seeds (the literature's reporting) and each seed's.
    pub fn over_seeds(self, stats: &SeedStats) -> (f64, &[f64]) {
        let gaps = self.seed_gaps(stats);
        (mean(gaps.iter().copied()), gaps)
    }

    /// The mean gap over seeds.
    pub fn mean(self, stats: &SeedStats) -> f64 {
        self.over_seeds(stats).0
    }

    /// The worst seed's gap.
    pub fn of(self, stats: &SeedStats) -> f64 {
        self.seed_gaps(stats).iter().copied().fold(0.0, f64::max)
    }

    /// The best seed's gap.
    pub fn best(self, stats: &SeedStats) -> f64 {
        (self.seed_gaps(stats).iter().copied()).fold(f64::INFINITY, f64::min)
    }
}

/// How a configuration's reported epochs are chosen (`selection:` in the experiment file).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum Selection {
    /// The last epoch.
    Last,
    /// The epoch of best validation accuracy among those whose validation gap (the fairness
    /// metric's) is ≤ max_dp.
    ValBestAccuracy { max_dp: f64 },
    /// Every epoch on the validation Pareto front (the fairness metric's gap, accuracy).
    ValPareto,
    /// Every epoch on the test Pareto front: the paper's protocol. It selects on the test set,
    /// so its figures are optimistic.
    TestPareto,
    /// The FCRL benchmark's protocol (`downstream:`): each configuration's last epoch,
    /// scored by classifiers fitted on its representation (mean accuracy, largest gap over
    /// their runs), not by the model's own predictions.
    Downstream,
}

impl Selection {
    /// `val-best-accuracy(dp<=0.05)`; used in CSVs and file names.
    pub fn name(&self) -> String {
        match self {
            Self::Last => "last".into(),
            Self::ValBestAccuracy { max_dp } => format!("val-best-accuracy(dp<={max_dp})"),
            Self::ValPareto => "val-pareto".into(),
            Self::TestPareto => "test-pareto".into(),
            Self::Downstream => "downstream".into(),
        }
    }

    /// For file names: `val-best-accuracy-0.05`.
    pub fn file_stem(&self) -> String {
        match self {
            Self::ValBestAccuracy { max_dp } => format!("val-best-accuracy-{max_dp}"),
            _ => self.name(),
        }
    }

    /// At most one epoch per configuration.
    pub fn is_single_point(&self) -> bool {
        matches!(
            self,
            Self::Last | Self::ValBestAccuracy { .. } | Self::Downstream
        )
    }

    pub fn uses_test_set(&self) -> bool {
        *self == Self::TestPareto
    }

    /// For titles and summaries, so nobody mistakes test-set selection for a clean one.
    pub fn describe(&self, metric: FairnessMetric) -> String {
        match self {
            Self::Last => "last epoch".into(),
            Self::ValBestAccuracy { max_dp } => {
                format!(
                    "best validation accuracy at validation {} ≤ {max_dp}",
                    metric.symbol()
                )
            }
            Self::ValPareto => "validation-Pareto epochs".into(),
            Self::TestPareto => {
                "TEST-Pareto epochs (the paper's protocol: selected on the test set)".into()
            }
            Self::Downstream => "last epoch, scored by MLP(50)s on its representation (the \
                                 FCRL benchmark's protocol: mean accuracy, largest gap over \
                                 runs)"
                .into(),
        }
    }

    /// Indices into `curve` of the selected epochs, in epoch order, the gap read by `metric`.
    pub fn select(&self, curve: &[EpochSummary], metric: FairnessMetric) -> Vec<usize> {
        let front = |split: fn(&EpochSummary) -> &SeedStats| {
            let points: Vec<(f64, f64)> = curve
                .iter()
                .map(|e| (metric.of(split(e)), split(e).accuracy_mean))
                .collect();
            let mut front = pareto_front(&points);
            front.sort_unstable();
            front
        };
        match self {
            Self::Last => curve.len().checked_sub(1).into_iter().collect(),
            Self::ValBestAccuracy { max_dp } => curve
                .iter()
                .enumerate()
                .filter(|(_, e)| metric.of(&e.validation) <= *max_dp)
                // The earliest of equally accurate epochs.
                .max_by(|(i, a), (j, b)| {
                    let (a, b) = (a.validation.accuracy_mean, b.validation.accuracy_mean);
                    a.total_cmp(&b).then(j.cmp(i))
                })
                .map(|(i, _)| i)
                .into_iter()
                .collect(),
            Self::ValPareto => front(|e| &e.validation),
            Self::TestPareto => front(|e| &e.test),
            // Its one point is the configuration's downstream summary, not one of `curve`'s
            // (analysis::select).
            Self::Downstream => Vec::new(),
        }
    }
}

/// One epoch of a configuration, over its seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochSummary {
    pub epoch: usize,
    pub seeds: usize,
    /// The training loss over seeds: mean, lowest, highest (NaN where not recorded).
    pub train_bce: (f64, f64, f64),
    pub validation: SeedStats,
    pub test: SeedStats,
}

/// One split's metrics over seeds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SeedStats {
    pub accuracy_mean: f64,
    pub accuracy_std: f64,
    pub dp_soft_std: f64,
    pub positive_rate_mean: f64,
    /// Each group's positive-prediction rate, mean over seeds.
    pub group_positive_rates_mean: Vec<f64>,
    /// Some seed's network predicts (nearly) the same for everyone.
    pub degenerate: bool,
    /// Each seed's gaps, in seed order: soft ΔDP, hard ΔDP, ΔEO, equalized odds.
    pub seed_gaps: [Vec<f64>; 4],
}

impl SeedStats {
    pub fn of(seeds: &[SplitMetrics]) -> Self {
        let values = |f: fn(&SplitMetrics) -> f64| seeds.iter().map(f).collect::<Vec<f64>>();
        let (accuracy, dp_soft, dp_hard, eo, equalized_odds) = (
            values(|m| m.accuracy),
            values(|m| m.dp_soft),
            values(|m| m.dp_hard),
            values(|m| m.eo),
            values(|m| m.equalized_odds),
        );
        Self {
            accuracy_mean: mean(accuracy.iter().copied()),
            accuracy_std: std_dev(&accuracy),
            dp_soft_std: std_dev(&dp_soft),
            positive_rate_mean: mean(seeds.iter().map(|m| m.positive_rate)),
            group_positive_rates_mean: (0..seeds
                .first()
                .map_or(0, |m| m.group_positive_rates.len()))
                .map(|g| {
                    mean(
                        seeds
                            .iter()
                            .map(|m| m.group_positive_rates.get(g).copied().unwrap_or(f64::NAN)),
                    )
                })
                .collect(),
            degenerate: seeds.iter().any(SplitMetrics::is_degenerate),
            seed_gaps: [dp_soft, dp_hard, eo, equalized_odds],
        }
    }
}

/// A configuration's curve over its seeds' histories: the epochs every seed reached.
pub fn seed_curve(histories: &[Vec<EpochMetrics>]) -> Vec<EpochSummary> {
    let epochs = histories.iter().map(Vec::len).min().unwrap_or(0);
    (0..epochs)
        .map(|i| {
            let split = |f: fn(&EpochMetrics) -> &SplitMetrics| {
                SeedStats::of(
                    &histories
                        .iter()
                        .map(|h| f(&h[i]).clone())
                        .collect::<Vec<_>>(),
                )
            };
            let losses: Vec<f64> = histories.iter().map(|h| h[i].train_bce).collect();
            EpochSummary {
                epoch: histories[0][i].epoch,
                seeds: histories.len(),
                train_bce: (
                    mean(losses.iter().copied()),
                    losses.iter().copied().fold(f64::INFINITY, f64::min),
                    losses.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                ),
                validation: split(|m| &m.validation),
                test: split(|m| &m.test),
            }
        })
        .collect()
}

/// Sample standard deviation (n − 1); 0 for a single seed.
fn std_dev(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return 0.0;
    }
    let m = mean(values.iter().copied());
    (values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (values.len() - 1) as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(accuracy: f64, dp_soft: f64) -> SplitMetrics {
        SplitMetrics {
            accuracy,
            dp_soft,
            dp_hard: dp_soft,
            positive_rate: 0.3,
            probability_std: 0.2,
            ..Default::default()
        }
    }

    /// Five epochs of one seed: (validation accuracy, ΔDP), (test accuracy, ΔDP).
    /// (accuracy, ΔDP) on one split.
    type Point = (f64, f64);

    fn history(epochs: &[(Point, Point)]) -> Vec<EpochMetrics> {
        epochs
            .iter()
            .enumerate()
            .map(|(i, &((va, vd), (ta, td)))| EpochMetrics {
                epoch: i + 1,
                train_bce: 0.5,
                validation: split(va, vd),
                test: split(ta, td),
            })
            .collect()
    }

    fn selected_epochs(selection: Selection, curve: &[EpochSummary]) -> Vec<usize> {
        selected_on(FairnessMetric::DpSoft, selection, curve)
    }

    fn selected_on(
        metric: FairnessMetric,
        selection: Selection,
        curve: &[EpochSummary],
    ) -> Vec<usize> {
        selection
            .select(curve, metric)
            .into_iter()
            .map(|i| curve[i].epoch)
            .collect()
    }

    #[test]
    fn policies_pick_their_epochs_from_a_synthetic_table() {
        let curve = seed_curve(&[history(&[
            ((0.80, 0.10), (0.79, 0.12)), // 1
            ((0.82, 0.15), (0.82, 0.02)), // 2: test front (low test ΔDP)
            ((0.82, 0.03), (0.84, 0.20)), // 3: validation front, best val acc at ΔDP ≤ 0.05
            ((0.84, 0.18), (0.83, 0.15)), // 4: validation front (best val accuracy)
            ((0.81, 0.01), (0.80, 0.01)), // 5: both fronts (lowest ΔDP); last
        ])]);
        assert_eq!(selected_epochs(Selection::Last, &curve), vec![5]);
        assert_eq!(
            selected_epochs(Selection::ValBestAccuracy { max_dp: 0.05 }, &curve),
            vec![3]
        );
        assert_eq!(
            selected_epochs(Selection::ValBestAccuracy { max_dp: 0.005 }, &curve),
            Vec::<usize>::new()
        );
        // Validation: 5 (0.01, 0.81), 3 (0.03, 0.82), 4 (0.18, 0.84); 3 dominates 1 and 2.
        assert_eq!(selected_epochs(Selection::ValPareto, &curve), vec![3, 4, 5]);
        // Test: 5 (0.01, 0.80), 2 (0.02, 0.82), 4 (0.15, 0.83), 3 (0.20, 0.84).
        assert_eq!(
            selected_epochs(Selection::TestPareto, &curve),
            vec![2, 3, 4, 5]
        );
    }

    /// The same epochs read on hard ΔDP or ΔEO: another front, other best epochs.
    #[test]
    fn the_fairness_metric_decides_which_gap_selection_reads() {
        let epoch = |accuracy, soft, hard, eo| SplitMetrics {
            eo,
            dp_hard: hard,
            ..split(accuracy, soft)
        };
        let history: Vec<EpochMetrics> = [
            epoch(0.80, 0.01, 0.09, 0.30), // 1: best soft gap
            epoch(0.82, 0.04, 0.01, 0.20), // 2: best hard gap
            epoch(0.84, 0.06, 0.05, 0.01), // 3: most accurate, best ΔEO
        ]
        .into_iter()
        .enumerate()
        .map(|(i, m)| EpochMetrics {
            epoch: i + 1,
            train_bce: 0.5,
            validation: m.clone(),
            test: m,
        })
        .collect();
        let curve = seed_curve(&[history]);
        let best = Selection::ValBestAccuracy { max_dp: 0.02 };
        assert_eq!(selected_on(FairnessMetric::DpSoft, best, &curve), [1]);
        assert_eq!(selected_on(FairnessMetric::DpHard, best, &curve), [2]);
        assert_eq!(selected_on(FairnessMetric::Eo, best, &curve), [3]);
        // Soft: 1 (0.01), 2 (0.04), 3 (0.06) all on the front; hard: 1 (0.09) is dominated
        // by 2 (0.01, more accurate); ΔEO: 3 dominates both.
        let pareto = Selection::ValPareto;
        assert_eq!(
            selected_on(FairnessMetric::DpSoft, pareto, &curve),
            [1, 2, 3]
        );
        assert_eq!(selected_on(FairnessMetric::DpHard, pareto, &curve), [2, 3]);
        assert_eq!(selected_on(FairnessMetric::Eo, pareto, &curve), [3]);
        assert_eq!(FairnessMetric::Eo.of(&curve[0].test), 0.30);
    }

    #[test]
    fn seeds_combine_into_mean_accuracy_and_worst_dp() {
        let curve = seed_curve(&[
            history(&[((0.80, 0.10), (0.70, 0.05)), ((0.8, 0.1), (0.8, 0.1))]),
            history(&[((0.82, 0.30), (0.74, 0.01))]), // diverged after one epoch
        ]);
        assert_eq!(curve.len(), 1, "only the epochs every seed reached");
        let test = &curve[0].test;
        assert_eq!(curve[0].seeds, 2);
        assert!((test.accuracy_mean - 0.72).abs() < 1e-12);
        // Sample standard deviation of 0.70 and 0.74: 0.02·√2.
        assert!((test.accuracy_std - 0.02 * 2f64.sqrt()).abs() < 1e-12);
        assert_eq!(FairnessMetric::DpSoft.of(test), 0.05);
        assert!((FairnessMetric::DpSoft.mean(test) - 0.03).abs() < 1e-12);
        assert_eq!(FairnessMetric::DpSoft.of(&curve[0].validation), 0.30);
    }
}
