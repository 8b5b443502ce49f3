//! Scale (issue 32): trials share one data set in memory and train as they would on their own
//! copy; a results folder of 10,000 trials × 100 epochs is planned, resumed and reported.

mod common;

use std::path::Path;

use common::{Run, read_csv, text};
use fairbinn_sweep::data::{self, Splits};
use fairbinn_sweep::metrics::SplitMetrics;
use fairbinn_sweep::results::manifest::{self, Manifest};
use fairbinn_sweep::results::{EpochRow, ResultsStore, Settings, Status};
use fairbinn_sweep::sweep::{self, ExecuteOptions};
use fairbinn_sweep::train::{self, EpochMetrics};
use fairbinn_sweep::{config, plan};

/// Every trial of a sweep run on two threads over one data set (what `run` does) has, epoch by
/// epoch, the numbers of the same trial trained alone on a copy of the data made for it.
#[test]
fn a_sweep_sharing_one_data_set_equals_trials_each_on_its_own_copy() {
    let run = Run::new(
        "name: shared
dataset: {name: synthetic, rows: 2000, features: 12, groups: 3, bias: 1, seed: 5}
train: {epochs: 3, batch_size: 50}
seeds: [0, 1]
sweep: {method: [erm, lagrangian, fairbinn, adversarial]}
",
    );
    let file = config::read(&run.experiment(), None).unwrap();
    let data = data::load(&file.dataset).unwrap();
    let plan = plan::plan(&file, &data.files);
    assert_eq!(plan.trials.len(), 8);
    let mut store = ResultsStore::open(&run.results(), true).unwrap();
    let options = ExecuteOptions {
        jobs: 2,
        quiet: true,
        models: None,
        halving: None,
        rung: None,
        downstream: None,
    };
    sweep::execute(&plan, &Splits::one(&data), &mut store, &options).unwrap();
    drop(store);

    let rows = read_csv(&run.results().join("epochs.csv"));
    assert_eq!(rows.len(), 8 * 3 * 2);
    for trial in &plan.trials {
        let copy = data.clone();
        assert_ne!(copy.train.features.as_ptr(), data.train.features.as_ptr());
        let alone = train::train(
            &trial.spec.architecture,
            &trial.spec.train,
            &copy,
            &mut |_, _| {},
        );
        assert_eq!(alone.history.len(), 3);
        for m in &alone.history {
            for (split, metrics) in [("validation", &m.validation), ("test", &m.test)] {
                let row = (rows.iter())
                    .find(|r| {
                        r["trial_id"] == trial.id
                            && r["epoch"] == m.epoch.to_string()
                            && r["split"] == split
                    })
                    .unwrap_or_else(|| panic!("{} epoch {} {split}", trial.id, m.epoch));
                for (column, value) in [
                    ("accuracy", metrics.accuracy),
                    ("dp_soft", metrics.dp_soft),
                    ("bce", metrics.bce),
                ] {
                    let stored: f64 = row[column].parse().unwrap();
                    assert_eq!(
                        stored, value,
                        "{} {split} epoch {} {column}",
                        trial.spec.train.method, m.epoch
                    );
                }
            }
        }
    }
}

/// Metrics made up for trial `(eta_index, seed)` at `epoch`: accuracy rises with η's index
/// and the epoch, the gap falls with η's index; the same on both splits.
fn made_up(eta_index: usize, seed: u64, epoch: usize) -> EpochMetrics {
    let accuracy = 0.6 + 0.002 * eta_index as f64 + 1e-4 * seed as f64 + 1e-5 * epoch as f64;
    let gap = 0.3 - 0.0025 * eta_index as f64;
    let split = SplitMetrics {
        accuracy,
        bce: 0.5,
        dp_soft: gap,
        dp_hard: gap,
        eo: gap,
        equalized_odds: gap,
        positive_rate: 0.3,
        probability_std: 0.2,
        group_positive_rates: vec![0.3, 0.3 + gap],
    };
    EpochMetrics {
        epoch,
        train_bce: 0.5,
        validation: split.clone(),
        test: split,
    }
}

/// 100 η × 100 seeds of the Lagrangian, 100 epochs: 10,000 trials and 2,000,000 epoch rows,
/// written as a finished run would leave them (no training). `plan` finds every trial done,
/// `run` resumes (checks, rewrites, reports) without training, `report` draws it again, and
/// the aggregate's means are the made-up numbers'. Peak memory is measured by hand (docs/
/// speed.md), not here.
#[test]
fn ten_thousand_trials_of_a_hundred_epochs_are_planned_resumed_and_reported() {
    let etas: Vec<String> = (0..100).map(|i| format!("{}", 1 + i)).collect();
    let seeds: Vec<String> = (0..100).map(|s| s.to_string()).collect();
    let run = Run::new(&format!(
        "name: many
dataset: {{name: synthetic, rows: 60, features: 4, seed: 2}}
train: {{method: lagrangian, epochs: 100, batch_size: 10}}
seeds: [{}]
save_models: false
sweep: {{eta: [{}]}}
",
        seeds.join(", "),
        etas.join(", ")
    ));
    let file = config::read(&run.experiment(), None).unwrap();
    let data = data::load(&file.dataset).unwrap();
    let plan = plan::plan(&file, &data.files);
    assert_eq!(plan.trials.len(), 10_000);
    let dir = run.results();
    let mut store = ResultsStore::open(&dir, true).unwrap();
    let manifest = Manifest::start(
        &dir,
        file.record().unwrap(),
        &data.files,
        manifest::Run::new("run"),
    )
    .unwrap();
    manifest.write(&dir).unwrap();
    for trial in &plan.trials {
        let eta = trial.spec.train.knobs.number("eta").unwrap();
        let eta_index = eta as usize - 1;
        let history: Vec<EpochMetrics> = (1..=100)
            .map(|epoch| made_up(eta_index, trial.spec.train.seed, epoch))
            .collect();
        let epochs: Vec<EpochRow> = (history.iter())
            .flat_map(|m| EpochRow::of_epoch(&trial.id, m))
            .collect();
        let settings = Settings::of(&trial.spec, data.train.n_features);
        let last = history.last().cloned();
        let row = sweep::execute::row_of(trial, settings, last, Status::Ok, String::new(), 0.1);
        store.record(&row, &epochs).unwrap();
    }
    drop(store);

    let planned = text(&run.on_results("plan", &[]));
    assert!(
        planned.contains("10000 trials") && planned.contains("10000 already done"),
        "{planned}"
    );
    let resumed = run.run(&["--yes", "--quiet"]);
    assert!(resumed.status.success(), "{}", text(&resumed));
    assert!(
        text(&resumed).contains("0 ran now, 10000 were already done"),
        "{}",
        text(&resumed)
    );
    let reported = common::binary().arg("report").arg(&dir).output().unwrap();
    assert!(reported.status.success(), "{}", text(&reported));

    let epochs = std::fs::read_to_string(dir.join("epochs.csv")).unwrap();
    assert_eq!(epochs.lines().count(), 1 + 2_000_000);
    let aggregate = read_csv(&dir.join("aggregate.csv"));
    assert_eq!(aggregate.len(), 100, "one row per η");
    let at = |eta: &str| {
        (aggregate.iter())
            .find(|r| r["eta"] == eta)
            .unwrap_or_else(|| panic!("no aggregate row for η {eta}"))
    };
    // η = 51 (index 50), last epoch: the mean over seeds 0..99 of 0.6 + 0.1 + 1e-4·s + 1e-3.
    let expected = 0.6 + 0.002 * 50.0 + 1e-4 * 49.5 + 1e-5 * 100.0;
    let mean: f64 = at("51.0")["test_accuracy_mean"].parse().unwrap();
    assert!((mean - expected).abs() < 1e-9, "{mean} vs {expected}");
    let gap: f64 = at("51.0")["test_dp_soft_mean"].parse().unwrap();
    assert!((gap - 0.175).abs() < 1e-9, "{gap}");
    assert!(Path::new(&dir.join("report.md")).is_file());
}

/// `bench --scaling --quick` end to end: every point measured in a process of its own, read
/// back from the CSV (µs per row is seconds per epoch over the training rows), the figure
/// drawn, the slopes printed.
#[test]
fn the_scaling_bench_measures_every_point_and_draws_them() {
    let dir = tempfile::tempdir().unwrap();
    let output = common::binary()
        .args(["bench", "--scaling"])
        .arg(dir.path())
        .arg("--quick")
        .output()
        .unwrap();
    let printed = text(&output);
    assert!(output.status.success(), "{printed}");
    assert!(printed.contains("log-log slopes"), "{printed}");
    let rows = read_csv(&dir.path().join("scaling.csv"));
    // 8 methods × 2 row counts; the 7 networks × (2 widths + 2 group counts).
    assert_eq!(rows.len(), 8 * 2 + 7 * 4);
    for row in &rows {
        let (seconds, us) = (
            common::number(row, "seconds_per_epoch"),
            common::number(row, "us_per_row"),
        );
        let train_rows = common::number(row, "train_rows");
        assert!(
            seconds > 0.0 && common::number(row, "peak_mb") > 1.0,
            "{row:?}"
        );
        assert!((us - seconds / train_rows * 1e6).abs() < 1e-3, "{row:?}");
    }
    // 2,000 and 8,000 training rows asked: drawn as 3,125 and 12,500 rows, 64% for training.
    let counts: std::collections::BTreeSet<String> =
        rows.iter().map(|r| r["train_rows"].clone()).collect();
    assert_eq!(counts.into_iter().collect::<Vec<_>>(), ["2000", "8000"]);
    let svg = std::fs::read_to_string(dir.path().join("scaling.svg")).unwrap();
    assert!(svg.contains("stackelberg unroll 3") && svg.contains("sensitive groups"));
}

/// The committed `results/scaling/scaling.svg` is what `--redraw` draws from the committed CSV.
#[test]
fn the_committed_scaling_figure_is_drawn_from_its_csv() {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("results/scaling");
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        committed.join("scaling.csv"),
        dir.path().join("scaling.csv"),
    )
    .unwrap();
    let output = common::binary()
        .args(["bench", "--redraw", "--scaling"])
        .arg(dir.path())
        .output()
        .unwrap();
    let printed = text(&output);
    assert!(output.status.success(), "{printed}");
    assert!(
        printed.contains("lagrangian               1.00        1.04    0.00   1.00–1.00"),
        "{printed}"
    );
    let read = |d: &Path| std::fs::read(d.join("scaling.svg")).unwrap();
    assert!(
        read(dir.path()) == read(&committed),
        "results/scaling/scaling.svg is stale"
    );
}
