//! `gbdt`: gradient-boosted trees on the training rows (train/boosted_trees.rs), the
//! unconstrained tabular baseline a reviewer expects; no network and no epochs: one fit is its
//! one point. Its settings are read by `threshold` on it (`base: gbdt`) and by `reductions`
//! with `learner: gbdt` too.

use super::{Backend, Marker, MethodInfo, MethodKind, Players, Turn};
use crate::train::knob::{Default, InId, Kind, Knob, Value};

pub static ROUNDS: Knob = Knob {
    name: "rounds",
    kind: Kind::Count {
        low: 1,
        high: 100_000,
    },
    default: Default::Value(Value::Count(500)),
    id: InId::WhenRead,
    about: "boosting rounds (trees), at most",
};

pub static MAX_DEPTH: Knob = Knob {
    name: "max_depth",
    kind: Kind::Count { low: 1, high: 30 },
    default: Default::Value(Value::Count(5)),
    id: InId::WhenRead,
    about: "the depth of each tree",
};

pub static LEARNING_RATE: Knob = Knob {
    name: "learning_rate",
    kind: Kind::Number {
        low: 0.0,
        low_open: true,
        high: 1.0,
        high_open: false,
        what: "a shrinkage in (0, 1]",
    },
    default: Default::Value(Value::Number(0.1)),
    id: InId::WhenRead,
    about: "each tree's shrinkage",
};

pub static EARLY_STOPPING: Knob = Knob {
    name: "early_stopping",
    kind: Kind::Count {
        low: 0,
        high: 100_000,
    },
    default: Default::Value(Value::Count(50)),
    id: InId::WhenRead,
    about: "rounds without a better validation log loss that stop the fit (0: never; \
            not used inside reductions)",
};

pub static SUBSAMPLE: Knob = Knob {
    name: "subsample",
    kind: Kind::Number {
        low: 0.0,
        low_open: true,
        high: 1.0,
        high_open: false,
        what: "a share of rows in (0, 1]",
    },
    default: Default::Value(Value::Number(1.0)),
    id: InId::WhenRead,
    about: "the share of training rows each tree sees (below 1, the seed draws them)",
};

pub const KNOBS: &[&Knob] = &[
    &ROUNDS,
    &MAX_DEPTH,
    &LEARNING_RATE,
    &EARLY_STOPPING,
    &SUBSAMPLE,
];

pub const GBDT: MethodInfo = MethodInfo {
    name: "gbdt",
    colour: (44, 160, 44),
    marker: Marker::Cross,
    kind: MethodKind::FittedWhole,
    knobs: KNOBS,
    // Computed by its own code: the backend setting does not apply.
    engines: &[Backend::Fused],
    no_checkpoint: Some("it is fitted whole, without epochs"),
    step,
};

fn step(_: &mut dyn Players, _: &Turn) {
    unreachable!("gbdt is fitted whole, not stepped (train::train_leg)");
}
