//! `manifest.json`: what produced a results folder. The resolved experiment, the tool's
//! version and git revision, the data files' SHA-256, the machine, and one entry per run
//! into the folder (a resumed sweep has several), with its start and end.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::layout::MANIFEST_FILE;
use crate::data::DataFile;

/// What a run (or a merge) did to the folder: trials planned, skipped, run, by outcome.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecuteSummary {
    pub planned: usize,
    /// Already in the results folder from an earlier run.
    pub skipped: usize,
    /// Trials trained now (each once, however many rungs it went through).
    pub ran: usize,
    /// Stopped early by the collapse stop (finished, as `ran`).
    #[serde(default)]
    pub collapsed: usize,
    /// Stopped at a rung of a halving search, now (finished).
    #[serde(default)]
    pub halved: usize,
    pub diverged: usize,
    pub failed: usize,
    /// Epochs trained now, over every trial.
    #[serde(default)]
    pub epochs: usize,
}

#[derive(Serialize, Deserialize)]
pub struct Manifest {
    pub tool: Tool,
    pub experiment: Experiment,
    /// Every data file the folder's trials were trained on, each version once.
    pub data: Vec<DataFile>,
    pub machine: Machine,
    /// Oldest first.
    pub runs: Vec<Run>,
}

#[derive(Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
    /// The commit the binary was built from, when it was built in a git checkout.
    pub git_revision: Option<String>,
}

#[derive(Serialize, Deserialize)]
pub struct Experiment {
    pub file: PathBuf,
    pub name: String,
    /// The file as read, its preset applied.
    pub resolved: serde_json::Value,
    /// The same as YAML, its keys in the file's order (the sweep's first key is its slowest),
    /// which JSON objects do not keep: what `report` reads again.
    #[serde(default)]
    pub resolved_yaml: Option<String>,
}

#[derive(Serialize, Deserialize)]
pub struct Machine {
    pub cores: usize,
}

#[derive(Serialize, Deserialize)]
pub struct Run {
    /// `run` or `merge`.
    pub command: String,
    /// The commit of the tool that ran it (`tool` names the latest run's only); none in
    /// manifests written before runs kept their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_revision: Option<String>,
    pub started: String,
    /// Empty while the run goes on (or when it was killed).
    pub ended: Option<String>,
    pub jobs: Option<usize>,
    /// `2/4` for one shard of a sharded sweep.
    pub shard: Option<String>,
    /// For a merge, `ran` counts the trials copied from shards.
    pub trials: Option<ExecuteSummary>,
    /// Shard folders a merge read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<PathBuf>,
}

impl Manifest {
    /// The manifest for a run starting now: earlier runs are kept from the folder's manifest.
    pub fn start(
        dir: &Path,
        experiment: Experiment,
        data_files: &[DataFile],
        run: Run,
    ) -> Result<Self> {
        let (mut runs, mut data) = read_or_set_aside(dir)?
            .map(|old| {
                let mut runs = old.runs;
                // The tool's revision is the latest run's, so a manifest from before runs kept
                // their own still says which commit made its last run.
                if let Some(last) = runs.last_mut().filter(|run| run.git_revision.is_none()) {
                    last.git_revision = old.tool.git_revision;
                }
                (runs, old.data)
            })
            .unwrap_or_default();
        runs.push(run);
        // Every version of the data the folder's trials ran on stays on record.
        for file in data_files {
            if !data.contains(file) {
                data.push(file.clone());
            }
        }
        Ok(Self {
            tool: Tool {
                name: env!("CARGO_PKG_NAME").into(),
                version: env!("CARGO_PKG_VERSION").into(),
                git_revision: option_env!("FAIRBINN_GIT_REVISION").map(String::from),
            },
            experiment,
            data,
            machine: Machine {
                cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            },
            runs,
        })
    }

    pub fn finish(&mut self, summary: ExecuteSummary) {
        if let Some(run) = self.runs.last_mut() {
            run.ended = Some(now());
            run.trials = Some(summary);
        }
    }

    /// Written aside then renamed, so a kill leaves the old manifest or the new one.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)? + "\n";
        crate::files::write_atomically(&dir.join(MANIFEST_FILE), text.as_bytes())
    }
}

impl Run {
    pub fn new(command: &str) -> Self {
        Self {
            command: command.into(),
            git_revision: option_env!("FAIRBINN_GIT_REVISION").map(String::from),
            started: now(),
            ended: None,
            jobs: None,
            shard: None,
            trials: None,
            merged_from: Vec::new(),
        }
    }
}

/// The manifest a folder has, if it has a readable one.
pub fn read(dir: &Path) -> Option<Manifest> {
    let bound = crate::files::bounds::MANIFEST;
    let text = crate::files::read_bounded(&dir.join(MANIFEST_FILE), bound, "a manifest").ok()?;
    serde_json::from_slice(&text).ok()
}

/// The folder's manifest; one that does not read is moved to `manifest.json.damaged` (its
/// earlier runs and data versions kept there, not overwritten), saying so, and `None`.
fn read_or_set_aside(dir: &Path) -> Result<Option<Manifest>> {
    let path = dir.join(MANIFEST_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let text = crate::files::read_bounded(&path, crate::files::bounds::MANIFEST, "a manifest")?;
    let why = match serde_json::from_slice::<Manifest>(&text) {
        Ok(manifest) => return Ok(Some(manifest)),
        Err(e) => e,
    };
    let aside = dir.join(format!("{MANIFEST_FILE}.damaged"));
    std::fs::rename(&path, &aside)
        .with_context(|| format!("cannot move the damaged {} aside", path.display()))?;
    eprintln!(
        "warning: {}: not a manifest this version reads ({why}); moved to {}, and this run \
         starts a new one (the earlier runs and data versions are in the damaged file)",
        path.display(),
        aside.display()
    );
    Ok(None)
}

/// Refuse to write experiment `name`'s results into a folder whose manifest is another
/// experiment's (its trials would be hidden from every report), unless `force`.
pub fn check_owner(dir: &Path, name: &str, file: &Path, force: bool) -> Result<()> {
    let Some(other) = read(dir).filter(|m| m.experiment.name != name) else {
        return Ok(());
    };
    if force {
        eprintln!(
            "warning: {}: held results of the experiment {:?}; --force gives it to {name:?}",
            dir.display(),
            other.experiment.name
        );
        return Ok(());
    }
    anyhow::bail!(
        "{}: holds results of the experiment {:?} ({}), not of {name:?} ({}); give this run \
         another --results-dir, or --force to start the folder afresh for {name:?}",
        dir.display(),
        other.experiment.name,
        other.experiment.file.display(),
        file.display()
    )
}

fn now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}
