//! Files: written aside and renamed, so that a kill or a full disk never leaves half of one;
//! never through a symbolic link (a results folder kept in git can hold one, pointing anywhere);
//! and the columns a CSV's header has.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, bail};

/// Refuse `path` when it is a symbolic link: a write through it could land anywhere.
pub fn refuse_link(path: &Path) -> Result<()> {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        bail!(
            "{} is a symbolic link; fairbinn-sweep writes no file through a link (it could \
             point outside the folder): remove it, or write elsewhere",
            path.display()
        );
    }
    Ok(())
}

/// Write `path` by `write` into a new file aside (a name no other writer uses, created
/// exclusively, so a link planted there is never followed), then rename it over `path`: a
/// failure (a full disk, a kill) leaves the old file or none, never half of one.
pub fn replace_with(path: &Path, write: impl FnOnce(&mut File) -> Result<()>) -> Result<()> {
    static WRITES: AtomicU64 = AtomicU64::new(0);
    refuse_link(path)?;
    let name = path
        .file_name()
        .map_or("file".into(), |n| n.to_string_lossy());
    let aside = path.with_file_name(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        WRITES.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| -> Result<()> {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&aside)?;
        write(&mut file)?;
        file.flush()?;
        drop(file);
        std::fs::rename(&aside, path)?;
        Ok(())
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&aside);
        return Err(e.context(format!("cannot write {}", path.display())));
    }
    Ok(())
}

/// Write `bytes` to `path` as [`replace_with`] does.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    replace_with(path, |file| Ok(file.write_all(bytes)?))
}

/// `path` opened to append to (created when missing), never through a link.
pub fn open_append(path: &Path) -> Result<File> {
    refuse_link(path)?;
    let mut options = OpenOptions::new();
    options.append(true).create(true);
    no_follow(&mut options);
    options
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))
}

/// Opening fails on a link at the path's last component (closing the gap between a check and
/// the open).
pub fn no_follow(options: &mut OpenOptions) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW);
    }
    #[cfg(not(unix))]
    let _ = options;
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
