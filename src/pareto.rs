//! Pareto fronts of (ΔDP, accuracy) points: lower ΔDP and higher accuracy are better.

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

#[cfg(test)]
mod tests {
    use super::*;

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
