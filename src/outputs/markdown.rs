//! `report.md`: the run in one page that renders on GitHub. The experiment as it ran, the
//! data, each selection policy's per-method figures on soft and hard ΔDP (and the selecting
//! gap), the figures embedded, and where it all came from (the manifest).

use crate::escape::{cell, code_span, fenced};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::{Output, Report};
use crate::analysis::{DP_BUDGETS, reported_metrics};
use crate::results::manifest;

pub struct Markdown;

const FILE: &str = "report.md";

impl Output for Markdown {
    fn write(&self, report: &Report, dir: &Path, written: &[PathBuf]) -> Result<Vec<PathBuf>> {
        let path = dir.join(FILE);
        let text = page(report, dir, written);
        crate::files::write_atomically(&path, text.as_bytes())?;
        Ok(vec![path])
    }
}

fn page(report: &Report, dir: &Path, written: &[PathBuf]) -> String {
    let analysis = report.analysis;
    let metric = analysis.metric;
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", report.name);
    let _ = writeln!(
        out,
        "{} trials in {} configurations. Selection, fronts and AOPAC read **{}** (`{}`).\n",
        report.plan.trials.len(),
        analysis.configurations.len(),
        metric.symbol(),
        metric.name()
    );
    if let Some(halving) = report.halving {
        let _ = writeln!(out, "{}", super::summary::halving_line(halving, analysis));
    }
    if let Some(line) = super::summary::randomized_line(analysis) {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "## Data\n\n{}\n", fenced(report.data, ""));
    let baseline = analysis.baseline;
    for selected in &analysis.selected {
        let selection = &selected.selection;
        let _ = writeln!(out, "## Selection: {}\n", selection.describe(metric));
        if selection.uses_test_set() {
            let _ = writeln!(
                out,
                "**Selected on the TEST split** (the paper's protocol): these figures are \
                 optimistic.\n"
            );
        }
        for on in reported_metrics(metric) {
            let _ = writeln!(
                out,
                "On {} (test split; majority class {:.4}; AOPAC up to {:.4}):\n",
                on.symbol(),
                baseline.majority_accuracy,
                baseline.max_gap(on)
            );
            let budgets: Vec<String> = DP_BUDGETS
                .iter()
                .map(|b| format!("best accuracy, {} ≤ {b}", on.symbol()))
                .collect();
            let _ = writeln!(out, "| method | points | AOPAC | {} |", budgets.join(" | "));
            let _ = writeln!(out, "|---|---:|---:|{}", "---:|".repeat(budgets.len()));
            for m in &selected.methods {
                let figures = m.on(on);
                let best: Vec<String> = (figures.best_within.iter())
                    .map(|b| b.map_or("–".into(), |a| format!("{a:.4}")))
                    .collect();
                let _ = writeln!(
                    out,
                    "| {} | {} | {:.4} | {} |",
                    m.front,
                    m.points,
                    figures.aopac,
                    best.join(" | ")
                );
            }
            out.push('\n');
        }
        if analysis.seeds() > 1 {
            let _ = writeln!(out, "{}:\n", super::summary::on_mean_caption(metric));
            let budgets: Vec<String> = (DP_BUDGETS.iter())
                .map(|b| format!("{} ≤ {b}", metric.symbol()))
                .collect();
            let _ = writeln!(out, "| method | {} |", budgets.join(" | "));
            let _ = writeln!(out, "|---|{}", "---:|".repeat(budgets.len()));
            for m in &selected.methods {
                let cells: Vec<String> = (m.on(metric).on_mean.iter())
                    .map(|&c| super::summary::on_mean_cell(c).replace('-', "–"))
                    .collect();
                let _ = writeln!(out, "| {} | {} |", m.front, cells.join(" | "));
            }
            out.push('\n');
        }
        let mine: Vec<String> = (reported_metrics(report.analysis.metric).into_iter())
            .map(|metric| super::figures::file_name(selection, metric))
            .collect();
        for figure in written.iter().filter_map(|p| p.file_name()?.to_str()) {
            if mine.iter().any(|m| m == figure) {
                let _ = writeln!(out, "![{figure}]({figure})\n");
            }
        }
    }
    let others: Vec<&str> = (written.iter().filter_map(|p| p.file_name()?.to_str()))
        .filter(|f| f.ends_with(".svg") && !f.starts_with("pareto_"))
        .collect();
    if !others.is_empty() {
        let _ = writeln!(out, "## Knobs, curves and groups\n");
        for figure in others {
            let _ = writeln!(out, "![{figure}]({figure})\n");
        }
    }
    if !report.references.is_empty() {
        let _ = writeln!(
            out,
            "## External results drawn (reference_points, not run here)\n"
        );
        let _ = writeln!(
            out,
            "| label | accuracy | gap | gap is |\n|---|---:|---:|---|"
        );
        for r in report.references {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                cell(&r.label),
                r.accuracy,
                r.gap,
                r.kind.symbol()
            );
        }
        out.push('\n');
    }
    let provenance = provenance(dir);
    if !provenance.is_empty() {
        let _ = writeln!(out, "## Provenance\n\n{provenance}");
    }
    out
}

/// Where the results came from: the tool, the experiment file, the data's checksums, the
/// runs, the experiment as it ran (empty without a manifest).
pub(super) fn provenance(dir: &Path) -> String {
    let mut out = String::new();
    let Some(m) = manifest::read(dir) else {
        return out;
    };
    let revision = m.tool.git_revision.as_deref().unwrap_or("unknown commit");
    let _ = writeln!(out, "- {} {} ({revision})", m.tool.name, m.tool.version);
    let file = code_span(&m.experiment.file.display().to_string());
    let _ = writeln!(out, "- experiment file: {file}");
    for file in &m.data {
        let _ = writeln!(
            out,
            "- data: {}, {} bytes, SHA-256 `{}`",
            code_span(&file.path.display().to_string()),
            file.bytes,
            file.sha256
        );
    }
    for run in &m.runs {
        let trials = run.trials.map_or(String::new(), |t| {
            format!(
                ": {} ran ({} epochs), {} already done, {} collapsed, {} halved, {} diverged, {} failed",
                t.ran, t.epochs, t.skipped, t.collapsed, t.halved, t.diverged, t.failed
            )
        });
        let revision = run
            .git_revision
            .as_deref()
            .map_or(String::new(), |r| format!(" at {r}"));
        let _ = writeln!(
            out,
            "- `{}`{revision} {} → {}{trials}",
            run.command,
            run.started,
            run.ended.as_deref().unwrap_or("(not finished)")
        );
    }
    let yaml = m.experiment.resolved_yaml.unwrap_or_default();
    let _ = writeln!(
        out,
        "\nThe experiment as it ran:\n\n{}",
        fenced(&yaml, "yaml")
    );
    out
}
