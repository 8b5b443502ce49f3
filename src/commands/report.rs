//! `report`: manifest → the experiment as it ran → plan → the folder's results → every
//! output again. [`report`] is also the last step of `run` and `merge`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, bail};

use crate::analysis::{self, Analysis, Baseline};
use crate::cli::ReportArgs;
use crate::config::{self, ExperimentFile};
use crate::data::{self, Dataset};
use crate::outputs::{self, Report};
use crate::plan::{self, Plan};
use crate::predict;
use crate::results::layout::{EPOCHS_GZ_FILE, FolderLock, MANIFEST_FILE};
use crate::results::{self, ExecuteSummary, manifest};

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
    report(&experiment, &plan, &dataset, dir, &summary, None, 1)?;
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
    dataset: &Dataset,
    results_dir: &Path,
    run: &ExecuteSummary,
    predictions: Option<&[String]>,
    jobs: usize,
) -> Result<()> {
    let (trials, epochs) = results::read_results(results_dir)?;
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
    let Some(only) = predictions else {
        return Ok(());
    };
    let written = predict::save_selected(&predict::SelectedPredictions {
        selections: &experiment.predictions_policies(only)?,
        analysis: &analysis,
        plan,
        records: &trials,
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
