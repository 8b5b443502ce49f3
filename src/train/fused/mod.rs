//! The fused engine (`train.backend: fused`, the default): the network, losses and half-steps
//! of the burn engine (autodiff/, losses.rs), with the backward pass
//! written out for this one kind of network and Adam fused into one loop per layer. At the
//! paper's batch of 100, burn's autodiff and Adam spend more time than the matrix products
//! themselves (`fairbinn-sweep bench`); here a step is its products plus a few passes over
//! the activations. A test in train/mod.rs checks its training against burn's autodiff and
//! Adam for every method, loss, step order, follower batch and block position.

mod gradients;
mod network;

use std::ops::Range;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::losses::FairnessWeights;
use super::{Optimizer, Players, TrainLoss, TrainSpec};
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
            follower: Stepper::new(spec.optimizer_fair, spec.momentum),
            train_loss: Default::default(),
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
        FairnessWeights::new(self.spec.fairness_loss, &groups, labels, self.n_groups)
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
            gradients::fairness(weights, logits, self.spec.eta as f32, d);
        }
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
}
