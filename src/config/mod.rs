//! The experiment file: its YAML schema, and validation into typed structs that the rest of
//! the program trusts. Every problem of a file is reported at once, each with its key and
//! line; the sweep is expanded here (see [`grid`]) so that each trial is checked too.

mod grid;
pub mod reference;
pub mod schema;
pub mod search;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;
use serde_norway::value::{Tag, TaggedValue};
use serde_norway::{Mapping, Value};

use crate::data::spec::{self, RawDataset};
use crate::data::{DataDirSource, DatasetSpec};
use crate::files::bounds;
use crate::model::Architecture;
use crate::results::manifest::{self, Manifest};
use crate::selection::{FairnessMetric, Selection};
use crate::train::knob::{Knobs, Value as KnobValue};
use crate::train::methods::{Base, Learner};
use crate::train::threshold_optimizer::Constraint;
use crate::train::{Backend, LrSchedule, Method, Optimizer, TrainSpec, TrialSpec};
use schema::{KeyLines, check_section};

/// Named sets of defaults (`preset:`); keys the file sets win. Step order and the follower's
/// batch are left to the method (`fairbinn`: the paper's; `fairbinn-reference`: the code's).
const PRESETS: [(&str, &str); 2] = [
    (
        // The paper's Table 2 set-up and algorithm, with its absolute DP loss.
        "paper",
        "model: {accuracy_layers: 2, fairness_layers: 1}
train: {method: fairbinn, epochs: 50, batch_size: 100, lr_acc: 1.0e-3, lr_fair: 1.0e-5,
        eta: 100, fairness_loss: dp-abs, shuffle: true, lr_schedule: none}",
    ),
    (
        // The defaults of the authors' train_tabular.py for Adult: layers (101, 101, 101,
        // 101, 1) with the fairness layer in position 2, 200 epochs of 200 rows in file
        // order, η 10000, their DP loss and their step-wise learning-rate decay.
        "authors-code",
        "model: {accuracy_layers: 3, fairness_layers: 1, fairness_position: 2}
train: {method: fairbinn-reference, epochs: 200, batch_size: 200, lr_acc: 1.0e-3,
        lr_fair: 1.0e-5, eta: 10000, fairness_loss: dp-reference, shuffle: false,
        lr_schedule: {exponential: {gamma_acc: 0.5, gamma_fair: 0.9, every: 50}}}",
    ),
];

/// The most grid points (or random draws) one experiment file may plan: each is a checked
/// trial held in memory, so the count is checked before any is made.
pub const MAX_POINTS: usize = 100_000;

/// The longest experiment name: it names a folder.
const MAX_NAME: usize = 100;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExperiment {
    name: Option<String>,
    #[allow(dead_code)] // applied to the document before it is read (`apply_preset`)
    preset: Option<String>,
    #[allow(dead_code)] // a mapping (its keys checked by `check_dataset_section`); read by
    // `spec::resolve` from the document
    dataset: Option<Mapping>,
    #[serde(default)]
    #[allow(dead_code)]
    // its shape is checked here; each sweep point is read by `trial_from_document`
    model: RawModel,
    #[allow(dead_code)] // as `model`; its keys are RawTrain's and the methods' settings
    train: Option<Mapping>,
    #[allow(dead_code)] // read as a Value by `grid`; declared here so it is a known key
    sweep: Option<Value>,
    #[allow(dead_code)] // read by `grid`: one trial per seed per configuration
    seeds: Option<Value>,
    #[allow(dead_code)] // read by `grid`: draws instead of the sweep's product
    search: Option<Value>,
    selection: Option<Value>,
    /// Keep the models of each trial's validation front and last epoch (default true).
    save_models: Option<bool>,
    /// The gap selection, fronts and AOPAC read (default dp-soft).
    fairness_metric: Option<FairnessMetric>,
    /// A CSV of published or external results to draw beside the sweep's points.
    reference_points: Option<PathBuf>,
    /// The η whose configurations `curves.svg` draws (default: the largest every method
    /// reading η ran at).
    curves_eta: Option<f64>,
    /// Settings columns that split a method's points into fronts of their own, each with its
    /// AOPAC in methods.csv (`fronts_by: [fairness_layers]`).
    fronts_by: Option<Vec<String>>,
    /// The FCRL benchmark's evaluation: classifiers fitted on each trial's representation.
    downstream: Option<crate::downstream::Protocol>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    #[serde(default = "defaults::accuracy_layers")]
    accuracy_layers: usize,
    #[serde(default = "defaults::one")]
    fairness_layers: usize,
    fairness_position: Option<usize>,
    width: Option<usize>,
}

/// The `train:` keys every method has (the network's training); a method's own settings
/// (η, the follower's, `alpha`, …) are declared in its file ([`Knob`]) and read by
/// [`check_train`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrain {
    #[serde(default = "defaults::method")]
    method: String,
    #[serde(default = "defaults::epochs")]
    epochs: usize,
    #[serde(default = "defaults::batch_size")]
    batch_size: usize,
    #[serde(default = "defaults::lr_acc")]
    lr_acc: f64,
    #[serde(default = "defaults::yes")]
    shuffle: bool,
    /// `none` or `{exponential: {...}}`, read by `trial_spec` (see `as_variant`).
    lr_schedule: Option<Value>,
    #[serde(default)]
    optimizer_acc: Optimizer,
    #[serde(default)]
    momentum: f64,
    /// `threshold`: the method whose networks it post-processes.
    base: Option<String>,
    /// `reductions`: the classifier it reweights (`logistic`, `gbdt`).
    learner: Option<String>,
    /// `threshold`, `reductions`: the randomized rule instead of a deterministic one.
    #[serde(default)]
    randomized: bool,
    /// Epochs of degenerate validation predictions in a row that stop a trial; 0: never.
    #[serde(default)]
    patience: usize,
    #[serde(default)]
    seed: u64,
    #[serde(default)]
    backend: Backend,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
enum RawLrSchedule {
    None,
    Exponential(LrSchedule),
}

/// The paper's Adult set-up (Table 2) where the file is silent.
mod defaults {
    pub fn yes() -> bool {
        true
    }
    pub fn accuracy_layers() -> usize {
        2
    }
    pub fn one() -> usize {
        1
    }
    pub fn method() -> String {
        crate::train::Method::default().name().into()
    }
    pub fn epochs() -> usize {
        50
    }
    pub fn batch_size() -> usize {
        100
    }
    pub fn lr_acc() -> f64 {
        1e-3
    }
}

impl Default for RawModel {
    fn default() -> Self {
        serde_norway::from_str("{}").expect("every model key has a default")
    }
}

impl Default for RawTrain {
    fn default() -> Self {
        serde_norway::from_str("{}").expect("every train key has a default")
    }
}

/// An experiment file, read and checked, with its sweep expanded.
pub struct ExperimentFile {
    pub path: PathBuf,
    pub name: String,
    pub dataset: DatasetSpec,
    /// How each configuration's reported epochs are chosen; every policy is reported.
    pub selections: Vec<Selection>,
    /// The gap those policies, the fronts and AOPAC read.
    pub fairness_metric: FairnessMetric,
    /// External results the figures draw beside the sweep's (`reference_points:`).
    pub reference_points: Vec<reference::ReferencePoint>,
    /// The η `curves.svg` draws (`curves_eta:`).
    pub curves_eta: Option<f64>,
    /// Settings columns whose values split each method's front again (`fronts_by:`).
    pub fronts_by: Vec<String>,
    /// Fit classifiers on each trial's representation after its last epoch (`downstream:`);
    /// its points are the `downstream` selection.
    pub downstream: Option<crate::downstream::Protocol>,
    /// One per grid point, in sweep order; points that resolve to the same trial repeat.
    pub points: Vec<TrialSpec>,
    /// The keys the sweep varies (`eta`, `seed`, …), in sweep order.
    pub swept: Vec<String>,
    /// Write `models/<trial>-e<epoch>.safetensors` for each trial's validation front and
    /// last epoch.
    pub save_models: bool,
    /// `search: {halving: ..}`: train rung by rung, each method's least dominated
    /// configurations going on (sweep/halving.rs).
    pub halving: Option<search::Halving>,
    /// The whole document (preset applied), as the manifest records it.
    pub document: Value,
    /// Where each key is in the file, for messages about it.
    pub lines: KeyLines,
}

/// Where the data directory comes from when the command line names one (flag or
/// environment), which takes precedence over the experiment file.
pub type DataDirOverride = Option<(PathBuf, DataDirSource)>;

/// Read and check an experiment file: unknown keys, wrong types, bad values, every point of
/// the sweep and whether the data files are there, all reported at once with their lines.
pub fn read(path: &Path, data_dir: DataDirOverride) -> Result<ExperimentFile> {
    let bytes = crate::files::read_bounded(path, bounds::EXPERIMENT, "an experiment file")?;
    let text = String::from_utf8(bytes)
        .map_err(|_| anyhow!("{}: not a text file (expected UTF-8 YAML)", path.display()))?;
    parse(&text, path, data_dir)
}

/// [`read`] for an experiment's text; `path` names it in messages and anchors relative paths.
pub fn parse(text: &str, path: &Path, data_dir: DataDirOverride) -> Result<ExperimentFile> {
    // Some editors start a UTF-8 file with a byte-order mark; YAML has no use for it.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut document: Value =
        serde_norway::from_str(text).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let Some(root) = document.as_mapping_mut() else {
        bail!(
            "{}: expected a mapping of keys (name, dataset, model, train, sweep, …)",
            path.display()
        );
    };
    let lines = KeyLines::of(text);
    let mut problems = Vec::new();
    // Keys first, section by section: what is wrong is reported and taken out, so that the
    // values of the rest are checked too.
    for (section, check) in [
        (
            "model",
            check_section::<RawModel> as fn(&str, &mut Mapping, &mut Vec<String>),
        ),
        ("train", check_train_section),
        ("dataset", check_dataset_section),
    ] {
        if let Some(Value::Mapping(keys)) = root.get_mut(section) {
            check(section, keys, &mut problems);
        }
    }
    check_section::<RawExperiment>("", root, &mut problems);
    if let Err(e) = apply_preset(&mut document) {
        problems.push(e);
    }
    let raw: RawExperiment = serde_norway::from_value(document.clone())
        .expect("every key left was checked to deserialize alone");

    let name = raw.name.unwrap_or_default();
    // One plain path component: `..` or `.` would put results outside runs/<name>; and
    // short enough for every file system's name limit (255 bytes) with room for a suffix.
    if name.len() > MAX_NAME {
        problems.push(format!(
            "name: expected at most {MAX_NAME} characters (it names the results folder), found {}",
            name.len()
        ));
    } else if !name.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        problems.push(format!(
            "name: expected a name starting with a letter or digit, then letters, digits, '-', '_' or '.' (it names the results folder), found {name:?}"
        ));
    }
    let dataset = match document.get("dataset") {
        Some(section) => spec::resolve(section, path, data_dir, &mut problems),
        None => {
            // Unless it was there but not a mapping, which is reported already.
            if !problems.iter().any(|p| p.starts_with("dataset")) {
                problems.push(format!(
                    "dataset: missing; expected e.g. `dataset: {{name: adult}}` (names: {})",
                    spec::known_names().join(", ")
                ));
            }
            None
        }
    };
    if let Some(Err(e)) = (dataset.as_ref())
        .filter(|d| d.generated.is_none())
        .map(DatasetSpec::locate)
    {
        problems.push(format!("dataset: {e}"));
    }
    let mut selections = selections(raw.selection, &mut problems);
    if let Some(protocol) = &raw.downstream {
        problems.extend(protocol.problems());
        if !selections.contains(&Selection::Downstream) {
            selections.push(Selection::Downstream);
        }
    } else if selections.contains(&Selection::Downstream) {
        problems.push(
            "selection: downstream scores classifiers fitted on each trial's representation; \
             add a `downstream:` section (e.g. `downstream: {runs: 5}`) to fit them"
                .into(),
        );
    }
    // Relative to the experiment file, as `data_dir` is.
    let reference_points = match &raw.reference_points {
        Some(file) => {
            let folder = path.parent().unwrap_or(Path::new(""));
            reference::read(&folder.join(file), &mut problems)
        }
        None => Vec::new(),
    };
    let fronts_by = raw.fronts_by.unwrap_or_default();
    let columns = crate::results::Settings::default().cells();
    for column in &fronts_by {
        if column == "method" || !columns.iter().any(|(name, _)| name == column) {
            let names: Vec<&str> = columns[1..].iter().map(|(name, _)| name.as_str()).collect();
            problems.push(format!(
                "fronts_by: {column} is not a setting; expected some of {}",
                names.join(", ")
            ));
        }
    }
    let search = search::read(&document, &mut problems);
    let (points, swept) = expand(&document, search.random(), &mut problems);
    if let Some(halving) = search.halving() {
        check_halving(halving, &points, &mut problems);
        if dataset.as_ref().is_some_and(DatasetSpec::is_pooled) {
            problems.push(
                "search.halving: not with dataset.split: pooled yet (each seed has its own \
                 split); sweep it without halving"
                    .into(),
            );
        }
    }
    if !problems.is_empty() {
        let count = match problems.len() {
            1 => String::new(),
            n => format!(" {n} problems:"),
        };
        // In the order of the file, as an editor would show them.
        let mut listed: Vec<(Option<usize>, String)> =
            problems.iter().map(|p| lines.locate(p)).collect();
        listed.sort_by_key(|(line, _)| line.unwrap_or(usize::MAX));
        let listed: Vec<String> = listed.into_iter().map(|(_, text)| text).collect();
        bail!("{}:{count}\n  {}", path.display(), listed.join("\n  "));
    }
    Ok(ExperimentFile {
        path: path.to_path_buf(),
        name,
        dataset: dataset.expect("no problems means the dataset was checked"),
        selections,
        fairness_metric: raw.fairness_metric.unwrap_or_default(),
        reference_points,
        curves_eta: raw.curves_eta,
        fronts_by,
        downstream: raw.downstream,
        points,
        swept,
        save_models: raw.save_models.unwrap_or(true),
        halving: search.halving().cloned(),
        document,
        lines,
    })
}

impl ExperimentFile {
    /// The experiment as `manifest.json` records it (the file's path, its name, the
    /// document with its preset applied, as JSON and as YAML in the file's key order).
    pub fn record(&self) -> Result<manifest::Experiment> {
        Ok(manifest::Experiment {
            file: std::path::absolute(&self.path).unwrap_or_else(|_| self.path.clone()),
            name: self.name.clone(),
            resolved: serde_json::to_value(&self.document)
                .context("the experiment does not convert to JSON")?,
            resolved_yaml: serde_norway::to_string(&self.document).ok(),
        })
    }

    /// A halving search decides each rung over every configuration at once, so it cannot be
    /// split into shards.
    pub fn refuse_shards_of_halving(&self) -> Result<()> {
        if self.halving.is_some() {
            bail!(
                "{}: search.halving: a halving search decides each rung over every \
                 configuration at once, so it cannot be split into shards by hand; run it whole, \
                 with --jobs for the cores of one machine, or on a Slurm cluster with `slurm \
                 --shards N`, which runs it rung by rung with a decision job between rungs",
                self.path.display()
            );
        }
        Ok(())
    }

    /// The selection policies `--save-predictions` names (by name or file stem; none named:
    /// every policy), or an error naming the one that is not a policy of this file.
    pub fn predictions_policies(&self, named: &[String]) -> Result<Vec<Selection>> {
        let is_named = |s: &Selection, n: &str| n == s.name() || n == s.file_stem();
        if let Some(unknown) =
            (named.iter()).find(|n| !self.selections.iter().any(|s| is_named(s, n)))
        {
            let known: Vec<String> = self.selections.iter().map(Selection::file_stem).collect();
            bail!(
                "--save-predictions: {unknown:?} is not a selection policy of {} (its policies: {})",
                self.path.display(),
                known.join(", ")
            );
        }
        Ok(match named {
            [] => self.selections.clone(),
            _ => (self.selections.iter())
                .filter(|s| named.iter().any(|n| is_named(s, n)))
                .copied()
                .collect(),
        })
    }
}

/// The experiment a results folder's manifest records, as it ran (its preset applied), read
/// as its file would be. From JSON (manifests of earlier versions) the sweep's keys come in
/// another order, so the tables' rows may too.
pub fn from_manifest(manifest: &Manifest, data_dir: DataDirOverride) -> Result<ExperimentFile> {
    let recorded = &manifest.experiment;
    let text = match &recorded.resolved_yaml {
        Some(text) => text.clone(),
        None => serde_norway::to_string(&recorded.resolved)?,
    };
    parse(&text, &recorded.file, data_dir)
}

/// Every grid point of the sweep as a checked trial. A problem shared by many points is
/// reported once, at its first point.
fn expand(
    document: &Value,
    random: Option<&search::RandomSearch>,
    problems: &mut Vec<String>,
) -> (Vec<TrialSpec>, Vec<String>) {
    let model_keys = schema::fields_of::<RawModel>();
    let train_keys = train_keys();
    let grids = grid::grids(document, random, model_keys, &train_keys, problems);
    // Counted before a point is made: a grid of 2×10⁸ points, or as many draws, would fill
    // the memory before anything could ask whether to run it.
    let count = (grids.iter())
        .map(|grid| (grid.iter()).fold(1usize, |n, axis| n.saturating_mul(axis.points.len())))
        .fold(0usize, usize::saturating_add);
    if count > MAX_POINTS {
        problems.push(format!(
            "sweep: {} points (the product of its lists, with seeds); at most {MAX_POINTS} can be \
             planned at once: sweep fewer values, split the sweep into several files, or draw \
             configurations with `search: {{random: {{trials: N}}}}`",
            if count == usize::MAX {
                "more than 10^19".to_string()
            } else {
                count.to_string()
            }
        ));
        return (Vec::new(), Vec::new());
    }
    let mut swept: Vec<String> = Vec::new();
    for key in grids.iter().flatten().flat_map(|axis| &axis.keys) {
        if !swept.contains(&key.name) {
            swept.push(key.name.clone());
        }
    }
    let mut points = Vec::new();
    // (problem, first point with it, points with it): reported once each.
    let mut seen: Vec<(String, String, usize)> = Vec::new();
    for grid in &grids {
        for (point, described) in grid::points(document, grid) {
            let point_problems = match trial_from_document(&point) {
                Ok(trial) => {
                    points.push(trial);
                    continue;
                }
                Err(problems) => problems,
            };
            for problem in point_problems {
                // Name the sweep key that set the bad value, so the line is the sweep's.
                let key = problem.split_once(": ").map_or("", |(path, _)| path);
                let axis = grid.iter().find(|axis| {
                    axis.keys
                        .iter()
                        .any(|k| key == format!("{}.{}", k.section, k.name))
                });
                let problem = match axis {
                    Some(axis) => format!("{}: {problem}", axis.path),
                    None => problem,
                };
                match seen.iter_mut().find(|(p, _, _)| *p == problem) {
                    Some((_, _, count)) => *count += 1,
                    None => seen.push((problem, described.clone(), 1)),
                }
            }
        }
    }
    for (problem, described, count) in seen {
        let at = match count {
            _ if described.is_empty() => String::new(),
            1 => format!(" (at {described})"),
            n => format!(" (at {described}, and {} more sweep points)", n - 1),
        };
        problems.push(format!("{problem}{at}"));
    }
    (points, swept)
}

/// A halving search's last rung is every trial's `train.epochs`, and its trials stop and go
/// on where they stood, which the fused engine alone can save.
fn check_halving(halving: &search::Halving, points: &[TrialSpec], problems: &mut Vec<String>) {
    let last = *halving.rungs.last().expect("rungs were checked");
    if let Some(point) = points.iter().find(|p| p.train.epochs != last) {
        problems.push(format!(
            "search.halving.rungs: the last rung must be train.epochs, so that the kept \
             configurations train as long as a full run's; found {last} for {} epochs",
            point.train.epochs
        ));
    }
    if let Some(point) = points.iter().find(|p| p.train.backend != Backend::Fused) {
        problems.push(format!(
            "search.halving: needs train.backend fused (the default): a trial that goes on \
             continues from its saved state, and the {} engine cannot save its optimizer's",
            point.train.backend.as_str()
        ));
    }
    if let Some(point) = points.iter().find(|p| p.train.threshold().is_some()) {
        problems.push(format!(
            "search.halving: {} post-processes its base's networks epoch by epoch; a halving \
             search cannot yet rank it with its base (sweep it without halving)",
            point.train.method
        ));
    }
    let stepped = |p: &&TrialSpec| p.train.method.has_epochs();
    if let Some((method, why)) = (points.iter().filter(stepped))
        .find_map(|p| Some((p.train.method, p.train.method.info().no_checkpoint?)))
    {
        problems.push(format!(
            "search.halving: {method} cannot yet pause and go on ({why}); sweep it without \
             halving"
        ));
    }
    if let Some(point) = points.iter().find(|p| p.train.is_fitted_whole()) {
        problems.push(format!(
            "search.halving: {} is fitted whole, without epochs to halve at (sweep it without \
             halving)",
            point.train.method
        ));
    }
}

/// The `train:` keys: the network's (RawTrain's) and every method's settings.
/// `dataset:`'s keys: a table description's, or the generator's for `name: synthetic`.
fn check_dataset_section(name: &str, section: &mut Mapping, problems: &mut Vec<String>) {
    match section.get("name").and_then(Value::as_str) {
        Some(spec::SYNTHETIC) => check_section::<spec::RawSynthetic>(name, section, problems),
        _ => check_section::<RawDataset>(name, section, problems),
    }
}

fn train_keys() -> Vec<&'static str> {
    let mut keys = schema::fields_of::<RawTrain>().to_vec();
    keys.extend(Method::all_knobs().iter().map(|k| k.name));
    keys
}

/// Check a `train:` section: RawTrain's keys as [`check_section`] does, a method's setting
/// by its declaration; what is wrong is reported and taken out.
fn check_train_section(name: &str, section: &mut Mapping, problems: &mut Vec<String>) {
    schema::check_section_and::<RawTrain>(name, section, problems, &Method::all_knobs());
}

/// `{name: value}` → `!name value`, the form serde_norway reads an enum variant that carries
/// data from; anything else unchanged. YAML users write the first.
fn as_variant(value: Value) -> Value {
    match value {
        Value::Mapping(mapping) if mapping.len() == 1 => {
            let (name, inner) = mapping.into_iter().next().expect("one entry");
            match name {
                Value::String(name) => Value::Tagged(Box::new(TaggedValue {
                    tag: Tag::new(name),
                    value: inner,
                })),
                name => Value::Mapping([(name, inner)].into_iter().collect()),
            }
        }
        value => value,
    }
}

/// Fill the keys a preset sets and the file does not.
fn apply_preset(document: &mut Value) -> Result<(), String> {
    let Some(name) = document.get("preset") else {
        return Ok(());
    };
    let name = name.as_str().unwrap_or_default();
    let names: Vec<&str> = PRESETS.iter().map(|(name, _)| *name).collect();
    let Some((_, text)) = PRESETS.iter().find(|(preset, _)| *preset == name) else {
        return Err(format!(
            "preset: expected one of {}, found {name:?}",
            names.join(", ")
        ));
    };
    let preset: Value = serde_norway::from_str(text).expect("the presets are valid YAML");
    let root = document
        .as_mapping_mut()
        .expect("an experiment is a mapping");
    for (section, keys) in preset.as_mapping().expect("a preset is a mapping") {
        let target = root
            .entry(section.clone())
            .or_insert_with(|| Value::Mapping(Default::default()));
        if target.is_null() {
            *target = Value::Mapping(Default::default());
        }
        let Some(target) = target.as_mapping_mut() else {
            continue; // A wrong type, which the schema reports.
        };
        for (key, value) in keys.as_mapping().expect("a preset section is a mapping") {
            target.entry(key.clone()).or_insert_with(|| value.clone());
        }
    }
    Ok(())
}

/// `selection:` is one policy or a list of them; default `last`.
fn selections(raw: Option<Value>, problems: &mut Vec<String>) -> Vec<Selection> {
    let values = match raw {
        None => return vec![Selection::Last],
        Some(Value::Sequence(values)) => values,
        Some(value) => vec![value],
    };
    let mut selections = Vec::new();
    for value in values {
        match serde_norway::from_value::<Selection>(as_variant(value)) {
            Ok(Selection::ValBestAccuracy { max_dp }) if max_dp.is_nan() || max_dp < 0.0 => problems.push(
                format!("selection: val-best-accuracy: expected max_dp ≥ 0, found {max_dp}"),
            ),
            Ok(selection) if !selections.contains(&selection) => selections.push(selection),
            Ok(_) => {}
            Err(e) => problems.push(format!(
                "selection: {e} (write e.g. `selection: [last, val-pareto, test-pareto, {{val-best-accuracy: {{max_dp: 0.05}}}}]`)"
            )),
        }
    }
    if selections.is_empty() && problems.is_empty() {
        problems.push("selection: expected at least one policy".into());
    }
    selections
}

/// One trial's settings from `model:` and `train:` sections alone (the Python estimator's
/// parameters, as JSON), checked as an experiment file's are; every problem in one message.
pub fn trial_of_sections(text: &str) -> Result<TrialSpec> {
    let document: Value = serde_norway::from_str(text)
        .map_err(|e| anyhow!("the estimator's settings are not a mapping ({e})"))?;
    if let Some(key) = (document.as_mapping().into_iter().flatten())
        .map(|(key, _)| key.as_str().unwrap_or_default())
        .find(|key| !["model", "train"].contains(key))
    {
        bail!("the estimator's settings have {key:?}; expected only model and train");
    }
    trial_from_document(&document).map_err(|problems| anyhow!("{}", problems.join("; ")))
}

/// Check a document produced by the planner (the base document with sweep values set).
fn trial_from_document(document: &Value) -> Result<TrialSpec, Vec<String>> {
    let mut problems = Vec::new();
    let mut section = |name: &str| {
        let mut keys = match document.get(name) {
            Some(Value::Mapping(keys)) => keys.clone(),
            _ => Mapping::new(),
        };
        // A swept value of the wrong type is caught here, with its key.
        match name {
            "model" => check_section::<RawModel>(name, &mut keys, &mut problems),
            _ => check_train_section(name, &mut keys, &mut problems),
        }
        keys
    };
    let (model, mut train) = (section("model"), section("train"));
    // A method's own settings, each checked by its declaration already.
    let knobs = Method::all_knobs();
    let given: Mapping = (train.iter())
        .filter(|(key, _)| knobs.iter().any(|k| key.as_str() == Some(k.name)))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    train.retain(|key, _| !given.contains_key(key));
    let model = serde_norway::from_value(Value::Mapping(model)).expect("checked key by key");
    let train = serde_norway::from_value(Value::Mapping(train)).expect("checked key by key");
    // The pooled protocol's seed draws the split, so even trials with nothing random keep it.
    let pooled = (document.get("dataset").and_then(|d| d.get("split")))
        .is_some_and(|split| split.as_str() == Some("pooled"));
    match trial_spec(model, train, &given, pooled, &mut problems) {
        Some(trial) if problems.is_empty() => Ok(trial),
        _ => Err(problems),
    }
}

fn trial_spec(
    model: RawModel,
    train: RawTrain,
    given: &Mapping,
    pooled: bool,
    problems: &mut Vec<String>,
) -> Option<TrialSpec> {
    let before = problems.len();
    let fairness_position = model
        .fairness_position
        .unwrap_or(model.accuracy_layers.saturating_add(1));
    if model.fairness_layers == 0 {
        problems.push("model.fairness_layers: expected at least 1".into());
    }
    if fairness_position == 0 || fairness_position > model.accuracy_layers.saturating_add(1) {
        problems.push(format!(
            "model.fairness_position: expected 1..={} (position p puts p-1 of the {} accuracy layers before the block), found {fairness_position}",
            model.accuracy_layers.saturating_add(1),
            model.accuracy_layers
        ));
    }
    if model.width == Some(0) {
        problems
            .push("model.width: expected at least 1 (or leave it out for the input width)".into());
    }
    let method = match train.method.as_str() {
        "threshold" => threshold_of(&train, given, problems),
        "reductions" => reductions_of(&train, problems),
        name => {
            let method = Method::parse(name);
            if method.is_none() {
                problems.push(format!(
                    "train.method: expected one of {}, found {name:?}",
                    Method::written_names().join(", "),
                ));
            }
            method
        }
    };
    // Bounds past which a trial cannot run (or not in a lifetime): refused before it tries.
    for (key, value, most) in [
        ("train.epochs", train.epochs, 1_000_000),
        ("model.accuracy_layers", model.accuracy_layers, 10_000),
        ("model.fairness_layers", model.fairness_layers, 10_000),
    ] {
        if value > most {
            problems.push(format!("{key}: expected at most {most}, found {value}"));
        }
    }
    if train.epochs == 0 {
        problems.push("train.epochs: expected at least 1".into());
    }
    if train.batch_size == 0 {
        problems.push("train.batch_size: expected at least 1".into());
    }
    if !(train.lr_acc.is_finite() && train.lr_acc > 0.0) {
        problems.push(format!(
            "train.lr_acc: expected a positive learning rate, found {}",
            train.lr_acc
        ));
    }
    if !(0.0..1.0).contains(&train.momentum) {
        problems.push(format!(
            "train.momentum: expected a number in [0, 1), found {}",
            train.momentum
        ));
    }
    if !train.backend.is_available() {
        problems.push(
            "train.backend: ndarray is not in this build; rebuild with `cargo build --release --features ndarray`".into(),
        );
    }
    let lr_schedule = match train
        .lr_schedule
        .map(|v| serde_norway::from_value(as_variant(v)))
    {
        None | Some(Ok(RawLrSchedule::None)) => None,
        Some(Err(e)) => {
            problems.push(format!(
                "train.lr_schedule: {e} (write `none` or `{{exponential: {{gamma_acc: 0.5, gamma_fair: 0.9, every: 50}}}}`)"
            ));
            None
        }
        Some(Ok(RawLrSchedule::Exponential(schedule))) => {
            for (key, gamma) in [
                ("gamma_acc", schedule.gamma_acc),
                ("gamma_fair", schedule.gamma_fair),
            ] {
                if !(gamma > 0.0 && gamma <= 1.0) {
                    problems.push(format!(
                        "train.lr_schedule.exponential.{key}: expected a factor in (0, 1], found {gamma}"
                    ));
                }
            }
            if schedule.every == 0 {
                problems
                    .push("train.lr_schedule.exponential.every: expected at least 1 epoch".into());
            }
            Some(schedule)
        }
    };
    if problems.len() > before {
        return None;
    }
    let method = method?;
    let info = method.info();
    if !info.engines.contains(&train.backend) {
        problems.push(format!(
            "train.backend: {} has no {} engine; it runs on {}",
            method,
            train.backend.as_str(),
            info.engines
                .iter()
                .map(|b| b.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        return None;
    }
    // The method's settings: the file's values (checked by their declarations), else the
    // method's defaults. Those it does not read are left out, so that trials that differ
    // only there are one trial.
    let knobs = Knobs::of(
        method.knobs(),
        |knob| given.get(knob.name).and_then(|value| knob.read(value).ok()),
        |other| match other {
            "lr_acc" => KnobValue::Number(train.lr_acc),
            other => unreachable!("a default may name lr_acc, not {other}"),
        },
    );
    let bilevel = method.is_bilevel();
    let optimizer_fair =
        (knobs.choice("optimizer_fair").and_then(Optimizer::parse)).unwrap_or(Optimizer::Adam);
    let trial = TrialSpec {
        architecture: Architecture {
            accuracy_layers: model.accuracy_layers,
            fairness_layers: model.fairness_layers,
            fairness_position,
            width: model.width,
        },
        train: TrainSpec {
            method,
            epochs: train.epochs,
            batch_size: train.batch_size,
            lr_acc: train.lr_acc,
            shuffle: train.shuffle,
            lr_schedule: lr_schedule.map(|schedule| LrSchedule {
                gamma_fair: if bilevel { schedule.gamma_fair } else { 1.0 },
                ..schedule
            }),
            optimizer_acc: train.optimizer_acc,
            // Only an SGD optimizer reads it.
            momentum: match train.optimizer_acc == Optimizer::Sgd
                || optimizer_fair == Optimizer::Sgd
            {
                true => train.momentum + 0.0,
                false => 0.0,
            },
            knobs,
            patience: train.patience,
            seed: train.seed,
            backend: train.backend,
        },
    };
    Some(match method.is_fitted_whole() {
        true => without_network(trial, pooled),
        false => trial,
    })
}

/// A reduction or boosted trees have no network and no epochs: the settings of those are
/// fixed, so that trials differing there are one trial. Nothing is random in them either
/// unless trees see a `subsample` of the rows or the seed draws the split (`split: pooled`),
/// so otherwise their seed is fixed too.
fn without_network(trial: TrialSpec, pooled: bool) -> TrialSpec {
    let t = trial.train;
    let seed = match t.knobs.number("subsample") {
        _ if pooled => t.seed,
        Some(share) if share < 1.0 => t.seed,
        _ => 0,
    };
    TrialSpec {
        architecture: Architecture {
            accuracy_layers: 0,
            fairness_layers: 1,
            fairness_position: 1,
            width: None,
        },
        train: TrainSpec {
            epochs: 1,
            batch_size: 1,
            lr_acc: 0.0,
            shuffle: false,
            lr_schedule: None,
            optimizer_acc: Optimizer::Adam,
            momentum: 0.0,
            patience: 0,
            seed,
            ..t
        },
    }
}

/// `method: reductions` with its `learner:` and `randomized:`.
fn reductions_of(train: &RawTrain, problems: &mut Vec<String>) -> Option<Method> {
    let learner = train
        .learner
        .as_deref()
        .unwrap_or(Learner::Logistic.as_str());
    let Some(learner) = Learner::parse(learner) else {
        problems.push(format!(
            "train.learner: expected the classifier reductions reweights, one of {}, found {learner:?}",
            Learner::NAMES.join(", "),
        ));
        return None;
    };
    Some(Method::Reductions {
        learner,
        randomized: train.randomized,
    })
}

/// `method: threshold` with its `base:` and `randomized:`, and its settings checked.
fn threshold_of(train: &RawTrain, given: &Mapping, problems: &mut Vec<String>) -> Option<Method> {
    let before = problems.len();
    let base = train.base.as_deref().unwrap_or("erm");
    let base = Method::parse(base).and_then(Base::of);
    if base.is_none() {
        problems.push(format!(
            "train.base: expected the method whose networks threshold post-processes, one of {}, found {:?}",
            Base::ALL.map(|b| b.method().name()).join(", "),
            train.base.as_deref().unwrap_or_default()
        ));
    }
    let tolerance = given
        .get("tolerance")
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    let eo = (given.get("constraint").and_then(Value::as_str)).and_then(Constraint::parse)
        == Some(Constraint::EqualizedOdds);
    if eo && train.randomized && tolerance != 0.0 {
        problems.push("train.tolerance: randomized eo thresholds have no tolerance (as fairlearn's); leave it out or 0, or drop `randomized`".into());
    }
    if problems.len() > before {
        return None;
    }
    Some(Method::Threshold {
        base: base?,
        randomized: train.randomized,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::{FairnessLoss, FollowerBatch, StepOrder};

    /// Read `text` as an experiment file; the data folder is not looked at here.
    fn read_text(text: &str) -> Result<ExperimentFile> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("experiment.yaml");
        std::fs::write(&path, text).unwrap();
        read(&path, None)
    }

    fn train_of(text: &str) -> TrainSpec {
        let file = read_text(text).unwrap();
        file.points[0].train
    }

    #[test]
    fn a_preset_fills_what_the_file_leaves_out() {
        let authors = read_text("name: a\npreset: authors-code\ndataset: {name: adult}\n").unwrap();
        let trial = authors.points[0].clone();
        let (t, a) = (trial.train, trial.architecture);
        assert_eq!(
            (a.accuracy_layers, a.fairness_layers, a.fairness_position),
            (3, 1, 2)
        );
        assert_eq!(t.method, Method::FairBiNNReference);
        assert_eq!((t.epochs, t.batch_size, t.eta()), (200, 200, 10000.0));
        assert_eq!(t.fairness_loss(), FairnessLoss::DpReference);
        assert_eq!(
            (t.step_order(), t.follower_batch()),
            (StepOrder::FollowerFirst, FollowerBatch::Same)
        );
        assert!(!t.shuffle);
        assert_eq!(
            t.lr_schedule,
            Some(LrSchedule {
                gamma_acc: 0.5,
                gamma_fair: 0.9,
                every: 50
            })
        );

        // Keys in the file win; the paper preset leaves the step order to the method.
        let t = train_of(
            "name: p\npreset: paper\ndataset: {name: adult}\ntrain: {eta: 7, batch_size: 64}\n",
        );
        assert_eq!((t.eta(), t.batch_size, t.epochs), (7.0, 64, 50));
        assert_eq!(t.fairness_loss(), FairnessLoss::DpAbs);
        assert_eq!(
            (t.step_order(), t.follower_batch()),
            (StepOrder::LeaderFirst, FollowerBatch::Separate)
        );
        assert_eq!(t.lr_schedule, None);
    }

    #[test]
    fn an_unknown_preset_lists_the_known_ones() {
        let error = read_text("name: p\npreset: paperr\ndataset: {name: adult}\n")
            .err()
            .unwrap();
        let message = format!("{error:#}");
        assert!(
            message.contains("preset: expected one of paper, authors-code, found \"paperr\""),
            "{message}"
        );
    }

    #[test]
    fn settings_a_method_ignores_are_fixed_so_duplicates_merge() {
        let t = train_of(
            "name: e\ndataset: {name: adult}\ntrain: {method: erm, eta: 5, lr_fair: 0.1, fairness_loss: eo, step_order: follower-first, follower_steps: 3}\n",
        );
        assert_eq!((t.eta(), t.lr_fair(), t.follower_steps()), (0.0, 0.0, 1));
        assert_eq!(t.fairness_loss(), FairnessLoss::DpSquared);
        assert_eq!(t.step_order(), StepOrder::LeaderFirst);
    }

    #[test]
    fn the_fairness_metric_is_read_and_checked() {
        let read = |extra: &str| read_text(&format!("name: s\ndataset: {{name: adult}}\n{extra}"));
        assert_eq!(read("").unwrap().fairness_metric, FairnessMetric::DpSoft);
        let hard = read("fairness_metric: dp-hard\n").unwrap();
        assert_eq!(hard.fairness_metric, FairnessMetric::DpHard);
        assert_eq!(
            read("fairness_metric: eo\n").unwrap().fairness_metric,
            FairnessMetric::Eo
        );
        assert_eq!(
            read("fairness_metric: equal-opportunity\n")
                .unwrap()
                .fairness_metric,
            FairnessMetric::Eo
        );
        assert_eq!(
            read("fairness_metric: equalized-odds\n")
                .unwrap()
                .fairness_metric,
            FairnessMetric::EqualizedOdds
        );
        let message = format!("{:#}", read("fairness_metric: dp\n").err().unwrap());
        assert!(
            message.contains("line 3: fairness_metric: unknown variant `dp`, expected one of `dp-soft`, `dp-hard`, `eo`, `equal-opportunity`, `equalized-odds`"),
            "{message}"
        );
    }

    /// fairlearn's names of the notions read as the settings' own, in any of the three keys,
    /// and the trials they make are those of the settings' names (the same ids).
    #[test]
    fn fairlearn_names_of_the_notions_are_the_settings_own() {
        let ids = |train: &str| {
            let file = read_text(&format!(
                "name: n\ndataset: {{name: adult}}\ntrain: {{{train}}}\n"
            ))
            .unwrap();
            let trial = &file.points[0];
            crate::plan::trial_id(&file.dataset, "", trial)
        };
        for (alias, name) in [
            (
                "method: threshold, constraint: demographic_parity",
                "method: threshold, constraint: dp",
            ),
            (
                "method: threshold, constraint: equalized_odds",
                "method: threshold, constraint: eo",
            ),
            (
                "method: threshold, constraint: equal-opportunity",
                "method: threshold, constraint: true_positive_rate_parity",
            ),
            (
                "method: lagrangian, fairness_loss: equalized-odds",
                "method: lagrangian, fairness_loss: eo",
            ),
            (
                "method: lagrangian, fairness_loss: true_positive_rate_parity",
                "method: lagrangian, fairness_loss: equal-opportunity",
            ),
        ] {
            assert_eq!(ids(alias), ids(name), "{alias}");
        }
        let message = format!(
            "{:#}",
            read_text("name: n\ndataset: {name: adult}\ntrain: {method: lagrangian, fairness_loss: demographic_parity}\n")
                .err()
                .unwrap()
        );
        assert!(
            message.contains(
                "fairness_loss: unknown variant `demographic_parity`, expected one of `dp-squared`"
            ) && message.contains(
                "`equal-opportunity` (other spellings read: `equalized_odds`, `equalized-odds`, \
                 `true_positive_rate_parity`, `equal_opportunity`)"
            ),
            "the message lists the spellings a loss may take, and not demographic parity's: \
             {message}"
        );
    }

    #[test]
    fn selections_and_their_errors() {
        let file = read_text(
            "name: s\ndataset: {name: adult}\nselection: [test-pareto, {val-best-accuracy: {max_dp: 0.02}}, test-pareto]\n",
        )
        .unwrap();
        assert_eq!(
            file.selections,
            vec![
                Selection::TestPareto,
                Selection::ValBestAccuracy { max_dp: 0.02 }
            ]
        );
        assert_eq!(
            read_text("name: s\ndataset: {name: adult}\n")
                .unwrap()
                .selections,
            vec![Selection::Last]
        );
        let message = format!(
            "{:#}",
            read_text("name: s\ndataset: {name: adult}\nselection: [val-paretoo, {val-best-accuracy: {max_dp: -1}}]\n")
                .err()
                .unwrap()
        );
        assert!(
            message.contains("selection: unknown variant `val-paretoo`"),
            "{message}"
        );
        assert!(
            message.contains("expected max_dp ≥ 0, found -1"),
            "{message}"
        );
    }

    #[test]
    fn a_bad_schedule_and_follower_steps_are_named() {
        let file = read_text(
            "name: s\ndataset: {name: adult}\ntrain: {follower_steps: 0, lr_schedule: {exponential: {gamma_acc: 1.5, gamma_fair: 0.9, every: 0}}}\n",
        );
        let message = format!("{:#}", file.err().unwrap());
        for expected in [
            "train.follower_steps: expected at least 1",
            "train.lr_schedule.exponential.gamma_acc: expected a factor in (0, 1], found 1.5",
            "train.lr_schedule.exponential.every: expected at least 1 epoch",
        ] {
            assert!(
                message.contains(expected),
                "missing {expected:?} in {message}"
            );
        }
    }

    #[test]
    fn the_schedule_decays_each_rate_every_few_epochs() {
        let t = train_of(
            "name: s\ndataset: {name: adult}\ntrain: {lr_acc: 0.001, lr_fair: 0.0001, lr_schedule: {exponential: {gamma_acc: 0.5, gamma_fair: 0.9, every: 50}}}\n",
        );
        let close = |a: f64, b: f64| (a - b).abs() < 1e-15;
        for (epoch, accuracy, fairness) in [
            (1, 1e-3, 1e-4),
            (50, 1e-3, 1e-4),
            (51, 5e-4, 9e-5),
            (101, 2.5e-4, 8.1e-5),
            (200, 1.25e-4, 7.29e-5),
        ] {
            let rates = t.learning_rates(epoch);
            assert!(
                close(rates.accuracy, accuracy) && close(rates.fairness, fairness),
                "epoch {epoch}: {rates:?}"
            );
        }
    }
}
