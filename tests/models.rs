//! Saved models end to end: a sweep keeps its models (networks, boosted trees, group cuts on
//! trees, a reduction's mixture), `predict` on the test file reproduces
//! what `epochs.csv` recorded for that trial and epoch, `--save-predictions` writes the same
//! rows, `audit` reads them back, and files the model cannot read are refused by name.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::Output;

use common::{Run, binary, number, read_csv, text};

/// A user's table in two files: a number, a category, the sensitive column and the label.
/// The test file has a missing age (filled with the training median), and three rows of a
/// job the training file never had (no column of its own: zeros).
fn write_tables(dir: &Path) {
    let jobs = ["clerk", "nurse", "driver", "chef"];
    let row = |i: usize, job: &str| {
        let sex = ["F", "M"][i % 2];
        let age = 20 + (i * 7) % 45;
        let skill = (i * 13) % 10;
        let hired = age > 35 && skill + usize::from(sex == "M") * 2 > 5;
        format!("{age},{job},{sex},{}\n", ["no", "yes"][usize::from(hired)])
    };
    let head = "age,job,sex,outcome\n";
    let train: String = (0..400).map(|i| row(i, jobs[i % 4])).collect();
    let mut test: String = (0..120).map(|i| row(i + 1, jobs[(i / 3) % 4])).collect();
    test += &row(7, "astronaut").repeat(3);
    test += "?,nurse,F,no\n";
    std::fs::write(dir.join("train.csv"), format!("{head}{train}")).unwrap();
    std::fs::write(dir.join("test.csv"), format!("{head}{test}")).unwrap();
}

const EXPERIMENT: &str = "name: hiring
dataset:
  name: csv
  train_file: train.csv
  test_file: test.csv
  label: {column: outcome, positive: [yes], negative: [no]}
  sensitive: {column: sex}
  missing: {tokens: ['?'], action: impute}
train: {epochs: 4, batch_size: 50, lr_acc: 0.01, lr_fair: 0.001, eta: 1}
sweep:
  method: [erm, fairbinn-reference, gbdt, threshold, reductions]
  methods:
    threshold: {base: [gbdt], tolerance: [0.05], randomized: [false, true]}
    reductions: {randomized: [false, true]}
selection: [val-pareto, last]
";

/// `predict` with `model` on `data`, to `out` or (without) standard output.
fn predict(model: &Path, data: &Path, out: Option<&Path>) -> Output {
    let mut command = binary();
    command
        .arg("predict")
        .arg("--model")
        .arg(model)
        .arg("--data")
        .arg(data);
    if let Some(out) = out {
        command.arg("--out").arg(out);
    }
    command.output().unwrap()
}

/// epochs.csv's test rows by (trial, epoch).
fn test_rows(results: &Path) -> HashMap<(String, String), HashMap<String, String>> {
    read_csv(&results.join("epochs.csv"))
        .into_iter()
        .filter(|r| r["split"] == "test")
        .map(|r| ((r["trial_id"].clone(), r["epoch"].clone()), r))
        .collect()
}

#[test]
fn a_saved_model_predicts_the_test_file_as_the_sweep_scored_it() {
    let run = Run::new(EXPERIMENT);
    write_tables(run.dir.path());
    let output = run.without_data_dir_with("run", &["--save-predictions", "--quiet"]);
    assert!(output.status.success(), "{}", text(&output));
    let results = run.results();
    let recorded = test_rows(&results);

    let models: Vec<String> = std::fs::read_dir(results.join("models"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let trials = read_csv(&results.join("trials.csv"));
    assert_eq!(trials.len(), 7);
    // The networks' last epoch is 4; the trees', their rules' and the reductions' one fit is
    // epoch 1.
    let last_of = |trial: &HashMap<String, String>| match trial["method"].as_str() {
        "erm" | "fairbinn-reference" => "4",
        _ => "1",
    };
    for trial in &trials {
        assert_eq!(trial["last_epoch"], last_of(trial));
        let last = format!("{}-e{}.safetensors", trial["trial_id"], last_of(trial));
        assert!(models.contains(&last), "{last} among {models:?}");
    }

    let mut checked = 0;
    for name in &models {
        let (trial, epoch) = name
            .trim_end_matches(".safetensors")
            .rsplit_once("-e")
            .unwrap();
        let out = run.dir.path().join(format!("{trial}-{epoch}.csv"));
        let model = results.join("models").join(name);
        let predicted = predict(&model, &run.dir.path().join("test.csv"), Some(&out));
        let said = text(&predicted);
        assert!(predicted.status.success(), "{said}");
        assert!(said.contains("124 rows predicted"), "{said}");
        assert!(
            said.contains("column job: 3 rows hold values training never saw (e.g. \"astronaut\")"),
            "{said}"
        );

        let rows = read_csv(&out);
        assert_eq!(rows.len(), 124);
        let row = &recorded[&(trial.to_string(), epoch.to_string())];
        let method = &trials.iter().find(|t| t["trial_id"] == trial).unwrap()["method"];
        if method.ends_with("-randomized") {
            // Expected values over the rule's draws, to the last digit; the decisions written
            // are one draw (the same each time).
            let printed = |what: &str| -> f64 {
                let after = said.split(what).nth(1).unwrap_or_else(|| panic!("{said}"));
                after
                    .split([',', '\n'])
                    .next()
                    .unwrap()
                    .trim()
                    .parse()
                    .unwrap()
            };
            assert_eq!(
                printed("expected accuracy "),
                number(row, "accuracy"),
                "{said}"
            );
            assert_eq!(printed("ΔDP hard "), number(row, "dp_hard"), "{said}");
            let again = predict(&model, &run.dir.path().join("test.csv"), None);
            assert!(text(&again).contains(&std::fs::read_to_string(&out).unwrap()));
            checked += 1;
            continue;
        }

        // To the last digit: the accuracy and ΔDP hard of the rows `predict` wrote.
        let decisions: Vec<(bool, bool, &str)> = rows
            .iter()
            .map(|r| (r["decision"] == "1", r["label"] == "1", r["group"].as_str()))
            .collect();
        let correct = decisions.iter().filter(|(d, y, _)| d == y).count();
        let accuracy = correct as f64 / rows.len() as f64;
        let rate = |group: &str| {
            let members: Vec<_> = decisions.iter().filter(|(_, _, g)| *g == group).collect();
            members.iter().filter(|(d, _, _)| *d).count() as f64 / members.len() as f64
        };
        assert_eq!(accuracy, number(row, "accuracy"), "{name}");
        assert_eq!(
            (rate("F") - rate("M")).abs(),
            number(row, "dp_hard"),
            "{name}"
        );

        // audit reads the same rows back.
        let table = run.dir.path().join("audit.csv");
        let audited = binary()
            .arg("audit")
            .arg(&out)
            .args(["--n-boot", "50", "--out"])
            .arg(&table)
            .output()
            .unwrap();
        assert!(audited.status.success(), "{}", text(&audited));
        let figures = read_csv(&table);
        let figure = |metric: &str, group: &str| {
            let row = figures
                .iter()
                .find(|r| r["metric"] == metric && r["group"] == group)
                .unwrap();
            number(row, "value")
        };
        assert_eq!(figure("accuracy", "all"), accuracy);
        assert!((figure("dp_hard", "") - number(row, "dp_hard")).abs() < 1e-12);
        assert!((figure("dp_soft", "") - number(row, "dp_soft")).abs() < 1e-9);
        checked += 1;
    }
    assert!(checked >= 7);

    // Group cuts need each row's group: a row of a group training never had is refused,
    // with its line.
    let threshold = trials
        .iter()
        .find(|t| t["method"] == "threshold-gbdt")
        .unwrap();
    let model = results
        .join("models")
        .join(format!("{}-e1.safetensors", threshold["trial_id"]));
    let rows = run.dir.path().join("unknown_group.csv");
    std::fs::write(&rows, "age,job,sex,outcome\n30,nurse,F,no\n40,chef,X,yes\n").unwrap();
    let said = text(&predict(&model, &rows, None));
    assert!(
        said.contains("line 3: column \"sex\" is in none of the model's groups (F, M); its group thresholds need one"),
        "{said}"
    );

    // --save-predictions: the test rows of every selected point, as `predict` gave them.
    let last = read_csv(&results.join("predictions/last.csv"));
    assert_eq!(last.len(), 3 * 124);
    // Rules over a base (cuts, a mixture) are left out of the sweep's predictions.
    for trial in trials
        .iter()
        .filter(|t| !t["method"].starts_with("threshold") && !t["method"].starts_with("reductions"))
    {
        let id = &trial["trial_id"];
        let ours: Vec<&String> = last
            .iter()
            .filter(|r| &r["trial_id"] == id)
            .map(|r| &r["probability"])
            .collect();
        let predicted = read_csv(&run.dir.path().join(format!("{id}-{}.csv", last_of(trial))));
        let theirs: Vec<&String> = predicted.iter().map(|r| &r["probability"]).collect();
        assert_eq!(ours, theirs, "{id}");
    }
    let pareto = read_csv(&results.join("predictions/val-pareto.csv"));
    assert!(pareto.len() >= 3 * 124 && pareto.len().is_multiple_of(124));

    // Without saved models, --save-predictions trains the selected epochs again and writes
    // the same rows.
    let bare = Run::new(&EXPERIMENT.replace("name: hiring", "name: hiring\nsave_models: false"));
    write_tables(bare.dir.path());
    let output = bare.without_data_dir_with("run", &["--save-predictions", "--quiet"]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(!bare.results().join("models").exists());
    for file in ["last.csv", "val-pareto.csv"] {
        let again = std::fs::read(bare.results().join("predictions").join(file)).unwrap();
        assert!(
            again == std::fs::read(results.join("predictions").join(file)).unwrap(),
            "{file}"
        );
    }
}

#[test]
fn predict_refuses_a_file_it_cannot_read_and_writes_nothing() {
    let sweep = "method: [erm, fairbinn-reference, gbdt, threshold, reductions]\n  methods:\n    \
                 threshold: {base: [gbdt], tolerance: [0.05], randomized: [false, true]}\n    \
                 reductions: {randomized: [false, true]}";
    let run = Run::new(&EXPERIMENT.replace(sweep, "method: [erm]"));
    write_tables(run.dir.path());
    let output = run.without_data_dir_with("run", &["--quiet"]);
    assert!(output.status.success(), "{}", text(&output));
    let model = std::fs::read_dir(run.results().join("models"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let refused = |table: &str| {
        let data = run.dir.path().join("new.csv");
        std::fs::write(&data, table).unwrap();
        let out = run.dir.path().join("out.csv");
        let output = predict(&model, &data, Some(&out));
        assert!(!output.status.success());
        assert!(!out.exists(), "nothing is written for a refused file");
        text(&output)
    };
    let said = refused("age,sex,outcome\n30,F,no\n");
    assert!(
        said.contains("new.csv: lacks the column the model was trained on: job (the file's columns: age, sex, outcome)"),
        "{said}"
    );
    let said = refused("age,job,sex,outcome\n30,chef,F,no\nold,chef,M,yes\n");
    assert!(
        said.contains("new.csv:3: column age: expected a finite number, found \"old\""),
        "{said}"
    );
    // Without a label column the rows are still predicted (the sensitive column is a
    // feature here, as the authors have it, so it is there).
    let data = run.dir.path().join("unlabelled.csv");
    std::fs::write(&data, "job,sex,age\nchef,F,30\nnurse,M,50\n").unwrap();
    let output = predict(&model, &data, None);
    assert!(output.status.success(), "{}", text(&output));
    let printed = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines[0], "line,probability,decision,group,label");
    assert_eq!(lines.len(), 3);
    assert!(
        lines[1].starts_with("2,") && lines[1].ends_with(",F,"),
        "{}",
        lines[1]
    );
}

/// An Adult model reads the test rows in each form they come in: the UCI file (no header,
/// a banner line, labels ending in `.`), the FairBiNN copy (a header naming the label `Y`),
/// and a table a user wrote with a header, its columns in another order and no `fnlwgt`.
/// Each gives the same probabilities, with labels where the file has them.
#[test]
fn an_adult_model_reads_test_rows_with_or_without_a_header_in_any_column_order() {
    let run = Run::new(
        "name: adult_small
dataset: {name: adult, max_rows: 1500}
train: {method: erm, epochs: 1}
",
    );
    let output = run.without_data_dir_with("run", &["--quiet"]);
    assert!(output.status.success(), "{}", text(&output));
    let model = run
        .results()
        .join("models")
        .read_dir()
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let rows = [
        "25, Private, 226802, 11th, 7, Never-married, Machine-op-inspct, Own-child, Black, Male, 0, 0, 40, United-States, <=50K.",
        "38, Private, 89814, HS-grad, 9, Married-civ-spouse, Farming-fishing, Husband, White, Male, 0, 0, 50, United-States, <=50K.",
        "28, Local-gov, 336951, Assoc-acdm, 12, Married-civ-spouse, Protective-serv, Husband, White, Female, 0, 0, 40, United-States, >50K.",
    ];
    let names = "age, workclass, fnlwgt, education, education-num, marital-status, occupation, \
                 relationship, race, sex, capital-gain, capital-loss, hours-per-week, native-country";
    let uci = format!("|1x3 Cross validator\n{}\n", rows.join("\n"));
    let fairbinn = format!("{names}, Y\n{}\n", rows.join("\n"));
    // The user's: columns reversed, fnlwgt and the label left out.
    let mut reordered: Vec<&str> = names.split(", ").filter(|n| *n != "fnlwgt").collect();
    reordered.reverse();
    let mut user = reordered.join(",") + "\n";
    for row in rows {
        let cells: Vec<&str> = row.split(", ").collect();
        let named: Vec<&str> = names.split(", ").collect();
        let value = |name: &str| cells[named.iter().position(|n| *n == name).unwrap()];
        user += &(reordered
            .iter()
            .map(|n| value(n))
            .collect::<Vec<_>>()
            .join(",")
            + "\n");
    }
    let mut seen = Vec::new();
    for (name, table) in [
        ("uci.test", uci),
        ("fairbinn.test", fairbinn),
        ("user.csv", user),
    ] {
        let data = run.dir.path().join(name);
        std::fs::write(&data, table).unwrap();
        let output = predict(&model, &data, None);
        assert!(output.status.success(), "{name}: {}", text(&output));
        let printed = String::from_utf8_lossy(&output.stdout).into_owned();
        let cells: Vec<Vec<String>> = (printed.lines().skip(1))
            .map(|l| l.split(',').map(String::from).collect())
            .collect();
        assert_eq!(cells.len(), 3, "{name}: {printed}");
        let groups: Vec<&str> = cells.iter().map(|c| c[3].as_str()).collect();
        assert_eq!(groups, ["Male", "Male", "Female"], "{name}");
        let labels: Vec<&str> = cells.iter().map(|c| c[4].as_str()).collect();
        let expected = if name == "user.csv" {
            ["", "", ""]
        } else {
            ["0", "0", "1"]
        };
        assert_eq!(labels, expected, "{name}");
        seen.push(cells.iter().map(|c| c[1].clone()).collect::<Vec<_>>());
    }
    assert_eq!(seen[0], seen[1], "the UCI file and the FairBiNN copy");
    assert_eq!(
        seen[0], seen[2],
        "the UCI file and the user's reordered table"
    );
}
