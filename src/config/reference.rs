//! `reference_points:`: published or external results to draw beside a sweep's points, read
//! from a CSV with the columns `label, accuracy, dp, dp_kind` and, optionally,
//! `accuracy_std, dp_low, dp_high`. `dp_kind` says which gap `dp` is: `soft`, `hard`, `eo`
//! (equal opportunity) or `equalized-odds`.

use std::path::Path;

use crate::selection::FairnessMetric;

/// One external result.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferencePoint {
    pub label: String,
    pub accuracy: f64,
    pub gap: f64,
    /// The gap `gap` is: a figure on another gap's axis leaves the point out.
    pub kind: FairnessMetric,
    pub accuracy_std: Option<f64>,
    /// The gap's range (over seeds, say), drawn as a bar.
    pub gap_range: Option<(f64, f64)>,
}

/// Read the file; every problem (file, line, column, what was expected) into `problems`.
pub fn read(path: &Path, problems: &mut Vec<String>) -> Vec<ReferencePoint> {
    let shown = path.display();
    let bound = crate::files::bounds::REFERENCE_POINTS;
    let bytes = match crate::files::read_bounded(path, bound, "a reference_points table") {
        Ok(bytes) => bytes,
        Err(e) => {
            problems.push(format!("reference_points: {e:#}"));
            return Vec::new();
        }
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(bytes.as_slice());
    let headers = match reader.headers() {
        Ok(headers) => headers.clone(),
        Err(e) => {
            problems.push(format!(
                "reference_points: {shown}: cannot read its header: {e}"
            ));
            return Vec::new();
        }
    };
    let find = |name: &str| headers.iter().position(|h| h == name);
    let [label, accuracy, dp, kind] = match crate::files::columns(
        &headers,
        ["label", "accuracy", "dp", "dp_kind"],
    ) {
        Ok(found) => found,
        Err(lacking) => {
            problems.push(format!(
                    "reference_points: {shown} lacks the column(s) {} (expected label, accuracy, dp, dp_kind and optionally accuracy_std, dp_low, dp_high)",
                    lacking.join(", ")
                ));
            return Vec::new();
        }
    };
    let optional = ["accuracy_std", "dp_low", "dp_high"].map(find);
    let mut points = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let line = index + 2;
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                problems.push(format!("reference_points: {shown}:{line}: {e}"));
                continue;
            }
        };
        let mut bad = |column: &str, expected: &str, found: &str| {
            problems.push(format!(
                "reference_points: {shown}:{line}: column {column}: expected {expected}, found {found:?}"
            ));
        };
        let number = |column: usize| -> Option<f64> {
            record[column].parse::<f64>().ok().filter(|v| v.is_finite())
        };
        // Accuracies and gaps are shares: a value outside [0, 1] is a typo, and one as large
        // as 1e300 would stretch every figure it is drawn on.
        let share = |column: usize| number(column).filter(|v| (0.0..=1.0).contains(v));
        let (Some(a), Some(g)) = (share(accuracy), share(dp)) else {
            let column = if share(accuracy).is_none() {
                accuracy
            } else {
                dp
            };
            bad(&headers[column], "a number in [0, 1]", &record[column]);
            continue;
        };
        if record[label].is_empty() {
            bad("label", "a name for the point's legend", "");
            continue;
        }
        // The optional columns: empty, or a share (the std's and the range's bounds too).
        let mut optional_ok = true;
        for (name, column) in ["accuracy_std", "dp_low", "dp_high"].iter().zip(optional) {
            if let Some(column) = column
                && !record[column].is_empty()
                && share(column).is_none()
            {
                bad(name, "empty or a number in [0, 1]", &record[column]);
                optional_ok = false;
            }
        }
        if !optional_ok {
            continue;
        }
        let kind = match &record[kind] {
            "soft" | "dp-soft" => FairnessMetric::DpSoft,
            "hard" | "dp-hard" => FairnessMetric::DpHard,
            "eo" | "equal-opportunity" => FairnessMetric::Eo,
            "equalized-odds" => FairnessMetric::EqualizedOdds,
            other => {
                bad("dp_kind", "soft, hard, eo or equalized-odds", other);
                continue;
            }
        };
        let extra = optional.map(|c| c.and_then(share));
        if let (Some(low), Some(high)) = (extra[1], extra[2])
            && low > high
        {
            bad(
                "dp_low",
                &format!("at most dp_high ({high})"),
                &record[optional[1].expect("read")],
            );
            continue;
        }
        points.push(ReferencePoint {
            label: record[label].to_string(),
            accuracy: a,
            gap: g,
            kind,
            accuracy_std: extra[0],
            gap_range: extra[1].zip(extra[2]),
        });
    }
    if points.is_empty() && problems.is_empty() {
        problems.push(format!("reference_points: {shown} has no rows"));
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_text(text: &str) -> (Vec<ReferencePoint>, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("published.csv");
        std::fs::write(&path, text).unwrap();
        let mut problems = Vec::new();
        let points = read(&path, &mut problems);
        let problems = problems
            .into_iter()
            .map(|p| p.replace(&dir.path().display().to_string(), "DIR"))
            .collect();
        (points, problems)
    }

    #[test]
    fn points_are_read_and_bad_rows_named_by_line_and_column() {
        let (points, problems) = read_text(
            "label,accuracy,dp,dp_kind,accuracy_std,dp_low,dp_high\n\
             FairBiNN (paper),0.834,0.008,soft,0.002,0.005,0.011\n\
             fairlearn threshold, 0.8255 ,0.0007,hard,,,\n",
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(points.len(), 2);
        assert_eq!(points[0].gap_range, Some((0.005, 0.011)));
        assert_eq!(points[0].accuracy_std, Some(0.002));
        assert_eq!(
            (points[1].accuracy, points[1].kind),
            (0.8255, FairnessMetric::DpHard)
        );
        assert_eq!(points[1].gap_range, None);

        let (_, problems) = read_text("label,accuracy,dp,dp_kind\na,high,0.1,soft\nb,0.8,0.1,DP\n");
        assert_eq!(
            problems,
            [
                "reference_points: DIR/published.csv:2: column accuracy: expected a number in [0, 1], found \"high\"",
                "reference_points: DIR/published.csv:3: column dp_kind: expected soft, hard, eo or equalized-odds, found \"DP\"",
            ]
        );
        let (_, problems) = read_text("label,acc,dp\n");
        assert_eq!(
            problems,
            [
                "reference_points: DIR/published.csv lacks the column(s) accuracy, dp_kind (expected label, accuracy, dp, dp_kind and optionally accuracy_std, dp_low, dp_high)"
            ]
        );
    }

    /// Issue 29, item 14: values no result can have are refused, each with its line and
    /// column (1e300 used to stretch every figure the point was drawn on).
    #[test]
    fn nonsense_values_are_refused() {
        let (points, problems) = read_text(
            "label,accuracy,dp,dp_kind,accuracy_std,dp_low,dp_high\n\
             a,1.5,0.1,soft,,,\n\
             b,0.8,-0.1,soft,,,\n\
             c,0.8,1e300,soft,,,\n\
             d,0.8,0.1,soft,-0.01,,\n\
             e,0.8,0.1,soft,,0.2,0.1\n\
             ,0.8,0.1,soft,,,\n\
             g,0.8,0.1,soft,0.01,0.05,0.15\n",
        );
        let columns: Vec<&str> = problems
            .iter()
            .map(|p| {
                p.split(": column ")
                    .nth(1)
                    .unwrap()
                    .split(':')
                    .next()
                    .unwrap()
            })
            .collect();
        assert_eq!(
            columns,
            ["accuracy", "dp", "dp", "accuracy_std", "dp_low", "label"],
            "{problems:?}"
        );
        assert!(
            problems[4].contains("expected at most dp_high (0.1), found \"0.2\""),
            "{problems:?}"
        );
        assert_eq!(points.len(), 1, "only g is a result");
    }
}
