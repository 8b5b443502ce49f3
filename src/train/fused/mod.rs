//! The fused engine (`train.backend: fused`, the default): the network, losses and update
//! rules of the burn engine (fairbinn.rs, lagrangian.rs, losses.rs), with the backward pass
//! written out for this one kind of network and Adam fused into one loop per layer. At the
//! paper's batch of 100, burn's autodiff and Adam spend more time than the matrix products
//! themselves (`fairbinn-sweep bench`); here a step is its products plus a few passes over
//! the activations. The tests below check its steps against burn's autodiff and Adam.

mod gradients;
mod network;

use std::ops::Range;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::fairbinn::UpdateRule;
use super::losses::FairnessWeights;
use super::{LearningRates, Method, StepOrder, TrainSpec};
use crate::data::{Dataset, Split};
use crate::model::{Architecture, initial_layers};
use network::{Adam, Layer, Moments, Pass, forward};
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
    leader: Adam,
    follower: Adam,
    /// The authors' rule: the network as it was at the start of the iteration.
    at_start: Vec<Layer>,
    work: Workspace,
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

/// ∂L/∂logits into `d`: BCE's when `bce`, plus scale · the fairness loss's when given.
fn d_logits(
    outputs: &[Vec<f32>],
    labels: &[f32],
    d: &mut [f32],
    rows: usize,
    bce: bool,
    fairness: Option<(&FairnessWeights, f32)>,
) {
    let logits = &outputs[outputs.len() - 1][..rows];
    let d = &mut d[..rows];
    if bce {
        gradients::bce(logits, &labels[..rows], d);
    } else {
        d.fill(0.0);
    }
    if let Some((weights, scale)) = fairness {
        gradients::fairness(weights, logits, scale, d);
    }
}

/// Buffers for one minibatch, allocated once per trial.
struct Workspace {
    inputs: Vec<f32>,
    labels: Vec<f32>,
    /// `outputs[i]`: layer i's output.
    outputs: Vec<Vec<f32>>,
    /// The same through the network as it was at the start (the authors' leaked gradient).
    outputs_at_start: Vec<Vec<f32>>,
    /// ∂L/∂(activations), and a second buffer to take turns with.
    d: Vec<f32>,
    scratch: Vec<f32>,
    /// ∂L/∂(the block's input), summed over the leader's two losses.
    d_block_input: Vec<f32>,
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
            leader: Adam::new(),
            follower: Adam::new(),
            at_start: match spec.method {
                Method::FairBiNNReference => layers.clone(),
                _ => Vec::new(),
            },
            work: Workspace {
                inputs: vec![0.0; rows * data.train.n_features],
                labels: vec![0.0; rows],
                outputs_at_start: outputs.clone(),
                outputs,
                d: vec![0.0; rows * widest],
                scratch: vec![0.0; rows * widest],
                d_block_input: vec![0.0; rows * widest],
            },
            layers,
        }
    }

    /// One training step on the training split's `leader` rows, with the follower's steps
    /// on `followers` for bilevel methods, as `Bilevel::step` and `Joint::step` do.
    pub fn step(&mut self, leader: &[usize], followers: &[&[usize]], rates: LearningRates) {
        let rule = match self.spec.method {
            Method::Erm | Method::Lagrangian => return self.joint_step(leader, rates.accuracy),
            Method::FairBiNN => UpdateRule::Paper,
            Method::FairBiNNReference => UpdateRule::AuthorsCode,
        };
        if rule == UpdateRule::AuthorsCode {
            for (copy, layer) in self.at_start.iter_mut().zip(&self.layers) {
                copy.params.copy_from_slice(&layer.params);
            }
        }
        let order = self.spec.step_order;
        if order == StepOrder::FollowerFirst {
            followers
                .iter()
                .for_each(|rows| self.follower_step(rows, rates.fairness));
        }
        self.leader_step(leader, rule, rates.accuracy);
        if order == StepOrder::LeaderFirst {
            followers
                .iter()
                .for_each(|rows| self.follower_step(rows, rates.fairness));
        }
    }

    /// Copy the rows' features and labels into the workspace; their fairness loss, if the
    /// method has one and the rows allow it.
    fn load(&mut self, rows: &[usize]) -> Option<FairnessWeights> {
        let n = self.train.n_features;
        for (chunk, &row) in self.work.inputs.chunks_exact_mut(n).zip(rows) {
            chunk.copy_from_slice(&self.train.features[row * n..(row + 1) * n]);
        }
        for (label, &row) in self.work.labels.iter_mut().zip(rows) {
            *label = self.train.labels[row];
        }
        if !self.spec.method.uses_eta() {
            return None;
        }
        let groups: Vec<u32> = rows.iter().map(|&r| self.train.groups[r]).collect();
        let labels = &self.work.labels[..rows.len()];
        FairnessWeights::new(self.spec.fairness_loss, &groups, labels, self.n_groups)
    }

    /// Lagrangian and ERM: one Adam over every layer on BCE + η·fairness loss.
    fn joint_step(&mut self, rows: &[usize], learning_rate: f64) {
        let fairness = self.load(rows);
        let n = rows.len();
        forward(
            &self.layers,
            0,
            &self.work.inputs,
            n,
            &mut self.work.outputs,
        );
        let fairness = fairness.filter(|_| self.spec.eta > 0.0);
        let eta = self.spec.eta as f32;
        let w = &mut self.work;
        d_logits(
            &w.outputs,
            &w.labels,
            &mut w.d,
            n,
            true,
            fairness.as_ref().map(|f| (f, eta)),
        );
        self.backward_main(0..self.layers.len(), |_| true, false, n);
        self.adam(Player::Both, learning_rate);
    }

    /// θa ← Adam(∇θa BCE), θf held fixed; under the authors' rule the gradient also holds
    /// ∇θa(η·fairness loss) through the block as it was at the start of the iteration.
    fn leader_step(&mut self, rows: &[usize], rule: UpdateRule, learning_rate: f64) {
        let fairness = self.load(rows);
        let n = rows.len();
        let block = self.block.clone();
        forward(
            &self.layers,
            0,
            &self.work.inputs,
            n,
            &mut self.work.outputs,
        );
        let is_accuracy = |i: usize| !block.contains(&i);
        let all = 0..self.layers.len();
        let above = block.start..all.end;
        let has_layers_below = block.start > 0;

        let w = &mut self.work;
        d_logits(&w.outputs, &w.labels, &mut w.d, n, true, None);
        self.backward_main(above.clone(), is_accuracy, has_layers_below, n);
        if let (UpdateRule::AuthorsCode, Some(fairness)) = (rule, fairness) {
            if has_layers_below {
                let d = &self.work.d[..n * self.layers[block.start].d_in];
                self.work.d_block_input[..d.len()].copy_from_slice(d);
            }
            // The leaked pass: from the block's input, through the network at the start.
            let block_input: &[f32] = match block.start {
                0 => &self.work.inputs,
                start => &self.work.outputs[start - 1],
            };
            forward(
                &self.at_start,
                block.start,
                block_input,
                n,
                &mut self.work.outputs_at_start,
            );
            let w = &mut self.work;
            let eta = self.spec.eta as f32;
            d_logits(
                &w.outputs_at_start,
                &w.labels,
                &mut w.d,
                n,
                false,
                Some((&fairness, eta)),
            );
            let block_input: &[f32] = match block.start {
                0 => &w.inputs,
                start => &w.outputs[start - 1],
            };
            let pass = Pass {
                layers: &self.at_start,
                from: block.start,
                input: block_input,
                outputs: &w.outputs_at_start,
                rows: n,
            };
            pass.backward(
                above,
                is_accuracy,
                &mut self.gradients,
                true,
                has_layers_below,
                [&mut w.d, &mut w.scratch],
            );
            if has_layers_below {
                let size = n * self.layers[block.start].d_in;
                for (d, leaked) in w.d[..size].iter_mut().zip(&w.d_block_input) {
                    *d += leaked;
                }
            }
        }
        if has_layers_below {
            self.backward_main(0..block.start, |_| true, false, n);
        }
        self.adam(Player::Accuracy, learning_rate);
    }

    /// θf ← Adam(∇θf η·fairness loss), θa held fixed.
    fn follower_step(&mut self, rows: &[usize], learning_rate: f64) {
        let Some(fairness) = self.load(rows) else {
            return; // No fairness loss on this batch (see losses.rs).
        };
        let n = rows.len();
        forward(
            &self.layers,
            0,
            &self.work.inputs,
            n,
            &mut self.work.outputs,
        );
        let eta = self.spec.eta as f32;
        let w = &mut self.work;
        d_logits(
            &w.outputs,
            &w.labels,
            &mut w.d,
            n,
            false,
            Some((&fairness, eta)),
        );
        let block = self.block.clone();
        let above = block.start..self.layers.len();
        self.backward_main(above, |i| block.contains(&i), false, n);
        self.adam(Player::Fairness, learning_rate);
    }

    /// Backward through `layers` of the current network's last forward pass (see
    /// `Pass::backward`), writing the gradients.
    fn backward_main(
        &mut self,
        layers: Range<usize>,
        trains: impl Fn(usize) -> bool,
        input_gradient: bool,
        rows: usize,
    ) {
        let w = &mut self.work;
        let pass = Pass {
            layers: &self.layers,
            from: 0,
            input: &w.inputs,
            outputs: &w.outputs,
            rows,
        };
        pass.backward(
            layers,
            trains,
            &mut self.gradients,
            false,
            input_gradient,
            [&mut w.d, &mut w.scratch],
        );
    }

    /// One Adam step for a player's layers, with its own optimizer (one-player methods:
    /// every layer, with the leader's).
    fn adam(&mut self, player: Player, learning_rate: f64) {
        let (adam, owns): (&mut Adam, &dyn Fn(bool) -> bool) = match player {
            Player::Both => (&mut self.leader, &|_| true),
            Player::Accuracy => (&mut self.leader, &|in_block| !in_block),
            Player::Fairness => (&mut self.follower, &|in_block| in_block),
        };
        let step = adam.next_step(learning_rate);
        for (i, layer) in self.layers.iter_mut().enumerate() {
            if owns(self.block.contains(&i)) {
                step.update(layer, &self.gradients[i], &mut self.moments[i]);
            }
        }
    }

    #[cfg(test)]
    pub fn parameters(&self) -> Vec<f32> {
        self.layers.iter().flat_map(|l| l.params.clone()).collect()
    }

    /// Predicted probabilities on a split, in chunks of rows.
    pub fn probabilities(&self, split: &Split) -> Vec<f32> {
        const CHUNK: usize = 1024;
        let mut outputs: Vec<Vec<f32>> = self
            .layers
            .iter()
            .map(|l| vec![0.0; CHUNK * l.d_out])
            .collect();
        let n = split.n_features;
        let mut probabilities = Vec::with_capacity(split.n_rows());
        for inputs in split.features.chunks(CHUNK * n) {
            let rows = inputs.len() / n;
            forward(&self.layers, 0, inputs, rows, &mut outputs);
            let logits = &outputs[outputs.len() - 1][..rows];
            probabilities.extend(logits.iter().map(|&z| 1.0 / (1.0 + (-z).exp())));
        }
        probabilities
    }
}
