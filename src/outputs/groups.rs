//! `groups.svg`, for sensitive attributes of three groups or more (Health has nine): each
//! group's positive-prediction rate on the test split (mean over seeds) at every point on
//! each method's Pareto front, a line per point across the groups. A fair point is a flat
//! line; the gap between its highest and lowest group is its ΔDP hard.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use plotters::prelude::*;

use super::{Output, Report};
use crate::analysis::Point;
use crate::pareto::pareto_front;
use crate::train::Method;

pub struct Groups;

const FILE: &str = "groups.svg";

impl Output for Groups {
    fn write(&self, report: &Report, dir: &Path, _: &[PathBuf]) -> Result<Vec<PathBuf>> {
        let path = dir.join(FILE);
        let analysis = report.analysis;
        // The first single-point policy's points, else the first policy's.
        let selected = (analysis
            .selected
            .iter()
            .find(|s| s.selection.is_single_point()))
        .or(analysis.selected.first());
        let (Some(selected), true) = (selected, report.group_names.len() >= 3) else {
            if path.is_file() {
                std::fs::remove_file(&path)
                    .with_context(|| format!("cannot remove the stale {}", path.display()))?;
            }
            return Ok(Vec::new());
        };
        let metric = analysis.metric;
        let mut methods: Vec<Method> = selected.points.iter().map(|p| p.settings.method).collect();
        methods.sort_unstable_by_key(|m| m.name());
        methods.dedup();
        let fronts: Vec<(Method, Vec<&Point>)> = methods
            .into_iter()
            .map(|method| {
                let mine: Vec<&Point> = (selected.points.iter())
                    .filter(|p| p.settings.method == method)
                    .collect();
                let xy: Vec<(f64, f64)> = mine.iter().map(|p| p.test_trade_off(metric)).collect();
                (
                    method,
                    pareto_front(&xy).into_iter().map(|i| mine[i]).collect(),
                )
            })
            .collect();
        let title = format!(
            "{}: positive rate per group, test; each method's front ({}, on {})",
            report.name,
            selected.selection.describe(metric),
            metric.symbol()
        );
        let mut svg = String::new();
        draw(&fronts, report.group_names, &title, &mut svg)
            .map_err(|e| anyhow!("cannot draw {}: {e:#}", path.display()))?;
        crate::files::write_atomically(&path, svg.as_bytes())?;
        Ok(vec![path])
    }
}

fn draw(
    fronts: &[(Method, Vec<&Point>)],
    groups: &[String],
    title: &str,
    svg: &mut String,
) -> Result<()> {
    let draw_error = |e: &dyn std::fmt::Display| anyhow!("{e}");
    let rates = |p: &Point| p.summary.test.group_positive_rates_mean.clone();
    let top = (fronts
        .iter()
        .flat_map(|(_, points)| points.iter().flat_map(|p| rates(p))))
    .filter(|r| r.is_finite())
    .fold(0.05, f64::max);
    let root = SVGBackend::with_string(svg, (960, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| draw_error(&e))?;
    let n = groups.len();
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", super::caption_size(title, 960, 18)))
        .margin(20)
        .x_label_area_size(60)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.5..(n as f64 - 0.5), 0.0..top * 1.1)
        .map_err(|e| draw_error(&e))?;
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .x_labels(n)
        .x_label_formatter(&|x| {
            let i = x.round();
            match (i - x).abs() < 1e-6 && i >= 0.0 && (i as usize) < n {
                true => groups[i as usize].clone(),
                false => String::new(),
            }
        })
        .x_desc("sensitive group")
        .y_desc("share predicted positive, test (mean over seeds)")
        .y_label_formatter(&|y| format!("{y:.2}"))
        .draw()
        .map_err(|e| draw_error(&e))?;
    for (method, points) in fronts {
        let (r, g, b) = method.info().colour;
        let colour = RGBColor(r, g, b);
        for (k, point) in points.iter().enumerate() {
            let line: Vec<(f64, f64)> = (rates(point).into_iter().enumerate())
                .filter(|(_, rate)| rate.is_finite())
                .map(|(i, rate)| (i as f64, rate))
                .collect();
            let series = chart
                .draw_series(LineSeries::new(
                    line.clone(),
                    colour.mix(0.7).stroke_width(2),
                ))
                .map_err(|e| draw_error(&e))?;
            if k == 0 {
                let count = match points.len() {
                    1 => "1 front point".to_string(),
                    n => format!("{n} front points"),
                };
                series
                    .label(format!("{method}: {count}"))
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                    });
            }
            chart
                .draw_series(line.iter().map(|&at| Circle::new(at, 3, colour.filled())))
                .map_err(|e| draw_error(&e))?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(|e| draw_error(&e))?;
    root.present().map_err(|e| draw_error(&e))?;
    Ok(())
}
