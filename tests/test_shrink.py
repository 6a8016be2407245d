"""Optimal shrinkers: closed forms and their behaviour on pure noise."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from sklearn_svd._rank import Shape, noise_median, noise_mp, rank_hard_threshold
from sklearn_svd._shrink import shrink, shrink_units


def test_closed_form_values():
    # Gavish & Donoho (2017) at beta = 1, y = 3: x(y) = (3 + sqrt 5) / 2.
    assert_allclose(shrink_units(3.0, 1.0, "operator"), 2.618034, atol=1e-6)
    assert_allclose(shrink_units(3.0, 1.0, "frobenius"), np.sqrt(5), rtol=1e-14)
    assert_allclose(shrink_units(3.0, 1.0, "nuclear"), 1.854102, atol=1e-6)


@pytest.mark.parametrize("loss", ["frobenius", "operator", "nuclear"])
@pytest.mark.parametrize("beta", [0.1, 0.5, 1.0])
def test_zero_at_and_below_the_bulk_edge(loss, beta):
    edge = 1 + np.sqrt(beta)
    y = np.linspace(0, edge, 50)
    assert_allclose(shrink_units(y, beta, loss), 0.0)
    above = shrink_units(np.linspace(edge + 1e-6, 10, 50), beta, loss)
    assert np.all(np.diff(above) > 0)  # monotone above the edge
    assert np.all(above < np.linspace(edge + 1e-6, 10, 50))  # always shrinks


def test_operator_jumps_to_beta_quarter_at_the_edge():
    for beta in (0.1, 0.5, 1.0):
        y = 1 + np.sqrt(beta) + 1e-12
        assert_allclose(shrink_units(y, beta, "operator"), beta**0.25, rtol=1e-4)


def test_large_signals_are_recovered():
    # y(x) = sqrt((1 + x^2)(beta + x^2)) / x for a spike of strength x.
    beta, x = 0.5, 20.0
    y = np.sqrt((1 + x**2) * (beta + x**2)) / x
    assert_allclose(shrink_units(y, beta, "operator"), x, rtol=1e-12)
    assert_allclose(shrink_units(y, beta, "frobenius"), x, rtol=2e-3)


# Finite-size (Tracy-Widom) excursions of the top noise value past the bulk edge shrink
# like N^(-2/3): from 200 rows or columns on, a Frobenius-shrunk excursion stays far
# below 5% of the noise (worst of 200 trials measured: 2-3%; 4.8% at 100 x 200).
SHAPES = [(400, 200), (200, 400), (300, 300), (1000, 100)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_pure_noise(shape):
    """200 seeded trials per shape: what each rule keeps of pure Gaussian noise.

    The top noise value crosses the bulk edge in about 15% of trials; there the
    Frobenius and nuclear shrinkers stay near 0, while the operator shrinker jumps to
    beta^(1/4) sigma sqrt(N) (up to ~10% of the noise norm; not asserted).
    """
    n, d = shape
    geometry = Shape(n, d, True)
    rng = np.random.default_rng(sum(shape))
    rank_zero = 0
    worst = {"frobenius": 0.0, "nuclear": 0.0}
    for _ in range(200):
        X = rng.standard_normal((n, d))
        s = np.linalg.svd(X - X.mean(0), compute_uv=False)
        noise_norm = np.sqrt(np.sum(s**2))
        sigma_mp = noise_mp(s, geometry)[0]
        ranks = [
            rank_hard_threshold(s, geometry, sigma=1.0)[0],
            rank_hard_threshold(s, geometry, sigma=sigma_mp)[0],
            rank_hard_threshold(s, geometry)[0],  # median rule
        ]
        rank_zero += all(r == 0 for r in ranks)
        for sigma in (1.0, sigma_mp, noise_median(s, geometry)):
            for loss in worst:
                kept = np.sqrt(np.sum(shrink(s, sigma, geometry, loss) ** 2))
                worst[loss] = max(worst[loss], kept / noise_norm)
    assert rank_zero >= 198  # >= 99% of trials
    assert worst["frobenius"] < 0.05
    assert worst["nuclear"] < 0.05
