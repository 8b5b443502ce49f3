use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

use fairbinn_sweep::cli::{Cli, Command, DataCommand, RunArgs};
use fairbinn_sweep::plot::{Parity, pareto_svg};
use fairbinn_sweep::report::{AGGREGATE_FILE, METHODS_FILE};
use fairbinn_sweep::sweep::store::{EPOCHS_FILE, TRIALS_FILE};
use fairbinn_sweep::sweep::{ExecuteOptions, ResultsStore};
use fairbinn_sweep::{config, data, report, sweep};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Run(args) => run(&args),
        Command::Data(DataCommand::Describe { experiment, data }) => {
            describe(&experiment, data.data_dir_override())
        }
        Command::Data(DataCommand::Bench { data, repeat }) => {
            data::bench::loading(data.data_dir_override(), repeat.into())
        }
    };
    outcome.unwrap_or_else(|error| {
        eprintln!("error: {error:#}");
        ExitCode::from(2)
    })
}

/// parse → plan → load → execute → select → report. Exit code 1 when some trial did not finish.
fn run(args: &RunArgs) -> Result<ExitCode> {
    let experiment = config::read(&args.experiment, args.data.data_dir_override())?;
    let plan = sweep::plan(&experiment)?;
    let dataset = data::load(&experiment.dataset)?;

    let results_dir = args
        .results_dir
        .clone()
        .unwrap_or_else(|| ["results", experiment.name.as_str()].iter().collect());
    let mut store = ResultsStore::open(&results_dir, args.force)?;
    let options = ExecuteOptions {
        jobs: args.jobs(),
        quiet: args.quiet,
    };
    let summary = sweep::execute(&plan, &dataset, &mut store, &options)?;

    let baseline = report::Baseline::of(&dataset);
    let configurations = report::configurations(&results_dir, &plan, dataset.train.n_features)?;
    let selections: Vec<_> = experiment
        .selections
        .iter()
        .map(|selection| {
            let points = report::select(selection, &configurations);
            let methods = report::method_figures(&points, &baseline);
            (*selection, points, methods)
        })
        .collect();
    report::write_csvs(&results_dir, &selections, &baseline, &dataset.group_names)?;
    let mut outputs: Vec<PathBuf> = [TRIALS_FILE, EPOCHS_FILE, AGGREGATE_FILE, METHODS_FILE]
        .iter()
        .map(|file| results_dir.join(file))
        .collect();
    for (selection, points, _) in &selections {
        let title = format!("{}: test split, {}", experiment.name, selection.describe());
        for (parity, suffix) in [(Parity::Soft, ""), (Parity::Hard, "_hard")] {
            let path = results_dir.join(format!("pareto_{}{suffix}.svg", selection.file_stem()));
            pareto_svg(points, parity, &title, &path)?;
            outputs.push(path);
        }
    }
    let outputs: Vec<&Path> = outputs.iter().map(PathBuf::as_path).collect();
    report::print_summary(
        &experiment.name,
        &plan,
        &summary,
        &configurations,
        &selections,
        &baseline,
        &outputs,
    );

    let unfinished = summary.diverged + summary.failed;
    Ok(if unfinished == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Load the experiment's data and print what it holds.
fn describe(experiment: &Path, data_dir: config::DataDirOverride) -> Result<ExitCode> {
    let experiment = config::read(experiment, data_dir)?;
    print!("{}", data::load(&experiment.dataset)?.describe());
    Ok(ExitCode::SUCCESS)
}
