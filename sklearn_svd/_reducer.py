"""SVDReducer: principal component analysis (centred) or truncated SVD (not centred)."""

from typing import ClassVar

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin
from sklearn.utils import check_array

from ._base import _BaseSVD, centred_dot
from ._compat import StrOptions, _fit_context, check_is_fitted
from ._dask import as_float_array, is_dask
from ._rank import rank_hard_threshold, rank_minka


class SVDReducer(ClassNamePrefixFeaturesOutMixin, _BaseSVD):
    """Dimensionality reduction by the singular value decomposition.

    With ``center=True`` this is principal component analysis: the data is centred and
    projected on its leading right singular vectors, and every fitted attribute means
    what it means in :class:`sklearn.decomposition.PCA` (including the sign convention,
    so the components equal PCA's). With ``center=False`` it is a truncated SVD, as in
    :class:`sklearn.decomposition.TruncatedSVD`.

    Accepts dense arrays, DataFrames and ``scipy.sparse`` CSR/CSC input (every solver
    but ``"full"``; sparse data is centred implicitly, never densified).

    Parameters
    ----------
    n_components : int, float, {"mle", "gavish-donoho"} or None, default=None
        Number of components to keep. An int ``k`` with
        ``0 <= k <= min(n_samples, n_features)``; a float in ``(0, 1)`` keeps the
        smallest number of components whose explained variance ratio exceeds it;
        ``"mle"`` maximises Minka's approximation of the PPCA evidence (the same rank
        as ``PCA(n_components="mle")``, needs ``n_samples >= n_features``);
        ``"gavish-donoho"`` keeps the singular values above the optimal hard threshold
        ``omega(beta) * median(s)`` for unknown noise (Gavish & Donoho 2014); None keeps
        ``min(n_samples, n_features)``. The string rules decompose the whole spectrum.
    solver : {"auto", "covariance_eigh", "full", "randomized", "arpack"}, default="auto"
        ``"covariance_eigh"``: eigendecomposition of the smaller of ``X_c^T X_c`` and
        ``X_c X_c^T``: one pass over ``X``, no copy of it, but squaring the data squares
        the condition number (see Notes). ``"full"``: LAPACK SVD of the centred data
        (dense only). ``"randomized"``: randomized block Krylov iteration, approximate,
        a few passes over ``X``. ``"arpack"``: ARPACK Lanczos, converged to working
        precision, ``n_components < min(n_samples, n_features)``. The last two compute
        only the requested components and centre implicitly (no copy, sparse input
        stays sparse). ``"auto"``: see the User Guide (``docs/solvers.rst``): for dense
        data ``"full"`` when small (``max(n, d) <= 500``) or when more components are
        asked for than the data can have nonzero singular values, ``"randomized"`` for
        a few components when ``min(n, d) > 10000``, otherwise ``"covariance_eigh"``,
        re-fitted with ``"full"`` when a kept singular value is too small for it
        (below ``eps^(1/4) s_1``: fewer than half the digits); for sparse data
        ``"arpack"`` for a few components, else ``"covariance_eigh"`` (re-fitted with
        ``"arpack"`` in that case).
        ``solver_`` and ``solver_reason_`` say what happened.
    center : bool, default=True
        Subtract the column means before the decomposition (PCA). False gives a
        truncated SVD of the raw data.
    whiten : bool, default=False
        Divide the scores by the singular values (times ``sqrt(n_samples - 1)``) so each
        output column has unit variance. A numerically zero component (singular value
        ``s_i <= max(n_samples, n_features) * eps * s_1``, the rule of
        ``numpy.linalg.matrix_rank``, e.g. from a constant column or from keeping
        ``min(n_samples, n_features)`` components of centred data) has no direction to
        whiten: its score is 0 in ``transform`` and ``fit_transform`` alike, and
        ``inverse_transform`` ignores it.
    copy : bool, default=True
        If False, the ``"full"`` solver centres ``X`` in place and LAPACK uses it as
        workspace: the caller's array (or a DataFrame's memory, when it converts to
        an array without a copy) is overwritten and no copy of it is made.
        ``"covariance_eigh"`` never modifies ``X``.
    n_oversamples : int, default=10
        ``"randomized"`` only: columns of the random block beyond ``n_components``.
    n_iter : int or "auto", default="auto"
        ``"randomized"`` only: the most Krylov iterations (one pass over ``X`` each,
        after the first); ``"auto"`` is 60. If they do not reach ``tol``, a
        ``ConvergenceWarning`` gives the residual reached (``"auto"`` falls back to
        ARPACK instead).
    tol : float or None, default=None
        ``"randomized"`` only: the iteration stops when every top Ritz pair of the
        Gram operator has a relative residual below ``tol`` (or the Krylov space is
        exhausted, which gives the exact answer). Each singular value is then correct
        to ``tol / 2`` relatively or better (far better in practice), up to the
        Gram solvers' floor ``u (s_1 / s_i)^2``. None: ``1e-10`` for float64 data,
        ``1e-4`` for float32.
    random_state : int, RandomState instance or None, default=None
        Seeds the random block of ``"randomized"`` and the start vectors of ARPACK
        (``"arpack"``, and the Lanczos eigensolver that ``"covariance_eigh"`` uses for a
        few components of a large product). Fixed seed, fixed result.

    Attributes
    ----------
    components_ : ndarray of shape (n_components_, n_features)
        Principal axes (right singular vectors), by decreasing singular value; the
        largest-magnitude entry of each is positive.
    singular_values_ : ndarray of shape (n_components_,)
        Singular values of the centred data.
    explained_variance_ : ndarray of shape (n_components_,)
        ``singular_values_**2 / (n_samples - 1)`` (``/ n_samples`` when not centring;
        with ``sample_weight``, ``n_samples`` is the weights' total).
    explained_variance_ratio_ : ndarray of shape (n_components_,)
        Fraction of the total variance explained by each component.
    mean_ : ndarray of shape (n_features,)
        Column means (zeros when ``center=False``), weighted by ``sample_weight``.
    n_components_ : int
        Number of components kept.
    n_samples_ : int or float
        Number of training samples; with ``sample_weight``, the sum of the weights (a
        float): the number of rows they stand for.
    noise_variance_ : float
        Mean of the variances not kept: the noise variance of the probabilistic PCA
        model (:meth:`score`, :meth:`get_covariance`), as in PCA; 0 when every
        component is kept. The ``"full"`` solver averages the discarded variances; the
        others subtract the kept variance from the total, and take a difference below
        ``max(n_samples, n_features) * eps`` times the total, which is rounding, as 0.
    total_variance_ : float
        Total variance of the training data (sum over all components).
    spectrum_ : ndarray of shape (min(n_samples, n_features),) or None
        Every singular value, when the solver computed them all.
    solver_ : str
        The solver used.
    solver_reason_ : str
        Why ``"auto"`` chose that solver (empty when it was given).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    SVDDenoiser : Low-rank denoising in the original feature space.
    sklearn.decomposition.PCA : scikit-learn's principal component analysis.
    sklearn.decomposition.TruncatedSVD : Truncated SVD, also for sparse input.

    Notes
    -----
    ``"covariance_eigh"`` finds singular values as square roots of eigenvalues of the
    scatter (or Gram) matrix. A backward-stable eigensolver gives each eigenvalue an
    absolute error about ``u s_1^2`` (``u`` the unit roundoff), so a singular value
    ``s_i`` has relative error about ``u (s_1 / s_i)^2``: full precision for the leading
    components, none below ``sqrt(u) s_1`` (about ``1.5e-8 s_1`` in float64 and
    ``3.5e-4 s_1`` in float32), fewer than half below ``eps^(1/4) s_1``, where ``"auto"``
    redoes the fit. ``"full"`` works on the data itself, with absolute error
    about ``u s_1``. The scatter is formed from chunk statistics that never square the
    column offset, so a large common mean does not cost precision.

    ``score``, ``score_samples``, ``get_covariance`` and ``get_precision`` evaluate the
    probabilistic PCA model of Tipping & Bishop with the kept rank, as PCA does (but
    ``get_covariance`` does not depend on ``whiten``). They are computed in units of
    the largest variance, so scaling ``X`` by ``c`` shifts each log-likelihood by
    exactly ``-n_features log|c|`` over the float range. A degenerate model raises
    instead of returning an unbounded likelihood: one whose smallest variance
    (``noise_variance_`` when ``n_components_ < n_features``) is at most
    ``(max(n_samples, n_features) * eps)^2`` times its largest, the variance of a
    singular value at the rounding level of the SVD. That happens when the components
    kept reach the numerical rank of the data (say every component of rank-deficient
    data); it is a ratio, so it does not depend on the scale of ``X``.

    References
    ----------
    Minka (2000), "Automatic choice of dimensionality for PCA", NIPS 13.

    Gavish & Donoho (2014), "The optimal hard threshold for singular values is
    4/sqrt(3)", IEEE Trans. Inf. Theory 60(8). doi:10.1109/TIT.2014.2323359

    Tipping & Bishop (1999), "Probabilistic principal component analysis", JRSS-B 61(3).
    doi:10.1111/1467-9868.00196

    Halko, Martinsson & Tropp (2011), "Finding structure with randomness", SIAM Review
    53(2), section 1 on the conditioning of normal-equation approaches.
    doi:10.1137/090771806

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_svd import SVDReducer
    >>> X = np.array([[1.0, 2.0], [3.0, 3.5], [5.0, 5.5], [7.0, 8.0]])
    >>> reducer = SVDReducer(n_components=1).fit(X)
    >>> reducer.explained_variance_ratio_.round(4)
    array([0.9969])
    >>> reducer.transform(X).round(2)
    array([[-4.07],
           [-1.59],
           [ 1.24],
           [ 4.42]])
    """

    _parameter_constraints: ClassVar[dict] = {
        **_BaseSVD._parameter_constraints,
        "n_components": [
            *_BaseSVD._parameter_constraints["n_components"],
            StrOptions({"mle", "gavish-donoho"}),
        ],
        "whiten": ["boolean"],
    }

    def __init__(
        self,
        n_components=None,
        *,
        solver="auto",
        center=True,
        whiten=False,
        copy=True,
        n_oversamples=10,
        n_iter="auto",
        tol=None,
        random_state=None,
    ):
        self.n_components = n_components
        self.solver = solver
        self.center = center
        self.whiten = whiten
        self.copy = copy
        self.n_oversamples = n_oversamples
        self.n_iter = n_iter
        self.tol = tol
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None, sample_weight=None):
        """Fit the model on ``X`` and return its scores.

        Reuses ``U * S`` from the decomposition when the solver has it, instead of
        projecting ``X`` again.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Frequency weights (see :meth:`fit`). The scores are then those of
            :meth:`transform`, ``(X - mean_) @ components_.T``, for every row (a row
            of weight 0 too): the decomposition's ``U`` is that of the rows scaled
            by ``sqrt(w)``, so ``X`` is projected instead.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components_)
            Scores of the training data.
        """
        X, U = self._fit(X, sample_weight)
        if U is None:
            return self._scores(X)
        if self.whiten:
            # U sqrt(dof) = X_c V^T / sqrt(explained_variance_), but defined where the
            # singular value is rounding too; such columns are 0, as in transform
            dof = self.n_samples_ - 1 if self.center else self.n_samples_
            factor = np.where(self._numerically_zero(), 0.0, np.sqrt(dof))
            return U * factor.astype(U.dtype)
        return U * self.singular_values_

    def transform(self, X):
        """Project ``X`` on the principal axes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data with the features seen in fit.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components_)
            ``(X - mean_) @ components_.T``, divided by ``sqrt(explained_variance_)``
            when whitening (0 for a numerically zero component, see ``whiten``).
        """
        return self._scores(self._validate_transform_input(X))

    def _scores(self, X):
        scores = centred_dot(X, self.mean_, self.components_.T)
        if self.whiten:
            scores *= self._whiten_factors()[0]
        return scores

    def _numerically_zero(self):
        """Components whose singular value is rounding: ``s_i <= max(n, d) eps s_1``.

        Their direction is arbitrary and their variance noise, so whitening would
        amplify rounding to unit variance (and ``U sqrt(n - 1)`` and ``X_c v_i / s_i``
        would disagree): their whitened score is 0 on every path.
        """
        s = self.singular_values_
        if s.size == 0:
            return np.zeros(0, dtype=bool)
        return (s <= self._rounding_level() * s[0]) | (s <= 0)

    def _whiten_factors(self):
        """``1 / sqrt(explained_variance_)`` and ``sqrt(explained_variance_)``, both 0
        for the numerically zero components (see :meth:`_numerically_zero`)."""
        zero = self._numerically_zero()
        # s / sqrt(dof), not sqrt(explained_variance_): the variance can under- or
        # overflow where its square root does not
        dof = self.n_samples_ - 1 if self.center else self.n_samples_
        scale = (self.singular_values_.astype(np.float64) / np.sqrt(dof)).astype(
            self.singular_values_.dtype
        )
        inverse = np.divide(1, scale, out=np.zeros_like(scale), where=~zero)
        return inverse, np.where(zero, 0, scale).astype(scale.dtype)

    def _select_rank(self, s, ratio, shape):
        if self.n_components == "mle":
            if shape.n_samples < shape.n_features:
                raise ValueError(
                    "n_components='mle' needs n_samples >= n_features (got "
                    f"{shape.n_samples} < {shape.n_features}); use 'gavish-donoho' or "
                    "an int."
                )
            dof = shape.n_samples - 1 if self.center else shape.n_samples
            return rank_minka(s.astype(np.float64) ** 2 / dof, shape.n_samples)
        if self.n_components == "gavish-donoho":
            return rank_hard_threshold(s, shape)[0]
        return super()._select_rank(s, ratio, shape)

    @property
    def _n_features_out(self):
        """Number of output columns, for ``get_feature_names_out``."""
        return self.components_.shape[0]

    def inverse_transform(self, X):
        """Map scores back to feature space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components_)
            Scores, as returned by ``transform``.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            ``X @ components_ + mean_`` (scores scaled back by
            ``sqrt(explained_variance_)`` first when whitening, by 0 for a numerically
            zero component): the projection of the original data on the fitted
            subspace.
        """
        check_is_fitted(self)
        if is_dask(X):  # lazy: the products below are blockwise
            X = as_float_array(X)
        else:
            # n_components_ may be 0: the scores then have no columns
            X = check_array(X, dtype=[np.float64, np.float32], ensure_min_features=0)
        if X.shape[1] != self.n_components_:
            raise ValueError(
                f"X has {X.shape[1]} columns but this SVDReducer has "
                f"{self.n_components_} components: inverse_transform takes the output "
                "of transform."
            )
        if self.whiten:
            X = X * self._whiten_factors()[1]
        return X @ self.components_ + self.mean_
