//! `dataset: {name: synthetic, …}`: rows drawn from a stated process, of any size, whose
//! groups differ by a known amount, so that an experiment or a test can ask for a data set
//! without files. docs/data.md states the process; [`Synthetic::positive_rate`] its
//! consequence.
//!
//! For each row, with `G` groups and `d` features, the first `k = ⌈d/2⌉` of them proxies:
//! - its group `g` is uniform over `0..G`, and `s = g/(G−1) − ½` its place in [−½, ½];
//! - `x_j ~ N(shift·s, 1)` for the proxies, `N(0, 1)` for the others;
//! - its label is 1 when `Σ_j x_j/√d + bias·s + ε > 0`, `ε ~ N(0, 1)`.
//!
//! So `P(y = 1 | g) = Φ((shift·s·k/√d + bias·s)/√2)`: the groups' base rates differ through
//! `bias` directly and through the proxies, which an unconstrained model learns.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::spec::{
    Files, Grouping, Header, Label, Missing, MissingAction, Scale, Sensitive, TableSpec,
};
use super::table::Table;

/// The generator's settings, as `dataset:` gives them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Synthetic {
    pub rows: usize,
    pub features: usize,
    pub groups: usize,
    /// The shift of the label's latent score across the groups (its base rate).
    pub bias: f64,
    /// The shift of the proxy features' means across the groups.
    pub shift: f64,
    /// Seeds the draws (the split is `split_seed`'s).
    pub seed: u64,
}

impl Default for Synthetic {
    fn default() -> Self {
        Self {
            rows: 10_000,
            features: 10,
            groups: 2,
            bias: 1.0,
            shift: 0.5,
            seed: 0,
        }
    }
}

/// The most features, and values (rows × columns), a synthetic data set may have: about
/// `files::bounds::DATA` of text at ten bytes a value.
const MAX_FEATURES: usize = 10_000;
const MAX_VALUES: u128 = (crate::files::bounds::DATA / 10) as u128;

/// The file name the rows go by in messages and notes.
pub const FILE: &str = "synthetic.csv";

impl Synthetic {
    /// What is wrong with these settings, each with its key.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.rows < 10 {
            problems.push(format!(
                "dataset.rows: expected at least 10, found {}",
                self.rows
            ));
        }
        if !(1..=MAX_FEATURES).contains(&self.features) {
            let features = self.features;
            problems.push(format!(
                "dataset.features: expected 1 to {MAX_FEATURES}, found {features}"
            ));
        }
        // Drawn as text, then read as a table is: held to the size a data file may have.
        let values = (self.rows as u128) * (self.features as u128 + 2);
        if values > MAX_VALUES {
            problems.push(format!(
                "dataset.rows: {} rows of {} features are {values} values; at most {MAX_VALUES} \
                 (the size of the largest data file read)",
                self.rows, self.features
            ));
        }
        if !(2..=1000).contains(&self.groups) {
            let groups = self.groups;
            problems.push(format!(
                "dataset.groups: expected 2 to 1000, found {groups}"
            ));
        }
        for (key, value) in [("bias", self.bias), ("shift", self.shift)] {
            if !value.is_finite() {
                problems.push(format!(
                    "dataset.{key}: expected a finite number, found {value}"
                ));
            }
        }
        problems
    }

    /// Group `g`'s place in [−½, ½].
    fn place(&self, g: usize) -> f64 {
        g as f64 / (self.groups - 1) as f64 - 0.5
    }

    /// The proxies: the first ⌈d/2⌉ features.
    fn proxies(&self) -> usize {
        self.features.div_ceil(2)
    }

    /// `P(y = 1 | g)`, the process's base rate of group `g`.
    pub fn positive_rate(&self, g: usize) -> f64 {
        let s = self.place(g);
        let d = self.features as f64;
        let mean = self.shift * s * self.proxies() as f64 / d.sqrt() + self.bias * s;
        normal_cdf(mean / 2f64.sqrt())
    }

    /// How the tool reads the rows: `x0 … x{d−1}` numbers, `group` (each value a group), the
    /// label `y`; `test_fraction` of them for test. Not scaled: the features are already
    /// on a unit scale.
    pub fn table_spec(&self, test_fraction: f64) -> TableSpec {
        TableSpec {
            files: Files::One {
                file: FILE.into(),
                test_fraction,
            },
            delimiter: b',',
            header: Header::Present,
            columns: None,
            comment: None,
            filters: Vec::new(),
            derived: Vec::new(),
            label: Label::Values {
                column: "y".into(),
                positive: vec!["1".into()],
                negative: Some(vec!["0".into()]),
            },
            sensitive: Sensitive {
                column: "group".into(),
                grouping: Grouping::Distinct,
                crossed: Vec::new(),
                small_groups: None,
            },
            categorical: Vec::new(),
            numeric: vec!["group".into()],
            drop: Vec::new(),
            features: None,
            missing: Missing {
                tokens: Vec::new(),
                action: MissingAction::Drop,
            },
            scale: Scale::None,
        }
    }

    /// The rows, drawn.
    pub fn table(&self) -> Table {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let normal = |rng: &mut ChaCha8Rng| {
            // Box–Muller: two uniforms in (0, 1] and [0, 1), one standard normal.
            let (u, v): (f64, f64) = (1.0 - rng.random::<f64>(), rng.random::<f64>());
            (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        };
        let d = self.features;
        let mut names: Vec<String> = (0..d).map(|j| format!("x{j}")).collect();
        names.extend(["group".into(), "y".into()]);
        // As a file would be read (`table_spec`): the label and group as text.
        let mut table = Table::new(FILE.into(), names, |name| name == "y" || name == "group");
        for row in 0..self.rows {
            let g = rng.random_range(0..self.groups);
            let s = self.place(g);
            let mut score = 0.0;
            for j in 0..d {
                let mean = if j < self.proxies() {
                    self.shift * s
                } else {
                    0.0
                };
                let x = mean + normal(&mut rng);
                score += x;
                // f32 as the tool keeps features; the label is decided on these values.
                table.push_number(j, x as f32);
            }
            let latent = score / (d as f64).sqrt() + self.bias * s + normal(&mut rng);
            table.push_text(d, &g.to_string());
            table.push_text(d + 1, if latent > 0.0 { "1" } else { "0" });
            table.end_row(row as u64 + 2);
        }
        table
    }
}

/// Φ, the standard normal distribution function (Abramowitz and Stegun 7.1.26, error below
/// 1.5e−7).
fn normal_cdf(z: f64) -> f64 {
    let x = z.abs() / 2f64.sqrt();
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-x * x).exp();
    match z >= 0.0 {
        true => 0.5 * (1.0 + erf),
        false => 0.5 * (1.0 - erf),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::table::Value;

    #[test]
    fn the_same_settings_draw_the_same_rows() {
        let settings = Synthetic {
            rows: 50,
            ..Synthetic::default()
        };
        let rows = |t: &Table| {
            (0..t.n_rows())
                .map(|r| format!("{:?}", t.row(r)))
                .collect::<Vec<_>>()
        };
        let (a, b) = (settings.table(), settings.table());
        assert_eq!(rows(&a), rows(&b));
        assert_eq!(a.names.len(), 12);
        let other = Synthetic {
            seed: 1,
            ..settings
        }
        .table();
        assert_ne!(rows(&a), rows(&other));
    }

    /// 200,000 rows: each group's share of positive labels is the process's, within 0.005.
    #[test]
    fn each_groups_base_rate_is_the_stated_one() {
        let settings = Synthetic {
            rows: 200_000,
            features: 6,
            groups: 3,
            bias: 1.5,
            shift: 1.0,
            seed: 7,
        };
        let table = settings.table();
        for g in 0..3 {
            let group = g.to_string();
            let rows: Vec<usize> = (0..table.n_rows())
                .filter(|&r| table.value(r, 6) == Value::Text(&group))
                .collect();
            let positives = rows
                .iter()
                .filter(|&&r| table.value(r, 7) == Value::Text("1"));
            let positive = positives.count() as f64 / rows.len() as f64;
            let expected = settings.positive_rate(g);
            assert!(
                (positive - expected).abs() < 0.005,
                "group {g}: {positive} vs {expected}"
            );
            // Groups drawn uniformly.
            assert!((rows.len() as f64 / 200_000.0 - 1.0 / 3.0).abs() < 0.005);
        }
        // Φ((1.0·(−½)·3/√6 − 1.5·½)/√2), worked by hand: Φ(−0.9634) = 0.1677.
        assert!(
            (settings.positive_rate(0) - 0.1677).abs() < 1e-4,
            "{}",
            settings.positive_rate(0)
        );
        assert!((settings.positive_rate(1) - 0.5).abs() < 1e-7);
    }
}
