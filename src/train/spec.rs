//! How one network is trained: the settings of a trial, validated by `config`.

use serde::{Deserialize, Serialize};

use super::boosted_trees::Boosting;
use super::knob::{Knobs, Value};
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

/// How a network is trained, validated. The network's settings, then the method's (`knobs`):
/// those it does not read are absent, so trials that differ only there are one trial.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainSpec {
    pub method: Method,
    pub epochs: usize,
    pub batch_size: usize,
    /// Adam learning rate of the accuracy player (of the whole network for one-player methods).
    pub lr_acc: f64,
    /// Reshuffle the training rows every epoch; `false` keeps file order, as the authors.
    pub shuffle: bool,
    pub lr_schedule: Option<LrSchedule>,
    /// The accuracy player's optimizer (the only one of one-player methods).
    pub optimizer_acc: Optimizer,
    /// Heavy-ball momentum of the `sgd` optimizers (PyTorch's, without dampening); 0: none.
    pub momentum: f64,
    /// The settings of its method (η, the follower's, a method's own), as its file declares
    /// them ([`Knob`](super::knob::Knob)): those it does not read are absent.
    pub knobs: Knobs,
    /// Stop once the validation predictions have been degenerate (the same for nearly
    /// everyone) this many epochs in a row; 0: never.
    pub patience: usize,
    pub seed: u64,
    pub backend: Backend,
}

impl TrainSpec {
    /// A small trial for tests to adjust: batches of 4, one epoch, the method's defaults but
    /// η 1 and a follower of its own.
    #[cfg(test)]
    pub(crate) fn for_tests(method: Method) -> Self {
        let mut spec = Self {
            method,
            epochs: 1,
            batch_size: 4,
            lr_acc: 1e-3,
            shuffle: true,
            lr_schedule: None,
            optimizer_acc: Optimizer::Adam,
            momentum: 0.0,
            knobs: Knobs::of(method.knobs(), |_| None, |_| Value::Number(1e-3)),
            patience: 0,
            seed: 0,
            backend: Backend::Fused,
        };
        spec.set("eta", Value::Number(1.0));
        spec.set("step_order", Value::Choice(StepOrder::LeaderFirst.as_str()));
        spec.set(
            "follower_batch",
            Value::Choice(FollowerBatch::Separate.as_str()),
        );
        spec
    }

    /// Set the setting `name` if the method reads it (tests and `bench` adjust trials so).
    pub fn set(&mut self, name: &str, value: Value) {
        if let Some(knob) = self.method.knobs().find(|k| k.name == name) {
            self.knobs.set(knob, value);
        }
    }

    /// [`set`](Self::set), by value.
    pub fn with(mut self, name: &str, value: Value) -> Self {
        self.set(name, value);
        self
    }

    /// η, the weight of the fairness loss (0 for a method that weighs none).
    pub fn eta(&self) -> f64 {
        self.knobs.number("eta").unwrap_or(0.0)
    }

    pub fn fairness_loss(&self) -> FairnessLoss {
        (self
            .knobs
            .choice("fairness_loss")
            .and_then(FairnessLoss::parse))
        .unwrap_or(FairnessLoss::DpSquared)
    }

    /// The fairness player's learning rate (0 without one).
    pub fn lr_fair(&self) -> f64 {
        self.knobs.number("lr_fair").unwrap_or(0.0)
    }

    /// Bilevel methods: which player steps first in an iteration.
    pub fn step_order(&self) -> StepOrder {
        (self.knobs.choice("step_order").and_then(StepOrder::parse))
            .unwrap_or(StepOrder::LeaderFirst)
    }

    /// Bilevel methods: whether the follower's minibatch is the leader's or one of its own.
    pub fn follower_batch(&self) -> FollowerBatch {
        (self
            .knobs
            .choice("follower_batch")
            .and_then(FollowerBatch::parse))
        .unwrap_or(FollowerBatch::Same)
    }

    /// Bilevel methods: follower steps per leader step.
    pub fn follower_steps(&self) -> usize {
        self.knobs.count("follower_steps").unwrap_or(1)
    }

    /// The fairness player's optimizer.
    pub fn optimizer_fair(&self) -> Optimizer {
        (self
            .knobs
            .choice("optimizer_fair")
            .and_then(Optimizer::parse))
        .unwrap_or(Optimizer::Adam)
    }

    /// `stackelberg`: follower steps the leader looks ahead (0: `fairbinn`'s update).
    pub fn unroll(&self) -> usize {
        self.knobs.count("unroll").unwrap_or(1)
    }

    /// `threshold`, `reductions`, `adversarial`: the gaps closed.
    pub fn constraint(&self) -> Constraint {
        (self.knobs.choice("constraint").and_then(Constraint::parse))
            .unwrap_or(Constraint::DemographicParity)
    }

    /// `reductions`: how far each group's rate may be from everyone's.
    pub fn difference_bound(&self) -> f64 {
        self.knobs.number("difference_bound").unwrap_or(0.0)
    }

    /// `adversarial`: the weight of the push against the adversary.
    pub fn alpha(&self) -> f64 {
        self.knobs.number("alpha").unwrap_or(0.0)
    }

    /// `adversarial`: the adversary's hidden units (0: none, a logistic regression).
    pub fn adversary_width(&self) -> usize {
        self.knobs.count("adversary_width").unwrap_or(0)
    }

    /// `threshold`'s settings, for its methods.
    pub fn threshold(&self) -> Option<ThresholdSpec> {
        match self.method {
            Method::Threshold { randomized, .. } => Some(ThresholdSpec {
                constraint: self.constraint(),
                tolerance: self.knobs.number("tolerance").unwrap_or(0.0),
                randomized,
            }),
            _ => None,
        }
    }

    /// `reductions`, `gbdt` and `threshold` on `gbdt`: fitted whole, without a network.
    pub fn is_fitted_whole(&self) -> bool {
        self.method.is_fitted_whole()
    }

    /// `gbdt`'s settings, and `reductions`' with `learner: gbdt` (which does not stop early).
    pub fn boosting(&self) -> Boosting {
        Boosting {
            rounds: self.knobs.count("rounds").unwrap_or(1),
            max_depth: self.knobs.count("max_depth").unwrap_or(1),
            learning_rate: self.knobs.number("learning_rate").unwrap_or(0.1),
            early_stopping: self.knobs.count("early_stopping").unwrap_or(0),
            subsample: self.knobs.number("subsample").unwrap_or(1.0),
            seed: self.seed,
        }
    }

    /// The network a post-processing method reads: its base's trial (itself otherwise).
    pub fn trained(&self) -> Self {
        let base = self.method.trained();
        let mut trained = Self {
            method: base,
            ..*self
        };
        trained.knobs.retain(|k| base.reads(k.name));
        trained
    }

    /// Whether some player steps by SGD (and `momentum` matters).
    pub fn uses_sgd(&self) -> bool {
        self.optimizer_acc == Optimizer::Sgd
            || (self.method.is_bilevel() && self.optimizer_fair() == Optimizer::Sgd)
    }

    /// The (leader, follower) learning rates during `epoch` (1-based).
    pub fn learning_rates(&self, epoch: usize) -> LearningRates {
        // The adversary is the second player of `adversarial`.
        let second = (self.knobs.number("lr_adv")).unwrap_or_else(|| self.lr_fair());
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

super::knob::choice_names!(Optimizer {
    Adam => "adam",
    Sgd => "sgd",
});

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
