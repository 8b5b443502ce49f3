//! `slurm`: write (and with --submit, submit) the array job and its merge job.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{self, SlurmArgs};
use crate::{config, slurm as scripts};

pub fn slurm(args: &SlurmArgs) -> Result<ExitCode> {
    let experiment = config::read(&args.experiment, args.data.data_dir_override())?;
    let results_dir = cli::results_dir(&args.results_dir, &experiment.name, None);
    if args.shards > 1 {
        experiment.refuse_shards_of_halving()?;
    }
    let options = scripts::Options {
        shards: args.shards,
        cpus_per_task: args.cpus_per_task,
        time: args.time.clone(),
        partition: args.partition.clone(),
        data_dir: args.data.data_dir_override().map(|(dir, _)| dir),
    };
    let written = scripts::write_scripts(&options, &experiment, &results_dir)?;
    println!("{}", written.describe());
    if args.submit {
        let (array, merge) = written.submit()?;
        println!(
            "Submitted array job {array} ({} shards) and merge job {merge}; results in {}.",
            args.shards,
            results_dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
