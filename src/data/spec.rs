//! The `dataset:` section, checked into a typed [`DatasetSpec`].
//!
//! Every data set is a table description: which file(s), how to read them, which column is
//! the label, which the sensitive attribute, which are features. The built-in sets are such
//! descriptions (`builtin/*.yaml`), so `name: csv` with the same keys loads the same rows,
//! and keys set in the experiment file override a built-in's.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_norway::{Mapping, Value};

use super::DataDirSource;
use super::catalogue::{self, BUILTINS};
use super::synthetic::Synthetic;

pub const CSV: &str = "csv";
pub const SYNTHETIC: &str = "synthetic";

/// What the experiment file says about the data, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetSpec {
    /// A built-in name, or `csv`.
    pub name: String,
    /// Where the files are, and who said so (flag, environment, experiment file, default).
    pub data_dirs: Vec<(PathBuf, DataDirSource)>,
    pub table: TableSpec,
    /// Whether the sensitive column is also an input feature (the authors keep it).
    pub sensitive_as_feature: bool,
    /// Share of the training rows held out for validation.
    pub val_fraction: f64,
    /// Seed of the shuffles that carve the test split (one-file tables) and validation split.
    pub split_seed: u64,
    /// The published files as they are, or pooled and split anew for each seed.
    pub split: SplitProtocol,
    /// Keep only the first N usable rows of each file (quick runs and tests).
    pub max_rows: Option<usize>,
    /// What decides the data's numbers, for trial ids: a built-in's name and sensitive
    /// choice when nothing else was changed (ids stay put across versions), else the table.
    pub identity: String,
    /// `name: synthetic`: the rows are drawn by these settings, not read from files.
    pub generated: Option<Synthetic>,
}

/// Where the train, validation and test rows come from (`dataset.split`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SplitProtocol {
    /// The published training and test files (or one file split by `split_seed`), the
    /// validation rows held out of the training ones: the same split for every seed.
    Standard,
    /// The literature's protocol (Zeng et al.): every row of the files pooled, and for each
    /// seed a random test share, then a validation share of the rest, both stratified by
    /// (group, label); the trial's seed draws them.
    Pooled { test_fraction: f64 },
}

impl DatasetSpec {
    /// The data set trials of `seed` read: with `split: pooled`, split by that seed.
    pub fn for_seed(&self, seed: u64) -> DatasetSpec {
        match self.split {
            SplitProtocol::Standard => self.clone(),
            SplitProtocol::Pooled { .. } => DatasetSpec {
                split_seed: seed,
                ..self.clone()
            },
        }
    }

    pub fn is_pooled(&self) -> bool {
        matches!(self.split, SplitProtocol::Pooled { .. })
    }
}

/// How to read a table and turn its rows into features, a label and a group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableSpec {
    pub files: Files,
    pub delimiter: u8,
    pub header: Header,
    /// Column names, in file order; required when the file has no header line.
    pub columns: Option<Vec<String>>,
    /// Lines starting with this byte are skipped.
    pub comment: Option<u8>,
    /// Rows must pass all of these.
    pub filters: Vec<Filter>,
    /// Columns computed from others, appended after the file's columns.
    pub derived: Vec<Derived>,
    pub label: Label,
    pub sensitive: Sensitive,
    pub categorical: Vec<String>,
    pub numeric: Vec<String>,
    /// Columns that are not features (they may still be filtered on or derived from).
    pub drop: Vec<String>,
    /// When given, only these columns are features.
    pub features: Option<Vec<String>>,
    pub missing: Missing,
    pub scale: Scale,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Files {
    /// One table, split into training and test rows by a seeded shuffle.
    One {
        file: String,
        test_fraction: f64,
    },
    TrainTest {
        train: String,
        test: String,
    },
}

impl Files {
    pub fn names(&self) -> Vec<&str> {
        match self {
            Self::One { file, .. } => vec![file],
            Self::TrainTest { train, test } => vec![train, test],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Header {
    Present,
    Absent,
    /// A first line none of whose fields is a number is a header.
    Auto,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Filter {
    pub column: String,
    pub comparison: Comparison,
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparison {
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

impl Comparison {
    /// Longest first, so `<=` is not read as `<`.
    pub const SYMBOLS: [(&'static str, Self); 6] = [
        ("==", Self::Equal),
        ("!=", Self::NotEqual),
        ("<=", Self::LessOrEqual),
        (">=", Self::GreaterOrEqual),
        ("<", Self::Less),
        (">", Self::Greater),
    ];

    pub fn is_ordering(self) -> bool {
        !matches!(self, Self::Equal | Self::NotEqual)
    }
}

/// A column holding, per row, the position of the largest of `argmax_of` (first on ties).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Derived {
    pub name: String,
    pub argmax_of: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Label {
    /// Positive when the value is one of `positive`. With `negative` given, any value in
    /// neither list is an error; without it, everything else is negative.
    Values {
        column: String,
        positive: Vec<String>,
        negative: Option<Vec<String>>,
    },
    /// Positive when the number is above `threshold`.
    Above { column: String, threshold: f64 },
}

impl Label {
    pub fn column(&self) -> &str {
        match self {
            Self::Values { column, .. } | Self::Above { column, .. } => column,
        }
    }
}

/// The sensitive attribute: a column and its groups, or several (`crossed`), whose every
/// combination present is a group ("Female × White").
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Sensitive {
    pub column: String,
    pub grouping: Grouping,
    /// The further columns of an intersectional attribute, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub crossed: Vec<Attribute>,
    /// What to do with groups that have too few rows in a split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub small_groups: Option<SmallGroups>,
}

/// One sensitive column and how its values make groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribute {
    pub column: String,
    pub grouping: Grouping,
}

/// Groups with fewer than `min_rows` rows in the training, validation or test split are
/// merged into one named [`OTHER`], or refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmallGroups {
    pub min_rows: usize,
    pub action: SmallAction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmallAction {
    Merge,
    Refuse,
}

/// The group small groups are merged into (and new rows whose combination training never had).
pub const OTHER: &str = "other";

/// How a group's name joins its attributes' values.
pub const CROSS: &str = " × ";

impl Sensitive {
    /// Its columns and groupings, in order.
    pub fn attributes(&self) -> Vec<(&str, &Grouping)> {
        std::iter::once((self.column.as_str(), &self.grouping))
            .chain(
                self.crossed
                    .iter()
                    .map(|a| (a.column.as_str(), &a.grouping)),
            )
            .collect()
    }

    /// Its columns' names, as messages name it: `sex`, or `sex × race`.
    pub fn name(&self) -> String {
        let columns: Vec<&str> = self.attributes().iter().map(|(c, _)| *c).collect();
        columns.join(CROSS)
    }
}

// By hand, so that a one-column attribute without a small-group rule prints as it did
// before either existed: a user's table enters trial ids by this text.
impl std::fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = f.debug_struct("Sensitive");
        out.field("column", &self.column);
        out.field("grouping", &self.grouping);
        if !self.crossed.is_empty() {
            out.field("crossed", &self.crossed);
        }
        if let Some(small) = &self.small_groups {
            out.field("small_groups", small);
        }
        out.finish()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Grouping {
    /// Each value its own group, in sorted order.
    Distinct,
    /// Two groups: `column <= t`, then `column > t`.
    Above(f64),
    /// Named groups of values, in the order written; rows in no group are left out.
    Named(Vec<(String, GroupValues)>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum GroupValues {
    Listed(Vec<String>),
    /// Every value no other group lists.
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Missing {
    /// Values that mean "missing", besides an empty field.
    pub tokens: Vec<String>,
    pub action: MissingAction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MissingAction {
    /// Leave out rows with a missing feature.
    Drop,
    /// Fill a missing number with the training rows' median, a missing category with their
    /// most frequent one.
    Impute,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scale {
    None,
    /// To [0, 1] by the training split's range.
    MinMax,
    /// To mean 0, standard deviation 1 by the training split's.
    Standard,
}

/// The keys of `dataset:` as written; checked by [`resolve`].
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RawDataset {
    pub name: String,
    pub data_dir: Option<PathBuf>,
    /// A built-in's choice by name (`sex`), or a description `{column, groups | above}`.
    pub sensitive: Option<Value>,
    /// `{min_rows, action: merge | refuse}`.
    pub small_groups: Option<Value>,
    pub sensitive_as_feature: Option<bool>,
    pub val_fraction: Option<f64>,
    pub split_seed: Option<u64>,
    /// `standard` (default) or `pooled`.
    pub split: Option<String>,
    pub max_rows: Option<usize>,
    pub file: Option<String>,
    pub train_file: Option<String>,
    pub test_file: Option<String>,
    pub test_fraction: Option<f64>,
    pub delimiter: Option<String>,
    /// true, false or auto.
    pub header: Option<Value>,
    pub columns: Option<Vec<String>>,
    pub comment: Option<String>,
    pub filter: Option<Vec<String>>,
    /// `{name: {argmax: [columns]}}`, in order.
    pub derive: Option<Value>,
    pub label: Option<RawLabel>,
    pub categorical: Option<Vec<String>>,
    pub numeric: Option<Vec<String>>,
    pub drop: Option<Vec<String>>,
    pub features: Option<Vec<String>>,
    pub missing: Option<RawMissing>,
    pub scale: Option<Scale>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct RawLabel {
    column: String,
    positive: Option<Vec<Value>>,
    negative: Option<Vec<Value>>,
    above: Option<f64>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct RawMissing {
    #[serde(default)]
    tokens: Vec<Value>,
    action: Option<MissingAction>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSensitive {
    column: String,
    groups: Option<Mapping>,
    above: Option<f64>,
}

/// The names `dataset.name` accepts.
pub fn known_names() -> Vec<&'static str> {
    BUILTINS
        .iter()
        .map(|b| b.name)
        .chain([CSV, SYNTHETIC])
        .collect()
}

/// A built-in's description (its `sensitive_choices` set aside), by name.
fn builtin(name: &str) -> Option<(Mapping, Mapping)> {
    let text = catalogue::builtin(name)?.description;
    let mut description: Mapping = serde_norway::from_str(text).expect("built-ins are valid");
    let choices = description
        .remove("sensitive_choices")
        .and_then(|v| v.as_mapping().cloned())
        .expect("a built-in lists its sensitive choices");
    Some((description, choices))
}

/// Check the `dataset:` section (`value`, already known to have the schema's shape). The
/// experiment file's path anchors a relative `data_dir`; `data_dir` from the command line
/// or environment wins over it.
pub fn resolve(
    value: &Value,
    experiment_path: &Path,
    data_dir: Option<(PathBuf, DataDirSource)>,
    problems: &mut Vec<String>,
) -> Option<DatasetSpec> {
    let mut section = value.as_mapping().cloned().unwrap_or_default();
    let name = section
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    // A built-in taken as it is, but for its named sensitive choice: ids name just that.
    let mut plain_choice = None;
    if name == SYNTHETIC {
        return synthetic(&section, problems);
    }
    if name != CSV {
        let Some((mut description, choices)) = builtin(&name) else {
            let hint = crate::spelling::closest(&name, &known_names())
                .map_or(String::new(), |known| format!("; did you mean {known}?"));
            problems.push(format!(
                "dataset.name: expected one of {}, found {name:?}{hint}",
                known_names().join(", ")
            ));
            return None;
        };
        let choice_names: Vec<&str> = choices.keys().filter_map(Value::as_str).collect();
        let chosen = match section.get("sensitive") {
            None => Some(choice_names[0].to_string()),
            Some(Value::String(choice)) => Some(choice.clone()),
            Some(_) => None, // A description of the user's own.
        };
        // Several columns crossed (`[sex, race]`): a choice's name stands for its description.
        if let Some(Value::Sequence(listed)) = section.get("sensitive") {
            let mut described = Vec::new();
            for item in listed {
                let Some(choice) = item.as_str() else {
                    described.push(item.clone());
                    continue;
                };
                let Some(sensitive) = choices.get(choice) else {
                    problems.push(format!(
                        "dataset.sensitive: expected one of {} for {name} (or a description \
                         {{column, groups | above}}), found {choice:?}",
                        choice_names.join(", ")
                    ));
                    return None;
                };
                described.push(sensitive.clone());
            }
            section.insert("sensitive".into(), Value::Sequence(described));
        }
        if let Some(choice) = &chosen {
            let Some(sensitive) = choices.get(choice.as_str()) else {
                problems.push(format!(
                    "dataset.sensitive: expected one of {} for {name} (or a description \
                     {{column, groups | above}}), found {choice:?}",
                    choice_names.join(", ")
                ));
                return None;
            };
            section.insert("sensitive".into(), sensitive.clone());
        }
        const NOT_TABLE: [&str; 9] = [
            "name",
            "data_dir",
            "sensitive",
            "sensitive_as_feature",
            "val_fraction",
            "split_seed",
            "split",
            "test_fraction",
            "max_rows",
        ];
        let overrides = section
            .keys()
            .filter_map(Value::as_str)
            .any(|key| !NOT_TABLE.contains(&key));
        plain_choice = chosen.filter(|_| !overrides);
        for (key, value) in section {
            description.insert(key, value);
        }
        section = description;
    }
    let raw: RawDataset = match serde_norway::from_value(Value::Mapping(section)) {
        Ok(raw) => raw,
        Err(e) => {
            problems.push(format!("dataset: {e}"));
            return None;
        }
    };
    let before = problems.len();
    let table = table_spec(&raw, problems);
    let val_fraction = fraction("val_fraction", raw.val_fraction, 0.2, problems);
    if raw.max_rows == Some(0) {
        problems.push("dataset.max_rows: expected at least 1".into());
    }
    let split = match raw.split.as_deref() {
        None | Some("standard") => Some(SplitProtocol::Standard),
        Some("pooled") => {
            let test_fraction = fraction("test_fraction", raw.test_fraction, 0.3, problems);
            Some(SplitProtocol::Pooled { test_fraction })
        }
        Some(other) => {
            problems.push(format!(
                "dataset.split: expected `standard` (the files' own split) or `pooled` (every \
                 row pooled, split anew for each seed), found {other:?}"
            ));
            None
        }
    };
    if split == Some(SplitProtocol::Standard) && raw.test_fraction.is_some() && raw.file.is_none() {
        problems.push(
            "dataset.test_fraction: only with `file:` (one table) or `split: pooled`; the \
             standard split keeps the test file as it is"
                .into(),
        );
    }
    if let (Some(SplitProtocol::Pooled { .. }), Some(table)) = (&split, &table)
        && table.sensitive.small_groups.is_some()
    {
        problems.push(
            "dataset.small_groups: not with `split: pooled`, whose every seed draws its own \
             splits (and could merge other groups); count the groups with `data describe` and \
             group the values yourself (`sensitive: {column, groups: {…}}`)"
                .into(),
        );
    }
    if problems.len() > before {
        return None;
    }
    let table = table?;
    let identity = match plain_choice {
        Some(choice) => format!("dataset={name} sensitive={choice}"),
        None => format!("dataset={name} table={table:?}"),
    };
    Some(DatasetSpec {
        data_dirs: data_dirs(&name, raw.data_dir, experiment_path, data_dir),
        name,
        table,
        sensitive_as_feature: raw.sensitive_as_feature.unwrap_or(true),
        val_fraction,
        split_seed: raw.split_seed.unwrap_or(0),
        split: split?,
        max_rows: raw.max_rows,
        identity,
        generated: None,
    })
}

/// `dataset.<key>`, a share strictly between 0 and 1 (`default` when absent).
fn fraction(key: &str, given: Option<f64>, default: f64, problems: &mut Vec<String>) -> f64 {
    let value = given.unwrap_or(default);
    if !(value > 0.0 && value < 1.0) {
        problems.push(format!(
            "dataset.{key}: expected a number between 0 and 1 (exclusive), found {value}"
        ));
    }
    value
}

/// The keys of `dataset:` for `name: synthetic`: the generator's, and the split's.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RawSynthetic {
    pub name: String,
    pub rows: Option<usize>,
    pub features: Option<usize>,
    pub groups: Option<usize>,
    pub bias: Option<f64>,
    pub shift: Option<f64>,
    pub seed: Option<u64>,
    pub sensitive_as_feature: Option<bool>,
    pub val_fraction: Option<f64>,
    pub split_seed: Option<u64>,
    pub test_fraction: Option<f64>,
    pub max_rows: Option<usize>,
}

/// `name: synthetic`: rows drawn by the generator's settings, no files.
fn synthetic(section: &Mapping, problems: &mut Vec<String>) -> Option<DatasetSpec> {
    let raw: RawSynthetic = match serde_norway::from_value(Value::Mapping(section.clone())) {
        Ok(raw) => raw,
        Err(e) => {
            problems.push(format!("dataset: {e}"));
            return None;
        }
    };
    let default = Synthetic::default();
    let settings = Synthetic {
        rows: raw.rows.unwrap_or(default.rows),
        features: raw.features.unwrap_or(default.features),
        groups: raw.groups.unwrap_or(default.groups),
        bias: raw.bias.unwrap_or(default.bias),
        shift: raw.shift.unwrap_or(default.shift),
        seed: raw.seed.unwrap_or(default.seed),
    };
    let before = problems.len();
    problems.extend(settings.problems());
    let val_fraction = fraction("val_fraction", raw.val_fraction, 0.2, problems);
    let test_fraction = fraction("test_fraction", raw.test_fraction, 0.3, problems);
    if raw.max_rows == Some(0) {
        problems.push("dataset.max_rows: expected at least 1".into());
    }
    if problems.len() > before {
        return None;
    }
    let s = &settings;
    Some(DatasetSpec {
        name: SYNTHETIC.into(),
        data_dirs: Vec::new(),
        table: settings.table_spec(test_fraction),
        // The proxies carry the group; it is not an input itself unless asked.
        sensitive_as_feature: raw.sensitive_as_feature.unwrap_or(false),
        val_fraction,
        split_seed: raw.split_seed.unwrap_or(0),
        split: SplitProtocol::Standard,
        max_rows: raw.max_rows,
        identity: format!(
            "dataset=synthetic rows={} features={} groups={} bias={} shift={} seed={} \
             test_fraction={test_fraction}",
            s.rows, s.features, s.groups, s.bias, s.shift, s.seed
        ),
        generated: Some(settings),
    })
}

/// Precedence: --data-dir, then FAIRBINN_DATA_DIR, then the file's `data_dir` (relative to
/// the file, so it works from any working directory); a user's own table is also looked for
/// beside the experiment file, a built-in in the `data fetch` cache. Built-ins shipped in the
/// binary come last (see `locate`).
fn data_dirs(
    name: &str,
    from_file: Option<PathBuf>,
    experiment_path: &Path,
    data_dir: Option<(PathBuf, DataDirSource)>,
) -> Vec<(PathBuf, DataDirSource)> {
    let base = experiment_path.parent().unwrap_or(Path::new("."));
    let named = match (data_dir, from_file) {
        (Some(named), _) => Some(named),
        (None, Some(dir)) => Some((
            base.join(dir),
            DataDirSource::ExperimentFile(experiment_path.to_path_buf()),
        )),
        (None, None) => None,
    };
    let fallback = match name {
        CSV => Some((base.to_path_buf(), DataDirSource::BesideExperiment)),
        _ => catalogue::cache_dir().map(|dir| (dir, DataDirSource::Cache)),
    };
    named.into_iter().chain(fallback).collect()
}

fn table_spec(raw: &RawDataset, problems: &mut Vec<String>) -> Option<TableSpec> {
    let before = problems.len();
    let files = match (&raw.file, &raw.train_file, &raw.test_file) {
        (Some(file), None, None) => Some(Files::One {
            file: file.clone(),
            test_fraction: fraction("test_fraction", raw.test_fraction, 0.2, problems),
        }),
        (None, Some(train), Some(test)) => Some(Files::TrainTest {
            train: train.clone(),
            test: test.clone(),
        }),
        _ => {
            problems.push(
                "dataset: expected `file: <table>` (split into train and test by \
                 test_fraction) or both `train_file:` and `test_file:`"
                    .into(),
            );
            None
        }
    };
    let delimiter = one_byte(
        "delimiter",
        raw.delimiter.as_deref().unwrap_or(","),
        problems,
    );
    let comment = raw
        .comment
        .as_deref()
        .and_then(|c| one_byte("comment", c, problems));
    let header = match &raw.header {
        None => Header::Auto,
        Some(Value::Bool(true)) => Header::Present,
        Some(Value::Bool(false)) => Header::Absent,
        Some(Value::String(s)) if s == "auto" => Header::Auto,
        Some(other) => {
            problems.push(format!(
                "dataset.header: expected true, false or auto, found {}",
                scalar_text(other).unwrap_or_else(|| format!("{other:?}"))
            ));
            Header::Auto
        }
    };
    if header == Header::Absent && raw.columns.is_none() {
        problems.push(
            "dataset.columns: the file has no header (header: false), so name its columns: \
             columns: [a, b, ...]"
                .into(),
        );
    }
    let filters = raw
        .filter
        .iter()
        .flatten()
        .filter_map(|text| match parse_filter(text) {
            Ok(filter) => Some(filter),
            Err(e) => {
                problems.push(format!("dataset.filter: {e}"));
                None
            }
        })
        .collect();
    let derived = derived(raw.derive.as_ref(), problems);
    let label = label(raw.label.as_ref(), problems);
    let sensitive = sensitive(raw.sensitive.as_ref(), raw.small_groups.as_ref(), problems);
    let missing = match &raw.missing {
        None => Missing {
            tokens: Vec::new(),
            action: MissingAction::Drop,
        },
        Some(raw) => Missing {
            tokens: values("dataset.missing.tokens", &raw.tokens, problems),
            action: raw.action.unwrap_or(MissingAction::Drop),
        },
    };
    if problems.len() > before {
        return None;
    }
    Some(TableSpec {
        files: files?,
        delimiter: delimiter?,
        header,
        columns: raw.columns.clone(),
        comment,
        filters,
        derived,
        label: label?,
        sensitive: sensitive?,
        categorical: raw.categorical.clone().unwrap_or_default(),
        numeric: raw.numeric.clone().unwrap_or_default(),
        drop: raw.drop.clone().unwrap_or_default(),
        features: raw.features.clone(),
        missing,
        scale: raw.scale.unwrap_or(Scale::MinMax),
    })
}

fn one_byte(key: &str, text: &str, problems: &mut Vec<String>) -> Option<u8> {
    let text = match text {
        "tab" | "\\t" => "\t",
        text => text,
    };
    match text.as_bytes() {
        [byte] => Some(*byte),
        _ => {
            problems.push(format!(
                "dataset.{key}: expected one character (or `tab`), found {text:?}"
            ));
            None
        }
    }
}

/// `column op value`, op one of == != <= >= < >.
fn parse_filter(text: &str) -> Result<Filter, String> {
    let found = (0..text.len()).find_map(|at| {
        Comparison::SYMBOLS
            .iter()
            .find(|(symbol, _)| text[at..].starts_with(symbol))
            .map(|(symbol, comparison)| (at, symbol.len(), *comparison))
    });
    let Some((at, length, comparison)) = found else {
        return Err(format!(
            "expected `column op value` with op one of == != < <= > >=, found {text:?}"
        ));
    };
    let column = text[..at].trim();
    let value = text[at + length..].trim().trim_matches(['"', '\'']);
    if column.is_empty() || value.is_empty() {
        return Err(format!(
            "expected `column op value` with op one of == != < <= > >=, found {text:?}"
        ));
    }
    if comparison.is_ordering() && value.parse::<f64>().is_err() {
        return Err(format!(
            "{text:?}: {value:?} is not a number to compare with"
        ));
    }
    Ok(Filter {
        column: column.to_string(),
        comparison,
        value: value.to_string(),
    })
}

fn derived(raw: Option<&Value>, problems: &mut Vec<String>) -> Vec<Derived> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawDerived {
        argmax: Vec<String>,
    }
    let Some(raw) = raw else {
        return Vec::new();
    };
    let Some(mapping) = raw.as_mapping() else {
        problems.push("dataset.derive: expected `{name: {argmax: [columns]}}`".into());
        return Vec::new();
    };
    let mut derived = Vec::new();
    for (name, rule) in mapping {
        let name = scalar_text(name).unwrap_or_default();
        match serde_norway::from_value::<RawDerived>(rule.clone()) {
            Ok(rule) if !rule.argmax.is_empty() => derived.push(Derived {
                name,
                argmax_of: rule.argmax,
            }),
            Ok(_) => problems.push(format!(
                "dataset.derive.{name}.argmax: expected at least one column"
            )),
            Err(e) => problems.push(format!(
                "dataset.derive.{name}: {e} (expected {{argmax: [columns]}})"
            )),
        }
    }
    derived
}

fn label(raw: Option<&RawLabel>, problems: &mut Vec<String>) -> Option<Label> {
    let Some(raw) = raw else {
        problems.push(
            "dataset.label: missing; write {column: <name>, positive: [values], negative: \
             [values]} or {column: <name>, above: <number>}"
                .into(),
        );
        return None;
    };
    let column = raw.column.clone();
    match (&raw.positive, &raw.negative, raw.above) {
        (Some(positive), negative, None) if !positive.is_empty() => Some(Label::Values {
            column,
            positive: values("dataset.label.positive", positive, problems),
            negative: negative
                .as_ref()
                .map(|n| values("dataset.label.negative", n, problems)),
        }),
        (None, None, Some(threshold)) if threshold.is_finite() => {
            Some(Label::Above { column, threshold })
        }
        _ => {
            problems.push(format!(
                "dataset.label: expected {{column, positive: [values], negative: [values]}} \
                 or {{column, above: <number>}}, found {raw:?}"
            ));
            None
        }
    }
}

fn sensitive(
    raw: Option<&Value>,
    small_groups: Option<&Value>,
    problems: &mut Vec<String>,
) -> Option<Sensitive> {
    let Some(raw) = raw else {
        problems.push(format!("dataset.sensitive: missing; {EXPECTED_ATTRIBUTE}"));
        return None;
    };
    let before = problems.len();
    let small_groups = small_groups.and_then(|raw| small_groups_rule(raw, problems));
    let mut attributes = match raw {
        // Several columns: each a description, their combinations the groups.
        Value::Sequence(listed) => {
            if listed.len() < 2 {
                problems.push(
                    "dataset.sensitive: a list crosses two or more columns; give one \
                     description (not a list) for one"
                        .into(),
                );
            }
            let attributes: Vec<Attribute> = (listed.iter())
                .filter_map(|raw| attribute(raw, problems))
                .collect();
            for (i, a) in attributes.iter().enumerate() {
                if attributes[..i].iter().any(|b| b.column == a.column) {
                    problems.push(format!(
                        "dataset.sensitive: column {:?} is listed twice",
                        a.column
                    ));
                }
            }
            attributes
        }
        raw => attribute(raw, problems).into_iter().collect(),
    };
    if problems.len() > before || attributes.is_empty() {
        return None;
    }
    let Attribute { column, grouping } = attributes.remove(0);
    Some(Sensitive {
        column,
        grouping,
        crossed: attributes,
        small_groups,
    })
}

const EXPECTED_ATTRIBUTE: &str = "expected {column: <name>} (each value a group), {column, \
    above: <number>} or {column, groups: {name: [values], other_name: other}}, or a list of \
    them (their combinations the groups)";

/// One sensitive column's description.
fn attribute(raw: &Value, problems: &mut Vec<String>) -> Option<Attribute> {
    let expected = EXPECTED_ATTRIBUTE;
    let raw: RawSensitive = match serde_norway::from_value(raw.clone()) {
        Ok(raw) => raw,
        Err(e) => {
            problems.push(format!("dataset.sensitive: {e}; {expected}"));
            return None;
        }
    };
    let grouping = match (raw.groups, raw.above) {
        (None, None) => Grouping::Distinct,
        (None, Some(threshold)) => Grouping::Above(threshold),
        (Some(groups), None) => {
            let mut named = Vec::new();
            for (name, members) in groups {
                let name = scalar_text(&name).unwrap_or_default();
                let key = format!("dataset.sensitive.groups.{name}");
                let members = match members {
                    Value::String(word) if word == "other" => GroupValues::Other,
                    Value::Sequence(listed) if !listed.is_empty() => {
                        GroupValues::Listed(values(&key, &listed, problems))
                    }
                    _ => {
                        problems.push(format!(
                            "{key}: expected a list of values, or `other` for every value no \
                             other group lists"
                        ));
                        continue;
                    }
                };
                named.push((name, members));
            }
            if named.len() < 2 {
                problems.push("dataset.sensitive.groups: expected at least two groups".into());
            }
            Grouping::Named(named)
        }
        (Some(_), Some(_)) => {
            problems.push(format!(
                "dataset.sensitive: give groups or above, not both; {expected}"
            ));
            return None;
        }
    };
    Some(Attribute {
        column: raw.column,
        grouping,
    })
}

/// `small_groups: {min_rows: N, action: merge | refuse}`.
fn small_groups_rule(raw: &Value, problems: &mut Vec<String>) -> Option<SmallGroups> {
    let expected = "expected {min_rows: <rows>, action: merge | refuse} (groups with fewer \
                    rows in a split merged into one named other, or refused)";
    match serde_norway::from_value::<SmallGroups>(raw.clone()) {
        Ok(rule) if rule.min_rows >= 1 => Some(rule),
        Ok(_) => {
            problems.push("dataset.small_groups.min_rows: expected at least 1".into());
            None
        }
        Err(e) => {
            problems.push(format!("dataset.small_groups: {e}; {expected}"));
            None
        }
    }
}

/// Scalars as the text a field of the file would hold (`1`, `>50K`, `true`).
fn values(key: &str, raw: &[Value], problems: &mut Vec<String>) -> Vec<String> {
    raw.iter()
        .filter_map(|value| {
            let text = scalar_text(value);
            if text.is_none() {
                problems.push(format!("{key}: expected plain values, found {value:?}"));
            }
            text
        })
        .collect()
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve_text(text: &str) -> Result<DatasetSpec, Vec<String>> {
        let value: Value = serde_norway::from_str(text).unwrap();
        let mut problems = Vec::new();
        let spec = resolve(&value, Path::new("exp.yaml"), None, &mut problems);
        match spec {
            Some(spec) if problems.is_empty() => Ok(spec),
            _ => Err(problems),
        }
    }

    #[test]
    fn every_builtin_description_is_valid() {
        for name in BUILTINS.map(|b| b.name) {
            let spec = resolve_text(&format!("name: {name}")).unwrap();
            assert_eq!(
                spec.identity,
                format!("dataset={name} sensitive={}", {
                    let (_, choices) = builtin(name).unwrap();
                    choices.keys().next().unwrap().as_str().unwrap().to_string()
                })
            );
        }
    }

    #[test]
    fn a_builtin_choice_and_an_override_change_the_identity() {
        let race = resolve_text("name: adult\nsensitive: race").unwrap();
        assert_eq!(race.identity, "dataset=adult sensitive=race");
        assert_eq!(
            race.table.sensitive.grouping,
            Grouping::Named(vec![
                ("non-White".into(), GroupValues::Other),
                ("White".into(), GroupValues::Listed(vec!["White".into()])),
            ])
        );
        let unscaled = resolve_text("name: health\nscale: standard").unwrap();
        assert_eq!(unscaled.table.scale, Scale::Standard);
        assert!(unscaled.identity.starts_with("dataset=health table="));
        let problems = resolve_text("name: compas\nsensitive: gender").unwrap_err();
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].contains("expected one of race, race-all, sex for compas"),
            "{problems:?}"
        );
    }

    #[test]
    fn filters_parse_and_bad_ones_are_named() {
        assert_eq!(
            parse_filter("days_b_screening_arrest >= -30").unwrap(),
            Filter {
                column: "days_b_screening_arrest".into(),
                comparison: Comparison::GreaterOrEqual,
                value: "-30".into()
            }
        );
        assert_eq!(
            parse_filter("score_text != 'N/A'").unwrap().comparison,
            Comparison::NotEqual
        );
        assert!(
            parse_filter("age ~ 3")
                .unwrap_err()
                .contains("column op value")
        );
        assert!(
            parse_filter("age < old")
                .unwrap_err()
                .contains("not a number")
        );
    }

    /// `split: pooled` keeps the built-in's identity (the trial id adds the protocol), with
    /// Zeng et al.'s 70/30 by default; misspelt or misplaced keys are named.
    #[test]
    fn the_pooled_split_is_read_and_its_keys_checked() {
        let pooled = resolve_text("name: adult\nsplit: pooled").unwrap();
        assert_eq!(pooled.identity, "dataset=adult sensitive=sex");
        assert_eq!(pooled.split, SplitProtocol::Pooled { test_fraction: 0.3 });
        assert_eq!(pooled.for_seed(4).split_seed, 4);
        let standard = resolve_text("name: adult").unwrap();
        assert_eq!(standard.split, SplitProtocol::Standard);
        assert_eq!(standard.for_seed(4).split_seed, 0);
        for (text, expected) in [
            (
                "name: adult\nsplit: random",
                "dataset.split: expected `standard`",
            ),
            (
                "name: adult\nsplit: pooled\ntest_fraction: 1",
                "dataset.test_fraction: expected a number between 0 and 1 (exclusive), found 1",
            ),
            (
                "name: adult\ntest_fraction: 0.3",
                "dataset.test_fraction: only with `file:` (one table) or `split: pooled`",
            ),
        ] {
            let problems = resolve_text(text).unwrap_err().join("\n");
            assert!(problems.contains(expected), "{text}: {problems}");
        }
    }

    #[test]
    fn a_csv_description_reports_every_problem_at_once() {
        let problems = resolve_text(
            "name: csv\nfile: t.csv\ntest_fraction: 2\ndelimiter: ';;'\nheader: maybe\n\
             label: {column: y}\nsensitive: {column: g, groups: {a: [1]}}\nfilter: [x ~ 1]\n",
        )
        .unwrap_err();
        let joined = problems.join("\n");
        for expected in [
            "dataset.test_fraction: expected a number between 0 and 1",
            "dataset.delimiter: expected one character",
            "dataset.header: expected true, false or auto, found maybe",
            "dataset.label: expected {column, positive",
            "dataset.sensitive.groups: expected at least two groups",
            "dataset.filter: expected `column op value`",
        ] {
            assert!(joined.contains(expected), "{expected} not in\n{joined}");
        }
        let problems = resolve_text("name: csv\nlabel: {column: y, above: 0}\n").unwrap_err();
        assert!(
            problems[0].contains("expected `file: <table>`"),
            "{problems:?}"
        );
    }
}
