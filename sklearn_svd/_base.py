"""What both estimators share: parameters, validation, fitting through the engine."""

from numbers import Integral
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from ._compat import Interval, RealNotInt, StrOptions, check_is_fitted, validate_data
from ._engine import SOLVERS, decompose
from ._validation import check_numeric_columns, check_rank

#: Rows per block when projecting new data, so the centred block stays in cache.
_PROJECT_ROWS = 4096


def centred_dot(X, mean, W):
    """``(X - mean) @ W`` block by block: no centred copy of ``X``, and no
    ``X @ W - mean @ W`` cancellation when the mean is large against the spread."""
    out = np.empty((X.shape[0], W.shape[1]), dtype=np.result_type(X, W))
    for start in range(0, X.shape[0], _PROJECT_ROWS):
        block = X[start : start + _PROJECT_ROWS]
        out[start : start + block.shape[0]] = (block - mean) @ W
    return out


class _BaseSVD(TransformerMixin, BaseEstimator):
    """Parameters, validation and fitting shared by SVDReducer and SVDDenoiser.

    Subclasses implement ``transform``, ``inverse_transform`` and ``_fit_output`` (the
    ``fit_transform`` result from the engine's factors).
    """

    _parameter_constraints: ClassVar[dict] = {
        "n_components": [
            Interval(Integral, 0, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="neither"),
            None,
        ],
        "solver": [StrOptions(set(SOLVERS))],
        "center": ["boolean"],
        "copy": ["boolean"],
        "random_state": ["random_state"],
    }

    def _validate_fit_input(self, X):
        check_numeric_columns(X, type(self).__name__)
        # Finiteness is not checked here: NaN and inf propagate into the engine's
        # column sums, which then locate them, saving a pass over X.
        return validate_data(
            self,
            X,
            dtype=[np.float64, np.float32],
            ensure_all_finite=False,
            ensure_min_samples=2,
            copy=False,
        )

    def _validate_transform_input(self, X):
        check_is_fitted(self)
        check_numeric_columns(X, type(self).__name__)
        return validate_data(self, X, dtype=[np.float64, np.float32], reset=False)

    def _fit(self, X):
        """Validate ``X``, decompose it, set the fitted attributes; return the result."""
        X = self._validate_fit_input(X)
        n, d = X.shape
        check_rank(self.n_components, n, d)
        wanted = self.n_components
        if wanted is None or isinstance(wanted, float):
            wanted = None  # every component; a variance fraction is applied below
        result = decompose(
            X,
            wanted,
            solver=self.solver,
            center=self.center,
            copy=self.copy,
            random_state=self.random_state,
            owner=type(self).__name__,
        )
        k = result.singular_values.size
        s = result.singular_values
        dof = n - 1 if self.center else n
        explained_variance = s.astype(np.float64) ** 2 / dof
        total_var = result.total_sum_squares / dof
        ratio = explained_variance / total_var if total_var > 0 else 0 * explained_variance
        if isinstance(self.n_components, float):
            k = int(np.searchsorted(np.cumsum(ratio), self.n_components, side="right")) + 1
            k = min(k, s.size)
        self.n_components_ = k
        self.n_samples_ = n
        self.solver_ = result.solver
        self.solver_reason_ = result.reason
        self.mean_ = result.mean
        self.components_ = result.components[:k]
        self.singular_values_ = s[:k]
        self.explained_variance_ = explained_variance[:k].astype(X.dtype)
        self.explained_variance_ratio_ = ratio[:k].astype(X.dtype)
        self.total_variance_ = total_var
        self.spectrum_ = result.spectrum
        rest = min(n, d) - k
        kept = explained_variance[:k].sum()
        self.noise_variance_ = float(max(total_var - kept, 0.0) / rest) if rest else 0.0
        U = None if result.U is None else result.U[:, :k]
        return X, U

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
