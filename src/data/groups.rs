//! Sensitive groups: the group a row's sensitive values put it in — one column's groups, or
//! every combination of several columns' ("Female × White") — and the rule for groups too
//! small to measure (`small_groups`: merged into one named `other`, or refused).

use std::collections::{BTreeSet, HashMap};

use anyhow::{Result, bail};

use super::Split;
use super::spec::{CROSS, GroupValues, Grouping, OTHER, Sensitive, SmallAction, SmallGroups};
use super::table::{finite, same_value};

/// The groups rows can fall in, by name.
pub struct Groups {
    pub names: Vec<String>,
    index: HashMap<String, u32>,
    /// Where a combination no group has goes: `other`, when small groups were merged into it.
    other: Option<u32>,
}

impl Groups {
    /// Every group of `sensitive` (for several columns, every combination, the first
    /// column's groups slowest); a column grouped by its distinct values has the values
    /// `values(i)` holds for its `i`-th column.
    pub fn of(sensitive: &Sensitive, values: impl Fn(usize) -> BTreeSet<String>) -> Self {
        let mut names = vec![String::new()];
        for (i, (column, grouping)) in sensitive.attributes().into_iter().enumerate() {
            let own = match grouping {
                Grouping::Named(groups) => groups.iter().map(|(name, _)| name.clone()).collect(),
                Grouping::Above(t) => vec![format!("{column} <= {t}"), format!("{column} > {t}")],
                Grouping::Distinct => {
                    let mut values: Vec<String> = values(i).into_iter().collect();
                    if values.iter().all(|v| v.parse::<f64>().is_ok()) {
                        values.sort_by(|a, b| {
                            a.parse::<f64>().unwrap().total_cmp(&b.parse().unwrap())
                        });
                    }
                    values
                }
            };
            names = (names.iter())
                .flat_map(|before| {
                    own.iter().map(move |name| match before.is_empty() {
                        true => name.clone(),
                        false => format!("{before}{CROSS}{name}"),
                    })
                })
                .collect();
        }
        Self::named(names)
    }

    /// The groups a trained model knows, to place new rows in.
    pub fn named(names: Vec<String>) -> Self {
        let index: HashMap<String, u32> = (names.iter().enumerate())
            .map(|(i, name)| (name.clone(), i as u32))
            .collect();
        let other = index.get(OTHER).copied();
        Self {
            names,
            index,
            other,
        }
    }

    /// The group of a row whose sensitive columns hold `values` (in the attribute's order):
    /// `None` when a column's value is in none of its groups, or the combination is in
    /// none (and there is no `other`). An error names the column whose value is unreadable.
    pub fn group_of(
        &self,
        sensitive: &Sensitive,
        values: &[&str],
    ) -> Result<Option<u32>, (String, String)> {
        let mut name = String::new();
        for ((column, grouping), value) in sensitive.attributes().into_iter().zip(values) {
            let Some(own) = own_group(column, grouping, value).map_err(|e| (column.into(), e))?
            else {
                return Ok(None);
            };
            if !name.is_empty() {
                name += CROSS;
            }
            name += &own;
        }
        Ok(self.index.get(&name).copied().or(self.other))
    }
}

/// The name of the group one column's `value` is in; `None` when no group takes it.
pub fn own_group(column: &str, grouping: &Grouping, value: &str) -> Result<Option<String>, String> {
    Ok(match grouping {
        Grouping::Distinct => Some(value.to_string()),
        Grouping::Above(threshold) => {
            let number = finite(value).ok_or_else(|| {
                format!("expected a finite number (dataset.sensitive.above), found {value:?}")
            })?;
            Some(match number > *threshold {
                true => format!("{column} > {threshold}"),
                false => format!("{column} <= {threshold}"),
            })
        }
        Grouping::Named(groups) => {
            let listed = groups.iter().find(|(_, members)| match members {
                GroupValues::Listed(values) => values.iter().any(|v| same_value(value, v)),
                GroupValues::Other => false,
            });
            let other = || groups.iter().find(|(_, m)| *m == GroupValues::Other);
            listed.or_else(other).map(|(name, _)| name.clone())
        }
    })
}

/// Keep the groups `keep` says, in order, renumbering each row's; the kept names.
pub fn renumber(names: &[String], keep: &[bool], groups: &mut [u32]) -> Vec<String> {
    let mut new = vec![u32::MAX; names.len()];
    let mut kept = Vec::new();
    for (g, name) in names.iter().enumerate().filter(|(g, _)| keep[*g]) {
        new[g] = kept.len() as u32;
        kept.push(name.clone());
    }
    for g in groups {
        *g = new[*g as usize];
    }
    kept
}

/// Apply the small-group rule to the three splits (training, validation, test): groups with
/// fewer than `min_rows` rows in one of them are merged into `other` (placed last, or
/// joining a group of that name), or refused with every count. The groups' names after, and
/// a note of what was merged.
pub fn small_groups(
    rule: SmallGroups,
    names: Vec<String>,
    splits: [&mut Split; 3],
) -> Result<(Vec<String>, Option<String>)> {
    let counts: Vec<[usize; 3]> = (0..names.len())
        .map(|g| {
            splits
                .each_ref()
                .map(|s| s.groups.iter().filter(|&&x| x as usize == g).count())
        })
        .collect();
    let small: Vec<usize> = (0..names.len())
        .filter(|&g| names[g] != OTHER && counts[g].iter().any(|&n| n < rule.min_rows))
        .collect();
    if small.is_empty() {
        return Ok((names, None));
    }
    let listed = (small.iter())
        .map(|&g| {
            let [train, validation, test] = counts[g];
            format!(
                "{} ({train} training, {validation} validation, {test} test)",
                names[g]
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    if rule.action == SmallAction::Refuse {
        bail!(
            "dataset.small_groups: {} group{} with fewer than {} rows in a split: {listed}; \
             `action: merge` puts them into one group named {OTHER}, or lower min_rows",
            small.len(),
            if small.len() == 1 { "" } else { "s" },
            rule.min_rows
        );
    }
    let mut keep: Vec<bool> = (0..names.len()).map(|g| !small.contains(&g)).collect();
    let mut names = names;
    let other = match names.iter().position(|n| n == OTHER) {
        Some(other) => other,
        None => {
            names.push(OTHER.into());
            keep.push(true);
            names.len() - 1
        }
    };
    let mut kept = Vec::new();
    for split in splits {
        for g in split.groups.iter_mut() {
            if small.contains(&(*g as usize)) {
                *g = other as u32;
            }
        }
        kept = renumber(&names, &keep, &mut split.groups);
    }
    let note = format!(
        "small_groups: {} group{} with fewer than {} rows in a split merged into {OTHER}: {listed}",
        small.len(),
        if small.len() == 1 { "" } else { "s" },
        rule.min_rows
    );
    Ok((kept, Some(note)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// sex (named: F, M) × race (each value a group).
    fn sex_by_race() -> Sensitive {
        let listed = |v: &str| GroupValues::Listed(vec![v.into()]);
        Sensitive {
            column: "sex".into(),
            grouping: Grouping::Named(vec![
                ("F".into(), listed("Female")),
                ("M".into(), listed("Male")),
            ]),
            crossed: vec![super::super::spec::Attribute {
                column: "race".into(),
                grouping: Grouping::Distinct,
            }],
            small_groups: None,
        }
    }

    #[test]
    fn crossed_columns_make_a_group_of_every_combination() {
        let sensitive = sex_by_race();
        let groups = Groups::of(&sensitive, |_| ["B", "A", "C"].map(String::from).into());
        assert_eq!(
            groups.names,
            ["F × A", "F × B", "F × C", "M × A", "M × B", "M × C"]
        );
        assert_eq!(sensitive.name(), "sex × race");
        assert_eq!(groups.group_of(&sensitive, &["Male", "B"]), Ok(Some(4)));
        assert_eq!(groups.group_of(&sensitive, &["Female", "C"]), Ok(Some(2)));
        // A sex in no group; a race training never saw.
        assert_eq!(groups.group_of(&sensitive, &["X", "A"]), Ok(None));
        assert_eq!(groups.group_of(&sensitive, &["Male", "D"]), Ok(None));
        // A model whose small groups were merged puts an unseen combination in `other`.
        let merged = Groups::named(vec!["F × A".into(), "M × A".into(), OTHER.into()]);
        assert_eq!(merged.group_of(&sensitive, &["Male", "D"]), Ok(Some(2)));
        assert_eq!(merged.group_of(&sensitive, &["Male", "A"]), Ok(Some(1)));
    }

    #[test]
    fn an_unreadable_value_names_its_column() {
        let sensitive = Sensitive {
            column: "age".into(),
            grouping: Grouping::Above(25.0),
            crossed: Vec::new(),
            small_groups: None,
        };
        let groups = Groups::of(&sensitive, |_| BTreeSet::new());
        assert_eq!(groups.names, ["age <= 25", "age > 25"]);
        assert_eq!(groups.group_of(&sensitive, &["30"]), Ok(Some(1)));
        let (column, message) = groups.group_of(&sensitive, &["old"]).unwrap_err();
        assert_eq!(column, "age");
        assert!(message.contains("found \"old\""), "{message}");
    }

    fn split(groups: &[u32]) -> Split {
        Split {
            features: vec![0.0; groups.len()],
            n_features: 1,
            labels: vec![0.0; groups.len()],
            groups: groups.to_vec(),
        }
    }

    /// Groups a, b, c, d: b has 1 validation row, d 1 test row (fewer than 2): merged into
    /// `other`, last; the others renumbered in order.
    #[test]
    fn small_groups_are_merged_into_other_or_refused_with_their_counts() {
        let names: Vec<String> = ["a", "b", "c", "d"].map(String::from).into();
        let (mut train, mut validation, mut test) = (
            split(&[0, 0, 1, 1, 2, 2, 3, 3]),
            split(&[0, 0, 1, 2, 2, 3, 3]),
            split(&[0, 0, 1, 1, 2, 2, 3]),
        );
        let merge = SmallGroups {
            min_rows: 2,
            action: SmallAction::Merge,
        };
        let (kept, note) = small_groups(
            merge,
            names.clone(),
            [&mut train, &mut validation, &mut test],
        )
        .unwrap();
        assert_eq!(kept, ["a", "c", OTHER]);
        assert_eq!(train.groups, [0, 0, 2, 2, 1, 1, 2, 2]);
        assert_eq!(validation.groups, [0, 0, 2, 1, 1, 2, 2]);
        assert_eq!(test.groups, [0, 0, 2, 2, 1, 1, 2]);
        assert_eq!(
            note.unwrap(),
            "small_groups: 2 groups with fewer than 2 rows in a split merged into other: \
             b (2 training, 1 validation, 2 test), d (2 training, 2 validation, 1 test)"
        );

        let refuse = SmallGroups {
            action: SmallAction::Refuse,
            ..merge
        };
        let (mut train, mut validation, mut test) =
            (split(&[0, 1, 1]), split(&[0, 1, 1]), split(&[1, 0, 1]));
        let error = small_groups(
            refuse,
            names[..2].to_vec(),
            [&mut train, &mut validation, &mut test],
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            error,
            "dataset.small_groups: 1 group with fewer than 2 rows in a split: a (1 training, 1 \
             validation, 1 test); `action: merge` puts them into one group named other, or \
             lower min_rows"
        );
        // No small group: nothing changes.
        let (kept, note) = small_groups(
            SmallGroups {
                min_rows: 1,
                ..merge
            },
            names[..2].to_vec(),
            [&mut train, &mut validation, &mut test],
        )
        .unwrap();
        assert_eq!((kept.len(), note), (2, None));
    }
}
