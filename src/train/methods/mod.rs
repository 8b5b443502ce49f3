//! The training methods, each described in one place: its name, its kind, the settings it
//! reads with their defaults and checks ([`Knob`]s; the others are blanked in trial ids and
//! CSVs), the engines that implement it, its colour in figures, and its update rule, written
//! once over the half-steps every engine offers ([`Players`]).
//!
//! To add a method: a file here with its [`MethodInfo`], and its line in the registry (a
//! variant of [`Method`] and its arm in [`Method::info`]). `toy.rs`, registered in test
//! builds only, shows the whole of it, with a setting of its own.

mod adversarial;
mod adversarial_forgetting;
mod cvib;
mod erm;
mod fairbinn;
mod fairbinn_reference;
mod fcrl;
mod gbdt;
mod laftr;
mod lagrangian;
mod maxent_arl;
mod reductions;
mod stackelberg;
mod threshold;
#[cfg(test)]
mod toy;

use serde::{Deserialize, Serialize};

use super::knob::Knob;
use super::spec::TrainSpec;

/// A training method, as experiment files and results name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Method {
    Erm,
    Lagrangian,
    /// The method of an experiment file that names none.
    #[default]
    FairBiNN,
    FairBiNNReference,
    /// Listed after the methods of the first release, so their ids and orders stay.
    Stackelberg,
    /// Group thresholds on a base network's scores (`method: threshold`, `base:`,
    /// `randomized:`): one method per base and rule, so each is a front of its own.
    Threshold {
        base: Base,
        randomized: bool,
    },
    /// The exponentiated-gradient reduction (`method: reductions`, `learner:`,
    /// `randomized:`): one method per learner and rule.
    Reductions {
        learner: Learner,
        randomized: bool,
    },
    /// Adversarial debiasing (Zhang, Lemoine & Mitchell 2018).
    Adversarial,
    /// Gradient-boosted trees.
    Gbdt,
    /// The representation learners of the FCRL benchmark (and LAFTR), which the FairBiNN
    /// paper compares with.
    Fcrl,
    MaxentArl,
    Cvib,
    AdversarialForgetting,
    Laftr,
    #[cfg(test)]
    Toy,
}

/// A method whose scores `threshold` post-processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Base {
    Erm,
    Lagrangian,
    FairBiNN,
    FairBiNNReference,
    Stackelberg,
    Gbdt,
}

/// The classifier the reduction reweights (`reductions`' `learner:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Learner {
    /// A cost-sensitive logistic regression, fairlearn's usual choice.
    Logistic,
    /// Gradient-boosted trees with `gbdt`'s settings.
    Gbdt,
}

crate::train::knob::choice_names!(Learner {
    Logistic => "logistic",
    Gbdt => "gbdt",
});

impl Base {
    pub const ALL: [Base; 6] = [
        Self::Erm,
        Self::Lagrangian,
        Self::FairBiNN,
        Self::FairBiNNReference,
        Self::Stackelberg,
        Self::Gbdt,
    ];

    pub fn method(self) -> Method {
        match self {
            Self::Erm => Method::Erm,
            Self::Lagrangian => Method::Lagrangian,
            Self::FairBiNN => Method::FairBiNN,
            Self::FairBiNNReference => Method::FairBiNNReference,
            Self::Stackelberg => Method::Stackelberg,
            Self::Gbdt => Method::Gbdt,
        }
    }

    pub fn of(method: Method) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.method() == method)
    }
}

impl Method {
    /// Every method, in the order of tables and legends.
    pub const ALL: &[Method] = &[
        Self::Erm,
        Self::Lagrangian,
        Self::FairBiNN,
        Self::FairBiNNReference,
        Self::Stackelberg,
        Self::threshold(Base::Erm, false),
        Self::threshold(Base::Lagrangian, false),
        Self::threshold(Base::FairBiNN, false),
        Self::threshold(Base::FairBiNNReference, false),
        Self::threshold(Base::Stackelberg, false),
        Self::threshold(Base::Erm, true),
        Self::threshold(Base::Lagrangian, true),
        Self::threshold(Base::FairBiNN, true),
        Self::threshold(Base::FairBiNNReference, true),
        Self::threshold(Base::Stackelberg, true),
        Self::reductions(Learner::Logistic, false),
        Self::reductions(Learner::Logistic, true),
        Self::Adversarial,
        // Listed after the methods before them, so their orders stay.
        Self::Gbdt,
        Self::threshold(Base::Gbdt, false),
        Self::threshold(Base::Gbdt, true),
        Self::reductions(Learner::Gbdt, false),
        Self::reductions(Learner::Gbdt, true),
        Self::Fcrl,
        Self::MaxentArl,
        Self::Cvib,
        Self::AdversarialForgetting,
        Self::Laftr,
        #[cfg(test)]
        Self::Toy,
    ];

    const fn threshold(base: Base, randomized: bool) -> Self {
        Self::Threshold { base, randomized }
    }

    const fn reductions(learner: Learner, randomized: bool) -> Self {
        Self::Reductions {
            learner,
            randomized,
        }
    }

    /// The registry: each method's description.
    pub fn info(self) -> &'static MethodInfo {
        match self {
            Self::Erm => &erm::ERM,
            Self::Lagrangian => &lagrangian::LAGRANGIAN,
            Self::FairBiNN => &fairbinn::FAIRBINN,
            Self::FairBiNNReference => &fairbinn_reference::FAIRBINN_REFERENCE,
            Self::Stackelberg => &stackelberg::STACKELBERG,
            Self::Threshold { base, randomized } => threshold::info(base, randomized),
            Self::Reductions {
                learner,
                randomized,
            } => reductions::info(learner, randomized),
            Self::Adversarial => &adversarial::ADVERSARIAL,
            Self::Gbdt => &gbdt::GBDT,
            Self::Fcrl => &fcrl::FCRL,
            Self::MaxentArl => &maxent_arl::MAXENT_ARL,
            Self::Cvib => &cvib::CVIB,
            Self::AdversarialForgetting => &adversarial_forgetting::ADVERSARIAL_FORGETTING,
            Self::Laftr => &laftr::LAFTR,
            #[cfg(test)]
            Self::Toy => &toy::TOY,
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|m| m.name() == name)
    }

    /// Its numbers are a randomized classifier's expected ones.
    pub fn is_randomized(self) -> bool {
        matches!(
            self,
            Self::Threshold {
                randomized: true,
                ..
            } | Self::Reductions {
                randomized: true,
                ..
            }
        )
    }

    /// Trained step by step by its own rule (not post-processing, not fitted whole).
    pub fn is_stepped(self) -> bool {
        self.info().kind == MethodKind::Stepped
    }

    /// It has a model of its own to save and predict with: a network, or `gbdt`'s trees
    /// (not a post-processor's rule or a reduction's mixture).
    pub fn has_own_model(self) -> bool {
        self.is_stepped() || self == Self::Gbdt
    }

    /// Its models can be saved (`save_models`): all but the representation learners.
    pub fn saves_model(self) -> bool {
        !self.is_representation()
    }

    /// A representation learner: an encoder trained with heads of its own (train/representation/).
    pub fn is_representation(self) -> bool {
        self.info().kind == MethodKind::Representation
    }

    /// Trained epoch after epoch by its own rule or loop: stepped or a representation learner
    /// (not post-processing, not fitted whole).
    pub fn has_epochs(self) -> bool {
        self.is_stepped() || self.is_representation()
    }

    /// Fitted in one go, without a network or epochs (itself, or a post-processor's base).
    pub fn is_fitted_whole(self) -> bool {
        self.trained().info().kind == MethodKind::FittedWhole
    }

    /// The settings it reads: a post-processor's base's, then its own.
    pub fn knobs(self) -> impl Iterator<Item = &'static Knob> {
        let base = match self.info().kind {
            MethodKind::PostProcessing => self.trained().info().knobs,
            _ => &[],
        };
        base.iter().chain(self.info().knobs).copied()
    }

    /// Whether it reads the setting `name`.
    pub fn reads(self, name: &str) -> bool {
        self.knobs().any(|k| k.name == name)
    }

    /// Every method's settings, each name once (its first declaration), in registry order:
    /// the `train:` keys beside the network's, and the CSVs' setting columns.
    pub fn all_knobs() -> Vec<&'static Knob> {
        let mut knobs: Vec<&'static Knob> = Vec::new();
        for knob in Self::ALL.iter().flat_map(|m| m.knobs()) {
            if !knobs.iter().any(|k| k.name == knob.name) {
                knobs.push(knob);
            }
        }
        knobs
    }

    /// The method whose network is trained: the base of `threshold`, else itself.
    pub fn trained(self) -> Method {
        match self {
            Self::Threshold { base, .. } => base.method(),
            other => other,
        }
    }

    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// Every name, for messages.
    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|m| m.name()).collect()
    }

    /// The names experiment files give `train.method`: each family once (`threshold` with
    /// its `base:` and `randomized:`, `reductions` with its `randomized:`).
    pub fn written_names() -> Vec<&'static str> {
        let family = |m: &&Method| matches!(m, Self::Threshold { .. } | Self::Reductions { .. });
        let mut names: Vec<&str> = (Self::ALL.iter())
            .filter(|m| !family(m))
            .map(|m| m.name())
            .collect();
        names.extend(["threshold", "reductions"]);
        names
    }

    /// η and the fairness loss matter.
    pub fn uses_eta(self) -> bool {
        self.reads("eta")
    }

    /// Two players: a fairness block with its own optimizer (`lr_fair`, step order, ...).
    pub fn is_bilevel(self) -> bool {
        self.reads("lr_fair")
    }
}

/// The settings every method reads beyond the network's, as a Markdown table drawn from their
/// declarations: docs/methods.md holds it, and a test keeps the two the same. A
/// post-processor is listed for its own settings; it reads its base's too.
pub fn settings_table() -> String {
    use super::knob::{Default, Kind};
    let mut table = String::from(
        "| setting | read by | values | default | what it does |\n|---|---|---|---|---|\n",
    );
    for knob in Method::all_knobs() {
        // Each family once, under the name experiment files give it.
        let mut readers: Vec<&str> = Vec::new();
        let declares = |m: &Method, name: &str| m.info().knobs.iter().any(|k| k.name == name);
        for &method in Method::ALL.iter().filter(|m| declares(m, knob.name)) {
            let name = match method {
                Method::Threshold { .. } => "threshold",
                Method::Reductions { .. } => "reductions",
                #[cfg(test)]
                Method::Toy => "toy",
                other => other.name(),
            };
            if !readers.contains(&name) {
                readers.push(name);
            }
        }
        let values = match knob.kind {
            Kind::Number {
                low,
                low_open,
                high,
                high_open,
                ..
            } => {
                let (open, close) = (
                    if low_open { "(" } else { "[" },
                    if high_open { ")" } else { "]" },
                );
                let high = if high.is_infinite() {
                    "∞".to_string()
                } else {
                    high.to_string()
                };
                format!("{open}{low}, {high}{close}")
            }
            Kind::Count { low, high } => format!("{low} to {high}"),
            Kind::Choice(names) => names.join(", "),
        };
        let default_of = |k: &Knob| match k.default {
            Default::Value(value) => value.to_string(),
            Default::SameAs(other) => format!("`{other}`"),
        };
        let mut defaults: Vec<(String, Vec<&str>)> = Vec::new();
        for &method in Method::ALL {
            let Some(declared) = method.info().knobs.iter().find(|k| k.name == knob.name) else {
                continue;
            };
            let default = default_of(declared);
            match defaults.iter_mut().find(|(d, _)| *d == default) {
                Some((_, methods)) => methods.push(method.name()),
                None => defaults.push((default, vec![method.name()])),
            }
        }
        let default = match defaults.as_slice() {
            [(only, _)] => only.clone(),
            [(first, _), others @ ..] => {
                let others: Vec<String> = (others.iter())
                    .map(|(d, methods)| format!("{}: {d}", methods.join(", ")))
                    .collect();
                format!("{first} ({})", others.join("; "))
            }
            [] => String::new(),
        };
        table += &format!(
            "| `{}` | {} | {values} | {default} | {} |\n",
            knob.name,
            readers.join(", "),
            knob.about
        );
    }
    table
}

impl Serialize for Method {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Method {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Self::parse(&name).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown method {name:?}; expected one of {}",
                Self::names().join(", ")
            ))
        })
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What the tool knows of a method.
pub struct MethodInfo {
    /// As written in experiment files, CSVs and trial ids.
    pub name: &'static str,
    /// RGB, in figures.
    pub colour: (u8, u8, u8),
    /// Its points' shape in figures, so that methods differ without colour too.
    pub marker: Marker,
    pub kind: MethodKind,
    /// The settings it reads beyond the network's (epochs, batch size, `lr_acc`, …), with
    /// their defaults for this method. Reading `eta` makes it weigh a fairness loss; reading
    /// `lr_fair`, a two-player (bilevel) method with a fairness block of its own.
    pub knobs: &'static [&'static Knob],
    /// The engines that implement it (`train.backend`).
    pub engines: &'static [Backend],
    /// Why a trial of it cannot pause at a halving search's rung and go on from a
    /// checkpoint; `None` when it can.
    pub no_checkpoint: Option<&'static str>,
    /// One training iteration: a leader step and, for bilevel methods, the follower's.
    pub step: fn(&mut dyn Players, &Turn),
}

/// A point's shape in figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    Circle,
    Square,
    Triangle,
    Diamond,
    InvertedTriangle,
    /// Post-processing (`threshold`).
    Plus,
    /// `reductions`.
    Star,
    /// `adversarial`.
    Hexagon,
    /// `gbdt`.
    Cross,
}

/// How a method is trained, which decides how a sweep runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodKind {
    /// Step by step, by its `step` rule over the players, epoch after epoch.
    Stepped,
    /// On a base method's network's scores, after each of its epochs (`threshold`).
    PostProcessing,
    /// In one fit, without epochs or a network (`reductions`).
    FittedWhole,
    /// An encoder and heads of its own, trained epoch by epoch by its own loop
    /// (train/representation/); its own predictor's points are selected like a network's, and
    /// `downstream:` evaluates its representation.
    Representation,
}

/// One iteration's rows and settings, as a method's rule sees them.
pub struct Turn<'a> {
    /// The leader's minibatch (the only one for one-player methods).
    pub leader: &'a [usize],
    /// The follower's minibatches, `follower_steps` of them; none for one-player methods.
    pub followers: &'a [&'a [usize]],
    pub rates: LearningRates,
    /// The trial's settings: η, the step order, a method's own (`settings.knobs`).
    pub settings: &'a TrainSpec,
}

/// The half-steps an engine offers a method's rule, each on rows of the training split.
/// θa is the accuracy player's layers, θf the fairness block's.
pub trait Players {
    /// One optimizer over every layer on BCE, plus η·fairness loss `with_fairness`.
    fn joint_step(&mut self, rows: &[usize], rate: f64, with_fairness: bool);
    /// θa ← Adam(∇θa BCE), θf held fixed. With `fairness`, the gradient also holds
    /// ∇θa(η·fairness loss) through the block as it is; with `add_kept`, the gradient kept by
    /// [`keep_leak`](Self::keep_leak) or a follower step is added.
    fn leader_step(&mut self, rows: &[usize], rate: f64, fairness: bool, add_kept: bool);
    /// θf ← Adam(∇θf η·fairness loss), θa held fixed. With `keep_leak`, ∇θa(η·fairness loss)
    /// of the same pass (the block as it was before this step) is kept for the next leader
    /// step. Whether it kept one: false when the rows have no fairness loss.
    fn follower_step(&mut self, rows: &[usize], rate: f64, keep_leak: bool) -> bool;
    /// Keep ∇θa(η·fairness loss) on `rows`, θf as it is now, for the next leader step.
    /// Whether there was one to keep.
    fn keep_leak(&mut self, rows: &[usize]) -> bool;
    /// θa ← its optimizer's step on the total derivative of BCE on `rows` at the follower's
    /// response unrolled `unroll` (≥ 1) plain gradient steps of size `follower_rate` on
    /// η·fairness loss over `followers` (`stackelberg`). θf is left as it is. The fused engine
    /// alone offers it.
    fn anticipating_leader_step(
        &mut self,
        _rows: &[usize],
        _rate: f64,
        _followers: &[&[usize]],
        _follower_rate: f64,
        _unroll: usize,
    ) {
        unreachable!("only the fused engine runs stackelberg (MethodInfo::engines)");
    }
    /// Every layer ← its optimizer's step on the BCE gradient made blind to the adversary
    /// and pushed against it (per parameter tensor, its projection on the adversary's loss
    /// gradient removed, −α times that gradient added); then the adversary ← Adam at
    /// `adversary_rate` on its loss, both gradients from the same pass (`adversarial`).
    fn adversarial_step(&mut self, _rows: &[usize], _rate: f64, _adversary_rate: f64, _alpha: f64) {
        unreachable!("only the fused engine runs adversarial (MethodInfo::engines)");
    }
}

/// Which player steps first in an iteration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepOrder {
    /// The paper's Algorithm 1.
    LeaderFirst,
    /// The authors' code.
    FollowerFirst,
}

crate::train::knob::choice_names!(StepOrder {
    LeaderFirst => "leader-first",
    FollowerFirst => "follower-first",
});

/// Whose minibatch the follower steps on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FollowerBatch {
    /// The leader's minibatch (the authors' code).
    Same,
    /// A minibatch of the follower's own (the paper's Algorithm 1).
    Separate,
}

crate::train::knob::choice_names!(FollowerBatch {
    Same => "same",
    Separate => "separate",
});

/// Where a trial's numbers are computed. `fused` (the default) is this crate's own engine for
/// this network (fused/); `flex` is burn 0.22's CPU backend with burn's autodiff and Adam, and
/// burn-ndarray (deprecated in burn 0.22) is there to compare against, when built with
/// `--features ndarray`. All three train the same network by the same rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    #[default]
    Fused,
    Flex,
    Ndarray,
}

impl Backend {
    pub const ALL: &[Backend] = &[Self::Fused, Self::Flex, Self::Ndarray];

    /// Whether this build has the backend.
    pub fn is_available(self) -> bool {
        match self {
            Self::Fused | Self::Flex => true,
            Self::Ndarray => cfg!(feature = "ndarray"),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fused => "fused",
            Self::Flex => "flex",
            Self::Ndarray => "ndarray",
        }
    }
}

/// Each player's learning rate in one epoch (one-player methods use `accuracy`; the
/// adversary of `adversarial` takes `fairness`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LearningRates {
    pub accuracy: f64,
    pub fairness: f64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::knob::Value;

    /// The registry and the serde names agree, and names are unique.
    #[test]
    fn every_method_is_registered_under_its_serde_name() {
        let mut names = Vec::new();
        for &method in Method::ALL {
            let serde: String = serde_norway::to_string(&method).unwrap();
            assert_eq!(serde.trim(), method.name());
            assert_eq!(Method::parse(method.name()), Some(method));
            assert!(!method.info().engines.is_empty(), "{method}");
            names.push(method.name());
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Method::ALL.len());
        // Each front its own colour in figures.
        let mut colours: Vec<(u8, u8, u8)> = Method::ALL.iter().map(|m| m.info().colour).collect();
        colours.sort_unstable();
        colours.dedup();
        assert_eq!(colours.len(), Method::ALL.len());
    }

    /// A recording of the half-steps a rule asks for.
    #[derive(Default)]
    pub(super) struct Recorder {
        pub calls: Vec<String>,
    }

    impl Players for Recorder {
        fn joint_step(&mut self, rows: &[usize], _: f64, with_fairness: bool) {
            self.calls
                .push(format!("joint {rows:?} fairness={with_fairness}"));
        }
        fn leader_step(&mut self, rows: &[usize], _: f64, fairness: bool, add_kept: bool) {
            self.calls.push(format!(
                "leader {rows:?} fairness={fairness} kept={add_kept}"
            ));
        }
        fn follower_step(&mut self, rows: &[usize], _: f64, keep_leak: bool) -> bool {
            self.calls
                .push(format!("follower {rows:?} keep={keep_leak}"));
            keep_leak
        }
        fn keep_leak(&mut self, rows: &[usize]) -> bool {
            self.calls.push(format!("keep {rows:?}"));
            true
        }
        fn anticipating_leader_step(
            &mut self,
            rows: &[usize],
            _: f64,
            followers: &[&[usize]],
            _: f64,
            unroll: usize,
        ) {
            self.calls.push(format!(
                "anticipating leader {rows:?} over {followers:?} ×{unroll}"
            ));
        }
    }

    /// The calls `method`'s rule makes for one iteration.
    pub(super) fn calls(method: Method, order: StepOrder, batch: FollowerBatch) -> Vec<String> {
        let (leader, a, b): (&[usize], &[usize], &[usize]) = (&[0, 1], &[2, 3], &[4, 5]);
        let same = [leader, leader];
        let own = [a, b];
        let followers: &[&[usize]] = match (method.is_bilevel(), batch) {
            (false, _) => &[],
            (true, FollowerBatch::Same) => &same,
            (true, FollowerBatch::Separate) => &own,
        };
        let mut settings = TrainSpec::for_tests(method);
        settings.set("eta", Value::Number(2.0));
        settings.set("step_order", Value::Choice(order.as_str()));
        settings.set("follower_batch", Value::Choice(batch.as_str()));
        settings.set("unroll", Value::Count(1));
        settings.set("alpha", Value::Number(1.0));
        let turn = Turn {
            leader,
            followers,
            rates: LearningRates {
                accuracy: 1e-3,
                fairness: 1e-5,
            },
            settings: &settings,
        };
        let mut recorder = Recorder::default();
        (method.info().step)(&mut recorder, &turn);
        recorder.calls
    }
}
