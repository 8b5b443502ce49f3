//! Reading a results folder back: every good row, damaged rows set aside with their line,
//! an older version's files read by column name, `epochs.csv.gz` when `epochs.csv` is absent.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use super::layout::{EPOCHS_FILE, EPOCHS_GZ_FILE, TRIALS_FILE};
use super::schema::{EpochRow, Status, TrialRecord, headers};

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

/// Every good row of a results folder's `trials.csv` and `epochs.csv`.
pub fn read_results(dir: &Path) -> Result<(Vec<TrialRecord>, Vec<EpochRow>)> {
    let folder = Folder::read(dir, Kept::Values)?;
    Ok((folder.trials.values, folder.epochs.values))
}

/// The trials a results folder has finished (for a look without taking its lock).
pub fn finished_trials(dir: &Path) -> Result<HashSet<String>> {
    Ok(Folder::read(dir, Kept::Nothing)?.finished)
}

/// What a read keeps of `epochs.csv`'s rows: nothing (which trials are finished is counted
/// as they stream by), their values (what the analysis reads), or their text too (to write
/// them again: a shard's rows copied).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kept {
    Nothing,
    Values,
    Rows,
}

/// Where a folder's epoch rows are: `epochs.csv`, or `epochs.csv.gz` without it.
pub(super) fn epochs_source(dir: &Path) -> PathBuf {
    let (plain, gzipped) = (dir.join(EPOCHS_FILE), dir.join(EPOCHS_GZ_FILE));
    match !plain.exists() && gzipped.is_file() {
        true => gzipped,
        false => plain,
    }
}

/// A results folder as read.
#[derive(Default)]
pub(super) struct Folder {
    pub(super) trials: Lines<TrialRecord>,
    pub(super) epochs: Lines<EpochRow>,
    /// Trials with a final status (ok, diverged) and every epoch row they trained.
    pub(super) finished: HashSet<String>,
    /// Trials paused at a rung, with every epoch row up to it: the epoch.
    pub(super) paused: HashMap<String, usize>,
    /// Trials with a final status but not all of their epoch rows.
    pub(super) incomplete: usize,
}

impl Folder {
    pub(super) fn read(dir: &Path, kept: Kept) -> Result<Self> {
        let (trials_header, epochs_header) = headers();
        let mut trials: Lines<TrialRecord> = read_lines(&dir.join(TRIALS_FILE), &trials_header)?;
        trials.keep_last_row_of_each_trial();
        // Each trial's epoch rows up to its last epoch (a paused trial's leg cut short by a
        // kill may have written more).
        let last_epoch: HashMap<&str, usize> = (trials.values.iter())
            .map(|r| (r.trial_id.as_str(), r.last_epoch))
            .collect();
        let mut rows_of: HashMap<&str, usize> = HashMap::new();
        let (mut rows, mut values) = (Vec::new(), Vec::new());
        let damaged = visit_lines(
            &epochs_source(dir),
            &epochs_header,
            |text, row: EpochRow| {
                if let Some((&id, &last)) = last_epoch.get_key_value(row.trial_id.as_str())
                    && row.epoch <= last
                {
                    *rows_of.entry(id).or_default() += 1;
                }
                if kept == Kept::Rows {
                    rows.push(text);
                }
                if kept != Kept::Nothing {
                    values.push(row);
                }
            },
        )?;
        let epochs = Lines {
            rows,
            values,
            damaged,
        };
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
pub(super) struct Lines<T> {
    pub(super) rows: Vec<csv::StringRecord>,
    pub(super) values: Vec<T>,
    /// (line, text, what is wrong) of each line that is not a row of the header.
    pub(super) damaged: Vec<(usize, String, String)>,
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

/// Every row of a results CSV (and its text), in order, as it streams by; a row that does not
/// read as a `T` is damaged and returned as (line, text, what is wrong). None when the file is
/// missing or empty; a last line without its line break (cut by a kill) is left out. A file
/// whose header is not ours is refused rather than overwritten.
pub(super) fn visit_lines<T: for<'de> Deserialize<'de>>(
    path: &Path,
    expected: &csv::StringRecord,
    mut visit: impl FnMut(csv::StringRecord, T),
) -> Result<Vec<(usize, String, String)>> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let gzipped = path.extension().is_some_and(|e| e == "gz");
    let mut input: Box<dyn BufRead> = match gzipped {
        true => Box::new(BufReader::new(flate2::read::GzDecoder::new(file))),
        false => Box::new(BufReader::new(file)),
    };
    let failed = |e: std::io::Error| {
        let whole = if gzipped {
            ": not a whole gzip file"
        } else {
            ""
        };
        anyhow::Error::new(e).context(format!("cannot read {}{whole}", path.display()))
    };
    // The next whole line (without its line break), or none at the end or a cut last line.
    let mut buffer = Vec::new();
    let mut next_line = move || -> Result<Option<Vec<u8>>> {
        buffer.clear();
        input.read_until(b'\n', &mut buffer).map_err(failed)?;
        Ok(buffer.strip_suffix(b"\n").map(<[u8]>::to_vec))
    };
    let parse = |line: &[u8]| -> Option<csv::StringRecord> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        // Without a quote, a row's fields are the pieces between its commas, as the CSV
        // reader would find them, at a fraction of the cost of a reader per line.
        if !line.contains(&b'"') {
            return std::str::from_utf8(line)
                .ok()
                .map(|text| text.split(',').collect());
        }
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(line.len().max(1))
            .from_reader(line);
        let mut record = csv::StringRecord::new();
        match reader.read_record(&mut record) {
            // One record, and the whole line: an unbalanced quote swallows nothing more.
            Ok(true) if reader.position().byte() as usize >= line.len() => Some(record),
            _ => None,
        }
    };
    let Some(header) = next_line()?.and_then(|line| parse(&line)) else {
        return Ok(Vec::new());
    };
    let Some(columns) = columns_of(&header, expected) else {
        bail!(
            "{} has other columns than this version of fairbinn-sweep writes; \
             use --force to start it afresh, or another --results-dir",
            path.display()
        );
    };
    let mut damaged = Vec::new();
    let mut index = 0;
    while let Some(line) = next_line()? {
        index += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let why = match parse(&line) {
            Some(row) if row.len() == header.len() => {
                let row: csv::StringRecord =
                    columns.iter().map(|c| c.map_or("", |i| &row[i])).collect();
                match row.deserialize::<T>(Some(expected)) {
                    Ok(value) => {
                        visit(row, value);
                        continue;
                    }
                    Err(e) => e.to_string(),
                }
            }
            Some(row) => format!("{} fields, expected {}", row.len(), header.len()),
            None => "not a CSV row (an unbalanced quote?)".into(),
        };
        let text = String::from_utf8_lossy(&line).into_owned();
        damaged.push((index + 1, text, why));
    }
    Ok(damaged)
}

/// Every row of a results CSV, text and value ([`visit_lines`]).
fn read_lines<T: for<'de> Deserialize<'de>>(
    path: &Path,
    expected: &csv::StringRecord,
) -> Result<Lines<T>> {
    let (mut rows, mut values) = (Vec::new(), Vec::new());
    let damaged = visit_lines(path, expected, |row, value| {
        rows.push(row);
        values.push(value);
    })?;
    Ok(Lines {
        rows,
        values,
        damaged,
    })
}

/// Append `damaged` lines of `file` to `<file>.damaged`, saying so with each line.
pub(super) fn set_aside(file: &Path, damaged: &[(usize, String, String)]) -> Result<()> {
    if damaged.is_empty() {
        return Ok(());
    }
    let aside = PathBuf::from(format!("{}.damaged", file.display()));
    let mut out = crate::files::open_append(&aside)?;
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
