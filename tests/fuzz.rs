//! Every reader fuzzed with seeded mutations of valid inputs: experiment files, a user's data
//! table, a results folder's CSVs and manifest, saved models, predictions files and reference
//! points. Each mutated input must load or give an error that names its file: never a panic. Sizes that cannot run are refused by validation (see
//! tests/robustness.rs), so no input here can ask for unbounded memory or time.

mod common;

use std::cell::Cell;
use std::path::Path;

use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use fairbinn_sweep::results::{ResultsStore, read_results};
use fairbinn_sweep::{config, data};

/// What a mutation may put in: the characters and words that break readers.
const TOKENS: [&str; 24] = [
    ",",
    "\"",
    "\n",
    "\r\n",
    "\r",
    " ",
    ":",
    "-",
    "{",
    "}",
    "[",
    "]",
    "#",
    "'",
    "\u{feff}",
    "\t",
    "0",
    "-0",
    "1e400",
    "NaN",
    "inf",
    "18446744073709551615",
    "é",
    "\0",
];

/// (where, what to do, which token)
type Mutation = (Index, u8, &'static str);

fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    proptest::collection::vec((any::<Index>(), 0..5u8, select(&TOKENS[..])), 1..6)
}

fn mutate(original: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = original.to_vec();
    for (at, kind, token) in mutations {
        let i = at.index(bytes.len() + 1);
        let end = (i + token.len()).min(bytes.len());
        match kind {
            0 => bytes.splice(i..i, token.bytes()).for_each(drop),
            1 => bytes.splice(i..end, []).for_each(drop),
            2 => bytes.splice(i..end, token.bytes()).for_each(drop),
            3 => {
                // Repeat the line the place is in.
                let start = bytes[..i]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |s| s + 1);
                let stop = bytes[i..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(bytes.len(), |s| i + s + 1);
                let line = bytes[start..stop].to_vec();
                bytes.splice(stop..stop, line).for_each(drop);
            }
            _ => bytes.truncate(i),
        }
    }
    bytes
}

fn runner(seed: u8) -> TestRunner {
    let config = Config {
        cases: 2000,
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]),
    )
}

/// `Ok`, or an error whose message names `file`.
fn names_the_file<T>(result: anyhow::Result<T>, file: &Path) -> Result<(), TestCaseError> {
    if let Err(error) = result {
        let message = format!("{error:#}");
        prop_assert!(
            message.contains(&file.display().to_string()),
            "the error does not name {}: {message}",
            file.display()
        );
    }
    Ok(())
}

const EXPERIMENT: &str = "name: fuzz
preset: paper
dataset: {name: adult, sensitive: sex, val_fraction: 0.2, max_rows: 500}
model: {accuracy_layers: 2, fairness_layers: 1, fairness_position: 3, width: 16}
train:
  method: fairbinn
  epochs: 3
  lr_schedule: {exponential: {gamma_acc: 0.5, gamma_fair: 0.9, every: 2}}
seeds: [0, 1]
selection: [last, val-pareto, {val-best-accuracy: {max_dp: 0.05}}]
sweep:
  method: [erm, lagrangian, fairbinn]
  eta: [1, 10]
  zip:
    lr_acc: [1.0e-3, 1.0e-4]
    lr_fair: [1.0e-5, 1.0e-6]
  methods:
    lagrangian: {eta: [0.1, 1]}
";

#[test]
fn mutated_experiment_files_load_or_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fuzz.yaml");
    let (loaded, refused) = (Cell::new(0), Cell::new(0));
    runner(1)
        .run(&mutations(), |mutations| {
            let text = mutate(EXPERIMENT.as_bytes(), &mutations);
            let text = String::from_utf8_lossy(&text);
            let result = config::parse(&text, &path, None);
            if let Ok(file) = &result {
                let plan = fairbinn_sweep::plan::plan(file, &[]);
                prop_assert!(plan.trials.len() <= file.points.len());
                loaded.set(loaded.get() + 1);
            } else {
                refused.set(refused.get() + 1);
            }
            names_the_file(result, &path)
        })
        .unwrap();
    let (loaded, refused) = (loaded.get(), refused.get());
    assert!(
        loaded > 0 && refused > 0,
        "{loaded} loaded, {refused} refused"
    );
}

const USERS: &str = "name: users
dataset:
  name: csv
  file: t.csv
  label: {column: y, positive: [yes], negative: [no]}
  sensitive: {column: g}
  missing: {tokens: [\"?\"], action: impute}
train: {method: erm, epochs: 1, batch_size: 5}
";

fn users_table() -> String {
    let mut table = String::from("x,colour,g,y\n");
    for i in 0..60 {
        let colour = ["red", "blue", "?"][i % 3];
        let group = if i % 3 == 0 { "a" } else { "b" };
        let label = if i % 4 < 2 { "yes" } else { "no" };
        table += &format!("{},{colour},{group},{label}\n", i % 7);
    }
    table
}

#[test]
fn mutated_data_tables_load_or_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let experiment = dir.path().join("experiment.yaml");
    std::fs::write(&experiment, USERS).unwrap();
    let table = dir.path().join("t.csv");
    let original = users_table();
    let (loaded, refused) = (Cell::new(0), Cell::new(0));
    runner(2)
        .run(&mutations(), |mutations| {
            std::fs::write(&table, mutate(original.as_bytes(), &mutations)).unwrap();
            let result = config::read(&experiment, None).and_then(|file| data::load(&file.dataset));
            let count = if result.is_ok() { &loaded } else { &refused };
            count.set(count.get() + 1);
            names_the_file(result, &table)
        })
        .unwrap();
    let (loaded, refused) = (loaded.get(), refused.get());
    assert!(
        loaded > 0 && refused > 0,
        "{loaded} loaded, {refused} refused"
    );
}

#[test]
fn mutated_results_folders_open_or_name_the_file() {
    // A real results folder, made once.
    let run = common::Run::new(USERS);
    std::fs::write(run.dir.path().join("t.csv"), users_table()).unwrap();
    std::fs::write(
        run.experiment(),
        format!("{USERS}sweep: {{method: [erm, lagrangian], eta: [1, 2]}}\n"),
    )
    .unwrap();
    let output = run.without_data_dir("run");
    assert!(output.status.success(), "{}", common::text(&output));
    let trials = std::fs::read(run.results().join("trials.csv")).unwrap();
    let epochs = std::fs::read(run.results().join("epochs.csv")).unwrap();

    let dir = tempfile::tempdir().unwrap();
    runner(3)
        .run(&(mutations(), any::<bool>()), |(mutations, in_trials)| {
            let folder = tempfile::tempdir_in(dir.path()).unwrap();
            let (file, original) = match in_trials {
                true => ("trials.csv", &trials),
                false => ("epochs.csv", &epochs),
            };
            let (other, other_bytes) = match in_trials {
                true => ("epochs.csv", &epochs),
                false => ("trials.csv", &trials),
            };
            std::fs::write(folder.path().join(file), mutate(original, &mutations)).unwrap();
            std::fs::write(folder.path().join(other), other_bytes).unwrap();
            let path = folder.path().join(file);
            names_the_file(read_results(folder.path()), &path)?;
            let opened =
                ResultsStore::open(folder.path(), false).map(|store| store.finished().len());
            if let Ok(finished) = opened {
                prop_assert!(finished <= 3, "{finished} finished of 3 trials");
            }
            names_the_file(opened, &path)
        })
        .unwrap();
}

/// A small folder with saved models, predictions and a manifest, made once per test.
fn small_folder() -> common::Run {
    let run = common::Run::new(
        "name: small\ndataset: {name: adult, max_rows: 300}\nmodel: {width: 8}\n\
         train: {epochs: 2, batch_size: 50}\nsweep: {method: [erm, lagrangian]}\n",
    );
    let output = run.run(&["--quiet", "--save-predictions"]);
    assert!(output.status.success(), "{}", common::text(&output));
    run
}

/// Saved models: each mutation loads as a model that predicts finite probabilities, or is
/// refused naming the file (issue 29: the fuzzing covers model files).
#[test]
fn mutated_model_files_load_or_name_the_file() {
    use fairbinn_sweep::model_file::SavedModel;
    let run = small_folder();
    let original = run.a_saved_model();
    let original = std::fs::read(original).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let (loaded, refused) = (Cell::new(0), Cell::new(0));
    runner(4)
        .run(&mutations(), |mutations| {
            std::fs::write(&path, mutate(&original, &mutations)).unwrap();
            let model = match SavedModel::read(&path) {
                Ok(model) => model,
                Err(e) => {
                    refused.set(refused.get() + 1);
                    return names_the_file::<()>(Err(e), &path);
                }
            };
            loaded.set(loaded.get() + 1);
            // Loaded, a model predicts finite probabilities or refuses to, saying why.
            let row = vec![0.5f32; model.n_features()];
            match model.checked_probabilities(&row, Some(&[0])) {
                Ok(p) => prop_assert!(p.iter().all(|v| v.is_finite()), "{p:?}"),
                Err(e) => prop_assert!(format!("{e:#}").contains("is not a number"), "{e:#}"),
            }
            Ok(())
        })
        .unwrap();
    assert!(
        refused.get() > 0,
        "{} loaded, {} refused",
        loaded.get(),
        refused.get()
    );
}

/// Predictions files (`audit`'s input), manifests and reference points: each mutation reads,
/// or is refused naming the file; none panics.
#[test]
fn mutated_predictions_manifests_and_reference_points_read_or_name_the_file() {
    use fairbinn_sweep::results::manifest;
    let run = small_folder();
    let predictions = std::fs::read(run.results().join("predictions").join("last.csv")).unwrap();
    let manifest_bytes = std::fs::read(run.results().join("manifest.json")).unwrap();
    let references = b"label,accuracy,dp,dp_kind,accuracy_std,dp_low,dp_high\n\
        paper,0.83,0.01,soft,0.004,0.005,0.02\ntoolkit,0.82,0.002,hard,,,\n";
    let dir = tempfile::tempdir().unwrap();
    runner(5)
        .run(&(mutations(), 0..3u8), |(mutations, which)| {
            let folder = tempfile::tempdir_in(dir.path()).unwrap();
            match which {
                0 => {
                    let path = folder.path().join("last.csv");
                    std::fs::write(&path, mutate(&predictions, &mutations)).unwrap();
                    let result = fairbinn_sweep::audit::read(&path, None, None).or_else(|e| {
                        // A file of several models asks for a trial: name one and read again.
                        match format!("{e:#}").contains("--trial") {
                            true => fairbinn_sweep::audit::read(&path, Some("x"), None),
                            false => Err(e),
                        }
                    });
                    names_the_file(result, &path)
                }
                1 => {
                    let path = folder.path().join("manifest.json");
                    std::fs::write(&path, mutate(&manifest_bytes, &mutations)).unwrap();
                    if let Some(m) = manifest::read(folder.path()) {
                        prop_assert!(!m.experiment.name.is_empty() || m.runs.len() < 100);
                    }
                    Ok(())
                }
                _ => {
                    let path = folder.path().join("published.csv");
                    std::fs::write(&path, mutate(references, &mutations)).unwrap();
                    let mut problems = Vec::new();
                    let points = config::reference::read(&path, &mut problems);
                    for problem in &problems {
                        prop_assert!(problem.contains(&path.display().to_string()), "{problem}");
                    }
                    for p in &points {
                        prop_assert!(
                            (0.0..=1.0).contains(&p.accuracy) && (0.0..=1.0).contains(&p.gap)
                        );
                    }
                    Ok(())
                }
            }
        })
        .unwrap();
}
