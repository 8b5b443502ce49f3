//! `fcrl`: fair representations by contrastive estimation (Gupta, Ferber, Dilkina & Ver Steeg
//! 2021), the benchmark whose Adult and Health comparison the FairBiNN paper reuses. A
//! representation learner (train/representation/fcrl.rs): its own predictor of y from [z, a]
//! gives the points a sweep selects; `downstream:` evaluates z the benchmark's way. Also the
//! settings every representation learner reads: `z_size`, `encoder_width`, `weight_decay`.

use super::{Backend, Marker, MethodInfo, MethodKind, Players, Turn};
use crate::train::knob::{Default, InId, Kind, Knob, Value};

pub static Z_SIZE: Knob = Knob {
    name: "z_size",
    kind: Kind::Count {
        low: 1,
        high: 10_000,
    },
    default: Default::Value(Value::Count(8)),
    id: InId::WhenRead,
    about: "the representation's width (the FCRL benchmark's 8)",
};

pub static ENCODER_WIDTH: Knob = Knob {
    name: "encoder_width",
    kind: Kind::Count {
        low: 1,
        high: 100_000,
    },
    default: Default::Value(Value::Count(50)),
    id: InId::WhenRead,
    about: "the encoder's hidden units (the benchmark: 50 on Adult, 100 on Health; LAFTR's 100)",
};

pub static WEIGHT_DECAY: Knob = Knob {
    name: "weight_decay",
    kind: Kind::at_least_zero("a weight ≥ 0"),
    default: Default::Value(Value::Number(1e-4)),
    id: InId::WhenRead,
    about: "Adam's L2 weight decay, PyTorch's (added to the gradient)",
};

/// The representation learners' common settings.
pub const SHARED: [&Knob; 3] = [&Z_SIZE, &ENCODER_WIDTH, &WEIGHT_DECAY];

pub static LAMBDA: Knob = Knob {
    name: "lambda",
    kind: Kind::at_least_zero("a weight ≥ 0"),
    default: Default::Value(Value::Number(1.0)),
    id: InId::WhenRead,
    about: "λ: fcrl's weight of its mutual-information bound (its KL weight β is λ/2); cvib's \
            of reconstruction and divergence; adversarial-forgetting's of the mask's push to 0 \
            or 1",
};

pub const FCRL: MethodInfo = MethodInfo {
    name: "fcrl",
    colour: (0, 110, 120),
    marker: Marker::Diamond,
    kind: MethodKind::Representation,
    knobs: &[&LAMBDA, &Z_SIZE, &ENCODER_WIDTH, &WEIGHT_DECAY],
    // Computed by its own code on burn's Flex backend: the backend setting does not apply.
    engines: &[Backend::Fused],
    no_checkpoint: Some("a representation learner's state is not saved with the checkpoint"),
    step: representation_step,
};

/// The `step` of every representation learner: they train by their own loop.
pub fn representation_step(_: &mut dyn Players, _: &Turn) {
    unreachable!("a representation learner trains by its own loop (train::representation)");
}
