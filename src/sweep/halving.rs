//! Pareto-aware successive halving (`search: {halving: {rungs, keep}}`; Schmucker et al.
//! 2021's multi-objective ASHA, run rung by rung). Every configuration trains to the first
//! rung; at each rung, each method keeps the `keep` share of its configurations whose
//! validation points are least dominated, and those train on, from where they stopped, to the
//! next rung. The others stop there, their epochs kept and selectable.
//!
//! The decision at a rung reads what selection reads: each configuration's seeds combined
//! epoch by epoch (mean accuracy, the fairness metric's worst gap), on the validation split,
//! every epoch up to the rung. Those points are sorted into non-dominated fronts (NSGA-II);
//! a configuration ranks by its best point's front, ties broken by that point's crowding
//! distance (the wider the gap it fills, the better), then by plan order. Degenerate epochs
//! (the same prediction for everyone) count for nothing: the constant predictor is on every
//! front already, as AOPAC's anchor. Decisions are per method, so that every method's front
//! is drawn from as many configurations, and they depend on the results alone, so a resumed
//! search makes them again identically.

use std::collections::HashSet;

use crate::analysis::Configuration;
use crate::config::search::Halving;
use crate::selection::{EpochSummary, FairnessMetric};
use crate::train::Method;

/// Configurations as they stood at epoch `rung`: each curve cut there.
pub fn at_rung(configurations: &[Configuration], rung: usize) -> Vec<Configuration> {
    (configurations.iter())
        .map(|c| Configuration {
            curve: c
                .curve
                .iter()
                .filter(|e| e.epoch <= rung)
                .cloned()
                .collect(),
            ..c.clone()
        })
        .collect()
}

/// The configurations (their ids) that go on past a rung, of `configurations` as they stood
/// at it ([`at_rung`]): per method, the `keep` share, at least one.
pub fn survivors(
    configurations: &[Configuration],
    metric: FairnessMetric,
    halving: &Halving,
) -> HashSet<String> {
    let mut methods: Vec<Method> = configurations.iter().map(|c| c.settings.method).collect();
    methods.sort_unstable();
    methods.dedup();
    let mut kept = HashSet::new();
    for method in methods {
        let of_method: Vec<&Configuration> = (configurations.iter())
            .filter(|c| c.settings.method == method)
            .collect();
        let ranks = ranks(&of_method, metric);
        let mut order: Vec<usize> = (0..of_method.len()).collect();
        order.sort_by(|&a, &b| {
            let ((front_a, crowding_a), (front_b, crowding_b)) = (ranks[a], ranks[b]);
            front_a
                .cmp(&front_b)
                .then(crowding_b.total_cmp(&crowding_a))
                .then(a.cmp(&b))
        });
        let n = halving.kept(of_method.len());
        kept.extend(order[..n].iter().map(|&i| of_method[i].config_id.clone()));
    }
    kept
}

/// Each configuration's (front of its best point, that point's crowding distance there);
/// `usize::MAX` for a configuration with no point that counts.
fn ranks(configurations: &[&Configuration], metric: FairnessMetric) -> Vec<(usize, f64)> {
    // (configuration, ΔDP, accuracy)
    let points: Vec<(usize, f64, f64)> = (configurations.iter().enumerate())
        .flat_map(|(c, configuration)| {
            (configuration.curve.iter())
                .filter(|e: &&EpochSummary| !e.validation.degenerate)
                .map(move |e| (c, metric.of(&e.validation), e.validation.accuracy_mean))
        })
        .collect();
    let mut best = vec![(usize::MAX, f64::NEG_INFINITY); configurations.len()];
    let dominates = |a: &(usize, f64, f64), b: &(usize, f64, f64)| {
        a.1 <= b.1 && a.2 >= b.2 && (a.1 < b.1 || a.2 > b.2)
    };
    let mut remaining: Vec<usize> = (0..points.len()).collect();
    let mut front_number = 0;
    while !remaining.is_empty() {
        let (front, rest): (Vec<usize>, Vec<usize>) = remaining
            .iter()
            .partition(|&&i| !remaining.iter().any(|&j| dominates(&points[j], &points[i])));
        for (i, crowding) in crowding_distances(&front, &points) {
            let slot = &mut best[points[i].0];
            if slot.0 == usize::MAX || (slot.0 == front_number && crowding > slot.1) {
                *slot = (front_number, crowding);
            }
        }
        remaining = rest;
        front_number += 1;
    }
    best
}

/// NSGA-II's crowding distance of each point of a front: the ends infinite, the others the
/// sides of the box their neighbours span, each axis scaled by the front's range on it.
fn crowding_distances(front: &[usize], points: &[(usize, f64, f64)]) -> Vec<(usize, f64)> {
    let mut sorted = front.to_vec();
    sorted.sort_by(|&a, &b| points[a].1.total_cmp(&points[b].1).then(a.cmp(&b)));
    let n = sorted.len();
    let span = |axis: fn(&(usize, f64, f64)) -> f64| {
        let values = sorted.iter().map(|&i| axis(&points[i]));
        let (low, high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
            (l.min(v), h.max(v))
        });
        (high - low).max(f64::MIN_POSITIVE)
    };
    let (dp_span, accuracy_span) = (span(|p| p.1), span(|p| p.2));
    (0..n)
        .map(|k| {
            let distance = match k {
                _ if k == 0 || k + 1 == n => f64::INFINITY,
                _ => {
                    let (before, after) = (&points[sorted[k - 1]], &points[sorted[k + 1]]);
                    (after.1 - before.1) / dp_span + (before.2 - after.2).abs() / accuracy_span
                }
            };
            (sorted[k], distance)
        })
        .collect()
}

/// Epochs a halving search trains, of `configurations` configurations of each method with
/// `seeds` seeds each: every trial to the first rung, the kept share of each rung's to the
/// next. With [`Halving::kept`] as it decides.
pub fn planned_epochs(
    halving: &Halving,
    configurations_per_method: &[usize],
    seeds: usize,
) -> usize {
    configurations_per_method
        .iter()
        .map(|&n| {
            let mut alive = n;
            let mut epochs = 0;
            let mut done = 0;
            for &rung in &halving.rungs {
                epochs += alive * (rung - done);
                done = rung;
                alive = halving.kept(alive);
            }
            epochs * seeds
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::Settings;
    use crate::selection::SeedStats;

    /// A configuration of `method` whose seeds, combined, made these validation (ΔDP,
    /// accuracy) points at epochs 1, 2, …; ΔDP 0 marks a degenerate epoch.
    fn configuration(id: &str, method: Method, points: &[(f64, f64)]) -> Configuration {
        let stats = |&(dp, accuracy): &(f64, f64)| SeedStats {
            accuracy_mean: accuracy,
            seed_gaps: [vec![dp], Vec::new(), Vec::new(), Vec::new()],
            degenerate: dp == 0.0,
            ..SeedStats::default()
        };
        Configuration {
            config_id: id.into(),
            settings: Settings {
                method,
                ..Settings::default()
            },
            seeds_planned: 1,
            unfinished: Vec::new(),
            curve: (points.iter().enumerate())
                .map(|(i, p)| EpochSummary {
                    epoch: i + 1,
                    seeds: 1,
                    train_bce: (f64::NAN, f64::NAN, f64::NAN),
                    validation: stats(p),
                    test: stats(p),
                })
                .collect(),
            downstream: None,
        }
    }

    fn kept(configurations: &[Configuration], keep: f64) -> Vec<String> {
        let halving = Halving {
            rungs: vec![2, 4],
            keep,
        };
        let mut ids: Vec<String> = survivors(configurations, FairnessMetric::DpSoft, &halving)
            .into_iter()
            .collect();
        ids.sort();
        ids
    }

    /// Worked by hand. Lagrangian points (ΔDP, accuracy):
    ///   a: (0.10, 0.80) (0.05, 0.78)   both on front 0
    ///   b: (0.20, 0.83)                 front 0 (the most accurate)
    ///   c: (0.06, 0.77) (0.12, 0.79)   dominated by a's points: front 1
    ///   d: (0.30, 0.70)                 dominated by b and a: front 1 too (c's (0.12, 0.79)
    ///                                   and b do not dominate each other; d is behind a)
    ///   e: only degenerate epochs        no point: last
    /// Front 0 sorted by ΔDP: a(0.05) a(0.10) b(0.20): ends infinite, so a and b tie at ∞
    /// and keep plan order. Keeping 1/2 of 5 → 3: a, b, and of front 1 the more crowded…
    /// front 1 sorted: c(0.06, 0.77), c(0.12, 0.79), d(0.30, 0.70): c has an end, ∞; d too.
    /// Both ∞: plan order keeps c.
    #[test]
    fn rungs_keep_each_methods_least_dominated_configurations() {
        use Method::*;
        let configurations = [
            configuration("a", Lagrangian, &[(0.10, 0.80), (0.05, 0.78)]),
            configuration("b", Lagrangian, &[(0.20, 0.83)]),
            configuration("c", Lagrangian, &[(0.06, 0.77), (0.12, 0.79)]),
            configuration("d", Lagrangian, &[(0.30, 0.70)]),
            configuration("e", Lagrangian, &[(0.0, 0.75), (0.0, 0.75)]),
            configuration("erm", Erm, &[(0.18, 0.85)]),
            configuration("f1", FairBiNN, &[(0.02, 0.70)]),
            configuration("f2", FairBiNN, &[(0.03, 0.69)]),
        ];
        assert_eq!(kept(&configurations, 0.5), ["a", "b", "c", "erm", "f1"]);
        // A third: 2 of the Lagrangian's (front 0, tied at ∞, plan order), 1 of each other.
        assert_eq!(kept(&configurations, 1.0 / 3.0), ["a", "b", "erm", "f1"]);
        // Crowding decides within a front: three points on front 0 of one configuration each,
        // the middle one's box the widest of the interior ones.
        let spread = [
            configuration("low", Lagrangian, &[(0.01, 0.70)]),
            configuration("mid-narrow", Lagrangian, &[(0.02, 0.71)]),
            configuration("mid-wide", Lagrangian, &[(0.10, 0.80)]),
            configuration("high", Lagrangian, &[(0.20, 0.81)]),
        ];
        // mid-narrow: (0.10 − 0.01)/0.19 + (0.80 − 0.70)/0.11 = 0.47 + 0.91 = 1.38
        // mid-wide:   (0.20 − 0.02)/0.19 + (0.81 − 0.71)/0.11 = 0.95 + 0.91 = 1.86
        assert_eq!(kept(&spread, 0.75), ["high", "low", "mid-wide"]);
        // A rung's decision reads the epochs up to it.
        let late = [
            configuration(
                "early",
                Lagrangian,
                &[(0.10, 0.80), (0.10, 0.80), (0.10, 0.80)],
            ),
            configuration(
                "late",
                Lagrangian,
                &[(0.10, 0.70), (0.10, 0.70), (0.05, 0.90)],
            ),
        ];
        assert_eq!(kept(&late, 0.5), ["late"]);
        assert_eq!(kept(&at_rung(&late, 2), 0.5), ["early"]);
    }

    #[test]
    fn planned_epochs_follow_the_rungs() {
        let halving = Halving {
            rungs: vec![5, 15, 50],
            keep: 1.0 / 3.0,
        };
        // 9 configurations: 9·5 + 3·10 + 1·35 = 110 epochs a seed; 1: 50.
        assert_eq!(planned_epochs(&halving, &[9, 1], 5), (110 + 50) * 5);
    }
}
