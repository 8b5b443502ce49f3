"""The estimator among the tools people combine it with: fairlearn's MetricFrame and
ThresholdOptimizer, scikit-learn's cross-validation and pipelines. On Adult's raw rows (the
repository's copy), the first 6000 for speed."""

import numpy as np
import pytest
from fairlearn.metrics import MetricFrame, demographic_parity_difference, selection_rate
from fairlearn.postprocessing import ThresholdOptimizer
from sklearn.compose import ColumnTransformer
from sklearn.metrics import accuracy_score
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from fairbinn_sweep import FairBiNNClassifier


@pytest.fixture(scope="module")
def split(adult):
    X, y = adult
    X, y = X.iloc[:6000], y[:6000]
    return X.iloc[:4000], y[:4000], X.iloc[4000:], y[4000:]


def test_on_a_raw_frame_with_metric_frame(split):
    X, y, X_test, y_test = split
    fitted = FairBiNNClassifier(method="fairbinn", eta=10, epochs=10).fit(X, y, sensitive_features=X.sex)
    # Categories one-hot as the tool does (sex, two values, one column): its 101 columns less
    # the native countries absent from these rows.
    assert fitted.n_features_in_ == 13
    predicted = fitted.predict(X_test)
    frame = MetricFrame(
        metrics={"accuracy": accuracy_score, "selection_rate": selection_rate},
        y_true=y_test,
        y_pred=predicted,
        sensitive_features=X_test.sex,
    )
    assert list(frame.by_group.index) == ["Female", "Male"]
    assert frame.overall["accuracy"] == accuracy_score(y_test, predicted) > 0.8
    rates = frame.by_group["selection_rate"]
    assert demographic_parity_difference(
        y_test, predicted, sensitive_features=X_test.sex
    ) == pytest.approx(abs(rates["Male"] - rates["Female"]))


def test_threshold_optimizer_on_the_fitted_estimator(split):
    X, y, X_test, y_test = split
    fitted = FairBiNNClassifier(method="erm", epochs=10).fit(X, y, sensitive_features=X.sex)
    gap = demographic_parity_difference(y_test, fitted.predict(X_test), sensitive_features=X_test.sex)
    post = ThresholdOptimizer(
        estimator=fitted,
        prefit=True,
        constraints="demographic_parity",
        predict_method="predict_proba",
    ).fit(X, y, sensitive_features=X.sex)
    decided = post.predict(X_test, sensitive_features=X_test.sex, random_state=0)
    post_gap = demographic_parity_difference(y_test, decided, sensitive_features=X_test.sex)
    assert gap > 0.1 and post_gap < gap / 2, (gap, post_gap)
    assert accuracy_score(y_test, decided) > 0.75


def test_pipeline_with_column_transformer_and_cross_validation(split):
    X, y, _, _ = split
    numbers = list(X.select_dtypes(include="number").columns)
    categories = [c for c in X.columns if c not in numbers]
    pipeline = Pipeline(
        [
            (
                "encode",
                ColumnTransformer(
                    [
                        ("categories", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categories),
                        ("numbers", StandardScaler(), numbers),
                    ]
                ),
            ),
            ("network", FairBiNNClassifier(method="fairbinn-reference", eta=1, epochs=5, scale=None)),
        ]
    )
    # fit parameters reach the estimator by its step's name; cross_val_score splits them.
    scores = cross_val_score(pipeline, X, y, cv=3, params={"network__sensitive_features": X.sex})
    assert scores.shape == (3,) and np.all(scores > 0.78), scores
    fitted = pipeline.fit(X, y, network__sensitive_features=X.sex)
    assert list(fitted.named_steps["network"].sensitive_groups_) == ["Female", "Male"]
