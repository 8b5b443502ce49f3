//! `data bench`: how long loading each built-in data set takes, from files to splits.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use serde_norway::Value;

use crate::data::{DataDirSource, load, spec};

pub fn loading(data_dir: Option<(std::path::PathBuf, DataDirSource)>, repeat: usize) -> Result<()> {
    println!(
        "{:<8} {:>8} {:>9} {:>10} {:>10} {:>10}",
        "data set", "rows", "features", "file MB", "best s", "median s"
    );
    for name in spec::known_names().into_iter().filter(|&n| n != spec::CSV) {
        let mut problems = Vec::new();
        let section = Value::Mapping([("name".into(), name.into())].into_iter().collect());
        let spec = spec::resolve(&section, Path::new("."), data_dir.clone(), &mut problems)
            .ok_or_else(|| anyhow!(problems.join("; ")))?;
        if let Err(e) = spec.locate() {
            println!(
                "{name:<8} not read: {}",
                e.to_string().lines().next().unwrap_or_default()
            );
            continue;
        }
        let mut times: Vec<Duration> = Vec::new();
        let mut data = None;
        for _ in 0..repeat {
            let start = Instant::now();
            data = Some(load(&spec)?);
            times.push(start.elapsed());
        }
        times.sort();
        let data = data.expect("at least one load");
        let bytes: u64 = data.files.iter().map(|f| f.bytes).sum();
        println!(
            "{:<8} {:>8} {:>9} {:>10.1} {:>10.3} {:>10.3}",
            name,
            data.train.n_rows() + data.validation.n_rows() + data.test.n_rows(),
            data.train.n_features,
            bytes as f64 / 1e6,
            times[0].as_secs_f64(),
            times[times.len() / 2].as_secs_f64(),
        );
    }
    Ok(())
}
