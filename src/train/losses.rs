//! Training losses on tensors.

use burn::tensor::activation::softplus;
use burn::tensor::{Device, Tensor, TensorData};

/// Mean binary cross-entropy of `sigmoid(logits)` against 0/1 `labels`, computed from the
/// logits (`softplus(z) − y·z`): the same value as BCE on the probability, without its
/// overflow at saturated outputs.
pub fn bce_with_logits(logits: Tensor<2>, labels: Tensor<2>) -> Tensor<1> {
    (softplus(logits.clone(), 1.0) - labels * logits).mean()
}

/// Which rows of a minibatch belong to which sensitive group, for the DP loss.
pub struct GroupMasks {
    /// `[rows, groups present]` one-hot membership divided by the group's row count, so that
    /// `probabilitiesᵀ · weights` gives each present group's mean probability.
    weights: Tensor<2>,
}

impl GroupMasks {
    /// `None` when fewer than two groups are present: there is no gap to close, and the
    /// fairness loss of such a batch is taken as zero (no NaN from an empty group's mean).
    pub fn new(groups: &[u32], n_groups: usize, device: &Device) -> Option<Self> {
        let mut counts = vec![0usize; n_groups];
        for &g in groups {
            counts[g as usize] += 1;
        }
        let present: Vec<usize> = (0..n_groups).filter(|&g| counts[g] > 0).collect();
        if present.len() < 2 {
            return None;
        }
        let mut weights = vec![0.0f32; groups.len() * present.len()];
        for (row, &g) in groups.iter().enumerate() {
            let column = present
                .iter()
                .position(|&p| p == g as usize)
                .unwrap_or_default();
            weights[row * present.len() + column] = 1.0 / counts[g as usize] as f32;
        }
        let weights = Tensor::from_data(
            TensorData::new(weights, [groups.len(), present.len()]),
            device,
        );
        Some(Self { weights })
    }

    /// Each present group's mean of `values` (`[rows, 1]`), as `[1, groups present]`.
    fn group_means(&self, values: Tensor<2>) -> Tensor<2> {
        values.transpose().matmul(self.weights.clone())
    }
}

/// Demographic-parity loss: the squared largest gap between groups' mean predicted
/// probabilities in the batch. For two groups, (μ₀ − μ₁)².
pub fn dp_squared_gap(probabilities: Tensor<2>, masks: &GroupMasks) -> Tensor<1> {
    let means = masks.group_means(probabilities);
    let gap = means.clone().max() - means.min();
    gap.square()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::activation::sigmoid;

    fn tensor(values: &[f32]) -> Tensor<2> {
        Tensor::from_data(
            TensorData::new(values.to_vec(), [values.len(), 1]),
            &Device::flex(),
        )
    }

    fn scalar(t: Tensor<1>) -> f32 {
        t.into_scalar::<f32>()
    }

    #[test]
    fn bce_from_logits_matches_bce_on_probabilities() {
        let logits = [2.0f32, -1.0, 0.5];
        let labels = [1.0f32, 0.0, 0.0];
        let expected: f32 = logits
            .iter()
            .zip(labels)
            .map(|(&z, y)| {
                let p = 1.0 / (1.0 + (-z).exp());
                -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
            })
            .sum::<f32>()
            / 3.0;
        let got = scalar(bce_with_logits(tensor(&logits), tensor(&labels)));
        assert!((got - expected).abs() < 1e-6, "{got} vs {expected}");
    }

    #[test]
    fn dp_loss_is_the_squared_gap_of_group_means() {
        let device = Device::flex();
        let probabilities = tensor(&[0.9, 0.2, 0.6, 0.4, 0.7, 0.1]);
        let masks = GroupMasks::new(&[0, 0, 0, 1, 1, 1], 2, &device).unwrap();
        // Means 1.7/3 and 1.2/3: gap 1/6.
        let got = scalar(dp_squared_gap(probabilities, &masks));
        assert!((got - 1.0 / 36.0).abs() < 1e-6, "{got}");
    }

    #[test]
    fn dp_loss_takes_the_largest_gap_over_present_groups() {
        let device = Device::flex();
        let probabilities = sigmoid(tensor(&[0.0, 0.0, 0.0, 0.0]));
        let masks = GroupMasks::new(&[0, 2, 2, 3], 5, &device).unwrap();
        assert_eq!(scalar(dp_squared_gap(probabilities, &masks)), 0.0);
        let probabilities = tensor(&[0.1, 0.5, 0.7, 0.9]);
        // Group means: 0.1, 0.6, 0.9 → largest gap 0.8.
        let got = scalar(dp_squared_gap(probabilities, &masks));
        assert!((got - 0.64).abs() < 1e-6, "{got}");
    }

    #[test]
    fn a_batch_with_one_group_has_no_dp_loss() {
        assert!(GroupMasks::new(&[1, 1, 1], 2, &Device::flex()).is_none());
    }
}
