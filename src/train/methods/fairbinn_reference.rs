//! `fairbinn-reference`: the authors' released update rule (METHOD.md, "where the authors'
//! code differs" 2), whose published curves come from it. Algorithm 1's players, but the
//! leader's Adam receives ∇θa BCE plus ∇θa(η·fairness loss) taken with the fairness block as
//! it was at the start of the iteration, because their code zeroes gradients once per
//! iteration: the leader also descends the fairness loss. Their defaults: follower first, on
//! the leader's batch.

use super::fairbinn::{self, FOLLOWER_STEPS, LR_FAIR, OPTIMIZER_FAIR};
use super::lagrangian::{ETA, FAIRNESS_LOSS};
use super::{Backend, FollowerBatch, Marker, MethodInfo, MethodKind, Players, StepOrder, Turn};
use crate::train::knob::{Default, Knob, Value};

/// The authors' order: the follower first.
static STEP_ORDER: Knob = Knob {
    default: Default::Value(Value::Choice(StepOrder::FollowerFirst.as_str())),
    ..fairbinn::STEP_ORDER
};

/// The authors' batches: the follower steps on the leader's.
static FOLLOWER_BATCH: Knob = Knob {
    default: Default::Value(Value::Choice(FollowerBatch::Same.as_str())),
    ..fairbinn::FOLLOWER_BATCH
};

pub const FAIRBINN_REFERENCE: MethodInfo = MethodInfo {
    name: "fairbinn-reference",
    colour: (148, 103, 189),
    marker: Marker::Diamond,
    kind: MethodKind::Stepped,
    knobs: &[
        &ETA,
        &FAIRNESS_LOSS,
        &LR_FAIR,
        &STEP_ORDER,
        &FOLLOWER_BATCH,
        &FOLLOWER_STEPS,
        &OPTIMIZER_FAIR,
    ],
    engines: Backend::ALL,
    no_checkpoint: None,
    step,
};

fn step(players: &mut dyn Players, turn: &Turn) {
    fairbinn::bilevel(players, turn, true);
}
