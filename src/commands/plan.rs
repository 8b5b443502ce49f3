//! `plan`: parse → plan → estimate. What `run` would do, without training (but one timed
//! epoch of each kind of trial).

use std::process::ExitCode;

use anyhow::Result;

use super::run::{Planned, planned};
use crate::cli::SweepArgs;
use crate::outputs::plan_table;
use crate::results;
use crate::sweep::estimate;

pub fn plan(args: &SweepArgs) -> Result<ExitCode> {
    let Planned {
        experiment,
        plan,
        dataset,
        results_dir,
    } = planned(args)?;
    let finished = results::finished_trials(&results_dir)?;
    print!(
        "{}",
        plan_table::plan_table(&experiment, &plan, &finished, dataset.train.n_features)
    );
    let pending = plan.pending(&finished);
    let jobs = args.jobs.count();
    let mut estimate = estimate::estimate(&pending, &dataset, jobs);
    if let Some(halving) = &experiment.halving {
        let (rungs, share) = plan_table::halving_rungs(halving, &plan);
        println!("{rungs}");
        estimate.serial_seconds *= share;
        estimate.wall_seconds *= share;
    }
    println!(
        "{}",
        plan_table::describe_estimate(&estimate, pending.len())
    );
    if let Some(protocol) = &experiment.downstream {
        println!(
            "Not counted: the {} downstream classifiers each trial with a representation fits \
             after its last epoch (`downstream:`), seconds to a minute per trial on Adult.",
            protocol.runs
        );
    }
    Ok(ExitCode::SUCCESS)
}
