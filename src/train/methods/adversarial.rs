//! `adversarial`: adversarial debiasing (Zhang, Lemoine & Mitchell 2018) as fairlearn's
//! `AdversarialFairnessClassifier` trains it. The network (the predictor) and an adversary
//! that predicts the group from the predicted probability (and the label, for
//! `constraint: eo`) each take a step per minibatch: the predictor's BCE gradient, per
//! parameter tensor, loses its projection on the adversary's loss gradient and takes −α times
//! it; the adversary descends its own loss with `lr_adv`. The fused engine computes it
//! (fused/adversary.rs).

use super::threshold::CONSTRAINT;
use super::{Backend, Marker, MethodInfo, MethodKind, Players, Turn};
use crate::train::knob::{Default, InId, Kind, Knob, Value};

/// The weight of the push against the adversary (fairlearn's 1).
pub static ALPHA: Knob = Knob {
    name: "alpha",
    kind: Kind::at_least_zero("a weight ≥ 0"),
    default: Default::Value(Value::Number(1.0)),
    id: InId::WhenRead,
    about: "the weight of the push against the adversary",
};

/// The adversary's learning rate (fairlearn's one `learning_rate` for both).
pub static LR_ADV: Knob = Knob {
    name: "lr_adv",
    kind: Kind::RATE,
    default: Default::SameAs("lr_acc"),
    id: InId::WhenRead,
    about: "the adversary's learning rate (default: lr_acc)",
};

/// The adversary's hidden units (0, fairlearn's default: none, a logistic regression).
pub static ADVERSARY_WIDTH: Knob = Knob {
    name: "adversary_width",
    kind: Kind::Count {
        low: 0,
        high: 100_000,
    },
    default: Default::Value(Value::Count(0)),
    id: InId::WhenRead,
    about: "the adversary's hidden units (0: a logistic regression)",
};

pub const ADVERSARIAL: MethodInfo = MethodInfo {
    name: "adversarial",
    colour: (255, 127, 14),
    marker: Marker::Hexagon,
    kind: MethodKind::Stepped,
    knobs: &[&CONSTRAINT, &ALPHA, &LR_ADV, &ADVERSARY_WIDTH],
    engines: &[Backend::Fused],
    no_checkpoint: Some("its adversary is not saved with the checkpoint"),
    step,
};

fn step(players: &mut dyn Players, turn: &Turn) {
    let rates = turn.rates;
    let alpha = turn.settings.alpha();
    players.adversarial_step(turn.leader, rates.accuracy, rates.fairness, alpha);
}
