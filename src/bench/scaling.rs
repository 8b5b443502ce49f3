//! `bench --scaling DIR`: how training's cost grows with the training rows, the accuracy
//! layers' width and the number of sensitive groups, per method, on the synthetic data set
//! (50 features). Each point runs in a process of its own, so that its peak resident memory
//! is its own: the data made, encoded and held, and the one trial's network, optimiser
//! state and buffers. Writes `scaling.csv` as points finish and `scaling.svg` at the end, and
//! prints the fitted log-log slopes and the bilevel-to-Lagrangian cost ratios.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use plotters::prelude::*;

use crate::config;
use crate::data;
use crate::train::{self, Trainer};

/// Features of every point's synthetic data.
const FEATURES: usize = 50;
/// Training rows, width and groups where another dimension varies.
const ROWS: usize = 20_000;
const WIDTH: usize = 64;
const GROUPS: usize = 2;
/// Timed epochs stop once they add up to this many milliseconds (`--quick`: after one), or
/// at `MAX_EPOCHS`.
const ENOUGH_MS: usize = 1000;
const MAX_EPOCHS: usize = 10;

/// A method as measured: its name in experiment files and its extra `train:` keys.
struct Measured {
    label: &'static str,
    method: &'static str,
    settings: &'static str,
}

const METHODS: [Measured; 8] = [
    Measured::plain("erm"),
    Measured::plain("lagrangian"),
    Measured::plain("fairbinn"),
    Measured::plain("fairbinn-reference"),
    Measured {
        label: "stackelberg unroll 1",
        method: "stackelberg",
        settings: "unroll: 1",
    },
    Measured {
        label: "stackelberg unroll 3",
        method: "stackelberg",
        settings: "unroll: 3",
    },
    Measured::plain("adversarial"),
    // A fixed number of trees: early stopping would make the work depend on the data.
    Measured {
        label: "gbdt",
        method: "gbdt",
        settings: "rounds: 20, early_stopping: 0",
    },
];

impl Measured {
    const fn plain(name: &'static str) -> Self {
        Self {
            label: name,
            method: name,
            settings: "",
        }
    }

    fn is_network(&self) -> bool {
        self.method != "gbdt"
    }
}

/// Which setting a point varies.
#[derive(Clone, Copy, PartialEq)]
enum Dimension {
    Rows,
    Width,
    Groups,
}

impl Dimension {
    fn name(self) -> &'static str {
        match self {
            Self::Rows => "rows",
            Self::Width => "width",
            Self::Groups => "groups",
        }
    }
}

/// One measurement's set-up.
#[derive(Clone, Copy)]
pub struct Setup {
    method: usize,
    /// Training rows (the synthetic data set draws more: validation and test rows).
    rows: usize,
    width: usize,
    groups: usize,
}

/// What a point's process prints: seconds per epoch, epochs timed, peak resident kB.
struct Timing {
    seconds: f64,
    epochs: usize,
    peak_kb: u64,
}

/// The points of each dimension: `quick` for a test's few seconds.
fn setups(quick: bool) -> Vec<(Dimension, Setup)> {
    let (rows, widths, groups): (&[usize], &[usize], &[usize]) = match quick {
        true => (&[2_000, 8_000], &[16, 32], &[2, 4]),
        false => (
            &[10_000, 30_000, 100_000, 300_000, 1_000_000, 2_000_000],
            &[32, 64, 128, 256, 512, 1024],
            &[2, 4, 8, 16, 32],
        ),
    };
    let mut setups = Vec::new();
    for (method, m) in METHODS.iter().enumerate() {
        let base = Setup {
            method,
            rows: if quick { 2_000 } else { ROWS },
            width: if quick { 16 } else { WIDTH },
            groups: GROUPS,
        };
        for &rows in rows {
            setups.push((Dimension::Rows, Setup { rows, ..base }));
        }
        // Trees have no width and do not read the groups.
        if m.is_network() {
            for &width in widths {
                setups.push((Dimension::Width, Setup { width, ..base }));
            }
            for &groups in groups {
                setups.push((Dimension::Groups, Setup { groups, ..base }));
            }
        }
    }
    setups
}

/// The experiment a point trains: the paper's set-up (batch 100, two accuracy layers and a
/// one-layer fairness block) on synthetic data with `rows` training rows.
fn experiment(setup: &Setup) -> String {
    let m = &METHODS[setup.method];
    // A fifth of the rows is the test split and a fifth of the rest validation.
    let drawn = (setup.rows as f64 / 0.64).ceil() as usize;
    let extra = match m.settings {
        "" => String::new(),
        settings => format!(", {settings}"),
    };
    format!(
        "name: scaling\npreset: paper\n\
         dataset: {{name: synthetic, rows: {drawn}, features: {FEATURES}, groups: {}, test_fraction: 0.2, seed: 1}}\n\
         model: {{width: {}}}\ntrain: {{method: {}{extra}}}\n",
        setup.groups, setup.width, m.method
    )
}

/// Measure one point in this process (the hidden `bench --scaling-point`): load the data,
/// then time epochs of training alone (no evaluation) until they add up to `enough_ms`, and
/// print the median epoch's seconds, the epochs timed and the peak resident memory.
pub fn point(arguments: &[usize]) -> Result<()> {
    let &[method, rows, width, groups, enough_ms] = arguments else {
        bail!("--scaling-point takes method, rows, width, groups, milliseconds");
    };
    if method >= METHODS.len() {
        bail!(
            "--scaling-point: method {method}: expected 0 to {}",
            METHODS.len() - 1
        );
    }
    let setup = Setup {
        method,
        rows,
        width,
        groups,
    };
    let file = config::parse(&experiment(&setup), Path::new("scaling.yaml"), None)?;
    let trial = &file.points[0];
    let data = data::load(&file.dataset)?;
    let mut times = Vec::new();
    if METHODS[method].is_network() {
        let mut trainer = Trainer::new(&trial.architecture, &trial.train, &data);
        let mut total = 0.0;
        for epoch in 1..=MAX_EPOCHS {
            let started = Instant::now();
            trainer.train_epoch(epoch);
            times.push(started.elapsed().as_secs_f64());
            total += times[times.len() - 1];
            if total * 1e3 >= enough_ms as f64 {
                break;
            }
        }
    } else {
        let started = Instant::now();
        train::train(&trial.architecture, &trial.train, &data, &mut |_, _| {});
        times.push(started.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let values = data.train.n_rows() + data.validation.n_rows() + data.test.n_rows();
    println!(
        "{} {} {} {} {} {}",
        times[times.len() / 2],
        times.len(),
        peak_kb().unwrap_or(0),
        data.train.n_rows(),
        trial
            .architecture
            .accuracy_parameters(data.train.n_features),
        values * data.train.n_features * std::mem::size_of::<f32>()
    );
    Ok(())
}

/// This process's peak resident memory (Linux's VmHWM), in kB.
fn peak_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// One finished point, as `scaling.csv` holds it.
struct Row {
    dimension: Dimension,
    method: usize,
    train_rows: usize,
    width: usize,
    /// The accuracy layers' parameters (the fairness block's aside).
    parameters: usize,
    groups: usize,
    timing: Timing,
    /// The f32 features of all three splits, in MB: what the data set holds.
    data_mb: f64,
}

impl Row {
    fn micros_per_row(&self) -> f64 {
        self.timing.seconds / self.train_rows as f64 * 1e6
    }

    fn x(&self) -> f64 {
        match self.dimension {
            Dimension::Rows => self.train_rows as f64,
            Dimension::Width => self.parameters as f64,
            Dimension::Groups => self.groups as f64,
        }
    }
}

/// Every point, each in a child process of this executable; the CSV and figure in `out`.
pub fn run(out: &Path, quick: bool) -> Result<()> {
    let exe = std::env::current_exe().context("cannot find this program to run the points")?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let csv_path = out.join("scaling.csv");
    let mut csv = String::from(
        "dimension,method,train_rows,features,width,accuracy_parameters,groups,seconds_per_epoch,\
         us_per_row,epochs_timed,peak_mb,data_mb\n",
    );
    let setups = setups(quick);
    let enough_ms = if quick { 0 } else { ENOUGH_MS };
    let mut rows = Vec::new();
    println!(
        "{:<7} {:<21} {:>9} {:>6} {:>7} {:>10} {:>9} {:>8} {:>8}",
        "varies", "method", "rows", "width", "groups", "s/epoch", "µs/row", "peak MB", "data MB"
    );
    for (i, &(dimension, setup)) in setups.iter().enumerate() {
        let output = Command::new(&exe)
            .args(["bench", "--scaling-point"])
            .args(
                [
                    setup.method,
                    setup.rows,
                    setup.width,
                    setup.groups,
                    enough_ms,
                ]
                .map(|n| n.to_string()),
            )
            .output()
            .with_context(|| format!("cannot run {}", exe.display()))?;
        let text = String::from_utf8_lossy(&output.stdout);
        let fields: Vec<f64> = text
            .split_whitespace()
            .filter_map(|f| f.parse().ok())
            .collect();
        let [seconds, epochs, peak_kb, train_rows, parameters, data_bytes] = fields[..] else {
            bail!(
                "point {} of {} ({} {}) failed: {}",
                i + 1,
                setups.len(),
                METHODS[setup.method].label,
                dimension.name(),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        };
        let row = Row {
            dimension,
            method: setup.method,
            train_rows: train_rows as usize,
            width: setup.width,
            parameters: parameters as usize,
            groups: setup.groups,
            timing: Timing {
                seconds,
                epochs: epochs as usize,
                peak_kb: peak_kb as u64,
            },
            data_mb: data_bytes / (1024.0 * 1024.0),
        };
        let data_mb = row.data_mb;
        let peak_mb = row.timing.peak_kb as f64 / 1024.0;
        println!(
            "{:<7} {:<21} {:>9} {:>6} {:>7} {:>10.4} {:>9.3} {:>8.0} {:>8.0}",
            dimension.name(),
            METHODS[row.method].label,
            row.train_rows,
            row.width,
            row.groups,
            seconds,
            row.micros_per_row(),
            peak_mb,
            data_mb
        );
        let _ = writeln!(
            csv,
            "{},{},{},{FEATURES},{},{},{},{:.6},{:.4},{},{:.1},{:.1}",
            dimension.name(),
            METHODS[row.method].label,
            row.train_rows,
            row.width,
            row.parameters,
            row.groups,
            seconds,
            row.micros_per_row(),
            row.timing.epochs,
            peak_mb,
            data_mb
        );
        // Written as points finish: a long run stopped keeps what it measured.
        crate::files::write_atomically(&csv_path, csv.as_bytes())?;
        rows.push(row);
    }
    println!("\n{}", slopes(&rows));
    let svg = out.join("scaling.svg");
    figure(&rows, &svg)?;
    println!("wrote {} and {}", csv_path.display(), svg.display());
    Ok(())
}

/// `scaling.svg` and the slopes again from `out`'s `scaling.csv`, without measuring.
pub fn redraw(out: &Path) -> Result<()> {
    let path = out.join("scaling.csv");
    let mut reader =
        csv::Reader::from_path(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut rows = Vec::new();
    for (line, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("{}: cannot read", path.display()))?;
        let bad = || anyhow!("{}:{}: not a row of scaling.csv", path.display(), line + 2);
        let number = |i: usize| {
            record
                .get(i)
                .and_then(|v| v.parse::<f64>().ok())
                .ok_or_else(bad)
        };
        let dimension = [Dimension::Rows, Dimension::Width, Dimension::Groups]
            .into_iter()
            .find(|d| Some(d.name()) == record.get(0))
            .ok_or_else(bad)?;
        let method = (METHODS.iter())
            .position(|m| Some(m.label) == record.get(1))
            .ok_or_else(bad)?;
        rows.push(Row {
            dimension,
            method,
            train_rows: number(2)? as usize,
            width: number(4)? as usize,
            parameters: number(5)? as usize,
            groups: number(6)? as usize,
            timing: Timing {
                seconds: number(7)?,
                epochs: number(9)? as usize,
                peak_kb: (number(10)? * 1024.0) as u64,
            },
            data_mb: number(11)?,
        });
    }
    println!("{}", slopes(&rows));
    let svg = out.join("scaling.svg");
    figure(&rows, &svg)?;
    println!("wrote {}", svg.display());
    Ok(())
}

/// Least-squares slope of ln y on ln x.
fn log_slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    let (lx, ly): (Vec<f64>, Vec<f64>) = points.iter().map(|(x, y)| (x.ln(), y.ln())).unzip();
    let (mx, my) = (lx.iter().sum::<f64>() / n, ly.iter().sum::<f64>() / n);
    let sxy: f64 = lx.iter().zip(&ly).map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = lx.iter().map(|x| (x - mx).powi(2)).sum();
    sxy / sxx
}

/// Per method, the log-log slopes of seconds per epoch against rows, accuracy parameters and
/// groups, and each method's step cost against the Lagrangian's at the same point.
fn slopes(rows: &[Row]) -> String {
    let mut text = String::from(
        "log-log slopes of seconds per epoch (1: proportional; 0: flat)\n\
         method                   rows  parameters  groups   cost ÷ lagrangian (min–max)\n",
    );
    let lagrangian = METHODS.iter().position(|m| m.label == "lagrangian");
    for (method, m) in METHODS.iter().enumerate() {
        let slope = |dimension: Dimension| {
            let points: Vec<(f64, f64)> = (rows.iter())
                .filter(|r| r.method == method && r.dimension == dimension)
                .map(|r| (r.x(), r.timing.seconds))
                .collect();
            match points.len() {
                0 | 1 => "—".to_string(),
                _ => format!("{:.2}", log_slope(&points)),
            }
        };
        let ratios: Vec<f64> = (rows.iter())
            .filter(|r| r.method == method && m.is_network())
            .filter_map(|r| {
                let same = rows.iter().find(|o| {
                    Some(o.method) == lagrangian
                        && o.dimension == r.dimension
                        && (o.train_rows, o.width, o.groups) == (r.train_rows, r.width, r.groups)
                })?;
                Some(r.timing.seconds / same.timing.seconds)
            })
            .collect();
        let (low, high) = ratios
            .iter()
            .fold((f64::INFINITY, 0.0f64), |(l, h), &r| (l.min(r), h.max(r)));
        let ratio = match ratios.is_empty() {
            true => "—".to_string(),
            false => format!("{low:.2}–{high:.2}"),
        };
        let _ = writeln!(
            text,
            "{:<22} {:>6} {:>11} {:>7}   {ratio}",
            m.label,
            slope(Dimension::Rows),
            slope(Dimension::Width),
            slope(Dimension::Groups)
        );
    }
    text
}

/// A panel of `scaling.svg`: what varies, the axes' titles, the value drawn.
type Panel<'a> = (Dimension, &'a str, &'a str, &'a dyn Fn(&Row) -> f64);

/// `scaling.svg`: µs per training row against rows, accuracy parameters and groups, and the
/// peak resident memory against rows; log-log, one line per method.
fn figure(rows: &[Row], path: &Path) -> Result<()> {
    let mut svg = String::new();
    draw(rows, &mut svg).map_err(|e| anyhow!("cannot draw {}: {e:#}", path.display()))?;
    crate::files::write_atomically(path, svg.as_bytes())
}

fn draw(rows: &[Row], svg: &mut String) -> Result<()> {
    let root = SVGBackend::with_string(svg, (1200, 900)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    let root = root
        .titled(
            "Cost of training (synthetic data, 50 features, one core, batch 100; log-log)",
            ("sans-serif", 20),
        )
        .map_err(|e| anyhow!("{e}"))?;
    let panels = root.split_evenly((2, 2));
    let memory = |r: &Row| r.timing.peak_kb as f64 / 1024.0;
    let widths = rows
        .iter()
        .filter(|r| r.dimension == Dimension::Width)
        .map(|r| r.width);
    let width_label = format!(
        "accuracy layers' parameters (width {} to {})",
        widths.clone().min().unwrap_or(0),
        widths.max().unwrap_or(0)
    );
    let per_row = |r: &Row| r.micros_per_row();
    let drawn: [Panel; 4] = [
        (
            Dimension::Rows,
            "training rows",
            "µs per training row per epoch",
            &per_row,
        ),
        (
            Dimension::Rows,
            "training rows",
            "peak resident memory (MB)",
            &memory,
        ),
        (
            Dimension::Width,
            &width_label,
            "µs per training row per epoch",
            &per_row,
        ),
        (
            Dimension::Groups,
            "sensitive groups",
            "µs per training row per epoch",
            &per_row,
        ),
    ];
    for (index, (panel, (dimension, x_label, y_label, y))) in panels.iter().zip(drawn).enumerate() {
        let points: Vec<&Row> = rows.iter().filter(|r| r.dimension == dimension).collect();
        if points.is_empty() {
            continue;
        }
        let range = |values: Vec<f64>| {
            let low = values.iter().copied().fold(f64::INFINITY, f64::min);
            let high = values.iter().copied().fold(0.0, f64::max);
            (low / 1.3)..(high * 1.3)
        };
        let mut ticks: Vec<f64> = points.iter().map(|r| r.x()).collect();
        ticks.sort_by(f64::total_cmp);
        ticks.dedup();
        let xs = range(ticks.clone());
        let ys = range(points.iter().map(|r| y(r)).collect());
        // Ticks at the measured points: a few decades or less have no power of ten inside.
        let mut chart = ChartBuilder::on(panel)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(xs.log_scale().with_key_points(ticks), ys.log_scale())
            .map_err(|e| anyhow!("{e}"))?;
        chart
            .configure_mesh()
            .max_light_lines(4)
            .x_desc(x_label)
            .y_desc(y_label)
            .x_label_formatter(&|&x| short(x))
            .y_label_formatter(&|&y| short(y))
            .draw()
            .map_err(|e| anyhow!("{e}"))?;
        for (method, m) in METHODS.iter().enumerate() {
            let line: Vec<(f64, f64)> = (points.iter())
                .filter(|r| r.method == method)
                .map(|r| (r.x(), y(r)))
                .collect();
            if line.is_empty() {
                continue;
            }
            let colour = Palette99::pick(method).to_rgba();
            chart
                .draw_series(LineSeries::new(line.clone(), colour.stroke_width(2)))
                .map_err(|e| anyhow!("{e}"))?
                .label(m.label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2))
                });
            chart
                .draw_series(line.iter().map(|&p| Circle::new(p, 3, colour.filled())))
                .map_err(|e| anyhow!("{e}"))?;
        }
        if index != 1 {
            continue; // One legend, where the memory panel is empty: the lines are the same.
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 11))
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(|e| anyhow!("{e}"))?;
    }
    root.present().map_err(|e| anyhow!("{e}"))?;
    Ok(())
}

/// A number in three significant digits at most, without trailing zeros: 2M, 30k, 0.25.
fn short(value: f64) -> String {
    match value {
        v if v >= 1e6 => format!("{}M", trim(v / 1e6)),
        v if v >= 1e4 => format!("{}k", trim(v / 1e3)),
        v => trim(v),
    }
}

fn trim(value: f64) -> String {
    let digits = (2 - value.abs().log10().floor() as i32).clamp(0, 6) as usize;
    let text = format!("{value:.digits$}");
    match text.contains('.') {
        true => text.trim_end_matches('0').trim_end_matches('.').to_string(),
        false => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_numbers_are_short() {
        let shown = [2e6, 1e6, 30_000.0, 8000.0, 64.0, 2.0, 0.25, 0.0123].map(short);
        assert_eq!(
            shown,
            ["2M", "1M", "30k", "8000", "64", "2", "0.25", "0.0123"]
        );
    }

    #[test]
    fn slopes_of_power_laws() {
        let line = |k: f64| [1.0, 10.0, 100.0].map(|x: f64| (x, 3.0 * x.powf(k)));
        assert!((log_slope(&line(1.0)) - 1.0).abs() < 1e-12);
        assert!((log_slope(&line(0.0))).abs() < 1e-12);
        assert!((log_slope(&line(2.0)) - 2.0).abs() < 1e-12);
    }
}
