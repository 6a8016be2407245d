"""SVDDenoiser: low-rank denoising of a data matrix in its own feature space."""

import numpy as np
from sklearn.base import OneToOneFeatureMixin

from ._base import _BaseSVD, centred_dot
from ._compat import _fit_context


class SVDDenoiser(OneToOneFeatureMixin, _BaseSVD):
    """Low-rank denoising: keep the leading singular triplets of the centred data.

    ``fit_transform(X)`` returns ``U_k S_k V_k^T + mean``, the best rank-``k``
    approximation of ``X`` (Eckart-Young); ``transform`` applies the same linear map
    ``(x - mean) V_k^T W V_k + mean`` to new rows, with ``W`` the diagonal of weights
    ``eta(s) / s`` (all ones for hard truncation). The output has the shape and the
    column names of the input.

    Parameters
    ----------
    n_components : int, float or None, default=None
        Rank kept. An int ``k`` with ``0 <= k <= min(n_samples, n_features)``; a float
        in ``(0, 1)`` keeps the smallest rank whose explained variance ratio exceeds it;
        None keeps every component (the identity map on the training data).
    solver : {"auto", "covariance_eigh", "full"}, default="auto"
        As in :class:`SVDReducer`.
    center : bool, default=True
        Subtract the column means before the decomposition and add them back after.
    copy : bool, default=True
        If False, the ``"full"`` solver overwrites ``X`` during fit.
    random_state : int, RandomState instance or None, default=None
        Seeds the start vector of the iterative eigensolver.

    Attributes
    ----------
    components_ : ndarray of shape (n_components_, n_features)
        Right singular vectors kept, by decreasing singular value.
    singular_values_ : ndarray of shape (n_components_,)
        Their singular values.
    shrunk_singular_values_ : ndarray of shape (n_components_,)
        The singular values of the denoised training data (equal to
        ``singular_values_`` for hard truncation).
    explained_variance_ : ndarray of shape (n_components_,)
    explained_variance_ratio_ : ndarray of shape (n_components_,)
    mean_ : ndarray of shape (n_features,)
    n_components_ : int
    n_samples_ : int
    noise_variance_ : float
        Mean variance of the discarded components.
    total_variance_ : float
    spectrum_ : ndarray of shape (min(n_samples, n_features),) or None
    solver_ : str
    solver_reason_ : str
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)

    See Also
    --------
    SVDReducer : Scores in the space of the components.

    Notes
    -----
    The map is linear, so denoising new rows costs two thin matrix products. The
    weights ``eta(s) / s`` are the only place a shrinkage rule enters
    (``_shrink``); the decomposition does not depend on it.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_svd import SVDDenoiser
    >>> rng = np.random.default_rng(0)
    >>> signal = np.outer(np.arange(6.0), [1.0, 2.0, 3.0])
    >>> noisy = signal + 0.01 * rng.standard_normal(signal.shape)
    >>> denoised = SVDDenoiser(n_components=1).fit_transform(noisy)
    >>> bool(np.abs(denoised - signal).max() < np.abs(noisy - signal).max())
    True
    >>> denoised.shape
    (6, 3)
    """

    def __init__(
        self,
        n_components=None,
        *,
        solver="auto",
        center=True,
        copy=True,
        random_state=None,
    ):
        self.n_components = n_components
        self.solver = solver
        self.center = center
        self.copy = copy
        self.random_state = random_state

    def _shrink(self, s):
        """Denoised singular values ``eta(s)`` for the kept ``s``: identity here."""
        return s

    def _fit_denoiser(self, X):
        X, U = self._fit(X)
        s = self.singular_values_
        eta = np.asarray(self._shrink(s), dtype=s.dtype)
        self.shrunk_singular_values_ = eta
        # Weights eta / s; a zero singular value contributes nothing either way.
        positive = s > 0
        self._weights = np.zeros_like(s)
        self._weights[positive] = eta[positive] / s[positive]
        return X, U

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the low-rank model on ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.

        Returns
        -------
        self : SVDDenoiser
            The fitted estimator.
        """
        self._fit_denoiser(X)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Fit on ``X`` and return its denoised version ``U eta(S) V^T + mean``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.

        Returns
        -------
        X_denoised : ndarray of shape (n_samples, n_features)
        """
        X, U = self._fit_denoiser(X)
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
        scores = centred_dot(X, self.mean_, self.components_.T)
        return (scores * self._weights) @ self.components_ + self.mean_

    def inverse_transform(self, X):
        """Return ``X`` validated: denoised data already lives in feature space.

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
            The same values, as a float array.
        """
        return self._validate_transform_input(X)
