"""Experiment files from Python: ``run`` one, ``load_results`` of a results folder, and
``load_split``, the data its trials see."""

import collections
import json
import os
import signal
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from . import _core


def run(experiment, results_dir=None, jobs=None, *, data_dir=None, force=False, quiet=False):
    """Run an experiment file as ``fairbinn-sweep run --yes`` does (trials already in the
    results folder are not run again) and return the results folder (``runs/<name>`` unless
    ``results_dir`` names one). Progress and the summary are printed as the command prints
    them. Raises ``RuntimeError`` with the command's message when it fails; warns when some
    trials did not finish (the others are written).

    It runs as a child process, so that interrupting it (Ctrl-C, a notebook's stop button)
    stops the sweep at once; a later ``run`` resumes it.
    """
    command = [sys.executable, "-m", "fairbinn_sweep", "run", os.fspath(experiment), "--yes"]
    for flag, value in [("--results-dir", results_dir), ("--jobs", jobs), ("--data-dir", data_dir)]:
        if value is not None:
            command += [flag, os.fspath(value) if flag != "--jobs" else str(int(value))]
    command += ["--force"] * bool(force) + ["--quiet"] * bool(quiet)
    last = collections.deque(maxlen=30)
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
    ) as child:
        try:
            for line in child.stdout:
                sys.stdout.write(line)
                last.append(line)
            code = child.wait()
        except KeyboardInterrupt:
            child.send_signal(signal.SIGINT)
            child.wait()
            raise
    if code == 1:
        warnings.warn(
            f"{experiment}: some trials did not finish (see trials.csv's status and error "
            "columns); the others are in the results folder",
            RuntimeWarning,
            stacklevel=2,
        )
    elif code != 0:
        message = "".join(line for line in last if line.startswith("error")) or "".join(last)
        raise RuntimeError(f"fairbinn-sweep run {experiment} failed: {message.strip()}")
    if results_dir is not None:
        return Path(results_dir)
    return Path(_core.results_dir(os.fspath(experiment)))


@dataclass
class Results:
    """A results folder's tables (docs/results.md says what each column holds)."""

    folder: Path
    #: One row per trial: its settings, status, timing and last epoch's metrics.
    trials: pd.DataFrame
    #: One row per trial, epoch and split (validation, test): accuracy, ΔDP soft and hard, …
    epochs: pd.DataFrame
    #: One row per configuration and selection policy: the selected epoch's metrics over seeds.
    aggregate: Optional[pd.DataFrame]
    #: One row per method and selection policy: AOPAC and best accuracy within ΔDP budgets.
    methods: Optional[pd.DataFrame]
    #: manifest.json: the experiment, the data files, the runs.
    manifest: dict


def load_results(folder):
    """A results folder's tables as pandas DataFrames: ``trials``, ``epochs`` (from
    epochs.csv, or epochs.csv.gz as committed folders keep it), ``aggregate`` and
    ``methods`` (``None`` before the folder's first report)."""
    folder = Path(folder)
    if not (folder / "trials.csv").is_file():
        raise FileNotFoundError(
            f"{folder}: not a results folder (no trials.csv); `run` or `fairbinn-sweep run` "
            "writes one"
        )
    epochs = folder / "epochs.csv"
    if not epochs.is_file():
        epochs = folder / "epochs.csv.gz"

    def table(path, required):
        if path.is_file():
            return pd.read_csv(path, dtype={"trial_id": str, "config_id": str})
        if required:
            raise FileNotFoundError(f"{folder}: has trials.csv but no {path.name}")
        return None

    manifest = folder / "manifest.json"
    return Results(
        folder=folder,
        trials=table(folder / "trials.csv", True),
        epochs=table(epochs, True),
        aggregate=table(folder / "aggregate.csv", False),
        methods=table(folder / "methods.csv", False),
        manifest=json.loads(manifest.read_text()) if manifest.is_file() else {},
    )


@dataclass
class Part:
    """One split: features (encoded and scaled as the trials see them), 0/1 labels, and each
    row's sensitive group (a categorical Series named after the sensitive column, its
    categories in the tool's group order)."""

    X: pd.DataFrame
    y: np.ndarray
    groups: pd.Series


@dataclass
class Split:
    """An experiment's data set as its trials see it."""

    name: str
    feature_names: list
    group_names: list
    #: The sensitive column the groups come from (``sex``, ``race``, …).
    sensitive: str
    train: Part
    validation: Part
    test: Part


def load_split(experiment, seed=0, data_dir=None):
    """The data an experiment file's trials train, select and test on: encoded and scaled
    as the tool does (``split: pooled`` draws it per ``seed``). Fit an estimator on
    ``train`` with a trial's settings and it gives the trial's network."""
    raw = _core.load_split(os.fspath(experiment), seed, None if data_dir is None else os.fspath(data_dir))
    names, groups = raw["feature_names"], raw["group_names"]

    def part(p):
        X = np.frombuffer(p["features"], dtype="<f4").reshape(-1, len(names))
        codes = np.frombuffer(p["groups"], dtype="<u4").astype(np.int64)
        return Part(
            X=pd.DataFrame(X, columns=names),
            y=np.frombuffer(p["labels"], dtype="<f4").astype(np.int64),
            groups=pd.Series(
                pd.Categorical.from_codes(codes, categories=groups), name=raw["sensitive"]
            ),
        )

    return Split(
        raw["name"],
        names,
        groups,
        raw["sensitive"],
        part(raw["train"]),
        part(raw["validation"]),
        part(raw["test"]),
    )
