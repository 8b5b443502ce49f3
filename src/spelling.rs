//! "Did you mean …?": the known name closest to a misspelt one, for every message that names
//! a key, a data set, a method or a column.

/// The known name closest to `name`, when it is close enough to be a typo of it.
pub fn closest<'a, S: AsRef<str>>(name: &str, known: &'a [S]) -> Option<&'a str> {
    let distance = |candidate: &&str| strsim::levenshtein(candidate, name);
    known
        .iter()
        .map(AsRef::as_ref)
        .min_by_key(distance)
        .filter(|candidate| distance(candidate) <= name.chars().count() / 3 + 1)
}
