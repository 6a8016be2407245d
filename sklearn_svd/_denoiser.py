"""SVDDenoiser: low-rank denoising of a data matrix in its own feature space."""

import warnings
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.base import OneToOneFeatureMixin

from . import _dask
from ._base import _BaseSVD, centred_dot
from ._compat import Interval, StrOptions, _fit_context
from ._rank import (
    Shape,
    bulk_edge,
    noise_median,
    noise_mp,
    noise_mp_partial,
    rank_hard_threshold,
)
from ._shrink import SHRINKERS, optshrink, shrink


class SVDDenoiser(OneToOneFeatureMixin, _BaseSVD):
    """Low-rank denoising with automatic rank and optimal singular value shrinkage.

    Models the data as a low-rank signal plus white noise of per-entry standard
    deviation ``sigma``: ``X = 1 mean^T + S + sigma Z``. ``fit_transform(X)`` returns
    ``U diag(eta(s)) V^T + mean``, where ``eta`` truncates or shrinks the singular
    values of the centred data; ``transform`` applies the same linear map
    ``(x - mean) V^T diag(eta(s) / s) V + mean`` to new rows. The output has the shape
    and the column names of the input.

    Parameters
    ----------
    n_components : "auto", int, float or None, default="auto"
        Rank kept. ``"auto"``: the rank the shrinkage rule implies (the singular values
        above the optimal hard threshold for ``shrinkage="hard"``, above the noise bulk
        edge for the shrinkers). An int ``k`` (``0 <= k <= min(n_samples,
        n_features)``), a variance fraction in ``(0, 1)``, or None (all) is an upper
        bound: of that many leading components, those whose shrunk singular value is
        nonzero are kept (with the shrinkers, those above the bulk edge; with
        ``"hard"``, those with a nonzero singular value), and ``n_components_`` says how
        many.
    shrinkage : {"frobenius", "operator", "nuclear", "hard", "optshrink"}, \
            default="frobenius"
        ``"hard"``: keep the singular values as they are (truncation).
        ``"frobenius"``, ``"operator"``, ``"nuclear"``: the optimal shrinkers of
        Gavish & Donoho (2017) for those losses, under white noise of level
        ``noise_level_``: zero at and below the bulk edge
        ``sigma sqrt(N) (1 + sqrt(beta))``, close to the true signal strength above
        it. ``"optshrink"``: OptShrink (Nadakuditi 2014), which needs no noise level:
        its weights come from the empirical D-transform of the singular values below
        the rank, so it adapts to noise that is not white (unequal column variances,
        correlated noise) and to the weak signal components that natural data leave
        in the bulk; prefer it there. Its rank is ``n_components`` (``"auto"``: the
        values above the bulk edge, as for ``"frobenius"``; ``noise_level`` is used
        for that rank only), and it needs every singular value (not with the
        partial solvers).
    noise_level : float, {"mp", "median"} or None, default=None
        The noise standard deviation ``sigma`` per entry, if known. Otherwise estimated
        from the spectrum. ``"mp"`` (None means this): the MP-PCA rule of Veraart et
        al. (2016), guarded against its collapse (the fitted bulk holds at least 10%
        of the nonzero singular values) and fitted to the lower half of the bulk
        (natural data leave weak components in its upper part); see
        :func:`sklearn_svd._rank.noise_mp`. With a partial solver (an int
        ``n_components``), from the top ``n_components`` values and the energy of the
        rest (:func:`sklearn_svd._rank.noise_mp_partial`), with a warning when none of
        them lies inside the noise bulk (then ``sigma`` is not identifiable and the
        estimate is too large if the signal has more components). ``"median"``: the
        median singular value (Gavish & Donoho 2014), biased upward when the signal
        has more than a few components.
    solver : {"auto", "covariance_eigh", "full", "randomized", "arpack"}, default="auto"
        As in :class:`SVDReducer`. ``"randomized"`` and ``"arpack"`` compute the top
        ``n_components`` only: with them give an int ``n_components`` (the noise is
        then estimated from those values and the total energy, unless given); the
        rank rules (``"auto"``, a fraction, None), ``noise_level="median"`` and
        ``"optshrink"`` need every singular value. So does sparse input whose smaller
        side exceeds 10000 with ``"auto"``, which does not form the dense
        ``min(n, d)^2`` product there (``"covariance_eigh"`` does, if it fits in
        memory). With an int ``n_components`` and a solver that computes every
        singular value anyway, the noise is estimated from all of them.
    center : bool, default=True
        Subtract the column means before the decomposition and add them back after.
        Centring removes one degree of freedom: the noise is that of an
        ``(n_samples - 1) x n_features`` matrix.
    copy : bool, default=True
        If False, the ``"full"`` solver overwrites ``X`` (or a DataFrame's memory,
        when it converts to an array without a copy) during fit.
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
        Seeds the randomized and ARPACK solvers.

    Attributes
    ----------
    n_components_ : int
        Rank of the denoised data: the number of components with a nonzero shrunk
        value, at most ``n_components`` when that is a number. Every attribute of shape
        ``(n_components_,)`` and ``components_`` hold those components only, and
        ``noise_variance_`` averages the others.
    noise_level_ : float
        The noise standard deviation used (given or estimated); NaN when neither given
        nor needed (``shrinkage="hard"`` with an int ``n_components``, where only the
        kept components are computed).
    shrunk_singular_values_ : ndarray of shape (n_components_,)
        ``eta(s)``, all positive: the singular values of the denoised, centred training
        data.
    singular_values_ : ndarray of shape (n_components_,)
        The singular values they were shrunk from.
    threshold_ : float
        The singular value below which components are dropped: the optimal hard
        threshold for ``"hard"``, the bulk edge for the shrinkers (0 with an explicit
        rank and ``"hard"``).
    bulk_edge_ : float
        ``noise_level_ sqrt(N) (1 + sqrt(beta))``: the largest singular value of pure
        noise of that level.
    spectrum_ : ndarray of shape (min(n_samples, n_features),) or None
        Every singular value of the centred training data.
    components_ : ndarray of shape (n_components_, n_features)
        Right singular vectors kept, by decreasing singular value.
    explained_variance_ : ndarray of shape (n_components_,)
    explained_variance_ratio_ : ndarray of shape (n_components_,)
    mean_ : ndarray of shape (n_features,)
    n_samples_ : int or float
        The sum of the weights when fitted with ``sample_weight``.
    noise_variance_ : float
        Mean variance of the discarded components (the probabilistic PCA noise of
        :meth:`score`, as in PCA).
    total_variance_ : float
    solver_ : str
    solver_reason_ : str
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)

    See Also
    --------
    SVDReducer : Scores in the space of the components.

    Notes
    -----
    With ``M = min(n_eff, d)``, ``N = max(n_eff, d)``, ``beta = M / N`` (``n_eff =
    n_samples - 1`` when centring), pure noise fills the singular values
    ``sigma sqrt(N) [1 - sqrt(beta), 1 + sqrt(beta)]``. The optimal hard threshold is
    ``lambda*(beta) sqrt(N) sigma`` (``4/sqrt(3) sqrt(n) sigma`` for square data). The
    shrinkers and thresholds are in :mod:`sklearn_svd._shrink` and
    :mod:`sklearn_svd._rank`, each with its formula; the decomposition does not depend
    on them.

    References
    ----------
    Gavish & Donoho (2014), "The optimal hard threshold for singular values is
    4/sqrt(3)", IEEE Trans. Inf. Theory 60(8). doi:10.1109/TIT.2014.2323359

    Gavish & Donoho (2017), "Optimal shrinkage of singular values", IEEE Trans. Inf.
    Theory 63(4). doi:10.1109/TIT.2017.2653801

    Nadakuditi (2014), "OptShrink: an algorithm for improved low-rank signal matrix
    denoising by optimal, data-driven singular value shrinkage", IEEE Trans. Inf.
    Theory 60(5). doi:10.1109/TIT.2014.2311661

    Veraart et al. (2016), "Denoising of diffusion MRI using random matrix theory",
    NeuroImage 142. doi:10.1016/j.neuroimage.2016.08.016

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_svd import SVDDenoiser
    >>> rng = np.random.default_rng(0)
    >>> signal = rng.standard_normal((300, 2)) @ rng.standard_normal((2, 40))
    >>> noisy = signal + 0.3 * rng.standard_normal(signal.shape)
    >>> denoiser = SVDDenoiser().fit(noisy)
    >>> denoiser.n_components_, round(denoiser.noise_level_, 2)
    (2, 0.3)
    >>> error = np.linalg.norm(denoiser.transform(noisy) - signal)
    >>> bool(error < 0.3 * np.linalg.norm(noisy - signal))
    True
    """

    _parameter_constraints: ClassVar[dict] = {
        **_BaseSVD._parameter_constraints,
        "n_components": [
            *_BaseSVD._parameter_constraints["n_components"],
            StrOptions({"auto"}),
        ],
        "shrinkage": [StrOptions({"hard", "optshrink", *SHRINKERS})],
        "noise_level": [
            Interval(Real, 0, None, closed="neither"),
            StrOptions({"mp", "median"}),
            None,
        ],
    }

    def __init__(
        self,
        n_components="auto",
        *,
        shrinkage="frobenius",
        noise_level=None,
        solver="auto",
        center=True,
        copy=True,
        n_oversamples=10,
        n_iter="auto",
        tol=None,
        random_state=None,
    ):
        self.n_components = n_components
        self.shrinkage = shrinkage
        self.noise_level = noise_level
        self.solver = solver
        self.center = center
        self.copy = copy
        self.n_oversamples = n_oversamples
        self.n_iter = n_iter
        self.tol = tol
        self.random_state = random_state

    def _needs_spectrum(self):
        # The rank rules, the median noise estimate and OptShrink read every singular
        # value; the MP estimate can do with the top k (noise_mp_partial).
        return (
            super()._needs_spectrum()
            or self.shrinkage == "optshrink"
            or self.noise_level == "median"
        )

    def _prefers_spectrum(self):
        # estimated noise at a given rank: from the whole spectrum when it is computed
        return not isinstance(self.noise_level, Real) and not (
            self.shrinkage == "hard" and isinstance(self.n_components, Integral)
        )

    def _spectrum_rule(self):
        return (
            f"n_components={self.n_components!r}, shrinkage={self.shrinkage!r}, "
            f"noise_level={self.noise_level!r}"
        )

    def _partial_parameters(self):
        if self.shrinkage == "optshrink":
            return "an int n_components and shrinkage='frobenius' (or another)"
        return "an int n_components (and noise_level='mp', a float, or None)"

    def _estimate_noise(self, s, ratio, shape):
        """The noise level: every singular value gives MP-PCA (or the median rule);
        the top ``k`` only, with the energy of the rest, give :func:`noise_mp_partial`
        (warning when no computed value lies inside the noise bulk)."""
        if s.size >= shape.M:
            if self.noise_level == "median":
                return noise_median(s, shape)
            return noise_mp(s, shape)[0]
        share = float(np.sum(ratio, dtype=np.float64))
        # the energy beyond the top k against theirs, from their shares of the total
        tail_ratio = (1 - share) / share if share > 0 else 0.0
        sigma, _, identified = noise_mp_partial(s, tail_ratio, shape)
        if not identified:
            warnings.warn(
                f"None of the {s.size} computed singular values lies inside the noise "
                "bulk, so the noise level is not identifiable from them: the estimate "
                f"({sigma:.4g}) assumes at most {s.size} signal components and is too "
                "large if there are more. Fit with a larger n_components, or with a "
                "solver that computes every singular value, or give noise_level.",
                UserWarning,
                stacklevel=4,
            )
        return sigma

    def _select_rank(self, s, ratio, shape):
        if isinstance(self.noise_level, Real):
            sigma = float(self.noise_level)
        elif not self._prefers_spectrum():  # hard truncation at a given rank: not needed
            sigma = float("nan")
        else:
            sigma = self._estimate_noise(s, ratio, shape)
        self.noise_level_ = sigma
        self.bulk_edge_ = bulk_edge(shape, sigma)
        if self.n_components == "auto":
            if self.shrinkage == "hard":
                k, self.threshold_ = rank_hard_threshold(s, shape, sigma=sigma)
            else:  # OptShrink too: the values above the bulk edge
                self.threshold_ = self.bulk_edge_
                k = int(np.sum(shrink(s, sigma, shape, "frobenius") > 0))
        else:
            k = super()._select_rank(s, ratio, shape)
            self.threshold_ = 0.0 if self.shrinkage == "hard" else self.bulk_edge_
        # The rank of the denoised data: a component whose shrunk value is 0 (at or
        # below the bulk edge) or whose singular value is numerically zero (at most
        # max(n, d) eps s_1, matrix_rank's bound) is dropped, so an explicit rank is an
        # upper bound. eta is nondecreasing in s: the kept ones lead.
        s = np.asarray(s)
        # the rows decomposed (with weights, not their total: see _rounding_level)
        rows = self.__dict__.get("_rounding_rows", shape.n_samples)
        rounding = max(rows, shape.n_features) * np.finfo(s.dtype).eps
        positive = (self._shrunk(s[:k], shape, s) > 0) & (s[:k] > rounding * s[:1])
        return int(np.argmin(positive)) if not positive.all() else k

    def _shrunk(self, s, shape, spectrum=None):
        """``eta(s)`` for the kept singular values ``s`` (OptShrink: the top
        ``s.size`` of ``spectrum``)."""
        if self.shrinkage == "hard":
            return np.asarray(s, dtype=np.float64)
        if self.shrinkage == "optshrink":
            return optshrink(spectrum, s.size, shape)
        return shrink(s, self.noise_level_, shape, self.shrinkage)

    def _set_fitted(self, result, n, d, dtype, *, rows=None, computed=None):
        U = super()._set_fitted(result, n, d, dtype, rows=rows, computed=computed)
        s = self.singular_values_
        shape = Shape(n if rows is None else rows, d, self.center)
        self.shrunk_singular_values_ = self._shrunk(s, shape, self.spectrum_).astype(
            s.dtype
        )
        return U

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None, sample_weight=None):
        """Fit on ``X`` and return its denoised version ``U eta(S) V^T + mean``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Frequency weights (see :meth:`fit`). The output is then
            ``transform(X)``: every row denoised by the fitted map, a row of weight
            0 too.

        Returns
        -------
        X_denoised : ndarray of shape (n_samples, n_features)
        """
        X, U = self._fit(X, sample_weight)
        if U is None:
            return self._denoise(X)
        return (U * self.shrunk_singular_values_) @ self.components_ + self.mean_

    def transform(self, X):
        """Denoise ``X`` with the fitted low-rank map.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data with the features seen in fit.

        Returns
        -------
        X_denoised : ndarray of shape (n_samples, n_features)
            ``(X - mean_) V^T diag(eta / s) V + mean_`` with ``V = components_``.
        """
        return self._denoise(self._validate_transform_input(X))

    def _denoise(self, X):
        s, eta = self.singular_values_, self.shrunk_singular_values_
        # Weights eta / s; a zero singular value contributes nothing either way.
        weights = np.divide(eta, s, out=np.zeros_like(s), where=s > 0)
        scores = centred_dot(X, self.mean_, self.components_.T)
        return (scores * weights) @ self.components_ + self.mean_

    def inverse_transform(self, X):
        """Return a validated copy of ``X``: denoised data already lives in feature space.

        ``transform`` maps feature space to itself, so there is nothing to undo (the
        discarded noise cannot be recovered); this method exists so the denoiser can
        sit wherever a transformer with an inverse is expected.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Denoised data.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            The same values, as a new dense float array (never the caller's array or a
            view of it; sparse input is densified here: it is the output of
            ``transform``, dense already). A dask array (immutable) is returned as
            validated, lazy.
        """
        original = X
        X = self._validate_transform_input(X)
        if sp.issparse(X):
            return X.toarray()
        if _dask.is_dask(X):  # immutable, and lazy like transform's output
            return X
        # A new array: validation returns the caller's array itself, or a view of a
        # DataFrame's memory, when no conversion is needed.
        return X.copy() if X is original or not X.flags.owndata else X
