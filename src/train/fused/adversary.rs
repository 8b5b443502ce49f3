//! `adversarial`'s adversary (Zhang, Lemoine & Mitchell 2018, as fairlearn's
//! `AdversarialFairnessClassifier` builds it): a small network that predicts each row's group
//! from the predictor's probability (and the label, for equalized odds). Two groups: one
//! sigmoid output on "group 1" with mean BCE; more: one logit per group with mean softmax
//! cross-entropy. Hidden layers (leaky ReLU, `adversary_width` units; none by default, as
//! fairlearn's) and weights Xavier-uniform, biases zero, as fairlearn's list-built layers.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::gradients::sigmoid;
use super::network::{Adam, Layer, Moments};
use crate::model::LayerWeights;
use crate::train::threshold_optimizer::Constraint;

pub struct Adversary {
    /// Parameters as the network's layers hold them (weight, then bias), for Adam's update;
    /// the passes are this file's loops, with the leaky ReLU.
    layers: Vec<Layer>,
    gradients: Vec<Vec<f32>>,
    moments: Vec<Moments>,
    adam: Adam,
    /// 1 for two groups (a sigmoid), else the number of groups (a softmax).
    classes: usize,
    /// The label is an input too (equalized odds).
    with_label: bool,
    /// Only the positive rows' loss counts (equal opportunity: Zhang et al.'s adversary sees
    /// the rows whose label is 1).
    positives_only: bool,
    input: Vec<f32>,
    outputs: Vec<Vec<f32>>,
}

/// The hidden layers' leaky ReLU slope (PyTorch's default; fairlearn's examples use it): a
/// plain ReLU on a one-dimensional input leaves whole units dead from the start.
const LEAK: f32 = 0.01;

impl Adversary {
    pub fn new(
        constraint: Constraint,
        width: usize,
        n_groups: usize,
        seed: u64,
        rows: usize,
    ) -> Self {
        let with_label = constraint == Constraint::EqualizedOdds;
        // A stream of its own: the predictor's initialisation stays that of the same seed.
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(3);
        let classes = if n_groups <= 2 { 1 } else { n_groups };
        let d_in = 1 + usize::from(with_label);
        let shapes: Vec<(usize, usize)> = match width {
            0 => vec![(d_in, classes)],
            w => vec![(d_in, w), (w, classes)],
        };
        let n = shapes.len();
        let layers: Vec<Layer> = (shapes.iter().enumerate())
            .map(|(i, &(d_in, d_out))| {
                let bound = (6.0 / (d_in + d_out) as f32).sqrt();
                let weight = (0..d_in * d_out)
                    .map(|_| rng.random_range(-bound..bound))
                    .collect();
                let initial = LayerWeights {
                    d_in,
                    d_out,
                    weight,
                    bias: vec![0.0; d_out],
                };
                Layer::new(initial, i + 1 < n)
            })
            .collect();
        Self {
            gradients: layers.iter().map(|l| vec![0.0; l.params.len()]).collect(),
            moments: layers.iter().map(Moments::new).collect(),
            outputs: layers.iter().map(|l| vec![0.0; rows * l.d_out]).collect(),
            layers,
            adam: Adam::new(),
            classes,
            with_label,
            positives_only: constraint == Constraint::TruePositiveRateParity,
            input: vec![0.0; rows * d_in],
        }
    }

    /// The adversary's loss on the predictor's probabilities `p` of rows with `labels` and
    /// `groups`: its own gradients kept for [`step`](Self::step), and ∂loss/∂p returned.
    /// Plain loops: its layers are a few units wide.
    pub fn backward(&mut self, p: &[f32], labels: &[f32], groups: &[u32]) -> Vec<f32> {
        let rows = p.len();
        let d_in = self.layers[0].d_in;
        for (row, chunk) in self.input.chunks_exact_mut(d_in).take(rows).enumerate() {
            chunk[0] = p[row];
            if self.with_label {
                chunk[1] = labels[row];
            }
        }
        let last = self.layers.len() - 1;
        for i in 0..self.layers.len() {
            let (below, here) = self.outputs.split_at_mut(i);
            let input = if i == 0 {
                &self.input[..]
            } else {
                &below[i - 1]
            };
            let layer = &self.layers[i];
            let (weight, bias) = layer.params.split_at(layer.d_in * layer.d_out);
            for row in 0..rows {
                let x = &input[row * layer.d_in..(row + 1) * layer.d_in];
                for (o, out) in here[0][row * layer.d_out..(row + 1) * layer.d_out]
                    .iter_mut()
                    .enumerate()
                {
                    let z: f32 = bias[o]
                        + (x.iter().enumerate())
                            .map(|(k, v)| v * weight[k * layer.d_out + o])
                            .sum::<f32>();
                    *out = if i < last && z < 0.0 { LEAK * z } else { z };
                }
            }
        }
        let top = &self.outputs[last];
        let k = self.classes;
        let counted = |row: usize| !self.positives_only || labels[row] > 0.5;
        let n_counted = (0..rows).filter(|&row| counted(row)).count();
        let scale = 1.0 / n_counted.max(1) as f32;
        let mut d = vec![0.0f32; rows * k];
        for row in (0..rows).filter(|&row| counted(row)) {
            let (logits, d) = (&top[row * k..(row + 1) * k], &mut d[row * k..(row + 1) * k]);
            let group = groups[row] as usize;
            if k == 1 {
                d[0] = (sigmoid(logits[0]) - f32::from(group == 1)) * scale;
                continue;
            }
            let largest = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let sum: f32 = logits.iter().map(|z| (z - largest).exp()).sum();
            for (c, (d, z)) in d.iter_mut().zip(logits).enumerate() {
                *d = ((z - largest).exp() / sum - f32::from(c == group)) * scale;
            }
        }
        for i in (0..self.layers.len()).rev() {
            let input = if i == 0 {
                &self.input[..]
            } else {
                &self.outputs[i - 1]
            };
            let layer = &self.layers[i];
            let (d_in, d_out) = (layer.d_in, layer.d_out);
            let weight = &layer.params[..d_in * d_out];
            let gradient = &mut self.gradients[i];
            gradient.fill(0.0);
            let mut d_input = vec![0.0f32; rows * d_in];
            for row in 0..rows {
                let x = &input[row * d_in..(row + 1) * d_in];
                let d_row = &d[row * d_out..(row + 1) * d_out];
                for (o, &g) in d_row.iter().enumerate() {
                    gradient[d_in * d_out + o] += g;
                    for (kk, &v) in x.iter().enumerate() {
                        gradient[kk * d_out + o] += v * g;
                        d_input[row * d_in + kk] += weight[kk * d_out + o] * g;
                    }
                }
                // Through the leaky ReLU of the layer below (its output is this input).
                if i > 0 {
                    for (dv, &v) in d_input[row * d_in..(row + 1) * d_in].iter_mut().zip(x) {
                        if v < 0.0 {
                            *dv *= LEAK;
                        }
                    }
                }
            }
            d = d_input;
        }
        // ∂loss/∂input; the probability is input column 0.
        (0..rows).map(|row| d[row * d_in]).collect()
    }

    /// Adam on the gradients of the last [`backward`](Self::backward).
    pub fn step(&mut self, rate: f64) {
        let step = self.adam.next_step(rate);
        for ((layer, gradient), moments) in (self.layers.iter_mut())
            .zip(&self.gradients)
            .zip(&mut self.moments)
        {
            step.update(layer, gradient, moments);
        }
    }

    /// Each layer's (d_out, weight, bias), for tests to recompute its loss.
    #[cfg(test)]
    pub fn layers(&self) -> Vec<(usize, Vec<f64>, Vec<f64>)> {
        (self.layers.iter())
            .map(|l| {
                let w = l.weights();
                let wide = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect();
                (l.d_out, wide(&w.weight), wide(&w.bias))
            })
            .collect()
    }
}
