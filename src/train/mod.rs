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
use serde::{Deserialize, Serialize};

use crate::data::{Dataset, Split};
use crate::metrics::SplitMetrics;
use crate::model::{Architecture, FairNet};
use fairbinn::UpdateRule;
pub use losses::FairnessLoss;
use losses::FairnessTarget;

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
    pub fairness_loss: FairnessLoss,
    /// Bilevel methods: which player steps first in an iteration.
    pub step_order: StepOrder,
    /// Bilevel methods: whether the follower's minibatch is the leader's or one of its own.
    pub follower_batch: FollowerBatch,
    /// Bilevel methods: follower steps per leader step.
    pub follower_steps: usize,
    /// Reshuffle the training rows every epoch; `false` keeps file order, as the authors.
    pub shuffle: bool,
    pub lr_schedule: Option<LrSchedule>,
    pub seed: u64,
    pub backend: Backend,
}

/// The CPU backend the tensors run on. Flex is burn 0.22's own and the default; burn-ndarray
/// (deprecated in burn 0.22) is there to compare against, when built with `--features ndarray`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    #[default]
    Flex,
    Ndarray,
}

impl Backend {
    /// Whether this build has the backend.
    pub fn is_available(self) -> bool {
        match self {
            Self::Flex => true,
            Self::Ndarray => cfg!(feature = "ndarray"),
        }
    }

    /// The backend's device, without autodiff. Panics for a backend this build lacks, which
    /// validation refuses first.
    pub fn device(self) -> Device {
        match self {
            Self::Flex => Device::flex(),
            #[cfg(feature = "ndarray")]
            #[allow(deprecated)] // the point of this backend is comparing against it
            Self::Ndarray => Device::ndarray(),
            #[cfg(not(feature = "ndarray"))]
            Self::Ndarray => panic!("this build has no ndarray backend"),
        }
    }
}

impl TrainSpec {
    /// A small bilevel trial for tests to adjust: batches of 4, one epoch, η 1.
    #[cfg(test)]
    pub(crate) fn for_tests(method: Method) -> Self {
        Self {
            method,
            epochs: 1,
            batch_size: 4,
            lr_acc: 1e-3,
            lr_fair: 1e-5,
            eta: 1.0,
            fairness_loss: FairnessLoss::DpSquared,
            step_order: StepOrder::LeaderFirst,
            follower_batch: FollowerBatch::Separate,
            follower_steps: 1,
            shuffle: true,
            lr_schedule: None,
            seed: 0,
            backend: Backend::Flex,
        }
    }

    /// The (leader, follower) learning rates during `epoch` (1-based).
    pub fn learning_rates(&self, epoch: usize) -> LearningRates {
        let Some(schedule) = self.lr_schedule else {
            return LearningRates {
                accuracy: self.lr_acc,
                fairness: self.lr_fair,
            };
        };
        let decays = ((epoch - 1) / schedule.every) as i32;
        LearningRates {
            accuracy: self.lr_acc * schedule.gamma_acc.powi(decays),
            fairness: self.lr_fair * schedule.gamma_fair.powi(decays),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LearningRates {
    pub accuracy: f64,
    pub fairness: f64,
}

/// Both learning rates multiplied by their γ every `every` epochs (the authors: 0.5 and 0.9
/// every 50 epochs).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LrSchedule {
    pub gamma_acc: f64,
    pub gamma_fair: f64,
    pub every: usize,
}

impl std::fmt::Display for LrSchedule {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let Self {
            gamma_acc,
            gamma_fair,
            every,
        } = self;
        write!(f, "×{gamma_acc}/×{gamma_fair} every {every}")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepOrder {
    /// The paper's Algorithm 1.
    LeaderFirst,
    /// The authors' code.
    FollowerFirst,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FollowerBatch {
    /// The leader's minibatch (the authors' code).
    Same,
    /// A minibatch of the follower's own (the paper's Algorithm 1).
    Separate,
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

    /// Two players: a fairness block with its own optimizer (`lr_fair`, step order, ...).
    pub fn is_bilevel(self) -> bool {
        matches!(self, Self::FairBiNN | Self::FairBiNNReference)
    }
}

/// Validation and test metrics after one epoch.
#[derive(Debug, Clone, PartialEq)]
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
    /// `None` when the batch has no fairness loss (too few groups, or the method has none).
    pub fairness: Option<FairnessTarget>,
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
    let mut trainer = Trainer::new(architecture, spec, data);
    let mut history = Vec::with_capacity(spec.epochs);
    for epoch in 1..=spec.epochs {
        trainer.train_epoch(epoch);
        match trainer.evaluate(epoch) {
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

/// A network in training: its parameters, its method's optimizer state and its data.
pub struct Trainer<'a> {
    spec: &'a TrainSpec,
    /// Taken out for each step: the optimizers update parameters no one else holds in place.
    model: Option<FairNet>,
    method: UpdateRules,
    batches: Minibatches<'a>,
    evaluator: Evaluator<'a>,
}

impl<'a> Trainer<'a> {
    pub fn new(architecture: &Architecture, spec: &'a TrainSpec, data: &'a Dataset) -> Self {
        let device = spec.backend.device().autodiff();
        let mut init_rng = ChaCha8Rng::seed_from_u64(spec.seed);
        Self {
            spec,
            model: Some(FairNet::new(
                architecture,
                data.train.n_features,
                &mut init_rng,
                &device,
            )),
            method: UpdateRules::new(spec),
            batches: Minibatches::new(spec, data, &device),
            evaluator: Evaluator::new(data, spec.backend.device()),
        }
    }

    /// Minibatches (leader steps) per epoch.
    pub fn steps_per_epoch(&self) -> usize {
        self.batches.per_epoch()
    }

    /// One pass over the training split (`epoch` is 1-based).
    pub fn train_epoch(&mut self, epoch: usize) {
        let rates = self.spec.learning_rates(epoch);
        self.batches.shuffle();
        for index in 0..self.batches.per_epoch() {
            let leader = self.batches.leader(index);
            let model = self
                .model
                .take()
                .expect("the model is back after each step");
            self.model = Some(match &mut self.method {
                UpdateRules::Joint(joint) => joint.step(model, &leader, rates.accuracy),
                UpdateRules::Bilevel(bilevel) => {
                    let own = self.batches.followers(index);
                    let followers: Vec<&Batch> = match self.spec.follower_batch {
                        FollowerBatch::Same => vec![&leader; self.spec.follower_steps],
                        FollowerBatch::Separate => own.iter().collect(),
                    };
                    bilevel.step(model, &leader, &followers, rates)
                }
            });
        }
    }

    fn model(&self) -> &FairNet {
        self.model
            .as_ref()
            .expect("the model is back after each step")
    }

    /// Metrics of both splits, or why the network's outputs cannot be evaluated.
    pub fn evaluate(&self, epoch: usize) -> Result<EpochMetrics, String> {
        self.evaluator.evaluate(self.model(), epoch)
    }

    /// The validation (`false`) or test (`true`) split's predicted probabilities.
    pub fn probabilities(&self, test: bool) -> Vec<f32> {
        let inputs = match test {
            true => &self.evaluator.test,
            false => &self.evaluator.validation,
        };
        self.evaluator.probabilities(&self.model().valid(), inputs)
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
            Method::Erm => Self::Joint(lagrangian::Joint::new(0.0)),
            Method::Lagrangian => Self::Joint(lagrangian::Joint::new(spec.eta)),
            Method::FairBiNN => Self::Bilevel(fairbinn::Bilevel::new(spec, UpdateRule::Paper)),
            Method::FairBiNNReference => {
                Self::Bilevel(fairbinn::Bilevel::new(spec, UpdateRule::AuthorsCode))
            }
        }
    }
}

/// Adam as in PyTorch and the paper: burn's default epsilon is 1e-5, PyTorch's 1e-8.
fn adam() -> burn::optim::ModuleOptimizer {
    burn::optim::AdamConfig::new().with_epsilon(1e-8).init()
}

/// The training split on the device, cut into minibatches in each epoch's order: the
/// leader's, and for `follower_batch: separate` the follower's own.
struct Minibatches<'a> {
    spec: &'a TrainSpec,
    split: &'a Split,
    n_groups: usize,
    device: Device,
    inputs: Tensor<2>,
    labels: Tensor<2>,
    leader_order: Vec<usize>,
    follower_order: Vec<usize>,
    leader_rng: ChaCha8Rng,
    follower_rng: ChaCha8Rng,
}

impl<'a> Minibatches<'a> {
    fn new(spec: &'a TrainSpec, data: &'a Dataset, device: &Device) -> Self {
        // Streams of their own, so changing the architecture or the follower's batches leaves
        // the leader's order alone.
        let stream = |n| {
            let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
            rng.set_stream(n);
            rng
        };
        let file_order: Vec<usize> = (0..data.train.n_rows()).collect();
        Self {
            spec,
            split: &data.train,
            n_groups: data.n_groups(),
            device: device.clone(),
            inputs: matrix(&data.train, device),
            labels: column(&data.train.labels, device),
            leader_order: file_order.clone(),
            follower_order: file_order,
            leader_rng: stream(1),
            follower_rng: stream(2),
        }
    }

    fn per_epoch(&self) -> usize {
        self.split.n_rows().div_ceil(self.spec.batch_size)
    }

    /// Start an epoch: new orders, or file order when not shuffling.
    fn shuffle(&mut self) {
        if self.spec.shuffle {
            self.leader_order.shuffle(&mut self.leader_rng);
            if self.spec.follower_batch == FollowerBatch::Separate {
                self.follower_order.shuffle(&mut self.follower_rng);
            }
        }
    }

    fn leader(&self, index: usize) -> Batch {
        self.batch(&self.leader_order, index)
    }

    /// The follower's own batches for leader step `index` (`follower_steps` of them), taken
    /// in turn from its order; without shuffling, the batches after the leader's.
    fn followers(&self, index: usize) -> Vec<Batch> {
        if self.spec.follower_batch == FollowerBatch::Same {
            return Vec::new();
        }
        let offset = usize::from(!self.spec.shuffle);
        let k = self.spec.follower_steps;
        (0..k)
            .map(|j| {
                self.batch(
                    &self.follower_order,
                    (index * k + j + offset) % self.per_epoch(),
                )
            })
            .collect()
    }

    fn batch(&self, order: &[usize], index: usize) -> Batch {
        let size = self.spec.batch_size;
        let rows = &order[index * size..((index + 1) * size).min(order.len())];
        let indices: Vec<i64> = rows.iter().map(|&r| r as i64).collect();
        let indices =
            Tensor::<1, Int>::from_data(TensorData::new(indices, [rows.len()]), &self.device);
        let groups: Vec<u32> = rows.iter().map(|&r| self.split.groups[r]).collect();
        let labels: Vec<f32> = rows.iter().map(|&r| self.split.labels[r]).collect();
        let fairness = self.spec.method.uses_eta().then(|| {
            FairnessTarget::new(
                self.spec.fairness_loss,
                &groups,
                &labels,
                self.n_groups,
                &self.device,
            )
        });
        Batch {
            inputs: self.inputs.clone().select(0, indices.clone()),
            labels: self.labels.clone().select(0, indices),
            fairness: fairness.flatten(),
        }
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
    fn new(data: &'a Dataset, device: Device) -> Self {
        Self {
            data,
            validation: matrix(&data.validation, &device),
            test: matrix(&data.test, &device),
        }
    }

    /// `inference` is the network without autodiff (`FairNet::valid`).
    fn probabilities(&self, inference: &FairNet, inputs: &Tensor<2>) -> Vec<f32> {
        sigmoid(inference.logits(inputs.clone()))
            .into_data()
            .try_into_vec::<f32>()
            .expect("the network outputs f32")
    }

    /// Metrics of both splits, or why the network's outputs cannot be evaluated.
    fn evaluate(&self, model: &FairNet, epoch: usize) -> Result<EpochMetrics, String> {
        let inference = model.valid();
        let split_metrics = |inputs: &Tensor<2>, split: &Split, name: &str| {
            let probabilities = self.probabilities(&inference, inputs);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Ten rows whose one feature is the row's index, so a batch shows which rows it holds.
    fn numbered(n: usize) -> Dataset {
        let split = Split {
            features: (0..n).map(|i| i as f32).collect(),
            n_features: 1,
            labels: (0..n).map(|i| (i % 2) as f32).collect(),
            groups: (0..n).map(|i| (i % 3 == 0) as u32).collect(),
        };
        Dataset {
            name: "numbered".into(),
            feature_names: vec!["index".into()],
            group_names: vec!["a".into(), "b".into()],
            train: split.clone(),
            validation: split.clone(),
            test: split,
            files: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn spec_with(shuffle: bool, follower_batch: FollowerBatch, follower_steps: usize) -> TrainSpec {
        TrainSpec {
            shuffle,
            follower_batch,
            follower_steps,
            seed: 3,
            ..TrainSpec::for_tests(Method::FairBiNN)
        }
    }

    fn rows(batch: &Batch) -> Vec<usize> {
        let values = batch
            .inputs
            .clone()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        values.into_iter().map(|v| v as usize).collect()
    }

    #[test]
    fn without_shuffling_batches_follow_file_order_and_the_follower_takes_the_next() {
        let data = numbered(10);
        let spec = spec_with(false, FollowerBatch::Separate, 2);
        let mut batches = Minibatches::new(&spec, &data, &Device::flex());
        assert_eq!(batches.per_epoch(), 3);
        for _ in 0..2 {
            batches.shuffle();
            assert_eq!(rows(&batches.leader(0)), vec![0, 1, 2, 3]);
            assert_eq!(rows(&batches.leader(2)), vec![8, 9]);
            // Leader step 1 of 3: follower batches 1·2+0+1 = 3 → 0 and 1·2+1+1 = 4 → 1.
            let followers: Vec<Vec<usize>> = batches.followers(1).iter().map(rows).collect();
            assert_eq!(followers, vec![vec![0, 1, 2, 3], vec![4, 5, 6, 7]]);
        }
    }

    #[test]
    fn shuffled_epochs_cover_every_row_in_a_new_order_and_the_follower_draws_its_own() {
        let data = numbered(10);
        let spec = spec_with(true, FollowerBatch::Separate, 1);
        let mut batches = Minibatches::new(&spec, &data, &Device::flex());
        let epoch = |batches: &mut Minibatches| {
            batches.shuffle();
            let leader: Vec<usize> = (0..3).flat_map(|i| rows(&batches.leader(i))).collect();
            let follower: Vec<usize> = (0..3)
                .flat_map(|i| rows(&batches.followers(i)[0]))
                .collect();
            (leader, follower)
        };
        let (first, first_follower) = epoch(&mut batches);
        let (second, _) = epoch(&mut batches);
        for order in [&first, &second, &first_follower] {
            let mut sorted = order.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..10).collect::<Vec<_>>());
        }
        assert_ne!(first, second, "a new order each epoch");
        assert_ne!(first, first_follower, "the follower's order is its own");
        // The same seed gives the same orders.
        let mut again = Minibatches::new(&spec, &data, &Device::flex());
        assert_eq!(epoch(&mut again).0, first);
        // Same-batch followers draw nothing of their own.
        let same = spec_with(true, FollowerBatch::Same, 1);
        assert!(
            Minibatches::new(&same, &data, &Device::flex())
                .followers(0)
                .is_empty()
        );
    }
}
