//! Everything a run shows, as one list: each CSV, each figure and the printed summary is an
//! [`Output`] in [`OUTPUTS`], written from the [`Analysis`] by `run`, `merge` and any later
//! command alike. To add one: a type implementing [`Output`], and its line in the list.

mod curves;
mod figures;
mod groups;
mod html;
mod knobs;
mod markdown;
mod parameters;
pub mod plan_table;
mod summary;
mod tables;

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::analysis::Analysis;
use crate::config::reference::ReferencePoint;
use crate::config::search::Halving;
use crate::plan::Plan;
use crate::results::ExecuteSummary;
use crate::results::layout::{EPOCHS_FILE, TRIALS_FILE};
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
    /// The network's inputs (the data's features).
    pub n_inputs: usize,
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
    &parameters::Parameters,
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

/// A figure title's font size: `largest`, or smaller so that `title` fits in `width` pixels
/// (a sans-serif glyph is about half its size wide): the test-set policies' titles are long.
fn caption_size(title: &str, width: u32, largest: u32) -> u32 {
    let fits = f64::from(width - 40) / (0.52 * title.chars().count() as f64);
    (fits.floor() as u32).clamp(10, largest)
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

#[cfg(test)]
mod tests {
    use super::caption_size;

    #[test]
    fn a_long_title_gets_a_font_that_fits_its_figure() {
        assert_eq!(caption_size("adult: test split, last epoch", 960, 20), 20);
        let long = "adult_authors_code: test split, TEST-Pareto epochs (the paper's protocol: \
                    selected on the test set), selected on ΔDP soft";
        let size = caption_size(long, 960, 20);
        // 121 glyphs, each about half its size wide: 14 px fills 881 of the 920 pixels.
        assert_eq!((long.chars().count(), size), (121, 14));
        assert_eq!(
            caption_size(&"x".repeat(1000), 960, 20),
            10,
            "never unreadably small"
        );
    }
}
