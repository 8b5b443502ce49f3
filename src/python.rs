//! The Python module `fairbinn_sweep._core` (feature `python`, built by maturin): the command
//! line, the estimator's fit and predictions, and an experiment's split, as bytes that the
//! package (python/fairbinn_sweep) turns into NumPy arrays and pandas frames. Nothing here
//! decides anything: it converts and calls the library.

use std::path::Path;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::data::Split;
use crate::data::spec::Scale;
use crate::estimator::{self, Fitted, Rows};

fn value_error(error: anyhow::Error) -> PyErr {
    PyValueError::new_err(format!("{error:#}"))
}

/// Little-endian 4-byte values (NumPy's `<f4` and `<u4`), as the package sends them.
fn values<T>(bytes: &[u8], from: fn([u8; 4]) -> T) -> Vec<T> {
    (bytes.chunks_exact(4))
        .map(|b| from(b.try_into().expect("four bytes")))
        .collect()
}

fn to_bytes<'py>(py: Python<'py>, values: &[f32]) -> Bound<'py, PyBytes> {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    PyBytes::new(py, &bytes)
}

/// The `fairbinn-sweep` command, with `argv` as its arguments (`argv[0]` its name): the
/// binary's behaviour, exit code included (0, 1 when a trial did not finish, 2 on error).
#[pyfunction]
fn main(py: Python<'_>, argv: Vec<String>) -> u8 {
    crate::commands::end_quietly_on_closed_pipe();
    let code = py.detach(|| crate::commands::command_line(argv.into_iter().map(Into::into)));
    match code {
        c if c == std::process::ExitCode::SUCCESS => 0,
        c if c == std::process::ExitCode::from(1) => 1,
        _ => 2,
    }
}

/// Train a network on `features` (float32 rows of `n_features`), 0/1 `labels` (float32) and
/// `groups` (uint32 below `n_groups`) with `settings` (JSON: `model` and `train` sections);
/// its state as JSON.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn fit(
    py: Python<'_>,
    settings: &str,
    scale: &str,
    features: &[u8],
    n_features: usize,
    labels: &[u8],
    groups: &[u8],
    n_groups: usize,
) -> PyResult<String> {
    let scale: Scale = serde_norway::from_str(scale).map_err(|_| {
        PyValueError::new_err(format!(
            "scale={scale:?}: expected 'min-max', 'standard' or None"
        ))
    })?;
    let rows = Rows {
        features: values(features, f32::from_le_bytes),
        n_features,
        labels: values(labels, f32::from_le_bytes),
        groups: values(groups, u32::from_le_bytes),
        n_groups,
    };
    let settings = settings.to_string();
    let fitted = py.detach(move || estimator::fit(&settings, scale, rows));
    Ok(fitted.map_err(value_error)?.to_json())
}

/// Probabilities of the positive class (float32 bytes) for float32 rows.
#[pyfunction]
fn predict_proba<'py>(
    py: Python<'py>,
    state: &str,
    features: &[u8],
) -> PyResult<Bound<'py, PyBytes>> {
    let fitted = Fitted::from_json(state).map_err(value_error)?;
    let features = values(features, f32::from_le_bytes);
    let probabilities = py
        .detach(move || fitted.probabilities(features))
        .map_err(value_error)?;
    Ok(to_bytes(py, &probabilities))
}

/// The methods the estimator trains.
#[pyfunction]
fn methods() -> Vec<&'static str> {
    estimator::methods()
}

/// The folder `run` writes for `experiment` without `--results-dir`.
#[pyfunction]
fn results_dir(experiment: &str) -> PyResult<String> {
    let experiment = crate::config::read(Path::new(experiment), None).map_err(value_error)?;
    let dir = crate::cli::results_dir(&None, &experiment.name, None);
    Ok(dir.display().to_string())
}

/// An experiment's data as its trials see it (for `split: pooled`, seed `seed`'s draw):
/// names (features, groups, the sensitive column), and per split (train, validation, test) its features, labels and groups as bytes.
#[pyfunction]
#[pyo3(signature = (experiment, seed=0, data_dir=None))]
fn load_split<'py>(
    py: Python<'py>,
    experiment: &str,
    seed: u64,
    data_dir: Option<String>,
) -> PyResult<Bound<'py, PyDict>> {
    let data_dir = data_dir.map(|d| (d.into(), crate::data::DataDirSource::Flag));
    let experiment = crate::config::read(Path::new(experiment), data_dir).map_err(value_error)?;
    let spec = experiment.dataset.for_seed(seed);
    let sensitive = spec.table.sensitive.name();
    let data = py
        .detach(move || crate::data::load(&spec))
        .map_err(value_error)?;
    let out = PyDict::new(py);
    out.set_item("name", &data.name)?;
    out.set_item("feature_names", &data.feature_names)?;
    out.set_item("group_names", &data.group_names)?;
    out.set_item("sensitive", sensitive)?;
    let split = |split: &Split| -> PyResult<Bound<'py, PyDict>> {
        let s = PyDict::new(py);
        s.set_item("features", to_bytes(py, &split.features))?;
        s.set_item("labels", to_bytes(py, &split.labels))?;
        let groups: Vec<u8> = split.groups.iter().flat_map(|g| g.to_le_bytes()).collect();
        s.set_item("groups", PyBytes::new(py, &groups))?;
        Ok(s)
    };
    out.set_item("train", split(&data.train)?)?;
    out.set_item("validation", split(&data.validation)?)?;
    out.set_item("test", split(&data.test)?)?;
    Ok(out)
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(main, m)?)?;
    m.add_function(wrap_pyfunction!(fit, m)?)?;
    m.add_function(wrap_pyfunction!(predict_proba, m)?)?;
    m.add_function(wrap_pyfunction!(methods, m)?)?;
    m.add_function(wrap_pyfunction!(results_dir, m)?)?;
    m.add_function(wrap_pyfunction!(load_split, m)?)?;
    Ok(())
}
