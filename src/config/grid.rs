//! The `sweep:` section: which keys vary and how, expanded into one document per grid point.
//!
//! ```yaml
//! sweep:
//!   method: [erm, lagrangian, fairbinn]   # each key a list: the grid is their product,
//!   eta: [1, 10, 100]                     # first key slowest
//!   zip:                                  # keys that move together (one list of values each,
//!     lr_acc: [1.0e-3, 1.0e-4]            # the same length); a list of such groups also works
//!     lr_fair: [1.0e-5, 1.0e-6]
//!   methods:                              # per method: replace or add keys of its grid
//!     lagrangian: {eta: [0.1, 1, 10]}     # (a zip: of its own replaces those keys' axes)
//! ```
//! Keys are those of `model:` or `train:`, bare (`eta`) or qualified (`train.eta`). `seeds:`
//! adds the seed as the last key.
//!
//! With `search: {random: {trials: N, seed: S}}` the grid is N configurations drawn instead:
//! each list (or zipped group) a choice, and a key may also be a range, `{uniform: [a, b]}`
//! or `{log_uniform: [a, b]}`. Draw i depends on S and i alone, so a larger N keeps the
//! first draws (and their finished trials).

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_norway::{Mapping, Value};

use super::search::RandomSearch;
use crate::train::threshold_optimizer::Constraint;

/// A key the sweep sets: its section of the document and its name there.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub section: &'static str,
    pub name: String,
}

/// One dimension of a grid: one key, or a zipped group of keys, and the values they take
/// together (`points[i][k]` is key k's value at point i).
#[derive(Debug, Clone)]
pub struct Axis {
    /// Where the axis is written, for messages: `sweep.eta`, `sweep.zip`, `sweep.methods.erm.eta`.
    pub path: String,
    pub keys: Vec<Key>,
    pub points: Vec<Vec<Value>>,
}

/// A cartesian product of axes. A sweep is one grid, or one per method when `methods:`
/// gives some of them keys of their own.
pub type Grid = Vec<Axis>;

/// The grids of the document's `sweep:` and `seeds:`, checked for shape only: what the values
/// make of a trial is checked point by point ([`points`]).
pub fn grids(
    document: &Value,
    search: Option<&RandomSearch>,
    model_keys: &[&str],
    train_keys: &[&str],
    problems: &mut Vec<String>,
) -> Vec<Grid> {
    let sweep = match document.get("sweep") {
        None | Some(Value::Null) => Mapping::new(),
        Some(Value::Mapping(sweep)) => sweep.clone(),
        Some(other) => {
            problems.push(format!(
                "sweep: expected a mapping from keys to lists of values, found {}",
                show(other)
            ));
            return vec![Vec::new()];
        }
    };
    let reader = AxisReader {
        model_keys,
        train_keys,
    };
    let mut base = Vec::new();
    let mut ranges = Vec::new();
    let mut overrides = None;
    for (name, value) in &sweep {
        let name = name.as_str().unwrap_or_default();
        match (name, Range::of(value)) {
            ("zip", _) => base.extend(reader.zip_groups("sweep.zip", value, problems)),
            ("methods", _) => overrides = Some(value),
            (_, Some(range)) => {
                let path = format!("sweep.{name}");
                match (reader.key(&path, name, problems), range) {
                    (_, Err(e)) => problems.push(format!("{path}: {e}")),
                    (Some(key), Ok(range)) if search.is_some() => ranges.push((key, range)),
                    (Some(_), Ok(_)) => problems.push(format!(
                        "{path}: a range is drawn from, so it needs `search: {{random: {{trials: N, seed: S}}}}`; without one, give a list of values"
                    )),
                    (None, _) => {}
                }
            }
            _ => base.extend(reader.axis("sweep", name, value, problems)),
        }
    }
    let mut grids = match (overrides, search) {
        (Some(_), Some(_)) => {
            problems.push("sweep.methods: random search draws from one sweep; give the methods as a list, and their keys' lists or ranges".into());
            vec![base]
        }
        (None, Some(search)) => vec![vec![search.draw(&base, &ranges)]],
        (None, None) => vec![base],
        (Some(overrides), None) => reader.per_method(document, base, overrides, problems),
    };
    // A random search draws its configurations as the file says; a grid gets the defaults.
    if search.is_none() {
        grids
            .iter_mut()
            .for_each(|grid| default_tolerances(document, grid));
    }
    // `seeds:` is the last axis, so a configuration's seeds sit together in the plan.
    if let Some(seeds) = document.get("seeds") {
        let seed = Key {
            section: "train",
            name: "seed".into(),
        };
        if grids.iter().flatten().any(|axis| axis.keys.contains(&seed)) {
            problems
                .push("seeds: the sweep varies seed already; give the seeds in one place".into());
        }
        match seeds {
            Value::Sequence(values) if !values.is_empty() => {
                let axis = Axis {
                    path: "seeds".into(),
                    keys: vec![seed],
                    points: values.iter().map(|v| vec![v.clone()]).collect(),
                };
                grids.iter_mut().for_each(|grid| grid.push(axis.clone()));
            }
            _ => problems.push(format!(
                "seeds: expected a non-empty list of seeds, like [0, 1, 2, 3, 4], found {}",
                show(seeds)
            )),
        }
    }
    grids
}

/// The tolerances `threshold` sweeps when the file gives none: one cut per tolerance traces
/// its front, where a single default (no gap at all) would leave one point, often the
/// constant classifier's. Randomized eo thresholds have no tolerance, so a file that asks for
/// eo anywhere keeps the single default.
pub const DEFAULT_TOLERANCES: [f64; 6] = [0.0, 0.0025, 0.005, 0.01, 0.02, 0.05];

fn default_tolerances(document: &Value, grid: &mut Grid) {
    let key = |name: &str| Key {
        section: "train",
        name: name.into(),
    };
    let train = document.get("train");
    let given = |name: &str| train.and_then(|t| t.get(name));
    let values = |name: &str| -> Vec<Value> {
        let swept = (grid.iter())
            .filter_map(|axis| {
                let k = axis.keys.iter().position(|k| *k == key(name))?;
                Some(axis.points.iter().map(move |p| p[k].clone()))
            })
            .flatten();
        swept.chain(given(name).cloned()).collect()
    };
    let methods = values("method");
    let threshold = Value::from("threshold");
    let thresholds = match methods.is_empty() {
        true => super::defaults::method() == "threshold",
        false => methods.contains(&threshold),
    };
    let tolerance_given = !values("tolerance").is_empty();
    let equalized_odds = values("constraint").iter().any(|constraint| {
        Constraint::parse(constraint.as_str().unwrap_or_default())
            == Some(Constraint::EqualizedOdds)
    });
    if thresholds && !tolerance_given && !equalized_odds {
        grid.push(Axis {
            path: "threshold's default tolerances".into(),
            keys: vec![key("tolerance")],
            points: DEFAULT_TOLERANCES
                .iter()
                .map(|&t| vec![Value::from(t)])
                .collect(),
        });
    }
}

/// Every point of a grid: the document with the point's values set, and the point in words
/// (`method=erm, eta=10`).
pub fn points(document: &Value, grid: &Grid) -> impl Iterator<Item = (Value, String)> {
    let count: usize = grid.iter().map(|axis| axis.points.len()).product();
    (0..count).map(move |index| {
        let mut point = document.clone();
        let mut described = Vec::new();
        let mut remaining = index;
        // The last axis moves fastest.
        for axis in grid.iter().rev() {
            let values = &axis.points[remaining % axis.points.len()];
            remaining /= axis.points.len();
            for (key, value) in axis.keys.iter().zip(values).rev() {
                set(&mut point, key, value.clone());
                described.push(format!("{}={}", key.name, show(value)));
            }
        }
        described.reverse();
        (point, described.join(", "))
    })
}

impl RandomSearch {
    /// The draws as one axis over every key: each list or zipped group a uniform choice,
    /// each range a draw from it; draw i from its own stream of the seed.
    fn draw(&self, choices: &Grid, ranges: &[(Key, Range)]) -> Axis {
        let keys: Vec<Key> = (choices.iter().flat_map(|a| a.keys.iter().cloned()))
            .chain(ranges.iter().map(|(key, _)| key.clone()))
            .collect();
        let points = (0..self.trials)
            .map(|i| {
                let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
                rng.set_stream(i as u64);
                let mut values: Vec<Value> = Vec::with_capacity(keys.len());
                for axis in choices {
                    let pick = rng.random_range(0..axis.points.len());
                    values.extend(axis.points[pick].iter().cloned());
                }
                for (_, range) in ranges {
                    values.push(Value::from(range.draw(&mut rng)));
                }
                values
            })
            .collect();
        Axis {
            path: "search.random".into(),
            keys,
            points,
        }
    }
}

/// A range a random search draws a key's values from.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Range {
    Uniform(f64, f64),
    /// Uniform in the logarithm: as many draws in [1, 10] as in [100, 1000].
    LogUniform(f64, f64),
}

impl Range {
    /// `None` when `value` is not a range at all (a list); else the range or what is wrong.
    fn of(value: &Value) -> Option<Result<Self, String>> {
        let map = value.as_mapping().filter(|m| m.len() == 1)?;
        let (kind, bounds) = map.iter().next()?;
        let kind = kind.as_str()?;
        if kind != "uniform" && kind != "log_uniform" {
            return Some(Err(format!(
                "expected a list of values, {{uniform: [a, b]}} or {{log_uniform: [a, b]}}, found {}",
                show(value)
            )));
        }
        let pair: Option<Vec<f64>> = bounds
            .as_sequence()
            .filter(|b| b.len() == 2)
            .map(|b| b.iter().filter_map(Value::as_f64).collect());
        Some(match pair.as_deref() {
            Some(&[a, b]) if a.is_finite() && b.is_finite() && a < b => match kind {
                "uniform" => Ok(Self::Uniform(a, b)),
                _ if a > 0.0 => Ok(Self::LogUniform(a, b)),
                _ => Err(format!(
                    "log_uniform: expected 0 < a < b, found {}",
                    show(bounds)
                )),
            },
            _ => Err(format!(
                "{kind}: expected [a, b] with a < b, found {}",
                show(bounds)
            )),
        })
    }

    fn draw(self, rng: &mut ChaCha8Rng) -> f64 {
        match self {
            Self::Uniform(a, b) => rng.random_range(a..b),
            Self::LogUniform(a, b) => rng.random_range(a.ln()..b.ln()).exp(),
        }
    }
}

struct AxisReader<'a> {
    model_keys: &'a [&'a str],
    train_keys: &'a [&'a str],
}

impl AxisReader<'_> {
    /// `eta: [1, 10]` under `parent`.
    fn axis(
        &self,
        parent: &str,
        name: &str,
        values: &Value,
        problems: &mut Vec<String>,
    ) -> Option<Axis> {
        let path = format!("{parent}.{name}");
        let key = self.key(&path, name, problems)?;
        let values = list(&path, values, problems)?;
        Some(Axis {
            path,
            keys: vec![key],
            points: values.iter().map(|v| vec![v.clone()]).collect(),
        })
    }

    /// `zip: {lr_acc: [..], lr_fair: [..]}`, or a list of such groups.
    fn zip_groups(&self, path: &str, value: &Value, problems: &mut Vec<String>) -> Vec<Axis> {
        let groups = match value {
            Value::Sequence(groups) => groups.iter().collect(),
            group => vec![group],
        };
        let mut axes = Vec::new();
        for group in groups {
            let Value::Mapping(group) = group else {
                problems.push(format!(
                    "{path}: expected keys with lists of the same length, like \
                     {{lr_acc: [1.0e-3, 1.0e-4], lr_fair: [1.0e-5, 1.0e-6]}}, found {}",
                    show(group)
                ));
                continue;
            };
            let columns: Vec<Axis> = group
                .iter()
                .filter_map(|(name, values)| {
                    self.axis(path, name.as_str().unwrap_or_default(), values, problems)
                })
                .collect();
            if columns.len() != group.len() || columns.is_empty() {
                continue;
            }
            let lengths: Vec<String> = columns
                .iter()
                .map(|c| format!("{} has {}", c.keys[0].name, c.points.len()))
                .collect();
            let length = columns[0].points.len();
            if columns.iter().any(|c| c.points.len() != length) {
                problems.push(format!(
                    "{path}: zipped lists must have the same length; {}",
                    lengths.join(", ")
                ));
                continue;
            }
            axes.push(Axis {
                path: path.to_string(),
                keys: columns.iter().map(|c| c.keys[0].clone()).collect(),
                points: (0..length)
                    .map(|i| columns.iter().map(|c| c.points[i][0].clone()).collect())
                    .collect(),
            });
        }
        axes
    }

    /// One grid per swept method, its axes replaced or extended by `methods.<method>`.
    fn per_method(
        &self,
        document: &Value,
        base: Grid,
        overrides: &Value,
        problems: &mut Vec<String>,
    ) -> Vec<Grid> {
        let method = Key {
            section: "train",
            name: "method".into(),
        };
        let methods: Vec<Value> = match base.iter().find(|axis| axis.keys.contains(&method)) {
            Some(axis) if axis.keys.len() == 1 => {
                axis.points.iter().map(|p| p[0].clone()).collect()
            }
            Some(_) => {
                problems.push("sweep.methods: the method cannot be zipped with other keys when methods: gives methods keys of their own".into());
                return vec![base];
            }
            None => vec![
                document
                    .get("train")
                    .and_then(|train| train.get("method"))
                    .cloned()
                    .unwrap_or_else(|| Value::from(super::defaults::method())),
            ],
        };
        let Value::Mapping(overrides) = overrides else {
            problems.push(format!(
                "sweep.methods: expected a mapping from methods to their own sweep keys, like {{lagrangian: {{eta: [0.1, 1]}}}}, found {}",
                show(overrides)
            ));
            return vec![base];
        };
        let named: Vec<String> = methods.iter().map(show).collect();
        for name in overrides.keys() {
            if !methods.contains(name) {
                problems.push(format!(
                    "sweep.methods.{}: not one of the methods swept ({})",
                    show(name),
                    named.join(", ")
                ));
            }
        }
        methods
            .iter()
            .map(|name| self.method_grid(&base, &method, name, overrides.get(name), problems))
            .collect()
    }

    /// The shared grid with the method axis fixed to `name`, then `own` (the method's
    /// `methods:` entry) replacing or adding axes.
    fn method_grid(
        &self,
        base: &Grid,
        method: &Key,
        name: &Value,
        own: Option<&Value>,
        problems: &mut Vec<String>,
    ) -> Grid {
        let mut grid: Grid = base
            .iter()
            .map(|axis| match axis.keys.contains(method) {
                true => Axis {
                    points: vec![vec![name.clone()]],
                    ..axis.clone()
                },
                false => axis.clone(),
            })
            .collect();
        let path = format!("sweep.methods.{}", show(name));
        let own = match own {
            None | Some(Value::Null) => return grid,
            Some(Value::Mapping(own)) => own,
            Some(other) => {
                problems.push(format!(
                    "{path}: expected sweep keys with lists of values, found {}",
                    show(other)
                ));
                return grid;
            }
        };
        for (key, values) in own {
            let key = key.as_str().unwrap_or_default();
            if key == "zip" {
                // Keys that move together for this method: they replace the shared axes of
                // those keys.
                for zipped in self.zip_groups(&format!("{path}.zip"), values, problems) {
                    if zipped.keys.contains(method) {
                        problems.push(format!(
                            "{path}.zip: a method's own keys cannot change its method"
                        ));
                        continue;
                    }
                    let overlaps = |a: &Axis| a.keys.iter().any(|k| zipped.keys.contains(k));
                    if grid
                        .iter()
                        .any(|a| overlaps(a) && !a.keys.iter().all(|k| zipped.keys.contains(k)))
                    {
                        problems.push(format!(
                            "{path}.zip: some of these keys are zipped with others in sweep.zip; zip them all here, or none"
                        ));
                        continue;
                    }
                    grid.retain(|a| !overlaps(a));
                    grid.push(zipped);
                }
                continue;
            }
            let Some(axis) = self.axis(&path, key, values, problems) else {
                continue;
            };
            if axis.keys.contains(method) {
                problems.push(format!(
                    "{path}.{key}: a method's own keys cannot change its method"
                ));
            } else if let Some(existing) = grid.iter_mut().find(|a| a.keys == axis.keys) {
                *existing = axis;
            } else if grid.iter().any(|a| a.keys.contains(&axis.keys[0])) {
                problems.push(format!(
                    "{path}.{key}: this key is zipped with others in sweep.zip; a method can't replace it alone"
                ));
            } else {
                grid.push(axis);
            }
        }
        grid
    }

    /// `eta` → train.eta; `model.width` → model.width.
    fn key(&self, path: &str, name: &str, problems: &mut Vec<String>) -> Option<Key> {
        let (section, key) = match name.split_once('.') {
            Some((section, key)) => (Some(section), key),
            None => (None, name),
        };
        let in_model = self.model_keys.contains(&key) && section.is_none_or(|s| s == "model");
        let in_train = self.train_keys.contains(&key) && section.is_none_or(|s| s == "train");
        let section = match (in_model, in_train) {
            (true, _) => "model",
            (_, true) => "train",
            _ => {
                let known: Vec<&str> = self
                    .model_keys
                    .iter()
                    .chain(self.train_keys)
                    .copied()
                    .collect();
                let hint = crate::spelling::closest(key, &known)
                    .map_or(String::new(), |k| format!("; did you mean {k}?"));
                problems.push(format!(
                    "{path}: unknown key{hint} (a sweep varies model keys: {}; train keys: {}; or groups them with zip: and methods:)",
                    self.model_keys.join(", "),
                    self.train_keys.join(", ")
                ));
                return None;
            }
        };
        Some(Key {
            section,
            name: key.to_string(),
        })
    }
}

fn list<'v>(path: &str, values: &'v Value, problems: &mut Vec<String>) -> Option<&'v [Value]> {
    match values {
        Value::Sequence(values) if !values.is_empty() => Some(values),
        _ => {
            problems.push(format!(
                "{path}: expected a non-empty list of values, like [1, 10, 100], found {}",
                show(values)
            ));
            None
        }
    }
}

fn set(document: &mut Value, key: &Key, value: Value) {
    let root = document
        .as_mapping_mut()
        .expect("an experiment document is a mapping");
    let section = root
        .entry(Value::from(key.section))
        .or_insert_with(|| Value::Mapping(Mapping::new()));
    if section.is_null() {
        *section = Value::Mapping(Mapping::new());
    }
    if let Some(section) = section.as_mapping_mut() {
        section.insert(Value::from(key.name.as_str()), value);
    }
}

pub fn show(value: &Value) -> String {
    serde_norway::to_string(value)
        .map(|s| s.trim_end().to_string())
        .unwrap_or_else(|_| format!("{value:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODEL: [&str; 2] = ["accuracy_layers", "width"];
    const TRAIN: [&str; 8] = [
        "method",
        "eta",
        "lr_acc",
        "lr_fair",
        "seed",
        "base",
        "tolerance",
        "constraint",
    ];

    fn expand(text: &str) -> Result<Vec<String>, Vec<String>> {
        let document: Value = serde_norway::from_str(text).unwrap();
        let mut problems = Vec::new();
        let search = super::super::search::read(&document, &mut problems);
        let grids = grids(&document, search.random(), &MODEL, &TRAIN, &mut problems);
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(grids
            .iter()
            .flat_map(|grid| points(&document, grid).map(|(_, described)| described))
            .collect())
    }

    /// `threshold` without a tolerance sweeps the default ones (after its own keys, before
    /// the seeds); a tolerance given, or eo asked for, keeps one point.
    #[test]
    fn thresholds_without_a_tolerance_trace_a_front() {
        let points = expand("train: {method: threshold}\nseeds: [3]").unwrap();
        let expected: Vec<String> = (DEFAULT_TOLERANCES.iter())
            .map(|t| format!("tolerance={t:?}, seed=3"))
            .collect();
        assert_eq!(points, expected);
        let points =
            expand("sweep: {method: [erm, threshold], methods: {threshold: {base: [gbdt]}}}")
                .unwrap();
        assert_eq!(points.len(), 1 + DEFAULT_TOLERANCES.len());
        assert_eq!(points[0], "method=erm");
        assert_eq!(points[1], "method=threshold, base=gbdt, tolerance=0.0");
        for text in [
            "train: {method: threshold, tolerance: 0.01}",
            "train: {method: threshold}\nsweep: {tolerance: [0.1, 0.2]}",
            "train: {method: threshold, constraint: eo}",
            "sweep: {method: [erm, lagrangian]}",
        ] {
            let points = expand(text).unwrap();
            assert!(
                points.len() <= 2 && !points.iter().any(|p| p.contains("tolerance=0.0025")),
                "{text}: {points:?}"
            );
        }
    }

    #[test]
    fn product_zip_and_per_method_keys() {
        let points = expand(
            "sweep:
  method: [erm, lagrangian]
  zip: {lr_acc: [1, 2], lr_fair: [3, 4]}
  methods:
    lagrangian: {eta: [5, 6]}
seeds: [0]
",
        );
        assert_eq!(
            points.unwrap(),
            [
                "method=erm, lr_acc=1, lr_fair=3, seed=0",
                "method=erm, lr_acc=2, lr_fair=4, seed=0",
                "method=lagrangian, lr_acc=1, lr_fair=3, eta=5, seed=0",
                "method=lagrangian, lr_acc=1, lr_fair=3, eta=6, seed=0",
                "method=lagrangian, lr_acc=2, lr_fair=4, eta=5, seed=0",
                "method=lagrangian, lr_acc=2, lr_fair=4, eta=6, seed=0",
            ]
        );
        // A method's own zip replaces the axes of its keys, for it alone.
        let points = expand(
            "sweep: {method: [erm, lagrangian], eta: [1, 2], methods: {lagrangian: {lr_acc: [7], zip: {eta: [3, 4], lr_fair: [5, 6]}}}}",
        );
        assert_eq!(
            points.unwrap(),
            [
                "method=erm, eta=1",
                "method=erm, eta=2",
                "method=lagrangian, lr_acc=7, eta=3, lr_fair=5",
                "method=lagrangian, lr_acc=7, eta=4, lr_fair=6"
            ]
        );
        // A method's own list replaces the shared one for it alone.
        let points = expand(
            "sweep: {method: [erm, lagrangian], eta: [1, 2], methods: {lagrangian: {eta: [9]}}}",
        );
        assert_eq!(
            points.unwrap(),
            [
                "method=erm, eta=1",
                "method=erm, eta=2",
                "method=lagrangian, eta=9"
            ]
        );
    }

    /// Draws are in their ranges, repeat with the seed, keep the first draws when more are
    /// asked for, and pick from lists and zipped groups whole.
    #[test]
    fn random_search_draws_from_lists_and_ranges_reproducibly() {
        let text = |trials: usize| {
            format!(
                "search: {{random: {{trials: {trials}, seed: 7}}}}
sweep:
  method: [erm, lagrangian]
  eta: {{log_uniform: [1, 10000]}}
  lr_acc: {{uniform: [0.001, 0.002]}}
  zip: {{width: [4, 8], accuracy_layers: [1, 2]}}
seeds: [0, 1]
"
            )
        };
        let five = expand(&text(5)).unwrap();
        assert_eq!(five.len(), 10, "five draws, each with both seeds");
        assert_eq!(
            expand(&text(5)).unwrap(),
            five,
            "the same file draws the same"
        );
        let eight = expand(&text(8)).unwrap();
        assert_eq!(eight[..10], five[..], "more draws keep the first ones");
        let mut etas = Vec::new();
        for point in &eight {
            let value = |key: &str| -> f64 {
                let cell = point
                    .split(", ")
                    .find(|c| c.starts_with(&format!("{key}=")))
                    .unwrap();
                cell.split_once('=').unwrap().1.parse().unwrap()
            };
            assert!((1.0..10000.0).contains(&value("eta")), "{point}");
            assert!((0.001..0.002).contains(&value("lr_acc")), "{point}");
            // Zipped keys move together.
            assert_eq!(value("width"), 4.0 * value("accuracy_layers"), "{point}");
            etas.push(value("eta"));
        }
        let methods: std::collections::BTreeSet<&str> =
            eight.iter().filter_map(|p| p.split(", ").next()).collect();
        assert_eq!(methods.len(), 2, "both methods drawn: {methods:?}");
        // Log-uniform: the draws spread over the decades rather than crowding the top one.
        assert!(etas.iter().any(|&eta| eta < 1000.0), "{etas:?}");
        let other = expand(&text(5).replace("seed: 7", "seed: 8")).unwrap();
        assert_ne!(other, five, "another seed draws otherwise");
    }

    #[test]
    fn ranges_and_searches_are_checked() {
        let problems = expand("sweep: {eta: {log_uniform: [1, 100]}}").unwrap_err();
        assert_eq!(
            problems,
            [
                "sweep.eta: a range is drawn from, so it needs `search: {random: {trials: N, seed: S}}`; without one, give a list of values"
            ]
        );
        let problems = expand(
            "search: {random: {trials: 0}}\nsweep: {eta: {log_uniform: [0, 100]}, lr_acc: {uniform: [2, 1]}, lr_fair: {normal: [0, 1]}}",
        )
        .unwrap_err();
        assert_eq!(
            problems,
            [
                "search: expected {random: {trials: N, seed: S}} with N ≥ 1 (seed optional, default 0) or {halving: {rungs: [5, 15, 50], keep: 1/3}}, found random:\n  trials: 0",
                "sweep.eta: log_uniform: expected 0 < a < b, found - 0\n- 100",
                "sweep.lr_acc: uniform: expected [a, b] with a < b, found - 2\n- 1",
                "sweep.lr_fair: expected a list of values, {uniform: [a, b]} or {log_uniform: [a, b]}, found normal:\n- 0\n- 1",
            ]
        );
    }

    #[test]
    fn shape_problems_are_all_named() {
        let problems = expand(
            "sweep:
  method: [erm, lagrangian]
  etaa: [1]
  zip: {lr_acc: [1, 2], lr_fair: [3]}
  methods: {fairbinn: {eta: [1]}}
seeds: 3
",
        )
        .unwrap_err();
        assert_eq!(
            problems,
            [
                "sweep.etaa: unknown key; did you mean eta? (a sweep varies model keys: accuracy_layers, width; train keys: method, eta, lr_acc, lr_fair, seed, base, tolerance, constraint; or groups them with zip: and methods:)",
                "sweep.zip: zipped lists must have the same length; lr_acc has 2, lr_fair has 1",
                "sweep.methods.fairbinn: not one of the methods swept (erm, lagrangian)",
                "seeds: expected a non-empty list of seeds, like [0, 1, 2, 3, 4], found 3",
            ]
        );
        let problems = expand(
            "sweep: {method: [erm], zip: {lr_acc: [1], lr_fair: [2]}, methods: {erm: {lr_acc: [3]}}}",
        )
        .unwrap_err();
        assert_eq!(
            problems,
            [
                "sweep.methods.erm.lr_acc: this key is zipped with others in sweep.zip; a method can't replace it alone"
            ]
        );
    }
}
