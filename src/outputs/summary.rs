//! The summary `run` and `merge` print: trials run and unfinished, and per selection policy
//! each method's figures (with, for single-point policies, a table of the configurations),
//! then the files written.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::{Output, Report};
use crate::analysis::{Analysis, DP_BUDGETS, MethodScores, OnMean, Point, reported_metrics};
use crate::config::search::Halving;
use crate::pareto::pareto_front;
use crate::selection::FairnessMetric;

pub struct Summary;

impl Output for Summary {
    fn write(&self, report: &Report, _: &Path, written: &[PathBuf]) -> Result<Vec<PathBuf>> {
        print!("{}", summary(report, written));
        Ok(Vec::new())
    }
}

/// How far the configurations of a halving search trained.
pub fn halving_line(halving: &Halving, analysis: &Analysis) -> String {
    let reached: Vec<String> = (halving.rungs.iter())
        .map(|&rung| {
            let n = (analysis.configurations.iter())
                .filter(|c| c.curve.last().is_some_and(|e| e.epoch >= rung))
                .count();
            format!("{n} to epoch {rung}")
        })
        .collect();
    format!(
        "Halving search (each method keeping {:.0}% of its configurations at each rung): of {} \
         configurations, {}. Those stopped at a rung report the epochs they trained.\n",
        100.0 * halving.keep,
        analysis.configurations.len(),
        reached.join(", ")
    )
}

/// What the randomized baselines' numbers are, when the results have some.
pub fn randomized_line(analysis: &Analysis) -> Option<String> {
    let mut names: Vec<&str> = (analysis.configurations.iter())
        .map(|c| c.settings.method)
        .filter(|m| m.is_randomized())
        .map(|m| m.name())
        .collect();
    names.sort_unstable();
    names.dedup();
    (!names.is_empty()).then(|| {
        format!(
            "{} are randomized classifiers: their accuracy and ΔDP are expected values, from \
             each row's probability of a positive decision (so their soft and hard ΔDP are \
             the same number), not one draw of decisions.\n",
            names.join(", ")
        )
    })
}

fn summary(report: &Report, written: &[PathBuf]) -> String {
    let (plan, run, analysis) = (report.plan, report.run, report.analysis);
    let mut out = String::new();
    let merged = plan.grid_points - plan.trials.len();
    out += &format!(
        "{}: {} trials{}; {} ran now, {} were already done.\n",
        report.name,
        plan.trials.len(),
        if merged > 0 {
            format!(
                " ({} sweep points; {merged} identical for the method and run once)",
                plan.grid_points
            )
        } else {
            String::new()
        },
        run.ran,
        run.skipped
    );
    if run.collapsed > 0 {
        out += &format!(
            "{} of those that ran stopped early (train.patience): their validation predictions \
             were the same for nearly everyone; they count as finished, at their last epoch \
             from there on.\n",
            run.collapsed
        );
    }
    if let Some(halving) = report.halving {
        out += &halving_line(halving, analysis);
    }
    if let Some(line) = randomized_line(analysis) {
        out += &line;
    }
    if analysis.not_planned > 0 {
        out += &format!(
            "{} trials in the results folder are not in this plan (other settings, or other \
             data): kept there, not reported.\n",
            analysis.not_planned
        );
    }
    let unfinished: Vec<_> = analysis
        .configurations
        .iter()
        .flat_map(|c| c.unfinished.iter().map(move |u| (c, u)))
        .collect();
    if !unfinished.is_empty() {
        out += &format!("{} trials did not finish:\n", unfinished.len());
        for (configuration, u) in unfinished {
            out += &format!(
                "  {} {} seed={} [{:?}]: {}\n",
                u.trial_id,
                configuration.settings.describe(),
                u.seed,
                u.status,
                u.error
            );
        }
    }
    let seeds = analysis.seeds();
    let over_seeds = if seeds > 1 {
        format!(", mean accuracy and worst ΔDP over up to {seeds} seeds")
    } else {
        String::new()
    };
    let (baseline, metric) = (analysis.baseline, analysis.metric);
    for selected in &analysis.selected {
        let selection = &selected.selection;
        out += &format!(
            "\nSelection: {}, on {}. Test split{over_seeds}.\n",
            selection.describe(metric),
            metric.symbol()
        );
        if selection.is_single_point() {
            out += "(* Pareto front of the method, ! degenerate: predicts the same for nearly everyone)\n";
            out += &table(&selected.points, metric);
        }
        for on in reported_metrics(metric) {
            out += &format!(
                "AOPAC on {} (majority accuracy {:.4}, up to {} {:.4}) and best accuracy within a {} budget:\n",
                on.symbol(),
                baseline.majority_accuracy,
                on.symbol(),
                baseline.max_gap(on),
                on.symbol()
            );
            out += &figures_table(&selected.methods, on);
        }
        if seeds > 1 {
            out += &format!("{}:\n", on_mean_caption(metric));
            out += &on_mean_table(&selected.methods, metric);
        }
    }
    out += "\n";
    for path in written {
        out += &format!("wrote {}\n", path.display());
    }
    out
}

/// The selected points' test metrics, one row each, sorted by method and the settings that
/// vary; `*` marks a method's Pareto front, `!` a degenerate network.
fn table(points: &[Point], metric: FairnessMetric) -> String {
    let cells: Vec<Vec<(String, String)>> = points.iter().map(|p| p.settings.cells()).collect();
    // Settings that differ between rows of one method (across methods, the method does).
    let varying = super::varying_columns(&cells);
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
        let trade_offs: Vec<(f64, f64)> = mine
            .iter()
            .map(|&i| points[i].test_trade_off(metric))
            .collect();
        for i in pareto_front(&trade_offs) {
            on_front[mine[i]] = true;
        }
    }

    // Wide enough for the longest method name (`threshold-fairbinn-reference-randomized`).
    let width = (points.iter())
        .map(|p| p.settings.method.name().len())
        .max()
        .unwrap_or(0)
        .max(19);
    let mut text = format!("  {:<width$}", "method");
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
        text += &format!("{marker} {:<width$}", cells[i][0].1);
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
            FairnessMetric::DpSoft.of(t),
            FairnessMetric::DpHard.of(t),
            FairnessMetric::Eo.mean(t),
            point.summary.epoch
        );
    }
    text
}

/// What [`on_mean_table`] shows, in words.
pub fn on_mean_caption(metric: FairnessMetric) -> String {
    format!(
        "On the mean {gap} over seeds (the literature's rule, beside the worst seed's above): \
         the best mean accuracy ± std among points whose mean {gap} is within each budget, and \
         the share of that point's seeds within it",
        gap = metric.symbol()
    )
}

/// A point chosen on its mean gap: `0.8477 ± 0.0012 (80%)`, or `-` when none is within.
pub fn on_mean_cell(chosen: Option<OnMean>) -> String {
    chosen.map_or("-".into(), |c| {
        format!(
            "{:.4} ± {:.4} ({:.0}%)",
            c.accuracy_mean,
            c.accuracy_std,
            c.share_within * 100.0
        )
    })
}

fn on_mean_table(methods: &[MethodScores], metric: FairnessMetric) -> String {
    let width = (methods.iter())
        .map(|m| m.front.chars().count())
        .max()
        .unwrap_or(0)
        .max(19);
    let mut text = format!("  {:<width$}", "method");
    for budget in DP_BUDGETS {
        text += &format!(" {:>24}", format!("≤{budget}"));
    }
    text += "\n";
    for m in methods {
        text += &format!("  {:<width$}", m.front);
        for &chosen in &m.on(metric).on_mean {
            text += &format!(" {:>24}", on_mean_cell(chosen));
        }
        text += "\n";
    }
    text
}

/// Per-method figures on `metric`'s axis, as printed.
fn figures_table(methods: &[MethodScores], metric: FairnessMetric) -> String {
    let gap = match metric {
        FairnessMetric::Eo | FairnessMetric::EqualizedOdds => metric.symbol(),
        _ => "ΔDP",
    };
    let width = (methods.iter())
        .map(|m| m.front.chars().count())
        .max()
        .unwrap_or(0)
        .max(19);
    let mut text = format!("  {:<width$} {:>6} {:>7}", "method", "points", "AOPAC");
    for budget in DP_BUDGETS {
        text += &format!(" {:>11}", format!("acc@{gap}≤{budget}"));
    }
    text += "\n";
    for m in methods {
        let figures = m.on(metric);
        text += &format!(
            "  {:<width$} {:>6} {:>7.4}",
            m.front, m.points, figures.aopac
        );
        for best in &figures.best_within {
            text += &format!(" {:>11}", best.map_or("-".into(), |a| format!("{a:.4}")));
        }
        text += "\n";
    }
    text
}
