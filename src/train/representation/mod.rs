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
    Collapse, EpochMetrics, Fitted, Method, Minibatches, TrainLoss, TrainSpec, Training,
    epoch_metrics,
};
use crate::data::{Dataset, Split};
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

/// One Adam step of an iteration: the loss it descends and the parameters it moves (`None`:
/// every one).
pub struct Move<'a> {
    pub loss: usize,
    pub params: Option<&'a [Id]>,
}

/// The losses of a learner with an adversary: the model's (encoder and heads) and the
/// adversary's.
pub const MODEL: usize = 0;
pub const ADVERSARY: usize = 1;

/// Two players taking turns: the model's step every `every` iterations, the adversary's the
/// others.
pub fn taking_turns<'a>(
    step: usize,
    every: usize,
    model: &'a [Id],
    adversary: &'a [Id],
) -> Vec<Move<'a>> {
    vec![match step % every {
        0 => Move {
            loss: MODEL,
            params: Some(model),
        },
        _ => Move {
            loss: ADVERSARY,
            params: Some(adversary),
        },
    }]
}

/// A representation learner: its nets (over [`Params`] held beside it), its losses, and what
/// it gives after training.
pub trait Learner: Send {
    /// The Adam steps of iteration `step` (0-based), in order, each from the parameters the
    /// one before left: two players taking turns, LAFTR's two in a row; by default one step
    /// of every parameter on loss 0.
    fn moves(&self, _step: usize) -> Vec<Move<'_>> {
        vec![Move {
            loss: 0,
            params: None,
        }]
    }
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

/// The learner a trial's settings describe and its parameters, initialised from its seed.
fn learner(spec: &TrainSpec, data: &Dataset) -> (Box<dyn Learner>, Params) {
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
    fn boxed((learner, params): (impl Learner + 'static, Params)) -> (Box<dyn Learner>, Params) {
        (Box::new(learner), params)
    }
    match spec.method {
        Method::Fcrl => boxed(fcrl::Fcrl::new(d, k, z, width, number("lambda"), &mut rng)),
        Method::MaxentArl => boxed(maxent_arl::MaxentArl::new(
            d,
            k,
            z,
            width,
            number("beta"),
            &mut rng,
        )),
        Method::Cvib => boxed(cvib::Cvib::new(
            d,
            k,
            z,
            width,
            (number("lambda"), number("beta")),
            &mut rng,
        )),
        Method::AdversarialForgetting => boxed(forgetting::Forgetting::new(
            (d, k, z, width),
            (number("rho"), number("delta"), number("lambda")),
            count("update_every"),
            &mut rng,
        )),
        Method::Laftr => boxed(laftr::Laftr::new(
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
    params: Params,
    data: &'a Dataset,
    seed: u64,
    /// The validation and test probabilities of its own predictor.
    pub scores: [Vec<f32>; 2],
}

impl Trained<'_> {
    /// Its own predictor's probabilities on the validation and test rows (`splits`, put on
    /// `device` once per trial).
    fn probabilities(
        &self,
        splits: &[(Tensor<2>, Tensor<2>); 2],
        device: &Device,
    ) -> [Vec<f32>; 2] {
        let p = self.params.on(device, false);
        splits
            .clone()
            .map(|(x, groups)| values(sigmoid(self.learner.logits(&p, x, groups))))
    }

    /// The representation of each split (training, validation, test), `z_size` numbers per
    /// row; a stochastic encoder samples with noise from the trial's seed.
    pub fn encode(&self) -> (usize, [Vec<f32>; 3]) {
        let device = Device::flex();
        let p = self.params.on(&device, false);
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
    let (learner, params) = learner(spec, data);
    let mut trained = Trained {
        learner,
        params,
        data,
        seed: spec.seed,
        scores: Default::default(),
    };
    let every: Vec<Id> = (0..trained.params.slots.len()).collect();
    // The evaluation splits, on the device once rather than every epoch.
    let inference = Device::flex();
    let evaluation = [&data.validation, &data.test].map(|s| inputs(s, data.n_groups(), &inference));
    let mut batches = Minibatches::new(spec, &data.train);
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    rng.set_stream(3);
    let sizes = (data.n_groups(), trained.learner.z_size());
    let mut history = Vec::new();
    let mut collapse = Collapse::default();
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
            let Trained {
                learner, params, ..
            } = &mut trained;
            for (i, turn) in learner.moves(step).into_iter().enumerate() {
                let p = params.on(&device, true);
                let losses = learner.loss(turn.loss, &p, &batch);
                if i == 0 {
                    loss.add(f64::from(values(losses.bce)[0]));
                }
                let grads = losses.total.backward();
                let ids = turn.params.unwrap_or(&every);
                params.adam(&p, &grads, ids, rate, weight_decay);
            }
            step += 1;
        }
        trained.scores = trained.probabilities(&evaluation, &inference);
        let metrics = match epoch_metrics(data, epoch, loss.take(), &trained.scores) {
            Ok(metrics) => metrics,
            Err(diverged) => return stopped(history, Some(diverged), false),
        };
        evaluated(&metrics, &Fitted::Representation(&trained));
        let stops = collapse.stops_after(&metrics, spec);
        history.push(metrics);
        if stops {
            return stopped(history, None, true);
        }
    }
    stopped(history, None, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::DType;

    const D: usize = 3;
    const K: usize = 3;
    const Z: usize = 2;

    /// Six rows of three features, all groups present (two of group 2), in f64.
    fn batch() -> Batch {
        let device = Device::flex().autodiff();
        let split = Split {
            features: vec![
                0.5, -1.0, 0.2, 1.5, 0.3, -0.7, -0.4, 0.9, 1.1, 0.0, -0.2, 0.6, 2.0, 1.0, -1.5,
                -0.8, -0.6, 0.4,
            ],
            labels: vec![1.0, 0.0, 1.0, 0.0, 1.0, 0.0],
            groups: vec![0, 1, 2, 0, 1, 2],
            n_features: D,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let b = Batch::of(&split, &[0, 1, 2, 3, 4, 5], (K, Z), &device, &mut rng);
        let f64 = |t: Tensor<2>| t.cast(DType::F64);
        Batch {
            x: f64(b.x),
            y: f64(b.y),
            groups: f64(b.groups),
            noise: f64(b.noise),
            shuffled: f64(b.shuffled),
            group_weights: f64(b.group_weights),
        }
    }

    fn numbers(tensor: Tensor<2>) -> Vec<f64> {
        (tensor.into_data().convert::<f64>())
            .try_to_vec::<f64>()
            .expect("float tensors")
    }

    /// Parameters `theta` as f64 tensors on the autodiff device.
    fn upload(shapes: &[[usize; 2]], theta: &[Vec<f64>], tracked: bool) -> Vec<Tensor<2>> {
        let device = Device::flex().autodiff();
        (shapes.iter().zip(theta))
            .map(|(&shape, values)| {
                let data = TensorData::new(values.clone(), shape);
                let t = Tensor::<2>::from_data(data, (&device, DType::F64));
                if tracked { t.require_grad() } else { t }
            })
            .collect()
    }

    fn shapes(params: &Params) -> Vec<[usize; 2]> {
        params.slots.iter().map(|s| s.shape).collect()
    }

    /// The parameters' values in f64.
    fn theta(params: &Params) -> Vec<Vec<f64>> {
        (params.slots.iter())
            .map(|s| s.values.iter().map(|&v| f64::from(v)).collect())
            .collect()
    }

    /// The gradient of loss `which` from burn's autodiff against central differences (step
    /// 1e-6, in f64) on up to 6 entries of each of `checked`'s parameters (`None`: all).
    fn check(learner: &dyn Learner, params: &Params, which: usize, checked: Option<&[Id]>) {
        let batch = batch();
        let all: Vec<Id> = (0..params.slots.len()).collect();
        let checked = checked.unwrap_or(&all);
        let (shapes, theta) = (shapes(params), theta(params));
        let loss_at = |theta: &[Vec<f64>]| {
            let p = upload(&shapes, theta, false);
            numbers(learner.loss(which, &p, &batch).total.unsqueeze())[0]
        };
        let p = upload(&shapes, &theta, true);
        let grads = learner.loss(which, &p, &batch).total.backward();
        let mut compared = 0;
        for &id in checked {
            let analytic = p[id].grad(&grads).map(numbers);
            let n = theta[id].len();
            for j in (0..n).step_by(n.div_ceil(6)) {
                let mut moved = theta.to_vec();
                moved[id][j] += 1e-6;
                let up = loss_at(&moved);
                moved[id][j] -= 2e-6;
                let down = loss_at(&moved);
                let numeric = (up - down) / 2e-6;
                let analytic = analytic.as_ref().map_or(0.0, |g| g[j]);
                assert!(
                    (analytic - numeric).abs() <= 1e-5 + 1e-4 * numeric.abs(),
                    "loss {which}, parameter {id} entry {j}: autodiff {analytic}, central \
                     differences {numeric}"
                );
                compared += 1;
            }
        }
        assert!(
            compared >= 2 * checked.len().min(3),
            "{compared} entries compared"
        );
    }

    fn rng() -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(3)
    }

    #[test]
    fn fcrl_loss_gradient_matches_central_differences() {
        let (learner, params) = fcrl::Fcrl::new(D, K, Z, 4, 0.7, &mut rng());
        check(&learner, &params, 0, None);
    }

    #[test]
    fn maxent_arl_losses_gradients_match_central_differences() {
        let (learner, params) = maxent_arl::MaxentArl::new(D, K, Z, 4, 2.0, &mut rng());
        for (step, which) in [(0, 0), (1, 1)] {
            let moves = learner.moves(step);
            assert_eq!(moves[0].loss, which);
            check(&learner, &params, which, moves[0].params);
        }
    }

    #[test]
    fn cvib_loss_gradient_matches_central_differences() {
        let (learner, params) = cvib::Cvib::new(D, K, Z, 4, (0.3, 0.05), &mut rng());
        check(&learner, &params, 0, None);
    }

    /// The discriminator reads z held fixed: with δ > 0 the encoder's gradient of the model's
    /// loss leaves that path out (so central differences would not), checked with δ = 0.
    #[test]
    fn adversarial_forgetting_losses_gradients_match_central_differences() {
        let (learner, params) =
            forgetting::Forgetting::new((D, K, Z, 4), (0.1, 0.0, 0.2), 3, &mut rng());
        let moves = learner.moves(0);
        assert_eq!(moves[0].loss, 0);
        check(&learner, &params, 0, moves[0].params);
        let (learner, params) =
            forgetting::Forgetting::new((D, K, Z, 4), (0.1, 0.8, 0.2), 3, &mut rng());
        for step in [1, 2] {
            let moves = learner.moves(step);
            assert_eq!(
                moves[0].loss, 1,
                "the discriminator's steps between the model's"
            );
            check(&learner, &params, 1, moves[0].params);
        }
        assert_eq!(learner.moves(3)[0].loss, 0);
    }

    #[test]
    fn laftr_losses_gradients_match_central_differences() {
        let (learner, params) = laftr::Laftr::new(D, K, Z, 4, 1.5, &mut rng());
        let moves = learner.moves(0);
        assert_eq!(moves.len(), 2, "the encoder's step, then the auditor's");
        for m in &moves {
            check(&learner, &params, m.loss, m.params);
        }
    }

    /// KL(N(μ, σ²) ‖ N(0, I)) and the mean KL to the other rows' posteriors against the
    /// closed form written out entry by entry.
    #[test]
    fn gaussian_divergences_equal_the_closed_form() {
        let device = Device::flex();
        let mu = [[0.3, -1.2], [1.0, 0.5], [-0.4, 0.0]];
        let sigma = [[0.8, 1.3], [0.5, 0.9], [1.7, 0.2]];
        let tensor = |m: [[f64; 2]; 3]| {
            Tensor::<2>::from_data(TensorData::new(m.concat(), [3, 2]), (&device, DType::F64))
        };
        let kl = numbers(kl_to_standard(tensor(mu), tensor(sigma)));
        let pairs = numbers(cvib::divergence_to_others(tensor(mu), tensor(sigma)));
        for i in 0..3 {
            let to_standard: f64 = (0..2)
                .map(|d| {
                    let (m, s): (f64, f64) = (mu[i][d], sigma[i][d]);
                    0.5 * (m * m + s * s - 1.0 - 2.0 * s.ln())
                })
                .sum();
            assert!(
                (kl[i] - to_standard).abs() < 1e-9,
                "{} vs {to_standard}",
                kl[i]
            );
            let to_others: f64 = (0..3)
                .map(|j| {
                    (0..2)
                        .map(|d| {
                            let (vi, vj) = (sigma[i][d].powi(2), sigma[j][d].powi(2));
                            let gap = (mu[i][d] - mu[j][d]).powi(2);
                            0.5 * (vi / vj + gap / vj - 1.0 + (vj / vi).ln())
                        })
                        .sum::<f64>()
                })
                .sum::<f64>()
                / 3.0;
            // Within the 1e-8 the reference adds to each variance.
            let close = (pairs[i] - to_others).abs() < 1e-6 * to_others.abs();
            assert!(close, "{} vs {to_others}", pairs[i]);
        }
    }

    /// FCRL's conditional InfoNCE term against a loop over its definition: T_ij from the
    /// critic's parts, each row against the rows of its own group only (itself included).
    #[test]
    fn fcrl_mutual_information_conditions_on_the_group() {
        let (learner, params) = fcrl::Fcrl::new(D, K, Z, 4, 1.0, &mut rng());
        let batch = batch();
        let p = upload(&shapes(&params), &theta(&params), false);
        let z = batch.noise.clone(); // any z
        let mi = numbers(learner.mutual_information(&p, &batch, z.clone()));
        let (t, groups) = learner.critic_scores(&p, &batch, z);
        let n = groups.len();
        for i in 0..n {
            let same: Vec<usize> = (0..n).filter(|&j| groups[j] == groups[i]).collect();
            let mean = same.iter().map(|&j| t[i][j]).sum::<f64>() / same.len() as f64;
            let expected = (t[i][i] + 1e-8).ln() - (mean + 1e-8).ln();
            assert!(
                (mi[i] - expected).abs() < 1e-9,
                "row {i}: {} vs {expected}",
                mi[i]
            );
        }
        // Group 1 has rows 1 and 4: each compared with the two of them only.
        assert_eq!(groups, vec![0, 1, 2, 0, 1, 2]);
    }
}
