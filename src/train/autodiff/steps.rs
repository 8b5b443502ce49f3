//! The half-steps of every method's rule on burn's autodiff: one optimizer over every layer
//! (`joint_step`), the leader's step on θa and the follower's on θf, each player with its own
//! Adam. The rules that call them are in methods/.
//!
//! Each half-step builds only the graph it needs: the leader's forward pass treats the
//! fairness block as constants, the follower's starts from the block's (detached) input and
//! treats the layers after it as constants, so no gradient is computed for the other player.

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};

use super::{Batch, adam, optimizer};
use crate::model::{FairNet, FairnessBlock};
use crate::train::losses::bce_with_logits;
use crate::train::{TrainLoss, TrainSpec};

/// Each player's optimizer, and η.
pub struct Steps {
    /// The one optimizer of one-player methods, or the leader's.
    leader: ModuleOptimizer,
    follower: ModuleOptimizer,
    eta: f64,
    /// The leader's minibatch BCE this epoch (read, and restarted, when evaluating).
    pub train_loss: std::cell::Cell<TrainLoss>,
}

impl Steps {
    /// Adam for both players, as the paper.
    pub fn new(eta: f64) -> Self {
        Self {
            leader: adam(),
            follower: adam(),
            eta,
            train_loss: Default::default(),
        }
    }

    /// Each player's optimizer as `spec` says.
    pub fn of(spec: &TrainSpec) -> Self {
        Self {
            leader: optimizer(spec.optimizer_acc, spec.momentum),
            follower: optimizer(spec.optimizer_fair(), spec.momentum),
            ..Self::new(spec.eta())
        }
    }

    /// Add a leader minibatch's BCE to the epoch's training loss.
    fn record(&self, bce: &burn::tensor::Tensor<1>) {
        let value = bce
            .clone()
            .into_data()
            .try_to_vec::<f32>()
            .map_or(f32::NAN, |v| v[0]);
        let mut loss = self.train_loss.get();
        loss.add(f64::from(value));
        self.train_loss.set(loss);
    }

    /// Every parameter ← Adam(∇ BCE, plus ∇ η·fairness loss `with_fairness`).
    pub fn joint_step(
        &mut self,
        model: FairNet,
        batch: &Batch,
        learning_rate: f64,
        with_fairness: bool,
    ) -> FairNet {
        let logits = model.logits(batch.inputs.clone());
        let mut loss = bce_with_logits(logits.clone(), batch.labels.clone());
        self.record(&loss);
        if let (true, Some(fairness)) = (with_fairness, &batch.fairness) {
            loss = loss + fairness.loss(logits).mul_scalar(self.eta);
        }
        let gradients = GradientsParams::from_grads(loss.backward(), &model);
        self.leader.step(learning_rate, model, gradients)
    }

    /// θa ← Adam(∇θa BCE), θf fixed. With `leaked_from`, a fairness block, the gradient also
    /// holds ∇θa(η·fairness loss) through that block.
    pub fn leader_step(
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
        self.record(&loss);
        if let (Some(block), Some(fairness)) = (leaked_from, &batch.fairness) {
            loss = loss + fairness.loss(through(block)).mul_scalar(self.eta);
        }
        let gradients = GradientsParams::from_grads(loss.backward(), &model.accuracy);
        model.accuracy = self.leader.step(learning_rate, model.accuracy, gradients);
        model
    }

    /// θf ← Adam(∇θf η·fairness loss), θa fixed.
    pub fn follower_step(
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

    use super::super::Engine;
    use super::*;
    use crate::data::{Dataset, Split};
    use crate::model::Architecture;
    use crate::train::knob::Value;
    use crate::train::losses::{FairnessLoss, FairnessTarget};
    use crate::train::{Backend, FollowerBatch, LearningRates, Method, StepOrder, TrainSpec, Turn};

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

    const INPUTS: [f32; 12] = [0.1, 0.9, 0.3, 0.8, 0.2, 0.5, 0.4, 0.4, 0.9, 0.0, 0.7, 0.6];
    const LABELS: [f32; 4] = [1.0, 0.0, 1.0, 0.0];
    const GROUPS: [u32; 4] = [0, 0, 1, 1];

    /// Layers before and after the block, so that both players' parameters sit on both sides
    /// of the other's.
    fn architecture() -> Architecture {
        Architecture {
            accuracy_layers: 2,
            fairness_layers: 1,
            fairness_position: 2,
            width: Some(5),
        }
    }

    fn setup() -> (Steps, FairNet, Batch) {
        let device = Device::flex().autodiff();
        let model = FairNet::new(
            &architecture(),
            3,
            &mut ChaCha8Rng::seed_from_u64(1),
            &device,
        );
        let batch = Batch {
            inputs: Tensor::from_data(TensorData::new(INPUTS.to_vec(), [4, 3]), &device),
            labels: Tensor::from_data(TensorData::new(LABELS.to_vec(), [4, 1]), &device),
            fairness: FairnessTarget::new(FairnessLoss::DpSquared, &GROUPS, &LABELS, 2, &device),
        };
        (Steps::new(10.0), model, batch)
    }

    /// The same four rows as a data set, and a spec to train on it with `method`.
    fn four_rows(method: Method) -> (Dataset, TrainSpec) {
        let split = Split {
            features: INPUTS.to_vec(),
            n_features: 3,
            labels: LABELS.to_vec(),
            groups: GROUPS.to_vec(),
        };
        let data = Dataset::in_memory("four", &["a", "b", "c"], &["x", "y"], split);
        let mut spec = TrainSpec {
            lr_acc: RATE,
            seed: 1,
            backend: Backend::Flex,
            ..TrainSpec::for_tests(method)
        };
        spec.set("lr_fair", Value::Number(RATE));
        spec.set("eta", Value::Number(10.0));
        spec.set(
            "follower_batch",
            Value::Choice(FollowerBatch::Same.as_str()),
        );
        (data, spec)
    }

    /// One iteration of `method`'s rule on the burn engine, on all four rows.
    fn iterate(engine: &mut Engine, method: Method, order: StepOrder, followers: usize) {
        let rows: &[usize] = &[0, 1, 2, 3];
        let followers = vec![rows; followers];
        let mut settings = four_rows(method).1;
        settings.set("step_order", Value::Choice(order.as_str()));
        let turn = Turn {
            leader: rows,
            followers: &followers,
            rates: LearningRates {
                accuracy: RATE,
                fairness: RATE,
            },
            settings: &settings,
        };
        (method.info().step)(engine, &turn);
    }

    fn model<'e>(engine: &'e Engine) -> &'e FairNet {
        engine.model.as_ref().unwrap()
    }

    #[test]
    fn leader_step_moves_theta_a_only() {
        let (mut steps, model, batch) = setup();
        let (a_before, f_before) = (theta_a(&model), theta_f(&model));
        let model = steps.leader_step(model, &batch, None, RATE);
        assert_eq!(theta_f(&model), f_before, "the leader step changed θf");
        assert_ne!(
            theta_a(&model),
            a_before,
            "the leader step left θa unchanged"
        );
    }

    #[test]
    fn follower_step_moves_theta_f_only() {
        let (mut steps, model, batch) = setup();
        let (a_before, f_before) = (theta_a(&model), theta_f(&model));
        let model = steps.follower_step(model, &batch, RATE);
        assert_eq!(theta_a(&model), a_before, "the follower step changed θa");
        assert_ne!(
            theta_f(&model),
            f_before,
            "the follower step left θf unchanged"
        );
    }

    #[test]
    fn the_step_order_decides_which_player_sees_the_others_update() {
        let (data, spec) = four_rows(Method::FairBiNN);
        let mut leader_first = Engine::new(&architecture(), &spec, &data);
        let (a_start, f_start) = (theta_a(model(&leader_first)), theta_f(model(&leader_first)));
        iterate(
            &mut leader_first,
            Method::FairBiNN,
            StepOrder::LeaderFirst,
            1,
        );
        let mut follower_first = Engine::new(&architecture(), &spec, &data);
        iterate(
            &mut follower_first,
            Method::FairBiNN,
            StepOrder::FollowerFirst,
            1,
        );
        let (after_leader_first, after_follower_first) =
            (model(&leader_first), model(&follower_first));
        for model in [after_leader_first, after_follower_first] {
            assert_ne!(theta_a(model), a_start);
            assert_ne!(theta_f(model), f_start);
        }
        assert_ne!(theta_a(after_leader_first), theta_a(after_follower_first));
        assert_ne!(theta_f(after_leader_first), theta_f(after_follower_first));
    }

    /// With plain SGD, the authors' leader update must differ from the paper's by exactly
    /// −lr·∇θa(η·fairness loss): the fairness gradient accumulated, not zeroed, before the
    /// leader's optimizer steps.
    #[test]
    fn the_authors_rule_adds_exactly_the_fairness_gradient_to_the_leaders_step() {
        let sgd = || SgdConfig::new().init();
        let (mut paper, model, batch) = setup();
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
        let (data, spec) = four_rows(Method::FairBiNN);
        let mut paper = Engine::new(&architecture(), &spec, &data);
        let mut authors = Engine::new(&architecture(), &spec, &data);
        iterate(&mut paper, Method::FairBiNN, StepOrder::LeaderFirst, 0);
        iterate(
            &mut authors,
            Method::FairBiNNReference,
            StepOrder::LeaderFirst,
            0,
        );
        let (paper_model, authors_model) = (model(&paper), model(&authors));
        assert_ne!(theta_a(paper_model), theta_a(authors_model));
        assert_eq!(theta_f(paper_model), theta_f(authors_model));
    }
}
