//! `adversarial-forgetting` (Jaiswal et al. 2020), as the FCRL benchmark trains it: an
//! encoder z, a forget-gate mask m(x) in (0, 1), a decoder of z, a predictor of y from z·m,
//! and a discriminator of the group from z·m with z held fixed (only the mask answers to it).
//! The discriminator takes `update_every − 1` steps on the true groups for each step of the
//! rest, which descends BCE + ρ·distortion + δ·(the discriminator's cross-entropy on the
//! batch's groups shuffled) + λ·Σ m(1 − m), the last pushing the mask to 0 or 1.

use burn::tensor::Tensor;
use burn::tensor::activation::{log_softmax, sigmoid};
use rand::Rng;

use super::params::{Id, Mlp, Params};
use super::{Batch, Learner, Losses, MODEL, Move, cross_entropy, taking_turns};
use crate::train::losses::bce_with_logits;

pub struct Forgetting {
    encoder: Mlp,
    /// x → 50 → z, then sigmoid.
    mask: Mlp,
    decoder: Mlp,
    predictor: Mlp,
    discriminator: Mlp,
    z: usize,
    /// (ρ, δ, λ): reconstruction, discriminator and mask weights.
    weights: (f64, f64, f64),
    update_every: usize,
    model: Vec<Id>,
    adversary: Vec<Id>,
}

impl Forgetting {
    pub fn new(
        (d, k, z, width): (usize, usize, usize, usize),
        weights: (f64, f64, f64),
        update_every: usize,
        rng: &mut impl Rng,
    ) -> (Self, Params) {
        let mut params = Params::default();
        let encoder = params.mlp(&[d, width, z], rng);
        let decoder = params.mlp(&[z, 50, d], rng);
        let predictor = params.mlp(&[z, 50, 1], rng);
        let mask = params.mlp(&[d, 50, z], rng);
        let discriminator = params.mlp(&[z, 50, k], rng);
        let model = (encoder.ids())
            .chain(decoder.ids())
            .chain(predictor.ids())
            .chain(mask.ids())
            .collect();
        let learner = Self {
            adversary: discriminator.ids().collect(),
            model,
            encoder,
            mask,
            decoder,
            predictor,
            discriminator,
            z,
            weights,
            update_every,
        };
        (learner, params)
    }

    fn masked(&self, p: &[Tensor<2>], x: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let z = self.encoder.forward(p, x.clone());
        let mask = sigmoid(self.mask.forward(p, x));
        (z, mask)
    }
}

impl Learner for Forgetting {
    fn moves(&self, step: usize) -> Vec<Move<'_>> {
        taking_turns(step, self.update_every, &self.model, &self.adversary)
    }

    fn loss(&self, which: usize, p: &[Tensor<2>], batch: &Batch) -> Losses {
        let (rho, delta, lambda) = self.weights;
        let (z, mask) = self.masked(p, batch.x.clone());
        let bce = bce_with_logits(
            self.predictor.forward(p, z.clone() * mask.clone()),
            batch.y.clone(),
        );
        let log_q = log_softmax(
            (self.discriminator).forward(p, z.clone().detach() * mask.clone()),
            1,
        );
        let total = match which {
            MODEL => {
                let distortion = (self.decoder.forward(p, z) - batch.x.clone())
                    .square()
                    .sum_dim(1)
                    .mean();
                let binary = (mask.clone() * (mask.neg().add_scalar(1.0)))
                    .sum_dim(1)
                    .mean();
                bce.clone()
                    + distortion.mul_scalar(rho)
                    + cross_entropy(log_q, batch.shuffled.clone()).mul_scalar(delta)
                    + binary.mul_scalar(lambda)
            }
            _ => cross_entropy(log_q, batch.groups.clone()).mul_scalar(delta),
        };
        Losses { total, bce }
    }

    fn logits(&self, p: &[Tensor<2>], x: Tensor<2>, _: Tensor<2>) -> Tensor<2> {
        let (z, mask) = self.masked(p, x);
        self.predictor.forward(p, z * mask)
    }

    fn encode(&self, p: &[Tensor<2>], x: Tensor<2>, _: Tensor<2>, _: Tensor<2>) -> Tensor<2> {
        let (z, mask) = self.masked(p, x);
        z * mask
    }

    fn z_size(&self) -> usize {
        self.z
    }
}
