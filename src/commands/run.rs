//! `run`: parse → plan → load → execute → report. Exit code 1 when some trial did not finish.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};

use super::report::report;
use crate::cli::{self, RunArgs, SweepArgs};
use crate::config::{self, ExperimentFile};
use crate::data::{self, Dataset};
use crate::plan::{self, Plan, Trial};
use crate::results::ResultsStore;
use crate::results::layout::models_dir;
use crate::results::manifest::{self, Manifest};
use crate::sweep::estimate::{self, human};
use crate::sweep::{self, ExecuteOptions};

/// `run A.yaml B.yaml …`: each file in turn, as `run` alone would; one that cannot run is
/// said and the rest go on. 2 when some file did not run, else 1 when some trial did not
/// finish, else 0.
pub fn run_each(args: &RunArgs) -> Result<ExitCode> {
    if args.more.is_empty() {
        return run(args);
    }
    let files: Vec<&PathBuf> = std::iter::once(&args.sweep.experiment)
        .chain(&args.more)
        .collect();
    let (mut refused, mut unfinished) = (Vec::new(), 0);
    for &file in &files {
        let mut one = args.clone();
        one.sweep.experiment = file.clone();
        println!("== {}", file.display());
        match run(&one) {
            Ok(code) if code == ExitCode::SUCCESS => {}
            Ok(_) => unfinished += 1,
            Err(error) => {
                eprintln!("error: {error:#}");
                refused.push(file.display().to_string());
            }
        }
    }
    match refused.len() {
        0 => {}
        n if n == files.len() => bail!("ran none of the {n} files"),
        _ => bail!("did not run {} (the others ran)", refused.join(", ")),
    }
    Ok(if unfinished == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub fn run(args: &RunArgs) -> Result<ExitCode> {
    let Planned {
        experiment,
        plan,
        dataset,
        results_dir,
    } = planned(&args.sweep)?;
    // Refused before anything trains (a typo found after an hour's sweep is an hour lost).
    let predictions = args.predictions.save_predictions.as_deref();
    if let Some(only) = predictions {
        experiment.predictions_policies(only)?;
    }
    manifest::check_owner(&results_dir, &experiment.name, &experiment.path, args.force)?;
    let mut store = ResultsStore::open(&results_dir, args.force)?;
    // Trials a halving search stopped at a rung are finished for that search only: a run of
    // the whole grid in its folder would report them as they stopped.
    if experiment.halving.is_none() && store.halted() > 0 {
        bail!(
            "{}: {} trials in this folder stopped at a rung of a halving search, and this \
             experiment has none; give it another name (or --results-dir), or --force to start \
             the folder afresh",
            results_dir.display(),
            store.halted()
        );
    }
    let jobs = args.sweep.jobs.count();
    let pending = plan.pending(store.finished());
    if pending.len() > args.ask_above && !args.yes {
        confirm(&pending, &dataset, jobs, args.ask_above)?;
    }
    let mut run = manifest::Run::new("run");
    run.jobs = Some(jobs);
    run.shard = args.sweep.shard.map(|shard| shard.to_string());
    let mut manifest = Manifest::start(&results_dir, experiment.record()?, &dataset.files, run)?;
    manifest.write(&results_dir)?;

    let options = ExecuteOptions {
        jobs,
        quiet: args.quiet,
        models: (experiment.save_models).then(|| models_dir(&results_dir)),
        halving: (experiment.halving.clone()).map(|h| (h, experiment.fairness_metric)),
        rung: args.sweep.rung.map(|r| usize::from(r) - 1),
        downstream: experiment.downstream,
    };
    // With `split: pooled`, each seed's data, for training and for `--save-predictions`.
    let seeds: Vec<u64> = plan.trials.iter().map(|t| t.spec.train.seed).collect();
    let splits = data::Splits::load(&experiment.dataset, &dataset, &seeds)?;
    let summary = sweep::execute(&plan, &splits, &mut store, &options)?;
    manifest.finish(summary);
    manifest.write(&results_dir)?;

    if let Some(shard) = args.sweep.shard {
        println!(
            "{}: shard {shard}{}: {} trials, {} ran now, {} were already done, {} did not finish. \
             Results in {}; {}.",
            experiment.name,
            args.sweep
                .rung
                .map_or(String::new(), |r| format!(", rung {r}")),
            summary.planned,
            summary.ran,
            summary.skipped,
            summary.diverged + summary.failed,
            results_dir.display(),
            match args.sweep.rung {
                // `slurm`'s decision job (or the merge, after the last rung) takes it from here.
                Some(_) => "the next job decides over every shard".to_string(),
                None => format!(
                    "combine the shards with `fairbinn-sweep merge {}`",
                    args.sweep.experiment.display()
                ),
            }
        );
    } else {
        report(
            &experiment,
            &plan,
            &splits,
            &results_dir,
            &summary,
            predictions,
            jobs,
        )?;
    }
    Ok(super::exit_code(&summary))
}

/// An experiment read and planned (its shard only), its data loaded and checked against the
/// plan, and the results folder it goes to.
pub(super) struct Planned {
    pub experiment: ExperimentFile,
    pub plan: Plan,
    pub dataset: Dataset,
    pub results_dir: PathBuf,
}

pub(super) fn planned(args: &SweepArgs) -> Result<Planned> {
    let experiment = config::read(&args.experiment, args.data.data_dir_override())?;
    let dataset = data::load(&experiment.dataset)?;
    let usable = dataset.check_usable(&experiment.dataset);
    let usable = usable.map_err(|e| anyhow!("{}: {e}", experiment.path.display()))?;
    for warning in usable {
        eprintln!("warning: {}: {warning}", experiment.path.display());
    }
    let mut plan = plan::plan(&experiment, &dataset.files);
    match (&experiment.halving, args.rung) {
        (_, None) if args.shard.is_some() => experiment.refuse_shards_of_halving()?,
        (None, Some(_)) => bail!(
            "--rung: {} has no halving search",
            experiment.path.display()
        ),
        (Some(halving), Some(rung)) if usize::from(rung) > halving.rungs.len() => bail!(
            "--rung {rung}: {} has {} rungs",
            experiment.path.display(),
            halving.rungs.len()
        ),
        _ => {}
    }
    if let Some(shard) = args.shard {
        plan = plan.shard(shard);
    }
    plan.check_fits(&experiment, &dataset)?;
    let results_dir = cli::results_dir(&args.results_dir, &experiment.name, args.shard);
    Ok(Planned {
        experiment,
        plan,
        dataset,
        results_dir,
    })
}

/// A large plan runs only when the user says so: on a terminal by answering, elsewhere
/// with --yes.
fn confirm(pending: &[&Trial], dataset: &Dataset, jobs: usize, ask_above: usize) -> Result<()> {
    let estimate = estimate::estimate(pending, dataset, jobs);
    let question = format!(
        "This run trains {} trials (more than --ask-above {ask_above}), about {} on {jobs} threads.",
        pending.len(),
        human(estimate.wall_seconds)
    );
    if !std::io::stdin().is_terminal() {
        bail!(
            "{question} Add --yes to go ahead (`fairbinn-sweep plan` lists the trials), or \
             raise --ask-above."
        );
    }
    eprint!("{question} Go ahead? [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if !matches!(answer.trim(), "y" | "Y" | "yes") {
        bail!("not run: nothing was trained");
    }
    Ok(())
}
