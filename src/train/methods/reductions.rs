//! `reductions`: the exponentiated-gradient reduction over a cost-sensitive logistic
//! regression (train/exponentiated_gradient/). It has no network and no epochs: one fit on
//! the training rows is its one point. `reductions` says yes where the randomized mixture's
//! probability of a positive decision is above ½; `reductions-randomized` reports the
//! mixture's expected metrics.

use super::threshold::CONSTRAINT;
use super::{Backend, Marker, MethodInfo, MethodKind, Players, Turn};
use crate::train::knob::{Default, InId, Kind, Knob, Value};

/// How far each group's rate may be from everyone's (fairlearn's 0.01).
pub static DIFFERENCE_BOUND: Knob = Knob {
    name: "difference_bound",
    kind: Kind::Number {
        low: 0.0,
        low_open: true,
        high: 1.0,
        high_open: true,
        what: "a gap in (0, 1)",
    },
    default: Default::Value(Value::Number(0.01)),
    id: InId::WhenRead,
    about: "how far each group's rate may be from everyone's",
};

const KNOBS: &[&Knob] = &[&CONSTRAINT, &DIFFERENCE_BOUND];

const fn info(name: &'static str, colour: (u8, u8, u8)) -> MethodInfo {
    MethodInfo {
        name,
        colour,
        marker: Marker::Star,
        kind: MethodKind::FittedWhole,
        knobs: KNOBS,
        // Computed by its own code: the backend setting does not apply.
        engines: &[Backend::Fused],
        no_checkpoint: Some("it is fitted whole, without epochs"),
        step,
    }
}

pub const REDUCTIONS: MethodInfo = info("reductions", (148, 103, 189));
pub const REDUCTIONS_RANDOMIZED: MethodInfo = info("reductions-randomized", (197, 176, 213));

fn step(_: &mut dyn Players, _: &Turn) {
    unreachable!("reductions is fitted whole, not stepped (train::train_leg)");
}
