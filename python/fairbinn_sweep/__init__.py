"""FairBiNN (NeurIPS 2024) and its baselines from Python.

- ``FairBiNNClassifier``: a scikit-learn estimator training one network by the tool's
  methods (the same steps, so the same numbers, as a trial of an experiment file).
- ``run``: run an experiment file, as ``fairbinn-sweep run`` does.
- ``load_results``: a results folder's tables as pandas DataFrames.
- ``load_split``: an experiment's data as its trials see it (train, validation, test).

The ``fairbinn-sweep`` command installed with this package is the same program as the one
``cargo build`` makes.
"""

import importlib
import signal
import sys

from . import _core

__version__ = _core.__version__
__all__ = ["FairBiNNClassifier", "Results", "Split", "load_results", "load_split", "run", "main"]

# Imported when first used, so that the command starts without loading scikit-learn and pandas.
_LAZY = {
    "FairBiNNClassifier": "._estimator",
    "Results": "._experiments",
    "Split": "._experiments",
    "load_results": "._experiments",
    "load_split": "._experiments",
    "run": "._experiments",
}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(__all__ + ["__version__"])


def main():
    """The ``fairbinn-sweep`` command (its console script)."""
    # Ctrl-C stops the command as it stops the binary, at once: Python's own handler would
    # wait for the Rust code to return. What a sweep finished is on disk; `run` resumes.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    sys.exit(_core.main(["fairbinn-sweep", *sys.argv[1:]]))
