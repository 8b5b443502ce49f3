//! The paper's open questions as a user asks them: a sweep over the accuracy layers' width
//! and depth (`parameters.svg`, AOPAC per architecture), and selection on equalized odds.

mod common;

use common::{Run, number, read_csv, text};

/// Two widths × two depths of the accuracy layers, each its own front (`fronts_by`).
const WIDTH: &str = "name: width
dataset: {name: adult, max_rows: 1500}
train: {epochs: 3, batch_size: 100, fairness_loss: dp-abs}
selection: [val-pareto, last]
fronts_by: [accuracy_layers, width]
sweep:
  method: [lagrangian]
  accuracy_layers: [1, 2]
  width: [4, 16]
  eta: [0.3, 3]
";

#[test]
fn the_parameters_figure_draws_each_architectures_aopac_from_methods_csv() {
    let run = Run::new(WIDTH);
    let output = run.run(&["-q"]);
    assert!(output.status.success(), "{}", text(&output));
    let svg = std::fs::read_to_string(run.results().join("parameters.svg")).unwrap();
    assert!(
        svg.contains("width: AOPAC on ΔDP soft (test split, validation-Pareto epochs"),
        "the title says which split selected the points"
    );
    let methods = read_csv(&run.results().join("methods.csv"));
    let parts: Vec<_> = (methods.iter())
        .filter(|m| m["selection"] == "val-pareto" && m["method"].contains("width="))
        .collect();
    assert_eq!(parts.len(), 4, "{methods:?}");
    for part in parts {
        // `lagrangian accuracy_layers=1 width=4`: its point is labelled `w4 <AOPAC>`.
        let width = part["method"].rsplit("width=").next().unwrap();
        let label = format!("w{width} {:.3}", number(part, "aopac_dp_soft"));
        assert!(svg.contains(&label), "{label} not in parameters.svg");
    }
    // report.html offers each method once to show or hide, its parts beside.
    let html = std::fs::read_to_string(run.results().join("report.html")).unwrap();
    assert_eq!(
        html.matches("data-method=\"lagrangian\"").count(),
        2,
        "one checkbox per policy (val-pareto, last)"
    );
    assert!(
        svg.contains("lagrangian, 1 accuracy layer")
            && svg.contains("lagrangian, 2 accuracy layers")
    );
}

/// Equalized odds as the selecting gap: recorded per epoch, never below the TPR gap it
/// contains, and the axis of the fronts, AOPAC and figures.
const EQUALIZED_ODDS: &str = "name: odds
dataset: {name: adult, max_rows: 1500}
train: {epochs: 4, batch_size: 100, lr_acc: 0.01, fairness_loss: equalized-odds, constraint: equalized_odds}
fairness_metric: equalized-odds
selection: [val-pareto]
sweep:
  method: [erm, lagrangian, threshold]
  eta: [1, 10]
  methods:
    threshold: {base: [erm], tolerance: [0, 0.05]}
";

#[test]
fn equalized_odds_is_recorded_and_selects() {
    let run = Run::new(EQUALIZED_ODDS);
    let output = run.run(&["-q"]);
    assert!(output.status.success(), "{}", text(&output));
    let epochs = read_csv(&run.results().join("epochs.csv"));
    assert!(!epochs.is_empty());
    for row in &epochs {
        let (odds, eo) = (number(row, "equalized_odds"), number(row, "eo"));
        assert!((0.0..=1.0).contains(&odds) && odds >= eo, "{row:?}");
    }
    assert!(
        epochs
            .iter()
            .any(|r| number(r, "equalized_odds") > number(r, "eo")),
        "somewhere the FPR gap is the larger"
    );
    let methods = read_csv(&run.results().join("methods.csv"));
    let threshold = (methods.iter())
        .find(|m| m["method"] == "threshold-erm")
        .unwrap();
    assert_eq!(threshold["fairness_metric"], "equalized-odds");
    assert!(
        number(threshold, "aopac_equalized_odds") > 0.0,
        "{threshold:?}"
    );
    let figure =
        std::fs::read_to_string(run.results().join("pareto_val-pareto_equalized_odds.svg"))
            .unwrap();
    assert!(figure.contains("ΔEOdds (larger of the gaps in true- and false-positive rate), test"));
    let report = std::fs::read_to_string(run.results().join("report.md")).unwrap();
    assert!(
        report.contains("![pareto_val-pareto_equalized_odds.svg]"),
        "report.md shows it"
    );
    // No architecture varies: no parameters figure.
    assert!(!run.results().join("parameters.svg").exists());
}
