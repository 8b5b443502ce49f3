//! Running the planned trials in parallel: one trial per rayon thread (each single-threaded
//! inside), each recorded as soon as it ends, with progress on the terminal. A trial that
//! diverges or panics is recorded as such; the others go on.

use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use super::halving;
use crate::analysis;
use crate::config::search::Halving;
use crate::data::{Dataset, Splits};
use crate::downstream::{DownstreamRow, Protocol};
use crate::metrics::SplitMetrics;

use crate::model_file::{Kept, Origin, SavedModel};
use crate::plan::{Plan, Trial};
use crate::results::checkpoint;
use crate::results::{
    self, EpochRow, ExecuteSummary, ResultsStore, Settings, Status, TrialOutcome, TrialRecord,
    TrialRow,
};
use crate::selection::FairnessMetric;
use crate::train::threshold_optimizer::{self, ThresholdSpec};
use crate::train::{self, Body, Checkpoint, EpochMetrics, Training};

pub struct ExecuteOptions {
    /// Trials run at once.
    pub jobs: usize,
    pub quiet: bool,
    /// Save the models of each trial's validation front and last epoch into this folder.
    pub models: Option<PathBuf>,
    /// Train rung by rung (`search: {halving: ..}`), deciding on this fairness metric.
    pub halving: Option<(Halving, FairnessMetric)>,
    /// Of a halving search, only the rung of this index, up to its epoch, without deciding
    /// (a Slurm array task: a job of its own decides over every shard, and records the
    /// configurations it stops, whose trials are then finished).
    pub rung: Option<usize>,
    /// Fit classifiers on each trial's representation after its last epoch (`downstream:`).
    pub downstream: Option<Protocol>,
}

pub fn execute(
    plan: &Plan,
    splits: &Splits,
    store: &mut ResultsStore,
    options: &ExecuteOptions,
) -> Result<ExecuteSummary> {
    let pending = plan.pending(store.finished());
    let mut summary = ExecuteSummary {
        planned: plan.trials.len(),
        skipped: plan.trials.len() - pending.len(),
        ..Default::default()
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.jobs)
        .build()
        .context("cannot start the worker threads")?;
    let Some((halving, metric)) = &options.halving else {
        let legs = sharing_bases(pending);
        summary.ran = legs.iter().map(|leg| 1 + leg.derived.len()).sum();
        run_legs(legs, splits, store, options, &pool, &mut summary, None)?;
        return Ok(summary);
    };
    let data = splits.first;
    // Trials paused before this run that train now count once, as any other.
    let mut ran: HashSet<String> = HashSet::new();
    let mut alive: HashSet<&str> = plan.trials.iter().map(|t| t.config_id.as_str()).collect();
    for (r, &rung) in halving.rungs.iter().enumerate() {
        if options.rung.is_some_and(|only| only != r) {
            continue;
        }
        let (records, epochs) = results::read_results(store.dir())?;
        let mut histories = analysis::histories(epochs);
        let seconds: HashMap<&str, f64> = (records.iter())
            .map(|r| (r.trial_id.as_str(), r.seconds))
            .collect();
        let mut legs = Vec::new();
        for trial in plan.pending(store.finished()) {
            let reached = store.paused().get(&trial.id).copied().unwrap_or(0);
            if !alive.contains(trial.config_id.as_str()) || reached >= rung {
                continue;
            }
            let mut leg = Leg::whole(trial);
            if reached > 0 {
                leg.resume = true;
                leg.earlier = histories.remove(&trial.id).unwrap_or_default();
                leg.earlier.retain(|m| m.epoch <= reached);
                leg.seconds = seconds[trial.id.as_str()];
            }
            ran.insert(trial.id.clone());
            legs.push(Leg { until: rung, ..leg });
        }
        let label = format!("rung {}/{} (epoch {rung})", r + 1, halving.rungs.len());
        run_legs(
            legs,
            splits,
            store,
            options,
            &pool,
            &mut summary,
            Some(&label),
        )?;
        if r + 1 < halving.rungs.len() && options.rung.is_none() {
            let survivors = decide(plan, data, &[store.dir()], &alive, rung, halving, *metric)?;
            summary.halved += halve(plan, data, store, &alive, &survivors, rung)?;
            alive.retain(|id| survivors.contains(*id));
        }
    }
    summary.ran = ran.len();
    store.compact()?;
    // Empty once every trial has ended; left as it is otherwise.
    let _ = std::fs::remove_dir(results::layout::checkpoints_dir(store.dir()));
    Ok(summary)
}

/// The configurations among `alive` that go on past `rung`, from the results as they stand
/// in `folders` (the results folder, or a Slurm search's shard folders).
pub fn decide(
    plan: &Plan,
    data: &Dataset,
    folders: &[&Path],
    alive: &HashSet<&str>,
    rung: usize,
    halving: &Halving,
    metric: FairnessMetric,
) -> Result<HashSet<String>> {
    let (mut records, mut epochs) = (Vec::new(), Vec::new());
    for folder in folders {
        let (r, e) = results::read_results(folder)?;
        records.extend(r);
        epochs.extend(e);
    }
    let configurations = analysis::configurations(plan, &records, epochs, data.train.n_features);
    let at_rung: Vec<_> = halving::at_rung(&configurations, rung)
        .into_iter()
        .filter(|c| alive.contains(c.config_id.as_str()))
        .collect();
    Ok(halving::survivors(&at_rung, metric, halving))
}

/// Record the paused trials of the configurations of `alive` not among `survivors` as
/// halved at `rung`, and remove their checkpoints. How many.
pub fn halve(
    plan: &Plan,
    data: &Dataset,
    store: &mut ResultsStore,
    alive: &HashSet<&str>,
    survivors: &HashSet<String>,
    rung: usize,
) -> Result<usize> {
    let (records, _) = results::read_results(store.dir())?;
    let records: HashMap<&str, &TrialRecord> =
        records.iter().map(|r| (r.trial_id.as_str(), r)).collect();
    let stopping: Vec<&Trial> = (plan.trials.iter())
        .filter(|t| alive.contains(t.config_id.as_str()) && !survivors.contains(&t.config_id))
        .filter(|t| store.paused().contains_key(&t.id))
        .collect();
    for trial in &stopping {
        let mut outcome = records[trial.id.as_str()].outcome();
        outcome.status = Status::Halved;
        outcome.error = format!(
            "halving: its configuration was not among those of its method kept at the rung of \
             epoch {rung}"
        );
        let row = TrialRow {
            head: trial.head(),
            settings: Settings::of(&trial.spec, data.train.n_features),
            outcome,
        };
        store.record(&row, &[])?;
        checkpoint::remove(store.dir(), &trial.id)?;
    }
    Ok(stopping.len())
}

/// One leg per trial, except that `threshold` trials ride on the leg of their base trial when
/// it is among `pending`, else on the first of them with that base: they read its network
/// epoch by epoch instead of training it again.
fn sharing_bases(pending: Vec<&Trial>) -> Vec<Leg<'_>> {
    let mut legs: Vec<Leg> = Vec::new();
    let mut riders = Vec::new();
    for trial in pending {
        match trial.spec.train.threshold() {
            Some(_) => riders.push(trial),
            None => legs.push(Leg::whole(trial)),
        }
    }
    for trial in riders {
        let (spec, base) = (&trial.spec, trial.spec.train.trained());
        let carrier = legs.iter_mut().find(|leg| {
            leg.trial.spec.train.trained() == base
                && leg.trial.spec.architecture == spec.architecture
        });
        match carrier {
            Some(leg) => leg.derived.push(trial),
            None => legs.push(Leg::whole(trial)),
        }
    }
    legs
}

/// A stretch of one trial's training: from its start or a checkpoint, up to an epoch.
struct Leg<'a> {
    trial: &'a Trial,
    /// `threshold` trials that post-process this trial's network (whole legs only).
    derived: Vec<&'a Trial>,
    /// Go on from the trial's checkpoint (read when the leg starts).
    resume: bool,
    until: usize,
    /// The epochs it trained before, and in how many seconds.
    earlier: Vec<EpochMetrics>,
    seconds: f64,
}

impl<'a> Leg<'a> {
    fn whole(trial: &'a Trial) -> Self {
        Self {
            trial,
            derived: Vec::new(),
            resume: false,
            until: trial.spec.train.epochs,
            earlier: Vec::new(),
            seconds: 0.0,
        }
    }
}

/// Train `legs` in parallel, each recorded as soon as it ends: its models, its checkpoint
/// if it paused (else its checkpoint removed), then its rows.
fn run_legs(
    legs: Vec<Leg>,
    splits: &Splits,
    store: &mut ResultsStore,
    options: &ExecuteOptions,
    pool: &rayon::ThreadPool,
    summary: &mut ExecuteSummary,
    label: Option<&str>,
) -> Result<()> {
    let trials = legs.iter().map(|leg| 1 + leg.derived.len()).sum();
    let progress = Progress::new(trials, options.quiet, label);
    let results_dir = store.dir().to_path_buf();
    let shared = Mutex::new((store, &mut *summary, None::<anyhow::Error>));
    pool.install(|| {
        legs.par_iter().for_each(|leg| {
            let data = splits.of_seed(leg.trial.spec.train.seed);
            let mut ran = run_leg(leg, data, &results_dir, options);
            let saved = match &options.models {
                Some(dir) => (ran.iter()).try_for_each(|r| save_models(dir, leg, &r.models)),
                None => Ok(()),
            };
            // Before the trial's rows: a paused trial has its checkpoint, a finished one its
            // models.
            let checkpoint = match &ran[0].paused {
                Some(paused) => checkpoint::save(&results_dir, &leg.trial.id, paused),
                None if leg.resume => checkpoint::remove(&results_dir, &leg.trial.id),
                None => Ok(()),
            };
            let mut guard = shared.lock().unwrap_or_else(|e| e.into_inner());
            let (store, summary, write_error) = &mut *guard;
            // Without its models or checkpoint, the trial is not recorded: it runs again.
            if let Err(e) = saved.and(checkpoint) {
                write_error.get_or_insert(e);
                ran.truncate(0);
            }
            summary.epochs += ran.first().map_or(0, |r| r.epochs.len() / 2);
            for ran in &ran {
                // Its downstream rows before its row, as its epochs: a trial in trials.csv has
                // all of them on disk.
                let recorded = (store.record_downstream(&ran.downstream))
                    .and_then(|()| store.record(&ran.row, &ran.epochs));
                if let Err(e) = recorded {
                    write_error.get_or_insert(e);
                }
                match ran.row.outcome.status {
                    Status::Ok | Status::Paused | Status::Halved => {}
                    Status::Collapsed => summary.collapsed += 1,
                    Status::Diverged => summary.diverged += 1,
                    Status::Failed => summary.failed += 1,
                }
                progress.trial_done(&ran.row, summary);
            }
        })
    });
    progress.finish();
    let (_, _, write_error) = shared.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some(e) = write_error {
        return Err(e.context("could not record every trial's results"));
    }
    Ok(())
}

/// Write a leg's kept models and, after a resumed leg, remove those of the trial's earlier
/// legs it no longer keeps (a trial's first leg has none: the folder is not listed for it).
fn save_models(dir: &Path, leg: &Leg, models: &[SavedModel]) -> Result<()> {
    let mut written = HashSet::new();
    for model in models {
        written.insert(model.write(dir)?);
    }
    if !leg.resume {
        return Ok(());
    }
    let prefix = format!("{}-e", leg.trial.id);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with(&prefix) && name.ends_with(".safetensors") && !written.contains(&path) {
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
        }
    }
    Ok(())
}

/// What one leg produced.
struct Ran {
    row: TrialRow,
    /// This leg's epoch rows.
    epochs: Vec<EpochRow>,
    models: Vec<SavedModel>,
    paused: Option<Checkpoint>,
    /// Its downstream classifiers' rows (`downstream:`), after its last epoch.
    downstream: Vec<DownstreamRow>,
}

/// Train one leg and turn what happened into its result rows (the leg's trial's first, then
/// those of the `threshold` trials riding on it), its checkpoint if it paused and, when
/// `models` names the folder, the models worth saving: those its epochs so far keep, its
/// earlier legs' read back from there. Never panics: a checkpoint or model that cannot be
/// read fails the trial, which then runs again from the start.
fn run_leg(leg: &Leg, data: &Dataset, results_dir: &Path, options: &ExecuteOptions) -> Vec<Ran> {
    let models = options.models.as_deref();
    let (trial, spec) = (leg.trial, &leg.trial.spec);
    let started = Instant::now();
    let mut kept = Kept::default();
    let mut downstream = Vec::new();
    // The trials whose epochs are thresholds fitted on this network's.
    let mut thresholded: Vec<Thresholded> = std::iter::once(trial)
        .chain(leg.derived.iter().copied())
        .filter_map(Thresholded::of)
        .collect();
    let plain = spec.train.threshold().is_none();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let from = match leg.resume {
            true => Some(checkpoint::load(results_dir, &trial.id)?),
            false => None,
        };
        let keep = models.is_some() && plain && spec.train.method.saves_model();
        if keep && let Some(dir) = models {
            kept.offer_saved(dir, &trial.id, &leg.earlier)?;
        }
        Ok::<_, anyhow::Error>(train::train_leg(
            &spec.architecture,
            &spec.train,
            data,
            from.as_ref(),
            leg.until,
            &mut |metrics, fitted| {
                // The model as it stands, taken once for the trial and the rules riding on it.
                let riders_keep = models.is_some() && !thresholded.is_empty();
                let body = (keep || riders_keep).then(|| fitted.body());
                for t in &mut thresholded {
                    t.add(metrics, fitted.scores(), body.as_ref(), data);
                }
                if let (true, Some(body)) = (keep, body) {
                    kept.offer(metrics, body);
                }
                // After the last epoch, the classifiers on its representation (none for a
                // model without one: trees, a reduction).
                if let Some(protocol) = &options.downstream
                    && plain
                    && metrics.epoch == spec.train.epochs
                    && let Some(encoded) = fitted.representation(data)
                {
                    let seed = spec.train.seed;
                    downstream =
                        crate::downstream::evaluate(protocol, &trial.id, seed, encoded, data);
                }
            },
        ))
    }));
    let mut paused = None;
    let (history, status, error) = match outcome {
        Ok(Ok(Training {
            history,
            diverged: Some(reason),
            ..
        })) => (history, Status::Diverged, reason.to_string()),
        Ok(Ok(Training {
            history,
            collapsed: true,
            ..
        })) => {
            let why = format!(
                "validation predictions degenerate for {} epochs in a row: stopped after \
                 epoch {} of {}",
                spec.train.patience,
                history.last().map_or(0, |m| m.epoch),
                spec.train.epochs
            );
            (history, Status::Collapsed, why)
        }
        Ok(Ok(Training {
            history,
            paused: Some(checkpoint),
            ..
        })) => {
            paused = Some(checkpoint);
            (history, Status::Paused, String::new())
        }
        Ok(Ok(Training { history, .. })) => (history, Status::Ok, String::new()),
        Ok(Err(e)) => (Vec::new(), Status::Failed, format!("{e:#}")),
        Err(panic) => (
            Vec::new(),
            Status::Failed,
            format!("training panicked: {}", panic_message(&*panic)),
        ),
    };
    if status == Status::Failed {
        kept = Kept::default(); // What it kept before the panic is not in the results.
        downstream.clear();
    }
    let seconds = leg.seconds + started.elapsed().as_secs_f64();
    let mut ran = Vec::new();
    if plain {
        let settings = Settings::of(spec, data.train.n_features);
        let saved = kept.models(&Origin {
            trial_id: &trial.id,
            config_id: &trial.config_id,
            seed: spec.train.seed,
            settings: &settings,
            data,
        });
        let last = history.last().or(leg.earlier.last()).cloned();
        ran.push(Ran {
            row: row_of(trial, settings, last, status, error.clone(), seconds),
            epochs: epoch_rows(trial, &history),
            models: saved,
            paused,
            downstream,
        });
    }
    for t in thresholded {
        let (status, error) = match t.failed {
            Some(why) => (Status::Failed, why),
            None => (status, error.clone()),
        };
        let settings = Settings::of(&t.trial.spec, data.train.n_features);
        let last = t.history.last().cloned();
        let models = match status {
            Status::Failed => Vec::new(),
            _ => t.kept.models(&Origin {
                trial_id: &t.trial.id,
                config_id: &t.trial.config_id,
                seed: t.trial.spec.train.seed,
                settings: &settings,
                data,
            }),
        };
        ran.push(Ran {
            row: row_of(t.trial, settings, last, status, error, seconds),
            epochs: epoch_rows(t.trial, &t.history),
            models,
            paused: None,
            downstream: Vec::new(),
        });
    }
    ran
}

/// A `threshold` trial's epochs, fitted as its base network trains.
struct Thresholded<'a> {
    trial: &'a Trial,
    spec: ThresholdSpec,
    history: Vec<EpochMetrics>,
    /// Its models (the base's with its rule) worth saving.
    kept: Kept,
    /// Why thresholds could not be fitted (the epochs before are kept).
    failed: Option<String>,
}

impl<'a> Thresholded<'a> {
    fn of(trial: &'a Trial) -> Option<Self> {
        Some(Self {
            trial,
            spec: trial.spec.train.threshold()?,
            history: Vec::new(),
            kept: Kept::default(),
            failed: None,
        })
    }

    /// Fit on the base's validation scores of this epoch; apply to both splits. With the
    /// base's `model`, offer the rule with it, to save.
    fn add(
        &mut self,
        base: &EpochMetrics,
        [validation, test]: &[Vec<f32>; 2],
        model: Option<&Body>,
        data: &Dataset,
    ) {
        if self.failed.is_some() {
            return;
        }
        let (v, n) = (&data.validation, data.n_groups());
        match threshold_optimizer::fit(&self.spec, validation, &v.labels, &v.groups, n) {
            Ok(fitted) => {
                let metrics = EpochMetrics {
                    validation: fitted.metrics(validation, &v.labels, &v.groups, n),
                    test: fitted.metrics(test, &data.test.labels, &data.test.groups, n),
                    ..base.clone()
                };
                if let Some(model) = model {
                    let body = Body::Thresholded {
                        base: Box::new(model.clone()),
                        rule: fitted,
                    };
                    self.kept.offer(&metrics, body);
                }
                self.history.push(metrics);
            }
            Err(why) => {
                self.failed = Some(format!(
                    "no thresholds fit the validation scores of epoch {}: {why}",
                    base.epoch
                ))
            }
        }
    }
}

/// A trial's row in `trials.csv`, its last epoch's numbers at a glance (also what a test
/// writes for a results folder it makes without training).
pub fn row_of(
    trial: &Trial,
    settings: Settings,
    last: Option<EpochMetrics>,
    status: Status,
    error: String,
    seconds: f64,
) -> TrialRow {
    let last = last.as_ref();
    let validation = |f: fn(&SplitMetrics) -> f64| last.map(|m| f(&m.validation));
    let test = |f: fn(&SplitMetrics) -> f64| last.map(|m| f(&m.test));
    TrialRow {
        head: trial.head(),
        settings,
        outcome: TrialOutcome {
            status,
            error,
            last_epoch: last.map_or(0, |m| m.epoch),
            val_accuracy: validation(|m| m.accuracy),
            val_dp_soft: validation(|m| m.dp_soft),
            test_accuracy: test(|m| m.accuracy),
            test_dp_soft: test(|m| m.dp_soft),
            test_dp_hard: test(|m| m.dp_hard),
            seconds,
        },
    }
}

fn epoch_rows(trial: &Trial, history: &[EpochMetrics]) -> Vec<EpochRow> {
    history
        .iter()
        .flat_map(|m| EpochRow::of_epoch(&trial.id, m))
        .collect()
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// A bar on standard error: time, done / `total` `unit`, a message, the ETA.
pub fn progress_bar(total: usize, unit: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
    let template = format!(
        "{{prefix}}{{elapsed_precise}} [{{bar:30}}] {{pos}}/{{len}} {unit}  {{msg}}  ETA {{eta}}"
    );
    bar.set_style(
        ProgressStyle::with_template(&template)
            .expect("the template is valid")
            .progress_chars("=> "),
    );
    bar
}

/// A progress bar on a terminal; a line per trial otherwise (logs, CI); nothing when quiet.
struct Progress {
    bar: Option<ProgressBar>,
    lines: bool,
    total: usize,
    done: AtomicUsize,
    /// Which rung of a halving search, before each line.
    label: String,
}

impl Progress {
    fn new(total: usize, quiet: bool, label: Option<&str>) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let bar = (!quiet && terminal).then(|| progress_bar(total, "trials"));
        let label = label.map_or(String::new(), |l| format!("{l} "));
        if let Some(bar) = &bar {
            bar.set_prefix(label.clone());
        }
        Self {
            bar,
            lines: !quiet && !terminal,
            total,
            done: AtomicUsize::new(0),
            label,
        }
    }

    fn trial_done(&self, row: &TrialRow, summary: &ExecuteSummary) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        let failures = summary.diverged + summary.failed;
        if let Some(bar) = &self.bar {
            bar.inc(1);
            if failures > 0 {
                bar.set_message(format!("{failures} failed"));
            }
        }
        if self.lines {
            let o = &row.outcome;
            let outcome = match (o.status, o.test_accuracy, o.test_dp_soft) {
                (Status::Ok | Status::Paused, Some(accuracy), Some(dp)) => format!(
                    "epoch {}: test accuracy {accuracy:.4}, ΔDP soft {dp:.4}",
                    o.last_epoch
                ),
                _ => format!("{:?}: {}", o.status, o.error),
            };
            eprintln!(
                "{}[{done}/{}] {} {} seed={} ({:.1} s): {outcome}",
                self.label,
                self.total,
                row.head.trial_id,
                row.settings.describe(),
                row.head.seed,
                o.seconds
            );
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}
