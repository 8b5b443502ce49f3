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
    run.without_data_dir("run")
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

const FOUR: &str = "name: four
dataset:
  name: csv
  file: t.csv
  label: {column: y, positive: [yes], negative: [no]}
  sensitive: {column: g}
train: {method: lagrangian, epochs: 2, batch_size: 20}
sweep: {eta: [1, 2, 3, 4]}
";

fn four_run() -> Run {
    let run = Run::new(FOUR);
    std::fs::write(run.dir.path().join("t.csv"), users_table()).unwrap();
    let output = run_users(&run);
    assert!(output.status.success(), "{}", text(&output));
    run
}

#[test]
fn a_missing_or_cut_epochs_csv_makes_its_trials_run_again() {
    let run = four_run();
    let epochs = run.results().join("epochs.csv");
    let whole = std::fs::read_to_string(&epochs).unwrap();
    assert_eq!(whole.lines().count(), 1 + 4 * 2 * 2);

    std::fs::remove_file(&epochs).unwrap();
    let output = run_users(&run);
    let printed = text(&output);
    assert!(output.status.success(), "{printed}");
    assert!(
        printed.contains("4 trials lack some of their rows in epochs.csv"),
        "{printed}"
    );
    assert!(
        printed.contains("4 ran now, 0 were already done"),
        "{printed}"
    );
    assert_eq!(read_csv(&run.results().join("aggregate.csv")).len(), 4);

    // Cut after the header and 5 rows: trial 1's 4 rows, and one of trial 2's.
    let cut: String = whole.lines().take(6).map(|l| format!("{l}\n")).collect();
    std::fs::write(&epochs, cut).unwrap();
    let output = run_users(&run);
    let printed = text(&output);
    assert!(
        printed.contains("3 ran now, 1 were already done"),
        "{printed}"
    );
    assert_eq!(read_csv(&run.results().join("aggregate.csv")).len(), 4);
    assert_eq!(read_csv(&epochs).len(), 16);
}

#[test]
fn a_damaged_row_is_set_aside_with_its_line_and_the_good_rows_kept() {
    let run = four_run();
    let trials = run.results().join("trials.csv");
    let text_before = std::fs::read_to_string(&trials).unwrap();
    let mut lines: Vec<String> = text_before.lines().map(String::from).collect();
    // Line 3: an unbalanced quote, as a hand edit leaves it.
    lines[2] = lines[2].replacen(",lagrangian,", ",\"lagrangian,", 1);
    // Line 2 (the first row): a status no version writes.
    lines[1] = lines[1].replacen(",ok,", ",fine,", 1);
    std::fs::write(&trials, lines.join("\n") + "\n").unwrap();

    let output = run_users(&run);
    let printed = text(&output);
    assert!(output.status.success(), "{printed}");
    assert!(printed.contains("trials.csv:2: damaged row"), "{printed}");
    assert!(printed.contains("unknown variant `fine`"), "{printed}");
    assert!(
        printed.contains("trials.csv:3: damaged row (4 fields, expected"),
        "{printed}"
    );
    assert!(!printed.contains("--force"), "{printed}");
    assert!(
        printed.contains("2 ran now, 2 were already done"),
        "{printed}"
    );
    let aside = std::fs::read_to_string(run.results().join("trials.csv.damaged")).unwrap();
    assert_eq!(aside.lines().collect::<Vec<_>>(), [&lines[1], &lines[2]]);
    assert_eq!(read_csv(&trials).len(), 4);
    assert!(!run.results().join(".lock").exists(), "no lock left behind");
}

#[test]
fn a_name_is_one_plain_folder_name() {
    for name in ["..", ".", ".hidden", "a/b"] {
        let run = Run::new(&FOUR.replace("name: four", &format!("name: \"{name}\"")));
        std::fs::write(run.dir.path().join("t.csv"), users_table()).unwrap();
        let output = common::binary()
            .arg("run")
            .arg(run.experiment())
            .current_dir(run.dir.path())
            .output()
            .unwrap();
        let printed = text(&output);
        assert_eq!(output.status.code(), Some(2), "{printed}");
        assert!(
            printed.contains("line 1: name: expected a name starting with a letter or digit"),
            "{printed}"
        );
        let mut files: Vec<String> = std::fs::read_dir(run.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        assert_eq!(files, ["experiment.yaml", "t.csv"], "{name}");
    }
}

#[test]
fn sizes_that_cannot_run_are_refused_before_anything_runs() {
    for (settings, expected) in [
        (
            "train: {method: erm, epochs: 18446744073709551615}",
            "line 3: train.epochs: expected at most 1000000, found 18446744073709551615",
        ),
        (
            "train: {method: erm}\nsweep: {epochs: [1, 1000000000000]}",
            "sweep.epochs: train.epochs: expected at most 1000000, found 1000000000000 (at epochs=1000000000000)",
        ),
        (
            "model: {accuracy_layers: 100000}\ntrain: {method: erm}",
            "line 3: model.accuracy_layers: expected at most 10000, found 100000",
        ),
        (
            "model: {width: 100000000}\ntrain: {method: erm}",
            "model: a network of 4 layers of width 100000000 needs about 320007296.0 GB of memory",
        ),
    ] {
        let run = Run::new(&format!(
            "name: big\ndataset: {{name: adult, max_rows: 300}}\n{settings}\n"
        ));
        for command in ["plan", "run"] {
            let output = run.on_results(command, &[]);
            let printed = text(&output);
            assert_eq!(output.status.code(), Some(2), "{command}: {printed}");
            assert!(printed.contains(expected), "{command}: {printed}");
        }
        assert!(!run.results().join("trials.csv").exists());
    }
}

#[test]
fn non_finite_numbers_name_file_line_and_column() {
    for (value, line) in [
        ("inf", 4),
        ("-inf", 4),
        ("Infinity", 4),
        ("1e400", 4),
        ("NaN", 4),
    ] {
        let mut table: Vec<String> = users_table().lines().map(String::from).collect();
        table[3] = format!("{value}{}", &table[3][table[3].find(',').unwrap()..]);
        let run = users_run(&(table.join("\n") + "\n"));
        let output = run_users(&run);
        let printed = text(&output);
        assert_eq!(output.status.code(), Some(2), "{value}: {printed}");
        assert!(
            printed.contains(&format!("t.csv:{line}: column x: {value:?} is not a finite number; list it in dataset.missing.tokens")),
            "{value}: {printed}"
        );
    }
    // Listed as missing, NaN is dropped like any missing value.
    let mut table: Vec<String> = users_table().lines().map(String::from).collect();
    table[3] = format!("NaN{}", &table[3][table[3].find(',').unwrap()..]);
    let run = Run::new(&USERS.replace(
        "  sensitive: {column: g}",
        "  sensitive: {column: g}\n  missing: {tokens: [NaN], action: drop}",
    ));
    std::fs::write(run.dir.path().join("t.csv"), table.join("\n") + "\n").unwrap();
    let output = run_users(&run);
    assert!(output.status.success(), "{}", text(&output));
}

#[test]
fn padding_is_trimmed_by_one_rule_for_the_whole_file() {
    // Padded values only past the first 64 KiB: still one group, one label value.
    let mut table = String::from("x,g,y\n");
    let mut i = 0;
    while table.len() < 70_000 {
        table += &format!(
            "{},{},{}\n",
            i % 17,
            if i % 3 == 0 { "a" } else { "b" },
            if i % 5 < 2 { "yes" } else { "no" }
        );
        i += 1;
    }
    for j in 0..100 {
        table += &format!(
            "{}, {}, {}\n",
            j % 17,
            if j % 3 == 0 { "a" } else { "b" },
            if j % 5 < 2 { "yes" } else { "no" }
        );
    }
    let run = users_run(&table);
    let output = common::binary()
        .args(["data", "describe"])
        .arg(run.experiment())
        .output()
        .unwrap();
    let printed = text(&output);
    assert!(output.status.success(), "{printed}");
    assert!(printed.contains("sensitive groups: 2"), "{printed}");
}

#[test]
fn slurm_scripts_quote_every_user_string() {
    let run = Run::new(common::TINY);
    let hostile = run.dir.path().join("x$(touch PWNED)");
    let output = run
        .command("slurm")
        .args(["--shards", "2", "--results-dir"])
        .arg(&hostile)
        .current_dir(run.dir.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    let array = std::fs::read_to_string(hostile.join("slurm/array.sbatch")).unwrap();
    let exec = array.lines().find(|l| l.starts_with("exec ")).unwrap();
    // The task's command line as the shell reads it, arguments printed instead of run.
    let words = exec.replacen("exec ", "printf '%s\\n' ", 1);
    let printed = std::process::Command::new("bash")
        .args(["-c", &words])
        .env("SLURM_ARRAY_TASK_ID", "1")
        .current_dir(run.dir.path())
        .output()
        .unwrap();
    let args = String::from_utf8_lossy(&printed.stdout).into_owned();
    assert!(!run.dir.path().join("PWNED").exists(), "{exec}");
    assert!(
        args.lines()
            .any(|a| a == hostile.join("shards/1-of-2").display().to_string()),
        "{args}"
    );
    for option in ["--partition", "--time"] {
        let output = run
            .command("slurm")
            .args(["--shards", "2", option, "gpu\n#SBATCH --wrap=evil"])
            .arg("--results-dir")
            .arg(run.results())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2));
        assert!(
            text(&output).contains(&format!("slurm {option}: expected letters, digits")),
            "{}",
            text(&output)
        );
    }
}

/// `data describe` on the users' experiment with `table` as its file.
fn describe(table: &[u8]) -> (bool, String) {
    let run = Run::new(USERS);
    std::fs::write(run.dir.path().join("t.csv"), table).unwrap();
    let output = common::binary()
        .args(["data", "describe"])
        .arg(run.experiment())
        .output()
        .unwrap();
    (output.status.success(), text(&output))
}

#[test]
fn small_things_a_careless_file_does() {
    // A byte-order mark before the YAML.
    let run = Run::new(&format!("\u{feff}{}", common::TINY));
    let output = run.on_results("plan", &[]);
    assert!(output.status.success(), "{}", text(&output));

    // A delimiter ending every line.
    let trailing: String = users_table().lines().map(|l| format!("{l},\n")).collect();
    let (ok, printed) = describe(trailing.as_bytes());
    assert!(ok, "{printed}");
    assert!(
        printed.contains("t.csv: 200 records: 200 rows"),
        "{printed}"
    );

    // CRLF line ends and blank lines: errors name the line an editor shows.
    let (ok, printed) = describe(b"x,g,y\r\n1,a,yes\r\n\r\n2,b,no\r\n\r\n3,a,no\r\n4,b,maybe\r\n");
    assert!(!ok);
    assert!(
        printed.contains("t.csv:7: column y: expected a label value"),
        "{printed}"
    );

    // A header and nothing else.
    let (ok, printed) = describe(b"x,g,y\n");
    assert!(!ok);
    assert!(printed.contains("t.csv: no usable rows"), "{printed}");

    // Two tables in one zip.
    let run = Run::new(&USERS.replace("file: t.csv", "file: t.zip"));
    let mut zip = zip::ZipWriter::new(std::fs::File::create(run.dir.path().join("t.zip")).unwrap());
    for name in ["a.csv", "b.csv"] {
        zip.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut zip, users_table().as_bytes()).unwrap();
    }
    zip.finish().unwrap();
    let output = run_users(&run);
    assert!(
        text(&output).contains("the zip holds 2 files (a.csv, b.csv); it should hold one table"),
        "{}",
        text(&output)
    );
}

#[test]
fn minus_zero_is_zero_and_a_large_sweep_plans() {
    let run = Run::new(&format!(
        "{}\nsweep: {{eta: [0, -0, 0.0]}}\n",
        USERS.replace("method: erm", "method: lagrangian")
    ));
    std::fs::write(run.dir.path().join("t.csv"), users_table()).unwrap();
    let output = run.without_data_dir("plan");
    assert!(
        text(&output).contains("1 trials from 3 sweep points"),
        "{}",
        text(&output)
    );

    // 40,000 sweep points (seeds × η): planned and listed.
    let seeds: Vec<String> = (0..400).map(|s| s.to_string()).collect();
    let etas: Vec<String> = (0..100).map(|e| e.to_string()).collect();
    let run = Run::new(&format!(
        "{}\nseeds: [{}]\nsweep: {{eta: [{}]}}\n",
        USERS.replace("method: erm", "method: lagrangian"),
        seeds.join(", "),
        etas.join(", ")
    ));
    std::fs::write(run.dir.path().join("t.csv"), users_table()).unwrap();
    let output = run.without_data_dir("plan");
    let printed = text(&output);
    assert!(
        printed.contains("users (") && printed.contains(": 40000 trials"),
        "{}",
        &printed[..300]
    );
}

#[test]
fn results_files_name_themselves_in_errors_and_leave_nothing_stale() {
    let run = four_run();
    // A selection policy taken out of the file takes its figures with it; an empty
    // selection still writes headers.
    std::fs::write(
        run.experiment(),
        FOUR.replace(
            "sweep:",
            "selection: [{val-best-accuracy: {max_dp: 0}}]\nsweep:",
        ),
    )
    .unwrap();
    let output = run_users(&run);
    assert!(output.status.success(), "{}", text(&output));
    let mut files: Vec<String> = std::fs::read_dir(run.results())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "aggregate.csv",
            "curves.svg",
            "epochs.csv",
            "manifest.json",
            "methods.csv",
            "models",
            "pareto_val-best-accuracy-0.svg",
            "pareto_val-best-accuracy-0_hard.svg",
            "report.html",
            "report.md",
            "trials.csv"
        ]
    );
    // Only finished models in models/: nothing written aside is left.
    for model in std::fs::read_dir(run.results().join("models")).unwrap() {
        let name = model.unwrap().file_name().to_string_lossy().into_owned();
        assert!(name.ends_with(".safetensors"), "{name}");
    }
    let aggregate = std::fs::read_to_string(run.results().join("aggregate.csv")).unwrap();
    assert!(
        aggregate.starts_with("selection,selected_on,config_id,"),
        "{aggregate:?}"
    );

    // epochs.csv a folder: the error names it.
    std::fs::remove_file(run.results().join("epochs.csv")).unwrap();
    std::fs::create_dir(run.results().join("epochs.csv")).unwrap();
    let output = run_users(&run);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output).contains(&format!(
            "cannot read {}",
            run.results().join("epochs.csv").display()
        )),
        "{}",
        text(&output)
    );
    assert!(!run.results().join("trials.csv.tmp").exists());
}

#[test]
fn merging_another_experiments_shard_says_so() {
    let other = Run::new(&FOUR.replace("name: four", "name: other"));
    std::fs::write(other.dir.path().join("t.csv"), users_table()).unwrap();
    assert!(run_users(&other).status.success());
    let run = Run::new(FOUR);
    std::fs::write(run.dir.path().join("t.csv"), users_table()).unwrap();
    let output = common::binary()
        .arg("merge")
        .arg(run.experiment())
        .arg(other.results())
        .arg("--results-dir")
        .arg(run.results())
        .output()
        .unwrap();
    let printed = text(&output);
    assert_eq!(output.status.code(), Some(2), "{printed}");
    assert!(
        printed.contains("holds results of the experiment \"other\""),
        "{printed}"
    );
}
