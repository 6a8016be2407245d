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


#: Smallest noise bulk the MP-PCA rule may fit, as a fraction of the nonzero spectrum.
MIN_BULK = 0.1
#: Fraction of the bulk, its smallest eigenvalues, that the noise level is fitted to.
LOWER = 0.5


@lru_cache(maxsize=1024)
def _mp_tables(gamma, points=2001):
    """Unit-variance Marchenko-Pastur law of ratio ``gamma``: cumulative distribution
    and cumulative first moment on a grid ``x = 1 + gamma - 2 sqrt(gamma) cos(theta)``.

    In ``theta`` the density is ``(2 / pi) sin^2(theta) / x`` (finite at the hard edge
    ``gamma = 1``) and the first moment ``(2 / pi) sin^2(theta)``, whose integral is
    ``(theta - sin(theta) cos(theta)) / pi`` (the law's mean is 1).
    """
    theta = np.linspace(0.0, np.pi, points)
    x = 1 + gamma - 2 * np.sqrt(gamma) * np.cos(theta)
    density = np.divide(
        2 / np.pi * np.sin(theta) ** 2, x, out=np.full(points, 2 / np.pi), where=x > 0
    )
    cdf = integrate.cumulative_trapezoid(density, theta, initial=0.0)
    moment = (theta - np.sin(theta) * np.cos(theta)) / np.pi
    return cdf / cdf[-1], moment


def mp_lower_moment(gamma, q):
    """Share of the first moment of the Marchenko-Pastur law of ratio ``gamma`` carried
    by its lowest fraction ``q`` of eigenvalues: ``int_a^{F^-1(q)} x dF(x)`` (the mean
    is 1). Expected sum of the smallest ``q m`` of ``m`` bulk eigenvalues of variance
    ``sigma^2``: ``m sigma^2 mp_lower_moment(gamma, q)``."""
    cdf, moment = _mp_tables(float(gamma))
    return float(np.interp(q, cdf, moment))


def noise_mp(s, shape):
    """Noise level by the MP-PCA rule of Veraart et al. (2016), made robust.

    With eigenvalues ``lam_i = s_i^2 / N`` (descending), MP-PCA takes the smallest
    number of signal components ``p`` for which the remaining ``m = M - p`` fit a
    Marchenko-Pastur bulk of ratio ``gamma = m / N``:
    ``lam_{p+1} - lam_M < 4 sqrt(gamma) sigma_p^2``, ``sigma_p^2`` their mean. Two
    changes, each measured on real data (``benchmarks/denoise.py``):

    - a bulk of fewer than ``MIN_BULK`` of the nonzero eigenvalues is not accepted
      (natural images at low noise pass no range test, and MP-PCA then descends to the
      last few eigenvalues, returning 0.4 sigma or less); if no bulk that large passes,
      the one whose range is closest to the test's is taken;
    - ``sigma`` is fitted to the lowest ``LOWER`` of the bulk, their sum against its
      Marchenko-Pastur expectation (:func:`mp_lower_moment`): weak signal components
      inside the bulk (natural images have many) raise its upper part and its mean,
      by 3-8% on photographs, not its lower part.

    Zero singular values count as eigenvalues of the bulk, as in MP-PCA: noiseless
    data of low rank then gets ``sigma = 0`` (nothing to shrink). Zeros from
    structure (duplicated or constant columns next to noisy ones) bias ``sigma``
    down, towards keeping more: the conservative side.

    Returns
    -------
    sigma : float
    p : int
        The number of components above the bulk.
    """
    s = np.asarray(s, dtype=np.float64)[: shape.M]
    if s.size == 0 or not s[0] > 0:
        return 0.0, 0
    N = shape.N
    # in units of s_1 (no overflow or underflow), the N of lam = s^2 / N left out
    lam = (s / s[0]) ** 2
    M = lam.size
    m = M - np.arange(M)
    sigma2 = np.cumsum(lam[::-1])[::-1] / m  # the mean of lam[p:]
    width = lam - lam[-1]
    # a tail of zeros fits (ratio 0)
    ratio = np.divide(width, 4 * np.sqrt(m / N) * sigma2, out=np.zeros(M), where=width > 0)
    allowed = np.flatnonzero(m >= max(1, np.ceil(MIN_BULK * M)))
    fits = allowed[ratio[allowed] < 1]
    if fits.size:
        p = int(fits[0])
    else:  # the bulk that comes closest to passing
        p = int(allowed[np.argmin(np.abs(np.log(ratio[allowed])))])
    bulk = lam[p:]
    j = max(1, round(LOWER * bulk.size))
    share = mp_lower_moment(bulk.size / N, j / bulk.size)
    sigma2 = np.sum(bulk[-j:]) / (bulk.size * share)
    return float(s[0] * np.sqrt(sigma2 / N)), p


def noise_mp_partial(s, tail_ratio, shape):
    """Noise level from the top ``k`` singular values and the energy of the others.

    For the partial solvers, which compute ``s_1..s_k`` only (``k < M``), with
    ``tail_ratio = (||X_c||_F^2 - sum(s^2)) / sum(s^2)`` (a ratio: no square of
    ``s`` is formed, so nothing overflows), ``tail`` the numerator. For ``p`` signal
    components, the ``m = M - p`` bulk eigenvalues hold ``tail`` in their lowest
    ``M - k`` (the uncomputed ones):
    ``sigma_p^2 = tail / (N m mp_lower_moment(m / N, (M - k) / m))`` (a
    Marchenko-Pastur partial-moment correction; the residual over its ``M - k`` degrees
    of freedom alone underestimates sigma once ``k`` exceeds the signal rank). ``p`` is
    the first for which the next computed value lies inside that bulk,
    ``s_{p+1}^2 <= N sigma_p^2 (1 + sqrt(m / N))^2`` (MP-PCA's range test, against the
    bulk's theoretical lower edge for want of ``s_M``), as long as the bulk keeps
    ``MIN_BULK`` of ``M``.

    Returns
    -------
    sigma : float
    p : int
        The number of components above the bulk.
    identified : bool
        False when no computed value lies inside the bulk: sigma is then not
        identifiable from the top ``k``, and the estimate (``p = k``, the residual's
        mean) holds only if the signal has at most ``k`` components.
    """
    s = np.asarray(s, dtype=np.float64)
    M, N, k = shape.M, shape.N, s.size
    scale = s[0] if k and s[0] > 0 else 1.0
    lam = (s / scale) ** 2
    rest = max(float(tail_ratio), 0.0) * np.sum(lam)
    if rest == 0 or k >= M:
        return float(scale * np.sqrt(rest / (N * max(M - k, 1)))), k, True
    for p in range(min(k, int(np.floor((1 - MIN_BULK) * M)) + 1)):
        m = M - p
        gamma = m / N
        sigma2 = rest / (m * mp_lower_moment(gamma, (M - k) / m))
        if lam[p] <= sigma2 * (1 + np.sqrt(gamma)) ** 2:
            return float(scale * np.sqrt(sigma2 / N)), p, True
    return float(scale * np.sqrt(rest / (N * (M - k)))), k, False


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
