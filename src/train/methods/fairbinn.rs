//! `fairbinn`, Algorithm 1 of the paper: per iteration, a leader step on BCE that updates θa
//! only (the fairness block held fixed) and a follower step on η·(fairness loss) that updates
//! θf only (θa held fixed), each player with its own Adam. The order of the two steps, the
//! follower's minibatch and its number of steps are settings; the paper's are the defaults.
//!
//! [`bilevel`] also serves `fairbinn-reference`, the authors' released rule, whose leader
//! also descends the fairness loss (see fairbinn_reference.rs).

use super::lagrangian::{ETA, FAIRNESS_LOSS};
use super::{Backend, FollowerBatch, Marker, MethodInfo, MethodKind, Players, StepOrder, Turn};
use crate::train::Optimizer;
use crate::train::knob::{Default, InId, Kind, Knob, Value};

/// The follower's learning rate.
pub static LR_FAIR: Knob = Knob {
    name: "lr_fair",
    kind: Kind::RATE,
    default: Default::Value(Value::Number(1e-5)),
    id: InId::Template,
    about: "the fairness player's (the follower's) learning rate",
};

/// Which player steps first in an iteration: the paper's leader.
pub static STEP_ORDER: Knob = Knob {
    name: "step_order",
    kind: Kind::Choice(StepOrder::NAMES),
    default: Default::Value(Value::Choice(StepOrder::LeaderFirst.as_str())),
    id: InId::Template,
    about: "which player steps first in an iteration: leader-first or follower-first",
};

/// Whose minibatch the follower steps on: the paper's own one.
pub static FOLLOWER_BATCH: Knob = Knob {
    name: "follower_batch",
    kind: Kind::Choice(FollowerBatch::NAMES),
    default: Default::Value(Value::Choice(FollowerBatch::Separate.as_str())),
    id: InId::Template,
    about: "the follower's minibatch: the leader's (same) or one of its own (separate)",
};

pub static FOLLOWER_STEPS: Knob = Knob {
    name: "follower_steps",
    kind: Kind::Count {
        low: 1,
        high: 10_000,
    },
    default: Default::Value(Value::Count(1)),
    id: InId::Template,
    about: "follower steps per leader step",
};

/// The follower's optimizer: with `sgd` its step is `lr_fair · η · ∇θf fairness loss`, so η
/// acts as in the paper's theory, which Adam's rescaling undoes.
pub static OPTIMIZER_FAIR: Knob = Knob {
    name: "optimizer_fair",
    kind: Kind::Choice(Optimizer::NAMES),
    default: Default::Value(Value::Choice(Optimizer::Adam.as_str())),
    id: InId::Template,
    about: "the follower's optimizer: adam or sgd",
};

pub const FAIRBINN: MethodInfo = MethodInfo {
    name: "fairbinn",
    colour: (214, 39, 40),
    marker: Marker::Triangle,
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
    bilevel(players, turn, false);
}

/// One iteration of a bilevel rule. With `authors_leak`, the leader's gradient also holds
/// ∇θa(η·fairness loss) on the leader's batch, taken with the fairness block as it was at the
/// start of the iteration (the authors' code zeroes gradients once per iteration).
pub(super) fn bilevel(players: &mut dyn Players, turn: &Turn, authors_leak: bool) {
    let rates = turn.rates;
    if turn.settings.step_order() == StepOrder::LeaderFirst {
        // The block is still as it was at the start: the leak is the leader's own pass.
        players.leader_step(turn.leader, rates.accuracy, authors_leak, false);
        for rows in turn.followers {
            players.follower_step(rows, rates.fairness, false);
        }
        return;
    }
    // Follower first: the leak is kept before the block moves. When the first follower step
    // is on the leader's batch, it comes from that step's own pass.
    let from_follower = authors_leak
        && turn.settings.follower_batch() == FollowerBatch::Same
        && !turn.followers.is_empty();
    let mut kept = authors_leak && !from_follower && players.keep_leak(turn.leader);
    for (j, rows) in turn.followers.iter().enumerate() {
        kept |= players.follower_step(rows, rates.fairness, from_follower && j == 0);
    }
    players.leader_step(turn.leader, rates.accuracy, false, kept);
}

#[cfg(test)]
mod tests {
    use super::super::Method;
    use super::super::tests::calls;
    use super::*;

    #[test]
    fn algorithm_1_steps_each_player_on_its_own_loss_in_the_order_set() {
        use FollowerBatch::*;
        use StepOrder::*;
        assert_eq!(
            calls(Method::FairBiNN, LeaderFirst, Separate),
            [
                "leader [0, 1] fairness=false kept=false",
                "follower [2, 3] keep=false",
                "follower [4, 5] keep=false"
            ]
        );
        assert_eq!(
            calls(Method::FairBiNN, FollowerFirst, Same),
            [
                "follower [0, 1] keep=false",
                "follower [0, 1] keep=false",
                "leader [0, 1] fairness=false kept=false"
            ]
        );
    }

    #[test]
    fn the_authors_rule_takes_the_leak_before_the_block_moves() {
        use FollowerBatch::*;
        use StepOrder::*;
        let reference = Method::FairBiNNReference;
        // Leader first: the leader's own pass, through the block as it is.
        assert_eq!(
            calls(reference, LeaderFirst, Separate),
            [
                "leader [0, 1] fairness=true kept=false",
                "follower [2, 3] keep=false",
                "follower [4, 5] keep=false"
            ]
        );
        // The authors' defaults: from the first follower pass, on the leader's batch.
        assert_eq!(
            calls(reference, FollowerFirst, Same),
            [
                "follower [0, 1] keep=true",
                "follower [0, 1] keep=false",
                "leader [0, 1] fairness=false kept=true"
            ]
        );
        // Followers on batches of their own: a pass of its own on the leader's batch, first.
        assert_eq!(
            calls(reference, FollowerFirst, Separate),
            [
                "keep [0, 1]",
                "follower [2, 3] keep=false",
                "follower [4, 5] keep=false",
                "leader [0, 1] fairness=false kept=true"
            ]
        );
    }
}
