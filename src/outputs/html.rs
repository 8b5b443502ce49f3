//! `report.html`: `report.md`'s content as one self-contained page (no network: the figures
//! inline, the script and styles in the file), with what a page can add: hovering a point of
//! a policy's scatter shows its method, settings, epoch and seed spread; methods can be
//! hidden and shown; tables sort by a column. Rendered from a template (`report.html.j2`)
//! by minijinja, which escapes every value.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use super::{Output, Report};
use crate::analysis::{DP_BUDGETS, Point, reported_metrics};
use crate::pareto::pareto_front;
use crate::train::Method;

pub struct Html;

const FILE: &str = "report.html";
const TEMPLATE: &str = include_str!("report.html.j2");

#[derive(Serialize)]
struct Page {
    name: String,
    version: &'static str,
    trials: usize,
    configurations: usize,
    metric: &'static str,
    /// What the randomized baselines' numbers are, when there are some.
    randomized: Option<String>,
    data: String,
    policies: Vec<Policy>,
    /// Per policy, its points for the scatter.
    points: Vec<Vec<Dot>>,
    figures: Vec<Figure>,
    provenance: String,
}

#[derive(Serialize)]
struct Policy {
    describe: String,
    on_test: bool,
    methods: Vec<MethodKey>,
    tables: Vec<Table>,
}

#[derive(Serialize)]
struct MethodKey {
    name: &'static str,
    colour: String,
}

#[derive(Serialize)]
struct Table {
    title: String,
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
}

#[derive(Serialize)]
struct Dot {
    method: &'static str,
    colour: String,
    gap: f64,
    accuracy: f64,
    front: bool,
    tip: String,
}

#[derive(Serialize)]
struct Figure {
    name: String,
    svg: String,
}

fn colour(method: Method) -> String {
    let (r, g, b) = method.info().colour;
    format!("#{r:02x}{g:02x}{b:02x}")
}

impl Output for Html {
    fn write(&self, report: &Report, dir: &Path, written: &[PathBuf]) -> Result<Vec<PathBuf>> {
        let path = dir.join(FILE);
        let page = page(report, dir, written)?;
        let mut env = minijinja::Environment::new();
        env.add_template("report.html", TEMPLATE)
            .context("the report template does not parse")?;
        let html = env
            .get_template("report.html")
            .and_then(|t| t.render(&page))
            .context("cannot render report.html")?;
        crate::files::write_atomically(&path, html.as_bytes())?;
        Ok(vec![path])
    }
}

fn page(report: &Report, dir: &Path, written: &[PathBuf]) -> Result<Page> {
    let analysis = report.analysis;
    let metric = analysis.metric;
    let mut policies = Vec::new();
    let mut points = Vec::new();
    for selected in &analysis.selected {
        // Each method once: its parts (`fronts_by:`) come after every method's whole front.
        let mut methods: Vec<Method> = Vec::new();
        for m in &selected.methods {
            if !methods.contains(&m.method) {
                methods.push(m.method);
            }
        }
        let mut tables: Vec<Table> = reported_metrics(metric)
            .into_iter()
            .map(|on| {
                let mut columns = vec!["method".to_string(), "points".into(), "AOPAC".into()];
                columns.extend(
                    DP_BUDGETS
                        .iter()
                        .map(|b| format!("best accuracy, {} ≤ {b}", on.symbol())),
                );
                let rows = (selected.methods.iter())
                    .map(|m| {
                        let figures = m.on(on);
                        let mut row = vec![
                            m.front.clone(),
                            m.points.to_string(),
                            format!("{:.4}", figures.aopac),
                        ];
                        row.extend(
                            figures
                                .best_within
                                .iter()
                                .map(|b| b.map_or("–".into(), |a| format!("{a:.4}"))),
                        );
                        row
                    })
                    .collect();
                Table {
                    title: format!("On {} (test split)", on.symbol()),
                    columns,
                    rows,
                }
            })
            .collect();
        if analysis.seeds() > 1 {
            let mut columns = vec!["method".to_string()];
            columns.extend(
                DP_BUDGETS
                    .iter()
                    .map(|b| format!("{} ≤ {b}", metric.symbol())),
            );
            let rows = (selected.methods.iter())
                .map(|m| {
                    let cells = (m.on(metric).on_mean.iter())
                        .map(|&c| super::summary::on_mean_cell(c).replace('-', "–"));
                    std::iter::once(m.front.clone()).chain(cells).collect()
                })
                .collect();
            tables.push(Table {
                title: super::summary::on_mean_caption(metric),
                columns,
                rows,
            });
        }
        policies.push(Policy {
            describe: selected.selection.describe(metric),
            on_test: selected.selection.uses_test_set(),
            methods: methods
                .iter()
                .map(|&m| MethodKey {
                    name: m.name(),
                    colour: colour(m),
                })
                .collect(),
            tables,
        });
        let mut dots = Vec::new();
        for &method in &methods {
            let mine: Vec<&Point> = (selected.points.iter())
                .filter(|p| p.settings.method == method)
                .collect();
            let xy: Vec<(f64, f64)> = mine.iter().map(|p| p.test_trade_off(metric)).collect();
            let front = pareto_front(&xy);
            for (i, point) in mine.iter().enumerate() {
                let t = &point.summary.test;
                let tip = format!(
                    "{}\nepoch {}, {} seed(s)\naccuracy {:.4} ± {:.4}\n{} {:.4} (worst seed; best {:.4})",
                    point.settings.describe(),
                    point.summary.epoch,
                    point.summary.seeds,
                    t.accuracy_mean,
                    t.accuracy_std,
                    metric.symbol(),
                    xy[i].0,
                    metric.best(t)
                );
                dots.push(Dot {
                    method: method.name(),
                    colour: colour(method),
                    gap: xy[i].0,
                    accuracy: xy[i].1,
                    front: front.contains(&i),
                    tip,
                });
            }
        }
        points.push(dots);
    }
    let mut figures = Vec::new();
    for path in written
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "svg"))
    {
        let svg = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        figures.push(Figure { name, svg });
    }
    Ok(Page {
        name: report.name.to_string(),
        version: env!("CARGO_PKG_VERSION"),
        trials: report.plan.trials.len(),
        randomized: super::summary::randomized_line(report.analysis),
        configurations: analysis.configurations.len(),
        metric: metric.symbol(),
        data: report.data.to_string(),
        policies,
        points,
        figures,
        provenance: super::markdown::provenance(dir),
    })
}
