//! The reduction's cost-sensitive learner: L2-regularised logistic regression with row
//! weights, as scikit-learn's `LogisticRegression()` (C = 1, intercept not penalised), fitted
//! by Newton's method on the training rows' non-zero features (one-hot rows are mostly
//! zeros), each fit starting from the last one's coefficients.

use super::Learner;
use crate::data::Split;

pub struct Logistic {
    /// The training rows, sparse: each row's (feature, value) pairs, the intercept's last.
    rows: Vec<Vec<(u32, f64)>>,
    /// Coefficients, the intercept last.
    dimension: usize,
    /// Where the next fit starts.
    start: Vec<f64>,
    /// scikit-learn's C: the weight of the loss against ½‖β‖².
    c: f64,
}

impl Logistic {
    pub fn new(train: &Split) -> Self {
        let d = train.n_features;
        let rows = (0..train.n_rows())
            .map(|i| {
                let mut row: Vec<(u32, f64)> = (train.row(i).iter().enumerate())
                    .filter(|&(_, &v)| v != 0.0)
                    .map(|(k, &v)| (k as u32, f64::from(v)))
                    .collect();
                row.push((d as u32, 1.0));
                row
            })
            .collect();
        Self {
            rows,
            dimension: d + 1,
            start: vec![0.0; d + 1],
            c: 1.0,
        }
    }

    fn scores(&self, beta: &[f64]) -> Vec<f64> {
        (self.rows.iter())
            .map(|row| row.iter().map(|&(k, v)| beta[k as usize] * v).sum())
            .collect()
    }

    /// The objective C·Σ w·logloss + ½‖β without intercept‖².
    fn objective(&self, beta: &[f64], labels: &[bool], weights: &[f64]) -> f64 {
        let loss: f64 = (self.scores(beta).iter().zip(labels).zip(weights))
            .map(|((&z, &y), &w)| w * (softplus(z) - if y { z } else { 0.0 }))
            .sum();
        let penalty: f64 = beta[..self.dimension - 1].iter().map(|b| b * b).sum();
        self.c * loss + 0.5 * penalty
    }
}

fn softplus(z: f64) -> f64 {
    if z > 0.0 {
        z + (-z).exp().ln_1p()
    } else {
        z.exp().ln_1p()
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

impl Learner for Logistic {
    type Model = Vec<f64>;

    fn fit(&mut self, labels: &[bool], weights: &[f64]) -> Vec<f64> {
        let d = self.dimension;
        let mut beta = self.start.clone();
        let total: f64 = weights.iter().sum();
        let mut value = self.objective(&beta, labels, weights);
        for _ in 0..50 {
            let mut gradient = vec![0.0; d];
            let mut hessian = vec![0.0; d * d];
            for (((row, &z), &y), &w) in (self.rows.iter())
                .zip(&self.scores(&beta))
                .zip(labels)
                .zip(weights)
            {
                let p = sigmoid(z);
                let r = self.c * w * (p - f64::from(u8::from(y)));
                let curvature = self.c * w * p * (1.0 - p);
                for (a, &(i, xi)) in row.iter().enumerate() {
                    gradient[i as usize] += r * xi;
                    let h = curvature * xi;
                    for &(j, xj) in &row[a..] {
                        hessian[i as usize * d + j as usize] += h * xj;
                    }
                }
            }
            for k in 0..d - 1 {
                gradient[k] += beta[k];
                hessian[k * d + k] += 1.0;
            }
            // scikit-learn's stop: the mean gradient below 1e-4; Newton goes well past it.
            let largest = gradient.iter().fold(0.0f64, |m, g| m.max(g.abs()));
            if largest <= 1e-8 * self.c * total.max(1.0) {
                break;
            }
            let Some(step) = solve_upper(&mut hessian, &gradient, d) else {
                break;
            };
            // Backtrack until the objective falls (Newton's full step nearly always does).
            let mut size = 1.0;
            let mut moved = false;
            for _ in 0..30 {
                let candidate: Vec<f64> =
                    beta.iter().zip(&step).map(|(b, s)| b - size * s).collect();
                let next = self.objective(&candidate, labels, weights);
                if next <= value {
                    (beta, value, moved) = (candidate, next, true);
                    break;
                }
                size *= 0.5;
            }
            if !moved {
                break;
            }
        }
        self.start = beta.clone();
        beta
    }

    fn predict_train(&self, model: &Vec<f64>) -> Vec<bool> {
        self.scores(model).iter().map(|&z| z > 0.0).collect()
    }
}

/// Decisions of coefficients `beta` on a split's rows: positive iff the score is above 0
/// (probability above ½), as scikit-learn's `predict`.
pub fn predict(beta: &[f64], split: &Split) -> Vec<bool> {
    let d = split.n_features;
    (0..split.n_rows())
        .map(|i| {
            let z: f64 = (split.row(i).iter().zip(beta))
                .map(|(&x, b)| f64::from(x) * b)
                .sum::<f64>()
                + beta[d];
            z > 0.0
        })
        .collect()
}

/// Solve H x = g for a symmetric positive definite H of which the upper triangle is filled
/// (row-major, `d` × `d`), by Cholesky. None if H is not positive definite.
fn solve_upper(h: &mut [f64], g: &[f64], d: usize) -> Option<Vec<f64>> {
    // Lower factor L with H = L Lᵀ, reading H's upper triangle as its lower.
    let mut l = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let mut sum = h[j * d + i];
            for k in 0..j {
                sum -= l[i * d + k] * l[j * d + k];
            }
            if i == j {
                if sum <= 0.0 {
                    return None;
                }
                l[i * d + i] = sum.sqrt();
            } else {
                l[i * d + j] = sum / l[j * d + j];
            }
        }
    }
    let mut y = g.to_vec();
    for i in 0..d {
        for k in 0..i {
            y[i] -= l[i * d + k] * y[k];
        }
        y[i] /= l[i * d + i];
    }
    for i in (0..d).rev() {
        for k in i + 1..d {
            y[i] -= l[k * d + i] * y[k];
        }
        y[i] /= l[i * d + i];
    }
    Some(y)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One feature, separable only with a penalty keeping β finite: the fitted β sets the
    /// objective's gradient to zero, checked by hand at the answer.
    #[test]
    fn the_fit_zeroes_the_penalised_weighted_gradient() {
        let split = Split {
            features: vec![0.0, 1.0, 2.0, 3.0, 0.5, 2.5],
            n_features: 1,
            labels: vec![0.0, 0.0, 1.0, 1.0, 1.0, 0.0],
            groups: vec![0; 6],
        };
        let labels: Vec<bool> = split.labels.iter().map(|&y| y > 0.5).collect();
        let weights = [1.0, 2.0, 1.0, 0.5, 1.0, 0.5];
        let beta = Logistic::new(&split).fit(&labels, &weights);
        let mut gradient = [beta[0], 0.0];
        for i in 0..6 {
            let x = f64::from(split.features[i]);
            let p = sigmoid(beta[0] * x + beta[1]);
            let r = weights[i] * (p - f64::from(u8::from(labels[i])));
            gradient[0] += r * x;
            gradient[1] += r;
        }
        assert!(
            gradient.iter().all(|g| g.abs() < 1e-9),
            "{gradient:?} at {beta:?}"
        );
        assert_eq!(
            predict(&beta, &split),
            Logistic::new(&split).predict_train(&beta)
        );
    }
}
