"""Rank rules and noise estimates against published values and random-matrix theory."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.decomposition import PCA

from sklearn_svd._rank import (
    Shape,
    marchenko_pastur_median,
    median_threshold_coefficient,
    noise_median,
    noise_mp,
    optimal_hard_threshold,
    rank_hard_threshold,
    rank_minka,
)

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
