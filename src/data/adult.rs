//! UCI Adult (census income): label income > 50K, sensitive attribute sex (or race).
//!
//! Reads both the UCI originals (no header; `adult.test` opens with the banner
//! `|1x3 Cross validator`; test labels end in `.`) and the FairBiNN copies, which put a
//! header line first. Preprocessing follows the authors' `load_adult.py` (see METHOD.md):
//! drop `fnlwgt` and rows with `?`, one-hot the 7 categorical columns, 101 features, min-max
//! scaling — fitted here on the training split only, where the authors fit train and test
//! separately.

use std::path::Path;

use anyhow::{Context, Result, bail};

use super::locate::find_files;
use super::preprocess::{MinMaxScaler, shared_vocabulary, take_rows, validation_split};
use super::{Dataset, DatasetSpec, Split};

const TRAIN_FILE: &str = "adult.data";
const TEST_FILE: &str = "adult.test";

/// The 15 columns of both files, in order.
const COLUMNS: [&str; 15] = [
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education-num",
    "marital-status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital-gain",
    "capital-loss",
    "hours-per-week",
    "native-country",
    "income",
];
const LABEL: usize = 14;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Numeric,
    Categorical,
    Dropped,
}

fn kind(column: &str) -> Kind {
    match column {
        "fnlwgt" | "income" => Kind::Dropped,
        "age" | "education-num" | "capital-gain" | "capital-loss" | "hours-per-week" => {
            Kind::Numeric
        }
        // sex is binary: one 0/1 column (Male = 1), as the authors map it.
        "sex" => Kind::Numeric,
        _ => Kind::Categorical,
    }
}

/// The sensitive attributes this loader offers, with their binary grouping.
pub const SENSITIVE: [&str; 2] = ["sex", "race"];

/// The sensitive column's index, the group names, and a record value's group.
fn sensitive_groups(attribute: &str) -> (usize, [&'static str; 2], fn(&str) -> u32) {
    let column = COLUMNS.iter().position(|c| *c == attribute);
    match attribute {
        "race" => (column.unwrap(), ["non-White", "White"], |v| {
            u32::from(v == "White")
        }),
        _ => (column.unwrap(), ["Female", "Male"], |v| {
            u32::from(v == "Male")
        }),
    }
}

pub fn load(spec: &DatasetSpec) -> Result<Dataset> {
    let dir = find_files("adult", &[TRAIN_FILE, TEST_FILE], &["uci"], &spec.data_dirs)?;
    let (train_path, test_path) = (dir.join(TRAIN_FILE), dir.join(TEST_FILE));
    let train_text = read(&train_path)?;
    let test_text = read(&test_path)?;
    let mut train_rows = parse(&train_text, &train_path)?;
    let mut test_rows = parse(&test_text, &test_path)?;
    if let Some(max_rows) = spec.max_rows {
        train_rows.truncate(max_rows);
        test_rows.truncate(max_rows);
    }

    let (sensitive_column, group_names, group_of) = sensitive_groups(&spec.sensitive);
    let encoder = Encoder::new(&train_rows, &test_rows, sensitive_column, spec);
    let train_file = encoder.encode(&train_rows, sensitive_column, group_of);
    let mut test = encoder.encode(&test_rows, sensitive_column, group_of);

    let (train_indices, val_indices) =
        validation_split(train_file.n_rows(), spec.val_fraction, spec.split_seed);
    let mut train = take_rows(&train_file, &train_indices);
    let mut validation = take_rows(&train_file, &val_indices);
    let scaler = MinMaxScaler::fit(&train);
    for split in [&mut train, &mut validation, &mut test] {
        scaler.apply(split);
    }

    Ok(Dataset {
        name: "adult".into(),
        feature_names: encoder.feature_names(),
        group_names: group_names.iter().map(|s| s.to_string()).collect(),
        train,
        validation,
        test,
        files: vec![train_path, test_path],
    })
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// The complete records of one file (rows with a `?` are dropped), each as 15 trimmed fields,
/// with the label normalised (the test file's trailing `.` removed).
fn parse<'a>(text: &'a str, path: &Path) -> Result<Vec<[&'a str; 15]>> {
    let mut rows = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        let is_banner = line.starts_with('|');
        let is_header = index == 0 && line.starts_with("age,");
        if line.is_empty() || is_banner || is_header {
            continue;
        }
        let mut fields = [""; 15];
        let mut count = 0;
        for field in line.split(',') {
            if count < 15 {
                fields[count] = field.trim();
            }
            count += 1;
        }
        if count != 15 {
            bail!(
                "{}:{}: expected 15 comma-separated fields ({}), found {count}",
                path.display(),
                index + 1,
                COLUMNS.join(", ")
            );
        }
        fields[LABEL] = fields[LABEL].trim_end_matches('.');
        if !matches!(fields[LABEL], ">50K" | "<=50K") {
            bail!(
                "{}:{}: column income: expected >50K or <=50K (optionally ending in .), found {:?}",
                path.display(),
                index + 1,
                fields[LABEL]
            );
        }
        for (column, field) in fields.iter().enumerate() {
            if kind(COLUMNS[column]) == Kind::Numeric
                && COLUMNS[column] != "sex"
                && field.parse::<f32>().is_err()
            {
                bail!(
                    "{}:{}: column {}: expected a number, found {field:?}",
                    path.display(),
                    index + 1,
                    COLUMNS[column]
                );
            }
        }
        if !fields.contains(&"?") {
            rows.push(fields);
        }
    }
    Ok(rows)
}

/// Turns records into feature rows: numeric columns as they are, categorical ones one-hot over
/// a vocabulary shared by both files, columns in file order.
struct Encoder {
    /// For each column, its one-hot vocabulary (empty for numeric or dropped columns).
    vocabularies: Vec<Vec<String>>,
    kinds: Vec<Kind>,
}

impl Encoder {
    fn new(
        train: &[[&str; 15]],
        test: &[[&str; 15]],
        sensitive_column: usize,
        spec: &DatasetSpec,
    ) -> Self {
        let kinds = (0..15)
            .map(|column| {
                if column == sensitive_column && !spec.sensitive_as_feature {
                    Kind::Dropped
                } else {
                    kind(COLUMNS[column])
                }
            })
            .collect::<Vec<_>>();
        let vocabularies = (0..15)
            .map(|column| match kinds[column] {
                Kind::Categorical => shared_vocabulary(
                    train.iter().map(|row| row[column]),
                    test.iter().map(|row| row[column]),
                ),
                _ => Vec::new(),
            })
            .collect();
        Self {
            vocabularies,
            kinds,
        }
    }

    fn feature_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for (column, kind) in self.kinds.iter().enumerate() {
            match kind {
                Kind::Numeric => names.push(COLUMNS[column].to_string()),
                Kind::Categorical => names.extend(
                    self.vocabularies[column]
                        .iter()
                        .map(|value| format!("{}_{value}", COLUMNS[column])),
                ),
                Kind::Dropped => {}
            }
        }
        names
    }

    fn encode(
        &self,
        rows: &[[&str; 15]],
        sensitive_column: usize,
        group_of: fn(&str) -> u32,
    ) -> Split {
        let n_features = self.feature_names().len();
        let mut features = Vec::with_capacity(rows.len() * n_features);
        for row in rows {
            for (column, kind) in self.kinds.iter().enumerate() {
                match kind {
                    Kind::Numeric if COLUMNS[column] == "sex" => {
                        features.push(f32::from(row[column] == "Male"))
                    }
                    // Checked while parsing.
                    Kind::Numeric => features.push(row[column].parse().unwrap_or(f32::NAN)),
                    Kind::Categorical => features.extend(
                        self.vocabularies[column]
                            .iter()
                            .map(|value| f32::from(value == row[column])),
                    ),
                    Kind::Dropped => {}
                }
            }
        }
        Split {
            features,
            n_features,
            labels: rows
                .iter()
                .map(|row| f32::from(row[LABEL] == ">50K"))
                .collect(),
            groups: rows
                .iter()
                .map(|row| group_of(row[sensitive_column]))
                .collect(),
        }
    }
}
