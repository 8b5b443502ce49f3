//! `merge`: combine shard folders into the sweep's folder, then report as `run` does.

use std::collections::HashSet;
use std::process::ExitCode;

use anyhow::Result;

use super::report::report;
use crate::cli::{self, MergeArgs};
use crate::data::Splits;
use crate::results::manifest::{self, Manifest};
use crate::results::{ExecuteSummary, ResultsStore, shard_folders};
use crate::{config, data, plan};

pub fn merge(args: &MergeArgs) -> Result<ExitCode> {
    let experiment = config::read(&args.experiment, args.data.data_dir_override())?;
    if let Some(only) = args.predictions.save_predictions.as_deref() {
        experiment.predictions_policies(only)?;
    }
    let dataset = data::load(&experiment.dataset)?;
    let plan = plan::plan(&experiment, &dataset.files);
    let results_dir = cli::results_dir(&args.results_dir, &experiment.name, None);
    manifest::check_owner(&results_dir, &experiment.name, &experiment.path, false)?;
    let shards = match args.shards.as_slice() {
        [] => shard_folders(&results_dir)?,
        named => named.to_vec(),
    };
    let mut store = ResultsStore::open(&results_dir, false)?;
    let mut run = manifest::Run::new("merge");
    run.merged_from = shards.clone();
    let mut manifest = Manifest::start(&results_dir, experiment.record()?, &dataset.files, run)?;

    let wanted: HashSet<&str> = plan.trials.iter().map(|t| t.id.as_str()).collect();
    let skipped = plan.trials.len() - plan.pending(store.finished()).len();
    let mut merged = 0;
    for shard in &shards {
        let (taken, foreign) = store.absorb_shard(shard, &experiment.name, &wanted)?;
        let note = match foreign {
            0 => String::new(),
            n => format!(" ({n} of its trials are not in this plan: other settings or data)"),
        };
        println!("{}: {taken} trials{note}", shard.display());
        merged += taken;
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
    // With `split: pooled` and predictions to write, each seed's test rows.
    let splits = match predictions {
        Some(_) => {
            let seeds: Vec<u64> = plan.trials.iter().map(|t| t.spec.train.seed).collect();
            Splits::load(&experiment.dataset, &dataset, &seeds)?
        }
        None => Splits::one(&dataset),
    };
    report(
        &experiment,
        &plan,
        &splits,
        &results_dir,
        &present,
        predictions,
        jobs,
    )?;
    Ok(match missing {
        0 => ExitCode::SUCCESS,
        _ => ExitCode::from(1),
    })
}
