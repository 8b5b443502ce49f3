//! One player: a single Adam over all parameters on BCE + η·DP loss. With η = 0 this is
//! plain empirical risk minimisation (`erm`).

use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::activation::sigmoid;

use super::losses::{bce_with_logits, dp_squared_gap};
use super::{Batch, adam};
use crate::model::FairNet;

pub struct Joint {
    optimizer: ModuleOptimizer,
    learning_rate: f64,
    eta: f64,
}

impl Joint {
    pub fn new(learning_rate: f64, eta: f64) -> Self {
        Self {
            optimizer: adam(),
            learning_rate,
            eta,
        }
    }

    pub fn step(&mut self, model: FairNet, batch: &Batch) -> FairNet {
        let logits = model.logits(batch.inputs.clone());
        let mut loss = bce_with_logits(logits.clone(), batch.labels.clone());
        if let (true, Some(groups)) = (self.eta > 0.0, &batch.groups) {
            loss = loss + dp_squared_gap(sigmoid(logits), groups).mul_scalar(self.eta);
        }
        let gradients = GradientsParams::from_grads(loss.backward(), &model);
        self.optimizer.step(self.learning_rate, model, gradients)
    }
}
