"""``FairBiNNClassifier``: one network trained by the tool's methods, as a scikit-learn
estimator. Rows are encoded here (categories one-hot as the tool does) and handed to the
Rust library, which scales them, trains and predicts exactly as a trial of an experiment
file does."""

import json
import numbers

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from . import _core

# Parameters that are keys of an experiment file's `model:` section; the rest are `train:`'s.
_MODEL_KEYS = ("accuracy_layers", "fairness_layers", "fairness_position", "width")
_TRAIN_KEYS = ("method", "eta", "epochs", "batch_size", "lr_acc", "lr_fair", "seed")


class FairBiNNClassifier(ClassifierMixin, BaseEstimator):
    """A fairness-aware network trained by FairBiNN (the bilevel game between an accuracy
    player and a fairness player) or one of its baselines.

    Parameters are an experiment file's keys, with the same meaning and defaults (see the
    repository's docs/methods.md); ``None`` leaves the method's default.

    method : {"fairbinn", "fairbinn-reference", "stackelberg", "lagrangian", "erm", "adversarial"}
        Algorithm 1 of the paper, the authors' update rule, the leader that anticipates the
        follower, the Lagrangian (one network, loss + η · fairness), plain ERM, or
        adversarial debiasing (Zhang et al., as fairlearn's).
    eta : float, η, the weight of the fairness loss (methods that read it).
    epochs, batch_size, lr_acc, lr_fair : the training's epochs, minibatch rows, and the
        accuracy player's and the fairness player's (the follower's) Adam learning rates.
    accuracy_layers, fairness_layers, fairness_position, width : the network: hidden layers
        of the accuracy player, of the fairness block, the block's 1-based position among
        the hidden layers (default: last), the hidden width (default: the input width).
    seed : int, the initial weights and the minibatch order: the same seed, the same numbers.
    scale : {"min-max", "standard", None}, how the features are scaled, fitted on the
        training rows (the tool scales Adult by min-max).
    settings : dict, any other `train:` key of an experiment file (``fairness_loss``,
        ``step_order``, ``unroll``, ``alpha``, ``optimizer_acc``, ``shuffle``, …).

    ``fit(X, y, sensitive_features=…)`` takes the sensitive attribute as fairlearn does: one
    column (a group per value) or several (a group per combination, "a × b"). Without it,
    every row is in one group: the fairness terms are zero and the method trains for
    accuracy alone.
    """

    def __init__(
        self,
        method="fairbinn",
        eta=None,
        epochs=50,
        batch_size=100,
        lr_acc=1e-3,
        lr_fair=None,
        accuracy_layers=2,
        fairness_layers=1,
        fairness_position=None,
        width=None,
        seed=0,
        scale="min-max",
        settings=None,
    ):
        self.method = method
        self.eta = eta
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr_acc = lr_acc
        self.lr_fair = lr_fair
        self.accuracy_layers = accuracy_layers
        self.fairness_layers = fairness_layers
        self.fairness_position = fairness_position
        self.width = width
        self.seed = seed
        self.scale = scale
        self.settings = settings

    @classmethod
    def from_trial(cls, trial):
        """The estimator with a trial's settings: a row of a results folder's trials.csv
        (``load_results(folder).trials.iloc[i]``). Fitted on the split the trial trained on
        (``load_split(experiment).train``), it is the trial's network at its last epoch."""
        names = list(trial.index)
        if "method" not in names or "status" not in names:
            raise ValueError("expected a row of trials.csv (with its method and status columns)")
        # trials.csv: the trial's id, its settings (from `method` on), then its outcome.
        keys = names[names.index("method") : names.index("status")] + ["seed"]
        given = {k: _setting(trial[k]) for k in keys if not pd.isna(trial[k])}
        own = {k: given.pop(k) for k in _MODEL_KEYS + _TRAIN_KEYS if k in given}
        return cls(**own, settings=given or None)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def fit(self, X, y, sensitive_features=None):
        """Train the network on ``X`` and ``y`` (two classes), fair across the groups of
        ``sensitive_features``."""
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None"
            )
        settings = self._settings()
        rows = self._rows(X, reset=True)
        y = column_or_1d(y, warn=True)
        check_consistent_length(rows, y)
        check_classification_targets(y)
        self.classes_, labels = np.unique(y, return_inverse=True)
        if len(self.classes_) == 1:
            raise ValueError(
                f"y has one class only ({self.classes_[0]!r}); {type(self).__name__} needs "
                "two classes to train"
            )
        if len(self.classes_) > 2:
            raise ValueError(
                f"Only binary classification is supported: {type(self).__name__} separates "
                f"two classes, and y has {len(self.classes_)}"
            )
        groups, self.sensitive_groups_ = _groups(sensitive_features, len(rows))
        self.model_ = _core.fit(
            settings,
            "none" if self.scale is None else str(self.scale),
            rows.tobytes(),
            rows.shape[1],
            labels.astype("<f4").tobytes(),
            groups.tobytes(),
            len(self.sensitive_groups_),
        )
        return self

    def predict_proba(self, X):
        """Each row's probability of ``classes_[0]`` and of ``classes_[1]``."""
        p = self._probabilities(X).astype(np.float64)
        return np.column_stack([1.0 - p, p])

    def predict(self, X):
        """``classes_[1]`` where its probability exceeds ½ (the tool's decision rule)."""
        positive = self._probabilities(X) > 0.5
        return self.classes_[positive.astype(int)]

    def _probabilities(self, X):
        check_is_fitted(self)
        rows = self._rows(X, reset=False)
        return np.frombuffer(_core.predict_proba(self.model_, rows.tobytes()), dtype="<f4")

    def _settings(self):
        """The parameters as an experiment file's `model:` and `train:` sections (JSON); the
        library checks them and names the problem."""
        extra = dict(self.settings or {})
        clash = sorted(set(extra) & set(_MODEL_KEYS + _TRAIN_KEYS))
        if clash:
            raise ValueError(
                f"settings={self.settings!r} repeats {', '.join(clash)}: give "
                f"{'it' if len(clash) == 1 else 'them'} as the estimator's own parameter"
            )
        model = {k: getattr(self, k) for k in _MODEL_KEYS if getattr(self, k) is not None}
        train = {k: getattr(self, k) for k in _TRAIN_KEYS if getattr(self, k) is not None}
        train.update(extra)
        if self.scale not in ("min-max", "standard", None):
            raise ValueError(f"scale={self.scale!r}: expected 'min-max', 'standard' or None")
        if self.method not in _core.methods():
            raise ValueError(
                f"method={self.method!r}: expected one of {', '.join(_core.methods())}"
            )
        return json.dumps({"model": model, "train": train}, default=_plain)

    def _rows(self, X, reset):
        """``X`` as float32 rows: numbers as they are, categories one-hot."""
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=reset, skip_check_array=True)
            if reset:
                self.encodings_ = [_encoding(X[c], c) for c in X.columns]
            columns = [_encode(X[c], c, e) for c, e in zip(X.columns, self.encodings_)]
            X = check_array(np.column_stack(columns), dtype=[np.float64, np.float32])
        else:
            if reset:
                self.__dict__.pop("encodings_", None)
            elif any(e is not None for e in getattr(self, "encodings_", [])):
                raise ValueError(
                    f"{type(self).__name__} was fitted on a DataFrame with categorical "
                    "columns; predict on a DataFrame with the same columns"
                )
            X = check_array(X, dtype=[np.float64, np.float32])
            validate_data(self, X, reset=reset, skip_check_array=True)
        return np.ascontiguousarray(X, dtype="<f4")


def _plain(value):
    """NumPy's numbers (from a parameter grid, say) as JSON's."""
    if isinstance(value, numbers.Number) and hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{value!r} is not a number, string or boolean")


def _setting(value):
    """A trials.csv cell as the experiment file wrote it: pandas reads 3 as 3.0 in a column
    with empty cells, and counts must be whole numbers."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    return value.item() if isinstance(value, np.generic) else value


def _encoding(column, name):
    """A number column as it is; any other one-hot over its training values (sorted)."""
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        return None
    if column.isna().any():
        raise ValueError(
            f"column {name!r} has missing values: impute them first (for example with "
            "sklearn.impute.SimpleImputer in a Pipeline)"
        )
    return sorted(column.astype(str).unique())


def _encode(column, name, vocabulary):
    """As the tool encodes a category: two values give one 0/1 column (1 for the second,
    ½ for a value training never saw), more give one column each (zeros for an unseen one)."""
    if vocabulary is None:
        try:
            return column.to_numpy(dtype=np.float64, na_value=np.nan)[:, None]
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"column {name!r} held numbers when fitted, and now does not ({error})"
            ) from None
    if column.isna().any():
        raise ValueError(f"column {name!r} has missing values: impute them first")
    values = column.astype(str).to_numpy()
    if len(vocabulary) == 2:
        known = np.isin(values, vocabulary)
        return np.where(known, (values == vocabulary[1]).astype(float), 0.5)[:, None]
    return (values[:, None] == np.asarray(vocabulary)[None, :]).astype(float)


def _groups(sensitive_features, n_rows):
    """Each row's group index (uint32) and the groups' names, sorted (a pandas Categorical
    keeps its categories' order)."""
    if sensitive_features is None:
        return np.zeros(n_rows, dtype="<u4"), np.array(["all"], dtype=object)
    s = sensitive_features
    if isinstance(s, pd.DataFrame) or (not isinstance(s, pd.Series) and np.ndim(s) == 2):
        frame = pd.DataFrame(s)
        if frame.shape[1] == 1:
            s = frame.iloc[:, 0]
        else:
            if frame.isna().any().any():
                raise ValueError("sensitive_features has missing values")
            s = frame.astype(str).agg(" × ".join, axis=1)
    s = pd.Series(s) if not isinstance(s, pd.Series) else s
    if len(s) != n_rows:
        raise ValueError(f"sensitive_features has {len(s)} rows, X has {n_rows}")
    if s.isna().any():
        raise ValueError("sensitive_features has missing values")
    codes, names = pd.factorize(s, sort=True)
    return codes.astype("<u4"), np.asarray(names, dtype=object)
