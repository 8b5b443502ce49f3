//! `audit`: per-group metrics of one model's predictions (`predict`'s or a sweep's
//! `--save-predictions` file), each with a bootstrap confidence interval, as fairlearn's
//! `MetricFrame` gives them: the rows are resampled with replacement `n_boot` times, every
//! metric is computed on each resample, and the interval is read off their quantiles
//! (linear interpolation, numpy's default).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result, bail};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::metrics::{Gaps, GroupRates};

/// One row: its predicted probability, decision, group index and label.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row {
    pub probability: f64,
    pub decision: bool,
    pub group: usize,
    pub label: bool,
}

/// The rows of one model, and the names of their groups, sorted.
#[derive(Debug, Clone, PartialEq)]
pub struct Rows {
    pub rows: Vec<Row>,
    pub groups: Vec<String>,
    /// Rows without a group or a label, left out.
    pub left_out: usize,
}

/// A group's metrics (or all rows'): the fairness vocabulary's.
pub type GroupMetrics = GroupRates;

/// Every metric `audit` reports, in the order of [`Audit::values`].
#[derive(Debug, Clone, PartialEq)]
pub struct Audit {
    pub overall: GroupMetrics,
    pub groups: Vec<GroupMetrics>,
    /// ΔDP soft and hard, ΔEO and equalized odds, as `metrics` defines them.
    pub gaps: Gaps,
}

impl Audit {
    pub fn of(rows: &[Row], n_groups: usize) -> Self {
        let rates = |rows: &mut dyn Iterator<Item = &Row>| {
            GroupRates::of(rows.map(|r| (r.probability, r.decision, r.label)))
        };
        let groups: Vec<GroupMetrics> = (0..n_groups)
            .map(|g| rates(&mut rows.iter().filter(|r| r.group == g)))
            .collect();
        Self {
            overall: rates(&mut rows.iter()),
            gaps: Gaps::of(&groups),
            groups,
        }
    }

    /// Every figure, flattened: per group (overall first) its six metrics, then the gaps.
    fn values(&self) -> Vec<f64> {
        let mut values = Vec::new();
        for m in std::iter::once(&self.overall).chain(&self.groups) {
            values.extend([
                m.rows,
                m.selection_rate,
                m.tpr,
                m.fpr,
                m.accuracy,
                m.mean_probability,
            ]);
        }
        let g = &self.gaps;
        values.extend([g.dp_soft, g.dp_hard, g.eo, g.equalized_odds]);
        values
    }
}

/// The most resamples `audit` draws: their figures, about 30 numbers each, are held to read
/// the quantiles (100,000 take 24 MB).
pub const MAX_RESAMPLES: usize = 100_000;

/// How the confidence intervals are drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct Bootstrap {
    pub n_boot: usize,
    pub seed: u64,
    /// Two quantiles in (0, 1), low then high.
    pub quantiles: (f64, f64),
}

/// The point estimates and, per figure, the interval's bounds.
pub struct Report {
    pub estimate: Audit,
    pub low: Vec<f64>,
    pub high: Vec<f64>,
}

/// Point estimates and bootstrap intervals of `rows`.
pub fn audit(rows: &Rows, bootstrap: &Bootstrap) -> Report {
    let n_groups = rows.groups.len();
    let estimate = Audit::of(&rows.rows, n_groups);
    let mut rng = ChaCha8Rng::seed_from_u64(bootstrap.seed);
    let n = rows.rows.len();
    let mut sample = Vec::with_capacity(n);
    let samples: Vec<Vec<f64>> = (0..bootstrap.n_boot)
        .map(|_| {
            sample.clear();
            sample.extend((0..n).map(|_| rows.rows[rng.random_range(0..n)]));
            Audit::of(&sample, n_groups).values()
        })
        .collect();
    let figures = match bootstrap.n_boot {
        0 => 0, // No intervals asked for.
        _ => estimate.values().len(),
    };
    let bound = |q: f64| -> Vec<f64> {
        (0..figures)
            .map(|i| quantile(samples.iter().map(|s| s[i]).collect(), q))
            .collect()
    };
    Report {
        low: bound(bootstrap.quantiles.0),
        high: bound(bootstrap.quantiles.1),
        estimate,
    }
}

/// The `q` quantile of `values` with linear interpolation between order statistics
/// (numpy's default), NaNs left out; NaN when none is left.
pub fn quantile(mut values: Vec<f64>, q: f64) -> f64 {
    values.retain(|v| !v.is_nan());
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let position = q * (values.len() - 1) as f64;
    let (below, fraction) = (position.floor() as usize, position.fract());
    let above = (below + 1).min(values.len() - 1);
    values[below] + fraction * (values[above] - values[below])
}

/// Read one model's rows from a predictions CSV (columns `probability`, `decision`, `group`,
/// `label`; a sweep's file also `trial_id` and `epoch`, of which `trial` picks one).
pub fn read(path: &Path, trial: Option<&str>, epoch: Option<usize>) -> Result<Rows> {
    let bound = crate::files::bounds::PREDICTIONS;
    let input = crate::files::Bounded::new(
        std::fs::File::open(path)
            .with_context(|| format!("cannot read the predictions file {}", path.display()))?,
        bound,
    );
    let mut reader = csv::Reader::from_reader(std::io::BufReader::new(input));
    let headers = reader
        .headers()
        .with_context(|| format!("{}: cannot read its header line", path.display()))?
        .clone();
    let find = |name: &str| headers.iter().position(|h| h == name);
    let required = ["probability", "decision", "group", "label"];
    let [probability, decision, group, label] = match crate::files::columns(&headers, required) {
        Ok(found) => found,
        Err(lacking) => bail!(
            "{}: lacks the column(s) {} (expected {}, as `predict` and --save-predictions \
             write them; found {})",
            path.display(),
            lacking.join(", "),
            required.join(", "),
            headers.iter().collect::<Vec<_>>().join(", ")
        ),
    };
    let (trial_column, epoch_column) = (find("trial_id"), find("epoch"));
    let mut models = BTreeSet::new();
    let mut raw = Vec::new();
    let mut left_out = 0;
    for (index, record) in reader.records().enumerate() {
        let line = index + 2;
        let record = record.with_context(|| format!("{}:{line}: not CSV", path.display()))?;
        let model = (
            trial_column.map(|c| record[c].to_string()),
            epoch_column.map(|c| record[c].to_string()),
        );
        let wanted = trial.is_none_or(|t| model.0.as_deref() == Some(t))
            && epoch.is_none_or(|e| model.1.as_deref() == Some(&e.to_string()));
        if !wanted {
            continue;
        }
        models.insert(model);
        if record[group].is_empty() || record[label].is_empty() {
            left_out += 1;
            continue;
        }
        let number = |column: usize, name: &str| -> Result<f64> {
            let text = &record[column];
            text.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .with_context(|| {
                    format!(
                        "{}:{line}: column {name}: expected a number, found {text:?}",
                        path.display()
                    )
                })
        };
        let flag = |column: usize, name: &str| -> Result<bool> {
            match &record[column] {
                "0" => Ok(false),
                "1" => Ok(true),
                other => bail!(
                    "{}:{line}: column {name}: expected 0 or 1, found {other:?}",
                    path.display()
                ),
            }
        };
        raw.push((
            number(probability, "probability")?,
            flag(decision, "decision")?,
            record[group].to_string(),
            flag(label, "label")?,
        ));
    }
    if models.len() > 1 {
        let listed: Vec<String> = models
            .iter()
            .map(|(t, e)| {
                format!(
                    "{} epoch {}",
                    t.as_deref().unwrap_or("?"),
                    e.as_deref().unwrap_or("?")
                )
            })
            .collect();
        bail!(
            "{}: holds the predictions of {} models; choose one with --trial ID (and --epoch E): {}",
            path.display(),
            models.len(),
            listed.join(", ")
        );
    }
    if raw.is_empty() {
        let which = match (trial, epoch) {
            (None, None) => String::new(),
            _ => format!(
                " of trial {} epoch {}",
                trial.unwrap_or("any"),
                epoch.map_or("any".into(), |e| e.to_string())
            ),
        };
        bail!(
            "{}: no rows{which} with a group and a label",
            path.display()
        );
    }
    let groups: Vec<String> = raw
        .iter()
        .map(|r| r.2.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let rows = raw
        .into_iter()
        .map(|(probability, decision, group, label)| Row {
            probability,
            decision,
            group: groups.iter().position(|g| *g == group).expect("listed"),
            label,
        })
        .collect();
    Ok(Rows {
        rows,
        groups,
        left_out,
    })
}

/// The printed table: per group (and overall) each metric with its interval, then the gaps.
pub fn describe(rows: &Rows, report: &Report, bootstrap: &Bootstrap) -> String {
    let mut out = String::new();
    let (lo, hi) = bootstrap.quantiles;
    let _ = writeln!(
        out,
        "{} rows{}; intervals: {}–{} quantiles of {} bootstrap resamples (seed {})\n",
        rows.rows.len(),
        match rows.left_out {
            0 => String::new(),
            n => format!(" ({n} without a group or a label left out)"),
        },
        lo,
        hi,
        bootstrap.n_boot,
        bootstrap.seed
    );
    let cell = |i: usize, value: f64| -> String {
        match bootstrap.n_boot {
            0 => format!("{value:.4}"),
            _ => format!("{value:.4} [{:.4}, {:.4}]", report.low[i], report.high[i]),
        }
    };
    let names = [
        "selection rate",
        "TPR",
        "FPR",
        "accuracy",
        "mean probability",
    ];
    let width = rows
        .groups
        .iter()
        .map(|g| g.len())
        .max()
        .unwrap_or(0)
        .max(8);
    let _ = write!(out, "{:<width$} {:>6}", "group", "rows");
    for name in names {
        let _ = write!(out, "  {name:>26}");
    }
    out.push('\n');
    let labels = std::iter::once("all").chain(rows.groups.iter().map(String::as_str));
    let metrics = std::iter::once(&report.estimate.overall).chain(&report.estimate.groups);
    for (g, (label, m)) in labels.zip(metrics).enumerate() {
        let _ = write!(out, "{label:<width$} {:>6}", m.rows);
        let values = [
            m.selection_rate,
            m.tpr,
            m.fpr,
            m.accuracy,
            m.mean_probability,
        ];
        for (k, value) in values.into_iter().enumerate() {
            let _ = write!(out, "  {:>26}", cell(g * 6 + k + 1, value));
        }
        out.push('\n');
    }
    let first_gap = 6 * (rows.groups.len() + 1);
    let e = &report.estimate.gaps;
    out.push('\n');
    for (k, (name, value)) in [
        ("ΔDP soft (gap in mean probability)", e.dp_soft),
        ("ΔDP hard (gap in selection rate; fairlearn's demographic_parity_difference)", e.dp_hard),
        ("ΔEO (gap in TPR, equal opportunity; epochs.csv's eo)", e.eo),
        ("equalized odds (larger of the TPR and FPR gaps; fairlearn's equalized_odds_difference)", e.equalized_odds),
    ]
    .into_iter()
    .enumerate()
    {
        let _ = writeln!(out, "{}  {name}", cell(first_gap + k, value));
    }
    out
}

/// The same figures as CSV: `metric,group,value,low,high`.
pub fn to_csv(rows: &Rows, report: &Report) -> Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(["metric", "group", "value", "low", "high"])?;
    let names = [
        "rows",
        "selection_rate",
        "tpr",
        "fpr",
        "accuracy",
        "mean_probability",
    ];
    let values = report.estimate.values();
    let groups: Vec<&str> = std::iter::once("all")
        .chain(rows.groups.iter().map(String::as_str))
        .collect();
    for (i, value) in values.iter().enumerate() {
        let (metric, group) = match i / 6 {
            g if g < groups.len() => (names[i % 6], groups[g]),
            _ => (
                ["dp_soft", "dp_hard", "eo", "equalized_odds"][i - 6 * groups.len()],
                "",
            ),
        };
        let (low, high) = report
            .low
            .get(i)
            .zip(report.high.get(i))
            .map_or((String::new(), String::new()), |(l, h)| {
                (l.to_string(), h.to_string())
            });
        writer.write_record([metric, group, &value.to_string(), &low, &high])?;
    }
    Ok(writer.into_inner()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(probability: f64, group: usize, label: bool) -> Row {
        Row {
            probability,
            decision: probability > 0.5,
            group,
            label,
        }
    }

    /// Eight rows by hand. Group 0: (0.9, y1) (0.7, y0) (0.2, y1) (0.1, y0); group 1:
    /// (0.6, y1) (0.8, y1) (0.4, y0) (0.3, y0).
    fn table() -> Vec<Row> {
        vec![
            row(0.9, 0, true),
            row(0.7, 0, false),
            row(0.2, 0, true),
            row(0.1, 0, false),
            row(0.6, 1, true),
            row(0.8, 1, true),
            row(0.4, 1, false),
            row(0.3, 1, false),
        ]
    }

    #[test]
    fn point_estimates_match_a_hand_computation() {
        let a = Audit::of(&table(), 2);
        let close = |x: f64, y: f64| assert!((x - y).abs() < 1e-12, "{x} vs {y}");
        // Group 0 selects rows 1 and 2: rate 1/2; TPR 1/2 (0.9 of 0.9, 0.2); FPR 1/2 (0.7
        // of 0.7, 0.1); correct: 0.9 and 0.1, so accuracy 1/2; mean probability 1.9/4.
        let g0 = a.groups[0];
        close(g0.rows, 4.0);
        close(g0.selection_rate, 0.5);
        close(g0.tpr, 0.5);
        close(g0.fpr, 0.5);
        close(g0.accuracy, 0.5);
        close(g0.mean_probability, 1.9 / 4.0);
        // Group 1 is right on every row: rate 1/2, TPR 1, FPR 0, accuracy 1, mean 2.1/4.
        let g1 = a.groups[1];
        close(g1.selection_rate, 0.5);
        close(g1.tpr, 1.0);
        close(g1.fpr, 0.0);
        close(g1.accuracy, 1.0);
        close(g1.mean_probability, 2.1 / 4.0);
        close(a.overall.accuracy, 0.75);
        close(a.overall.tpr, 0.75);
        close(a.gaps.dp_soft, 0.05);
        close(a.gaps.dp_hard, 0.0);
        close(a.gaps.eo, 0.5);
        close(a.gaps.equalized_odds, 0.5);
    }

    #[test]
    fn quantiles_interpolate_as_numpy_does() {
        // numpy.quantile([1, 2, 3, 4], [0.25, 0.5, 0.975]) = [1.75, 2.5, 3.925]
        let values = vec![4.0, 1.0, 3.0, 2.0];
        assert_eq!(quantile(values.clone(), 0.25), 1.75);
        assert_eq!(quantile(values.clone(), 0.5), 2.5);
        assert!((quantile(values, 0.975) - 3.925).abs() < 1e-12);
        assert!(quantile(vec![f64::NAN], 0.5).is_nan());
    }

    #[test]
    fn intervals_hold_the_estimate_and_repeat_with_the_seed() {
        let rows = Rows {
            rows: table().repeat(20),
            groups: vec!["a".into(), "b".into()],
            left_out: 0,
        };
        let bootstrap = Bootstrap {
            n_boot: 300,
            seed: 4,
            quantiles: (0.05, 0.95),
        };
        let report = audit(&rows, &bootstrap);
        let values = report.estimate.values();
        assert_eq!(report.low.len(), values.len());
        let groups = 6 * 3;
        for (i, value) in values.iter().enumerate() {
            assert!(report.low[i] <= report.high[i], "figure {i}");
            // Rates spread around their estimate; a gap is ≥ 0 on every resample, so a gap
            // of 0 (ΔDP hard here) lies below its interval, as in fairlearn's.
            if i < groups {
                let (low, high) = (report.low[i], report.high[i]);
                assert!(
                    low <= value + 1e-12 && value - 1e-12 <= high,
                    "figure {i}: {value}"
                );
            } else {
                assert!(report.low[i] >= 0.0);
            }
        }
        // Overall accuracy over 160 rows, 3/4 right: the interval is wider than nothing.
        assert!(report.high[4] - report.low[4] > 0.05);
        let again = audit(&rows, &bootstrap);
        assert_eq!((again.low, again.high), (report.low, report.high));
        let none = audit(
            &rows,
            &Bootstrap {
                n_boot: 0,
                ..bootstrap
            },
        );
        assert!(none.low.is_empty());
    }

    #[test]
    fn a_file_of_many_models_needs_a_trial_and_bad_values_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.csv");
        std::fs::write(
            &path,
            "trial_id,epoch,test_row,probability,decision,group,label\n\
             t1,3,1,0.9,1,a,1\nt1,3,2,0.2,0,b,0\nt2,5,1,0.4,0,a,1\nt2,5,2,0.6,1,,1\n",
        )
        .unwrap();
        let error = read(&path, None, None).unwrap_err().to_string();
        assert!(
            error.contains("holds the predictions of 2 models"),
            "{error}"
        );
        assert!(error.contains("t1 epoch 3, t2 epoch 5"), "{error}");
        let t2 = read(&path, Some("t2"), None).unwrap();
        assert_eq!(t2.rows.len(), 1);
        assert_eq!(t2.left_out, 1, "the row without a group");
        let error = read(&path, Some("t3"), None).unwrap_err().to_string();
        assert!(error.contains("no rows of trial t3"), "{error}");

        std::fs::write(&path, "probability,decision,group,label\n0.3,yes,a,1\n").unwrap();
        let error = read(&path, None, None).unwrap_err().to_string();
        assert!(
            error.contains("p.csv:2: column decision: expected 0 or 1, found \"yes\""),
            "{error}"
        );
        std::fs::write(&path, "probability,group\n0.3,a\n").unwrap();
        let error = read(&path, None, None).unwrap_err().to_string();
        assert!(
            error.contains("lacks the column(s) decision, label"),
            "{error}"
        );
    }
}
