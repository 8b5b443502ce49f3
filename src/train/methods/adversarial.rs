//! `adversarial`: adversarial debiasing (Zhang, Lemoine & Mitchell 2018) as fairlearn's
//! `AdversarialFairnessClassifier` trains it. The network (the predictor) and an adversary
//! that predicts the group from the predicted probability (and the label, for
//! `constraint: eo`) each take a step per minibatch: the predictor's BCE gradient, per
//! parameter tensor, loses its projection on the adversary's loss gradient and takes −α times
//! it; the adversary descends its own loss with `lr_adv`. The fused engine computes it
//! (fused/adversary.rs).

use super::{Backend, Marker, MethodInfo, Players, Turn};

pub const ADVERSARIAL: MethodInfo = MethodInfo {
    name: "adversarial",
    colour: (255, 127, 14),
    marker: Marker::Hexagon,
    reads_eta: false,
    bilevel: None,
    engines: &[Backend::Fused],
    step,
};

fn step(players: &mut dyn Players, turn: &Turn) {
    let rates = turn.rates;
    players.adversarial_step(turn.leader, rates.accuracy, rates.fairness, turn.alpha);
}
