//! New rows turned into a network's inputs exactly as its training rows were (`predict`):
//! the same reading rules, encodings and scaling, all recorded in a [`Preprocessing`].

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use anyhow::{Context, Result, bail};

use super::encode::{Encoding, Preprocessing, label_of};
use super::groups::Groups;
use super::spec::{Header, MissingAction};
use super::table::{self, Value};

/// A file's rows, encoded and scaled; labels and groups where the file has them.
#[derive(Debug)]
pub struct NewRows {
    /// Each row's line in the file (1-based).
    pub lines: Vec<u64>,
    /// `lines.len() × n_features` values, row after row.
    pub features: Vec<f32>,
    /// `None` when the file has no label column, per row when a value is missing.
    pub labels: Option<Vec<Option<f32>>>,
    /// As `labels`, for the sensitive column; a value in no group is `None` too.
    pub groups: Option<Vec<Option<u32>>>,
    /// Rows left out because a feature is missing and the training rows were read with
    /// `missing: drop`.
    pub left_out: usize,
    /// Per column, values training never saw (encoded as zeros) and one of them.
    pub unseen: BTreeMap<String, (usize, String)>,
}

impl Preprocessing {
    /// Read `path` and encode its rows; `group_names` are the training data's groups. A
    /// file that lacks a feature column, or holds text where a number belongs, is refused.
    pub fn encode_file(&self, path: &Path, group_names: &[String]) -> Result<NewRows> {
        let mut t = self.table.clone();
        // The training data's filters chose the rows to learn from; new rows are predicted
        // all (they need only the features, and the label and group columns if present), so
        // their file need not have the columns the filters read.
        t.filters.clear();
        // Training named the columns by position (`columns:`). A file whose header line names
        // every feature elsewhere than there (written by pandas, say) is read by its names;
        // one with them in place is read as training read its files (Adult's copies name the
        // label `Y` or not at all).
        let columns: Vec<&str> = self.columns.iter().map(|c| c.column.as_str()).collect();
        if let Some(named) = &t.columns {
            let first_record = first_record(path, &t)?;
            let first: Vec<&str> = first_record.iter().collect();
            let at = |names: &[&str], c: &str| names.iter().position(|n| *n == c);
            let named: Vec<&str> = named.iter().map(String::as_str).collect();
            let names_all = columns.iter().all(|c| at(&first, c).is_some());
            let in_place = columns.iter().all(|c| at(&first, c) == at(&named, c));
            if names_all && !in_place {
                t.columns = None;
                t.header = Header::Present;
            }
        }
        let input = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
        let mut input = crate::files::Bounded::new(input, crate::files::bounds::DATA);
        // Only the model's columns are kept, each as training kept it (`categorical` ones as
        // text), so a value reads back as it did there.
        t.features = Some(columns.iter().map(|c| c.to_string()).collect());
        let table = table::read(path, &mut input, &t, None)?;
        let missing: Vec<&str> = columns
            .iter()
            .copied()
            .filter(|c| !table.names.iter().any(|n| n == c))
            .collect();
        if !missing.is_empty() {
            bail!(
                "{}: lacks the column{} the model was trained on: {} (the file's columns: {})",
                path.display(),
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", "),
                table.names.join(", ")
            );
        }
        let find = |name: &str| table.names.iter().position(|n| n == name);
        let features: Vec<usize> = columns.iter().map(|c| find(c).expect("checked")).collect();
        let label = find(t.label.column());
        // The groups need every sensitive column; without one, rows have no group.
        let sensitive = (t.sensitive.attributes().iter())
            .map(|(column, _)| find(column))
            .collect::<Option<Vec<usize>>>();
        let groups = Groups::named(group_names.to_vec());

        let mut rows = NewRows {
            lines: Vec::new(),
            features: Vec::new(),
            labels: label.map(|_| Vec::new()),
            groups: sensitive.as_ref().map(|_| Vec::new()),
            left_out: 0,
            unseen: BTreeMap::new(),
        };
        let mut row_values = Vec::new();
        for index in 0..table.n_rows() {
            let value = |c: usize| table.value(index, c);
            let drop = t.missing.action == MissingAction::Drop;
            if drop && features.iter().any(|&c| value(c) == Value::Missing) {
                rows.left_out += 1;
                continue;
            }
            row_values.clear();
            for (column, &c) in self.columns.iter().zip(&features) {
                let value = value(c);
                match &column.encoding {
                    Encoding::Number { fill } => {
                        let number = match (value, value.number()) {
                            (Value::Missing, _) => *fill,
                            (_, Some(number)) => number,
                            (_, None) => bail!(
                                "{}: column {}: expected a finite number, found {:?}",
                                table.at(index),
                                column.column,
                                value.text().unwrap_or_default()
                            ),
                        };
                        row_values.push(number);
                    }
                    Encoding::Category { vocabulary, fill } => {
                        let text = value.text();
                        let text = text.as_deref().unwrap_or(fill);
                        if !Encoding::one_hot(vocabulary, text, &mut row_values) {
                            let seen = rows.unseen.entry(column.column.clone());
                            seen.or_insert((0, text.to_string())).0 += 1;
                        }
                    }
                }
            }
            rows.features.extend_from_slice(&row_values);
            rows.lines.push(table.lines[index]);
            if let (Some(labels), Some(c)) = (&mut rows.labels, label) {
                let parsed = match value(c).text() {
                    None => None,
                    Some(text) => Some(label_of(&t.label, &text).map_err(|e| {
                        anyhow::anyhow!("{}: column {}: {e}", table.at(index), t.label.column())
                    })?),
                };
                labels.push(parsed);
            }
            if let (Some(row_groups), Some(columns)) = (&mut rows.groups, &sensitive) {
                let values: Option<Vec<Cow<str>>> =
                    columns.iter().map(|&c| value(c).text()).collect();
                let group = match values {
                    None => None,
                    Some(values) => {
                        let values: Vec<&str> = values.iter().map(|v| &**v).collect();
                        groups
                            .group_of(&t.sensitive, &values)
                            .map_err(|(column, e)| {
                                anyhow::anyhow!("{}: column {column}: {e}", table.at(index))
                            })?
                    }
                };
                row_groups.push(group);
            }
        }
        if let Some(scaler) = &self.scaler {
            scaler.apply_to(&mut rows.features);
        }
        Ok(rows)
    }
}

/// The file's first record (after comment lines), trimmed.
fn first_record(path: &Path, t: &super::spec::TableSpec) -> Result<csv::StringRecord> {
    let input = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let input = crate::files::Bounded::new(input, crate::files::bounds::DATA);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(t.delimiter)
        .has_headers(false)
        .flexible(true)
        .comment(t.comment)
        .from_reader(input);
    let mut first = csv::StringRecord::new();
    reader
        .read_record(&mut first)
        .with_context(|| format!("{}: cannot read as CSV", path.display()))?;
    first.trim();
    Ok(first)
}
