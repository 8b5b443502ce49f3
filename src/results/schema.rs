//! The rows of a results folder's CSVs: `trials.csv` (who a trial is, its settings, how it
//! ended) and `epochs.csv` (one split of one trial after one epoch), as this version writes
//! and reads them. Config, saved models and the analysis depend on these types only.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::metrics::SplitMetrics;
use crate::train::{
    EpochMetrics, Evaluated, FairnessLoss, FollowerBatch, Method, Optimizer, StepOrder, TrialSpec,
    threshold_optimizer::Constraint,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Ok,
    /// The network's outputs stopped being finite (NaN or infinite).
    Diverged,
    /// Stopped early (`patience`): its validation predictions were degenerate, the same for
    /// nearly everyone, for that many epochs in a row. Finished, as `ok`.
    Collapsed,
    /// Anything else went wrong (a panic, an error); rerun on the next run.
    Failed,
    /// Trained to a rung of a halving search, its checkpoint saved: it goes on to the next
    /// rung if the rung's decision keeps its configuration. Not finished.
    Paused,
    /// Stopped at a rung of a halving search: its configuration was not among those kept.
    /// Finished; its epochs count as any other's.
    Halved,
}

impl Status {
    /// Whether the trial's epochs are reported: all but a diverged or failed trial's.
    pub fn reports_epochs(self) -> bool {
        matches!(
            self,
            Self::Ok | Self::Collapsed | Self::Paused | Self::Halved
        )
    }
}

/// One row of `trials.csv`: who the trial is, its settings, how it ended. Written as a
/// tuple of its parts, the one shape of nested row the csv crate writes with a header.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrialRow {
    pub head: TrialHead,
    pub settings: Settings,
    pub outcome: TrialOutcome,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct TrialHead {
    pub trial_id: String,
    /// The trial's settings without the seed: seeds of one configuration share it.
    pub config_id: String,
    pub seed: u64,
}

/// A configuration's settings as written in the CSVs; those its method ignores are empty.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Settings {
    pub method: Method,
    pub eta: Option<f64>,
    pub lr_acc: f64,
    pub lr_fair: Option<f64>,
    pub epochs: usize,
    pub batch_size: usize,
    pub fairness_loss: Option<FairnessLoss>,
    pub step_order: Option<StepOrder>,
    pub follower_batch: Option<FollowerBatch>,
    pub follower_steps: Option<usize>,
    pub shuffle: bool,
    pub lr_schedule: String,
    /// The collapse stop's patience; empty when off.
    pub patience: Option<usize>,
    /// Each player's optimizer (the fairness player's for bilevel methods only; both empty in
    /// rows written before there was a choice, all Adam), and SGD's momentum.
    pub optimizer_acc: Option<Optimizer>,
    pub optimizer_fair: Option<Optimizer>,
    pub momentum: Option<f64>,
    /// `stackelberg`'s look-ahead.
    pub unroll: Option<usize>,
    /// `threshold`'s and `reductions`' constraint; `threshold`'s tolerance.
    #[serde(default)]
    pub constraint: Option<Constraint>,
    #[serde(default)]
    pub tolerance: Option<f64>,
    /// `reductions`' bound on each group's gap to everyone.
    #[serde(default)]
    pub difference_bound: Option<f64>,
    /// `adversarial`'s α, adversary learning rate and hidden units.
    #[serde(default)]
    pub alpha: Option<f64>,
    #[serde(default)]
    pub lr_adv: Option<f64>,
    #[serde(default)]
    pub adversary_width: Option<usize>,
    pub accuracy_layers: usize,
    pub fairness_position: usize,
    pub fairness_layers: usize,
    pub width: usize,
    /// The settings of methods added since these columns were fixed, by name (those the
    /// method reads): written after them, a column each ([`generated_columns`]).
    #[serde(skip)]
    pub generated: Vec<(&'static str, String)>,
}

/// The settings columns past the first release's fixed ones: every method's setting that has
/// no field in [`Settings`], in registry order, so that declaring a setting in a method's file
/// is all it takes to get its column. None in this build's registry outside tests.
pub fn generated_columns() -> &'static [&'static str] {
    static COLUMNS: OnceLock<Vec<&'static str>> = OnceLock::new();
    COLUMNS.get_or_init(|| {
        let (fixed, _) = as_csv(&Settings::default());
        (Method::all_knobs().into_iter())
            .map(|k| k.name)
            .filter(|name| !fixed.iter().any(|f| f == *name))
            .collect()
    })
}

impl Settings {
    /// A trial's settings: the network's, and its method's (`TrainSpec::knobs`, which holds
    /// those it reads and no others: the rest stay empty).
    pub fn of(spec: &TrialSpec, n_features: usize) -> Self {
        let (t, a) = (&spec.train, &spec.architecture);
        let k = &t.knobs;
        Self {
            method: t.method,
            eta: k.number("eta"),
            lr_acc: t.lr_acc,
            lr_fair: k.number("lr_fair"),
            epochs: t.epochs,
            batch_size: t.batch_size,
            fairness_loss: k.choice("fairness_loss").and_then(FairnessLoss::parse),
            step_order: k.choice("step_order").and_then(StepOrder::parse),
            follower_batch: k.choice("follower_batch").and_then(FollowerBatch::parse),
            follower_steps: k.count("follower_steps"),
            shuffle: t.shuffle,
            lr_schedule: t
                .lr_schedule
                .map_or("none".into(), |schedule| schedule.to_string()),
            patience: (t.patience > 0).then_some(t.patience),
            optimizer_acc: Some(t.optimizer_acc),
            optimizer_fair: k.choice("optimizer_fair").and_then(Optimizer::parse),
            momentum: t.uses_sgd().then_some(t.momentum),
            unroll: k.count("unroll"),
            constraint: k.choice("constraint").and_then(Constraint::parse),
            tolerance: k.number("tolerance"),
            difference_bound: k.number("difference_bound"),
            alpha: k.number("alpha"),
            lr_adv: k.number("lr_adv"),
            adversary_width: k.count("adversary_width"),
            accuracy_layers: a.accuracy_layers,
            fairness_position: a.fairness_position,
            fairness_layers: a.fairness_layers,
            width: a.width.unwrap_or(n_features),
            generated: (generated_columns().iter())
                .filter_map(|&name| k.get(name).map(|value| (name, value.to_string())))
                .collect(),
        }
    }

    /// `fairbinn η=100`
    pub fn describe(&self) -> String {
        match self.eta {
            Some(eta) => format!("{} η={eta}", self.method),
            None => self.method.to_string(),
        }
    }

    /// (column, value) pairs, as written in the CSVs: the fixed columns, then the generated.
    pub fn cells(&self) -> Vec<(String, String)> {
        let (header, record) = as_csv(self);
        let fixed = (header.iter().zip(record.iter())).map(|(h, v)| (h.to_string(), v.to_string()));
        let generated = generated_columns().iter().map(|&name| {
            let value = self.generated.iter().find(|(n, _)| *n == name);
            (
                name.to_string(),
                value.map_or(String::new(), |(_, v)| v.clone()),
            )
        });
        fixed.chain(generated).collect()
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct TrialOutcome {
    pub status: Status,
    pub error: String,
    /// Epochs completed (fewer than planned when the trial diverged).
    pub last_epoch: usize,
    /// The last epoch's metrics, for a quick look; selected points are in `aggregate.csv`.
    pub val_accuracy: Option<f64>,
    pub val_dp_soft: Option<f64>,
    pub test_accuracy: Option<f64>,
    pub test_dp_soft: Option<f64>,
    pub test_dp_hard: Option<f64>,
    pub seconds: f64,
}

/// What a later run reads back from `trials.csv`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TrialRecord {
    pub trial_id: String,
    pub status: Status,
    pub error: String,
    /// Epochs trained: `epochs.csv` has two rows (validation, test) for each.
    pub last_epoch: usize,
    pub val_accuracy: Option<f64>,
    pub val_dp_soft: Option<f64>,
    pub test_accuracy: Option<f64>,
    pub test_dp_soft: Option<f64>,
    pub test_dp_hard: Option<f64>,
    pub seconds: f64,
}

impl TrialRecord {
    /// How the trial ended, as recorded.
    pub fn outcome(&self) -> TrialOutcome {
        TrialOutcome {
            status: self.status,
            error: self.error.clone(),
            last_epoch: self.last_epoch,
            val_accuracy: self.val_accuracy,
            val_dp_soft: self.val_dp_soft,
            test_accuracy: self.test_accuracy,
            test_dp_soft: self.test_dp_soft,
            test_dp_hard: self.test_dp_hard,
            seconds: self.seconds,
        }
    }
}

/// One row of `epochs.csv`: one split of one trial after one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRow {
    pub trial_id: String,
    pub epoch: usize,
    pub split: Evaluated,
    pub accuracy: f64,
    pub bce: f64,
    pub dp_soft: f64,
    pub dp_hard: f64,
    pub eo: f64,
    pub positive_rate: f64,
    pub probability_std: f64,
    /// Each sensitive group's positive-prediction rate, in group order (empty in rows
    /// written before this column existed).
    #[serde(default)]
    pub group_positive_rates: GroupRates,
    /// The epoch's training loss (mean BCE of the leader's minibatches), on both of its
    /// rows; empty in rows written before this column existed.
    #[serde(default)]
    pub train_bce: Option<f64>,
    /// Equalized odds (the larger of the TPR and FPR gaps); empty in rows written before
    /// this column existed.
    #[serde(default)]
    pub equalized_odds: Option<f64>,
}

/// Per-group rates in one CSV cell: space-separated, six decimals.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GroupRates(pub Vec<f64>);

impl Serialize for GroupRates {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let cells: Vec<String> = self.0.iter().map(|rate| format!("{rate:.6}")).collect();
        serializer.serialize_str(&cells.join(" "))
    }
}

impl<'de> Deserialize<'de> for GroupRates {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.split_whitespace()
            .map(|rate| rate.parse().map_err(serde::de::Error::custom))
            .collect::<Result<_, _>>()
            .map(GroupRates)
    }
}

impl EpochRow {
    pub fn new(trial_id: &str, epoch: usize, split: Evaluated, m: &SplitMetrics) -> Self {
        Self {
            trial_id: trial_id.to_string(),
            epoch,
            split,
            accuracy: m.accuracy,
            bce: m.bce,
            dp_soft: m.dp_soft,
            dp_hard: m.dp_hard,
            eo: m.eo,
            positive_rate: m.positive_rate,
            probability_std: m.probability_std,
            group_positive_rates: GroupRates(m.group_positive_rates.clone()),
            train_bce: None,
            equalized_odds: Some(m.equalized_odds).filter(|gap| !gap.is_nan()),
        }
    }

    /// The rows of an epoch's metrics: validation, then test, each with the training loss.
    pub fn of_epoch(trial_id: &str, m: &EpochMetrics) -> [Self; 2] {
        let train_bce = Some(m.train_bce).filter(|loss| loss.is_finite());
        [
            (Evaluated::Validation, &m.validation),
            (Evaluated::Test, &m.test),
        ]
        .map(|(split, metrics)| Self {
            train_bce,
            ..Self::new(trial_id, m.epoch, split, metrics)
        })
    }

    pub fn metrics(&self) -> SplitMetrics {
        SplitMetrics {
            accuracy: self.accuracy,
            bce: self.bce,
            dp_soft: self.dp_soft,
            dp_hard: self.dp_hard,
            eo: self.eo,
            equalized_odds: self.equalized_odds.unwrap_or(f64::NAN),
            positive_rate: self.positive_rate,
            probability_std: self.probability_std,
            group_positive_rates: self.group_positive_rates.0.clone(),
        }
    }
}

impl TrialRow {
    /// Its `trials.csv` header and record: who the trial is, its settings (as
    /// [`Settings::cells`]), how it ended.
    pub(super) fn csv(&self) -> (csv::StringRecord, csv::StringRecord) {
        let (head, head_values) = as_csv(&self.head);
        let (outcome, outcome_values) = as_csv(&self.outcome);
        let cells = self.settings.cells();
        let header = (head.iter())
            .chain(cells.iter().map(|(h, _)| h.as_str()))
            .chain(outcome.iter())
            .collect();
        let record = (head_values.iter())
            .chain(cells.iter().map(|(_, v)| v.as_str()))
            .chain(outcome_values.iter())
            .collect();
        (header, record)
    }
}

/// The headers of `trials.csv` and `epochs.csv` this version writes.
pub(super) fn headers() -> (csv::StringRecord, csv::StringRecord) {
    (
        TrialRow::default().csv().0,
        as_csv(&EpochRow::new(
            "",
            0,
            Evaluated::Test,
            &SplitMetrics::default(),
        ))
        .0,
    )
}

/// The header and the record the csv crate writes for `row`.
pub fn as_csv<T: Serialize>(row: &T) -> (csv::StringRecord, csv::StringRecord) {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.serialize(row).expect("rows serialize");
    let text = writer.into_inner().expect("in memory");
    let mut reader = csv::Reader::from_reader(text.as_slice());
    let header = reader.headers().expect("a header").clone();
    let record = reader.records().next().and_then(Result::ok);
    (header, record.unwrap_or_default())
}
