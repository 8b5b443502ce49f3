//! `laftr` (Madras et al. 2018), its demographic-parity variant as the original code trains
//! it: an encoder, a classifier of y from z and an auditor of the group from z, all with L1
//! ("Wasserstein") losses. Each iteration, the encoder and classifier descend
//! |y − ŷ| − γ·auditor loss, then the auditor descends its loss on the same batch: the mean
//! over rows of w(a)·|1 − q(a | z)| with w(a) = 1 / (the batch's share of group a), so each
//! group weighs the same. With K groups the auditor is a softmax (for two, the same as the
//! original's sigmoid). The reconstruction term (weight 0 in the original's configuration)
//! is left out.

use burn::tensor::Tensor;
use burn::tensor::activation::{sigmoid, softmax};
use rand::Rng;

use super::params::{Id, Mlp, Params};
use super::{ADVERSARY, Batch, Learner, Losses, MODEL, Move};
use crate::train::losses::bce_with_logits;

pub struct Laftr {
    /// x → width → z.
    encoder: Mlp,
    /// z → 50 → 1.
    classifier: Mlp,
    /// z → 50 → K.
    auditor: Mlp,
    z: usize,
    gamma: f64,
    model: Vec<Id>,
    adversary: Vec<Id>,
}

impl Laftr {
    pub fn new(
        d: usize,
        k: usize,
        z: usize,
        width: usize,
        gamma: f64,
        rng: &mut impl Rng,
    ) -> (Self, Params) {
        let mut params = Params::default();
        let encoder = params.mlp(&[d, width, z], rng);
        let classifier = params.mlp(&[z, 50, 1], rng);
        let auditor = params.mlp(&[z, 50, k], rng);
        let learner = Self {
            model: encoder.ids().chain(classifier.ids()).collect(),
            adversary: auditor.ids().collect(),
            encoder,
            classifier,
            auditor,
            z,
            gamma,
        };
        (learner, params)
    }

    /// The auditor's group-weighted L1 loss.
    fn audit(&self, p: &[Tensor<2>], z: Tensor<2>, batch: &Batch) -> Tensor<1> {
        let q = softmax(self.auditor.forward(p, z), 1);
        let right = (q * batch.groups.clone()).sum_dim(1);
        (right.neg().add_scalar(1.0) * batch.group_weights.clone()).sum()
    }
}

impl Learner for Laftr {
    fn moves(&self, _step: usize) -> Vec<Move<'_>> {
        vec![
            Move {
                loss: MODEL,
                params: Some(&self.model),
            },
            Move {
                loss: ADVERSARY,
                params: Some(&self.adversary),
            },
        ]
    }

    fn loss(&self, which: usize, p: &[Tensor<2>], batch: &Batch) -> Losses {
        let z = self.encoder.forward(p, batch.x.clone());
        let logits = self.classifier.forward(p, z.clone());
        let bce = bce_with_logits(logits.clone(), batch.y.clone());
        let audit = self.audit(p, z, batch);
        let total = match which {
            MODEL => {
                let class = (sigmoid(logits) - batch.y.clone()).abs().mean();
                class - audit.mul_scalar(self.gamma)
            }
            _ => audit,
        };
        Losses { total, bce }
    }

    fn logits(&self, p: &[Tensor<2>], x: Tensor<2>, _: Tensor<2>) -> Tensor<2> {
        self.classifier.forward(p, self.encoder.forward(p, x))
    }

    fn encode(&self, p: &[Tensor<2>], x: Tensor<2>, _: Tensor<2>, _: Tensor<2>) -> Tensor<2> {
        self.encoder.forward(p, x)
    }

    fn z_size(&self) -> usize {
        self.z
    }
}
