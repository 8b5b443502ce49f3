//! Finding a data set's files, and saying clearly where we looked when they are missing.
//! Looked for in order: the folders the user names (or, for a table of their own, the
//! experiment file's folder), the `data fetch` cache, then the copies built into the binary.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use super::catalogue::{self, Builtin};
use super::checksum::{Hashing, sha256_hex};
use crate::files::bounds;

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
    /// Hand `file`'s text to `read` as a stream (a `.zip` on disk gives its one table),
    /// hashing the stored bytes on the way: `read` may stop early, the rest is still hashed.
    /// The file's record, and what `read` made of it.
    pub fn read<T>(
        &self,
        file: &str,
        read: impl FnOnce(&Path, &mut dyn Read) -> Result<T>,
    ) -> Result<(DataFile, T)> {
        match self {
            Self::Folder(dir) => {
                let path = dir.join(file);
                let path = std::path::absolute(&path).unwrap_or(path);
                let cannot = || format!("cannot read {}", path.display());
                if path.extension().is_some_and(|e| e == "zip") {
                    // Compressed, so held whole: the archive's index is at its end.
                    let zip = crate::files::read_bounded(&path, bounds::DATA, "a data file")?;
                    let made = with_table(&zip, None, |member| {
                        read(&path, &mut crate::files::Bounded::new(member, bounds::DATA))
                    })
                    .with_context(cannot)?;
                    return Ok((record(path, zip.len() as u64, sha256_hex(&zip)), made));
                }
                let file = std::fs::File::open(&path).with_context(cannot)?;
                let file = crate::files::Bounded::new(file, bounds::DATA);
                let mut hashing = Hashing::new(std::io::BufReader::new(file));
                let made = read(&path, &mut hashing)?;
                let (bytes, sha256) = hashing.finish().with_context(cannot)?;
                Ok((record(path, bytes, sha256), made))
            }
            Self::Shipped(builtin) => {
                let path = Path::new(BUILT_IN).join(format!("{}.zip/{file}", builtin.name));
                let zip = builtin.shipped.expect("a shipped location has a zip");
                let mut made = None;
                let (bytes, sha256) = with_table(zip, Some(file), |member| {
                    let mut hashing = Hashing::new(member);
                    made = Some(read(&path, &mut hashing)?);
                    Ok(hashing.finish()?)
                })
                .with_context(|| format!("cannot read {}", path.display()))?;
                Ok((record(path, bytes, sha256), made.expect("read ran")))
            }
        }
    }
}

fn record(path: PathBuf, bytes: u64, sha256: String) -> DataFile {
    DataFile {
        path,
        bytes,
        sha256,
    }
}

/// The member `file` of a zip held in memory.
pub fn unzip(zip: &[u8], file: &str) -> Result<Vec<u8>> {
    with_table(zip, Some(file), |member| {
        let mut bytes = Vec::new();
        member.read_to_end(&mut bytes)?;
        Ok(bytes)
    })
}

/// Run `read` on a zip's member `name`, or on its one table: its one member, or its one
/// `.csv` one (several are refused).
fn with_table<T>(
    zip: &[u8],
    name: Option<&str>,
    read: impl FnOnce(&mut dyn Read) -> Result<T>,
) -> Result<T> {
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
    let index = match (name, names.len(), tables.as_slice()) {
        (Some(name), ..) => names
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| anyhow::anyhow!("no {name} in the archive"))?,
        (None, 1, _) => 0,
        (None, _, [one]) => *one,
        _ => bail!(
            "the zip holds {} files ({}); it should hold one table",
            names.len(),
            names.join(", ")
        ),
    };
    let mut member = archive.by_index(index)?;
    read(&mut member)
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
    // An experiment file named without a folder is beside it in "", the current folder.
    let dir = match dir.as_os_str().is_empty() {
        true => Path::new("."),
        false => dir,
    };
    let shown = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    if !dir.is_dir() {
        return format!("{}: no such folder", shown.display());
    }
    let (mut missing, mut not_files) = (Vec::new(), Vec::new());
    for &file in files.iter().filter(|file| !dir.join(file).is_file()) {
        match dir.join(file).exists() {
            true => not_files.push(file),
            false => missing.push(file),
        }
    }
    let mut said = Vec::new();
    if !missing.is_empty() {
        said.push(format!("missing {}", missing.join(", ")));
    }
    if !not_files.is_empty() {
        said.push(format!("not a regular file: {}", not_files.join(", ")));
    }
    format!("{}: {}", shown.display(), said.join("; "))
}
