"""Automatic rank, shrinkage and the probabilistic PCA score, through the estimators."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV

from sklearn_svd import SVDDenoiser, SVDReducer

SOLVERS = ["full", "covariance_eigh", "auto"]


@pytest.fixture(scope="module")
def low_rank():
    """scikit-learn's model-selection setting: rank 10 in 50 features, white noise."""
    rng = np.random.default_rng(42)
    n, d, rank = 1000, 50, 10
    U, _, _ = np.linalg.svd(rng.standard_normal((d, d)))
    X = rng.standard_normal((n, rank)) @ U[:, :rank].T
    return X + 0.5 * rng.standard_normal((n, d))


@pytest.fixture(scope="module")
def digits():
    clean = load_digits().data
    noisy = clean + 4.0 * np.random.default_rng(0).standard_normal(clean.shape)
    return clean, noisy


def test_grid_search_default_scoring_finds_the_rank(low_rank):
    grid = GridSearchCV(SVDReducer(), {"n_components": list(range(5, 16))}, cv=3)
    grid.fit(low_rank)
    assert grid.best_params_["n_components"] == 10


@pytest.mark.parametrize("solver", SOLVERS)
def test_mle_rank(low_rank, solver):
    reducer = SVDReducer("mle", solver=solver).fit(low_rank)
    assert reducer.n_components_ == 10
    assert PCA("mle", svd_solver="full").fit(low_rank).n_components_ == 10


def test_mle_needs_tall_data():
    X = np.random.default_rng(0).standard_normal((20, 30))
    with pytest.raises(ValueError, match="n_samples >= n_features"):
        SVDReducer("mle").fit(X)


@pytest.mark.parametrize("solver", SOLVERS)
def test_gavish_donoho_rank(low_rank, solver):
    assert SVDReducer("gavish-donoho", solver=solver).fit(low_rank).n_components_ == 10


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("k", [1, 5, 10, 30])
def test_probabilistic_pca_matches_pca(low_rank, solver, k):
    ours = SVDReducer(k, solver=solver).fit(low_rank)
    pca = PCA(k, svd_solver="full").fit(low_rank)
    assert_allclose(ours.get_covariance(), pca.get_covariance(), rtol=1e-9, atol=1e-12)
    assert_allclose(ours.get_precision(), pca.get_precision(), rtol=1e-8, atol=1e-10)
    assert_allclose(ours.score_samples(low_rank), pca.score_samples(low_rank), rtol=1e-10)
    assert_allclose(ours.score(low_rank), pca.score(low_rank), rtol=1e-10)
    denoiser = SVDDenoiser(k, shrinkage="hard", solver=solver).fit(low_rank)
    assert_allclose(denoiser.score(low_rank), pca.score(low_rank), rtol=1e-10)


def test_full_rank_model_is_the_gaussian_likelihood(low_rank):
    # k = d on tall data: the sample covariance, full rank, finite likelihood.
    ours = SVDReducer().fit(low_rank)
    pca = PCA(svd_solver="full").fit(low_rank)
    assert ours.noise_variance_ == 0
    assert_allclose(ours.score(low_rank), pca.score(low_rank), rtol=1e-10)


def test_degenerate_model_raises():
    X = np.random.default_rng(0).standard_normal((20, 30))  # wide: rank <= 19 < 30
    reducer = SVDReducer().fit(X)
    with pytest.raises(ValueError, match="degenerate: noise_variance_ is 0"):
        reducer.score(X)
    # In a grid search the failing candidate is reported, not silently scored.
    grid = GridSearchCV(SVDReducer(), {"n_components": [5, None]}, cv=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        grid.fit(X)
    assert any("degenerate" in str(w.message) for w in caught)
    assert grid.best_params_ == {"n_components": 5}


def relative_error(estimate, clean):
    return np.linalg.norm(estimate - clean) / np.linalg.norm(clean)


# Figures measured on this data (sigma = 4, seed 0); the oracle best truncation rank gives
# 0.344. Bounds leave ~0.01 for BLAS differences.
DIGITS_ERRORS = {
    ("frobenius", None): 0.30,
    ("frobenius", 4.0): 0.30,
    ("nuclear", None): 0.32,
    ("operator", None): 0.31,
    ("hard", None): 0.36,
    ("hard", "median"): 0.37,
}


@pytest.mark.parametrize(("shrinkage", "noise_level"), list(DIGITS_ERRORS))
def test_digits_denoising(digits, shrinkage, noise_level):
    clean, noisy = digits
    denoiser = SVDDenoiser(shrinkage=shrinkage, noise_level=noise_level)
    error = relative_error(denoiser.fit_transform(noisy), clean)
    assert error <= DIGITS_ERRORS[(shrinkage, noise_level)]
    if noise_level is None:
        assert_allclose(denoiser.noise_level_, 4.0, rtol=0.04)  # MP-PCA estimate


def test_default_denoiser_on_digits(digits):
    clean, noisy = digits
    denoiser = SVDDenoiser()
    assert relative_error(denoiser.fit_transform(noisy), clean) <= 0.30
    assert denoiser.shrinkage == "frobenius" and denoiser.n_components == "auto"
    assert 0 < denoiser.n_components_ < 64
    s = denoiser.singular_values_
    assert np.all(denoiser.shrunk_singular_values_ < s)
    assert np.all(s > denoiser.bulk_edge_) and denoiser.threshold_ == denoiser.bulk_edge_
    assert denoiser.spectrum_.shape == (64,)


@pytest.mark.parametrize("shrinkage", ["frobenius", "operator", "nuclear", "hard"])
def test_new_rows_use_the_shrunk_map(digits, shrinkage):
    _, noisy = digits
    denoiser = SVDDenoiser(shrinkage=shrinkage).fit(noisy[:1500])
    V = denoiser.components_
    weights = denoiser.shrunk_singular_values_ / denoiser.singular_values_
    new = noisy[1500:]
    expected = ((new - denoiser.mean_) @ V.T * weights) @ V + denoiser.mean_
    assert_allclose(denoiser.transform(new), expected, rtol=1e-10, atol=1e-10)
    # on the training rows transform equals fit_transform (U eta(S) V^T + mean)
    train = noisy[:1500]
    assert_allclose(denoiser.transform(train), denoiser.fit_transform(train), atol=1e-9)


@pytest.mark.parametrize("shape", [(300, 100), (100, 300)])
def test_pure_noise_through_the_estimator(shape):
    rng = np.random.default_rng(5)
    zero_rank = 0
    for _ in range(20):
        X = rng.standard_normal(shape)
        zero_rank += SVDDenoiser(shrinkage="hard").fit(X).n_components_ == 0
        out = SVDDenoiser().fit_transform(X)
        noise = X - X.mean(0)
        assert np.linalg.norm(out - X.mean(0)) < 0.05 * np.linalg.norm(noise)
    assert zero_rank >= 19


def test_known_noise_level(low_rank):
    denoiser = SVDDenoiser(noise_level=0.5, shrinkage="hard").fit(low_rank)
    assert denoiser.noise_level_ == 0.5
    assert denoiser.n_components_ == 10
    with pytest.raises(ValueError, match="noise_level"):
        SVDDenoiser(noise_level=-1.0).fit(low_rank)
