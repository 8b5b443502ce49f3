//! The scikit-learn estimator's engine (the Python package's `FairBiNNClassifier`): a network
//! trained with one trial's settings on rows already in memory, and its probabilities. The
//! rows are scaled as a data set's are (fitted on the training rows) and trained by the same
//! steps as a trial's ([`train::fit_network`]), so the tool's split and a trial's settings
//! give that trial's network to the last bit.

use anyhow::{Result, anyhow, bail, ensure};
use serde::{Deserialize, Serialize};

use crate::config;
use crate::data::spec::Scale;
use crate::data::{Dataset, Scaler, Split};
use crate::model::LayerWeights;
use crate::model_file::body_probabilities;
use crate::train::{self, Body, Method};

/// What a fitted estimator holds: kept by Python as this struct's JSON, so that pickling,
/// `clone` and copying need nothing of Rust's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fitted {
    pub format: String,
    pub scaler: Option<Scaler>,
    /// Input to output, as a saved model's tensors.
    pub layers: Vec<LayerWeights>,
}

pub const FORMAT: &str = "fairbinn-sweep estimator 1";

/// Rows in memory: `n_features` values per row, row after row, a 0/1 label and a group each.
pub struct Rows {
    pub features: Vec<f32>,
    pub n_features: usize,
    pub labels: Vec<f32>,
    pub groups: Vec<u32>,
    pub n_groups: usize,
}

/// The methods the estimator trains: those with a network of their own.
pub fn methods() -> Vec<&'static str> {
    (Method::ALL.iter())
        .filter(|m| m.is_stepped() && m.name() != "toy")
        .map(|m| m.name())
        .collect()
}

/// Train a network on `rows` with `settings` (`{"model": {…}, "train": {…}}`, the keys of an
/// experiment file's sections).
pub fn fit(settings: &str, scale: Scale, rows: Rows) -> Result<Fitted> {
    let trial = config::trial_of_sections(settings)?;
    if !methods().contains(&trial.train.method.name()) {
        bail!(
            "method {:?}: the estimator trains a network by one of {}; the others (group \
             thresholds, reductions, boosted trees) run from experiment files",
            trial.train.method.name(),
            methods().join(", ")
        );
    }
    let Rows {
        features,
        n_features,
        labels,
        groups,
        n_groups,
    } = rows;
    let n_rows = labels.len();
    ensure!(
        n_rows > 0 && n_features > 0,
        "no rows or no features to fit"
    );
    ensure!(
        features.len() == n_rows * n_features && groups.len() == n_rows,
        "{} values for {n_rows} rows of {n_features} features and {} groups",
        features.len(),
        groups.len()
    );
    ensure!(
        features.iter().all(|v| v.is_finite()),
        "the features hold NaN or infinity"
    );
    ensure!(
        labels.iter().all(|&y| y == 0.0 || y == 1.0),
        "labels must be 0 or 1"
    );
    ensure!(
        groups.iter().all(|&g| (g as usize) < n_groups),
        "group indices must be below {n_groups}"
    );
    let mut train = Split {
        features,
        n_features,
        labels,
        groups,
    };
    let scaler = match scale {
        Scale::None => None,
        Scale::MinMax => Some(Scaler::min_max(&train)),
        Scale::Standard => Some(Scaler::standard(&train)),
    };
    if let Some(scaler) = &scaler {
        scaler.apply(&mut train);
    }
    let no_rows = Split {
        features: Vec::new(),
        n_features,
        labels: Vec::new(),
        groups: Vec::new(),
    };
    let data = Dataset {
        name: "estimator".into(),
        feature_names: (0..n_features).map(|j| format!("x{j}")).collect(),
        group_names: (0..n_groups).map(|g| g.to_string()).collect(),
        train,
        validation: no_rows.clone(),
        test: no_rows,
        files: Vec::new(),
        notes: Vec::new(),
        preprocessing: None,
    };
    let layers =
        train::fit_network(&trial.architecture, &trial.train, &data).map_err(|e| anyhow!(e))?;
    Ok(Fitted {
        format: FORMAT.into(),
        scaler,
        layers,
    })
}

impl Fitted {
    pub fn n_features(&self) -> usize {
        self.layers.first().map_or(0, |l| l.d_in)
    }

    /// Each row's probability of the positive class, as training's evaluation computes it.
    pub fn probabilities(&self, mut features: Vec<f32>) -> Result<Vec<f32>> {
        let n = self.n_features();
        ensure!(
            n > 0 && features.len().is_multiple_of(n),
            "{} values are not rows of the {n} features the network was fitted on",
            features.len()
        );
        if let Some(scaler) = &self.scaler {
            scaler.apply_to(&mut features);
        }
        body_probabilities(&Body::Network(self.layers.clone()), &features, n, None)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a fitted network serializes")
    }

    pub fn from_json(text: &str) -> Result<Self> {
        let fitted: Self = serde_json::from_str(text)
            .map_err(|e| anyhow!("not a fitted FairBiNNClassifier's state ({e})"))?;
        ensure!(
            fitted.format == FORMAT,
            "a fitted state of {:?}; this version reads {FORMAT:?}",
            fitted.format
        );
        Ok(fitted)
    }
}

#[cfg(test)]
mod tests {
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::train::Fitted as Trained;

    /// 60 rows of 4 features in [0, 10), 3 groups, labels leaning on the features and groups.
    fn rows() -> Rows {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let n = 60;
        let features: Vec<f32> = (0..n * 4).map(|_| rng.random_range(0.0..10.0)).collect();
        let groups: Vec<u32> = (0..n).map(|_| rng.random_range(0..3u32)).collect();
        let labels = (0..n)
            .map(|i| f32::from(features[4 * i] + groups[i] as f32 > 6.0))
            .collect();
        Rows {
            features,
            n_features: 4,
            labels,
            groups,
            n_groups: 3,
        }
    }

    const SETTINGS: &str = r#"{"model": {"accuracy_layers": 2, "width": 8},
        "train": {"method": "fairbinn", "epochs": 4, "batch_size": 16, "eta": 10, "seed": 5}}"#;

    /// The estimator's network is the trial's: the same rows, scaled as a data set's, and the
    /// same settings give the last epoch's weights and probabilities to the last bit.
    #[test]
    fn fit_gives_the_trials_network() {
        let fitted = fit(SETTINGS, Scale::MinMax, rows()).unwrap();

        let Rows {
            features,
            labels,
            groups,
            ..
        } = rows();
        let mut split = Split {
            features,
            n_features: 4,
            labels,
            groups,
        };
        Scaler::min_max(&split).apply(&mut split);
        let data = Dataset::in_memory("rows", &["a", "b", "c", "d"], &["x", "y", "z"], split);
        let trial = config::trial_of_sections(SETTINGS).unwrap();
        let mut last = None;
        train::train(&trial.architecture, &trial.train, &data, &mut |_, model| {
            if let Trained::Network(trainer) = model {
                last = Some((trainer.weights(), trainer.scores()[1].clone()));
            }
        });
        let (weights, test_scores) = last.unwrap();
        assert_eq!(fitted.layers, weights);
        let raw = rows().features;
        assert_eq!(fitted.probabilities(raw).unwrap(), test_scores);
        // Its state read back predicts the same.
        let again = Fitted::from_json(&fitted.to_json()).unwrap();
        assert_eq!(again, fitted);
    }

    #[test]
    fn every_setting_is_checked_as_an_experiment_files() {
        let error = |settings: &str, rows: Rows| {
            format!("{:#}", fit(settings, Scale::None, rows).unwrap_err())
        };
        let message = error(r#"{"train": {"method": "fairbinn", "etta": 1}}"#, rows());
        assert!(
            message.contains("train.etta") && message.contains("eta"),
            "{message}"
        );
        let message = error(r#"{"model": {"width": 0}}"#, rows());
        assert!(
            message.contains("model.width: expected at least 1"),
            "{message}"
        );
        let message = error(r#"{"train": {"method": "threshold"}}"#, rows());
        assert!(
            message.contains("\"threshold-erm\"") && message.contains("fairbinn-reference"),
            "{message}"
        );
        let message = error(r#"{"sweep": {}}"#, rows());
        assert!(
            message.contains("expected only model and train"),
            "{message}"
        );
        let mut two = rows();
        two.labels[0] = 2.0;
        assert_eq!(error("{}", two), "labels must be 0 or 1");
        let mut outside = rows();
        outside.groups[3] = 3;
        assert_eq!(error("{}", outside), "group indices must be below 3");
        let mut short = rows();
        short.features.pop();
        assert!(error("{}", short).starts_with("239 values for 60 rows of 4 features"));
    }

    #[test]
    fn the_estimators_methods_are_those_with_a_network() {
        assert_eq!(
            methods(),
            [
                "erm",
                "lagrangian",
                "fairbinn",
                "fairbinn-reference",
                "stackelberg",
                "adversarial"
            ]
        );
    }

    #[test]
    fn a_state_of_another_kind_is_refused() {
        let message = format!("{:#}", Fitted::from_json("{}").unwrap_err());
        assert!(
            message.starts_with("not a fitted FairBiNNClassifier's state"),
            "{message}"
        );
        let fitted = Fitted {
            format: "fairbinn-sweep estimator 9".into(),
            scaler: None,
            layers: Vec::new(),
        };
        let message = format!("{:#}", Fitted::from_json(&fitted.to_json()).unwrap_err());
        assert!(message.contains("estimator 9"), "{message}");
        let fitted = fit(SETTINGS, Scale::None, rows()).unwrap();
        let message = format!("{:#}", fitted.probabilities(vec![1.0; 6]).unwrap_err());
        assert!(message.contains("not rows of the 4 features"), "{message}");
    }
}
