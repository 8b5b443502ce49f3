//! `maxent-arl` (Roy & Boddeti 2019), as the FCRL benchmark trains it: an encoder of [x, a]
//! and a predictor, and a discriminator that reads the group from z, take turns. On even
//! iterations the encoder and predictor descend BCE + β·(the discriminator's cross-entropy to
//! the uniform distribution over groups), pushing its output towards "any group"; on odd ones
//! the discriminator descends its cross-entropy on the true groups.

use burn::tensor::Tensor;
use burn::tensor::activation::log_softmax;
use rand::Rng;

use super::params::{Id, Mlp, Params};
use super::{Batch, Learner, Losses, MODEL, Move, cross_entropy, taking_turns};
use crate::train::losses::bce_with_logits;

pub struct MaxentArl {
    /// [x, a one-hot] → width → z.
    encoder: Mlp,
    /// z → 50 → 1.
    predictor: Mlp,
    /// z → 50 → K.
    discriminator: Mlp,
    z: usize,
    beta: f64,
    model: Vec<Id>,
    adversary: Vec<Id>,
}

impl MaxentArl {
    pub fn new(
        d: usize,
        k: usize,
        z: usize,
        width: usize,
        beta: f64,
        rng: &mut impl Rng,
    ) -> (Self, Params) {
        let mut params = Params::default();
        let encoder = params.mlp(&[d + k, width, z], rng);
        let predictor = params.mlp(&[z, 50, 1], rng);
        let discriminator = params.mlp(&[z, 50, k], rng);
        let learner = Self {
            model: encoder.ids().chain(predictor.ids()).collect(),
            adversary: discriminator.ids().collect(),
            encoder,
            predictor,
            discriminator,
            z,
            beta,
        };
        (learner, params)
    }

    fn z(&self, p: &[Tensor<2>], x: Tensor<2>, groups: Tensor<2>) -> Tensor<2> {
        self.encoder.forward(p, Tensor::cat(vec![x, groups], 1))
    }
}

impl Learner for MaxentArl {
    fn moves(&self, step: usize) -> Vec<Move<'_>> {
        taking_turns(step, 2, &self.model, &self.adversary)
    }

    fn loss(&self, which: usize, p: &[Tensor<2>], batch: &Batch) -> Losses {
        let z = self.z(p, batch.x.clone(), batch.groups.clone());
        let logits = self.predictor.forward(p, z.clone());
        let bce = bce_with_logits(logits, batch.y.clone());
        let log_q = log_softmax(self.discriminator.forward(p, z), 1);
        let total = match which {
            MODEL => {
                // Cross-entropy to uniform: −(1/K) Σ_k ln q_k, least when q is uniform.
                let to_uniform = log_q.mean_dim(1).neg().mean();
                bce.clone() + to_uniform.mul_scalar(self.beta)
            }
            _ => cross_entropy(log_q, batch.groups.clone()),
        };
        Losses { total, bce }
    }

    fn logits(&self, p: &[Tensor<2>], x: Tensor<2>, groups: Tensor<2>) -> Tensor<2> {
        self.predictor.forward(p, self.z(p, x, groups))
    }

    fn encode(&self, p: &[Tensor<2>], x: Tensor<2>, groups: Tensor<2>, _: Tensor<2>) -> Tensor<2> {
        self.z(p, x, groups)
    }

    fn z_size(&self) -> usize {
        self.z
    }
}
