"""sample_weight: frequency weights on every solver, dense and sparse, fit and partial_fit.

References come from outside the code under test: the fit on the rows repeated
(``np.repeat``), and LAPACK ``gesdd`` of the explicitly centred, row-scaled float64
data ``diag(sqrt(w)) (X - 1 mu_w^T)``.
"""

import threading

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp
import sklearn
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.model_selection import GridSearchCV

from sklearn_svd import SVDDenoiser, SVDReducer

EXACT = ["covariance_eigh", "full"]
ITERATIVE = ["randomized", "arpack"]

#: float64: both fits are backward stable on well-separated spectra, so they agree to
#: a few hundred eps (the repeated rows are summed in another order).
RTOL = 1e-12


@pytest.fixture
def rng():
    return np.random.default_rng(20240613)


def _data(rng, n, d, offset=0.0, decay=10.0):
    """Rows with a well-separated spectrum (column scales from ``decay`` down to 1)."""
    return offset + rng.standard_normal((n, d)) * np.geomspace(decay, 1.0, d)


def _weights(rng, n, high=4):
    w = rng.integers(0, high, n).astype(np.float64)
    w[:2] = [1, 2]  # never all zero, and the total above 1
    return w


def _lapack(X, w, center=True):
    """Mean, singular values and right singular vectors of ``D (X - 1 mu_w^T)`` by
    LAPACK gesdd, everything explicit and in float64 (two-pass weighted mean)."""
    X = np.asarray(X.toarray() if sp.issparse(X) else X, dtype=np.float64)
    W = w.sum()
    mean = np.zeros(X.shape[1])
    if center:
        mean = w @ X / W
        mean += w @ (X - mean) / W
    Y = np.sqrt(w)[:, None] * (X - mean)
    _, s, Vt = scipy.linalg.svd(Y, full_matrices=False, lapack_driver="gesdd")
    return mean, s, Vt


def _aligned(A, B):
    """``A`` with each row's sign matched to ``B``'s (for a reference that has no sign
    convention)."""
    return A * np.where(np.sum(A * B, axis=1) < 0, -1.0, 1.0)[:, None]


def _repeated(X, w):
    rows = np.repeat(np.arange(X.shape[0]), w.astype(int))
    return X[rows]


def _assert_same_model(a, b, rtol=RTOL, scale=1.0):
    """Every fitted attribute of ``a`` (weighted) equals ``b``'s (repeated rows)."""
    assert a.n_components_ == b.n_components_
    assert a.n_samples_ == b.n_samples_
    s1 = float(b.singular_values_[0]) if b.singular_values_.size else 1.0
    assert_allclose(a.singular_values_, b.singular_values_, rtol=rtol, atol=rtol * s1)
    assert_allclose(a.components_, b.components_, atol=rtol * 100)
    assert_allclose(a.mean_, b.mean_, rtol=rtol, atol=rtol * scale)
    ev1 = float(b.explained_variance_[0]) if b.explained_variance_.size else 1.0
    assert_allclose(
        a.explained_variance_, b.explained_variance_, rtol=rtol, atol=rtol * ev1
    )
    assert_allclose(
        a.explained_variance_ratio_, b.explained_variance_ratio_, rtol=rtol, atol=rtol
    )
    assert_allclose(a.total_variance_, b.total_variance_, rtol=rtol)
    assert_allclose(a.noise_variance_, b.noise_variance_, rtol=1e3 * rtol, atol=rtol * ev1)
    if b.spectrum_ is not None:
        assert a.spectrum_.shape == b.spectrum_.shape
        # the Gram solvers resolve the values near 0 to their floor sqrt(c eps) s_1
        # only (4.8e-7 s_1, engine.gram_floor): zeros of the repeated rows may come
        # out that large, the weighted fit's padded zeros are exact
        floor = 5e-7 if "covariance_eigh" in (a.solver_, b.solver_) else 10 * rtol
        assert_allclose(a.spectrum_, b.spectrum_, rtol=rtol, atol=floor * s1)


# -- integer weights equal repetition -------------------------------------------------


@pytest.mark.parametrize("solver", [*EXACT, "auto"])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("shape", [(300, 12), (20, 40)], ids=["tall", "wide"])
def test_integer_weights_equal_repetition(rng, solver, sparse, shape):
    if sparse and solver == "full":
        pytest.skip("full takes dense input")
    n, d = shape
    X = _data(rng, n, d)
    if sparse:
        X[rng.random(X.shape) < 0.5] = 0.0
    w = _weights(rng, n)
    Xr = _repeated(X, w)
    if sparse:
        X, Xr = sp.csr_matrix(X), sp.csr_matrix(Xr)
    k = 5  # below the rank of the distinct rows: every kept value is well resolved
    a = SVDReducer(k, solver=solver).fit(X, sample_weight=w)
    b = SVDReducer(k, solver=solver).fit(Xr)
    assert a.solver_ == b.solver_ or solver == "auto"
    _assert_same_model(a, b)
    assert_allclose(a.transform(X), b.transform(X), rtol=RTOL, atol=RTOL * 100)
    assert_allclose(a.score_samples(X), b.score_samples(X), rtol=RTOL)
    # and LAPACK on the explicitly weighted data
    mean, s, Vt = _lapack(X, w)
    assert_allclose(a.singular_values_, s[:k], rtol=RTOL)
    assert_allclose(a.components_, _aligned(Vt[:k], a.components_), atol=1e-11)
    assert_allclose(a.mean_, mean, atol=1e-13)
    assert_allclose(a.explained_variance_, s[:k] ** 2 / (w.sum() - 1), rtol=RTOL)


@pytest.mark.parametrize("solver", EXACT)
@pytest.mark.parametrize("shape", [(300, 12), (20, 40)], ids=["tall", "wide"])
def test_every_component_and_spectrum_equal_repetition(rng, solver, shape):
    # n_components=None: as many components as the repeated rows have (min(W, d)),
    # the zeros beyond the rank included, in the repeated fit's basis
    n, d = shape
    X = _data(rng, n, d)
    w = _weights(rng, n)
    w[2:5] = 0
    a = SVDDenoiser(n_components=None, shrinkage="hard", solver="full").fit(
        X, sample_weight=w
    )
    b = SVDDenoiser(n_components=None, shrinkage="hard", solver="full").fit(_repeated(X, w))
    assert a.spectrum_.shape == (min(int(w.sum()), d),)
    _assert_same_model(a, b)
    assert_allclose(a.transform(X), b.transform(X), atol=1e-11)


@pytest.mark.parametrize("solver", ITERATIVE)
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("shape", [(300, 12), (20, 40)], ids=["tall", "wide"])
def test_iterative_solvers_weights_equal_repetition(rng, solver, sparse, shape):
    n, d = shape
    X = _data(rng, n, d)
    if sparse:
        X[rng.random(X.shape) < 0.5] = 0.0
    w = _weights(rng, n)
    Xr = _repeated(X, w)
    if sparse:
        X, Xr = sp.csr_matrix(X), sp.csr_matrix(Xr)
    k = 4
    options = dict(solver=solver, random_state=0, n_iter=100, tol=1e-14)
    a = SVDReducer(k, **options).fit(X, sample_weight=w)
    b = SVDReducer(k, **options).fit(Xr)
    # converged to working precision on a separated spectrum (tol 1e-14 and ARPACK's
    # tol=0): the Ritz values' errors are quadratic in the residuals
    _assert_same_model(a, b, rtol=1e-10)
    _, s, Vt = _lapack(X, w)
    assert_allclose(a.singular_values_, s[:k], rtol=1e-10)
    assert_allclose(a.components_, _aligned(Vt[:k], a.components_), atol=1e-8)


@pytest.mark.parametrize("estimator", [SVDReducer(4), SVDDenoiser()], ids=repr)
@pytest.mark.parametrize("sparse", [False, True])
def test_partial_fit_weighted_batches_equal_repetition(rng, estimator, sparse):
    n, d = 400, 15
    X = _data(rng, n, d, offset=3.0)
    if sparse:
        X[rng.random(X.shape) < 0.5] = 0.0
    w = _weights(rng, n)
    Xr = _repeated(X, w)
    if sparse:
        X, Xr = sp.csr_matrix(X), sp.csr_matrix(Xr)
    a = sklearn.clone(estimator)
    for start in range(0, n, 90):
        a.partial_fit(X[start : start + 90], sample_weight=w[start : start + 90])
    a.partial_fit(X[:3], sample_weight=np.zeros(3))  # weight 0: changes nothing
    b = sklearn.clone(estimator).set_params(solver="covariance_eigh").fit(Xr)
    _assert_same_model(a, b, scale=3.0)
    assert isinstance(a.n_samples_, float)


def test_partial_fit_mixes_weighted_and_plain_batches(rng):
    X = _data(rng, 200, 8)
    w = _weights(rng, 100)
    a = SVDReducer(3).partial_fit(X[:100]).partial_fit(X[100:], sample_weight=w)
    weights = np.concatenate([np.ones(100), w])
    b = SVDReducer(3, solver="full").fit(_repeated(X, weights))
    _assert_same_model(a, b, rtol=1e-11)


def test_partial_fit_first_batch_of_zero_weight(rng):
    X = _data(rng, 60, 5)
    a = SVDReducer(2).partial_fit(X[:10], sample_weight=np.zeros(10))
    with pytest.raises(Exception, match="not fitted"):
        a.transform(X)
    a.partial_fit(X[10:])
    b = SVDReducer(2, solver="full").fit(X[10:])
    _assert_same_model(a, b, rtol=1e-11)


# every component of rank-deficient rows: the Gram solver warns on both fits
@pytest.mark.filterwarnings("ignore::sklearn_svd.ConditioningWarning")
@given(
    n=st.integers(3, 25),
    d=st.integers(1, 8),
    seed=st.integers(0, 2**32 - 1),
    solver=st.sampled_from(EXACT),
    sparse=st.booleans(),
)
def test_property_random_integer_weights_equal_repetition(n, d, seed, solver, sparse):
    # random integer weights, zeros included, against np.repeat; every component and
    # the whole spectrum (zeros beyond the rank where the distinct rows are few)
    rng = np.random.default_rng(seed)
    X = _data(rng, n, d, decay=4.0)
    w = rng.integers(0, 4, n).astype(np.float64)
    w[0] = 2
    if sparse:
        X[rng.random(X.shape) < 0.3] = 0.0
    solver = "covariance_eigh" if sparse else solver
    Xr = _repeated(X, w)
    if sparse:
        X, Xr = sp.csr_matrix(X), sp.csr_matrix(Xr)
    a = SVDReducer(solver=solver).fit(X, sample_weight=w)
    b = SVDReducer(solver=solver).fit(Xr)
    assert a.n_components_ == b.n_components_ == min(int(w.sum()), d)
    assert a.n_samples_ == b.n_samples_
    # values: to a few hundred eps of s_1 (the Gram solver's zeros to sqrt(eps) s_1)
    s1 = max(float(b.singular_values_[0]), 1e-300)
    floor = 1e-12 if solver == "full" else 1e-6
    assert_allclose(a.singular_values_, b.singular_values_, rtol=1e-10, atol=floor * s1)
    assert_allclose(a.mean_, b.mean_, atol=1e-12 * np.abs(X).max())
    ev = b.explained_variance_
    assert_allclose(a.explained_variance_, ev, rtol=1e-10, atol=floor**2 * ev.max())


# -- uniform, zero and non-integer weights -------------------------------------------


@pytest.mark.parametrize("solver", [*EXACT, *ITERATIVE])
@pytest.mark.parametrize("sparse", [False, True])
def test_unit_weights_equal_no_weights(rng, solver, sparse):
    if sparse and solver == "full":
        pytest.skip("full takes dense input")
    X = _data(rng, 150, 10)
    X = sp.csr_matrix(X) if sparse else X
    options = dict(solver=solver, random_state=0, n_iter=100, tol=1e-14)
    a = SVDReducer(3, **options).fit(X, sample_weight=np.ones(150))
    b = SVDReducer(3, **options).fit(X)
    _assert_same_model(a, b, rtol=1e-11)
    assert a.n_samples_ == 150


@pytest.mark.parametrize("c", [3.0, 0.25, 2.0**-300, 2.0**300, 1e300])
def test_uniform_weights_scale_the_count_only(rng, c):
    # uniform c: the rows counted c times; same mean and components, singular values
    # times sqrt(c), variances divided by c n - 1 (n_samples_ = c n); any magnitude
    X = _data(rng, 120, 6)
    a = SVDReducer(3).fit(X, sample_weight=np.full(120, c)) if c * 120 > 1 else None
    b = SVDReducer(3).fit(X)
    if a is None:
        with pytest.raises(ValueError, match=r"sum to .* above 1"):
            SVDReducer(3).fit(X, sample_weight=np.full(120, c))
        return
    assert_allclose(a.components_, b.components_, atol=1e-12)
    assert_allclose(a.mean_, b.mean_, atol=1e-13)
    assert_allclose(a.singular_values_, b.singular_values_ * np.sqrt(c), rtol=1e-12)
    assert_allclose(a.explained_variance_ratio_, b.explained_variance_ratio_, rtol=1e-12)
    W = c * 120
    assert a.n_samples_ == pytest.approx(W, rel=1e-14)
    expected = b.explained_variance_ * 119 / (W - 1) * c
    assert_allclose(a.explained_variance_, expected, rtol=1e-12)
    assert_allclose(a.transform(X), b.transform(X), atol=1e-11)
    a.score_samples(X)  # the PPCA model is not degenerate at any weight


@pytest.mark.parametrize("solver", [*EXACT, *ITERATIVE])
def test_zero_weights_drop_rows(rng, solver):
    X = _data(rng, 120, 8)
    w = np.ones(120)
    w[::3] = 0
    options = dict(solver=solver, random_state=0, n_iter=100, tol=1e-14)
    a = SVDReducer(3, **options).fit(X, sample_weight=w)
    b = SVDReducer(3, **options).fit(X[w > 0])
    _assert_same_model(a, b, rtol=1e-11)
    # a zero-weight row may hold anything finite
    X[0] = 1e12
    c = SVDReducer(3, **options).fit(X, sample_weight=w)
    _assert_same_model(c, b, rtol=1e-11)


@pytest.mark.parametrize("solver", [*EXACT, *ITERATIVE])
@pytest.mark.parametrize("sparse", [False, True])
def test_non_integer_weights_match_lapack(rng, solver, sparse):
    # non-integer weights: the same formulas with W = sum(w) as the row count
    if sparse and solver == "full":
        pytest.skip("full takes dense input")
    X = _data(rng, 200, 10)
    if sparse:
        X[rng.random(X.shape) < 0.5] = 0.0
    w = rng.uniform(0, 3, 200)
    mean, s, Vt = _lapack(X, w)
    X = sp.csr_matrix(X) if sparse else X
    r = SVDReducer(4, solver=solver, random_state=0, n_iter=100, tol=1e-14)
    r.fit(X, sample_weight=w)
    W = w.sum()
    assert r.n_samples_ == pytest.approx(W, rel=1e-15)
    assert_allclose(r.singular_values_, s[:4], rtol=1e-10)
    assert_allclose(r.explained_variance_, s[:4] ** 2 / (W - 1), rtol=1e-10)
    assert_allclose(r.total_variance_, np.sum(s**2) / (W - 1), rtol=1e-10)
    assert_allclose(r.mean_, mean, atol=1e-13)
    assert_allclose(r.components_, _aligned(Vt[:4], r.components_), atol=1e-8)
    noise = np.sum(s[4:] ** 2) / (W - 1) / (10 - 4)
    assert_allclose(r.noise_variance_, noise, rtol=1e-9)


def test_non_integer_total_rounds_the_rows_up(rng):
    # the spectrum and the rank rules see ceil(W) rows
    X = _data(rng, 8, 20)
    w = np.full(8, 0.6)  # W = 4.8: five rows' worth, so five singular values
    r = SVDDenoiser(n_components=None, shrinkage="hard", solver="full")
    r.fit(X, sample_weight=w)
    assert r.spectrum_.shape == (5,)
    assert r.n_samples_ == pytest.approx(4.8)
    with pytest.raises(ValueError, match="between 0 and min"):
        SVDReducer(6).fit(X, sample_weight=w)


def test_uncentred_weights(rng):
    X = _data(rng, 100, 7, offset=2.0)
    w = _weights(rng, 100)
    for solver in [*EXACT, *ITERATIVE]:
        a = SVDReducer(3, center=False, solver=solver, random_state=0, tol=1e-14)
        a.fit(X, sample_weight=w)
        s = _lapack(X, w, center=False)[1]
        assert_allclose(a.singular_values_, s[:3], rtol=1e-10)
        assert_allclose(a.explained_variance_, s[:3] ** 2 / w.sum(), rtol=1e-10)
        assert_array_equal(a.mean_, 0)


# -- magnitudes ------------------------------------------------------------------------


@pytest.mark.parametrize("solver", [*EXACT, *ITERATIVE])
@pytest.mark.parametrize("sparse", [False, True])
def test_large_offset_with_weights(rng, solver, sparse):
    # columns of mean 1e8 and spread 1: the reference is LAPACK on the repeated rows
    # less 1e8 (exact: they lie within a factor 2 of it), centred in float64
    if sparse and solver == "full":
        pytest.skip("full takes dense input")
    n, d = 500, 8
    X = _data(rng, n, d, offset=1e8, decay=4.0)
    w = _weights(rng, n)
    _, s, Vt = _lapack(_repeated(X - 1e8, w), np.ones(int(w.sum())))
    Xf = sp.csr_matrix(X) if sparse else X
    r = SVDReducer(4, solver=solver, random_state=0, n_iter=100, tol=1e-14)
    r.fit(Xf, sample_weight=w)
    # float64 data at 1e8 holds each value to 7e-9 of a spread of 1
    assert_allclose(r.singular_values_, s[:4], rtol=1e-12)
    assert_allclose(r.components_, _aligned(Vt[:4], r.components_), atol=1e-11)
    expected_mean = 1e8 + np.average(X - 1e8, axis=0, weights=w)
    assert_allclose(r.mean_, expected_mean, rtol=0, atol=3e-8)


def test_float32_weights(rng):
    X = _data(rng, 300, 10, offset=5.0).astype(np.float32)
    w = _weights(rng, 300)
    Xr = _repeated(X, w)
    _, s, Vt = _lapack(X, w)
    for solver in [*EXACT, *ITERATIVE, "auto"]:
        a = SVDReducer(4, solver=solver, random_state=0).fit(X, sample_weight=w)
        b = SVDReducer(4, solver=solver, random_state=0).fit(Xr)
        assert a.components_.dtype == a.singular_values_.dtype == np.float32
        assert a.transform(X).dtype == np.float32
        # float32: a relative error of about u (s_1 / s_i) ~ 1e-6 on s, and the
        # components to u times the condition of their gaps
        assert_allclose(a.singular_values_, s[:4], rtol=5e-6)
        assert_allclose(a.singular_values_, b.singular_values_, rtol=5e-6)
        assert_allclose(a.components_, _aligned(Vt[:4], a.components_), atol=1e-4)


def test_tiny_and_huge_weights_do_not_overflow(rng):
    X = _data(rng, 100, 6)
    w = np.ones(100)
    w[:10] = 1e-300  # rows that count for nothing at double precision
    a = SVDReducer(3).fit(X, sample_weight=w)
    b = SVDReducer(3).fit(X[10:])
    assert_allclose(a.components_, b.components_, atol=1e-12)
    assert_allclose(a.explained_variance_, b.explained_variance_, rtol=1e-12)
    # all the weight on few rows, huge: the model is that of those rows (in the
    # partial-fit statistics too, which scale their own rows)
    w = np.full(100, 1e-300)
    w[:20] = 1e300
    for estimator in [SVDReducer(3), SVDReducer(3, solver="randomized", random_state=0)]:
        c = estimator.fit(X, sample_weight=w)
        ref = SVDReducer(3).fit(X[:20])
        assert_allclose(c.components_, ref.components_, atol=1e-10)
        assert_allclose(c.explained_variance_ratio_, ref.explained_variance_ratio_)
    p = (
        SVDReducer(3)
        .partial_fit(X[:50], sample_weight=w[:50])
        .partial_fit(X[50:], sample_weight=w[50:])
    )
    assert_allclose(p.components_, ref.components_, atol=1e-10)


def test_weights_summing_below_one_are_refused(rng):
    X = _data(rng, 10, 3)
    with pytest.raises(ValueError, match=r"sum to 0\.5.*above 1.*scaled to sum"):
        SVDReducer().fit(X, sample_weight=np.full(10, 0.05))
    with pytest.raises(ValueError, match="Every sample weight is zero"):
        SVDReducer().fit(X, sample_weight=np.zeros(10))


# -- rank rules and the denoiser -------------------------------------------------------


@pytest.mark.parametrize("n_components", ["mle", "gavish-donoho", 0.8, None])
def test_reducer_rank_rules_equal_repetition(rng, n_components):
    signal = rng.standard_normal((150, 4)) @ rng.standard_normal((4, 25))
    X = signal + 0.3 * rng.standard_normal((150, 25))
    w = _weights(rng, 150)
    a = SVDReducer(n_components, solver="full").fit(X, sample_weight=w)
    b = SVDReducer(n_components, solver="full").fit(_repeated(X, w))
    _assert_same_model(a, b, rtol=1e-11)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"shrinkage": "hard"},
        {"shrinkage": "optshrink"},
        {"noise_level": "median"},
        {"n_components": 6},
        {"shrinkage": "nuclear", "n_components": 0.9},
    ],
    ids=repr,
)
@pytest.mark.parametrize("shape", [(120, 30), (15, 40)], ids=["tall", "wide"])
def test_denoiser_equals_repetition(rng, params, shape):
    # the noise estimate and the shrinkage see the repeated rows' shape and spectrum
    # (min(W, d) values, zeros included where the distinct rows are fewer)
    n, d = shape
    signal = rng.standard_normal((n, 3)) @ rng.standard_normal((3, d)) * 3
    X = signal + 0.5 * rng.standard_normal((n, d))
    w = _weights(rng, n)
    a = SVDDenoiser(solver="full", **params).fit(X, sample_weight=w)
    b = SVDDenoiser(solver="full", **params).fit(_repeated(X, w))
    _assert_same_model(a, b, rtol=1e-11)
    # (wide: the repeated rows are few distinct ones, whose zero singular values put
    # the noise estimate at 0, up to rounding)
    scale = b.singular_values_.max(initial=0) / np.sqrt(max(w.sum(), d))
    assert_allclose(a.noise_level_, b.noise_level_, rtol=1e-11, atol=1e-12 * scale)
    assert_allclose(a.shrunk_singular_values_, b.shrunk_singular_values_, rtol=1e-10)
    assert_allclose(a.transform(X), b.transform(X), rtol=1e-10, atol=1e-10)
    assert_allclose(a.fit_transform(X, sample_weight=w), b.transform(X), atol=1e-10)


# -- fit_transform, score --------------------------------------------------------------


@pytest.mark.parametrize("solver", [*EXACT, *ITERATIVE, "auto"])
@pytest.mark.parametrize("whiten", [False, True])
@pytest.mark.parametrize("shape", [(200, 10), (12, 30)], ids=["tall", "wide"])
def test_fit_transform_equals_transform(rng, solver, whiten, shape):
    X = _data(rng, *shape)
    w = _weights(rng, shape[0])
    r = SVDReducer(3, solver=solver, whiten=whiten, random_state=0)
    Z = r.fit_transform(X, sample_weight=w)
    assert_allclose(Z, r.transform(X), rtol=1e-12, atol=1e-12)
    d = SVDDenoiser(3, shrinkage="hard", solver=solver, random_state=0)
    assert_allclose(d.fit_transform(X, sample_weight=w), d.transform(X), atol=1e-12)


def test_weighted_score_is_the_mean_over_repeated_rows(rng):
    X = _data(rng, 80, 6)
    w = _weights(rng, 80)
    r = SVDReducer(2).fit(X)
    assert_allclose(r.score(X, sample_weight=w), r.score(_repeated(X, w)), rtol=1e-13)
    assert_allclose(r.score(X, sample_weight=np.ones(80)), r.score(X), rtol=1e-14)
    with pytest.raises(ValueError, match="sum to 0"):
        r.score(X, sample_weight=np.zeros(80))


def test_grid_search_routes_sample_weight(rng):
    # with metadata routing, GridSearchCV gives each fit and each score the weights of
    # its rows once the estimator requests them
    X = _data(rng, 90, 6)
    w = _weights(rng, 90)
    with sklearn.config_context(enable_metadata_routing=True):
        reducer = SVDReducer().set_fit_request(sample_weight=True)
        reducer.set_score_request(sample_weight=True)
        search = GridSearchCV(reducer, {"n_components": [1, 2, 3]}, cv=3)
        search.fit(X, sample_weight=w)
        refit = SVDReducer(search.best_params_["n_components"]).fit(X, sample_weight=w)
        assert_allclose(search.best_estimator_.components_, refit.components_)
        # a request left unset is an error when weights are passed
        with pytest.raises(Exception, match="sample_weight"):
            GridSearchCV(SVDReducer(), {"n_components": [1, 2]}).fit(X, sample_weight=w)


# -- bad weights ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weights", "match"),
    [
        (-np.ones(20), "nonnegative.*negative at index 0, 1, 2, 3, 4 and more"),
        (np.r_[np.ones(19), np.nan], "finite.*NaN or infinity at index 19"),
        (np.r_[np.ones(19), np.inf], "finite.*NaN or infinity at index 19"),
        (np.ones(19), "19 weights but X has 20 rows"),
        (np.ones((20, 1)), r"1-D.*shape \(20, 1\)"),
        (np.array(["a"] * 20), "must hold numbers"),
        (np.full(20, 1e308), "overflows float64"),
    ],
)
@pytest.mark.parametrize("method", ["fit", "partial_fit", "fit_transform"])
def test_bad_weights_are_refused(rng, weights, match, method):
    X = _data(rng, 20, 4)
    for estimator in [SVDReducer(2), SVDDenoiser()]:
        with pytest.raises(ValueError, match=match):
            getattr(estimator, method)(X, sample_weight=weights)


def test_weights_as_list_series_and_scalar(rng):
    pd = pytest.importorskip("pandas")
    X = _data(rng, 30, 4)
    w = _weights(rng, 30)
    ref = SVDReducer(2).fit(X, sample_weight=w)
    for given_weights in [list(w), pd.Series(w), w.astype(np.int64)]:
        r = SVDReducer(2).fit(X, sample_weight=given_weights)
        assert_array_equal(r.components_, ref.components_)
    r = SVDReducer(2).fit(X, sample_weight=2.0)  # every row twice
    assert r.n_samples_ == 60


# -- the caller's arrays ---------------------------------------------------------------


@pytest.mark.parametrize("solver", [*EXACT, *ITERATIVE])
def test_input_and_weights_are_not_modified(rng, solver, tmp_path):
    X = _data(rng, 100, 6, offset=1.0)
    w = _weights(rng, 100)
    X.flags.writeable = False
    w.flags.writeable = False
    r = SVDReducer(3, solver=solver, copy=False, random_state=0)
    r.fit(X, sample_weight=w)  # read-only X: copy=False works on a copy
    path = tmp_path / "X.npy"
    np.save(path, X)
    M = np.load(path, mmap_mode="r")
    m = SVDReducer(3, solver=solver, random_state=0).fit(M, sample_weight=w)
    assert_allclose(m.components_, r.components_, atol=1e-12)
    Xc, wc = X.copy(), w.copy()
    SVDReducer(3, solver=solver, random_state=0).fit(Xc, sample_weight=wc)
    assert_array_equal(Xc, X)
    assert_array_equal(wc, w)


def test_full_with_copy_false_scales_x_in_place(rng):
    # documented: copy=False lets "full" centre X and scale its rows by sqrt(w) in place
    X = _data(rng, 50, 5, offset=1.0)
    w = _weights(rng, 50)
    ref = SVDReducer(3, solver="full").fit(X, sample_weight=w)
    Y = X.copy()
    r = SVDReducer(3, solver="full", copy=False).fit(Y, sample_weight=w)
    assert_allclose(r.components_, ref.components_, atol=1e-13)
    assert not np.allclose(Y, X)


# -- structure ------------------------------------------------------------------------


def test_duplicated_rows_with_weights_equal_summed_weights(rng):
    X = _data(rng, 40, 5)
    w = _weights(rng, 40)
    doubled = np.vstack([X, X[:10]])
    w2 = np.r_[w, w[:10]]
    summed = w.copy()
    summed[:10] *= 2
    a = SVDReducer(3, solver="full").fit(doubled, sample_weight=w2)
    b = SVDReducer(3, solver="full").fit(X, sample_weight=summed)
    _assert_same_model(a, b, rtol=1e-11)


@pytest.mark.parametrize("solver", [*EXACT, *ITERATIVE])
@pytest.mark.parametrize("sparse", [False, True])
def test_one_hot_and_duplicated_columns(rng, solver, sparse):
    # tied singular values (balanced one-hot) and exact zeros (duplicated columns):
    # the canonical bases make the weighted and the repeated fits agree
    if sparse and solver == "full":
        pytest.skip("full takes dense input")
    codes = rng.integers(0, 4, 200)
    X = np.eye(4)[codes]
    X = np.hstack([X, X[:, :1], rng.standard_normal((200, 2))])
    w = _weights(rng, 200)
    Xr = _repeated(X, w)
    if sparse:
        X, Xr = sp.csr_matrix(X), sp.csr_matrix(Xr)
    options = dict(solver=solver, random_state=0, n_iter=100, tol=1e-14)
    a = SVDReducer(3, **options).fit(X, sample_weight=w)
    b = SVDReducer(3, **options).fit(Xr)
    _assert_same_model(a, b, rtol=1e-10)
    assert_allclose(a.transform(X), b.transform(X), atol=1e-9)


def test_all_weight_on_one_row(rng):
    X = _data(rng, 30, 5)
    w = np.zeros(30)
    w[7] = 4  # four copies of one row: no variance at all
    r = SVDReducer(2).fit(X, sample_weight=w)
    assert_allclose(r.mean_, X[7])
    assert_array_equal(r.singular_values_, 0)
    assert r.n_samples_ == 4


# asking for components beyond the rank: the Gram solver warns on both fits
@pytest.mark.filterwarnings("ignore::sklearn_svd.ConditioningWarning")
@pytest.mark.parametrize("solver", [*EXACT, "randomized", "auto"])
def test_k_near_min_dimension(rng, solver):
    # as many components as the repeated rows allow, more than the distinct rows have
    X = _data(rng, 6, 20)
    w = np.array([3, 2, 4, 1, 0, 2], dtype=float)  # W = 12 rows, 5 distinct: rank 4
    options = dict(solver=solver, random_state=0, n_iter=100, tol=1e-14)
    a = SVDReducer(12, **options).fit(X, sample_weight=w)
    b = SVDReducer(12, **options).fit(_repeated(X, w))
    assert a.n_components_ == b.n_components_ == 12
    s, t = a.singular_values_, b.singular_values_
    assert_allclose(s[:4], t[:4], rtol=1e-11)
    # the zeros: exact (appended) against rounding, at most the Gram floor of s_1
    floor = 1e-13 if a.solver_ == b.solver_ == "full" else 5e-7
    assert_allclose(s[4:], t[4:], atol=floor * t[0])
    assert_allclose(a.components_[:4], b.components_[:4], atol=1e-10)
    # the directions of the zeros: the same canonical complement
    assert_allclose(a.components_, b.components_, atol=1e-6)
    assert_allclose(a.mean_, b.mean_, atol=1e-13)


def test_concurrent_weighted_fits(rng):
    X = _data(rng, 3000, 20)
    weights = [_weights(rng, 3000) for _ in range(4)]
    serial = [SVDReducer(5).fit(X, sample_weight=w).components_ for w in weights]
    results = [None] * 4

    def fit(i):
        results[i] = SVDReducer(5).fit(X, sample_weight=weights[i]).components_

    threads = [threading.Thread(target=fit, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for got, expected in zip(results, serial, strict=True):
        assert_allclose(got, expected, atol=1e-13)


# -- dask ------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(400, 10), (20, 60)], ids=["tall", "wide"])
@pytest.mark.parametrize("lazy_weights", [False, True])
def test_dask_covariance_with_weights(rng, shape, lazy_weights):
    da = pytest.importorskip("dask.array")
    import dask

    X = _data(rng, *shape)
    w = _weights(rng, shape[0])
    dX = da.from_array(X, chunks=(max(shape[0] // 4, 1), -1))
    dw = da.from_array(w, chunks=dX.chunks[0]) if lazy_weights else w
    with dask.config.set(scheduler="synchronous"):
        for solver in ["covariance_eigh", "auto"]:
            a = SVDReducer(4, solver=solver).fit(dX, sample_weight=dw)
            b = SVDReducer(4, solver="full").fit(X, sample_weight=w)
            _assert_same_model(a, b, rtol=1e-10)
        p = SVDReducer(4).partial_fit(dX, sample_weight=dw)
        _assert_same_model(p, b, rtol=1e-10)
        with pytest.raises(ValueError, match="needs solver='covariance_eigh'"):
            SVDReducer(4, solver="randomized").fit(dX, sample_weight=dw)
        with pytest.raises(ValueError, match="negative"):
            SVDReducer(4).fit(dX, sample_weight=-dw)
