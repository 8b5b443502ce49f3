//! `cvib`: the conditional variational information bottleneck (Moyer et al. 2018), the
//! supervised variant of the FCRL benchmark (train/representation/cvib.rs).

use super::fcrl::{SHARED, representation_step};
use super::{Backend, Marker, MethodInfo, MethodKind};
use crate::train::knob::{Default, Knob, Value};

/// The benchmark sweeps λ in [0.01, 1] with β in {0.001, 0.01, 0.1}.
pub static LAMBDA: Knob = Knob {
    default: Default::Value(Value::Number(0.1)),
    ..super::fcrl::LAMBDA
};

pub static BETA: Knob = Knob {
    default: Default::Value(Value::Number(0.01)),
    ..super::maxent_arl::BETA
};

pub const CVIB: MethodInfo = MethodInfo {
    name: "cvib",
    colour: (204, 121, 167),
    marker: Marker::InvertedTriangle,
    kind: MethodKind::Representation,
    knobs: &[&LAMBDA, &BETA, SHARED[0], SHARED[1], SHARED[2]],
    engines: &[Backend::Fused],
    no_checkpoint: Some("a representation learner's state is not saved with the checkpoint"),
    step: representation_step,
};
