//! `fairbinn-reference`: the authors' released update rule (METHOD.md, "where the authors'
//! code differs" 2), whose published curves come from it. Algorithm 1's players, but the
//! leader's Adam receives ∇θa BCE plus ∇θa(η·fairness loss) taken with the fairness block as
//! it was at the start of the iteration, because their code zeroes gradients once per
//! iteration: the leader also descends the fairness loss. Their defaults: follower first, on
//! the leader's batch.

use super::{
    Backend, FollowerBatch, Marker, MethodInfo, Players, StepOrder, Turn, Turns, fairbinn,
};

pub const FAIRBINN_REFERENCE: MethodInfo = MethodInfo {
    name: "fairbinn-reference",
    colour: (148, 103, 189),
    marker: Marker::Diamond,
    reads_eta: true,
    bilevel: Some(Turns {
        order: StepOrder::FollowerFirst,
        follower_batch: FollowerBatch::Same,
    }),
    engines: Backend::ALL,
    step,
};

fn step(players: &mut dyn Players, turn: &Turn) {
    fairbinn::bilevel(players, turn, true);
}
