//! Running the planned trials in parallel: one trial per rayon thread (each single-threaded
//! inside), each recorded as soon as it ends, with progress on the terminal. A trial that
//! diverges or panics is recorded as such; the others go on.

use std::io::IsTerminal;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use super::plan::{Plan, Trial};
use super::store::{EpochRow, ResultsStore, Settings, Status, TrialHead, TrialOutcome, TrialRow};
use crate::data::Dataset;
use crate::metrics::SplitMetrics;
use crate::model_file::{Kept, Origin, SavedModel};
use crate::train::{self, Training};

pub struct ExecuteOptions {
    /// Trials run at once.
    pub jobs: usize,
    pub quiet: bool,
    /// Save the models of each trial's validation front and last epoch into this folder.
    pub models: Option<PathBuf>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExecuteSummary {
    pub planned: usize,
    /// Already in the results folder from an earlier run.
    pub skipped: usize,
    pub ran: usize,
    /// Stopped early by the collapse stop (finished, as `ran`).
    #[serde(default)]
    pub collapsed: usize,
    pub diverged: usize,
    pub failed: usize,
}

pub fn execute(
    plan: &Plan,
    data: &Dataset,
    store: &mut ResultsStore,
    options: &ExecuteOptions,
) -> Result<ExecuteSummary> {
    let pending = plan.pending(store.finished());
    let mut summary = ExecuteSummary {
        planned: plan.trials.len(),
        skipped: plan.trials.len() - pending.len(),
        ..Default::default()
    };
    let progress = Progress::new(pending.len(), options.quiet);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.jobs)
        .build()
        .context("cannot start the worker threads")?;

    let shared = Mutex::new((store, &mut summary, None::<anyhow::Error>));
    pool.install(|| {
        pending.par_iter().for_each(|trial| {
            let (row, epochs, models) = run_trial(trial, data, options.models.is_some());
            // Before the trial's rows: a finished trial has its models.
            let saved: Result<Vec<_>> = match &options.models {
                Some(dir) => models.iter().map(|model| model.write(dir)).collect(),
                None => Ok(Vec::new()),
            };
            let mut guard = shared.lock().unwrap_or_else(|e| e.into_inner());
            let (store, summary, write_error) = &mut *guard;
            if let Err(e) = saved {
                write_error.get_or_insert(e);
            }
            summary.ran += 1;
            match row.outcome.status {
                Status::Ok => {}
                Status::Collapsed => summary.collapsed += 1,
                Status::Diverged => summary.diverged += 1,
                Status::Failed => summary.failed += 1,
            }
            if let Err(e) = store.record(&row, &epochs) {
                write_error.get_or_insert(e);
            }
            progress.trial_done(&row, summary);
        })
    });
    progress.finish();
    let (_, _, write_error) = shared.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some(e) = write_error {
        return Err(e.context("could not record every trial's results"));
    }
    Ok(summary)
}

/// Train one trial and turn what happened into its result rows and, when `keep`, the
/// models worth saving. Never panics.
fn run_trial(
    trial: &Trial,
    data: &Dataset,
    keep: bool,
) -> (TrialRow, Vec<EpochRow>, Vec<SavedModel>) {
    let started = Instant::now();
    let spec = &trial.spec;
    let mut kept = Kept::default();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        train::train(
            &spec.architecture,
            &spec.train,
            data,
            &mut |metrics, trainer| {
                if keep {
                    kept.offer(metrics, trainer.weights());
                }
            },
        )
    }));
    let (history, status, error) = match outcome {
        Ok(Training {
            history,
            diverged: Some(reason),
            ..
        }) => (history, Status::Diverged, reason.to_string()),
        Ok(Training {
            history,
            collapsed: true,
            ..
        }) => {
            let why = format!(
                "validation predictions degenerate for {} epochs in a row: stopped after \
                 epoch {} of {}",
                spec.train.patience,
                history.len(),
                spec.train.epochs
            );
            (history, Status::Collapsed, why)
        }
        Ok(Training { history, .. }) => (history, Status::Ok, String::new()),
        Err(panic) => (
            Vec::new(),
            Status::Failed,
            format!("training panicked: {}", panic_message(&*panic)),
        ),
    };
    if status == Status::Failed {
        kept = Kept::default(); // What it kept before the panic is not in the results.
    }
    let settings = Settings::of(spec, data.train.n_features);
    let models = kept.models(&Origin {
        trial_id: &trial.id,
        config_id: &trial.config_id,
        seed: spec.train.seed,
        settings: &settings,
        data,
    });
    let last = history.last();
    let validation = |f: fn(&SplitMetrics) -> f64| last.map(|m| f(&m.validation));
    let test = |f: fn(&SplitMetrics) -> f64| last.map(|m| f(&m.test));
    let row = TrialRow {
        head: TrialHead {
            trial_id: trial.id.clone(),
            config_id: trial.config_id.clone(),
            seed: spec.train.seed,
        },
        settings,
        outcome: TrialOutcome {
            status,
            error,
            last_epoch: history.len(),
            val_accuracy: validation(|m| m.accuracy),
            val_dp_soft: validation(|m| m.dp_soft),
            test_accuracy: test(|m| m.accuracy),
            test_dp_soft: test(|m| m.dp_soft),
            test_dp_hard: test(|m| m.dp_hard),
            seconds: started.elapsed().as_secs_f64(),
        },
    };
    let epochs = history
        .iter()
        .flat_map(|m| EpochRow::of_epoch(&trial.id, m))
        .collect();
    (row, epochs, models)
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
    let template =
        format!("{{elapsed_precise}} [{{bar:30}}] {{pos}}/{{len}} {unit}  {{msg}}  ETA {{eta}}");
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
}

impl Progress {
    fn new(total: usize, quiet: bool) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let bar = (!quiet && terminal).then(|| progress_bar(total, "trials"));
        Self {
            bar,
            lines: !quiet && !terminal,
            total,
        }
    }

    fn trial_done(&self, row: &TrialRow, summary: &ExecuteSummary) {
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
                (Status::Ok, Some(accuracy), Some(dp)) => {
                    format!("last epoch: test accuracy {accuracy:.4}, ΔDP soft {dp:.4}")
                }
                _ => format!("{:?}: {}", o.status, o.error),
            };
            eprintln!(
                "[{}/{}] {} {} seed={} ({:.1} s): {outcome}",
                summary.ran,
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
