//! Helpers shared by the end-to-end tests: a temporary folder with an experiment file, the
//! binary run on it with the shared data, and CSVs read back.
#![allow(dead_code)] // each test file uses a part

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `../shared/data`, where our machines keep every data set; `None` in a clone with nothing
/// beside it, where runs read the copies built into the binary.
pub fn shared_data() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    dir.is_dir().then_some(dir)
}

/// `../shared/data/<name>`, or `None` after saying that `test` is skipped for want of it.
pub fn shared_set(name: &str, test: &str) -> Option<PathBuf> {
    let dir = shared_data()
        .map(|dir| dir.join(name))
        .filter(|dir| dir.is_dir());
    if dir.is_none() {
        // Straight to stderr: the test harness would swallow eprintln! of a passing test.
        let _ = writeln!(
            std::io::stderr(),
            "{test} skipped: it needs ../shared/data/{name}, which this clone does not have \
             (`fairbinn-sweep data fetch {name}` fetches it for runs)"
        );
    }
    dir
}

/// A sweep small enough for a test: 1,500 rows of each Adult file, 2 epochs.
pub const TINY: &str = "
name: tiny
dataset:
  name: adult
  max_rows: 1500
train:
  epochs: 2
  batch_size: 100
sweep:
  method: [erm, lagrangian, fairbinn]
  eta: [10, 1000]
";

/// A halving search: 1 erm and 4 Lagrangian configurations, 2 seeds, rungs at 2, 4 and 6
/// epochs, half kept.
pub const HALVING: &str = "
name: halving
dataset: {name: adult, max_rows: 3000}
train: {epochs: 6, batch_size: 100}
seeds: [0, 1]
search: {halving: {rungs: [2, 4, 6], keep: 1/2}}
selection: [val-pareto]
sweep:
  method: [erm, lagrangian]
  eta: [1, 10, 100, 1000]
";

pub struct Run {
    pub dir: tempfile::TempDir,
}

impl Run {
    pub fn new(experiment: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("experiment.yaml"), experiment).unwrap();
        Self { dir }
    }

    pub fn results(&self) -> PathBuf {
        self.dir.path().join("results")
    }

    pub fn experiment(&self) -> PathBuf {
        self.dir.path().join("experiment.yaml")
    }

    /// The binary with `subcommand`, this experiment file and the shared data when there
    /// is some (else the built-in copies); a `data fetch` cache of its own, empty.
    pub fn command(&self, subcommand: &str) -> Command {
        let mut command = binary();
        command.arg(subcommand).arg(self.experiment());
        if let Some(dir) = shared_data() {
            command.arg("--data-dir").arg(dir);
        }
        command.env("XDG_CACHE_HOME", self.dir.path().join("cache"));
        command
    }

    /// `subcommand` on this folder's results.
    pub fn on_results(&self, subcommand: &str, extra: &[&str]) -> Output {
        self.command(subcommand)
            .arg("--results-dir")
            .arg(self.results())
            .args(extra)
            .output()
            .unwrap()
    }

    /// `subcommand` on this folder's results with no data folder named: a table of the
    /// user's is found beside the experiment file, a built-in set is the binary's copy.
    pub fn without_data_dir(&self, subcommand: &str) -> Output {
        self.without_data_dir_with(subcommand, &[])
    }

    /// [`without_data_dir`](Self::without_data_dir) with more arguments.
    pub fn without_data_dir_with(&self, subcommand: &str, extra: &[&str]) -> Output {
        binary()
            .arg(subcommand)
            .arg(self.experiment())
            .arg("--results-dir")
            .arg(self.results())
            .args(extra)
            .env("XDG_CACHE_HOME", self.dir.path().join("cache"))
            .output()
            .unwrap()
    }

    /// One of the models the run saved (the first by the folder's listing).
    pub fn a_saved_model(&self) -> PathBuf {
        let models = self.results().join("models");
        let entry = std::fs::read_dir(&models).unwrap().next().unwrap();
        entry.unwrap().path()
    }

    /// The results folder's `manifest.json`.
    pub fn manifest(&self) -> serde_json::Value {
        let path = self.results().join("manifest.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    /// `run` into this folder's results.
    pub fn run(&self, extra: &[&str]) -> Output {
        self.on_results("run", extra)
    }

    /// `run` into this folder's results, started and left running (to be killed).
    pub fn spawn(&self, extra: &[&str]) -> Child {
        self.command("run")
            .arg("--results-dir")
            .arg(self.results())
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }
}

/// Wait (at most two minutes) until `ready` holds.
pub fn wait_for(what: &str, ready: impl Fn() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The binary, with no data folder or mirror from this machine's environment.
pub fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fairbinn-sweep"));
    command
        .env_remove("FAIRBINN_DATA_DIR")
        .env_remove("FAIRBINN_MIRROR");
    command
}

pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Rows of a CSV as maps from column name to value.
pub fn read_csv(path: &Path) -> Vec<HashMap<String, String>> {
    read_csv_from(std::fs::File::open(path).unwrap())
}

/// Rows of CSV text as maps from column name to value.
pub fn read_csv_from(input: impl std::io::Read) -> Vec<HashMap<String, String>> {
    let mut reader = csv::Reader::from_reader(input);
    let header = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            header
                .iter()
                .map(String::from)
                .zip(r.iter().map(String::from))
                .collect()
        })
        .collect()
}

pub fn number(row: &HashMap<String, String>, column: &str) -> f64 {
    row[column]
        .parse()
        .unwrap_or_else(|_| panic!("{column} = {:?}", row[column]))
}

/// Trial rows without their timing, sorted: what must not depend on how the sweep ran.
pub fn result_rows(dir: &Path) -> Vec<BTreeMap<String, String>> {
    let mut rows: Vec<BTreeMap<String, String>> = read_csv(&dir.join("trials.csv"))
        .into_iter()
        .map(|row| row.into_iter().filter(|(k, _)| k != "seconds").collect())
        .collect();
    rows.sort_by(|a, b| a["trial_id"].cmp(&b["trial_id"]));
    rows
}
