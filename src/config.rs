//! The experiment file: its YAML schema, and validation into typed structs that the rest of
//! the program trusts. Sweep expansion (which builds one document per trial) is in
//! `sweep::plan`; this module turns one such document into a checked [`TrialSpec`].

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use serde::Deserialize;
use serde_norway::Value;

use crate::data::{DataDirSource, DatasetName, DatasetSpec, adult};
use crate::model::Architecture;
use crate::train::{Method, TrainSpec};

/// Keys of the sections a sweep may vary, as they are spelled in the file.
pub const MODEL_KEYS: [&str; 4] = [
    "accuracy_layers",
    "fairness_layers",
    "fairness_position",
    "width",
];
pub const TRAIN_KEYS: [&str; 7] = [
    "method",
    "epochs",
    "batch_size",
    "lr_acc",
    "lr_fair",
    "eta",
    "seed",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExperiment {
    name: String,
    dataset: RawDataset,
    #[serde(default)]
    model: RawModel,
    #[serde(default)]
    train: RawTrain,
    #[serde(default)]
    #[allow(dead_code)] // read as a Value by the planner; declared here so it is a known key
    sweep: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDataset {
    name: String,
    data_dir: Option<PathBuf>,
    #[serde(default = "defaults::sensitive")]
    sensitive: String,
    #[serde(default = "defaults::yes")]
    sensitive_as_feature: bool,
    #[serde(default = "defaults::val_fraction")]
    val_fraction: f64,
    #[serde(default)]
    split_seed: u64,
    max_rows: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    #[serde(default = "defaults::accuracy_layers")]
    accuracy_layers: usize,
    #[serde(default = "defaults::one")]
    fairness_layers: usize,
    fairness_position: Option<usize>,
    width: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrain {
    #[serde(default = "defaults::method")]
    method: String,
    #[serde(default = "defaults::epochs")]
    epochs: usize,
    #[serde(default = "defaults::batch_size")]
    batch_size: usize,
    #[serde(default = "defaults::lr_acc")]
    lr_acc: f64,
    #[serde(default = "defaults::lr_fair")]
    lr_fair: f64,
    #[serde(default = "defaults::eta")]
    eta: f64,
    #[serde(default)]
    seed: u64,
}

/// The paper's Adult set-up (Table 2) where the file is silent.
mod defaults {
    pub fn sensitive() -> String {
        "sex".into()
    }
    pub fn yes() -> bool {
        true
    }
    pub fn val_fraction() -> f64 {
        0.2
    }
    pub fn accuracy_layers() -> usize {
        2
    }
    pub fn one() -> usize {
        1
    }
    pub fn method() -> String {
        "fairbinn".into()
    }
    pub fn epochs() -> usize {
        50
    }
    pub fn batch_size() -> usize {
        100
    }
    pub fn lr_acc() -> f64 {
        1e-3
    }
    pub fn lr_fair() -> f64 {
        1e-5
    }
    pub fn eta() -> f64 {
        100.0
    }
}

impl Default for RawModel {
    fn default() -> Self {
        serde_norway::from_str("{}").expect("every model key has a default")
    }
}

impl Default for RawTrain {
    fn default() -> Self {
        serde_norway::from_str("{}").expect("every train key has a default")
    }
}

/// An experiment file, read and checked, before sweep expansion.
pub struct ExperimentFile {
    pub path: PathBuf,
    pub name: String,
    pub dataset: DatasetSpec,
    /// The whole document, from which the planner derives one document per trial.
    pub document: Value,
}

/// One trial's network and training, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialSpec {
    pub architecture: Architecture,
    pub train: TrainSpec,
}

/// Where the data directory comes from when the command line names one (flag or
/// environment), which takes precedence over the experiment file.
pub type DataDirOverride = Option<(PathBuf, DataDirSource)>;

/// Read and check an experiment file. Syntax errors, unknown keys and wrong types are
/// reported with the file name and line; then every value is checked at once.
pub fn read(path: &Path, data_dir: DataDirOverride) -> Result<ExperimentFile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the experiment file {}", path.display()))?;
    let raw: RawExperiment =
        serde_norway::from_str(&text).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let document: Value =
        serde_norway::from_str(&text).map_err(|e| anyhow!("{}: {e}", path.display()))?;

    let mut problems = Vec::new();
    if raw.name.is_empty()
        || !raw
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        problems.push(format!(
            "name: expected a non-empty name made of letters, digits, '-', '_' or '.' (it names the results folder), found {:?}",
            raw.name
        ));
    }
    let dataset = dataset_spec(raw.dataset, path, data_dir, &mut problems);
    // The base document (the file without its sweep) must be a valid trial by itself.
    trial_spec(raw.model, raw.train, &mut problems);
    if !problems.is_empty() {
        return Err(anyhow!("{}: {}", path.display(), problems.join("\n  ")));
    }
    Ok(ExperimentFile {
        path: path.to_path_buf(),
        name: raw.name,
        dataset: dataset.expect("no problems means the dataset was checked"),
        document,
    })
}

/// Check a document produced by the planner (the base document with sweep values set).
pub fn trial_from_document(document: &Value) -> Result<TrialSpec, String> {
    let raw: RawExperiment =
        serde_norway::from_value(document.clone()).map_err(|e| e.to_string())?;
    let mut problems = Vec::new();
    match trial_spec(raw.model, raw.train, &mut problems) {
        Some(trial) if problems.is_empty() => Ok(trial),
        _ => Err(problems.join("; ")),
    }
}

fn dataset_spec(
    raw: RawDataset,
    experiment_path: &Path,
    data_dir: DataDirOverride,
    problems: &mut Vec<String>,
) -> Option<DatasetSpec> {
    let Some(name) = DatasetName::parse(&raw.name) else {
        problems.push(format!(
            "dataset.name: expected one of {}, found {:?}",
            DatasetName::ALL.join(", "),
            raw.name
        ));
        return None;
    };
    if !adult::SENSITIVE.contains(&raw.sensitive.as_str()) {
        problems.push(format!(
            "dataset.sensitive: expected one of {} for {}, found {:?}",
            adult::SENSITIVE.join(", "),
            raw.name,
            raw.sensitive
        ));
    }
    if !(raw.val_fraction > 0.0 && raw.val_fraction < 1.0) {
        problems.push(format!(
            "dataset.val_fraction: expected a number between 0 and 1 (exclusive), found {}",
            raw.val_fraction
        ));
    }
    if raw.max_rows == Some(0) {
        problems.push("dataset.max_rows: expected at least 1".into());
    }
    // Precedence: --data-dir, then FAIRBINN_DATA_DIR, then the file, then the defaults.
    let data_dirs = match (data_dir, raw.data_dir) {
        (Some(named), _) => vec![named],
        (None, Some(dir)) => {
            // Relative to the experiment file, so the file works from any working directory.
            let base = experiment_path.parent().unwrap_or(Path::new("."));
            vec![(
                base.join(dir),
                DataDirSource::ExperimentFile(experiment_path.to_path_buf()),
            )]
        }
        (None, None) => ["../shared/data", "data"]
            .iter()
            .map(|dir| (PathBuf::from(dir), DataDirSource::Default))
            .collect(),
    };
    Some(DatasetSpec {
        name,
        data_dirs,
        sensitive: raw.sensitive,
        sensitive_as_feature: raw.sensitive_as_feature,
        val_fraction: raw.val_fraction,
        split_seed: raw.split_seed,
        max_rows: raw.max_rows,
    })
}

fn trial_spec(model: RawModel, train: RawTrain, problems: &mut Vec<String>) -> Option<TrialSpec> {
    let before = problems.len();
    let fairness_position = model.fairness_position.unwrap_or(model.accuracy_layers + 1);
    if model.fairness_layers == 0 {
        problems.push("model.fairness_layers: expected at least 1".into());
    }
    if fairness_position == 0 || fairness_position > model.accuracy_layers + 1 {
        problems.push(format!(
            "model.fairness_position: expected 1..={} (position p puts p-1 of the {} accuracy layers before the block), found {fairness_position}",
            model.accuracy_layers + 1,
            model.accuracy_layers
        ));
    }
    if model.width == Some(0) {
        problems
            .push("model.width: expected at least 1 (or leave it out for the input width)".into());
    }
    let method = Method::parse(&train.method);
    if method.is_none() {
        problems.push(format!(
            "train.method: expected one of {}, found {:?}",
            Method::ALL.join(", "),
            train.method
        ));
    }
    if train.epochs == 0 {
        problems.push("train.epochs: expected at least 1".into());
    }
    if train.batch_size == 0 {
        problems.push("train.batch_size: expected at least 1".into());
    }
    for (key, value) in [("lr_acc", train.lr_acc), ("lr_fair", train.lr_fair)] {
        if !(value.is_finite() && value > 0.0) {
            problems.push(format!(
                "train.{key}: expected a positive learning rate, found {value}"
            ));
        }
    }
    if !(train.eta.is_finite() && train.eta >= 0.0) {
        problems.push(format!(
            "train.eta: expected a number ≥ 0, found {}",
            train.eta
        ));
    }
    if problems.len() > before {
        return None;
    }
    let method = method?;
    Some(TrialSpec {
        architecture: Architecture {
            accuracy_layers: model.accuracy_layers,
            fairness_layers: model.fairness_layers,
            fairness_position,
            width: model.width,
        },
        train: TrainSpec {
            method,
            epochs: train.epochs,
            batch_size: train.batch_size,
            lr_acc: train.lr_acc,
            // Keys a method ignores are zeroed, so trials that differ only there are one trial.
            lr_fair: if method.uses_lr_fair() {
                train.lr_fair
            } else {
                0.0
            },
            eta: if method.uses_eta() { train.eta } else { 0.0 },
            seed: train.seed,
        },
    })
}
