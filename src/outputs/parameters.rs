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
pub struct ArchitectureFront {
    pub method: Method,
    pub accuracy_layers: usize,
    pub width: usize,
    /// The accuracy player's weights and biases (the fairness block's aside).
    pub parameters: usize,
    pub aopac: f64,
}

/// Each method's AOPAC per architecture, under `analysis`' first multi-point policy (none:
/// no fronts), and that policy in words. Methods trained by their own steps only.
pub fn architecture_fronts(
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
    const LEGEND: u32 = 260;
    let (width, height) = (1000, 620);
    let root = SVGBackend::with_string(svg, (width, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| draw_error(&e))?;
    let root = (root.titled(title, ("sans-serif", super::caption_size(title, width, 18))))
        .map_err(|e| draw_error(&e))?;
    let (chart_area, strip) = root.split_horizontally(width - LEGEND);
    // A line per method and number of accuracy layers, by parameter count.
    let mut lines: BTreeMap<String, Vec<&ArchitectureFront>> = BTreeMap::new();
    for front in fronts {
        let layers = match front.accuracy_layers {
            1 => "1 accuracy layer".to_string(),
            n => format!("{n} accuracy layers"),
        };
        lines
            .entry(format!("{} {layers}", front.method))
            .or_default()
            .push(front);
    }
    let labels: Vec<&String> = lines.keys().collect();
    let entries: Vec<(String, RGBAColor)> = (labels.iter().enumerate())
        .map(|(i, l)| (l.to_string(), super::knobs::colour(&labels, i)))
        .collect();
    super::knobs::legend_strip(&strip, &entries)?;
    let (x0, x1) = fronts.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), f| {
        let x = f.parameters as f64;
        (lo.min(x), hi.max(x))
    });
    let y1 = fronts.iter().map(|f| f.aopac).fold(0.0, f64::max);
    let mut chart = ChartBuilder::on(&chart_area)
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d((x0 / 1.5..x1 * 1.5).log_scale(), 0.0..(y1 * 1.1).max(0.01))
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
    for (i, (_, points)) in lines.iter().enumerate() {
        let colour = super::knobs::colour(&labels, i);
        let dots: Vec<(f64, f64)> = (points.iter())
            .map(|f| (f.parameters as f64, f.aopac))
            .collect();
        chart
            .draw_series(LineSeries::new(dots.clone(), colour.stroke_width(2)))
            .map_err(|e| draw_error(&e))?;
        chart
            .draw_series(dots.iter().map(|&xy| Circle::new(xy, 4, colour.filled())))
            .map_err(|e| draw_error(&e))?;
        // Each point says its width and AOPAC (methods.csv's, with `fronts_by`).
        chart
            .draw_series(points.iter().map(|f| {
                Text::new(
                    format!("w{} {:.3}", f.width, f.aopac),
                    (f.parameters as f64, f.aopac),
                    ("sans-serif", 11).into_font().color(&colour),
                )
            }))
            .map_err(|e| draw_error(&e))?;
    }
    root.present().map_err(|e| draw_error(&e))?;
    Ok(())
}
