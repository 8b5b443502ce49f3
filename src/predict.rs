//! Using a saved model: `predict` on a file of new rows, and the per-row predictions of a
//! sweep's selected points (`--save-predictions`). Both write the same columns, which is
//! what `audit` reads.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::io::{BufWriter, IsTerminal};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rayon::prelude::*;

use crate::analysis::{Analysis, Point, Selected};
use crate::data::{NewRows, Splits};
use crate::metrics::SplitMetrics;
use crate::model_file::{self, SavedModel};
use crate::plan::{Plan, Trial};
use crate::results::layout;
use crate::results::{Settings, TrialRecord};
use crate::selection::Selection;
use crate::train::{self, Backend};

/// One row's prediction, with its group and label when known.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// The row's line in its file, or its position in the test split (both from 1).
    pub row: u64,
    pub probability: f32,
    /// 1 when the probability exceeds 0.5, as every metric of the tool counts it.
    pub decision: u8,
    pub group: Option<String>,
    pub label: Option<u8>,
}

/// A saved model's predictions for a file's rows, and what to tell the user about them.
pub struct Predicted {
    pub rows: Vec<Prediction>,
    pub notes: String,
}

/// Predict every row of `data` with `model`; nothing is returned for a file it refuses.
pub fn predict_file(model: &SavedModel, data: &Path) -> Result<Predicted> {
    let about = &model.about;
    let new = about.preprocessing.encode_file(data, &about.group_names)?;
    let groups = match model.needs_groups() {
        true => Some(groups_for_cuts(model, data, &new)?),
        false => None,
    };
    let probabilities = model.checked_probabilities(&new.features, groups.as_deref())?;
    let chances = model.chances(&new.features, groups.as_deref())?;
    let rows = predictions(model, &new, &probabilities, chances.as_deref());
    let notes = notes(model, data, &new, &probabilities, chances.as_deref());
    Ok(Predicted { rows, notes })
}

/// Each row's sensitive group, which a `threshold` model's cuts need; an error names the
/// column, or the first row without a group.
fn groups_for_cuts(model: &SavedModel, data: &Path, new: &NewRows) -> Result<Vec<u32>> {
    let sensitive = &model.about.preprocessing.table.sensitive;
    let column = sensitive.name();
    let Some(groups) = &new.groups else {
        let lacks = match sensitive.crossed.is_empty() {
            true => format!("has no column {column:?}"),
            false => format!("lacks one of the sensitive columns {column}"),
        };
        bail!(
            "{}: {lacks}; this model's group thresholds need each row's sensitive group",
            data.display()
        );
    };
    (groups.iter().zip(&new.lines))
        .map(|(group, line)| {
            group.with_context(|| {
                format!(
                    "{}: line {line}: column {column:?} is in none of the model's groups ({}); \
                     its group thresholds need one",
                    data.display(),
                    model.about.group_names.join(", ")
                )
            })
        })
        .collect()
}

/// Each row's prediction. A randomized rule's decision is drawn with its probability of a
/// yes (`chances`), from the model's seed, so the same file gets the same draws.
fn predictions(
    model: &SavedModel,
    new: &NewRows,
    probabilities: &[f32],
    chances: Option<&[f64]>,
) -> Vec<Prediction> {
    use rand::{RngExt, SeedableRng};
    let names = &model.about.group_names;
    let mut draws = rand_chacha::ChaCha8Rng::seed_from_u64(model.about.seed);
    (0..new.lines.len())
        .map(|i| Prediction {
            row: new.lines[i],
            probability: probabilities[i],
            decision: match chances {
                Some(q) => u8::from(draws.random::<f64>() < q[i]),
                None => u8::from(probabilities[i] > 0.5),
            },
            group: new
                .groups
                .as_ref()
                .and_then(|g| g[i])
                .map(|g| names[g as usize].clone()),
            label: new.labels.as_ref().and_then(|l| l[i]).map(|y| y as u8),
        })
        .collect()
}

/// What was predicted, what was left out or unseen, and, for rows with a label and a group,
/// the metrics `epochs.csv` reports (computed by the same function).
fn notes(
    model: &SavedModel,
    data: &Path,
    new: &NewRows,
    probabilities: &[f32],
    chances: Option<&[f64]>,
) -> String {
    let mut out = String::new();
    let about = &model.about;
    let _ = writeln!(
        out,
        "{}: {} rows predicted by trial {} at epoch {} ({})",
        data.display(),
        new.lines.len(),
        about.trial_id,
        about.epoch,
        about.settings.describe()
    );
    if new.left_out > 0 {
        let _ = writeln!(
            out,
            "  {} rows left out: a feature is missing, and the training rows were read with \
             missing: drop",
            new.left_out
        );
    }
    for (column, (count, example)) in &new.unseen {
        let _ = writeln!(
            out,
            "  warning: column {column}: {count} rows hold values training never saw (e.g. \
             {example:?}); they are encoded as zeros in its columns, as training encoded a \
             category it had no column for"
        );
    }
    let (Some(labels), Some(groups)) = (&new.labels, &new.groups) else {
        let _ = writeln!(out, "  (no label and group columns both: no metrics)");
        return out;
    };
    let known: Vec<usize> = (0..labels.len())
        .filter(|&i| labels[i].is_some() && groups[i].is_some())
        .collect();
    if known.is_empty() {
        return out;
    }
    let labels: Vec<f32> = known.iter().map(|&i| labels[i].unwrap()).collect();
    let groups: Vec<u32> = known.iter().map(|&i| groups[i].unwrap()).collect();
    let n = about.group_names.len();
    // A randomized rule's recorded metrics are expected values over its draws.
    let (metrics, expected) = match chances {
        Some(q) => {
            let q: Vec<f64> = known.iter().map(|&i| q[i]).collect();
            (SplitMetrics::expected(&q, &labels, &groups, n), "expected ")
        }
        None => {
            let p: Vec<f32> = known.iter().map(|&i| probabilities[i]).collect();
            (SplitMetrics::compute(&p, &labels, &groups, n), "")
        }
    };
    let _ = writeln!(
        out,
        "  on the {} rows with a label and a group: {expected}accuracy {}, ΔDP soft {}, ΔDP hard {}",
        known.len(),
        metrics.accuracy,
        metrics.dp_soft,
        metrics.dp_hard
    );
    let _ = writeln!(
        out,
        "  (epochs.csv, test split, at this epoch: accuracy {}, ΔDP soft {}, ΔDP hard {})",
        about.test.accuracy, about.test.dp_soft, about.test.dp_hard
    );
    out
}

/// What `--save-predictions` reads.
pub struct SelectedPredictions<'a> {
    /// The policies whose points are written.
    pub selections: &'a [Selection],
    pub analysis: &'a Analysis,
    pub plan: &'a Plan,
    pub records: &'a [TrialRecord],
    /// Each trial's data (with `split: pooled`, its seed's split and test rows).
    pub splits: &'a Splits<'a>,
    pub results_dir: &'a Path,
    /// Save retrained models too (the experiment's `save_models`).
    pub save_models: bool,
    pub jobs: usize,
}

/// `--save-predictions`: each test row's prediction at every point each selection policy
/// picked, for every finished seed of the point's configuration, in
/// `predictions/<selection>.csv`. A model that was not saved (its epoch is on the
/// configuration's front but not on that seed's own, or `save_models: false`) is trained
/// again to that epoch: training is deterministic, so it is the model the sweep had.
pub fn save_selected(request: &SelectedPredictions) -> Result<Vec<PathBuf>> {
    let SelectedPredictions {
        selections,
        analysis,
        plan,
        records,
        splits,
        results_dir,
        save_models,
        jobs,
    } = *request;
    let chosen: Vec<&Selected> = (analysis.selected.iter())
        .filter(|s| selections.contains(&s.selection))
        .collect();
    // The downstream selection's numbers are classifiers' fitted on a representation, not the
    // model's own predictions, which would misreport them.
    let (downstream, chosen): (Vec<&Selected>, Vec<&Selected>) =
        (chosen.into_iter()).partition(|s| s.selection == crate::selection::Selection::Downstream);
    if !downstream.is_empty() {
        eprintln!(
            "the downstream selection has no predictions file: its points are scored by \
             classifiers fitted on each model's representation, not by the model's own outputs"
        );
    }
    // Finished trials and their last epochs: a collapsed trial's later epochs are its last.
    let ok: HashMap<&str, usize> = (records.iter())
        .filter(|r| r.status.reports_epochs())
        .map(|r| (r.trial_id.as_str(), r.last_epoch))
        .collect();
    let mut seeds: HashMap<&str, Vec<&Trial>> = HashMap::new();
    for trial in plan
        .trials
        .iter()
        .filter(|t| ok.contains_key(t.id.as_str()))
    {
        seeds.entry(&trial.config_id).or_default().push(trial);
    }
    let seeds_of = |point: &Point| seeds.get(point.config_id.as_str()).into_iter().flatten();
    let mut needed: BTreeMap<&str, (&Trial, BTreeSet<usize>)> = BTreeMap::new();
    // `threshold` and `reductions` points are not one model's outputs: a model's
    // predictions would misreport them.
    let (points, left_out): (Vec<&Point>, Vec<&Point>) = (chosen.iter())
        .flat_map(|s| &s.points)
        .partition(|p| p.settings.method.has_own_model());
    if let Some(point) = left_out.first() {
        eprintln!(
            "{} selected points of post-processing, fitted-whole or representation methods ({} \
             …) are left out of the predictions: they have no saved model of their own to \
             predict with",
            left_out.len(),
            point.settings.method
        );
    }
    for point in points {
        for &trial in seeds_of(point) {
            let entry = needed.entry(&trial.id).or_insert((trial, BTreeSet::new()));
            entry
                .1
                .insert(point.summary.epoch.min(ok[trial.id.as_str()]));
        }
    }
    let models_dir = layout::models_dir(results_dir);
    let to_train = needed
        .values()
        .filter(|(trial, epochs)| {
            let saved = |&e: &usize| {
                models_dir
                    .join(model_file::file_name(&trial.id, e))
                    .is_file()
            };
            !epochs.iter().all(saved)
        })
        .count();
    let progress = Recovering::new(to_train);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .context("cannot start the worker threads")?;
    let found = Found {
        splits,
        models_dir: &models_dir,
        save_models,
        progress: &progress,
    };
    let probabilities: HashMap<(String, usize), Vec<f32>> = pool
        .install(|| {
            let trials: Vec<_> = needed.values().collect();
            (trials.into_par_iter())
                .map(|(trial, epochs)| found.test_probabilities(trial, epochs))
                .collect::<Result<Vec<_>>>()
        })?
        .into_iter()
        .flatten()
        .collect();
    progress.finish();

    let dir = layout::predictions_dir(results_dir);
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the predictions folder {}", dir.display()))?;
    let mut written = Vec::new();
    for selected in chosen {
        let path = dir.join(format!("{}.csv", selected.selection.file_stem()));
        crate::files::replace_with(&path, |file| {
            let mut out = Writer::new("test_row", true, BufWriter::new(file))?;
            for point in (selected.points.iter()).filter(|p| p.settings.method.has_own_model()) {
                let epoch = point.summary.epoch;
                for &trial in seeds_of(point) {
                    let trained = epoch.min(ok[trial.id.as_str()]);
                    let p = &probabilities[&(trial.id.clone(), trained)];
                    let data = splits.of_seed(trial.spec.train.seed);
                    let test = &data.test;
                    for (i, &probability) in p.iter().enumerate() {
                        out.row(
                            Some((&trial.id, epoch)),
                            &Prediction {
                                row: i as u64 + 1,
                                probability,
                                decision: u8::from(probability > 0.5),
                                group: Some(data.group_names[test.groups[i] as usize].clone()),
                                label: Some(test.labels[i] as u8),
                            },
                        )?;
                    }
                }
            }
            out.finish()?;
            Ok(())
        })?;
        written.push(path);
    }
    Ok(written)
}

/// Progress of the trials trained again for models that were not saved.
struct Recovering {
    bar: Option<indicatif::ProgressBar>,
    total: usize,
    done: std::sync::atomic::AtomicUsize,
}

impl Recovering {
    fn new(total: usize) -> Self {
        let terminal = std::io::stderr().is_terminal();
        if total > 0 {
            eprintln!(
                "{total} trials train again to the selected epochs their saved models lack \
                 (an epoch on its configuration's front but not on the seed's own, or \
                 save_models: false)"
            );
        }
        Self {
            bar: (terminal && total > 0)
                .then(|| crate::sweep::execute::progress_bar(total, "trials")),
            total,
            done: Default::default(),
        }
    }

    fn trained(&self, trial: &str, epoch: usize) {
        let done = self.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        match &self.bar {
            Some(bar) => bar.inc(1),
            None => eprintln!(
                "[{done}/{}] {trial}: trained again to epoch {epoch}",
                self.total
            ),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}

/// Where a trial's models are found, or how they are made again.
struct Found<'a> {
    splits: &'a Splits<'a>,
    models_dir: &'a Path,
    save_models: bool,
    progress: &'a Recovering,
}

/// A saved model: its trial and epoch.
type ModelKey = (String, usize);

impl Found<'_> {
    /// The test split's probabilities of the trial's models at `epochs`, each checked
    /// against the test accuracy recorded when it was trained (to the last digit for the
    /// fused engine, whose forward pass `predict` shares); the models are dropped at once.
    fn test_probabilities(
        &self,
        trial: &Trial,
        epochs: &BTreeSet<usize>,
    ) -> Result<Vec<(ModelKey, Vec<f32>)>> {
        let test = &self.splits.of_seed(trial.spec.train.seed).test;
        let models = self.models(trial, epochs)?;
        let exact = trial.spec.train.backend == Backend::Fused;
        models
            .into_iter()
            .map(|model| {
                let p = model.probabilities(&test.features, Some(&test.groups))?;
                let accuracy = crate::metrics::accuracy(&p, &test.labels);
                let (id, epoch) = (model.about.trial_id, model.about.epoch);
                if exact && accuracy != model.about.test.accuracy {
                    bail!(
                        "trial {id} epoch {epoch}: the model's test accuracy is {accuracy}, \
                         {} when it was trained; the data changed since",
                        model.about.test.accuracy
                    );
                }
                Ok(((id, epoch), p))
            })
            .collect()
    }

    /// The trial's models at `epochs`: read where saved, the others trained again (and
    /// saved, unless `save_models: false`).
    fn models(&self, trial: &Trial, epochs: &BTreeSet<usize>) -> Result<Vec<SavedModel>> {
        let data = self.splits.of_seed(trial.spec.train.seed);
        let (models_dir, progress) = (self.models_dir, self.progress);
        let mut models = Vec::new();
        let mut missing = BTreeSet::new();
        for &epoch in epochs {
            let path = models_dir.join(model_file::file_name(&trial.id, epoch));
            match path.is_file() {
                true => models.push(SavedModel::read(&path)?),
                false => {
                    missing.insert(epoch);
                }
            }
        }
        if let Some(&last) = missing.last() {
            let spec = &trial.spec;
            let settings = Settings::of(spec, data.train.n_features);
            let origin = model_file::Origin {
                trial_id: &trial.id,
                config_id: &trial.config_id,
                seed: spec.train.seed,
                settings: &settings,
                data,
            };
            let mut trained = Vec::new();
            let mut until = spec.train;
            until.epochs = last;
            train::train(&spec.architecture, &until, data, &mut |metrics, fitted| {
                if missing.contains(&metrics.epoch) {
                    trained.push(origin.model(metrics, fitted.body()));
                }
            });
            for model in trained {
                let model = model.context("data made in code has no encoding")?;
                if self.save_models {
                    model.write(models_dir)?;
                }
                models.push(model);
            }
            progress.trained(&trial.id, last);
        }
        Ok(models)
    }
}

/// Predictions as CSV: `row,probability,decision,group,label` (the first column named as
/// given), with `trial_id` and `epoch` first in a file of many models' rows.
pub struct Writer<W: std::io::Write> {
    csv: csv::Writer<W>,
}

impl<W: std::io::Write> Writer<W> {
    pub fn new(row: &str, with_origin: bool, out: W) -> Result<Self> {
        let mut csv = csv::Writer::from_writer(out);
        let head = [row, "probability", "decision", "group", "label"];
        match with_origin {
            true => csv.write_record(["trial_id", "epoch"].iter().chain(&head))?,
            false => csv.write_record(head)?,
        }
        Ok(Self { csv })
    }

    pub fn row(&mut self, origin: Option<(&str, usize)>, p: &Prediction) -> Result<()> {
        if let Some((trial, epoch)) = origin {
            self.csv.write_field(trial)?;
            self.csv.write_field(epoch.to_string())?;
        }
        self.csv.write_record([
            p.row.to_string(),
            p.probability.to_string(),
            p.decision.to_string(),
            p.group.clone().unwrap_or_default(),
            p.label.map(|y| y.to_string()).unwrap_or_default(),
        ])?;
        Ok(())
    }

    pub fn finish(mut self) -> Result<W> {
        self.csv.flush()?;
        self.csv
            .into_inner()
            .map_err(|e| anyhow::anyhow!("{}", e.error()))
    }
}
