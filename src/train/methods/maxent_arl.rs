//! `maxent-arl`: maximum-entropy adversarial representation learning (Roy & Boddeti 2019),
//! as the FCRL benchmark trains it (train/representation/maxent_arl.rs).

use super::fcrl::{SHARED, representation_step};
use super::{Backend, Marker, MethodInfo, MethodKind};
use crate::train::knob::{Default, InId, Kind, Knob, Value};

pub static BETA: Knob = Knob {
    name: "beta",
    kind: Kind::at_least_zero("a weight ≥ 0"),
    default: Default::Value(Value::Number(1.0)),
    id: InId::WhenRead,
    about: "maxent-arl: the weight of the discriminator's cross-entropy to uniform; cvib: the \
            weight of the conditional-marginal divergence",
};

pub const MAXENT_ARL: MethodInfo = MethodInfo {
    name: "maxent-arl",
    colour: (86, 180, 233),
    marker: Marker::Square,
    kind: MethodKind::Representation,
    knobs: &[&BETA, SHARED[0], SHARED[1], SHARED[2]],
    engines: &[Backend::Fused],
    no_checkpoint: Some("a representation learner's state is not saved with the checkpoint"),
    step: representation_step,
};
