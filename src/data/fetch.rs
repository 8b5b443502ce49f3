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
    /// To connect, for the headers, and between two reads: no total cap, so a large file
    /// on a slow line still arrives while data flows.
    pub timeout: Duration,
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
    let wait = Some(request.timeout);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(wait)
        .timeout_recv_response(wait)
        .timeout_per_read(wait)
        // A mirror serves its files itself: a redirect elsewhere is refused, not followed
        // (and reported under the mirror's name).
        .max_redirects(if request.mirror.is_some() { 0 } else { 10 })
        .build()
        .into();
    remove_part_on_interrupt();
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
            let shown = without_credentials(&url);
            download(&agent, &url, source, &target, request).map_err(|e| {
                let elsewhere = match request.mirror {
                    Some(_) => String::new(),
                    None => format!(
                        "; on a machine without internet, pass --mirror URL (or \
                         FAIRBINN_MIRROR) with a server holding {}/{}",
                        builtin.name, source.file
                    ),
                };
                let e = format!("{e:#}").replace(&url, &shown);
                anyhow!(
                    "{e}\nNothing was written to {}. To put the file there by hand, download \
                     {} (SHA-256 {}){elsewhere}.",
                    target.display(),
                    source.url,
                    source.sha256[0],
                )
            })?;
            println!("{}: fetched from {shown}, checksum known", target.display());
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
    request: &Request,
) -> Result<()> {
    let part = PathBuf::from(format!("{}.part", target.display()));
    set_part(Some(&part));
    let result = download_to(agent, url, source, &part, request).and_then(|sha256| {
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
    set_part(None);
    result
}

/// `url` with any `user:password@` written as `***@`, for messages and the terminal.
fn without_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let host_end = rest.find('/').unwrap_or(rest.len());
    match rest[..host_end].rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://***@{host}{}", &rest[host_end..]),
        None => url.to_string(),
    }
}

/// The `.part` file being written, for the Ctrl-C handler: a leaked C string, or null.
#[cfg(unix)]
static PART: std::sync::atomic::AtomicPtr<libc::c_char> =
    std::sync::atomic::AtomicPtr::new(std::ptr::null_mut());

#[cfg(not(unix))]
fn set_part(_: Option<&Path>) {}

#[cfg(not(unix))]
fn remove_part_on_interrupt() {}

#[cfg(unix)]
fn set_part(part: Option<&Path>) {
    use std::os::unix::ffi::OsStrExt;
    let new = part.map_or(std::ptr::null_mut(), |p| {
        let c = std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap_or_default();
        c.into_raw()
    });
    let old = PART.swap(new, std::sync::atomic::Ordering::SeqCst);
    if !old.is_null() {
        // SAFETY: every non-null pointer stored here came from `CString::into_raw` above.
        drop(unsafe { std::ffi::CString::from_raw(old) });
    }
}

/// Ctrl-C (or a kill by SIGTERM) during a download removes its `.part`, then ends the
/// process as the signal would have.
#[cfg(unix)]
fn remove_part_on_interrupt() {
    extern "C" fn handler(signal: libc::c_int) {
        let part = PART.load(std::sync::atomic::Ordering::SeqCst);
        // SAFETY: unlink and _exit are async-signal-safe; `part` is null or a C string
        // `set_part` keeps alive.
        unsafe {
            if !part.is_null() {
                libc::unlink(part);
            }
            libc::_exit(128 + signal);
        }
    }
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: installing a handler that only calls async-signal-safe functions.
        unsafe {
            libc::signal(
                signal,
                handler as extern "C" fn(libc::c_int) as libc::sighandler_t,
            );
        }
    }
}

/// The body of `url` written to `path`; its SHA-256.
fn download_to(
    agent: &ureq::Agent,
    url: &str,
    source: &Source,
    path: &Path,
    request: &Request,
) -> Result<String> {
    let quiet = request.quiet;
    let waited = request.timeout.as_secs();
    let timed_out = |what: &str| {
        format!(
            "{url}: timed out after {waited} s {what}; on a slow server, raise it with \
             `data fetch --timeout SECS`"
        )
    };
    let response = agent.get(url).call().map_err(|e| match e {
        ureq::Error::Timeout(_) => anyhow!(timed_out(
            "waiting for the server (to connect, or for the response's headers)"
        )),
        e => anyhow!("{url}: {e}"),
    })?;
    if response.status().is_redirection() {
        let to = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok());
        bail!(
            "{url}: the mirror answered {} (to {}); a mirror serves its files itself, so the \
             redirect is not followed",
            response.status(),
            to.map_or("no location".into(), without_credentials)
        );
    }
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
    let mut received = 0u64;
    loop {
        let read = body.read(&mut buffer).map_err(|e| {
            match e.kind() == std::io::ErrorKind::TimedOut || e.to_string().contains("timeout") {
                true => anyhow!(timed_out("with no data arriving")),
                false => anyhow!("{url}: the download broke off: {e}"),
            }
        })?;
        if read == 0 {
            break;
        }
        received += read as u64;
        // The catalogue knows each file's size: a server that sends twice as much is not
        // sending it (twice: another accepted copy may differ a little).
        if received > 2 * source.bytes {
            bail!(
                "{url}: sent more than twice the {} bytes {} has; stopped",
                source.bytes,
                source.file
            );
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
