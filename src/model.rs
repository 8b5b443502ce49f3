//! The network: accuracy layers before the fairness block, the block, accuracy layers after
//! it, and a one-unit output. Parameters are split by player: θa ([`AccuracyPlayer`]) and
//! θf ([`FairnessBlock`]), so each can have its own optimizer.

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor, TensorData};
use rand::{Rng, RngExt};

/// The shape of the network, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Architecture {
    /// Hidden `Linear(w, w)` + ReLU layers owned by the accuracy player.
    pub accuracy_layers: usize,
    /// Square `Linear(w, w)` + ReLU layers in the fairness block.
    pub fairness_layers: usize,
    /// 1-based position of the block among the hidden layers: `p − 1` accuracy layers come
    /// before it. `accuracy_layers + 1` puts it last, just before the output.
    pub fairness_position: usize,
    /// Hidden width; `None` means the input width, as in the authors' code.
    pub width: Option<usize>,
}

impl Architecture {
    pub fn layers_before_block(&self) -> usize {
        self.fairness_position - 1
    }

    /// Indices of the fairness block's layers among all layers, input to output.
    pub fn block(&self) -> std::ops::Range<usize> {
        self.layers_before_block()..self.layers_before_block() + self.fairness_layers
    }

    /// The accuracy player's parameters (θa: every layer outside the fairness block, weights
    /// and biases) on `n_inputs` inputs.
    pub fn accuracy_parameters(&self, n_inputs: usize) -> usize {
        let block = self.block();
        (self.layer_shapes(n_inputs).into_iter().enumerate())
            .filter(|(i, _)| !block.contains(i))
            .map(|(_, (d_in, d_out))| (d_in + 1) * d_out)
            .sum()
    }

    /// `(d_in, d_out)` of every layer, input to output, the one-unit output last.
    pub fn layer_shapes(&self, n_inputs: usize) -> Vec<(usize, usize)> {
        let width = self.width.unwrap_or(n_inputs);
        let hidden = self.accuracy_layers + self.fairness_layers;
        (0..hidden)
            .map(|i| (if i == 0 { n_inputs } else { width }, width))
            .chain([(width, 1)])
            .collect()
    }
}

/// θa: every layer outside the fairness block, the output layer included.
#[derive(Module, Debug)]
pub struct AccuracyPlayer {
    pub before: Vec<Linear>,
    pub after: Vec<Linear>,
    pub output: Linear,
}

/// θf: the fairness block.
#[derive(Module, Debug)]
pub struct FairnessBlock {
    pub layers: Vec<Linear>,
}

#[derive(Module, Debug)]
pub struct FairNet {
    pub accuracy: AccuracyPlayer,
    pub fairness: FairnessBlock,
}

impl FairNet {
    /// A freshly initialised network (see [`initial_layers`]).
    pub fn new(
        architecture: &Architecture,
        n_inputs: usize,
        rng: &mut impl Rng,
        device: &Device,
    ) -> Self {
        let mut layers = initial_layers(architecture, n_inputs, rng)
            .into_iter()
            .map(|layer| layer.on(device));
        let mut take = |n: usize| layers.by_ref().take(n).collect::<Vec<Linear>>();
        let before = take(architecture.layers_before_block());
        let fairness = FairnessBlock {
            layers: take(architecture.fairness_layers),
        };
        let after = take(architecture.accuracy_layers - architecture.layers_before_block());
        let output = take(1).pop().expect("the output layer");
        Self {
            accuracy: AccuracyPlayer {
                before,
                after,
                output,
            },
            fairness,
        }
    }

    /// Logits, shape `[rows, 1]`; the predicted probability is their sigmoid.
    pub fn logits(&self, input: Tensor<2>) -> Tensor<2> {
        let hidden = self.accuracy.before_block(input);
        self.accuracy.after_block(self.fairness.forward(hidden))
    }
}

impl AccuracyPlayer {
    pub fn before_block(&self, input: Tensor<2>) -> Tensor<2> {
        hidden_layers(&self.before, input)
    }

    /// From the block's output to the logits.
    pub fn after_block(&self, hidden: Tensor<2>) -> Tensor<2> {
        self.output.forward(hidden_layers(&self.after, hidden))
    }
}

impl FairnessBlock {
    pub fn forward(&self, hidden: Tensor<2>) -> Tensor<2> {
        hidden_layers(&self.layers, hidden)
    }
}

fn hidden_layers(layers: &[Linear], input: Tensor<2>) -> Tensor<2> {
    layers.iter().fold(input, |x, layer| relu(layer.forward(x)))
}

/// One layer's weights, as plain numbers: the network starts from these on burn's devices
/// and in the fused engine alike, so both start from the same weights; a trained network
/// gives them back to be saved (`model_file`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LayerWeights {
    pub d_in: usize,
    pub d_out: usize,
    /// `[d_in, d_out]`, row-major (burn's layout).
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
}

impl LayerWeights {
    fn on(self, device: &Device) -> Linear {
        let weight = TensorData::new(self.weight, [self.d_in, self.d_out]);
        let bias = TensorData::new(self.bias, [self.d_out]);
        Linear {
            weight: Param::from_tensor(Tensor::from_data(weight, device)),
            bias: Some(Param::from_tensor(Tensor::from_data(bias, device))),
        }
    }
}

/// Every layer from input to output (accuracy layers before the block, the block, accuracy
/// layers after it, the output), initialised as PyTorch's `nn.Linear`: weight and bias uniform
/// in ±1/√fan_in. Weights come from `rng`, not from burn's global random state, so a trial's
/// numbers depend on its own seed only, whatever runs beside it.
pub fn initial_layers(
    architecture: &Architecture,
    n_inputs: usize,
    rng: &mut impl Rng,
) -> Vec<LayerWeights> {
    architecture
        .layer_shapes(n_inputs)
        .into_iter()
        .map(|(d_in, d_out)| {
            let bound = 1.0 / (d_in as f32).sqrt();
            let mut uniform = |n: usize| -> Vec<f32> {
                (0..n).map(|_| rng.random_range(-bound..bound)).collect()
            };
            LayerWeights {
                d_in,
                d_out,
                weight: uniform(d_in * d_out),
                bias: uniform(d_out),
            }
        })
        .collect()
}

/// The output layer's input for each row of `features` (row-major): every layer but the last,
/// each followed by ReLU, as [`FairNet`] runs them. `[rows, the last hidden width]`.
pub fn last_hidden(layers: &[LayerWeights], features: &[f32]) -> Vec<f32> {
    let (_, hidden) = layers.split_last().expect("an output layer");
    let mut x = features.to_vec();
    for layer in hidden {
        let (d_in, d_out) = (layer.d_in, layer.d_out);
        let rows = x.len() / d_in;
        let mut out = Vec::with_capacity(rows * d_out);
        for row in x.chunks_exact(d_in) {
            let mut h = layer.bias.clone();
            for (xi, weights) in row.iter().zip(layer.weight.chunks_exact(d_out)) {
                for (h, w) in h.iter_mut().zip(weights) {
                    *h += xi * w;
                }
            }
            out.extend(h.into_iter().map(|v| v.max(0.0)));
        }
        x = out;
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The paper's set-up at width 64 on 50 inputs: 51·64 + 65·64 + 65 accuracy
    /// parameters (the block's 65·64 aside), counted by hand.
    #[test]
    fn accuracy_parameters_at_width_64() {
        let architecture = Architecture {
            accuracy_layers: 2,
            fairness_layers: 1,
            fairness_position: 3,
            width: Some(64),
        };
        assert_eq!(architecture.accuracy_parameters(50), 3264 + 4160 + 65);
    }
}
