use std::collections::HashSet;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Parser;

use fairbinn_sweep::analysis::{self, Analysis, Baseline};
use fairbinn_sweep::cli::{
    self, AuditArgs, Cli, Command, DataCommand, MergeArgs, PredictArgs, ReportArgs, RunArgs,
    SlurmArgs, SweepArgs,
};
use fairbinn_sweep::config::ExperimentFile;
use fairbinn_sweep::data::Dataset;
use fairbinn_sweep::model_file::{self, SavedModel};
use fairbinn_sweep::outputs::{self, Report};
use fairbinn_sweep::selection::Selection;
use fairbinn_sweep::sweep::estimate::{self, human};
use fairbinn_sweep::sweep::manifest::{self, Manifest};
use fairbinn_sweep::sweep::{ExecuteOptions, ExecuteSummary, Plan, ResultsStore, Trial, store};
use fairbinn_sweep::{audit, bench, config, data, predict, slurm, sweep};

fn main() -> ExitCode {
    // Rust ignores SIGPIPE, so printing to a reader that has gone (`plan … | head`) panics.
    // Like other command-line tools, end quietly instead: every result is on disk by then.
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to the default, before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Run(args) => run(&args),
        Command::Plan(args) => plan(&args),
        Command::Merge(args) => merge(&args),
        Command::Slurm(args) => slurm_scripts(&args),
        Command::Bench(args) if args.search.is_some() => bench::search(
            args.search.as_deref().expect("matched"),
            args.data.data_dir_override(),
            args.jobs.count(),
        )
        .map(|()| ExitCode::SUCCESS),
        Command::Bench(args) => bench::run(
            args.data.data_dir_override(),
            &bench::Options {
                epochs: args.epochs.into(),
                trials: args.trials.into(),
            },
        )
        .map(|()| ExitCode::SUCCESS),
        Command::Data(DataCommand::Describe { experiment, data }) => {
            describe(&experiment, data.data_dir_override())
        }
        Command::Data(DataCommand::Fetch {
            names,
            all,
            to,
            mirror,
            quiet,
        }) => fetch(&names, all, to, mirror.as_deref(), quiet),
        Command::Data(DataCommand::Bench { data, repeat }) => {
            data::bench::loading(data.data_dir_override(), repeat.into())
        }
        Command::Report(args) => report_again(&args),
        Command::Predict(args) => predict(&args),
        Command::Audit(args) => audit(&args),
    };
    outcome.unwrap_or_else(|error| {
        eprintln!("error: {error:#}");
        ExitCode::from(2)
    })
}

/// parse → plan → load → execute → report. Exit code 1 when some trial did not finish.
fn run(args: &RunArgs) -> Result<ExitCode> {
    let Planned {
        experiment,
        plan,
        dataset,
        results_dir,
    } = planned(&args.sweep)?;
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
    let mut manifest = Manifest::start(&results_dir, &experiment, &dataset.files, run)?;
    manifest.write(&results_dir)?;

    let options = ExecuteOptions {
        jobs,
        quiet: args.quiet,
        models: (experiment.save_models).then(|| model_file::models_dir(&results_dir)),
        halving: (experiment.halving.clone()).map(|h| (h, experiment.fairness_metric)),
    };
    let summary = sweep::execute(&plan, &dataset, &mut store, &options)?;
    manifest.finish(summary);
    manifest.write(&results_dir)?;

    if let Some(shard) = args.sweep.shard {
        println!(
            "{}: shard {shard}: {} trials, {} ran now, {} were already done, {} did not finish. \
             Results in {}; combine the shards with `fairbinn-sweep merge {}`.",
            experiment.name,
            summary.planned,
            summary.ran,
            summary.skipped,
            summary.diverged + summary.failed,
            results_dir.display(),
            args.sweep.experiment.display()
        );
    } else {
        let predictions = args.predictions.save_predictions.as_deref();
        report(
            &experiment,
            &plan,
            &dataset,
            &results_dir,
            &summary,
            predictions,
            jobs,
        )?;
    }
    Ok(exit_code(&summary))
}

/// parse → plan → estimate: what `run` would do, without training (but one timed epoch of
/// each kind of trial).
fn plan(args: &SweepArgs) -> Result<ExitCode> {
    let Planned {
        experiment,
        plan,
        dataset,
        results_dir,
    } = planned(args)?;
    let finished = sweep::store::finished_trials(&results_dir)?;
    print!(
        "{}",
        outputs::plan::plan_table(&experiment, &plan, &finished, dataset.train.n_features)
    );
    let pending = plan.pending(&finished);
    let jobs = args.jobs.count();
    let mut estimate = estimate::estimate(&pending, &dataset, jobs);
    if let Some(halving) = &experiment.halving {
        let (rungs, share) = outputs::plan::halving_rungs(halving, &plan);
        println!("{rungs}");
        estimate.serial_seconds *= share;
        estimate.wall_seconds *= share;
    }
    println!(
        "{}",
        outputs::plan::describe_estimate(&estimate, pending.len())
    );
    Ok(ExitCode::SUCCESS)
}

/// Combine shard folders into the sweep's folder, then report as `run` does.
fn merge(args: &MergeArgs) -> Result<ExitCode> {
    let experiment = config::read(&args.experiment, args.data.data_dir_override())?;
    let dataset = data::load(&experiment.dataset)?;
    let plan = sweep::plan(&experiment, &dataset.files);
    let results_dir = cli::results_dir(&args.results_dir, &experiment.name, None);
    let shards = match args.shards.as_slice() {
        [] => shard_folders(&results_dir)?,
        named => named.to_vec(),
    };
    if let Some(missing) = shards.iter().find(|shard| !shard.is_dir()) {
        bail!("{}: no such shard folder", missing.display());
    }
    let mut store = ResultsStore::open(&results_dir, false)?;
    let mut run = manifest::Run::new("merge");
    run.merged_from = shards.clone();
    let mut manifest = Manifest::start(&results_dir, &experiment, &dataset.files, run)?;

    let wanted: HashSet<&str> = plan.trials.iter().map(|t| t.id.as_str()).collect();
    let skipped = plan.trials.len() - plan.pending(store.finished()).len();
    let mut merged = 0;
    for shard in &shards {
        merged += absorb_shard(&mut store, shard, &experiment.name, &wanted)?;
    }
    let missing = plan.pending(store.finished()).len();
    if missing > 0 {
        eprintln!(
            "warning: {missing} of the {} trials are in no shard folder yet (a shard still \
             running, or one that failed); merge again when they are",
            plan.trials.len()
        );
    }
    let summary = ExecuteSummary {
        planned: plan.trials.len(),
        skipped,
        ran: merged,
        ..Default::default()
    };
    manifest.finish(summary);
    manifest.write(&results_dir)?;
    // Nothing ran here: the shards ran what the folder now has.
    let present = ExecuteSummary {
        ran: 0,
        skipped: plan.trials.len() - missing,
        ..summary
    };
    let predictions = args.predictions.save_predictions.as_deref();
    let jobs = std::thread::available_parallelism().map_or(1, usize::from);
    report(
        &experiment,
        &plan,
        &dataset,
        &results_dir,
        &present,
        predictions,
        jobs,
    )?;
    Ok(if missing > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Copy a shard's finished trials of this plan (`wanted`) into the store, saying how many
/// and how many of its trials are not in the plan; a shard of another experiment is refused.
fn absorb_shard(
    store: &mut ResultsStore,
    shard: &Path,
    experiment: &str,
    wanted: &HashSet<&str>,
) -> Result<usize> {
    if let Some(other) = manifest::read(shard).filter(|m| m.experiment.name != experiment) {
        bail!(
            "{}: holds results of the experiment {:?} ({}), not of {experiment:?}; name the \
             shard folders of this experiment",
            shard.display(),
            other.experiment.name,
            other.experiment.file.display(),
        );
    }
    let (taken, foreign) = store.absorb(shard, wanted)?;
    let note = match foreign {
        0 => String::new(),
        n => format!(" ({n} of its trials are not in this plan: other settings or data)"),
    };
    println!("{}: {taken} trials{note}", shard.display());
    Ok(taken)
}

/// Write (and with --submit, submit) the array job and its merge job.
fn slurm_scripts(args: &SlurmArgs) -> Result<ExitCode> {
    let experiment = config::read(&args.experiment, args.data.data_dir_override())?;
    let results_dir = cli::results_dir(&args.results_dir, &experiment.name, None);
    if args.shards > 1 {
        refuse_shards_of_halving(&experiment)?;
    }
    let options = slurm::Options {
        shards: args.shards,
        cpus_per_task: args.cpus_per_task,
        time: args.time.clone(),
        partition: args.partition.clone(),
        data_dir: args.data.data_dir_override().map(|(dir, _)| dir),
    };
    let scripts = slurm::write_scripts(&options, &experiment, &results_dir)?;
    println!("{}", scripts.describe());
    if args.submit {
        let (array, merge) = scripts.submit()?;
        println!(
            "Submitted array job {array} ({} shards) and merge job {merge}; results in {}.",
            args.shards,
            results_dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// An experiment read and planned (its shard only), its data loaded and checked against the
/// plan, and the results folder it goes to.
/// A halving search decides each rung over every configuration at once.
fn refuse_shards_of_halving(experiment: &ExperimentFile) -> Result<()> {
    if experiment.halving.is_some() {
        bail!(
            "{}: search.halving: a halving search decides each rung over every configuration \
             at once, so it cannot be split into shards; run it whole, with --jobs for the \
             cores of one machine (on a cluster, `slurm --shards 1 --cpus-per-task N`)",
            experiment.path.display()
        );
    }
    Ok(())
}

struct Planned {
    experiment: ExperimentFile,
    plan: Plan,
    dataset: Dataset,
    results_dir: PathBuf,
}

fn planned(args: &SweepArgs) -> Result<Planned> {
    let experiment = config::read(&args.experiment, args.data.data_dir_override())?;
    let dataset = data::load(&experiment.dataset)?;
    let mut plan = sweep::plan(&experiment, &dataset.files);
    if let Some(shard) = args.shard {
        refuse_shards_of_halving(&experiment)?;
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

/// Load the experiment's data and print what it holds.
fn describe(experiment: &Path, data_dir: config::DataDirOverride) -> Result<ExitCode> {
    let experiment = config::read(experiment, data_dir)?;
    print!("{}", data::load(&experiment.dataset)?.describe());
    Ok(ExitCode::SUCCESS)
}

/// Download data sets into the cache (or `to`).
fn fetch(
    names: &[String],
    all: bool,
    to: Option<PathBuf>,
    mirror: Option<&str>,
    quiet: bool,
) -> Result<ExitCode> {
    let to = match to.or_else(data::catalogue::cache_dir) {
        Some(to) => to,
        None => bail!("no cache folder: neither XDG_CACHE_HOME nor HOME is set; pass --to DIR"),
    };
    data::fetch::fetch(&data::fetch::Request {
        names,
        all,
        to: &to,
        mirror,
        quiet,
    })?;
    Ok(ExitCode::SUCCESS)
}

/// results → analysis → every output (CSVs, figures, the printed summary), and with
/// `--save-predictions` (the policies named, or all) the selected points' predictions.
fn report(
    experiment: &ExperimentFile,
    plan: &Plan,
    dataset: &Dataset,
    results_dir: &Path,
    run: &ExecuteSummary,
    predictions: Option<&[String]>,
    jobs: usize,
) -> Result<()> {
    let (trials, epochs) = store::read_results(results_dir)?;
    let not_planned = analysis::not_planned(plan, &trials);
    let configurations = analysis::configurations(plan, &trials, epochs, dataset.train.n_features);
    let analysis = Analysis::new(
        configurations,
        &experiment.selections,
        experiment.fairness_metric,
        &experiment.fronts_by,
        Baseline::of(dataset),
        not_planned,
    );
    let report = Report {
        name: &experiment.name,
        plan,
        run,
        analysis: &analysis,
        group_names: &dataset.group_names,
        references: &experiment.reference_points,
        curves_eta: experiment.curves_eta,
        data: &dataset.describe_for_report(),
        halving: experiment.halving.as_ref(),
    };
    outputs::write_all(&report, results_dir)?;
    match predictions {
        Some(only) => {
            let results = (trials.as_slice(), &analysis);
            save_predictions(experiment, plan, dataset, results_dir, results, only, jobs)
        }
        None => Ok(()),
    }
}

/// manifest → experiment as it ran → plan → the folder's results → every output again.
fn report_again(args: &ReportArgs) -> Result<ExitCode> {
    let dir = &args.results_dir;
    let Some(manifest) = manifest::read(dir) else {
        bail!(
            "{}: no readable {} (is it a results folder `run` wrote?)",
            dir.display(),
            manifest::MANIFEST_FILE
        );
    };
    // The experiment as it ran (its preset applied), read as its file would be; from JSON
    // (manifests of earlier versions) the sweep's keys come in another order, so the tables'
    // rows may too.
    let recorded = &manifest.experiment;
    let text = match &recorded.resolved_yaml {
        Some(text) => text.clone(),
        None => serde_norway::to_string(&recorded.resolved)?,
    };
    let experiment = config::parse(
        &text,
        &manifest.experiment.file,
        args.data.data_dir_override(),
    )?;
    let dataset = data::load(&experiment.dataset)?;
    let plan = sweep::plan(&experiment, &dataset.files);
    let finished = store::finished_trials(dir)?;
    let done = plan
        .trials
        .iter()
        .filter(|t| finished.contains(&t.id))
        .count();
    let summary = ExecuteSummary {
        planned: plan.trials.len(),
        skipped: done,
        ..Default::default()
    };
    report(&experiment, &plan, &dataset, dir, &summary, None, 1)?;
    if args.gzip_epochs {
        let bytes = store::gzip_epochs(dir)?;
        println!(
            "wrote {} ({:.1} MB)",
            dir.join(store::EPOCHS_GZ_FILE).display(),
            bytes as f64 / 1e6
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A saved model's predictions for a file's rows, to `--out` or standard output; what was
/// predicted (and its metrics, when the file has labels and groups) on standard error.
fn predict(args: &PredictArgs) -> Result<ExitCode> {
    let model = SavedModel::read(&args.model)?;
    let predicted = predict::predict_file(&model, &args.data)?;
    let write = |out: &mut dyn std::io::Write| -> Result<()> {
        let mut writer = predict::Writer::new("line", false, out)?;
        for row in &predicted.rows {
            writer.row(None, row)?;
        }
        writer.finish()?;
        Ok(())
    };
    match &args.out {
        Some(path) => {
            let mut bytes = Vec::new();
            write(&mut bytes)?;
            fairbinn_sweep::files::write_atomically(path, &bytes)?;
            eprint!("{}", predicted.notes);
            eprintln!("wrote {}", path.display());
        }
        None => {
            eprint!("{}", predicted.notes);
            write(&mut std::io::stdout().lock())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One model's per-group figures with bootstrap intervals, printed (and with `--out`, as CSV).
fn audit(args: &AuditArgs) -> Result<ExitCode> {
    let [low, high] = args.quantiles[..] else {
        bail!("--quantiles: expected two numbers, LOW,HIGH");
    };
    if !(0.0 < low && low < high && high < 1.0) {
        bail!("--quantiles: expected 0 < LOW < HIGH < 1, found {low},{high}");
    }
    let bootstrap = audit::Bootstrap {
        n_boot: args.n_boot,
        seed: args.seed,
        quantiles: (low, high),
    };
    let rows = audit::read(&args.predictions, args.trial.as_deref(), args.epoch)?;
    let report = audit::audit(&rows, &bootstrap);
    print!("{}", audit::describe(&rows, &report, &bootstrap));
    if let Some(path) = &args.out {
        fairbinn_sweep::files::write_atomically(path, &audit::to_csv(&rows, &report)?)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// `--save-predictions`: the test rows' predictions at every selected point.
fn save_predictions(
    experiment: &ExperimentFile,
    plan: &Plan,
    dataset: &Dataset,
    results_dir: &Path,
    (trials, analysis): (&[store::TrialRecord], &Analysis),
    only: &[String],
    jobs: usize,
) -> Result<()> {
    let policies = &experiment.selections;
    let named = |s: &&Selection| only.iter().any(|n| *n == s.name() || *n == s.file_stem());
    if let Some(unknown) = only.iter().find(|n| {
        !policies
            .iter()
            .any(|s| s.name() == **n || s.file_stem() == **n)
    }) {
        let known: Vec<String> = policies.iter().map(Selection::file_stem).collect();
        bail!(
            "--save-predictions: {unknown:?} is not a selection policy of {} (its policies: {})",
            experiment.path.display(),
            known.join(", ")
        );
    }
    let selections: Vec<Selection> = match only {
        [] => policies.clone(),
        _ => policies.iter().filter(named).copied().collect(),
    };
    let written = predict::save_selected(&predict::SelectedPredictions {
        selections: &selections,
        analysis,
        plan,
        records: trials,
        data: dataset,
        results_dir,
        save_models: experiment.save_models,
        jobs,
    })?;
    for path in written {
        let size = std::fs::metadata(&path).map_or(0, |m| m.len());
        println!("wrote {} ({:.1} MB)", path.display(), size as f64 / 1e6);
    }
    Ok(())
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

/// The shard folders below a sweep's results folder, in name order.
fn shard_folders(results_dir: &Path) -> Result<Vec<PathBuf>> {
    let dir = store::shards_dir(results_dir);
    let mut shards: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| {
            anyhow::anyhow!(
                "no shard folders to merge in {} ({e}); name them on the command line",
                dir.display()
            )
        })?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_dir())
        .collect();
    shards.sort();
    if shards.is_empty() {
        bail!("no shard folders to merge in {}", dir.display());
    }
    Ok(shards)
}

fn exit_code(summary: &ExecuteSummary) -> ExitCode {
    if summary.diverged + summary.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
