//! Finding a data set's files, and saying clearly where we looked when they are missing.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

/// Who named a data directory; the error message repeats it so the user knows what to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataDirSource {
    Flag,
    Environment,
    ExperimentFile(PathBuf),
    Default,
}

impl fmt::Display for DataDirSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Flag => write!(f, "from --data-dir"),
            Self::Environment => write!(f, "from FAIRBINN_DATA_DIR"),
            Self::ExperimentFile(file) => write!(f, "from dataset.data_dir in {}", file.display()),
            Self::Default => write!(f, "default location"),
        }
    }
}

/// The first folder, among `data_dirs` and the data set's own `subfolder` below each, that
/// holds every one of `files` (an absolute path is taken as it is). Tried in order:
/// `DIR/<subfolder>/`, then `DIR/`.
pub fn find_files(
    dataset: &str,
    subfolder: Option<&str>,
    files: &[&str],
    data_dirs: &[(PathBuf, DataDirSource)],
) -> Result<PathBuf> {
    let mut looked = Vec::new();
    for (dir, source) in data_dirs {
        let candidates = subfolder
            .map(|sub| dir.join(sub))
            .into_iter()
            .chain([dir.clone()]);
        for candidate in candidates {
            if files.iter().all(|file| candidate.join(file).is_file()) {
                return Ok(candidate);
            }
            looked.push(format!("  {} ({source})", describe(&candidate, files)));
        }
    }
    bail!(
        "the {dataset} data set was not found: it needs the files {}.\nLooked in:\n{}\n\
         Point to the folder that holds them (or its parent) with --data-dir, the \
         FAIRBINN_DATA_DIR environment variable, or dataset.data_dir in the experiment file.",
        files.join(", "),
        looked.join("\n")
    )
}

/// `path`, made absolute when possible, with the files missing there.
fn describe(dir: &Path, files: &[&str]) -> String {
    let shown = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    if !dir.is_dir() {
        return format!("{}: no such folder", shown.display());
    }
    let missing: Vec<&str> = files
        .iter()
        .copied()
        .filter(|file| !dir.join(file).is_file())
        .collect();
    format!("{}: missing {}", shown.display(), missing.join(", "))
}
