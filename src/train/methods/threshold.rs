//! `threshold`: group-specific decision thresholds fitted after every epoch on a base
//! network's validation scores (or once, on boosted trees') (train/threshold_optimizer.rs). The network trained is the base's, by
//! the base's rule, so a `threshold` trial whose base is in the same sweep reads that
//! trial's network instead of training one (sweep/execute.rs). Each base and rule is a method
//! of its own, named `threshold-<base>` and `threshold-<base>-randomized`.

use super::{Base, Marker, MethodInfo, MethodKind};
use crate::train::knob::{Default, InId, Kind, Knob, Value};
use crate::train::threshold_optimizer::Constraint;

/// The gaps the cuts close (also `reductions`' and `adversarial`'s).
pub static CONSTRAINT: Knob = Knob {
    name: "constraint",
    kind: Kind::Choice(Constraint::NAMES),
    default: Default::Value(Value::Choice(Constraint::DemographicParity.as_str())),
    id: InId::WhenRead,
    about: "the gaps it closes: dp (demographic parity: positive rates), eo (equalized odds: \
            true- and false-positive rates) or true_positive_rate_parity (equal opportunity: \
            true-positive rates); fairlearn's demographic_parity and equalized_odds are read too",
};

/// The largest gap in the constrained rates the cuts may leave.
pub static TOLERANCE: Knob = Knob {
    name: "tolerance",
    kind: Kind::Number {
        low: 0.0,
        low_open: false,
        high: 1.0,
        high_open: false,
        what: "a gap in rates in [0, 1]",
    },
    default: Default::Value(Value::Number(0.0)),
    id: InId::WhenRead,
    about: "the largest gap in the constrained rates the cuts may leave (not given: 0, \
            0.0025, 0.005, 0.01, 0.02 and 0.05 are swept)",
};

/// Its own settings; its base's come before them (`Method::knobs`).
const KNOBS: &[&Knob] = &[&CONSTRAINT, &TOLERANCE];

/// Post-processing of a base's network, under the name and colour of its thresholds.
const fn on(name: &'static str, base: &MethodInfo, colour: (u8, u8, u8)) -> MethodInfo {
    MethodInfo {
        name,
        colour,
        marker: Marker::Plus,
        kind: MethodKind::PostProcessing,
        knobs: KNOBS,
        ..*base
    }
}

/// Deterministic then randomized, per base in [`Base::ALL`]'s order.
static INFOS: [[MethodInfo; 2]; 6] = [
    [
        on("threshold-erm", &super::erm::ERM, (140, 86, 75)),
        on(
            "threshold-erm-randomized",
            &super::erm::ERM,
            (196, 156, 148),
        ),
    ],
    [
        on(
            "threshold-lagrangian",
            &super::lagrangian::LAGRANGIAN,
            (23, 100, 120),
        ),
        on(
            "threshold-lagrangian-randomized",
            &super::lagrangian::LAGRANGIAN,
            (120, 180, 200),
        ),
    ],
    [
        on(
            "threshold-fairbinn",
            &super::fairbinn::FAIRBINN,
            (227, 119, 194),
        ),
        on(
            "threshold-fairbinn-randomized",
            &super::fairbinn::FAIRBINN,
            (247, 182, 210),
        ),
    ],
    [
        on(
            "threshold-fairbinn-reference",
            &super::fairbinn_reference::FAIRBINN_REFERENCE,
            (188, 189, 34),
        ),
        on(
            "threshold-fairbinn-reference-randomized",
            &super::fairbinn_reference::FAIRBINN_REFERENCE,
            (219, 219, 141),
        ),
    ],
    [
        on(
            "threshold-stackelberg",
            &super::stackelberg::STACKELBERG,
            (57, 59, 121),
        ),
        on(
            "threshold-stackelberg-randomized",
            &super::stackelberg::STACKELBERG,
            (156, 158, 222),
        ),
    ],
    [
        on("threshold-gbdt", &super::gbdt::GBDT, (152, 223, 138)),
        on(
            "threshold-gbdt-randomized",
            &super::gbdt::GBDT,
            (199, 233, 192),
        ),
    ],
];

pub fn info(base: Base, randomized: bool) -> &'static MethodInfo {
    let b = Base::ALL
        .iter()
        .position(|&b| b == base)
        .expect("every base is listed");
    &INFOS[b][usize::from(randomized)]
}
