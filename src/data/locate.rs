//! Finding a data set's files, and saying clearly where we looked when they are missing.
//! Looked for in order: the folders the user names (or, for a table of their own, the
//! experiment file's folder), the `data fetch` cache, then the copies built into the binary.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use super::catalogue::{self, Builtin, sha256_hex};

/// Who named a data directory; the error message repeats it so the user knows what to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataDirSource {
    Flag,
    Environment,
    ExperimentFile(PathBuf),
    /// A table of the user's own is looked for beside the experiment file.
    BesideExperiment,
    /// Where `fairbinn-sweep data fetch` puts data sets.
    Cache,
}

impl fmt::Display for DataDirSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Flag => write!(f, "from --data-dir"),
            Self::Environment => write!(f, "from FAIRBINN_DATA_DIR"),
            Self::ExperimentFile(file) => write!(f, "from dataset.data_dir in {}", file.display()),
            Self::BesideExperiment => write!(f, "the experiment file's folder"),
            Self::Cache => write!(f, "the `data fetch` cache"),
        }
    }
}

/// How the copies built into the binary are named in messages and the manifest.
pub const BUILT_IN: &str = "<built-in>";

/// Where a data set's files were found.
#[derive(Clone)]
pub enum Location {
    Folder(PathBuf),
    /// The copy compiled into the binary.
    Shipped(&'static Builtin),
}

/// A data file as read, for the record (`manifest.json`, `data describe`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataFile {
    pub path: PathBuf,
    pub bytes: u64,
    /// Of the file as stored (a zipped table's zip).
    pub sha256: String,
}

impl Location {
    /// `file`'s record and its text; a `.zip` on disk gives its one member (or its first
    /// `.csv` one).
    pub fn read(&self, file: &str) -> Result<(DataFile, Vec<u8>)> {
        let (path, stored) = match self {
            Self::Folder(dir) => {
                let path = dir.join(file);
                let bytes = std::fs::read(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                (std::path::absolute(&path).unwrap_or(path), bytes)
            }
            Self::Shipped(builtin) => {
                let path = Path::new(BUILT_IN).join(format!("{}.zip/{file}", builtin.name));
                let zip = builtin.shipped.expect("a shipped location has a zip");
                let bytes = catalogue::unzip(zip, file)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                (path, bytes)
            }
        };
        let record = DataFile {
            bytes: stored.len() as u64,
            sha256: sha256_hex(&stored),
            path: path.clone(),
        };
        let text = match path.extension().is_some_and(|e| e == "zip") {
            true => {
                first_table(&stored).with_context(|| format!("cannot read {}", path.display()))?
            }
            false => stored,
        };
        Ok((record, text))
    }
}

/// The one member of a zip, or its one `.csv` member; several are refused.
fn first_table(zip: &[u8]) -> Result<Vec<u8>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip))?;
    let names: Vec<String> = (0..archive.len())
        .map(|i| match archive.name_for_index(i) {
            Some(Ok(name)) => name.to_string(),
            _ => format!("member {i}"),
        })
        .collect();
    let tables: Vec<usize> = (0..names.len())
        .filter(|&i| names[i].ends_with(".csv"))
        .collect();
    let index = match (names.len(), tables.as_slice()) {
        (1, _) => 0,
        (_, [one]) => *one,
        _ => bail!(
            "the zip holds {} files ({}); it should hold one table",
            names.len(),
            names.join(", ")
        ),
    };
    let mut member = archive.by_index(index)?;
    let mut bytes = Vec::with_capacity(member.size() as usize);
    member.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The first folder, among `data_dirs` and the data set's own `subfolder` below each, that
/// holds every one of `files` (an absolute path is taken as it is), tried as
/// `DIR/<subfolder>/`, then `DIR/`; else the copy built into the binary, when there is one.
pub fn find_files(
    dataset: &str,
    subfolder: Option<&str>,
    files: &[&str],
    data_dirs: &[(PathBuf, DataDirSource)],
) -> Result<Location> {
    let mut looked = Vec::new();
    for (dir, source) in data_dirs {
        let candidates = subfolder
            .map(|sub| dir.join(sub))
            .into_iter()
            .chain([dir.clone()]);
        for candidate in candidates {
            if files.iter().all(|file| candidate.join(file).is_file()) {
                return Ok(Location::Folder(candidate));
            }
            looked.push(format!("  {} ({source})", describe(&candidate, files)));
        }
    }
    let builtin = subfolder.and_then(catalogue::builtin);
    if let Some(builtin) = builtin.filter(|b| b.shipped.is_some()) {
        return Ok(Location::Shipped(builtin));
    }
    let fetch = match builtin {
        Some(builtin) => format!(
            "Download it with `fairbinn-sweep data fetch {}` ({:.0} MB), or point",
            builtin.name,
            builtin.sources.iter().map(|s| s.bytes).sum::<u64>() as f64 / 1e6
        ),
        None => "Point".into(),
    };
    bail!(
        "the {dataset} data set was not found: it needs the files {}.\nLooked in:\n{}\n\
         {fetch} to the folder that holds them (or its parent) with --data-dir, the \
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
