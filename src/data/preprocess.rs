//! Preprocessing shared by the loaders: one-hot vocabularies, min-max scaling, the
//! validation split.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::Split;

/// Sorted categories seen in both the training and the test file. A category the test file
/// lacks gets no column; on Adult this drops `native-country_Holand-Netherlands`, as the
/// authors do, which gives the usual 101 features.
pub fn shared_vocabulary<'a>(
    train: impl Iterator<Item = &'a str>,
    test: impl Iterator<Item = &'a str>,
) -> Vec<String> {
    let in_train: std::collections::BTreeSet<&str> = train.collect();
    let in_test: std::collections::BTreeSet<&str> = test.collect();
    in_train
        .intersection(&in_test)
        .map(|s| s.to_string())
        .collect()
}

/// Split `0..n_rows` into (training, validation) row indices with a seeded shuffle. Both
/// lists come back sorted, so training keeps the file's order for methods that want it.
pub fn validation_split(n_rows: usize, val_fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut order: Vec<usize> = (0..n_rows).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let n_val = (n_rows as f64 * val_fraction).round() as usize;
    let mut validation = order[..n_val].to_vec();
    let mut train = order[n_val..].to_vec();
    validation.sort_unstable();
    train.sort_unstable();
    (train, validation)
}

/// The rows `indices` of `split`, in that order.
pub fn take_rows(split: &Split, indices: &[usize]) -> Split {
    let mut features = Vec::with_capacity(indices.len() * split.n_features);
    for &i in indices {
        features.extend_from_slice(split.row(i));
    }
    Split {
        features,
        n_features: split.n_features,
        labels: indices.iter().map(|&i| split.labels[i]).collect(),
        groups: indices.iter().map(|&i| split.groups[i]).collect(),
    }
}

/// Per-feature min-max scaling to [0, 1], fitted on one split and applied to others.
#[derive(Debug, Clone, PartialEq)]
pub struct MinMaxScaler {
    min: Vec<f32>,
    max: Vec<f32>,
}

impl MinMaxScaler {
    pub fn fit(split: &Split) -> Self {
        let mut min = vec![f32::INFINITY; split.n_features];
        let mut max = vec![f32::NEG_INFINITY; split.n_features];
        for row in split.features.chunks_exact(split.n_features) {
            for (j, &value) in row.iter().enumerate() {
                min[j] = min[j].min(value);
                max[j] = max[j].max(value);
            }
        }
        Self { min, max }
    }

    /// Scale in place. A feature constant on the fitted split maps to 0. Values outside the
    /// fitted range (test rows) fall outside [0, 1]; they are not clipped.
    pub fn apply(&self, split: &mut Split) {
        for row in split.features.chunks_exact_mut(split.n_features) {
            for (j, value) in row.iter_mut().enumerate() {
                let range = self.max[j] - self.min[j];
                *value = if range > 0.0 {
                    (*value - self.min[j]) / range
                } else {
                    0.0
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(features: Vec<f32>, n_features: usize) -> Split {
        let n = features.len() / n_features;
        Split {
            features,
            n_features,
            labels: vec![0.0; n],
            groups: vec![0; n],
        }
    }

    #[test]
    fn min_max_scaler_uses_the_fitted_range_only() {
        let train = split(vec![0.0, 5.0, 10.0, 5.0, 5.0, 5.0], 2);
        let scaler = MinMaxScaler::fit(&train);
        let mut test = split(vec![20.0, 5.0, -5.0, 7.0], 2);
        scaler.apply(&mut test);
        // Column 0 spans 0..10 on train; column 1 is constant there and maps to 0.
        assert_eq!(test.features, vec![2.0, 0.0, -0.5, 0.0]);
    }

    #[test]
    fn validation_split_is_seeded_sorted_and_complete() {
        let (train, validation) = validation_split(10, 0.2, 7);
        assert_eq!(validation.len(), 2);
        assert_eq!(train.len(), 8);
        let mut all: Vec<usize> = train.iter().chain(&validation).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        assert!(train.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(validation_split(10, 0.2, 7), (train, validation));
        assert_ne!(
            validation_split(10, 0.2, 8).1,
            validation_split(10, 0.2, 7).1
        );
    }

    #[test]
    fn vocabulary_keeps_categories_present_in_both_files() {
        let vocabulary = shared_vocabulary(
            ["b", "a", "Holand", "a"].into_iter(),
            ["a", "b", "c"].into_iter(),
        );
        assert_eq!(vocabulary, vec!["a", "b"]);
    }
}
