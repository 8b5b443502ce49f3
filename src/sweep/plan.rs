//! Sweep planning: expand the `sweep:` section into trials, each with a stable id derived
//! from its resolved configuration.
//!
//! `sweep:` maps keys of `model:` or `train:` (bare, like `eta`, or qualified, like
//! `train.eta`) to lists of values; the trials are the cartesian product, first key slowest.
//! Grid points that resolve to the same trial (say `erm` at two values of η, which it
//! ignores) are planned once. `seeds:` adds the seed as the last axis.

use anyhow::{Result, anyhow};
use serde_norway::{Mapping, Value};

use crate::config::{ExperimentFile, MODEL_KEYS, TRAIN_KEYS, TrialSpec, trial_from_document};
use crate::data::DatasetSpec;

#[derive(Debug, Clone, PartialEq)]
pub struct Trial {
    /// Hash of everything that determines the trial's numbers; the same on every run.
    pub id: String,
    /// The same hash without the seed: the trial's configuration, shared by its seeds.
    pub config_id: String,
    pub spec: TrialSpec,
}

#[derive(Debug)]
pub struct Plan {
    pub trials: Vec<Trial>,
    /// Size of the cartesian product before identical trials were merged.
    pub grid_points: usize,
}

/// One sweep key: where it goes in the document and the values it takes.
struct Axis {
    section: &'static str,
    key: String,
    values: Vec<Value>,
}

pub fn plan(file: &ExperimentFile) -> Result<Plan> {
    let axes = axes(file)
        .map_err(|problems| anyhow!("{}: {}", file.path.display(), problems.join("\n  ")))?;
    let mut trials: Vec<Trial> = Vec::new();
    let mut problems = Vec::new();
    let grid_points: usize = axes.iter().map(|axis| axis.values.len()).product();
    for point in 0..grid_points {
        let mut document = file.document.clone();
        let mut remaining = point;
        let mut described = Vec::new();
        for axis in axes.iter().rev() {
            let value = &axis.values[remaining % axis.values.len()];
            remaining /= axis.values.len();
            set(&mut document, axis.section, &axis.key, value.clone());
            described.push(format!("{}={}", axis.key, show(value)));
        }
        match trial_from_document(&document) {
            Ok(spec) => {
                let id = trial_id(&file.dataset, &spec);
                if !trials.iter().any(|t| t.id == id) {
                    let config_id = config_id(&file.dataset, &spec);
                    trials.push(Trial {
                        id,
                        config_id,
                        spec,
                    });
                }
            }
            Err(problem) => {
                described.reverse();
                problems.push(format!("sweep point {}: {problem}", described.join(", ")));
            }
        }
    }
    if !problems.is_empty() {
        return Err(anyhow!(
            "{}: {}",
            file.path.display(),
            problems.join("\n  ")
        ));
    }
    Ok(Plan {
        trials,
        grid_points,
    })
}

fn axes(file: &ExperimentFile) -> Result<Vec<Axis>, Vec<String>> {
    let sweep = match file.document.get("sweep") {
        None | Some(Value::Null) => None,
        Some(Value::Mapping(sweep)) => Some(sweep),
        Some(_) => {
            return Err(vec![
                "sweep: expected a mapping from keys to lists of values".into(),
            ]);
        }
    };
    let mut axes = Vec::new();
    let mut problems = Vec::new();
    let no_sweep = Mapping::new();
    let sweep = sweep.unwrap_or(&no_sweep);
    for (key, values) in sweep {
        let name = key.as_str().unwrap_or_default().to_string();
        let Some((section, key)) = resolve_key(&name) else {
            problems.push(format!(
                "sweep.{name}: unknown key; a sweep varies model keys ({}) or train keys ({})",
                MODEL_KEYS.join(", "),
                TRAIN_KEYS.join(", ")
            ));
            continue;
        };
        match values {
            Value::Sequence(values) if !values.is_empty() => axes.push(Axis {
                section,
                key,
                values: values.clone(),
            }),
            _ => problems.push(format!(
                "sweep.{name}: expected a non-empty list of values, like [1, 10, 100], found {}",
                show(values)
            )),
        }
    }
    // `seeds:` is the last axis, so a configuration's seeds sit together in the plan.
    if let Some(seeds) = file.document.get("seeds") {
        if axes.iter().any(|axis| axis.key == "seed") {
            problems
                .push("seeds: the sweep varies seed already; give the seeds in one place".into());
        }
        match seeds {
            Value::Sequence(values) if !values.is_empty() => axes.push(Axis {
                section: "train",
                key: "seed".into(),
                values: values.clone(),
            }),
            _ => problems.push(format!(
                "seeds: expected a non-empty list of seeds, like [0, 1, 2, 3, 4], found {}",
                show(seeds)
            )),
        }
    }
    if problems.is_empty() {
        Ok(axes)
    } else {
        Err(problems)
    }
}

/// `eta` → (train, eta); `model.width` → (model, width).
fn resolve_key(name: &str) -> Option<(&'static str, String)> {
    let (section, key) = match name.split_once('.') {
        Some((section, key)) => (Some(section), key),
        None => (None, name),
    };
    let in_model = MODEL_KEYS.contains(&key) && section.is_none_or(|s| s == "model");
    let in_train = TRAIN_KEYS.contains(&key) && section.is_none_or(|s| s == "train");
    match (in_model, in_train) {
        (true, _) => Some(("model", key.to_string())),
        (_, true) => Some(("train", key.to_string())),
        _ => None,
    }
}

fn set(document: &mut Value, section: &str, key: &str, value: Value) {
    let root = document
        .as_mapping_mut()
        .expect("an experiment document is a mapping");
    let section = root
        .entry(Value::from(section))
        .or_insert_with(|| Value::Mapping(Mapping::new()));
    if section.is_null() {
        *section = Value::Mapping(Mapping::new());
    }
    if let Some(section) = section.as_mapping_mut() {
        section.insert(Value::from(key), value);
    }
}

fn show(value: &Value) -> String {
    serde_norway::to_string(value)
        .map(|s| s.trim_end().to_string())
        .unwrap_or_else(|_| format!("{value:?}"))
}

/// A stable id: FNV-1a over a canonical text of the dataset and trial settings. The data
/// folder is left out on purpose: the same data found elsewhere is the same trial.
pub fn trial_id(dataset: &DatasetSpec, spec: &TrialSpec) -> String {
    fnv1a(&format!(
        "{} seed={}",
        canonical(dataset, spec),
        spec.train.seed
    ))
}

/// The id of a trial's configuration: its settings but the seed.
pub fn config_id(dataset: &DatasetSpec, spec: &TrialSpec) -> String {
    fnv1a(&canonical(dataset, spec))
}

fn canonical(dataset: &DatasetSpec, spec: &TrialSpec) -> String {
    let (a, t) = (&spec.architecture, &spec.train);
    let schedule = t.lr_schedule.map(|s| (s.gamma_acc, s.gamma_fair, s.every));
    format!(
        "{} as_feature={} val_fraction={} split_seed={} max_rows={:?} \
         accuracy_layers={} fairness_layers={} fairness_position={} width={:?} \
         method={} epochs={} batch_size={} lr_acc={} lr_fair={} eta={} fairness_loss={} \
         step_order={:?} follower_batch={:?} follower_steps={} shuffle={} lr_schedule={:?}",
        dataset.identity,
        dataset.sensitive_as_feature,
        dataset.val_fraction,
        dataset.split_seed,
        dataset.max_rows,
        a.accuracy_layers,
        a.fairness_layers,
        a.fairness_position,
        a.width,
        t.method.as_str(),
        t.epochs,
        t.batch_size,
        t.lr_acc,
        t.lr_fair,
        t.eta,
        t.fairness_loss.as_str(),
        t.step_order,
        t.follower_batch,
        t.follower_steps,
        t.shuffle,
        schedule,
    )
}

fn fnv1a(text: &str) -> String {
    let hash = text.bytes().fold(0xcbf29ce484222325u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x100000001b3)
    });
    format!("{hash:016x}")
}
