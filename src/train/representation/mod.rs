//! The representation learners the FairBiNN paper compares with (the FCRL benchmark's, and
//! LAFTR): an encoder of x into z with heads of their own, trained by burn's autodiff on its
//! Flex backend, each by its losses over its players. A trial's points are its own predictor's
//! (selected like any network's epochs); `downstream:` (crate::downstream) evaluates z the
//! benchmark's way, with classifiers fitted on z alone.
//!
//! A learner says which losses an iteration descends and which parameters each moves
//! ([`Learner::moves`]); this loop draws the minibatch (rows, the noise of a sampled z, the
//! groups shuffled), puts the parameters on the device, and takes the Adam steps.

mod cvib;
mod fcrl;
mod forgetting;
mod laftr;
mod maxent_arl;
pub mod params;

use burn::tensor::activation::{sigmoid, softplus};
use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::{
    Diverged, EpochMetrics, Evaluated, Fitted, Method, Minibatches, TrainLoss, TrainSpec, Training,
};
use crate::data::{Dataset, Split};
use crate::metrics::SplitMetrics;
use params::{Id, Mlp, Params, normal, values};

/// A minibatch on the device, with what every learner's losses read.
pub struct Batch {
    /// `[rows, features]`.
    pub x: Tensor<2>,
    /// `[rows, 1]`, 0 or 1.
    pub y: Tensor<2>,
    /// The sensitive group, one-hot: `[rows, groups]`.
    pub groups: Tensor<2>,
    /// Standard-normal draws for a sampled z: `[rows, z]`.
    pub noise: Tensor<2>,
    /// The batch's groups in a random order, one-hot (adversarial forgetting's target).
    pub shuffled: Tensor<2>,
    /// 1 / (the rows of the batch in the row's group): `[rows, 1]`.
    pub group_weights: Tensor<2>,
}

impl Batch {
    /// `rows` of `split`, with `z` columns of noise and a shuffle of the groups from `rng`.
    pub fn of(
        split: &Split,
        rows: &[usize],
        (k, z): (usize, usize),
        device: &Device,
        rng: &mut ChaCha8Rng,
    ) -> Self {
        let n = rows.len();
        let d = split.n_features;
        let mut x = Vec::with_capacity(n * d);
        for &r in rows {
            x.extend_from_slice(&split.features[r * d..(r + 1) * d]);
        }
        let groups: Vec<u32> = rows.iter().map(|&r| split.groups[r]).collect();
        let mut shuffled = groups.clone();
        shuffled.shuffle(rng);
        let mut counts = vec![0usize; k];
        for &g in &groups {
            counts[g as usize] += 1;
        }
        let weights: Vec<f32> = (groups.iter())
            .map(|&g| 1.0 / counts[g as usize] as f32)
            .collect();
        let matrix = |values: Vec<f32>, cols: usize| {
            Tensor::from_data(TensorData::new(values, [n, cols]), device)
        };
        Self {
            x: matrix(x, d),
            y: matrix(rows.iter().map(|&r| split.labels[r]).collect(), 1),
            groups: matrix(one_hot(&groups, k), k),
            noise: matrix(normal(n * z, rng), z),
            shuffled: matrix(one_hot(&shuffled, k), k),
            group_weights: matrix(weights, 1),
        }
    }
}

fn one_hot(groups: &[u32], k: usize) -> Vec<f32> {
    let mut out = vec![0.0; groups.len() * k];
    for (i, &g) in groups.iter().enumerate() {
        out[i * k + g as usize] = 1.0;
    }
    out
}

/// An iteration's loss and the BCE of its own predictor on the batch (the training loss an
/// epoch reports).
pub struct Losses {
    pub total: Tensor<1>,
    pub bce: Tensor<1>,
}

/// One Adam step of an iteration: the loss it descends and the parameters it moves.
pub struct Move<'a> {
    pub loss: usize,
    pub params: &'a [Id],
}

/// A representation learner: its parameters, its losses, and what it gives after training.
pub trait Learner: Send {
    fn params(&self) -> &Params;
    fn params_mut(&mut self) -> &mut Params;
    /// The Adam steps of iteration `step` (0-based), in order, each from the parameters the
    /// one before left: one for most; two players taking turns; LAFTR's two in a row.
    fn moves(&self, step: usize) -> Vec<Move<'_>>;
    /// The loss `which` (a [`Move::loss`]) on `batch` at parameters `p`.
    fn loss(&self, which: usize, p: &[Tensor<2>], batch: &Batch) -> Losses;
    /// Its own predictor's logits, deterministic (a stochastic encoder's mean): `[rows, 1]`.
    fn logits(&self, p: &[Tensor<2>], x: Tensor<2>, groups: Tensor<2>) -> Tensor<2>;
    /// The representation downstream classifiers read (a stochastic encoder's sample, as the
    /// benchmark's): `[rows, z]`.
    fn encode(
        &self,
        p: &[Tensor<2>],
        x: Tensor<2>,
        groups: Tensor<2>,
        noise: Tensor<2>,
    ) -> Tensor<2>;
    fn z_size(&self) -> usize;
}

/// A stochastic encoder's mean and spread (softplus of its second half of outputs).
pub fn gaussian(encoder: &Mlp, p: &[Tensor<2>], x: Tensor<2>, z: usize) -> (Tensor<2>, Tensor<2>) {
    let out = encoder.forward(p, x);
    let mean = out.clone().narrow(1, 0, z);
    let spread = softplus(out.narrow(1, z, z), 1.0);
    (mean, spread)
}

/// KL(N(μ, σ²) ‖ N(0, I)) per row: ½ Σ (μ² + σ² − 1 − 2 ln σ). `[rows, 1]`.
pub fn kl_to_standard(mean: Tensor<2>, spread: Tensor<2>) -> Tensor<2> {
    let terms = mean.square() + spread.clone().square() - spread.log().mul_scalar(2.0);
    terms.add_scalar(-1.0).sum_dim(1).mul_scalar(0.5)
}

/// 1 where rows i and j share a group: `[rows, rows]`.
pub fn same_group(batch: &Batch) -> Tensor<2> {
    batch
        .groups
        .clone()
        .matmul(batch.groups.clone().transpose())
}

/// Mean cross-entropy of log-probabilities `log_q` against one-hot `target`.
pub fn cross_entropy(log_q: Tensor<2>, target: Tensor<2>) -> Tensor<1> {
    (log_q * target).sum_dim(1).neg().mean()
}

/// The learner a trial's settings describe, initialised from its seed.
fn learner(spec: &TrainSpec, data: &Dataset) -> Box<dyn Learner> {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let (d, k) = (data.train.n_features, data.n_groups());
    let number = |name| {
        spec.knobs
            .number(name)
            .expect("a representation learner's setting")
    };
    let count = |name| {
        spec.knobs
            .count(name)
            .expect("a representation learner's setting")
    };
    let (z, width) = (count("z_size"), count("encoder_width"));
    match spec.method {
        Method::Fcrl => Box::new(fcrl::Fcrl::new(d, k, z, width, number("lambda"), &mut rng)),
        Method::MaxentArl => Box::new(maxent_arl::MaxentArl::new(
            d,
            k,
            z,
            width,
            number("beta"),
            &mut rng,
        )),
        Method::Cvib => Box::new(cvib::Cvib::new(
            d,
            k,
            z,
            width,
            (number("lambda"), number("beta")),
            &mut rng,
        )),
        Method::AdversarialForgetting => Box::new(forgetting::Forgetting::new(
            (d, k, z, width),
            (number("rho"), number("delta"), number("lambda")),
            count("update_every"),
            &mut rng,
        )),
        Method::Laftr => Box::new(laftr::Laftr::new(
            d,
            k,
            z,
            width,
            number("fair_coeff"),
            &mut rng,
        )),
        other => unreachable!("{other} is not a representation learner"),
    }
}

/// A learner as an epoch leaves it, for what reads it after the metrics.
pub struct Trained<'a> {
    learner: Box<dyn Learner>,
    data: &'a Dataset,
    seed: u64,
    /// The validation and test probabilities of its own predictor.
    pub scores: [Vec<f32>; 2],
}

impl Trained<'_> {
    /// Its own predictor's probabilities on `split`.
    fn probabilities(&self, split: &Split) -> Vec<f32> {
        let device = Device::flex();
        let p = self.learner.params().on(&device, false);
        let (x, groups) = inputs(split, self.data.n_groups(), &device);
        values(sigmoid(self.learner.logits(&p, x, groups)))
    }

    /// The representation of each split (training, validation, test), `z_size` numbers per
    /// row; a stochastic encoder samples with noise from the trial's seed.
    pub fn encode(&self) -> (usize, [Vec<f32>; 3]) {
        let device = Device::flex();
        let p = self.learner.params().on(&device, false);
        let z = self.learner.z_size();
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(4);
        let data = self.data;
        let encoded = [&data.train, &data.validation, &data.test].map(|split| {
            let (x, groups) = inputs(split, data.n_groups(), &device);
            let noise = Tensor::from_data(
                TensorData::new(normal(split.n_rows() * z, &mut rng), [split.n_rows(), z]),
                &device,
            );
            values(self.learner.encode(&p, x, groups, noise))
        });
        (z, encoded)
    }
}

/// A whole split's features and one-hot groups on `device`.
fn inputs(split: &Split, k: usize, device: &Device) -> (Tensor<2>, Tensor<2>) {
    let n = split.n_rows();
    let x = TensorData::new(split.features.clone(), [n, split.n_features]);
    let groups = TensorData::new(one_hot(&split.groups, k), [n, k]);
    (
        Tensor::from_data(x, device),
        Tensor::from_data(groups, device),
    )
}

/// Train a representation learner, evaluating its own predictor on the validation and test
/// splits after every epoch, as [`super::train`] does a network.
pub fn train(
    spec: &TrainSpec,
    data: &Dataset,
    evaluated: &mut dyn FnMut(&EpochMetrics, &Fitted),
) -> Training {
    let device = Device::flex().autodiff();
    let weight_decay = spec.knobs.number("weight_decay").unwrap_or(0.0);
    let mut trained = Trained {
        learner: learner(spec, data),
        data,
        seed: spec.seed,
        scores: Default::default(),
    };
    let mut batches = Minibatches::new(spec, &data.train);
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    rng.set_stream(3);
    let sizes = (data.n_groups(), trained.learner.z_size());
    let mut history = Vec::new();
    let mut degenerate = 0;
    let mut step = 0;
    let stopped = |history, diverged, collapsed| Training {
        history,
        diverged,
        collapsed,
        paused: None,
    };
    for epoch in 1..=spec.epochs {
        let rate = spec.learning_rates(epoch).accuracy;
        let mut loss = TrainLoss::default();
        batches.shuffle();
        for index in 0..batches.per_epoch() {
            let batch = Batch::of(&data.train, batches.leader(index), sizes, &device, &mut rng);
            let learner = trained.learner.as_mut();
            let moves: Vec<(usize, Vec<Id>)> = (learner.moves(step).into_iter())
                .map(|m| (m.loss, m.params.to_vec()))
                .collect();
            for (i, (which, ids)) in moves.into_iter().enumerate() {
                let p = learner.params().on(&device, true);
                let losses = learner.loss(which, &p, &batch);
                if i == 0 {
                    loss.add(f64::from(values(losses.bce)[0]));
                }
                let grads = losses.total.backward();
                learner
                    .params_mut()
                    .adam(&p, &grads, &ids, rate, weight_decay);
            }
            step += 1;
        }
        trained.scores = [&data.validation, &data.test].map(|s| trained.probabilities(s));
        let metrics = |which: Evaluated, probabilities: &[f32]| {
            if probabilities.iter().any(|p| !p.is_finite()) {
                return Err(Diverged {
                    split: which,
                    epoch,
                });
            }
            let split = which.of(data);
            Ok(SplitMetrics::compute(
                probabilities,
                &split.labels,
                &split.groups,
                data.n_groups(),
            ))
        };
        let [validation, test] = &trained.scores;
        let metrics = match (
            metrics(Evaluated::Validation, validation),
            metrics(Evaluated::Test, test),
        ) {
            (Ok(validation), Ok(test)) => EpochMetrics {
                epoch,
                train_bce: loss.take(),
                validation,
                test,
            },
            (Err(diverged), _) | (_, Err(diverged)) => {
                return stopped(history, Some(diverged), false);
            }
        };
        evaluated(&metrics, &Fitted::Representation(&trained));
        degenerate = match metrics.validation.is_degenerate() {
            true => degenerate + 1,
            false => 0,
        };
        history.push(metrics);
        if spec.patience > 0 && degenerate >= spec.patience && epoch < spec.epochs {
            return stopped(history, None, true);
        }
    }
    stopped(history, None, false)
}
