//! The representation learners and the FCRL benchmark's downstream protocol end to end: each
//! learner trains from an experiment file, its own predictor learns, the downstream classifiers
//! fit on every representation, and their rows are what the `downstream` selection reports.

mod common;

use std::collections::HashMap;

use common::{Run, number, read_csv, text};

/// Each learner with its fairness weight at 0 (so it has only accuracy to learn), beside a
/// network (its last hidden layer is its representation) and trees (none).
const LEARNERS: &str = "
name: learners
dataset: {name: adult, max_rows: 2000}
train: {epochs: 12, batch_size: 64, lr_acc: 0.01}
seeds: [0]
selection: [last]
downstream: {runs: 2, max_epochs: 300}
sweep:
  method: [fcrl, maxent-arl, cvib, adversarial-forgetting, laftr, erm, gbdt]
  methods:
    fcrl: {lambda: [0]}
    maxent-arl: {beta: [0]}
    cvib: {lambda: [0.01], beta: [0]}
    adversarial-forgetting: {delta: [0], update_every: [2]}
    # L1 losses saturate the sigmoid at a large step: LAFTR's own rate, longer.
    laftr: {fair_coeff: [0], lr_acc: [0.001], epochs: [30]}
    gbdt: {rounds: [20]}
";

const LEARNER_NAMES: [&str; 5] = [
    "fcrl",
    "maxent-arl",
    "cvib",
    "adversarial-forgetting",
    "laftr",
];

#[test]
fn every_learner_trains_and_the_downstream_selection_is_its_runs_mean_accuracy_and_largest_gap() {
    let run = Run::new(LEARNERS);
    let output = run.run(&["--jobs", "2"]);
    assert!(output.status.success(), "{}", text(&output));
    let trials = read_csv(&run.results().join("trials.csv"));
    assert_eq!(trials.len(), 7);
    let majority = 0.753; // Adult's first 2000 rows' test split: the constant predictor.
    for trial in &trials {
        assert_eq!(trial["status"], "ok", "{trial:?}");
        let method = trial["method"].as_str();
        if LEARNER_NAMES.contains(&method) {
            // The learner's own predictor beats the constant one after 12 epochs.
            let accuracy = number(trial, "test_accuracy");
            assert!(
                accuracy > majority + 0.03,
                "{method}: test accuracy {accuracy}"
            );
        }
    }

    // Two runs on two splits for each trial with a representation; none for the trees.
    let downstream = read_csv(&run.results().join("downstream.csv"));
    let method_of: HashMap<&str, &str> = (trials.iter())
        .map(|t| (t["trial_id"].as_str(), t["method"].as_str()))
        .collect();
    let mut rows_of: HashMap<&str, Vec<&HashMap<String, String>>> = HashMap::new();
    for row in &downstream {
        rows_of
            .entry(method_of[row["trial_id"].as_str()])
            .or_default()
            .push(row);
    }
    assert!(!rows_of.contains_key("gbdt"));
    for method in LEARNER_NAMES.iter().chain(&["erm"]) {
        let rows = &rows_of[method];
        assert_eq!(rows.len(), 4, "{method}: {rows:?}");
        for row in rows.iter().filter(|r| r["split"] == "test") {
            // A classifier on z alone still learns the label.
            assert!(
                number(row, "accuracy") > majority + 0.02,
                "{method}: {row:?}"
            );
        }
    }

    // The `downstream` selection's point of each configuration: the mean accuracy and the
    // largest gaps of its test runs (one seed, so no seed to combine).
    let aggregate = read_csv(&run.results().join("aggregate.csv"));
    let points: Vec<_> = aggregate
        .iter()
        .filter(|r| r["selection"] == "downstream")
        .collect();
    assert_eq!(points.len(), 6, "every configuration but the trees'");
    for point in points {
        let method = point["method"].as_str();
        let test: Vec<_> = rows_of[method]
            .iter()
            .filter(|r| r["split"] == "test")
            .collect();
        let mean = test.iter().map(|r| number(r, "accuracy")).sum::<f64>() / test.len() as f64;
        let most = |column| test.iter().map(|r| number(r, column)).fold(0.0, f64::max);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(
            close(number(point, "test_accuracy_mean"), mean),
            "{point:?}"
        );
        assert!(
            close(number(point, "test_dp_hard_max"), most("dp_hard")),
            "{point:?}"
        );
        assert!(
            close(number(point, "test_dp_soft_max"), most("dp_soft")),
            "{point:?}"
        );
        let epochs = if method == "laftr" { "30" } else { "12" };
        assert_eq!(point["epoch"], epochs);
    }
    let methods = read_csv(&run.results().join("methods.csv"));
    assert_eq!(
        methods
            .iter()
            .filter(|r| r["selection"] == "downstream")
            .count(),
        6
    );
    let report = std::fs::read_to_string(run.results().join("report.md")).unwrap();
    assert!(report.contains("the FCRL benchmark's protocol"), "{report}");
    assert!(run.results().join("pareto_downstream.svg").is_file());

    // Run again: nothing trains, and the downstream rows are neither lost nor doubled.
    let again = run.run(&[]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(text(&again).contains("0 ran now"), "{}", text(&again));
    assert_eq!(read_csv(&run.results().join("downstream.csv")), downstream);
}

#[test]
fn a_downstream_selection_without_its_section_or_with_bad_values_is_refused() {
    let file = "name: d\ndataset: {name: adult, max_rows: 300}\ntrain: {epochs: 1}\n";
    for (extra, expected) in [
        (
            "selection: [last, downstream]\n",
            "selection: downstream scores classifiers fitted on each trial's representation; \
             add a `downstream:` section",
        ),
        (
            "downstream: {runs: 0}\n",
            "downstream.runs: expected 1 to 100, found 0",
        ),
        (
            "downstream: {max_epochs: 0}\n",
            "downstream.max_epochs: expected 1 to 100000, found 0",
        ),
        (
            "downstream: {rnus: 3}\n",
            "unknown field `rnus`, expected `runs` or `max_epochs`",
        ),
    ] {
        let run = Run::new(&format!("{file}{extra}"));
        let output = run.on_results("plan", &[]);
        assert_eq!(output.status.code(), Some(2), "{extra}: {}", text(&output));
        assert!(
            text(&output).contains(expected),
            "{extra}: {}",
            text(&output)
        );
    }
}

#[test]
fn a_learners_settings_are_checked_and_named() {
    let run = Run::new(
        "name: d\ndataset: {name: adult, max_rows: 300}\n\
         train: {method: fcrl, epochs: 1, lambda: -1, z_size: 0}\n",
    );
    let output = run.on_results("plan", &[]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let said = text(&output);
    assert!(
        said.contains("train.lambda: expected a weight ≥ 0, found -1"),
        "{said}"
    );
    assert!(said.contains("train.z_size"), "{said}");

    // A learner's state is not checkpointed: a halving search cannot pause it at a rung.
    let run = Run::new(
        "name: d\ndataset: {name: adult, max_rows: 300}\ntrain: {method: fcrl, epochs: 4}\n\
         search: {halving: {rungs: [2, 4], keep: 0.5}}\nsweep: {lambda: [0.1, 1]}\n",
    );
    let output = run.on_results("plan", &[]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output).contains("search.halving: fcrl cannot yet pause and go on"),
        "{}",
        text(&output)
    );
}
