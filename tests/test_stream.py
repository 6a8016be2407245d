"""partial_fit: every fitted attribute equals fit on the concatenated rows.

The reference is LAPACK (gesdd) on the explicitly centred float64 concatenation. The
streaming fit has the covariance solver's precision, ``u (s_1 / s_i)^2`` relative on
``s_i``: compared to 1e-12 for values above ``1e-2 s_1`` (a bound of ~1e-12 in
float64), components as subspaces where singular values are close.
"""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from sklearn.datasets import load_digits
from sklearn.decomposition import IncrementalPCA
from sklearn.exceptions import NotFittedError

from sklearn_svd import SVDDenoiser, SVDReducer


def reference(X):
    X = np.asarray(X, dtype=np.float64)
    mean = X.mean(axis=0)
    mean += (X - mean).mean(axis=0)
    return np.linalg.svd(X - mean, full_matrices=False)[1:], mean


def stream(estimator, X, cuts):
    for batch in np.split(X, cuts):
        if batch.shape[0]:
            estimator.partial_fit(batch)
    return estimator


def data(rng, n, d, rank, offsets):
    """Rows of rank ``rank`` plus small noise, each block of rows with its own offset
    (batches whose means lie far from the running mean)."""
    X = rng.standard_normal((n, rank)) @ rng.standard_normal((rank, d)) * 3
    X += 0.1 * rng.standard_normal((n, d))
    blocks = np.array_split(np.arange(n), len(offsets))
    for rows, offset in zip(blocks, offsets, strict=True):
        X[rows] += offset
    return X


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(3, 120),
    d=st.integers(1, 12),
    offsets=st.lists(st.sampled_from([0.0, 1.0, -1e3, 1e6]), min_size=1, max_size=3),
    cuts=st.lists(st.integers(0, 120), max_size=8),
)
def test_random_batchings_equal_the_whole(seed, n, d, offsets, cuts):
    rng = np.random.default_rng(seed)
    X = data(rng, n, d, min(3, d), offsets)
    cuts = sorted(c for c in cuts if c <= n)
    model = stream(SVDReducer(), X, cuts)
    (s, Vt), mean = reference(X)
    assert model.n_samples_ == n and model.solver_ == "covariance_eigh"
    assert_allclose(model.mean_, mean, rtol=1e-13, atol=1e-13 * np.abs(X).max())
    # the covariance solver's bound: u (s_1 / s_i)^2 relative, plus the batches'
    # offsets (the scatter's error is u times the spread, not the offset)
    strong = s >= 1e-2 * s[0]
    assert_allclose(model.singular_values_[strong], s[strong], rtol=1e-10)
    assert_allclose(model.singular_values_, s, atol=1e-7 * s[0])
    # components where the gap to the neighbours is large: sign-fixed, equal
    for i in np.flatnonzero(strong):
        gaps = np.abs(s[i] - np.delete(s, i))
        if gaps.size == 0 or gaps.min() > 1e-3 * s[0]:
            assert abs(abs(model.components_[i] @ Vt[i]) - 1) < 1e-10


@pytest.mark.parametrize(
    "params",
    [
        {"n_components": "mle"},
        {"n_components": 0.9},
        {"n_components": "gavish-donoho"},
        {"n_components": 3, "whiten": True},
    ],
    ids=str,
)
def test_rank_rules_on_the_merged_spectrum(params):
    rng = np.random.default_rng(1)
    X = data(rng, 600, 20, 4, [0.0, 50.0, -50.0])
    streamed = stream(SVDReducer(**params), X, [1, 2, 100, 101, 350])
    whole = SVDReducer(**params, solver="full").fit(X)
    assert streamed.n_components_ == whole.n_components_
    assert_allclose(streamed.explained_variance_, whole.explained_variance_, rtol=1e-11)
    assert_allclose(streamed.noise_variance_, whole.noise_variance_, rtol=1e-9)
    assert_allclose(streamed.transform(X), whole.transform(X), atol=1e-9)


@pytest.mark.parametrize("shrinkage", ["frobenius", "hard", "optshrink"])
def test_denoiser_on_the_merged_spectrum(shrinkage):
    rng = np.random.default_rng(2)
    X = data(rng, 800, 60, 5, [0.0, 100.0])
    streamed = stream(SVDDenoiser(shrinkage=shrinkage), X, range(50, 800, 50))
    whole = SVDDenoiser(shrinkage=shrinkage, solver="full").fit(X)
    assert streamed.n_components_ == whole.n_components_
    # the noise level reads the smallest values: the covariance solver's error there
    # is u (s_1 / s_min)^2 relative (the offset between batches makes s_1 large)
    s = reference(X)[0][0]
    rtol = 64 * np.finfo(np.float64).eps * (s[0] / s[-1]) ** 2
    assert rtol < 1e-6
    assert_allclose(streamed.noise_level_, whole.noise_level_, rtol=rtol)
    assert_allclose(
        streamed.shrunk_singular_values_, whole.shrunk_singular_values_, rtol=rtol
    )
    scale = np.abs(X).max()
    assert_allclose(streamed.transform(X), whole.transform(X), atol=rtol * scale)


def test_incremental_pca_scenario_is_exact():
    # IncrementalPCA's own scenario, the digits in batches of 100: its explained
    # variances are off by about 1e-1 relative (a rank-k sketch per batch); ours are
    # those of the whole data.
    X = load_digits().data
    s = reference(X)[0][0]
    expected = s[:10] ** 2 / (X.shape[0] - 1)
    ours = SVDReducer(10)
    ipca = IncrementalPCA(10)
    for batch in np.array_split(X, np.arange(100, X.shape[0], 100)):
        ours.partial_fit(batch)
        ipca.partial_fit(batch)
    assert_allclose(ours.explained_variance_, expected, rtol=1e-12)
    ipca_error = np.max(np.abs(ipca.explained_variance_ / expected - 1))
    assert ipca_error > 1e-3


def test_large_offset_across_batches():
    # Every batch at an offset of 1e8 (spread 1, batch means a few units apart):
    # sums of x x^T about zero would cancel 16 digits; the merged centred statistics
    # lose none (SPARK-26158's case).
    rng = np.random.default_rng(3)
    X = rng.standard_normal((400, 6)) * np.linspace(0.5, 2, 6)
    X += 1e8 + np.repeat([0.0, 3.0, -2.0, 5.0], 100)[:, None]
    model = stream(SVDReducer(), X, [100, 200, 300, 301])
    (s, Vt), mean = reference(X)
    assert_allclose(model.mean_, mean, rtol=1e-15)
    assert_allclose(model.singular_values_, s, rtol=1e-12)
    assert_allclose(np.abs(model.components_ @ Vt.T), np.eye(6), atol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sparse_and_float32_batches(dtype):
    rng = np.random.default_rng(4)
    X = sp.random(500, 30, density=0.2, random_state=rng, format="csr", dtype=dtype)
    model = SVDReducer(5)
    for start in range(0, 500, 70):
        model.partial_fit(X[start : start + 70])
    s = reference(X.toarray())[0][0]
    assert model.singular_values_.dtype == dtype
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    assert_allclose(model.singular_values_, s[:5], rtol=rtol)


@pytest.mark.parametrize("scale", [1e-200, 1e200])
def test_batches_of_extreme_magnitude(scale):
    rng = np.random.default_rng(5)
    X = data(rng, 300, 8, 3, [0.0])
    model = stream(SVDReducer(), X * scale, [10, 150])
    assert_allclose(model.singular_values_ / scale, reference(X)[0][0], rtol=1e-11)
    # mixed: a batch of 1e200 then ordinary ones (their contribution survives)
    mixed = stream(SVDReducer(), np.vstack([X[:5] * 1e200, X[5:]]), [5, 100])
    assert np.isfinite(mixed.singular_values_).all()


def test_subnormal_batches():
    # entries near 1e-310 are subnormal: the rescaling must not overflow computing the
    # power of two that brings them up (it once did, and warned)
    rng = np.random.default_rng(8)
    X = data(rng, 300, 5, 2, [0.0]) * 1e-310
    model = stream(SVDReducer(), X, [100, 200])
    assert_allclose(
        model.singular_values_, SVDReducer(solver="full").fit(X).singular_values_
    )


def test_batches_are_not_copied():
    # Each batch is summarised in place (chunks shifted in cache), also at a large
    # offset, where the statistics are kept about the first row: the peak of numpy's
    # allocations is the d x d statistics and a few chunks, not a copy of the batch.
    import tracemalloc

    rng = np.random.default_rng(9)
    X = 1e6 + rng.standard_normal((200_000, 50))
    model = SVDReducer()
    model.partial_fit(X[:10])
    tracemalloc.start()
    model.partial_fit(X)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 0.25 * X.nbytes, peak / X.nbytes


def test_conventions():
    rng = np.random.default_rng(6)
    X = data(rng, 200, 5, 2, [0.0])
    model = SVDReducer(2)
    model.partial_fit(X[:1])
    with pytest.raises(NotFittedError):  # one row determines no model yet
        model.transform(X)
    model.partial_fit(X[1:100])
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(X[100:, :4])
    with pytest.raises(ValueError, match="NaN"):
        model.partial_fit(np.full((3, 5), np.nan))
    # a pickled stream continues where it was
    restored = pickle.loads(pickle.dumps(model))
    restored.partial_fit(X[100:])
    whole = SVDReducer(2, solver="full").fit(X)
    assert_allclose(restored.singular_values_, whole.singular_values_, rtol=1e-12)
    # fit starts over; partial_fit after fit starts a new model, with a warning
    model.fit(X[:50])
    assert model.n_samples_ == 50
    with pytest.warns(UserWarning, match="partial_fit starts a new model") as record:
        model.partial_fit(X[50:])
    assert record[0].filename == __file__  # it points at the call
    assert model.n_samples_ == 150


def test_feature_names_are_kept():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(data(rng, 100, 4, 2, [0.0]), columns=list("abcd"))
    model = SVDDenoiser(2).partial_fit(frame[:50]).partial_fit(frame[50:])
    assert list(model.feature_names_in_) == list("abcd")
    with pytest.raises(ValueError, match="feature names"):
        model.partial_fit(frame[list("dcba")])
    assert list(model.get_feature_names_out()) == list("abcd")
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        model.partial_fit(frame.to_numpy()[:10])


def test_later_batches_are_checked():
    # plain ndarray batches after the first skip validate_data: what it would refuse
    # must still be refused
    rng = np.random.default_rng(10)
    model = SVDReducer(2).partial_fit(rng.standard_normal((20, 4)))
    with pytest.raises(ValueError, match="4 features"):
        model.partial_fit(rng.standard_normal((20, 5)))
    with pytest.raises(ValueError, match="2D array"):
        model.partial_fit(rng.standard_normal(4))
    with pytest.raises(ValueError, match="0 sample"):
        model.partial_fit(np.empty((0, 4)))
    with pytest.raises(ValueError, match="NaN"):
        model.partial_fit(np.full((3, 4), np.nan))
    model.partial_fit(np.arange(8).reshape(2, 4))  # integers: converted, as by fit
    assert model.mean_.dtype == np.float64


def test_dense_and_sparse_batches_mixed():
    rng = np.random.default_rng(8)
    X = data(rng, 300, 10, 3, [5.0])
    model = SVDReducer(3).partial_fit(X[:100]).partial_fit(sp.csr_matrix(X[100:200]))
    model.partial_fit(X[200:])
    assert_allclose(model.singular_values_, reference(X)[0][0][:3], rtol=1e-12)
    assert_allclose(model.mean_, X.mean(axis=0), rtol=1e-14)


def test_held_pivot_across_reads_pickles_and_refused_batches():
    # Consecutive batches are summed about one held pivot and centred when read:
    # reading the attributes, pickling, a refused (NaN) batch and a change of dtype
    # in the middle of a stream must each leave the result of fit on all rows.
    rng = np.random.default_rng(11)
    X = data(rng, 1200, 15, 4, [3.0])
    model = SVDReducer(4)
    for i, batch in enumerate(np.array_split(X[:600], 6)):
        model.partial_fit(batch)
        if i == 2:
            assert model.components_.shape == (4, 15)  # read between batches
    before = model.singular_values_.copy()
    with pytest.raises(ValueError, match="NaN"):
        model.partial_fit(np.full((5, 15), np.nan))
    assert_allclose(model.singular_values_, before, rtol=0)
    model = pickle.loads(pickle.dumps(model))
    model.partial_fit(X[600:900].astype(np.float32))  # another dtype
    for batch in np.array_split(X[900:], 3):
        model.partial_fit(batch)
    (s, _), mean = reference(np.vstack([X[:600], X[600:900].astype(np.float32), X[900:]]))
    # the float32 rows are summarised in float32 (chunk products accumulated in
    # float64): their scatter has float32's error
    assert_allclose(model.singular_values_, s[:4], rtol=1e-5)
    assert_allclose(model.mean_, mean, rtol=1e-6)


def test_drifting_batches_equal_the_whole():
    # Each batch's mean drifts further from the pivot held since the second batch,
    # slowly (passes the guard: summed about it) and then by 1e6 (rejected: its own
    # pivot, merged by Chan's update): float64 to the covariance solver's precision.
    rng = np.random.default_rng(12)
    X = data(rng, 2000, 8, 3, [0.0])
    X += np.linspace(0, 40, 2000)[:, None]  # about 13 standard deviations of drift
    X[1500:] += 1e6
    model = stream(SVDReducer(), X, range(100, 2000, 100))
    (s, Vt), mean = reference(X)
    strong = s >= 1e-2 * s[0]
    assert_allclose(model.singular_values_[strong], s[strong], rtol=1e-10)
    assert_allclose(model.mean_, mean, rtol=1e-13)
    for i in np.flatnonzero(strong):
        assert abs(abs(model.components_[i] @ Vt[i]) - 1) < 1e-10
