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
    /// A freshly initialised network. Weights come from `rng`, not from burn's global random
    /// state, so a trial's numbers depend on its own seed only, whatever runs beside it.
    pub fn new(
        architecture: &Architecture,
        n_inputs: usize,
        rng: &mut impl Rng,
        device: &Device,
    ) -> Self {
        let width = architecture.width.unwrap_or(n_inputs);
        let mut layer = |d_in: usize, d_out: usize| linear(d_in, d_out, rng, device);
        let before: Vec<Linear> = (0..architecture.layers_before_block())
            .map(|i| layer(if i == 0 { n_inputs } else { width }, width))
            .collect();
        let first_block_input = if before.is_empty() { n_inputs } else { width };
        let fairness = FairnessBlock {
            layers: (0..architecture.fairness_layers)
                .map(|i| layer(if i == 0 { first_block_input } else { width }, width))
                .collect(),
        };
        let after = (architecture.layers_before_block()..architecture.accuracy_layers)
            .map(|_| layer(width, width))
            .collect();
        let output = layer(width, 1);
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

/// PyTorch's default `nn.Linear` initialisation: weight and bias uniform in ±1/√fan_in.
fn linear(d_in: usize, d_out: usize, rng: &mut impl Rng, device: &Device) -> Linear {
    let bound = 1.0 / (d_in as f32).sqrt();
    let mut uniform =
        |n: usize| -> Vec<f32> { (0..n).map(|_| rng.random_range(-bound..bound)).collect() };
    // burn stores the weight as [d_in, d_out].
    let weight = Tensor::from_data(
        TensorData::new(uniform(d_in * d_out), [d_in, d_out]),
        device,
    );
    let bias = Tensor::from_data(TensorData::new(uniform(d_out), [d_out]), device);
    Linear {
        weight: Param::from_tensor(weight),
        bias: Some(Param::from_tensor(bias)),
    }
}
