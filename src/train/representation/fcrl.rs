//! `fcrl` (Gupta, Ferber, Dilkina & Ver Steeg 2021): a stochastic encoder q(z|x) kept
//! predictive of y given a, with I(z; a) bounded by I(z; x) − I(z; x | a), the first term by
//! the KL to N(0, I), the second by a conditional InfoNCE critic. One Adam over every net on
//! BCE(y | z, a) + β·KL − λ·mi, β = λ/2, as the benchmark sweeps it.

use burn::tensor::Tensor;
use burn::tensor::activation::softplus;
use rand::Rng;

use super::params::{Id, Linear, Mlp, Params, normal};
use super::{Batch, Learner, Losses, gaussian, kl_to_standard, same_group};
use crate::train::losses::bce_with_logits;

pub struct Fcrl {
    /// x → width → 2·z: the mean and, through softplus, the spread of q(z|x).
    encoder: Mlp,
    /// [z, a one-hot] → 50 → 1.
    predictor: Mlp,
    /// The critic: f_x(x) = x → 50 → z, f_z(z) = z → z, one z × z matrix per group.
    critic_x: Mlp,
    critic_z: Linear,
    critic_groups: Vec<Id>,
    z: usize,
    lambda: f64,
}

impl Fcrl {
    pub fn new(
        d: usize,
        k: usize,
        z: usize,
        width: usize,
        lambda: f64,
        rng: &mut impl Rng,
    ) -> (Self, Params) {
        let mut params = Params::default();
        let encoder = params.mlp(&[d, width, 2 * z], rng);
        let predictor = params.mlp(&[z + k, 50, 1], rng);
        let critic_x = params.mlp(&[d, 50, z], rng);
        let critic_z = params.linear(z, z, rng);
        // torch.randn: standard normal.
        let critic_groups = (0..k)
            .map(|_| params.add([z, z], normal(z * z, rng)))
            .collect();
        let learner = Self {
            encoder,
            predictor,
            critic_x,
            critic_z,
            critic_groups,
            z,
            lambda,
        };
        (learner, params)
    }

    /// The conditional InfoNCE estimate per row: ln T_ii − ln(mean over the rows j of i's
    /// group of T_ij), T_ij = softplus(f_x(x_i)ᵀ W_{a_i} f_z(z_j)), each term + 1e-8.
    pub fn mutual_information(&self, p: &[Tensor<2>], batch: &Batch, z: Tensor<2>) -> Tensor<2> {
        let fx = self.critic_x.forward(p, batch.x.clone());
        // f_x(x_i)ᵀ W_{a_i}: each group's product, kept for the rows of that group.
        let rows = (self.critic_groups.iter().enumerate())
            .map(|(g, &w)| {
                let member = batch.groups.clone().narrow(1, g, 1);
                fx.clone().matmul(p[w].clone()) * member
            })
            .reduce(|a, b| a + b)
            .expect("at least one group");
        let fz = self.critic_z.forward(p, z);
        let scores = softplus(rows.matmul(fz.transpose()), 1.0);
        let n = scores.dims()[0];
        let eye = Tensor::<2>::eye(n, &scores.device()).cast(scores.dtype());
        let own = (scores.clone() * eye).sum_dim(1);
        let same = same_group(batch);
        let mean = (scores * same.clone()).sum_dim(1) / same.sum_dim(1);
        own.add_scalar(1e-8).log() - mean.add_scalar(1e-8).log()
    }
}

#[cfg(test)]
impl Fcrl {
    /// T_ij written out with loops from the critic's parts (f_x, f_z and each group's W read
    /// as numbers), and each row's group: what [`Fcrl::mutual_information`] is checked against.
    pub fn critic_scores(
        &self,
        p: &[Tensor<2>],
        batch: &Batch,
        z: Tensor<2>,
    ) -> (Vec<Vec<f64>>, Vec<usize>) {
        let rows = |t: Tensor<2>| {
            let cols = t.dims()[1];
            let v = (t.into_data().convert::<f64>())
                .try_to_vec::<f64>()
                .unwrap();
            v.chunks(cols).map(<[f64]>::to_vec).collect::<Vec<_>>()
        };
        let fx = rows(self.critic_x.forward(p, batch.x.clone()));
        let fz = rows(self.critic_z.forward(p, z));
        let groups: Vec<usize> = (rows(batch.groups.clone()).iter())
            .map(|r| r.iter().position(|&v| v == 1.0).unwrap())
            .collect();
        let w: Vec<Vec<Vec<f64>>> = (self.critic_groups.iter())
            .map(|&id| rows(p[id].clone()))
            .collect();
        let t = (0..fx.len())
            .map(|i| {
                (0..fz.len())
                    .map(|j| {
                        let mut s = 0.0;
                        for a in 0..self.z {
                            for b in 0..self.z {
                                s += fx[i][a] * w[groups[i]][a][b] * fz[j][b];
                            }
                        }
                        s.exp().ln_1p() // softplus
                    })
                    .collect()
            })
            .collect();
        (t, groups)
    }
}

impl Learner for Fcrl {
    fn loss(&self, _: usize, p: &[Tensor<2>], batch: &Batch) -> Losses {
        let (mean, spread) = gaussian(&self.encoder, p, batch.x.clone(), self.z);
        let z = mean.clone() + spread.clone() * batch.noise.clone();
        let logits =
            (self.predictor).forward(p, Tensor::cat(vec![z.clone(), batch.groups.clone()], 1));
        let bce = bce_with_logits(logits, batch.y.clone());
        let kl = kl_to_standard(mean, spread).mean();
        let mi = self.mutual_information(p, batch, z).mean();
        let beta = self.lambda / 2.0;
        Losses {
            total: bce.clone() + kl.mul_scalar(beta) - mi.mul_scalar(self.lambda),
            bce,
        }
    }

    fn logits(&self, p: &[Tensor<2>], x: Tensor<2>, groups: Tensor<2>) -> Tensor<2> {
        let (mean, _) = gaussian(&self.encoder, p, x, self.z);
        self.predictor
            .forward(p, Tensor::cat(vec![mean, groups], 1))
    }

    fn encode(&self, p: &[Tensor<2>], x: Tensor<2>, _: Tensor<2>, noise: Tensor<2>) -> Tensor<2> {
        let (mean, spread) = gaussian(&self.encoder, p, x, self.z);
        mean + spread * noise
    }

    fn z_size(&self) -> usize {
        self.z
    }
}
