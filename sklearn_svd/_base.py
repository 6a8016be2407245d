"""What both estimators share: parameters, validation, fitting through the engine."""

from numbers import Integral
from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin

from ._compat import (
    Interval,
    RealNotInt,
    StrOptions,
    _fit_context,
    check_is_fitted,
    validate_data,
)
from ._engine import PARTIAL_SOLVERS, SOLVERS, decompose
from ._rank import Shape
from ._validation import check_numeric_columns, check_rank

#: Rows per block when projecting new data, so the centred block stays in cache.
_PROJECT_ROWS = 4096


def centred_dot(X, mean, W):
    """``(X - mean) @ W`` block by block: no centred copy of ``X``, and no
    ``X @ W - mean @ W`` cancellation when the mean is large against the spread.

    A sparse ``X`` is centred implicitly (``X @ W - mean @ W``, dense output), never
    densified.
    """
    if sp.issparse(X):
        return np.asarray(X @ W) - mean @ W
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
        "n_oversamples": [Interval(Integral, 0, None, closed="left")],
        "n_iter": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "random_state": ["random_state"],
    }

    def _validate_fit_input(self, X):
        check_numeric_columns(X, type(self).__name__)
        # Finiteness is not checked here: NaN and inf propagate into the engine's
        # column sums, which then locate them, saving a pass over X.
        X = validate_data(
            self,
            X,
            accept_sparse=["csr", "csc"],
            dtype=[np.float64, np.float32],
            ensure_all_finite=False,
            ensure_min_samples=2,
            copy=False,
        )
        if self.solver in PARTIAL_SOLVERS and self._needs_spectrum():
            raise ValueError(
                f"{type(self).__name__}({self._spectrum_rule()}) needs every singular "
                f"value, which solver={self.solver!r} does not compute. Give an int "
                f"n_components{self._partial_hint()}, or use solver='covariance_eigh', "
                "'full' or 'auto'."
            )
        return X

    def _spectrum_rule(self):
        """The parameters that make the fit read the whole spectrum, for messages."""
        return f"n_components={self.n_components!r}"

    def _partial_hint(self):
        return ""

    def _validate_transform_input(self, X):
        check_is_fitted(self)
        check_numeric_columns(X, type(self).__name__)
        return validate_data(
            self,
            X,
            accept_sparse=["csr", "csc"],
            dtype=[np.float64, np.float32],
            reset=False,
        )

    def _needs_spectrum(self):
        """Whether the rank rule needs every singular value (not only the top k)."""
        return not isinstance(self.n_components, Integral) and self.n_components is not None

    def _select_rank(self, s, ratio, shape):
        """Rank kept for ``n_components``; subclasses add their string rules."""
        if isinstance(self.n_components, float):
            k = int(np.searchsorted(np.cumsum(ratio), self.n_components, side="right")) + 1
            return min(k, s.size)
        if isinstance(self.n_components, Integral):
            return min(self.n_components, s.size)
        return s.size  # None: all

    def _fit(self, X):
        """Validate ``X``, decompose it, set the fitted attributes; return ``X``, ``U``."""
        X = self._validate_fit_input(X)
        n, d = X.shape
        check_rank(self.n_components, n, d)
        wanted = None if self._needs_spectrum() else self.n_components
        dof = n - 1 if self.center else n
        shape = Shape(n, d, self.center)

        def variances(result):
            explained = result.singular_values.astype(np.float64) ** 2 / dof
            total = result.total_sum_squares / dof
            return explained, total, explained / total if total > 0 else 0 * explained

        def select_rank(result):
            return self._select_rank(result.singular_values, variances(result)[2], shape)

        result = decompose(
            X,
            wanted,
            solver=self.solver,
            center=self.center,
            copy=self.copy,
            random_state=self.random_state,
            owner=type(self).__name__,
            select_rank=select_rank,
            n_oversamples=self.n_oversamples,
            n_iter=self.n_iter,
        )
        s = result.singular_values
        explained_variance, total_var, ratio = variances(result)
        k = result.rank
        self.n_samples_ = n
        self.spectrum_ = result.spectrum
        self.total_variance_ = total_var
        self.n_components_ = k
        self.solver_ = result.solver
        self.solver_reason_ = result.reason
        self.mean_ = result.mean
        self.components_ = result.components[:k]
        self.singular_values_ = s[:k]
        self.explained_variance_ = explained_variance[:k].astype(X.dtype)
        self.explained_variance_ratio_ = ratio[:k].astype(X.dtype)
        rest = min(n, d) - k
        kept = explained_variance[:k].sum()
        self.noise_variance_ = float(max(total_var - kept, 0.0) / rest) if rest else 0.0
        U = None if result.U is None else result.U[:, :k]
        return X, U

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the model on ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._fit(X)
        return self

    # Probabilistic PCA (Tipping & Bishop 1999): x ~ N(mean, W W^T + noise_variance I)
    # with W = components_.T diag(sqrt(explained_variance_ - noise_variance_)).

    def get_covariance(self):
        """Covariance of the probabilistic PCA model.

        ``components_.T diag(explained_variance_ - noise_variance_) components_
        + noise_variance_ I``, the maximum-likelihood PPCA covariance for this rank
        (Tipping & Bishop 1999); equal to ``PCA(whiten=False).get_covariance()``.

        Returns
        -------
        cov : ndarray of shape (n_features, n_features)
        """
        check_is_fitted(self)
        V = self.components_.astype(np.float64)
        excess = np.maximum(self.explained_variance_ - self.noise_variance_, 0.0)
        cov = (V.T * excess) @ V
        cov.flat[:: cov.shape[0] + 1] += self.noise_variance_
        return cov

    def get_precision(self):
        """Inverse of :meth:`get_covariance`, by the matrix inversion lemma.

        Returns
        -------
        precision : ndarray of shape (n_features, n_features)

        Raises
        ------
        ValueError
            If the model is degenerate: a zero noise variance with fewer components
            than features (or a zero-variance component), so the covariance is singular
            and the likelihood unbounded.
        """
        check_is_fitted(self)
        V = self.components_.astype(np.float64)
        d = V.shape[1]
        noise = self.noise_variance_
        ev = self.explained_variance_.astype(np.float64)
        if noise <= np.finfo(np.float64).eps * max(self.total_variance_, 1e-300):
            if V.shape[0] < d or ev.min(initial=np.inf) <= 0:
                raise ValueError(
                    f"The probabilistic PCA model of this {type(self).__name__} is "
                    f"degenerate: noise_variance_ is {noise:.3g} with n_components_="
                    f"{self.n_components_} of {d} features, so its covariance is "
                    "singular and the likelihood unbounded. Keep fewer components than "
                    "min(n_samples, n_features), or use a model whose discarded "
                    "components carry variance."
                )
            return (V.T / ev) @ V
        # (V^T D V + s I)^-1 = I/s - V^T (D^-1 + I/s)^-1 V / s^2, D = ev - noise
        excess = np.maximum(ev - noise, 0.0)
        inner = np.full(V.shape[0], 1.0 / noise)
        with np.errstate(divide="ignore"):
            inner = inner + 1.0 / excess
        precision = -(V.T / (inner * noise**2)) @ V
        precision.flat[:: d + 1] += 1.0 / noise
        return precision

    def score_samples(self, X):
        """Log-likelihood of each sample under the probabilistic PCA model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ll : ndarray of shape (n_samples,)
        """
        X = self._validate_transform_input(X)
        precision = self.get_precision()
        d = X.shape[1]
        _, logdet = np.linalg.slogdet(precision)
        ll = np.empty(X.shape[0])
        # Blocks of rows: a sparse X is densified one block at a time only.
        for start in range(0, X.shape[0], _PROJECT_ROWS):
            block = X[start : start + _PROJECT_ROWS]
            block = block.toarray() if sp.issparse(block) else block
            Xr = block.astype(np.float64) - self.mean_
            ll[start : start + Xr.shape[0]] = -0.5 * np.sum(Xr * (Xr @ precision), axis=1)
        return ll - 0.5 * (d * np.log(2 * np.pi) - logdet)

    def score(self, X, y=None):
        """Average log-likelihood of the samples under the probabilistic PCA model.

        With it, ``GridSearchCV`` over ``n_components`` with its default scoring picks
        the rank by held-out likelihood.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        ll : float
        """
        return float(np.mean(self.score_samples(X)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        # Sparse input is accepted by every solver but "full" (which raises).
        tags.input_tags.sparse = self.solver != "full"
        return tags
