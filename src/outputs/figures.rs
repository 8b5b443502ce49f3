//! `pareto_<selection>.svg`: test accuracy against a fairness gap for every selected point.
//! Each method has a colour and a marker (so the figure reads without colour too), its front
//! as a staircase (the best accuracy at each gap) and its AOPAC in the legend; points off the
//! front are lighter; degenerate networks are crosses. With several seeds a point is the
//! mean accuracy at the worst seed's gap, and front points carry error bars: accuracy ± one
//! standard deviation, the gap from the best seed's to the worst's. The majority class's
//! accuracy is a dashed guide. Labels (η) that would overlap another are left out.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use plotters::prelude::*;

use super::{Output, Report};
use crate::analysis::{Point, Selected, reported_metrics};
use crate::config::reference::ReferencePoint;
use crate::pareto::pareto_front;
use crate::selection::{FairnessMetric, Selection};
use crate::train::Method;
use crate::train::methods::Marker;

/// `pareto_<selection>.svg` (ΔDP soft) and `pareto_<selection>_hard.svg` (ΔDP hard) for
/// each selection policy, and `pareto_<selection>_eo.svg` when ΔEO selects.
pub struct Pareto;

/// A policy's front on a metric's axis: `pareto_val-pareto_hard.svg`.
pub(super) fn file_name(selection: &Selection, metric: FairnessMetric) -> String {
    let suffix = match metric {
        FairnessMetric::DpSoft => "",
        FairnessMetric::DpHard => "_hard",
        FairnessMetric::Eo => "_eo",
        FairnessMetric::EqualizedOdds => "_equalized_odds",
    };
    format!("pareto_{}{suffix}.svg", selection.file_stem())
}

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
                let path = dir.join(file_name(selection, metric));
                let figure = Figure {
                    selected,
                    metric,
                    majority_accuracy: report.analysis.baseline.majority_accuracy,
                    references: report.references,
                    title: &title,
                };
                figure.write(&path)?;
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
        FairnessMetric::EqualizedOdds => {
            "ΔEOdds (larger of the gaps in true- and false-positive rate), test"
        }
    }
}

fn colour(method: Method) -> RGBColor {
    let (r, g, b) = method.info().colour;
    RGBColor(r, g, b)
}

/// One Pareto figure: a selection policy's points on one gap's axis.
struct Figure<'a> {
    selected: &'a Selected,
    metric: FairnessMetric,
    majority_accuracy: f64,
    /// External results; those on this figure's gap are drawn hollow.
    references: &'a [ReferencePoint],
    title: &'a str,
}

/// A selected point as drawn.
struct Drawn<'a> {
    point: &'a Point,
    /// The worst seed's gap, the mean accuracy.
    x: f64,
    y: f64,
    on_front: bool,
}

/// Label text's size in pixels at 12 px sans-serif, generous: a label is kept only where
/// this box overlaps no other label's.
fn label_box(text: &str, (x, y): (i32, i32)) -> [i32; 4] {
    let width = 7 * text.chars().count() as i32;
    [x, y - 12, x + width, y + 2]
}

fn overlaps(a: &[i32; 4], b: &[i32; 4]) -> bool {
    a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]
}

impl Figure<'_> {
    /// Draw into an SVG file, whole or not at all.
    fn write(&self, path: &Path) -> Result<()> {
        let mut svg = String::new();
        self.draw(&mut svg)
            .map_err(|e| anyhow!("cannot draw {}: {e:#}", path.display()))?;
        crate::files::write_atomically(path, svg.as_bytes())
    }

    fn draw(&self, svg: &mut String) -> Result<()> {
        let metric = self.metric;
        let points = &self.selected.points;
        let mut methods: Vec<Method> = points.iter().map(|p| p.settings.method).collect();
        // By name, as before methods were typed, so the legend's order is unchanged.
        methods.sort_unstable_by_key(|m| m.name());
        methods.dedup();
        let mut drawn: Vec<Drawn> = Vec::new();
        for &method in &methods {
            let mine: Vec<&Point> = points
                .iter()
                .filter(|p| p.settings.method == method)
                .collect();
            let xy: Vec<(f64, f64)> = mine.iter().map(|p| p.test_trade_off(metric)).collect();
            let front = pareto_front(&xy);
            for (i, point) in mine.into_iter().enumerate() {
                drawn.push(Drawn {
                    point,
                    x: xy[i].0,
                    y: xy[i].1,
                    on_front: front.contains(&i),
                });
            }
        }
        let seeds = points.iter().map(|p| p.summary.seeds).max().unwrap_or(1);
        let std = |d: &Drawn| d.point.summary.test.accuracy_std;
        let references: Vec<&ReferencePoint> = self
            .references
            .iter()
            .filter(|r| r.kind == metric)
            .collect();
        // Axes that hold every point, its error bars, the references and the majority guide.
        let mut max_x = drawn.iter().map(|d| d.x).fold(0.01, f64::max);
        let (mut min_y, mut max_y) = (self.majority_accuracy, self.majority_accuracy);
        for d in &drawn {
            let bar = if d.on_front { std(d) } else { 0.0 };
            min_y = min_y.min(d.y - bar);
            max_y = max_y.max(d.y + bar);
        }
        for r in &references {
            let bar = r.accuracy_std.unwrap_or(0.0);
            max_x = max_x.max(r.gap_range.map_or(r.gap, |(_, high)| high.max(r.gap)));
            min_y = min_y.min(r.accuracy - bar);
            max_y = max_y.max(r.accuracy + bar);
        }
        let pad = ((max_y - min_y) * 0.08).max(0.005);

        let draw_error = |e: &dyn std::fmt::Display| anyhow!("{e}");
        let root = SVGBackend::with_string(svg, (960, 640)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| draw_error(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                self.title,
                ("sans-serif", super::caption_size(self.title, 960, 20)),
            )
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..max_x * 1.1, (min_y - pad)..(max_y + pad))
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

        let majority = self.majority_accuracy;
        let grey = RGBColor(120, 120, 120);
        chart
            .draw_series(DashedLineSeries::new(
                [(0.0, majority), (max_x * 1.1, majority)],
                6,
                4,
                grey.stroke_width(1),
            ))
            .map_err(|e| draw_error(&e))?
            .label(format!("majority class, accuracy {majority:.4}"))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], grey.stroke_width(1))
            });

        let mut labels: Vec<[i32; 4]> = Vec::new();
        let mut texts = Vec::new();
        for &method in &methods {
            let colour = colour(method);
            let mine: Vec<&Drawn> = drawn
                .iter()
                .filter(|d| d.point.settings.method == method)
                .collect();
            let mut front: Vec<&Drawn> = mine.iter().copied().filter(|d| d.on_front).collect();
            front.sort_by(|a, b| a.x.total_cmp(&b.x));
            // The staircase: each front point's accuracy holds up to the next one's gap.
            let mut stairs = Vec::new();
            for (k, d) in front.iter().enumerate() {
                if k > 0 {
                    stairs.push((d.x, front[k - 1].y));
                }
                stairs.push((d.x, d.y));
            }
            let aopac = self
                .selected
                .methods
                .iter()
                .find(|m| m.method == method)
                .map_or(f64::NAN, |m| m.on(metric).aopac);
            let marker = method.info().marker;
            chart
                .draw_series(LineSeries::new(stairs, colour.stroke_width(2)))
                .map_err(|e| draw_error(&e))?
                .label(format!("{method}: AOPAC {aopac:.3}"))
                .legend(move |(x, y)| {
                    EmptyElement::at((x + 10, y))
                        + PathElement::new(vec![(-10, 0), (10, 0)], colour.stroke_width(2))
                        + shape(marker, (0, 0), colour.filled())
                });
            if seeds > 1 {
                // Error bars on the front: accuracy ± 1 std; the gap from best to worst seed.
                let bars = front.iter().flat_map(|d| {
                    let best = metric.best(&d.point.summary.test);
                    let style = colour.mix(0.6).stroke_width(1);
                    [
                        PathElement::new(vec![(d.x, d.y - std(d)), (d.x, d.y + std(d))], style),
                        PathElement::new(vec![(best, d.y), (d.x, d.y)], style),
                    ]
                });
                chart.draw_series(bars).map_err(|e| draw_error(&e))?;
            }
            // Off the front first, lighter, so the front is drawn over them.
            let mut order: Vec<&Drawn> = mine.clone();
            order.sort_by_key(|d| d.on_front);
            chart
                .draw_series(order.iter().map(|d| {
                    let style = match d.on_front {
                        true => colour.filled(),
                        false => colour.mix(0.3).filled(),
                    };
                    let at = (d.x, d.y);
                    match d.point.summary.test.degenerate {
                        true => {
                            EmptyElement::at(at)
                                + Cross::new((0, 0), 5, style.stroke_width(2)).into_dyn()
                        }
                        false => EmptyElement::at(at) + shape(marker, (0, 0), style),
                    }
                }))
                .map_err(|e| draw_error(&e))?;
            // Name the front's points by η, the knob a reader wants to read off; once per run
            // of points with the same η, and only where the label overlaps no other.
            for (k, d) in front.iter().enumerate() {
                let Some(eta) = d.point.settings.eta else {
                    continue;
                };
                if k > 0 && front[k - 1].point.settings.eta == Some(eta) {
                    continue;
                }
                let text = format!("η={eta}");
                let (px, py) = chart.backend_coord(&(d.x, d.y));
                let at = (px + 6, py - 6);
                let bounds = label_box(&text, at);
                if labels.iter().any(|other| overlaps(other, &bounds)) {
                    continue;
                }
                labels.push(bounds);
                texts.push(((d.x, d.y), text, colour));
            }
        }
        // External results: hollow, in black, labelled as external where the label fits.
        if !references.is_empty() {
            let style = BLACK.stroke_width(2);
            let bars = references.iter().flat_map(|r| {
                let sd = r.accuracy_std.unwrap_or(0.0);
                let (low, high) = r.gap_range.unwrap_or((r.gap, r.gap));
                [
                    PathElement::new(
                        vec![(r.gap, r.accuracy - sd), (r.gap, r.accuracy + sd)],
                        BLACK.stroke_width(1),
                    ),
                    PathElement::new(
                        vec![(low, r.accuracy), (high, r.accuracy)],
                        BLACK.stroke_width(1),
                    ),
                ]
            });
            chart.draw_series(bars).map_err(|e| draw_error(&e))?;
            chart
                .draw_series(
                    references
                        .iter()
                        .map(|r| Circle::new((r.gap, r.accuracy), 6, style)),
                )
                .map_err(|e| draw_error(&e))?
                .label("○ external results (reference_points, not run here)")
                .legend(move |(x, y)| Circle::new((x + 10, y), 6, style));
            for r in &references {
                let text = format!("{} (external)", r.label);
                let (px, py) = chart.backend_coord(&(r.gap, r.accuracy));
                let bounds = label_box(&text, (px + 6, py - 6));
                if !labels.iter().any(|other| overlaps(other, &bounds)) {
                    labels.push(bounds);
                    texts.push(((r.gap, r.accuracy), text, RGBColor(0, 0, 0)));
                }
            }
        }
        // Labels last, over every line and marker.
        chart
            .draw_series(texts.into_iter().map(|(at, text, colour)| {
                let font = ("sans-serif", 12).into_font().color(&colour);
                EmptyElement::at(at) + Text::new(text, (6, -18), font)
            }))
            .map_err(|e| draw_error(&e))?;
        if drawn.iter().any(|d| d.point.summary.test.degenerate) {
            chart
                .draw_series(std::iter::empty::<Cross<(f64, f64), i32>>())
                .map_err(|e| draw_error(&e))?
                .label("× degenerate: predicts (nearly) the same for everyone")
                .legend(|(x, y)| Cross::new((x + 10, y), 5, BLACK.stroke_width(2)));
        }
        if seeds > 1 {
            chart
                .draw_series(std::iter::empty::<Cross<(f64, f64), i32>>())
                .map_err(|e| draw_error(&e))?
                .label(format!(
                    "bars: accuracy ± 1 std, gap best → worst of {seeds} seeds"
                ))
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y - 6), (x, y + 6)], BLACK.stroke_width(1))
                });
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
}

/// A method's marker at `at` (pixels from its anchor).
fn shape<DB: DrawingBackend>(
    marker: Marker,
    (x, y): (i32, i32),
    style: ShapeStyle,
) -> DynElement<'static, DB, (i32, i32)> {
    match marker {
        Marker::Circle => Circle::new((x, y), 4, style).into_dyn(),
        Marker::Square => Rectangle::new([(x - 4, y - 4), (x + 4, y + 4)], style).into_dyn(),
        Marker::Triangle => TriangleMarker::new((x, y), 5, style).into_dyn(),
        Marker::Diamond => {
            Polygon::new(vec![(x, y - 5), (x + 5, y), (x, y + 5), (x - 5, y)], style).into_dyn()
        }
        Marker::InvertedTriangle => {
            Polygon::new(vec![(x - 5, y - 4), (x + 5, y - 4), (x, y + 5)], style).into_dyn()
        }
        Marker::Plus | Marker::Cross => {
            let arm = [(-5, -2), (-2, -2), (-2, -5), (2, -5), (2, -2), (5, -2)];
            let mut outline = arm.to_vec();
            outline.extend(arm.iter().rev().map(|&(a, b)| (-a, -b)));
            // The cross is the plus turned by 45°.
            let turned = |(a, b): (i32, i32)| match marker {
                Marker::Cross => ((a - b) * 7 / 10, (a + b) * 7 / 10),
                _ => (a, b),
            };
            let outline: Vec<(i32, i32)> = (outline.into_iter().map(turned))
                .map(|(a, b)| (x + a, y + b))
                .collect();
            Polygon::new(outline, style).into_dyn()
        }
        Marker::Hexagon => {
            let outline: Vec<(i32, i32)> = (0..6)
                .map(|k| {
                    let angle = std::f64::consts::PI * k as f64 / 3.0;
                    let (dx, dy) = (5.0 * angle.cos(), 5.0 * angle.sin());
                    (x + dx.round() as i32, y + dy.round() as i32)
                })
                .collect();
            Polygon::new(outline, style).into_dyn()
        }
        Marker::Star => {
            let outline: Vec<(i32, i32)> = (0..10)
                .map(|k| {
                    let radius = if k % 2 == 0 { 6.0 } else { 2.5 };
                    let angle = std::f64::consts::PI * (k as f64 / 5.0 - 0.5);
                    let (dx, dy) = (radius * angle.cos(), radius * angle.sin());
                    (x + dx.round() as i32, y + dy.round() as i32)
                })
                .collect();
            Polygon::new(outline, style).into_dyn()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{Baseline, method_scores};
    use crate::results::Settings;
    use crate::selection::{EpochSummary, SeedStats, Selection};
    use rand::{RngExt, SeedableRng};

    /// A point of `method` at η with 5 seeds: accuracy `y` ± 0.01, gap `x` (best seed x/2).
    fn point(method: Method, eta: f64, x: f64, y: f64) -> Point {
        let stats = SeedStats {
            accuracy_mean: y,
            accuracy_std: 0.01,
            // Soft and hard ΔDP: the best seed's x/2, the worst's x.
            seed_gaps: [vec![x / 2.0, x], vec![x / 2.0, x], Vec::new(), Vec::new()],
            ..Default::default()
        };
        Point {
            config_id: format!("{method}{eta}"),
            settings: Settings {
                method,
                eta: Some(eta),
                ..Default::default()
            },
            summary: EpochSummary {
                epoch: 1,
                seeds: 5,
                train_bce: (0.4, 0.3, 0.5),
                validation: stats.clone(),
                test: stats,
            },
        }
    }

    /// The texts of an SVG with their top-left corners.
    fn texts(svg: &str) -> Vec<(String, i32, i32)> {
        svg.split("<text ")
            .skip(1)
            .map(|tail| {
                let number = |key: &str| -> i32 {
                    let from = tail.find(key).unwrap() + key.len();
                    let digits: String = tail[from..].chars().take_while(|c| *c != '"').collect();
                    digits.parse().unwrap()
                };
                let text = tail
                    .split('>')
                    .nth(1)
                    .unwrap()
                    .split('<')
                    .next()
                    .unwrap()
                    .trim();
                (text.to_string(), number("x=\""), number("y=\""))
            })
            .collect()
    }

    /// 500 trials' points crowded on a small front: every method's legend names its AOPAC,
    /// the seeds' bars and the majority guide are there, and no two η labels overlap (boxes
    /// of the font's height and 0.6 em a character, as drawn).
    #[test]
    fn a_crowded_figure_keeps_its_labels_apart_and_its_legend_complete() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let methods = [Method::Lagrangian, Method::FairBiNNReference, Method::Erm];
        let points: Vec<Point> = (0..500)
            .map(|i| {
                let x: f64 = rng.random_range(0.0..0.2);
                let y = 0.76 + 0.4 * x + rng.random_range(0.0..0.02);
                point(methods[i % 3], (i / 3) as f64, x, y)
            })
            .collect();
        let baseline = Baseline {
            majority_accuracy: 0.75,
            label_dp: 0.2,
        };
        let selected = Selected {
            selection: Selection::Last,
            methods: method_scores(&points, &baseline, FairnessMetric::DpSoft, &[]),
            points,
        };
        let figure = Figure {
            selected: &selected,
            metric: FairnessMetric::DpSoft,
            majority_accuracy: 0.75,
            references: &[],
            title: "crowded",
        };
        let mut svg = String::new();
        figure.draw(&mut svg).unwrap();
        let texts = texts(&svg);
        for m in &selected.methods {
            let aopac = m.on(FairnessMetric::DpSoft).aopac;
            let legend = format!("{}: AOPAC {aopac:.3}", m.method);
            assert!(texts.iter().any(|t| t.0 == legend), "{legend}");
        }
        assert!(
            texts
                .iter()
                .any(|t| t.0 == "majority class, accuracy 0.7500")
        );
        assert!(
            texts
                .iter()
                .any(|t| t.0.starts_with("bars: accuracy ± 1 std"))
        );
        let labels: Vec<[i32; 4]> = texts
            .iter()
            .filter(|t| t.0.starts_with("η="))
            .map(|(text, x, y)| {
                let width = (0.6 * 9.68 * text.chars().count() as f64) as i32;
                [*x, *y, x + width, y + 10]
            })
            .collect();
        assert!(labels.len() >= 3, "some labels are drawn: {}", labels.len());
        for (i, a) in labels.iter().enumerate() {
            for b in &labels[i + 1..] {
                assert!(!overlaps(a, b), "labels at {a:?} and {b:?} overlap");
            }
        }
        // Error bars: two segments per front point (accuracy ± 1 std; best → worst seed's
        // gap), and none with one seed.
        let front: usize = methods
            .iter()
            .map(|&m| {
                let xy: Vec<(f64, f64)> = (selected.points.iter())
                    .filter(|p| p.settings.method == m)
                    .map(|p| p.test_trade_off(FairnessMetric::DpSoft))
                    .collect();
                pareto_front(&xy).len()
            })
            .sum();
        let mut one_seed = selected.clone();
        for p in &mut one_seed.points {
            p.summary.seeds = 1;
        }
        let mut plain = String::new();
        Figure {
            selected: &one_seed,
            ..figure
        }
        .draw(&mut plain)
        .unwrap();
        let lines = |svg: &str| svg.matches("<polyline").count();
        assert_eq!(
            lines(&svg) - lines(&plain),
            2 * front + 1,
            "bars and their legend's"
        );
    }
}
