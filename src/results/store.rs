//! The append-only store of a results folder: rows are appended and flushed as each trial
//! ends, so an interrupted sweep keeps everything it finished and the next run picks up
//! from there. One run at a time writes to a folder: it holds the folder's lock while open.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::layout::{
    self, EPOCHS_FILE, FolderLock, TRIALS_FILE, checkpoint_path, checkpoints_dir, models_dir,
};
use super::manifest;
use super::read::{Folder, Kept, epochs_source, set_aside, visit_lines};
use super::schema::{EpochRow, Status, TrialRow, headers};
use crate::downstream::{DOWNSTREAM_FILE, DownstreamRow};
use crate::files;

pub struct ResultsStore {
    trials: csv::Writer<File>,
    epochs: csv::Writer<File>,
    /// `downstream.csv`, opened at its first row (a sweep without `downstream:` has none).
    downstream: Option<csv::Writer<File>>,
    /// Trials already in `trials.csv` with a final status: not run again.
    finished: HashSet<String>,
    /// Trials paused at a rung of a halving search, with the epoch they reached.
    paused: HashMap<String, usize>,
    /// Trials a halving search paused or stopped at a rung.
    halted: usize,
    /// Held while the store is open.
    _lock: FolderLock,
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
        let lock = FolderLock::take(dir)?;
        let trials_path = dir.join(TRIALS_FILE);
        let epochs_path = dir.join(EPOCHS_FILE);
        let (trials_header, epochs_header) = headers();
        let folder = match fresh {
            true => Folder::default(),
            false => Folder::read(dir, Kept::Nothing)?,
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
        keep_downstream(dir, fresh, &finished)?;
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
        rewrite(&trials_path, &trials_header, trial_rows)?;
        // The epoch rows stream from the old file to the new one (never all in memory).
        let source = epochs_source(dir);
        files::replace_with(&epochs_path, |file| {
            let mut writer = csv::Writer::from_writer(file);
            let (mut started, mut failed) = (false, None);
            if fresh {
                return Ok(());
            }
            visit_lines(&source, &epochs_header, |text, row: EpochRow| {
                if failed.is_some() || row.epoch > kept_epochs(&row.trial_id) {
                    return;
                }
                let header = match started {
                    true => Ok(()),
                    false => writer.write_record(&epochs_header),
                };
                started = true;
                failed = header.and_then(|()| writer.write_record(&text)).err();
            })?;
            if let Some(error) = failed {
                return Err(error.into());
            }
            writer.flush()?;
            Ok(())
        })?;
        Ok(Self {
            trials: appender(&trials_path, &trials_header)?,
            epochs: appender(&epochs_path, &epochs_header)?,
            downstream: None,
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
        let shard = Folder::read(other, Kept::Rows)?;
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
        let rows = read_downstream(other)?;
        let rows: Vec<DownstreamRow> = (rows.into_iter())
            .filter(|r| taken.contains(r.trial_id.as_str()))
            .collect();
        self.record_downstream(&rows)?;
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

    /// [`absorb`](Self::absorb) a shard folder of the experiment named `experiment`; a
    /// shard of another experiment is refused, naming both.
    pub fn absorb_shard(
        &mut self,
        shard: &Path,
        experiment: &str,
        wanted: &HashSet<&str>,
    ) -> Result<(usize, usize)> {
        if !shard.is_dir() {
            bail!("{}: no such shard folder", shard.display());
        }
        if let Some(other) = manifest::read(shard).filter(|m| m.experiment.name != experiment) {
            bail!(
                "{}: holds results of the experiment {:?} ({}), not of {experiment:?}; name the \
                 shard folders of this experiment",
                shard.display(),
                other.experiment.name,
                other.experiment.file.display(),
            );
        }
        self.absorb(shard, wanted)
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
            .write_record(&trial.csv().1)
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

    /// Append a trial's downstream classifiers' rows (before its row, as its epochs).
    pub fn record_downstream(&mut self, rows: &[DownstreamRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let path = self.dir.join(DOWNSTREAM_FILE);
        let writer = match &mut self.downstream {
            Some(writer) => writer,
            None => {
                let file = files::open_append(&path)?;
                let empty = file.metadata()?.len() == 0;
                let writer = csv::WriterBuilder::new()
                    .has_headers(empty)
                    .from_writer(file);
                self.downstream.insert(writer)
            }
        };
        let cannot = |e: csv::Error| {
            anyhow::Error::new(e).context(format!("cannot write {}", path.display()))
        };
        for row in rows {
            writer.serialize(row).map_err(cannot)?;
        }
        writer.flush().map_err(|e| cannot(e.into()))?;
        Ok(())
    }

    /// Rewrite `trials.csv` with one row per trial, the last: a halving search appends a row
    /// each time a trial stops at a rung.
    pub fn compact(&mut self) -> Result<()> {
        let folder = Folder::read(&self.dir, Kept::Nothing)?;
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
            let bytes = std::fs::create_dir_all(&to)
                .and_then(|()| std::fs::read(&path))
                .with_context(|| format!("cannot copy {} into {}", path.display(), to.display()))?;
            files::write_atomically(&to.join(&*name), &bytes)?;
        }
    }
    Ok(())
}

/// The rows of `dir`'s `downstream.csv` (none without one); a row that cannot be read is an
/// error naming the file and its line.
pub fn read_downstream(dir: &Path) -> Result<Vec<DownstreamRow>> {
    let path = dir.join(DOWNSTREAM_FILE);
    if !path.is_file() {
        return Ok(Vec::new());
    }
    let mut reader =
        csv::Reader::from_path(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut rows = Vec::new();
    for (i, row) in reader.deserialize().enumerate() {
        rows.push(row.with_context(|| format!("{}: line {}", path.display(), i + 2))?);
    }
    Ok(rows)
}

/// Keep the downstream rows of the trials a reopened folder keeps (`finished`): those of a
/// trial that runs again are written again by it. A fresh run starts without any.
fn keep_downstream(dir: &Path, fresh: bool, finished: &HashSet<String>) -> Result<()> {
    let path = dir.join(DOWNSTREAM_FILE);
    if !path.is_file() {
        return Ok(());
    }
    let rows = match fresh {
        true => Vec::new(),
        false => read_downstream(dir)?,
    };
    let kept: Vec<&DownstreamRow> = rows
        .iter()
        .filter(|r| finished.contains(&r.trial_id))
        .collect();
    if kept.is_empty() {
        return std::fs::remove_file(&path)
            .with_context(|| format!("cannot remove {}", path.display()));
    }
    files::replace_with(&path, |file| {
        let mut writer = csv::Writer::from_writer(file);
        for row in kept {
            writer.serialize(row)?;
        }
        writer.flush()?;
        Ok(())
    })
}

/// Rewrite a CSV as `rows` under the `expected` header: written aside, then renamed.
fn rewrite(path: &Path, expected: &csv::StringRecord, rows: Vec<csv::StringRecord>) -> Result<()> {
    files::replace_with(path, |file| {
        let mut writer = csv::Writer::from_writer(file);
        if !rows.is_empty() {
            writer.write_record(expected)?;
            for row in &rows {
                writer.write_record(row)?;
            }
        }
        writer.flush()?;
        Ok(())
    })
}

fn appender(path: &Path, header: &csv::StringRecord) -> Result<csv::Writer<File>> {
    let file = files::open_append(path)?;
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

/// The shard folders below a sweep's results folder, in name order.
pub fn shard_folders(results_dir: &Path) -> Result<Vec<PathBuf>> {
    let dir = layout::shards_dir(results_dir);
    let entries = std::fs::read_dir(&dir).with_context(|| {
        format!(
            "no shard folders to merge in {}; name them on the command line",
            dir.display()
        )
    })?;
    let mut shards: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_dir())
        .collect();
    shards.sort();
    if shards.is_empty() {
        bail!("no shard folders to merge in {}", dir.display());
    }
    Ok(shards)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::SplitMetrics;
    use crate::results::layout::EPOCHS_GZ_FILE;
    use crate::results::read::gzip_epochs;
    use crate::results::read_results;
    use crate::results::schema::{GroupRates, Settings, TrialHead, TrialOutcome};
    use crate::train::{Evaluated, Method};
    use std::io::Write;

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
        crate::results::checkpoint::save(dir.path(), "paused", &checkpoint).unwrap();
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
        let mut file = std::fs::OpenOptions::new()
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
        // The rates, an empty training loss, equalized odds.
        assert!(
            epochs[1].ends_with(",0.250000 0.500000,,0.0"),
            "{}",
            epochs[1]
        );
    }

    #[test]
    fn an_older_header_is_brought_up_to_date_and_a_foreign_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (_, epochs_header) = headers();
        // Written before `group_positive_rates`, `train_bce` and `equalized_odds` existed:
        // three columns fewer.
        let older: Vec<&str> = epochs_header.iter().take(epochs_header.len() - 3).collect();
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
        writer.write_record(&trial.csv().1).unwrap();
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
        assert_eq!(epochs[1], "a,1,validation,0.8,0.5,0.1,0.1,0.1,0.3,0.2,,,");
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
