//! Pareto fronts of (ΔDP, accuracy) points (lower ΔDP and higher accuracy are better), and
//! the figures read off a front.

/// Indices of the points no other point dominates, in increasing ΔDP. A point is dominated
/// by one with ΔDP no higher and accuracy no lower, better in at least one; of identical
/// points the first is kept.
pub fn pareto_front(points: &[(f64, f64)]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..points.len()).collect();
    // By ΔDP, then best accuracy first, then position, so ties resolve the same every time.
    order.sort_by(|&i, &j| {
        let (dp_i, acc_i) = points[i];
        let (dp_j, acc_j) = points[j];
        dp_i.total_cmp(&dp_j)
            .then(acc_j.total_cmp(&acc_i))
            .then(i.cmp(&j))
    });
    let mut front = Vec::new();
    let mut best_accuracy = f64::NEG_INFINITY;
    for i in order {
        if points[i].1 > best_accuracy {
            best_accuracy = points[i].1;
            front.push(i);
        }
    }
    front
}

/// Area over the parity–accuracy curve (AOPAC; Gupta et al. 2021, the paper's Table 8), in
/// [0, 1], higher is better. The front of `points` with the constant predictor
/// (0, `majority_accuracy`) added is taken as a staircase: each point's accuracy holds from
/// its ΔDP up to the next point's, the last one's up to `max_dp` (the ΔDP of the true test
/// labels); points beyond `max_dp` are dropped. The area between the staircase and the
/// majority accuracy is divided by that of a perfect classifier, (1 − majority)·max_dp.
pub fn aopac(points: &[(f64, f64)], majority_accuracy: f64, max_dp: f64) -> f64 {
    let mut all = vec![(0.0, majority_accuracy)];
    all.extend(points.iter().filter(|(dp, _)| *dp <= max_dp));
    let front: Vec<(f64, f64)> = pareto_front(&all).into_iter().map(|i| all[i]).collect();
    let area: f64 = front
        .iter()
        .enumerate()
        .map(|(k, &(dp, accuracy))| {
            let next_dp = front.get(k + 1).map_or(max_dp, |p| p.0);
            (accuracy - majority_accuracy) * (next_dp - dp)
        })
        .sum();
    area / ((1.0 - majority_accuracy) * max_dp)
}

/// The best accuracy among points with ΔDP ≤ `max_dp`.
pub fn best_accuracy_within(points: &[(f64, f64)], max_dp: f64) -> Option<f64> {
    points
        .iter()
        .filter(|(dp, _)| *dp <= max_dp)
        .map(|(_, accuracy)| *accuracy)
        .max_by(f64::total_cmp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aopac_is_the_normalised_area_of_the_front_staircase() {
        let points = [
            (0.05, 0.80),
            (0.10, 0.83),
            (0.15, 0.82), // dominated by (0.10, 0.83)
            (0.30, 0.85), // beyond max_dp
            (0.02, 0.70), // below the constant predictor (0, 0.75)
        ];
        // Staircase over majority 0.75: 0 on [0, 0.05), 0.05 on [0.05, 0.10), 0.08 on
        // [0.10, 0.20]: 0.0025 + 0.008 = 0.0105, over (1 − 0.75)·0.2 = 0.05 → 0.21.
        let got = aopac(&points, 0.75, 0.2);
        assert!((got - 0.21).abs() < 1e-12, "{got}");
        // A perfect classifier at ΔDP 0 fills the rectangle; no points leave it empty.
        assert!((aopac(&[(0.0, 1.0)], 0.75, 0.2) - 1.0).abs() < 1e-12);
        assert_eq!(aopac(&[], 0.75, 0.2), 0.0);
    }

    #[test]
    fn best_accuracy_within_a_dp_budget() {
        let points = [(0.005, 0.80), (0.012, 0.83), (0.04, 0.84)];
        assert_eq!(best_accuracy_within(&points, 0.01), Some(0.80));
        assert_eq!(best_accuracy_within(&points, 0.05), Some(0.84));
        assert_eq!(best_accuracy_within(&points, 0.001), None);
    }

    #[test]
    fn front_keeps_only_undominated_points_in_dp_order() {
        let points = [
            (0.10, 0.84), // 0: front
            (0.02, 0.80), // 1: front
            (0.05, 0.79), // 2: dominated by 1
            (0.02, 0.78), // 3: same ΔDP as 1, lower accuracy
            (0.20, 0.84), // 4: same accuracy as 0, higher ΔDP
            (0.00, 0.75), // 5: front (a constant predictor)
            (0.10, 0.84), // 6: duplicate of 0
        ];
        assert_eq!(pareto_front(&points), vec![5, 1, 0]);
    }

    #[test]
    fn empty_input_has_an_empty_front() {
        assert!(pareto_front(&[]).is_empty());
    }
}
