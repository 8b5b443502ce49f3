//! The README's results tables against the committed results they quote: every number in the
//! table of a results section equals its CSV's, rounded as printed.

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::read_csv;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The table rows (cells, trimmed) of the README section that starts with `heading`.
fn table_rows(heading: &str) -> Vec<Vec<String>> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme
        .find(heading)
        .unwrap_or_else(|| panic!("{heading} in README.md"));
    let section = &readme[start + heading.len()..];
    let section = &section[..section.find("\n#").unwrap_or(section.len())];
    section
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| method") && !l.starts_with("|---"))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

/// A CSV number as the README prints it: `digits` decimals, `–` when empty.
fn printed(value: &str, digits: usize) -> String {
    match value {
        "" => "–".into(),
        v => format!("{:.digits$}", v.parse::<f64>().unwrap()),
    }
}

/// `experiments/adult_baselines.yaml`'s table: AOPAC soft and hard and the best accuracies at
/// hard ΔDP ≤ 0.01 and ≤ 0.02, from `results/adult_baselines/methods.csv` (val-pareto).
#[test]
fn the_baselines_table_quotes_the_committed_methods_csv() {
    let rows: HashMap<String, HashMap<String, String>> =
        read_csv(&root().join("results/adult_baselines/methods.csv"))
            .into_iter()
            .filter(|r| r["selection"] == "val-pareto")
            .map(|r| (r["method"].clone(), r))
            .collect();
    let table = table_rows("### Baselines on hard ΔDP: `experiments/adult_baselines.yaml`");
    assert_eq!(table.len(), rows.len(), "one README row per method");
    for cells in table {
        // `lagrangian (η 0.1–10)`: the method is the first word.
        let method = cells[0].split(' ').next().unwrap();
        let row = &rows[method];
        let expected = [
            printed(&row["aopac_dp_soft"], 3),
            printed(&row["aopac_dp_hard"], 3),
            printed(&row["best_accuracy_dp_hard_0_01"], 4),
            printed(&row["best_accuracy_dp_hard_0_02"], 4),
        ];
        // `0.7543 (constant)`: the number is the first word.
        let quoted: Vec<&str> = cells[1..5]
            .iter()
            .map(|c| c.split(' ').next().unwrap())
            .collect();
        assert_eq!(quoted, expected, "{method}");
    }
}
