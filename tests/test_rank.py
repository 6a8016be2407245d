"""Rank rules and noise estimates against published values and random-matrix theory."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.decomposition import PCA

from sklearn_svd import SVDDenoiser
from sklearn_svd._rank import (
    MIN_BULK,
    Shape,
    marchenko_pastur_median,
    median_threshold_coefficient,
    mp_lower_moment,
    noise_median,
    noise_mp,
    noise_mp_partial,
    optimal_hard_threshold,
    rank_hard_threshold,
    rank_minka,
)
from sklearn_svd._shrink import shrink

BETAS = [0.1, 0.25, 0.5, 0.75, 1.0]
# Gavish & Donoho (2014): lambda*(beta) from eq. (11); omega(beta) with the exact MP
# median (their Table IV lists these to 4 digits; these are computed to 1e-8).
LAMBDA_STAR = [1.58164840, 1.75802938, 1.97859905, 2.15609384, 2.30940108]
OMEGA = [1.60877156, 1.83686579, 2.17118535, 2.50142974, 2.85836242]


def test_optimal_hard_threshold_values():
    assert_allclose(optimal_hard_threshold(1.0), 4 / np.sqrt(3), rtol=1e-15)
    assert_allclose(optimal_hard_threshold(BETAS), LAMBDA_STAR, atol=1e-8)


def test_median_threshold_values():
    assert_allclose([median_threshold_coefficient(b) for b in BETAS], OMEGA, atol=1e-6)


def test_marchenko_pastur_median_is_the_median():
    # Monte Carlo check of the quadrature: the median eigenvalue of Y^T Y / N.
    rng = np.random.default_rng(0)
    N, M = 4000, 1000
    Y = rng.standard_normal((N, M))
    lam = np.linalg.eigvalsh(Y.T @ Y / N)
    assert_allclose(marchenko_pastur_median(M / N), np.median(lam), rtol=5e-3)


def noise_spectrum(rng, n, d):
    X = rng.standard_normal((n, d))
    return np.linalg.svd(X - X.mean(0), compute_uv=False)


@pytest.mark.parametrize("shape", [(200, 100), (100, 200), (500, 50), (150, 150)])
def test_noise_estimates_on_pure_noise(shape):
    rng = np.random.default_rng(1)
    sigmas_mp, sigmas_median, signal_counts = [], [], []
    for _ in range(20):
        s = noise_spectrum(rng, *shape)
        sigma, p = noise_mp(s, Shape(*shape, True))
        sigmas_mp.append(sigma)
        signal_counts.append(p)
        sigmas_median.append(noise_median(s, Shape(*shape, True)))
    assert_allclose(np.mean(sigmas_mp), 1.0, rtol=0.02)
    assert_allclose(np.mean(sigmas_median), 1.0, rtol=0.02)
    # No signal in noise; the top noise eigenvalue's Tracy-Widom excursion past the edge
    # can make the MP test exclude it (then sigma drops by about 1%).
    assert max(signal_counts) <= 1


def test_centring_removes_one_degree_of_freedom():
    # Wide centred noise has a zero singular value; the rules must not count it.
    rng = np.random.default_rng(2)
    s = noise_spectrum(rng, 60, 300)
    assert s[-1] < 1e-10 * s[0]
    shape = Shape(60, 300, True)
    assert shape.M == 59
    assert_allclose(noise_mp(s, shape)[0], 1.0, rtol=0.05)
    assert_allclose(noise_median(s, shape), 1.0, rtol=0.05)
    assert rank_hard_threshold(s, shape)[0] == 0


def test_mp_noise_estimate_on_noisy_digits():
    from sklearn.datasets import load_digits

    clean = load_digits().data
    X = clean + 4.0 * np.random.default_rng(0).standard_normal(clean.shape)
    s = np.linalg.svd(X - X.mean(0), compute_uv=False)
    shape = Shape(*X.shape, True)
    # The median rule is biased upward by the many signal components (4.58 for 4.0).
    assert noise_median(s, shape) > 4.4
    assert_allclose(noise_mp(s, shape)[0], 4.0, rtol=0.04)


def test_minka_matches_pca_mle():
    rng = np.random.default_rng(3)
    for rank, n, d in [(3, 400, 20), (10, 1000, 50), (1, 300, 10)]:
        X = rng.standard_normal((n, rank)) @ rng.standard_normal((rank, d)) * 2
        X += rng.standard_normal((n, d))
        pca = PCA(n_components="mle", svd_solver="full").fit(X)
        spectrum = PCA(svd_solver="full").fit(X).explained_variance_
        assert rank_minka(spectrum, n) == pca.n_components_ == rank


def test_hard_threshold_rank_of_a_spiked_model():
    rng = np.random.default_rng(4)
    n, d, sigma = 400, 200, 0.5
    shape = Shape(n, d, True)
    edge = sigma * np.sqrt(shape.N) * (1 + np.sqrt(shape.beta))
    # Three spikes well above the threshold (3x the bulk edge), one well below.
    U = np.linalg.qr(rng.standard_normal((n, 4)))[0]
    V = np.linalg.qr(rng.standard_normal((d, 4)))[0]
    signal = (U * [3 * edge, 3.5 * edge, 4 * edge, 0.3 * edge]) @ V.T
    X = signal + sigma * rng.standard_normal((n, d))
    s = np.linalg.svd(X - X.mean(0), compute_uv=False)
    assert rank_hard_threshold(s, shape, sigma=sigma)[0] == 3
    assert rank_hard_threshold(s, shape)[0] == 3


@pytest.mark.parametrize("gamma", [0.05, 0.3, 1.0])
def test_mp_lower_moment_against_wishart(gamma):
    # The share of the first moment held by the lowest q of the eigenvalues of
    # Y^T Y / N (Y standard Gaussian N x M, M = gamma N): 0 and 1 at the ends, and the
    # Monte Carlo value within 1% (finite-size error at M = 800 is ~1/M).
    assert mp_lower_moment(gamma, 0.0) == 0.0
    assert_allclose(mp_lower_moment(gamma, 1.0), 1.0, rtol=1e-12)
    rng = np.random.default_rng(4)
    M = 800
    N = round(M / gamma)
    lam = np.linalg.eigvalsh(np.cov(rng.standard_normal((N, M)), rowvar=False, bias=True))
    for q in (0.25, 0.5, 0.75):
        j = round(q * M)
        assert_allclose(np.sum(lam[:j]) / np.sum(lam), mp_lower_moment(gamma, q), rtol=1e-2)


@pytest.mark.parametrize("scale", [1e-200, 1e-30, 1e30, 1e200])
def test_noise_estimates_are_scale_equivariant(scale):
    # Squares of 1e200 overflow; the rules work in units of s_1.
    rng = np.random.default_rng(5)
    s = noise_spectrum(rng, 200, 80)
    shape = Shape(200, 80, True)
    sigma = noise_mp(s, shape)[0]
    assert_allclose(noise_mp(s * scale, shape)[0], scale * sigma, rtol=1e-13)
    tail_ratio = np.sum(s[8:] ** 2) / np.sum(s[:8] ** 2)
    sigma = noise_mp_partial(s[:8], tail_ratio, shape)[0]
    assert_allclose(noise_mp_partial(s[:8] * scale, tail_ratio, shape)[0], scale * sigma)


def test_noise_mp_of_noiseless_low_rank_data_is_zero():
    # Exact rank 3, no noise: the zeros are the bulk, sigma is 0 and nothing is shrunk
    # (leaving the zeros out would fit a bulk to the signal values themselves).
    rng = np.random.default_rng(6)
    X = rng.standard_normal((100, 3)) @ rng.standard_normal((3, 20))
    s = np.linalg.svd(X - X.mean(0), compute_uv=False)
    assert noise_mp(s, Shape(100, 20, True))[0] <= 1e-13 * s[0]
    for shrinkage in ("frobenius", "hard", "optshrink"):
        denoiser = SVDDenoiser(shrinkage=shrinkage).fit(X)
        assert denoiser.n_components_ == 3
        assert_allclose(denoiser.transform(X), X, atol=1e-12 * np.abs(X).max())


def test_mp_noise_estimate_does_not_collapse_on_a_photograph():
    # MP-PCA on a natural image at low noise passes no range test for a large bulk and
    # used to descend to the last ~16 eigenvalues (sigma 0.36 of the truth); the
    # guarded rule keeps a bulk of at least MIN_BULK of the spectrum.
    from sklearn.datasets import load_sample_image

    clean = load_sample_image("china.jpg").astype(float).mean(axis=2)
    X = clean + 10.0 * np.random.default_rng(0).standard_normal(clean.shape)
    s = np.linalg.svd(X - X.mean(0), compute_uv=False)
    shape = Shape(*X.shape, True)
    sigma, p = noise_mp(s, shape)
    assert sigma > 0.35 * 10.0
    assert shape.M - p >= np.ceil(MIN_BULK * shape.M)
    # as good a denoiser as the true sigma (0.93 of its error: the image's weak
    # components inside the bulk make a lower sigma better)
    U, s, Vt = np.linalg.svd(X - X.mean(0), full_matrices=False)

    def error(sigma):
        denoised = (U * shrink(s, sigma, shape, "frobenius")) @ Vt + X.mean(0)
        return np.linalg.norm(denoised - clean)

    assert error(sigma) <= 1.01 * error(10.0)


@pytest.mark.parametrize(("n", "d"), [(1001, 300), (301, 600)])
def test_partial_noise_estimate_matches_the_full_one(n, d):
    # Spiked model, 5 spikes above the edge: from the top k (k = M/10, M/4) and the
    # energy of the rest, the estimate is within 1% of the true sigma and identified;
    # with k below the signal rank it says it is not identified.
    rng = np.random.default_rng(8)
    N, M = max(n - 1, d), min(n - 1, d)
    U = np.linalg.qr(rng.standard_normal((n, 5)))[0]
    V = np.linalg.qr(rng.standard_normal((d, 5)))[0]
    X = (U * np.sqrt(N) * np.linspace(2, 4, 5)) @ V.T + rng.standard_normal((n, d))
    s = np.linalg.svd(X - X.mean(0), compute_uv=False)
    shape = Shape(n, d, True)
    for k in (M // 10, M // 4):
        tail_ratio = np.sum(s[k:] ** 2) / np.sum(s[:k] ** 2)
        sigma, p, identified = noise_mp_partial(s[:k], tail_ratio, shape)
        assert identified and p == 5
        assert_allclose(sigma, 1.0, rtol=1e-2)
    tail_ratio = np.sum(s[3:] ** 2) / np.sum(s[:3] ** 2)
    sigma, p, identified = noise_mp_partial(s[:3], tail_ratio, shape)
    assert not identified and p == 3
    assert sigma > 1.0  # biased upward by the two spikes left in the residual
