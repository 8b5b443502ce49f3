//! The experiment file is checked whole before any training: one test per kind of problem,
//! each reading the message a user gets. A refused file exits with 2 and trains nothing.

mod common;

use common::{Run, text};

/// Run `experiment` and return its message, checking that it was refused untouched.
fn refused(experiment: &str) -> String {
    let run = Run::new(experiment);
    let output = run.run(&[]);
    let message = text(&output);
    assert_eq!(output.status.code(), Some(2), "{message}");
    assert!(message.contains("experiment.yaml"), "{message}");
    assert!(!run.results().exists(), "nothing is written for a bad file");
    message
}

fn assert_has(message: &str, expected: &[&str]) {
    for part in expected {
        assert!(message.contains(part), "missing {part:?} in:\n{message}");
    }
}

#[test]
fn an_unknown_key_gets_its_line_and_the_closest_known_key() {
    let message = refused(
        "name: typo
dataset:
  name: adult
  sensitve: sex
train:
  lr_fiar: 0.001
sweeps:
  eta: [1]
",
    );
    assert_has(
        &message,
        &[
            "3 problems",
            "line 4: dataset.sensitve: unknown key; did you mean sensitive?",
            "line 6: train.lr_fiar: unknown key; did you mean lr_fair? (train keys: method, epochs,",
            "line 7: sweeps: unknown key; did you mean sweep?",
        ],
    );
}

#[test]
fn a_value_of_the_wrong_type_is_named_in_plain_words() {
    let message = refused(
        "name: types\ndataset: {name: adult}\ntrain:\n  epochs: two\n  shuffle: 3\n  lr_acc: fast\n",
    );
    assert_has(
        &message,
        &[
            "line 4: train.epochs: invalid type: string \"two\", expected a whole number ≥ 0",
            "line 5: train.shuffle: invalid type: integer `3`, expected a boolean",
            "line 6: train.lr_acc: invalid type: string \"fast\", expected a number",
        ],
    );
}

#[test]
fn out_of_range_values_are_all_reported_at_once() {
    let message = refused(
        "name: ranges
dataset: {name: adult, val_fraction: 1.5}
model: {accuracy_layers: 2, fairness_position: 4}
train: {epochs: 0, eta: -1, lr_acc: -0.1}
",
    );
    assert_has(
        &message,
        &[
            "5 problems",
            "line 2: dataset.val_fraction: expected a number between 0 and 1 (exclusive), found 1.5",
            "line 3: model.fairness_position: expected 1..=3",
            "line 4: train.epochs: expected at least 1",
            "line 4: train.eta: expected a number ≥ 0, found -1",
            "line 4: train.lr_acc: expected a positive learning rate, found -0.1",
        ],
    );
}

#[test]
fn a_bad_value_in_a_sweep_names_the_sweep_key_and_the_point() {
    let message = refused(
        "name: sweep-values
dataset: {name: adult}
sweep:
  method: [erm, fairbinn]
  eta: [10, -5]
",
    );
    assert_has(
        &message,
        &[
            "line 5: sweep.eta: train.eta: expected a number ≥ 0, found -5 (at method=erm, eta=-5, and 1 more sweep points)",
        ],
    );
}

#[test]
fn empty_and_malformed_sweep_lists_are_refused() {
    let message = refused(
        "name: lists
dataset: {name: adult}
sweep:
  eta: []
  lr_acc: 0.01
  zip: {lr_fair: [1.0e-5, 1.0e-6], follower_steps: [1]}
seeds: []
",
    );
    assert_has(
        &message,
        &[
            "line 4: sweep.eta: expected a non-empty list of values, like [1, 10, 100], found []",
            "line 5: sweep.lr_acc: expected a non-empty list of values",
            "line 6: sweep.zip: zipped lists must have the same length; lr_fair has 2, follower_steps has 1",
            "line 7: seeds: expected a non-empty list of seeds",
        ],
    );
}

#[test]
fn a_batch_larger_than_the_training_split_is_refused_before_training() {
    let message = refused(
        "name: batch\ndataset: {name: adult, max_rows: 500}\ntrain:\n  batch_size: 100\nsweep:\n  batch_size: [50, 5000]\n",
    );
    assert_has(
        &message,
        &[
            "line 6: sweep.batch_size: expected at most the 400 rows of the training split, found 5000",
        ],
    );
}

#[test]
fn missing_data_files_are_reported_with_the_other_problems() {
    let run = Run::new("name: nodata\ndataset: {name: health}\ntrain: {epochs: 0}\n");
    let output = common::binary()
        .arg("run")
        .arg(run.experiment())
        .arg("--data-dir")
        .arg(run.dir.path().join("nothing-here"))
        .env("XDG_CACHE_HOME", run.dir.path().join("cache"))
        .output()
        .unwrap();
    let message = text(&output);
    assert_eq!(output.status.code(), Some(2), "{message}");
    assert_has(
        &message,
        &[
            "2 problems",
            "dataset: the health data set was not found: it needs the files health.csv.zip",
            "nothing-here",
            "from --data-dir",
            "line 3: train.epochs: expected at least 1",
        ],
    );
}

#[test]
fn a_typo_in_the_shipped_adult_experiment_makes_the_fix_obvious() {
    let shipped = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/adult.yaml"),
    )
    .unwrap();
    let typo = shipped.replacen("  lr_fair:", "  lr_fiar:", 1);
    assert_ne!(typo, shipped);
    let line = typo.lines().position(|l| l.contains("lr_fiar")).unwrap() + 1;
    let message = refused(&typo);
    assert_has(
        &message,
        &[&format!(
            "line {line}: train.lr_fiar: unknown key; did you mean lr_fair?"
        )],
    );
}

#[test]
#[cfg(not(feature = "ndarray"))]
fn the_ndarray_backend_needs_its_feature() {
    let message = refused("name: nd\ndataset: {name: adult}\ntrain:\n  backend: ndarray\n");
    assert_has(
        &message,
        &[
            "line 4: train.backend: ndarray is not in this build; rebuild with `cargo build --release --features ndarray`",
        ],
    );
}

#[test]
fn a_misspelt_data_set_gets_the_closest_name() {
    let message = refused("name: typo\ndataset:\n  name: helth\n");
    assert_has(
        &message,
        &[
            "line 3: dataset.name: expected one of adult, compas, german, health, csv, synthetic, found \"helth\"; did you mean health?",
        ],
    );
}

#[test]
fn fronts_by_names_a_setting() {
    let message = refused("name: f\ndataset: {name: adult}\nfronts_by: [fairness_layer]\n");
    assert_has(
        &message,
        &[
            "line 3: fronts_by: fairness_layer is not a setting; expected some of eta, lr_acc",
            "fairness_layers",
        ],
    );
}
