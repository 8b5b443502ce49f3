//! Where everything is in a results folder, and its lock: the rows, the manifest, and every
//! folder below it (models, checkpoints, shards, predictions, Slurm scripts) are named here, as
//! cargo's `layout.rs` does for `target/`. Each output of `outputs/` names its own file beside
//! the code that draws it, so a new figure touches no file but its own.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

pub const TRIALS_FILE: &str = "trials.csv";
pub const EPOCHS_FILE: &str = "epochs.csv";
/// `epochs.csv` compressed (`report --gzip-epochs`): what a results folder kept in git holds
/// instead, read when `epochs.csv` is not there.
pub const EPOCHS_GZ_FILE: &str = "epochs.csv.gz";
pub const LOCK_FILE: &str = ".lock";
/// `manifest.json`: what produced the folder.
pub const MANIFEST_FILE: &str = "manifest.json";

/// Where a sweep's saved models go, below its results folder.
pub fn models_dir(results_dir: &Path) -> PathBuf {
    results_dir.join("models")
}

/// Where a halving search keeps its paused trials' checkpoints, below its results folder.
pub fn checkpoints_dir(results_dir: &Path) -> PathBuf {
    results_dir.join("checkpoints")
}

/// `checkpoints/<trial_id>.safetensors`.
pub fn checkpoint_path(results_dir: &Path, trial_id: &str) -> PathBuf {
    checkpoints_dir(results_dir).join(format!("{trial_id}.safetensors"))
}

/// Where a sweep's shards write, below its results folder.
pub fn shards_dir(results_dir: &Path) -> PathBuf {
    results_dir.join("shards")
}

/// Where `--save-predictions` writes, below its results folder.
pub fn predictions_dir(results_dir: &Path) -> PathBuf {
    results_dir.join("predictions")
}

/// Where `slurm` writes its scripts and logs, below its results folder.
pub fn slurm_dir(results_dir: &Path) -> PathBuf {
    results_dir.join("slurm")
}

/// A results folder's lock, held while it lives: by a run's store, and by `report`. The
/// system lets go of it when the process ends, however it ends, so a killed run leaves no
/// stale lock; the lock is the open file's, not the file's, so dropping it removes `.lock`
/// and a folder left alone has none.
pub struct FolderLock {
    _file: File,
    dir: PathBuf,
}

impl FolderLock {
    /// Take the folder's lock, or say who has it.
    pub fn take(dir: &Path) -> Result<Self> {
        Ok(Self {
            _file: lock(dir)?,
            dir: dir.to_path_buf(),
        })
    }
}

impl Drop for FolderLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.dir.join(LOCK_FILE));
    }
}

/// Take the folder's lock, or say who has it.
fn lock(dir: &Path) -> Result<File> {
    let path = dir.join(LOCK_FILE);
    loop {
        // Never through a link: a `.lock` planted as one would have the run write its
        // process id into whatever it points at.
        crate::files::refuse_link(&path)?;
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        crate::files::no_follow(&mut options);
        let mut file = options
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                bail!(
                    "another fairbinn-sweep is writing to {} ({}); wait for it to finish, or \
                     give this run another --results-dir",
                    dir.display(),
                    holder.trim()
                );
            }
            Err(TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", path.display()));
            }
        }
        // A run that ended removes the file: a lock taken on the file it removed is no lock.
        if !is_same_file(&file, &path) {
            continue;
        }
        file.set_len(0)?;
        writeln!(file, "process {}", std::process::id())?;
        return Ok(file);
    }
}

#[cfg(unix)]
fn is_same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
        _ => false,
    }
}

#[cfg(not(unix))]
fn is_same_file(_: &File, path: &Path) -> bool {
    path.exists()
}
