//! `lagrangian`: one Adam over every layer on BCE + η·fairness loss (the authors' "reg"
//! mode). With η = 0 it is `erm`. Its two settings, η and the fairness loss, are every
//! fairness-weighted method's (`fairbinn`, `fairbinn-reference`, `stackelberg`).

use super::{Backend, Marker, MethodInfo, MethodKind, Players, Turn};
use crate::train::FairnessLoss;
use crate::train::knob::{Default, InId, Kind, Knob, Value};

/// η, the weight of the fairness loss.
pub static ETA: Knob = Knob {
    name: "eta",
    kind: Kind::at_least_zero("a number ≥ 0"),
    default: Default::Value(Value::Number(100.0)),
    id: InId::Template,
    about: "η, the weight of the fairness loss",
};

/// Which fairness loss η weighs.
pub static FAIRNESS_LOSS: Knob = Knob {
    name: "fairness_loss",
    kind: Kind::Choice(FairnessLoss::NAMES),
    default: Default::Value(Value::Choice(FairnessLoss::DpSquared.as_str())),
    id: InId::Template,
    about: "the fairness loss η weighs: dp-squared, dp-abs, dp-reference, eo (equalized odds, also \
            spelled equalized-odds) or equal-opportunity",
};

pub const LAGRANGIAN: MethodInfo = MethodInfo {
    name: "lagrangian",
    colour: (31, 119, 180),
    marker: Marker::Circle,
    kind: MethodKind::Stepped,
    knobs: &[&ETA, &FAIRNESS_LOSS],
    engines: Backend::ALL,
    no_checkpoint: None,
    step,
};

fn step(players: &mut dyn Players, turn: &Turn) {
    players.joint_step(turn.leader, turn.rates.accuracy, turn.settings.eta() > 0.0);
}
