//! What a hostile or careless user does to a results folder, a file or a flag (issue 29):
//! each test names the item of the issue it reproduces, through the binary.

mod common;

use common::{Run, TINY, read_csv, text};

/// A tiny one-epoch sweep of two trials.
const SMALL: &str = "
name: small
dataset: {name: adult, max_rows: 300}
train: {epochs: 1, batch_size: 50}
sweep: {method: [erm, lagrangian]}
";

/// Item 11: a damaged manifest.json is set aside, said, and a new one started; nothing of the
/// folder's trials is lost.
#[test]
fn a_damaged_manifest_is_set_aside_and_said() {
    let run = Run::new(SMALL);
    assert!(run.run(&["--quiet"]).status.success());
    let manifest = run.results().join("manifest.json");
    std::fs::write(&manifest, "{\"tool\": [1, 2").unwrap();
    let output = run.run(&["--quiet"]);
    let said = text(&output);
    assert!(output.status.success(), "{said}");
    assert!(
        said.contains("manifest.json: not a manifest this version reads")
            && said.contains("manifest.json.damaged"),
        "{said}"
    );
    let aside = run.results().join("manifest.json.damaged");
    assert_eq!(std::fs::read_to_string(aside).unwrap(), "{\"tool\": [1, 2");
    // The new manifest reads, and the trials were not trained again.
    let manifest = run.manifest();
    assert_eq!(manifest["runs"].as_array().unwrap().len(), 1);
    assert_eq!(manifest["runs"][0]["trials"]["skipped"], 2);
}

/// Item 12: another experiment run into a folder is refused, naming both, unless --force.
#[test]
fn another_experiment_does_not_take_a_folder_over() {
    let run = Run::new(SMALL);
    assert!(run.run(&["--quiet"]).status.success());
    let before = std::fs::read(run.results().join("trials.csv")).unwrap();
    std::fs::write(run.experiment(), TINY).unwrap();
    let output = run.run(&["--quiet"]);
    let said = text(&output);
    assert_eq!(output.status.code(), Some(2), "{said}");
    assert!(
        said.contains("holds results of the experiment \"small\"")
            && said.contains("not of \"tiny\"")
            && said.contains("--force"),
        "{said}"
    );
    assert_eq!(
        std::fs::read(run.results().join("trials.csv")).unwrap(),
        before,
        "nothing written"
    );
    assert_eq!(run.manifest()["experiment"]["name"], "small");
    // `merge` into it is refused alike.
    let merged = run.on_results("merge", &[]);
    assert!(
        text(&merged).contains("holds results of the experiment \"small\""),
        "{}",
        text(&merged)
    );
    // With --force the folder is the new experiment's, afresh.
    let forced = run.run(&["--quiet", "--force"]);
    assert!(forced.status.success(), "{}", text(&forced));
    assert_eq!(run.manifest()["experiment"]["name"], "tiny");
    let rows = read_csv(&run.results().join("trials.csv"));
    assert!(rows.iter().all(|r| r["method"] != "erm" || r["epochs"] == "2"));
}

/// Item 13: a --save-predictions policy that is not the file's is refused before training.
#[test]
fn a_predictions_typo_is_refused_before_training() {
    let run = Run::new(SMALL);
    let output = run.run(&["--quiet", "--save-predictions=val-paretoo"]);
    let said = text(&output);
    assert_eq!(output.status.code(), Some(2), "{said}");
    assert!(
        said.contains("--save-predictions: \"val-paretoo\" is not a selection policy"),
        "{said}"
    );
    assert!(
        !run.results().join("trials.csv").exists(),
        "nothing trained: {said}"
    );
}
