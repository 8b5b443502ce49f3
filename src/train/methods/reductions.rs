//! `reductions`: the exponentiated-gradient reduction over a cost-sensitive logistic
//! regression (train/exponentiated_gradient/). It has no network and no epochs: one fit on the training
//! rows is its one point. `reductions` says yes where the randomized mixture's probability
//! of a positive decision is above ½; `reductions-randomized` reports the mixture's expected
//! metrics.

use super::{Backend, Marker, MethodInfo, Players, Turn};

const fn info(name: &'static str, colour: (u8, u8, u8)) -> MethodInfo {
    MethodInfo {
        name,
        colour,
        marker: Marker::Star,
        reads_eta: false,
        bilevel: None,
        // Computed by its own code: the backend setting does not apply.
        engines: &[Backend::Fused],
        step,
    }
}

pub const REDUCTIONS: MethodInfo = info("reductions", (148, 103, 189));
pub const REDUCTIONS_RANDOMIZED: MethodInfo = info("reductions-randomized", (197, 176, 213));

fn step(_: &mut dyn Players, _: &Turn) {
    unreachable!("reductions is fitted whole, not stepped (train::train_leg)");
}
