//! Files: written aside and renamed, so that a kill or a full disk never leaves half of one;
//! and the columns a CSV's header has.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Write `bytes` to `path` aside, then rename: a failure (a full disk) leaves the old file or
/// none, never half of one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let aside = PathBuf::from(format!("{}.tmp", path.display()));
    let written = std::fs::write(&aside, bytes).and_then(|()| std::fs::rename(&aside, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&aside);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    Ok(())
}

/// The positions of `names` in a CSV header, or the names it lacks.
pub fn columns<const N: usize>(
    header: &csv::StringRecord,
    names: [&'static str; N],
) -> Result<[usize; N], Vec<&'static str>> {
    let find = |name: &str| header.iter().position(|h| h == name);
    let lacking: Vec<&'static str> = names
        .iter()
        .copied()
        .filter(|n| find(n).is_none())
        .collect();
    match lacking.is_empty() {
        true => Ok(names.map(|n| find(n).expect("checked"))),
        false => Err(lacking),
    }
}
