//! One player: a single Adam over all parameters on BCE + η·DP loss. With η = 0 this is
//! plain empirical risk minimisation (`erm`).

use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::activation::sigmoid;

use super::losses::{bce_with_logits, dp_squared_gap};
use super::{Batch, adam};
use crate::model::FairNet;

pub struct Joint {
    /// `Option` only so that `step` can move the network through the optimizer.
    model: Option<FairNet>,
    optimizer: ModuleOptimizer,
    learning_rate: f64,
    eta: f64,
}

impl Joint {
    pub fn new(model: FairNet, learning_rate: f64, eta: f64) -> Self {
        Self {
            model: Some(model),
            optimizer: adam(),
            learning_rate,
            eta,
        }
    }

    pub fn model(&self) -> &FairNet {
        self.model
            .as_ref()
            .expect("the network is only moved out inside step")
    }

    pub fn step(&mut self, batch: &Batch) {
        let model = self
            .model
            .take()
            .expect("the network is only moved out inside step");
        let logits = model.logits(batch.inputs.clone());
        let mut loss = bce_with_logits(logits.clone(), batch.labels.clone());
        if let (true, Some(groups)) = (self.eta > 0.0, &batch.groups) {
            loss = loss + dp_squared_gap(sigmoid(logits), groups).mul_scalar(self.eta);
        }
        let gradients = GradientsParams::from_grads(loss.backward(), &model);
        self.model = Some(self.optimizer.step(self.learning_rate, model, gradients));
    }
}
