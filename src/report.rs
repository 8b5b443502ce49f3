//! What a run prints at the end: where the results are, what failed, and the trials' test
//! metrics with each method's Pareto front marked.

use std::path::Path;

use anyhow::Result;

use crate::pareto::pareto_front;
use crate::sweep::execute::describe;
use crate::sweep::store::{Status, TRIALS_FILE, TrialRow, read_rows};
use crate::sweep::{ExecuteSummary, Plan};

/// The rows of `trials.csv` that belong to `plan` (the folder may hold trials of an earlier
/// version of the experiment file), in plan order.
pub fn rows_of_plan(results_dir: &Path, plan: &Plan) -> Result<Vec<TrialRow>> {
    let rows: Vec<TrialRow> = read_rows(&results_dir.join(TRIALS_FILE))?;
    Ok(plan
        .trials
        .iter()
        .filter_map(|trial| rows.iter().find(|row| row.trial_id == trial.id).cloned())
        .collect())
}

/// A setting shown in the table: its header and how to read it off a row.
type Setting = (&'static str, fn(&TrialRow) -> String);

fn show<T: ToString>(value: Option<T>) -> String {
    value.map_or("-".into(), |v| v.to_string())
}

/// Settings besides the method, shown when they differ between rows.
const SETTINGS: [Setting; 9] = [
    ("η", |r| show(r.eta)),
    ("lr_acc", |r| r.lr_acc.to_string()),
    ("lr_fair", |r| show(r.lr_fair)),
    ("epochs", |r| r.epochs.to_string()),
    ("batch", |r| r.batch_size.to_string()),
    ("acc_layers", |r| r.accuracy_layers.to_string()),
    ("fair_layers", |r| r.fairness_layers.to_string()),
    ("position", |r| r.fairness_position.to_string()),
    ("seed", |r| r.seed.to_string()),
];

/// The finished trials' test metrics, sorted by their settings; `*` marks a method's Pareto
/// front (soft ΔDP, test), `!` a degenerate network.
pub fn table(rows: &[TrialRow]) -> String {
    let mut finished: Vec<&TrialRow> = rows.iter().filter(|r| r.status == Status::Ok).collect();
    let shown: Vec<&Setting> = SETTINGS
        .iter()
        .filter(|(_, read)| {
            let values: std::collections::HashSet<String> =
                finished.iter().map(|r| read(r)).collect();
            values.len() > 1
        })
        .collect();
    // By method, then by each shown setting's value ("-" first).
    let numeric = |text: String| text.parse::<f64>().unwrap_or(f64::NEG_INFINITY);
    finished.sort_by(|a, b| {
        a.method.cmp(&b.method).then_with(|| {
            shown
                .iter()
                .map(|(_, read)| numeric(read(a)).total_cmp(&numeric(read(b))))
                .find(|order| order.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        })
    });

    let mut on_front = std::collections::HashSet::new();
    for method in finished
        .iter()
        .map(|r| &r.method)
        .collect::<std::collections::BTreeSet<_>>()
    {
        let mine: Vec<&&TrialRow> = finished.iter().filter(|r| &r.method == method).collect();
        let points: Vec<(f64, f64)> = mine
            .iter()
            .map(|r| {
                (
                    r.test_dp_soft.unwrap_or(f64::NAN),
                    r.test_accuracy.unwrap_or(f64::NAN),
                )
            })
            .collect();
        on_front.extend(
            pareto_front(&points)
                .into_iter()
                .map(|i| mine[i].trial_id.clone()),
        );
    }

    let mut text = format!("  {:<12}", "method");
    for (header, _) in &shown {
        text += &format!(" {header:>11}");
    }
    text += &format!(
        " {:>9} {:>9} {:>9} {:>7} {:>6}\n",
        "accuracy", "ΔDP soft", "ΔDP hard", "ΔEO", "epoch"
    );
    for row in finished {
        let marker = match (
            on_front.contains(&row.trial_id),
            row.degenerate == Some(true),
        ) {
            (_, true) => "!",
            (true, false) => "*",
            _ => " ",
        };
        text += &format!("{marker} {:<12}", row.method);
        for (_, read) in &shown {
            text += &format!(" {:>11}", read(row));
        }
        let number = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.4}"));
        text += &format!(
            " {:>9} {:>9} {:>9} {:>7} {:>6}\n",
            number(row.test_accuracy),
            number(row.test_dp_soft),
            number(row.test_dp_hard),
            number(row.test_eo),
            show(row.selected_epoch),
        );
    }
    text
}

pub fn print_summary(
    name: &str,
    plan: &Plan,
    summary: &ExecuteSummary,
    rows: &[TrialRow],
    outputs: &[&Path],
) {
    let merged = plan.grid_points - plan.trials.len();
    println!(
        "{name}: {} trials{}; {} ran now, {} were already done.",
        plan.trials.len(),
        if merged > 0 {
            format!(
                " ({} sweep points; {merged} identical for the method and run once)",
                plan.grid_points
            )
        } else {
            String::new()
        },
        summary.ran,
        summary.skipped
    );
    let failed: Vec<&TrialRow> = rows.iter().filter(|r| r.status != Status::Ok).collect();
    if !failed.is_empty() {
        println!("{} trials did not finish:", failed.len());
        for row in &failed {
            println!(
                "  {} {} [{:?}]: {}",
                row.trial_id,
                describe(row),
                row.status,
                row.error
            );
        }
    }
    println!(
        "\nTest split, last epoch (* Pareto front of the method, ! degenerate: predicts the same for nearly everyone):"
    );
    print!("{}", table(rows));
    println!();
    for output in outputs {
        println!("wrote {}", output.display());
    }
}
