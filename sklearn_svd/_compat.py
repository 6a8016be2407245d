"""The one place where scikit-learn's private helpers are imported.

A new scikit-learn release that moves one of them breaks this file only.
"""

from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, RealNotInt, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = [
    "Interval",
    "RealNotInt",
    "StrOptions",
    "_fit_context",
    "check_is_fitted",
    "validate_data",
]
