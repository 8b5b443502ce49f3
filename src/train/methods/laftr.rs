//! `laftr`: learning adversarially fair and transferable representations (Madras et al.
//! 2018), the demographic-parity variant of the original code (train/representation/laftr.rs).

use super::fcrl::{ENCODER_WIDTH, WEIGHT_DECAY, Z_SIZE, representation_step};
use super::{Backend, Marker, MethodInfo, MethodKind};
use crate::train::knob::{Default, InId, Kind, Knob, Value};

pub static FAIR_COEFF: Knob = Knob {
    name: "fair_coeff",
    kind: Kind::at_least_zero("a weight ≥ 0"),
    default: Default::Value(Value::Number(1.0)),
    id: InId::WhenRead,
    about: "LAFTR's γ: the weight of the auditor's loss the encoder pushes up",
};

/// The original's encoder has 100 hidden units.
pub static LAFTR_WIDTH: Knob = Knob {
    default: Default::Value(Value::Count(100)),
    ..ENCODER_WIDTH
};

/// The original has no weight decay.
pub static NO_DECAY: Knob = Knob {
    default: Default::Value(Value::Number(0.0)),
    ..WEIGHT_DECAY
};

pub const LAFTR: MethodInfo = MethodInfo {
    name: "laftr",
    colour: (100, 60, 20),
    marker: Marker::Circle,
    kind: MethodKind::Representation,
    knobs: &[&FAIR_COEFF, &Z_SIZE, &LAFTR_WIDTH, &NO_DECAY],
    engines: &[Backend::Fused],
    no_checkpoint: Some("a representation learner's state is not saved with the checkpoint"),
    step: representation_step,
};
