//! Results that can be trusted after anything a user or a machine does: changed data, stray
//! names, damaged or missing results files, sizes that cannot run, hostile strings. Each test
//! reproduces one defect of issue 14 through the binary.

mod common;

use common::{Run, read_csv, text};

/// A table of the user's own: 200 rows, a number, a group and a label leaning on both.
fn users_table() -> String {
    let mut table = String::from("x,g,y\n");
    for i in 0..200 {
        let group = if i % 3 == 0 { "a" } else { "b" };
        let label = if (i * 7) % 10 < 4 + (i % 3 == 0) as usize * 2 {
            "yes"
        } else {
            "no"
        };
        table += &format!("{},{group},{label}\n", i % 17);
    }
    table
}

const USERS: &str = "name: users
dataset:
  name: csv
  file: t.csv
  label: {column: y, positive: [yes], negative: [no]}
  sensitive: {column: g}
train: {method: erm, epochs: 1, batch_size: 20}
";

fn users_run(table: &str) -> Run {
    let run = Run::new(USERS);
    std::fs::write(run.dir.path().join("t.csv"), table).unwrap();
    run
}

/// `run` with no data folder named: the table is found beside the experiment file.
fn run_users(run: &Run) -> std::process::Output {
    common::binary()
        .arg("run")
        .arg(run.experiment())
        .arg("--results-dir")
        .arg(run.results())
        .env("XDG_CACHE_HOME", run.dir.path().join("cache"))
        .output()
        .unwrap()
}

#[test]
fn changed_data_is_a_new_trial_and_the_manifest_keeps_both_versions() {
    let table = users_table();
    let run = users_run(&table);
    let first = run_users(&run);
    assert!(first.status.success(), "{}", text(&first));
    // Swap two label values.
    let swapped = table
        .replacen(",yes\n", ",tmp\n", 1)
        .replacen(",no\n", ",yes\n", 1)
        .replacen(",tmp\n", ",no\n", 1);
    assert_ne!(swapped, table);
    std::fs::write(run.dir.path().join("t.csv"), &swapped).unwrap();
    let second = run_users(&run);
    let printed = text(&second);
    assert!(second.status.success(), "{printed}");
    assert!(
        printed.contains("1 ran now, 0 were already done"),
        "{printed}"
    );
    assert!(
        printed.contains(
            "1 trials in the results folder are not in this plan (other settings, or other data)"
        ),
        "{printed}"
    );
    let trials = read_csv(&run.results().join("trials.csv"));
    assert_eq!(trials.len(), 2);
    assert_ne!(trials[0]["trial_id"], trials[1]["trial_id"]);
    let data = run.manifest()["data"].as_array().unwrap().clone();
    assert_eq!(data.len(), 2, "{data:?}");
    assert_ne!(data[0]["sha256"], data[1]["sha256"]);
    // The same data again is the same trial.
    let third = run_users(&run);
    assert!(
        text(&third).contains("0 ran now, 1 were already done"),
        "{}",
        text(&third)
    );
}
