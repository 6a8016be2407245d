"""The one place where scikit-learn's private helpers are imported.

A new scikit-learn release that moves one of them breaks this file only.
"""

from numbers import Integral

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, RealNotInt, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data


class IntegralNotBool(Interval):
    """scikit-learn's ``Interval(Integral, left, right)`` that refuses ``bool``.

    ``True`` is an ``Integral`` to Python (``PCA(n_components=True)`` fits one
    component), but never meant as a count: the standard parameter message names the
    allowed values instead.
    """

    def __init__(self, left, right, *, closed):
        super().__init__(Integral, left, right, closed=closed)

    def is_satisfied_by(self, val):
        return not isinstance(val, (bool, np.bool_)) and super().is_satisfied_by(val)


__all__ = [
    "IntegralNotBool",
    "Interval",
    "RealNotInt",
    "StrOptions",
    "_fit_context",
    "check_is_fitted",
    "validate_data",
]
