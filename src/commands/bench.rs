//! `bench`: training's step times and throughput, or with `--search` a halving search
//! against its whole grid.

use std::process::ExitCode;

use anyhow::Result;

use crate::bench;
use crate::cli::BenchArgs;

pub fn bench(args: &BenchArgs) -> Result<ExitCode> {
    let data_dir = args.data.data_dir_override();
    match &args.search {
        Some(experiment) => bench::search(experiment, data_dir, args.jobs.count())?,
        None => bench::run(
            data_dir,
            &bench::Options {
                epochs: args.epochs.into(),
                trials: args.trials.into(),
            },
        )?,
    }
    Ok(ExitCode::SUCCESS)
}
