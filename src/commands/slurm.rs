//! `slurm`: write (and with --submit, submit) the array job and its merge job; of a halving
//! search on shards, an array per rung, and (`--decide`, run by the decision job) the
//! decision between rungs.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};

use crate::cli::{self, SlurmArgs};
use crate::config::ExperimentFile;
use crate::plan::Shard;
use crate::results::ResultsStore;
use crate::results::layout::{shards_dir, slurm_dir};
use crate::sweep::execute::{decide, halve};
use crate::{config, data, plan, slurm as scripts};

pub fn slurm(args: &SlurmArgs) -> Result<ExitCode> {
    let experiment = config::read(&args.experiment, args.data.data_dir_override())?;
    let results_dir = cli::results_dir(&args.results_dir, &experiment.name, None);
    if let Some(rung) = args.decide {
        return decide_rung(&experiment, &results_dir, args.shards.into(), rung.into());
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
        let (array, after) = written.submit()?;
        let what = match written.decisions.is_empty() {
            true => "merge job",
            false => "decision job",
        };
        println!(
            "Submitted array job {array} ({} shards) and {what} {after}; results in {}.",
            args.shards,
            results_dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// After rung `rung` (from 1) of a halving search run as Slurm arrays: check that every
/// shard's trials still alive reached the rung, keep each method's best configurations as
/// `run` would on one machine (`sweep::execute::decide`, over every shard's results), record
/// the others' paused trials as halved in their shards, write the survivors to
/// `slurm/alive-after-rung-<rung>.txt`, and submit the next rung's array and the job after it.
fn decide_rung(
    experiment: &ExperimentFile,
    results_dir: &Path,
    shards: usize,
    rung: usize,
) -> Result<ExitCode> {
    let halving = (experiment.halving.as_ref()).ok_or_else(|| {
        anyhow!(
            "--decide: {} has no halving search",
            experiment.path.display()
        )
    })?;
    if rung >= halving.rungs.len() {
        bail!(
            "--decide {rung}: {} has {} rungs, and there is nothing to decide after the last",
            experiment.path.display(),
            halving.rungs.len()
        );
    }
    let dataset = data::load(&experiment.dataset)?;
    let plan = plan::plan(experiment, &dataset.files);
    let epoch = halving.rungs[rung - 1];
    let slurm = slurm_dir(results_dir);
    let alive_after = |r: usize| slurm.join(format!("alive-after-rung-{r}.txt"));
    // The configurations alive before this decision: every one, or the last one's survivors.
    let alive: HashSet<String> = match rung {
        1 => plan.trials.iter().map(|t| t.config_id.clone()).collect(),
        _ => {
            let path = alive_after(rung - 1);
            let text = std::fs::read_to_string(&path).map_err(|e| {
                anyhow!(
                    "cannot read {} (rung {}'s decision): {e}",
                    path.display(),
                    rung - 1
                )
            })?;
            text.lines().map(str::to_string).collect()
        }
    };
    let alive: HashSet<&str> = alive.iter().map(String::as_str).collect();
    let folders: Vec<PathBuf> = (1..=shards)
        .map(|i| shards_dir(results_dir).join(format!("{i}-of-{shards}")))
        .collect();
    // Every shard's store, each opened once: checked, then its losers halved.
    let mut stores = Vec::new();
    for (i, folder) in folders.iter().enumerate() {
        let shard = Shard {
            index: i + 1,
            count: shards,
        };
        let of_shard = (plan.trials.iter().enumerate())
            .filter(|&(position, t)| shard.holds(position) && alive.contains(t.config_id.as_str()))
            .map(|(_, t)| t);
        // A shard with no folder yet trained nothing (opening a store would make one).
        let store = folder
            .is_dir()
            .then(|| ResultsStore::open(folder, false))
            .transpose()?;
        let short = of_shard
            .filter(|t| {
                store.as_ref().is_none_or(|store| {
                    !store.finished().contains(&t.id)
                        && store.paused().get(&t.id).is_none_or(|&e| e < epoch)
                })
            })
            .count();
        if short > 0 {
            bail!(
                "rung {rung}: shard {shard} has {short} trials short of epoch {epoch} (see {}); \
                 once the cause is fixed, submit the rung's array again (`sbatch {}`), then this \
                 decision to start after it (`sbatch --dependency=afterany:<array job id> {}`)",
                slurm
                    .join(format!("shard-{}-rung-{rung}.log", i + 1))
                    .display(),
                scripts::rung_array(&slurm, rung).display(),
                scripts::decision(&slurm, rung).display()
            );
        }
        stores.extend(store);
    }
    let folder_paths: Vec<&Path> = folders.iter().map(PathBuf::as_path).collect();
    let metric = experiment.fairness_metric;
    let survivors = decide(
        &plan,
        &dataset,
        &folder_paths,
        &alive,
        epoch,
        halving,
        metric,
    )?;
    let mut halved = 0;
    for store in &mut stores {
        halved += halve(&plan, &dataset, store, &alive, &survivors, epoch)?;
    }
    // In plan order, each once: the file reads the same whoever wrote it.
    let mut written = HashSet::new();
    let kept: Vec<&str> = (plan.trials.iter())
        .map(|t| t.config_id.as_str())
        .filter(|id| survivors.contains(*id) && written.insert(*id))
        .collect();
    let text: String = kept.iter().map(|id| format!("{id}\n")).collect();
    crate::files::write_atomically(&alive_after(rung), text.as_bytes())?;
    println!(
        "{}: rung {rung} (epoch {epoch}): {} of {} configurations go on, {halved} trials stopped",
        experiment.name,
        kept.len(),
        alive.len()
    );
    let next = rung + 1;
    let after = match next < halving.rungs.len() {
        true => scripts::decision(&slurm, next),
        false => slurm.join("merge.sbatch"),
    };
    let (array, job) = scripts::submit_after(&scripts::rung_array(&slurm, next), &after)?;
    println!(
        "Submitted rung {next}'s array job {array}, then job {job} ({}).",
        after.display()
    );
    Ok(ExitCode::SUCCESS)
}
