//! `fairbinn-sweep slurm --submit` on a real (single-node, local) Slurm cluster: the array of
//! shards and the merge job that follows it give the same results as one unsharded run, and a
//! halving search run rung by rung on shards decides and ends as it does on one machine.
//! `.ci/start-slurm` starts such a cluster; without one the test says why it is skipped.

mod common;

use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{HALVING, Run, TINY, read_csv, result_rows, text};

/// Why Slurm cannot take jobs here, if it cannot.
fn slurm_unavailable() -> Option<String> {
    let output = match Command::new("sinfo").args(["--noheader", "--format=%t"]).output() {
        Err(_) => return Some("sinfo is not installed (run .ci/start-slurm as root to install and start a local cluster)".into()),
        Ok(output) => output,
    };
    let states = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Some(format!(
            "the Slurm controller does not answer: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    if !states
        .lines()
        .any(|state| ["idle", "mix", "alloc"].contains(&state.trim()))
    {
        return Some(format!("no Slurm node is up (states: {})", states.trim()));
    }
    None
}

#[test]
fn a_slurm_array_of_shards_then_its_merge_equals_the_unsharded_sweep() {
    if let Some(reason) = slurm_unavailable() {
        // Straight to stderr: the test harness would swallow eprintln! of a passing test.
        let _ = writeln!(std::io::stderr(), "tests/slurm.rs skipped: {reason}");
        return;
    }
    let whole = Run::new(TINY);
    assert!(whole.run(&[]).status.success());

    let cluster = Run::new(TINY);
    let output = cluster.on_results("slurm", &["--shards", "2", "--submit"]);
    let printed = text(&output);
    assert!(output.status.success(), "{printed}");
    let job_after = |label: &str| -> String {
        let rest =
            &printed[printed.find(label).unwrap_or_else(|| panic!("{printed}")) + label.len()..];
        rest.chars().take_while(char::is_ascii_digit).collect()
    };
    let (array, merge) = (job_after("array job "), job_after("merge job "));
    assert!(!array.is_empty() && !merge.is_empty(), "{printed}");

    let started = Instant::now();
    loop {
        let queue = Command::new("squeue")
            .args(["--noheader", "--jobs", &format!("{array},{merge}")])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&queue.stdout).trim().is_empty() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the Slurm jobs did not end within 5 minutes"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let slurm_dir = cluster.results().join("slurm");
    let merge_log = std::fs::read_to_string(slurm_dir.join("merge.log")).unwrap_or_default();
    assert!(
        merge_log.contains("tiny: 5 trials"),
        "merge.log:\n{merge_log}"
    );
    for shard in 1..=2 {
        let log = std::fs::read_to_string(slurm_dir.join(format!("shard-{shard}.log"))).unwrap();
        assert!(
            log.contains(&format!("shard {shard}/2")),
            "shard-{shard}.log:\n{log}"
        );
    }
    assert_eq!(
        result_rows(&whole.results()),
        result_rows(&cluster.results())
    );
    let aggregate =
        |run: &Run| std::fs::read_to_string(run.results().join("aggregate.csv")).unwrap();
    assert_eq!(aggregate(&whole), aggregate(&cluster));
}

/// Wait until no job named `names` is queued or running (5 minutes at most).
fn wait_for_jobs(names: &[String]) {
    let started = Instant::now();
    loop {
        let queue = Command::new("squeue")
            .args(["--noheader", "--format=%j %T", "--name", &names.join(",")])
            .output()
            .unwrap();
        let listed = String::from_utf8_lossy(&queue.stdout).to_string();
        if listed.trim().is_empty() {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the Slurm jobs did not end within 5 minutes:\n{listed}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Issue 32: 5 configurations × 2 seeds, rungs at 2, 4 and 6 epochs, half kept, on 2 shards:
/// an array per rung, a decision job after each of the first two (each submitting the next
/// rung), then the merge. The same trials stop at the same rungs as in one `run`, with the
/// same epochs; the reports' tables are the same bytes.
#[test]
fn a_halving_search_on_slurm_shards_decides_as_one_machine_does() {
    if let Some(reason) = slurm_unavailable() {
        let _ = writeln!(std::io::stderr(), "tests/slurm.rs skipped: {reason}");
        return;
    }
    // Its own name: the jobs are waited for by name, beside the other test's.
    let experiment = &HALVING.replace("name: halving", "name: halving-slurm");
    let whole = Run::new(experiment);
    let output = whole.run(&["--jobs", "2"]);
    assert!(output.status.success(), "{}", text(&output));

    let cluster = Run::new(experiment);
    let output = cluster.on_results("slurm", &["--shards", "2", "--submit"]);
    let printed = text(&output);
    assert!(output.status.success(), "{printed}");
    assert!(printed.contains("decision job"), "{printed}");
    let slurm_dir = cluster.results().join("slurm");
    for script in [
        "rung-1.sbatch",
        "rung-3.sbatch",
        "decide-1.sbatch",
        "decide-2.sbatch",
    ] {
        assert!(slurm_dir.join(script).is_file(), "{script} not written");
    }
    assert!(!slurm_dir.join("decide-3.sbatch").exists());
    let mut names: Vec<String> = (1..=3).map(|r| format!("halving-slurm-rung{r}")).collect();
    names.extend((1..=2).map(|r| format!("halving-slurm-decide{r}")));
    names.push("halving-slurm-merge".into());
    wait_for_jobs(&names);

    let log = |name: &str| std::fs::read_to_string(slurm_dir.join(name)).unwrap_or_default();
    // Lagrangian: 4 → 2 → 1 configurations; erm keeps its one.
    assert!(
        log("decide-1.log")
            .contains("rung 1 (epoch 2): 3 of 5 configurations go on, 4 trials stopped"),
        "decide-1.log:\n{}",
        log("decide-1.log")
    );
    assert!(
        log("decide-2.log")
            .contains("rung 2 (epoch 4): 2 of 3 configurations go on, 2 trials stopped"),
        "decide-2.log:\n{}",
        log("decide-2.log")
    );
    assert!(
        log("merge.log").contains("halving-slurm: 10 trials"),
        "merge.log:\n{}",
        log("merge.log")
    );
    assert_eq!(
        result_rows(&whole.results()),
        result_rows(&cluster.results())
    );
    let epochs = |run: &Run| {
        let mut rows: Vec<Vec<(String, String)>> = read_csv(&run.results().join("epochs.csv"))
            .into_iter()
            .map(|row| {
                let mut row: Vec<(String, String)> = row.into_iter().collect();
                row.sort();
                row
            })
            .collect();
        rows.sort();
        rows
    };
    assert_eq!(epochs(&whole), epochs(&cluster));
    for table in ["aggregate.csv", "methods.csv"] {
        let read = |run: &Run| std::fs::read_to_string(run.results().join(table)).unwrap();
        assert_eq!(read(&whole), read(&cluster), "{table}");
    }
}
