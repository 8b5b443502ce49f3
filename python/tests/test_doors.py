"""The two doors give the same numbers: a trial run by the command (through ``run``) and
the estimator fitted on the trial's split with its settings; and the package's other doors,
``load_results``, ``load_split`` and the ``fairbinn-sweep`` command it installs."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fairbinn_sweep as fs
from conftest import REPO

EXPERIMENT = """\
name: doors
dataset: {name: adult, sensitive: sex, sensitive_as_feature: true, val_fraction: 0.2, split_seed: 0}
model: {accuracy_layers: 2, fairness_layers: 1, fairness_position: 3}
train: {epochs: 2, batch_size: 100, lr_acc: 1.0e-3, lr_fair: 1.0e-5, eta: 10, seed: 3}
selection: [last]
sweep:
  method: [fairbinn-reference, fairbinn, lagrangian, erm, stackelberg, adversarial]
"""


def test_the_estimator_gives_each_trials_numbers_to_the_last_digit(tmp_path):
    experiment = tmp_path / "doors.yaml"
    experiment.write_text(EXPERIMENT)
    folder = fs.run(experiment, results_dir=tmp_path / "out", jobs=2, quiet=True)
    assert folder == tmp_path / "out"
    results = fs.load_results(folder)
    assert sorted(results.trials.method) == sorted(fs._core.methods())
    split = fs.load_split(experiment)
    assert split.train.X.shape == (24130, 101) and split.group_names == ["Female", "Male"]
    test = split.test
    for _, trial in results.trials.iterrows():
        estimator = fs.FairBiNNClassifier.from_trial(trial)
        estimator.fit(split.train.X, split.train.y, sensitive_features=split.train.groups)
        p = estimator.predict_proba(test.X)[:, 1].astype(np.float32)
        decided = estimator.predict(test.X)
        female, male = np.asarray(test.groups == "Female"), np.asarray(test.groups == "Male")
        recorded = results.epochs.query(
            "trial_id == @trial.trial_id and split == 'test' and epoch == @trial.last_epoch"
        ).iloc[0]
        assert (decided == test.y).mean() == recorded.accuracy, trial.method
        assert abs(decided[female].mean() - decided[male].mean()) == recorded.dp_hard, trial.method
        soft = abs(p[female].astype(np.float64).mean() - p[male].astype(np.float64).mean())
        assert soft == pytest.approx(recorded.dp_soft, rel=1e-12, abs=0), trial.method


def test_run_reports_the_commands_error(tmp_path):
    with pytest.raises(RuntimeError, match=r"error: cannot read .*missing\.yaml"):
        fs.run(tmp_path / "missing.yaml")


def test_load_results_of_a_committed_folder():
    results = fs.load_results(REPO / "results" / "adult")
    trials, epochs = results.trials, results.epochs
    assert len(trials) == 45 and trials.trial_id.is_unique
    # epochs.csv.gz read back: every trial's epochs end at its last epoch, on both splits.
    last = epochs.groupby(["trial_id", "split"]).epoch.max().unstack()
    assert list(last.columns) == ["test", "validation"]
    assert (last.loc[trials.trial_id, "test"].to_numpy() == trials.last_epoch.to_numpy()).all()
    assert {"fairbinn", "fairbinn-reference", "lagrangian", "erm"} <= set(results.methods.method)
    assert set(results.aggregate.config_id) <= set(trials.config_id)
    assert set(results.aggregate.selection) == {"val-pareto", "last"}
    assert results.manifest["experiment"]["name"] == "adult"
    with pytest.raises(FileNotFoundError, match="not a results folder"):
        fs.load_results(REPO / "docs")


def test_the_installed_command_is_the_tools():
    command = Path(sys.executable).with_name("fairbinn-sweep")
    version = subprocess.run([command, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.strip() == f"fairbinn-sweep {fs.__version__}"
    plan = subprocess.run(
        [command, "plan", REPO / "experiments" / "adult.yaml"], capture_output=True, text=True
    )
    assert plan.returncode == 0 and "45 trials" in plan.stdout
    bad = subprocess.run([command, "plan", "missing.yaml"], capture_output=True, text=True)
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: cannot read missing.yaml")
