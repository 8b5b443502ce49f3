//! `cvib` (Moyer et al. 2018, the supervised variant of the FCRL benchmark): a stochastic
//! encoder q(z|x), a decoder of [z, a] that reconstructs x, and a predictor of y from the
//! sampled z. I(z; a) is bounded through I(z; x) and the reconstruction given a, I(z; x) by
//! the average KL between rows' posteriors (the conditional-marginal divergence). One Adam on
//! BCE + λ·(distortion + divergence) + β·divergence.
//!
//! Distortion is the squared error summed over features (the reference's Gaussian output):
//! this tool's features are standardised, not in [0, 1] as the Bernoulli output expects.

use burn::tensor::Tensor;
use rand::Rng;

use super::params::{Mlp, Params};
use super::{Batch, Learner, Losses, gaussian};
use crate::train::losses::bce_with_logits;

pub struct Cvib {
    encoder: Mlp,
    /// [z, a one-hot] → 50 → x.
    decoder: Mlp,
    predictor: Mlp,
    z: usize,
    lambda: f64,
    beta: f64,
}

impl Cvib {
    pub fn new(
        d: usize,
        k: usize,
        z: usize,
        width: usize,
        (lambda, beta): (f64, f64),
        rng: &mut impl Rng,
    ) -> (Self, Params) {
        let mut params = Params::default();
        let encoder = params.mlp(&[d, width, 2 * z], rng);
        let decoder = params.mlp(&[z + k, 50, d], rng);
        let predictor = params.mlp(&[z, 50, 1], rng);
        let learner = Self {
            encoder,
            decoder,
            predictor,
            z,
            lambda,
            beta,
        };
        (learner, params)
    }
}

/// Per row i, the mean over the batch's rows j of KL(N(μ_i, σ_i²) ‖ N(μ_j, σ_j²)) (diagonal
/// Gaussians): ½ Σ_d [σ_i²/σ_j² + (μ_i − μ_j)²/σ_j² − 1 + ln σ_j² − ln σ_i²], expanded into
/// matrix products. `[rows, 1]`.
pub fn divergence_to_others(mean: Tensor<2>, spread: Tensor<2>) -> Tensor<2> {
    let z = mean.dims()[1] as f64;
    let variance = spread.clone().square().add_scalar(1e-8);
    let inverse = variance.clone().recip();
    let trace = variance.clone().matmul(inverse.clone().transpose());
    let squares_i = mean.clone().square().matmul(inverse.clone().transpose());
    let squares_j = (mean.clone().square() * inverse.clone())
        .sum_dim(1)
        .transpose();
    let cross = mean
        .clone()
        .matmul((mean * inverse).transpose())
        .mul_scalar(2.0);
    let log_det = variance.log().sum_dim(1);
    let log_ratio = log_det.clone().transpose() - log_det;
    let kl = (trace + squares_i + squares_j - cross + log_ratio)
        .sub_scalar(z)
        .mul_scalar(0.5);
    kl.mean_dim(1)
}

impl Learner for Cvib {
    fn loss(&self, _: usize, p: &[Tensor<2>], batch: &Batch) -> Losses {
        let (mean, spread) = gaussian(&self.encoder, p, batch.x.clone(), self.z);
        let z = mean.clone() + spread.clone() * batch.noise.clone();
        let rebuilt =
            (self.decoder).forward(p, Tensor::cat(vec![z.clone(), batch.groups.clone()], 1));
        let distortion = (rebuilt - batch.x.clone()).square().sum_dim(1).mean();
        let divergence = divergence_to_others(mean, spread).mean();
        let bce = bce_with_logits(self.predictor.forward(p, z), batch.y.clone());
        let total = bce.clone()
            + (distortion + divergence.clone()).mul_scalar(self.lambda)
            + divergence.mul_scalar(self.beta);
        Losses { total, bce }
    }

    fn logits(&self, p: &[Tensor<2>], x: Tensor<2>, _: Tensor<2>) -> Tensor<2> {
        let (mean, _) = gaussian(&self.encoder, p, x, self.z);
        self.predictor.forward(p, mean)
    }

    fn encode(&self, p: &[Tensor<2>], x: Tensor<2>, _: Tensor<2>, noise: Tensor<2>) -> Tensor<2> {
        let (mean, spread) = gaussian(&self.encoder, p, x, self.z);
        mean + spread * noise
    }

    fn z_size(&self) -> usize {
        self.z
    }
}
