//! `aggregate.csv` (every selected point) and `methods.csv` (figures per method), one row
//! per selection policy and point or method.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;
use serde::ser::SerializeTuple;

use super::{Output, Report};
use crate::analysis::{DP_BUDGETS, TradeOff, reported_metrics};
use crate::results::Settings;
use crate::results::schema::as_csv;
use crate::selection::FairnessMetric::{DpHard, DpSoft, Eo};
use crate::selection::Selection;

pub const AGGREGATE_FILE: &str = "aggregate.csv";
pub const METHODS_FILE: &str = "methods.csv";

pub struct Aggregate;
pub struct Methods;

#[derive(Serialize, Default)]
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
#[derive(Serialize, Default)]
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
struct MethodHead<'a> {
    selection: String,
    selected_on: &'static str,
    fairness_metric: &'static str,
    /// The front: the method, or a part of its points (`fronts_by:`).
    method: &'a str,
    points: usize,
}

/// Per metric, AOPAC and the best accuracy within each of [`DP_BUDGETS`]: a column each.
struct Figures<'a>(&'a [TradeOff]);

impl Serialize for Figures<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut cells = serializer.serialize_tuple(self.0.len() * (1 + DP_BUDGETS.len()))?;
        for figures in self.0 {
            cells.serialize_element(&figures.aopac)?;
            for cell in &figures.best_within {
                cells.serialize_element(cell)?;
            }
        }
        cells.end()
    }
}

/// Per metric and budget, the point chosen on its mean gap over seeds: its mean accuracy,
/// their standard deviation, and the share of seeds within the budget (empty when none is).
struct OnMean<'a>(&'a [TradeOff]);

impl Serialize for OnMean<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut cells = serializer.serialize_tuple(self.0.len() * 3 * DP_BUDGETS.len())?;
        for figures in self.0 {
            for chosen in &figures.on_mean {
                cells.serialize_element(&chosen.map(|c| c.accuracy_mean))?;
                cells.serialize_element(&chosen.map(|c| c.accuracy_std))?;
                cells.serialize_element(&chosen.map(|c| c.share_within))?;
            }
        }
        cells.end()
    }
}

#[derive(Serialize)]
struct MethodTail {
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

/// A writer of `header` and then the rows, which do not write one: a table with no rows still
/// says what its columns are.
fn writer(path: &Path, header: &csv::StringRecord) -> Result<csv::Writer<std::fs::File>> {
    let mut csv = csv::WriterBuilder::new()
        .has_headers(false)
        .from_path(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    csv.write_record(header)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(csv)
}

impl Output for Aggregate {
    fn write(&self, report: &Report, dir: &Path, _: &[PathBuf]) -> Result<Vec<PathBuf>> {
        let path = dir.join(AGGREGATE_FILE);
        let example = (
            PointHead::default(),
            Settings::default(),
            PointMetrics::default(),
        );
        let mut csv = writer(&path, &as_csv(&example).0)?;
        let cannot = || format!("cannot write {}", path.display());
        for selected in &report.analysis.selected {
            for point in &selected.points {
                let (s, v, t) = (
                    &point.summary,
                    &point.summary.validation,
                    &point.summary.test,
                );
                let head = PointHead {
                    selection: selected.selection.name(),
                    selected_on: selected_on(&selected.selection),
                    config_id: &point.config_id,
                    seeds: s.seeds,
                    epoch: s.epoch,
                };
                let metrics = PointMetrics {
                    val_accuracy_mean: v.accuracy_mean,
                    val_dp_soft_max: DpSoft.of(v),
                    test_accuracy_mean: t.accuracy_mean,
                    test_accuracy_std: t.accuracy_std,
                    test_dp_soft_mean: DpSoft.mean(t),
                    test_dp_soft_std: t.dp_soft_std,
                    test_dp_soft_max: DpSoft.of(t),
                    test_dp_hard_mean: DpHard.mean(t),
                    test_dp_hard_max: DpHard.of(t),
                    test_eo_mean: Eo.mean(t),
                    test_positive_rate_mean: t.positive_rate_mean,
                    test_group_positive_rates: report
                        .group_names
                        .iter()
                        .zip(&t.group_positive_rates_mean)
                        .map(|(name, rate)| format!("{name}: {rate:.4}"))
                        .collect::<Vec<_>>()
                        .join("; "),
                    degenerate: t.degenerate,
                };
                csv.serialize((head, &point.settings, metrics))
                    .with_context(cannot)?;
            }
        }
        csv.flush().with_context(cannot)?;
        Ok(vec![path])
    }
}

impl Output for Methods {
    fn write(&self, report: &Report, dir: &Path, _: &[PathBuf]) -> Result<Vec<PathBuf>> {
        let path = dir.join(METHODS_FILE);
        let cannot = || format!("cannot write {}", path.display());
        let metrics = reported_metrics(report.analysis.metric);
        let per_metric = metrics.iter().flat_map(|metric| {
            let m = metric.name().replace('-', "_");
            let aopac = format!("aopac_{m}");
            let budgets = DP_BUDGETS.iter().map(move |budget| {
                format!("best_accuracy_{m}_{}", budget.to_string().replace('.', "_"))
            });
            std::iter::once(aopac).chain(budgets)
        });
        let head = [
            "selection",
            "selected_on",
            "fairness_metric",
            "method",
            "points",
        ];
        // After the worst-seed columns, the literature's rule (on the mean gap over seeds).
        let on_mean = metrics.iter().flat_map(|metric| {
            let m = metric.name().replace('-', "_");
            DP_BUDGETS.iter().flat_map(move |budget| {
                let b = budget.to_string().replace('.', "_");
                ["accuracy", "std", "share_within"].map(|what| format!("mean_gap_{what}_{m}_{b}"))
            })
        });
        let header: csv::StringRecord = (head.into_iter().map(String::from))
            .chain(per_metric)
            .chain(["majority_accuracy".into(), "label_dp".into()])
            .chain(on_mean)
            .collect();
        let mut csv = writer(&path, &header)?;
        let baseline = report.analysis.baseline;
        for selected in &report.analysis.selected {
            for figures in &selected.methods {
                let head = MethodHead {
                    selection: selected.selection.name(),
                    selected_on: selected_on(&selected.selection),
                    fairness_metric: report.analysis.metric.name(),
                    method: &figures.front,
                    points: figures.points,
                };
                let tail = MethodTail {
                    majority_accuracy: baseline.majority_accuracy,
                    label_dp: baseline.label_dp,
                };
                let on_mean = OnMean(&figures.by_metric);
                csv.serialize((head, Figures(&figures.by_metric), tail, on_mean))
                    .with_context(cannot)?;
            }
        }
        csv.flush().with_context(cannot)?;
        Ok(vec![path])
    }
}
