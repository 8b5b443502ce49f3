//! The loaders on the real files in ../shared/data (or, in a clone without it, the copies
//! built into the binary): row counts against SOURCE.md, the `csv` description reproducing
//! each built-in set, and the bad-data errors.

mod common;

use std::path::Path;

use fairbinn_sweep::config;
use fairbinn_sweep::data::{self, DataDirSource, Dataset};

/// Load the data of an experiment whose `dataset:` section is `section` (YAML lines,
/// indented by two), with `dir` as the data folder.
fn load_in(dir: &Path, section: &str) -> anyhow::Result<Dataset> {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("experiment.yaml");
    std::fs::write(&path, format!("name: t\ndataset:\n{section}")).unwrap();
    let experiment = config::read(&path, Some((dir.to_path_buf(), DataDirSource::Flag)))?;
    data::load(&experiment.dataset)
}

/// From ../shared/data, else (for want of it) from the built-in copies.
fn load(section: &str) -> Dataset {
    let dir = common::shared_data().unwrap_or_else(|| "/nonexistent".into());
    load_in(&dir, section).unwrap()
}

fn rows(data: &Dataset) -> usize {
    data.train.n_rows() + data.validation.n_rows() + data.test.n_rows()
}

fn positives(data: &Dataset) -> usize {
    [&data.train, &data.validation, &data.test]
        .iter()
        .map(|s| s.labels.iter().filter(|&&y| y == 1.0).count())
        .sum()
}

fn group_sizes(data: &Dataset) -> Vec<usize> {
    (0..data.n_groups() as u32)
        .map(|g| {
            [&data.train, &data.validation, &data.test]
                .iter()
                .map(|s| s.groups.iter().filter(|&&x| x == g).count())
                .sum()
        })
        .collect()
}

#[test]
fn adult_gives_the_standard_counts() {
    let adult = load("  name: adult\n");
    assert_eq!(adult.train.n_rows() + adult.validation.n_rows(), 30_162);
    assert_eq!(adult.validation.n_rows(), 6_032); // round(0.2 × 30,162)
    assert_eq!(adult.test.n_rows(), 15_060);
    assert_eq!(adult.train.n_features, 101);
    assert!(!adult.feature_names.iter().any(|f| f.contains("Holand")));
    // sex has two values: one 0/1 column, Male = 1, as the authors map it.
    assert!(adult.feature_names.contains(&"sex_Male".to_string()));
    // Counted with awk on the complete rows of adult.test (SOURCE.md's 3,846 counts all
    // 16,281 rows, `?` included).
    assert_eq!(
        adult.test.labels.iter().filter(|&&y| y == 1.0).count(),
        3_700
    );
    assert_eq!(
        adult.test.groups.iter().filter(|&&g| g == 1).count(),
        10_147
    );
    // Min-max scaling fitted on the training split: every training value in [0, 1], and
    // age reaches both ends.
    assert!(
        adult
            .train
            .features
            .iter()
            .all(|&v| (0.0..=1.0).contains(&v))
    );
    let age = adult.feature_names.iter().position(|f| f == "age").unwrap();
    let ages: Vec<f32> = (0..adult.train.n_rows())
        .map(|r| adult.train.row(r)[age])
        .collect();
    assert_eq!(ages.iter().cloned().fold(f32::INFINITY, f32::min), 0.0);
    assert_eq!(ages.iter().cloned().fold(0.0, f32::max), 1.0);

    let without = load("  name: adult\n  sensitive_as_feature: false\n");
    assert_eq!(without.train.n_features, 100);
    assert_eq!(without.group_names, ["Female", "Male"]);
    let race = load("  name: adult\n  sensitive: race\n");
    assert_eq!(race.group_names, ["non-White", "White"]);
    // 45,222 rows, of which White: 38,903 (awk over both files' complete rows).
    assert_eq!(group_sizes(&race), [45_222 - 38_903, 38_903]);
}

#[test]
fn adult_uci_originals_give_the_same_data_as_the_fairbinn_copies() {
    let Some(adult) = common::shared_set("adult", "adult_uci_originals_give_the_same_data…")
    else {
        return;
    };
    let copies = load("  name: adult\n");
    let originals = load_in(&adult.join("uci"), "  name: adult\n").unwrap();
    assert!(originals.files[0].path.ends_with("uci/adult.data"));
    assert_eq!(originals.feature_names, copies.feature_names);
    assert_eq!(originals.train, copies.train);
    assert_eq!(originals.validation, copies.validation);
    assert_eq!(originals.test, copies.test);
    // The built-in copy is the UCI originals.
    let shipped = load_in(Path::new("/nonexistent"), "  name: adult\n").unwrap();
    assert_eq!(
        shipped.files[0].path,
        Path::new("<built-in>/adult.zip/adult.data")
    );
    assert_eq!(shipped.files[0].sha256, originals.files[0].sha256);
    assert_eq!(shipped.train, copies.train);
    assert_eq!(shipped.test, copies.test);
}

#[test]
fn health_gives_the_y3_rows_nine_age_groups_and_125_features() {
    if common::shared_set("health", "health_gives_the_y3_rows…").is_none() {
        return;
    }
    let health = load("  name: health\n");
    // SOURCE.md: 55,924 rows, Charlson > 0 for 33.7% (18,839, counted with Python's csv
    // module), age buckets 05..85 as below.
    assert_eq!(rows(&health), 55_924);
    assert_eq!(health.test.n_rows(), 11_185); // round(0.2 × 55,924)
    assert_eq!(health.train.n_features, 125);
    assert_eq!(positives(&health), 18_839);
    assert_eq!(
        group_sizes(&health),
        [5440, 5235, 3688, 6091, 8414, 7173, 7480, 8948, 3455]
    );
    // The authors' features end with the age bucket and sex; nothing is scaled.
    let n = health.feature_names.len();
    assert_eq!(health.feature_names[n - 2..], ["age", "sex"]);
    assert!(
        !health
            .feature_names
            .iter()
            .any(|f| f.starts_with("Charlson"))
    );
    for r in 0..100 {
        assert_eq!(health.train.row(r)[n - 2], health.train.groups[r] as f32);
    }
    let sex = load("  name: health\n  sensitive: sex\n");
    assert_eq!(group_sizes(&sex), [24_971, 30_953]); // male, female
    let scaled = load("  name: health\n  scale: min-max\n");
    assert!(
        scaled
            .train
            .features
            .iter()
            .all(|&v| (0.0..=1.0).contains(&v))
    );
}

#[test]
fn compas_applies_propublicas_filter() {
    let compas = load("  name: compas\n");
    // SOURCE.md: 5,278 African-American or Caucasian rows, 2,483 of them re-offending.
    assert_eq!(rows(&compas), 5_278);
    assert_eq!(positives(&compas), 2_483);
    assert_eq!(compas.group_names, ["African-American", "Caucasian"]);
    let all = load("  name: compas\n  sensitive: race-all\n");
    assert_eq!(rows(&all), 6_172);
    assert_eq!(all.n_groups(), 6);
    assert!(!all.feature_names.iter().any(|f| f.contains("decile")));
}

#[test]
fn german_groups_by_age_or_sex() {
    let german = load("  name: german\n");
    assert_eq!(rows(&german), 1_000);
    assert_eq!(positives(&german), 700);
    assert_eq!(group_sizes(&german), [190, 810]); // age ≤ 25, > 25
    assert_eq!(german.group_names, ["age <= 25", "age > 25"]);
    let sex = load("  name: german\n  sensitive: sex\n");
    assert_eq!(group_sizes(&sex), [310, 690]);
    assert_eq!(german.train.n_features, 59); // 13 coded columns one-hot, 7 numbers
}

/// The built-in sets described as a user's own tables give the same rows.
#[test]
fn csv_descriptions_reproduce_the_builtin_sets() {
    if common::shared_set("health", "csv_descriptions_reproduce_the_builtin_sets").is_none() {
        return;
    }
    let same = |builtin: &Dataset, csv: &Dataset| {
        assert_eq!(builtin.feature_names, csv.feature_names);
        assert_eq!(builtin.group_names, csv.group_names);
        assert_eq!(builtin.train, csv.train);
        assert_eq!(builtin.validation, csv.validation);
        assert_eq!(builtin.test, csv.test);
    };
    let adult = load(
        "  name: csv
  train_file: adult/uci/adult.data
  test_file: adult/uci/adult.test
  comment: '|'
  header: false
  columns: [age, workclass, fnlwgt, education, education-num, marital-status, occupation,
            relationship, race, sex, capital-gain, capital-loss, hours-per-week,
            native-country, income]
  label: {column: income, positive: ['>50K', '>50K.'], negative: ['<=50K', '<=50K.']}
  sensitive: {column: sex, groups: {Female: [Female], Male: [Male]}}
  drop: [fnlwgt]
  missing: {tokens: ['?'], action: drop}
",
    );
    same(&load("  name: adult\n"), &adult);

    let compas = load(
        "  name: csv
  file: compas/compas-scores-two-years.csv
  filter: [days_b_screening_arrest >= -30, days_b_screening_arrest <= 30, is_recid != -1,
           c_charge_degree != O, score_text != N/A]
  label: {column: two_year_recid, positive: [1], negative: [0]}
  sensitive: {column: race, groups: {African-American: [African-American], Caucasian: [Caucasian]}}
  features: [sex, age, age_cat, race, juv_fel_count, juv_misd_count, juv_other_count,
             priors_count, c_charge_degree]
",
    );
    same(&load("  name: compas\n"), &compas);

    let german = load(
        "  name: csv
  file: german/german.data
  delimiter: ' '
  columns: [status, duration, credit_history, purpose, credit_amount, savings, employment,
            installment_rate, personal_status_sex, other_debtors, residence_since, property,
            age, installment_plans, housing, number_credits, job, people_liable, telephone,
            foreign_worker, credit]
  label: {column: credit, positive: [1], negative: [2]}
  sensitive: {column: age, above: 25}
",
    );
    same(&load("  name: german\n"), &german);

    let health = load(
        "  name: csv
  file: health/health.csv.zip
  filter: [YEAR_t == Y3, age_MISS == 0, sexMISS == 0]
  derive:
    age: {argmax: [age_05, age_15, age_25, age_35, age_45, age_55, age_65, age_75, age_85]}
    sex: {argmax: [sexMALE, sexFEMALE]}
  label: {column: CharlsonIndexI_max, above: 0}
  sensitive:
    column: age
    groups: {0-9: [0], 10-19: [1], 20-29: [2], 30-39: [3], 40-49: [4], 50-59: [5],
             60-69: [6], 70-79: [7], 80+: [8]}
  drop: [MemberID_t, YEAR_t, trainset, age_05, age_15, age_25, age_35, age_45, age_55,
         age_65, age_75, age_85, sexMALE, sexFEMALE, CharlsonIndexI_min, CharlsonIndexI_ave,
         CharlsonIndexI_range, CharlsonIndexI_stdev, Charlson>0]
  scale: none
",
    );
    same(&load("  name: health\n"), &health);
}

/// A small table of the user's own, in a folder of its own.
struct UserTable {
    dir: tempfile::TempDir,
}

impl UserTable {
    fn new(text: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t.csv"), text).unwrap();
        Self { dir }
    }

    fn load(&self, extra: &str) -> anyhow::Result<Dataset> {
        load_in(
            self.dir.path(),
            &format!(
                "  name: csv\n  file: t.csv\n  test_fraction: 0.25\n  val_fraction: 0.25\n  \
                 label: {{column: y, positive: [yes], negative: [no]}}\n{extra}"
            ),
        )
    }

    fn error(&self, extra: &str) -> String {
        format!("{:#}", self.load(extra).unwrap_err())
    }
}

const GOOD: &str = "x,colour,g,y\n1,red,a,yes\n2,blue,b,no\n3,red,a,no\n4,green,b,yes\n\
                    5,red,c,yes\n6,blue,c,no\n7,red,a,yes\n8,blue,b,no\n";

#[test]
fn a_users_table_infers_types_and_groups() {
    let table = UserTable::new(GOOD);
    let data = table
        .load("  sensitive: {column: g}\n  scale: none\n")
        .unwrap();
    assert_eq!(data.group_names, ["a", "b", "c"]);
    assert_eq!(rows(&data), 8);
    assert_eq!(data.test.n_rows(), 2);
    // x a number; colour one-hot over blue, green, red; g as a feature one-hot too.
    assert_eq!(
        data.feature_names,
        [
            "x",
            "colour_blue",
            "colour_green",
            "colour_red",
            "g_a",
            "g_b",
            "g_c"
        ]
    );
    let all: Vec<&[f32]> = [&data.train, &data.validation, &data.test]
        .iter()
        .flat_map(|s| (0..s.n_rows()).map(move |r| s.row(r)))
        .collect();
    let four = all.iter().find(|row| row[0] == 4.0).unwrap();
    assert_eq!(four[1..], [0.0, 1.0, 0.0, 0.0, 1.0, 0.0]);
}

#[test]
fn missing_values_are_dropped_or_imputed() {
    let table = UserTable::new(
        "x,colour,g,y\n1,red,a,yes\n?,blue,b,no\n3,red,a,no\n4,?,b,yes\n\
         5,red,a,yes\n10,blue,b,no\n7,red,a,yes\n8,blue,b,no\n",
    );
    let sensitive = "  sensitive: {column: g}\n  scale: none\n  missing: {tokens: ['?'], action: ";
    let dropped = table.load(&format!("{sensitive}drop}}\n")).unwrap();
    assert_eq!(rows(&dropped), 6);
    assert!(dropped.notes[0].contains("8 records, 2 with missing values left out: 6 rows"));
    let imputed = table.load(&format!("{sensitive}impute}}\n")).unwrap();
    assert_eq!(rows(&imputed), 8);
    // The row with no x gets the training rows' median; the row with no colour, red (the
    // most frequent in training). Rows are found by their other values.
    let all: Vec<&[f32]> = [&imputed.train, &imputed.validation, &imputed.test]
        .iter()
        .flat_map(|s| (0..s.n_rows()).map(move |r| s.row(r)))
        .collect();
    let xs: Vec<f32> = all.iter().map(|row| row[0]).collect();
    assert!(!xs.iter().any(|x| x.is_nan()), "{xs:?}");
    let red = imputed
        .feature_names
        .iter()
        .position(|f| f == "colour_red")
        .unwrap();
    let four = all.iter().find(|row| row[0] == 4.0).unwrap();
    assert_eq!(four[red], 1.0);
}

#[test]
fn bad_data_errors_name_file_line_and_column() {
    let sensitive = "  sensitive: {column: g}\n";
    let short = UserTable::new("x,colour,g,y\n1,red,a,yes\n2,blue,b\n3,red,a,no\n");
    let error = short.error(sensitive);
    assert!(
        error.contains("t.csv:3: expected 4 fields separated by ',', found 3"),
        "{error}"
    );

    let label = UserTable::new(&GOOD.replace("4,green,b,yes", "4,green,b,maybe"));
    let error = label.error(sensitive);
    assert!(
        error.contains("t.csv:5: column y: expected a label value among"),
        "{error}"
    );
    assert!(error.contains("found \"maybe\""), "{error}");

    let text = UserTable::new(&GOOD.replace("5,red,c,yes", "five,red,c,yes"));
    let error = text.error(sensitive);
    assert!(
        error.contains("t.csv:6: column x: expected a number, found \"five\""),
        "{error}"
    );

    let table = UserTable::new(GOOD);
    let error = table.error("  sensitive: {column: g, groups: {a: [a], z: [z]}}\n");
    assert!(error.contains("group \"z\" has no rows"), "{error}");
    assert!(error.contains("column g"), "{error}");

    let error = table.error("  sensitive: {column: grp}\n");
    assert!(
        error.contains("dataset.sensitive.column: no column \"grp\""),
        "{error}"
    );
    assert!(error.contains("did you mean \"g\"?"), "{error}");

    let error = table.error("  sensitive: {column: g}\n  numeric: [colour]\n");
    assert!(
        error.contains("t.csv:2: column colour: expected a number, found \"red\""),
        "{error}"
    );

    let error = table.error("  sensitive: {column: g}\n  filter: [x > 2, colour < 3]\n");
    // Row 1 (line 2) fails `x > 2` first; line 4 is the first to reach the second filter.
    assert!(
        error.contains("t.csv:4: column colour: expected a number to compare"),
        "{error}"
    );
}

#[test]
fn missing_files_say_what_is_missing_and_where_we_looked() {
    // Through the binary, so that the `data fetch` cache is an empty folder of this test's.
    let folder = tempfile::tempdir().unwrap();
    let experiment = folder.path().join("experiment.yaml");
    std::fs::write(&experiment, "name: t\ndataset:\n  name: health\n").unwrap();
    let nowhere = folder.path().join("fairbinn-no-such-folder");
    let output = common::binary()
        .args(["data", "describe"])
        .arg(&experiment)
        .arg("--data-dir")
        .arg(&nowhere)
        .env("XDG_CACHE_HOME", folder.path().join("cache"))
        .output()
        .unwrap();
    let error = common::text(&output);
    assert!(error.contains("health.csv.zip"), "{error}");
    assert!(error.contains(&nowhere.display().to_string()), "{error}");
    assert!(error.contains("no such folder"), "{error}");
    assert!(error.contains("from --data-dir"), "{error}");
    assert!(error.contains("FAIRBINN_DATA_DIR"), "{error}");
    assert!(
        error.contains("fairbinn-sweep data fetch health"),
        "{error}"
    );
}

/// `name: synthetic`: drawn, not read; split as a one-file table; the same settings give the
/// same rows, and its keys are checked as any others.
#[test]
fn a_synthetic_data_set_is_drawn_split_and_checked() {
    let dir = Path::new("/nonexistent");
    let section = "  name: synthetic\n  rows: 1000\n  features: 4\n  groups: 4\n  bias: 2\n";
    let data = load_in(dir, section).unwrap();
    assert_eq!(data.group_names, ["0", "1", "2", "3"]);
    assert_eq!(data.feature_names, ["x0", "x1", "x2", "x3"]);
    assert_eq!(rows(&data), 1000);
    assert_eq!(data.test.n_rows(), 300); // test_fraction 0.3
    assert_eq!(data.validation.n_rows(), 140); // val_fraction 0.2 of the other 700
    assert_eq!(load_in(dir, section).unwrap().train, data.train);
    let other = load_in(dir, &format!("{section}  seed: 1\n")).unwrap();
    assert_ne!(other.train, data.train);
    // Group 3's base rate is far above group 0's, as the process says.
    let rate = |g: u32| {
        let labels: Vec<f32> = (data.train.groups.iter().zip(&data.train.labels))
            .filter(|(x, _)| **x == g)
            .map(|(_, y)| *y)
            .collect();
        labels.iter().sum::<f32>() / labels.len() as f32
    };
    assert!(rate(3) - rate(0) > 0.5, "{} {}", rate(0), rate(3));

    let error = |section: &str| format!("{:#}", load_in(dir, section).err().unwrap());
    let message = error("  name: synthetic\n  rows: 5\n  groups: 1\n  label: {column: y}\n");
    assert!(message.contains("dataset.label: unknown key"), "{message}");
    let message = error("  name: synthetic\n  rows: 5\n  groups: 1\n");
    assert!(
        message.contains("dataset.rows: expected at least 10, found 5"),
        "{message}"
    );
    assert!(
        message.contains("dataset.groups: expected 2 to 1000, found 1"),
        "{message}"
    );
    // A size that would not fit in memory is refused before anything is drawn.
    let message = error("  name: synthetic\n  rows: 1000000000000\n");
    assert!(
        message
            .contains("dataset.rows: 1000000000000 rows of 10 features are 12000000000000 values"),
        "{message}"
    );
}
