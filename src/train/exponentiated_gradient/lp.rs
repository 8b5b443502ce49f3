//! A dense two-phase simplex for the reduction's small linear programs (tens of columns, a
//! few dozen rows): minimize cᵀx subject to Ax = b, x ≥ 0, with b ≥ 0. Bland's rule, so it
//! cannot cycle on the degenerate vertices these programs have.

/// An optimal x, or None when the program is infeasible or unbounded.
pub fn minimize(c: &[f64], a: &[Vec<f64>], b: &[f64]) -> Option<Vec<f64>> {
    let (m, n) = (a.len(), c.len());
    debug_assert!(b.iter().all(|&v| v >= 0.0));
    // Tableau rows: [A | I (artificials) | b]; the basis starts on the artificials.
    let width = n + m + 1;
    let mut t: Vec<Vec<f64>> = (0..m)
        .map(|i| {
            let mut row = vec![0.0; width];
            row[..n].copy_from_slice(&a[i]);
            row[n + i] = 1.0;
            row[width - 1] = b[i];
            row
        })
        .collect();
    let mut basis: Vec<usize> = (n..n + m).collect();
    // Phase 1: drive the artificials out (minimize their sum).
    let mut phase1 = vec![0.0; n + m];
    phase1[n..].iter_mut().for_each(|v| *v = 1.0);
    pivot_to_optimum(&mut t, &mut basis, &phase1, n + m)?;
    let infeasibility: f64 = (0..m)
        .filter(|&i| basis[i] >= n)
        .map(|i| t[i][width - 1])
        .sum();
    if infeasibility > 1e-9 {
        return None;
    }
    // Artificials left in the basis at zero: pivot them out on any real column.
    for i in 0..m {
        if basis[i] >= n
            && let Some(j) = (0..n).find(|&j| t[i][j].abs() > 1e-12)
        {
            pivot(&mut t, &mut basis, i, j);
        }
    }
    // Phase 2 on the real columns only.
    pivot_to_optimum(&mut t, &mut basis, c, n)?;
    let mut x = vec![0.0; n];
    for (i, &j) in basis.iter().enumerate() {
        if j < n {
            x[j] = t[i][width - 1];
        }
    }
    Some(x)
}

/// Pivot until no column among the first `columns` has a negative reduced cost under
/// `cost`. None when unbounded.
fn pivot_to_optimum(
    t: &mut [Vec<f64>],
    basis: &mut [usize],
    cost: &[f64],
    columns: usize,
) -> Option<()> {
    let width = t.first().map_or(0, Vec::len);
    for _ in 0..50_000 {
        // Reduced cost of column j: c_j − Σ_i c_basis(i) t[i][j].
        let reduced =
            |j: usize| cost[j] - (0..t.len()).map(|i| cost[basis[i]] * t[i][j]).sum::<f64>();
        // Bland: the first improving column, then the first row among ties of the ratio.
        let Some(entering) = (0..columns).find(|&j| !basis.contains(&j) && reduced(j) < -1e-10)
        else {
            return Some(());
        };
        let mut leaving: Option<(usize, f64)> = None;
        for i in 0..t.len() {
            if t[i][entering] > 1e-12 {
                let ratio = t[i][width - 1] / t[i][entering];
                let better = match leaving {
                    None => true,
                    Some((k, best)) => {
                        ratio < best - 1e-12 || (ratio <= best + 1e-12 && basis[i] < basis[k])
                    }
                };
                if better {
                    leaving = Some((i, ratio));
                }
            }
        }
        let (row, _) = leaving?;
        pivot(t, basis, row, entering);
    }
    None
}

fn pivot(t: &mut [Vec<f64>], basis: &mut [usize], row: usize, column: usize) {
    let p = t[row][column];
    t[row].iter_mut().for_each(|v| *v /= p);
    let pivot_row = t[row].clone();
    for (i, r) in t.iter_mut().enumerate() {
        if i != row && r[column] != 0.0 {
            let f = r[column];
            r.iter_mut().zip(&pivot_row).for_each(|(v, p)| *v -= f * p);
        }
    }
    basis[row] = column;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// min −x − y s.t. x + 2y ≤ 4, 3x + y ≤ 6 (slacks s, t): optimum x = 8/5, y = 6/5.
    #[test]
    fn a_textbook_program() {
        let c = [-1.0, -1.0, 0.0, 0.0];
        let a = vec![vec![1.0, 2.0, 1.0, 0.0], vec![3.0, 1.0, 0.0, 1.0]];
        let x = minimize(&c, &a, &[4.0, 6.0]).unwrap();
        assert!(
            (x[0] - 1.6).abs() < 1e-12 && (x[1] - 1.2).abs() < 1e-12,
            "{x:?}"
        );
    }

    #[test]
    fn infeasible_and_unbounded_programs_have_no_answer() {
        // x + y = 1 and x + y = 2.
        let a = vec![vec![1.0, 1.0], vec![1.0, 1.0]];
        assert_eq!(minimize(&[0.0, 0.0], &a, &[1.0, 2.0]), None);
        // min −x s.t. x − y = 0.
        assert_eq!(minimize(&[-1.0, 0.0], &[vec![1.0, -1.0]], &[0.0]), None);
    }
}
