"""FairBiNNClassifier's own behaviour: encoding, groups, settings, errors, state."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from fairbinn_sweep import FairBiNNClassifier

FAST = dict(width=8, epochs=5, batch_size=20)


def rows(n=200, seed=0):
    """A frame of one number and two categories, labels leaning on them, and a group each."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "n": rng.normal(size=n),
            "two": rng.choice(["a", "b"], size=n),
            "three": rng.choice(["x", "y", "z"], size=n),
        }
    )
    y = ((frame.n + (frame.two == "b") - (frame.three == "z")) > 0.3).astype(int).to_numpy()
    groups = rng.choice(["F", "M"], size=n)
    return frame, y, groups


def by_hand(frame):
    """The tool's encoding, written out: the number; `two` as one 0/1 column (1 for "b", the
    second value, ½ for one never seen); `three` one-hot (zeros for one never seen)."""
    two = np.select([frame.two == "b", frame.two == "a"], [1.0, 0.0], 0.5)
    three = np.column_stack([(frame.three == v).astype(float) for v in "xyz"])
    return np.column_stack([frame.n, two, three])


def test_categories_are_encoded_as_the_tool_does():
    frame, y, groups = rows()
    on_frame = FairBiNNClassifier(**FAST).fit(frame, y, sensitive_features=groups)
    on_matrix = FairBiNNClassifier(**FAST).fit(by_hand(frame), y, sensitive_features=groups)
    assert on_frame.encodings_ == [None, ["a", "b"], ["x", "y", "z"]]
    assert on_frame.n_features_in_ == 3
    assert list(on_frame.feature_names_in_) == ["n", "two", "three"]
    assert on_matrix.n_features_in_ == 5
    np.testing.assert_array_equal(on_frame.predict_proba(frame), on_matrix.predict_proba(by_hand(frame)))
    # Values training never saw: ½ in a two-valued column, zeros in a one-hot one.
    new = pd.DataFrame({"n": [0.1, -2.0], "two": ["c", "a"], "three": ["y", "w"]})
    np.testing.assert_array_equal(by_hand(new)[:, 1:], [[0.5, 0, 1, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(on_frame.predict_proba(new), on_matrix.predict_proba(by_hand(new)))


def test_frames_are_checked_by_column():
    frame, y, groups = rows()
    holed = frame.copy()
    holed.loc[3, "two"] = None
    with pytest.raises(ValueError, match="column 'two' has missing values"):
        FairBiNNClassifier(**FAST).fit(holed, y)
    fitted = FairBiNNClassifier(**FAST).fit(frame, y)
    with pytest.raises(ValueError, match="fitted on a DataFrame with categorical columns"):
        fitted.predict(by_hand(frame))
    with pytest.raises(ValueError, match="feature names should match"):
        fitted.predict(frame.rename(columns={"n": "m"}))


def test_several_sensitive_columns_make_intersectional_groups():
    frame, y, groups = rows()
    race = np.where(np.arange(len(y)) % 3 == 0, "B", "A")
    both = pd.DataFrame({"sex": groups, "race": race})
    fitted = FairBiNNClassifier(**FAST).fit(frame, y, sensitive_features=both)
    assert list(fitted.sensitive_groups_) == ["F × A", "F × B", "M × A", "M × B"]
    with pytest.raises(ValueError, match="sensitive_features has 199 rows, X has 200"):
        FairBiNNClassifier(**FAST).fit(frame, y, sensitive_features=groups[1:])


def test_without_sensitive_features_the_fairness_terms_vanish():
    """One group: the Lagrangian's η·gap is zero, so it is ERM, weight for weight."""
    frame, y, _ = rows()
    lagrangian = FairBiNNClassifier(method="lagrangian", eta=1000, **FAST).fit(frame, y)
    erm = FairBiNNClassifier(method="erm", **FAST).fit(frame, y)
    assert list(lagrangian.sensitive_groups_) == ["all"]
    np.testing.assert_array_equal(lagrangian.predict_proba(frame), erm.predict_proba(frame))
    # With groups, η matters.
    _, _, groups = rows()
    fair = FairBiNNClassifier(method="lagrangian", eta=1000, **FAST).fit(frame, y, sensitive_features=groups)
    assert not np.array_equal(fair.predict_proba(frame), erm.predict_proba(frame))


def test_seeded_pickled_and_cloned():
    frame, y, groups = rows()
    first = FairBiNNClassifier(seed=3, **FAST).fit(frame, y, sensitive_features=groups)
    again = FairBiNNClassifier(seed=3, **FAST).fit(frame, y, sensitive_features=groups)
    other = FairBiNNClassifier(seed=4, **FAST).fit(frame, y, sensitive_features=groups)
    p = first.predict_proba(frame)
    np.testing.assert_array_equal(p, again.predict_proba(frame))
    assert not np.array_equal(p, other.predict_proba(frame))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(first)).predict_proba(frame), p)
    copy = clone(first)
    assert copy.get_params() == first.get_params() and not hasattr(copy, "model_")


def test_labels_of_any_kind():
    frame, y, _ = rows()
    words = np.where(y == 1, "yes", "no")
    fitted = FairBiNNClassifier(**FAST).fit(frame, words)
    assert list(fitted.classes_) == ["no", "yes"]
    assert set(fitted.predict(frame)) <= {"no", "yes"}
    with pytest.raises(ValueError, match="one class"):
        FairBiNNClassifier(**FAST).fit(frame, np.zeros(len(y)))
    with pytest.raises(ValueError, match="Only binary classification is supported"):
        FairBiNNClassifier(**FAST).fit(frame, np.arange(len(y)) % 3)


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(settings={"etta": 1}), r"train\.etta.*eta"),
        (dict(eta=-1), r"train\.eta: expected a number ≥ 0"),
        (dict(width=0), r"model\.width: expected at least 1"),
        (dict(method="threshold"), r"method='threshold': expected one of erm, lagrangian"),
        (dict(settings={"eta": 1}), r"repeats eta: give it as the estimator's own parameter"),
        (dict(scale="log"), r"scale='log': expected 'min-max', 'standard' or None"),
    ],
)
def test_bad_settings_are_named(params, message):
    frame, y, _ = rows()
    with pytest.raises(ValueError, match=message):
        FairBiNNClassifier(**params).fit(frame, y)


def test_not_fitted():
    frame, _, _ = rows()
    with pytest.raises(NotFittedError):
        FairBiNNClassifier().predict(frame)
