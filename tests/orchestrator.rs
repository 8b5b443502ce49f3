//! The sweep runner end to end: planning, asking before a large run, resuming after a kill,
//! the results folder's lock, shards and their merge, the manifest and progress lines.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use common::{Run, TINY, read_csv, result_rows, text, wait_for};

/// Six erm trials of a few seconds each: long enough to be caught while running.
const SLOW: &str = "
name: slow
dataset: {name: adult, max_rows: 6000}
train: {method: erm, epochs: 8, batch_size: 50}
sweep:
  lr_acc: [1.0e-4, 2.0e-4, 3.0e-4, 4.0e-4, 5.0e-4, 6.0e-4]
";

fn rows_in(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |text| text.lines().count().saturating_sub(1))
}

#[test]
fn plan_lists_zipped_and_per_method_trials_with_an_estimate_without_training() {
    let run = Run::new(
        "
name: planned
dataset: {name: adult, max_rows: 1500}
train: {epochs: 2, batch_size: 100}
sweep:
  method: [erm, lagrangian, fairbinn]
  eta: [10, 1000]
  zip: {lr_acc: [1.0e-3, 1.0e-2], lr_fair: [1.0e-5, 1.0e-4]}
  methods:
    lagrangian: {eta: [0.5]}
",
    );
    let plan = |run: &Run| {
        let output = run.on_results("plan", &[]);
        assert!(output.status.success(), "{}", text(&output));
        text(&output)
    };
    let printed = plan(&run);
    // erm: 2 η × 2 zipped rates, η ignored → 2; lagrangian: its own η × 2 → 2; fairbinn: 4.
    assert!(
        printed.contains("8 trials from 10 sweep points (2 identical for their method, run once); 0 already done, 8 to run."),
        "{printed}"
    );
    let table: Vec<&str> = printed
        .lines()
        .filter(|line| line.ends_with("to run") && !line.contains("trials"))
        .collect();
    assert_eq!(table.len(), 8, "{printed}");
    let lagrangian: Vec<&&str> = table.iter().filter(|l| l.contains("lagrangian")).collect();
    assert_eq!(lagrangian.len(), 2, "{printed}");
    assert!(lagrangian.iter().all(|l| l.contains(" 0.5 ")), "{printed}");
    assert!(printed.contains("Estimated run time:"), "{printed}");
    assert!(printed.contains("fairbinn, batch 100"), "{printed}");
    assert!(!run.results().exists(), "plan trains and writes nothing");

    assert!(run.run(&[]).status.success());
    let printed = plan(&run);
    assert!(printed.contains("8 already done, 0 to run."), "{printed}");
    assert!(printed.contains("Nothing to run"), "{printed}");
}

#[test]
fn a_plan_above_the_limit_runs_only_with_yes() {
    let run = Run::new(TINY);
    let output = run.run(&["--ask-above", "3"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let message = text(&output);
    assert!(
        message.contains("This run trains 5 trials (more than --ask-above 3)"),
        "{message}"
    );
    assert!(message.contains("Add --yes to go ahead"), "{message}");
    assert_eq!(rows_in(&run.results().join("trials.csv")), 0);

    let output = run.run(&["--ask-above", "3", "--yes"]);
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(rows_in(&run.results().join("trials.csv")), 5);
}

#[test]
fn a_sweep_killed_mid_run_resumes_with_each_trial_once() {
    let run = Run::new(SLOW);
    let trials = run.results().join("trials.csv");
    let epochs = run.results().join("epochs.csv");
    let mut first = run.spawn(&["--jobs", "1"]);
    wait_for("two finished trials", || rows_in(&trials) >= 2);
    first.kill().unwrap(); // SIGKILL: no chance to clean up
    first.wait().unwrap();
    let done_before = rows_in(&trials);
    assert!(done_before < 6, "the kill came too late to test anything");
    // A kill in the middle of a write leaves a row cut short.
    for path in [&trials, &epochs] {
        let mut bytes = std::fs::read(path).unwrap();
        bytes.extend_from_slice(b"0123456789abcdef,cut sh");
        std::fs::write(path, bytes).unwrap();
    }

    let output = run.run(&["--jobs", "2"]);
    assert!(output.status.success(), "{}", text(&output));
    let expected = format!(
        "{} ran now, {done_before} were already done",
        6 - done_before
    );
    assert!(text(&output).contains(&expected), "{}", text(&output));
    let rows = read_csv(&trials);
    let mut ids: Vec<&str> = rows.iter().map(|r| r["trial_id"].as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!((rows.len(), ids.len()), (6, 6), "each trial exactly once");
    let mut per_trial: HashMap<String, usize> = HashMap::new();
    for row in read_csv(&epochs) {
        *per_trial.entry(row["trial_id"].clone()).or_default() += 1;
    }
    assert_eq!(per_trial.len(), 6);
    assert!(
        per_trial.values().all(|&n| n == 8 * 2),
        "8 epochs × 2 splits each: {per_trial:?}"
    );
}

#[test]
fn a_second_run_into_the_same_folder_is_refused_while_the_first_runs() {
    let run = Run::new(SLOW);
    let lock = run.results().join(".lock");
    let mut first = run.spawn(&["--jobs", "1"]);
    wait_for("the first run's lock", || {
        std::fs::read_to_string(&lock).is_ok_and(|text| text.starts_with("process"))
    });
    let second = run.run(&[]);
    let message = text(&second);
    assert_eq!(second.status.code(), Some(2), "{message}");
    assert!(
        message.contains("another fairbinn-sweep is writing to")
            && message.contains(&format!("process {}", first.id())),
        "{message}"
    );
    first.kill().unwrap();
    first.wait().unwrap();
    // The lock went with the killed process.
    let third = run.run(&[]);
    assert!(third.status.success(), "{}", text(&third));
    assert_eq!(rows_in(&run.results().join("trials.csv")), 6);
}

#[test]
fn shards_merged_equal_the_unsharded_sweep() {
    let whole = Run::new(TINY);
    assert!(whole.run(&[]).status.success());

    let sharded = Run::new(TINY);
    let shard_dir = |i: usize| sharded.results().join(format!("shards/{i}-of-2"));
    for i in 1..=2 {
        let output = sharded
            .command("run")
            .args(["--shard", &format!("{i}/2"), "--results-dir"])
            .arg(shard_dir(i))
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", text(&output));
        assert!(
            text(&output).contains(&format!("shard {i}/2")),
            "{}",
            text(&output)
        );
    }
    // Round-robin over the 5 trials: 3 and 2.
    assert_eq!(rows_in(&shard_dir(1).join("trials.csv")), 3);
    assert_eq!(rows_in(&shard_dir(2).join("trials.csv")), 2);
    assert!(!sharded.results().join("trials.csv").exists());

    let merge = sharded.on_results("merge", &[]);
    assert!(merge.status.success(), "{}", text(&merge));
    assert!(
        text(&merge).contains("1-of-2: 3 trials"),
        "{}",
        text(&merge)
    );

    assert_eq!(
        result_rows(&whole.results()),
        result_rows(&sharded.results())
    );
    for file in ["aggregate.csv", "methods.csv"] {
        let read = |run: &Run| std::fs::read_to_string(run.results().join(file)).unwrap();
        assert_eq!(read(&whole), read(&sharded), "{file}");
    }
    // The shards' saved models come along, byte for byte the unsharded sweep's.
    let models = |dir: &Path| -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.join("models"))
            .unwrap()
            .map(|e| {
                let path = e.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read(&path).unwrap())
            })
            .collect();
        files.sort();
        files
    };
    let whole_models = models(&whole.results());
    assert!(whole_models.len() >= 5, "a model per trial at least");
    assert!(models(&sharded.results()) == whole_models);
    // Merging again adds nothing twice.
    let again = sharded.on_results("merge", &[]);
    assert!(again.status.success());
    assert_eq!(rows_in(&sharded.results().join("trials.csv")), 5);
    let wrong = sharded
        .command("merge")
        .arg("no-such-shard")
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(2));
    assert!(
        text(&wrong).contains("no-such-shard: no such shard folder"),
        "{}",
        text(&wrong)
    );
}

#[test]
fn the_manifest_records_what_produced_the_results() {
    let run = Run::new(TINY);
    assert!(run.run(&["--jobs", "2"]).status.success());
    let read = || run.manifest();
    let manifest = read();
    assert_eq!(manifest["tool"]["name"], "fairbinn-sweep");
    assert_eq!(manifest["tool"]["version"], env!("CARGO_PKG_VERSION"));
    let revision = &manifest["tool"]["git_revision"];
    assert!(
        revision.is_null() || revision.as_str().is_some_and(|r| r.len() == 40),
        "{revision}"
    );
    assert_eq!(manifest["experiment"]["name"], "tiny");
    assert_eq!(manifest["experiment"]["resolved"]["train"]["epochs"], 2);
    let data = manifest["data"].as_array().unwrap();
    assert_eq!(data.len(), 2, "adult.data and adult.test");
    for file in data {
        assert_eq!(file["sha256"].as_str().unwrap().len(), 64);
        assert!(file["bytes"].as_u64().unwrap() > 1_000_000);
    }
    assert!(manifest["machine"]["cores"].as_u64().unwrap() >= 1);
    let runs = manifest["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["jobs"], 2);
    assert_eq!(runs[0]["trials"]["ran"], 5);
    assert!(runs[0]["started"].as_str().unwrap() <= runs[0]["ended"].as_str().unwrap());
    // Each run names the commit that ran it, so a folder resumed by a later version says so.
    assert_eq!(
        runs[0].get("git_revision"),
        revision.as_str().map(|_| revision)
    );
    if let Some(commit) = revision.as_str() {
        let report = std::fs::read_to_string(run.results().join("report.md")).unwrap();
        assert!(
            report.contains(&format!("- `run` at {commit} ")),
            "{report}"
        );
    }

    assert!(run.run(&[]).status.success());
    let runs = read()["runs"].as_array().unwrap().clone();
    assert_eq!(runs.len(), 2, "a resumed run adds its own entry");
    assert_eq!(runs[1]["trials"]["skipped"], 5);

    // A manifest written before runs kept their own commit: the tool's was its last run's.
    let mut old = read();
    let earlier = "0123456789abcdef0123456789abcdef01234567";
    old["tool"]["git_revision"] = earlier.into();
    for run in old["runs"].as_array_mut().unwrap() {
        run.as_object_mut().unwrap().remove("git_revision");
    }
    let path = run.results().join("manifest.json");
    std::fs::write(&path, serde_json::to_string(&old).unwrap()).unwrap();
    assert!(run.run(&[]).status.success());
    let manifest = read();
    let runs = manifest["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    assert!(runs[0].get("git_revision").is_none(), "not known");
    assert_eq!(runs[1]["git_revision"], earlier);
    assert_eq!(
        runs[2].get("git_revision"),
        revision.as_str().map(|_| revision)
    );
}

#[test]
fn progress_is_a_line_per_trial_off_a_terminal_and_nothing_when_quiet() {
    let run = Run::new(TINY);
    let output = run.run(&[]);
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains("[1/5] "), "{log}");
    assert!(log.contains("[5/5] "), "{log}");
    assert!(log.contains("test accuracy"), "{log}");

    let quiet = Run::new(TINY);
    let output = quiet.run(&["--quiet"]);
    assert!(output.status.success());
    assert!(!String::from_utf8_lossy(&output.stderr).contains("[1/5]"));
}

#[test]
fn trial_ids_stay_those_of_earlier_versions_so_old_results_resume() {
    let output = common::binary()
        .arg("plan")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/adult.yaml"))
        .arg("--results-dir")
        .arg(tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    let printed = text(&output);
    assert!(output.status.success(), "{printed}");
    // Ids of experiments/adult.yaml's trials as the first release wrote them.
    for (method, id) in [
        ("erm", "a04611d1339fd698"),
        ("fairbinn", "de43e82a4c000412"),
        ("fairbinn-reference", "aad86581e77c5770"),
    ] {
        assert!(
            printed
                .lines()
                .any(|l| l.contains(id) && l.contains(method)),
            "{method} {id}:\n{printed}"
        );
    }
}

/// Every backend of this build trains the same trial (same initial weights, same batches) to
/// the same result, each under an id of its own.
#[test]
fn each_backend_trains_the_same_trial_under_an_id_of_its_own() {
    let backends = if cfg!(feature = "ndarray") {
        "[fused, flex, ndarray]"
    } else {
        "[fused, flex]"
    };
    let run = Run::new(&format!(
        "name: backends\ndataset: {{name: adult, max_rows: 1500}}\ntrain: {{method: fairbinn, epochs: 2}}\nsweep:\n  backend: {backends}\n"
    ));
    let output = run.run(&[]);
    assert!(output.status.success(), "{}", text(&output));
    let rows = read_csv(&run.results().join("trials.csv"));
    let ids: HashSet<&String> = rows.iter().map(|row| &row["trial_id"]).collect();
    assert_eq!(ids.len(), backends.split(',').count(), "{rows:?}");
    let accuracy = |row: &HashMap<String, String>| row["test_accuracy"].parse::<f64>().unwrap();
    // Only the kernels' rounding differs.
    for row in &rows[1..] {
        assert!(
            (accuracy(&rows[0]) - accuracy(row)).abs() < 0.005,
            "{rows:?}"
        );
    }
}
