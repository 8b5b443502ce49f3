//! `curves.svg`: epoch by epoch, the training loss (mean BCE of the leader's minibatches) and
//! the validation gap of every configuration at one η (`curves_eta:`, else the middle one of
//! the η values every method that reads it was run at), and of those that ignore η, mean over seeds with a band
//! from the lowest seed to the highest: the paper's bilevel-versus-Lagrangian loss figure.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{Output, Report};
use crate::analysis::Configuration;
use crate::selection::{EpochSummary, FairnessMetric};

pub struct Curves;

const FILE: &str = "curves.svg";

impl Output for Curves {
    fn write(&self, report: &Report, dir: &Path, _: &[PathBuf]) -> Result<Vec<PathBuf>> {
        let path = dir.join(FILE);
        // Methods trained by their own steps: `threshold`'s training loss is its base's, and
        // `reductions` has one point, no curve.
        let configurations: Vec<Configuration> = (report.analysis.configurations.iter())
            .filter(|c| c.settings.method.is_stepped())
            .cloned()
            .collect();
        let configurations = &configurations;
        let eta = report.curves_eta.or_else(|| common_eta(configurations));
        let chosen: Vec<&Configuration> = configurations
            .iter()
            .filter(|c| c.settings.eta.is_none() || c.settings.eta == eta)
            .filter(|c| c.curve.len() > 1)
            .collect();
        // Worth a figure when a method that reads η is there, or none does.
        if chosen.is_empty()
            || (eta.is_none() && configurations.iter().any(|c| c.settings.eta.is_some()))
        {
            if path.is_file() {
                std::fs::remove_file(&path)
                    .with_context(|| format!("cannot remove the stale {}", path.display()))?;
            }
            return Ok(Vec::new());
        }
        let metric = report.analysis.metric;
        let title = match eta {
            Some(eta) => format!(
                "{}: training loss and validation {} by epoch, η = {eta}",
                report.name,
                metric.symbol()
            ),
            None => format!(
                "{}: training loss and validation {} by epoch",
                report.name,
                metric.symbol()
            ),
        };
        // Named by what tells a method's chosen configurations apart.
        let cells: Vec<Vec<(String, String)>> = chosen.iter().map(|c| c.settings.cells()).collect();
        let varying = super::varying_columns(&cells);
        let labels: Vec<String> = cells
            .iter()
            .map(|row| super::line_label(row, &varying))
            .collect();
        let named: Vec<&String> = labels.iter().collect();
        let lines: Vec<Line> = (chosen.iter().zip(&labels).enumerate())
            .map(|(i, (c, label))| Line {
                label: label.clone(),
                colour: super::knobs::colour(&named, i),
                curve: &c.curve,
            })
            .collect();
        let mut svg = String::new();
        draw(&lines, metric, &title, &mut svg)
            .map_err(|e| anyhow!("cannot draw {}: {e:#}", path.display()))?;
        crate::files::write_atomically(&path, svg.as_bytes())?;
        Ok(vec![path])
    }
}

/// One configuration's curve as drawn.
struct Line<'a> {
    label: String,
    colour: RGBAColor,
    curve: &'a [EpochSummary],
}

/// The middle one (the lower of two) of the η values every method reading η was run at: the
/// ends of a sweep are often a network that ignores fairness and one that has collapsed.
fn common_eta(configurations: &[Configuration]) -> Option<f64> {
    let with_eta: Vec<&Configuration> = (configurations.iter())
        .filter(|c| c.settings.eta.is_some())
        .collect();
    let mut methods: Vec<_> = with_eta.iter().map(|c| c.settings.method).collect();
    methods.dedup();
    let ran_at =
        |m, eta| (with_eta.iter()).any(|c| c.settings.method == m && c.settings.eta == Some(eta));
    let mut common: Vec<f64> = (with_eta.iter().filter_map(|c| c.settings.eta))
        .filter(|&eta| methods.iter().all(|&m| ran_at(m, eta)))
        .collect();
    common.sort_by(f64::total_cmp);
    common.dedup();
    common.get(common.len().saturating_sub(1) / 2).copied()
}

fn draw(lines: &[Line], metric: FairnessMetric, title: &str, svg: &mut String) -> Result<()> {
    let draw_error = |e: &dyn std::fmt::Display| anyhow!("{e}");
    const LEGEND: u32 = 300;
    let root = SVGBackend::with_string(svg, (900 + LEGEND, 760)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| draw_error(&e))?;
    let root = root
        .titled(title, ("sans-serif", 18))
        .map_err(|e| draw_error(&e))?;
    let (charts, strip) = root.split_horizontally(900);
    let entries: Vec<(String, RGBAColor)> =
        lines.iter().map(|l| (l.label.clone(), l.colour)).collect();
    super::knobs::legend_strip(&strip, &entries)?;
    let areas = charts.split_evenly((2, 1));
    let loss = |e: &EpochSummary| e.train_bce;
    let gap = |e: &EpochSummary| {
        let v = &e.validation;
        (metric.mean(v), metric.best(v), metric.of(v))
    };
    let gap_axis = format!(
        "{}, validation: mean, band lowest → highest seed",
        metric.symbol()
    );
    panel(
        &areas[0],
        lines,
        &loss,
        "training loss (BCE of the leader's minibatches)",
    )?;
    panel(&areas[1], lines, &gap, &gap_axis)?;
    root.present().map_err(|e| draw_error(&e))?;
    Ok(())
}

/// One panel: each line's (mean, low, high) by epoch, the band between low and high shaded.
fn panel(
    area: &DrawingArea<SVGBackend, Shift>,
    lines: &[Line],
    value: &dyn Fn(&EpochSummary) -> (f64, f64, f64),
    y_axis: &str,
) -> Result<()> {
    let draw_error = |e: &dyn std::fmt::Display| anyhow!("{e}");
    let finite = |v: f64| v.is_finite();
    let all = lines.iter().flat_map(|line| line.curve.iter().map(value));
    let (mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY);
    for (_, low, high) in all.filter(|v| finite(v.1) && finite(v.2)) {
        (y0, y1) = (y0.min(low), y1.max(high));
    }
    let recorded = y0.is_finite();
    if !recorded {
        (y0, y1) = (0.0, 1.0);
    }
    let pad = ((y1 - y0) * 0.06).max(1e-3);
    let epochs = lines.iter().map(|line| line.curve.len()).max().unwrap_or(1) as f64;
    let mut chart = ChartBuilder::on(area)
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(1.0..epochs.max(2.0), (y0 - pad)..(y1 + pad))
        .map_err(|e| draw_error(&e))?;
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .x_desc("epoch")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_desc(y_axis)
        .y_label_formatter(&|y| format!("{y:.3}"))
        .draw()
        .map_err(|e| draw_error(&e))?;
    if !recorded {
        let note = "not recorded: these trials ran before the tool kept the training loss (--force runs them again)";
        let at = ((1.0 + epochs.max(2.0)) / 2.0, 0.5);
        chart
            .draw_series(std::iter::once(
                EmptyElement::at(at) + Text::new(note, (-300, 0), ("sans-serif", 13)),
            ))
            .map_err(|e| draw_error(&e))?;
    }
    for line in lines {
        let colour = line.colour;
        let points: Vec<(f64, (f64, f64, f64))> = (line.curve.iter())
            .map(|e| (e.epoch as f64, value(e)))
            .filter(|(_, v)| finite(v.0) && finite(v.1) && finite(v.2))
            .collect();
        let band: Vec<(f64, f64)> = (points.iter().map(|(x, v)| (*x, v.2)))
            .chain(points.iter().rev().map(|(x, v)| (*x, v.1)))
            .collect();
        chart
            .draw_series(std::iter::once(Polygon::new(
                band,
                colour.mix(0.15).filled(),
            )))
            .map_err(|e| draw_error(&e))?;
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|(x, v)| (*x, v.0)),
                colour.stroke_width(2),
            ))
            .map_err(|e| draw_error(&e))?;
    }
    Ok(())
}
