//! One player: a single Adam over all parameters on BCE + η·DP loss. With η = 0 this is
//! plain empirical risk minimisation (`erm`).

use burn::optim::{GradientsParams, ModuleOptimizer};

use super::autodiff::{Batch, adam};
use super::losses::bce_with_logits;
use crate::model::FairNet;

pub struct Joint {
    optimizer: ModuleOptimizer,
    eta: f64,
}

impl Joint {
    pub fn new(eta: f64) -> Self {
        Self {
            optimizer: adam(),
            eta,
        }
    }

    pub fn step(&mut self, model: FairNet, batch: &Batch, learning_rate: f64) -> FairNet {
        let logits = model.logits(batch.inputs.clone());
        let mut loss = bce_with_logits(logits.clone(), batch.labels.clone());
        if let (true, Some(fairness)) = (self.eta > 0.0, &batch.fairness) {
            loss = loss + fairness.loss(logits).mul_scalar(self.eta);
        }
        let gradients = GradientsParams::from_grads(loss.backward(), &model);
        self.optimizer.step(learning_rate, model, gradients)
    }
}
