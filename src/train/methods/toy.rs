//! `toy`, registered in test builds only: what adding a method takes. This file, and the
//! method's line in the registry (mod.rs). It is `erm` taking two steps per minibatch, on the
//! fused engine only.

use super::{Backend, MethodInfo, Players, Turn};

pub const TOY: MethodInfo = MethodInfo {
    name: "toy",
    colour: (0, 0, 0),
    reads_eta: false,
    bilevel: None,
    engines: &[Backend::Fused],
    step,
};

fn step(players: &mut dyn Players, turn: &Turn) {
    for _ in 0..2 {
        players.joint_step(turn.leader, turn.rates.accuracy, false);
    }
}
