//! FairBiNN, Algorithm 1 of the paper: per iteration, a leader step on BCE that updates θa
//! only (the fairness block held fixed) and a follower step on η·(fairness loss) that updates
//! θf only (θa held fixed). Each player has its own Adam. The order of the two steps, the
//! follower's minibatch and its number of steps are options (`TrainSpec`).
//!
//! `fairbinn-reference` reproduces the authors' released update rule (METHOD.md, "where the
//! authors' code differs" 2): the leader's Adam receives ∇θa BCE plus ∇θa(η·fairness loss)
//! taken with the fairness block as it was at the start of the iteration, because their code
//! zeroes gradients once per iteration. The leader then also descends the fairness loss. The
//! leaked gradient is taken on the leader's minibatch.
//!
//! Each half-step builds only the graph it needs: the leader's forward pass treats the
//! fairness block as constants, the follower's starts from the block's (detached) input and
//! treats the layers after it as constants, so no gradient is computed for the other player.

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};

use super::autodiff::{Batch, adam};
use super::losses::bce_with_logits;
use super::{LearningRates, StepOrder, TrainSpec};
use crate::model::{FairNet, FairnessBlock};

/// Which bilevel update rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateRule {
    /// The paper's Algorithm 1: each player on its own loss only.
    Paper,
    /// The authors' code: the leader's gradient also holds ∇θa(η·fairness loss).
    AuthorsCode,
}

pub struct Bilevel {
    leader: ModuleOptimizer,
    follower: ModuleOptimizer,
    eta: f64,
    order: StepOrder,
    rule: UpdateRule,
}

impl Bilevel {
    pub fn new(spec: &TrainSpec, rule: UpdateRule) -> Self {
        Self {
            leader: adam(),
            follower: adam(),
            eta: spec.eta,
            order: spec.step_order,
            rule,
        }
    }

    /// One iteration: a leader step on `leader`'s batch and a follower step on each of
    /// `followers`, in the configured order.
    pub fn step(
        &mut self,
        mut model: FairNet,
        leader: &Batch,
        followers: &[&Batch],
        rates: LearningRates,
    ) -> FairNet {
        let block_at_start =
            (self.rule == UpdateRule::AuthorsCode).then(|| model.fairness.clone().no_grad());
        if self.order == StepOrder::FollowerFirst {
            for batch in followers {
                model = self.follower_step(model, batch, rates.fairness);
            }
        }
        model = self.leader_step(model, leader, block_at_start.as_ref(), rates.accuracy);
        if self.order == StepOrder::LeaderFirst {
            for batch in followers {
                model = self.follower_step(model, batch, rates.fairness);
            }
        }
        model
    }

    /// θa ← Adam(∇θa BCE), θf fixed. With `leaked_from`, a fairness block, the gradient also
    /// holds ∇θa(η·fairness loss) through that block.
    pub(super) fn leader_step(
        &mut self,
        mut model: FairNet,
        batch: &Batch,
        leaked_from: Option<&FairnessBlock>,
        learning_rate: f64,
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
        if let (Some(block), Some(fairness)) = (leaked_from, &batch.fairness) {
            loss = loss + fairness.loss(through(block)).mul_scalar(self.eta);
        }
        let gradients = GradientsParams::from_grads(loss.backward(), &model.accuracy);
        model.accuracy = self.leader.step(learning_rate, model.accuracy, gradients);
        model
    }

    /// θf ← Adam(∇θf η·fairness loss), θa fixed.
    pub(super) fn follower_step(
        &mut self,
        mut model: FairNet,
        batch: &Batch,
        learning_rate: f64,
    ) -> FairNet {
        let Some(fairness) = &batch.fairness else {
            return model; // No fairness loss on this batch (see losses.rs).
        };
        let fixed_accuracy = model.accuracy.clone().no_grad();
        let block_input = fixed_accuracy.before_block(batch.inputs.clone()).detach();
        let logits = fixed_accuracy.after_block(model.fairness.forward(block_input));
        let loss = fairness.loss(logits).mul_scalar(self.eta);
        let gradients = GradientsParams::from_grads(loss.backward(), &model.fairness);
        model.fairness = self.follower.step(learning_rate, model.fairness, gradients);
        model
    }
}

#[cfg(test)]
mod tests {
    use burn::nn::Linear;
    use burn::optim::SgdConfig;
    use burn::tensor::{Device, Tensor, TensorData};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::model::Architecture;
    use crate::train::losses::{FairnessLoss, FairnessTarget};
    use crate::train::{FollowerBatch, Method};

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

    const RATE: f64 = 1e-2;

    /// Layers before and after the block, so that both players' parameters sit on both sides
    /// of the other's.
    fn setup(rule: UpdateRule) -> (Bilevel, FairNet, Batch) {
        let device = Device::flex().autodiff();
        let architecture = Architecture {
            accuracy_layers: 2,
            fairness_layers: 1,
            fairness_position: 2,
            width: Some(5),
        };
        let model = FairNet::new(&architecture, 3, &mut ChaCha8Rng::seed_from_u64(1), &device);
        let spec = TrainSpec {
            lr_acc: RATE,
            lr_fair: RATE,
            eta: 10.0,
            follower_batch: FollowerBatch::Same,
            seed: 1,
            ..TrainSpec::for_tests(Method::FairBiNN)
        };
        let inputs = [
            0.1f32, 0.9, 0.3, 0.8, 0.2, 0.5, 0.4, 0.4, 0.9, 0.0, 0.7, 0.6,
        ];
        let labels = [1.0f32, 0.0, 1.0, 0.0];
        let batch = Batch {
            inputs: Tensor::from_data(TensorData::new(inputs.to_vec(), [4, 3]), &device),
            labels: Tensor::from_data(TensorData::new(labels.to_vec(), [4, 1]), &device),
            fairness: FairnessTarget::new(
                FairnessLoss::DpSquared,
                &[0, 0, 1, 1],
                &labels,
                2,
                &device,
            ),
        };
        (Bilevel::new(&spec, rule), model, batch)
    }

    #[test]
    fn leader_step_moves_theta_a_only() {
        let (mut bilevel, model, batch) = setup(UpdateRule::Paper);
        let (a_before, f_before) = (theta_a(&model), theta_f(&model));
        let model = bilevel.leader_step(model, &batch, None, RATE);
        assert_eq!(theta_f(&model), f_before, "the leader step changed θf");
        assert_ne!(
            theta_a(&model),
            a_before,
            "the leader step left θa unchanged"
        );
    }

    #[test]
    fn follower_step_moves_theta_f_only() {
        let (mut bilevel, model, batch) = setup(UpdateRule::Paper);
        let (a_before, f_before) = (theta_a(&model), theta_f(&model));
        let model = bilevel.follower_step(model, &batch, RATE);
        assert_eq!(theta_a(&model), a_before, "the follower step changed θa");
        assert_ne!(
            theta_f(&model),
            f_before,
            "the follower step left θf unchanged"
        );
    }

    #[test]
    fn the_step_order_decides_which_player_sees_the_others_update() {
        let rates = LearningRates {
            accuracy: RATE,
            fairness: RATE,
        };
        let (mut leader_first, model, batch) = setup(UpdateRule::Paper);
        let (a_start, f_start) = (theta_a(&model), theta_f(&model));
        let after_leader_first = leader_first.step(model, &batch, &[&batch], rates);
        let (mut follower_first, model, _) = setup(UpdateRule::Paper);
        follower_first.order = StepOrder::FollowerFirst;
        let after_follower_first = follower_first.step(model, &batch, &[&batch], rates);
        for model in [&after_leader_first, &after_follower_first] {
            assert_ne!(theta_a(model), a_start);
            assert_ne!(theta_f(model), f_start);
        }
        assert_ne!(theta_a(&after_leader_first), theta_a(&after_follower_first));
        assert_ne!(theta_f(&after_leader_first), theta_f(&after_follower_first));
    }

    /// With plain SGD, the authors' leader update must differ from the paper's by exactly
    /// −lr·∇θa(η·fairness loss): the fairness gradient accumulated, not zeroed, before the
    /// leader's optimizer steps.
    #[test]
    fn the_authors_rule_adds_exactly_the_fairness_gradient_to_the_leaders_step() {
        let sgd = || SgdConfig::new().init();
        let (mut paper, model, batch) = setup(UpdateRule::Paper);
        paper.leader = sgd();
        let start = theta_a(&model);
        let block = model.fairness.clone().no_grad();
        let bce_only = theta_a(&paper.leader_step(model.clone(), &batch, None, RATE));
        let with_leak = theta_a(&paper.leader_step(model.clone(), &batch, Some(&block), RATE));

        // ∇θa(η·fairness loss) alone, read off one SGD step of rate 1 on that loss.
        let logits = model.logits(batch.inputs.clone());
        let loss = batch
            .fairness
            .as_ref()
            .unwrap()
            .loss(logits)
            .mul_scalar(paper.eta);
        let gradients = GradientsParams::from_grads(loss.backward(), &model.accuracy);
        let mut model = model;
        model.accuracy = sgd().step(1.0, model.accuracy, gradients);
        let fairness_gradient: Vec<f32> = start
            .iter()
            .zip(theta_a(&model))
            .map(|(a, b)| a - b)
            .collect();

        assert!(
            fairness_gradient.iter().any(|g| g.abs() > 1e-4),
            "no fairness gradient"
        );
        for i in 0..start.len() {
            let difference = with_leak[i] - bce_only[i];
            let expected = -(RATE as f32) * fairness_gradient[i];
            assert!(
                (difference - expected).abs() < 1e-6,
                "parameter {i}: the leak moved it by {difference}, −lr·∇ is {expected}"
            );
        }
    }

    #[test]
    fn the_authors_rule_leaks_into_theta_a_only() {
        let rates = LearningRates {
            accuracy: RATE,
            fairness: RATE,
        };
        let (mut paper, paper_model, batch) = setup(UpdateRule::Paper);
        let (mut authors, authors_model, _) = setup(UpdateRule::AuthorsCode);
        let paper_model = paper.step(paper_model, &batch, &[], rates);
        let authors_model = authors.step(authors_model, &batch, &[], rates);
        assert_ne!(theta_a(&paper_model), theta_a(&authors_model));
        assert_eq!(theta_f(&paper_model), theta_f(&authors_model));
    }
}
