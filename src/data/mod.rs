//! Data sets: loading, preprocessing and the train / validation / test splits.
//!
//! Everything downstream sees a [`Dataset`]: dense `f32` features, a 0/1 label and a
//! sensitive-group index per row. Loaders for each data set live in their own file.

pub mod adult;
mod locate;
mod preprocess;

use std::path::PathBuf;

use anyhow::Result;

pub use locate::DataDirSource;

/// One split of a data set, stored row-major so it converts to a tensor without copying.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// `rows × n_features` values, row after row.
    pub features: Vec<f32>,
    pub n_features: usize,
    /// 1.0 for the positive class, 0.0 otherwise.
    pub labels: Vec<f32>,
    /// Index of each row's sensitive group, `0..group_names.len()`.
    pub groups: Vec<u32>,
}

impl Split {
    pub fn n_rows(&self) -> usize {
        self.labels.len()
    }

    pub fn row(&self, index: usize) -> &[f32] {
        &self.features[index * self.n_features..(index + 1) * self.n_features]
    }
}

/// A data set ready for training: fixed splits, feature and group names.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub name: String,
    pub feature_names: Vec<String>,
    /// Names of the sensitive groups, indexed by the values in [`Split::groups`].
    pub group_names: Vec<String>,
    pub train: Split,
    pub validation: Split,
    pub test: Split,
    /// The files the data came from, for the record.
    pub files: Vec<PathBuf>,
}

impl Dataset {
    pub fn n_groups(&self) -> usize {
        self.group_names.len()
    }
}

/// What the experiment file says about the data, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetSpec {
    pub name: DatasetName,
    /// Where the files are, and who said so (flag, environment, experiment file, default).
    pub data_dirs: Vec<(PathBuf, DataDirSource)>,
    pub sensitive: String,
    /// Whether the sensitive attribute is also an input feature (the authors keep it).
    pub sensitive_as_feature: bool,
    /// Share of the training file held out for validation.
    pub val_fraction: f64,
    /// Seed of the shuffle that carves the validation split.
    pub split_seed: u64,
    /// Keep only the first N complete rows of each file (quick runs and tests).
    pub max_rows: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatasetName {
    Adult,
}

impl DatasetName {
    pub const ALL: [&'static str; 1] = ["adult"];

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "adult" => Some(Self::Adult),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Adult => "adult",
        }
    }
}

/// Load the data set an experiment names.
pub fn load(spec: &DatasetSpec) -> Result<Dataset> {
    match spec.name {
        DatasetName::Adult => adult::load(spec),
    }
}
