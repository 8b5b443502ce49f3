//! `bench`: training's step times and throughput, with `--search` a halving search
//! against its whole grid, or with `--scaling` how cost grows with rows, width and groups.

use std::process::ExitCode;

use anyhow::Result;

use crate::bench;
use crate::cli::BenchArgs;

pub fn bench(args: &BenchArgs) -> Result<ExitCode> {
    let data_dir = args.data.data_dir_override();
    if let Some(point) = &args.scaling_point {
        bench::scaling::point(point)?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(out) = &args.scaling {
        match args.redraw {
            true => bench::scaling::redraw(out)?,
            false => bench::scaling::run(out, args.quick)?,
        }
        return Ok(ExitCode::SUCCESS);
    }
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
