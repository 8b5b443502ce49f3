//! `search:`, how the sweep's configurations are chosen and how far each trains:
//!
//! ```yaml
//! search: {random: {trials: 40, seed: 0}}           # 40 draws instead of the grid's product
//! search: {halving: {rungs: [5, 15, 50], keep: 1/3}} # the grid, trained rung by rung
//! ```
//! Without it, every grid point trains for `train.epochs`.

use serde_norway::Value;

use super::grid::show;

/// What `search:` asks for.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Search {
    #[default]
    Grid,
    Random(RandomSearch),
    Halving(Halving),
}

/// `search: {random: {trials: N, seed: S}}`: N configurations drawn from the sweep's lists
/// and ranges (config/grid.rs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RandomSearch {
    pub trials: usize,
    pub seed: u64,
}

/// `search: {halving: {rungs: [5, 15, 50], keep: 1/3}}`: Pareto-aware successive halving
/// (sweep/halving.rs). Every configuration trains to the first rung; at each rung, the `keep`
/// share of each method's configurations whose validation points are least dominated trains
/// on to the next. The last rung is `train.epochs`.
#[derive(Debug, Clone, PartialEq)]
pub struct Halving {
    /// Epochs, increasing.
    pub rungs: Vec<usize>,
    /// In (0, 1).
    pub keep: f64,
}

impl Halving {
    /// How many of `n` configurations go on past a rung: the `keep` share, rounded up, at
    /// least one (a method with one configuration keeps it).
    pub fn kept(&self, n: usize) -> usize {
        // The tolerance keeps 9 · (1/3) at 3 whatever the rounding of 1/3.
        ((n as f64 * self.keep - 1e-9).ceil() as usize).clamp(n.min(1), n)
    }
}

impl Search {
    pub fn random(&self) -> Option<&RandomSearch> {
        match self {
            Self::Random(random) => Some(random),
            _ => None,
        }
    }

    pub fn halving(&self) -> Option<&Halving> {
        match self {
            Self::Halving(halving) => Some(halving),
            _ => None,
        }
    }
}

const EXPECTED: &str = "expected {random: {trials: N, seed: S}} with N ≥ 1 (seed optional, default 0) or {halving: {rungs: [5, 15, 50], keep: 1/3}}";

/// The document's `search:`, its problems added to `problems`.
pub fn read(document: &Value, problems: &mut Vec<String>) -> Search {
    let Some(search) = document.get("search") else {
        return Search::Grid;
    };
    let only = search.as_mapping().filter(|m| m.len() == 1);
    let Some((kind, inner)) = only.and_then(|m| m.iter().next()) else {
        problems.push(format!("search: {EXPECTED}, found {}", show(search)));
        return Search::Grid;
    };
    let keys_are = |known: &[&str]| {
        inner.as_mapping().is_some_and(|m| {
            m.keys()
                .all(|k| k.as_str().is_some_and(|k| known.contains(&k)))
        })
    };
    let number = |key: &str| inner.get(key).and_then(Value::as_u64);
    match kind.as_str() {
        Some("random") => match (keys_are(&["trials", "seed"]), number("trials")) {
            (true, Some(trials)) if trials > super::MAX_POINTS as u64 => {
                problems.push(format!(
                    "search.random.trials: expected at most {} draws (each is a trial held in \
                     memory), found {trials}",
                    super::MAX_POINTS
                ));
                Search::Grid
            }
            (true, Some(trials)) if trials > 0 => Search::Random(RandomSearch {
                trials: trials as usize,
                seed: number("seed").unwrap_or(0),
            }),
            _ => {
                problems.push(format!("search: {EXPECTED}, found {}", show(search)));
                Search::Grid
            }
        },
        Some("halving") if keys_are(&["rungs", "keep"]) => {
            let rungs = rungs(inner.get("rungs"), problems);
            let keep = keep(inner.get("keep"), problems);
            match (rungs, keep) {
                (Some(rungs), Some(keep)) => Search::Halving(Halving { rungs, keep }),
                _ => Search::Grid,
            }
        }
        _ => {
            problems.push(format!("search: {EXPECTED}, found {}", show(search)));
            Search::Grid
        }
    }
}

fn rungs(value: Option<&Value>, problems: &mut Vec<String>) -> Option<Vec<usize>> {
    let epochs: Option<Vec<usize>> = value.and_then(Value::as_sequence).and_then(|values| {
        values
            .iter()
            .map(|v| v.as_u64().filter(|&e| e > 0).map(|e| e as usize))
            .collect()
    });
    match epochs {
        Some(epochs) if epochs.len() >= 2 && epochs.windows(2).all(|w| w[0] < w[1]) => Some(epochs),
        _ => {
            problems.push(format!(
                "search.halving.rungs: expected two or more epochs in increasing order, the last \
                 being train.epochs, like [5, 15, 50], found {}",
                value.map_or("nothing".into(), show)
            ));
            None
        }
    }
}

/// A share in (0, 1), as a number (0.33) or a fraction (1/3).
fn keep(value: Option<&Value>, problems: &mut Vec<String>) -> Option<f64> {
    let share = value.and_then(|v| match v {
        Value::String(text) => {
            let (a, b) = text.split_once('/')?;
            Some(a.trim().parse::<f64>().ok()? / b.trim().parse::<f64>().ok()?)
        }
        other => other.as_f64(),
    });
    match share {
        Some(share) if share > 0.0 && share < 1.0 => Some(share),
        _ => {
            problems.push(format!(
                "search.halving.keep: expected the share of each method's configurations that \
                 goes on at each rung, between 0 and 1, like 1/3 or 0.5, found {}",
                value.map_or("nothing".into(), show)
            ));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_text(text: &str) -> (Search, Vec<String>) {
        let document: Value = serde_norway::from_str(text).unwrap();
        let mut problems = Vec::new();
        (read(&document, &mut problems), problems)
    }

    #[test]
    fn halving_reads_rungs_and_a_share_and_names_what_is_wrong() {
        let (search, problems) = read_text("search: {halving: {rungs: [5, 15, 50], keep: 1/3}}");
        assert!(problems.is_empty(), "{problems:?}");
        let halving = search.halving().unwrap();
        assert_eq!(halving.rungs, [5, 15, 50]);
        assert_eq!(
            [9, 10, 3, 2, 1, 0].map(|n| halving.kept(n)),
            [3, 4, 1, 1, 1, 0]
        );
        let (search, _) = read_text("search: {halving: {rungs: [2, 4], keep: 0.5}}");
        assert_eq!(search.halving().unwrap().kept(5), 3);
        let (search, problems) = read_text("search: {halving: {rungs: [15, 5], keep: 3/2}}");
        assert_eq!(search, Search::Grid);
        assert_eq!(
            problems,
            [
                "search.halving.rungs: expected two or more epochs in increasing order, the last being train.epochs, like [5, 15, 50], found - 15\n- 5",
                "search.halving.keep: expected the share of each method's configurations that goes on at each rung, between 0 and 1, like 1/3 or 0.5, found 3/2",
            ]
        );
        let (_, problems) = read_text("search: {halving: {rungs: [5, 50], keep: 0.5, eta: 1}}");
        assert!(
            problems[0].starts_with("search: expected {random"),
            "{problems:?}"
        );
    }
}
