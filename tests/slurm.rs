//! `fairbinn-sweep slurm --submit` on a real (single-node, local) Slurm cluster: the array of
//! shards and the merge job that follows it give the same results as one unsharded run.
//! `.ci/start-slurm` starts such a cluster; without one the test says why it is skipped.

mod common;

use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Run, TINY, result_rows, text};

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
