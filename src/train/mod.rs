//! Training one trial: the epoch loop shared by every method, evaluation after each epoch,
//! and divergence detection. The methods' update rules live in their own files.

mod fairbinn;
mod lagrangian;
pub mod losses;

use burn::module::Module;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::data::{Dataset, Split};
use crate::metrics::SplitMetrics;
use crate::model::{Architecture, FairNet};
use fairbinn::UpdateRule;
use losses::GroupMasks;

/// How a network is trained, validated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainSpec {
    pub method: Method,
    pub epochs: usize,
    pub batch_size: usize,
    /// Adam learning rate of the accuracy player (of the whole network for one-player methods).
    pub lr_acc: f64,
    /// Adam learning rate of the fairness player.
    pub lr_fair: f64,
    /// η, the weight of the fairness loss.
    pub eta: f64,
    pub seed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// BCE only: the unconstrained reference.
    Erm,
    /// One Adam over all parameters on BCE + η·DP loss.
    Lagrangian,
    /// The paper's Algorithm 1: leader (θa, BCE) then follower (θf, η·DP loss) per minibatch.
    FairBiNN,
    /// The authors' released update rule: follower first, and the leader's gradient also
    /// carries ∇θa(η·DP). See `fairbinn.rs`.
    FairBiNNReference,
}

impl Method {
    pub const ALL: [&'static str; 4] = ["erm", "lagrangian", "fairbinn", "fairbinn-reference"];

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "erm" => Some(Self::Erm),
            "lagrangian" => Some(Self::Lagrangian),
            "fairbinn" => Some(Self::FairBiNN),
            "fairbinn-reference" => Some(Self::FairBiNNReference),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Erm => "erm",
            Self::Lagrangian => "lagrangian",
            Self::FairBiNN => "fairbinn",
            Self::FairBiNNReference => "fairbinn-reference",
        }
    }

    pub fn uses_eta(self) -> bool {
        self != Self::Erm
    }

    pub fn uses_lr_fair(self) -> bool {
        matches!(self, Self::FairBiNN | Self::FairBiNNReference)
    }
}

/// Validation and test metrics after one epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochMetrics {
    /// 1-based.
    pub epoch: usize,
    pub validation: SplitMetrics,
    pub test: SplitMetrics,
}

/// A minibatch, on the training device.
pub struct Batch {
    pub inputs: Tensor<2>,
    pub labels: Tensor<2>,
    /// `None` when the batch holds a single group.
    pub groups: Option<GroupMasks>,
}

/// What training produced: the metrics of every epoch completed, and, if the network's
/// outputs stopped being finite, why training stopped early.
#[derive(Debug, Clone, PartialEq)]
pub struct Training {
    pub history: Vec<EpochMetrics>,
    pub diverged: Option<String>,
}

/// Train one network, evaluating it on the validation and test splits after every epoch.
pub fn train(architecture: &Architecture, spec: &TrainSpec, data: &Dataset) -> Training {
    let device = Device::flex().autodiff();
    let mut init_rng = ChaCha8Rng::seed_from_u64(spec.seed);
    // A separate stream for minibatch order, so changing the architecture leaves it alone.
    let mut order_rng = ChaCha8Rng::seed_from_u64(spec.seed);
    order_rng.set_stream(1);

    let mut model = FairNet::new(architecture, data.train.n_features, &mut init_rng, &device);
    let mut method = UpdateRules::new(spec);
    let inputs = matrix(&data.train, &device);
    let labels = column(&data.train.labels, &device);
    let evaluator = Evaluator::new(data);

    let mut order: Vec<usize> = (0..data.train.n_rows()).collect();
    let mut history = Vec::with_capacity(spec.epochs);
    for epoch in 1..=spec.epochs {
        order.shuffle(&mut order_rng);
        for rows in order.chunks(spec.batch_size) {
            let batch = batch(
                rows,
                &inputs,
                &labels,
                &data.train,
                data.n_groups(),
                &device,
            );
            model = method.step(model, &batch);
        }
        match evaluator.evaluate(&model, epoch) {
            Ok(metrics) => history.push(metrics),
            Err(diverged) => {
                return Training {
                    history,
                    diverged: Some(diverged),
                };
            }
        }
    }
    Training {
        history,
        diverged: None,
    }
}

/// A method's update rule and optimizer state.
enum UpdateRules {
    Joint(lagrangian::Joint),
    Bilevel(fairbinn::Bilevel),
}

impl UpdateRules {
    fn new(spec: &TrainSpec) -> Self {
        match spec.method {
            Method::Erm => Self::Joint(lagrangian::Joint::new(spec.lr_acc, 0.0)),
            Method::Lagrangian => Self::Joint(lagrangian::Joint::new(spec.lr_acc, spec.eta)),
            Method::FairBiNN => Self::Bilevel(fairbinn::Bilevel::new(spec, UpdateRule::Paper)),
            Method::FairBiNNReference => {
                Self::Bilevel(fairbinn::Bilevel::new(spec, UpdateRule::AuthorsCode))
            }
        }
    }

    fn step(&mut self, model: FairNet, batch: &Batch) -> FairNet {
        match self {
            Self::Joint(joint) => joint.step(model, batch),
            Self::Bilevel(bilevel) => bilevel.step(model, batch),
        }
    }
}

/// Adam as in PyTorch and the paper: burn's default epsilon is 1e-5, PyTorch's 1e-8.
fn adam() -> burn::optim::ModuleOptimizer {
    burn::optim::AdamConfig::new().with_epsilon(1e-8).init()
}

fn batch(
    rows: &[usize],
    inputs: &Tensor<2>,
    labels: &Tensor<2>,
    split: &Split,
    n_groups: usize,
    device: &Device,
) -> Batch {
    let indices: Vec<i64> = rows.iter().map(|&r| r as i64).collect();
    let indices = Tensor::<1, Int>::from_data(TensorData::new(indices, [rows.len()]), device);
    let groups: Vec<u32> = rows.iter().map(|&r| split.groups[r]).collect();
    Batch {
        inputs: inputs.clone().select(0, indices.clone()),
        labels: labels.clone().select(0, indices),
        groups: GroupMasks::new(&groups, n_groups, device),
    }
}

fn matrix(split: &Split, device: &Device) -> Tensor<2> {
    let shape = [split.n_rows(), split.n_features];
    Tensor::from_data(TensorData::new(split.features.clone(), shape), device)
}

fn column(values: &[f32], device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values.to_vec(), [values.len(), 1]), device)
}

/// Evaluates on the validation and test splits, without autodiff.
struct Evaluator<'a> {
    data: &'a Dataset,
    validation: Tensor<2>,
    test: Tensor<2>,
}

impl<'a> Evaluator<'a> {
    fn new(data: &'a Dataset) -> Self {
        let device = Device::flex();
        Self {
            data,
            validation: matrix(&data.validation, &device),
            test: matrix(&data.test, &device),
        }
    }

    /// Metrics of both splits, or why the network's outputs cannot be evaluated.
    fn evaluate(&self, model: &FairNet, epoch: usize) -> Result<EpochMetrics, String> {
        let model = model.valid();
        let split_metrics = |inputs: &Tensor<2>, split: &Split, name: &str| {
            let probabilities = sigmoid(model.logits(inputs.clone()))
                .into_data()
                .try_into_vec::<f32>()
                .expect("the network outputs f32");
            if probabilities.iter().any(|p| !p.is_finite()) {
                return Err(format!(
                    "the network's {name} outputs are not finite after epoch {epoch}"
                ));
            }
            Ok(SplitMetrics::compute(
                &probabilities,
                &split.labels,
                &split.groups,
                self.data.n_groups(),
            ))
        };
        Ok(EpochMetrics {
            epoch,
            validation: split_metrics(&self.validation, &self.data.validation, "validation")?,
            test: split_metrics(&self.test, &self.data.test, "test")?,
        })
    }
}
