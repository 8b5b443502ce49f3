//! The baselines end to end: `threshold` reading its base's networks in the same sweep,
//! identical to training its own; its fits honouring the constraint on validation.

mod common;

use std::collections::BTreeMap;

use common::{Run, number, read_csv, text};

/// erm and thresholds on it (deterministic and randomized, two tolerances), 2 seeds.
const THRESHOLDS: &str = "
name: thresholds
dataset: {name: adult, max_rows: 3000}
train: {epochs: 3, batch_size: 100}
seeds: [0, 1]
sweep:
  method: [erm, threshold]
  methods:
    threshold: {randomized: [false, true], tolerance: [0.02, 0.05]}
";

/// Epoch rows of `method`'s trials by (seed, tolerance, epoch, split), without the trial id.
fn rows_of(run: &Run, method: &str) -> BTreeMap<(String, String, String, String), Vec<String>> {
    let trials = read_csv(&run.results().join("trials.csv"));
    let mut rows = BTreeMap::new();
    for row in read_csv(&run.results().join("epochs.csv")) {
        let trial = trials
            .iter()
            .find(|t| t["trial_id"] == row["trial_id"])
            .unwrap();
        if trial["method"] != method {
            continue;
        }
        let key = (
            trial["seed"].clone(),
            trial["tolerance"].clone(),
            row["epoch"].clone(),
            row["split"].clone(),
        );
        let mut values: Vec<(String, String)> = row.into_iter().collect();
        values.sort();
        rows.insert(key, values.into_iter().map(|(_, v)| v).collect());
    }
    rows
}

#[test]
fn thresholds_read_their_base_in_the_sweep_as_they_would_train_it_and_close_the_gap() {
    let together = Run::new(THRESHOLDS);
    let output = together.run(&["--jobs", "2"]);
    assert!(output.status.success(), "{}", text(&output));
    // The thresholds trained no network of their own: only erm's 2 seeds × 3 epochs.
    let runs = together.manifest()["runs"].clone();
    assert_eq!(runs[0]["trials"]["epochs"], 6, "{runs}");
    assert_eq!(runs[0]["trials"]["ran"], 10, "{runs}");

    // Alone, each seed's thresholds train their base once, and get the same numbers.
    let alone = Run::new(&THRESHOLDS.replace("[erm, threshold]", "[threshold]"));
    let output = alone.run(&["--jobs", "1"]);
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(alone.manifest()["runs"][0]["trials"]["epochs"], 6);
    for method in ["threshold-erm", "threshold-erm-randomized"] {
        let rows = rows_of(&together, method);
        assert_eq!(rows.len(), 2 * 2 * 3 * 2, "{method}");
        assert_eq!(rows, rows_of(&alone, method), "{method}");
    }

    // On the validation rows they were fitted on, the gap is within the tolerance; the
    // randomized rule's expected gap is the same soft and hard.
    let trials = read_csv(&together.results().join("trials.csv"));
    let epochs = read_csv(&together.results().join("epochs.csv"));
    let mut checked = 0;
    for trial in trials.iter().filter(|t| t["method"] != "erm") {
        let tolerance = number(trial, "tolerance");
        for row in epochs
            .iter()
            .filter(|r| r["trial_id"] == trial["trial_id"] && r["split"] == "validation")
        {
            assert!(
                number(row, "dp_hard") <= tolerance + 1e-9,
                "{trial:?} {row:?}"
            );
            if trial["method"] == "threshold-erm-randomized" {
                assert!((number(row, "dp_hard") - number(row, "dp_soft")).abs() < 1e-6);
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 8 * 3);
    // The randomized rule's numbers are labelled as expected values where they are read.
    let report = std::fs::read_to_string(together.results().join("report.md")).unwrap();
    assert!(
        report.contains("threshold-erm-randomized are randomized classifiers: their accuracy and ΔDP are expected values"),
        "{report}"
    );
}

#[test]
fn threshold_settings_are_checked_with_their_keys() {
    let run = Run::new(
        "name: bad\ndataset: {name: adult, max_rows: 300}\n\
         train: {method: threshold, base: threshold, tolerance: 2, constraint: eo, randomized: true}\n",
    );
    let output = run.on_results("plan", &[]);
    let said = text(&output);
    assert!(!output.status.success());
    assert!(
        said.contains("train.base: expected the method whose networks"),
        "{said}"
    );
    assert!(
        said.contains("train.tolerance: expected a gap in rates in [0, 1], found 2"),
        "{said}"
    );
    // A tolerance in range, but one randomized eo thresholds do not have.
    let run = Run::new(
        "name: bad\ndataset: {name: adult, max_rows: 300}\n\
         train: {method: threshold, tolerance: 0.05, constraint: eo, randomized: true}\n",
    );
    let said = text(&run.on_results("plan", &[]));
    assert!(
        said.contains("train.tolerance: randomized eo thresholds have no tolerance"),
        "{said}"
    );
}

/// adversarial and reductions in one sweep: read back from the CSVs, each with its settings;
/// the reduction fitted once however many seeds, its randomized gap the same soft and hard
/// and within its bound on the training rows' scale; a halving search refuses all three.
#[test]
fn adversarial_and_reductions_run_in_a_sweep_and_halving_refuses_the_baselines() {
    let run = Run::new(
        "name: baselines\ndataset: {name: adult, max_rows: 3000}\n\
         train: {epochs: 3, batch_size: 100}\nseeds: [0, 1]\n\
         sweep:\n  method: [adversarial, reductions]\n  methods:\n\
         \x20   adversarial: {alpha: [0.1, 1], constraint: [dp, eo]}\n\
         \x20   reductions: {randomized: [false, true], difference_bound: [0.005, 0.05]}\n",
    );
    let output = run.run(&[]);
    assert!(output.status.success(), "{}", text(&output));
    let trials = read_csv(&run.results().join("trials.csv"));
    let epochs = read_csv(&run.results().join("epochs.csv"));
    let of = |method: &str| -> Vec<_> { trials.iter().filter(|t| t["method"] == method).collect() };
    // Every trial recorded, each constraint its own (2 α × 2 constraints × 2 seeds).
    assert_eq!(of("adversarial").len(), 8);
    // No seed: one trial per setting.
    assert_eq!(
        of("reductions").len() + of("reductions-randomized").len(),
        4
    );
    for trial in of("adversarial") {
        assert_eq!(trial["status"], "ok");
        assert_eq!(trial["last_epoch"], "3");
        assert!(
            ["0.1", "1.0"].contains(&trial["alpha"].as_str()),
            "{trial:?}"
        );
        assert_eq!(trial["adversary_width"], "0");
    }
    for trial in of("reductions-randomized") {
        assert_eq!(
            (trial["last_epoch"].as_str(), trial["seed"].as_str()),
            ("1", "0")
        );
        let rows: Vec<_> = epochs
            .iter()
            .filter(|r| r["trial_id"] == trial["trial_id"])
            .collect();
        assert_eq!(rows.len(), 2, "a validation and a test row");
        for row in rows {
            assert!((number(row, "dp_hard") - number(row, "dp_soft")).abs() < 1e-12);
        }
    }
    // The looser bound leaves the larger gap (validation, randomized).
    let gap = |bound: &str| {
        let trial = of("reductions-randomized")
            .into_iter()
            .find(|t| t["difference_bound"] == bound)
            .unwrap();
        let row = epochs
            .iter()
            .find(|r| r["trial_id"] == trial["trial_id"] && r["split"] == "validation")
            .unwrap();
        number(row, "dp_hard")
    };
    assert!(
        gap("0.005") < gap("0.05"),
        "{} {}",
        gap("0.005"),
        gap("0.05")
    );

    for (method, why) in [
        ("adversarial", "its adversary is not saved"),
        ("reductions", "fitted whole"),
        ("threshold", "post-processes its base's networks"),
    ] {
        let run = Run::new(&format!(
            "name: h\ndataset: {{name: adult, max_rows: 300}}\n\
             train: {{method: {method}, epochs: 4}}\n\
             search: {{halving: {{rungs: [2, 4], keep: 1/2}}}}\n"
        ));
        let said = text(&run.on_results("plan", &[]));
        assert!(
            said.contains("search.halving:") && said.contains(why),
            "{method}: {said}"
        );
    }
}

/// Boosted trees as a base and as a learner: `threshold` on `gbdt` reads the gbdt trial's
/// trees (fitted once per seed) and keeps its validation gap within its tolerance; the
/// reduction over trees closes most of the trees' gap; a misspelt learner is named.
#[test]
fn boosted_trees_serve_thresholds_as_a_base_and_reductions_as_a_learner() {
    let run = Run::new(
        "name: trees\ndataset: {name: adult, max_rows: 3000}\nseeds: [0, 1]\n\
         sweep:\n  method: [gbdt, threshold, reductions]\n  methods:\n\
         \x20   gbdt: {rounds: [100]}\n\
         \x20   threshold: {base: [gbdt], rounds: [100], tolerance: [0.02, 0.05]}\n\
         \x20   reductions: {learner: [gbdt], rounds: [20], difference_bound: [0.02]}\n",
    );
    let output = run.run(&["--jobs", "2"]);
    assert!(output.status.success(), "{}", text(&output));
    let trials = read_csv(&run.results().join("trials.csv"));
    let epochs = read_csv(&run.results().join("epochs.csv"));
    let count = |method: &str| trials.iter().filter(|t| t["method"] == method).count();
    // Trees see every row by default: nothing is random, one trial however many seeds.
    assert_eq!(
        (
            count("gbdt"),
            count("threshold-gbdt"),
            count("reductions-gbdt")
        ),
        (1, 2, 1)
    );
    let runs = run.manifest()["runs"].clone();
    assert_eq!(runs[0]["trials"]["ran"], 4, "{runs}");
    let row = |trial: &std::collections::HashMap<String, String>, split: &str| {
        epochs
            .iter()
            .find(|r| r["trial_id"] == trial["trial_id"] && r["split"] == split)
            .unwrap()
            .clone()
    };
    for trial in &trials {
        assert_eq!(
            (trial["status"].as_str(), trial["last_epoch"].as_str()),
            ("ok", "1")
        );
        assert_eq!(
            trial["rounds"],
            if trial["method"] == "reductions-gbdt" {
                "20"
            } else {
                "100"
            }
        );
    }
    let trees_gap = number(
        &row(
            trials.iter().find(|t| t["method"] == "gbdt").unwrap(),
            "validation",
        ),
        "dp_hard",
    );
    assert!(
        trees_gap > 0.1,
        "unconstrained trees are unfair on Adult: {trees_gap}"
    );
    for trial in trials.iter().filter(|t| t["method"] == "threshold-gbdt") {
        let gap = number(&row(trial, "validation"), "dp_hard");
        assert!(gap <= number(trial, "tolerance") + 1e-9, "{trial:?}");
    }
    for trial in trials.iter().filter(|t| t["method"] == "reductions-gbdt") {
        let gap = number(&row(trial, "validation"), "dp_hard");
        assert!(
            gap < trees_gap / 2.0,
            "{gap} against the trees' {trees_gap}"
        );
    }

    let run = Run::new(
        "name: bad\ndataset: {name: adult, max_rows: 300}\n\
         train: {method: reductions, learner: forest}\n",
    );
    let said = text(&run.on_results("plan", &[]));
    assert!(
        said.contains(
            "train.learner: expected the classifier reductions reweights, one of logistic, gbdt, found \"forest\""
        ),
        "{said}"
    );
}
