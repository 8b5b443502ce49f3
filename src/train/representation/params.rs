//! A representation learner's parameters: plain numbers between steps, put on burn's device
//! for each step's forward pass, and moved by PyTorch's Adam (with its L2 `weight_decay`).
//! Held so, every learner's nets are a few lines over [`Linear`] and [`Mlp`], its players are
//! lists of parameter ids, and a test can move any parameter for finite differences.

use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor, TensorData};
use rand::{Rng, RngExt};

/// A parameter's index in [`Params`].
pub type Id = usize;

/// One parameter tensor (2-D: a weight `[in, out]`, a bias `[1, out]`) and its Adam state.
#[derive(Debug, Clone)]
pub struct Slot {
    pub shape: [usize; 2],
    pub values: Vec<f32>,
    first: Vec<f64>,
    second: Vec<f64>,
    steps: i32,
}

#[derive(Debug, Clone, Default)]
pub struct Params {
    pub slots: Vec<Slot>,
}

impl Params {
    pub fn add(&mut self, shape: [usize; 2], values: Vec<f32>) -> Id {
        debug_assert_eq!(values.len(), shape[0] * shape[1]);
        let n = values.len();
        self.slots.push(Slot {
            shape,
            values,
            first: vec![0.0; n],
            second: vec![0.0; n],
            steps: 0,
        });
        self.slots.len() - 1
    }

    /// A linear layer initialised as PyTorch's `nn.Linear` (weight and bias uniform in
    /// ±1/√fan_in), as every reference network is.
    pub fn linear(&mut self, d_in: usize, d_out: usize, rng: &mut impl Rng) -> Linear {
        let bound = 1.0 / (d_in as f32).sqrt();
        let mut uniform =
            |n: usize| -> Vec<f32> { (0..n).map(|_| rng.random_range(-bound..bound)).collect() };
        let weight = uniform(d_in * d_out);
        let bias = uniform(d_out);
        Linear {
            weight: self.add([d_in, d_out], weight),
            bias: self.add([1, d_out], bias),
        }
    }

    /// Linear layers of `sizes` (input first) with ReLU between them, none after the last.
    pub fn mlp(&mut self, sizes: &[usize], rng: &mut impl Rng) -> Mlp {
        let layers = (sizes.windows(2))
            .map(|w| self.linear(w[0], w[1], rng))
            .collect();
        Mlp { layers }
    }

    /// Every parameter on `device`; with `tracked`, each a leaf of burn's autodiff (the
    /// device must be an autodiff one).
    pub fn on(&self, device: &Device, tracked: bool) -> Vec<Tensor<2>> {
        (self.slots.iter())
            .map(|slot| {
                let data = TensorData::new(slot.values.clone(), slot.shape);
                let tensor = Tensor::from_data(data, device);
                if tracked {
                    tensor.require_grad()
                } else {
                    tensor
                }
            })
            .collect()
    }

    /// Adam on the parameters `ids` from their gradients in `grads` (PyTorch's: β 0.9, 0.999,
    /// ε 1e-8, and `weight_decay`·θ added to the gradient). A parameter the loss does not
    /// reach has no gradient and keeps its value and state.
    pub fn adam(
        &mut self,
        tensors: &[Tensor<2>],
        grads: &burn::tensor::Gradients,
        ids: &[Id],
        rate: f64,
        weight_decay: f64,
    ) {
        const BETA1: f64 = 0.9;
        const BETA2: f64 = 0.999;
        for &id in ids {
            let Some(grad) = tensors[id].grad(grads) else {
                continue;
            };
            let grad = values(grad);
            let slot = &mut self.slots[id];
            slot.steps += 1;
            let c1 = 1.0 - BETA1.powi(slot.steps);
            let c2 = 1.0 - BETA2.powi(slot.steps);
            for (i, g) in grad.into_iter().enumerate() {
                let theta = f64::from(slot.values[i]);
                let g = f64::from(g) + weight_decay * theta;
                slot.first[i] = BETA1 * slot.first[i] + (1.0 - BETA1) * g;
                slot.second[i] = BETA2 * slot.second[i] + (1.0 - BETA2) * g * g;
                let step = rate * (slot.first[i] / c1) / ((slot.second[i] / c2).sqrt() + 1e-8);
                slot.values[i] = (theta - step) as f32;
            }
        }
    }
}

/// A tensor's numbers.
pub fn values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    (tensor.into_data())
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("float tensors")
}

#[derive(Debug, Clone, Copy)]
pub struct Linear {
    pub weight: Id,
    pub bias: Id,
}

impl Linear {
    pub fn forward(&self, p: &[Tensor<2>], x: Tensor<2>) -> Tensor<2> {
        x.matmul(p[self.weight].clone()) + p[self.bias].clone()
    }
}

/// Linear layers with ReLU between them.
#[derive(Debug, Clone)]
pub struct Mlp {
    pub layers: Vec<Linear>,
}

impl Mlp {
    pub fn forward(&self, p: &[Tensor<2>], x: Tensor<2>) -> Tensor<2> {
        let last = self.layers.len() - 1;
        (self.layers.iter().enumerate()).fold(x, |x, (i, layer)| {
            let out = layer.forward(p, x);
            if i < last { relu(out) } else { out }
        })
    }

    /// Its parameters' ids, to name a player.
    pub fn ids(&self) -> impl Iterator<Item = Id> + '_ {
        (self.layers.iter()).flat_map(|l| [l.weight, l.bias])
    }
}

/// `n` standard-normal draws (Box–Muller), from the trial's own stream so that a seed gives
/// the same numbers whatever runs beside it.
pub fn normal(n: usize, rng: &mut impl Rng) -> Vec<f32> {
    (0..n)
        .map(|_| {
            let u: f64 = 1.0 - rng.random::<f64>(); // (0, 1]: ln stays finite
            let v: f64 = rng.random();
            ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
        })
        .collect()
}
