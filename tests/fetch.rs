//! `data fetch` against an HTTP server on 127.0.0.1 that this test starts: a good download
//! lands with its checksum; a wrong checksum, a connection dropped half way and a 404 each
//! leave nothing where a run would read, and say what happened. Then the whole cache filled
//! from a mirror of ../shared/data, and a Health run from it.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use common::{Run, binary, read_csv, text};
use fairbinn_sweep::data::checksum::sha256_hex;
use fairbinn_sweep::data::unzip;

/// What the server answers for a path.
#[derive(Clone)]
enum Reply {
    Body(Vec<u8>),
    /// Announce the whole length, send this many bytes, then close.
    CutAfter(Vec<u8>, usize),
}

/// Serves `routes` on 127.0.0.1 (404 for any other path) until the test ends; its base URL.
fn serve(routes: HashMap<String, Reply>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            // The rest of the request's head.
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
            let head = |status: &str, length: usize| {
                format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
                )
            };
            let _ = match routes.get(&path) {
                Some(Reply::Body(bytes)) => stream
                    .write_all(head("200 OK", bytes.len()).as_bytes())
                    .and_then(|()| stream.write_all(bytes)),
                Some(Reply::CutAfter(bytes, sent)) => stream
                    .write_all(head("200 OK", bytes.len()).as_bytes())
                    .and_then(|()| stream.write_all(&bytes[..*sent])),
                None => stream
                    .write_all(head("404 Not Found", 9).as_bytes())
                    .and_then(|()| stream.write_all(b"not found")),
            };
        }
    });
    base
}

fn german() -> Vec<u8> {
    unzip(include_bytes!("../data/german.zip"), "german.data").unwrap()
}

/// `data fetch german` from `base` into `to`.
fn fetch_german(base: &str, to: &Path) -> std::process::Output {
    binary()
        .args(["data", "fetch", "german", "--mirror", base, "--to"])
        .arg(to)
        .output()
        .unwrap()
}

/// Every file below `dir`.
fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_below(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[test]
fn a_good_download_lands_with_its_checksum_and_is_kept_on_the_next_fetch() {
    let bytes = german();
    let base = serve(HashMap::from([(
        "/german/german.data".into(),
        Reply::Body(bytes.clone()),
    )]));
    let to = tempfile::tempdir().unwrap();
    let output = fetch_german(&base, to.path());
    assert!(output.status.success(), "{}", text(&output));
    let landed = to.path().join("german/german.data");
    assert_eq!(std::fs::read(&landed).unwrap(), bytes);
    assert_eq!(
        sha256_hex(&bytes),
        "b21f3d81db8071257d5ff1deaeba1fd4303b62712e6fcc9715c7a86202cb5871"
    );
    assert_eq!(files_below(to.path()), [landed]);
    let again = fetch_german(&base, to.path());
    assert!(
        text(&again).contains("already there, checksum known"),
        "{}",
        text(&again)
    );
}

#[test]
fn a_wrong_checksum_is_refused_and_leaves_nothing() {
    let mut bytes = german();
    bytes[100] ^= 1;
    let base = serve(HashMap::from([(
        "/german/german.data".into(),
        Reply::Body(bytes),
    )]));
    let to = tempfile::tempdir().unwrap();
    let output = fetch_german(&base, to.path());
    let message = text(&output);
    assert_eq!(output.status.code(), Some(2), "{message}");
    assert!(
        message.contains("german/german.data: the file's SHA-256 is"),
        "{message}"
    );
    assert!(
        message.contains(
            "expected b21f3d81db8071257d5ff1deaeba1fd4303b62712e6fcc9715c7a86202cb5871: refused"
        ),
        "{message}"
    );
    assert!(message.contains("Nothing was written to"), "{message}");
    assert_eq!(files_below(to.path()), Vec::<PathBuf>::new());
}

#[test]
fn a_connection_dropped_half_way_leaves_nothing() {
    let bytes = german();
    let half = bytes.len() / 2;
    let base = serve(HashMap::from([(
        "/german/german.data".into(),
        Reply::CutAfter(bytes, half),
    )]));
    let to = tempfile::tempdir().unwrap();
    let output = fetch_german(&base, to.path());
    let message = text(&output);
    assert_eq!(output.status.code(), Some(2), "{message}");
    assert!(
        message.contains(&format!("{base}german/german.data")),
        "{message}"
    );
    assert_eq!(files_below(to.path()), Vec::<PathBuf>::new());
}

#[test]
fn a_404_names_the_url_and_where_to_put_the_file_by_hand() {
    let base = serve(HashMap::new());
    let to = tempfile::tempdir().unwrap();
    let output = fetch_german(&base, to.path());
    let message = text(&output);
    assert_eq!(output.status.code(), Some(2), "{message}");
    assert!(
        message.contains(&format!("{base}german/german.data: http status: 404")),
        "{message}"
    );
    assert!(
        message.contains(&to.path().join("german/german.data").display().to_string()),
        "{message}"
    );
    assert_eq!(files_below(to.path()), Vec::<PathBuf>::new());
}

#[test]
fn an_unknown_name_lists_the_known_ones() {
    let output = binary()
        .args(["data", "fetch", "adlut", "--to", "/nonexistent"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output).contains(
            "no built-in data set \"adlut\"; expected one of adult, compas, german, health"
        ),
        "{}",
        text(&output)
    );
}

/// `data fetch --all` from a mirror of ../shared/data fills the cache, and a Health
/// experiment then runs from the cache alone.
#[test]
fn fetch_all_from_a_mirror_then_health_runs_from_the_cache() {
    let Some(shared) = common::shared_data().filter(|d| d.join("health").is_dir()) else {
        common::shared_set(
            "health",
            "fetch_all_from_a_mirror_then_health_runs_from_the_cache",
        );
        return;
    };
    let mut routes = HashMap::new();
    for (name, file) in [
        ("adult", "adult.data"),
        ("adult", "adult.test"),
        ("compas", "compas-scores-two-years.csv"),
        ("german", "german.data"),
        ("health", "health.csv.zip"),
    ] {
        let bytes = std::fs::read(shared.join(name).join(file)).unwrap();
        routes.insert(format!("/{name}/{file}"), Reply::Body(bytes));
    }
    let base = serve(routes);
    let run = Run::new(
        "name: h\ndataset: {name: health, max_rows: 3000}\ntrain: {method: erm, epochs: 1}\n",
    );
    let cache = run.dir.path().join("cache");
    let output = binary()
        .args(["data", "fetch", "--all"])
        .env("FAIRBINN_MIRROR", &base)
        .env("XDG_CACHE_HOME", &cache)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(files_below(&cache.join("fairbinn-sweep")).len(), 5);

    let output = binary()
        .arg("run")
        .arg(run.experiment())
        .arg("--results-dir")
        .arg(run.results())
        .env("XDG_CACHE_HOME", &cache)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    let manifest = run.manifest();
    let read = manifest["data"][0]["path"].as_str().unwrap();
    assert!(
        Path::new(read).starts_with(cache.join("fairbinn-sweep/health")),
        "{read}"
    );
    assert_eq!(
        read_csv(&run.results().join("trials.csv"))[0]["status"],
        "ok"
    );
}
