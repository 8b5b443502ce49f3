//! The results folder: `trials.csv` (a row per trial) and `epochs.csv` (a row per trial,
//! epoch and split). Rows are appended and flushed as each trial ends, so an interrupted
//! sweep keeps everything it finished, and the next run picks up from there.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

pub const TRIALS_FILE: &str = "trials.csv";
pub const EPOCHS_FILE: &str = "epochs.csv";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    /// The network's outputs stopped being finite (NaN or infinite).
    Diverged,
    /// Anything else went wrong (a panic, an error); rerun on the next run.
    Failed,
}

/// One row of `trials.csv`. Settings a method ignores are left empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialRow {
    pub trial_id: String,
    pub method: String,
    pub seed: u64,
    pub eta: Option<f64>,
    pub lr_acc: f64,
    pub lr_fair: Option<f64>,
    pub epochs: usize,
    pub batch_size: usize,
    pub accuracy_layers: usize,
    pub fairness_position: usize,
    pub fairness_layers: usize,
    pub width: usize,
    pub status: Status,
    pub error: String,
    /// The selected network predicts (nearly) the same for everyone on the test split.
    pub degenerate: Option<bool>,
    pub selected_epoch: Option<usize>,
    pub val_accuracy: Option<f64>,
    pub val_dp_soft: Option<f64>,
    pub val_dp_hard: Option<f64>,
    pub test_accuracy: Option<f64>,
    pub test_bce: Option<f64>,
    pub test_dp_soft: Option<f64>,
    pub test_dp_hard: Option<f64>,
    pub test_eo: Option<f64>,
    pub test_positive_rate: Option<f64>,
    pub seconds: f64,
}

/// One row of `epochs.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRow {
    pub trial_id: String,
    pub epoch: usize,
    pub split: String,
    pub accuracy: f64,
    pub bce: f64,
    pub dp_soft: f64,
    pub dp_hard: f64,
    pub eo: f64,
    pub positive_rate: f64,
}

pub struct ResultsStore {
    dir: PathBuf,
    trials: csv::Writer<File>,
    epochs: csv::Writer<File>,
    /// Trials already in `trials.csv` with a final status: not run again.
    finished: HashSet<String>,
}

impl ResultsStore {
    /// Open (or create) a results folder. Rows of trials that failed are dropped so they run
    /// again; with `fresh`, everything is. A row cut short by a kill is dropped as well.
    pub fn open(dir: &Path, fresh: bool) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the results folder {}", dir.display()))?;
        let trials_path = dir.join(TRIALS_FILE);
        let epochs_path = dir.join(EPOCHS_FILE);
        let kept: Vec<TrialRow> = if fresh {
            Vec::new()
        } else {
            read_rows::<TrialRow>(&trials_path)?
                .into_iter()
                .filter(|row| row.status != Status::Failed)
                .collect()
        };
        let finished: HashSet<String> = kept.iter().map(|row| row.trial_id.clone()).collect();
        let kept_epochs: Vec<EpochRow> = if fresh {
            Vec::new()
        } else {
            read_rows::<EpochRow>(&epochs_path)?
                .into_iter()
                .filter(|row| finished.contains(&row.trial_id))
                .collect()
        };
        // Rewrite both files with what is kept (write aside, then rename: a kill leaves the
        // old file or the new one, never half of one), then append from there.
        rewrite(&trials_path, &kept)?;
        rewrite(&epochs_path, &kept_epochs)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            trials: appender(&trials_path)?,
            epochs: appender(&epochs_path)?,
            finished,
        })
    }

    pub fn is_finished(&self, trial_id: &str) -> bool {
        self.finished.contains(trial_id)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Append one trial: its epochs first, then its row, so a trial is in `trials.csv` only
    /// once all of its epochs are on disk.
    pub fn record(&mut self, trial: &TrialRow, epochs: &[EpochRow]) -> Result<()> {
        for row in epochs {
            self.epochs.serialize(row)?;
        }
        self.epochs.flush()?;
        self.trials.serialize(trial)?;
        self.trials.flush()?;
        self.finished.insert(trial.trial_id.clone());
        Ok(())
    }
}

/// Every complete row of a results CSV; a missing file has none. A file whose header is not
/// ours is refused rather than overwritten.
pub fn read_rows<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let header = reader.headers()?.clone();
    let mut rows = Vec::new();
    for (line, record) in reader.records().enumerate() {
        let Ok(record) = record else { continue };
        if record.len() != header.len() {
            continue; // The last row of a killed run may be cut short.
        }
        match record.deserialize(Some(&header)) {
            Ok(row) => rows.push(row),
            Err(e) if line == 0 => bail!(
                "{} does not look like a results file of this version ({e}); \
                 use --force to start it afresh, or another --results-dir",
                path.display()
            ),
            Err(_) => continue,
        }
    }
    Ok(rows)
}

fn rewrite<T: Serialize>(path: &Path, rows: &[T]) -> Result<()> {
    let aside = path.with_extension("csv.tmp");
    let mut writer = csv::Writer::from_path(&aside)
        .with_context(|| format!("cannot write {}", aside.display()))?;
    for row in rows {
        writer.serialize(row)?;
    }
    writer.flush()?;
    drop(writer);
    std::fs::rename(&aside, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// A writer that appends; it writes the header only when the file is empty.
fn appender(path: &Path) -> Result<csv::Writer<File>> {
    let file = OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let empty = file.metadata()?.len() == 0;
    Ok(csv::WriterBuilder::new()
        .has_headers(empty)
        .from_writer(file))
}
