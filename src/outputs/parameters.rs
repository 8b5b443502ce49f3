//! `parameters.svg`: each architecture's AOPAC against the accuracy player's parameter count,
//! drawn when the sweep varies the accuracy layers' width or number (the paper's theorem
//! assumes an over-parameterised accuracy player). One line per method and number of
//! accuracy layers; a point is the front of that architecture's configurations (every η and
//! seed) under the first policy that selects several epochs, as methods.csv's AOPAC is.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use plotters::prelude::*;

use super::{Output, Report};
use crate::analysis::Analysis;
use crate::model::Architecture;
use crate::pareto::aopac;
use crate::results::Settings;
use crate::train::Method;

pub struct Parameters;

const FILE: &str = "parameters.svg";

/// A method's architecture: (method, accuracy layers, accuracy parameters, width), in the
/// order of the figure's lines and their points.
type Part = (Method, usize, usize, usize);

/// One architecture's front of one method.
#[derive(Debug, Clone, PartialEq)]
struct ArchitectureFront {
    method: Method,
    accuracy_layers: usize,
    width: usize,
    /// The accuracy player's weights and biases (the fairness block's aside).
    parameters: usize,
    aopac: f64,
}

/// Each method's AOPAC per architecture, under `analysis`' first multi-point policy (none:
/// no fronts), and that policy in words. Methods trained by their own steps only.
fn architecture_fronts(
    analysis: &Analysis,
    n_inputs: usize,
) -> Option<(String, Vec<ArchitectureFront>)> {
    let selected = (analysis.selected.iter()).find(|s| !s.selection.is_single_point())?;
    let metric = analysis.metric;
    let architecture = |s: &Settings| Architecture {
        accuracy_layers: s.accuracy_layers,
        fairness_layers: s.fairness_layers,
        fairness_position: s.fairness_position,
        width: Some(s.width),
    };
    let mut fronts: BTreeMap<Part, Vec<(f64, f64)>> = BTreeMap::new();
    for point in selected
        .points
        .iter()
        .filter(|p| p.settings.method.is_stepped())
    {
        let s = &point.settings;
        let parameters = architecture(s).accuracy_parameters(n_inputs);
        let key = (s.method, s.accuracy_layers, parameters, s.width);
        fronts
            .entry(key)
            .or_default()
            .push(point.test_trade_off(metric));
    }
    let baseline = &analysis.baseline;
    let fronts = (fronts.into_iter())
        .map(
            |((method, accuracy_layers, parameters, width), points)| ArchitectureFront {
                method,
                accuracy_layers,
                width,
                parameters,
                aopac: aopac(
                    &points,
                    baseline.majority_accuracy,
                    baseline.max_gap(metric),
                ),
            },
        )
        .collect();
    Some((selected.selection.describe(metric), fronts))
}

impl Output for Parameters {
    fn write(&self, report: &Report, dir: &Path, _: &[PathBuf]) -> Result<Vec<PathBuf>> {
        let path = dir.join(FILE);
        let fronts = architecture_fronts(report.analysis, report.n_inputs).filter(|(_, fronts)| {
            varies(fronts, |f| f.width) || varies(fronts, |f| f.accuracy_layers)
        });
        let Some((policy, fronts)) = fronts else {
            // Not varied (any more): no figure, and none left from an earlier sweep.
            if path.is_file() {
                std::fs::remove_file(&path)
                    .with_context(|| format!("cannot remove the stale {}", path.display()))?;
            }
            return Ok(Vec::new());
        };
        let title = format!(
            "{}: AOPAC on {} (test split, {}) against the accuracy player's size",
            report.name,
            report.analysis.metric.symbol(),
            policy
        );
        let mut svg = String::new();
        draw(&fronts, &title, &mut svg)
            .map_err(|e| anyhow!("cannot draw {}: {e:#}", path.display()))?;
        crate::files::write_atomically(&path, svg.as_bytes())?;
        Ok(vec![path])
    }
}

fn varies(fronts: &[ArchitectureFront], value: fn(&ArchitectureFront) -> usize) -> bool {
    fronts
        .iter()
        .any(|f| (fronts.iter()).any(|g| g.method == f.method && value(g) != value(f)))
}

fn draw(fronts: &[ArchitectureFront], title: &str, svg: &mut String) -> Result<()> {
    let draw_error = |e: &dyn std::fmt::Display| anyhow!("{e}");
    const LEGEND: u32 = 280;
    let (width, height) = (1100, 640);
    let root = SVGBackend::with_string(svg, (width, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| draw_error(&e))?;
    let root = (root.titled(title, ("sans-serif", super::caption_size(title, width, 18))))
        .map_err(|e| draw_error(&e))?;
    let (chart_area, strip) = root.split_horizontally(width - LEGEND);
    // A line per method (its colour, as in every figure) and number of accuracy layers (its
    // marker), by parameter count.
    let mut lines: BTreeMap<(Method, usize), Vec<&ArchitectureFront>> = BTreeMap::new();
    for front in fronts {
        (lines
            .entry((front.method, front.accuracy_layers))
            .or_default())
        .push(front);
    }
    let layer_counts: Vec<usize> = {
        let mut counts: Vec<usize> = lines.keys().map(|&(_, layers)| layers).collect();
        counts.sort_unstable();
        counts.dedup();
        counts
    };
    let shape = |layers: usize| layer_counts.iter().position(|&n| n == layers).unwrap_or(0) % 3;
    let colour = |method: Method| {
        let (r, g, b) = method.info().colour;
        RGBColor(r, g, b)
    };
    // The legend in a strip of its own: each line's colour and marker.
    for (i, &(method, layers)) in lines.keys().enumerate() {
        let y = 40 + 24 * i as i32;
        let c = colour(method);
        let label = match layers {
            1 => format!("{method}, 1 accuracy layer"),
            n => format!("{method}, {n} accuracy layers"),
        };
        (strip.draw(&PathElement::new(vec![(8, y), (40, y)], c.stroke_width(2))))
            .and_then(|_| marker(&strip, shape(layers), (24, y), c))
            .and_then(|_| strip.draw(&Text::new(label, (48, y - 7), ("sans-serif", 12))))
            .map_err(|e| draw_error(&e))?;
    }
    let (x0, x1) = fronts.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), f| {
        let x = f.parameters as f64;
        (lo.min(x), hi.max(x))
    });
    let (y0, y1) = (fronts.iter()).fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), f| {
        (lo.min(f.aopac), hi.max(f.aopac))
    });
    let pad = ((y1 - y0) * 0.1).max(0.005);
    let mut chart = ChartBuilder::on(&chart_area)
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d((x0 / 1.5..x1 * 2.5).log_scale(), y0 - pad..y1 + pad)
        .map_err(|e| draw_error(&e))?;
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .x_desc("accuracy player's parameters (every layer outside the fairness block), log scale")
        .y_desc("AOPAC (area of the front over the constant predictor)")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.3}"))
        .draw()
        .map_err(|e| draw_error(&e))?;
    for (&(method, layers), points) in &lines {
        let c = colour(method);
        let dots: Vec<(f64, f64)> = (points.iter())
            .map(|f| (f.parameters as f64, f.aopac))
            .collect();
        chart
            .draw_series(LineSeries::new(dots.clone(), c.stroke_width(2)))
            .map_err(|e| draw_error(&e))?;
        // In pixels: markers and labels beside the points.
        let area = chart.plotting_area();
        let pixels = area.strip_coord_spec();
        for (f, &xy) in points.iter().zip(&dots) {
            let at = area.map_coordinate(&xy);
            let at = (
                at.0 - pixels.get_base_pixel().0,
                at.1 - pixels.get_base_pixel().1,
            );
            // Each point says its width and AOPAC (methods.csv's, with `fronts_by`).
            let label = format!("w{} {:.3}", f.width, f.aopac);
            let font = ("sans-serif", 10).into_font().color(&c);
            marker(&pixels, shape(layers), at, c)
                .and_then(|_| pixels.draw(&Text::new(label, (at.0 + 7, at.1 - 5), font)))
                .map_err(|e| draw_error(&e))?;
        }
    }
    root.present().map_err(|e| draw_error(&e))?;
    Ok(())
}

/// A line's marker in pixels: a circle, a triangle or a square by `shape`.
fn marker<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    shape: usize,
    at: (i32, i32),
    colour: RGBColor,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let style = colour.filled();
    match shape {
        0 => area.draw(&Circle::new(at, 5, style)),
        1 => area.draw(&TriangleMarker::new(at, 7, style)),
        _ => area.draw(&Rectangle::new(
            [(at.0 - 5, at.1 - 5), (at.0 + 5, at.1 + 5)],
            style,
        )),
    }
}
