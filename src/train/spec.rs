//! How one network is trained: the settings of a trial, validated by `config`.

use serde::{Deserialize, Serialize};

use super::losses::FairnessLoss;
use super::methods::{Backend, FollowerBatch, LearningRates, Method, StepOrder};
use super::threshold_optimizer::{Constraint, ThresholdSpec};
use crate::model::Architecture;

/// One trial's network and training, validated (by `config`).
#[derive(Debug, Clone, PartialEq)]
pub struct TrialSpec {
    pub architecture: Architecture,
    pub train: TrainSpec,
}

/// How a network is trained, validated. Settings the method does not read hold one fixed
/// value (see `config`), so trials that differ only there are one trial.
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
    /// The accuracy player's optimizer (the only one of one-player methods).
    pub optimizer_acc: Optimizer,
    /// The fairness player's: with `sgd` its step is `lr_fair · η · ∇θf fairness loss`, so η
    /// acts as in the paper's theory, which Adam's rescaling undoes.
    pub optimizer_fair: Optimizer,
    /// Heavy-ball momentum of the `sgd` optimizers (PyTorch's, without dampening); 0: none.
    pub momentum: f64,
    /// `stackelberg`: follower steps the leader looks ahead (0: `fairbinn`'s update).
    pub unroll: usize,
    /// `threshold`: the gaps its cuts close.
    pub constraint: Constraint,
    /// `threshold`: the largest gap in selection rates its cuts may leave.
    pub tolerance: f64,
    /// `reductions`: how far each group's rate may be from everyone's.
    pub difference_bound: f64,
    /// `adversarial`: the weight of the push against the adversary.
    pub alpha: f64,
    /// `adversarial`: the adversary's Adam learning rate.
    pub lr_adv: f64,
    /// `adversarial`: the adversary's hidden units (0: none, a logistic regression).
    pub adversary_width: usize,
    /// Stop once the validation predictions have been degenerate (the same for nearly
    /// everyone) this many epochs in a row; 0: never.
    pub patience: usize,
    pub seed: u64,
    pub backend: Backend,
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
            optimizer_acc: Optimizer::Adam,
            optimizer_fair: Optimizer::Adam,
            momentum: 0.0,
            unroll: 1,
            constraint: Constraint::DemographicParity,
            tolerance: 0.0,
            difference_bound: 0.0,
            alpha: 0.0,
            lr_adv: 0.0,
            adversary_width: 0,
            patience: 0,
            seed: 0,
            backend: Backend::Fused,
        }
    }

    /// `threshold`'s settings, for its methods.
    pub fn threshold(&self) -> Option<ThresholdSpec> {
        match self.method {
            Method::Threshold { randomized, .. } => Some(ThresholdSpec {
                constraint: self.constraint,
                tolerance: self.tolerance,
                randomized,
            }),
            _ => None,
        }
    }

    /// `reductions`: fitted whole, without a network.
    pub fn reductions(&self) -> bool {
        matches!(self.method, Method::Reductions { .. })
    }

    /// The network a post-processing method reads: its base's trial (itself otherwise).
    pub fn trained(&self) -> Self {
        match self.threshold() {
            Some(_) => Self {
                method: self.method.trained(),
                constraint: Constraint::DemographicParity,
                tolerance: 0.0,
                ..*self
            },
            None => *self,
        }
    }

    /// Whether some player steps by SGD (and `momentum` matters).
    pub fn uses_sgd(&self) -> bool {
        self.optimizer_acc == Optimizer::Sgd
            || (self.method.is_bilevel() && self.optimizer_fair == Optimizer::Sgd)
    }

    /// The (leader, follower) learning rates during `epoch` (1-based).
    pub fn learning_rates(&self, epoch: usize) -> LearningRates {
        // The adversary is the second player of `adversarial`.
        let second = match self.method {
            Method::Adversarial => self.lr_adv,
            _ => self.lr_fair,
        };
        let Some(schedule) = self.lr_schedule else {
            return LearningRates {
                accuracy: self.lr_acc,
                fairness: second,
            };
        };
        let decays = ((epoch - 1) / schedule.every) as i32;
        LearningRates {
            accuracy: self.lr_acc * schedule.gamma_acc.powi(decays),
            fairness: second * schedule.gamma_fair.powi(decays),
        }
    }
}

/// A player's optimizer (`optimizer_acc`, `optimizer_fair`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Optimizer {
    /// PyTorch's defaults (β 0.9, 0.999, ε 1e-8): the paper's and the authors'.
    #[default]
    Adam,
    /// Plain gradient steps, with `momentum` if set.
    Sgd,
}

impl Optimizer {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Adam => "adam",
            Self::Sgd => "sgd",
        }
    }
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
