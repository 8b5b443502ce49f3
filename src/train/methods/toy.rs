//! `toy`, registered in test builds only: what adding a method takes. This file, and the
//! method's line in the registry (mod.rs). It is `erm` taking two steps per minibatch, on the
//! fused engine only.

use super::{Backend, Marker, MethodInfo, Players, Turn};

pub const TOY: MethodInfo = MethodInfo {
    name: "toy",
    colour: (0, 0, 0),
    marker: Marker::Circle,
    reads_eta: false,
    bilevel: None,
    engines: &[Backend::Fused],
    step,
};

fn step(players: &mut dyn Players, turn: &Turn) {
    for _ in 0..2 {
        players.joint_step(turn.leader, turn.rates.accuracy, false);
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config;
    use crate::results::Settings;
    use crate::train::{Method, train};

    /// Registered in one file and one registry line, the method is read from experiment
    /// files, blanked where it reads nothing, trained, written, and refused on an engine it
    /// lacks.
    #[test]
    fn a_method_added_in_one_file_runs_from_an_experiment_file() {
        let text = "name: t\ndataset: {name: adult, max_rows: 300}\n\
                    train: {epochs: 2, eta: 5, batch_size: 50}\nsweep: {method: [erm, toy]}\n";
        let file = config::parse(text, Path::new("t.yaml"), None).unwrap();
        let plan = crate::plan::plan(&file, &[]);
        assert_eq!(plan.trials.len(), 2);
        let (erm, toy) = (&plan.trials[0].spec, &plan.trials[1].spec);
        assert_eq!(toy.train.method, Method::Toy);
        assert_eq!(toy.train.eta, 0.0, "toy reads no η");
        let settings = Settings::of(toy, 101);
        assert_eq!(settings.eta, None);
        assert_eq!(settings.cells()[0], ("method".into(), "toy".into()));

        let data = crate::data::load(&file.dataset).unwrap();
        let (erm, toy) = (
            train(&erm.architecture, &erm.train, &data, &mut |_, _| {}),
            train(&toy.architecture, &toy.train, &data, &mut |_, _| {}),
        );
        assert_eq!((erm.history.len(), toy.history.len()), (2, 2));
        // Same start, twice the steps per batch: another network.
        let bce = |t: &crate::train::Training| t.history[1].validation.bce;
        assert_ne!(bce(&erm), bce(&toy));

        let flex = config::parse(
            "name: t\ndataset: {name: adult}\ntrain: {method: toy, backend: flex}\n",
            Path::new("t.yaml"),
            None,
        );
        let message = format!("{:#}", flex.err().unwrap());
        assert!(
            message.contains("train.backend: toy has no flex engine; it runs on fused"),
            "{message}"
        );
    }
}
