//! The Adult loader on the real files in ../shared/data, in both of their formats.

use std::path::PathBuf;

use fairbinn_sweep::data::{self, DataDirSource, DatasetName, DatasetSpec};

fn shared_data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data")
}

fn spec(dir: PathBuf) -> DatasetSpec {
    DatasetSpec {
        name: DatasetName::Adult,
        data_dirs: vec![(dir, DataDirSource::Flag)],
        sensitive: "sex".into(),
        sensitive_as_feature: true,
        val_fraction: 0.2,
        split_seed: 0,
        max_rows: None,
    }
}

#[test]
fn fairbinn_copies_give_the_standard_counts() {
    let adult = data::load(&spec(shared_data())).unwrap();
    assert_eq!(adult.train.n_rows() + adult.validation.n_rows(), 30_162);
    assert_eq!(adult.validation.n_rows(), 6_032); // round(0.2 × 30,162)
    assert_eq!(adult.test.n_rows(), 15_060);
    assert_eq!(adult.train.n_features, 101);
    assert_eq!(adult.feature_names.len(), 101);
    assert!(!adult.feature_names.iter().any(|f| f.contains("Holand")));
    assert!(adult.feature_names.contains(&"sex".to_string()));

    // Counted with awk on the complete rows of adult.test (SOURCE.md's 3,846 counts all
    // 16,281 rows, `?` included).
    let positives = adult.test.labels.iter().filter(|&&y| y == 1.0).count();
    assert_eq!(positives, 3_700);
    let males_in_test = adult.test.groups.iter().filter(|&&g| g == 1).count();
    assert_eq!(males_in_test, 10_147);

    // Scaling is fitted on the training split: every training value is in [0, 1] and each
    // non-constant feature reaches both ends.
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
}

#[test]
fn uci_originals_give_the_same_data_as_the_fairbinn_copies() {
    let copies = data::load(&spec(shared_data())).unwrap();
    let originals = data::load(&spec(shared_data().join("adult/uci"))).unwrap();
    assert!(originals.files[0].ends_with("uci/adult.data"));
    assert_eq!(originals.feature_names, copies.feature_names);
    assert_eq!(originals.train, copies.train);
    assert_eq!(originals.validation, copies.validation);
    assert_eq!(originals.test, copies.test);
}

#[test]
fn sensitive_attribute_can_be_left_out_of_the_features() {
    let mut without = spec(shared_data());
    without.sensitive_as_feature = false;
    let adult = data::load(&without).unwrap();
    assert_eq!(adult.train.n_features, 100);
    assert!(!adult.feature_names.contains(&"sex".to_string()));
    assert_eq!(adult.group_names, vec!["Female", "Male"]);
}

#[test]
fn missing_files_say_what_is_missing_and_where_we_looked() {
    let nowhere = std::env::temp_dir().join("fairbinn-no-such-folder");
    let error = data::load(&spec(nowhere.clone())).unwrap_err().to_string();
    assert!(error.contains("adult.data, adult.test"), "{error}");
    assert!(error.contains(&nowhere.display().to_string()), "{error}");
    assert!(error.contains("no such folder"), "{error}");
    assert!(error.contains("from --data-dir"), "{error}");
    assert!(error.contains("FAIRBINN_DATA_DIR"), "{error}");
}
