"""scikit-learn's estimator checks, plus the ones parametrize_with_checks does not run."""

import pytest
from sklearn.utils.estimator_checks import (
    check_get_feature_names_out_error,
    check_param_validation,
    check_set_output_transform,
    check_set_output_transform_pandas,
    check_set_output_transform_polars,
    parametrize_with_checks,
)

from sklearn_svd import SVDDenoiser, SVDImputer, SVDReducer

ESTIMATORS = [
    SVDReducer(),
    SVDDenoiser(),
    SVDReducer(n_components=2, whiten=True),
    SVDReducer(n_components=1, solver="randomized", random_state=0),
    SVDReducer(n_components=1, solver="arpack", random_state=0),
    SVDDenoiser(n_components=1, noise_level=0.5, solver="randomized", random_state=0),
    SVDReducer(n_components=2, solver="full"),
    SVDImputer(random_state=0),
    SVDImputer(method="soft", random_state=0),
    SVDImputer(n_components=2, shrinkage=0, add_indicator=True, random_state=0),
]


# check_fit_score_takes_y calls partial_fit after fit, which starts a new model with a
# warning (fit keeps no statistics)
@pytest.mark.filterwarnings("ignore:This SVD.* was fitted with fit:UserWarning")
@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=repr)
@pytest.mark.parametrize(
    "check",
    [
        check_param_validation,
        check_set_output_transform,
        check_set_output_transform_pandas,
        check_set_output_transform_polars,
        check_get_feature_names_out_error,
    ],
)
# The set_output checks fit on a DataFrame and transform an array on purpose.
@pytest.mark.filterwarnings("ignore:X (does not have valid|has) feature names:UserWarning")
def test_checks_not_run_by_default(estimator, check):
    check(type(estimator).__name__, estimator)
