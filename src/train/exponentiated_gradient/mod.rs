//! `reductions`: the exponentiated-gradient reduction (Agarwal et al. 2018) as fairlearn's
//! `ExponentiatedGradient` runs it, for demographic parity and equalized odds, over a
//! cost-sensitive logistic regression (logistic.rs) or boosted trees.
//!
//! The reduction plays a game: multipliers λ on the constraints "each group's rate of
//! positive decisions (within each label, for equalized odds) is within `difference_bound` ε
//! of everyone's" move by exponentiated gradient; against each λ the learner's best response
//! is a classifier fitted to relabelled, reweighted rows. The answer is a randomized mixture
//! Q of the classifiers found (a small linear program over them each iteration), whose
//! per-row probability of a positive decision gives expected metrics; its deterministic
//! version says yes where that probability is above ½.

pub mod logistic;
mod lp;

use std::sync::Arc;

use super::boosted_trees::{Boosting, Columns, Trees};
use super::methods::Learner as Kind;
use super::threshold_optimizer::Constraint;
use super::{Body, Member};
use super::{EpochMetrics, Fitted, Method, TrainSpec, Training};
use crate::data::Dataset;
use crate::metrics::SplitMetrics;

/// A `reductions` trial: the reduction on the training split, its one point evaluated on
/// validation and test (as epoch 1); `evaluated` sees it with the mixture, to save.
pub fn fit(
    spec: &TrainSpec,
    data: &Dataset,
    evaluated: &mut dyn FnMut(&EpochMetrics, &Fitted),
) -> Training {
    let Method::Reductions {
        learner,
        randomized,
    } = spec.method
    else {
        unreachable!("train_leg sends reductions here")
    };
    let train = &data.train;
    let labels: Vec<bool> = train.labels.iter().map(|&y| y > 0.5).collect();
    let n = data.n_groups();
    let splits = [&data.validation, &data.test];
    let (pmfs, members) = match learner {
        Kind::Logistic => reduce(
            &mut logistic::Logistic::new(train),
            spec,
            (&labels, &train.groups),
            splits,
            |beta, split| logistic::predict(beta, split),
            |beta| Member::Logistic(beta.clone()),
        ),
        Kind::Gbdt => reduce(
            &mut TreeLearner::new(spec.boosting(), train),
            spec,
            (&labels, &train.groups),
            splits,
            |trees, split| decisions(trees, &Columns::of(split)),
            |trees| Member::Trees(trees.to_json().expect("fitted trees serialize")),
        ),
    };
    let metrics = |q: &[f64], split: &crate::data::Split| match randomized {
        true => SplitMetrics::expected(q, &split.labels, &split.groups, n),
        // The deterministic version: yes where the mixture's probability is above ½.
        false => {
            let q: Vec<f32> = q.iter().map(|&v| v as f32).collect();
            SplitMetrics::compute(&q, &split.labels, &split.groups, n)
        }
    };
    let points = [
        metrics(&pmfs[0], &data.validation),
        metrics(&pmfs[1], &data.test),
    ];
    let scores = pmfs.map(|q| q.iter().map(|&v| v as f32).collect());
    super::one_point(points, Body::Mixture(members), scores, evaluated)
}

/// The reduction over `learner` on the training rows: each of `splits`' probability of a
/// positive decision under the mixture found (`predict` gives a member's decisions), and the
/// mixture as a saved model holds it (`save` turns a member into one).
fn reduce<L: Learner>(
    learner: &mut L,
    spec: &TrainSpec,
    (labels, groups): (&[bool], &[u32]),
    splits: [&crate::data::Split; 2],
    predict: impl Fn(&L::Model, &crate::data::Split) -> Vec<bool>,
    save: impl Fn(&L::Model) -> Member,
) -> ([Vec<f64>; 2], Vec<(f64, Member)>) {
    let settings = Settings::with_bound(spec.difference_bound());
    let mixture = exponentiated_gradient(learner, labels, groups, spec.constraint(), &settings);
    let pmfs = splits.map(|split| mixture.pmf(split.n_rows(), |model| predict(model, split)));
    let members = (mixture.members.iter())
        .map(|(weight, classifier)| match classifier {
            Classifier::Constant(yes) => (*weight, Member::Constant(*yes)),
            Classifier::Fitted(model) => (*weight, save(model)),
        })
        .collect();
    (pmfs, members)
}

/// Boosted trees as the reduction's learner (`learner: gbdt`): refitted to each best
/// response's labels and weights, on the training rows alone (no early stopping).
struct TreeLearner {
    settings: Boosting,
    rows: Columns,
}

impl TreeLearner {
    fn new(settings: Boosting, train: &crate::data::Split) -> Self {
        Self {
            settings: Boosting {
                early_stopping: 0,
                ..settings
            },
            rows: Columns::of(train),
        }
    }
}

impl Learner for TreeLearner {
    type Model = Arc<Trees>;

    fn fit(&mut self, labels: &[bool], weights: &[f64]) -> Arc<Trees> {
        let y: Vec<f64> = labels.iter().map(|&l| f64::from(u8::from(l))).collect();
        // Scaled to average 1, so that the trees' least leaf weight means what it does for
        // unweighted rows (the reduction's weights are its costs, of order 1/rows).
        let mean = weights.iter().sum::<f64>() / weights.len().max(1) as f64;
        let scaled: Vec<f64> = match mean > 0.0 {
            true => weights.iter().map(|w| w / mean).collect(),
            false => weights.to_vec(),
        };
        let trees = Trees::fit(&self.settings, &self.rows, &y, &scaled, None)
            .unwrap_or_else(|e| panic!("{e:#}"));
        Arc::new(trees)
    }

    fn predict_train(&self, model: &Arc<Trees>) -> Vec<bool> {
        decisions(model, &self.rows)
    }
}

/// Yes where the trees' probability is above ½.
fn decisions(trees: &Trees, rows: &Columns) -> Vec<bool> {
    trees.probabilities(rows).iter().map(|&p| p > 0.5).collect()
}

/// A cost-sensitive learner: fitted to labels and row weights on the training rows, its
/// decisions there.
pub trait Learner {
    type Model: Clone;
    fn fit(&mut self, labels: &[bool], weights: &[f64]) -> Self::Model;
    fn predict_train(&self, model: &Self::Model) -> Vec<bool>;
}

/// fairlearn's defaults.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// The moment's `difference_bound` ε.
    pub difference_bound: f64,
    /// ExponentiatedGradient's `eps`: λ's L1 bound B = 1/eps.
    pub eps: f64,
    pub max_iter: usize,
    pub eta0: f64,
}

impl Settings {
    pub fn with_bound(difference_bound: f64) -> Self {
        Self {
            difference_bound,
            eps: 0.01,
            max_iter: 50,
            eta0: 2.0,
        }
    }
}

/// fairlearn's constants.
const PRECISION: f64 = 1e-8;
const MIN_ITER: usize = 5;
const ACCURACY_MUL: f64 = 0.5;
const REGRET_CHECK_START_T: usize = 5;
const REGRET_CHECK_INCREASE_T: f64 = 1.6;
const SHRINK_REGRET: f64 = 0.8;
const SHRINK_ETA: f64 = 0.8;

/// A classifier the learner returned, or a constant when the relabelled rows had one label.
#[derive(Debug, Clone)]
pub enum Classifier<M> {
    Constant(bool),
    Fitted(M),
}

/// The randomized classifier found, and how the search went.
#[derive(Debug, Clone)]
pub struct Mixture<M> {
    /// (weight, classifier), weights summing to 1, zero weights left out.
    pub members: Vec<(f64, Classifier<M>)>,
    pub iterations: usize,
    pub best_gap: f64,
    pub oracle_calls: usize,
    /// Classifiers stored during the search.
    pub stored: usize,
}

impl<M> Mixture<M> {
    /// Each row's probability of a positive decision, from each member's decisions.
    pub fn pmf(&self, rows: usize, predict: impl Fn(&M) -> Vec<bool>) -> Vec<f64> {
        pmf(&self.members, rows, predict)
    }
}

/// Each row's probability of a positive decision under the weighted `members` (a saved
/// mixture's too, so that its predictions are the recorded ones).
pub fn pmf<M>(
    members: &[(f64, Classifier<M>)],
    rows: usize,
    predict: impl Fn(&M) -> Vec<bool>,
) -> Vec<f64> {
    let mut q = vec![0.0; rows];
    for (weight, classifier) in members {
        match classifier {
            Classifier::Constant(yes) => {
                if *yes {
                    q.iter_mut().for_each(|v| *v += weight);
                }
            }
            Classifier::Fitted(model) => {
                for (v, yes) in q.iter_mut().zip(predict(model)) {
                    if yes {
                        *v += weight;
                    }
                }
            }
        }
    }
    q
}

/// The constraints' moments on the training rows: for each (event, group) present, the
/// gap between the group's and the event's rate of positive decisions, both signs.
struct Moments {
    labels: Vec<bool>,
    /// Each row's (event, (event, group) pair), indices into `p_event` and `pairs`; `None`
    /// for a row no constraint reads (a negative one, under equal opportunity).
    of_row: Vec<Option<(usize, usize)>>,
    /// (event, group) pairs present, events first.
    pairs: Vec<(usize, usize)>,
    p_event: Vec<f64>,
    p_pair: Vec<f64>,
    bound: f64,
}

impl Moments {
    fn new(constraint: Constraint, labels: &[bool], groups: &[u32], bound: f64) -> Self {
        let n = labels.len() as f64;
        // Demographic parity has one event (every row), equalized odds one per label, and
        // true-positive-rate parity one, the positive rows (fairlearn's events).
        let event_of: Vec<Option<usize>> = (labels.iter())
            .map(|&y| match constraint {
                Constraint::DemographicParity => Some(0),
                Constraint::EqualizedOdds => Some(usize::from(y)),
                Constraint::TruePositiveRateParity => y.then_some(0),
            })
            .collect();
        let mut pairs: Vec<(usize, usize)> = (event_of.iter().zip(groups))
            .filter_map(|(&e, &g)| Some((e?, g as usize)))
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        let of_row: Vec<Option<(usize, usize)>> = (event_of.iter().zip(groups))
            .map(|(&e, &g)| {
                let e = e?;
                Some((e, pairs.binary_search(&(e, g as usize)).expect("listed")))
            })
            .collect();
        let events = pairs.iter().map(|&(e, _)| e + 1).max().unwrap_or(0);
        let mut p_event = vec![0.0; events];
        let mut p_pair = vec![0.0; pairs.len()];
        for &(e, p) in of_row.iter().flatten() {
            p_event[e] += 1.0 / n;
            p_pair[p] += 1.0 / n;
        }
        Self {
            labels: labels.to_vec(),
            of_row,
            pairs,
            p_event,
            p_pair,
            bound,
        }
    }

    /// Constraints: + then − for each pair.
    fn count(&self) -> usize {
        2 * self.pairs.len()
    }

    /// (error, γ) of decisions on the training rows.
    fn of(&self, decisions: &[bool]) -> (f64, Vec<f64>) {
        let n = decisions.len() as f64;
        let error = (decisions.iter().zip(&self.labels))
            .filter(|(h, y)| h != y)
            .count() as f64
            / n;
        let mut event_rate = vec![0.0; self.p_event.len()];
        let mut pair_rate = vec![0.0; self.pairs.len()];
        for (&h, row) in decisions.iter().zip(&self.of_row) {
            if let (true, Some((e, p))) = (h, *row) {
                event_rate[e] += 1.0 / n;
                pair_rate[p] += 1.0 / n;
            }
        }
        let mut gamma = vec![0.0; self.count()];
        let k = self.pairs.len();
        for (p, &(e, _)) in self.pairs.iter().enumerate() {
            let gap = pair_rate[p] / self.p_pair[p] - event_rate[e] / self.p_event[e];
            gamma[p] = gap;
            gamma[k + p] = -gap;
        }
        (error, gamma)
    }

    /// Each row's signed cost of saying no rather than yes under multipliers λ.
    fn signed_weights(&self, lambda: &[f64]) -> Vec<f64> {
        let k = self.pairs.len();
        let delta: Vec<f64> = (0..k).map(|p| lambda[p] - lambda[k + p]).collect();
        let mut event = vec![0.0; self.p_event.len()];
        for (p, &(e, _)) in self.pairs.iter().enumerate() {
            event[e] += delta[p] / self.p_event[e];
        }
        (self.labels.iter().zip(&self.of_row))
            .map(|(&y, row)| {
                let error = 2.0 * f64::from(u8::from(y)) - 1.0;
                match *row {
                    Some((e, p)) => error + event[e] - delta[p] / self.p_pair[p],
                    None => error,
                }
            })
            .collect()
    }

    /// Only each pair's net multiplier matters: λ+ − λ− on the side of its sign.
    fn project(&self, lambda: &[f64]) -> Vec<f64> {
        let k = self.pairs.len();
        let mut projected = vec![0.0; 2 * k];
        for p in 0..k {
            let delta = lambda[p] - lambda[k + p];
            projected[p] = delta.max(0.0);
            projected[k + p] = (-delta).max(0.0);
        }
        projected
    }
}

/// The game's state: the classifiers found so far with their error and moments.
struct Lagrangian<'a, L: Learner> {
    learner: &'a mut L,
    moments: Moments,
    b: f64,
    classifiers: Vec<Classifier<L::Model>>,
    errors: Vec<f64>,
    gammas: Vec<Vec<f64>>,
    oracle_calls: usize,
    /// The last linear program's answer, kept until a classifier is added.
    last_lp: Option<(usize, Vec<f64>, Vec<f64>, f64)>,
}

impl<L: Learner> Lagrangian<'_, L> {
    /// (L, L_high) of mixture `q` (weights over the stored classifiers) under λ.
    fn eval(&self, q: &[f64], lambda: &[f64]) -> (f64, f64) {
        let j = self.moments.count();
        let error: f64 = q.iter().zip(&self.errors).map(|(w, e)| w * e).sum();
        let gamma: Vec<f64> = (0..j)
            .map(|c| q.iter().zip(&self.gammas).map(|(w, g)| w * g[c]).sum())
            .collect();
        let projected = self.moments.project(lambda);
        let bound = self.moments.bound;
        let l = error
            + (projected.iter().zip(&gamma))
                .map(|(l, g)| l * (g - bound))
                .sum::<f64>();
        let worst = gamma
            .iter()
            .map(|g| g - bound)
            .fold(f64::NEG_INFINITY, f64::max);
        let high = if worst <= 0.0 {
            error
        } else {
            error + self.b * worst
        };
        (l, high)
    }

    /// The learner's best response to λ, stored if it beats every stored classifier's
    /// Lagrangian by more than 1e-8; the best stored classifier's index.
    fn best_h(&mut self, lambda: &[f64]) -> usize {
        let signed = self.moments.signed_weights(lambda);
        let labels: Vec<bool> = signed.iter().map(|&s| s > 0.0).collect();
        let total: f64 = signed.iter().map(|s| s.abs()).sum();
        let n = signed.len() as f64;
        let weights: Vec<f64> = signed.iter().map(|s| n * s.abs() / total).collect();
        let classifier = match labels.iter().all(|&y| y == labels[0]) {
            true => Classifier::Constant(labels[0]),
            false => Classifier::Fitted(self.learner.fit(&labels, &weights)),
        };
        self.oracle_calls += 1;
        let decisions = match &classifier {
            Classifier::Constant(yes) => vec![*yes; signed.len()],
            Classifier::Fitted(model) => self.learner.predict_train(model),
        };
        let (error, gamma) = self.moments.of(&decisions);
        let value = |e: f64, g: &[f64]| e + g.iter().zip(lambda).map(|(g, l)| g * l).sum::<f64>();
        let h_value = value(error, &gamma);
        let mut best = (usize::MAX, f64::INFINITY);
        for (i, (e, g)) in self.errors.iter().zip(&self.gammas).enumerate() {
            let v = value(*e, g);
            if v < best.1 {
                best = (i, v);
            }
        }
        if h_value < best.1 - PRECISION {
            self.classifiers.push(classifier);
            self.errors.push(error);
            self.gammas.push(gamma);
            return self.classifiers.len() - 1;
        }
        best.0
    }

    /// The duality gap of mixture `q` against λ̂: how far from a saddle point.
    fn eval_gap(&mut self, q: &[f64], lambda: &[f64], nu: f64) -> f64 {
        let (l, high) = self.eval(q, lambda);
        let mut low = l;
        for multiplier in [1.0, 2.0, 5.0, 10.0] {
            let scaled: Vec<f64> = lambda.iter().map(|l| multiplier * l).collect();
            let h = self.best_h(&scaled);
            let mut unit = vec![0.0; self.classifiers.len()];
            unit[h] = 1.0;
            low = low.min(self.eval(&unit, lambda).0);
            if (l - low).max(high - l) > nu + PRECISION {
                break;
            }
        }
        (l - low).max(high - l)
    }

    /// The best mixture of the stored classifiers and its multipliers, by linear programming.
    fn solve_lp(&mut self, nu: f64) -> (Vec<f64>, f64) {
        let hs = self.classifiers.len();
        if let Some((count, q, _, gap)) = &self.last_lp
            && *count == hs
        {
            return (q.clone(), *gap);
        }
        let j = self.moments.count();
        let bound = self.moments.bound;
        // Primal: min Σ Q_h err_h + B ξ, Σ_h Q_h (γ_jh − ε) − ξ + s_j = 0, Σ Q_h = 1.
        let columns = hs + 1 + j;
        let mut c = vec![0.0; columns];
        c[..hs].copy_from_slice(&self.errors);
        c[hs] = self.b;
        let mut a = Vec::new();
        for constraint in 0..j {
            let mut row = vec![0.0; columns];
            for (cell, gammas) in row.iter_mut().zip(&self.gammas) {
                *cell = gammas[constraint] - bound;
            }
            row[hs] = -1.0;
            row[hs + 1 + constraint] = 1.0;
            a.push(row);
        }
        let mut sum = vec![0.0; columns];
        sum[..hs].iter_mut().for_each(|v| *v = 1.0);
        a.push(sum);
        let mut b = vec![0.0; j];
        b.push(1.0);
        let x = lp::minimize(&c, &a, &b).expect("the mixtures' program is feasible and bounded");
        let q = x[..hs].to_vec();
        // Dual: max μ, μ − Σ_j λ_j (γ_jh − ε) + t_h = err_h, Σ λ_j + u = B (μ = μ⁺ − μ⁻).
        let columns = j + 2 + hs + 1;
        let mut c = vec![0.0; columns];
        (c[j], c[j + 1]) = (-1.0, 1.0);
        let mut a = Vec::new();
        for h in 0..hs {
            let mut row = vec![0.0; columns];
            for (cell, gamma) in row.iter_mut().zip(&self.gammas[h][..j]) {
                *cell = -(gamma - bound);
            }
            (row[j], row[j + 1]) = (1.0, -1.0);
            row[j + 2 + h] = 1.0;
            a.push(row);
        }
        let mut total = vec![0.0; columns];
        total[..j].iter_mut().for_each(|v| *v = 1.0);
        total[columns - 1] = 1.0;
        a.push(total);
        let mut b = self.errors.clone();
        b.push(self.b);
        let y = lp::minimize(&c, &a, &b).expect("the multipliers' program is feasible and bounded");
        let lambda = y[..j].to_vec();
        let gap = self.eval_gap(&q, &lambda, nu);
        self.last_lp = Some((hs, q.clone(), lambda, gap));
        (q, gap)
    }
}

/// Run the reduction on the training rows (`labels`, `groups`) with `learner`.
pub fn exponentiated_gradient<L: Learner>(
    learner: &mut L,
    labels: &[bool],
    groups: &[u32],
    constraint: Constraint,
    settings: &Settings,
) -> Mixture<L::Model> {
    let moments = Moments::new(constraint, labels, groups, settings.difference_bound);
    let j = moments.count();
    let b = 1.0 / settings.eps;
    let mut game = Lagrangian {
        learner,
        moments,
        b,
        classifiers: Vec::new(),
        errors: Vec::new(),
        gammas: Vec::new(),
        oracle_calls: 0,
        last_lp: None,
    };
    let mut theta = vec![0.0; j];
    let mut lambda_sum = vec![0.0; j];
    let mut q_sum: Vec<f64> = Vec::new();
    let (mut gaps_eg, mut gaps, mut mixtures) = (Vec::new(), Vec::new(), Vec::<Vec<f64>>::new());
    let (mut nu, mut eta) = (0.0, 0.0);
    let mut last_regret_checked = REGRET_CHECK_START_T;
    let mut last_gap = f64::INFINITY;
    for t in 0..settings.max_iter {
        let exp: Vec<f64> = theta.iter().map(|v: &f64| v.exp()).collect();
        let denominator = 1.0 + exp.iter().sum::<f64>();
        let lambda: Vec<f64> = exp.iter().map(|e| b * e / denominator).collect();
        lambda_sum
            .iter_mut()
            .zip(&lambda)
            .for_each(|(s, l)| *s += l);
        let lambda_eg: Vec<f64> = lambda_sum.iter().map(|s| s / (t + 1) as f64).collect();
        let h = game.best_h(&lambda);
        if t == 0 {
            // ν: half the standard error of the first (unconstrained) classifier's losses.
            let decisions = match &game.classifiers[h] {
                Classifier::Constant(yes) => vec![*yes; labels.len()],
                Classifier::Fitted(model) => game.learner.predict_train(model),
            };
            let losses: Vec<f64> = (decisions.iter().zip(labels))
                .map(|(d, y)| f64::from(u8::from(d != y)))
                .collect();
            nu = ACCURACY_MUL * sample_std(&losses) / (labels.len() as f64).sqrt();
            eta = settings.eta0 / b;
        }
        q_sum.resize(game.classifiers.len(), 0.0);
        q_sum[h] += 1.0;
        let total: f64 = q_sum.iter().sum();
        let q_eg: Vec<f64> = q_sum.iter().map(|v| v / total).collect();
        let gap_eg = game.eval_gap(&q_eg, &lambda_eg, nu);
        gaps_eg.push(gap_eg);
        let (q_lp, gap_lp) = match t {
            0 => (Vec::new(), f64::INFINITY),
            _ => game.solve_lp(nu),
        };
        if gap_eg < gap_lp {
            mixtures.push(q_eg);
            gaps.push(gap_eg);
        } else {
            mixtures.push(q_lp);
            gaps.push(gap_lp);
        }
        if gaps[t] < nu && t >= MIN_ITER {
            break;
        }
        if t as f64 >= last_regret_checked as f64 * REGRET_CHECK_INCREASE_T {
            let best_gap = gaps_eg.iter().copied().fold(f64::INFINITY, f64::min);
            if best_gap > last_gap * SHRINK_REGRET {
                eta *= SHRINK_ETA;
            }
            last_regret_checked = t;
            last_gap = best_gap;
        }
        let gamma = &game.gammas[h];
        for (theta, g) in theta.iter_mut().zip(gamma) {
            *theta += eta * (g - settings.difference_bound);
        }
    }
    let smallest = gaps.iter().copied().fold(f64::INFINITY, f64::min);
    let best = (0..gaps.len())
        .rev()
        .find(|&t| gaps[t] <= smallest + PRECISION)
        .expect("at least one iteration");
    let members = (mixtures[best].iter().enumerate())
        .filter(|&(_, &w)| w > 0.0)
        .map(|(h, &w)| (w, game.classifiers[h].clone()))
        .collect();
    Mixture {
        members,
        iterations: gaps.len(),
        best_gap: gaps[best],
        oracle_calls: game.oracle_calls,
        stored: game.classifiers.len(),
    }
}

fn sample_std(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// fairlearn's test learner (`simple_learners.py`): weighted least squares without an
    /// intercept, positive iff Xb > ½.
    struct LeastSquares {
        x: Vec<[f64; 3]>,
    }

    impl Learner for LeastSquares {
        type Model = [f64; 3];

        fn fit(&mut self, labels: &[bool], weights: &[f64]) -> [f64; 3] {
            // Normal equations XᵀWX b = XᵀWy, by Gaussian elimination.
            let mut m = [[0.0; 4]; 3];
            for ((x, &y), &w) in self.x.iter().zip(labels).zip(weights) {
                for i in 0..3 {
                    for j in 0..3 {
                        m[i][j] += w * x[i] * x[j];
                    }
                    m[i][3] += w * x[i] * f64::from(u8::from(y));
                }
            }
            for col in 0..3 {
                let pivot = (col..3)
                    .max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs()))
                    .unwrap();
                m.swap(col, pivot);
                for row in 0..3 {
                    if row != col {
                        let f = m[row][col] / m[col][col];
                        let pivot = m[col];
                        for (cell, p) in m[row].iter_mut().zip(pivot) {
                            *cell -= f * p;
                        }
                    }
                }
            }
            [m[0][3] / m[0][0], m[1][3] / m[1][1], m[2][3] / m[2][2]]
        }

        fn predict_train(&self, b: &[f64; 3]) -> Vec<bool> {
            (self.x.iter())
                .map(|x| x[0] * b[0] + x[1] * b[1] + x[2] * b[2] > 0.5)
                .collect()
        }
    }

    /// fairlearn's `test_exponentiatedgradient_smoke.py` data: 20 rows, groups A, B, C.
    fn smoke() -> (LeastSquares, Vec<bool>, Vec<u32>) {
        let bits = |s: &str| s.bytes().map(|b| b == b'1').collect::<Vec<bool>>();
        let (x1, x2) = (bits("01101010111101001011"), bits("00001000000011111111"));
        let x = (0..20)
            .map(|i| [f64::from(u8::from(x1[i])), f64::from(u8::from(x2[i])), 1.0])
            .collect();
        let groups = "AAAAAAABBBBBBBCCCCCC"
            .bytes()
            .map(|b| u32::from(b - b'A'))
            .collect();
        (LeastSquares { x }, bits("01101000010111001111"), groups)
    }

    /// A biased synthetic set (group 1 scores higher on the one feature that predicts the
    /// label): unconstrained, the logistic regression's positive rates differ by far more
    /// than the bound; the reduction's mixture keeps every group within it of everyone's.
    /// Equal opportunity reads the positive rows only: γ is each group's true-positive rate
    /// less everyone's, whatever the negative rows are told, worked by hand.
    #[test]
    fn true_positive_rate_parity_moments_read_the_positive_rows_only() {
        let labels = [true, false, true, false];
        let moments = Moments::new(
            Constraint::TruePositiveRateParity,
            &labels,
            &[0, 0, 1, 1],
            0.1,
        );
        assert_eq!(moments.count(), 4);
        // Group 0's positive is selected, group 1's not: TPRs 1 and 0, everyone's ½.
        for decisions in [[true, true, false, false], [true, false, false, true]] {
            let (_, gamma) = moments.of(&decisions);
            assert_eq!(gamma, [0.5, -0.5, -0.5, 0.5], "{decisions:?}");
        }
        // Negative rows weigh in by their error alone.
        let weights = moments.signed_weights(&[1.0, 0.0, 0.0, 0.0]);
        assert_eq!((weights[1], weights[3]), (-1.0, -1.0));
    }

    #[test]
    fn the_mixtures_violation_falls_below_its_bound_on_biased_data() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let n = 2000;
        let groups: Vec<u32> = (0..n).map(|i| (i % 2) as u32).collect();
        let features: Vec<f32> = (groups.iter())
            .flat_map(|&g| {
                let x: f32 = rng.random::<f32>() + 0.6 * g as f32;
                [x, rng.random::<f32>()]
            })
            .collect();
        let labels: Vec<f32> = (0..n)
            .map(|i| f32::from(features[2 * i] + 0.3 * rng.random::<f32>() > 0.9))
            .collect();
        let split = crate::data::Split {
            features,
            n_features: 2,
            labels,
            groups,
        };
        let labels: Vec<bool> = split.labels.iter().map(|&y| y > 0.5).collect();
        for constraint in Constraint::ALL.iter().copied() {
            let moments = Moments::new(constraint, &labels, &split.groups, 0.02);
            let mut learner = logistic::Logistic::new(&split);
            let plain = learner.fit(&labels, &vec![1.0; n]);
            let (_, gamma) = moments.of(&logistic::predict(&plain, &split));
            let before = gamma.iter().copied().fold(0.0, f64::max);
            assert!(
                before > 0.05,
                "{constraint:?}: unconstrained violation {before}"
            );
            let settings = Settings::with_bound(0.02);
            let mixture =
                exponentiated_gradient(&mut learner, &labels, &split.groups, constraint, &settings);
            let mut gamma = vec![0.0; moments.count()];
            for (w, c) in &mixture.members {
                let decisions = match c {
                    Classifier::Constant(yes) => vec![*yes; n],
                    Classifier::Fitted(beta) => logistic::predict(beta, &split),
                };
                gamma
                    .iter_mut()
                    .zip(moments.of(&decisions).1)
                    .for_each(|(a, g)| *a += w * g);
            }
            let after = gamma.iter().copied().fold(0.0, f64::max);
            assert!(
                after <= 0.02 + 1e-3,
                "{constraint:?}: {before} → {after}, {mixture:?}"
            );
        }
    }

    /// fairlearn's recorded results: for each bound, the mixture's error and largest
    /// moment (= the bound), its oracle calls and stored classifiers.
    #[test]
    fn fairlearns_smoke_test_values() {
        let cases = [
            (Constraint::DemographicParity, 0.1, 0.25, 32, 3),
            (Constraint::DemographicParity, 0.05, 0.266522, 23, 6),
            (Constraint::DemographicParity, 0.02, 0.332261, 22, 5),
            (Constraint::DemographicParity, 0.01, 0.354174, 22, 5),
            (Constraint::DemographicParity, 0.005, 0.365130, 22, 5),
            (Constraint::EqualizedOdds, 0.1, 0.309333, 21, 4),
            (Constraint::EqualizedOdds, 0.05, 0.378827, 19, 6),
            (Constraint::EqualizedOdds, 0.02, 0.421531, 19, 6),
            (Constraint::EqualizedOdds, 0.01, 0.435765, 19, 6),
            (Constraint::EqualizedOdds, 0.005, 0.442883, 19, 6),
        ];
        for (constraint, bound, error, calls, stored) in cases {
            let (mut learner, labels, groups) = smoke();
            let settings = Settings {
                eps: bound,
                ..Settings::with_bound(bound)
            };
            let mixture =
                exponentiated_gradient(&mut learner, &labels, &groups, constraint, &settings);
            let q = mixture.pmf(20, |b| learner.predict_train(b));
            let moments = Moments::new(constraint, &labels, &groups, bound);
            // The mixture's error and moments are its members' averages.
            let (mut err, mut gamma) = (0.0, vec![0.0; moments.count()]);
            for (w, c) in &mixture.members {
                let decisions = match c {
                    Classifier::Constant(yes) => vec![*yes; 20],
                    Classifier::Fitted(b) => learner.predict_train(b),
                };
                let (e, g) = moments.of(&decisions);
                err += w * e;
                gamma.iter_mut().zip(g).for_each(|(a, g)| *a += w * g);
            }
            let disparity = gamma.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let what = format!("{constraint:?} {bound}: {mixture:?} q {q:?}");
            assert!((err - error).abs() < 1e-6, "error {err}, {what}");
            assert!(
                (disparity - bound).abs() < 1e-6,
                "disparity {disparity}, {what}"
            );
            assert_eq!(
                (mixture.oracle_calls, mixture.stored),
                (calls, stored),
                "{what}"
            );
            assert_eq!(mixture.iterations, 6, "{what}");
            assert!(mixture.best_gap.abs() < 1e-12, "{what}");
        }
    }
}
