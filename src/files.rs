//! Writing files so that a kill or a full disk never leaves half of one.

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
