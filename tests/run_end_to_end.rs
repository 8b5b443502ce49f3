//! `fairbinn-sweep run` end to end, through the binary, on a small slice of the real Adult
//! data; outputs are read back and checked.

mod common;

use std::process::Command;

use common::{Run, TINY, number, read_csv, result_rows, text};

#[test]
fn a_tiny_sweep_writes_trials_epochs_and_plots_then_resumes() {
    let run = Run::new(TINY);
    let output = run.run(&["--jobs", "2"]);
    assert!(output.status.success(), "{}", text(&output));
    // erm ignores η: 6 sweep points, 5 trials.
    assert!(
        text(&output).contains("tiny: 5 trials (6 sweep points"),
        "{}",
        text(&output)
    );

    let trials = read_csv(&run.results().join("trials.csv"));
    assert_eq!(trials.len(), 5);
    for column in [
        "trial_id",
        "config_id",
        "method",
        "seed",
        "eta",
        "lr_acc",
        "lr_fair",
        "epochs",
        "batch_size",
        "fairness_position",
        "fairness_layers",
        "fairness_loss",
        "step_order",
        "follower_batch",
        "lr_schedule",
        "status",
        "last_epoch",
        "val_accuracy",
        "val_dp_soft",
        "test_accuracy",
        "test_dp_soft",
        "test_dp_hard",
        "seconds",
    ] {
        assert!(trials[0].contains_key(column), "trials.csv lacks {column}");
    }
    let mut methods: Vec<(&str, &str)> = trials
        .iter()
        .map(|t| (t["method"].as_str(), t["eta"].as_str()))
        .collect();
    methods.sort();
    assert_eq!(
        methods,
        vec![
            ("erm", ""),
            ("fairbinn", "10.0"),
            ("fairbinn", "1000.0"),
            ("lagrangian", "10.0"),
            ("lagrangian", "1000.0")
        ]
    );

    let epochs = read_csv(&run.results().join("epochs.csv"));
    assert_eq!(epochs.len(), 5 * 2 * 2, "a row per trial, epoch and split");
    for trial in &trials {
        assert_eq!(trial["status"], "ok");
        assert_eq!(trial["last_epoch"], "2");
        assert_eq!(trial["fairness_position"], "3");
        let accuracy = number(trial, "test_accuracy");
        assert!((0.5..=1.0).contains(&accuracy), "{accuracy}");
        for column in ["test_dp_soft", "test_dp_hard", "val_dp_soft"] {
            assert!((0.0..=1.0).contains(&number(trial, column)));
        }
        // The trial's row repeats the metrics of its last epoch.
        let last_test = epochs
            .iter()
            .find(|e| {
                e["trial_id"] == trial["trial_id"] && e["epoch"] == "2" && e["split"] == "test"
            })
            .expect("the last epoch is in epochs.csv");
        assert_eq!(number(last_test, "accuracy"), accuracy);
        assert_eq!(number(last_test, "dp_soft"), number(trial, "test_dp_soft"));
    }

    // One seed and the default selection (last): aggregate.csv repeats the last epochs.
    let points = read_csv(&run.results().join("aggregate.csv"));
    assert_eq!(points.len(), 5);
    for point in &points {
        assert_eq!(
            (point["selection"].as_str(), point["seeds"].as_str()),
            ("last", "1")
        );
        let trial = trials
            .iter()
            .find(|t| t["config_id"] == point["config_id"])
            .expect("each point is a planned configuration");
        assert_eq!(
            number(point, "test_accuracy_mean"),
            number(trial, "test_accuracy")
        );
        assert_eq!(
            number(point, "test_dp_soft_max"),
            number(trial, "test_dp_soft")
        );
        assert_eq!(number(point, "test_accuracy_std"), 0.0);
    }
    let methods = read_csv(&run.results().join("methods.csv"));
    assert_eq!(methods.len(), 3, "a row per method");
    for method in &methods {
        // AOPAC and budgets on both gaps; soft ΔDP selects by default.
        for column in ["aopac_dp_soft", "aopac_dp_hard"] {
            assert!((0.0..=1.0).contains(&number(method, column)), "{method:?}");
        }
        assert!(method.contains_key("best_accuracy_dp_hard_0_01"));
        assert_eq!(method["fairness_metric"], "dp-soft");
        assert_eq!(method["selected_on"], "validation");
    }

    for plot in ["pareto_last.svg", "pareto_last_hard.svg"] {
        let svg = std::fs::read_to_string(run.results().join(plot)).unwrap();
        assert!(svg.starts_with("<svg"), "{plot} is not an SVG");
        for label in ["erm", "lagrangian", "fairbinn", "accuracy, test", "ΔDP"] {
            assert!(svg.contains(label), "{plot} lacks {label:?}");
        }
        // A marker in its method's colour per trial (degenerate ones are crosses), and
        // one in the legend: circles for lagrangian, squares for erm, triangles for fairbinn.
        for (method, shape, fill) in [
            ("lagrangian", "<circle", "#1F77B4"),
            ("erm", "<rect", "#5A5A5A"),
            ("fairbinn", "<polygon", "#D62728"),
        ] {
            let dots = (points.iter())
                .filter(|t| t["method"] == method && t["degenerate"] == "false")
                .count();
            let drawn = (svg.split(shape).skip(1))
                .filter(|tail| {
                    tail.split('>')
                        .next()
                        .unwrap()
                        .contains(&format!("fill=\"{fill}\""))
                })
                .count();
            assert_eq!(drawn, dots + 1, "{plot}: {method}'s markers");
        }
    }

    // A second run finds every trial done and trains nothing.
    let again = run.run(&[]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        text(&again).contains("0 ran now, 5 were already done"),
        "{}",
        text(&again)
    );
    assert_eq!(read_csv(&run.results().join("trials.csv")).len(), 5);
    assert_eq!(read_csv(&run.results().join("epochs.csv")).len(), 20);
}

#[test]
fn numbers_do_not_depend_on_the_number_of_threads() {
    let one = Run::new(TINY);
    let two = Run::new(TINY);
    assert!(one.run(&["--jobs", "1"]).status.success());
    assert!(two.run(&["--jobs", "2"]).status.success());
    assert_eq!(result_rows(&one.results()), result_rows(&two.results()));
}

#[test]
fn a_diverging_trial_is_recorded_and_the_others_finish() {
    let run = Run::new(
        "
name: diverge
dataset: {name: adult, max_rows: 1000}
train: {method: erm, epochs: 2}
sweep:
  lr_acc: [1.0e-3, 1.0e+30]
",
    );
    let output = run.run(&[]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        text(&output).contains("1 trials did not finish"),
        "{}",
        text(&output)
    );
    let trials = read_csv(&run.results().join("trials.csv"));
    let diverged: Vec<_> = trials
        .iter()
        .filter(|t| t["status"] == "diverged")
        .collect();
    assert_eq!(diverged.len(), 1);
    assert!(
        diverged[0]["error"].contains("not finite"),
        "{}",
        diverged[0]["error"]
    );
    assert_eq!(diverged[0]["test_accuracy"], "");
    assert_eq!(trials.iter().filter(|t| t["status"] == "ok").count(), 1);
}

/// Adult, COMPAS and German are built in; Health is the data set a fresh machine lacks.
#[test]
fn missing_data_names_the_files_every_place_looked_and_the_fetch_command() {
    let run = Run::new("name: h\ndataset: {name: health}\ntrain: {epochs: 1}\n");
    let output = common::binary()
        .arg("run")
        .arg(run.dir.path().join("experiment.yaml"))
        .env("FAIRBINN_DATA_DIR", run.dir.path().join("nothing-here"))
        .env("XDG_CACHE_HOME", run.dir.path().join("cache"))
        .current_dir(run.dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let message = text(&output);
    assert!(message.contains("health.csv.zip"), "{message}");
    assert!(message.contains("nothing-here"), "{message}");
    assert!(message.contains("from FAIRBINN_DATA_DIR"), "{message}");
    assert!(message.contains("the `data fetch` cache"), "{message}");
    assert!(
        message.contains("`fairbinn-sweep data fetch health` (11 MB)"),
        "{message}"
    );
}

/// With no data folder at all, the built-in copy is read, and `data describe` says so.
#[test]
fn adult_runs_from_the_copy_built_into_the_binary() {
    let run = Run::new(
        "name: b\ndataset: {name: adult, max_rows: 500}\ntrain: {method: erm, epochs: 1}\n",
    );
    let describe = common::binary()
        .args(["data", "describe"])
        .arg(run.experiment())
        .env("XDG_CACHE_HOME", run.dir.path().join("cache"))
        .output()
        .unwrap();
    let printed = text(&describe);
    assert!(describe.status.success(), "{printed}");
    assert!(
        printed.contains("<built-in>/adult.zip/adult.data, <built-in>/adult.zip/adult.test"),
        "{printed}"
    );
    let output = run.without_data_dir("run");
    assert!(output.status.success(), "{}", text(&output));
    let manifest = run.manifest();
    // The UCI originals' SHA-256 (../shared/data/adult/SOURCE.md).
    assert_eq!(
        manifest["data"][0]["sha256"],
        "5b00264637dbfec36bdeaab5676b0b309ff9eb788d63554ca0a249491c86603d"
    );
    assert_eq!(
        read_csv(&run.results().join("trials.csv"))[0]["status"],
        "ok"
    );
}

/// Seeds combine per epoch into mean accuracy and worst ΔDP; every selection policy reports
/// its epochs; the test-set protocol is labelled as such.
#[test]
fn seeds_and_selection_policies_report_from_the_epoch_table() {
    let run = Run::new(
        "
name: seeds
preset: paper
dataset: {name: adult, max_rows: 1500}
train: {epochs: 4, eta: 1}
seeds: [0, 1]
selection: [last, val-pareto, test-pareto, {val-best-accuracy: {max_dp: 0.5}}]
sweep:
  method: [lagrangian, fairbinn-reference]
",
    );
    let output = run.run(&[]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains("seeds: 4 trials"),
        "{}",
        text(&output)
    );
    assert!(
        text(&output).contains("TEST-Pareto epochs (the paper's protocol"),
        "{}",
        text(&output)
    );

    let trials = read_csv(&run.results().join("trials.csv"));
    assert_eq!(trials.len(), 4);
    for trial in &trials {
        // The paper preset: its DP loss and batch size, the method's own step order.
        assert_eq!(trial["fairness_loss"], "dp-abs");
        assert_eq!(trial["batch_size"], "100");
        if trial["method"] == "fairbinn-reference" {
            assert_eq!(trial["step_order"], "follower-first");
            assert_eq!(trial["follower_batch"], "same");
        }
    }
    let epochs = read_csv(&run.results().join("epochs.csv"));
    let points = read_csv(&run.results().join("aggregate.csv"));
    let configs: std::collections::BTreeSet<&str> =
        trials.iter().map(|t| t["config_id"].as_str()).collect();
    assert_eq!(configs.len(), 2, "two seeds per configuration");

    for config in configs {
        let seeds: Vec<&str> = trials
            .iter()
            .filter(|t| t["config_id"] == config)
            .map(|t| t["trial_id"].as_str())
            .collect();
        // Per epoch: mean test accuracy and worst test ΔDP over the two seeds, by hand.
        let curve = |split: &str| -> Vec<(f64, f64)> {
            (1..=4)
                .map(|epoch| {
                    let rows: Vec<_> = epochs
                        .iter()
                        .filter(|e| {
                            seeds.contains(&e["trial_id"].as_str())
                                && e["epoch"] == epoch.to_string()
                                && e["split"] == split
                        })
                        .collect();
                    assert_eq!(rows.len(), 2);
                    let accuracy = rows.iter().map(|e| number(e, "accuracy")).sum::<f64>() / 2.0;
                    let dp = rows
                        .iter()
                        .map(|e| number(e, "dp_soft"))
                        .fold(0.0, f64::max);
                    (dp, accuracy)
                })
                .collect()
        };
        // Epochs no other epoch beats on both ΔDP and accuracy.
        let front = |curve: &[(f64, f64)]| -> Vec<String> {
            (0..curve.len())
                .filter(|&i| {
                    !curve.iter().enumerate().any(|(j, &(dp, acc))| {
                        (dp <= curve[i].0 && acc >= curve[i].1)
                            && (dp < curve[i].0 || acc > curve[i].1 || j < i)
                    })
                })
                .map(|i| (i + 1).to_string())
                .collect()
        };
        let reported = |selection: &str| -> Vec<String> {
            points
                .iter()
                .filter(|p| p["config_id"] == config && p["selection"] == selection)
                .map(|p| p["epoch"].clone())
                .collect()
        };
        let (test, validation) = (curve("test"), curve("validation"));
        assert_eq!(reported("test-pareto"), front(&test), "{config}");
        assert_eq!(reported("val-pareto"), front(&validation), "{config}");
        assert_eq!(reported("last"), vec!["4"]);
        let best_validation = (0..4)
            .filter(|&i| validation[i].0 <= 0.5)
            .max_by(|&i, &j| validation[i].1.total_cmp(&validation[j].1).then(j.cmp(&i)))
            .map(|i| (i + 1).to_string());
        assert_eq!(
            reported("val-best-accuracy(dp<=0.5)"),
            best_validation.into_iter().collect::<Vec<_>>()
        );
        for point in points.iter().filter(|p| p["config_id"] == config) {
            let epoch: usize = point["epoch"].parse().unwrap();
            let (dp, accuracy) = test[epoch - 1];
            assert_eq!(point["seeds"], "2");
            assert!((number(point, "test_accuracy_mean") - accuracy).abs() < 1e-12);
            assert_eq!(number(point, "test_dp_soft_max"), dp);
            let expected = if point["selection"] == "test-pareto" {
                "test"
            } else {
                "validation"
            };
            assert_eq!(point["selected_on"], expected);
        }
    }
    for plot in [
        "pareto_test-pareto.svg",
        "pareto_val-pareto_hard.svg",
        "pareto_val-best-accuracy-0.5.svg",
    ] {
        assert!(run.results().join(plot).exists(), "{plot} missing");
    }
    let methods = read_csv(&run.results().join("methods.csv"));
    assert_eq!(methods.len(), 2 * 4, "a row per method and selection");
}

/// A user's own table with three sensitive groups, described in the experiment file and
/// found beside it: the run reports each group's positive rate, whose largest gap is the
/// ΔDP hard of the same row; `data describe` counts the groups.
#[test]
fn a_users_three_group_table_reports_per_group_rates() {
    let mut table = String::from("score,region,group,outcome\n");
    for i in 0..600 {
        let group = ["north", "south", "east"][i % 3];
        let score = (i * 37 % 101) as f64 / 10.0 + if group == "north" { 2.0 } else { 0.0 };
        let outcome = if score > 6.0 { "hired" } else { "rejected" };
        table += &format!("{score},{},{group},{outcome}\n", ["a", "b"][i % 2]);
    }
    let run = Run::new(
        "name: three
dataset:
  name: csv
  file: people.csv
  label: {column: outcome, positive: [hired], negative: [rejected]}
  sensitive: {column: group}
train: {method: lagrangian, epochs: 3, batch_size: 50, eta: 1}
",
    );
    std::fs::write(run.dir.path().join("people.csv"), table).unwrap();
    // Found beside the experiment file when no data folder is named.
    let output = Command::new(env!("CARGO_BIN_EXE_fairbinn-sweep"))
        .arg("run")
        .arg(run.dir.path().join("experiment.yaml"))
        .arg("--results-dir")
        .arg(run.results())
        .env_remove("FAIRBINN_DATA_DIR")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));

    let points = read_csv(&run.results().join("aggregate.csv"));
    assert_eq!(points.len(), 1);
    let rates: Vec<(String, f64)> = points[0]["test_group_positive_rates"]
        .split("; ")
        .map(|cell| {
            let (name, rate) = cell.split_once(": ").unwrap();
            (name.to_string(), rate.parse().unwrap())
        })
        .collect();
    let names: Vec<&str> = rates.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["east", "north", "south"]);
    let max = rates.iter().map(|r| r.1).fold(f64::MIN, f64::max);
    let min = rates.iter().map(|r| r.1).fold(f64::MAX, f64::min);
    let dp_hard = number(&points[0], "test_dp_hard_mean");
    assert!(
        (max - min - dp_hard).abs() < 1e-4,
        "{rates:?} vs ΔDP hard {dp_hard}"
    );

    // Three groups: groups.svg, each group on the x axis, a line per front point.
    let groups = std::fs::read_to_string(run.results().join("groups.svg")).unwrap();
    for name in [
        "\neast\n",
        "\nnorth\n",
        "\nsouth\n",
        "\nlagrangian: 1 front point\n",
    ] {
        assert!(groups.contains(name), "groups.svg lacks {name:?}");
    }
    assert_eq!(groups.matches("<circle").count(), 3, "a dot per group");

    let describe = Command::new(env!("CARGO_BIN_EXE_fairbinn-sweep"))
        .args(["data", "describe"])
        .arg(run.dir.path().join("experiment.yaml"))
        .output()
        .unwrap();
    let printed = text(&describe);
    assert!(describe.status.success(), "{printed}");
    assert!(
        printed.contains("people.csv: 600 records: 600 rows"),
        "{printed}"
    );
    assert!(printed.contains("sensitive groups: 3"), "{printed}");
    // 600 rows, 120 of them test (20%), 96 validation; each group a third of the file.
    let row = |name: &str| -> Vec<usize> {
        let line = printed.lines().find(|l| l.starts_with(name)).unwrap();
        line.split_whitespace()
            .filter_map(|w| w.parse().ok())
            .filter(|&n: &usize| n > 1)
            .collect()
    };
    assert_eq!(row("all"), [384, 96, 120]);
    let groups: usize = ["east", "north", "south"]
        .iter()
        .map(|g| row(g).iter().sum::<usize>())
        .sum();
    assert_eq!(groups, 600);
}

/// `fairness_metric: eo`: selection reads ΔEO, methods.csv leads with its AOPAC and budgets
/// (then soft and hard ΔDP), and a figure on ΔEO joins the soft and hard ones.
#[test]
fn the_fairness_metric_chooses_what_selection_and_figures_read() {
    let run = Run::new(&TINY.replace(
        "name: tiny",
        "name: tiny\nfairness_metric: eo\nselection: val-pareto",
    ));
    let output = run.run(&["--quiet"]);
    assert!(output.status.success(), "{}", text(&output));
    let printed = text(&output);
    assert!(
        printed.contains("Selection: validation-Pareto epochs, on ΔEO."),
        "{printed}"
    );
    assert!(
        printed.contains("AOPAC on ΔEO (majority accuracy"),
        "{printed}"
    );
    let header = std::fs::read_to_string(run.results().join("methods.csv")).unwrap();
    let header = header.lines().next().unwrap();
    assert!(
        header.starts_with(
            "selection,selected_on,fairness_metric,method,points,aopac_eo,best_accuracy_eo_0_01,"
        ),
        "{header}"
    );
    assert!(
        header.contains(",aopac_dp_soft,") && header.contains(",aopac_dp_hard,"),
        "{header}"
    );
    for figure in [
        "pareto_val-pareto.svg",
        "pareto_val-pareto_hard.svg",
        "pareto_val-pareto_eo.svg",
    ] {
        let svg = std::fs::read_to_string(run.results().join(figure)).unwrap();
        assert!(svg.contains("selected on ΔEO"), "{figure}");
    }
    let eo = std::fs::read_to_string(run.results().join("pareto_val-pareto_eo.svg")).unwrap();
    assert!(eo.contains("ΔEO (gap in true-positive rate), test"));
}

/// `train.patience`: a trial whose validation predictions stay degenerate stops, is recorded
/// as `collapsed` with the epochs it trained (and all their rows), and is not trained again.
#[test]
fn a_collapsed_trial_stops_is_recorded_and_counts_as_finished() {
    let run = Run::new(
        "name: collapse
dataset: {name: adult, max_rows: 1500}
train: {method: lagrangian, epochs: 8, batch_size: 100, lr_acc: 0.01, fairness_loss: dp-abs, eta: 10000, patience: 2}
",
    );
    let output = run.run(&["--quiet"]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains("1 of those that ran stopped early"),
        "{}",
        text(&output)
    );
    let trials = read_csv(&run.results().join("trials.csv"));
    assert_eq!(trials[0]["status"], "collapsed");
    assert_eq!(trials[0]["patience"], "2");
    let last: usize = trials[0]["last_epoch"].parse().unwrap();
    assert!((2..8).contains(&last), "stopped after epoch {last} of 8");
    assert!(trials[0]["error"].contains("degenerate for 2 epochs in a row"));
    let epochs = read_csv(&run.results().join("epochs.csv"));
    assert_eq!(epochs.len(), 2 * last);
    // Its last two epochs were degenerate: nearly the same prediction for everyone.
    for row in &epochs[2 * last - 4..] {
        let rate = number(row, "positive_rate");
        assert!(
            rate == 0.0 || rate == 1.0 || number(row, "probability_std") < 1e-3,
            "{row:?}"
        );
    }
    // Finished: a second run trains nothing.
    let again = run.run(&["--quiet"]);
    assert!(
        text(&again).contains("0 ran now, 1 were already done"),
        "{}",
        text(&again)
    );
}

/// Knob figures follow the sweep: `eta.svg` when η varies (a line per method that reads it,
/// two dots each, on both panels), `position.svg` when the block's position does; a figure
/// whose knob no longer varies is removed.
#[test]
fn knob_figures_follow_what_the_sweep_varies() {
    let run = Run::new(TINY);
    let output = run.run(&["--quiet"]);
    assert!(output.status.success(), "{}", text(&output));
    let eta = std::fs::read_to_string(run.results().join("eta.svg")).unwrap();
    for text in [
        "η (weight of the fairness loss)",
        "accuracy, test: mean ± 1 std",
        "ΔDP soft, test",
    ] {
        assert!(eta.contains(text), "eta.svg lacks {text:?}");
    }
    for line in ["\nfairbinn\n", "\nlagrangian\n"] {
        assert!(eta.contains(line), "eta.svg lacks the line {line:?}");
    }
    assert!(!eta.contains("\nerm\n"), "erm does not read η");
    // Two η values, two methods, two panels: eight dots.
    assert_eq!(eta.matches("<circle").count(), 8);
    for absent in ["position.svg", "depth.svg", "step_sizes.svg", "groups.svg"] {
        assert!(
            !run.results().join(absent).exists(),
            "{absent}: its knob does not vary"
        );
    }

    let position = "name: tiny
dataset: {name: adult, max_rows: 1500}
train: {method: lagrangian, eta: 10, epochs: 2, batch_size: 100}
sweep: {fairness_position: [1, 2, 3]}
";
    std::fs::write(run.experiment(), position).unwrap();
    let output = run.run(&["--quiet"]);
    assert!(output.status.success(), "{}", text(&output));
    let figure = std::fs::read_to_string(run.results().join("position.svg")).unwrap();
    assert!(figure.contains("position of the fairness block"));
    assert_eq!(
        figure.matches("<circle").count(),
        6,
        "three positions, two panels"
    );
    assert!(
        !run.results().join("eta.svg").exists(),
        "η no longer varies"
    );
}

/// `reference_points:` draws published results, hollow and labelled as external, on the
/// figure of their gap only; a bad file is refused before anything runs, by line and column.
#[test]
fn reference_points_are_drawn_on_their_gaps_figure() {
    let run = Run::new(&TINY.replace("name: tiny", "name: tiny\nreference_points: published.csv"));
    std::fs::write(
        run.dir.path().join("published.csv"),
        "label,accuracy,dp,dp_kind,accuracy_std\nPaper A,0.83,0.01,soft,0.004\nToolkit B,0.82,0.002,hard,\n",
    )
    .unwrap();
    let output = run.run(&["--quiet"]);
    assert!(output.status.success(), "{}", text(&output));
    let soft = std::fs::read_to_string(run.results().join("pareto_last.svg")).unwrap();
    let hard = std::fs::read_to_string(run.results().join("pareto_last_hard.svg")).unwrap();
    assert!(soft.contains("Paper A (external)") && !soft.contains("Toolkit B"));
    assert!(hard.contains("Toolkit B (external)") && !hard.contains("Paper A"));
    assert!(soft.contains("external results (reference_points, not run here)"));

    std::fs::write(
        run.dir.path().join("published.csv"),
        "label,accuracy,dp,dp_kind\nPaper A,0.83,1%,soft\n",
    )
    .unwrap();
    let output = run.run(&["--quiet"]);
    assert_eq!(output.status.code(), Some(2));
    let said = text(&output);
    assert!(
        said.contains("published.csv:2: column dp: expected a number in [0, 1], found \"1%\""),
        "{said}"
    );
}

/// epochs.csv records each epoch's training loss (on both of its rows), and `curves.svg`
/// draws it with the validation gap for the configurations at the middle η of those every
/// method reading η ran at (the lower of two), and erm's.
#[test]
fn curves_draw_the_training_loss_epochs_csv_records() {
    let run = Run::new(TINY);
    let output = run.run(&["--quiet"]);
    assert!(output.status.success(), "{}", text(&output));
    let epochs = read_csv(&run.results().join("epochs.csv"));
    for pair in epochs.chunks(2) {
        let loss = number(&pair[0], "train_bce");
        assert!(loss > 0.0 && loss < 5.0, "{:?}", pair[0]);
        assert_eq!(
            pair[0]["train_bce"], pair[1]["train_bce"],
            "both rows of an epoch"
        );
    }
    let curves = std::fs::read_to_string(run.results().join("curves.svg")).unwrap();
    assert!(
        curves.contains("η = 10\n"),
        "the lower of the two η values lagrangian and fairbinn share"
    );
    for line in ["\nerm\n", "\nlagrangian\n", "\nfairbinn\n"] {
        assert!(curves.contains(line), "curves.svg lacks {line:?}");
    }
    assert!(curves.contains("training loss (BCE of the leader"));
    // Two panels, a band per configuration in each.
    assert_eq!(
        curves.matches("<polygon").count(),
        6,
        "a band per line and panel"
    );
}

/// `report <results-dir>` writes every table and figure again from the folder's CSVs and
/// manifest, without training: the same bytes as `run` wrote. A folder without a manifest
/// is refused by name.
#[test]
fn report_writes_every_output_again_byte_for_byte() {
    let run = Run::new(&TINY.replace("name: tiny", "name: tiny\nselection: [last, val-pareto]"));
    let output = run.run(&["--quiet"]);
    assert!(output.status.success(), "{}", text(&output));
    let outputs: Vec<(String, Vec<u8>)> = std::fs::read_dir(run.results())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.file_name().unwrap() != "manifest.json")
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    assert!(
        outputs.len() >= 10,
        "{:?}",
        outputs.iter().map(|o| &o.0).collect::<Vec<_>>()
    );
    for (name, _) in &outputs {
        if !name.ends_with("trials.csv") && !name.ends_with("epochs.csv") {
            std::fs::remove_file(run.results().join(name)).unwrap();
        }
    }
    let mut command = common::binary();
    command.arg("report").arg(run.results());
    if let Some(dir) = common::shared_data() {
        command.arg("--data-dir").arg(dir);
    }
    let again = command.output().unwrap();
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        text(&again).contains("0 ran now, 5 were already done"),
        "{}",
        text(&again)
    );
    for (name, bytes) in &outputs {
        let now = std::fs::read(run.results().join(name)).unwrap();
        assert!(now == *bytes, "{name} differs");
    }
    // report.md: each policy's table per method on soft and hard ΔDP, the figures, where
    // it came from.
    let page = std::fs::read_to_string(run.results().join("report.md")).unwrap();
    for part in [
        "## Selection: last epoch",
        "## Selection: validation-Pareto epochs",
        "On ΔDP hard (test split;",
        "| lagrangian | 2 |",
        "![pareto_last_hard.svg](pareto_last_hard.svg)",
        "![eta.svg](eta.svg)",
        "## Provenance",
        "SHA-256",
        "```yaml\nname: tiny",
    ] {
        assert!(page.contains(part), "report.md lacks {part:?}:\n{page}");
    }
    let empty = tempfile::tempdir().unwrap();
    let refused = common::binary()
        .arg("report")
        .arg(empty.path())
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        text(&refused).contains("no readable manifest.json"),
        "{}",
        text(&refused)
    );
}

/// With several seeds, a knob figure's dots carry bars (accuracy ± 1 std, the gap from the
/// best seed to the worst) that one seed does not have.
#[test]
fn knob_figures_have_bars_over_seeds() {
    let run = Run::new(&TINY.replace("  eta: [10, 1000]\n", "  eta: [10, 1000]\nseeds: [0, 1]\n"));
    let output = run.run(&["--quiet"]);
    assert!(output.status.success(), "{}", text(&output));
    let eta = std::fs::read_to_string(run.results().join("eta.svg")).unwrap();
    // Two methods reading η, two values: 4 dots a panel, 8 in all.
    assert_eq!(eta.matches("<circle").count(), 8);
    // Short vertical segments with some length: the bars (grid lines span the panel).
    let bars = |svg: &str| {
        svg.split("<polyline")
            .skip(1)
            .filter(|tail| {
                let points = tail
                    .split("points=\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap();
                let xy: Vec<(i32, i32)> = (points.split_whitespace())
                    .map(|p| {
                        let (x, y) = p.split_once(',').unwrap();
                        (x.parse().unwrap(), y.parse().unwrap())
                    })
                    .collect();
                xy.len() == 2 && xy[0].0 == xy[1].0 && (1..150).contains(&(xy[0].1 - xy[1].1).abs())
            })
            .count()
    };
    // With one seed the bars have no length; what is left are the axes' tick marks. (Two
    // seeds' spread can be under a pixel, so not every bar shows.)
    let one = Run::new(TINY);
    assert!(one.run(&["--quiet"]).status.success());
    let single = std::fs::read_to_string(one.results().join("eta.svg")).unwrap();
    let (with, without) = (bars(&eta), bars(&single));
    assert!(
        with > without,
        "{with} short vertical segments with two seeds, {without} with one"
    );
}

/// `dataset.split: pooled`: every row of Adult's two files pooled and drawn anew for each
/// seed (its test rows differ by seed, so even the trees keep their seed), the same numbers
/// for the same file, recorded in the manifest; predictions of the sweep are refused.
#[test]
fn a_pooled_split_is_drawn_per_seed_and_the_same_every_time() {
    const POOLED: &str = "name: pooled\n\
         dataset: {name: adult, max_rows: 2000, split: pooled, test_fraction: 0.3}\n\
         train: {epochs: 2}\nseeds: [0, 1]\n\
         sweep:\n  method: [erm, gbdt]\n  methods:\n    gbdt: {rounds: [30]}\n";
    let first = Run::new(POOLED);
    let output = first.run(&["--jobs", "2"]);
    assert!(output.status.success(), "{}", text(&output));
    let trials = read_csv(&first.results().join("trials.csv"));
    let gbdt: Vec<_> = trials.iter().filter(|t| t["method"] == "gbdt").collect();
    assert_eq!(gbdt.len(), 2, "one fit per seed: the seed draws the split");
    assert_ne!(gbdt[0]["test_dp_soft"], gbdt[1]["test_dp_soft"]);
    // 2,000 rows of each file pooled: 30% test (1,200 within a row per (group, label)
    // cell), stratified, so the test rows hold the training rows' share of positives.
    let described = common::binary()
        .args(["data", "describe"])
        .arg(first.experiment())
        .output()
        .unwrap();
    let described = text(&described);
    let all: Vec<f64> = (described.lines())
        .find(|l| l.starts_with("all "))
        .unwrap_or_else(|| panic!("{described}"))
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap())
        .collect();
    let (train_positive, test_rows, test_positive) = (all[1], all[4], all[5]);
    assert!((1198.0..=1202.0).contains(&test_rows), "{described}");
    assert!(
        (train_positive - test_positive).abs() < 0.002,
        "{described}"
    );
    let dataset = &first.manifest()["experiment"]["resolved"]["dataset"];
    assert_eq!(dataset["split"], "pooled", "{dataset}");

    // The same file, another folder: the same rows, whatever the thread count.
    let second = Run::new(POOLED);
    let output = second.run(&["--jobs", "1"]);
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(
        result_rows(&first.results()),
        result_rows(&second.results())
    );
    let epochs = |run: &Run| {
        let mut rows: Vec<String> = std::fs::read_to_string(run.results().join("epochs.csv"))
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        rows.sort();
        rows
    };
    assert_eq!(epochs(&first), epochs(&second));

    // Each trial's predictions are of its own seed's test rows, as the sweep scored them.
    let output = first.run(&["--save-predictions=last"]);
    assert!(output.status.success(), "{}", text(&output));
    let predictions = read_csv(&first.results().join("predictions/last.csv"));
    for trial in &trials {
        let rows: Vec<_> = (predictions.iter())
            .filter(|r| r["trial_id"] == trial["trial_id"])
            .collect();
        assert!((1198..=1202).contains(&rows.len()), "{}", rows.len());
        let correct = rows.iter().filter(|r| r["decision"] == r["label"]).count();
        let accuracy = correct as f64 / rows.len() as f64;
        assert_eq!(accuracy, number(trial, "test_accuracy"), "{trial:?}");
    }
}

/// `run A.yaml B.yaml C.yaml`: each file into its own folder, one after another; a file
/// that cannot run is said and the others still run.
#[test]
fn several_experiment_files_run_one_after_another() {
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, extra: &str| {
        let path = dir.path().join(format!("{name}.yaml"));
        let text = format!(
            "name: {name}\ndataset: {{name: adult, max_rows: 300}}\ntrain: {{method: erm, epochs: 1}}\n{extra}"
        );
        std::fs::write(&path, text).unwrap();
        path
    };
    let (a, broken, b) = (
        file("a", ""),
        file("broken", "selection: lats\n"),
        file("b", ""),
    );
    let output = common::binary()
        .current_dir(dir.path())
        .args(["run", "-q"])
        .args([&a, &broken, &b])
        .output()
        .unwrap();
    let said = text(&output);
    assert_eq!(output.status.code(), Some(2), "{said}");
    assert!(
        said.contains("broken.yaml") && said.contains("lats"),
        "{said}"
    );
    assert!(said.contains("did not run"), "{said}");
    for name in ["a", "b"] {
        let trials = read_csv(&dir.path().join("runs").join(name).join("trials.csv"));
        assert_eq!(trials.len(), 1, "{name}");
        assert_eq!(trials[0]["status"], "ok");
    }
    let output = common::binary()
        .args(["run", "-q"])
        .args([&broken, &broken])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output).contains("ran none of the 2 files"),
        "{}",
        text(&output)
    );
    // One folder for several files would mix them.
    let output = common::binary()
        .args(["run", "--results-dir", "x"])
        .args([&a, &b])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output).contains("cannot be used with"),
        "{}",
        text(&output)
    );
}
