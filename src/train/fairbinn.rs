//! FairBiNN, Algorithm 1 of the paper: per minibatch, a leader step on BCE that updates θa
//! only (the fairness block held fixed), then a follower step on η·DP loss that updates θf
//! only (θa held fixed). Each player has its own Adam.
//!
//! `fairbinn-reference` reproduces the authors' released update rule instead (METHOD.md,
//! "where the authors' code differs" 1–2): the follower steps first, then the leader, on the
//! same minibatch, and the leader's Adam receives ∇θa BCE plus ∇θa(η·DP) taken before the
//! follower's step, because their code zeroes gradients once per iteration. The leader then
//! also descends the fairness loss.
//!
//! Each half-step builds only the graph it needs: the leader's forward pass treats the
//! fairness block as constants, the follower's starts from the block's (detached) input and
//! treats the layers after it as constants, so no gradient is computed for the other player.

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::activation::sigmoid;

use super::losses::{bce_with_logits, dp_squared_gap};
use super::{Batch, TrainSpec, adam};
use crate::model::{FairNet, FairnessBlock};

/// Which bilevel update rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateRule {
    /// The paper's Algorithm 1: leader then follower, each on its own loss only.
    Paper,
    /// The authors' code: follower then leader, the leader's gradient including ∇θa(η·DP).
    AuthorsCode,
}

pub struct Bilevel {
    leader: ModuleOptimizer,
    follower: ModuleOptimizer,
    lr_acc: f64,
    lr_fair: f64,
    eta: f64,
    rule: UpdateRule,
}

impl Bilevel {
    pub fn new(spec: &TrainSpec, rule: UpdateRule) -> Self {
        Self {
            rule,
            leader: adam(),
            follower: adam(),
            lr_acc: spec.lr_acc,
            lr_fair: spec.lr_fair,
            eta: spec.eta,
        }
    }

    pub fn step(&mut self, model: FairNet, batch: &Batch) -> FairNet {
        match self.rule {
            UpdateRule::Paper => {
                let model = self.leader_step(model, batch, None);
                self.follower_step(model, batch)
            }
            UpdateRule::AuthorsCode => {
                let block_before = model.fairness.clone().no_grad();
                let model = self.follower_step(model, batch);
                self.leader_step(model, batch, Some(&block_before))
            }
        }
    }

    /// θa ← Adam(∇θa BCE), θf fixed. With `leaked_from`, the fairness block as it was before
    /// the follower's step, the gradient also holds ∇θa(η·DP) through that block.
    pub(super) fn leader_step(
        &mut self,
        mut model: FairNet,
        batch: &Batch,
        leaked_from: Option<&FairnessBlock>,
    ) -> FairNet {
        // The layers before the block are shared by both losses: run them once.
        let block_input = model.accuracy.before_block(batch.inputs.clone());
        let through = |block: &FairnessBlock| {
            model
                .accuracy
                .after_block(block.forward(block_input.clone()))
        };
        let fixed_block = model.fairness.clone().no_grad();
        let mut loss = bce_with_logits(through(&fixed_block), batch.labels.clone());
        if let (Some(block), Some(groups)) = (leaked_from, &batch.groups) {
            let probabilities = sigmoid(through(block));
            loss = loss + dp_squared_gap(probabilities, groups).mul_scalar(self.eta);
        }
        let gradients = GradientsParams::from_grads(loss.backward(), &model.accuracy);
        model.accuracy = self.leader.step(self.lr_acc, model.accuracy, gradients);
        model
    }

    /// θf ← Adam(∇θf η·DP), θa fixed.
    pub(super) fn follower_step(&mut self, mut model: FairNet, batch: &Batch) -> FairNet {
        let Some(groups) = &batch.groups else {
            return model; // One group only: no fairness gap to close in this batch.
        };
        let fixed_accuracy = model.accuracy.clone().no_grad();
        let block_input = fixed_accuracy.before_block(batch.inputs.clone()).detach();
        let logits = fixed_accuracy.after_block(model.fairness.forward(block_input));
        let loss = dp_squared_gap(sigmoid(logits), groups).mul_scalar(self.eta);
        let gradients = GradientsParams::from_grads(loss.backward(), &model.fairness);
        model.fairness = self.follower.step(self.lr_fair, model.fairness, gradients);
        model
    }
}

#[cfg(test)]
mod tests {
    use burn::nn::Linear;
    use burn::tensor::{Device, Tensor, TensorData};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::model::Architecture;
    use crate::train::{Method, losses::GroupMasks};

    fn values(layers: &[&Linear]) -> Vec<f32> {
        let mut all = Vec::new();
        for layer in layers {
            all.extend(layer.weight.val().into_data().try_to_vec::<f32>().unwrap());
            all.extend(
                layer
                    .bias
                    .as_ref()
                    .unwrap()
                    .val()
                    .into_data()
                    .try_to_vec::<f32>()
                    .unwrap(),
            );
        }
        all
    }

    fn theta_a(model: &FairNet) -> Vec<f32> {
        let a = &model.accuracy;
        values(
            &a.before
                .iter()
                .chain(&a.after)
                .chain([&a.output])
                .collect::<Vec<_>>(),
        )
    }

    fn theta_f(model: &FairNet) -> Vec<f32> {
        values(&model.fairness.layers.iter().collect::<Vec<_>>())
    }

    /// Layers before and after the block, so that both players' parameters sit on both sides
    /// of the other's.
    fn setup() -> (Bilevel, FairNet, Batch) {
        let device = Device::flex().autodiff();
        let architecture = Architecture {
            accuracy_layers: 2,
            fairness_layers: 1,
            fairness_position: 2,
            width: Some(5),
        };
        let model = FairNet::new(&architecture, 3, &mut ChaCha8Rng::seed_from_u64(1), &device);
        let spec = TrainSpec {
            method: Method::FairBiNN,
            epochs: 1,
            batch_size: 4,
            lr_acc: 1e-2,
            lr_fair: 1e-2,
            eta: 10.0,
            seed: 1,
        };
        let inputs = [
            0.1f32, 0.9, 0.3, 0.8, 0.2, 0.5, 0.4, 0.4, 0.9, 0.0, 0.7, 0.6,
        ];
        let batch = Batch {
            inputs: Tensor::from_data(TensorData::new(inputs.to_vec(), [4, 3]), &device),
            labels: Tensor::from_data(
                TensorData::new(vec![1.0f32, 0.0, 1.0, 0.0], [4, 1]),
                &device,
            ),
            groups: GroupMasks::new(&[0, 0, 1, 1], 2, &device),
        };
        (Bilevel::new(&spec, UpdateRule::Paper), model, batch)
    }

    #[test]
    fn leader_step_moves_theta_a_only() {
        let (mut bilevel, model, batch) = setup();
        let (a_before, f_before) = (theta_a(&model), theta_f(&model));
        let model = bilevel.leader_step(model, &batch, None);
        assert_eq!(theta_f(&model), f_before, "the leader step changed θf");
        assert_ne!(
            theta_a(&model),
            a_before,
            "the leader step left θa unchanged"
        );
    }

    #[test]
    fn follower_step_moves_theta_f_only() {
        let (mut bilevel, model, batch) = setup();
        let (a_before, f_before) = (theta_a(&model), theta_f(&model));
        let model = bilevel.follower_step(model, &batch);
        assert_eq!(theta_a(&model), a_before, "the follower step changed θa");
        assert_ne!(
            theta_f(&model),
            f_before,
            "the follower step left θf unchanged"
        );
    }

    #[test]
    fn a_full_step_moves_both_players() {
        let (mut bilevel, model, batch) = setup();
        let (a_before, f_before) = (theta_a(&model), theta_f(&model));
        let model = bilevel.step(model, &batch);
        assert_ne!(theta_a(&model), a_before);
        assert_ne!(theta_f(&model), f_before);
    }

    #[test]
    fn the_authors_rule_leaks_the_fairness_gradient_into_theta_a_only() {
        let (mut paper, paper_model, batch) = setup();
        let (mut authors, authors_model, _) = setup();
        assert_eq!(
            theta_a(&paper_model),
            theta_a(&authors_model),
            "same seed, same start"
        );
        let block = authors_model.fairness.clone().no_grad();
        let paper_model = paper.leader_step(paper_model, &batch, None);
        let authors_model = authors.leader_step(authors_model, &batch, Some(&block));
        assert_ne!(theta_a(&paper_model), theta_a(&authors_model));
        assert_eq!(theta_f(&paper_model), theta_f(&authors_model));
    }
}
