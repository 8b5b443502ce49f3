"""scikit-learn's own estimator checks on FairBiNNClassifier.

The checks are run on ``FairBiNNClassifier(width=16, epochs=200)``: the defaults are the
paper's Adult set-up (hidden layers as wide as the input, 50 epochs of 100 rows), which on
the checks' 200-row, 2-feature blobs trains 100 steps of a 2-unit network and scores 0.50,
below the 0.83 that `check_classifiers_train` asks; 16 units and 200 epochs score 0.965.
Skipped by scikit-learn itself: `check_array_api_input` (only with SCIPY_ARRAY_API=1; the
estimator takes NumPy arrays and pandas frames, not other array libraries). The checks fit
without ``sensitive_features``: every row is then in one group, the fairness terms are zero
and the method trains for accuracy alone.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from fairbinn_sweep import FairBiNNClassifier


@parametrize_with_checks([FairBiNNClassifier(width=16, epochs=200)])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
