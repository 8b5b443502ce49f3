//! Training losses on tensors: BCE for the accuracy player and the fairness losses a trial
//! can choose (`train.fairness_loss`).
//!
//! A minibatch need not hold every sensitive group. The DP losses compare the groups present;
//! a batch with fewer than two groups present (for `dp-reference`: without group 0) has no
//! fairness loss, so the follower skips that batch and the fairness term is left out, rather
//! than taking the mean of an empty group (NaN). For `eo`, a label stratum with fewer than two
//! groups present contributes no gap.

use burn::tensor::activation::{sigmoid, softplus};
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

/// Mean binary cross-entropy of `sigmoid(logits)` against 0/1 `labels`, computed from the
/// logits (`softplus(z) − y·z`): the same value as BCE on the probability, without its
/// overflow at saturated outputs.
pub fn bce_with_logits(logits: Tensor<2>, labels: Tensor<2>) -> Tensor<1> {
    (softplus(logits.clone(), 1.0) - labels * logits).mean()
}

/// Which fairness loss the fairness player (or the Lagrangian penalty) uses, before η.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FairnessLoss {
    /// Largest gap between groups' mean predicted probability, squared.
    DpSquared,
    /// The same gap, not squared: the paper's |E[f | a=0] − E[f | a=1]|.
    DpAbs,
    /// The authors' code: ½(μ₀ − μ_all)² on sigmoid of the probability (sigmoid applied
    /// twice), group 0 against the whole batch, whatever the number of groups.
    DpReference,
    /// Equalized odds (the paper's appendix): the larger of the TPR and FPR gaps, each the
    /// largest gap between groups' mean probability among rows of that label.
    Eo,
    /// Equal opportunity: the TPR gap alone, the largest gap between groups' mean
    /// probability among the positive rows.
    EqualOpportunity,
}

super::knob::choice_names!(FairnessLoss {
    DpSquared => "dp-squared",
    DpAbs => "dp-abs",
    DpReference => "dp-reference",
    Eo => "eo",
    EqualOpportunity => "equal-opportunity",
});

/// A minibatch's fairness loss as plain per-row weights, computed once per batch: the burn
/// engine puts them on its device ([`FairnessTarget`]), the fused engine reads them as they are.
pub enum FairnessWeights {
    Dp {
        means: GroupWeights,
        squared: bool,
    },
    /// `[rows, 2]`: group 0's mean, then the whole batch's.
    Reference {
        weights: Vec<f32>,
    },
    Eo {
        positives: Option<GroupWeights>,
        negatives: Option<GroupWeights>,
    },
}

impl FairnessWeights {
    /// `None` when the batch has no such loss (see the module comment).
    pub fn new(
        loss: FairnessLoss,
        groups: &[u32],
        labels: &[f32],
        n_groups: usize,
    ) -> Option<Self> {
        let all = |_: usize| true;
        match loss {
            FairnessLoss::DpSquared | FairnessLoss::DpAbs => Some(Self::Dp {
                means: GroupWeights::new(groups, n_groups, all)?,
                squared: loss == FairnessLoss::DpSquared,
            }),
            FairnessLoss::DpReference => {
                let n_first = groups.iter().filter(|&&g| g == 0).count();
                if n_first == 0 || n_first == groups.len() {
                    return None;
                }
                let weights = groups
                    .iter()
                    .flat_map(|&g| {
                        let first = if g == 0 { 1.0 / n_first as f32 } else { 0.0 };
                        [first, 1.0 / groups.len() as f32]
                    })
                    .collect();
                Some(Self::Reference { weights })
            }
            FairnessLoss::Eo => {
                let positives = GroupWeights::new(groups, n_groups, |row| labels[row] > 0.5);
                let negatives = GroupWeights::new(groups, n_groups, |row| labels[row] <= 0.5);
                (positives.is_some() || negatives.is_some()).then_some(Self::Eo {
                    positives,
                    negatives,
                })
            }
            // Equalized odds' positive stratum alone.
            FairnessLoss::EqualOpportunity => Some(Self::Eo {
                positives: Some(GroupWeights::new(groups, n_groups, |row| {
                    labels[row] > 0.5
                })?),
                negatives: None,
            }),
        }
    }
}

/// Each present group's mean over a subset of a batch's rows, as weights: `[rows, present]`,
/// the one-hot membership of the included rows divided by the group's count among them, so
/// that `valuesᵀ · weights` gives each group's mean.
pub struct GroupWeights {
    pub weights: Vec<f32>,
    pub present: usize,
}

impl GroupWeights {
    /// `None` when fewer than two groups have an included row.
    pub fn new(groups: &[u32], n_groups: usize, include: impl Fn(usize) -> bool) -> Option<Self> {
        let mut counts = vec![0usize; n_groups];
        for (row, &g) in groups.iter().enumerate() {
            if include(row) {
                counts[g as usize] += 1;
            }
        }
        let present: Vec<usize> = (0..n_groups).filter(|&g| counts[g] > 0).collect();
        if present.len() < 2 {
            return None;
        }
        let mut weights = vec![0.0f32; groups.len() * present.len()];
        for (row, &g) in groups.iter().enumerate() {
            if include(row) {
                let column = present
                    .iter()
                    .position(|&p| p == g as usize)
                    .unwrap_or_default();
                weights[row * present.len() + column] = 1.0 / counts[g as usize] as f32;
            }
        }
        Some(Self {
            weights,
            present: present.len(),
        })
    }

    fn on(&self, device: &Device) -> GroupMeans {
        let rows = self.weights.len() / self.present;
        let data = TensorData::new(self.weights.clone(), [rows, self.present]);
        GroupMeans {
            weights: Tensor::from_data(data, device),
        }
    }
}

/// [`FairnessWeights`] on a burn device.
// Built and used within one minibatch's step, never stored: the size of its largest
// variant costs nothing, and boxing it would allocate every step.
#[allow(clippy::large_enum_variant)]
pub enum FairnessTarget {
    Dp {
        means: GroupMeans,
        squared: bool,
    },
    Reference {
        weights: Tensor<2>,
    },
    Eo {
        positives: Option<GroupMeans>,
        negatives: Option<GroupMeans>,
    },
}

impl FairnessTarget {
    /// `None` when the batch has no such loss (see the module comment).
    pub fn new(
        loss: FairnessLoss,
        groups: &[u32],
        labels: &[f32],
        n_groups: usize,
        device: &Device,
    ) -> Option<Self> {
        let weights = FairnessWeights::new(loss, groups, labels, n_groups)?;
        Some(match weights {
            FairnessWeights::Dp { means, squared } => Self::Dp {
                means: means.on(device),
                squared,
            },
            FairnessWeights::Reference { weights } => Self::Reference {
                weights: Tensor::from_data(TensorData::new(weights, [groups.len(), 2]), device),
            },
            FairnessWeights::Eo {
                positives,
                negatives,
            } => Self::Eo {
                positives: positives.map(|p| p.on(device)),
                negatives: negatives.map(|n| n.on(device)),
            },
        })
    }

    /// The loss of the network's `logits` on this batch (`[rows, 1]`), before η.
    pub fn loss(&self, logits: Tensor<2>) -> Tensor<1> {
        match self {
            Self::Dp { means, squared } => {
                let gap = means.largest_gap(sigmoid(logits));
                if *squared { gap.square() } else { gap }
            }
            Self::Reference { weights } => {
                let means = sigmoid(sigmoid(logits)).transpose().matmul(weights.clone());
                let [first, all] = [0, 1].map(|i| means.clone().slice([0..1, i..i + 1]));
                (first - all).square().reshape([1]).mul_scalar(0.5)
            }
            Self::Eo {
                positives,
                negatives,
            } => {
                let probabilities = sigmoid(logits);
                let gaps: Vec<Tensor<1>> = [positives, negatives]
                    .into_iter()
                    .flatten()
                    .map(|means| means.largest_gap(probabilities.clone()))
                    .collect();
                Tensor::cat(gaps, 0).max()
            }
        }
    }
}

/// [`GroupWeights`] on a burn device.
pub struct GroupMeans {
    weights: Tensor<2>,
}

impl GroupMeans {
    /// The largest gap between the groups' means of `values` (`[rows, 1]`): max − min.
    fn largest_gap(&self, values: Tensor<2>) -> Tensor<1> {
        let means = values.transpose().matmul(self.weights.clone());
        means.clone().max() - means.min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(values: &[f32]) -> Tensor<2> {
        Tensor::from_data(
            TensorData::new(values.to_vec(), [values.len(), 1]),
            &Device::flex(),
        )
    }

    fn scalar(t: Tensor<1>) -> f32 {
        t.into_scalar::<f32>()
    }

    fn logit(p: f32) -> f32 {
        (p / (1.0 - p)).ln()
    }

    fn loss(kind: FairnessLoss, probabilities: &[f32], groups: &[u32], labels: &[f32]) -> f32 {
        let logits: Vec<f32> = probabilities.iter().map(|&p| logit(p)).collect();
        let n_groups = groups.iter().max().map_or(0, |&g| g as usize + 1);
        let target = FairnessTarget::new(kind, groups, labels, n_groups, &Device::flex())
            .expect("the batch has a fairness loss");
        scalar(target.loss(tensor(&logits)))
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

    const PROBABILITIES: [f32; 6] = [0.9, 0.2, 0.6, 0.4, 0.7, 0.1];
    const TWO_GROUPS: [u32; 6] = [0, 0, 0, 1, 1, 1];
    const LABELS: [f32; 6] = [1.0, 0.0, 1.0, 1.0, 0.0, 0.0];

    #[test]
    fn dp_losses_are_the_gap_of_group_means_squared_or_not() {
        // Means 1.7/3 and 1.2/3: gap 1/6.
        let squared = loss(
            FairnessLoss::DpSquared,
            &PROBABILITIES,
            &TWO_GROUPS,
            &LABELS,
        );
        assert!((squared - 1.0 / 36.0).abs() < 1e-6, "{squared}");
        let abs = loss(FairnessLoss::DpAbs, &PROBABILITIES, &TWO_GROUPS, &LABELS);
        assert!((abs - 1.0 / 6.0).abs() < 1e-6, "{abs}");
    }

    #[test]
    fn dp_loss_takes_the_largest_gap_over_present_groups() {
        // Groups 0, 2, 3 present out of 5; means 0.1, 0.6, 0.9 → largest gap 0.8.
        let got = loss(
            FairnessLoss::DpSquared,
            &[0.1, 0.5, 0.7, 0.9],
            &[0, 2, 2, 4],
            &[0.0; 4],
        );
        assert!((got - 0.64).abs() < 1e-6, "{got}");
    }

    #[test]
    fn dp_reference_is_half_the_squared_gap_of_group_0_to_all_after_a_second_sigmoid() {
        // By hand: s(p) = 1/(1+e^-p) of each probability, group 0 = rows 0..3.
        let s = |p: f32| 1.0 / (1.0 + (-p).exp());
        let twice: Vec<f32> = PROBABILITIES.iter().map(|&p| s(p)).collect();
        let first = (twice[0] + twice[1] + twice[2]) / 3.0;
        let all = twice.iter().sum::<f32>() / 6.0;
        let expected = 0.5 * (first - all).powi(2);
        // s(0.9) = 0.710950, s(0.2) = 0.549834, s(0.6) = 0.645656, s(0.4) = 0.598688,
        // s(0.7) = 0.668188, s(0.1) = 0.524979: μ₀ = 0.635480, μ_all = 0.616383,
        // ½ · 0.019097² = 1.8235e-4.
        assert!((expected - 1.8235e-4).abs() < 1e-7, "{expected}");
        let got = loss(
            FairnessLoss::DpReference,
            &PROBABILITIES,
            &TWO_GROUPS,
            &LABELS,
        );
        assert!((got - expected).abs() < 1e-7, "{got} vs {expected}");
    }

    #[test]
    fn eo_is_the_larger_of_the_tpr_and_fpr_gaps() {
        // y = 1: group 0 rows 0, 2 (0.9, 0.6 → 0.75), group 1 row 3 (0.4): gap 0.35.
        // y = 0: group 0 row 1 (0.2), group 1 rows 4, 5 (0.7, 0.1 → 0.4): gap 0.2.
        let got = loss(FairnessLoss::Eo, &PROBABILITIES, &TWO_GROUPS, &LABELS);
        assert!((got - 0.35).abs() < 1e-6, "{got}");
    }

    #[test]
    fn equal_opportunity_is_the_tpr_gap_alone() {
        // The batch above: its TPR gap, 0.35, is also equalized odds' (the larger).
        let got = loss(
            FairnessLoss::EqualOpportunity,
            &PROBABILITIES,
            &TWO_GROUPS,
            &LABELS,
        );
        assert!((got - 0.35).abs() < 1e-6, "{got}");
        // y = 1: 0.6 against 0.5, a gap of 0.1; y = 0: 0.9 against 0.1, 0.8, eo's.
        let (p, g, y) = ([0.6, 0.5, 0.9, 0.1], [0, 1, 0, 1], [1.0, 1.0, 0.0, 0.0]);
        let got = loss(FairnessLoss::EqualOpportunity, &p, &g, &y);
        assert!((got - 0.1).abs() < 1e-6, "{got}");
        assert!((loss(FairnessLoss::Eo, &p, &g, &y) - 0.8).abs() < 1e-6);
        // Without a positive row in a second group there is no TPR gap, whatever the rest.
        let device = Device::flex();
        let target = FairnessTarget::new(
            FairnessLoss::EqualOpportunity,
            &g,
            &[1.0, 0.0, 1.0, 0.0],
            2,
            &device,
        );
        assert!(target.is_none());
    }

    #[test]
    fn a_batch_without_two_groups_has_no_fairness_loss() {
        let device = Device::flex();
        for &kind in FairnessLoss::ALL {
            assert!(FairnessTarget::new(kind, &[1, 1, 1], &[0.0, 1.0, 1.0], 2, &device).is_none());
        }
        // dp-reference compares group 0 with the batch: without group 0 there is nothing.
        assert!(
            FairnessTarget::new(FairnessLoss::DpReference, &[1, 2], &[0.0; 2], 3, &device)
                .is_none()
        );
        // eo with one label stratum lacking a second group still has the other stratum's gap.
        let got = loss(
            FairnessLoss::Eo,
            &[0.9, 0.5, 0.2],
            &[0, 1, 1],
            &[1.0, 1.0, 0.0],
        );
        assert!((got - 0.4).abs() < 1e-6, "{got}");
    }
}
