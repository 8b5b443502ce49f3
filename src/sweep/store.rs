//! The results folder: `trials.csv` (a row per trial) and `epochs.csv` (a row per trial,
//! epoch and split). Rows are appended and flushed as each trial ends, so an interrupted
//! sweep keeps everything it finished, and the next run picks up from there. One run at a
//! time writes to a folder: it holds a lock on `.lock` while it is open.

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::config::TrialSpec;
use crate::metrics::SplitMetrics;
use crate::model_file::models_dir;
use crate::train::{
    EpochMetrics, Evaluated, FairnessLoss, FollowerBatch, Method, Optimizer, StepOrder,
    threshold::Constraint,
};

pub const TRIALS_FILE: &str = "trials.csv";
pub const EPOCHS_FILE: &str = "epochs.csv";
/// `epochs.csv` compressed (`report --gzip-epochs`): what a results folder kept in git holds
/// instead, read when `epochs.csv` is not there.
pub const EPOCHS_GZ_FILE: &str = "epochs.csv.gz";
const LOCK_FILE: &str = ".lock";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Ok,
    /// The network's outputs stopped being finite (NaN or infinite).
    Diverged,
    /// Stopped early (`patience`): its validation predictions were degenerate, the same for
    /// nearly everyone, for that many epochs in a row. Finished, as `ok`.
    Collapsed,
    /// Anything else went wrong (a panic, an error); rerun on the next run.
    Failed,
    /// Trained to a rung of a halving search, its checkpoint saved: it goes on to the next
    /// rung if the rung's decision keeps its configuration. Not finished.
    Paused,
    /// Stopped at a rung of a halving search: its configuration was not among those kept.
    /// Finished; its epochs count as any other's.
    Halved,
}

impl Status {
    /// Whether the trial's epochs are reported: all but a diverged or failed trial's.
    pub fn reports_epochs(self) -> bool {
        matches!(
            self,
            Self::Ok | Self::Collapsed | Self::Paused | Self::Halved
        )
    }
}

/// One row of `trials.csv`: who the trial is, its settings, how it ended. Written as a
/// tuple of its parts, the one shape of nested row the csv crate writes with a header.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrialRow {
    pub head: TrialHead,
    pub settings: Settings,
    pub outcome: TrialOutcome,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct TrialHead {
    pub trial_id: String,
    /// The trial's settings without the seed: seeds of one configuration share it.
    pub config_id: String,
    pub seed: u64,
}

impl TrialHead {
    pub fn of(trial: &crate::sweep::Trial) -> Self {
        Self {
            trial_id: trial.id.clone(),
            config_id: trial.config_id.clone(),
            seed: trial.spec.train.seed,
        }
    }
}

/// A configuration's settings as written in the CSVs; those its method ignores are empty.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Settings {
    pub method: Method,
    pub eta: Option<f64>,
    pub lr_acc: f64,
    pub lr_fair: Option<f64>,
    pub epochs: usize,
    pub batch_size: usize,
    pub fairness_loss: Option<FairnessLoss>,
    pub step_order: Option<StepOrder>,
    pub follower_batch: Option<FollowerBatch>,
    pub follower_steps: Option<usize>,
    pub shuffle: bool,
    pub lr_schedule: String,
    /// The collapse stop's patience; empty when off.
    pub patience: Option<usize>,
    /// Each player's optimizer (the fairness player's for bilevel methods only; both empty in
    /// rows written before there was a choice, all Adam), and SGD's momentum.
    pub optimizer_acc: Option<Optimizer>,
    pub optimizer_fair: Option<Optimizer>,
    pub momentum: Option<f64>,
    /// `stackelberg`'s look-ahead.
    pub unroll: Option<usize>,
    /// `threshold`'s and `reductions`' constraint; `threshold`'s tolerance.
    #[serde(default)]
    pub constraint: Option<Constraint>,
    #[serde(default)]
    pub tolerance: Option<f64>,
    /// `reductions`' bound on each group's gap to everyone.
    #[serde(default)]
    pub difference_bound: Option<f64>,
    /// `adversarial`'s α, adversary learning rate and hidden units.
    #[serde(default)]
    pub alpha: Option<f64>,
    #[serde(default)]
    pub lr_adv: Option<f64>,
    #[serde(default)]
    pub adversary_width: Option<usize>,
    pub accuracy_layers: usize,
    pub fairness_position: usize,
    pub fairness_layers: usize,
    pub width: usize,
}

impl Settings {
    pub fn of(spec: &TrialSpec, n_features: usize) -> Self {
        let (t, a) = (&spec.train, &spec.architecture);
        let bilevel = t.method.is_bilevel();
        let adversarial = t.method == Method::Adversarial;
        Self {
            method: t.method,
            eta: t.method.uses_eta().then_some(t.eta),
            lr_acc: t.lr_acc,
            lr_fair: bilevel.then_some(t.lr_fair),
            epochs: t.epochs,
            batch_size: t.batch_size,
            fairness_loss: t.method.uses_eta().then_some(t.fairness_loss),
            step_order: bilevel.then_some(t.step_order),
            follower_batch: bilevel.then_some(t.follower_batch),
            follower_steps: bilevel.then_some(t.follower_steps),
            shuffle: t.shuffle,
            lr_schedule: t
                .lr_schedule
                .map_or("none".into(), |schedule| schedule.to_string()),
            patience: (t.patience > 0).then_some(t.patience),
            optimizer_acc: Some(t.optimizer_acc),
            optimizer_fair: bilevel.then_some(t.optimizer_fair),
            momentum: t.uses_sgd().then_some(t.momentum),
            unroll: (t.method.trained() == Method::Stackelberg).then_some(t.unroll),
            constraint: (t.threshold().is_some() || t.reductions() || adversarial)
                .then_some(t.constraint),
            tolerance: t.threshold().map(|_| t.tolerance),
            difference_bound: t.reductions().then_some(t.difference_bound),
            alpha: adversarial.then_some(t.alpha),
            lr_adv: adversarial.then_some(t.lr_adv),
            adversary_width: adversarial.then_some(t.adversary_width),
            accuracy_layers: a.accuracy_layers,
            fairness_position: a.fairness_position,
            fairness_layers: a.fairness_layers,
            width: a.width.unwrap_or(n_features),
        }
    }

    /// `fairbinn η=100`
    pub fn describe(&self) -> String {
        match self.eta {
            Some(eta) => format!("{} η={eta}", self.method),
            None => self.method.to_string(),
        }
    }

    /// (column, value) pairs, as written in the CSVs.
    pub fn cells(&self) -> Vec<(String, String)> {
        let (header, record) = as_csv(self);
        header
            .iter()
            .zip(record.iter())
            .map(|(h, v)| (h.to_string(), v.to_string()))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct TrialOutcome {
    pub status: Status,
    pub error: String,
    /// Epochs completed (fewer than planned when the trial diverged).
    pub last_epoch: usize,
    /// The last epoch's metrics, for a quick look; selected points are in `aggregate.csv`.
    pub val_accuracy: Option<f64>,
    pub val_dp_soft: Option<f64>,
    pub test_accuracy: Option<f64>,
    pub test_dp_soft: Option<f64>,
    pub test_dp_hard: Option<f64>,
    pub seconds: f64,
}

/// What a later run reads back from `trials.csv`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TrialRecord {
    pub trial_id: String,
    pub status: Status,
    pub error: String,
    /// Epochs trained: `epochs.csv` has two rows (validation, test) for each.
    pub last_epoch: usize,
    pub val_accuracy: Option<f64>,
    pub val_dp_soft: Option<f64>,
    pub test_accuracy: Option<f64>,
    pub test_dp_soft: Option<f64>,
    pub test_dp_hard: Option<f64>,
    pub seconds: f64,
}

impl TrialRecord {
    /// How the trial ended, as recorded.
    pub fn outcome(&self) -> TrialOutcome {
        TrialOutcome {
            status: self.status,
            error: self.error.clone(),
            last_epoch: self.last_epoch,
            val_accuracy: self.val_accuracy,
            val_dp_soft: self.val_dp_soft,
            test_accuracy: self.test_accuracy,
            test_dp_soft: self.test_dp_soft,
            test_dp_hard: self.test_dp_hard,
            seconds: self.seconds,
        }
    }
}

/// One row of `epochs.csv`: one split of one trial after one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRow {
    pub trial_id: String,
    pub epoch: usize,
    pub split: Evaluated,
    pub accuracy: f64,
    pub bce: f64,
    pub dp_soft: f64,
    pub dp_hard: f64,
    pub eo: f64,
    pub positive_rate: f64,
    pub probability_std: f64,
    /// Each sensitive group's positive-prediction rate, in group order (empty in rows
    /// written before this column existed).
    #[serde(default)]
    pub group_positive_rates: GroupRates,
    /// The epoch's training loss (mean BCE of the leader's minibatches), on both of its
    /// rows; empty in rows written before this column existed.
    #[serde(default)]
    pub train_bce: Option<f64>,
}

/// Per-group rates in one CSV cell: space-separated, six decimals.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GroupRates(pub Vec<f64>);

impl Serialize for GroupRates {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let cells: Vec<String> = self.0.iter().map(|rate| format!("{rate:.6}")).collect();
        serializer.serialize_str(&cells.join(" "))
    }
}

impl<'de> Deserialize<'de> for GroupRates {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.split_whitespace()
            .map(|rate| rate.parse().map_err(serde::de::Error::custom))
            .collect::<Result<_, _>>()
            .map(GroupRates)
    }
}

impl EpochRow {
    pub fn new(trial_id: &str, epoch: usize, split: Evaluated, m: &SplitMetrics) -> Self {
        Self {
            trial_id: trial_id.to_string(),
            epoch,
            split,
            accuracy: m.accuracy,
            bce: m.bce,
            dp_soft: m.dp_soft,
            dp_hard: m.dp_hard,
            eo: m.eo,
            positive_rate: m.positive_rate,
            probability_std: m.probability_std,
            group_positive_rates: GroupRates(m.group_positive_rates.clone()),
            train_bce: None,
        }
    }

    /// The rows of an epoch's metrics: validation, then test, each with the training loss.
    pub fn of_epoch(trial_id: &str, m: &EpochMetrics) -> [Self; 2] {
        let train_bce = Some(m.train_bce).filter(|loss| loss.is_finite());
        [
            (Evaluated::Validation, &m.validation),
            (Evaluated::Test, &m.test),
        ]
        .map(|(split, metrics)| Self {
            train_bce,
            ..Self::new(trial_id, m.epoch, split, metrics)
        })
    }

    pub fn metrics(&self) -> SplitMetrics {
        SplitMetrics {
            accuracy: self.accuracy,
            bce: self.bce,
            dp_soft: self.dp_soft,
            dp_hard: self.dp_hard,
            eo: self.eo,
            positive_rate: self.positive_rate,
            probability_std: self.probability_std,
            group_positive_rates: self.group_positive_rates.0.clone(),
        }
    }
}

pub struct ResultsStore {
    trials: csv::Writer<File>,
    epochs: csv::Writer<File>,
    /// Trials already in `trials.csv` with a final status: not run again.
    finished: HashSet<String>,
    /// Trials paused at a rung of a halving search, with the epoch they reached.
    paused: HashMap<String, usize>,
    /// Trials a halving search paused or stopped at a rung.
    halted: usize,
    /// Held while the store is open; the system lets go of it when the process ends, however
    /// it ends, so a killed run leaves no stale lock.
    _lock: File,
    dir: PathBuf,
}

impl ResultsStore {
    /// Open (or create) a results folder. Only finished trials are kept, and paused ones
    /// (up to the epoch they paused at) whose checkpoint is there: a trial that failed, a row
    /// a kill cut short, a trial whose epoch rows are missing or incomplete runs again;
    /// damaged rows are moved to `<file>.damaged`, each reported with its line. With `fresh`,
    /// everything runs again. Refused while another run has the folder open.
    pub fn open(dir: &Path, fresh: bool) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the results folder {}", dir.display()))?;
        let lock = lock(dir)?;
        let trials_path = dir.join(TRIALS_FILE);
        let epochs_path = dir.join(EPOCHS_FILE);
        let (trials_header, epochs_header) = headers();
        let folder = match fresh {
            true => Folder::default(),
            false => Folder::read(dir)?,
        };
        for (folder, what) in [
            (models_dir(dir), "models"),
            (checkpoints_dir(dir), "checkpoints"),
        ] {
            if fresh && folder.is_dir() {
                std::fs::remove_dir_all(&folder).with_context(|| {
                    format!("cannot remove the old {what} in {}", folder.display())
                })?;
            }
        }
        for (file, damaged) in [
            (&trials_path, &folder.trials.damaged),
            (&epochs_path, &folder.epochs.damaged),
        ] {
            set_aside(file, damaged)?;
        }
        if folder.incomplete > 0 {
            eprintln!(
                "warning: {}: {} trials lack some of their rows in {EPOCHS_FILE} (a missing or \
                 cut file); they run again",
                trials_path.display(),
                folder.incomplete
            );
        }
        let halted = (folder.trials.values.iter())
            .filter(|r| matches!(r.status, Status::Paused | Status::Halved))
            .count();
        let finished = folder.finished;
        // A paused trial goes on from its checkpoint; without one, it starts again.
        let mut paused = folder.paused;
        paused.retain(|id, _| checkpoint_path(dir, id).is_file());
        // Rewrite both files with what is kept (write aside, then rename: a kill leaves the
        // old file or the new one, never half of one), then append from there. Of a paused
        // trial, the epochs it paused at and before: later ones were a leg a kill cut short.
        let kept_epochs = |id: &str| match paused.get(id) {
            Some(&epoch) => epoch,
            None if finished.contains(id) => usize::MAX,
            None => 0,
        };
        let trial_rows = folder.trials.rows.into_iter();
        let trial_rows = trial_rows.filter(|r| kept_epochs(&r[0]) > 0).collect();
        let epoch_rows = folder.epochs.rows.into_iter().zip(&folder.epochs.values);
        let epoch_rows = epoch_rows
            .filter(|(_, row)| row.epoch <= kept_epochs(&row.trial_id))
            .map(|(r, _)| r)
            .collect();
        rewrite(&trials_path, &trials_header, trial_rows)?;
        rewrite(&epochs_path, &epochs_header, epoch_rows)?;
        Ok(Self {
            trials: appender(&trials_path, &trials_header)?,
            epochs: appender(&epochs_path, &epochs_header)?,
            finished,
            paused,
            halted,
            _lock: lock,
            dir: dir.to_path_buf(),
        })
    }

    /// Copy into this folder the finished trials of another (a shard's) that are among
    /// `wanted` and not here yet, epochs first as [`record`](Self::record) does. Returns how
    /// many, and how many of its finished trials are not `wanted`.
    pub fn absorb(&mut self, other: &Path, wanted: &HashSet<&str>) -> Result<(usize, usize)> {
        let shard = Folder::read(other)?;
        let not_wanted = shard
            .finished
            .iter()
            .filter(|id| !wanted.contains(id.as_str()))
            .count();
        let taken: HashSet<&str> = shard
            .finished
            .iter()
            .map(String::as_str)
            .filter(|id| wanted.contains(id) && !self.finished.contains(*id))
            .collect();
        copy_models(other, &self.dir, &taken)?;
        for record in shard.epochs.rows.iter().filter(|r| taken.contains(&r[0])) {
            self.epochs
                .write_record(record)
                .map_err(|e| self.cannot_write(EPOCHS_FILE, e))?;
        }
        self.epochs
            .flush()
            .map_err(|e| self.cannot_write(EPOCHS_FILE, e.into()))?;
        for record in shard.trials.rows.iter().filter(|r| taken.contains(&r[0])) {
            self.trials
                .write_record(record)
                .map_err(|e| self.cannot_write(TRIALS_FILE, e))?;
            self.finished.insert(record[0].to_string());
        }
        self.trials
            .flush()
            .map_err(|e| self.cannot_write(TRIALS_FILE, e.into()))?;
        Ok((taken.len(), not_wanted))
    }

    /// Ids of the trials this folder has finished.
    pub fn finished(&self) -> &HashSet<String> {
        &self.finished
    }

    /// Trials paused at a rung of a halving search, with the epoch each reached.
    pub fn paused(&self) -> &HashMap<String, usize> {
        &self.paused
    }

    /// How many trials a halving search paused or stopped at a rung, when the folder was
    /// opened.
    pub fn halted(&self) -> usize {
        self.halted
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Append one trial: its epochs first, then its row, so a trial is in `trials.csv` only
    /// once all of its epochs are on disk. A trial that goes on from a rung appends its new
    /// epochs and a new row, which replaces the earlier one. Every row is one line (a line break in an error
    /// message becomes a space), so a damaged line damages one row only.
    pub fn record(&mut self, trial: &TrialRow, epochs: &[EpochRow]) -> Result<()> {
        for row in epochs {
            self.epochs
                .serialize(row)
                .map_err(|e| self.cannot_write(EPOCHS_FILE, e))?;
        }
        self.epochs
            .flush()
            .map_err(|e| self.cannot_write(EPOCHS_FILE, e.into()))?;
        let mut trial = trial.clone();
        trial.outcome.error = trial.outcome.error.replace(['\n', '\r'], " ");
        self.trials
            .serialize(trial.parts())
            .map_err(|e| self.cannot_write(TRIALS_FILE, e))?;
        self.trials
            .flush()
            .map_err(|e| self.cannot_write(TRIALS_FILE, e.into()))?;
        let id = trial.head.trial_id.clone();
        match trial.outcome.status {
            Status::Paused => self.paused.insert(id, trial.outcome.last_epoch),
            _ => {
                self.finished.insert(id.clone());
                self.paused.remove(&id)
            }
        };
        Ok(())
    }

    /// Rewrite `trials.csv` with one row per trial, the last: a halving search appends a row
    /// each time a trial stops at a rung.
    pub fn compact(&mut self) -> Result<()> {
        let folder = Folder::read(&self.dir)?;
        let (header, _) = headers();
        let path = self.dir.join(TRIALS_FILE);
        rewrite(&path, &header, folder.trials.rows)?;
        self.trials = appender(&path, &header)?;
        Ok(())
    }

    fn cannot_write(&self, file: &str, error: csv::Error) -> anyhow::Error {
        anyhow::Error::new(error).context(format!("cannot write {}", self.dir.join(file).display()))
    }
}

impl Drop for ResultsStore {
    /// The lock is the open file's, not the file's: a folder left alone needs no `.lock`.
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.dir.join(LOCK_FILE));
    }
}

/// Copy the saved models of the trials `taken` from one results folder's models/ to
/// another's (before their rows, as a trial that runs here writes them).
fn copy_models(from: &Path, to: &Path, taken: &HashSet<&str>) -> Result<()> {
    let (from, to) = (models_dir(from), models_dir(to));
    let Ok(entries) = std::fs::read_dir(&from) else {
        return Ok(()); // A shard that saved no models.
    };
    for entry in entries {
        let path = entry?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let trial = name.rsplit_once("-e").map_or("", |(trial, _)| trial);
        if name.ends_with(".safetensors") && taken.contains(trial) {
            std::fs::create_dir_all(&to)
                .and_then(|()| std::fs::copy(&path, to.join(&*name)))
                .with_context(|| format!("cannot copy {} into {}", path.display(), to.display()))?;
        }
    }
    Ok(())
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

/// Write `epochs.csv.gz` beside `epochs.csv` (the same bytes, compressed; no time or name in
/// its header, so the same rows give the same file). Its size.
pub fn gzip_epochs(dir: &Path) -> Result<u64> {
    use std::io::Write;
    let plain = dir.join(EPOCHS_FILE);
    let bytes =
        std::fs::read(&plain).with_context(|| format!("cannot read {}", plain.display()))?;
    let mut encoder = flate2::GzBuilder::new().write(Vec::new(), flate2::Compression::best());
    encoder.write_all(&bytes)?;
    let packed = encoder.finish()?;
    crate::files::write_atomically(&dir.join(EPOCHS_GZ_FILE), &packed)?;
    Ok(packed.len() as u64)
}

fn gunzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out)?;
    Ok(out)
}

/// Every good row of a results folder's `trials.csv` and `epochs.csv`.
pub fn read_results(dir: &Path) -> Result<(Vec<TrialRecord>, Vec<EpochRow>)> {
    let folder = Folder::read(dir)?;
    Ok((folder.trials.values, folder.epochs.values))
}

/// The trials a results folder has finished (for a look without taking its lock).
pub fn finished_trials(dir: &Path) -> Result<HashSet<String>> {
    Ok(Folder::read(dir)?.finished)
}

/// A results folder as read.
#[derive(Default)]
struct Folder {
    trials: Lines<TrialRecord>,
    epochs: Lines<EpochRow>,
    /// Trials with a final status (ok, diverged) and every epoch row they trained.
    finished: HashSet<String>,
    /// Trials paused at a rung, with every epoch row up to it: the epoch.
    paused: HashMap<String, usize>,
    /// Trials with a final status but not all of their epoch rows.
    incomplete: usize,
}

impl Folder {
    fn read(dir: &Path) -> Result<Self> {
        let (trials_header, epochs_header) = headers();
        let mut trials: Lines<TrialRecord> = read_lines(&dir.join(TRIALS_FILE), &trials_header)?;
        let (plain, gzipped) = (dir.join(EPOCHS_FILE), dir.join(EPOCHS_GZ_FILE));
        let epochs_path = match !plain.exists() && gzipped.is_file() {
            true => gzipped,
            false => plain,
        };
        let epochs: Lines<EpochRow> = read_lines(&epochs_path, &epochs_header)?;
        trials.keep_last_row_of_each_trial();
        // Each trial's epoch rows up to its last epoch (a paused trial's leg cut short by a
        // kill may have written more).
        let last_epoch: HashMap<&str, usize> = (trials.values.iter())
            .map(|r| (r.trial_id.as_str(), r.last_epoch))
            .collect();
        let mut rows_of: HashMap<&str, usize> = HashMap::new();
        for row in &epochs.values {
            if last_epoch
                .get(row.trial_id.as_str())
                .is_some_and(|&l| row.epoch <= l)
            {
                *rows_of.entry(&row.trial_id).or_default() += 1;
            }
        }
        let (mut finished, mut paused, mut incomplete) = (HashSet::new(), HashMap::new(), 0);
        for record in &trials.values {
            if record.status == Status::Failed {
                continue;
            }
            // Each epoch trained has a validation and a test row.
            let rows = rows_of.get(record.trial_id.as_str()).copied().unwrap_or(0);
            match (rows == 2 * record.last_epoch, record.status) {
                (true, Status::Paused) => {
                    paused.insert(record.trial_id.clone(), record.last_epoch);
                }
                (true, _) => {
                    finished.insert(record.trial_id.clone());
                }
                (false, _) => incomplete += 1,
            }
        }
        Ok(Self {
            trials,
            epochs,
            finished,
            paused,
            incomplete,
        })
    }
}

/// A results CSV's rows, one per line, as rows of this version's header (rows of an older
/// header, whose columns are some of ours, get empty cells for the columns it lacks) and as
/// `T`; both results files start with `trial_id`, so `row[0]` is a row's trial.
struct Lines<T> {
    rows: Vec<csv::StringRecord>,
    values: Vec<T>,
    /// (line, text, what is wrong) of each line that is not a row of the header.
    damaged: Vec<(usize, String, String)>,
}

impl Lines<TrialRecord> {
    /// A trial that went on from a rung has a row per leg: its last is the one that holds.
    fn keep_last_row_of_each_trial(&mut self) {
        let last: HashMap<&str, usize> = (self.values.iter().enumerate())
            .map(|(i, record)| (record.trial_id.as_str(), i))
            .collect();
        let keep: Vec<bool> = (self.values.iter().enumerate())
            .map(|(i, record)| last[record.trial_id.as_str()] == i)
            .collect();
        let mut index = 0..;
        self.rows.retain(|_| keep[index.next().unwrap()]);
        let mut index = 0..;
        self.values.retain(|_| keep[index.next().unwrap()]);
    }
}

impl<T> Default for Lines<T> {
    fn default() -> Self {
        Self {
            rows: Vec::new(),
            values: Vec::new(),
            damaged: Vec::new(),
        }
    }
}

/// Read a results CSV line by line (none when it is missing or empty); a row that does not
/// read as a `T` is damaged. A last line without its line break (cut by a kill) is left out.
/// A file whose header is not ours is refused rather than overwritten.
fn read_lines<T: for<'de> Deserialize<'de>>(
    path: &Path,
    expected: &csv::StringRecord,
) -> Result<Lines<T>> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) if path.extension().is_some_and(|e| e == "gz") => gunzip(&bytes)
            .with_context(|| format!("cannot read {}: not a whole gzip file", path.display()))?,
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Lines::default()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let end = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut lines = bytes[..end].split(|&b| b == b'\n').enumerate();
    let parse = |line: &[u8]| -> Option<csv::StringRecord> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(line);
        let mut record = csv::StringRecord::new();
        match reader.read_record(&mut record) {
            // One record, and the whole line: an unbalanced quote swallows nothing more.
            Ok(true) if reader.position().byte() as usize >= line.len() => Some(record),
            _ => None,
        }
    };
    let Some(header) = lines.next().and_then(|(_, line)| parse(line)) else {
        return Ok(Lines::default());
    };
    let Some(columns) = columns_of(&header, expected) else {
        bail!(
            "{} has other columns than this version of fairbinn-sweep writes; \
             use --force to start it afresh, or another --results-dir",
            path.display()
        );
    };
    let mut read = Lines::default();
    for (index, line) in lines {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let why = match parse(line) {
            Some(row) if row.len() == header.len() => {
                let row: csv::StringRecord =
                    columns.iter().map(|c| c.map_or("", |i| &row[i])).collect();
                match row.deserialize::<T>(Some(expected)) {
                    Ok(value) => {
                        read.rows.push(row);
                        read.values.push(value);
                        continue;
                    }
                    Err(e) => e.to_string(),
                }
            }
            Some(row) => format!("{} fields, expected {}", row.len(), header.len()),
            None => "not a CSV row (an unbalanced quote?)".into(),
        };
        let text = String::from_utf8_lossy(line).into_owned();
        read.damaged.push((index + 1, text, why));
    }
    Ok(read)
}

/// Append `damaged` lines of `file` to `<file>.damaged`, saying so with each line.
fn set_aside(file: &Path, damaged: &[(usize, String, String)]) -> Result<()> {
    if damaged.is_empty() {
        return Ok(());
    }
    let aside = PathBuf::from(format!("{}.damaged", file.display()));
    let mut out = OpenOptions::new()
        .append(true)
        .create(true)
        .open(&aside)
        .with_context(|| format!("cannot write {}", aside.display()))?;
    for (line, text, why) in damaged {
        eprintln!(
            "warning: {}:{line}: damaged row ({why}); moved to {}, its trial runs again",
            file.display(),
            aside.display()
        );
        writeln!(out, "{text}").with_context(|| format!("cannot write {}", aside.display()))?;
    }
    Ok(())
}

impl TrialRow {
    fn parts(&self) -> (&TrialHead, &Settings, &TrialOutcome) {
        (&self.head, &self.settings, &self.outcome)
    }
}

/// The headers of `trials.csv` and `epochs.csv` this version writes.
fn headers() -> (csv::StringRecord, csv::StringRecord) {
    (
        as_csv(&TrialRow::default().parts()).0,
        as_csv(&EpochRow::new(
            "",
            0,
            Evaluated::Test,
            &SplitMetrics::default(),
        ))
        .0,
    )
}

/// The header and the record the csv crate writes for `row`.
pub fn as_csv<T: Serialize>(row: &T) -> (csv::StringRecord, csv::StringRecord) {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.serialize(row).expect("rows serialize");
    let text = writer.into_inner().expect("in memory");
    let mut reader = csv::Reader::from_reader(text.as_slice());
    let header = reader.headers().expect("a header").clone();
    let record = reader.records().next().and_then(Result::ok);
    (header, record.unwrap_or_default())
}

/// Where each of this version's columns is in an older header (`None`: it has no such
/// column, an empty cell), or `None` when the header has a column this version does not
/// write, or one twice: another program's file.
fn columns_of(
    found: &csv::StringRecord,
    expected: &csv::StringRecord,
) -> Option<Vec<Option<usize>>> {
    let known = found.iter().all(|name| expected.iter().any(|e| e == name));
    let once =
        (found.iter().enumerate()).all(|(i, name)| !found.iter().skip(i + 1).any(|n| n == name));
    let starts = found.get(0) == expected.get(0); // trial_id first: `row[0]` is the trial
    (known && once && starts).then(|| {
        expected
            .iter()
            .map(|name| found.iter().position(|f| f == name))
            .collect()
    })
}

/// Rewrite a CSV as `rows` under the `expected` header: written aside, then renamed.
fn rewrite(path: &Path, expected: &csv::StringRecord, rows: Vec<csv::StringRecord>) -> Result<()> {
    let aside = path.with_extension("csv.tmp");
    let written = (|| -> Result<()> {
        let mut writer = csv::Writer::from_path(&aside)?;
        if !rows.is_empty() {
            writer.write_record(expected)?;
            for row in &rows {
                writer.write_record(row)?;
            }
        }
        writer.flush()?;
        drop(writer);
        std::fs::rename(&aside, path)?;
        Ok(())
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&aside);
        return Err(e.context(format!("cannot write {}", path.display())));
    }
    Ok(())
}

/// Take the folder's lock, or say who has it.
fn lock(dir: &Path) -> Result<File> {
    let path = dir.join(LOCK_FILE);
    loop {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
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

/// A writer that appends; it writes the header first when the file is empty.
fn appender(path: &Path, header: &csv::StringRecord) -> Result<csv::Writer<File>> {
    let file = OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let empty = file.metadata()?.len() == 0;
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(file);
    if empty {
        writer.write_record(header)?;
        writer.flush()?;
    }
    Ok(writer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::Method;

    fn row(trial_id: &str, status: Status) -> (TrialRow, Vec<EpochRow>) {
        let trial = TrialRow {
            head: TrialHead {
                trial_id: trial_id.into(),
                config_id: "c".into(),
                seed: 0,
            },
            settings: Settings {
                method: Method::Lagrangian,
                eta: Some(10.0),
                ..Default::default()
            },
            outcome: TrialOutcome {
                status,
                last_epoch: 1,
                ..Default::default()
            },
        };
        let metrics = SplitMetrics {
            accuracy: 0.8,
            group_positive_rates: vec![0.25, 0.5],
            ..Default::default()
        };
        let epochs = vec![
            EpochRow::new(trial_id, 1, Evaluated::Validation, &metrics),
            EpochRow::new(trial_id, 1, Evaluated::Test, &metrics),
        ];
        (trial, epochs)
    }

    fn lines(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    }

    /// A halving search's trial: paused at epoch 1 (with its checkpoint), then a leg that a
    /// kill cut after its epoch rows; another paused trial lost its checkpoint; a third was
    /// halved. Reopened: the first is paused at 1 with its epoch-1 rows only, the second
    /// starts again, the third is finished; each trial has one row.
    #[test]
    fn a_reopened_folder_keeps_paused_trials_up_to_their_rung() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = ResultsStore::open(dir.path(), false).unwrap();
        for id in ["paused", "lost", "halved"] {
            let (trial, epochs) = row(id, Status::Paused);
            store.record(&trial, &epochs).unwrap();
        }
        let (mut halved, _) = row("halved", Status::Halved);
        halved.outcome.error = "halving: …".into();
        store.record(&halved, &[]).unwrap();
        // The cut leg: epoch 2's rows, no new trial row.
        let (_, mut later) = row("paused", Status::Ok);
        later.iter_mut().for_each(|r| r.epoch = 2);
        for r in &later {
            store.epochs.serialize(r).unwrap();
        }
        store.epochs.flush().unwrap();
        let checkpoint = crate::train::Checkpoint {
            epoch: 1,
            degenerate: 0,
            state: crate::train::State {
                params: vec![vec![1.0]],
                moments: vec![crate::train::Moments {
                    first: vec![0.0],
                    second: vec![0.0],
                }],
                leader_steps: 1,
                follower_steps: 1,
            },
        };
        crate::sweep::checkpoint::save(dir.path(), "paused", &checkpoint).unwrap();
        assert_eq!(store.paused().len(), 2);
        assert!(store.finished().contains("halved"));
        drop(store);

        let store = ResultsStore::open(dir.path(), false).unwrap();
        assert_eq!(store.paused(), &HashMap::from([("paused".to_string(), 1)]));
        let finished: HashSet<&str> = store.finished().iter().map(String::as_str).collect();
        assert_eq!(finished, HashSet::from(["halved"]));
        let (records, epochs) = read_results(dir.path()).unwrap();
        let ids: Vec<(&str, Status)> = records
            .iter()
            .map(|r| (r.trial_id.as_str(), r.status))
            .collect();
        assert_eq!(
            ids,
            [("paused", Status::Paused), ("halved", Status::Halved)]
        );
        let paused_epochs: Vec<usize> = (epochs.iter())
            .filter(|r| r.trial_id == "paused")
            .map(|r| r.epoch)
            .collect();
        assert_eq!(paused_epochs, [1, 1]);
    }

    /// A folder kept in git holds epochs.csv.gz instead of epochs.csv: it reads the same, and
    /// a run there writes epochs.csv again from it.
    #[test]
    fn a_folder_with_its_epochs_gzipped_reads_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = ResultsStore::open(dir.path(), false).unwrap();
        for id in ["a", "b"] {
            let (trial, epochs) = row(id, Status::Ok);
            store.record(&trial, &epochs).unwrap();
        }
        drop(store);
        let plain = std::fs::read(dir.path().join(EPOCHS_FILE)).unwrap();
        let (records, epochs) = read_results(dir.path()).unwrap();

        let packed = gzip_epochs(dir.path()).unwrap();
        let gz = std::fs::read(dir.path().join(EPOCHS_GZ_FILE)).unwrap();
        assert_eq!((packed as usize, &gz[..2]), (gz.len(), &[0x1f, 0x8b][..]));
        gzip_epochs(dir.path()).unwrap();
        assert_eq!(
            std::fs::read(dir.path().join(EPOCHS_GZ_FILE)).unwrap(),
            gz,
            "no time in it"
        );
        std::fs::remove_file(dir.path().join(EPOCHS_FILE)).unwrap();
        let (records_gz, epochs_gz) = read_results(dir.path()).unwrap();
        assert_eq!((records_gz, &epochs_gz), (records, &epochs));
        assert_eq!(epochs.len(), 4);

        let store = ResultsStore::open(dir.path(), false).unwrap();
        assert_eq!(store.finished().len(), 2);
        drop(store);
        assert_eq!(std::fs::read(dir.path().join(EPOCHS_FILE)).unwrap(), plain);

        std::fs::remove_file(dir.path().join(EPOCHS_FILE)).unwrap();
        std::fs::write(dir.path().join(EPOCHS_GZ_FILE), &gz[..gz.len() / 2]).unwrap();
        let error = format!("{:#}", read_results(dir.path()).unwrap_err());
        assert!(
            error.contains("epochs.csv.gz: not a whole gzip file"),
            "{error}"
        );
    }

    #[test]
    fn a_reopened_folder_keeps_finished_trials_and_drops_failed_and_cut_rows() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = ResultsStore::open(dir.path(), false).unwrap();
        for (id, status) in [
            ("a", Status::Ok),
            ("b", Status::Failed),
            ("c", Status::Diverged),
        ] {
            let (trial, epochs) = row(id, status);
            store.record(&trial, &epochs).unwrap();
        }
        // Diverged in its first epoch: no epoch rows, and finished all the same.
        let (mut early, _) = row("e", Status::Diverged);
        early.outcome.last_epoch = 0;
        store.record(&early, &[]).unwrap();
        drop(store);
        // A kill in the middle of a row leaves it without its line break.
        let mut file = OpenOptions::new()
            .append(true)
            .open(dir.path().join(EPOCHS_FILE))
            .unwrap();
        write!(file, "d,1,validation,0.8").unwrap();
        drop(file);

        let store = ResultsStore::open(dir.path(), false).unwrap();
        let mut finished: Vec<&String> = store.finished().iter().collect();
        finished.sort();
        assert_eq!(finished, ["a", "c", "e"], "a failed trial runs again");
        let trials = lines(&dir.path().join(TRIALS_FILE));
        assert_eq!(trials.len(), 4, "{trials:?}");
        let epochs = lines(&dir.path().join(EPOCHS_FILE));
        assert_eq!(
            epochs.len(),
            5,
            "header and two rows each of a and c: {epochs:?}"
        );
        assert!(
            epochs
                .iter()
                .all(|l| !l.starts_with("b,") && !l.starts_with("d,"))
        );
        drop(store);

        // What was kept reads back as it was written, typed.
        let (records, rows) = read_results(dir.path()).unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(rows[0], row("a", Status::Ok).1[0]);
        assert_eq!(rows[1].split, Evaluated::Test);
        assert_eq!(rows[1].group_positive_rates, GroupRates(vec![0.25, 0.5]));
        assert!(epochs[1].ends_with(",0.250000 0.500000,"), "{}", epochs[1]);
    }

    #[test]
    fn an_older_header_is_brought_up_to_date_and_a_foreign_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (_, epochs_header) = headers();
        // Written before `group_positive_rates` and `train_bce` existed: two columns fewer.
        let older: Vec<&str> = epochs_header.iter().take(epochs_header.len() - 2).collect();
        let mut text = older.join(",") + "\n";
        text += "a,1,validation,0.8,0.5,0.1,0.1,0.1,0.3,0.2\n";
        text += "a,1,test,0.8,0.5,0.1,0.1,0.1,0.3,0.2\n";
        std::fs::write(dir.path().join(EPOCHS_FILE), text).unwrap();
        let (trial, _) = row("a", Status::Ok);
        let (trials_header, _) = headers();
        let mut writer = csv::WriterBuilder::new()
            .has_headers(false)
            .from_path(dir.path().join(TRIALS_FILE))
            .unwrap();
        writer.write_record(&trials_header).unwrap();
        writer.serialize(trial.parts()).unwrap();
        drop(writer);

        let store = ResultsStore::open(dir.path(), false).unwrap();
        assert!(store.finished().contains("a"));
        drop(store);
        // Written before a settings column in the middle of trials.csv existed (`width`):
        // read by name, rewritten with that cell empty.
        let (trials_header, _) = headers();
        let width = trials_header.iter().position(|c| c == "width").unwrap();
        let current = lines(&dir.path().join(TRIALS_FILE));
        let without = |line: &str| {
            let mut cells: Vec<&str> = line.split(',').collect();
            cells.remove(width);
            cells.join(",")
        };
        std::fs::write(
            dir.path().join(TRIALS_FILE),
            format!("{}\n{}\n", without(&current[0]), without(&current[1])),
        )
        .unwrap();
        let store = ResultsStore::open(dir.path(), false).unwrap();
        assert!(
            store.finished().contains("a"),
            "an older trials.csv still counts"
        );
        drop(store);
        let rewritten = lines(&dir.path().join(TRIALS_FILE));
        assert_eq!(rewritten[0], current[0]);
        let mut expected: Vec<&str> = current[1].split(',').collect();
        expected[width] = "";
        assert_eq!(rewritten[1], expected.join(","));
        let epochs = lines(&dir.path().join(EPOCHS_FILE));
        assert_eq!(
            epochs[0],
            epochs_header.iter().collect::<Vec<_>>().join(",")
        );
        assert_eq!(epochs[1], "a,1,validation,0.8,0.5,0.1,0.1,0.1,0.3,0.2,,");
        let (_, rows) = read_results(dir.path()).unwrap();
        assert_eq!(rows[0].group_positive_rates, GroupRates::default());

        let foreign = tempfile::tempdir().unwrap();
        std::fs::write(foreign.path().join(TRIALS_FILE), "name,score\nx,1\n").unwrap();
        let error = format!(
            "{:#}",
            ResultsStore::open(foreign.path(), false).err().unwrap()
        );
        assert!(
            error.contains("has other columns than this version"),
            "{error}"
        );
        assert!(error.contains("--force"), "{error}");
        // --force starts it afresh.
        let store = ResultsStore::open(foreign.path(), true).unwrap();
        assert!(store.finished().is_empty());
    }

    #[test]
    fn absorbing_a_shard_takes_the_wanted_finished_trials_once() {
        let (shard, here) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let mut store = ResultsStore::open(shard.path(), false).unwrap();
        for (id, status) in [
            ("a", Status::Ok),
            ("b", Status::Failed),
            ("c", Status::Ok),
            ("x", Status::Ok),
        ] {
            let (trial, epochs) = row(id, status);
            store.record(&trial, &epochs).unwrap();
        }
        drop(store);
        let mut store = ResultsStore::open(here.path(), false).unwrap();
        let (trial, epochs) = row("c", Status::Ok);
        store.record(&trial, &epochs).unwrap();
        let wanted: HashSet<&str> = ["a", "b", "c"].into();
        assert_eq!(
            store.absorb(shard.path(), &wanted).unwrap(),
            (1, 1),
            "a only; x not wanted"
        );
        assert_eq!(store.absorb(shard.path(), &wanted).unwrap(), (0, 1), "once");
        drop(store);
        let (records, rows) = read_results(here.path()).unwrap();
        let ids: Vec<&str> = records.iter().map(|r| r.trial_id.as_str()).collect();
        assert_eq!(ids, ["c", "a"]);
        assert_eq!(rows.len(), 4);
    }
}
