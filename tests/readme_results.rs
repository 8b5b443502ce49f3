//! The results the docs quote against the committed results: `docs/results.md` and the
//! README's claims table. Each table there is
//! captioned by the line above it, which names the committed CSV it comes from
//! (`results/<name>/methods.csv`, `aggregate.csv`, `epochs.csv.gz` or `trials.csv`); its
//! header says which column each cell is, and every number must equal that CSV's, rounded as
//! printed. Rows and columns whose first word is "paper" quote the paper and are not read.

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::{read_csv, read_csv_from};

type Row = HashMap<String, String>;

/// The first header cell of the summary table: the paper's claims (its figures), the
/// experiment, and a verdict in words; the numbers of this tool are in the tables below it.
const SUMMARY: &str = "claim (paper)";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// One table of the section, with the CSV its caption names.
struct Table {
    source: String,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

/// The tables of `file`'s section that starts with `heading`, up to the next heading of its
/// level (`## ` for a `## ` heading; the whole file for its `# ` title).
fn tables(file: &str, heading: &str) -> Vec<Table> {
    let text = std::fs::read_to_string(root().join(file)).unwrap();
    let start = text
        .find(heading)
        .unwrap_or_else(|| panic!("{heading} in {file}"));
    let section = &text[start + heading.len()..];
    let level = &heading[..heading.find(' ').unwrap() + 1];
    let section = &section[..section.find(&format!("\n{level}")).unwrap_or(section.len())];
    let lines: Vec<&str> = section.lines().collect();
    let cells = |line: &str| -> Vec<String> {
        line.trim()
            .trim_matches('|')
            .split('|')
            .map(clean)
            .collect()
    };
    let mut tables = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if !lines[i].starts_with('|') {
            i += 1;
            continue;
        }
        let caption = lines[..i]
            .iter()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or(&"");
        let header = cells(lines[i]);
        let source = match header[0].as_str() {
            // The summary: the paper's claims and a verdict in words, no figure of ours.
            SUMMARY => String::new(),
            _ => caption
                .split('`')
                .find(|part| part.starts_with("results/"))
                .unwrap_or_else(|| {
                    panic!("the table at {:?} names no results file above it", lines[i])
                })
                .to_string(),
        };
        let mut rows = Vec::new();
        i += 2; // the header and the |---| line
        while i < lines.len() && lines[i].starts_with('|') {
            rows.push(cells(lines[i]));
            i += 1;
        }
        tables.push(Table {
            source,
            header,
            rows,
        });
    }
    tables
}

/// A cell without markdown emphasis or code marks.
fn clean(cell: &str) -> String {
    cell.trim().replace("**", "").replace('`', "")
}

fn is_paper(text: &str) -> bool {
    text.split_whitespace().next() == Some("paper")
}

/// The CSV column a methods.csv header cell reads.
fn methods_column(header: &str) -> Option<String> {
    let budget = |s: &str| s.replace('.', "_");
    match header.split_once(" ≤ ") {
        Some((gap @ ("soft" | "hard"), bound)) => {
            Some(format!("best_accuracy_dp_{gap}_{}", budget(bound)))
        }
        Some(("ΔEO", bound)) => Some(format!("best_accuracy_eo_{}", budget(bound))),
        Some(("ΔEOdds", bound)) => Some(format!("best_accuracy_equalized_odds_{}", budget(bound))),
        _ => match header {
            "front" => Some("method".into()),
            "selection" | "points" => Some(header.into()),
            "AOPAC soft" => Some("aopac_dp_soft".into()),
            "AOPAC hard" => Some("aopac_dp_hard".into()),
            "AOPAC ΔEO" => Some("aopac_eo".into()),
            "AOPAC ΔEOdds" => Some("aopac_equalized_odds".into()),
            _ => None,
        },
    }
}

/// The CSV column an aggregate.csv header cell reads: a value, or a key (a settings column).
fn aggregate_column(header: &str, csv_header: &[String]) -> Option<String> {
    let value = match header {
        "accuracy" => "test_accuracy_mean",
        "± std" => "test_accuracy_std",
        "ΔDP soft" => "test_dp_soft_max",
        "ΔDP hard" => "test_dp_hard_max",
        "ΔDP soft mean" => "test_dp_soft_mean",
        "ΔDP hard mean" => "test_dp_hard_mean",
        key => return csv_header.iter().any(|c| c == key).then(|| key.to_string()),
    };
    Some(value.into())
}

/// A key cell against a CSV value: numbers by value (`1000` is `1000.0`), `–` for empty.
fn same_key(cell: &str, value: &str) -> bool {
    match (cell.parse::<f64>(), value.parse::<f64>()) {
        (Ok(a), Ok(b)) => a == b,
        _ => cell == value || (cell == "–" && value.is_empty()),
    }
}

/// A printed number against a value: the cell's first word, rounded as printed.
fn assert_printed(cell: &str, value: Option<f64>, what: &str) {
    let word = cell.split_whitespace().next().unwrap_or_default();
    match value {
        None => assert_eq!(word, "–", "{what}: the CSV has none"),
        Some(value) => {
            let decimals = word.split_once('.').map_or(0, |(_, d)| d.len());
            assert_eq!(word, format!("{value:.decimals$}"), "{what}");
        }
    }
}

fn number(row: &Row, column: &str) -> Option<f64> {
    match row[column].as_str() {
        "" => None,
        v => Some(v.parse().unwrap_or_else(|_| panic!("{column} = {v}"))),
    }
}

/// The rows of a table whose key cells all match, and the value cells, by header position.
fn split_columns(table: &Table, is_key: impl Fn(&str) -> bool) -> (Vec<usize>, Vec<usize>) {
    let mut keys = Vec::new();
    let mut values = Vec::new();
    for (c, h) in table.header.iter().enumerate() {
        if is_paper(h) {
            continue;
        }
        match is_key(h) {
            true => keys.push(c),
            false => values.push(c),
        }
    }
    (keys, values)
}

fn check_methods(table: &Table, rows: &[Row]) {
    let (keys, values) = split_columns(table, |h| matches!(h, "front" | "selection"));
    for h in &table.header {
        assert!(
            is_paper(h) || methods_column(h).is_some(),
            "{}: unknown column {h:?}",
            table.source
        );
    }
    for cells in table.rows.iter().filter(|r| !is_paper(&r[0])) {
        let found: Vec<&Row> = (rows.iter())
            .filter(|row| {
                keys.iter().all(|&c| {
                    let column = methods_column(&table.header[c]).unwrap();
                    same_key(&cells[c], &row[&column])
                })
            })
            .collect();
        assert_eq!(found.len(), 1, "{}: one row for {cells:?}", table.source);
        for &c in &values {
            let column = methods_column(&table.header[c]).unwrap();
            let what = format!("{} {cells:?} {}", table.source, table.header[c]);
            assert_printed(&cells[c], number(found[0], &column), &what);
        }
    }
}

fn check_aggregate(table: &Table, rows: &[Row], csv_header: &[String]) {
    let is_key = |h: &str| {
        !matches!(
            h,
            "accuracy" | "± std" | "ΔDP soft" | "ΔDP hard" | "ΔDP soft mean" | "ΔDP hard mean"
        )
    };
    let (keys, values) = split_columns(table, is_key);
    for h in &table.header {
        assert!(
            is_paper(h) || aggregate_column(h, csv_header).is_some(),
            "{}: unknown column {h:?}",
            table.source
        );
    }
    for cells in table.rows.iter().filter(|r| !is_paper(&r[0])) {
        let found: Vec<&Row> = (rows.iter())
            .filter(|row| {
                keys.iter()
                    .all(|&c| same_key(&cells[c], &row[&table.header[c]]))
            })
            .collect();
        assert_eq!(found.len(), 1, "{}: one row for {cells:?}", table.source);
        for &c in &values {
            let column = aggregate_column(&table.header[c], csv_header).unwrap();
            let what = format!("{} {cells:?} {}", table.source, table.header[c]);
            assert_printed(&cells[c], number(found[0], &column), &what);
        }
    }
}

/// Trials' rows whose settings match a table row's key cells (`method`, `eta`, …).
fn matching_trials<'a>(table: &Table, cells: &[String], trials: &'a [Row]) -> Vec<&'a Row> {
    let found: Vec<&Row> = (trials.iter())
        .filter(|t| t["status"] == "ok")
        .filter(|t| {
            table
                .header
                .iter()
                .enumerate()
                .all(|(c, h)| match t.get(h) {
                    Some(value) if h != "epoch" => same_key(&cells[c], value),
                    _ => true,
                })
        })
        .collect();
    assert!(
        !found.is_empty(),
        "{}: no trials for {cells:?}",
        table.source
    );
    found
}

/// `training BCE`: at the row's `epoch`, the mean over the matching trials of `train_bce`.
fn check_epochs(table: &Table, trials: &[Row], epochs: &[Row]) {
    let bce = table.header.iter().position(|h| h == "training BCE");
    let epoch = table.header.iter().position(|h| h == "epoch");
    let (Some(bce), Some(epoch)) = (bce, epoch) else {
        panic!("{}: expected columns epoch and training BCE", table.source);
    };
    for cells in table.rows.iter().filter(|r| !is_paper(&r[0])) {
        let ids: Vec<&str> = matching_trials(table, cells, trials)
            .iter()
            .map(|t| t["trial_id"].as_str())
            .collect();
        let losses: Vec<f64> = (epochs.iter())
            .filter(|e| e["split"] == "validation" && e["epoch"] == cells[epoch])
            .filter(|e| ids.contains(&e["trial_id"].as_str()))
            .map(|e| e["train_bce"].parse().unwrap())
            .collect();
        assert_eq!(losses.len(), ids.len(), "{}: {cells:?}", table.source);
        let mean = losses.iter().sum::<f64>() / losses.len() as f64;
        assert_printed(
            &cells[bce],
            Some(mean),
            &format!("{} {cells:?}", table.source),
        );
    }
}

/// `s per epoch`: the matching trials' seconds over their epochs.
fn check_timing(table: &Table, trials: &[Row]) {
    let Some(column) = table.header.iter().position(|h| h == "s per epoch") else {
        panic!("{}: expected a column s per epoch", table.source);
    };
    for cells in table.rows.iter().filter(|r| !is_paper(&r[0])) {
        let found = matching_trials(table, cells, trials);
        let seconds: f64 = found
            .iter()
            .map(|t| t["seconds"].parse::<f64>().unwrap())
            .sum();
        let epochs: f64 = (found.iter())
            .map(|t| t["last_epoch"].parse::<f64>().unwrap())
            .sum();
        let what = format!("{} {cells:?}", table.source);
        assert_printed(&cells[column], Some(seconds / epochs), &what);
    }
}

fn gunzipped_csv(path: &Path) -> Vec<Row> {
    read_csv_from(flate2::read::GzDecoder::new(
        std::fs::File::open(path).unwrap(),
    ))
}

#[test]
fn every_number_of_the_results_section_is_the_committed_csvs() {
    let summary = tables("README.md", "## What the paper claims, and what holds");
    assert_eq!(summary.len(), 1, "the README's claims table");
    assert_eq!(summary[0].header[0], SUMMARY);
    let tables = tables("docs/results.md", "# Results: the paper's claims");
    assert!(tables.len() >= 8, "{} tables", tables.len());
    let tables: Vec<&Table> = summary.iter().chain(&tables).collect();
    let mut rows_checked = 0;
    for table in tables {
        if table.header[0] == SUMMARY {
            for row in &table.rows {
                let verdict = row[2].replace("Algorithm 1", "Algorithm");
                assert!(
                    !verdict.chars().any(|c| c.is_ascii_digit()),
                    "a verdict quotes no number (the tables below do): {row:?}"
                );
            }
            continue;
        }
        let path = root().join(&table.source);
        let folder = path.parent().unwrap();
        assert!(
            folder.join("epochs.csv.gz").is_file() || folder.join("epochs.csv").is_file(),
            "{}: not a committed results folder",
            table.source
        );
        match path.file_name().unwrap().to_str().unwrap() {
            "methods.csv" => check_methods(table, &read_csv(&path)),
            "aggregate.csv" => {
                let header = csv::Reader::from_path(&path)
                    .unwrap()
                    .headers()
                    .unwrap()
                    .clone();
                let header: Vec<String> = header.iter().map(String::from).collect();
                check_aggregate(table, &read_csv(&path), &header)
            }
            "epochs.csv.gz" => check_epochs(
                table,
                &read_csv(&folder.join("trials.csv")),
                &gunzipped_csv(&path),
            ),
            "trials.csv" => check_timing(table, &read_csv(&path)),
            other => panic!(
                "{}: a table can quote methods.csv, aggregate.csv, epochs.csv.gz or trials.csv, not {other}",
                table.source
            ),
        }
        rows_checked += table.rows.len();
    }
    assert!(rows_checked >= 40, "{rows_checked} rows");
}

/// The checker itself: a number changed by one in its last printed digit is caught.
#[test]
fn a_misquoted_number_is_caught() {
    let table = Table {
        source: "x/methods.csv".into(),
        header: ["front", "selection", "AOPAC soft", "hard ≤ 0.01", "paper"]
            .map(String::from)
            .to_vec(),
        rows: vec![
            ["lagrangian", "val-pareto", "0.322", "–", "0.4"]
                .map(String::from)
                .to_vec(),
        ],
    };
    let row: Row = [
        ("method", "lagrangian"),
        ("selection", "val-pareto"),
        ("aopac_dp_soft", "0.32249"),
        ("best_accuracy_dp_hard_0_01", ""),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .into();
    check_methods(&table, std::slice::from_ref(&row));
    let mut wrong = row.clone();
    wrong.insert("aopac_dp_soft".into(), "0.3235".into());
    let caught = std::panic::catch_unwind(|| check_methods(&table, &[wrong]));
    assert!(caught.is_err(), "0.322 against 0.3235");
    let mut some = row;
    some.insert("best_accuracy_dp_hard_0_01".into(), "0.8".into());
    let caught = std::panic::catch_unwind(|| check_methods(&table, &[some]));
    assert!(caught.is_err(), "– against 0.8");
}
