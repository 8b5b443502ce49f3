//! The burn engine (`train.backend: flex` or `ndarray`): the network as a burn module,
//! gradients from burn's autodiff, burn's Adam. It offers the half-steps of methods/ rules
//! ([`Players`]), computed in steps.rs; the fused engine (fused/) is checked against it.

mod steps;

use std::sync::Arc;

use burn::module::Module;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::losses::FairnessTarget;
use super::{Backend, Evaluated, Optimizer, Players, TrainSpec};
use crate::data::{Dataset, Split};
use crate::model::{Architecture, FairNet, FairnessBlock, LayerWeights};
use steps::Steps;

/// A minibatch, on the training device.
pub struct Batch {
    pub inputs: Tensor<2>,
    pub labels: Tensor<2>,
    /// `None` when the batch has no fairness loss (too few groups, or the method has none).
    pub fairness: Option<FairnessTarget>,
}

pub struct Engine<'a> {
    spec: &'a TrainSpec,
    data: &'a Dataset,
    device: Device,
    /// Taken out for each step: the optimizers update parameters no one else holds in place.
    model: Option<FairNet>,
    steps: Steps,
    /// The fairness block a leak is taken through, kept for the next leader step.
    kept: Option<FairnessBlock>,
    /// The last minibatch put on the device, by its rows: a follower on the leader's batch
    /// (`follower_batch: same`) reuses it.
    last: Option<(Vec<usize>, Arc<Batch>)>,
    /// The training split's features and labels, on the device once per trial.
    inputs: Tensor<2>,
    labels: Tensor<2>,
    /// The evaluation splits' features, without autodiff.
    validation: Tensor<2>,
    test: Tensor<2>,
}

impl<'a> Engine<'a> {
    pub fn new(architecture: &Architecture, spec: &'a TrainSpec, data: &'a Dataset) -> Self {
        let inference = device(spec.backend);
        let device = inference.clone().autodiff();
        let mut init_rng = ChaCha8Rng::seed_from_u64(spec.seed);
        let model = FairNet::new(architecture, data.train.n_features, &mut init_rng, &device);
        Self {
            spec,
            data,
            model: Some(model),
            steps: Steps::of(spec),
            kept: None,
            last: None,
            inputs: matrix(&data.train, &device),
            labels: Tensor::from_data(
                TensorData::new(data.train.labels.clone(), [data.train.n_rows(), 1]),
                &device,
            ),
            validation: matrix(&data.validation, &inference),
            test: matrix(&data.test, &inference),
            device,
        }
    }

    /// `rows`' minibatch, put on the device unless it is the last one's.
    fn batch_of(&mut self, rows: &[usize]) -> Arc<Batch> {
        match &self.last {
            Some((last, batch)) if last == rows => batch.clone(),
            _ => {
                let batch = Arc::new(self.batch(rows));
                self.last = Some((rows.to_vec(), batch.clone()));
                batch
            }
        }
    }

    /// Run `step` on the model and `rows`' minibatch.
    fn with_model(
        &mut self,
        rows: &[usize],
        step: impl FnOnce(&mut Self, FairNet, &Batch) -> FairNet,
    ) {
        let batch = self.batch_of(rows);
        let model = self
            .model
            .take()
            .expect("the model is back after each step");
        let model = step(self, model, &batch);
        self.model = Some(model);
    }

    fn block(&self) -> FairnessBlock {
        let model = self
            .model
            .as_ref()
            .expect("the model is back after each step");
        model.fairness.clone().no_grad()
    }

    /// The training split's `rows` on the device, with their fairness target.
    fn batch(&self, rows: &[usize]) -> Batch {
        let split = &self.data.train;
        let indices: Vec<i64> = rows.iter().map(|&r| r as i64).collect();
        let indices =
            Tensor::<1, Int>::from_data(TensorData::new(indices, [rows.len()]), &self.device);
        let groups: Vec<u32> = rows.iter().map(|&r| split.groups[r]).collect();
        let labels: Vec<f32> = rows.iter().map(|&r| split.labels[r]).collect();
        let fairness = self.spec.method.uses_eta().then(|| {
            FairnessTarget::new(
                self.spec.fairness_loss(),
                &groups,
                &labels,
                self.data.n_groups(),
                &self.device,
            )
        });
        Batch {
            inputs: self.inputs.clone().select(0, indices.clone()),
            labels: self.labels.clone().select(0, indices),
            fairness: fairness.flatten(),
        }
    }

    /// Predicted probabilities on each of `splits`, from one inference copy of the network.
    pub fn probabilities<const N: usize>(&self, splits: [Evaluated; N]) -> [Vec<f32>; N] {
        let model = self
            .model
            .as_ref()
            .expect("the model is back after each step");
        let inference = model.valid();
        splits.map(|split| {
            let inputs = match split {
                Evaluated::Validation => &self.validation,
                Evaluated::Test => &self.test,
            };
            sigmoid(inference.logits(inputs.clone()))
                .into_data()
                .try_into_vec::<f32>()
                .expect("the network outputs f32")
        })
    }
}

impl Players for Engine<'_> {
    fn joint_step(&mut self, rows: &[usize], rate: f64, with_fairness: bool) {
        self.with_model(rows, |engine, model, batch| {
            engine.steps.joint_step(model, batch, rate, with_fairness)
        });
    }

    fn leader_step(&mut self, rows: &[usize], rate: f64, fairness: bool, add_kept: bool) {
        let leaked_from = match (fairness, add_kept) {
            (true, _) => Some(self.block()),
            (false, true) => self.kept.take(),
            (false, false) => None,
        };
        self.with_model(rows, |engine, model, batch| {
            engine
                .steps
                .leader_step(model, batch, leaked_from.as_ref(), rate)
        });
    }

    fn follower_step(&mut self, rows: &[usize], rate: f64, keep_leak: bool) -> bool {
        let kept = keep_leak && self.keep_leak(rows);
        self.with_model(rows, |engine, model, batch| {
            engine.steps.follower_step(model, batch, rate)
        });
        kept
    }

    fn keep_leak(&mut self, rows: &[usize]) -> bool {
        // The leak is a pass through the block as it is now, taken at the leader's step.
        if self.batch_of(rows).fairness.is_none() {
            return false;
        }
        self.kept = Some(self.block());
        true
    }
}

impl Engine<'_> {
    /// The mean BCE of the leader's minibatches since the last call.
    pub fn take_train_loss(&self) -> f64 {
        self.steps.train_loss.take().take()
    }

    /// Every layer's weights, input to output.
    pub fn weights(&self) -> Vec<LayerWeights> {
        let model = self
            .model
            .as_ref()
            .expect("the model is back after each step");
        let (a, f) = (&model.accuracy, &model.fairness);
        let layers = a
            .before
            .iter()
            .chain(&f.layers)
            .chain(&a.after)
            .chain([&a.output]);
        let values = |data: TensorData| data.try_to_vec::<f32>().expect("f32 parameters");
        layers
            .map(|layer| {
                let [d_in, d_out] = layer.weight.dims();
                let bias = layer.bias.as_ref().expect("layers have biases").val();
                LayerWeights {
                    d_in,
                    d_out,
                    weight: values(layer.weight.val().into_data()),
                    bias: values(bias.into_data()),
                }
            })
            .collect()
    }
}

/// The backend's device, without autodiff. Panics for a backend this build lacks, which
/// validation refuses first.
fn device(backend: Backend) -> Device {
    match backend {
        Backend::Flex => Device::flex(),
        #[cfg(feature = "ndarray")]
        #[allow(deprecated)] // the point of this backend is comparing against it
        Backend::Ndarray => Device::ndarray(),
        #[cfg(not(feature = "ndarray"))]
        Backend::Ndarray => panic!("this build has no ndarray backend"),
        Backend::Fused => unreachable!("the fused engine has no burn device"),
    }
}

/// Adam as in PyTorch and the paper: burn's default epsilon is 1e-5, PyTorch's 1e-8.
pub fn adam() -> burn::optim::ModuleOptimizer {
    burn::optim::AdamConfig::new().with_epsilon(1e-8).init()
}

/// A player's optimizer; SGD's momentum as PyTorch's (no dampening; burn's default is 0.1).
pub fn optimizer(optimizer: Optimizer, momentum: f64) -> burn::optim::ModuleOptimizer {
    match optimizer {
        Optimizer::Adam => adam(),
        Optimizer::Sgd => {
            let momentum = (momentum > 0.0).then(|| {
                burn::optim::momentum::MomentumConfig::new()
                    .with_momentum(momentum)
                    .with_dampening(0.0)
            });
            burn::optim::SgdConfig::new().with_momentum(momentum).init()
        }
    }
}

fn matrix(split: &Split, device: &Device) -> Tensor<2> {
    let shape = [split.n_rows(), split.n_features];
    Tensor::from_data(TensorData::new(split.features.clone(), shape), device)
}
