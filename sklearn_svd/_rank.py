"""Rank rules and noise estimates: pure functions of a singular spectrum and the shape.

Notation (Gavish & Donoho): the centred data ``Y`` is ``n x d``; centring removes one
degree of freedom, so the noise behaves like that of an ``(n - 1) x d`` matrix. With
``M = min(n_eff, d)``, ``N = max(n_eff, d)`` and ``beta = M / N``, pure Gaussian noise of
per-entry standard deviation ``sigma`` has singular values filling
``sigma sqrt(N) [1 - sqrt(beta), 1 + sqrt(beta)]`` (the Marchenko-Pastur bulk).

References
----------
Gavish & Donoho (2014), "The optimal hard threshold for singular values is 4/sqrt(3)",
IEEE Trans. Inf. Theory 60(8). doi:10.1109/TIT.2014.2323359
Veraart, Novikov, Christiaens, Ades-Aron, Sijbers & Fieremans (2016), "Denoising of
diffusion MRI using random matrix theory", NeuroImage 142.
doi:10.1016/j.neuroimage.2016.08.016
Minka (2000), "Automatic choice of dimensionality for PCA", NIPS 13.
"""

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import integrate, optimize
from scipy.special import gammaln


@dataclass(frozen=True)
class Shape:
    """Effective noise dimensions of a (possibly centred) ``n x d`` matrix."""

    n_samples: int
    n_features: int
    center: bool

    @property
    def rows(self):
        """Rows of the equivalent uncentred noise matrix."""
        return self.n_samples - int(self.center)

    @property
    def M(self):
        return min(self.rows, self.n_features)

    @property
    def N(self):
        return max(self.rows, self.n_features)

    @property
    def beta(self):
        return self.M / self.N


def optimal_hard_threshold(beta):
    """``lambda*(beta)``: the optimal hard threshold for known noise, in units of
    ``sigma sqrt(N)`` (Gavish & Donoho 2014, eq. 11).

    ``lambda*(beta) = sqrt(2 (beta + 1) + 8 beta / (beta + 1 + sqrt(beta^2 + 14 beta
    + 1)))``, equal to ``4 / sqrt(3)`` for square matrices.
    """
    beta = np.asarray(beta, dtype=np.float64)
    return np.sqrt(
        2 * (beta + 1) + 8 * beta / (beta + 1 + np.sqrt(beta**2 + 14 * beta + 1))
    )


@lru_cache(maxsize=256)
def marchenko_pastur_median(beta):
    """Median of the Marchenko-Pastur law with ratio ``beta`` and unit variance.

    The law of the eigenvalues of ``Y^T Y / N`` for an ``N x M`` standard Gaussian
    ``Y``: density ``sqrt((b - x)(x - a)) / (2 pi beta x)`` on ``[a, b]``,
    ``a, b = (1 -+ sqrt(beta))^2``. Solved numerically (quadrature and Brent's method).
    """
    beta = float(beta)
    if not 0 < beta <= 1:
        raise ValueError(f"beta must be in (0, 1], got {beta}")
    a, b = (1 - np.sqrt(beta)) ** 2, (1 + np.sqrt(beta)) ** 2

    def density(x):
        return np.sqrt(max((b - x) * (x - a), 0.0)) / (2 * np.pi * beta * x)

    def cdf_minus_half(x):
        return integrate.quad(density, a, x, epsabs=1e-13, epsrel=1e-13, limit=200)[0] - 0.5

    return optimize.brentq(cdf_minus_half, a, b, xtol=1e-15, rtol=1e-15)


def median_threshold_coefficient(beta):
    """``omega(beta) = lambda*(beta) / sqrt(mu_beta)``: the optimal hard threshold for
    unknown noise, as a multiple of the median singular value (Gavish & Donoho 2014,
    eq. 4), with ``mu_beta`` the Marchenko-Pastur median."""
    return optimal_hard_threshold(beta) / np.sqrt(marchenko_pastur_median(beta))


def noise_median(s, shape):
    """Noise level from the median singular value (Gavish & Donoho 2014, section III.E).

    ``sigma = median(s) / sqrt(N mu_beta)``, with ``s`` the ``M`` singular values that
    carry noise. Biased upward when the signal occupies more than a few components.
    """
    s = np.asarray(s, dtype=np.float64)[: shape.M]
    return float(np.median(s) / np.sqrt(shape.N * marchenko_pastur_median(shape.beta)))


def noise_mp(s, shape):
    """Noise level by the MP-PCA rule of Veraart et al. (2016).

    With eigenvalues ``lam_i = s_i^2 / N`` (descending, ``i = 1..M``), take the smallest
    number of signal components ``p`` for which the remaining ``M - p`` eigenvalues fit a
    Marchenko-Pastur bulk: ``lam_{p+1} - lam_M < 4 sqrt(gamma_p) sigma_p^2`` with
    ``sigma_p^2`` their mean and ``gamma_p = (M - p) / N``; then ``sigma = sigma_p``.

    Returns
    -------
    sigma : float
    p : int
        The number of components above the bulk.
    """
    M, N = shape.M, shape.N
    lam = np.asarray(s, dtype=np.float64)[:M] ** 2 / N
    if M == 0 or lam.sum() == 0:
        return 0.0, 0
    tail_sums = np.cumsum(lam[::-1])[::-1]  # tail_sums[p] = sum(lam[p:])
    p = np.arange(M)
    sigma2 = tail_sums / (M - p)
    width = lam - lam[-1]  # lam_{p+1} - lam_M (0-based: lam[p] - lam[M-1])
    fits = width < 4 * np.sqrt((M - p) / N) * sigma2
    first = int(np.argmax(fits)) if fits.any() else M - 1
    return float(np.sqrt(sigma2[first])), first


def rank_hard_threshold(s, shape, sigma=None):
    """Number of singular values above the optimal hard threshold.

    Known ``sigma``: ``tau = lambda*(beta) sqrt(N) sigma``; unknown (None):
    ``tau = omega(beta) median(s)`` (Gavish & Donoho 2014).

    Returns
    -------
    rank : int
    tau : float
    """
    s = np.asarray(s, dtype=np.float64)[: shape.M]
    if sigma is None:
        tau = float(median_threshold_coefficient(shape.beta) * np.median(s))
    else:
        tau = float(optimal_hard_threshold(shape.beta) * np.sqrt(shape.N) * sigma)
    return int(np.sum(s > tau)), tau


def bulk_edge(shape, sigma):
    """Largest singular value of pure noise, ``sigma sqrt(N) (1 + sqrt(beta))``."""
    return float(sigma * np.sqrt(shape.N) * (1 + np.sqrt(shape.beta)))


def rank_minka(explained_variance, n_samples):
    """Minka's Laplace approximation of the PPCA evidence, maximised over the rank.

    ``explained_variance`` is the whole spectrum of the sample covariance (``d``
    values, ``n_samples >= d``). Returns the rank ``k`` in ``[1, d - 1]`` (0 only when
    every rank is degenerate) maximising ``log p(D | k)`` (Minka 2000, eq. 30), the rule
    behind ``PCA(n_components="mle")``.
    """
    lam = np.asarray(explained_variance, dtype=np.float64)
    d = lam.size
    n = n_samples
    eps = np.finfo(np.float64).eps
    best, best_ll = 0, -np.inf
    for k in range(1, d):
        if lam[k - 1] < eps:
            break
        i = np.arange(1, k + 1)
        # log p(U): the area of the Stiefel manifold
        pu = -k * np.log(2.0) + np.sum(
            gammaln((d - i + 1) / 2.0) - np.log(np.pi) * (d - i + 1) / 2.0
        )
        pl = -np.sum(np.log(lam[:k])) * n / 2.0
        v = max(eps, lam[k:].sum() / (d - k))
        pv = -np.log(v) * n * (d - k) / 2.0
        m = d * k - k * (k + 1.0) / 2.0
        pp = np.log(2.0 * np.pi) * (m + k) / 2.0
        # log det of the Hessian: pairs (i, j), i <= k < j or i < j <= k
        lam_hat = lam.copy()
        lam_hat[k:] = v
        diff = lam[:k, None] - lam[None, :]
        inv = 1.0 / lam_hat[None, :] - 1.0 / lam_hat[:k, None]
        upper = np.triu(np.ones((k, d), dtype=bool), 1)
        pa = np.sum(np.log(diff[upper] * inv[upper]) + np.log(n))
        ll = pu + pl + pv + pp - pa / 2.0 - k * np.log(n) / 2.0
        if ll > best_ll:
            best, best_ll = k, ll
    return best
