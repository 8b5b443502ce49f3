//! Gradient-boosted trees (`method: gbdt`, `threshold` with `base: gbdt`, `reductions` with
//! `learner: gbdt`), from the forust-ml crate: log loss, histogram splits, one thread per
//! fit (a sweep already runs one trial per core), deterministic for a seed. The trees read
//! the data set's encoding as the networks do; scaling does not move a tree's splits.

use anyhow::{Result, anyhow};
use forust_ml::metric::Metric;
use forust_ml::objective::ObjectiveType;
use forust_ml::sampler::SampleMethod;
use forust_ml::{GradientBooster, Matrix};

use crate::data::Split;

/// The settings of one fit (`rounds`, `max_depth`, `learning_rate`, `early_stopping`,
/// `subsample`, and the trial's seed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Boosting {
    pub rounds: usize,
    pub max_depth: usize,
    pub learning_rate: f64,
    /// Rounds without a better validation log loss that end the fit (0: all `rounds`).
    pub early_stopping: usize,
    /// The share of training rows each tree sees (1: all of them, and the seed has no effect).
    pub subsample: f64,
    pub seed: u64,
}

/// A split's features as the crate reads them: `f64`, column after column.
pub struct Columns {
    values: Vec<f64>,
    rows: usize,
    cols: usize,
}

impl Columns {
    pub fn of(split: &Split) -> Self {
        Self::from_rows(&split.features, split.n_rows(), split.n_features)
    }

    /// From `rows × cols` values stored row after row.
    pub fn from_rows(features: &[f32], rows: usize, cols: usize) -> Self {
        let mut values = vec![0.0; rows * cols];
        for (i, row) in features.chunks_exact(cols.max(1)).enumerate().take(rows) {
            for (j, &x) in row.iter().enumerate() {
                values[j * rows + i] = f64::from(x);
            }
        }
        Self { values, rows, cols }
    }

    fn matrix(&self) -> Matrix<'_, f64> {
        Matrix::new(&self.values, self.rows, self.cols)
    }
}

/// A fitted ensemble.
pub struct Trees(GradientBooster);

impl Trees {
    /// Fit to `labels` (0/1) with row `weights`, stopping early on `validation`'s log loss when
    /// the settings ask for it and a validation split is given.
    pub fn fit(
        settings: &Boosting,
        train: &Columns,
        labels: &[f64],
        weights: &[f64],
        validation: Option<(&Columns, &[f64])>,
    ) -> Result<Self> {
        let stopping = settings.early_stopping > 0 && validation.is_some();
        let mut booster = GradientBooster::default()
            .set_objective_type(ObjectiveType::LogLoss)
            .set_iterations(settings.rounds)
            .set_max_depth(settings.max_depth)
            .set_learning_rate(settings.learning_rate as f32)
            .set_subsample(settings.subsample as f32)
            // The crate reads `subsample` only with random sampling.
            .set_sample_method(match settings.subsample < 1.0 {
                true => SampleMethod::Random,
                false => SampleMethod::None,
            })
            .set_seed(settings.seed)
            .set_parallel(false)
            .set_evaluation_metric(stopping.then_some(Metric::LogLoss))
            .set_early_stopping_rounds(stopping.then_some(settings.early_stopping));
        let ones;
        let evaluation = match validation {
            Some((columns, labels)) if stopping => {
                ones = vec![1.0; labels.len()];
                Some(vec![(columns.matrix(), labels, ones.as_slice())])
            }
            _ => None,
        };
        booster
            .fit(&train.matrix(), labels, weights, evaluation)
            .map_err(|e| anyhow!("the boosted trees could not be fitted: {e}"))?;
        Ok(Self(booster))
    }

    /// The probability of the positive class for each row.
    pub fn probabilities(&self, rows: &Columns) -> Vec<f32> {
        (self.0.predict(&rows.matrix(), false).into_iter())
            .map(|logit| (1.0 / (1.0 + (-logit).exp())) as f32)
            .collect()
    }

    /// Trees kept (up to the best validation round when stopped early).
    pub fn rounds(&self) -> usize {
        self.0.prediction_iteration.unwrap_or(self.0.trees.len())
    }

    /// The crate's own JSON, as saved models hold it.
    pub fn to_json(&self) -> Result<String> {
        self.0
            .json_dump()
            .map_err(|e| anyhow!("the boosted trees could not be written: {e}"))
    }

    pub fn from_json(text: &str) -> Result<Self> {
        GradientBooster::from_json(text)
            .map(Self)
            .map_err(|e| anyhow!("not boosted trees this version reads: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two features, the label the first one's sign: trees find it, the probabilities agree
    /// with the crate's own predictions, and a JSON round trip keeps them bit for bit.
    #[test]
    fn trees_learn_a_split_and_survive_a_round_trip() {
        let rows = 200;
        let features: Vec<f32> = (0..rows)
            .flat_map(|i| [i as f32 / rows as f32 - 0.5, ((i * 7) % 13) as f32])
            .collect();
        let labels: Vec<f64> = (0..rows)
            .map(|i| f64::from(u8::from(i >= rows / 2)))
            .collect();
        let columns = Columns::from_rows(&features, rows, 2);
        assert_eq!(columns.values[1], features[2] as f64, "column-major");
        let settings = Boosting {
            rounds: 20,
            max_depth: 2,
            learning_rate: 0.3,
            early_stopping: 0,
            subsample: 1.0,
            seed: 0,
        };
        let trees = Trees::fit(&settings, &columns, &labels, &vec![1.0; rows], None).unwrap();
        let p = trees.probabilities(&columns);
        let right = (p.iter().zip(&labels))
            .filter(|(p, y)| (**p > 0.5) == (**y > 0.5))
            .count();
        assert_eq!(right, rows);
        let own: Vec<f32> = (trees.0.predict(&columns.matrix(), false).iter())
            .map(|l| (1.0 / (1.0 + (-l).exp())) as f32)
            .collect();
        assert_eq!(p, own);
        let back = Trees::from_json(&trees.to_json().unwrap()).unwrap();
        assert_eq!(back.probabilities(&columns), p);
        assert_eq!(trees.rounds(), 20);

        // With a subsample the seed draws each tree's rows (and only then).
        let fitted = |subsample: f64, seed: u64| {
            let settings = Boosting {
                subsample,
                seed,
                ..settings
            };
            let trees = Trees::fit(&settings, &columns, &labels, &vec![1.0; rows], None);
            trees.unwrap().probabilities(&columns)
        };
        assert_eq!(fitted(1.0, 1), fitted(1.0, 2));
        assert_eq!(fitted(0.5, 1), fitted(0.5, 1));
        assert_ne!(fitted(0.5, 1), fitted(0.5, 2));
    }
}
