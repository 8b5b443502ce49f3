//! `report`: manifest → the experiment as it ran → plan → the folder's results → every
//! output again. [`report`] is also the last step of `run` and `merge`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::analysis::{self, Analysis, Baseline};
use crate::cli::ReportArgs;
use crate::config::{self, ExperimentFile};
use crate::data::{self, Splits};
use crate::outputs::{self, Report};
use crate::plan::{self, Plan};
use crate::predict;
use crate::results::layout::{EPOCHS_GZ_FILE, FolderLock, MANIFEST_FILE};
use crate::results::{self, ExecuteSummary, manifest};
use crate::selection::FairnessMetric;

pub fn report_again(args: &ReportArgs) -> Result<ExitCode> {
    let dir = &args.results_dir;
    let Some(manifest) = manifest::read(dir) else {
        bail!(
            "{}: no readable {MANIFEST_FILE} (is it a results folder `run` wrote?)",
            dir.display(),
        );
    };
    // A `run` or another `report` writing the same files at once would clash on them.
    let _lock = FolderLock::take(dir)?;
    let experiment = config::from_manifest(&manifest, args.data.data_dir_override())?;
    let dataset = data::load(&experiment.dataset)?;
    let plan = plan::plan(&experiment, &dataset.files);
    let finished = results::finished_trials(dir)?;
    let done = (plan.trials.iter())
        .filter(|t| finished.contains(&t.id))
        .count();
    let summary = ExecuteSummary {
        planned: plan.trials.len(),
        skipped: done,
        ..Default::default()
    };
    let splits = Splits::one(&dataset);
    report(&experiment, &plan, &splits, dir, &summary, None, 1)?;
    if args.gzip_epochs {
        let bytes = results::gzip_epochs(dir)?;
        println!(
            "wrote {} ({:.1} MB)",
            dir.join(EPOCHS_GZ_FILE).display(),
            bytes as f64 / 1e6
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// results → analysis → every output (CSVs, figures, the printed summary), and with
/// `--save-predictions` (the policies named, or all) the selected points' predictions.
pub(super) fn report(
    experiment: &ExperimentFile,
    plan: &Plan,
    splits: &Splits,
    results_dir: &Path,
    run: &ExecuteSummary,
    predictions: Option<&[String]>,
    jobs: usize,
) -> Result<()> {
    let dataset = splits.first;
    let (trials, epochs) = results::read_results(results_dir)?;
    // Rows written before equalized odds was recorded have no such gap to select on.
    if experiment.fairness_metric == FairnessMetric::EqualizedOdds
        && let Some(row) = epochs.iter().find(|row| row.equalized_odds.is_none())
    {
        bail!(
            "{}: fairness_metric: equalized-odds, but trial {}'s rows in epochs.csv were written \
             before equalized odds was recorded; run its trials again (`run --force`) or select \
             on another gap",
            results_dir.display(),
            row.trial_id
        );
    }
    let not_planned = analysis::not_planned(plan, &trials);
    let mut configurations =
        analysis::configurations(plan, &trials, epochs, dataset.train.n_features);
    let downstream = results::read_downstream(results_dir)?;
    analysis::attach_downstream(&mut configurations, plan, &downstream);
    if experiment.downstream.is_some() {
        // Trials finished before the file asked for downstream classifiers have none.
        let without = (configurations.iter())
            .filter(|c| c.settings.method.has_epochs() && !c.curve.is_empty())
            .filter(|c| c.downstream.is_none())
            .count();
        if without > 0 {
            eprintln!(
                "warning: {without} configurations with a representation have no downstream \
                 point: their trials finished before `downstream:` was in the file (run them \
                 again with `run --force` to fit the classifiers)"
            );
        }
    }
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
        n_inputs: dataset.train.n_features,
        references: &experiment.reference_points,
        curves_eta: experiment.curves_eta,
        data: &dataset.describe_for_report(),
        halving: experiment.halving.as_ref(),
    };
    outputs::write_all(&report, results_dir)?;
    let written = match predictions {
        Some(only) => save_predictions(
            experiment,
            plan,
            splits,
            results_dir,
            (&trials, &analysis),
            only,
            jobs,
        )?,
        None => Vec::new(),
    };
    remove_stale_predictions(experiment, results_dir, run.ran > 0, &written)
}

/// `--save-predictions`: the test rows' predictions at every selected point of the policies
/// named (all when none is).
fn save_predictions(
    experiment: &ExperimentFile,
    plan: &Plan,
    splits: &Splits,
    results_dir: &Path,
    (trials, analysis): (&[crate::results::TrialRecord], &Analysis),
    only: &[String],
    jobs: usize,
) -> Result<Vec<std::path::PathBuf>> {
    let written = predict::save_selected(&predict::SelectedPredictions {
        selections: &experiment.predictions_policies(only)?,
        analysis,
        plan,
        records: trials,
        splits,
        results_dir,
        save_models: experiment.save_models,
        jobs,
    })?;
    for path in &written {
        let size = std::fs::metadata(path).map_or(0, |m| m.len());
        println!("wrote {} ({:.1} MB)", path.display(), size as f64 / 1e6);
    }
    Ok(written)
}

/// Predictions hold the selected points of the results as they were when written: those of a
/// policy the file no longer has, and (after a run that trained) those not written again,
/// are removed, saying so, so that `audit` never reads points the folder no longer reports.
fn remove_stale_predictions(
    experiment: &ExperimentFile,
    results_dir: &Path,
    results_changed: bool,
    written: &[std::path::PathBuf],
) -> Result<()> {
    let dir = crate::results::layout::predictions_dir(results_dir);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(()); // None saved.
    };
    // The downstream selection never has one (predict::save_selected).
    let stems: Vec<String> = (experiment.selections.iter())
        .filter(|s| **s != crate::selection::Selection::Downstream)
        .map(|s| s.file_stem())
        .collect();
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        if path.extension().is_none_or(|e| e != "csv") || written.contains(&path) {
            continue;
        }
        let why = match stems.iter().any(|s| s == stem) {
            false => "its selection policy is no longer the experiment's",
            true if results_changed => "the folder's results changed since it was written",
            true => continue,
        };
        std::fs::remove_file(&path)
            .with_context(|| format!("cannot remove the stale {}", path.display()))?;
        eprintln!(
            "removed {}: {why} (--save-predictions writes it again)",
            path.display()
        );
    }
    Ok(())
}
