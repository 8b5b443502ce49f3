//! `lagrangian`: one Adam over every layer on BCE + η·fairness loss (the authors' "reg"
//! mode). With η = 0 it is `erm`.

use super::{Backend, Marker, MethodInfo, Players, Turn};

pub const LAGRANGIAN: MethodInfo = MethodInfo {
    name: "lagrangian",
    colour: (31, 119, 180),
    marker: Marker::Circle,
    reads_eta: true,
    bilevel: None,
    engines: Backend::ALL,
    step,
};

fn step(players: &mut dyn Players, turn: &Turn) {
    players.joint_step(turn.leader, turn.rates.accuracy, turn.eta > 0.0);
}
