//! `data fetch`: each built-in data set's files from their public source (or a mirror), each
//! checked against the SHA-256 the catalogue knows, written into the cache folder a run looks
//! in. A file is downloaded beside its final name and renamed only once it is whole and
//! checked, so a run never reads a partial or wrong file.

use std::fs::File;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::catalogue::{BUILTINS, Builtin, Source};
use super::checksum::Hashing;

/// Larger than any data set it knows, so a runaway server cannot fill the disk.
const MAX_BYTES: u64 = 1 << 30;

pub struct Request<'a> {
    /// Built-in names; empty with `all`.
    pub names: &'a [String],
    pub all: bool,
    /// The cache folder, or `--to`.
    pub to: &'a Path,
    /// A base URL holding `<name>/<file>` for every file, instead of the public sources.
    pub mirror: Option<&'a str>,
    pub quiet: bool,
}

/// Fetch what `request` names; what is there already, with a known checksum, is kept.
pub fn fetch(request: &Request) -> Result<()> {
    let wanted: Vec<&Builtin> = match (request.all, request.names) {
        (true, _) => BUILTINS.iter().collect(),
        (false, []) => bail!(
            "name the data sets to fetch ({}), or --all",
            BUILTINS.map(|b| b.name).join(", ")
        ),
        (false, names) => names
            .iter()
            .map(|name| {
                super::catalogue::builtin(name).ok_or_else(|| {
                    anyhow!(
                        "no built-in data set {name:?}; expected one of {}",
                        BUILTINS.map(|b| b.name).join(", ")
                    )
                })
            })
            .collect::<Result<_>>()?,
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(20)))
        .timeout_recv_body(Some(Duration::from_secs(60)))
        .build()
        .into();
    for builtin in wanted {
        let folder = request.to.join(builtin.name);
        std::fs::create_dir_all(&folder)
            .with_context(|| format!("cannot create {}", folder.display()))?;
        for source in builtin.sources {
            let target = folder.join(source.file);
            if is_known(&target, source) {
                println!("{}: already there, checksum known", target.display());
                continue;
            }
            let url = match request.mirror {
                Some(base) => format!(
                    "{}/{}/{}",
                    base.trim_end_matches('/'),
                    builtin.name,
                    source.file
                ),
                None => source.url.to_string(),
            };
            download(&agent, &url, source, &target, request.quiet).map_err(|e| {
                let elsewhere = match request.mirror {
                    Some(_) => String::new(),
                    None => format!(
                        "; on a machine without internet, pass --mirror URL (or \
                         FAIRBINN_MIRROR) with a server holding {}/{}",
                        builtin.name, source.file
                    ),
                };
                anyhow!(
                    "{e:#}\nNothing was written to {}. To put the file there by hand, download \
                     {} (SHA-256 {}){elsewhere}.",
                    target.display(),
                    source.url,
                    source.sha256[0],
                )
            })?;
            println!("{}: fetched from {url}, checksum known", target.display());
        }
    }
    Ok(())
}

/// Whether `path` holds a copy the catalogue knows.
fn is_known(path: &Path, source: &Source) -> bool {
    let sha256 = File::open(path).and_then(|file| Hashing::new(file).finish());
    sha256.is_ok_and(|(_, sha256)| source.sha256.contains(&sha256.as_str()))
}

/// `url` into `<target>.part`, hashed on the way; renamed to `target` if its checksum is
/// known, else removed.
fn download(
    agent: &ureq::Agent,
    url: &str,
    source: &Source,
    target: &Path,
    quiet: bool,
) -> Result<()> {
    let part = PathBuf::from(format!("{}.part", target.display()));
    let result = download_to(agent, url, source, &part, quiet).and_then(|sha256| {
        if !source.sha256.contains(&sha256.as_str()) {
            bail!(
                "{url}: the file's SHA-256 is {sha256}, expected {}: refused",
                source.sha256.join(" or ")
            );
        }
        std::fs::rename(&part, target)
            .with_context(|| format!("cannot move {} to {}", part.display(), target.display()))
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    result
}

/// The body of `url` written to `path`; its SHA-256.
fn download_to(
    agent: &ureq::Agent,
    url: &str,
    source: &Source,
    path: &Path,
    quiet: bool,
) -> Result<String> {
    let response = agent.get(url).call().map_err(|e| anyhow!("{url}: {e}"))?;
    let length = response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let body = response
        .into_body()
        .into_with_config()
        .limit(MAX_BYTES)
        .reader();
    // A `.part` left by an interrupted download (or a link planted in its place) is removed,
    // not written through: the new one is created afresh.
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).with_context(|| format!("cannot remove the old {}", path.display()));
        }
        _ => {}
    }
    let mut file = (std::fs::OpenOptions::new().write(true).create_new(true))
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    let progress = bar(
        length.unwrap_or(source.bytes),
        quiet || !std::io::stderr().is_terminal(),
    );
    progress.set_message(source.file);
    let mut body = Hashing::new(body);
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let read = body
            .read(&mut buffer)
            .map_err(|e| anyhow!("{url}: the download broke off: {e}"))?;
        if read == 0 {
            break;
        }
        file.write_all(&buffer[..read])
            .with_context(|| format!("cannot write {}", path.display()))?;
        progress.inc(read as u64);
    }
    file.sync_all()
        .with_context(|| format!("cannot write {}", path.display()))?;
    progress.finish_and_clear();
    Ok(body.finish()?.1)
}

/// Bytes, rate and ETA on a terminal; nothing elsewhere.
fn bar(total: u64, hidden: bool) -> ProgressBar {
    if hidden {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{msg:28} [{bar:30}] {bytes}/{total_bytes}  {bytes_per_sec}  ETA {eta}",
        )
        .expect("the template is valid")
        .progress_chars("=> "),
    );
    bar
}
