//! `toy`, registered in test builds only: what adding a method takes. This file, and the
//! method's line in the registry (mod.rs). It is `erm` taking `repeats` steps per minibatch,
//! a setting of its own, on the fused engine only.

use super::{Backend, Marker, MethodInfo, MethodKind, Players, Turn};
use crate::train::knob::{Default, InId, Kind, Knob, Value};

/// Steps per minibatch.
pub static REPEATS: Knob = Knob {
    name: "repeats",
    kind: Kind::Count { low: 1, high: 10 },
    default: Default::Value(Value::Count(2)),
    id: InId::WhenRead,
    about: "steps per minibatch",
};

pub const TOY: MethodInfo = MethodInfo {
    name: "toy",
    colour: (0, 0, 0),
    marker: Marker::Circle,
    kind: MethodKind::Stepped,
    knobs: &[&REPEATS],
    engines: &[Backend::Fused],
    no_checkpoint: None,
    step,
};

fn step(players: &mut dyn Players, turn: &Turn) {
    let repeats = turn
        .settings
        .knobs
        .count("repeats")
        .expect("toy reads repeats");
    for _ in 0..repeats {
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
    /// files with its own setting (checked, defaulted, in the trial id and a CSV column of
    /// its own, blank for other methods), trained, and refused on an engine it lacks.
    #[test]
    fn a_method_added_in_one_file_runs_from_an_experiment_file() {
        let text = "name: t\ndataset: {name: adult, max_rows: 300}\n\
                    train: {epochs: 2, eta: 5, batch_size: 50}\n\
                    sweep: {method: [erm, toy], repeats: [2, 3]}\n";
        let file = config::parse(text, Path::new("t.yaml"), None).unwrap();
        let plan = crate::plan::plan(&file, &[]);
        // erm ignores `repeats`: its two points are one trial.
        assert_eq!(plan.trials.len(), 3);
        let (erm, toy) = (&plan.trials[0].spec, &plan.trials[1].spec);
        assert_eq!(toy.train.method, Method::Toy);
        assert_eq!(toy.train.eta(), 0.0, "toy reads no η");
        assert_eq!(toy.train.knobs.count("repeats"), Some(2));
        assert_eq!(erm.train.knobs.get("repeats"), None);
        assert!(plan.trials[1].id != plan.trials[2].id);
        let settings = Settings::of(toy, 101);
        assert_eq!(settings.eta, None);
        let cells = settings.cells();
        assert_eq!(cells[0], ("method".into(), "toy".into()));
        assert_eq!(cells.last().unwrap(), &("repeats".into(), "2".into()));
        let erm_cells = Settings::of(erm, 101).cells();
        assert_eq!(
            erm_cells.last().unwrap(),
            &("repeats".into(), String::new())
        );

        let data = crate::data::load(&file.dataset).unwrap();
        let (erm, toy) = (
            train(&erm.architecture, &erm.train, &data, &mut |_, _| {}),
            train(&toy.architecture, &toy.train, &data, &mut |_, _| {}),
        );
        assert_eq!((erm.history.len(), toy.history.len()), (2, 2));
        // Same start, twice the steps per batch: another network.
        let bce = |t: &crate::train::Training| t.history[1].validation.bce;
        assert_ne!(bce(&erm), bce(&toy));

        let message = |text: &str| {
            let parsed = config::parse(text, Path::new("t.yaml"), None);
            format!("{:#}", parsed.err().unwrap())
        };
        let flex =
            message("name: t\ndataset: {name: adult}\ntrain: {method: toy, backend: flex}\n");
        assert!(
            flex.contains("train.backend: toy has no flex engine; it runs on fused"),
            "{flex}"
        );
        let bad = message("name: t\ndataset: {name: adult}\ntrain: {method: toy, repeats: 11}\n");
        assert!(
            bad.contains("train.repeats: expected at most 10, found 11"),
            "{bad}"
        );
    }
}
