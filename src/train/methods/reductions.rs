//! `reductions`: the exponentiated-gradient reduction over a cost-sensitive learner
//! (train/exponentiated_gradient/): a logistic regression (`learner: logistic`, the default)
//! or boosted trees (`learner: gbdt`, named `reductions-gbdt`). It has no network and no
//! epochs: one fit on the training rows is its one point. `reductions` says yes where the
//! randomized mixture's probability of a positive decision is above ½;
//! `reductions-randomized` reports the mixture's expected metrics.

use super::gbdt::{LEARNING_RATE, MAX_DEPTH, ROUNDS, SUBSAMPLE};
use super::threshold::CONSTRAINT;
use super::{Backend, Learner, Marker, MethodInfo, MethodKind, Players, Turn};
use crate::train::knob::{Default, InId, Kind, Knob, Value};

/// How far each group's rate may be from everyone's (fairlearn's 0.01).
pub static DIFFERENCE_BOUND: Knob = Knob {
    name: "difference_bound",
    kind: Kind::Number {
        low: 0.0,
        low_open: true,
        high: 1.0,
        high_open: true,
        what: "a gap in (0, 1)",
    },
    default: Default::Value(Value::Number(0.01)),
    id: InId::WhenRead,
    about: "how far each group's rate may be from everyone's",
};

/// Fewer rounds than `gbdt`'s: the reduction fits a learner per iteration (up to 50), with
/// no validation rows to stop early on.
static ROUNDS_PER_FIT: Knob = Knob {
    default: Default::Value(Value::Count(100)),
    ..ROUNDS
};

static LEARNING_RATE_PER_FIT: Knob = Knob {
    default: Default::Value(Value::Number(0.3)),
    ..LEARNING_RATE
};

const KNOBS: &[&Knob] = &[&CONSTRAINT, &DIFFERENCE_BOUND];
const GBDT_KNOBS: &[&Knob] = &[
    &CONSTRAINT,
    &DIFFERENCE_BOUND,
    &ROUNDS_PER_FIT,
    &MAX_DEPTH,
    &LEARNING_RATE_PER_FIT,
    &SUBSAMPLE,
];

const fn fitted(
    name: &'static str,
    colour: (u8, u8, u8),
    knobs: &'static [&'static Knob],
) -> MethodInfo {
    MethodInfo {
        name,
        colour,
        marker: Marker::Star,
        kind: MethodKind::FittedWhole,
        knobs,
        // Computed by its own code: the backend setting does not apply.
        engines: &[Backend::Fused],
        no_checkpoint: Some("it is fitted whole, without epochs"),
        step,
    }
}

static INFOS: [[MethodInfo; 2]; 2] = [
    [
        fitted("reductions", (230, 171, 2), KNOBS),
        fitted("reductions-randomized", (245, 215, 120), KNOBS),
    ],
    [
        fitted("reductions-gbdt", (0, 110, 60), GBDT_KNOBS),
        fitted("reductions-gbdt-randomized", (120, 190, 140), GBDT_KNOBS),
    ],
];

pub fn info(learner: Learner, randomized: bool) -> &'static MethodInfo {
    &INFOS[learner as usize][usize::from(randomized)]
}

fn step(_: &mut dyn Players, _: &Turn) {
    unreachable!("reductions is fitted whole, not stepped (train::train_leg)");
}
