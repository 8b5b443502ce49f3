//! `stackelberg`: the bilevel game as the paper's method section states it. Each iteration
//! the leader anticipates the follower: its gradient is the total derivative of BCE at the
//! follower's response unrolled `unroll` plain gradient steps of size `lr_fair` on
//! η·(fairness loss) from the current θf, which adds to ∇θa BCE the terms through those
//! steps (for one step, −lr_fair·∇²θaθf(η·φ)·∇θf BCE; the fused engine computes them).
//! Then the follower takes its real step(s), with its own optimizer, as in `fairbinn`.
//! `unroll: 0` is `fairbinn`'s update exactly. The unrolled steps are plain gradient steps
//! whatever the follower's optimizer, as in DARTS.

#[cfg(test)]
use super::FollowerBatch;
use super::fairbinn::{FOLLOWER_BATCH, FOLLOWER_STEPS, LR_FAIR, OPTIMIZER_FAIR, STEP_ORDER};
use super::lagrangian::{ETA, FAIRNESS_LOSS};
use super::{Backend, Marker, MethodInfo, MethodKind, Players, StepOrder, Turn};
use crate::train::knob::{Default, InId, Kind, Knob, Value};

/// Follower steps the leader looks ahead.
pub static UNROLL: Knob = Knob {
    name: "unroll",
    kind: Kind::Count { low: 0, high: 100 },
    default: Default::Value(Value::Count(1)),
    id: InId::WhenRead,
    about: "follower steps the leader looks ahead (0: fairbinn's update)",
};

pub const STACKELBERG: MethodInfo = MethodInfo {
    name: "stackelberg",
    colour: (23, 190, 207),
    marker: Marker::InvertedTriangle,
    kind: MethodKind::Stepped,
    knobs: &[
        &ETA,
        &FAIRNESS_LOSS,
        &LR_FAIR,
        &STEP_ORDER,
        &FOLLOWER_BATCH,
        &FOLLOWER_STEPS,
        &OPTIMIZER_FAIR,
        &UNROLL,
    ],
    engines: &[Backend::Fused],
    no_checkpoint: None,
    step,
};

fn step(players: &mut dyn Players, turn: &Turn) {
    let rates = turn.rates;
    let lead = |players: &mut dyn Players| match turn.settings.unroll() {
        0 => players.leader_step(turn.leader, rates.accuracy, false, false),
        unroll => players.anticipating_leader_step(
            turn.leader,
            rates.accuracy,
            turn.followers,
            rates.fairness,
            unroll,
        ),
    };
    if turn.settings.step_order() == StepOrder::LeaderFirst {
        lead(players);
    }
    for rows in turn.followers {
        players.follower_step(rows, rates.fairness, false);
    }
    if turn.settings.step_order() == StepOrder::FollowerFirst {
        lead(players);
    }
}

#[cfg(test)]
mod tests {
    use super::super::Method;
    use super::super::tests::calls;
    use super::*;

    #[test]
    fn the_leader_looks_ahead_then_the_follower_steps() {
        assert_eq!(
            calls(
                Method::Stackelberg,
                StepOrder::LeaderFirst,
                FollowerBatch::Separate
            ),
            [
                "anticipating leader [0, 1] over [[2, 3], [4, 5]] ×1",
                "follower [2, 3] keep=false",
                "follower [4, 5] keep=false",
            ]
        );
        assert_eq!(
            calls(
                Method::Stackelberg,
                StepOrder::FollowerFirst,
                FollowerBatch::Same
            ),
            [
                "follower [0, 1] keep=false",
                "follower [0, 1] keep=false",
                "anticipating leader [0, 1] over [[0, 1], [0, 1]] ×1",
            ]
        );
    }
}
