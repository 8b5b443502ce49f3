//! From table rows to a [`Dataset`]: labels, sensitive groups, missing values, the test and
//! validation splits, feature encoding (numbers as they are, categories one-hot) and scaling.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::path::Path;

use csv::StringRecord;
use serde::{Deserialize, Serialize};

use anyhow::{Result, anyhow, bail};

use super::groups::{Groups, own_group, renumber, small_groups};
use super::preprocess::{Scaler, seeded_split, shared_vocabulary, stratified_split};
use super::spec::{DatasetSpec, Files, Label, MissingAction, Scale, SplitProtocol, TableSpec};
use super::table::{Table, Value, find_column, finite, same_value};
use super::{Dataset, Split};

/// Seeds the test split of a one-file table apart from the validation split's shuffle.
const TEST_SPLIT_STREAM: u64 = 0x7e57;

/// A kept row: which table, which row of it, its label and group.
#[derive(Clone, Copy)]
struct Row {
    table: u32,
    row: u32,
    label: f32,
    group: u32,
}

impl Row {
    /// Where it is among the tables' rows, first table first.
    fn position(&self) -> (u32, u32) {
        (self.table, self.row)
    }

    fn value<'t>(&self, tables: &'t [Table], column: usize) -> Value<'t> {
        tables[self.table as usize].value(self.row as usize, column)
    }

    /// `file:line`, for messages.
    fn at(&self, tables: &[Table]) -> String {
        tables[self.table as usize].at(self.row as usize)
    }
}

pub fn dataset(spec: &DatasetSpec, mut tables: Vec<Table>) -> Result<Dataset> {
    let t = &spec.table;
    let first = &tables[0];
    if let Some(other) = tables.iter().find(|table| table.names != first.names) {
        bail!(
            "{} and {} have different columns:\n  {}\n  {}",
            first.path.display(),
            other.path.display(),
            first.names.join(", "),
            other.names.join(", ")
        );
    }
    let label_column = first.column(t.label.column(), "label.column")?;
    let sensitive_columns = (t.sensitive.attributes().iter())
        .map(|(column, _)| first.column(column, "sensitive.column"))
        .collect::<Result<Vec<_>>>()?;
    let columns = Columns {
        label: label_column,
        features: feature_columns(spec, first, label_column, &sensitive_columns)?,
        sensitive: sensitive_columns,
    };
    let features = &columns.features;
    let groups = Groups::of(&t.sensitive, |i| {
        let column = columns.sensitive[i];
        (tables.iter())
            .flat_map(|table| table.texts(column))
            .map(String::from)
            .collect()
    });

    let mut kept: Vec<Vec<Row>> = Vec::new();
    let mut notes = Vec::new();
    for (index, table) in tables.iter().enumerate() {
        let (rows, note) = usable_rows(spec, index, table, &columns, &groups)?;
        kept.push(rows);
        notes.push(note);
    }
    let mut group_names = groups.names;
    // Crossed columns: the combinations no row has are no group.
    if !t.sensitive.crossed.is_empty() {
        let mut present = vec![false; group_names.len()];
        for row in kept.iter().flatten() {
            present[row.group as usize] = true;
        }
        let mut ids: Vec<u32> = kept.iter().flatten().map(|row| row.group).collect();
        let absent = present.iter().filter(|p| !**p).count();
        group_names = renumber(&group_names, &present, &mut ids);
        for (row, id) in kept.iter_mut().flatten().zip(ids) {
            row.group = id;
        }
        notes.push(format!(
            "sensitive: {}: {} combinations with rows{}",
            t.sensitive.name(),
            group_names.len(),
            match absent {
                0 => String::new(),
                n => format!(" ({n} without any left out)"),
            }
        ));
    }
    if kept.iter().all(Vec::is_empty) {
        let files: Vec<String> = tables
            .iter()
            .map(|t| t.path.display().to_string())
            .collect();
        bail!(
            "{}: no usable rows ({}); a data set needs rows with a label and a sensitive group",
            files.join(" and "),
            notes.join("; ")
        );
    }
    for (group, name) in group_names.iter().enumerate() {
        if !kept.iter().flatten().any(|row| row.group == group as u32) {
            let files: Vec<String> = tables
                .iter()
                .map(|t| t.path.display().to_string())
                .collect();
            bail!(
                "dataset.sensitive: group {name:?} has no rows in {} (column {}); check its \
                 values against the file's",
                files.join(" and "),
                t.sensitive.name()
            );
        }
    }

    // (group, label): the strata of the pooled protocol's draws.
    let stratum = |row: &Row| row.group * 2 + u32::from(row.label > 0.5);
    let (train_rows, test_rows) = match (&spec.split, &t.files) {
        (SplitProtocol::Pooled { test_fraction }, _) => {
            let rows: Vec<Row> = std::mem::take(&mut kept).concat();
            notes.push(format!(
                "split: pooled: the {} rows drawn anew for each seed, {}% test, then {}% of the \
                 rest for validation, stratified by group and label (shown: seed {})",
                rows.len(),
                test_fraction * 100.0,
                spec.val_fraction * 100.0,
                spec.split_seed
            ));
            let strata: Vec<u32> = rows.iter().map(stratum).collect();
            let (train, test) =
                stratified_split(&strata, *test_fraction, spec.split_seed ^ TEST_SPLIT_STREAM);
            (
                train.iter().map(|&i| rows[i]).collect(),
                test.iter().map(|&i| rows[i]).collect(),
            )
        }
        (SplitProtocol::Standard, Files::TrainTest { .. }) => {
            (std::mem::take(&mut kept[0]), std::mem::take(&mut kept[1]))
        }
        (SplitProtocol::Standard, Files::One { test_fraction, .. }) => {
            let rows = &kept[0];
            let (train, test) = seeded_split(
                rows.len(),
                *test_fraction,
                spec.split_seed ^ TEST_SPLIT_STREAM,
            );
            (
                train.iter().map(|&i| rows[i]).collect(),
                test.iter().map(|&i| rows[i]).collect(),
            )
        }
    };
    let (train_indices, val_indices) = match spec.split {
        SplitProtocol::Pooled { .. } => {
            let strata: Vec<u32> = train_rows.iter().map(stratum).collect();
            stratified_split(&strata, spec.val_fraction, spec.split_seed)
        }
        SplitProtocol::Standard => {
            seeded_split(train_rows.len(), spec.val_fraction, spec.split_seed)
        }
    };
    let (feature_names, encodings) = encodings(spec, &tables, features, &train_rows, &test_rows)?;
    let take = |indices: &[usize]| indices.iter().map(|&i| train_rows[i]).collect::<Vec<_>>();
    let file_names = tables[0].names.clone();
    let [mut train, mut validation, mut test] = encoded(
        &mut tables,
        features,
        &encodings,
        feature_names.len(),
        [&take(&train_indices), &take(&val_indices), &test_rows],
    );
    drop(tables);
    let scaler = match t.scale {
        Scale::None => None,
        Scale::MinMax => Some(Scaler::min_max(&train)),
        Scale::Standard => Some(Scaler::standard(&train)),
    };
    if let Some(scaler) = &scaler {
        for split in [&mut train, &mut validation, &mut test] {
            scaler.apply(split);
        }
    }
    if let Some(rule) = t.sensitive.small_groups {
        let (names, note) =
            small_groups(rule, group_names, [&mut train, &mut validation, &mut test])?;
        group_names = names;
        notes.extend(note);
    }
    let preprocessing = Preprocessing {
        table: t.clone(),
        columns: features
            .iter()
            .zip(encodings)
            .map(|(&c, encoding)| FeatureColumn {
                column: file_names[c].clone(),
                encoding,
            })
            .collect(),
        scaler,
    };
    Ok(Dataset {
        preprocessing: Some(preprocessing),
        name: spec.name.clone(),
        feature_names,
        group_names,
        train,
        validation,
        test,
        files: Vec::new(), // filled in by `load`, which read them
        notes,
    })
}

/// Where the label, the sensitive values and the features are in a record.
struct Columns {
    label: usize,
    /// One per sensitive attribute, in order.
    sensitive: Vec<usize>,
    features: Vec<usize>,
}

impl Columns {
    /// The row lacks its label or a sensitive value, or (`missing: drop`) a feature;
    /// `missing` says whether the row's value in a column is missing.
    fn lack_values(&self, t: &TableSpec, missing: impl Fn(usize) -> bool) -> bool {
        missing(self.label)
            || self.sensitive.iter().any(|&c| missing(c))
            || (t.missing.action == MissingAction::Drop
                && self.features.iter().any(|&c| missing(c)))
    }
}

/// An empty value, or one of `missing.tokens`.
pub(super) fn is_missing(t: &TableSpec, value: &str) -> bool {
    value.is_empty() || t.missing.tokens.iter().any(|m| m == value)
}

/// Whether a row (of a table with these columns) is one `usable_rows` keeps, as far as it can
/// be told while reading: a label and a sensitive value, a group for it, and the features
/// `missing: drop` asks for. A row it cannot judge (a column is not there yet) counts.
pub fn usable(spec: &DatasetSpec) -> impl FnMut(&[String], &StringRecord) -> bool {
    let t = &spec.table;
    let mut columns: Option<Option<Columns>> = None;
    move |names: &[String], record: &StringRecord| {
        let resolved = columns.get_or_insert_with(|| {
            let find = |name: &str| names.iter().position(|n| n == name);
            let label = find(t.label.column())?;
            let sensitive = (t.sensitive.attributes().iter())
                .map(|(column, _)| find(column))
                .collect::<Option<Vec<_>>>()?;
            let features =
                feature_columns_of(spec, names, Path::new(""), label, &sensitive).ok()?;
            Some(Columns {
                label,
                sensitive,
                features,
            })
        });
        let Some(columns) = resolved else {
            return true;
        };
        if columns.lack_values(t, |c| is_missing(t, &record[c])) {
            return false;
        }
        // Each value in one of its column's groups; an error is the reader's to report.
        (t.sensitive.attributes().iter().zip(&columns.sensitive)).all(|((column, grouping), &c)| {
            !matches!(own_group(column, grouping, &record[c]), Ok(None))
        })
    }
}

/// The rows of `table` with a label and a group (and, when dropping, every feature), and a
/// note of how many were left out and why.
fn usable_rows(
    spec: &DatasetSpec,
    index: usize,
    table: &Table,
    columns: &Columns,
    groups: &Groups,
) -> Result<(Vec<Row>, String)> {
    let t = &spec.table;
    let (mut missing, mut ungrouped) = (0, 0);
    let mut rows = Vec::new();
    let text = |row: usize, column: usize| match table.value(row, column) {
        Value::Text(text) => text,
        _ => unreachable!("a label or sensitive value, kept as text and not missing"),
    };
    for row in 0..table.n_rows() {
        if spec.max_rows.is_some_and(|max| rows.len() >= max) {
            break;
        }
        if columns.lack_values(t, |c| table.value(row, c) == Value::Missing) {
            missing += 1;
            continue;
        }
        let values: Vec<&str> = columns.sensitive.iter().map(|&c| text(row, c)).collect();
        let group = (groups.group_of(&t.sensitive, &values))
            .map_err(|(column, e)| anyhow!("{}: column {column}: {e}", table.at(row)))?;
        let Some(group) = group else {
            ungrouped += 1;
            continue;
        };
        let label = label_of(&t.label, text(row, columns.label))
            .map_err(|e| anyhow!("{}: column {}: {e}", table.at(row), t.label.column()))?;
        rows.push(Row {
            table: index as u32,
            row: row as u32,
            label,
            group,
        });
    }
    let file = table.path.file_name().unwrap_or_default().to_string_lossy();
    let mut note = format!("{file}: {} records", table.records);
    if table.n_rows() != table.records {
        note += &format!(", {} pass the filters", table.n_rows());
    }
    if missing > 0 {
        note += &format!(", {missing} with missing values left out");
    }
    if ungrouped > 0 {
        note += &format!(", {ungrouped} in no sensitive group left out");
    }
    let note = format!("{note}: {} rows", rows.len());
    Ok((rows, note))
}

/// The columns that become features: `features:` or all, less dropped ones, the label and
/// (unless kept) the sensitive column.
fn feature_columns(
    spec: &DatasetSpec,
    table: &Table,
    label: usize,
    sensitive: &[usize],
) -> Result<Vec<usize>> {
    feature_columns_of(spec, &table.names, &table.path, label, sensitive)
}

/// [`feature_columns`] of a table with columns `names`; `path` names it in errors.
fn feature_columns_of(
    spec: &DatasetSpec,
    names: &[String],
    path: &Path,
    label: usize,
    sensitive: &[usize],
) -> Result<Vec<usize>> {
    let t = &spec.table;
    for (key, listed) in [
        ("drop", &t.drop),
        ("categorical", &t.categorical),
        ("numeric", &t.numeric),
    ] {
        for name in listed {
            find_column(names, name, key, path)?;
        }
    }
    let chosen: Vec<usize> = match &t.features {
        Some(listed) => listed
            .iter()
            .map(|name| find_column(names, name, "features", path))
            .collect::<Result<_>>()?,
        None => (0..names.len()).collect(),
    };
    Ok(chosen
        .into_iter()
        .filter(|&c| c != label && (!sensitive.contains(&c) || spec.sensitive_as_feature))
        .filter(|&c| !t.drop.contains(&names[c]))
        .collect())
}

pub(super) fn label_of(label: &Label, value: &str) -> Result<f32, String> {
    match label {
        Label::Above { threshold, .. } => finite(value)
            .map(|number| f32::from(number > *threshold))
            .ok_or_else(|| {
                format!("expected a finite number (dataset.label.above), found {value:?}")
            }),
        Label::Values {
            positive, negative, ..
        } => {
            if positive.iter().any(|p| same_value(value, p)) {
                Ok(1.0)
            } else if negative
                .as_ref()
                .is_none_or(|negative| negative.iter().any(|n| same_value(value, n)))
            {
                Ok(0.0)
            } else {
                Err(format!(
                    "expected a label value among {:?} (positive) or {:?} (negative), found {value:?}",
                    positive,
                    negative.as_deref().unwrap_or_default()
                ))
            }
        }
    }
}

/// Everything that turned a table's rows into a network's inputs, so that new rows can be
/// turned the same way (`predict`, saved models): how to read the file, each feature
/// column's encoding, the scaling fitted on the training rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preprocessing {
    pub table: TableSpec,
    /// The source columns that became features, in order.
    pub columns: Vec<FeatureColumn>,
    pub scaler: Option<Scaler>,
}

impl Preprocessing {
    /// The network inputs its columns encode: one per number, one per category value (one
    /// 0/1 column for two values).
    pub fn width(&self) -> usize {
        (self.columns.iter())
            .map(|c| match &c.encoding {
                Encoding::Number { .. } => 1,
                Encoding::Category { vocabulary, .. } if vocabulary.len() == 2 => 1,
                Encoding::Category { vocabulary, .. } => vocabulary.len(),
            })
            .sum()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureColumn {
    pub column: String,
    pub encoding: Encoding,
}

/// How one feature column is encoded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// The column's numbers; a missing one becomes `fill` (the training rows' median).
    Number { fill: f32 },
    /// One-hot over `vocabulary`; two values give one 0/1 column (1 for the second). A value
    /// outside it gets zeros everywhere, as training's rows did for a category only one file
    /// had (Adult's Holand-Netherlands), or ½ in a two-valued category's one column.
    Category {
        vocabulary: Vec<String>,
        fill: String,
    },
}

impl Encoding {
    /// Append a category's columns; false when `value` has none of its own. An unseen value
    /// is none of the known ones: zeros everywhere, and for a two-valued category (one 0/1
    /// column) ½, halfway between the two, rather than 0, which would make it the first.
    pub(super) fn one_hot(vocabulary: &[String], value: &str, out: &mut Vec<f32>) -> bool {
        let known = vocabulary.iter().any(|v| v == value);
        match vocabulary.len() {
            2 if !known => out.push(0.5),
            2 => out.push(f32::from(value == vocabulary[1])),
            _ => out.extend(vocabulary.iter().map(|v| f32::from(v == value))),
        }
        known
    }
}

/// Each feature column's encoding, from the rows of the training file (`train`, validation
/// rows among them) and the test rows, and the network inputs' names.
fn encodings(
    spec: &DatasetSpec,
    tables: &[Table],
    features: &[usize],
    train: &[Row],
    test: &[Row],
) -> Result<(Vec<String>, Vec<Encoding>)> {
    let t = &spec.table;
    let value = |row: &Row, column: usize| row.value(tables, column);
    let mut encodings = Vec::with_capacity(features.len());
    for &column in features {
        let name = &tables[0].names[column];
        let (mut texts, mut missing) = (0, 0);
        let mut first_text = None;
        for row in train.iter().chain(test) {
            let value = value(row, column);
            match value {
                Value::Missing => missing += 1,
                // Not a number (a label or sensitive column, kept as text, may hold numbers).
                Value::Text(text) if value.number().is_none() => {
                    texts += 1;
                    first_text.get_or_insert((*row, text));
                }
                _ => {}
            }
        }
        let present = train.len() + test.len() - missing;
        // A number column with a stray word is an error, not a category of its own.
        let categorical = t.categorical.contains(name)
            || (!t.numeric.contains(name) && texts > 0 && texts * 2 >= present);
        if categorical {
            encodings.push(category(spec, tables, column, (train, test)));
            continue;
        }
        if let Some((row, text)) = first_text {
            let at = row.at(tables);
            if text.parse::<f32>().is_ok() {
                bail!(
                    "{at}: column {name}: {text:?} is not a finite number; list it in \
                     dataset.missing.tokens if it means missing"
                );
            }
            bail!(
                "{at}: column {name}: expected a number, found {text:?} ({} other values are \
                 numbers); list it in dataset.missing.tokens if it means missing, or the \
                 column in dataset.categorical",
                present - texts
            );
        }
        // Also without missing values here: new rows (`predict`) may lack the number.
        let mut known: Vec<f32> = (train.iter())
            .filter_map(|row| value(row, column).number())
            .collect();
        let middle = known.len() / 2;
        let fill = match known.is_empty() {
            true => 0.0,
            false => *known.select_nth_unstable_by(middle, f32::total_cmp).1,
        };
        encodings.push(Encoding::Number { fill });
    }

    let mut names = Vec::new();
    for (&column, encoding) in features.iter().zip(&encodings) {
        let name = &tables[0].names[column];
        match encoding {
            Encoding::Number { .. } => names.push(name.clone()),
            Encoding::Category { vocabulary, .. } if vocabulary.len() == 2 => {
                names.push(format!("{name}_{}", vocabulary[1]))
            }
            Encoding::Category { vocabulary, .. } => {
                names.extend(vocabulary.iter().map(|v| format!("{name}_{v}")))
            }
        }
    }
    Ok((names, encodings))
}

/// The rows of each split, their feature columns encoded into `width` network inputs each.
/// When every split's rows are in file order (as the protocols draw them), the rows are
/// encoded in that order and each block of the tables given back once passed, so that the
/// table and the splits together take little more memory than either.
fn encoded(
    tables: &mut [Table],
    features: &[usize],
    encodings: &[Encoding],
    width: usize,
    splits: [&[Row]; 3],
) -> [Split; 3] {
    let mut out = splits.map(|rows| Split {
        features: Vec::with_capacity(rows.len() * width),
        n_features: width,
        labels: rows.iter().map(|r| r.label).collect(),
        groups: rows.iter().map(|r| r.group).collect(),
    });
    let in_file_order = splits
        .iter()
        .all(|rows| rows.is_sorted_by_key(Row::position));
    // The splits' rows merged in file order (else one split after another).
    let mut next = [0; 3];
    loop {
        let ahead = (0..3).filter(|&s| next[s] < splits[s].len());
        let split = match in_file_order {
            true => ahead.min_by_key(|&s| splits[s][next[s]].position()),
            false => ahead.min(),
        };
        let Some(split) = split else { break };
        let row = splits[split][next[split]];
        next[split] += 1;
        let (t, r) = (row.table as usize, row.row as usize);
        if in_file_order {
            tables[t].release(r);
        }
        let values = &mut out[split].features;
        for (&column, encoding) in features.iter().zip(encodings) {
            let value = tables[t].value(r, column);
            match encoding {
                Encoding::Number { fill } => values.push(value.number().unwrap_or(*fill)),
                Encoding::Category { vocabulary, fill } => {
                    let text = value.text();
                    Encoding::one_hot(vocabulary, text.as_deref().unwrap_or(fill), values);
                }
            }
        }
    }
    out
}

/// A categorical column's vocabulary (sorted) and the value that fills a missing one.
fn category(
    spec: &DatasetSpec,
    tables: &[Table],
    column: usize,
    (train, test): (&[Row], &[Row]),
) -> Encoding {
    let values = |rows: &[Row]| -> Vec<Cow<str>> {
        rows.iter()
            .filter_map(|row| row.value(tables, column).text())
            .collect()
    };
    let (train_values, test_values) = (values(train), values(test));
    let vocabulary = match spec.table.files {
        // Categories the test file lacks get no column (Adult: Holand-Netherlands); pooled
        // rows keep every category, so that each seed's split has the same features.
        Files::TrainTest { .. } if !spec.is_pooled() => shared_vocabulary(
            train_values.iter().map(|v| &**v),
            test_values.iter().map(|v| &**v),
        ),
        _ => (train_values.iter().chain(&test_values))
            .map(|v| &**v)
            .collect::<BTreeSet<&str>>()
            .into_iter()
            .map(String::from)
            .collect(),
    };
    Encoding::Category {
        vocabulary,
        fill: most_frequent(train_values.iter().map(|v| &**v)),
    }
}

fn most_frequent<'a>(values: impl Iterator<Item = &'a str>) -> String {
    let mut counts = std::collections::BTreeMap::new();
    for value in values {
        *counts.entry(value).or_insert(0usize) += 1;
    }
    counts
        .into_iter()
        .max_by_key(|&(value, count)| (count, std::cmp::Reverse(value)))
        .map(|(value, _)| value.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::Encoding;

    /// Issue 29, item 17: an unseen value of a two-valued category is neither of its values
    /// (COMPAS race "Other" used to be encoded as, and predicted exactly like, the first).
    #[test]
    fn an_unseen_value_is_none_of_the_known_ones() {
        let races = ["African-American", "Caucasian"].map(String::from);
        let encoded = |vocabulary: &[String], value: &str| {
            let mut out = Vec::new();
            let known = Encoding::one_hot(vocabulary, value, &mut out);
            (out, known)
        };
        assert_eq!(encoded(&races, "African-American"), (vec![0.0], true));
        assert_eq!(encoded(&races, "Caucasian"), (vec![1.0], true));
        assert_eq!(encoded(&races, "Other"), (vec![0.5], false));
        let three = ["a", "b", "c"].map(String::from);
        assert_eq!(encoded(&three, "d"), (vec![0.0; 3], false));
    }
}
