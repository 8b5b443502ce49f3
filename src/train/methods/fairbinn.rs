//! `fairbinn`, Algorithm 1 of the paper: per iteration, a leader step on BCE that updates θa
//! only (the fairness block held fixed) and a follower step on η·(fairness loss) that updates
//! θf only (θa held fixed), each player with its own Adam. The order of the two steps, the
//! follower's minibatch and its number of steps are settings; the paper's are the defaults.
//!
//! [`bilevel`] also serves `fairbinn-reference`, the authors' released rule, whose leader
//! also descends the fairness loss (see fairbinn_reference.rs).

use super::{Backend, FollowerBatch, Marker, MethodInfo, Players, StepOrder, Turn, Turns};

pub const FAIRBINN: MethodInfo = MethodInfo {
    name: "fairbinn",
    colour: (214, 39, 40),
    marker: Marker::Triangle,
    reads_eta: true,
    bilevel: Some(Turns {
        order: StepOrder::LeaderFirst,
        follower_batch: FollowerBatch::Separate,
    }),
    engines: Backend::ALL,
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
    if turn.order == StepOrder::LeaderFirst {
        // The block is still as it was at the start: the leak is the leader's own pass.
        players.leader_step(turn.leader, rates.accuracy, authors_leak, false);
        for rows in turn.followers {
            players.follower_step(rows, rates.fairness, false);
        }
        return;
    }
    // Follower first: the leak is kept before the block moves. When the first follower step
    // is on the leader's batch, it comes from that step's own pass.
    let from_follower =
        authors_leak && turn.follower_batch == FollowerBatch::Same && !turn.followers.is_empty();
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
