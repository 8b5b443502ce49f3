use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

use fairbinn_sweep::cli::{Cli, Command, RunArgs};
use fairbinn_sweep::plot::{Parity, pareto_svg};
use fairbinn_sweep::sweep::store::{EPOCHS_FILE, TRIALS_FILE};
use fairbinn_sweep::sweep::{ExecuteOptions, ResultsStore};
use fairbinn_sweep::{config, data, report, sweep};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Run(args) => run(&args),
    };
    outcome.unwrap_or_else(|error| {
        eprintln!("error: {error:#}");
        ExitCode::from(2)
    })
}

/// parse → plan → load → execute → report. Exit code 1 when some trial did not finish.
fn run(args: &RunArgs) -> Result<ExitCode> {
    let experiment = config::read(&args.experiment, args.data_dir_override())?;
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

    let rows = report::rows_of_plan(&results_dir, &plan)?;
    let soft = results_dir.join("pareto.svg");
    let hard = results_dir.join("pareto_hard.svg");
    let title = format!(
        "{}: test accuracy vs demographic parity, last epoch of each trial",
        experiment.name
    );
    pareto_svg(&rows, Parity::Soft, &title, &soft)?;
    pareto_svg(&rows, Parity::Hard, &title, &hard)?;
    let csvs = [results_dir.join(TRIALS_FILE), results_dir.join(EPOCHS_FILE)];
    let outputs = [
        csvs[0].as_path(),
        csvs[1].as_path(),
        soft.as_path(),
        hard.as_path(),
    ];
    report::print_summary(&experiment.name, &plan, &summary, &rows, &outputs);

    let unfinished = summary.diverged + summary.failed;
    Ok(if unfinished == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
