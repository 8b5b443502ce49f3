//! What `fairbinn-sweep plan` prints: a row per trial and the run-time estimate.

use std::collections::{HashMap, HashSet};
use std::fmt::Write;

use crate::config::ExperimentFile;
use crate::config::search::Halving;
use crate::plan::Plan;
use crate::results::Settings;
use crate::sweep::estimate::{Estimate, human};
use crate::sweep::halving;
use crate::train::Method;

/// What `fairbinn-sweep plan` prints: the trial count and a row per trial with the values
/// the sweep sets and whether the results folder has it already.
pub fn plan_table(
    experiment: &ExperimentFile,
    plan: &Plan,
    finished: &HashSet<String>,
    n_features: usize,
) -> String {
    let mut out = String::new();
    let done = plan
        .trials
        .iter()
        .filter(|trial| finished.contains(&trial.id))
        .count();
    let merged = plan.grid_points.saturating_sub(plan.trials.len());
    let _ = writeln!(
        out,
        "{} ({}): {} trials{}; {done} already done, {} to run.",
        experiment.name,
        experiment.path.display(),
        plan.trials.len(),
        if merged > 0 {
            format!(
                " from {} sweep points ({merged} identical for their method, run once)",
                plan.grid_points
            )
        } else {
            String::new()
        },
        plan.trials.len() - done
    );
    let mut columns: Vec<&str> = vec!["method"];
    columns.extend(
        experiment
            .swept
            .iter()
            .map(String::as_str)
            // `threshold`'s base, `reductions`' learner and their rule are in the method's name.
            .filter(|key| !["method", "seed", "base", "learner", "randomized"].contains(key)),
    );
    let rows: Vec<Vec<String>> = plan
        .trials
        .iter()
        .enumerate()
        .map(|(index, trial)| {
            let cells: HashMap<String, String> = Settings::of(&trial.spec, n_features)
                .cells()
                .into_iter()
                .collect();
            let mut row = vec![(index + 1).to_string(), trial.id.clone()];
            row.extend(columns.iter().map(|column| match cells.get(*column) {
                Some(value) if !value.is_empty() => value.clone(),
                _ => "-".into(),
            }));
            row.push(trial.spec.train.seed.to_string());
            row.push(
                if finished.contains(&trial.id) {
                    "done"
                } else {
                    "to run"
                }
                .into(),
            );
            row
        })
        .collect();
    let header: Vec<&str> = ["#", "trial"]
        .into_iter()
        .chain(columns.iter().copied())
        .chain(["seed", "status"])
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|row| row[i].chars().count())
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        padded.join("  ").trim_end().to_string()
    };
    let _ = writeln!(out, "\n{}", line(header.clone()));
    for row in &rows {
        let _ = writeln!(out, "{}", line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// A halving search's rungs: how many configurations of each method train to each, and the
/// share of the whole grid's trial-epochs they make. The share scales the time estimate.
pub fn halving_rungs(halving: &Halving, plan: &Plan) -> (String, f64) {
    let mut methods: Vec<(Method, Vec<&str>)> = Vec::new();
    for trial in &plan.trials {
        let method = trial.spec.train.method;
        let index = match methods.iter().position(|(m, _)| *m == method) {
            Some(index) => index,
            None => {
                methods.push((method, Vec::new()));
                methods.len() - 1
            }
        };
        if !methods[index].1.contains(&trial.config_id.as_str()) {
            methods[index].1.push(&trial.config_id);
        }
    }
    let configurations: usize = methods.iter().map(|(_, c)| c.len()).sum();
    let seeds = plan.trials.len() / configurations.max(1);
    let rungs: Vec<String> = halving.rungs.iter().map(usize::to_string).collect();
    let mut out = format!(
        "\nHalving search: rungs at epochs {}; at each, every method keeps {:.0}% of its \
         configurations (at least one), the least dominated on validation:",
        rungs.join(", "),
        100.0 * halving.keep
    );
    for (method, configs) in &methods {
        let mut alive = configs.len();
        let mut counts = vec![alive.to_string()];
        for _ in 1..halving.rungs.len() {
            alive = halving.kept(alive);
            counts.push(alive.to_string());
        }
        let _ = write!(out, "\n  {method}: {} configurations", counts.join(" → "));
    }
    let counts: Vec<usize> = methods.iter().map(|(_, c)| c.len()).collect();
    let epochs = halving::planned_epochs(halving, &counts, seeds);
    let full: usize = plan.trials.iter().map(|t| t.spec.train.epochs).sum();
    let share = epochs as f64 / full.max(1) as f64;
    let _ = write!(
        out,
        "\nTrial-epochs: {epochs} of the whole grid's {full} ({:.0}%).",
        100.0 * share
    );
    (out, share)
}

/// `Estimated run time: 1 min 30 s on 2 threads …`, with the timed epoch of each kind.
pub fn describe_estimate(estimate: &Estimate, pending: usize) -> String {
    if pending == 0 {
        return "\nNothing to run: every trial is in the results folder.".into();
    }
    let mut out = format!(
        "\nEstimated run time: {} on {} threads for the {pending} trials to run ({} of training in all).\n\
         From one timed epoch of each kind of trial:",
        human(estimate.wall_seconds),
        estimate.jobs,
        human(estimate.serial_seconds)
    );
    for (kind, seconds) in &estimate.kinds {
        let _ = write!(out, "\n  {kind}: {seconds:.2} s per epoch");
    }
    out
}
