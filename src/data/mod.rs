//! Data sets: loading, preprocessing and the train / validation / test splits.
//!
//! Everything downstream sees a [`Dataset`]: dense `f32` features, a 0/1 label and a
//! sensitive-group index per row. Every data set, built-in or a user's own, is a table
//! description ([`spec`]) read by one loader: [`table`] reads the files, [`encode`] turns
//! rows into splits.

pub mod catalogue;
pub mod checksum;
mod encode;
pub mod fetch;
mod groups;
mod locate;
mod new_rows;
mod preprocess;
pub mod spec;
pub mod synthetic;
mod table;

use std::fmt::Write;

use anyhow::Result;

use crate::metrics::{group_means, largest_group_gap, majority_accuracy, mean};
pub use encode::{Encoding, FeatureColumn, Preprocessing};
pub use locate::{DataDirSource, DataFile, Location, unzip};
pub use new_rows::NewRows;
pub use preprocess::Scaler;
pub use spec::DatasetSpec;

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
    pub files: Vec<DataFile>,
    /// How each file's records became rows (filtered, left out), for `data describe`.
    pub notes: Vec<String>,
    /// How rows became features, for saved models; `None` for data made in code (tests).
    pub preprocessing: Option<Preprocessing>,
}

/// The data a sweep's trials read: the data set, or with `split: pooled` one per seed, each
/// split by its seed ([`DatasetSpec::for_seed`]).
pub struct Splits<'a> {
    /// The data set as the experiment describes it (its `split_seed`'s split): what plans,
    /// estimates and reports read.
    pub first: &'a Dataset,
    by_seed: Vec<(u64, Dataset)>,
}

impl<'a> Splits<'a> {
    /// The one data set of the standard split.
    pub fn one(first: &'a Dataset) -> Self {
        Self {
            first,
            by_seed: Vec::new(),
        }
    }

    /// [`one`](Self::one), or with `split: pooled` each of `seeds`' data sets, loaded now.
    pub fn load(spec: &DatasetSpec, first: &'a Dataset, seeds: &[u64]) -> Result<Self> {
        let mut splits = Self::one(first);
        if spec.is_pooled() {
            for &seed in seeds {
                if !splits.by_seed.iter().any(|(s, _)| *s == seed) {
                    splits.by_seed.push((seed, load(&spec.for_seed(seed))?));
                }
            }
        }
        Ok(splits)
    }

    /// What trials of `seed` train and are scored on.
    pub fn of_seed(&self, seed: u64) -> &Dataset {
        (self.by_seed.iter())
            .find(|(s, _)| *s == seed)
            .map_or(self.first, |(_, data)| data)
    }
}

/// Load the data set an experiment describes.
pub fn load(spec: &DatasetSpec) -> Result<Dataset> {
    if let Some(generator) = &spec.generated {
        return encode::dataset(spec, vec![generator.table()]);
    }
    let location = spec.locate()?;
    let mut files = Vec::new();
    let mut tables = Vec::new();
    for file in spec.table.files.names() {
        let mut usable = encode::usable(spec);
        let (record, table) = location.read(file, |path, input| {
            let limit = spec.max_rows.map(|rows| table::Limit {
                rows,
                usable: &mut usable,
            });
            table::read(path, input, &spec.table, limit)
        })?;
        tables.push(table);
        files.push(record);
    }
    let mut dataset = encode::dataset(spec, tables)?;
    dataset.files = files;
    Ok(dataset)
}

impl DatasetSpec {
    /// Where the data set's files are, or an error saying where it looked.
    pub fn locate(&self) -> Result<Location> {
        let subfolder = (self.name != spec::CSV).then_some(self.name.as_str());
        locate::find_files(
            &self.name,
            subfolder,
            &self.table.files.names(),
            &self.data_dirs,
        )
    }
}

impl Dataset {
    /// What would make every fairness number meaningless, found before anything trains: a
    /// sensitive column with one group or a label with one class among the training rows is
    /// refused; a group with no validation or test rows is a warning (its gaps there are
    /// left out). Each names the column and the counts.
    pub fn check_usable(&self, spec: &DatasetSpec) -> Result<Vec<String>> {
        let (sensitive, label) = (spec.table.sensitive.name(), spec.table.label.column());
        let counts = |split: &Split| {
            let mut counts = vec![0usize; self.group_names.len()];
            for &g in &split.groups {
                counts[g as usize] += 1;
            }
            counts
        };
        let listed = |counts: &[usize]| {
            let named: Vec<String> = (self.group_names.iter().zip(counts))
                .map(|(name, n)| format!("{}: {n}", crate::escape::one_line(name)))
                .collect();
            named.join(", ")
        };
        let train = counts(&self.train);
        if train.iter().filter(|&&n| n > 0).count() < 2 {
            anyhow::bail!(
                "dataset.sensitive: column {sensitive:?} has fewer than two groups among the \
                 {} training rows ({}); every ΔDP would be 0",
                self.train.n_rows(),
                listed(&train)
            );
        }
        let positives = self.train.labels.iter().filter(|&&y| y > 0.5).count();
        if positives == 0 || positives == self.train.n_rows() {
            anyhow::bail!(
                "dataset.label: column {label:?} has one class among the {} training rows \
                 ({positives} positive); there is nothing to learn",
                self.train.n_rows()
            );
        }
        let mut warnings = Vec::new();
        for (name, split) in [("validation", &self.validation), ("test", &self.test)] {
            let counts = counts(split);
            if counts
                .iter()
                .zip(&train)
                .any(|(&here, &there)| here == 0 && there > 0)
            {
                warnings.push(format!(
                    "dataset.sensitive: column {sensitive:?}: a group has no {name} rows \
                     ({}); its gaps on that split are left out",
                    listed(&counts)
                ));
            }
        }
        Ok(warnings)
    }

    /// Data made in code (tests, `bench`'s checks): one split serving as training,
    /// validation and test rows; no files, no encoding to save.
    pub fn in_memory(name: &str, features: &[&str], groups: &[&str], split: Split) -> Self {
        Self {
            name: name.into(),
            feature_names: features.iter().map(|f| f.to_string()).collect(),
            group_names: groups.iter().map(|g| g.to_string()).collect(),
            train: split.clone(),
            validation: split.clone(),
            test: split,
            files: Vec::new(),
            notes: Vec::new(),
            preprocessing: None,
        }
    }

    pub fn n_groups(&self) -> usize {
        self.group_names.len()
    }

    /// Rows per split, features, and per group its size and base rate; the majority
    /// class's accuracy and the labels' own ΔDP. What `data describe` prints.
    pub fn describe(&self) -> String {
        self.describe_from(true)
    }

    /// As [`describe`](Self::describe), each file named without its folder: a report drawn
    /// again on another machine, or from another copy of the same files, says the same (its
    /// provenance has where the run read them).
    pub fn describe_for_report(&self) -> String {
        self.describe_from(false)
    }

    fn describe_from(&self, folders: bool) -> String {
        let mut out = String::new();
        let files: Vec<String> = (self.files.iter())
            .map(|f| match folders {
                true => f.path.display().to_string(),
                false => f
                    .path
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into(),
            })
            .collect();
        let _ = match files.is_empty() {
            true => writeln!(out, "{}, drawn by its generator (no files)", self.name),
            false => writeln!(out, "{}, read from {}", self.name, files.join(", ")),
        };
        if folders && (self.files.iter()).any(|f| f.path.starts_with(locate::BUILT_IN)) {
            let _ = writeln!(
                out,
                "  (the copy built into fairbinn-sweep: no {} folder was named, and the \
                 `data fetch` cache has none)",
                self.name
            );
        }
        for note in &self.notes {
            let _ = writeln!(out, "  {note}");
        }
        let names = &self.feature_names;
        let shown = match names.len() {
            0..=8 => names.join(", "),
            n => format!(
                "{}, …, {}",
                names[..5].join(", "),
                names[n - 2..].join(", ")
            ),
        };
        let _ = writeln!(out, "features: {} ({shown})", names.len());
        let _ = writeln!(out, "sensitive groups: {}", self.group_names.len());
        let splits = [
            ("train", &self.train),
            ("validation", &self.validation),
            ("test", &self.test),
        ];
        let width = self
            .group_names
            .iter()
            .map(|g| g.len())
            .max()
            .unwrap_or(0)
            .max(12);
        let _ = write!(out, "\n{:<width$}", "");
        for (name, _) in &splits {
            let _ = write!(out, " {:>22}", format!("{name}: rows  positive"));
        }
        let _ = write!(out, "\n{:<width$}", "all");
        for (_, split) in &splits {
            let rate = mean(split.labels.iter().map(|&y| f64::from(y)));
            let _ = write!(out, " {:>14} {rate:>7.4}", split.n_rows());
        }
        let base_rates: Vec<Vec<f64>> = splits
            .iter()
            .map(|(_, s)| group_means(&s.labels, &s.groups, self.n_groups(), |_| true))
            .collect();
        for (group, name) in self.group_names.iter().enumerate() {
            let _ = write!(out, "\n{name:<width$}");
            for ((_, split), rates) in splits.iter().zip(&base_rates) {
                let rows = split.groups.iter().filter(|&&g| g == group as u32).count();
                let _ = write!(out, " {rows:>14} {:>7.4}", rates[group]);
            }
        }
        let _ = write!(out, "\n{:<width$}", "majority acc.");
        for (_, split) in &splits {
            let _ = write!(out, " {:>22.4}", majority_accuracy(&split.labels));
        }
        let _ = write!(out, "\n{:<width$}", "label ΔDP");
        for (_, split) in &splits {
            let gap = largest_group_gap(&split.labels, &split.groups, self.n_groups(), |_| true);
            let _ = write!(out, " {gap:>22.4}");
        }
        out.push('\n');
        out
    }
}
