//! Knob figures: how test accuracy and the fairness gap move with a knob the sweep varies.
//! `eta.svg` (η), `step_sizes.svg` (`lr_fair`, `lr_acc`), `position.svg` (the fairness
//! block's position) and `depth.svg` (its layers), each drawn only when the sweep varies its
//! knob. One line per method (and per other setting that varies), at each configuration's
//! epoch under the first single-point selection policy (`last`, `val-best-accuracy`; the
//! last epoch when the file has none): accuracy as the mean over seeds ± 1 std, the gap as
//! the mean with a bar from the best seed to the worst.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{Output, Report};
use crate::analysis::Analysis;
use crate::results::Settings;
use crate::selection::{FairnessMetric, SeedStats};

pub struct Knobs;

/// A knob: its column in the CSVs, its axis title, whether its axis is logarithmic.
struct Knob {
    column: &'static str,
    axis: &'static str,
    log: bool,
    value: fn(&Settings) -> Option<f64>,
}

/// Each figure and the knobs it shows, a column of panels each.
const FIGURES: [(&str, &[Knob]); 4] = [
    (
        "eta.svg",
        &[Knob {
            column: "eta",
            axis: "η (weight of the fairness loss)",
            log: true,
            value: |s| s.eta,
        }],
    ),
    (
        "step_sizes.svg",
        &[
            Knob {
                column: "lr_fair",
                axis: "lr_fair (the follower's step size)",
                log: true,
                value: |s| s.lr_fair,
            },
            Knob {
                column: "lr_acc",
                axis: "lr_acc (the leader's step size)",
                log: true,
                value: |s| Some(s.lr_acc),
            },
        ],
    ),
    (
        "position.svg",
        &[Knob {
            column: "fairness_position",
            axis: "position of the fairness block (p − 1 accuracy layers before it)",
            log: false,
            value: |s| Some(s.fairness_position as f64),
        }],
    ),
    (
        "depth.svg",
        &[Knob {
            column: "fairness_layers",
            axis: "layers of the fairness block",
            log: false,
            value: |s| Some(s.fairness_layers as f64),
        }],
    ),
];

/// One configuration as a knob figure draws it.
#[derive(Clone)]
struct Dot {
    x: f64,
    stats: SeedStats,
}

impl Output for Knobs {
    fn write(&self, report: &Report, dir: &Path, _: &[PathBuf]) -> Result<Vec<PathBuf>> {
        let analysis = report.analysis;
        let (chosen, configurations) = configurations(analysis);
        let mut written = Vec::new();
        for (file, knobs) in FIGURES {
            let path = dir.join(file);
            let panels: Vec<(&Knob, BTreeMap<String, Vec<Dot>>)> = knobs
                .iter()
                .map(|knob| (knob, lines(knob, &configurations)))
                .filter(|(_, lines)| lines.values().any(|dots| dots.len() > 1))
                .collect();
            if panels.is_empty() {
                // Not varied (any more): no figure, and none left from an earlier sweep.
                if path.is_file() {
                    std::fs::remove_file(&path)
                        .with_context(|| format!("cannot remove the stale {}", path.display()))?;
                }
                continue;
            }
            let title = format!(
                "{}: test split, {}; gap: {}",
                report.name,
                chosen,
                analysis.metric.symbol()
            );
            let mut svg = String::new();
            draw(&panels, analysis.metric, &title, &mut svg)
                .map_err(|e| anyhow!("cannot draw {}: {e:#}", path.display()))?;
            crate::files::write_atomically(&path, svg.as_bytes())?;
            written.push(path);
        }
        Ok(written)
    }
}

/// Each configuration's settings and seed statistics at its reported epoch, and which
/// epoch that is, in words. Only methods that train by their own steps: `threshold`'s lines
/// would repeat its base's once per tolerance, and `reductions` has no network to tune.
fn configurations(analysis: &Analysis) -> (String, Vec<(Settings, SeedStats)>) {
    let (chosen, mut configurations) = every_configuration(analysis);
    configurations.retain(|(settings, _)| settings.method.is_stepped());
    (chosen, configurations)
}

fn every_configuration(analysis: &Analysis) -> (String, Vec<(Settings, SeedStats)>) {
    let single = (analysis.selected.iter()).find(|s| s.selection.is_single_point());
    match single {
        Some(selected) => (
            selected.selection.describe(analysis.metric),
            (selected.points.iter())
                .map(|p| (p.settings.clone(), p.summary.test.clone()))
                .collect(),
        ),
        None => (
            "last epoch".into(),
            (analysis.configurations.iter())
                .filter_map(|c| Some((c.settings.clone(), c.curve.last()?.test.clone())))
                .collect(),
        ),
    }
}

/// The knob's lines: configurations grouped by method and every other setting that varies
/// within a method, each line's dots in the knob's order.
fn lines(knob: &Knob, configurations: &[(Settings, SeedStats)]) -> BTreeMap<String, Vec<Dot>> {
    let cells: Vec<Vec<(String, String)>> = configurations.iter().map(|(s, _)| s.cells()).collect();
    let varying: Vec<usize> = (super::varying_columns(&cells).into_iter())
        .filter(|&c| cells[0][c].0 != knob.column)
        .collect();
    let mut lines: BTreeMap<String, Vec<Dot>> = BTreeMap::new();
    for ((settings, stats), row) in configurations.iter().zip(&cells) {
        let Some(x) = (knob.value)(settings).filter(|x| !knob.log || *x > 0.0) else {
            continue;
        };
        let label = super::line_label(row, &varying);
        lines.entry(label).or_default().push(Dot {
            x,
            stats: stats.clone(),
        });
    }
    for dots in lines.values_mut() {
        dots.sort_by(|a, b| a.x.total_cmp(&b.x));
    }
    lines
}

/// A legend of lines in a strip of its own beside the panels, so it covers no line.
pub(super) fn legend_strip(
    strip: &DrawingArea<SVGBackend, Shift>,
    entries: &[(String, RGBAColor)],
) -> Result<()> {
    let draw_error = |e: &dyn std::fmt::Display| anyhow!("{e}");
    for (i, (label, colour)) in entries.iter().enumerate() {
        let y = 40 + 22 * i as i32;
        strip
            .draw(&PathElement::new(
                vec![(8, y), (32, y)],
                colour.stroke_width(2),
            ))
            .map_err(|e| draw_error(&e))?;
        strip
            .draw(&Text::new(label.clone(), (40, y - 7), ("sans-serif", 12)))
            .map_err(|e| draw_error(&e))?;
    }
    Ok(())
}

/// A line's colour: its method's (as in the Pareto figures) when the method has this one
/// line among `labels`, else a palette's by the line's place (labels start with the method).
pub(super) fn colour(labels: &[&String], i: usize) -> RGBAColor {
    let method = |label: &str| {
        label
            .split(' ')
            .next()
            .and_then(crate::train::Method::parse)
    };
    let mine = method(labels[i]);
    let alone = labels.iter().filter(|l| method(l) == mine).count() == 1;
    match mine {
        Some(m) if alone => {
            let (r, g, b) = m.info().colour;
            RGBColor(r, g, b).to_rgba()
        }
        _ => Palette99::pick(i).to_rgba(),
    }
}

fn draw(
    panels: &[(&Knob, BTreeMap<String, Vec<Dot>>)],
    metric: FairnessMetric,
    title: &str,
    svg: &mut String,
) -> Result<()> {
    let draw_error = |e: &dyn std::fmt::Display| anyhow!("{e}");
    const LEGEND: u32 = 300;
    let width = 560 * panels.len() as u32 + LEGEND;
    let root = SVGBackend::with_string(svg, (width, 760)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| draw_error(&e))?;
    let root = root
        .titled(title, ("sans-serif", 18))
        .map_err(|e| draw_error(&e))?;
    // The legend in a strip of its own, so it covers no line.
    let (charts, strip) = root.split_horizontally(width - LEGEND);
    // Every line of any panel, in order: a line's colour is its place here.
    let labels: Vec<&String> = (panels.iter().flat_map(|(_, lines)| lines.keys()))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let entries: Vec<(String, RGBAColor)> = (labels.iter().enumerate())
        .map(|(i, l)| (l.to_string(), colour(&labels, i)))
        .collect();
    legend_strip(&strip, &entries)?;
    let areas = charts.split_evenly((2, panels.len()));
    for (column, (knob, lines)) in panels.iter().enumerate() {
        let accuracy = |d: &Dot| {
            let (m, s) = (d.stats.accuracy_mean, d.stats.accuracy_std);
            (m, m - s, m + s)
        };
        let gap = |d: &Dot| {
            (
                metric.mean(&d.stats),
                metric.best(&d.stats),
                metric.of(&d.stats),
            )
        };
        let axis = format!(
            "{}, test: mean over seeds, bars best → worst seed",
            metric.symbol()
        );
        let accuracy_axis = "accuracy, test: mean ± 1 std";
        panel(
            &areas[column],
            knob,
            lines,
            &labels,
            &accuracy,
            accuracy_axis,
        )?;
        panel(
            &areas[panels.len() + column],
            knob,
            lines,
            &labels,
            &gap,
            &axis,
        )?;
    }
    root.present().map_err(|e| draw_error(&e))?;
    Ok(())
}

/// One panel: a value (with its bar's low and high) of each line's dots against the knob.
fn panel(
    area: &DrawingArea<SVGBackend, Shift>,
    knob: &Knob,
    lines: &BTreeMap<String, Vec<Dot>>,
    labels: &[&String],
    value: &dyn Fn(&Dot) -> (f64, f64, f64),
    y_axis: &str,
) -> Result<()> {
    let draw_error = |e: &dyn std::fmt::Display| anyhow!("{e}");
    let dots = lines.values().flatten();
    let (mut x0, mut x1, mut y0, mut y1) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for d in dots {
        let (_, low, high) = value(d);
        (x0, x1) = (x0.min(d.x), x1.max(d.x));
        (y0, y1) = (y0.min(low), y1.max(high));
    }
    let pad = ((y1 - y0) * 0.08).max(0.002);
    let (y0, y1) = (y0 - pad, y1 + pad);
    let mut builder = ChartBuilder::on(area);
    builder
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(64);
    macro_rules! body {
        ($chart:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .light_line_style(WHITE)
                .x_desc(knob.axis)
                .y_desc(y_axis)
                .y_label_formatter(&|y| format!("{y:.3}"))
                .draw()
                .map_err(|e| draw_error(&e))?;
            for (label, dots) in lines {
                let colour = colour(labels, labels.iter().position(|l| *l == label).unwrap_or(0));
                chart
                    .draw_series(LineSeries::new(
                        dots.iter().map(|d| (d.x, value(d).0)),
                        colour.stroke_width(2),
                    ))
                    .map_err(|e| draw_error(&e))?;
                chart
                    .draw_series(dots.iter().map(|d| {
                        let (_, low, high) = value(d);
                        PathElement::new(vec![(d.x, low), (d.x, high)], colour.stroke_width(1))
                    }))
                    .map_err(|e| draw_error(&e))?;
                chart
                    .draw_series(
                        dots.iter()
                            .map(|d| Circle::new((d.x, value(d).0), 3, colour.filled())),
                    )
                    .map_err(|e| draw_error(&e))?;
            }
        }};
    }
    if knob.log {
        let (x0, x1) = (x0 / 1.5, x1 * 1.5);
        let chart = builder
            .build_cartesian_2d((x0..x1).log_scale(), y0..y1)
            .map_err(|e| draw_error(&e))?;
        body!(chart);
    } else {
        let chart = builder
            .build_cartesian_2d((x0 - 0.5)..(x1 + 0.5), y0..y1)
            .map_err(|e| draw_error(&e))?;
        body!(chart);
    }
    Ok(())
}
