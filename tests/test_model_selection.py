"""Automatic rank, shrinkage and the probabilistic PCA score, through the estimators."""

import warnings

import numpy as np
import pytest
import scipy.linalg
from numpy.testing import assert_allclose
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV, KFold

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
    with pytest.raises(
        ValueError,
        match=r"degenerate: its smallest variance \(0; n_components_=20 of 30 features, "
        r"noise_variance_=0\)",
    ):
        reducer.score(X)
    # In a grid search the failing candidate is reported, not silently scored.
    grid = GridSearchCV(SVDReducer(), {"n_components": [5, None]}, cv=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        grid.fit(X)
    assert any("degenerate" in str(w.message) for w in caught)
    assert grid.best_params_ == {"n_components": 5}


@pytest.fixture(scope="module")
def rank_four():
    """Exactly rank 4 (once centred) in 12 features, no noise: its trailing singular
    values are rounding (~1e-15 s_1)."""
    rng = np.random.default_rng(2)
    return rng.standard_normal((300, 4)) * [4, 3, 2, 1] @ rng.standard_normal((4, 12)) + 5


@pytest.mark.parametrize(
    ("solver", "n_components"),
    [
        ("full", None),
        ("auto", None),
        ("full", 4),
        ("full", 8),
        ("covariance_eigh", 4),
        ("arpack", 4),
        ("randomized", 4),
    ],
)
def test_rank_deficient_model_is_degenerate(rank_four, solver, n_components):
    X = rank_four
    reducer = SVDReducer(n_components, solver=solver, random_state=0).fit(X)
    # PCA returns ~1e16 or -inf here: its test of the noise variance is absolute.
    rank = r", 4 \(" if reducer.solver_ == "full" else r" \("
    message = "degenerate: .* rounding .* numerical rank of the training data" + rank
    for method in (reducer.score, reducer.score_samples):
        with pytest.raises(ValueError, match=message):
            method(X)
    with pytest.raises(ValueError, match=message):
        reducer.get_precision()
    # The reference: LAPACK finds 4 singular values above max(n, d) eps s_1.
    s = scipy.linalg.svd(X - X.mean(axis=0), compute_uv=False)
    assert np.sum(s > 300 * np.finfo(np.float64).eps * s[0]) == 4


@pytest.mark.parametrize("solver", ["full", "covariance_eigh", "arpack", "randomized"])
def test_below_the_numerical_rank_is_pca(rank_four, solver):
    # k = 3 < rank: the discarded variance is real, the model is PCA's.
    ours = SVDReducer(3, solver=solver, random_state=0).fit(rank_four)
    pca = PCA(3, svd_solver="full").fit(rank_four)
    # s_1 / s_4 ~ 5: the model parameters agree to ~1e-14, the likelihoods (~20) to
    # ~1e-13.
    assert_allclose(ours.score_samples(rank_four), pca.score_samples(rank_four), rtol=1e-10)


def test_grid_search_skips_degenerate_ranks(rank_four):
    grid = GridSearchCV(SVDReducer(), {"n_components": [2, 3, 4, None]}, cv=3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        grid.fit(rank_four)
    assert any("degenerate" in str(w.message) for w in caught)
    # PCA's grid picks 4 with a held-out likelihood ~1e2 made of rounding.
    assert grid.best_params_ == {"n_components": 3}
    scores = grid.cv_results_["mean_test_score"]
    assert np.isnan(scores[2:]).all()
    # the reference: PCA(3) on the same folds (cv=3 is an unshuffled KFold)
    expected = [
        PCA(3, svd_solver="full").fit(rank_four[train]).score(rank_four[test])
        for train, test in KFold(3).split(rank_four)
    ]
    assert_allclose(grid.best_score_, np.mean(expected), rtol=1e-10)


@pytest.fixture(scope="module")
def well_conditioned():
    """Tall data with distinct variances (s_1 / s_6 = 5) and an offset."""
    rng = np.random.default_rng(1)
    rotation = np.linalg.qr(rng.standard_normal((6, 6)))[0]
    return rng.standard_normal((200, 6)) * [5, 4, 3, 2, 1.5, 1] @ rotation + 3


@pytest.mark.parametrize("c", [1e-150, 1e-100, 1e-30, 1.0, 1e30, 1e100, 1e150, -1e75])
@pytest.mark.parametrize(
    ("solver", "k"),
    [("full", None), ("full", 3), ("covariance_eigh", 3), ("arpack", 3), ("randomized", 3)],
)
def test_likelihood_shifts_by_the_log_of_the_scale(well_conditioned, c, solver, k):
    X = well_conditioned
    d = X.shape[1]
    pca = PCA(k, svd_solver="full").fit(X)  # the reference, at unit scale
    ours = SVDReducer(k, solver=solver, random_state=0).fit(X * c)
    # The shift d log|c| (up to ~2e3) carries ~eps relative, the model fitted to the
    # rounded X * c agrees with PCA's to ~1e-14, the likelihoods are ~20: measured
    # errors are below 1e-12.
    expected = pca.score_samples(X) - d * np.log(abs(c))
    assert_allclose(ours.score_samples(X * c), expected, rtol=0, atol=1e-10)
    assert_allclose(ours.score(X * c), expected.mean(), rtol=0, atol=1e-10)
    # The precision scales by 1 / c^2 (1e-300 to 1e300: no over- or underflow).
    P = pca.get_precision()
    assert_allclose(ours.get_precision() * c * c, P, atol=1e-12 * np.abs(P).max())


def test_tiny_data_is_not_degenerate(well_conditioned):
    # The absolute 1e-300 floor used to call data scaled by 1e-160 degenerate. Its
    # variances (~1e-318) are subnormal floats with ~5 digits, hence the tolerance.
    c = 1e-160
    X = well_conditioned
    ours = SVDReducer(3).fit(X * c)
    expected = PCA(3, svd_solver="full").fit(X).score_samples(X) - 6 * np.log(c)
    assert_allclose(ours.score_samples(X * c), expected, rtol=0, atol=1e-2)


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
