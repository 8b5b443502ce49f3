//! `threshold`: group-specific decision thresholds on a trained base network's scores
//! (Hardt, Price & Srebro 2016, as fairlearn's `ThresholdOptimizer` does it), fitted on the
//! validation split after every epoch of the base and applied to both splits.
//!
//! Each group's candidate rules are "positive iff score > cut", one cut between each pair of
//! neighbouring distinct scores (and ±∞). Demographic parity compares the groups' selection
//! rates, equal opportunity (`true_positive_rate_parity`) their TPRs by the same search, and
//! equalized odds their (FPR, TPR). The objective is accuracy on the fitting rows.
//! - Deterministic (the default): one cut per group, the most accurate whose selection rates
//!   lie within `tolerance` of each other. Exact parity is rarely reachable with one cut per
//!   group; a tolerance of 1/(smallest group's rows) always is.
//!   For equalized odds, every pair of groups within `tolerance` in FPR and in TPR (exact for
//!   two groups, a heuristic for more: see [`equalized_odds_cuts`]).
//! - Randomized (fairlearn's rule): each group mixes the two cuts around a point of its
//!   rules' upper concave hull, resampled on a grid of 1000 rates, so rates can be equal
//!   exactly; the per-row probability of a positive decision gives expected metrics.

use serde::{Deserialize, Serialize};

use crate::metrics::SplitMetrics;

/// Which gaps the thresholds close (`constraint:`, read by `threshold` and `reductions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Constraint {
    /// Equal positive-prediction rates.
    #[default]
    #[serde(rename = "dp")]
    DemographicParity,
    /// Equal true- and false-positive rates.
    #[serde(rename = "eo")]
    EqualizedOdds,
    /// Equal true-positive rates (equal opportunity; fairlearn's name).
    #[serde(rename = "true_positive_rate_parity")]
    TruePositiveRateParity,
}

super::knob::choice_names!(Constraint {
    DemographicParity => "dp",
    EqualizedOdds => "eo",
    TruePositiveRateParity => "true_positive_rate_parity",
});

/// `threshold`'s settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThresholdSpec {
    pub constraint: Constraint,
    /// The largest gap in selection rates the thresholds may leave (demographic parity).
    pub tolerance: f64,
    /// fairlearn's randomized rule instead of one cut per group.
    pub randomized: bool,
}

/// fairlearn's `grid_size`: the rates the randomized rule may pick.
const GRID: usize = 1000;

/// One candidate rule of a group: positive iff score > `cut` (with `flip`, iff score < cut).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Rule {
    cut: f64,
    flip: bool,
}

impl Rule {
    fn decides(self, score: f64) -> bool {
        if self.flip {
            score < self.cut
        } else {
            score > self.cut
        }
    }
}

/// A rule and where it stands: x is the selection rate (DP) or FPR (EO), y the group's
/// accuracy (DP) or TPR (EO).
#[derive(Debug, Clone, Copy)]
struct Point {
    x: f64,
    y: f64,
    rule: Rule,
}

/// A group's randomized decision: `p0` of rule0 and `p1` of rule1, then, for equalized odds,
/// with probability `ignore` a coin that says yes with probability `coin`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mixture {
    p0: f64,
    rule0: Rule,
    p1: f64,
    rule1: Rule,
    ignore: f64,
    coin: f64,
}

impl Mixture {
    /// As text, for a saved model: p0, cut0, flip0, p1, cut1, flip1, ignore, coin (a cut
    /// may be ±∞, which JSON numbers cannot hold).
    pub fn to_texts(&self) -> Vec<String> {
        let (a, b) = (self.rule0, self.rule1);
        [self.p0, a.cut]
            .iter()
            .map(f64::to_string)
            .chain([a.flip.to_string()])
            .chain([self.p1, b.cut].iter().map(f64::to_string))
            .chain([b.flip.to_string()])
            .chain([self.ignore, self.coin].iter().map(f64::to_string))
            .collect()
    }

    /// [`to_texts`](Self::to_texts) read back; `None` if they are not its eight values.
    pub fn from_texts(texts: &[String]) -> Option<Self> {
        let [p0, cut0, flip0, p1, cut1, flip1, ignore, coin] = texts else {
            return None;
        };
        let number = |t: &String| t.parse::<f64>().ok();
        let flag = |t: &String| t.parse::<bool>().ok();
        let rule = |cut, flip| {
            Some(Rule {
                cut: number(cut)?,
                flip: flag(flip)?,
            })
        };
        Some(Self {
            p0: number(p0)?,
            rule0: rule(cut0, flip0)?,
            p1: number(p1)?,
            rule1: rule(cut1, flip1)?,
            ignore: number(ignore)?,
            coin: number(coin)?,
        })
    }

    fn probability(&self, score: f64) -> f64 {
        let q = self.p0 * f64::from(u8::from(self.rule0.decides(score)))
            + self.p1 * f64::from(u8::from(self.rule1.decides(score)));
        self.ignore * self.coin + (1.0 - self.ignore) * q
    }
}

/// Fitted thresholds: for each group, how a score becomes a decision.
#[derive(Debug, Clone, PartialEq)]
pub enum Thresholds {
    /// Positive iff score > the group's cut.
    Deterministic(Vec<f64>),
    Randomized(Vec<Mixture>),
}

/// Fit thresholds on `scores` (the base's probabilities on the fitting rows). An error says
/// why none can be fitted.
pub fn fit(
    spec: &ThresholdSpec,
    scores: &[f32],
    labels: &[f32],
    groups: &[u32],
    n_groups: usize,
) -> Result<Thresholds, String> {
    fit_with(spec, scores, labels, groups, n_groups, false)
}

/// [`fit`], with fairlearn's `flip` (rules "score < cut" too) for its own test cases.
fn fit_with(
    spec: &ThresholdSpec,
    scores: &[f32],
    labels: &[f32],
    groups: &[u32],
    n_groups: usize,
    flip: bool,
) -> Result<Thresholds, String> {
    let mut per_group = vec![Vec::new(); n_groups];
    for ((&s, &y), &g) in scores.iter().zip(labels).zip(groups) {
        per_group[g as usize].push((f64::from(s), y > 0.5));
    }
    let rows = scores.len() as f64;
    let present: Vec<usize> = (0..n_groups)
        .filter(|&g| !per_group[g].is_empty())
        .collect();
    let curves: Vec<Vec<Point>> = per_group
        .iter()
        .enumerate()
        .filter(|(_, rows)| !rows.is_empty())
        .map(|(g, rows)| rules(rows, spec.constraint, flip).map_err(|e| format!("group {g}: {e}")))
        .collect::<Result<_, _>>()?;
    let weights: Vec<f64> = present
        .iter()
        .map(|&g| per_group[g].len() as f64 / rows)
        .collect();
    // Groups absent from the fitting rows are never selected, as in fairlearn.
    let mut cuts = vec![f64::INFINITY; n_groups];
    let never = Rule {
        cut: f64::INFINITY,
        flip: false,
    };
    let mut mixtures = vec![
        Mixture {
            p0: 1.0,
            rule0: never,
            p1: 0.0,
            rule1: never,
            ignore: 0.0,
            coin: 0.0
        };
        n_groups
    ];
    match (spec.constraint, spec.randomized) {
        // Equal opportunity is demographic parity's search with each group's true-positive
        // rate in place of its selection rate, as in fairlearn.
        (Constraint::DemographicParity | Constraint::TruePositiveRateParity, false) => {
            let (xs, ys, at) = on_shared_grid(&curves, &weights);
            let (picks, _) = best_window(&xs, &ys, spec.tolerance)
                .ok_or("no cuts put every group's selection rate within the tolerance")?;
            for (i, (&g, &pick)) in present.iter().zip(&picks).enumerate() {
                cuts[g] = at[i][pick].expect("a pick is one of the group's rules").cut;
            }
            return Ok(Thresholds::Deterministic(cuts));
        }
        (Constraint::DemographicParity | Constraint::TruePositiveRateParity, true) => {
            let hulls: Vec<Vec<Point>> = curves.iter().map(|c| upper_hull(c)).collect();
            let xs: Vec<f64> = (0..=GRID).map(|k| k as f64 / GRID as f64).collect();
            let ys: Vec<Vec<f64>> = hulls
                .iter()
                .zip(&weights)
                .map(|(hull, w)| xs.iter().map(|&x| w * interpolate(hull, x).1).collect())
                .collect();
            let (picks, _) =
                best_window(&xs, &ys, spec.tolerance).expect("a shared grid always has a window");
            for ((&g, hull), &pick) in present.iter().zip(&hulls).zip(&picks) {
                mixtures[g] = interpolate(hull, xs[pick]).0;
            }
        }
        (Constraint::EqualizedOdds, false) => {
            let counts: Vec<(f64, f64)> = (present.iter())
                .map(|&g| {
                    let positives = per_group[g].iter().filter(|r| r.1).count() as f64;
                    (positives, per_group[g].len() as f64 - positives)
                })
                .collect();
            let picks = equalized_odds_cuts(&curves, &counts, rows, spec.tolerance).ok_or(
                "no cuts put every group's true- and false-positive rates within the tolerance",
            )?;
            for (&g, rule) in present.iter().zip(picks) {
                cuts[g] = rule.cut;
            }
            return Ok(Thresholds::Deterministic(cuts));
        }
        (Constraint::EqualizedOdds, true) => {
            let hulls: Vec<Vec<Point>> = curves.iter().map(|c| upper_hull(c)).collect();
            let positives = labels.iter().filter(|&&y| y > 0.5).count() as f64;
            let negatives = rows - positives;
            // The lowest TPR any group reaches at each FPR: the shared ROC point.
            let (mut best, mut best_value) = (0.0, f64::NEG_INFINITY);
            for k in 0..=GRID {
                let x = k as f64 / GRID as f64;
                let tpr = hulls
                    .iter()
                    .map(|h| interpolate(h, x).1)
                    .fold(f64::INFINITY, f64::min);
                let accuracy = (negatives * (1.0 - x) + positives * tpr) / rows;
                // fairlearn rounds to 15 decimals, so near-ties go to the first.
                let accuracy = (accuracy * 1e15).round() / 1e15;
                if accuracy > best_value {
                    (best, best_value) = (x, accuracy);
                }
            }
            let tpr = hulls
                .iter()
                .map(|h| interpolate(h, best).1)
                .fold(f64::INFINITY, f64::min);
            for (&g, hull) in present.iter().zip(&hulls) {
                let (mixture, y) = interpolate(hull, best);
                // Mix with the coin on the diagonal (FPR = TPR = x) down to the shared TPR.
                let ignore = if y == best {
                    0.0
                } else {
                    (y - tpr) / (y - best)
                };
                mixtures[g] = Mixture {
                    ignore,
                    coin: best,
                    ..mixture
                };
            }
        }
    }
    Ok(Thresholds::Randomized(mixtures))
}

/// A group's rules from the most selective (nobody) to the least (everybody), and with
/// `flip` their complements; each with its (x, y).
fn rules(rows: &[(f64, bool)], constraint: Constraint, flip: bool) -> Result<Vec<Point>, String> {
    let mut sorted = rows.to_vec();
    sorted.sort_by(|a, b| b.0.total_cmp(&a.0));
    let n = sorted.len() as f64;
    let positives = sorted.iter().filter(|r| r.1).count() as f64;
    let negatives = n - positives;
    if constraint == Constraint::TruePositiveRateParity && positives == 0.0 {
        return Err(format!(
            "its {n} fitting rows are all negative, so its true-positive rate is not defined"
        ));
    }
    if constraint == Constraint::EqualizedOdds && (positives == 0.0 || negatives == 0.0) {
        return Err(format!(
            "its {n} fitting rows are all {}, so its true- and false-positive rates are not both defined",
            if positives == 0.0 {
                "negative"
            } else {
                "positive"
            }
        ));
    }
    let point = |selected: f64, true_positives: f64, rule: Rule| {
        let false_positives = selected - true_positives;
        let (x, y) = match constraint {
            Constraint::DemographicParity => (
                selected / n,
                (true_positives + negatives - false_positives) / n,
            ),
            Constraint::EqualizedOdds => (false_positives / negatives, true_positives / positives),
            Constraint::TruePositiveRateParity => (
                true_positives / positives,
                (true_positives + negatives - false_positives) / n,
            ),
        };
        Point { x, y, rule }
    };
    let mut points = Vec::new();
    let (mut selected, mut true_positives) = (0.0, 0.0);
    let mut cut = f64::INFINITY;
    let mut i = 0;
    loop {
        points.push(point(selected, true_positives, Rule { cut, flip: false }));
        if flip {
            let rule = Rule { cut, flip: true };
            // "score < cut" selects the complement of "score > cut" (no score equals a cut).
            points.push(point(n - selected, positives - true_positives, rule));
        }
        if i == sorted.len() {
            break;
        }
        let value = sorted[i].0;
        while i < sorted.len() && sorted[i].0 == value {
            selected += 1.0;
            true_positives += f64::from(u8::from(sorted[i].1));
            i += 1;
        }
        cut = match sorted.get(i) {
            Some(next) => (value + next.0) / 2.0,
            None => f64::NEG_INFINITY,
        };
    }
    Ok(points)
}

/// Deterministic equalized odds: one cut per group, every pair of groups within `tolerance`
/// in FPR and in TPR, the most accurate found. Each group's rule is the best in a box around
/// a rule of the largest group (the anchor), every anchor rule tried: of half-width
/// `tolerance` for two groups, which is exact, and `tolerance`/2 for more, which keeps every
/// pair within it but may miss the best (a heuristic). Rules are in order of selection, so
/// FPR and TPR only grow and each box's rules are a window sliding forward (a deque keeps its
/// best). `counts` are each group's (positives, negatives).
fn equalized_odds_cuts(
    curves: &[Vec<Point>],
    counts: &[(f64, f64)],
    rows: f64,
    tolerance: f64,
) -> Option<Vec<Rule>> {
    use std::collections::VecDeque;
    // A rule's share of all rows decided right.
    let value = |g: usize, p: &Point| (p.y * counts[g].0 + (1.0 - p.x) * counts[g].1) / rows;
    let anchor = (0..curves.len()).max_by_key(|&g| curves[g].len())?;
    let half = if curves.len() == 2 {
        tolerance
    } else {
        tolerance / 2.0
    } + 1e-12;
    let mut windows = vec![(0usize, 0usize, VecDeque::<usize>::new()); curves.len()];
    let mut best: Option<(f64, Vec<usize>)> = None;
    'anchor: for (i, a) in curves[anchor].iter().enumerate() {
        let mut picks = vec![0; curves.len()];
        picks[anchor] = i;
        let mut total = value(anchor, a);
        for (g, curve) in curves.iter().enumerate().filter(|&(g, _)| g != anchor) {
            let (lo, hi, deque) = &mut windows[g];
            while *hi < curve.len() && curve[*hi].x <= a.x + half && curve[*hi].y <= a.y + half {
                while deque
                    .back()
                    .is_some_and(|&k| value(g, &curve[k]) <= value(g, &curve[*hi]))
                {
                    deque.pop_back();
                }
                deque.push_back(*hi);
                *hi += 1;
            }
            while *lo < curve.len() && (curve[*lo].x < a.x - half || curve[*lo].y < a.y - half) {
                *lo += 1;
            }
            while deque.front().is_some_and(|&k| k < *lo) {
                deque.pop_front();
            }
            let Some(&k) = deque.front() else {
                continue 'anchor;
            };
            picks[g] = k;
            total += value(g, &curve[k]);
        }
        if best.as_ref().is_none_or(|(v, _)| total > *v) {
            best = Some((total, picks));
        }
    }
    let (_, picks) = best?;
    Some((curves.iter().zip(picks)).map(|(c, k)| c[k].rule).collect())
}

/// The upper concave hull of `points`, by x then y (Andrew's monotone chain): the rules a
/// randomized mixture may sit between.
fn upper_hull(points: &[Point]) -> Vec<Point> {
    let mut sorted = points.to_vec();
    sorted.sort_by(|a, b| a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y)));
    // An upper hull has one point at each x, the highest (the last of equals): several
    // rules share an x when it is a true-positive rate (negatives only selected) or an FPR.
    sorted.dedup_by(|later, earlier| {
        let same_x = later.x == earlier.x;
        if same_x {
            *earlier = *later;
        }
        same_x
    });
    let mut hull: Vec<Point> = Vec::new();
    for p in sorted {
        while hull.len() >= 2 {
            let (a, b) = (hull[hull.len() - 2], hull[hull.len() - 1]);
            // Drop b when it lies on or below the chord from a to p.
            let cross = (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x);
            if cross >= 0.0 {
                hull.pop();
            } else {
                break;
            }
        }
        hull.push(p);
    }
    hull
}

/// The hull's point at `x`: the mixture of its two neighbouring rules, and its y.
fn interpolate(hull: &[Point], x: f64) -> (Mixture, f64) {
    // The segment with x_i < x ≤ x_{i+1}; the first grid point takes the first segment.
    let i = hull
        .windows(2)
        .position(|w| w[0].x < x && x <= w[1].x)
        .unwrap_or(0);
    let (a, b) = (hull[i], hull[(i + 1).min(hull.len() - 1)]);
    let p0 = if b.x == a.x {
        1.0
    } else {
        (b.x - x) / (b.x - a.x)
    };
    let p1 = 1.0 - p0;
    let mixture = Mixture {
        p0,
        rule0: a.rule,
        p1,
        rule1: b.rule,
        ignore: 0.0,
        coin: 0.0,
    };
    (mixture, p0 * a.y + p1 * b.y)
}

/// Shared x values, each group's y at each (weighted by its share; −∞ where it has no rule
/// at that x) and the rule behind it.
type SharedGrid = (Vec<f64>, Vec<Vec<f64>>, Vec<Vec<Option<Rule>>>);

/// Every group's points on the union of their x values.
fn on_shared_grid(curves: &[Vec<Point>], weights: &[f64]) -> SharedGrid {
    let mut xs: Vec<f64> = curves.iter().flatten().map(|p| p.x).collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    let mut ys = vec![vec![f64::NEG_INFINITY; xs.len()]; curves.len()];
    let mut at = vec![vec![None; xs.len()]; curves.len()];
    for (g, (curve, w)) in curves.iter().zip(weights).enumerate() {
        for p in curve {
            let i = xs.partition_point(|&x| x < p.x);
            if w * p.y > ys[g][i] {
                (ys[g][i], at[g][i]) = (w * p.y, Some(p.rule));
            }
        }
    }
    (xs, ys, at)
}

/// fairlearn's relaxed search: each group g picks an index k_g of the shared, ascending `xs`
/// so that max x − min x ≤ `tol`, maximizing Σ_g ys[g][k_g] (−∞: not available). A window
/// slides over `xs`; each group keeps a deque of its indices in the window by decreasing y,
/// so its best is the front. Ties go to the narrower realized range, then the earlier window.
/// None when no window holds a point of every group.
fn best_window(xs: &[f64], ys: &[Vec<f64>], tol: f64) -> Option<(Vec<usize>, f64)> {
    use std::collections::VecDeque;
    let mut deques = vec![VecDeque::<usize>::new(); ys.len()];
    let mut best: Option<(Vec<usize>, f64, f64)> = None;
    let mut start = 0;
    for end in 0..xs.len() {
        for (deque, y) in deques.iter_mut().zip(ys) {
            if y[end] == f64::NEG_INFINITY {
                continue;
            }
            while deque.back().is_some_and(|&k| y[k] <= y[end]) {
                deque.pop_back();
            }
            deque.push_back(end);
        }
        // The grid's rates are exact fractions; 1e-12 forgives their rounding.
        while xs[end] - xs[start] > tol + 1e-12 {
            start += 1;
            for deque in &mut deques {
                while deque.front().is_some_and(|&k| k < start) {
                    deque.pop_front();
                }
            }
        }
        let Some(picks) = deques
            .iter()
            .map(|d| d.front().copied())
            .collect::<Option<Vec<usize>>>()
        else {
            continue;
        };
        let value: f64 = picks.iter().zip(ys).map(|(&k, y)| y[k]).sum();
        let range = picks
            .iter()
            .map(|&k| xs[k])
            .fold(f64::NEG_INFINITY, f64::max)
            - picks.iter().map(|&k| xs[k]).fold(f64::INFINITY, f64::min);
        let better = match &best {
            None => true,
            Some((_, v, r)) => value > *v || (value == *v && range < *r),
        };
        if better {
            best = Some((picks, value, range));
        }
    }
    best.map(|(picks, value, _)| (picks, value))
}

impl Thresholds {
    /// Each row's probability of a positive decision.
    pub fn decisions(&self, scores: &[f32], groups: &[u32]) -> Vec<f64> {
        scores
            .iter()
            .zip(groups)
            .map(|(&s, &g)| {
                let s = f64::from(s);
                match self {
                    Self::Deterministic(cuts) => f64::from(u8::from(s > cuts[g as usize])),
                    Self::Randomized(mixtures) => mixtures[g as usize].probability(s),
                }
            })
            .collect()
    }

    /// Deterministic cuts' scores read as shifted logits (see [`metrics`](Self::metrics));
    /// a randomized rule's probability of a positive decision.
    pub fn probabilities(&self, scores: &[f32], groups: &[u32]) -> Vec<f32> {
        match self {
            Self::Deterministic(cuts) => (scores.iter().zip(groups))
                .map(|(&s, &g)| shifted(f64::from(s), cuts[g as usize]))
                .collect(),
            Self::Randomized(_) => (self.decisions(scores, groups).iter())
                .map(|&q| q as f32)
                .collect(),
        }
    }

    /// The metrics of the thresholded decisions on a split. Deterministic cuts are read as
    /// shifts of each group's logit (probability σ(logit(p) − logit(cut))), so a row is
    /// positive exactly when its score passes its group's cut and soft ΔDP is the gap in
    /// those shifted probabilities. Randomized decisions give expected metrics: accuracy,
    /// ΔDP and ΔEO from each row's probability of a positive decision (soft and hard ΔDP
    /// are then the same number).
    pub fn metrics(
        &self,
        scores: &[f32],
        labels: &[f32],
        groups: &[u32],
        n_groups: usize,
    ) -> SplitMetrics {
        match self {
            Self::Deterministic(_) => {
                let shifted = self.probabilities(scores, groups);
                SplitMetrics::compute(&shifted, labels, groups, n_groups)
            }
            Self::Randomized(_) => {
                SplitMetrics::expected(&self.decisions(scores, groups), labels, groups, n_groups)
            }
        }
    }
}

/// σ(logit(p) − logit(cut)), kept on the side of ½ that `p > cut` says.
fn shifted(p: f64, cut: f64) -> f32 {
    let logit = |v: f64| (v / (1.0 - v)).ln();
    let positive = p > cut;
    let value = match cut {
        c if c == f64::INFINITY || c >= 1.0 => 0.0,
        c if c == f64::NEG_INFINITY || c <= 0.0 => 1.0,
        c => 1.0 / (1.0 + (logit(c) - logit(p.clamp(1e-12, 1.0 - 1e-12))).exp()),
    };
    let value = value as f32;
    match positive {
        true if value <= 0.5 => f32::from_bits(0.5f32.to_bits() + 1),
        false if value > 0.5 => 0.5,
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance
    }

    fn group_means(q: &[f64], groups: &[u32], n_groups: usize) -> Vec<f64> {
        crate::metrics::group_means(q, groups, n_groups, |_| true)
    }

    /// One deterministic cut per group under `constraint`, no tolerance.
    fn exact(constraint: Constraint) -> ThresholdSpec {
        ThresholdSpec {
            constraint,
            tolerance: 0.0,
            randomized: false,
        }
    }

    /// The deterministic rule `spec` fits, and its cuts.
    fn cuts_of(
        spec: &ThresholdSpec,
        scores: &[f32],
        labels: &[f32],
        groups: &[u32],
        n_groups: usize,
    ) -> (Thresholds, Vec<f64>) {
        let fitted = fit(spec, scores, labels, groups, n_groups).unwrap();
        let Thresholds::Deterministic(cuts) = &fitted else {
            panic!("{fitted:?}")
        };
        let cuts = cuts.clone();
        (fitted, cuts)
    }

    /// Eight rows, two groups of four, scores spread so that one cut per group can select
    /// half of each: the most accurate such cuts, worked by hand.
    #[test]
    fn deterministic_cuts_equalise_positive_rates_exactly_on_a_hand_made_table() {
        // Group 0 scores high, group 1 low: at 0.5, group 0 selects 3/4, group 1 1/4.
        let scores = [0.9, 0.8, 0.7, 0.3, 0.6, 0.4, 0.2, 0.1];
        let labels = [1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0];
        let groups = [0, 0, 0, 0, 1, 1, 1, 1];
        let spec = exact(Constraint::DemographicParity);
        let (fitted, cuts) = cuts_of(&spec, &scores, &labels, &groups, 2);
        // Half of each group, the top two: group 0 cut between 0.8 and 0.7, group 1 between
        // 0.4 and 0.2. Every row is then right.
        assert!(
            close(cuts[0], 0.75, 1e-7) && close(cuts[1], 0.3, 1e-7),
            "{cuts:?}"
        );
        let m = fitted.metrics(&scores, &labels, &groups, 2);
        assert_eq!(m.group_positive_rates, [0.5, 0.5]);
        assert_eq!((m.dp_hard, m.accuracy), (0.0, 1.0));
        // At 0.5 the base was 6/8 right with a gap of 1/2.
        let base = SplitMetrics::compute(&scores, &labels, &groups, 2);
        assert_eq!((base.accuracy, base.dp_hard), (0.75, 0.5));
        // Every row is right already: a tolerance changes nothing.
        let loose = ThresholdSpec {
            tolerance: 0.25,
            ..spec
        };
        assert_eq!(fit(&loose, &scores, &labels, &groups, 2).unwrap(), fitted);
    }

    /// Four groups of four rows, each with its two positives on top, and the base's 0.5 cut
    /// selecting 4, 0, 1 and 3 of them: equal rates with every row right means half of each
    /// group, one cut per group between its second and third scores.
    #[test]
    fn deterministic_cuts_equalise_four_groups_on_a_hand_made_table() {
        let scores = [
            0.9, 0.8, 0.7, 0.6, 0.45, 0.4, 0.2, 0.1, 0.95, 0.3, 0.2, 0.1, 0.7, 0.6, 0.55, 0.1,
        ];
        let labels = [1.0, 1.0, 0.0, 0.0].repeat(4);
        let groups: Vec<u32> = (0..16).map(|row| row / 4).collect();
        let base = SplitMetrics::compute(&scores, &labels, &groups, 4);
        assert_eq!(base.group_positive_rates, [1.0, 0.0, 0.25, 0.75]);
        assert_eq!((base.accuracy, base.dp_hard), (10.0 / 16.0, 1.0));
        let spec = exact(Constraint::DemographicParity);
        let (fitted, cuts) = cuts_of(&spec, &scores, &labels, &groups, 4);
        for (cut, expected) in cuts.iter().zip([0.75, 0.3, 0.25, 0.575]) {
            assert!(close(*cut, expected, 1e-6), "{cuts:?}");
        }
        let m = fitted.metrics(&scores, &labels, &groups, 4);
        assert_eq!(m.group_positive_rates, [0.5; 4]);
        assert_eq!((m.dp_hard, m.accuracy), (0.0, 1.0));
    }

    /// Equal opportunity (fairlearn's `true_positive_rate_parity`): one cut per group with
    /// equal true-positive rates, the most accurate, worked by hand. At 0.5, group 0 finds
    /// both its positives and group 1 one of two. Both at TPR 1 would cost group 1 every
    /// negative (5/8 right); both at ½ keeps 6/8: group 0 cut between 0.9 and 0.8, group 1
    /// between 0.7 and 0.4.
    #[test]
    fn true_positive_rate_parity_cuts_equalise_tprs_on_a_hand_made_table() {
        let scores = [0.9, 0.8, 0.6, 0.2, 0.7, 0.4, 0.3, 0.1];
        let labels = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0];
        let groups = [0, 0, 0, 0, 1, 1, 1, 1];
        let base = SplitMetrics::compute(&scores, &labels, &groups, 2);
        assert_eq!((base.accuracy, base.eo), (0.75, 0.5));
        let spec = exact(Constraint::TruePositiveRateParity);
        let (fitted, cuts) = cuts_of(&spec, &scores, &labels, &groups, 2);
        assert!(
            close(cuts[0], 0.85, 1e-7) && close(cuts[1], 0.55, 1e-7),
            "{cuts:?}"
        );
        let m = fitted.metrics(&scores, &labels, &groups, 2);
        assert_eq!((m.accuracy, m.eo), (0.75, 0.0));
        // Randomized: equal expected TPRs, at least as accurate.
        let randomized = ThresholdSpec {
            randomized: true,
            ..spec
        };
        let m = fit(&randomized, &scores, &labels, &groups, 2)
            .unwrap()
            .metrics(&scores, &labels, &groups, 2);
        assert!(m.eo < 1e-9 && m.accuracy >= 0.75 - 1e-9, "{m:?}");
        // A group without a positive row has no TPR to equalise.
        let error = fit(
            &spec,
            &scores,
            &[1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            &groups,
            2,
        );
        assert!(error.unwrap_err().contains("all negative"));
    }

    /// When parity costs accuracy, the tolerance buys it back, and the gap stays within it.
    #[test]
    fn a_tolerance_trades_the_gap_for_accuracy_within_its_bound() {
        // Group 0: all positive, high scores; group 1: all negative, low scores.
        let scores = [0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.2, 0.1];
        let labels = [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0];
        let groups = [0, 0, 0, 0, 1, 1, 1, 1];
        for (tolerance, accuracy) in [(0.0, 0.5), (0.25, 0.625), (0.5, 0.75), (1.0, 1.0)] {
            let spec = ThresholdSpec {
                constraint: Constraint::DemographicParity,
                tolerance,
                randomized: false,
            };
            let m = fit(&spec, &scores, &labels, &groups, 2)
                .unwrap()
                .metrics(&scores, &labels, &groups, 2);
            assert!(m.dp_hard <= tolerance + 1e-12, "{tolerance}: {m:?}");
            assert!(close(m.accuracy, accuracy, 1e-12), "{tolerance}: {m:?}");
        }
    }

    /// fairlearn's `test_relaxed_constraints.py`: x = [0, ½, 1], weighted ys [0, 2, 0] and
    /// [0, 1, 2] (weights ½ each, so [0, 1, 0] and [0, ½, 1]), tol 0.6 → indices [1, 2].
    #[test]
    fn the_window_search_matches_fairlearns_relaxed_case() {
        let xs = [0.0, 0.5, 1.0];
        let ys = vec![vec![0.0, 1.0, 0.0], vec![0.0, 0.5, 1.0]];
        let (picks, value) = best_window(&xs, &ys, 0.6).unwrap();
        assert_eq!(picks, [1, 2]);
        assert!(close(value, 2.0, 1e-12), "{value}");
        // Strict: the same index for both.
        assert_eq!(best_window(&xs, &ys, 0.0).unwrap().0, [1, 1]);
    }

    /// fairlearn's own golden vectors (`test/unit/postprocessing/conftest.py`,
    /// `test_threshold_optimization.py`): hard labels as scores, flip on, the default grid.
    const LABELS: &str = "01101000010111000111";
    const SCORES: &str = "00112330001111011112";
    const GROUPS: &str = "AAAAAAABBBBBBBCCCCCC";

    fn golden() -> (Vec<f32>, Vec<f32>, Vec<u32>) {
        let digits = |s: &str| s.bytes().map(|b| f32::from(b - b'0')).collect::<Vec<f32>>();
        let groups = GROUPS.bytes().map(|b| u32::from(b - b'A')).collect();
        (digits(SCORES), digits(LABELS), groups)
    }

    #[test]
    fn fairlearns_demographic_parity_golden_vector() {
        let (scores, labels, groups) = golden();
        let spec = ThresholdSpec {
            constraint: Constraint::DemographicParity,
            tolerance: 0.0,
            randomized: true,
        };
        let fitted = fit_with(&spec, &scores, &labels, &groups, 3, true).unwrap();
        let q = |score: f32, group: u32| fitted.decisions(&[score], &[group])[0];
        // A: 0.8008 below 2.5, 0 above; B: 0.0013333 up to 0.5, 1 above; C: 0 up to 0.5,
        // 0.608 on (0.5, 1.5], 1 above.
        for (score, group, expected) in [
            (0.0, 0, 0.8008),
            (2.0, 0, 0.8008),
            (3.0, 0, 0.0),
            (0.0, 1, 0.0013333),
            (1.0, 1, 1.0),
            (0.0, 2, 0.0),
            (1.0, 2, 0.608),
            (2.0, 2, 1.0),
        ] {
            assert!(
                close(q(score, group), expected, 1e-6),
                "score {score}, group {group}: {} vs {expected}",
                q(score, group)
            );
        }
        let means = group_means(&fitted.decisions(&scores, &groups), &groups, 3);
        for mean in means {
            assert!(close(mean, 0.572, 1e-6), "{mean}");
        }
    }

    #[test]
    fn fairlearns_equalized_odds_golden_vector() {
        let (scores, labels, groups) = golden();
        let spec = ThresholdSpec {
            constraint: Constraint::EqualizedOdds,
            tolerance: 0.0,
            randomized: true,
        };
        let fitted = fit_with(&spec, &scores, &labels, &groups, 3, true).unwrap();
        let Thresholds::Randomized(mixtures) = &fitted else {
            panic!("{fitted:?}")
        };
        for (mixture, ignore) in mixtures.iter().zip([0.001996008, 0.1991992, 0.0]) {
            assert!(close(mixture.coin, 0.334, 1e-12), "{mixture:?}");
            assert!(close(mixture.ignore, ignore, 1e-7), "{mixture:?}");
        }
        // Before the coin: A 0.668 below 2.5 (0 above), B 0.001 up to 0.5 (1 above), C 0
        // up to 0.5, 0.501 on (0.5, 1.5], 1 above.
        let hull = |m: &Mixture, s: f64| Mixture { ignore: 0.0, ..*m }.probability(s);
        for (group, score, expected) in [
            (0, 0.0, 0.668),
            (0, 3.0, 0.0),
            (1, 0.0, 0.001),
            (1, 1.0, 1.0),
            (2, 0.0, 0.0),
            (2, 1.0, 0.501),
            (2, 2.0, 1.0),
        ] {
            let got = hull(&mixtures[group], score);
            assert!(
                close(got, expected, 1e-9),
                "group {group}, score {score}: {got}"
            );
        }
    }

    /// Eight rows: at ½ group 0 has an FPR of ½ and group 1 a TPR of 0; one cut per group
    /// (between 0.7 and 0.6, and between 0.45 and 0.4) decides every row right, with both
    /// rates equal. A third group is handled too (the anchor's heuristic).
    #[test]
    fn deterministic_cuts_equalize_true_and_false_positive_rates() {
        let spec = exact(Constraint::EqualizedOdds);
        let scores = [0.9, 0.7, 0.6, 0.2, 0.5, 0.45, 0.4, 0.1];
        let labels = [1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0];
        let groups = [0, 0, 0, 0, 1, 1, 1, 1];
        let (fitted, cuts) = cuts_of(&spec, &scores, &labels, &groups, 2);
        assert!(
            close(cuts[0], 0.65, 1e-7) && close(cuts[1], 0.425, 1e-7),
            "{cuts:?}"
        );
        let m = fitted.metrics(&scores, &labels, &groups, 2);
        assert_eq!((m.accuracy, m.eo), (1.0, 0.0));
        let base = SplitMetrics::compute(&scores, &labels, &groups, 2);
        assert_eq!(base.eo, 1.0);
        // Three groups, the third a copy of the first: the same cuts.
        let scores3: Vec<f32> = scores.iter().chain(&scores[..4]).copied().collect();
        let labels3: Vec<f32> = labels.iter().chain(&labels[..4]).copied().collect();
        let groups3 = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2];
        let fitted = fit(&spec, &scores3, &labels3, &groups3, 3).unwrap();
        let m = fitted.metrics(&scores3, &labels3, &groups3, 3);
        assert_eq!((m.accuracy, m.eo), (1.0, 0.0));
    }

    /// On fairlearn's 20-row table, the cuts keep every pair of groups within the tolerance
    /// in both rates, and a looser tolerance is never less accurate.
    #[test]
    fn deterministic_equalized_odds_stays_within_its_tolerance() {
        let (scores, labels, groups) = golden();
        let mut last = 0.0;
        for tolerance in [0.0, 0.2, 0.4, 1.0] {
            let spec = ThresholdSpec {
                constraint: Constraint::EqualizedOdds,
                tolerance,
                randomized: false,
            };
            let fitted = fit(&spec, &scores, &labels, &groups, 3).unwrap();
            let decisions: Vec<f32> = (fitted.decisions(&scores, &groups).iter())
                .map(|&d| d as f32)
                .collect();
            for label in [0.0, 1.0] {
                let rates =
                    crate::metrics::group_means(&decisions, &groups, 3, |r| labels[r] == label);
                let gap = rates.iter().copied().fold(f64::NEG_INFINITY, f64::max)
                    - rates.iter().copied().fold(f64::INFINITY, f64::min);
                assert!(
                    gap <= tolerance + 1e-9,
                    "{tolerance}, label {label}: {rates:?}"
                );
            }
            let accuracy = fitted.metrics(&scores, &labels, &groups, 3).accuracy;
            assert!(accuracy >= last, "{tolerance}: {accuracy} < {last}");
            last = accuracy;
        }
    }

    #[test]
    fn equalized_odds_needs_both_labels_in_every_group() {
        let spec = ThresholdSpec {
            constraint: Constraint::EqualizedOdds,
            tolerance: 0.0,
            randomized: true,
        };
        let e = fit(&spec, &[0.2, 0.7, 0.4], &[0.0, 1.0, 1.0], &[0, 0, 1], 2).unwrap_err();
        assert!(e.contains("group 1") && e.contains("all positive"), "{e}");
    }
}
