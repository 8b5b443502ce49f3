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

/// Split `0..n_rows` into (kept, held-out) row indices with a seeded shuffle, `fraction`
/// held out. Both lists come back sorted, so training keeps the file's order.
pub fn seeded_split(n_rows: usize, fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut order: Vec<usize> = (0..n_rows).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let n_held_out = (n_rows as f64 * fraction).round() as usize;
    let mut held_out = order[..n_held_out].to_vec();
    let mut kept = order[n_held_out..].to_vec();
    held_out.sort_unstable();
    kept.sort_unstable();
    (kept, held_out)
}

/// [`seeded_split`] within each stratum: rows with the same `strata` value are shuffled
/// together and `fraction` of each (rounded) held out, so every stratum keeps its share on
/// both sides. Both lists come back sorted.
pub fn stratified_split(strata: &[u32], fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut members: std::collections::BTreeMap<u32, Vec<usize>> = Default::default();
    for (i, &stratum) in strata.iter().enumerate() {
        members.entry(stratum).or_default().push(i);
    }
    let (mut kept, mut held_out) = (Vec::new(), Vec::new());
    for rows in members.values_mut() {
        rows.shuffle(&mut rng);
        let n_held_out = (rows.len() as f64 * fraction).round() as usize;
        held_out.extend_from_slice(&rows[..n_held_out]);
        kept.extend_from_slice(&rows[n_held_out..]);
    }
    held_out.sort_unstable();
    kept.sort_unstable();
    (kept, held_out)
}

/// Per-feature scaling `(x − offset) / divisor`, fitted on one split and applied to others.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Scaler {
    offset: Vec<f32>,
    divisor: Vec<f32>,
}

impl Scaler {
    /// The features it scales.
    pub fn width(&self) -> usize {
        self.offset.len().min(self.divisor.len())
    }

    /// To [0, 1] over the fitted split's range.
    pub fn min_max(split: &Split) -> Self {
        let mut min = vec![f32::INFINITY; split.n_features];
        let mut max = vec![f32::NEG_INFINITY; split.n_features];
        for row in split.features.chunks_exact(split.n_features) {
            for (j, &value) in row.iter().enumerate() {
                min[j] = min[j].min(value);
                max[j] = max[j].max(value);
            }
        }
        let divisor = max.iter().zip(&min).map(|(max, min)| max - min).collect();
        Self {
            offset: min,
            divisor,
        }
    }

    /// To mean 0 and standard deviation 1 on the fitted split.
    pub fn standard(split: &Split) -> Self {
        let n = split.n_rows().max(1) as f64;
        let mut sum = vec![0.0f64; split.n_features];
        let mut squares = vec![0.0f64; split.n_features];
        for row in split.features.chunks_exact(split.n_features) {
            for (j, &value) in row.iter().enumerate() {
                sum[j] += f64::from(value);
                squares[j] += f64::from(value).powi(2);
            }
        }
        let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
        let divisor = squares
            .iter()
            .zip(&mean)
            .map(|(sq, m)| (sq / n - m * m).max(0.0).sqrt() as f32)
            .collect();
        Self {
            offset: mean.iter().map(|&m| m as f32).collect(),
            divisor,
        }
    }

    /// Scale in place. A feature constant on the fitted split maps to 0. Values outside the
    /// fitted range (test rows) are not clipped.
    pub fn apply(&self, split: &mut Split) {
        self.apply_to(&mut split.features);
    }

    /// [`apply`](Self::apply) to rows of features, one after the other.
    pub fn apply_to(&self, features: &mut [f32]) {
        for row in features.chunks_exact_mut(self.offset.len()) {
            for (j, value) in row.iter_mut().enumerate() {
                *value = if self.divisor[j] > 0.0 {
                    (*value - self.offset[j]) / self.divisor[j]
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
        let mut test = split(vec![20.0, 5.0, -5.0, 7.0], 2);
        Scaler::min_max(&train).apply(&mut test);
        // Column 0 spans 0..10 on train; column 1 is constant there and maps to 0.
        assert_eq!(test.features, vec![2.0, 0.0, -0.5, 0.0]);
    }

    #[test]
    fn standard_scaler_uses_the_fitted_mean_and_deviation() {
        // Column 0: 0, 10, 5 → mean 5, population std √(50/3).
        let train = split(vec![0.0, 1.0, 10.0, 1.0, 5.0, 1.0], 2);
        let mut test = split(vec![15.0, 3.0], 2);
        Scaler::standard(&train).apply(&mut test);
        assert!((test.features[0] - 10.0 / (50.0f32 / 3.0).sqrt()).abs() < 1e-6);
        assert_eq!(test.features[1], 0.0);
    }

    #[test]
    fn seeded_split_is_seeded_sorted_and_complete() {
        let (train, validation) = seeded_split(10, 0.2, 7);
        assert_eq!(validation.len(), 2);
        assert_eq!(train.len(), 8);
        let mut all: Vec<usize> = train.iter().chain(&validation).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        assert!(train.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(seeded_split(10, 0.2, 7), (train, validation));
        assert_ne!(seeded_split(10, 0.2, 8).1, seeded_split(10, 0.2, 7).1);
    }

    /// Each stratum keeps its share on both sides; the same seed gives the same split, another
    /// seed another.
    #[test]
    fn a_stratified_split_keeps_each_strata_share() {
        // 100 rows of stratum 0, 40 of 1, 10 of 2, interleaved.
        let strata: Vec<u32> = (0..150)
            .map(|i| match i % 15 {
                0 => 2,
                1..=4 => 1,
                _ => 0,
            })
            .collect();
        let (kept, held_out) = stratified_split(&strata, 0.3, 5);
        let count = |rows: &[usize], s: u32| rows.iter().filter(|&&i| strata[i] == s).count();
        assert_eq!(
            [0, 1, 2].map(|s| count(&held_out, s)),
            [30, 12, 3],
            "30% of each stratum"
        );
        assert_eq!([0, 1, 2].map(|s| count(&kept, s)), [70, 28, 7]);
        let mut all: Vec<usize> = kept.iter().chain(&held_out).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..150).collect::<Vec<_>>());
        assert!(held_out.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(stratified_split(&strata, 0.3, 5), (kept, held_out.clone()));
        assert_ne!(stratified_split(&strata, 0.3, 6).1, held_out);
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
