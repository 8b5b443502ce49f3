//! Training one trial: the epoch loop and minibatches shared by every method, evaluation after
//! each epoch, and divergence detection. A method's rule (methods/) says which half-steps an
//! iteration takes; an engine computes them: fused/ (the default) or burn's autodiff
//! (autodiff/).

mod autodiff;
pub mod boosted_trees;
pub mod exponentiated_gradient;
pub(crate) mod fused;
pub mod knob;
pub mod losses;
pub mod methods;
pub mod representation;
mod spec;
pub mod threshold_optimizer;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::data::{Dataset, Split};
use crate::metrics::SplitMetrics;
use crate::model::{Architecture, LayerWeights};
pub use fused::{Moments, State};
pub use losses::FairnessLoss;
pub use methods::{Backend, FollowerBatch, LearningRates, Method, Players, StepOrder, Turn};
pub use spec::{LrSchedule, Optimizer, TrainSpec, TrialSpec};

/// Validation and test metrics after one epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochMetrics {
    /// 1-based.
    pub epoch: usize,
    /// Mean BCE of the leader's minibatches during the epoch (the training loss a training
    /// loop prints), each taken before its step; NaN where it was not recorded.
    pub train_bce: f64,
    pub validation: SplitMetrics,
    pub test: SplitMetrics,
}

/// The leader's minibatch losses of an epoch so far.
#[derive(Debug, Default, Clone, Copy)]
pub struct TrainLoss {
    sum: f64,
    batches: usize,
}

impl TrainLoss {
    pub fn add(&mut self, bce: f64) {
        self.sum += bce;
        self.batches += 1;
    }

    /// The mean so far, and a fresh start for the next epoch.
    pub fn take(&mut self) -> f64 {
        let mean = self.sum / self.batches as f64;
        *self = Self::default();
        if mean.is_finite() { mean } else { f64::NAN }
    }
}

/// What training produced: the metrics of every epoch completed, and, if the network's
/// outputs stopped being finite, why training stopped early.
#[derive(Debug, Clone, PartialEq)]
pub struct Training {
    pub history: Vec<EpochMetrics>,
    pub diverged: Option<Diverged>,
    /// Stopped by the collapse stop (`patience`) after the last epoch of `history`.
    pub collapsed: bool,
    /// Stopped at the end of a leg ([`train_leg`]) before its last epoch, and where it stood.
    pub paused: Option<Checkpoint>,
}

/// Why training stopped early: the network's outputs on a split stopped being finite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Diverged {
    pub split: Evaluated,
    pub epoch: usize,
}

impl std::fmt::Display for Diverged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the network's {} outputs are not finite after epoch {}",
            self.split.name(),
            self.epoch
        )
    }
}

impl std::error::Error for Diverged {}

/// A trained model's parameters, as a saved model holds them: a network's layers, boosted
/// trees in their crate's JSON (`gbdt`), a base's with group thresholds on its probabilities
/// (`threshold`), or a reduction's mixture (`reductions`).
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Network(Vec<LayerWeights>),
    Trees(String),
    /// Group thresholds on the base's probabilities: one cut per group, or fairlearn's
    /// randomized rule per group.
    Thresholded {
        base: Box<Body>,
        rule: threshold_optimizer::Thresholds,
    },
    /// (weight, member): each row's probability of a yes is the weight of the members saying
    /// yes; the deterministic reduction says yes above ½.
    Mixture(Vec<(f64, Member)>),
}

/// One classifier of a reduction's mixture.
#[derive(Debug, Clone, PartialEq)]
pub enum Member {
    Constant(bool),
    /// Coefficients, the intercept last: yes iff x·β + b > 0.
    Logistic(Vec<f64>),
    /// Yes iff the trees' probability is above ½.
    Trees(String),
}

/// A model as an evaluated epoch leaves it, for what reads it after the metrics: a network in
/// training, or a model fitted whole (trees, a reduction's mixture) with its validation and
/// test probabilities.
pub enum Fitted<'t> {
    Network(&'t Trainer<'t>),
    Whole {
        body: Body,
        scores: &'t [Vec<f32>; 2],
    },
    /// A representation learner (not saved: [`Method::saves_model`]).
    Representation(&'t representation::Trained<'t>),
}

impl Fitted<'_> {
    /// The validation and test probabilities behind the epoch's metrics.
    pub fn scores(&self) -> &[Vec<f32>; 2] {
        match self {
            Self::Network(trainer) => trainer.scores(),
            Self::Whole { scores, .. } => scores,
            Self::Representation(trained) => &trained.scores,
        }
    }

    /// What downstream classifiers read (`downstream:`): a representation learner's z, or
    /// a network's last hidden layer (the output layer's input), for the training,
    /// validation and test rows, with its width. None for a model without one (trees, a
    /// reduction).
    pub fn representation(&self, data: &Dataset) -> Option<(usize, [Vec<f32>; 3])> {
        match self {
            Self::Network(trainer) => {
                let layers = trainer.weights();
                let (_, hidden) = layers.split_last().expect("an output layer");
                let width = hidden.last().map_or(data.train.n_features, |l| l.d_out);
                let encode = |split: &Split| crate::model::last_hidden(&layers, &split.features);
                Some((
                    width,
                    [&data.train, &data.validation, &data.test].map(encode),
                ))
            }
            Self::Representation(trained) => Some(trained.encode()),
            Self::Whole { .. } => None,
        }
    }

    /// Its parameters, as a saved model holds them.
    pub fn body(&self) -> Body {
        match self {
            Self::Network(trainer) => Body::Network(trainer.weights()),
            Self::Whole { body, .. } => body.clone(),
            Self::Representation(_) => {
                unreachable!("representation learners are not saved (Method::saves_model)")
            }
        }
    }
}

/// Train one model, evaluating it on the validation and test splits after every epoch;
/// `evaluated` sees each evaluated epoch with the model as it then is.
pub fn train(
    architecture: &Architecture,
    spec: &TrainSpec,
    data: &Dataset,
    evaluated: &mut dyn FnMut(&EpochMetrics, &Fitted),
) -> Training {
    train_leg(architecture, spec, data, None, spec.epochs, evaluated)
}

/// [`train`] from a checkpoint (or from the start) up to epoch `until`: the same epochs as
/// one run from the start to `spec.epochs`, cut into legs. A trial stopped short of its last
/// epoch ends with its checkpoint, to go on from.
pub fn train_leg(
    architecture: &Architecture,
    spec: &TrainSpec,
    data: &Dataset,
    from: Option<&Checkpoint>,
    until: usize,
    evaluated: &mut dyn FnMut(&EpochMetrics, &Fitted),
) -> Training {
    match spec.method.trained() {
        Method::Reductions { .. } => return exponentiated_gradient::fit(spec, data, evaluated),
        Method::Gbdt => return boosted(spec, data, evaluated),
        m if m.is_representation() => return representation::train(spec, data, evaluated),
        _ => {}
    }
    let mut trainer = Trainer::new(architecture, spec, data);
    let mut history = Vec::new();
    let mut collapse = Collapse::default();
    let mut start = 1;
    if let Some(checkpoint) = from {
        trainer.restore(checkpoint);
        collapse.degenerate = checkpoint.degenerate;
        start = checkpoint.epoch + 1;
    }
    let stopped = |history, diverged, collapsed| Training {
        history,
        diverged,
        collapsed,
        paused: None,
    };
    for epoch in start..=until.min(spec.epochs) {
        trainer.train_epoch(epoch);
        match trainer.evaluate(epoch) {
            Ok(metrics) => {
                evaluated(&metrics, &Fitted::Network(&trainer));
                let stops = collapse.stops_after(&metrics, spec);
                history.push(metrics);
                if stops {
                    return stopped(history, None, true);
                }
            }
            Err(diverged) => return stopped(history, Some(diverged), false),
        }
    }
    let mut training = stopped(history, None, false);
    if until < spec.epochs {
        training.paused = Some(trainer.checkpoint(until, collapse.degenerate));
    }
    training
}

/// A network trained on `data.train` for all its epochs without being evaluated (the Python
/// estimator's `fit`): the same steps as [`train`]'s, so the same weights to the last bit.
/// An error when they stopped being finite.
pub fn fit_network(
    architecture: &Architecture,
    spec: &TrainSpec,
    data: &Dataset,
) -> Result<Vec<LayerWeights>, String> {
    let mut trainer = Trainer::new(architecture, spec, data);
    for epoch in 1..=spec.epochs {
        trainer.train_epoch(epoch);
    }
    let weights = trainer.weights();
    let finite = |l: &LayerWeights| l.weight.iter().chain(&l.bias).all(|v| v.is_finite());
    match weights.iter().all(finite) {
        true => Ok(weights),
        false => Err(format!(
            "training diverged: the weights are not finite after {} epochs (a smaller lr_acc, \
             lr_fair or eta may help)",
            spec.epochs
        )),
    }
}

/// A `gbdt` trial (or the trees a `threshold` trial reads): one fit on the training rows,
/// stopped early on validation's log loss, its one point evaluated as epoch 1.
fn boosted(
    spec: &TrainSpec,
    data: &Dataset,
    evaluated: &mut dyn FnMut(&EpochMetrics, &Fitted),
) -> Training {
    use boosted_trees::{Columns, Trees};
    let [train, validation, test] = [&data.train, &data.validation, &data.test].map(Columns::of);
    let labels = |split: &Split| {
        split
            .labels
            .iter()
            .map(|&y| f64::from(y))
            .collect::<Vec<_>>()
    };
    let weights = vec![1.0; data.train.n_rows()];
    let validation_labels = labels(&data.validation);
    let trees = Trees::fit(
        &spec.boosting(),
        &train,
        &labels(&data.train),
        &weights,
        Some((&validation, &validation_labels)),
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    let scores = [trees.probabilities(&validation), trees.probabilities(&test)];
    let n = data.n_groups();
    let metrics =
        |p: &[f32], split: &Split| SplitMetrics::compute(p, &split.labels, &split.groups, n);
    let body = Body::Trees(trees.to_json().expect("fitted trees serialize"));
    let points = [
        metrics(&scores[0], &data.validation),
        metrics(&scores[1], &data.test),
    ];
    one_point(points, body, scores, evaluated)
}

/// A model fitted whole (trees, a reduction): its one point, validation and test, as epoch
/// 1, shown to `evaluated` with the model and its probabilities; the whole of its training.
fn one_point(
    [validation, test]: [SplitMetrics; 2],
    body: Body,
    scores: [Vec<f32>; 2],
    evaluated: &mut dyn FnMut(&EpochMetrics, &Fitted),
) -> Training {
    let metrics = EpochMetrics {
        epoch: 1,
        train_bce: f64::NAN,
        validation,
        test,
    };
    let scores = &scores;
    evaluated(&metrics, &Fitted::Whole { body, scores });
    Training {
        history: vec![metrics],
        diverged: None,
        collapsed: false,
        paused: None,
    }
}

/// Where a trial stands after an epoch, to go on from later (a halving search's rungs): the
/// fused engine's parameters and Adam state. The minibatch orders are not kept: they are
/// replayed from the seed.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    pub epoch: usize,
    /// Degenerate validation epochs in a row up to `epoch`, for the collapse stop.
    pub degenerate: usize,
    pub state: fused::State,
}

/// An evaluation split, as `epochs.csv` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Evaluated {
    Validation,
    Test,
}

impl Evaluated {
    pub fn of(self, data: &Dataset) -> &Split {
        match self {
            Self::Validation => &data.validation,
            Self::Test => &data.test,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Validation => "validation",
            Self::Test => "test",
        }
    }
}

/// A network in training: its engine (parameters and optimizer state) and its minibatches.
pub struct Trainer<'a> {
    data: &'a Dataset,
    engine: Engine<'a>,
    batches: Minibatches<'a>,
    /// The validation and test probabilities of the last [`evaluate`](Self::evaluate), for
    /// what reads them after the metrics (`threshold`) without a second forward pass.
    scores: [Vec<f32>; 2],
}

/// Where the network's numbers are computed (`train.backend`).
enum Engine<'a> {
    // Boxed: the two differ in size by a kilobyte, and a trial has one.
    Fused(Box<fused::Engine<'a>>),
    Autodiff(Box<autodiff::Engine<'a>>),
}

impl Engine<'_> {
    fn players(&mut self) -> &mut dyn Players {
        match self {
            Self::Fused(engine) => engine.as_mut(),
            Self::Autodiff(engine) => engine.as_mut(),
        }
    }
}

impl<'a> Trainer<'a> {
    pub fn new(architecture: &Architecture, spec: &'a TrainSpec, data: &'a Dataset) -> Self {
        let engine = match spec.backend {
            Backend::Fused => Engine::Fused(Box::new(fused::Engine::new(architecture, spec, data))),
            Backend::Flex | Backend::Ndarray => {
                Engine::Autodiff(Box::new(autodiff::Engine::new(architecture, spec, data)))
            }
        };
        Self {
            data,
            engine,
            batches: Minibatches::new(spec, &data.train),
            scores: Default::default(),
        }
    }

    /// Go on from `checkpoint`: the engine's state as it was, and the minibatch orders its
    /// epochs drew, drawn again.
    fn restore(&mut self, checkpoint: &Checkpoint) {
        let Engine::Fused(engine) = &mut self.engine else {
            panic!("only the fused engine goes on from a checkpoint (checked with the file)");
        };
        engine.restore(&checkpoint.state);
        for _ in 0..checkpoint.epoch {
            self.batches.shuffle();
        }
    }

    fn checkpoint(&self, epoch: usize, degenerate: usize) -> Checkpoint {
        let Engine::Fused(engine) = &self.engine else {
            panic!("only the fused engine saves a checkpoint (checked with the file)");
        };
        Checkpoint {
            epoch,
            degenerate,
            state: engine.state(),
        }
    }

    /// Minibatches (leader steps) per epoch.
    pub fn steps_per_epoch(&self) -> usize {
        self.batches.per_epoch()
    }

    /// One pass over the training split (`epoch` is 1-based).
    pub fn train_epoch(&mut self, epoch: usize) {
        let spec = self.batches.spec;
        let rates = spec.learning_rates(epoch);
        let step = spec.method.info().step;
        self.batches.shuffle();
        for index in 0..self.batches.per_epoch() {
            let followers = self.batches.followers(index);
            let turn = Turn {
                leader: self.batches.leader(index),
                followers: &followers,
                rates,
                settings: spec,
            };
            step(self.engine.players(), &turn);
        }
    }

    /// The mean BCE of the leader's minibatches since the last call (the epoch's).
    fn train_loss(&self) -> f64 {
        match &self.engine {
            Engine::Fused(engine) => engine.take_train_loss(),
            Engine::Autodiff(engine) => engine.take_train_loss(),
        }
    }

    /// Every layer's weights as they stand, input to output.
    pub fn weights(&self) -> Vec<LayerWeights> {
        match &self.engine {
            Engine::Fused(engine) => engine.weights(),
            Engine::Autodiff(engine) => engine.weights(),
        }
    }

    /// The validation and test probabilities of the last evaluation.
    pub fn scores(&self) -> &[Vec<f32>; 2] {
        &self.scores
    }

    /// Predicted probabilities on each of `splits`.
    pub fn probabilities<const N: usize>(&self, splits: [Evaluated; N]) -> [Vec<f32>; N] {
        match &self.engine {
            Engine::Fused(engine) => splits.map(|split| engine.probabilities(split.of(self.data))),
            Engine::Autodiff(engine) => engine.probabilities(splits),
        }
    }

    /// Metrics of both splits, or why the network's outputs cannot be evaluated. The
    /// probabilities behind them stay readable ([`scores`](Self::scores)).
    pub fn evaluate(&mut self, epoch: usize) -> Result<EpochMetrics, Diverged> {
        let splits = [Evaluated::Validation, Evaluated::Test];
        self.scores = self.probabilities(splits);
        epoch_metrics(self.data, epoch, self.train_loss(), &self.scores)
    }
}

/// An epoch's metrics from its validation and test probabilities, or which split's are not
/// finite.
fn epoch_metrics(
    data: &Dataset,
    epoch: usize,
    train_bce: f64,
    [validation, test]: &[Vec<f32>; 2],
) -> Result<EpochMetrics, Diverged> {
    let metrics = |probabilities: &[f32], which: Evaluated| {
        if probabilities.iter().any(|p| !p.is_finite()) {
            return Err(Diverged {
                split: which,
                epoch,
            });
        }
        let split = which.of(data);
        Ok(SplitMetrics::compute(
            probabilities,
            &split.labels,
            &split.groups,
            data.n_groups(),
        ))
    };
    Ok(EpochMetrics {
        epoch,
        train_bce,
        validation: metrics(validation, Evaluated::Validation)?,
        test: metrics(test, Evaluated::Test)?,
    })
}

/// Degenerate validation epochs in a row, for the collapse stop (`patience`).
#[derive(Debug, Clone, Copy, Default)]
struct Collapse {
    degenerate: usize,
}

impl Collapse {
    /// Count `metrics`' epoch; whether training stops after it.
    fn stops_after(&mut self, metrics: &EpochMetrics, spec: &TrainSpec) -> bool {
        self.degenerate = match metrics.validation.is_degenerate() {
            true => self.degenerate + 1,
            false => 0,
        };
        spec.patience > 0 && self.degenerate >= spec.patience && metrics.epoch < spec.epochs
    }
}

/// The training split's rows, cut into minibatches in each epoch's order: the leader's, and
/// for `follower_batch: separate` the follower's own.
struct Minibatches<'a> {
    spec: &'a TrainSpec,
    /// The follower's steps per leader step and whose batch it takes; none for one-player
    /// methods. Read from the settings once, not at every step.
    follower: Option<(usize, FollowerBatch)>,
    n_rows: usize,
    leader_order: Vec<usize>,
    follower_order: Vec<usize>,
    leader_rng: ChaCha8Rng,
    follower_rng: ChaCha8Rng,
}

impl<'a> Minibatches<'a> {
    fn new(spec: &'a TrainSpec, train: &Split) -> Self {
        // Streams of their own, so changing the architecture or the follower's batches leaves
        // the leader's order alone.
        let stream = |n| {
            let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
            rng.set_stream(n);
            rng
        };
        let file_order: Vec<usize> = (0..train.n_rows()).collect();
        Self {
            spec,
            follower: (spec.method.is_bilevel())
                .then(|| (spec.follower_steps(), spec.follower_batch())),
            n_rows: train.n_rows(),
            leader_order: file_order.clone(),
            follower_order: file_order,
            leader_rng: stream(1),
            follower_rng: stream(2),
        }
    }

    fn per_epoch(&self) -> usize {
        self.n_rows.div_ceil(self.spec.batch_size)
    }

    /// Start an epoch: new orders, or file order when not shuffling.
    fn shuffle(&mut self) {
        if self.spec.shuffle {
            self.leader_order.shuffle(&mut self.leader_rng);
            if matches!(self.follower, Some((_, FollowerBatch::Separate))) {
                self.follower_order.shuffle(&mut self.follower_rng);
            }
        }
    }

    fn leader(&self, index: usize) -> &[usize] {
        self.batch(&self.leader_order, index)
    }

    /// The follower's batches for leader step `index` (`follower_steps` of them; none for
    /// one-player methods): the leader's batch again for `follower_batch: same`, else taken in
    /// turn from the follower's own order (without shuffling, the batches after the leader's).
    fn followers(&self, index: usize) -> Vec<&[usize]> {
        let Some((k, batch)) = self.follower else {
            return Vec::new();
        };
        if batch == FollowerBatch::Same {
            return vec![self.leader(index); k];
        }
        let offset = usize::from(!self.spec.shuffle);
        (0..k)
            .map(|j| {
                self.batch(
                    &self.follower_order,
                    (index * k + j + offset) % self.per_epoch(),
                )
            })
            .collect()
    }

    fn batch<'o>(&self, order: &'o [usize], index: usize) -> &'o [usize] {
        let size = self.spec.batch_size;
        &order[index * size..((index + 1) * size).min(order.len())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::knob::Value;

    /// Ten rows whose one feature is the row's index, so a batch shows which rows it holds.
    fn numbered(n: usize) -> Dataset {
        let split = Split {
            features: (0..n).map(|i| i as f32).collect(),
            n_features: 1,
            labels: (0..n).map(|i| (i % 2) as f32).collect(),
            groups: (0..n).map(|i| (i % 3 == 0) as u32).collect(),
        };
        Dataset::in_memory("numbered", &["index"], &["a", "b"], split)
    }

    fn spec_with(shuffle: bool, follower_batch: FollowerBatch, follower_steps: usize) -> TrainSpec {
        TrainSpec {
            shuffle,
            seed: 3,
            ..TrainSpec::for_tests(Method::FairBiNN)
        }
        .with("follower_batch", Value::Choice((follower_batch).as_str()))
        .with("follower_steps", Value::Count(follower_steps))
    }

    #[test]
    fn without_shuffling_batches_follow_file_order_and_the_follower_takes_the_next() {
        let data = numbered(10);
        let spec = spec_with(false, FollowerBatch::Separate, 2);
        let mut batches = Minibatches::new(&spec, &data.train);
        assert_eq!(batches.per_epoch(), 3);
        for _ in 0..2 {
            batches.shuffle();
            assert_eq!(batches.leader(0), [0, 1, 2, 3]);
            assert_eq!(batches.leader(2), [8, 9]);
            // Leader step 1 of 3: follower batches 1·2+0+1 = 3 → 0 and 1·2+1+1 = 4 → 1.
            assert_eq!(batches.followers(1), [[0, 1, 2, 3], [4, 5, 6, 7]]);
        }
    }

    #[test]
    fn shuffled_epochs_cover_every_row_in_a_new_order_and_the_follower_draws_its_own() {
        let data = numbered(10);
        let spec = spec_with(true, FollowerBatch::Separate, 1);
        let mut batches = Minibatches::new(&spec, &data.train);
        let epoch = |batches: &mut Minibatches| {
            batches.shuffle();
            let leader: Vec<usize> = (0..3).flat_map(|i| batches.leader(i).to_vec()).collect();
            let follower: Vec<usize> = (0..3)
                .flat_map(|i| batches.followers(i)[0].to_vec())
                .collect();
            (leader, follower)
        };
        let (first, first_follower) = epoch(&mut batches);
        let (second, _) = epoch(&mut batches);
        for order in [&first, &second, &first_follower] {
            let mut sorted = order.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..10).collect::<Vec<_>>());
        }
        assert_ne!(first, second, "a new order each epoch");
        assert_ne!(first, first_follower, "the follower's order is its own");
        // The same seed gives the same orders.
        let mut again = Minibatches::new(&spec, &data.train);
        assert_eq!(epoch(&mut again).0, first);
        // Same-batch followers take the leader's batch.
        let same = spec_with(true, FollowerBatch::Same, 2);
        let mut batches = Minibatches::new(&same, &data.train);
        batches.shuffle();
        assert_eq!(batches.followers(1), [batches.leader(1); 2]);
    }

    /// Every parameter, layer by layer from input to output, weight then bias.
    fn parameters(trainer: &Trainer) -> Vec<f32> {
        trainer
            .weights()
            .into_iter()
            .flat_map(|l| [l.weight, l.bias])
            .flatten()
            .collect()
    }

    /// Two epochs of `spec` on the fused engine and on burn's (Flex) from the same start: a
    /// quarter of the parameters or more move, and both end with the same parameters (to
    /// 2e-5), training loss (1e-4) and test predictions (1e-5).
    fn assert_engines_agree(
        architecture: &Architecture,
        spec: &dyn Fn(Backend) -> TrainSpec,
        data: &Dataset,
        case: &str,
    ) {
        let (fused_spec, flex_spec) = (spec(Backend::Fused), spec(Backend::Flex));
        let mut fused = Trainer::new(architecture, &fused_spec, data);
        let mut flex = Trainer::new(architecture, &flex_spec, data);
        let start = parameters(&fused);
        assert_eq!(start, parameters(&flex), "{case}: start");
        for epoch in 1..=2 {
            fused.train_epoch(epoch);
            flex.train_epoch(epoch);
        }
        let (a, b) = (parameters(&fused), parameters(&flex));
        let moved = a
            .iter()
            .zip(&start)
            .filter(|(x, y)| (*x - *y).abs() > 1e-3)
            .count();
        assert!(
            moved > a.len() / 4,
            "{case}: only {moved} of {} parameters moved",
            a.len()
        );
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            assert!(
                (x - y).abs() < 2e-5,
                "{case}: parameter {i}: fused {x}, burn {y}"
            );
        }
        // The training loss of the two epochs' leader minibatches alike.
        let loss = |t: &mut Trainer| t.evaluate(2).unwrap().train_bce;
        let (a, b) = (loss(&mut fused), loss(&mut flex));
        assert!(
            a.is_finite() && (a - b).abs() < 1e-4,
            "{case}: loss {a} against {b}"
        );
        let [p] = fused.probabilities([Evaluated::Test]);
        let [q] = flex.probabilities([Evaluated::Test]);
        for (x, y) in p.iter().zip(&q) {
            assert!((x - y).abs() < 1e-5, "{case}: probability {x} against {y}");
        }
    }

    /// `accuracy_layers` of `width` and a one-layer fairness block after the first of them.
    fn block_second(accuracy_layers: usize, width: usize) -> Architecture {
        Architecture {
            accuracy_layers,
            fairness_layers: 1,
            fairness_position: 2,
            width: Some(width),
        }
    }

    /// 40 rows of 3 random features, 3 groups, labels leaning on the features.
    fn random_data() -> Dataset {
        use rand::RngExt;
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let n = 40;
        let features: Vec<f32> = (0..n * 3).map(|_| rng.random_range(-1.0..1.0)).collect();
        let labels = (0..n)
            .map(|i| f32::from(features[3 * i] + 0.5 * features[3 * i + 1] > 0.0))
            .collect();
        let split = Split {
            features,
            n_features: 3,
            labels,
            groups: (0..n).map(|_| rng.random_range(0..3u32)).collect(),
        };
        Dataset::in_memory("random", &["a", "b", "c"], &["x", "y", "z"], split)
    }

    /// A network pushed to predict the same for everyone (a huge η on the absolute DP loss)
    /// stops `patience` epochs after its validation predictions went degenerate, with the
    /// same epochs as the run without the stop up to there.
    #[test]
    fn the_collapse_stop_ends_a_trial_patience_epochs_into_its_collapse() {
        let data = random_data();
        let architecture = block_second(1, 4);
        let spec = |patience| {
            TrainSpec {
                epochs: 30,
                batch_size: 8,
                lr_acc: 0.05,
                patience,
                ..TrainSpec::for_tests(Method::Lagrangian)
            }
            .with("eta", Value::Number(1e4))
            .with(
                "fairness_loss",
                Value::Choice((FairnessLoss::DpAbs).as_str()),
            )
        };
        let full = train(&architecture, &spec(0), &data, &mut |_, _| {});
        assert!(!full.collapsed);
        assert_eq!(full.history.len(), 30);
        let first = (full.history.iter())
            .position(|m| m.validation.is_degenerate())
            .expect("a huge η collapses the network");
        // Degenerate from there on (so the stop comes `patience` epochs in).
        assert!(
            full.history[first..first + 3]
                .iter()
                .all(|m| m.validation.is_degenerate())
        );
        let stopped = train(&architecture, &spec(3), &data, &mut |_, _| {});
        assert!(stopped.collapsed);
        assert_eq!(stopped.history.len(), first + 3);
        assert_eq!(stopped.history[..], full.history[..first + 3]);
    }

    /// A trial stopped at an epoch and continued from its checkpoint (through its file) trains
    /// the epochs an uninterrupted one does, to the bit, for each method and the settings that
    /// carry state across epochs: shuffled orders, the follower's own batches, the authors'
    /// leak, a learning-rate schedule, the collapse stop's count.
    #[test]
    fn a_trial_continued_from_its_checkpoint_trains_as_one_that_never_stopped() {
        let data = random_data();
        let architecture = block_second(2, 5);
        let dir = tempfile::tempdir().unwrap();
        let mut continued = 0;
        // Those a halving search pauses: not those whose state a checkpoint lacks, nor
        // the methods without epochs of their own.
        let pausable = |m: Method| m.is_stepped() && m.info().no_checkpoint.is_none();
        for method in Method::ALL.iter().copied().filter(|&m| pausable(m)) {
            let spec = TrainSpec {
                epochs: 6,
                batch_size: 8,
                lr_acc: 1e-2,
                lr_schedule: Some(LrSchedule {
                    gamma_acc: 0.5,
                    gamma_fair: 0.9,
                    every: 2,
                }),
                patience: 4,
                ..TrainSpec::for_tests(method)
            }
            .with("lr_fair", Value::Number(1e-2))
            .with("eta", Value::Number(3.0))
            .with(
                "follower_batch",
                Value::Choice((FollowerBatch::Separate).as_str()),
            );
            let whole = train(&architecture, &spec, &data, &mut |_, _| {});
            let first = train_leg(&architecture, &spec, &data, None, 3, &mut |_, _| {});
            let Some(paused) = first.paused else {
                // Stopped by the collapse stop before the leg's end, as the whole run was.
                assert!(first.collapsed && whole.collapsed, "{method}");
                assert_eq!(first.history, whole.history, "{method}");
                continue;
            };
            crate::results::checkpoint::save(dir.path(), "t", &paused).unwrap();
            let paused = crate::results::checkpoint::load(dir.path(), "t").unwrap();
            let second = train_leg(
                &architecture,
                &spec,
                &data,
                Some(&paused),
                6,
                &mut |_, _| {},
            );
            assert!(second.paused.is_none());
            assert_eq!(second.collapsed, whole.collapsed, "{method}");
            let joined: Vec<_> = first.history.into_iter().chain(second.history).collect();
            assert_eq!(joined, whole.history, "{method}");
            continued += 1;
        }
        assert!(
            continued >= 3,
            "only {continued} methods went on from a checkpoint"
        );
    }

    /// The fused engine's SGD against burn's (Flex), with and without momentum, for a
    /// follower by SGD under an Adam leader and for both players by SGD.
    #[test]
    fn the_fused_engines_sgd_steps_as_burns() {
        let data = random_data();
        let architecture = block_second(2, 6);
        for method in [
            Method::Erm,
            Method::Lagrangian,
            Method::FairBiNN,
            Method::FairBiNNReference,
        ] {
            for (optimizer_acc, momentum) in [
                (Optimizer::Adam, 0.0),
                (Optimizer::Sgd, 0.0),
                (Optimizer::Sgd, 0.9),
                (Optimizer::Adam, 0.5),
            ] {
                let spec = |backend| {
                    TrainSpec {
                        epochs: 2,
                        batch_size: 16,
                        lr_acc: 0.3,
                        optimizer_acc,
                        momentum,
                        backend,
                        ..TrainSpec::for_tests(method)
                    }
                    .with("lr_fair", Value::Number(0.3))
                    .with("eta", Value::Number(3.0))
                    .with("optimizer_fair", Value::Choice((Optimizer::Sgd).as_str()))
                };
                let case = format!("{method:?} {optimizer_acc:?} momentum {momentum}");
                assert_engines_agree(&architecture, &spec, &data, &case);
            }
        }
    }

    /// `stackelberg` with `unroll: 0` is `fairbinn`'s update, to the bit; with `unroll: 1` it
    /// trains otherwise.
    #[test]
    fn stackelberg_without_look_ahead_is_fairbinn() {
        let data = random_data();
        let architecture = block_second(2, 5);
        let spec = |method, unroll| {
            TrainSpec {
                epochs: 3,
                batch_size: 8,
                lr_acc: 1e-2,
                ..TrainSpec::for_tests(method)
            }
            .with("lr_fair", Value::Number(1e-2))
            .with("eta", Value::Number(3.0))
            .with("unroll", Value::Count(unroll))
        };
        let run = |spec: &TrainSpec| train(&architecture, spec, &data, &mut |_, _| {}).history;
        let fairbinn = run(&spec(Method::FairBiNN, 1));
        assert_eq!(run(&spec(Method::Stackelberg, 0)), fairbinn);
        assert_ne!(run(&spec(Method::Stackelberg, 1)), fairbinn);
    }

    /// With an SGD follower the step is lr_fair · η · ∇θf(fairness loss): twice η, twice the
    /// step. Adam's rescaling keeps its step within 1% whatever η (ε aside, its first step is
    /// lr · sign of the gradient).
    #[test]
    fn an_sgd_followers_step_scales_with_eta() {
        let data = random_data();
        let architecture = block_second(1, 5);
        let block = architecture.block();
        let step = |optimizer_fair: Optimizer, eta| {
            let spec = TrainSpec {
                batch_size: 16,
                ..TrainSpec::for_tests(Method::FairBiNN)
            }
            .with("eta", Value::Number(eta))
            .with("optimizer_fair", Value::Choice((optimizer_fair).as_str()));
            let mut trainer = Trainer::new(&architecture, &spec, &data);
            let before = trainer.weights();
            let rows: Vec<usize> = (0..16).collect();
            trainer.engine.players().follower_step(&rows, 10.0, false);
            let after = trainer.weights();
            (block.clone())
                .flat_map(|i| {
                    let (b, a) = (&before[i], &after[i]);
                    b.weight
                        .iter()
                        .zip(&a.weight)
                        .chain(b.bias.iter().zip(&a.bias))
                        .map(|(x, y)| f64::from(y - x))
                        .collect::<Vec<_>>()
                })
                .collect::<Vec<f64>>()
        };
        let (one, two) = (step(Optimizer::Sgd, 1.0), step(Optimizer::Sgd, 2.0));
        let largest = one.iter().fold(0.0f64, |m, d| m.max(d.abs()));
        assert!(largest > 1e-7, "the block moved");
        for (a, b) in one.iter().zip(&two) {
            assert!((b - 2.0 * a).abs() <= 1e-3 * largest, "{a} then {b}");
        }
        let (one, two) = (step(Optimizer::Adam, 1.0), step(Optimizer::Adam, 2.0));
        let largest = one.iter().fold(0.0f64, |m, d| m.max(d.abs()));
        for (a, b) in one.iter().zip(&two) {
            assert!((b - a).abs() <= 1e-2 * largest, "Adam: {a} then {b}");
        }
    }

    /// The fused engine against burn's autodiff and Adam (Flex): two epochs of every method,
    /// fairness loss, step order and block position end with the same parameters (to float
    /// rounding) and the same predictions.
    #[test]
    fn the_fused_engine_trains_as_burns_autodiff_and_adam_do() {
        let data = random_data();
        let mut checked = 0;
        for method in [
            Method::Erm,
            Method::Lagrangian,
            Method::FairBiNN,
            Method::FairBiNNReference,
        ] {
            for &loss in FairnessLoss::ALL {
                for (order, follower_batch) in [
                    (StepOrder::LeaderFirst, FollowerBatch::Separate),
                    (StepOrder::FollowerFirst, FollowerBatch::Same),
                    (StepOrder::LeaderFirst, FollowerBatch::Same),
                    (StepOrder::FollowerFirst, FollowerBatch::Separate),
                ] {
                    for position in 1..=3 {
                        let architecture = Architecture {
                            accuracy_layers: 2,
                            fairness_layers: 1,
                            fairness_position: position,
                            width: Some(6),
                        };
                        let spec = |backend| {
                            TrainSpec {
                                epochs: 2,
                                batch_size: 16,
                                lr_acc: 1e-2,
                                backend,
                                ..TrainSpec::for_tests(method)
                            }
                            .with("lr_fair", Value::Number(1e-2))
                            .with("eta", Value::Number(3.0))
                            .with("fairness_loss", Value::Choice((loss).as_str()))
                            .with("step_order", Value::Choice((order).as_str()))
                            .with("follower_batch", Value::Choice((follower_batch).as_str()))
                            .with("follower_steps", Value::Count(2))
                        };
                        let case = format!(
                            "{method:?} {loss:?} {order:?} {follower_batch:?} block at {position}"
                        );
                        assert_engines_agree(&architecture, &spec, &data, &case);
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 240);
    }
}
