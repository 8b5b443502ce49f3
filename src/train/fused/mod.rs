//! The fused engine (`train.backend: fused`, the default): the network, losses and half-steps
//! of the burn engine (autodiff/, losses.rs), with the backward pass
//! written out for this one kind of network and Adam fused into one loop per layer. At the
//! paper's batch of 100, burn's autodiff and Adam spend more time than the matrix products
//! themselves (`fairbinn-sweep bench`); here a step is its products plus a few passes over
//! the activations. A test in train/mod.rs checks its training against burn's autodiff and
//! Adam for every method, loss, step order, follower batch and block position.

mod adversary;
mod gradients;
mod network;

use std::ops::Range;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::losses::FairnessWeights;
use super::{Method, Optimizer, Players, TrainLoss, TrainSpec};
use crate::data::{Dataset, Split};
use crate::model::{Architecture, LayerWeights, initial_layers};
pub(crate) use network::Layer;
pub use network::Moments;
use network::{Adam, Pass, forward, sgd_update};
pub(crate) use network::{Matrix, product};

pub struct Engine<'a> {
    spec: &'a TrainSpec,
    train: &'a Split,
    n_groups: usize,
    layers: Vec<Layer>,
    /// The fairness block's layers (θf); the others are θa.
    block: Range<usize>,
    gradients: Vec<Vec<f32>>,
    moments: Vec<Moments>,
    /// The one optimizer of one-player methods, or the leader's.
    leader: Stepper,
    follower: Stepper,
    work: Workspace,
    /// The leader's minibatch BCE this epoch (read, and restarted, when evaluating).
    train_loss: std::cell::Cell<TrainLoss>,
    /// `adversarial`'s adversary.
    adversary: Option<adversary::Adversary>,
}

#[derive(Clone, Copy)]
enum Player {
    /// Every layer: the one player of ERM and the Lagrangian.
    Both,
    /// θa.
    Accuracy,
    /// θf.
    Fairness,
}

/// A player's optimizer.
enum Stepper {
    Adam(Adam),
    Sgd { momentum: f32 },
}

impl Stepper {
    fn new(optimizer: Optimizer, momentum: f64) -> Self {
        match optimizer {
            Optimizer::Adam => Self::Adam(Adam::new()),
            Optimizer::Sgd => Self::Sgd {
                momentum: momentum as f32,
            },
        }
    }

    /// Adam's steps so far (its bias corrections); SGD keeps no count.
    fn steps(&self) -> i32 {
        match self {
            Self::Adam(adam) => adam.time,
            Self::Sgd { .. } => 0,
        }
    }

    fn set_steps(&mut self, steps: i32) {
        if let Self::Adam(adam) = self {
            adam.time = steps;
        }
    }
}

/// Everything a network in training carries from one step to the next, layer by layer.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub params: Vec<Vec<f32>>,
    pub moments: Vec<Moments>,
    /// Each optimizer's steps so far (Adam's bias corrections).
    pub leader_steps: i32,
    pub follower_steps: i32,
}

/// Buffers for one minibatch, allocated once per trial.
struct Workspace {
    inputs: Vec<f32>,
    labels: Vec<f32>,
    /// `outputs[i]`: layer i's output.
    outputs: Vec<Vec<f32>>,
    /// ∂L/∂(activations), ∂L/∂(pre-activations), and a buffer for the layer below's.
    d: Vec<f32>,
    pre: Vec<f32>,
    below: Vec<f32>,
}

impl<'a> Engine<'a> {
    pub fn new(architecture: &Architecture, spec: &'a TrainSpec, data: &'a Dataset) -> Self {
        let mut init_rng = ChaCha8Rng::seed_from_u64(spec.seed);
        let initial = initial_layers(architecture, data.train.n_features, &mut init_rng);
        let n_layers = initial.len();
        let layers: Vec<Layer> = initial
            .into_iter()
            .enumerate()
            .map(|(i, layer)| Layer::new(layer, i + 1 < n_layers))
            .collect();
        let rows = spec.batch_size.min(data.train.n_rows());
        let widest = layers
            .iter()
            .map(|l| l.d_in.max(l.d_out))
            .max()
            .unwrap_or(1);
        let outputs: Vec<Vec<f32>> = layers.iter().map(|l| vec![0.0; rows * l.d_out]).collect();
        Self {
            spec,
            train: &data.train,
            n_groups: data.n_groups(),
            block: architecture.block(),
            gradients: layers.iter().map(|l| vec![0.0; l.params.len()]).collect(),
            moments: layers.iter().map(Moments::new).collect(),
            leader: Stepper::new(spec.optimizer_acc, spec.momentum),
            follower: Stepper::new(spec.optimizer_fair(), spec.momentum),
            train_loss: Default::default(),
            adversary: (spec.method == Method::Adversarial).then(|| {
                adversary::Adversary::new(
                    spec.constraint(),
                    spec.adversary_width(),
                    data.n_groups(),
                    spec.seed,
                    rows,
                )
            }),
            work: Workspace {
                inputs: vec![0.0; rows * data.train.n_features],
                labels: vec![0.0; rows],
                outputs,
                d: vec![0.0; rows * widest],
                pre: vec![0.0; rows * widest],
                below: vec![0.0; rows * widest],
            },
            layers,
        }
    }

    /// Copy the rows' features and labels into the workspace; their fairness loss when
    /// `with_fairness`, if the method has one and the rows allow it.
    fn load(&mut self, rows: &[usize], with_fairness: bool) -> Option<FairnessWeights> {
        let n = self.train.n_features;
        for (chunk, &row) in self.work.inputs.chunks_exact_mut(n).zip(rows) {
            chunk.copy_from_slice(&self.train.features[row * n..(row + 1) * n]);
        }
        for (label, &row) in self.work.labels.iter_mut().zip(rows) {
            *label = self.train.labels[row];
        }
        if !with_fairness {
            return None;
        }
        let groups: Vec<u32> = rows.iter().map(|&r| self.train.groups[r]).collect();
        let labels = &self.work.labels[..rows.len()];
        FairnessWeights::new(self.spec.fairness_loss(), &groups, labels, self.n_groups)
    }

    /// Gradients of η·fairness loss on `rows`: θf's when `block`, θa's when `leak`. False,
    /// and nothing computed, when the rows have no fairness loss.
    fn fairness_pass(&mut self, rows: &[usize], block: bool, leak: bool) -> bool {
        let Some(fairness) = self.load(rows, true) else {
            return false;
        };
        let range = self.block.clone();
        let trains = |i: usize| if range.contains(&i) { block } else { leak };
        self.forward_backward(rows.len(), false, Some(&fairness), trains, false);
        true
    }

    /// Forward the loaded rows, then backward from ∂L/∂logits (BCE's when `bce`, plus
    /// η·the fairness loss's when given) down to the lowest layer `trains` names, giving those
    /// layers their weight gradients (added to what they hold when `accumulate`).
    fn forward_backward(
        &mut self,
        rows: usize,
        bce: bool,
        fairness: Option<&FairnessWeights>,
        trains: impl Fn(usize) -> bool,
        accumulate: bool,
    ) {
        let w = &mut self.work;
        forward(&self.layers, &w.inputs, rows, &mut w.outputs);
        let logits = &w.outputs[self.layers.len() - 1][..rows];
        let d = &mut w.d[..rows];
        if bce {
            let mut loss = self.train_loss.get();
            loss.add(gradients::bce(logits, &w.labels[..rows], d));
            self.train_loss.set(loss);
        } else {
            d.fill(0.0);
        }
        if let Some(weights) = fairness {
            gradients::fairness(weights, logits, self.spec.eta() as f32, d);
        }
        self.backward(rows, trains, accumulate);
    }

    /// Backward from the ∂L/∂logits in the workspace, through the last forward pass, down
    /// to the lowest layer `trains` names (see [`forward_backward`](Self::forward_backward)).
    fn backward(&mut self, rows: usize, trains: impl Fn(usize) -> bool, accumulate: bool) {
        let w = &mut self.work;
        let lowest = (0..self.layers.len()).find(|&i| trains(i)).unwrap_or(0);
        let pass = Pass {
            layers: &self.layers,
            input: &w.inputs,
            outputs: &w.outputs,
            rows,
        };
        pass.backward(
            lowest..self.layers.len(),
            trains,
            &mut self.gradients,
            accumulate,
            [&mut w.d, &mut w.pre, &mut w.below],
        );
    }

    /// `adversarial`'s gradient on `rows`, left in `self.gradients` (the adversary's in the
    /// adversary): per parameter tensor (each layer's weight, then its bias), the BCE
    /// gradient g_P loses its projection on the adversary's loss gradient g_A and takes
    /// −α·g_A: g_P − ⟨g_P, u⟩u − α·g_A with u = g_A/‖g_A‖ (Frobenius, as the paper and
    /// fairlearn's TensorFlow engine). Both at the same parameters.
    fn adversarial_gradients(&mut self, rows: &[usize], alpha: f64) {
        let n = rows.len();
        self.load(rows, false);
        self.forward_backward(n, true, None, |_| true, false);
        let task = self.gradients.clone();
        let top = self.layers.len() - 1;
        let p: Vec<f32> = (self.work.outputs[top][..n].iter())
            .map(|&z| gradients::sigmoid(z))
            .collect();
        let groups: Vec<u32> = rows.iter().map(|&r| self.train.groups[r]).collect();
        let adversary = self.adversary.as_mut().expect("made for adversarial");
        let d_p = adversary.backward(&p, &self.work.labels[..n], &groups);
        // ∂p/∂logit = p(1 − p); the forward pass's activations are still in the workspace.
        for ((d, dp), p) in self.work.d[..n].iter_mut().zip(&d_p).zip(&p) {
            *d = dp * p * (1.0 - p);
        }
        self.backward(n, |_| true, false);
        let alpha = alpha as f32;
        for (layer, (gradient, task)) in
            (self.layers.iter()).zip(self.gradients.iter_mut().zip(&task))
        {
            let split = layer.d_in * layer.d_out;
            let (a_weight, a_bias) = gradient.split_at_mut(split);
            let (p_weight, p_bias) = task.split_at(split);
            for (adversary, task) in [(a_weight, p_weight), (a_bias, p_bias)] {
                let norm = adversary
                    .iter()
                    .map(|g| f64::from(*g).powi(2))
                    .sum::<f64>()
                    .sqrt();
                let unit = 1.0 / (norm + 1e-12);
                let along: f64 = (adversary.iter().zip(task))
                    .map(|(a, t)| f64::from(*a) * unit * f64::from(*t))
                    .sum();
                for (a, t) in adversary.iter_mut().zip(task) {
                    let u = (f64::from(*a) * unit) as f32;
                    *a = t - along as f32 * u - alpha * *a;
                }
            }
        }
    }

    /// One optimizer step for a player's layers, with its own optimizer (one-player methods:
    /// every layer, with the leader's).
    fn step(&mut self, player: Player, learning_rate: f64) {
        let (optimizer, owns): (&mut Stepper, &dyn Fn(bool) -> bool) = match player {
            Player::Both => (&mut self.leader, &|_| true),
            Player::Accuracy => (&mut self.leader, &|in_block| !in_block),
            Player::Fairness => (&mut self.follower, &|in_block| in_block),
        };
        let layers = (self
            .layers
            .iter_mut()
            .zip(&self.gradients)
            .zip(&mut self.moments))
        .enumerate()
        .filter(|(i, _)| owns(self.block.contains(i)));
        match optimizer {
            Stepper::Adam(adam) => {
                let step = adam.next_step(learning_rate);
                for (_, ((layer, gradient), moments)) in layers {
                    step.update(layer, gradient, moments);
                }
            }
            // The velocity lives where Adam's first moment would.
            Stepper::Sgd { momentum } => {
                for (_, ((layer, gradient), moments)) in layers {
                    sgd_update(
                        layer,
                        gradient,
                        &mut moments.first,
                        *momentum,
                        learning_rate,
                    );
                }
            }
        }
    }

    /// Parameters and optimizer state, to go on from later.
    pub fn state(&self) -> State {
        State {
            params: self.layers.iter().map(|l| l.params.clone()).collect(),
            moments: self.moments.clone(),
            leader_steps: self.leader.steps(),
            follower_steps: self.follower.steps(),
        }
    }

    /// Take up `state` (of a network of this shape).
    pub fn restore(&mut self, state: &State) {
        for (layer, params) in self.layers.iter_mut().zip(&state.params) {
            assert_eq!(
                layer.params.len(),
                params.len(),
                "a state of another network"
            );
            layer.params.copy_from_slice(params);
        }
        self.moments.clone_from(&state.moments);
        self.leader.set_steps(state.leader_steps);
        self.follower.set_steps(state.follower_steps);
    }

    /// θa's gradient of BCE on `rows` at the follower's response unrolled `unroll` plain
    /// steps of size `follower_rate` on η·fairness loss (step j on `followers[j mod n]`):
    /// the total derivative of the leader's loss, θf's dependence on θa included. The BCE
    /// gradient is taken at the unrolled θf; carried back through each step it gains
    /// −follower_rate·∇²θaθf(η·φ)·v, while v, θf's part, becomes v − follower_rate·∇²θfθf(η·φ)·v.
    /// The Hessian-vector products are central differences of gradients, θf moved by ±ε·v
    /// with ε·‖v‖ = 10⁻³ (DARTS's scheme; fused/mod.rs's test measures its error). θf is left
    /// as it was; θa's gradient is left in `self.gradients`.
    fn hypergradient(
        &mut self,
        rows: &[usize],
        followers: &[&[usize]],
        follower_rate: f64,
        unroll: usize,
    ) {
        let block = self.block.clone();
        let rate = follower_rate as f32;
        // θf before each unrolled step, and whether the step's rows had a fairness loss.
        let mut iterates = Vec::with_capacity(unroll);
        for j in 0..unroll {
            let before = self.block_params();
            let follower_rows = followers[j % followers.len()];
            let stepped = self.fairness_pass(follower_rows, true, false);
            if stepped {
                for i in block.clone() {
                    let (layer, gradient) = (&mut self.layers[i], &self.gradients[i]);
                    for (p, g) in layer.params.iter_mut().zip(gradient) {
                        *p -= rate * g;
                    }
                }
            }
            iterates.push((before, stepped.then_some(follower_rows)));
        }
        self.load(rows, false);
        self.forward_backward(rows.len(), true, None, |_| true, false);
        let mut total: Vec<Vec<f32>> = self.gradients.clone();
        for (before, follower_rows) in iterates.into_iter().rev() {
            let Some(follower_rows) = follower_rows else {
                self.set_block_params(&before);
                continue;
            };
            let norm = (block.clone())
                .flat_map(|i| total[i].iter())
                .map(|&v| f64::from(v) * f64::from(v))
                .sum::<f64>()
                .sqrt();
            if norm == 0.0 {
                self.set_block_params(&before);
                continue;
            }
            let epsilon = (1e-3 / norm) as f32;
            let mut difference: Vec<Vec<f32>> = Vec::new();
            for sign in [1.0f32, -1.0] {
                for (k, i) in block.clone().enumerate() {
                    let layer = &mut self.layers[i];
                    for ((p, &b), &v) in layer.params.iter_mut().zip(&before[k]).zip(&total[i]) {
                        *p = b + sign * epsilon * v;
                    }
                }
                self.fairness_pass(follower_rows, true, true);
                match sign > 0.0 {
                    true => difference = self.gradients.clone(),
                    false => {
                        for (d, g) in difference.iter_mut().zip(&self.gradients) {
                            d.iter_mut().zip(g).for_each(|(d, g)| *d -= g);
                        }
                    }
                }
            }
            // Hv ≈ difference / 2ε; both θa's and θf's parts lose rate · Hv.
            let scale = rate / (2.0 * epsilon);
            for (t, d) in total.iter_mut().zip(&difference) {
                t.iter_mut().zip(d).for_each(|(t, d)| *t -= scale * d);
            }
            self.set_block_params(&before);
        }
        for (i, gradient) in total.into_iter().enumerate() {
            if !block.contains(&i) {
                self.gradients[i] = gradient;
            }
        }
    }

    /// The fairness block's parameters, layer by layer.
    fn block_params(&self) -> Vec<Vec<f32>> {
        self.block
            .clone()
            .map(|i| self.layers[i].params.clone())
            .collect()
    }

    fn set_block_params(&mut self, params: &[Vec<f32>]) {
        for (i, params) in self.block.clone().zip(params) {
            self.layers[i].params.copy_from_slice(params);
        }
    }

    /// The mean BCE of the leader's minibatches since the last call.
    pub fn take_train_loss(&self) -> f64 {
        self.train_loss.take().take()
    }

    /// Every layer's weights, input to output.
    pub fn weights(&self) -> Vec<LayerWeights> {
        self.layers.iter().map(Layer::weights).collect()
    }

    /// Predicted probabilities on a split.
    pub fn probabilities(&self, split: &Split) -> Vec<f32> {
        probabilities(&self.layers, &split.features, split.n_features)
    }
}

/// The network's predicted probabilities for `features` (`n_features` per row), in chunks
/// of rows: during training and for a saved model (`predict`) alike, so both give the same
/// numbers to the last bit.
pub fn probabilities(layers: &[Layer], features: &[f32], n_features: usize) -> Vec<f32> {
    const CHUNK: usize = 1024;
    let mut outputs: Vec<Vec<f32>> = layers.iter().map(|l| vec![0.0; CHUNK * l.d_out]).collect();
    let mut probabilities = Vec::with_capacity(features.len() / n_features.max(1));
    for inputs in features.chunks(CHUNK * n_features) {
        let rows = inputs.len() / n_features;
        forward(layers, inputs, rows, &mut outputs);
        let logits = &outputs[outputs.len() - 1][..rows];
        probabilities.extend(logits.iter().map(|&z| gradients::sigmoid(z)));
    }
    probabilities
}

/// The half-steps, as burn's engine computes them (autodiff/steps.rs). The authors' leak is
/// the gradient of a pass the network makes anyway (the first follower step's, or the
/// leader's own), added into θa's gradients, which the follower's steps leave alone.
impl Players for Engine<'_> {
    fn joint_step(&mut self, rows: &[usize], rate: f64, with_fairness: bool) {
        let fairness = self.load(rows, with_fairness);
        self.forward_backward(rows.len(), true, fairness.as_ref(), |_| true, false);
        self.step(Player::Both, rate);
    }

    fn leader_step(&mut self, rows: &[usize], rate: f64, fairness: bool, add_kept: bool) {
        let fairness = self.load(rows, fairness);
        let block = self.block.clone();
        let is_accuracy = |i: usize| !block.contains(&i);
        self.forward_backward(rows.len(), true, fairness.as_ref(), is_accuracy, add_kept);
        self.step(Player::Accuracy, rate);
    }

    fn follower_step(&mut self, rows: &[usize], rate: f64, keep_leak: bool) -> bool {
        if !self.fairness_pass(rows, true, keep_leak) {
            return false; // No fairness loss on this batch (see losses.rs).
        }
        self.step(Player::Fairness, rate);
        keep_leak
    }

    fn keep_leak(&mut self, rows: &[usize]) -> bool {
        self.fairness_pass(rows, false, true)
    }

    fn anticipating_leader_step(
        &mut self,
        rows: &[usize],
        rate: f64,
        followers: &[&[usize]],
        follower_rate: f64,
        unroll: usize,
    ) {
        self.hypergradient(rows, followers, follower_rate, unroll);
        self.step(Player::Accuracy, rate);
    }

    fn adversarial_step(&mut self, rows: &[usize], rate: f64, adversary_rate: f64, alpha: f64) {
        self.adversarial_gradients(rows, alpha);
        self.step(Player::Both, rate);
        self.adversary
            .as_mut()
            .expect("made for adversarial")
            .step(adversary_rate);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::knob::Value;
    use crate::train::threshold_optimizer::Constraint;
    use crate::train::{FairnessLoss, Method};

    /// η of the test: large enough for the follower's steps to move the leader's gradient.
    const ETA: f64 = 2000.0;

    /// A layer in f64: weight `[d_in, d_out]` row-major, then bias.
    type Layer64 = (usize, Vec<f64>, Vec<f64>);

    fn logits(layers: &[Layer64], data: &Split, rows: &[usize]) -> Vec<f64> {
        let n = data.n_features;
        let row = |r: usize| {
            let mut a: Vec<f64> = data.features[r * n..(r + 1) * n]
                .iter()
                .map(|&x| f64::from(x))
                .collect();
            for (k, (d_out, weight, bias)) in layers.iter().enumerate() {
                let mut z = bias.clone();
                for (i, &x) in a.iter().enumerate() {
                    for (j, z) in z.iter_mut().enumerate() {
                        *z += x * weight[i * d_out + j];
                    }
                }
                if k + 1 < layers.len() {
                    z.iter_mut().for_each(|v| *v = v.max(0.0));
                }
                a = z;
            }
            a[0]
        };
        rows.iter().map(|&r| row(r)).collect()
    }

    fn bce(layers: &[Layer64], data: &Split, rows: &[usize]) -> f64 {
        let terms = logits(layers, data, rows)
            .into_iter()
            .zip(rows)
            .map(|(z, &r)| z.max(0.0) - z * f64::from(data.labels[r]) + (-z.abs()).exp().ln_1p());
        terms.sum::<f64>() / rows.len() as f64
    }

    /// η · (μ₀ − μ₁)², μ a group's mean probability on `rows` (`dp-squared`, two groups).
    fn fairness(layers: &[Layer64], data: &Split, rows: &[usize], eta: f64) -> f64 {
        let (mut sums, mut counts) = ([0.0f64; 2], [0.0f64; 2]);
        for (z, &r) in logits(layers, data, rows).into_iter().zip(rows) {
            sums[data.groups[r] as usize] += 1.0 / (1.0 + (-z).exp());
            counts[data.groups[r] as usize] += 1.0;
        }
        eta * (sums[0] / counts[0] - sums[1] / counts[1]).powi(2)
    }

    /// The leader's objective after the follower's unrolled steps, in f64, written out apart
    /// from the engine: θf stepped `unroll` times by −rate·∇θf(η·φ) on `followers` (the
    /// gradient by central differences), then BCE on `rows`.
    fn unrolled(
        layers: &[Layer64],
        block: &Range<usize>,
        data: &Split,
        rows: &[usize],
        followers: &[usize],
        rate: f64,
        unroll: usize,
    ) -> f64 {
        let eta = ETA;
        let mut layers = layers.to_vec();
        for _ in 0..unroll {
            let mut steps = Vec::new();
            for i in block.clone() {
                for (part, len) in [(1, layers[i].1.len()), (2, layers[i].2.len())] {
                    for k in 0..len {
                        let at = |delta: f64| {
                            let mut moved = layers.clone();
                            let values = if part == 1 {
                                &mut moved[i].1
                            } else {
                                &mut moved[i].2
                            };
                            values[k] += delta;
                            fairness(&moved, data, followers, eta)
                        };
                        let h = 1e-6;
                        steps.push((i, part, k, (at(h) - at(-h)) / (2.0 * h)));
                    }
                }
            }
            for (i, part, k, d) in steps {
                let values = if part == 1 {
                    &mut layers[i].1
                } else {
                    &mut layers[i].2
                };
                values[k] -= rate * d;
            }
        }
        bce(&layers, data, rows)
    }

    /// `stackelberg`'s hypergradient on a tiny network (3 inputs, width 3, block in the
    /// middle) against central differences of the unrolled objective in f64, per parameter
    /// of θa, for one and for two unrolled steps; θf is left as it was.
    #[test]
    fn the_hypergradient_is_the_derivative_of_the_unrolled_objective() {
        use rand::{RngExt, SeedableRng};
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let n = 12;
        let features: Vec<f32> = (0..n * 3).map(|_| rng.random_range(-1.0..1.0)).collect();
        let split = Split {
            labels: (0..n)
                .map(|i| f32::from(features[3 * i] + features[3 * i + 2] > 0.0))
                .collect(),
            groups: (0..n).map(|i| (i % 2) as u32).collect(),
            features,
            n_features: 3,
        };
        let data = Dataset::in_memory("tiny", &["a", "b", "c"], &["x", "y"], split);
        let architecture = Architecture {
            accuracy_layers: 1,
            fairness_layers: 1,
            fairness_position: 2,
            width: Some(3),
        };
        let mut spec = TrainSpec {
            batch_size: n,
            ..TrainSpec::for_tests(Method::Stackelberg)
        };
        spec.set("eta", Value::Number(ETA));
        spec.set(
            "fairness_loss",
            Value::Choice(FairnessLoss::DpSquared.as_str()),
        );
        let (rows, followers): (Vec<usize>, Vec<usize>) = ((0..8).collect(), (4..12).collect());
        let rate = 0.2;
        for unroll in [1, 2] {
            let mut engine = Engine::new(&architecture, &spec, &data);
            let before = engine.weights();
            let layers: Vec<Layer64> = (before.iter())
                .map(|l| {
                    (
                        l.d_out,
                        l.weight.iter().map(|&v| v.into()).collect(),
                        l.bias.iter().map(|&v| v.into()).collect(),
                    )
                })
                .collect();
            engine.hypergradient(&rows, &[&followers], rate, unroll);
            assert_eq!(engine.weights(), before, "θf is left as it was");
            let block = engine.block.clone();
            let (mut worst, mut correction) = (0.0f64, 0.0f64);
            for i in (0..layers.len()).filter(|i| !block.contains(i)) {
                let d_in = before[i].d_in;
                for k in 0..layers[i].1.len() + layers[i].2.len() {
                    let at = |delta: f64| {
                        let mut moved = layers.clone();
                        match k < d_in * layers[i].0 {
                            true => moved[i].1[k] += delta,
                            false => moved[i].2[k - d_in * layers[i].0] += delta,
                        }
                        unrolled(&moved, &block, &data.train, &rows, &followers, rate, unroll)
                    };
                    let h = 1e-5;
                    let expected = (at(h) - at(-h)) / (2.0 * h);
                    let plain = {
                        let at = |delta: f64| {
                            let mut moved = layers.clone();
                            match k < d_in * layers[i].0 {
                                true => moved[i].1[k] += delta,
                                false => moved[i].2[k - d_in * layers[i].0] += delta,
                            }
                            bce(&moved, &data.train, &rows)
                        };
                        (at(h) - at(-h)) / (2.0 * h)
                    };
                    let got = f64::from(engine.gradients[i][k]);
                    let error = (got - expected).abs() / expected.abs().max(1e-3);
                    worst = worst.max(error);
                    correction =
                        correction.max((expected - plain).abs() / expected.abs().max(1e-3));
                    assert!(
                        error <= 1e-3,
                        "unroll {unroll}, layer {i}, parameter {k}: {got} against {expected} (BCE alone: {plain})"
                    );
                }
            }
            // The anticipation matters here: it moves some parameter's gradient by over 10%.
            assert!(
                correction > 0.1,
                "unroll {unroll}: the correction is only {correction}"
            );
            eprintln!(
                "unroll {unroll}: largest relative error {worst:.2e}, largest correction {correction:.2}"
            );
        }
    }

    /// The adversary's mean loss, in f64: its layers (leaky ReLU between) on each row's
    /// probability (and label), sigmoid BCE on "group 1" or softmax cross-entropy.
    fn adversary_loss(
        adversary: &[Layer64],
        logits: &[f64],
        data: &Split,
        rows: &[usize],
        constraint: Constraint,
    ) -> f64 {
        let with_label = constraint == Constraint::EqualizedOdds;
        // Equal opportunity: the loss of the positive rows only, their mean.
        let counted =
            |r: usize| constraint != Constraint::TruePositiveRateParity || data.labels[r] > 0.5;
        let mut total = 0.0;
        for (&z, &r) in logits.iter().zip(rows).filter(|&(_, &r)| counted(r)) {
            let mut a = vec![1.0 / (1.0 + (-z).exp())];
            if with_label {
                a.push(f64::from(data.labels[r]));
            }
            for (k, (d_out, weight, bias)) in adversary.iter().enumerate() {
                let mut out = bias.clone();
                for (i, &x) in a.iter().enumerate() {
                    for (j, o) in out.iter_mut().enumerate() {
                        *o += x * weight[i * d_out + j];
                    }
                }
                if k + 1 < adversary.len() {
                    out.iter_mut()
                        .for_each(|v| *v = if *v < 0.0 { 0.01 * *v } else { *v });
                }
                a = out;
            }
            let g = data.groups[r] as usize;
            total += match a.len() {
                1 => {
                    let q = 1.0 / (1.0 + (-a[0]).exp());
                    -(if g == 1 { q.ln() } else { (1.0 - q).ln() })
                }
                _ => {
                    let largest = a.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let sum: f64 = a.iter().map(|v| (v - largest).exp()).sum();
                    -(a[g] - largest - sum.ln())
                }
            };
        }
        total / rows.iter().filter(|&&r| counted(r)).count() as f64
    }

    /// `adversarial`'s gradient on a tiny network, against a hand computation in f64: g_P
    /// and g_A by central differences of BCE and of the adversary's loss, then per tensor
    /// g_P − ⟨g_P, u⟩u − α·g_A with u = g_A/‖g_A‖. Two groups with a linear adversary on p;
    /// three groups with a hidden layer of 2 on (p, y) (softmax, equalized odds).
    #[test]
    fn the_adversarial_gradient_is_the_projected_gradient_by_hand() {
        use rand::{RngExt, SeedableRng};
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let n = 10;
        for (groups, width, constraint) in [
            (2, 0, Constraint::DemographicParity),
            (3, 2, Constraint::EqualizedOdds),
            (3, 0, Constraint::TruePositiveRateParity),
        ] {
            let features: Vec<f32> = (0..n * 3).map(|_| rng.random_range(-1.0..1.0)).collect();
            let split = Split {
                labels: (0..n).map(|i| f32::from(features[3 * i] > 0.0)).collect(),
                groups: (0..n).map(|i| (i % groups) as u32).collect(),
                features,
                n_features: 3,
            };
            let names = ["x", "y", "z"];
            let data = Dataset::in_memory("tiny", &["a", "b", "c"], &names[..groups], split);
            let architecture = Architecture {
                accuracy_layers: 1,
                fairness_layers: 1,
                fairness_position: 2,
                width: Some(3),
            };
            let alpha = 0.7;
            let mut spec = TrainSpec {
                batch_size: n,
                ..TrainSpec::for_tests(Method::Adversarial)
            };
            spec.set("alpha", Value::Number(alpha));
            spec.set("lr_adv", Value::Number(1e-3));
            spec.set("adversary_width", Value::Count(width));
            spec.set("constraint", Value::Choice(constraint.as_str()));
            let mut engine = Engine::new(&architecture, &spec, &data);
            let layers: Vec<Layer64> = (engine.weights().iter())
                .map(|l| {
                    let wide = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect();
                    (l.d_out, wide(&l.weight), wide(&l.bias))
                })
                .collect();
            let adversary = engine.adversary.as_ref().unwrap().layers();
            let rows: Vec<usize> = (0..n).collect();
            engine.adversarial_gradients(&rows, alpha);
            let train = &data.train;
            let h = 1e-6;
            for (i, layer) in layers.iter().enumerate() {
                let weights = layer.1.len();
                // Each tensor: the weight, then the bias.
                for range in [0..weights, weights..weights + layer.2.len()] {
                    let derivative = |k: usize, loss: &dyn Fn(&[Layer64]) -> f64| {
                        let at = |delta: f64| {
                            let mut moved = layers.clone();
                            match k < weights {
                                true => moved[i].1[k] += delta,
                                false => moved[i].2[k - weights] += delta,
                            }
                            loss(&moved)
                        };
                        (at(h) - at(-h)) / (2.0 * h)
                    };
                    let task: Vec<f64> = (range.clone())
                        .map(|k| derivative(k, &|l| bce(l, train, &rows)))
                        .collect();
                    let against: Vec<f64> = (range.clone())
                        .map(|k| {
                            derivative(k, &|l| {
                                let z = logits(l, train, &rows);
                                adversary_loss(&adversary, &z, train, &rows, constraint)
                            })
                        })
                        .collect();
                    let norm = against.iter().map(|g| g * g).sum::<f64>().sqrt();
                    assert!(norm > 1e-6, "the adversary's gradient reaches layer {i}");
                    let along: f64 = against.iter().zip(&task).map(|(a, t)| a / norm * t).sum();
                    for (j, k) in range.enumerate() {
                        let expected = task[j] - along * against[j] / norm - alpha * against[j];
                        let got = f64::from(engine.gradients[i][k]);
                        assert!(
                            (got - expected).abs() <= 1e-4 * expected.abs().max(1e-2),
                            "{groups} groups, layer {i}, parameter {k}: {got} against {expected}"
                        );
                    }
                }
            }
        }
    }
}
