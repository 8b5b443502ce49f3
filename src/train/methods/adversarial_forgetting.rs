//! `adversarial-forgetting`: adversarial forgetting (Jaiswal et al. 2020), a forget-gate mask
//! on z against a discriminator, as the FCRL benchmark trains it
//! (train/representation/forgetting.rs).

use super::fcrl::{SHARED, representation_step};
use super::{Backend, Marker, MethodInfo, MethodKind};
use crate::train::knob::{Default, InId, Kind, Knob, Value};

/// The benchmark sweeps δ over 10 values from 0.001 to 50, ρ and λ over {0.001, 0.01, 0.1}.
pub static DELTA: Knob = Knob {
    name: "delta",
    kind: Kind::at_least_zero("a weight ≥ 0"),
    default: Default::Value(Value::Number(1.0)),
    id: InId::WhenRead,
    about: "the weight of the discriminator's loss on shuffled groups (its fairness knob)",
};

pub static RHO: Knob = Knob {
    name: "rho",
    kind: Kind::at_least_zero("a weight ≥ 0"),
    default: Default::Value(Value::Number(0.01)),
    id: InId::WhenRead,
    about: "the weight of the reconstruction of x from z",
};

pub static LAMBDA: Knob = Knob {
    default: Default::Value(Value::Number(0.01)),
    ..super::fcrl::LAMBDA
};

pub static UPDATE_EVERY: Knob = Knob {
    name: "update_every",
    kind: Kind::Count { low: 1, high: 1000 },
    default: Default::Value(Value::Count(11)),
    id: InId::WhenRead,
    about: "one step of the encoder, mask, decoder and predictor every this many iterations, \
            the discriminator's the others",
};

pub const ADVERSARIAL_FORGETTING: MethodInfo = MethodInfo {
    name: "adversarial-forgetting",
    colour: (213, 94, 0),
    marker: Marker::Triangle,
    kind: MethodKind::Representation,
    knobs: &[
        &DELTA,
        &RHO,
        &LAMBDA,
        &UPDATE_EVERY,
        SHARED[0],
        SHARED[1],
        SHARED[2],
    ],
    engines: &[Backend::Fused],
    no_checkpoint: Some("a representation learner's state is not saved with the checkpoint"),
    step: representation_step,
};
