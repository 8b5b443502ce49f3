//! Files: written aside and renamed, so that a kill or a full disk never leaves half of one;
//! never through a symbolic link (a results folder kept in git can hold one, pointing anywhere);
//! and the columns a CSV's header has.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
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

/// The bounds of what the tool reads: each fits its job with room to spare, and stops an
/// endless or huge input (`/dev/zero`, a zip whose member inflates to gigabytes) with a
/// message naming the file and the bound, before it fills the memory.
pub mod bounds {
    /// An experiment file.
    pub const EXPERIMENT: u64 = 1 << 20;
    /// A `reference_points` table.
    pub const REFERENCE_POINTS: u64 = 16 << 20;
    /// A saved model (Adult's is 132 KB).
    pub const MODEL: u64 = 256 << 20;
    /// A predictions file for `audit`.
    pub const PREDICTIONS: u64 = 1 << 30;
    /// A data file, or a zip member, as read (Health is 11 MB; ACS Income about 200 MB).
    pub const DATA: u64 = 2 << 30;
    /// One line of a data table.
    pub const LINE: u64 = 16 << 20;
    /// A results folder's manifest.json.
    pub const MANIFEST: u64 = 64 << 20;
}

/// `bound` in words: `16 MiB`.
pub fn size(bound: u64) -> String {
    match bound {
        b if b >= 1 << 30 => format!("{} GiB", b >> 30),
        b if b >= 1 << 20 => format!("{} MiB", b >> 20),
        b => format!("{b} bytes"),
    }
}

/// The whole of `path`, or an error naming it and `bound` when it holds more (`what` says
/// what the file is, for the message).
pub fn read_bounded(path: &Path, bound: u64, what: &str) -> Result<Vec<u8>> {
    let file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(bound + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.len() as u64 > bound {
        bail!(
            "{}: larger than {} (the most {what} may be); is it the file you meant?",
            path.display(),
            size(bound)
        );
    }
    Ok(bytes)
}

/// A table read as a stream that fails once more than `bound` bytes have passed, or a line
/// longer than [`bounds::LINE`]: a CSV reader would otherwise grow one endless field.
pub struct Bounded<R> {
    inner: R,
    left: u64,
    bound: u64,
    line: u64,
}

impl<R> Bounded<R> {
    pub fn new(inner: R, bound: u64) -> Self {
        Self {
            inner,
            left: bound,
            bound,
            line: 0,
        }
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let Some(left) = self.left.checked_sub(n as u64) else {
            return Err(std::io::Error::other(format!(
                "more than {}, the most such a file may hold as read",
                size(self.bound)
            )));
        };
        self.left = left;
        for &b in &buf[..n] {
            self.line = if b == b'\n' { 0 } else { self.line + 1 };
        }
        if self.line > bounds::LINE {
            return Err(std::io::Error::other(format!(
                "a line longer than {} (the most a table's line may be): is it a table?",
                size(bounds::LINE)
            )));
        }
        Ok(n)
    }
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
