//! `pareto_<selection>.svg`: test accuracy against ΔDP for every selected point, one colour
//! per method, each method's Pareto front drawn as a line, degenerate networks marked with a
//! cross. With several seeds a point is the mean accuracy at the worst seed's ΔDP.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use plotters::prelude::*;

use super::{Output, Report};
use crate::analysis::{Point, reported_metrics};
use crate::pareto::pareto_front;
use crate::selection::FairnessMetric;
use crate::train::Method;

/// `pareto_<selection>.svg` (ΔDP soft) and `pareto_<selection>_hard.svg` (ΔDP hard) for
/// each selection policy, and `pareto_<selection>_eo.svg` when ΔEO selects.
pub struct Pareto;

impl Output for Pareto {
    fn write(&self, report: &Report, dir: &Path, _: &[PathBuf]) -> Result<Vec<PathBuf>> {
        let mut written = Vec::new();
        let selecting = report.analysis.metric;
        for selected in &report.analysis.selected {
            let selection = &selected.selection;
            let title = format!(
                "{}: test split, {}, selected on {}",
                report.name,
                selection.describe(selecting),
                selecting.symbol()
            );
            for metric in reported_metrics(selecting) {
                let suffix = match metric {
                    FairnessMetric::DpSoft => "",
                    FairnessMetric::DpHard => "_hard",
                    FairnessMetric::Eo => "_eo",
                };
                let path = dir.join(format!("pareto_{}{suffix}.svg", selection.file_stem()));
                pareto_svg(&selected.points, metric, &title, &path)?;
                written.push(path);
            }
        }
        // A selection policy no longer in the file leaves no figure behind to mislead.
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let (path, name) = (entry.path(), entry.file_name());
            let name = name.to_string_lossy();
            if name.starts_with("pareto_") && name.ends_with(".svg") && !written.contains(&path) {
                std::fs::remove_file(&path)
                    .with_context(|| format!("cannot remove the stale {}", path.display()))?;
            }
        }
        Ok(written)
    }
}

/// The x axis' title for a metric.
fn axis(metric: FairnessMetric) -> &'static str {
    match metric {
        FairnessMetric::DpSoft => "ΔDP soft (gap in mean predicted probability), test",
        FairnessMetric::DpHard => "ΔDP hard (gap in positive-prediction rate), test",
        FairnessMetric::Eo => "ΔEO (gap in true-positive rate), test",
    }
}

fn colour(method: Method) -> RGBColor {
    let (r, g, b) = method.info().colour;
    RGBColor(r, g, b)
}

/// Draw the trade-off of the selected `points` into an SVG file, whole or not at all.
fn pareto_svg(points: &[Point], metric: FairnessMetric, title: &str, path: &Path) -> Result<()> {
    let mut svg = String::new();
    draw(points, metric, title, &mut svg)
        .map_err(|e| anyhow!("cannot draw {}: {e:#}", path.display()))?;
    crate::files::write_atomically(path, svg.as_bytes())
}

fn draw(points: &[Point], metric: FairnessMetric, title: &str, svg: &mut String) -> Result<()> {
    let points: Vec<(&Point, f64, f64)> = points
        .iter()
        .map(|point| {
            (
                point,
                metric.of(&point.summary.test),
                point.summary.test.accuracy_mean,
            )
        })
        .collect();
    let max_dp = points.iter().map(|p| p.1).fold(0.01, f64::max);
    let (min_acc, max_acc) = points
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
            (lo.min(p.2), hi.max(p.2))
        });
    let (min_acc, max_acc) = if points.is_empty() {
        (0.0, 1.0)
    } else {
        (min_acc, max_acc)
    };
    let pad = ((max_acc - min_acc) * 0.08).max(0.005);

    let draw_error = |e: &dyn std::fmt::Display| anyhow!("{e}");
    let root = SVGBackend::with_string(svg, (960, 640)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| draw_error(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..max_dp * 1.1, (min_acc - pad)..(max_acc + pad))
        .map_err(|e| draw_error(&e))?;
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .x_desc(axis(metric))
        .y_desc("accuracy, test")
        .x_label_formatter(&|x| format!("{x:.3}"))
        .y_label_formatter(&|y| format!("{y:.3}"))
        .draw()
        .map_err(|e| draw_error(&e))?;

    let method = |p: &(&Point, f64, f64)| p.0.settings.method;
    let mut methods: Vec<Method> = points.iter().map(method).collect();
    // By name, as before methods were typed, so the legend's order is unchanged.
    methods.sort_unstable_by_key(|m| m.name());
    methods.dedup();
    for name in methods {
        let colour = colour(name);
        let mine: Vec<&(&Point, f64, f64)> = points.iter().filter(|p| method(p) == name).collect();
        let front = pareto_front(&mine.iter().map(|p| (p.1, p.2)).collect::<Vec<_>>());
        chart
            .draw_series(LineSeries::new(
                front.iter().map(|&i| (mine[i].1, mine[i].2)),
                colour.stroke_width(2),
            ))
            .map_err(|e| draw_error(&e))?
            .label(format!("{name} (line: Pareto front)"))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
        chart
            .draw_series(mine.iter().map(|p| {
                let at = (p.1, p.2);
                if p.0.summary.test.degenerate {
                    Cross::new(at, 6, colour.stroke_width(2)).into_dyn()
                } else {
                    Circle::new(at, 4, colour.filled()).into_dyn()
                }
            }))
            .map_err(|e| draw_error(&e))?;
        // Name the front's points by η, the knob a reader wants to read off; once per run of
        // points with the same η (epochs of one configuration), to keep labels apart.
        let eta = |i: usize| mine[i].0.settings.eta;
        let first_of_run = |k: usize| k == 0 || eta(front[k]) != eta(front[k - 1]);
        chart
            .draw_series(
                (0..front.len())
                    .filter(|&k| first_of_run(k))
                    .filter_map(|k| {
                        let i = front[k];
                        let eta = eta(i)?;
                        // Offset a few pixels up and right, so the label does not cover its dot.
                        Some(
                            EmptyElement::at((mine[i].1, mine[i].2))
                                + Text::new(
                                    format!("η={eta}"),
                                    (6, -16),
                                    ("sans-serif", 12).into_font().color(&colour),
                                ),
                        )
                    }),
            )
            .map_err(|e| draw_error(&e))?;
    }
    if points.iter().any(|p| p.0.summary.test.degenerate) {
        chart
            .draw_series(std::iter::once(Cross::new(
                (0.0, min_acc - pad),
                0,
                BLACK.stroke_width(2),
            )))
            .map_err(|e| draw_error(&e))?
            .label("× degenerate: predicts (nearly) the same for everyone")
            .legend(|(x, y)| Cross::new((x + 10, y), 6, BLACK.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(|e| draw_error(&e))?;
    root.present().map_err(|e| draw_error(&e))?;
    Ok(())
}
