//! What the results say, as pure functions over typed rows: each configuration's seeds
//! combined epoch by epoch, the epochs each selection policy picks, and each method's
//! scores (AOPAC, best accuracy within ΔDP budgets). No files are read or written here:
//! the store reads the rows, `outputs` writes what this computes.

use std::collections::{BTreeMap, HashMap};

use crate::data::Dataset;
use crate::metrics::{largest_group_gap, majority_accuracy};
use crate::pareto::{aopac, best_accuracy_within};
use crate::plan::Plan;
use crate::results::{EpochRow, Settings, Status, TrialRecord};
use crate::selection::{EpochSummary, FairnessMetric, Selection, seed_curve};
use crate::train::{EpochMetrics, Evaluated, Method};

/// ΔDP budgets at which the best accuracy is reported, in `methods.csv` and the summary.
pub const DP_BUDGETS: [f64; 3] = [0.01, 0.02, 0.05];

/// One configuration (settings but the seed) and what its seeds produced.
#[derive(Debug, Clone)]
pub struct Configuration {
    pub config_id: String,
    pub settings: Settings,
    pub seeds_planned: usize,
    /// Trials of this configuration that did not finish (diverged or failed).
    pub unfinished: Vec<Unfinished>,
    /// The finished seeds, combined epoch by epoch.
    pub curve: Vec<EpochSummary>,
    /// The seeds' downstream classifiers after the last epoch (`downstream:`), combined as
    /// an epoch's are: each seed's point is its runs' mean accuracy and largest gaps.
    pub downstream: Option<EpochSummary>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Unfinished {
    pub trial_id: String,
    pub seed: u64,
    pub status: Status,
    pub error: String,
}

/// An epoch a selection policy reported for a configuration.
#[derive(Debug, Clone)]
pub struct Point {
    pub config_id: String,
    pub settings: Settings,
    pub summary: EpochSummary,
}

impl Point {
    /// (the worst seed's gap, mean accuracy), test split: the paper's reporting.
    pub fn test_trade_off(&self, metric: FairnessMetric) -> (f64, f64) {
        (
            metric.of(&self.summary.test),
            self.summary.test.accuracy_mean,
        )
    }
}

/// A method's scores under one selection policy: for the fairness metric that selected the
/// points, then for soft and hard ΔDP (each once).
#[derive(Debug, Clone, PartialEq)]
pub struct MethodScores {
    pub method: Method,
    /// The front's name: the method's, then `column=value` of each `fronts_by:` setting when
    /// this front is the part of the method's points with those values.
    pub front: String,
    pub points: usize,
    pub by_metric: Vec<TradeOff>,
}

impl MethodScores {
    /// The scores on `metric`'s axis (the selecting metric's when it is not reported).
    pub fn on(&self, metric: FairnessMetric) -> &TradeOff {
        self.by_metric
            .iter()
            .find(|t| t.metric == metric)
            .unwrap_or(&self.by_metric[0])
    }
}

/// AOPAC and best accuracies of a method's points on one metric's axis.
#[derive(Debug, Clone, PartialEq)]
pub struct TradeOff {
    pub metric: FairnessMetric,
    pub aopac: f64,
    /// Best test accuracy at the gap ≤ each of [`DP_BUDGETS`].
    pub best_within: Vec<Option<f64>>,
    /// The literature's rule for each of [`DP_BUDGETS`]: the point of best mean accuracy
    /// among those whose *mean* gap over seeds is within the budget.
    pub on_mean: Vec<Option<OnMean>>,
}

/// A point chosen on its mean gap over seeds, as Zeng et al. and most tables report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OnMean {
    pub accuracy_mean: f64,
    pub accuracy_std: f64,
    /// The share of its seeds whose own test gap is within the budget.
    pub share_within: f64,
}

impl OnMean {
    /// The best of `points` whose mean gap on `metric` is within `budget`.
    fn best(points: &[&Point], metric: FairnessMetric, budget: f64) -> Option<Self> {
        let within = |p: &&&Point| metric.mean(&p.summary.test) <= budget;
        let best = (points.iter().filter(within)).max_by(|a, b| {
            a.summary
                .test
                .accuracy_mean
                .total_cmp(&b.summary.test.accuracy_mean)
        })?;
        let seeds = metric.over_seeds(&best.summary.test).1;
        let inside = seeds.iter().filter(|&&gap| gap <= budget).count();
        Some(Self {
            accuracy_mean: best.summary.test.accuracy_mean,
            accuracy_std: best.summary.test.accuracy_std,
            share_within: inside as f64 / seeds.len().max(1) as f64,
        })
    }
}

/// The metrics scores are given on: the selecting one first, then soft and hard ΔDP.
pub fn reported_metrics(selecting: FairnessMetric) -> Vec<FairnessMetric> {
    let mut metrics = vec![selecting];
    for metric in FairnessMetric::REPORTED {
        if !metrics.contains(&metric) {
            metrics.push(metric);
        }
    }
    metrics
}

/// The test split's own reference points for AOPAC.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Baseline {
    /// Accuracy of always predicting the majority class.
    pub majority_accuracy: f64,
    /// ΔDP of the true labels.
    pub label_dp: f64,
}

impl Baseline {
    /// Where AOPAC's axis ends: the labels' own ΔDP (a perfect classifier's), or for ΔEO and
    /// equalized odds, where a perfect classifier has no gap, the whole range [0, 1].
    pub fn max_gap(&self, metric: FairnessMetric) -> f64 {
        match metric {
            FairnessMetric::DpSoft | FairnessMetric::DpHard => self.label_dp,
            FairnessMetric::Eo | FairnessMetric::EqualizedOdds => 1.0,
        }
    }

    pub fn of(data: &Dataset) -> Self {
        let labels = &data.test.labels;
        Self {
            majority_accuracy: majority_accuracy(labels),
            label_dp: largest_group_gap(labels, &data.test.groups, data.n_groups(), |_| true),
        }
    }
}

/// One selection policy's points and per-method scores.
#[derive(Debug, Clone)]
pub struct Selected {
    pub selection: Selection,
    pub points: Vec<Point>,
    pub methods: Vec<MethodScores>,
}

/// Everything the outputs show.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub baseline: Baseline,
    /// The gap selection, fronts and AOPAC use.
    pub metric: FairnessMetric,
    pub configurations: Vec<Configuration>,
    pub selected: Vec<Selected>,
    /// Trials in the results folder that are not in the plan (other settings, other data):
    /// kept there, not reported.
    pub not_planned: usize,
}

impl Analysis {
    pub fn new(
        configurations: Vec<Configuration>,
        selections: &[Selection],
        metric: FairnessMetric,
        fronts_by: &[String],
        baseline: Baseline,
        not_planned: usize,
    ) -> Self {
        let selected = selections
            .iter()
            .map(|&selection| {
                let points = select(&selection, metric, &configurations);
                let methods = method_scores(&points, &baseline, metric, fronts_by);
                Selected {
                    selection,
                    points,
                    methods,
                }
            })
            .collect();
        Self {
            baseline,
            metric,
            configurations,
            selected,
            not_planned,
        }
    }

    /// The most seeds any configuration planned.
    pub fn seeds(&self) -> usize {
        self.configurations
            .iter()
            .map(|c| c.seeds_planned)
            .max()
            .unwrap_or(1)
    }
}

/// The configurations of `plan`, in plan order, from the results' rows: each finished seed's
/// epochs (those with both splits) combined; trials that did not finish listed with why.
pub fn configurations(
    plan: &Plan,
    records: &[TrialRecord],
    epochs: Vec<EpochRow>,
    n_features: usize,
) -> Vec<Configuration> {
    let records: HashMap<&str, &TrialRecord> =
        records.iter().map(|r| (r.trial_id.as_str(), r)).collect();
    let mut histories = histories(epochs);
    let mut history = |trial_id: &str| histories.remove(trial_id).unwrap_or_default();

    let mut configurations: Vec<Configuration> = Vec::new();
    let mut finished: Vec<Vec<Vec<EpochMetrics>>> = Vec::new();
    let mut index_of: HashMap<&str, usize> = HashMap::new();
    for trial in &plan.trials {
        let index = match index_of.get(trial.config_id.as_str()) {
            Some(&index) => index,
            None => {
                index_of.insert(&trial.config_id, configurations.len());
                configurations.push(Configuration {
                    config_id: trial.config_id.clone(),
                    settings: Settings::of(&trial.spec, n_features),
                    seeds_planned: 0,
                    unfinished: Vec::new(),
                    curve: Vec::new(),
                    downstream: None,
                });
                finished.push(Vec::new());
                configurations.len() - 1
            }
        };
        configurations[index].seeds_planned += 1;
        match records.get(trial.id.as_str()) {
            // Collapsed below; paused or halved at a rung of a halving search, its epochs as
            // they are (its configuration's seeds stop at the same rung).
            Some(record)
                if record.status.reports_epochs() && record.status != Status::Collapsed =>
            {
                finished[index].push(history(&trial.id))
            }
            // Stopped because its network predicts the same for everyone: it counts, at every
            // later epoch, as it was when it stopped, so its configuration's other seeds keep
            // their epochs.
            Some(record) if record.status == Status::Collapsed => {
                let mut kept = history(&trial.id);
                if let Some(last) = kept.last().cloned() {
                    kept.extend((last.epoch + 1..=trial.spec.train.epochs).map(|epoch| {
                        EpochMetrics {
                            epoch,
                            ..last.clone()
                        }
                    }));
                }
                finished[index].push(kept);
            }
            Some(record) => configurations[index].unfinished.push(Unfinished {
                trial_id: trial.id.clone(),
                seed: trial.spec.train.seed,
                status: record.status,
                error: record.error.clone(),
            }),
            None => {}
        }
    }
    for (configuration, histories) in configurations.iter_mut().zip(&finished) {
        configuration.curve = seed_curve(histories);
    }
    configurations
}

/// Give each configuration of `plan` its seeds' downstream point from `rows` (those of
/// `downstream.csv`): a seed counts with rows on both splits.
pub fn attach_downstream(
    configurations: &mut [Configuration],
    plan: &Plan,
    rows: &[crate::downstream::DownstreamRow],
) {
    use crate::downstream::summarize;
    let mut of_trial: HashMap<&str, [Vec<&crate::downstream::DownstreamRow>; 2]> = HashMap::new();
    for row in rows {
        let slot = match row.split {
            Evaluated::Validation => 0,
            Evaluated::Test => 1,
        };
        of_trial.entry(&row.trial_id).or_default()[slot].push(row);
    }
    for configuration in configurations.iter_mut() {
        let seeds: Vec<Vec<EpochMetrics>> = (plan.trials.iter())
            .filter(|t| t.config_id == configuration.config_id)
            .filter_map(|t| match of_trial.get(t.id.as_str())? {
                [validation, test] if !validation.is_empty() && !test.is_empty() => {
                    Some(vec![EpochMetrics {
                        epoch: t.spec.train.epochs,
                        train_bce: f64::NAN,
                        validation: summarize(validation),
                        test: summarize(test),
                    }])
                }
                _ => None,
            })
            .collect();
        configuration.downstream = seed_curve(&seeds).pop();
    }
}

/// Each trial's evaluated epochs (those with both splits), in epoch order.
pub fn histories(epochs: Vec<EpochRow>) -> HashMap<String, Vec<EpochMetrics>> {
    let mut pairs: HashMap<String, BTreeMap<usize, [Option<EpochRow>; 2]>> = HashMap::new();
    for row in epochs {
        let slot = match row.split {
            Evaluated::Validation => 0,
            Evaluated::Test => 1,
        };
        let pair = pairs
            .entry(row.trial_id.clone())
            .or_default()
            .entry(row.epoch)
            .or_default();
        pair[slot] = Some(row);
    }
    pairs
        .into_iter()
        .map(|(trial_id, epochs)| {
            let history = epochs
                .into_iter()
                .filter_map(|(epoch, pair)| match pair {
                    [Some(validation), Some(test)] => Some(EpochMetrics {
                        epoch,
                        train_bce: validation.train_bce.unwrap_or(f64::NAN),
                        validation: validation.metrics(),
                        test: test.metrics(),
                    }),
                    _ => None,
                })
                .collect();
            (trial_id, history)
        })
        .collect()
}

/// How many of `records` are not trials of `plan`.
pub fn not_planned(plan: &Plan, records: &[TrialRecord]) -> usize {
    let planned: std::collections::HashSet<&str> =
        plan.trials.iter().map(|t| t.id.as_str()).collect();
    records
        .iter()
        .filter(|r| !planned.contains(r.trial_id.as_str()))
        .count()
}

/// The epochs `selection` reports, configuration by configuration.
pub fn select(
    selection: &Selection,
    metric: FairnessMetric,
    configurations: &[Configuration],
) -> Vec<Point> {
    if *selection == Selection::Downstream {
        let point = |c: &Configuration| {
            Some(Point {
                config_id: c.config_id.clone(),
                settings: c.settings.clone(),
                summary: c.downstream.clone()?,
            })
        };
        return configurations.iter().filter_map(point).collect();
    }
    configurations
        .iter()
        .flat_map(|configuration| {
            selection
                .select(&configuration.curve, metric)
                .into_iter()
                .map(move |i| Point {
                    config_id: configuration.config_id.clone(),
                    settings: configuration.settings.clone(),
                    summary: configuration.curve[i].clone(),
                })
        })
        .collect()
}

/// AOPAC and best accuracies per method, in the order methods first appear, on the axis of
/// each of [`reported_metrics`]; then, when `fronts_by` names settings, per method and
/// combination of their values, each method's parts in the order they first appear.
pub fn method_scores(
    points: &[Point],
    baseline: &Baseline,
    selecting: FairnessMetric,
    fronts_by: &[String],
) -> Vec<MethodScores> {
    let mut methods: Vec<Method> = Vec::new();
    let mut parts: Vec<(Method, String)> = Vec::new();
    for point in points {
        let method = point.settings.method;
        if !methods.contains(&method) {
            methods.push(method);
        }
        if !fronts_by.is_empty() {
            let part = (method, front_of(&point.settings, fronts_by));
            if !parts.contains(&part) {
                parts.push(part);
            }
        }
    }
    // Each method's whole front (`None`), then the parts of each method that has several.
    let mut fronts: Vec<(Method, Option<String>)> = methods.iter().map(|&m| (m, None)).collect();
    for &method in &methods {
        let its: Vec<&(Method, String)> = parts.iter().filter(|(m, _)| *m == method).collect();
        if its.len() > 1 {
            fronts.extend(its.into_iter().map(|(m, part)| (*m, Some(part.clone()))));
        }
    }
    fronts
        .into_iter()
        .map(|(method, part)| {
            let mine: Vec<&Point> = (points.iter())
                .filter(|p| p.settings.method == method)
                .filter(|p| {
                    (part.as_ref()).is_none_or(|part| front_of(&p.settings, fronts_by) == *part)
                })
                .collect();
            let by_metric = reported_metrics(selecting)
                .into_iter()
                .map(|metric| {
                    let trade_offs: Vec<(f64, f64)> =
                        mine.iter().map(|p| p.test_trade_off(metric)).collect();
                    let max_gap = baseline.max_gap(metric);
                    TradeOff {
                        metric,
                        aopac: aopac(&trade_offs, baseline.majority_accuracy, max_gap),
                        best_within: DP_BUDGETS
                            .iter()
                            .map(|&budget| best_accuracy_within(&trade_offs, budget))
                            .collect(),
                        on_mean: DP_BUDGETS
                            .iter()
                            .map(|&budget| OnMean::best(&mine, metric, budget))
                            .collect(),
                    }
                })
                .collect();
            MethodScores {
                method,
                front: part.unwrap_or_else(|| method.to_string()),
                points: mine.len(),
                by_metric,
            }
        })
        .collect()
}

/// `fairbinn fairness_layers=2`: the method, then each of `fronts_by`'s settings that the
/// method has (a method that ignores one writes it empty).
fn front_of(settings: &Settings, fronts_by: &[String]) -> String {
    let cells = settings.cells();
    let mut front = settings.method.to_string();
    for column in fronts_by {
        if let Some((_, value)) = cells
            .iter()
            .find(|(name, v)| name == column && !v.is_empty())
        {
            front += &format!(" {column}={value}");
        }
    }
    front
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::SplitMetrics;

    /// A plan of `methods` × `etas` × `seeds` on Adult, read from an experiment text.
    fn plan(text: &str) -> Plan {
        let file = crate::config::parse(text, std::path::Path::new("a.yaml"), None).unwrap();
        crate::plan::plan(&file, &[])
    }

    /// The majority class's accuracy and the labels' gap AOPAC is measured against.
    const BASELINE: Baseline = Baseline {
        majority_accuracy: 0.75,
        label_dp: 0.2,
    };

    fn record(trial_id: &str, status: Status, error: &str) -> TrialRecord {
        TrialRecord {
            trial_id: trial_id.into(),
            status,
            error: error.into(),
            last_epoch: 2,
            val_accuracy: None,
            val_dp_soft: None,
            test_accuracy: None,
            test_dp_soft: None,
            test_dp_hard: None,
            seconds: 1.0,
        }
    }

    /// A row whose metrics are set by (accuracy, ΔDP soft).
    fn row(trial_id: &str, epoch: usize, split: Evaluated, accuracy: f64, dp: f64) -> EpochRow {
        let metrics = SplitMetrics {
            accuracy,
            dp_soft: dp,
            dp_hard: dp,
            positive_rate: 0.3,
            probability_std: 0.2,
            group_positive_rates: vec![0.2, 0.4],
            ..Default::default()
        };
        EpochRow::new(trial_id, epoch, split, &metrics)
    }

    /// Two seeds of an fcrl configuration, two runs each: each seed's point is its runs' mean
    /// accuracy and largest gap; the configuration's, the seeds' mean accuracy and (as every
    /// selection) the worst seed's gap; the `downstream` selection reports it.
    #[test]
    fn downstream_points_combine_runs_then_seeds() {
        use crate::downstream::DownstreamRow;
        let plan = plan(
            "name: a\ndataset: {name: adult}\ntrain: {method: fcrl, epochs: 3}\nseeds: [0, 1]\n\
             downstream: {runs: 2}\n",
        );
        let ids: Vec<&str> = plan.trials.iter().map(|t| t.id.as_str()).collect();
        let row = |trial: &str, run, split, accuracy, dp_hard| DownstreamRow {
            trial_id: trial.into(),
            run,
            split,
            epochs: 5,
            accuracy,
            bce: 0.4,
            dp_soft: dp_hard / 2.0,
            dp_hard,
            eo: 0.0,
            equalized_odds: 0.0,
            positive_rate: 0.2,
            probability_std: 0.3,
        };
        let mut rows = Vec::new();
        for split in [Evaluated::Validation, Evaluated::Test] {
            rows.extend([
                row(ids[0], 0, split, 0.80, 0.02),
                row(ids[0], 1, split, 0.82, 0.06),
                row(ids[1], 0, split, 0.70, 0.03),
                row(ids[1], 1, split, 0.74, 0.01),
            ]);
        }
        let records: Vec<TrialRecord> = ids.iter().map(|id| record(id, Status::Ok, "")).collect();
        let mut configurations = configurations(&plan, &records, Vec::new(), 10);
        attach_downstream(&mut configurations, &plan, &rows);
        let point = configurations[0]
            .downstream
            .clone()
            .expect("both seeds have rows");
        assert_eq!((point.seeds, point.epoch), (2, 3));
        // Seeds: 0.81 at ΔDP 0.06, and 0.72 at ΔDP 0.03.
        assert!((point.test.accuracy_mean - 0.765).abs() < 1e-12);
        assert_eq!(FairnessMetric::DpHard.of(&point.test), 0.06);
        assert!((FairnessMetric::DpHard.mean(&point.test) - 0.045).abs() < 1e-12);
        assert_eq!(FairnessMetric::DpSoft.of(&point.test), 0.03);
        let selected = select(
            &Selection::Downstream,
            FairnessMetric::DpHard,
            &configurations,
        );
        assert_eq!(selected.len(), 1);
        assert_eq!(selected[0].summary.test, point.test);
        // The other selections read the (here empty) epochs, not these rows.
        assert!(select(&Selection::Last, FairnessMetric::DpHard, &configurations).is_empty());
    }

    /// Two seeds of lagrangian η 1 and η 10, and erm; two epochs each. Seed 1 of η 10
    /// diverged; erm's seed 1 has no test row for epoch 2 (cut short).
    fn results() -> (Plan, Vec<TrialRecord>, Vec<EpochRow>) {
        let plan = plan(
            "name: a\ndataset: {name: adult}\ntrain: {epochs: 2}\nseeds: [0, 1]\n\
             sweep:\n  method: [erm, lagrangian]\n  eta: [1, 10]\n",
        );
        assert_eq!(plan.trials.len(), 6, "erm once per seed");
        let mut records = Vec::new();
        let mut epochs = Vec::new();
        for (i, trial) in plan.trials.iter().enumerate() {
            let (method, eta, seed) = (
                trial.spec.train.method,
                trial.spec.train.eta(),
                trial.spec.train.seed,
            );
            if method == Method::Lagrangian && eta == 10.0 && seed == 1 {
                records.push(record(&trial.id, Status::Diverged, "not finite"));
                continue;
            }
            records.push(record(&trial.id, Status::Ok, ""));
            let base = 0.80 + 0.01 * i as f64;
            for epoch in 1..=2 {
                let dp = 0.1 / (epoch as f64 * (1.0 + eta));
                epochs.push(row(&trial.id, epoch, Evaluated::Validation, base, dp));
                if !(method == Method::Erm && seed == 1 && epoch == 2) {
                    epochs.push(row(&trial.id, epoch, Evaluated::Test, base - 0.01, dp));
                }
            }
        }
        (plan, records, epochs)
    }

    /// The literature's rule on a hand-made case: points with (accuracy, ΔDP hard) per seed;
    /// for each budget the best mean accuracy among points whose mean gap is within, with
    /// its standard deviation and the share of seeds within (not the worst seed's rule).
    #[test]
    fn points_chosen_on_their_mean_gap_report_the_share_of_seeds_within() {
        let point = |seeds: &[(f64, f64)]| {
            let metrics: Vec<SplitMetrics> = (seeds.iter())
                .map(|&(accuracy, dp_hard)| SplitMetrics {
                    accuracy,
                    dp_hard,
                    ..Default::default()
                })
                .collect();
            let stats = crate::selection::SeedStats::of(&metrics);
            Point {
                config_id: String::new(),
                settings: Settings::default(),
                summary: EpochSummary {
                    epoch: 1,
                    seeds: seeds.len(),
                    train_bce: (0.0, 0.0, 0.0),
                    validation: stats.clone(),
                    test: stats,
                },
            }
        };
        // Mean gap 0.008 (one seed of 4 at 0.014): within 0.01 on the mean, not on the worst.
        let a = point(&[(0.84, 0.002), (0.86, 0.014), (0.85, 0.008), (0.85, 0.008)]);
        // Mean gap 0.015, more accurate.
        let b = point(&[(0.87, 0.01), (0.87, 0.02), (0.87, 0.015), (0.87, 0.015)]);
        let points = [&a, &b];
        let hard = FairnessMetric::DpHard;
        let at_01 = OnMean::best(&points, hard, 0.01).unwrap();
        assert!((at_01.accuracy_mean - 0.85).abs() < 1e-12);
        // The sample standard deviation of 0.84, 0.86, 0.85, 0.85.
        assert!((at_01.accuracy_std - (0.0002f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(at_01.share_within, 0.75);
        let at_02 = OnMean::best(&points, hard, 0.02).unwrap();
        assert!((at_02.accuracy_mean - 0.87).abs() < 1e-12);
        assert_eq!(at_02.share_within, 1.0);
        assert_eq!(OnMean::best(&points, hard, 0.005), None);
        // The worst seed's rule keeps neither within 0.01.
        let worst: Vec<(f64, f64)> = points.iter().map(|p| p.test_trade_off(hard)).collect();
        assert_eq!(best_accuracy_within(&worst, 0.01), None);
    }

    #[test]
    fn seeds_group_by_configuration_and_unfinished_trials_are_listed() {
        let (plan, records, epochs) = results();
        let configurations = configurations(&plan, &records, epochs, 101);
        let methods: Vec<(Method, Option<f64>, usize, usize)> = configurations
            .iter()
            .map(|c| {
                (
                    c.settings.method,
                    c.settings.eta,
                    c.seeds_planned,
                    c.curve.len(),
                )
            })
            .collect();
        assert_eq!(
            methods,
            [
                (Method::Erm, None, 2, 1), // epoch 2 lacks seed 1's test row
                (Method::Lagrangian, Some(1.0), 2, 2),
                (Method::Lagrangian, Some(10.0), 2, 2),
            ]
        );
        assert_eq!(configurations[0].curve[0].seeds, 2);
        // η 10: only seed 0 finished; the other is listed with why.
        assert_eq!(configurations[2].curve[0].seeds, 1);
        let unfinished = &configurations[2].unfinished;
        assert_eq!(unfinished.len(), 1);
        assert_eq!(
            (
                unfinished[0].seed,
                unfinished[0].status,
                unfinished[0].error.as_str()
            ),
            (1, Status::Diverged, "not finite")
        );
        assert_eq!(
            configurations[1].curve[0].test.group_positive_rates_mean,
            [0.2, 0.4]
        );
    }

    /// A collapsed seed (stopped after epoch 1 of 3) counts at epochs 2 and 3 as it was at 1,
    /// so its configuration keeps the other seed's epochs.
    #[test]
    fn a_collapsed_seed_counts_as_it_stopped_at_every_later_epoch() {
        let plan = plan(
            "name: a\ndataset: {name: adult}\ntrain: {method: erm, epochs: 3}\nseeds: [0, 1]\n",
        );
        let (kept, stopped) = (&plan.trials[0].id, &plan.trials[1].id);
        let mut records = vec![record(kept, Status::Ok, "")];
        records.push(TrialRecord {
            last_epoch: 1,
            ..record(stopped, Status::Collapsed, "degenerate")
        });
        let mut epochs = Vec::new();
        for epoch in 1..=3 {
            for split in [Evaluated::Validation, Evaluated::Test] {
                epochs.push(row(kept, epoch, split, 0.80 + 0.01 * epoch as f64, 0.1));
            }
        }
        for split in [Evaluated::Validation, Evaluated::Test] {
            epochs.push(row(stopped, 1, split, 0.70, 0.0));
        }
        let configurations = configurations(&plan, &records, epochs, 101);
        let curve = &configurations[0].curve;
        assert!(
            configurations[0].unfinished.is_empty(),
            "collapsed is finished"
        );
        assert_eq!(curve.len(), 3);
        for (i, epoch) in curve.iter().enumerate() {
            assert_eq!(epoch.seeds, 2);
            let expected = (0.80 + 0.01 * (i + 1) as f64 + 0.70) / 2.0;
            assert!(
                (epoch.test.accuracy_mean - expected).abs() < 1e-12,
                "epoch {}",
                i + 1
            );
            assert_eq!(FairnessMetric::DpSoft.of(&epoch.test), 0.1);
        }
    }

    #[test]
    fn selection_and_scores_over_a_synthetic_table() {
        let (plan, records, epochs) = results();
        let analysis = Analysis::new(
            configurations(&plan, &records, epochs, 101),
            &[Selection::Last, Selection::TestPareto],
            FairnessMetric::DpSoft,
            &[],
            BASELINE,
            0,
        );
        let last = &analysis.selected[0];
        let epochs: Vec<usize> = last.points.iter().map(|p| p.summary.epoch).collect();
        assert_eq!(epochs, [1, 2, 2]);
        // Lagrangian η 1, epoch 2: ΔDP 0.1/(2·2) = 0.025 (both seeds); accuracy the mean of
        // trials 1 and 2 (plan order: erm 0, lagrangian η 1 seed 0 is 1, …).
        let point = &last.points[1];
        assert_eq!(point.settings.method, Method::Lagrangian);
        assert!((FairnessMetric::DpSoft.of(&point.summary.test) - 0.025).abs() < 1e-12);
        let methods: Vec<Method> = last.methods.iter().map(|m| m.method).collect();
        assert_eq!(methods, [Method::Erm, Method::Lagrangian]);
        let lagrangian = &last.methods[1];
        assert_eq!(lagrangian.points, 2);
        let metrics: Vec<FairnessMetric> = lagrangian.by_metric.iter().map(|t| t.metric).collect();
        assert_eq!(metrics, FairnessMetric::REPORTED);
        let soft = lagrangian.on(FairnessMetric::DpSoft);
        // η 10 (seed 0 only): ΔDP 0.1/(2·11) ≈ 0.0045, within 0.01.
        let eta_10 = &last.points[2];
        assert!((FairnessMetric::DpSoft.of(&eta_10.summary.test) - 0.1 / 22.0).abs() < 1e-12);
        assert_eq!(
            soft.best_within,
            [
                Some(eta_10.summary.test.accuracy_mean),
                Some(eta_10.summary.test.accuracy_mean),
                Some(
                    point
                        .summary
                        .test
                        .accuracy_mean
                        .max(eta_10.summary.test.accuracy_mean)
                ),
            ]
        );
        let soft_axis = |p: &Point| p.test_trade_off(FairnessMetric::DpSoft);
        let expected_aopac = aopac(&[soft_axis(point), soft_axis(eta_10)], 0.75, 0.2);
        assert_eq!(soft.aopac, expected_aopac);
        assert!(soft.aopac > 0.0);
        // The test-set protocol: epoch 2 dominates epoch 1 everywhere (lower ΔDP, same
        // accuracy), but erm's front is epoch 1, the only one both seeds reached.
        let fronts: Vec<usize> = analysis.selected[1]
            .points
            .iter()
            .map(|p| p.summary.epoch)
            .collect();
        assert_eq!(fronts, [1, 2, 2]);
        assert_eq!(analysis.seeds(), 2);
    }

    /// `fronts_by: [eta]` adds a front per η of lagrangian (named as the CSVs write η), each its own AOPAC, after the
    /// methods' whole fronts; erm, which has no η, is one front only.
    #[test]
    fn fronts_by_splits_a_method_into_fronts_of_its_own() {
        let (plan, records, epochs) = results();
        let configurations = configurations(&plan, &records, epochs, 101);
        let analysis = Analysis::new(
            configurations,
            &[Selection::Last],
            FairnessMetric::DpSoft,
            &["eta".to_string()],
            BASELINE,
            0,
        );
        let last = &analysis.selected[0];
        let fronts: Vec<(&str, usize)> = (last.methods.iter())
            .map(|m| (m.front.as_str(), m.points))
            .collect();
        assert_eq!(
            fronts,
            [
                ("erm", 1),
                ("lagrangian", 2),
                ("lagrangian eta=1.0", 1),
                ("lagrangian eta=10.0", 1)
            ]
        );
        let soft_axis = |p: &Point| p.test_trade_off(FairnessMetric::DpSoft);
        for (front, point) in last.methods[2..].iter().zip(&last.points[1..]) {
            let alone = aopac(&[soft_axis(point)], 0.75, 0.2);
            assert_eq!(front.on(FairnessMetric::DpSoft).aopac, alone);
        }
        assert!(
            last.methods[2].on(FairnessMetric::DpSoft).aopac
                < last.methods[1].on(FairnessMetric::DpSoft).aopac
        );
    }
}
