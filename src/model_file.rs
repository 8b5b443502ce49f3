//! Saved models: a trained network's weights in the `safetensors` format (readable from
//! Python, PyTorch and burn), or boosted trees as their crate's JSON under the metadata key
//! `trees` (a file without tensors), with a rule over them where the method has one
//! (`threshold`'s `cuts`, `reductions`' `mixture`), and what it takes to use them on new
//! rows: the settings, the
//! trial and epoch, the features in order, the encoding and scaling the data went through,
//! the sensitive groups and the tool's version. Which epochs a trial keeps is [`Kept`]'s
//! rule: those on its own validation front, and the last.
//!
//! Tensors are `layers.{i}.weight` (`[d_in, d_out]`, so a layer is `x · W + b`, not PyTorch's
//! `[out, in]`) and `layers.{i}.bias`, input to output; every layer but the last is followed by
//! a ReLU, and the probability is the sigmoid of the last one's output.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::data::spec::Grouping;
use crate::data::{Dataset, Preprocessing};
use crate::metrics::SplitMetrics;
use crate::model::LayerWeights;
use crate::pareto::pareto_front;
use crate::results::Settings;
use crate::train::EpochMetrics;
use crate::train::boosted_trees::{Columns, Trees};
use crate::train::exponentiated_gradient::{self, Classifier, logistic};
use crate::train::fused::{self, Layer};
use crate::train::threshold_optimizer::{Mixture, Thresholds};
use crate::train::{Body, Member};

/// What the file's `format` says, so that a reader knows what it holds.
pub const FORMAT: &str = "fairbinn-sweep model 1";
/// The format of a model with a rule over its base (`threshold`'s cuts, `reductions`'
/// mixture): a reader of [`FORMAT`] alone would predict with the base and be wrong.
pub const FORMAT_WITH_RULE: &str = "fairbinn-sweep model 2";

/// `<trial_id>-e<epoch>.safetensors`.
pub fn file_name(trial_id: &str, epoch: usize) -> String {
    format!("{trial_id}-e{epoch}.safetensors")
}

/// Everything a saved model says about itself besides its weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct About {
    pub trial_id: String,
    pub config_id: String,
    pub seed: u64,
    pub epoch: usize,
    pub settings: Settings,
    pub dataset: String,
    pub feature_names: Vec<String>,
    pub group_names: Vec<String>,
    pub preprocessing: Preprocessing,
    /// The metrics `epochs.csv` holds for this epoch, to check predictions against.
    pub validation: Scores,
    pub test: Scores,
}

/// A split's headline metrics at the saved epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    pub accuracy: f64,
    pub dp_soft: f64,
    pub dp_hard: f64,
}

impl Scores {
    fn of(metrics: &SplitMetrics) -> Self {
        Self {
            accuracy: metrics.accuracy,
            dp_soft: metrics.dp_soft,
            dp_hard: metrics.dp_hard,
        }
    }
}

/// A trained model and what it is.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedModel {
    pub about: About,
    pub body: Body,
}

/// The trial a model came from, as the worker that trained it knows it.
pub struct Origin<'a> {
    pub trial_id: &'a str,
    pub config_id: &'a str,
    pub seed: u64,
    pub settings: &'a Settings,
    pub data: &'a Dataset,
}

impl SavedModel {
    /// Predicted probabilities for rows already encoded and scaled as the training rows were
    /// (with their sensitive groups, which a `threshold` model's cuts need); the same
    /// computation as training's evaluation, so the same numbers. A `threshold` model gives
    /// its base's probability shifted by its group's cut (above ½ iff past the cut), a
    /// `reductions` model its mixture's probability of a yes.
    pub fn probabilities(&self, features: &[f32], groups: Option<&[u32]>) -> Result<Vec<f32>> {
        body_probabilities(&self.body, features, self.n_features(), groups)
    }

    /// Whether predictions need each row's sensitive group (`threshold`'s cuts).
    pub fn needs_groups(&self) -> bool {
        matches!(self.body, Body::Thresholded { .. })
    }

    /// A randomized rule's probability of a yes for each row, in full precision: its
    /// recorded metrics are expected values over these (`SplitMetrics::expected`). `None`
    /// for a model that decides (a network, trees, cuts, the deterministic reduction).
    pub fn chances(&self, features: &[f32], groups: Option<&[u32]>) -> Result<Option<Vec<f64>>> {
        if !self.about.settings.method.is_randomized() {
            return Ok(None);
        }
        let inputs = self.n_features();
        Ok(Some(match &self.body {
            Body::Thresholded { base, rule } => {
                let scores = body_probabilities(base, features, inputs, None)?;
                let groups = groups.context("its thresholds need each row's sensitive group")?;
                rule.decisions(&scores, groups)
            }
            Body::Mixture(members) => mixture_pmf(members, features, inputs)?,
            Body::Network(_) | Body::Trees(_) => return Ok(None),
        }))
    }

    /// [`probabilities`](Self::probabilities), refused when one is not a number: finite but
    /// extreme weights (an edited file's) can overflow, and a NaN must not be printed as a
    /// prediction beside normal-looking metrics.
    pub fn checked_probabilities(
        &self,
        features: &[f32],
        groups: Option<&[u32]>,
    ) -> Result<Vec<f32>> {
        let probabilities = self.probabilities(features, groups)?;
        if let Some(row) = probabilities.iter().position(|p| !p.is_finite()) {
            bail!(
                "its output for row {} is not a number: its weights overflow (an edited or \
                 damaged file?)",
                row + 1
            );
        }
        Ok(probabilities)
    }

    pub fn n_features(&self) -> usize {
        self.about.feature_names.len()
    }

    /// The file's bytes: tensors, and the description as JSON texts under `__metadata__`.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        fn json<T: Serialize>(value: &T) -> String {
            serde_json::to_string(value).expect("a model's description serializes")
        }
        let a = &self.about;
        let format = match &self.body {
            Body::Thresholded { .. } | Body::Mixture(_) => FORMAT_WITH_RULE,
            Body::Network(_) | Body::Trees(_) => FORMAT,
        };
        let metadata: HashMap<String, String> = [
            ("format", format.to_string()),
            ("fairbinn_sweep_version", env!("CARGO_PKG_VERSION").into()),
            ("trial_id", a.trial_id.clone()),
            ("config_id", a.config_id.clone()),
            ("seed", a.seed.to_string()),
            ("epoch", a.epoch.to_string()),
            ("settings", json(&a.settings)),
            ("dataset", a.dataset.clone()),
            ("feature_names", json(&a.feature_names)),
            ("group_names", json(&a.group_names)),
            ("preprocessing", json(&a.preprocessing)),
            ("validation", json(&a.validation)),
            ("test", json(&a.test)),
        ]
        .into_iter()
        .chain(rule_metadata(&self.body))
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let layers = match &self.body {
            Body::Network(layers) => layers.as_slice(),
            Body::Thresholded { base, .. } => match base.as_ref() {
                Body::Network(layers) => layers.as_slice(),
                _ => &[],
            },
            Body::Trees(_) | Body::Mixture(_) => &[],
        };
        let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = layers
            .iter()
            .enumerate()
            .flat_map(|(i, l)| {
                [
                    (
                        format!("layers.{i}.weight"),
                        vec![l.d_in, l.d_out],
                        &l.weight,
                    ),
                    (format!("layers.{i}.bias"), vec![l.d_out], &l.bias),
                ]
            })
            .map(|(name, shape, values)| {
                let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
                (name, shape, bytes)
            })
            .collect();
        let views = bytes
            .iter()
            .map(|(name, shape, data)| {
                let view = TensorView::new(Dtype::F32, shape.clone(), data)?;
                Ok((name.as_str(), view))
            })
            .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()?;
        let bytes = safetensors::serialize(views, Some(metadata))?;
        Ok(sorted_metadata(bytes))
    }

    /// Write the model into `dir` under its [`file_name`].
    pub fn write(&self, dir: &Path) -> Result<PathBuf> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the models folder {}", dir.display()))?;
        let path = dir.join(file_name(&self.about.trial_id, self.about.epoch));
        crate::files::write_atomically(&path, &self.to_bytes()?)?;
        Ok(path)
    }

    /// Read a saved model; errors name the file and what is wrong with it.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = crate::files::read_bounded(path, crate::files::bounds::MODEL, "a model file")?;
        Self::from_bytes(&bytes).with_context(|| format!("{}", path.display()))
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let file =
            SafeTensors::deserialize(bytes).map_err(|e| anyhow!("not a safetensors file ({e})"))?;
        let (_, header) = SafeTensors::read_metadata(bytes)?;
        let empty = HashMap::new();
        let metadata = header.metadata().as_ref().unwrap_or(&empty);
        let text = |key: &str| {
            metadata.get(key).map(String::as_str).ok_or_else(|| {
                anyhow!("its metadata lacks `{key}`; is it a model fairbinn-sweep saved?")
            })
        };
        if ![FORMAT, FORMAT_WITH_RULE].contains(&text("format")?) {
            bail!(
                "its format is {:?}; this version of fairbinn-sweep reads {FORMAT:?} and \
                 {FORMAT_WITH_RULE:?}",
                text("format")?
            );
        }
        fn parsed<T: DeserializeOwned>(key: &str, text: &str) -> Result<T> {
            serde_json::from_str(text).map_err(|e| anyhow!("metadata `{key}`: {e}"))
        }
        let number = |key: &str| -> Result<u64> {
            let value = text(key)?;
            value
                .parse()
                .map_err(|_| anyhow!("metadata `{key}`: expected a whole number, found {value:?}"))
        };
        let about = About {
            trial_id: text("trial_id")?.to_string(),
            config_id: text("config_id")?.to_string(),
            seed: number("seed")?,
            epoch: number("epoch")? as usize,
            settings: parsed("settings", text("settings")?)?,
            dataset: text("dataset")?.to_string(),
            feature_names: parsed("feature_names", text("feature_names")?)?,
            group_names: parsed("group_names", text("group_names")?)?,
            preprocessing: parsed("preprocessing", text("preprocessing")?)?,
            validation: parsed("validation", text("validation")?)?,
            test: parsed("test", text("test")?)?,
        };
        let with_rule = |base: Body| -> Result<Body> {
            let Some(cuts) = metadata.get("cuts") else {
                return Ok(base);
            };
            let cuts: Vec<Vec<String>> = parsed("cuts", cuts)?;
            if cuts.len() != about.group_names.len() {
                bail!(
                    "metadata `cuts`: {} rules for {} groups",
                    cuts.len(),
                    about.group_names.len()
                );
            }
            let bad = |c: &[String]| anyhow!("metadata `cuts`: {c:?} is not a group's rule");
            let rule = match cuts.first().map(Vec::len) {
                Some(1) => Thresholds::Deterministic(
                    (cuts.iter())
                        .map(|c| match c.as_slice() {
                            [cut] => cut.parse::<f64>().map_err(|_| bad(c)),
                            _ => Err(bad(c)),
                        })
                        .collect::<Result<_>>()?,
                ),
                _ => Thresholds::Randomized(
                    (cuts.iter())
                        .map(|c| Mixture::from_texts(c).ok_or_else(|| bad(c)))
                        .collect::<Result<_>>()?,
                ),
            };
            Ok(Body::Thresholded {
                base: Box::new(base),
                rule,
            })
        };
        if let Some(mixture) = metadata.get("mixture") {
            let members = read_mixture(mixture, about.feature_names.len())?;
            check_preprocessing(&about, about.feature_names.len())?;
            return Ok(Self {
                about,
                body: Body::Mixture(members),
            });
        }
        if let Some(trees) = metadata.get("trees") {
            // Read now, so that a damaged file is refused here rather than at predict.
            Trees::from_json(trees)?;
            check_preprocessing(&about, about.feature_names.len())?;
            let body = with_rule(Body::Trees(trees.clone()))?;
            return Ok(Self { about, body });
        }
        let mut layers = Vec::new();
        let mut width = about.feature_names.len();
        while let Ok(weight) = file.tensor(&format!("layers.{}.weight", layers.len())) {
            let i = layers.len();
            let bias = file
                .tensor(&format!("layers.{i}.bias"))
                .map_err(|_| anyhow!("layers.{i}.weight has no layers.{i}.bias"))?;
            let (&[d_in, d_out], &[b]) = (weight.shape(), bias.shape()) else {
                bail!("layers.{i}: expected a [d_in, d_out] weight and a [d_out] bias");
            };
            if d_in != width || b != d_out {
                bail!(
                    "layers.{i}: shapes [{d_in}, {d_out}] and [{b}] do not follow the layer \
                     below ({width} outputs)"
                );
            }
            layers.push(LayerWeights {
                d_in,
                d_out,
                weight: floats(&weight, i)?,
                bias: floats(&bias, i)?,
            });
            width = d_out;
        }
        if layers.is_empty() || width != 1 {
            bail!(
                "expected layers.0 … layers.N ending in one output, found {} layers",
                layers.len()
            );
        }
        check_consistent(&about, &layers)?;
        let body = with_rule(Body::Network(layers))?;
        Ok(Self { about, body })
    }
}

/// The probabilities of `body` on `features` (`inputs` per row); see
/// [`SavedModel::probabilities`].
/// A body's probabilities for rows already encoded and scaled (`inputs` per row), with their
/// groups where its rule needs them.
pub fn body_probabilities(
    body: &Body,
    features: &[f32],
    inputs: usize,
    groups: Option<&[u32]>,
) -> Result<Vec<f32>> {
    let rows = features.len() / inputs.max(1);
    Ok(match body {
        Body::Network(layers) => {
            let n = layers.len();
            let layers: Vec<Layer> = (layers.iter().cloned().enumerate())
                .map(|(i, weights)| Layer::new(weights, i + 1 < n))
                .collect();
            fused::probabilities(&layers, features, inputs)
        }
        Body::Trees(json) => {
            Trees::from_json(json)?.probabilities(&Columns::from_rows(features, rows, inputs))
        }
        Body::Thresholded { base, rule } => {
            let scores = body_probabilities(base, features, inputs, None)?;
            let groups = groups.context("its thresholds need each row's sensitive group")?;
            rule.probabilities(&scores, groups)
        }
        Body::Mixture(members) => (mixture_pmf(members, features, inputs)?.iter())
            .map(|&q| q as f32)
            .collect(),
    })
}

/// Each row's probability of a yes under a reduction's mixture (as training computed it).
fn mixture_pmf(members: &[(f64, Member)], features: &[f32], inputs: usize) -> Result<Vec<f64>> {
    let rows = features.len() / inputs.max(1);
    let split = crate::data::Split {
        features: features.to_vec(),
        n_features: inputs,
        labels: vec![0.0; rows],
        groups: vec![0; rows],
    };
    let columns = Columns::from_rows(features, rows, inputs);
    enum Ready<'m> {
        Logistic(&'m [f64]),
        Trees(Box<Trees>),
    }
    let members = (members.iter())
        .map(|(weight, member)| {
            let classifier = match member {
                Member::Constant(yes) => Classifier::Constant(*yes),
                Member::Logistic(beta) => Classifier::Fitted(Ready::Logistic(beta)),
                Member::Trees(json) => {
                    Classifier::Fitted(Ready::Trees(Box::new(Trees::from_json(json)?)))
                }
            };
            Ok((*weight, classifier))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(exponentiated_gradient::pmf(
        &members,
        rows,
        |member| match member {
            Ready::Logistic(beta) => logistic::predict(beta, &split),
            Ready::Trees(trees) => (trees.probabilities(&columns).iter())
                .map(|&p| p > 0.5)
                .collect(),
        },
    ))
}

/// The metadata of a model's rule (and of trees, which have no tensors).
fn rule_metadata(body: &Body) -> Vec<(&'static str, String)> {
    match body {
        Body::Network(_) => Vec::new(),
        Body::Trees(trees) => vec![("trees", trees.clone())],
        Body::Thresholded { base, rule } => {
            // Each group's rule as texts: a cut may be ±∞, which JSON numbers cannot hold.
            let cuts: Vec<Vec<String>> = match rule {
                Thresholds::Deterministic(cuts) => {
                    cuts.iter().map(|c| vec![c.to_string()]).collect()
                }
                Thresholds::Randomized(rules) => rules.iter().map(Mixture::to_texts).collect(),
            };
            let mut entries = rule_metadata(base);
            entries.push((
                "cuts",
                serde_json::to_string(&cuts).expect("texts serialize"),
            ));
            entries
        }
        Body::Mixture(members) => {
            let members: Vec<serde_json::Value> = (members.iter())
                .map(|(weight, member)| match member {
                    Member::Constant(yes) => serde_json::json!({"weight": weight, "constant": yes}),
                    Member::Logistic(beta) => {
                        serde_json::json!({"weight": weight, "logistic": beta})
                    }
                    Member::Trees(trees) => serde_json::json!({"weight": weight, "trees": trees}),
                })
                .collect();
            vec![("mixture", serde_json::Value::Array(members).to_string())]
        }
    }
}

/// A saved mixture, each member checked: logistic coefficients for `inputs` features and an
/// intercept, trees this version reads, finite weights.
fn read_mixture(text: &str, inputs: usize) -> Result<Vec<(f64, Member)>> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Saved {
        weight: f64,
        constant: Option<bool>,
        logistic: Option<Vec<f64>>,
        trees: Option<String>,
    }
    let saved: Vec<Saved> =
        serde_json::from_str(text).map_err(|e| anyhow!("metadata `mixture`: {e}"))?;
    (saved.into_iter().enumerate())
        .map(|(i, m)| {
            if !m.weight.is_finite() {
                bail!("metadata `mixture`: member {i}'s weight is not a finite number");
            }
            let member = match (m.constant, m.logistic, m.trees) {
                (Some(yes), None, None) => Member::Constant(yes),
                (None, Some(beta), None) if beta.len() == inputs + 1 => Member::Logistic(beta),
                (None, Some(beta), None) => bail!(
                    "metadata `mixture`: member {i} has {} coefficients for {inputs} features \
                     and an intercept",
                    beta.len()
                ),
                (None, None, Some(trees)) => {
                    Trees::from_json(&trees)?;
                    Member::Trees(trees)
                }
                _ => bail!(
                    "metadata `mixture`: member {i} needs one of `constant`, `logistic`, `trees`"
                ),
            };
            Ok((m.weight, member))
        })
        .collect()
}

/// A model file's parts agree, or the reason they do not: a file whose description and
/// tensors disagree (edited, or another program's) would otherwise panic in `predict`, or
/// print wrong probabilities without a word.
fn check_consistent(about: &About, layers: &[LayerWeights]) -> Result<()> {
    let inputs = layers[0].d_in;
    if let Some(i) = layers.iter().position(|l| l.d_out == 0) {
        bail!("layers.{i} has no outputs (width 0)");
    }
    let finite = |values: &[f32]| values.iter().all(|v| v.is_finite());
    if let Some(i) = layers
        .iter()
        .position(|l| !finite(&l.weight) || !finite(&l.bias))
    {
        bail!("layers.{i} holds a weight that is not a finite number (NaN or infinite)");
    }
    check_preprocessing(about, inputs)
}

/// The description's encoding, scaling and groups agree with a model reading `inputs`.
fn check_preprocessing(about: &About, inputs: usize) -> Result<()> {
    let preprocessing = &about.preprocessing;
    if preprocessing.width() != inputs {
        bail!(
            "its preprocessing encodes {} inputs and its model reads {inputs}",
            preprocessing.width()
        );
    }
    if let Some(scaler) = &preprocessing.scaler
        && scaler.width() != inputs
    {
        bail!(
            "its scaler scales {} inputs and its model reads {inputs}",
            scaler.width()
        );
    }
    let sensitive = &preprocessing.table.sensitive;
    // Crossed columns keep the combinations present, small-group rules merge: no fixed count.
    let fixed = sensitive.crossed.is_empty() && sensitive.small_groups.is_none();
    let groups = match &sensitive.grouping {
        _ if !fixed => None,
        Grouping::Distinct => None,
        Grouping::Above(_) => Some(2),
        Grouping::Named(groups) => Some(groups.len()),
    };
    let names = about.group_names.len();
    if names == 0 || groups.is_some_and(|n| n != names) {
        bail!(
            "metadata `group_names`: {names} names for the {} groups of column {:?}",
            groups.map_or("distinct".to_string(), |n| n.to_string()),
            sensitive.name()
        );
    }
    Ok(())
}

/// The file with its `__metadata__` keys in sorted order: the crate writes them in a hash
/// map's order, which changes from run to run, and the same model should be the same bytes.
/// The sorted text has the same length, so no offset moves.
fn sorted_metadata(mut bytes: Vec<u8>) -> Vec<u8> {
    const HEAD: &[u8] = b"{\"__metadata__\":";
    let length = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let header: serde_json::Value =
        serde_json::from_slice(&bytes[8..8 + length]).expect("safetensors wrote JSON");
    let sorted = serde_json::to_vec(&header["__metadata__"]).expect("JSON");
    let start = 8 + HEAD.len();
    assert!(
        bytes[8..].starts_with(HEAD),
        "safetensors writes __metadata__ first"
    );
    bytes[start..start + sorted.len()].copy_from_slice(&sorted);
    bytes
}

fn floats(view: &TensorView, layer: usize) -> Result<Vec<f32>> {
    if view.dtype() != Dtype::F32 {
        bail!(
            "layers.{layer}: expected F32 tensors, found {:?}",
            view.dtype()
        );
    }
    Ok(view
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

/// What one trial keeps while it trains: the weights of the epochs on its own validation
/// front (ΔDP soft, accuracy) so far, and of its last evaluated epoch. A new epoch can only
/// push earlier ones off the front, so the front of the kept ones plus the new one is the
/// front of every epoch so far.
#[derive(Default)]
pub struct Kept {
    front: Vec<(EpochMetrics, Body)>,
    last: Option<(EpochMetrics, Body)>,
}

impl Kept {
    /// Offer an evaluated epoch and the weights it ended with.
    pub fn offer(&mut self, metrics: &EpochMetrics, weights: Body) {
        let mut points: Vec<(f64, f64)> = self.front.iter().map(|(m, _)| point(m)).collect();
        points.push(point(metrics));
        let on_front = pareto_front(&points);
        if on_front.contains(&self.front.len()) {
            let mut index = 0;
            self.front.retain(|_| {
                index += 1;
                on_front.contains(&(index - 1))
            });
            self.front.push((metrics.clone(), weights.clone()));
        }
        self.last = Some((metrics.clone(), weights));
    }

    /// Offer the epochs of `earlier` legs of a trial whose models are saved in `dir` (those
    /// its front and last epoch kept then), in epoch order: the trial then keeps what it
    /// would have kept had it trained on without stopping.
    pub fn offer_saved(
        &mut self,
        dir: &Path,
        trial_id: &str,
        earlier: &[EpochMetrics],
    ) -> Result<()> {
        for metrics in earlier {
            let path = dir.join(file_name(trial_id, metrics.epoch));
            if path.is_file() {
                let model = SavedModel::read(&path)?;
                self.offer(metrics, model.body);
            }
        }
        Ok(())
    }

    /// The kept models, in epoch order, the last epoch once even when it is on the front.
    pub fn models(self, origin: &Origin) -> Vec<SavedModel> {
        let mut kept = self.front;
        if let Some(last) = self.last
            && kept.last().is_none_or(|(m, _)| m.epoch != last.0.epoch)
        {
            kept.push(last);
        }
        kept.into_iter()
            .filter_map(|(metrics, layers)| origin.model(&metrics, layers))
            .collect()
    }
}

impl Origin<'_> {
    /// The trial's network after the epoch `metrics` describe; `None` for data made in code,
    /// which has no encoding to save.
    pub fn model(&self, metrics: &EpochMetrics, body: Body) -> Option<SavedModel> {
        Some(SavedModel {
            about: About {
                trial_id: self.trial_id.to_string(),
                config_id: self.config_id.to_string(),
                seed: self.seed,
                epoch: metrics.epoch,
                settings: self.settings.clone(),
                dataset: self.data.name.clone(),
                feature_names: self.data.feature_names.clone(),
                group_names: self.data.group_names.clone(),
                preprocessing: self.data.preprocessing.clone()?,
                validation: Scores::of(&metrics.validation),
                test: Scores::of(&metrics.test),
            },
            body,
        })
    }
}

fn point(metrics: &EpochMetrics) -> (f64, f64) {
    (metrics.validation.dp_soft, metrics.validation.accuracy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::spec::{
        Files, Header, Label, Missing, MissingAction, Scale, Sensitive, TableSpec,
    };
    use crate::data::{Encoding, FeatureColumn, Split};

    fn epoch(epoch: usize, dp: f64, accuracy: f64) -> EpochMetrics {
        let validation = SplitMetrics {
            accuracy,
            dp_soft: dp,
            ..Default::default()
        };
        EpochMetrics {
            epoch,
            train_bce: 0.5,
            test: validation.clone(),
            validation,
        }
    }

    fn weights(value: f32) -> Body {
        Body::Network(vec![
            LayerWeights {
                d_in: 2,
                d_out: 2,
                weight: vec![value, 1.0, -1.0, 0.5],
                bias: vec![0.1, -0.2],
            },
            LayerWeights {
                d_in: 2,
                d_out: 1,
                weight: vec![0.7, -0.3],
                bias: vec![0.05],
            },
        ])
    }

    fn dataset() -> Dataset {
        let split = Split {
            features: vec![0.0, 1.0],
            n_features: 2,
            labels: vec![1.0],
            groups: vec![0],
        };
        let table = TableSpec {
            files: Files::TrainTest {
                train: "a.csv".into(),
                test: "b.csv".into(),
            },
            delimiter: b',',
            header: Header::Present,
            columns: None,
            comment: None,
            filters: Vec::new(),
            derived: Vec::new(),
            label: Label::Above {
                column: "y".into(),
                threshold: 0.5,
            },
            sensitive: Sensitive {
                column: "s".into(),
                grouping: crate::data::spec::Grouping::Distinct,
                crossed: Vec::new(),
                small_groups: None,
            },
            categorical: Vec::new(),
            numeric: Vec::new(),
            drop: Vec::new(),
            features: None,
            missing: Missing {
                tokens: vec!["?".into()],
                action: MissingAction::Impute,
            },
            scale: Scale::None,
        };
        Dataset {
            preprocessing: Some(Preprocessing {
                table,
                columns: vec![
                    FeatureColumn {
                        column: "x".into(),
                        encoding: Encoding::Number { fill: 2.5 },
                    },
                    FeatureColumn {
                        column: "c".into(),
                        encoding: Encoding::Category {
                            vocabulary: vec!["a".into(), "b".into()],
                            fill: "a".into(),
                        },
                    },
                ],
                scaler: None,
            }),
            ..Dataset::in_memory("made", &["x", "c_b"], &["p", "q"], split)
        }
    }

    /// Epochs (ΔDP, accuracy): 1 (0.10, 0.80), 2 (0.05, 0.81) pushes 1 off, 3 (0.20, 0.85),
    /// 4 (0.06, 0.70) dominated by 2, 5 (0.20, 0.85) the same as 3 (the first is kept).
    /// The front is 2 and 3, plus the last epoch, 5: what `pareto_front` says of all five.
    #[test]
    fn a_trial_keeps_its_validation_front_and_its_last_epoch() {
        let data = dataset();
        let settings = Settings::default();
        let origin = Origin {
            trial_id: "t",
            config_id: "c",
            seed: 1,
            settings: &settings,
            data: &data,
        };
        let epochs = [
            epoch(1, 0.10, 0.80),
            epoch(2, 0.05, 0.81),
            epoch(3, 0.20, 0.85),
            epoch(4, 0.06, 0.70),
            epoch(5, 0.20, 0.85),
        ];
        let mut kept = Kept::default();
        for (i, metrics) in epochs.iter().enumerate() {
            kept.offer(metrics, weights(i as f32));
        }
        let models = kept.models(&origin);
        let saved: Vec<usize> = models.iter().map(|m| m.about.epoch).collect();
        assert_eq!(saved, [2, 3, 5]);
        let all: Vec<(f64, f64)> = epochs.iter().map(point).collect();
        let mut front: Vec<usize> = pareto_front(&all).iter().map(|&i| i + 1).collect();
        front.sort_unstable();
        assert_eq!(front, [2, 3]);
        // Each with the weights it ended with.
        assert_eq!(models[1].body, weights(2.0));
        assert_eq!(models[2].body, weights(4.0));
        // Data made in code has no encoding: nothing to save.
        let bare = Dataset {
            preprocessing: None,
            ..data.clone()
        };
        let origin = Origin {
            data: &bare,
            ..origin
        };
        let mut kept = Kept::default();
        kept.offer(&epochs[0], weights(0.0));
        assert!(kept.models(&origin).is_empty());
    }

    #[test]
    fn a_model_reads_back_as_written_and_predicts_by_hand() {
        let data = dataset();
        let settings = Settings {
            lr_acc: 0.003,
            ..Settings::default()
        };
        let origin = Origin {
            trial_id: "t9",
            config_id: "c9",
            seed: 7,
            settings: &settings,
            data: &data,
        };
        let model = origin.model(&epoch(4, 0.01, 0.9), weights(2.0)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = model.write(dir.path()).unwrap();
        assert_eq!(path.file_name().unwrap(), "t9-e4.safetensors");
        let back = SavedModel::read(&path).unwrap();
        assert_eq!(back, model);
        // The same model is the same bytes (metadata in sorted order, not a hash map's).
        assert!(model.to_bytes().unwrap() == std::fs::read(&path).unwrap());
        // x = (1, 3): hidden = relu((2·1 − 1·3 + 0.1, 1·1 + 0.5·3 − 0.2)) = (0, 2.3);
        // logit = 0.7·0 − 0.3·2.3 + 0.05 = −0.64.
        let p = back.probabilities(&[1.0, 3.0], None).unwrap();
        assert!((p[0] - 1.0 / (1.0 + 0.64f32.exp())).abs() < 1e-6, "{p:?}");
    }

    #[test]
    fn files_that_are_not_our_models_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.safetensors");
        std::fs::write(&path, b"not a model").unwrap();
        let error = format!("{:#}", SavedModel::read(&path).unwrap_err());
        assert!(
            error.contains("m.safetensors: not a safetensors file"),
            "{error}"
        );
        // A safetensors file of someone else's: no metadata of ours.
        let bytes = [1.0f32, 2.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<u8>>();
        let view = TensorView::new(Dtype::F32, vec![2], &bytes).unwrap();
        std::fs::write(&path, safetensors::serialize([("w", view)], None).unwrap()).unwrap();
        let error = format!("{:#}", SavedModel::read(&path).unwrap_err());
        assert!(error.contains("its metadata lacks `format`"), "{error}");
        let error = format!(
            "{:#}",
            SavedModel::read(&dir.path().join("none.safetensors")).unwrap_err()
        );
        assert!(
            error.contains("cannot read") && error.contains("none.safetensors"),
            "{error}"
        );
    }
}
