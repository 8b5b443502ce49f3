//! Everything a run shows, as one list: each CSV, each figure and the printed summary is an
//! [`Output`] in [`OUTPUTS`], written from the [`Analysis`] by `run`, `merge` and any later
//! command alike. To add one: a type implementing [`Output`], and its line in the list.

mod curves;
mod figures;
mod groups;
mod html;
mod knobs;
mod markdown;
pub mod plan;
mod summary;
mod tables;

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::analysis::Analysis;
use crate::config::reference::ReferencePoint;
use crate::config::search::Halving;
use crate::sweep::store::{EPOCHS_FILE, TRIALS_FILE};
use crate::sweep::{ExecuteSummary, Plan};
pub use tables::{AGGREGATE_FILE, METHODS_FILE};

/// What the outputs are made from.
pub struct Report<'a> {
    /// The experiment's name.
    pub name: &'a str,
    pub plan: &'a Plan,
    /// What this command did (trials run, already there).
    pub run: &'a ExecuteSummary,
    pub analysis: &'a Analysis,
    /// The sensitive groups, in order.
    pub group_names: &'a [String],
    /// External results the figures draw beside the sweep's (`reference_points:`).
    pub references: &'a [ReferencePoint],
    /// The η `curves.svg` draws, when the file names one.
    pub curves_eta: Option<f64>,
    /// What the data holds (`data describe`), for report.md.
    pub data: &'a str,
    /// The halving search that trained the trials, if one did.
    pub halving: Option<&'a Halving>,
}

pub trait Output: Sync {
    /// Write (or print) this output into `dir`; the files it wrote. `written` holds the
    /// files the outputs before it wrote.
    fn write(&self, report: &Report, dir: &Path, written: &[PathBuf]) -> Result<Vec<PathBuf>>;
}

/// In the order they are written; the summary, which lists the files, last.
pub const OUTPUTS: &[&dyn Output] = &[
    &tables::Aggregate,
    &tables::Methods,
    &figures::Pareto,
    &knobs::Knobs,
    &groups::Groups,
    &curves::Curves,
    &markdown::Markdown,
    &html::Html,
    &summary::Summary,
];

/// Every output, after the store's own files.
pub fn write_all(report: &Report, dir: &Path) -> Result<()> {
    let mut written: Vec<PathBuf> = [TRIALS_FILE, EPOCHS_FILE]
        .iter()
        .map(|file| dir.join(file))
        .collect();
    for output in OUTPUTS {
        let files = output.write(report, dir, &written)?;
        written.extend(files);
    }
    Ok(())
}

/// Of rows of settings (`Settings::cells`, the method first), the columns whose value differs
/// between two rows of one method: what tells a method's configurations apart.
fn varying_columns(cells: &[Vec<(String, String)>]) -> Vec<usize> {
    (1..cells.first().map_or(0, Vec::len))
        .filter(|&c| {
            cells.iter().any(|row| {
                (cells.iter()).any(|other| other[0].1 == row[0].1 && other[c].1 != row[c].1)
            })
        })
        .collect()
}

/// A line's name in a legend: the method, then `column=value` for `columns` (empty values
/// left out): `lagrangian fairness_loss=dp-abs`.
fn line_label(row: &[(String, String)], columns: &[usize]) -> String {
    let mut label = row[0].1.clone();
    for &c in columns {
        if !row[c].1.is_empty() {
            label += &format!(" {}={}", row[c].0, row[c].1);
        }
    }
    label
}
