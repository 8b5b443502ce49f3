//! The results committed under `results/`: each folder is what `run` wrote at a committed
//! revision, and `report` draws its tables, report and figures again, byte for byte, from its
//! CSVs (`trials.csv`, `epochs.csv.gz`) and its manifest alone.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{binary, shared_data, text};

/// The inputs `report` reads (`downstream.csv` where the experiment has `downstream:`); every
/// other committed file is one of its outputs.
const INPUTS: [&str; 4] = [
    "manifest.json",
    "trials.csv",
    "epochs.csv.gz",
    "downstream.csv",
];

/// Every folder of `results/` kept in git (those with their per-epoch rows compressed).
fn committed_folders() -> Vec<PathBuf> {
    let results = Path::new(env!("CARGO_MANIFEST_DIR")).join("results");
    let mut folders: Vec<PathBuf> = std::fs::read_dir(&results)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|dir| dir.join("epochs.csv.gz").is_file())
        .collect();
    folders.sort();
    folders
}

/// The files of `dir` that `report` writes (neither its inputs nor what git leaves out).
fn outputs(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.file_type().unwrap().is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| !INPUTS.contains(&name.as_str()))
        .filter(|name| !matches!(name.as_str(), "epochs.csv" | "report.html" | ".lock"))
        .collect();
    names.sort();
    names
}

#[test]
fn report_draws_every_committed_result_again_byte_for_byte() {
    let folders = committed_folders();
    let names: Vec<String> = (folders.iter())
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for expected in ["adult", "adult_eta", "adult_depth", "adult_position"] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    let mut checked = 0;
    for committed in &folders {
        let name = committed.file_name().unwrap().to_string_lossy();
        let copy = tempfile::tempdir().unwrap();
        for input in INPUTS.iter().filter(|i| committed.join(i).is_file()) {
            std::fs::copy(committed.join(input), copy.path().join(input)).unwrap();
        }
        let mut report = binary();
        report.arg("report").arg(copy.path());
        if let Some(data) = shared_data() {
            report.arg("--data-dir").arg(data);
        }
        let output = report.output().unwrap();
        let printed = text(&output);
        if !output.status.success() && shared_data().is_none() && printed.contains("not found") {
            // Straight to stderr: the test harness would swallow eprintln! of a passing test.
            let _ = writeln!(
                std::io::stderr(),
                "results/{name} not checked: its data set is not shipped and ../shared/data is \
                 not beside this clone ({})",
                printed
                    .lines()
                    .find(|l| l.contains("not found"))
                    .unwrap_or_default()
                    .trim()
            );
            continue;
        }
        assert!(output.status.success(), "results/{name}: {printed}");
        let written = outputs(copy.path());
        assert_eq!(
            written,
            outputs(committed),
            "results/{name}: report writes these files; the folder must hold the same"
        );
        assert!(written.contains(&"report.md".to_string()), "{written:?}");
        for file in &written {
            let (again, kept) = (
                std::fs::read(copy.path().join(file)).unwrap(),
                std::fs::read(committed.join(file)).unwrap(),
            );
            assert!(
                again == kept,
                "results/{name}/{file} is not what `report` draws from the committed CSVs"
            );
        }
        checked += 1;
    }
    assert!(checked >= 4, "{checked} folders checked");
}

/// Each manifest names the revision of every run into its folder, and each is in this
/// repository's history (when it is a whole git checkout).
#[test]
fn each_committed_result_names_a_committed_revision() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let git = |args: &[&str]| Command::new("git").arg("-C").arg(root).args(args).output();
    let in_git = git(&["rev-parse", "HEAD"]).is_ok_and(|o| o.status.success());
    let shallow = git(&["rev-parse", "--is-shallow-repository"])
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "true");
    if !in_git || shallow {
        let _ = writeln!(
            std::io::stderr(),
            "revisions not checked against history: not a whole git checkout"
        );
    }
    let in_git = in_git && !shallow;
    for folder in committed_folders() {
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(folder.join("manifest.json")).unwrap()).unwrap();
        // The tool's revision is the latest run's: with one run, the one that trained them;
        // with more, each run must name its own.
        let runs = manifest["runs"].as_array().unwrap();
        let mut revisions = vec![
            manifest["tool"]["git_revision"]
                .as_str()
                .unwrap_or_default(),
        ];
        if runs.len() > 1 {
            revisions = (runs.iter())
                .map(|run| run["git_revision"].as_str().unwrap_or_default())
                .collect();
        }
        for revision in revisions {
            assert!(
                revision.len() == 40 && revision.chars().all(|c| c.is_ascii_hexdigit()),
                "{}: a run without its revision ({revision:?})",
                folder.display()
            );
            if in_git {
                let ancestor = git(&["merge-base", "--is-ancestor", revision, "HEAD"]).unwrap();
                assert!(
                    ancestor.status.success(),
                    "{}: {revision} is not in this history",
                    folder.display()
                );
            }
        }
    }
}
