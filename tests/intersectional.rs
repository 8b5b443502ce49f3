//! Intersectional groups end to end: two sensitive columns crossed ("F × B"), the small ones
//! merged into `other` (or refused), every method trained and selected on the crossed groups,
//! and `predict` placing new rows, a combination training never had among them.

mod common;

use std::path::Path;
use std::process::Output;

use common::{Run, binary, read_csv, text};

/// 800 rows: sex F/M, race A (most), B, and C (rare: 8 rows), a number, a label.
fn write_tables(dir: &Path) {
    let row = |i: usize| {
        let sex = ["F", "M"][(i / 3) % 2];
        let race = match i % 100 {
            0 => "C",
            r if r % 4 == 1 => "B",
            _ => "A",
        };
        let score = (i * 37) % 100;
        let yes = score + usize::from(sex == "M") * 20 + usize::from(race == "A") * 10 > 70;
        format!("{score},{sex},{race},{}\n", ["no", "yes"][usize::from(yes)])
    };
    let head = "score,sex,race,outcome\n";
    let train: String = (0..600).map(row).collect();
    let test: String = (600..800).map(row).collect();
    std::fs::write(dir.join("train.csv"), format!("{head}{train}")).unwrap();
    std::fs::write(dir.join("test.csv"), format!("{head}{test}")).unwrap();
}

/// `predict` with the run's `threshold-erm` model on new rows (score, sex, race).
fn predict_with_the_threshold_model(run: &Run, rows: &str) -> Output {
    let trials = read_csv(&run.results().join("trials.csv"));
    let threshold = (trials.iter())
        .find(|t| t["method"] == "threshold-erm")
        .unwrap();
    let model =
        (run.results().join("models")).join(format!("{}-e1.safetensors", threshold["trial_id"]));
    let new = run.dir.path().join("new.csv");
    std::fs::write(&new, format!("score,sex,race\n{rows}")).unwrap();
    binary()
        .args(["predict", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&new)
        .output()
        .unwrap()
}

const EXPERIMENT: &str = "name: crossed
dataset:
  name: csv
  train_file: train.csv
  test_file: test.csv
  label: {column: outcome, positive: [yes], negative: [no]}
  sensitive: [{column: sex}, {column: race}]
  small_groups: {min_rows: 3, action: merge}
train: {epochs: 3, batch_size: 50, lr_acc: 0.01, lr_fair: 0.001, eta: 10}
sweep:
  method: [erm, lagrangian, fairbinn-reference, adversarial, threshold, reductions]
  methods:
    threshold: {base: [erm], tolerance: [0.05]}
selection: [val-pareto, last]
";

#[test]
fn crossed_columns_train_select_and_predict_on_their_combinations() {
    let run = Run::new(EXPERIMENT);
    write_tables(run.dir.path());
    let describe = binary()
        .args(["data", "describe"])
        .arg(run.experiment())
        .output()
        .unwrap();
    let said = text(&describe);
    assert!(describe.status.success(), "{said}");
    assert!(
        said.contains("sensitive: sex × race: 6 combinations with rows"),
        "{said}"
    );
    assert!(
        said.contains(
            "small_groups: 2 groups with fewer than 3 rows in a split merged into other: \
             F × C (4 training, 0 validation, 1 test), M × C (2 training, 0 validation, 1 test)"
        ),
        "{said}"
    );
    assert!(said.contains("sensitive groups: 5"), "{said}");
    for group in ["F × A", "F × B", "M × A", "M × B", "other"] {
        assert!(
            said.lines().any(|l| l.starts_with(group)),
            "{group} in {said}"
        );
    }

    let output = run.without_data_dir_with("run", &["--quiet"]);
    assert!(output.status.success(), "{}", text(&output));
    let trials = read_csv(&run.results().join("trials.csv"));
    assert_eq!(trials.len(), 6);
    assert!(trials.iter().all(|t| t["status"] == "ok"), "{trials:?}");
    // Every epoch's rates are per crossed group: five of them.
    let epochs = read_csv(&run.results().join("epochs.csv"));
    let rates = &epochs[0]["group_positive_rates"];
    assert_eq!(rates.split_whitespace().count(), 5, "{rates}");

    // The threshold model's cuts need each new row's group: a combination training merged
    // (M × C) and one it never had (M × D) are both `other`.
    let predicted = predict_with_the_threshold_model(&run, "50,F,A\n50,M,C\n50,M,D\n");
    assert!(predicted.status.success(), "{}", text(&predicted));
    let rows = common::read_csv_from(&predicted.stdout[..]);
    let groups: Vec<&str> = rows.iter().map(|r| r["group"].as_str()).collect();
    assert_eq!(groups, ["F × A", "other", "other"]);
}

#[test]
fn without_a_merge_small_groups_are_refused_and_unseen_combinations_have_no_group() {
    let refusing = EXPERIMENT.replace("action: merge", "action: refuse");
    let run = Run::new(&refusing);
    write_tables(run.dir.path());
    let output = run.without_data_dir_with("run", &["--quiet"]);
    assert_eq!(output.status.code(), Some(2));
    let said = text(&output);
    assert!(
        said.contains(
            "dataset.small_groups: 2 groups with fewer than 3 rows in a split: F × C (4 \
             training, 0 validation, 1 test), M × C (2 training, 0 validation, 1 test)"
        ),
        "{said}"
    );

    // No rule: the rare combinations are groups of their own; a new row's combination that
    // training never had is in none, which a threshold model's cuts cannot decide.
    let unruled = EXPERIMENT
        .replace("  small_groups: {min_rows: 3, action: merge}\n", "")
        .replace(
            "[erm, lagrangian, fairbinn-reference, adversarial, threshold, reductions]",
            "[erm, threshold]",
        );
    let run = Run::new(&unruled);
    write_tables(run.dir.path());
    let output = run.without_data_dir_with("run", &["--quiet"]);
    assert!(output.status.success(), "{}", text(&output));
    let predicted = predict_with_the_threshold_model(&run, "50,F,A\n50,M,D\n");
    assert_eq!(predicted.status.code(), Some(2));
    let said = text(&predicted);
    assert!(
        said.contains("line 3: column \"sex × race\" is in none of the model's groups"),
        "{said}"
    );
}
