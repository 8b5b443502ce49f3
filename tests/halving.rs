//! `search: {halving: ..}` end to end: the plan's rungs, what each rung keeps, epochs and
//! models identical to a full run's, the thread count, a kill mid-search, and what it refuses.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use common::{HALVING, Run, read_csv, result_rows, text, wait_for};

/// Epoch rows by (trial, epoch, split).
fn epoch_rows(dir: &Path) -> BTreeMap<(String, String, String), HashMap<String, String>> {
    read_csv(&dir.join("epochs.csv"))
        .into_iter()
        .map(|r| {
            (
                (
                    r["trial_id"].clone(),
                    r["epoch"].clone(),
                    r["split"].clone(),
                ),
                r,
            )
        })
        .collect()
}

#[test]
fn a_halving_search_keeps_each_methods_best_and_trains_as_an_uninterrupted_run() {
    let search = Run::new(HALVING);
    let plan = text(&search.on_results("plan", &[]));
    assert!(plan.contains("rungs at epochs 2, 4, 6"), "{plan}");
    assert!(plan.contains("erm: 1 → 1 → 1 configurations"), "{plan}");
    assert!(
        plan.contains("lagrangian: 4 → 2 → 1 configurations"),
        "{plan}"
    );
    // Per seed: erm 6; Lagrangian 4·2 + 2·2 + 1·2 = 14; of 5·6 = 30: 20 · 2 seeds of 60.
    assert!(
        plan.contains("Trial-epochs: 40 of the whole grid's 60 (67%)"),
        "{plan}"
    );

    let output = search.run(&["--jobs", "2"]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains("of 5 configurations, 5 to epoch 2, 3 to epoch 4, 2 to epoch 6"),
        "{}",
        text(&output)
    );
    let trials = read_csv(&search.results().join("trials.csv"));
    assert_eq!(trials.len(), 10, "one row per trial once the search ends");
    let mut by_status: BTreeMap<(String, String), usize> = BTreeMap::new();
    for row in &trials {
        *by_status
            .entry((row["status"].clone(), row["last_epoch"].clone()))
            .or_default() += 1;
    }
    let expected: BTreeMap<(String, String), usize> = [
        (("halved".to_string(), "2".to_string()), 4),
        (("halved".into(), "4".into()), 2),
        (("ok".into(), "6".into()), 4),
    ]
    .into_iter()
    .collect();
    assert_eq!(by_status, expected);
    let halved = trials.iter().find(|r| r["status"] == "halved").unwrap();
    assert_eq!(
        halved["error"],
        format!(
            "halving: its configuration was not among those of its method kept at the rung of epoch {}",
            halved["last_epoch"]
        )
    );
    assert!(
        !search.results().join("checkpoints").exists(),
        "no checkpoint is left once the search ends"
    );

    // Every epoch it trained is the full grid's, to the last digit; so are the models of
    // the trials that went on to the end.
    let full = Run::new(&HALVING.replace("search:", "#"));
    assert!(full.run(&["--jobs", "2"]).status.success());
    let (ours, theirs) = (epoch_rows(&search.results()), epoch_rows(&full.results()));
    assert_eq!(ours.len(), 2 * 40);
    for (key, row) in &ours {
        assert_eq!(Some(row), theirs.get(key), "{key:?}");
    }
    let finished: Vec<&str> = (trials.iter())
        .filter(|r| r["status"] == "ok")
        .map(|r| r["trial_id"].as_str())
        .collect();
    let models = |run: &Run| -> BTreeMap<String, Vec<u8>> {
        (std::fs::read_dir(run.results().join("models")).unwrap())
            .map(|e| e.unwrap().path())
            .filter(|p| finished.iter().any(|id| p.to_string_lossy().contains(id)))
            .map(|p| {
                (
                    p.file_name().unwrap().to_string_lossy().into(),
                    std::fs::read(&p).unwrap(),
                )
            })
            .collect()
    };
    let kept = models(&search);
    assert!(kept.len() >= finished.len());
    assert_eq!(kept, models(&full));

    // One thread decides and trains the same.
    let serial = Run::new(HALVING);
    assert!(serial.run(&["--jobs", "1"]).status.success());
    assert_eq!(
        result_rows(&serial.results()),
        result_rows(&search.results())
    );
    assert_eq!(epoch_rows(&serial.results()), ours);

    // Shards cannot decide a rung; the whole grid is not run over a search's folder.
    let sharded = search.on_results("run", &["--shard", "1/2"]);
    assert_eq!(sharded.status.code(), Some(2));
    assert!(
        text(&sharded).contains("search.halving: a halving search decides each rung over every configuration at once, so it cannot be split into shards by hand"),
        "{}",
        text(&sharded)
    );
    std::fs::write(search.experiment(), HALVING.replace("search:", "#")).unwrap();
    let whole = search.run(&[]);
    assert_eq!(whole.status.code(), Some(2));
    assert!(
        text(&whole).contains("6 trials in this folder stopped at a rung of a halving search, and this experiment has none"),
        "{}",
        text(&whole)
    );
}

#[test]
fn a_halving_search_killed_mid_rung_resumes_to_the_same_results() {
    // Eight Lagrangian configurations of a second or so per epoch-pair: slow enough to kill
    // in the second rung.
    let experiment = "
name: halving_kill
dataset: {name: adult, max_rows: 6000}
train: {method: lagrangian, epochs: 6, batch_size: 50}
search: {halving: {rungs: [2, 4, 6], keep: 1/2}}
selection: [val-pareto]
sweep:
  eta: [0.5, 1, 2, 5, 10, 20, 50, 100]
";
    let killed = Run::new(experiment);
    let mut first = killed.spawn(&["--jobs", "1"]);
    let epochs = killed.results().join("epochs.csv");
    // A row of epoch 3: the second rung has begun.
    wait_for("the second rung", || {
        std::fs::read_to_string(&epochs)
            .is_ok_and(|t| t.lines().any(|l| l.contains(",3,validation")))
    });
    first.kill().unwrap();
    first.wait().unwrap();
    let paused = read_csv(&killed.results().join("trials.csv"));
    assert!(
        paused.iter().any(|r| r["status"] == "paused"),
        "the kill came after the second rung"
    );
    let output = killed.run(&["--jobs", "2"]);
    assert!(output.status.success(), "{}", text(&output));

    let whole = Run::new(experiment);
    assert!(whole.run(&["--jobs", "2"]).status.success());
    assert_eq!(
        result_rows(&killed.results()),
        result_rows(&whole.results())
    );
    assert_eq!(epoch_rows(&killed.results()), epoch_rows(&whole.results()));
}
