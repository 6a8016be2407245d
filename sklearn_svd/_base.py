"""What both estimators share: parameters, validation, fitting through the engine."""

import warnings
from dataclasses import replace
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin

from . import _dask
from ._compat import (
    IntegralNotBool,
    Interval,
    RealNotInt,
    StrOptions,
    _fit_context,
    check_is_fitted,
    validate_data,
)
from ._engine import (
    LARGE_PRODUCT,
    PARTIAL_SOLVERS,
    SOLVERS,
    decompose,
    decompose_scatter,
)
from ._rank import Shape
from ._stream import add_batch
from ._validation import (
    check_numeric_columns,
    check_rank,
    check_sample_weight,
    check_total_weight,
    effective_rows,
)

#: Rows per block when projecting new data, so the centred block stays in cache.
_PROJECT_ROWS = 4096


def centred_dot(X, mean, W):
    """``(X - mean) @ W`` block by block: no centred copy of ``X``, and no
    ``X @ W - mean @ W`` cancellation when the mean is large against the spread.

    A sparse ``X`` is centred implicitly (``X @ W - mean @ W``, dense output), never
    densified; a dask array block by block, lazily.
    """
    if _dask.is_dask(X):
        dtype = np.result_type(X.dtype, W.dtype)
        return _dask.map_rows(centred_dot, X, W.shape[1], mean, W, dtype=dtype)
    if sp.issparse(X):
        return np.asarray(X @ W) - mean @ W
    out = np.empty((X.shape[0], W.shape[1]), dtype=np.result_type(X, W))
    for start in range(0, X.shape[0], _PROJECT_ROWS):
        block = X[start : start + _PROJECT_ROWS]
        out[start : start + block.shape[0]] = (block - mean) @ W
    return out


def _derived(name):
    """Whether ``name`` is a fitted attribute computed from the data (not the input
    checks' ``n_features_in_`` and ``feature_names_in_``)."""
    return (
        name.endswith("_")
        and not name.startswith("_")
        and name not in ("n_features_in_", "feature_names_in_")
    )


def _variances(result, dof):
    """Explained variances, total variance and explained ratios of an engine result.

    Divided before squaring, and ratios of norms: nothing overflows unless the variance
    itself exceeds float64 (then it is inf, honestly)."""
    s = result.singular_values.astype(np.float64)
    norm = np.float64(result.total_norm)
    with np.errstate(over="ignore"):
        explained = (s / np.sqrt(dof)) ** 2
        total = float((norm / np.sqrt(dof)) ** 2)
    ratio = (s / norm) ** 2 if norm > 0 else 0 * s
    return explained, total, ratio


def _plain_batch(estimator, X, stream):
    """Whether a later ``partial_fit`` batch is a plain float32 or float64 ndarray of
    one or more rows and the fitted width, fitted without feature names: every check
    ``validate_data`` would make of it (and it converts nothing). It costs 0.1-0.3 ms
    a call, up to a quarter of the time of 100 batches of 5000 x 100 beyond one
    ``fit``, so such batches skip it."""
    return (
        stream is not None
        and type(X) is np.ndarray
        and X.dtype in (np.float32, np.float64)
        and X.ndim == 2
        and X.shape[0] >= 1
        and X.shape[1] == estimator.n_features_in_
        and "feature_names_in_" not in estimator.__dict__
    )


class _BaseSVD(TransformerMixin, BaseEstimator):
    """Parameters, validation and fitting shared by SVDReducer and SVDDenoiser.

    Subclasses implement ``transform``, ``inverse_transform`` and ``_fit_output`` (the
    ``fit_transform`` result from the engine's factors).
    """

    _parameter_constraints: ClassVar[dict] = {
        "n_components": [
            # an int, but not a bool: True is no count of components
            IntegralNotBool(0, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="neither"),
            None,
        ],
        "solver": [StrOptions(set(SOLVERS))],
        "center": ["boolean"],
        "copy": ["boolean"],
        "n_oversamples": [Interval(Integral, 0, None, closed="left")],
        "n_iter": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "random_state": ["random_state"],
    }

    def _validate_fit_input(self, X):
        check_numeric_columns(X, type(self).__name__)
        if _dask.is_dask(X):  # checked without computing it
            X = _dask.validate(self, X, reset=True, min_samples=2)
            self._check_solver(X)
            return X
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
        self._check_solver(X)
        return X

    def _check_solver(self, X):
        """Refuse, before any pass over ``X``, a solver that cannot fit this input with
        these parameters, naming what can.

        The engine has its own checks, but it knows neither the estimator's parameters
        nor what would work instead (a denoiser needs every singular value to estimate
        the noise); each message here names only combinations that fit ``X``.
        """
        n, d = X.shape
        m = min(n, d)
        sparse = sp.issparse(X)
        # covariance_eigh of sparse data forms a dense m x m float64 product
        product = f"the dense {m} x {m} product ({8 * m * m / 1e9:.2g} GB)"
        partial = f"{self._partial_parameters()} with solver='randomized' or 'arpack'"
        if sparse and m > LARGE_PRODUCT:
            partial += f" (or 'auto', up to {m // 10} components)"
            whole = f"solver='covariance_eigh', which forms {product}"
        elif sparse:
            whole = "solver='covariance_eigh' or 'auto'"
        else:
            whole = "solver='covariance_eigh', 'full' or 'auto'"
        needs = self._needs_spectrum()
        rule = f"{type(self).__name__}({self._spectrum_rule()}) needs every singular value"
        if sparse and self.solver == "full":
            instead = (
                f"{whole}, or give {partial}"
                if needs or m > LARGE_PRODUCT
                else "solver='auto', 'covariance_eigh', 'randomized' or 'arpack'"
            )
            raise TypeError(
                "solver='full' needs dense input (LAPACK decomposes the centred array); "
                f"for this sparse X of shape {X.shape} use {instead}, or pass "
                "X.toarray() if it fits in memory."
            )
        if needs and self.solver in PARTIAL_SOLVERS:
            raise ValueError(
                f"{rule}, which solver={self.solver!r} does not compute. Give {partial}, "
                f"or use {whole}."
            )
        if needs and self.solver == "auto" and sparse and m > LARGE_PRODUCT:
            raise ValueError(
                f"{rule}: for sparse input of shape {X.shape} that takes {product}, "
                f"which solver='auto' does not form when min(n_samples, n_features) > "
                f"{LARGE_PRODUCT}. Give {partial}, or use {whole}."
            )

    def _spectrum_rule(self):
        """The parameters that make the fit read the whole spectrum, for messages."""
        return f"n_components={self.n_components!r}"

    def _partial_parameters(self):
        """What a fit by a partial solver needs, for messages."""
        return "an int n_components"

    def _validate_transform_input(self, X):
        check_is_fitted(self)
        check_numeric_columns(X, type(self).__name__)
        if _dask.is_dask(X):  # the output is lazy too
            return _dask.validate(self, X, reset=False)
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

    def _prefers_spectrum(self):
        """Whether the fit is better with every singular value, though it can do
        without (the denoiser's noise estimate at a given rank)."""
        return False

    def _wants_spectrum(self, X):
        """Whether to ask the engine for every singular value: when the rule needs
        them, or prefers them and the solver computes them anyway (not a partial
        solver, and not ``"auto"`` on sparse input too large for a dense product)."""
        m = min(X.shape)
        affordable = self.solver not in PARTIAL_SOLVERS and not (
            self.solver == "auto" and sp.issparse(X) and m > LARGE_PRODUCT
        )
        return self._needs_spectrum() or (self._prefers_spectrum() and affordable)

    def _select_rank(self, s, ratio, shape):
        """Rank kept for ``n_components``; subclasses add their string rules.

        ``s`` holds every singular value, or the top ones only (a partial solver);
        ``ratio`` their shares of the total sum of squares."""
        if isinstance(self.n_components, float):
            k = int(np.searchsorted(np.cumsum(ratio), self.n_components, side="right")) + 1
            return min(k, s.size)
        if isinstance(self.n_components, Integral):
            return min(self.n_components, s.size)
        return s.size  # None: all

    def _fit(self, X, sample_weight=None):
        """Validate ``X`` (and ``sample_weight``), decompose it, set the fitted
        attributes; return ``X`` and ``U`` (None when weighted: the engine's ``U`` is
        that of the weighted rows, not the scores)."""
        X = self._validate_fit_input(X)
        n, d = X.shape
        owner = type(self).__name__
        weights = None
        total, rows = n, n
        if sample_weight is not None:
            if _dask.is_dask(X):
                weights, total = _dask.check_sample_weight(sample_weight, X, owner)
            else:
                weights = check_sample_weight(sample_weight, n, owner=owner)
                total = float(np.sum(weights))
            check_total_weight(total, owner)
            rows = effective_rows(total)
        check_rank(self.n_components, rows, d)
        self._forget_stream()  # fit starts over
        # the rows the engine decomposes, for the rounding level (see _rounding_level)
        self._rounding_rows = min(n, rows)
        engine = _dask.decompose if _dask.is_dask(X) else decompose
        options = {} if weights is None else {"sample_weight": weights}
        result = engine(
            X,
            None if self._wants_spectrum(X) else self.n_components,
            solver=self.solver,
            center=self.center,
            copy=self.copy,
            random_state=self.random_state,
            owner=owner,
            select_rank=self._rank_selector(rows, d, total),
            n_oversamples=self.n_oversamples,
            n_iter=self.n_iter,
            tol=self.tol,
            **options,
        )
        U = self._set_fitted(result, total, d, X.dtype, rows=rows, computed=n)
        return X, (U if weights is None else None)

    def _rank_selector(self, rows, d, total=None):
        """``select_rank(result)`` for the engine: :meth:`_select_rank` on its values.

        ``rows``: the shape's rows (of the rows repeated, with weights); ``total``:
        the count the variances divide by (less one when centring), default ``rows``.
        """
        shape = Shape(rows, d, self.center)
        dof = self._dof(rows if total is None else total)

        def select_rank(result):
            ratio = _variances(result, dof)[2]
            return self._select_rank(result.singular_values, ratio, shape)

        return select_rank

    def _dof(self, n):
        """The degrees of freedom of the variances: ``n - 1`` when centring, else
        ``n`` (``n`` the sample weights' total when weighted)."""
        return n - 1 if self.center else n

    def _set_fitted(self, result, n, d, dtype, *, rows=None, computed=None):
        """Set the fitted attributes from the engine's result; return ``U`` (its kept
        columns in ``dtype``, or None).

        ``n``: the number of samples (the weights' total ``W`` when weighted),
        ``rows``: that of the rows they stand for (``ceil(W)``), ``computed``: the
        rows decomposed (default both ``n``)."""
        rows = n if rows is None else rows
        computed = rows if computed is None else computed
        self._rounding_rows = min(rows, computed)
        dof = self._dof(n)
        s = result.singular_values
        explained_variance, total_var, ratio = _variances(result, dof)
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
        with np.errstate(over="ignore"):  # beyond float32: inf, as the variance is
            self.explained_variance_ = explained_variance[:k].astype(dtype)
        self.explained_variance_ratio_ = ratio[:k].astype(dtype)
        rest = min(rows, d) - k
        if rest == 0:
            noise = 0.0
        elif result.solver == "full" and result.spectrum is not None:
            # LAPACK resolves each discarded singular value to about eps s_1: their mean
            # square keeps the digits that total - kept cancels (PCA's formula), here
            # scaled by the largest so that no s^2 overflows where s^2 / dof does not
            discarded = result.spectrum[k:].astype(np.float64)
            top = discarded.max()
            noise = 0.0
            if top > 0:
                with np.errstate(over="ignore"):  # inf only if the variance is
                    noise = (top / np.sqrt(dof)) ** 2 * np.mean((discarded / top) ** 2)
                noise = float(noise)
        else:
            # A difference of two sums of squares each rounded at about max(n, d) eps
            # relative (matrix_rank's bound): below that it is rounding, not variance.
            # (as a fraction of the total, which may overflow where the ratios don't)
            discarded = 1.0 - ratio[:k].sum()
            tol = max(self._rounding_rows, d) * np.finfo(dtype).eps
            noise = float(total_var * discarded / rest) if discarded > tol else 0.0
        self.noise_variance_ = noise
        # the Gram and randomized solvers return U in float64: outputs keep X's dtype
        return None if result.U is None else result.U[:, :k].astype(dtype, copy=False)

    def partial_fit(self, X, y=None, sample_weight=None):
        """Update the model with a batch of rows, exactly.

        The batch's count, mean and centred scatter are merged into those of the rows
        seen so far (Chan et al.'s update: no approximation, and no cancellation
        however far the batch's mean lies from the running one), and the fitted
        attributes are those of :meth:`fit` on every row seen, with the
        ``"covariance_eigh"`` solver's precision (whatever ``solver`` says: it
        applies to :meth:`fit`). They are computed when first read
        after a batch (one ``d x d`` eigendecomposition, not one per batch). Memory:
        ``O(n_features^2)``, whatever the number of rows; a ``d x d`` scatter that does
        not fit in memory raises ``MemoryError``.

        The first call sets ``n_features_in_`` (and ``feature_names_in_``), later ones
        check them. :meth:`fit` discards the statistics and keeps none of its own, so
        ``partial_fit`` after :meth:`fit` starts a new model from its batch, with a
        warning.

        With ``sample_weight``, each batch's rows count with their weights (as in
        :meth:`fit`): the model is that of :meth:`fit` on every row seen with every
        weight given, and ``n_samples_`` is the weights' total (batches without
        weights count 1 per row). A batch whose weights are all 0 changes nothing.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A batch of rows (one or more; dense or sparse, float32 or float64). A dask
            array's blocks are summarised and merged on its workers.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Nonnegative frequency weights of the batch's rows (see :meth:`fit`).

        Returns
        -------
        self : object
            The updated estimator.
        """
        stream = self.__dict__.get("_stream")
        if sample_weight is None and _plain_batch(self, X, stream):
            # a later batch needing no conversion: what _fit_context would do for a
            # fitted estimator (no parameter validation) less its config context, a
            # quarter of the fixed cost of a call (nothing here validates parameters)
            return self._add_batch(X, stream, None)
        return self._partial_fit(X, sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def _partial_fit(self, X, sample_weight):
        """:meth:`partial_fit` with validation."""
        owner = type(self).__name__
        stream = self.__dict__.get("_stream")
        if stream is None and "components_" in self.__dict__:
            warnings.warn(
                f"This {owner} was fitted with fit, which keeps no statistics to "
                "update: partial_fit starts a new model from this batch, and the rows "
                "fit saw are no longer part of it. Call partial_fit on every batch "
                "from the start (or fit on every row).",
                UserWarning,
                stacklevel=4,  # partial_fit's caller
            )
        check_numeric_columns(X, owner)
        if _dask.is_dask(X):
            # the blocks' statistics merged on the workers (X is not computed here)
            X = _dask.validate(self, X, reset=stream is None)
            weights = None
            if sample_weight is not None:
                weights = _dask.check_sample_weight(sample_weight, X, owner)[0]
            batch = _dask.merged_stream(
                X,
                self.center,
                owner,
                None if stream is None else stream.pivot,
                sample_weight=weights,
            )
            self._stream = batch if stream is None else stream._merge(batch)
            self._forget_fitted()
            return self
        if not _plain_batch(self, X, stream):
            X = validate_data(
                self,
                X,
                reset=stream is None,
                accept_sparse=["csr", "csc"],
                dtype=[np.float64, np.float32],
                ensure_all_finite=False,
                ensure_min_samples=1,
                copy=False,
            )
        if stream is None:
            try:
                np.empty((X.shape[1], X.shape[1]))
            except MemoryError:
                raise MemoryError(
                    f"partial_fit keeps the {X.shape[1]} x {X.shape[1]} scatter of the "
                    f"rows ({8 * X.shape[1] ** 2 / 1e9:.3g} GB), which does not fit in "
                    "memory: fit a dask array instead, or fewer features."
                ) from None
        weights = check_sample_weight(sample_weight, X.shape[0], owner=owner)
        return self._add_batch(X, stream, weights)

    def _add_batch(self, X, stream, weights):
        """Merge a validated batch into the statistics; the fitted attributes are
        recomputed when next read."""
        self._stream = add_batch(
            stream, X, center=self.center, owner=type(self).__name__, sample_weight=weights
        )
        self._forget_fitted()
        return self

    def _forget_fitted(self):
        for name in [name for name in vars(self) if _derived(name)]:
            delattr(self, name)  # recomputed from the statistics when read
        self.__dict__.pop("_rounding_rows", None)

    def _forget_stream(self):
        self.__dict__.pop("_stream", None)

    def _stream_fit(self):
        """Set the fitted attributes from the running statistics (see
        :meth:`partial_fit`), if they determine a model."""
        stream = self._stream
        n, d = stream.n_samples, stream.n_features
        rows = _stream_rows(stream)
        check_rank(self.n_components, rows, d)
        wanted = self._needs_spectrum() or self._prefers_spectrum()
        computed = stream.rows or rows
        self._rounding_rows = min(rows, computed)
        result = decompose_scatter(
            stream.stats,
            None if wanted else self.n_components,
            scale=stream.scale,
            dtype=stream.dtype,
            random_state=self.random_state,
            select_rank=self._rank_selector(rows, d, n),
            rows=rows,
        )
        mean = (stream.pivot + result.mean.astype(np.float64)).astype(stream.dtype)
        self._set_fitted(
            replace(result, mean=mean), n, d, stream.dtype, rows=rows, computed=computed
        )

    def _stream_ready(self):
        """Whether the rows seen so far determine a model: two or more, and at least
        ``n_components`` (an int) of them and of the features."""
        stream = self.__dict__.get("_stream")
        if stream is None:
            return False
        n, d = stream.n_samples, stream.n_features
        k = self.n_components
        # (n a weight total when weighted: above 1, as fit needs)
        return n > 1 and (not isinstance(k, Integral) or k <= min(_stream_rows(stream), d))

    def __sklearn_is_fitted__(self):
        return "components_" in self.__dict__ or self._stream_ready()

    def __getattr__(self, name):
        # Reached only when an attribute is missing: after partial_fit, the fitted
        # attributes are computed from the statistics on first read.
        if _derived(name) and self._stream_ready():
            self._stream_fit()
            if name in self.__dict__:
                return self.__dict__[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Fit the model on ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. A dask array or DataFrame is fitted where its blocks are,
            and only results of size ``d x d`` (``n x n`` for wide data) reach the
            client (see the user guide's *Scaling out* page).
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Frequency weights: nonnegative and finite, with a total ``W`` above 1. A
            row of integer weight ``m`` counts as ``m`` copies of it (the fitted
            model equals the fit on the repeated rows), a zero weight drops it. The
            mean is ``sum w x / W``, the variances divide by ``W - 1`` (``W``
            without centring), ``n_samples_`` is ``W``, and the rank rules and the
            noise estimates see ``ceil(W)`` rows. Relative (importance) weights
            should be scaled to sum to the number of rows. See the user guide's
            *Sample weights* page.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._fit(X, sample_weight)
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

    def _rounding_level(self):
        """``max(n, d) eps``: a singular value at most this times the largest is rounding.

        The bound of a backward-stable SVD on the singular values of a matrix whose
        exact ones are zero, and the rule of ``numpy.linalg.matrix_rank``; ``eps`` is
        that of the fitted dtype. With weights ``n`` is the number of rows decomposed
        (at most ``ceil(W)``), not ``W``: weights of ``1e300`` make no SVD coarser.
        """
        eps = np.finfo(self.components_.dtype).eps
        rows = self.__dict__.get("_rounding_rows", self.n_samples_)
        return max(rows, self.n_features_in_) * float(eps)

    def _ppca(self):
        """The probabilistic PCA model in units of its largest variance.

        The covariance ``get_covariance()`` has the eigenvalues ``max(ev_i, noise)``
        along the components and ``noise`` on their complement. The model is degenerate
        when the smallest of them is at most ``(max(n, d) eps)^2`` times the largest
        (the variance of a singular value at the rounding level of
        :meth:`_rounding_level`): the covariance is then singular but for rounding, and
        the likelihood of data in the span of the components unbounded. The test is a
        ratio, so it holds at every scale of the data.

        Returns
        -------
        V : ndarray of shape (n_components_, n_features), float64
        variances : ndarray of shape (n_components_,)
            The eigenvalues along ``V`` divided by ``scale``.
        noise : float
            ``noise_variance_ / scale``.
        scale : float
            The largest eigenvalue of the covariance.
        """
        check_is_fitted(self)
        V = self.components_.astype(np.float64)
        k, d = V.shape
        noise = float(self.noise_variance_)
        variances = np.maximum(self.explained_variance_.astype(np.float64), noise)
        eigenvalues = np.append(variances, [noise] if k < d else [])
        scale = float(eigenvalues.max())
        tol = self._rounding_level()
        if not scale > 0 or eigenvalues.min() / scale <= tol**2:
            rank = ""  # the Gram solvers' small singular values are too coarse
            if self.solver_ == "full" and self.spectrum_[0] > 0:
                rank = f", {int(np.sum(self.spectrum_ > tol * self.spectrum_[0]))}"
            raise ValueError(
                f"The probabilistic PCA model of this {type(self).__name__} is "
                f"degenerate: its smallest variance ({eigenvalues.min():.3g}; "
                f"n_components_={k} of {d} features, noise_variance_={noise:.3g}) is at "
                f"most (max(n_samples, n_features) * eps)^2 = {tol**2:.2g} times its "
                f"largest ({scale:.3g}), so its covariance is singular up to rounding "
                "and the likelihood unbounded. Keep fewer components than the numerical "
                f"rank of the training data{rank} (its singular values above "
                "max(n_samples, n_features) * eps times the largest), so that the "
                "discarded components carry variance."
            )
        return V, variances / scale, noise / scale, scale

    def get_precision(self):
        """Inverse of :meth:`get_covariance`.

        ``V^T diag(1 / lambda) V + (I - V^T V) / noise_variance_`` with
        ``V = components_`` and ``lambda = max(explained_variance_, noise_variance_)``
        (the eigenvalues of the covariance), evaluated in units of the largest variance
        so that no square under- or overflows at any scale of the data.

        Returns
        -------
        precision : ndarray of shape (n_features, n_features)

        Raises
        ------
        ValueError
            If the model is degenerate: its smallest variance (``noise_variance_`` when
            fewer components than features are kept) is at most
            ``(max(n_samples, n_features) * eps)^2`` times its largest, the variance of a
            singular value at the rounding level of the SVD. Its covariance is then
            singular up to rounding and the likelihood unbounded.
        """
        V, variances, noise, scale = self._ppca()
        k, d = V.shape
        if k == d:  # no complement: the noise variance plays no part
            precision = (V.T / variances) @ V
        else:
            precision = -(V.T * (1.0 / noise - 1.0 / variances)) @ V
            precision.flat[:: d + 1] += 1.0 / noise
        return precision / scale

    def score_samples(self, X):
        """Log-likelihood of each sample under the probabilistic PCA model.

        ``-(d log(2 pi) + log det C + (x - mean_)^T C^-1 (x - mean_)) / 2`` with
        ``C = get_covariance()``, computed from the projections on the components and
        the residual off them (``O(n_features n_components_)`` per sample), in units of
        the largest variance: scaling ``X`` by ``c`` shifts every value by exactly
        ``-n_features log|c|``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ll : ndarray of shape (n_samples,)

        Raises
        ------
        ValueError
            If the model is degenerate (see :meth:`get_precision`).
        """
        X = self._validate_transform_input(X)
        if _dask.is_dask(X):
            return _dask.map_rows(self._score_rows, X, None, dtype=np.float64)
        return self._score_rows(X)

    def _score_rows(self, X):
        """:meth:`score_samples` of validated rows."""
        V, variances, noise, scale = self._ppca()
        k, d = V.shape
        mean = self.mean_.astype(np.float64)
        root = np.sqrt(scale)
        ll = np.empty(X.shape[0])
        # Blocks of rows: a sparse X is densified one block at a time only.
        for start in range(0, X.shape[0], _PROJECT_ROWS):
            block = X[start : start + _PROJECT_ROWS]
            block = block.toarray() if sp.issparse(block) else block
            Xr = (block.astype(np.float64) - mean) / root
            Z = Xr @ V.T
            distance = np.sum(Z**2 / variances, axis=1)
            if k < d:
                # the residual itself, not ||x||^2 - ||z||^2, which cancels
                distance += np.sum((Xr - Z @ V) ** 2, axis=1) / noise
            ll[start : start + Xr.shape[0]] = -0.5 * distance
        logdet = np.sum(np.log(variances)) + (d - k) * (np.log(noise) if k < d else 0.0)
        return ll - 0.5 * (d * np.log(2 * np.pi) + logdet + d * np.log(scale))

    def score(self, X, y=None, sample_weight=None):
        """Average log-likelihood of the samples under the probabilistic PCA model.

        With it, ``GridSearchCV`` over ``n_components`` with its default scoring picks
        the rank by held-out likelihood.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Frequency weights of the rows: the weighted mean of :meth:`score_samples`,
            equal to the plain mean over the rows repeated (the same rules as in
            :meth:`fit`, but any positive total).

        Returns
        -------
        ll : float
        """
        ll = self.score_samples(X)
        if sample_weight is None:
            return float(np.mean(ll))
        if _dask.is_dask(ll):
            weights, total = _dask.check_sample_weight(
                sample_weight, ll, type(self).__name__
            )
        else:
            weights = check_sample_weight(
                sample_weight, ll.shape[0], owner=type(self).__name__
            )
            total = float(np.sum(weights))
        if not total > 0:
            raise ValueError(
                "The sample weights of score sum to 0: give at least one row a "
                "positive weight."
            )
        return float((ll * weights).sum() / total)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        # Sparse input is accepted by every solver but "full" (which raises).
        tags.input_tags.sparse = self.solver != "full"
        return tags


def _stream_rows(stream):
    """The rows a stream's statistics stand for: its count, or ``ceil(W)`` of a
    weight total (see :func:`~sklearn_svd._validation.effective_rows`)."""
    n = stream.n_samples
    return effective_rows(n) if stream.weighted else int(n)
