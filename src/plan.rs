//! Sweep planning: the experiment's grid points (expanded and checked by `config`) become
//! trials, each with a stable id derived from its resolved configuration, so reruns and
//! shards agree on which trial is which whatever the order of the file.

use std::collections::HashSet;
use std::fmt;

use anyhow::{Result, bail};

use crate::config::ExperimentFile;
use crate::data::spec::SplitProtocol;
use crate::data::{DataFile, Dataset, DatasetSpec, catalogue};
use crate::results::TrialHead;
use crate::train::TrialSpec;
use crate::train::knob::InId;
use crate::train::{Backend, FollowerBatch, Optimizer, StepOrder};

#[derive(Debug, Clone, PartialEq)]
pub struct Trial {
    /// Hash of everything that determines the trial's numbers; the same on every run.
    pub id: String,
    /// The same hash without the seed: the trial's configuration, shared by its seeds.
    pub config_id: String,
    pub spec: TrialSpec,
}

impl Trial {
    /// Its row's first columns in `trials.csv`.
    pub fn head(&self) -> TrialHead {
        TrialHead {
            trial_id: self.id.clone(),
            config_id: self.config_id.clone(),
            seed: self.spec.train.seed,
        }
    }
}

#[derive(Debug)]
pub struct Plan {
    pub trials: Vec<Trial>,
    /// Grid points before those that resolve to the same trial (say `erm` at two values of
    /// η, which it ignores) were merged.
    pub grid_points: usize,
}

/// A deterministic slice of a plan: trial k (from 0, in plan order) belongs to shard
/// `k mod count + 1`. Round-robin keeps shards even when the plan is sorted by cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// From 1, as Slurm's array task ids.
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// Whether the trial at `position` (from 0) of a plan is this shard's: every n-th.
    pub fn holds(&self, position: usize) -> bool {
        position % self.count + 1 == self.index
    }
}

impl std::str::FromStr for Shard {
    type Err = String;

    /// `2/4`
    fn from_str(text: &str) -> Result<Self, String> {
        let parsed = text
            .split_once('/')
            .and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
        match parsed {
            Some((index, count)) if count >= 1 && (1..=count).contains(&index) => {
                Ok(Self { index, count })
            }
            _ => Err(format!(
                "expected i/n with 1 ≤ i ≤ n, like 2/4, found {text:?}"
            )),
        }
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The trials of `file`, whose data was read from `data` (their checksums are part of what
/// makes a trial the same trial; see [`data_identity`]).
pub fn plan(file: &ExperimentFile, data: &[DataFile]) -> Plan {
    let data_identity = data_identity(&file.dataset, data);
    let mut trials: Vec<Trial> = Vec::new();
    let mut seen = HashSet::new();
    for spec in &file.points {
        let id = trial_id(&file.dataset, &data_identity, spec);
        if seen.insert(id.clone()) {
            trials.push(Trial {
                id,
                config_id: config_id(&file.dataset, &data_identity, spec),
                spec: spec.clone(),
            });
        }
    }
    Plan {
        trials,
        grid_points: file.points.len(),
    }
}

/// What the data read adds to a trial's identity: nothing for a built-in data set read from
/// a copy whose checksum the catalogue knows (its numbers are fixed, and its ids stay those of
/// earlier versions); else ` data=` and a hash of the files' SHA-256, so that changed data is
/// never taken for the data earlier trials ran on.
pub fn data_identity(dataset: &DatasetSpec, data: &[DataFile]) -> String {
    let known = catalogue::builtin(&dataset.name).is_some_and(|builtin| {
        data.len() == dataset.table.files.names().len()
            && data.iter().all(|file| {
                builtin
                    .sources
                    .iter()
                    .any(|source| source.sha256.contains(&file.sha256.as_str()))
            })
    });
    if known {
        return String::new();
    }
    let checksums: Vec<&str> = data.iter().map(|file| file.sha256.as_str()).collect();
    format!(" data={}", fnv1a(&checksums.join(" ")))
}

impl Plan {
    /// Only the trials of `shard`.
    pub fn shard(mut self, shard: Shard) -> Self {
        let mut position = 0..;
        self.trials
            .retain(|_| shard.holds(position.next().unwrap()));
        self
    }

    /// The trials not among `finished` (ids), in plan order.
    pub fn pending<'a>(&'a self, finished: &HashSet<String>) -> Vec<&'a Trial> {
        self.trials
            .iter()
            .filter(|trial| !finished.contains(&trial.id))
            .collect()
    }

    /// Checks that need the data: a batch no larger than the training split, and networks
    /// that fit in memory.
    pub fn check_fits(&self, file: &ExperimentFile, data: &Dataset) -> Result<()> {
        let refuse = |problem: String| -> Result<()> {
            bail!(
                "{}:\n  {}",
                file.path.display(),
                file.lines.locate(&problem).1
            )
        };
        let budget = memory_budget();
        let largest = self
            .trials
            .iter()
            .map(|t| (t, trial_bytes(&t.spec, data)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((trial, bytes)) = largest.filter(|(_, bytes)| *bytes > budget) {
            let a = &trial.spec.architecture;
            let width = a.width.unwrap_or(data.train.n_features);
            return refuse(format!(
                "model: a network of {} layers of width {width} needs about {:.1} GB of memory \
                 to train, more than the {:.1} GB this machine allows a trial (half its \
                 memory); make it narrower or shallower",
                a.accuracy_layers + a.fairness_layers + 1,
                bytes / 1e9,
                budget / 1e9
            ));
        }
        let rows = data.train.n_rows();
        let mut sizes: Vec<usize> = self
            .trials
            .iter()
            .map(|t| t.spec.train.batch_size)
            .filter(|&size| size > rows)
            .collect();
        sizes.sort_unstable();
        sizes.dedup();
        if let Some(largest) = sizes.last() {
            let key = if file.swept.iter().any(|k| k == "batch_size") {
                "sweep.batch_size"
            } else {
                "train.batch_size"
            };
            return refuse(format!(
                "{key}: expected at most the {rows} rows of the training split, found {largest}"
            ));
        }
        Ok(())
    }
}

/// Bytes a trial of `spec` holds while it trains on `data`: parameters with their gradients
/// and Adam moments, a minibatch's activations, and an evaluation chunk's (the fused
/// engine's; burn's is within twice that). In f64: sizes that cannot run must not overflow.
fn trial_bytes(spec: &TrialSpec, data: &Dataset) -> f64 {
    let a = &spec.architecture;
    let inputs = data.train.n_features as f64;
    let width = a.width.map_or(inputs, |w| w as f64);
    let hidden = (a.accuracy_layers + a.fairness_layers) as f64;
    let parameters =
        inputs * width + (hidden - 1.0).max(0.0) * width * width + width + hidden * width + 1.0;
    let rows = spec.train.batch_size.min(data.train.n_rows()) as f64 + 1024.0;
    4.0 * (4.0 * parameters + 4.0 * rows * width * (hidden + 1.0))
}

/// Half the machine's memory (8 GB when it cannot be read).
fn memory_budget() -> f64 {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kb * 1024.0)
        });
    total.map_or(8e9, |bytes| bytes / 2.0)
}

/// A stable id: FNV-1a over a canonical text of the dataset, the data read and the trial's
/// settings. The data folder is left out on purpose: the same data found elsewhere is the
/// same trial.
pub fn trial_id(dataset: &DatasetSpec, data_identity: &str, spec: &TrialSpec) -> String {
    fnv1a(&format!(
        "{} seed={}",
        canonical(dataset, data_identity, spec),
        spec.train.seed
    ))
}

/// The id of a trial's configuration: its settings but the seed.
pub fn config_id(dataset: &DatasetSpec, data_identity: &str, spec: &TrialSpec) -> String {
    fnv1a(&canonical(dataset, data_identity, spec))
}

/// The text a trial's id hashes: every setting that decides its numbers, each written out
/// here rather than by a `Debug` or serde impl, so that renaming a type or a variant cannot
/// move an id. Its spelling is that of the first release (a test pins it): `Some(..)`/`None`
/// for optional values, Rust's `Debug` spelling of the enums and of the schedule's factors.
fn canonical(dataset: &DatasetSpec, data_identity: &str, spec: &TrialSpec) -> String {
    let (a, t) = (&spec.architecture, &spec.train);
    let optional = |value: Option<usize>| value.map_or("None".into(), |v| format!("Some({v})"));
    let schedule = t.lr_schedule.map_or("None".into(), |s| {
        format!("Some(({:?}, {:?}, {}))", s.gamma_acc, s.gamma_fair, s.every)
    });
    let step_order = match t.step_order() {
        StepOrder::LeaderFirst => "LeaderFirst",
        StepOrder::FollowerFirst => "FollowerFirst",
    };
    let follower_batch = match t.follower_batch() {
        FollowerBatch::Same => "Same",
        FollowerBatch::Separate => "Separate",
    };
    format!(
        "{} as_feature={} val_fraction={} split_seed={} max_rows={} \
         accuracy_layers={} fairness_layers={} fairness_position={} width={} \
         method={} epochs={} batch_size={} lr_acc={} lr_fair={} eta={} fairness_loss={} \
         step_order={step_order} follower_batch={follower_batch} follower_steps={} shuffle={} \
         lr_schedule={schedule}",
        dataset.identity,
        dataset.sensitive_as_feature,
        dataset.val_fraction,
        dataset.split_seed,
        optional(dataset.max_rows),
        a.accuracy_layers,
        a.fairness_layers,
        a.fairness_position,
        optional(a.width),
        t.method.name(),
        t.epochs,
        t.batch_size,
        t.lr_acc,
        t.lr_fair(),
        t.eta(),
        t.fairness_loss().as_str(),
        t.follower_steps(),
        t.shuffle,
    ) + &match t.backend {
        // The default backend's ids stay as they were before there was a choice.
        Backend::Fused => String::new(),
        other => format!(" backend={}", other.as_str()),
    } + &match t.patience {
        // As for the backend: trials without a collapse stop keep their ids.
        0 => String::new(),
        patience => format!(" patience={patience}"),
    } + &optimizers(t)
        + &match dataset.split {
            // The standard split's ids stay as they were before there was a choice.
            SplitProtocol::Standard => String::new(),
            SplitProtocol::Pooled { test_fraction } => {
                format!(" split=pooled test_fraction={test_fraction}")
            }
        }
        + data_identity
}

/// The optimizers when one is not Adam (Adam's trials keep the ids they had before there was
/// a choice), the momentum when it is set, then ` name=value` for each setting the method
/// reads that is not in the first release's template (`InId::WhenRead`), in its order.
fn optimizers(t: &crate::train::TrainSpec) -> String {
    let mut text = String::new();
    for (key, optimizer) in [
        ("optimizer_acc", t.optimizer_acc),
        ("optimizer_fair", t.optimizer_fair()),
    ] {
        if optimizer != Optimizer::Adam {
            text += &format!(" {key}={}", optimizer.as_str());
        }
    }
    if t.momentum != 0.0 {
        text += &format!(" momentum={}", t.momentum);
    }
    for (knob, value) in t.knobs.iter().filter(|(k, _)| k.id == InId::WhenRead) {
        text += &format!(" {}={value}", knob.name);
    }
    text
}

fn fnv1a(text: &str) -> String {
    let hash = text.bytes().fold(0xcbf29ce484222325u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x100000001b3)
    });
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The canonical text behind trial ids, pinned for settings of every kind (a schedule,
    /// `max_rows`, `width`, each method and backend): a change here would silently move every
    /// results folder's trials. The ids are those this version's predecessors wrote.
    #[test]
    fn the_canonical_text_behind_ids_is_frozen() {
        let text_of_file = "name: c\ndataset: {name: adult, max_rows: 300}\n\
                    model: {width: 7, fairness_position: 2}\n\
                    train: {epochs: 3, lr_schedule: {exponential: {gamma_acc: 0.5, gamma_fair: 0.9, every: 2}}}\n\
                    sweep:\n  method: [erm, lagrangian, fairbinn, fairbinn-reference]\n  backend: [fused, flex]\n";
        let text = text_of_file;
        let file = crate::config::parse(text, std::path::Path::new("c.yaml"), None).unwrap();
        let ids: Vec<String> = file
            .points
            .iter()
            .map(|spec| trial_id(&file.dataset, "", spec))
            .collect();
        assert_eq!(
            ids,
            [
                "9a3b7383a5111e07",
                "216ffb9de8927fe1",
                "66baa76f5a82738a",
                "226733fb097acf3a",
                "19e7198476cafed5",
                "e0bb0d239fc324b7",
                "0fa0b9994212a963",
                "369832d854fea9cd"
            ]
        );
        assert_eq!(
            canonical(&file.dataset, "", &file.points[7]),
            "dataset=adult sensitive=sex as_feature=true val_fraction=0.2 split_seed=0 \
             max_rows=Some(300) accuracy_layers=2 fairness_layers=1 fairness_position=2 \
             width=Some(7) method=fairbinn-reference epochs=3 batch_size=100 lr_acc=0.001 \
             lr_fair=0.00001 eta=100 fairness_loss=dp-squared step_order=FollowerFirst \
             follower_batch=Same follower_steps=1 shuffle=true lr_schedule=Some((0.5, 0.9, 2)) \
             backend=flex"
        );
        assert!(
            canonical(&file.dataset, "", &file.points[0])
                .ends_with("lr_schedule=Some((0.5, 1.0, 2))")
        );
        // A collapse stop is part of a trial (it trains fewer epochs); without one, ids stay.
        let stopped = crate::config::parse(
            &text.replace("epochs: 3,", "epochs: 3, patience: 2,"),
            std::path::Path::new("c.yaml"),
            None,
        )
        .unwrap();
        let text = canonical(&stopped.dataset, "", &stopped.points[7]);
        assert!(text.ends_with("backend=flex patience=2"), "{text}");
        assert_ne!(trial_id(&stopped.dataset, "", &stopped.points[0]), ids[0]);
        // So is an optimizer other than Adam, and SGD's momentum; a method that has no
        // follower ignores the follower's optimizer (erm, point 0, keeps its id).
        let sgd = crate::config::parse(
            &text_of_file.replace(
                "epochs: 3,",
                "epochs: 3, optimizer_fair: sgd, momentum: 0.9,",
            ),
            std::path::Path::new("c.yaml"),
            None,
        )
        .unwrap();
        let text = canonical(&sgd.dataset, "", &sgd.points[7]);
        assert!(
            text.ends_with("backend=flex optimizer_fair=sgd momentum=0.9"),
            "{text}"
        );
        assert_eq!(trial_id(&sgd.dataset, "", &sgd.points[0]), ids[0]);
    }
}
