//! `erm`: BCE only, one Adam over every layer; the unconstrained reference.

use super::{Backend, Marker, MethodInfo, MethodKind, Players, Turn};

pub const ERM: MethodInfo = MethodInfo {
    name: "erm",
    colour: (90, 90, 90),
    marker: Marker::Square,
    kind: MethodKind::Stepped,
    knobs: &[],
    engines: Backend::ALL,
    no_checkpoint: None,
    step,
};

fn step(players: &mut dyn Players, turn: &Turn) {
    players.joint_step(turn.leader, turn.rates.accuracy, false);
}
