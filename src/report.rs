//! What a run reports. Each configuration's seeds are combined epoch by epoch, each selection
//! policy picks its epochs, and each method gets its figures: AOPAC and the best accuracy
//! within ΔDP budgets. Written to `aggregate.csv` and `methods.csv`, and printed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::config::ExperimentFile;
use crate::data::Dataset;
use crate::metrics::{largest_group_gap, majority_accuracy};
use crate::pareto::{aopac, best_accuracy_within, pareto_front};
use crate::selection::{EpochSummary, Selection, seed_curve};
use crate::sweep::estimate::{Estimate, human};
use crate::sweep::execute::describe;
use crate::sweep::store::{
    EPOCHS_FILE, EpochRow, Settings, Status, TRIALS_FILE, TrialRecord, read_rows,
};
use crate::sweep::{ExecuteSummary, Plan};
use crate::train::EpochMetrics;

pub const AGGREGATE_FILE: &str = "aggregate.csv";
pub const METHODS_FILE: &str = "methods.csv";
/// ΔDP budgets at which the best accuracy is reported.
pub const DP_BUDGETS: [f64; 3] = [0.01, 0.02, 0.05];

/// One configuration (settings but the seed) and what its seeds produced.
pub struct Configuration {
    pub config_id: String,
    pub settings: Settings,
    pub seeds_planned: usize,
    /// Trials of this configuration that did not finish (diverged or failed), with why.
    pub unfinished: Vec<(String, u64, Status, String)>,
    /// The finished seeds, combined epoch by epoch.
    pub curve: Vec<EpochSummary>,
}

/// An epoch a selection policy reported for a configuration.
pub struct Point<'a> {
    pub configuration: &'a Configuration,
    pub summary: EpochSummary,
}

impl Point<'_> {
    /// (worst ΔDP soft over seeds, mean accuracy), test split: the paper's reporting.
    pub fn test_trade_off(&self) -> (f64, f64) {
        (
            self.summary.test.dp_soft_max,
            self.summary.test.accuracy_mean,
        )
    }
}

/// A method's figures under one selection policy.
pub struct MethodFigures {
    pub method: String,
    pub points: usize,
    pub aopac: f64,
    /// Best test accuracy at ΔDP soft ≤ each of [`DP_BUDGETS`].
    pub best_within: Vec<Option<f64>>,
}

/// The test split's own reference points for AOPAC.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Baseline {
    /// Accuracy of always predicting the majority class.
    pub majority_accuracy: f64,
    /// ΔDP of the true labels.
    pub label_dp: f64,
}

impl Baseline {
    pub fn of(data: &Dataset) -> Self {
        let labels = &data.test.labels;
        Self {
            majority_accuracy: majority_accuracy(labels),
            label_dp: largest_group_gap(labels, &data.test.groups, data.n_groups(), |_| true),
        }
    }
}

/// The configurations of `plan`, from the results folder.
pub fn configurations(
    results_dir: &Path,
    plan: &Plan,
    n_features: usize,
) -> Result<Vec<Configuration>> {
    let records: HashMap<String, TrialRecord> =
        read_rows::<TrialRecord>(&results_dir.join(TRIALS_FILE))?
            .into_iter()
            .map(|r| (r.trial_id.clone(), r))
            .collect();
    let mut histories: HashMap<String, BTreeMap<usize, (Option<EpochRow>, Option<EpochRow>)>> =
        HashMap::new();
    for row in read_rows::<EpochRow>(&results_dir.join(EPOCHS_FILE))? {
        let epoch = histories
            .entry(row.trial_id.clone())
            .or_default()
            .entry(row.epoch)
            .or_default();
        match row.split.as_str() {
            "validation" => epoch.0 = Some(row),
            _ => epoch.1 = Some(row),
        }
    }
    let history = |trial_id: &str| -> Vec<EpochMetrics> {
        histories
            .get(trial_id)
            .into_iter()
            .flatten()
            .filter_map(|(&epoch, pair)| match pair {
                (Some(validation), Some(test)) => Some(EpochMetrics {
                    epoch,
                    validation: validation.metrics(),
                    test: test.metrics(),
                }),
                _ => None,
            })
            .collect()
    };

    let mut configurations: Vec<Configuration> = Vec::new();
    let mut finished: Vec<Vec<Vec<EpochMetrics>>> = Vec::new();
    for trial in &plan.trials {
        let index = match configurations
            .iter()
            .position(|c| c.config_id == trial.config_id)
        {
            Some(index) => index,
            None => {
                configurations.push(Configuration {
                    config_id: trial.config_id.clone(),
                    settings: Settings::of(&trial.spec, n_features),
                    seeds_planned: 0,
                    unfinished: Vec::new(),
                    curve: Vec::new(),
                });
                finished.push(Vec::new());
                configurations.len() - 1
            }
        };
        configurations[index].seeds_planned += 1;
        match records.get(&trial.id) {
            Some(record) if record.status == Status::Ok => finished[index].push(history(&trial.id)),
            Some(record) => configurations[index].unfinished.push((
                trial.id.clone(),
                trial.spec.train.seed,
                record.status,
                record.error.clone(),
            )),
            None => {}
        }
    }
    for (configuration, histories) in configurations.iter_mut().zip(&finished) {
        configuration.curve = seed_curve(histories);
    }
    Ok(configurations)
}

/// The epochs `selection` reports, configuration by configuration.
pub fn select<'a>(selection: &Selection, configurations: &'a [Configuration]) -> Vec<Point<'a>> {
    configurations
        .iter()
        .flat_map(|configuration| {
            selection
                .select(&configuration.curve)
                .into_iter()
                .map(move |i| Point {
                    configuration,
                    summary: configuration.curve[i].clone(),
                })
        })
        .collect()
}

/// AOPAC and best accuracies per method, in the order methods first appear.
pub fn method_figures(points: &[Point], baseline: &Baseline) -> Vec<MethodFigures> {
    let mut methods: Vec<&str> = Vec::new();
    for point in points {
        let method = point.configuration.settings.method.as_str();
        if !methods.contains(&method) {
            methods.push(method);
        }
    }
    methods
        .into_iter()
        .map(|method| {
            let trade_offs: Vec<(f64, f64)> = points
                .iter()
                .filter(|p| p.configuration.settings.method == method)
                .map(Point::test_trade_off)
                .collect();
            MethodFigures {
                method: method.to_string(),
                points: trade_offs.len(),
                aopac: aopac(&trade_offs, baseline.majority_accuracy, baseline.label_dp),
                best_within: DP_BUDGETS
                    .iter()
                    .map(|&budget| best_accuracy_within(&trade_offs, budget))
                    .collect(),
            }
        })
        .collect()
}

#[derive(Serialize)]
struct PointHead<'a> {
    selection: String,
    /// `test` for the paper's protocol, which selects on the test set.
    selected_on: &'static str,
    config_id: &'a str,
    seeds: usize,
    epoch: usize,
}

/// A selected point's metrics: means over seeds, their standard deviations and the worst
/// ΔDP over seeds (the paper reports mean accuracy with the worst ΔDP).
#[derive(Serialize)]
struct PointMetrics {
    val_accuracy_mean: f64,
    val_dp_soft_max: f64,
    test_accuracy_mean: f64,
    test_accuracy_std: f64,
    test_dp_soft_mean: f64,
    test_dp_soft_std: f64,
    test_dp_soft_max: f64,
    test_dp_hard_mean: f64,
    test_dp_hard_max: f64,
    test_eo_mean: f64,
    test_positive_rate_mean: f64,
    /// `group: rate; ...`, each group's share predicted positive (mean over seeds).
    test_group_positive_rates: String,
    degenerate: bool,
}

#[derive(Serialize)]
struct MethodRow<'a> {
    selection: String,
    selected_on: &'static str,
    method: &'a str,
    points: usize,
    aopac: f64,
    best_accuracy_dp_0_01: Option<f64>,
    best_accuracy_dp_0_02: Option<f64>,
    best_accuracy_dp_0_05: Option<f64>,
    majority_accuracy: f64,
    label_dp: f64,
}

fn selected_on(selection: &Selection) -> &'static str {
    if selection.uses_test_set() {
        "test"
    } else {
        "validation"
    }
}

/// Write `aggregate.csv` (every selected point) and `methods.csv` (figures per method).
pub fn write_csvs(
    results_dir: &Path,
    selections: &[(Selection, Vec<Point>, Vec<MethodFigures>)],
    baseline: &Baseline,
    group_names: &[String],
) -> Result<()> {
    let path = results_dir.join(AGGREGATE_FILE);
    let mut points_csv = csv::Writer::from_path(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    let path = results_dir.join(METHODS_FILE);
    let mut methods_csv = csv::Writer::from_path(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    for (selection, points, methods) in selections {
        for point in points {
            let (s, v, t) = (
                &point.summary,
                &point.summary.validation,
                &point.summary.test,
            );
            let head = PointHead {
                selection: selection.name(),
                selected_on: selected_on(selection),
                config_id: &point.configuration.config_id,
                seeds: s.seeds,
                epoch: s.epoch,
            };
            let metrics = PointMetrics {
                val_accuracy_mean: v.accuracy_mean,
                val_dp_soft_max: v.dp_soft_max,
                test_accuracy_mean: t.accuracy_mean,
                test_accuracy_std: t.accuracy_std,
                test_dp_soft_mean: t.dp_soft_mean,
                test_dp_soft_std: t.dp_soft_std,
                test_dp_soft_max: t.dp_soft_max,
                test_dp_hard_mean: t.dp_hard_mean,
                test_dp_hard_max: t.dp_hard_max,
                test_eo_mean: t.eo_mean,
                test_positive_rate_mean: t.positive_rate_mean,
                test_group_positive_rates: group_names
                    .iter()
                    .zip(&t.group_positive_rates_mean)
                    .map(|(name, rate)| format!("{name}: {rate:.4}"))
                    .collect::<Vec<_>>()
                    .join("; "),
                degenerate: t.degenerate,
            };
            points_csv.serialize((head, &point.configuration.settings, metrics))?;
        }
        for figures in methods {
            let best = |i: usize| figures.best_within[i];
            methods_csv.serialize(MethodRow {
                selection: selection.name(),
                selected_on: selected_on(selection),
                method: &figures.method,
                points: figures.points,
                aopac: figures.aopac,
                best_accuracy_dp_0_01: best(0),
                best_accuracy_dp_0_02: best(1),
                best_accuracy_dp_0_05: best(2),
                majority_accuracy: baseline.majority_accuracy,
                label_dp: baseline.label_dp,
            })?;
        }
    }
    points_csv.flush()?;
    methods_csv.flush()?;
    Ok(())
}

/// The selected points' test metrics, one row each, sorted by method and the settings that
/// vary; `*` marks a method's Pareto front, `!` a degenerate network.
pub fn table(points: &[Point]) -> String {
    let cells: Vec<Vec<(String, String)>> = points
        .iter()
        .map(|p| p.configuration.settings.cells())
        .collect();
    // Settings that differ between rows of one method (across methods, the method does).
    let varying: Vec<usize> = (1..cells.first().map_or(0, Vec::len))
        .filter(|&c| {
            cells.iter().any(|row| {
                cells
                    .iter()
                    .any(|other| other[0].1 == row[0].1 && other[c].1 != row[c].1)
            })
        })
        .collect();
    let many_seeds = points.iter().any(|p| p.summary.seeds > 1);
    let numeric = |text: &str| text.parse::<f64>().unwrap_or(f64::NEG_INFINITY);
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by(|&a, &b| {
        cells[a][0].1.cmp(&cells[b][0].1).then_with(|| {
            varying
                .iter()
                .map(|&c| numeric(&cells[a][c].1).total_cmp(&numeric(&cells[b][c].1)))
                .chain([points[a].summary.epoch.cmp(&points[b].summary.epoch)])
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        })
    });
    let mut on_front = vec![false; points.len()];
    let mut methods: Vec<&str> = cells.iter().map(|row| row[0].1.as_str()).collect();
    methods.sort_unstable();
    methods.dedup();
    for method in methods {
        let mine: Vec<usize> = (0..points.len())
            .filter(|&i| cells[i][0].1 == method)
            .collect();
        let trade_offs: Vec<(f64, f64)> =
            mine.iter().map(|&i| points[i].test_trade_off()).collect();
        for i in pareto_front(&trade_offs) {
            on_front[mine[i]] = true;
        }
    }

    let mut text = format!("  {:<19}", "method");
    for &c in &varying {
        text += &format!(" {:>12}", cells[0][c].0);
    }
    if many_seeds {
        text += &format!(" {:>5}", "seeds");
    }
    text += &format!(" {:>9}", "accuracy");
    if many_seeds {
        text += &format!(" {:>7}", "± std");
    }
    text += &format!(
        " {:>9} {:>9} {:>7} {:>6}\n",
        "ΔDP soft", "ΔDP hard", "ΔEO", "epoch"
    );
    for i in order {
        let (point, t) = (&points[i], &points[i].summary.test);
        let marker = match (on_front[i], t.degenerate) {
            (_, true) => "!",
            (true, false) => "*",
            _ => " ",
        };
        text += &format!("{marker} {:<19}", cells[i][0].1);
        for &c in &varying {
            let value = &cells[i][c].1;
            text += &format!(" {:>12}", if value.is_empty() { "-" } else { value });
        }
        if many_seeds {
            text += &format!(" {:>5}", point.summary.seeds);
        }
        text += &format!(" {:>9.4}", t.accuracy_mean);
        if many_seeds {
            text += &format!(" {:>7.4}", t.accuracy_std);
        }
        text += &format!(
            " {:>9.4} {:>9.4} {:>7.4} {:>6}\n",
            t.dp_soft_max, t.dp_hard_max, t.eo_mean, point.summary.epoch
        );
    }
    text
}

/// Per-method figures as printed.
pub fn figures_table(methods: &[MethodFigures]) -> String {
    let mut text = format!("  {:<19} {:>6} {:>7}", "method", "points", "AOPAC");
    for budget in DP_BUDGETS {
        text += &format!(" {:>11}", format!("acc@ΔDP≤{budget}"));
    }
    text += "\n";
    for m in methods {
        text += &format!("  {:<19} {:>6} {:>7.4}", m.method, m.points, m.aopac);
        for best in &m.best_within {
            text += &format!(" {:>11}", best.map_or("-".into(), |a| format!("{a:.4}")));
        }
        text += "\n";
    }
    text
}

pub fn print_summary(
    name: &str,
    plan: &Plan,
    summary: &ExecuteSummary,
    configurations: &[Configuration],
    selections: &[(Selection, Vec<Point>, Vec<MethodFigures>)],
    baseline: &Baseline,
    outputs: &[&Path],
) {
    let merged = plan.grid_points - plan.trials.len();
    println!(
        "{name}: {} trials{}; {} ran now, {} were already done.",
        plan.trials.len(),
        if merged > 0 {
            format!(
                " ({} sweep points; {merged} identical for the method and run once)",
                plan.grid_points
            )
        } else {
            String::new()
        },
        summary.ran,
        summary.skipped
    );
    let unfinished: Vec<_> = configurations
        .iter()
        .flat_map(|c| c.unfinished.iter().map(move |u| (c, u)))
        .collect();
    if !unfinished.is_empty() {
        println!("{} trials did not finish:", unfinished.len());
        for (configuration, (trial_id, seed, status, error)) in unfinished {
            println!(
                "  {trial_id} {} seed={seed} [{status:?}]: {error}",
                describe(&configuration.settings)
            );
        }
    }
    let seeds = configurations
        .iter()
        .map(|c| c.seeds_planned)
        .max()
        .unwrap_or(1);
    let over_seeds = if seeds > 1 {
        format!(", mean accuracy and worst ΔDP over up to {seeds} seeds")
    } else {
        String::new()
    };
    for (selection, points, methods) in selections {
        println!(
            "\nSelection: {}. Test split{over_seeds}.",
            selection.describe()
        );
        if selection.is_single_point() {
            println!(
                "(* Pareto front of the method, ! degenerate: predicts the same for nearly everyone)"
            );
            print!("{}", table(points));
        }
        println!(
            "AOPAC (majority accuracy {:.4}, label ΔDP {:.4}) and best accuracy within a ΔDP soft budget:",
            baseline.majority_accuracy, baseline.label_dp
        );
        print!("{}", figures_table(methods));
    }
    println!();
    for output in outputs {
        println!("wrote {}", output.display());
    }
}

/// What `fairbinn-sweep plan` prints: the trial count and a row per trial with the values
/// the sweep sets and whether the results folder has it already.
pub fn plan_table(
    experiment: &ExperimentFile,
    plan: &Plan,
    finished: &HashSet<String>,
    n_features: usize,
) -> String {
    let mut out = String::new();
    let done = plan
        .trials
        .iter()
        .filter(|trial| finished.contains(&trial.id))
        .count();
    let merged = plan.grid_points.saturating_sub(plan.trials.len());
    let _ = writeln!(
        out,
        "{} ({}): {} trials{}; {done} already done, {} to run.",
        experiment.name,
        experiment.path.display(),
        plan.trials.len(),
        if merged > 0 {
            format!(
                " from {} sweep points ({merged} identical for their method, run once)",
                plan.grid_points
            )
        } else {
            String::new()
        },
        plan.trials.len() - done
    );
    let mut columns: Vec<&str> = vec!["method"];
    columns.extend(
        experiment
            .swept
            .iter()
            .map(String::as_str)
            .filter(|key| !["method", "seed"].contains(key)),
    );
    let rows: Vec<Vec<String>> = plan
        .trials
        .iter()
        .enumerate()
        .map(|(index, trial)| {
            let cells: HashMap<String, String> = Settings::of(&trial.spec, n_features)
                .cells()
                .into_iter()
                .collect();
            let mut row = vec![(index + 1).to_string(), trial.id.clone()];
            row.extend(columns.iter().map(|column| match cells.get(*column) {
                Some(value) if !value.is_empty() => value.clone(),
                _ => "-".into(),
            }));
            row.push(trial.spec.train.seed.to_string());
            row.push(
                if finished.contains(&trial.id) {
                    "done"
                } else {
                    "to run"
                }
                .into(),
            );
            row
        })
        .collect();
    let header: Vec<&str> = ["#", "trial"]
        .into_iter()
        .chain(columns.iter().copied())
        .chain(["seed", "status"])
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|row| row[i].chars().count())
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        padded.join("  ").trim_end().to_string()
    };
    let _ = writeln!(out, "\n{}", line(header.clone()));
    for row in &rows {
        let _ = writeln!(out, "{}", line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// `Estimated run time: 1 min 30 s on 2 threads …`, with the timed epoch of each kind.
pub fn describe_estimate(estimate: &Estimate, pending: usize) -> String {
    if pending == 0 {
        return "\nNothing to run: every trial is in the results folder.".into();
    }
    let mut out = format!(
        "\nEstimated run time: {} on {} threads for the {pending} trials to run ({} of training in all).\n\
         From one timed epoch of each kind of trial:",
        human(estimate.wall_seconds),
        estimate.jobs,
        human(estimate.serial_seconds)
    );
    for (kind, seconds) in &estimate.kinds {
        let _ = write!(out, "\n  {kind}: {seconds:.2} s per epoch");
    }
    out
}
