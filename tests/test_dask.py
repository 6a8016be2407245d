"""dask input: every solver gives the in-memory result, and X never reaches the client.

References: LAPACK (numpy's ``svd``) on the explicitly centred float64 data, and the
same estimator fitted on the numpy array. The covariance solver's precision is
``u (s_1 / s_i)^2`` relative on ``s_i``; the data's spectrum spans a factor of about
100, so 1e-9 relative leaves a margin of 100 over the worst value. The dask and
numpy fits sum the same products in a different order (blocks), so they agree to
rounding, not bit for bit.
"""

import dataclasses
import subprocess
import sys
import textwrap
import tracemalloc

import numpy as np
import pytest
from numpy.testing import assert_allclose

from sklearn_svd import ConditioningWarning, SVDDenoiser, SVDReducer

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")

SOLVERS = ["auto", "covariance_eigh", "full", "randomized", "arpack"]
CHUNKINGS = ["rows", "columns", "both"]


def reference(X):
    """LAPACK's singular values and right vectors of the centred float64 ``X``."""
    X = np.asarray(X, dtype=np.float64)
    mean = X.mean(axis=0)
    mean += (X - mean).mean(axis=0)
    _, s, Vt = np.linalg.svd(X - mean, full_matrices=False)
    return s, Vt, mean


def make_data(n, d, seed=0, offset=3.0):
    """Rank-5 signal plus small noise, a common offset and one column far out."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 5)) @ rng.standard_normal((5, d)) * 3
    X += 0.1 * rng.standard_normal((n, d))
    X += offset
    X[:, 1] += 1e4
    return X


def chunked(X, how):
    n, d = X.shape
    rows, cols = -(-n // 4), -(-d // 3)
    chunks = {"rows": (rows, d), "columns": (n, cols), "both": (rows, cols)}[how]
    return da.from_array(X, chunks=chunks)


def subspace_sine(A, B):
    """Largest principal angle's sine between the row spaces of ``A`` and ``B``."""
    QA, QB = np.linalg.qr(A.T)[0], np.linalg.qr(B.T)[0]
    return np.linalg.norm(QB - QA @ (QA.T @ QB), 2)


def assert_same_fit(lazy, eager, rtol=1e-10):
    assert lazy.solver_ == eager.solver_
    assert lazy.n_components_ == eager.n_components_
    assert lazy.n_features_in_ == eager.n_features_in_
    assert lazy.components_.dtype == eager.components_.dtype
    assert_allclose(lazy.singular_values_, eager.singular_values_, rtol=rtol)
    assert_allclose(
        lazy.explained_variance_ratio_, eager.explained_variance_ratio_, rtol=rtol
    )
    assert_allclose(lazy.noise_variance_, eager.noise_variance_, rtol=1e-6, atol=1e-12)
    # the mean to a few units of rounding of the spread (the offsets are exact)
    spread = np.sqrt(eager.total_variance_)
    assert_allclose(lazy.mean_, eager.mean_, rtol=1e-13, atol=1e-14 * spread)
    assert_allclose(lazy.components_, eager.components_, atol=1e-8)


@pytest.mark.parametrize("how", CHUNKINGS)
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("shape", [(600, 12), (12, 400)], ids=["tall", "wide"])
def test_reducer_equals_in_memory(shape, solver, how):
    X = make_data(*shape)
    Xd = chunked(X, how)
    params = dict(n_components=4, solver=solver, random_state=0)
    eager = SVDReducer(**params).fit(X)
    lazy = SVDReducer(**params).fit(Xd)
    assert_same_fit(lazy, eager)
    s, Vt, mean = reference(X)
    assert_allclose(lazy.singular_values_, s[:4], rtol=1e-9)
    assert subspace_sine(lazy.components_, Vt[:4]) < 1e-8
    assert_allclose(lazy.mean_, mean, rtol=1e-13, atol=1e-14 * np.sqrt(s @ s))

    scores = lazy.transform(Xd)
    assert isinstance(scores, da.Array)
    scale = np.abs(eager.transform(X)).max()
    assert_allclose(scores.compute(), eager.transform(X), atol=1e-12 * scale)
    fitted = SVDReducer(**params).fit_transform(Xd)
    assert isinstance(fitted, da.Array)
    assert_allclose(fitted.compute(), eager.fit_transform(X), atol=1e-11 * scale)
    back = lazy.inverse_transform(scores)
    assert isinstance(back, da.Array)
    expected = eager.inverse_transform(eager.transform(X))
    assert_allclose(back.compute(), expected, atol=1e-12 * np.abs(X).max())


@pytest.mark.parametrize("solver", ["auto", "covariance_eigh", "full"])
def test_rank_rules_and_whitening(solver):
    X = make_data(500, 20)
    Xd = chunked(X, "both")
    for n_components in ["mle", "gavish-donoho", 0.95, None]:
        params = dict(n_components=n_components, solver=solver, whiten=True)
        eager = SVDReducer(**params).fit(X)
        lazy = SVDReducer(**params).fit(Xd)
        # the whole spectrum: the smallest values carry the covariance solver's error
        assert_same_fit(lazy, eager, rtol=1e-6)
        assert_allclose(lazy.transform(Xd).compute(), eager.transform(X), atol=1e-6)


@pytest.mark.parametrize("how", CHUNKINGS)
@pytest.mark.parametrize("solver", ["auto", "full", "randomized"])
def test_denoiser_equals_in_memory(solver, how):
    X = make_data(400, 30, seed=1)
    Xd = chunked(X, how)
    params = dict(solver=solver, random_state=0)
    if solver == "randomized":
        params.update(n_components=5, noise_level=0.1)
    eager = SVDDenoiser(**params).fit(X)
    lazy = SVDDenoiser(**params).fit(Xd)
    assert_same_fit(lazy, eager, rtol=1e-9)
    assert_allclose(lazy.shrunk_singular_values_, eager.shrunk_singular_values_, rtol=1e-9)
    denoised = lazy.transform(Xd)
    assert isinstance(denoised, da.Array)
    assert_allclose(denoised.compute(), eager.transform(X), atol=1e-9)
    fitted = SVDDenoiser(**params).fit_transform(Xd)
    assert isinstance(fitted, da.Array)
    assert_allclose(fitted.compute(), eager.fit_transform(X), atol=1e-9)
    assert_allclose(
        lazy.inverse_transform(denoised).compute(), eager.transform(X), atol=1e-9
    )


@pytest.mark.parametrize("solver", ["covariance_eigh", "full", "randomized"])
def test_float32_kept(solver):
    X = make_data(300, 10, offset=0.0).astype(np.float32)
    Xd = chunked(X, "both")
    eager = SVDReducer(3, solver=solver, random_state=0).fit(X)
    lazy = SVDReducer(3, solver=solver, random_state=0).fit(Xd)
    assert lazy.components_.dtype == np.float32
    assert_allclose(lazy.singular_values_, eager.singular_values_, rtol=1e-5)
    scores = lazy.transform(Xd)
    assert scores.dtype == np.float32 and scores.compute().dtype == np.float32
    assert_allclose(scores.compute(), eager.transform(X), rtol=1e-4, atol=1e-3)


def test_integer_input_cast_to_float64():
    X = np.random.default_rng(0).integers(0, 10, size=(200, 6))
    lazy = SVDReducer(2).fit(da.from_array(X, chunks=(50, 6)))
    assert lazy.components_.dtype == np.float64
    assert_allclose(lazy.singular_values_, SVDReducer(2).fit(X).singular_values_)


def test_dask_dataframe_feature_names():
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")
    X = make_data(200, 4)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    lazy = SVDReducer(2).fit(dd.from_pandas(frame, npartitions=3))
    eager = SVDReducer(2).fit(frame)
    assert list(lazy.feature_names_in_) == ["a", "b", "c", "d"]
    assert_same_fit(lazy, eager)
    assert list(lazy.get_feature_names_out()) == ["svdreducer0", "svdreducer1"]
    scores = lazy.transform(dd.from_pandas(frame, npartitions=2))
    assert_allclose(scores.compute(), eager.transform(frame), atol=1e-10)
    assert_allclose(lazy.transform(frame), eager.transform(frame))
    # as with numpy input: names at fit, none at transform
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        lazy.transform(da.from_array(X, chunks=(50, 4)))
    with pytest.raises(ValueError, match="Feature names must be in the same order"):
        lazy.transform(dd.from_pandas(frame[["b", "a", "c", "d"]], npartitions=2))


def test_feature_count_and_input_checks():
    X = make_data(100, 5)
    lazy = SVDReducer(2).fit(da.from_array(X, chunks=(30, 5)))
    with pytest.raises(ValueError, match="X has 4 features, but SVDReducer is expecting 5"):
        lazy.transform(da.from_array(X[:, :4], chunks=(30, 4)))
    with pytest.raises(ValueError, match="Expected a 2D dask array, got a 1D array"):
        SVDReducer(1).fit(da.from_array(X[:, 0], chunks=30))
    with pytest.raises(ValueError, match="minimum of 2 is required by SVDReducer"):
        SVDReducer(1).fit(da.from_array(X[:1], chunks=(1, 5)))
    unknown = da.from_array(X, chunks=(30, 5))
    unknown = unknown[unknown[:, 0] > -np.inf]
    with pytest.raises(ValueError, match="unknown chunk sizes"):
        SVDReducer(1).fit(unknown)


@pytest.mark.parametrize("solver", ["covariance_eigh", "full", "randomized"])
@pytest.mark.parametrize("shape", [(200, 6), (6, 200)], ids=["tall", "wide"])
def test_nonfinite_entries_named_in_x(shape, solver):
    X = make_data(*shape)
    X[4, 5] = np.nan
    X[shape[0] - 1, 3] = np.inf
    Xd = da.from_array(X, chunks=(50, 50))
    match = r"NaN \(1 entries\) or infinity \(1 entries\), at \(row, column\) \(4, 5\)"
    with pytest.raises(ValueError, match=match):
        SVDReducer(2, solver=solver).fit(Xd)


@pytest.mark.parametrize("solver", ["covariance_eigh", "full", "randomized"])
@pytest.mark.parametrize("magnitude", [1e-170, 1e170])
def test_extreme_magnitudes(solver, magnitude):
    X = make_data(300, 8, offset=0.0)
    eager = SVDReducer(3, solver=solver, random_state=0).fit(X)
    lazy = SVDReducer(3, solver=solver, random_state=0).fit(
        da.from_array(X * magnitude, chunks=(70, 8))
    )
    assert_allclose(lazy.singular_values_ / magnitude, eager.singular_values_, rtol=1e-9)
    assert_allclose(lazy.components_, eager.components_, atol=1e-8)


def test_auto_falls_back_to_full_as_in_memory():
    """Singular values below eps^(1/4) s_1 are redone without squaring the data."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((2000, 3)) @ rng.standard_normal((3, 40)) + 5.0
    X += 1e-7 * rng.standard_normal(X.shape)  # components 4.. at ~1e-8 s_1
    eager = SVDReducer(6).fit(X)
    lazy = SVDReducer(6).fit(da.from_array(X, chunks=(300, 40)))
    assert eager.solver_ == lazy.solver_ == "full"
    assert lazy.solver_reason_.startswith("covariance_eigh fell back to full")
    assert_allclose(lazy.singular_values_, eager.singular_values_, rtol=1e-7)
    s = reference(X)[0]
    assert_allclose(lazy.singular_values_, s[:6], rtol=1e-7)
    with pytest.warns(ConditioningWarning, match="no correct digits"):
        SVDReducer(6, solver="covariance_eigh").fit(da.from_array(X, chunks=(300, 40)))


def test_drift_beyond_the_first_rows_stays_exact():
    """The first rows at 0 with a spread of 1e3, the rest at 1e6 with a spread of 1:
    each block's mean is kept relative to the first row, subtracted before it is
    rounded, and every block is summarised about its own mean (no copy)."""
    from sklearn_svd._dask import merged_stream

    rng = np.random.default_rng(0)
    X = 1e6 + rng.standard_normal((200_000, 3)) * np.array([3.0, 2.0, 1.0])
    X[:20] = 1e3 * rng.standard_normal((20, 3))
    Xd = da.from_array(X, chunks=((20, 49_980, 50_000, 50_000, 50_000), 3))
    assert merged_stream(Xd, True, "test").pivot.any()
    s, _, mean = reference(X)
    reducer = SVDReducer(3, solver="covariance_eigh").fit(Xd)
    # the covariance solver's precision, u (s_1 / s_i)^2 (s_1 / s_3 ~ 1e4 here)
    assert_allclose(reducer.singular_values_, s, rtol=1e-7)
    assert_allclose(reducer.mean_, mean, rtol=1e-15)


def test_partial_fit_of_dask_blocks_equals_fit():
    X = make_data(900, 10)
    stream = SVDReducer(3)
    stream.partial_fit(da.from_array(X[:400], chunks=(70, 10)))
    stream.partial_fit(X[400:500])
    stream.partial_fit(da.from_array(X[500:], chunks=(150, 4)))
    eager = SVDReducer(3, solver="covariance_eigh").fit(X)
    assert_allclose(stream.singular_values_, eager.singular_values_, rtol=1e-11)
    assert_allclose(stream.components_, eager.components_, atol=1e-10)
    assert_allclose(stream.mean_, eager.mean_, rtol=1e-14)


def test_score_samples_lazy():
    X = make_data(300, 8)
    Xd = da.from_array(X, chunks=(70, 8))
    lazy, eager = SVDReducer(3).fit(Xd), SVDReducer(3).fit(X)
    ll = lazy.score_samples(Xd)
    assert isinstance(ll, da.Array)
    assert_allclose(ll.compute(), eager.score_samples(X), rtol=1e-10)
    assert lazy.score(Xd) == pytest.approx(eager.score(X), rel=1e-10)


# -- what the client receives ---------------------------------------------------------


def _arrays(value):
    """Every ndarray in a computed result (tuples, lists, dicts, dataclasses)."""
    if isinstance(value, np.ndarray):
        return [value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = [getattr(value, f.name) for f in dataclasses.fields(value)]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return [a for v in value for a in _arrays(v)]
    return []


@pytest.fixture
def received():
    """The arrays every dask computation returns to the client (a custom scheduler
    that records the results of the threaded one)."""
    from dask.threaded import get

    arrays = []

    def recording_get(dsk, keys, **kwargs):
        results = get(dsk, keys, **kwargs)
        arrays.extend(_arrays(results))
        return results

    with dask.config.set(scheduler=recording_get):
        yield arrays


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("shape", [(3000, 8), (8, 3000)], ids=["tall", "wide"])
def test_client_never_receives_x(received, shape, solver):
    n, d = shape
    X = make_data(n, d)
    Xd = da.from_array(X, chunks=(-(-n // 5), -(-d // 2)))
    reducer = SVDReducer(2, solver=solver, random_state=0).fit(Xd)
    assert received  # it did compute
    largest = max(a.size for a in received)
    # at most d x d, n x n (the Gram matrix of wide data: n is small), or a few
    # vectors of the long side
    assert largest <= max(min(n, d) ** 2, 16 * max(n, d)), largest
    assert not any(a.ndim == 2 and a.shape[0] >= n and a.shape[1] >= d for a in received)
    count = len(received)
    scores = reducer.transform(Xd)
    fitted = reducer.fit_transform(Xd)
    assert len(received) > count  # fit_transform fits again
    count = len(received)
    reducer.inverse_transform(scores)
    assert len(received) == count  # transforms are lazy
    assert fitted.shape == (n, 2)


def test_core_package_does_not_import_dask():
    code = textwrap.dedent(
        """
        import sys
        import numpy as np
        from sklearn_svd import ConditioningWarning, SVDDenoiser, SVDReducer
        X = np.random.default_rng(0).standard_normal((50, 4))
        SVDReducer(2).fit(X).transform(X)
        SVDDenoiser().fit_transform(X)
        SVDReducer(2).partial_fit(X).components_
        assert not [m for m in sys.modules if m == "dask" or m.startswith("dask.")]
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- out of core ---------------------------------------------------------------------


def memmap_blocks(path, rows):
    """A dask array of blocks of rows of the ``.npy`` file at ``path``, each task
    mapping the file and returning a view of its rows, so that no block is copied.
    (``da.from_array`` copies a numpy array, a memmap included, whole into memory.)"""
    X = np.load(path, mmap_mode="r")
    n, d = X.shape

    def load(start, stop):
        return np.load(path, mmap_mode="r")[start:stop]

    blocks = [
        da.from_delayed(
            dask.delayed(load)(start, min(start + rows, n)),
            shape=(min(rows, n - start), d),
            dtype=X.dtype,
        )
        for start in range(0, n, rows)
    ]
    return da.concatenate(blocks)


@pytest.mark.parametrize("route", ["partial_fit", "dask"])
def test_memmap_out_of_core(tmp_path, route):
    """A memmap 6x larger than the memory the fit may allocate, in one pass."""
    n, d, rows = 160_000, 20, 8_000
    path = tmp_path / "X.npy"
    X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(n, d))
    rng = np.random.default_rng(0)
    W = rng.standard_normal((4, d))
    for start in range(0, n, rows):
        X[start : start + rows] = rng.standard_normal((rows, 4)) @ W + 100.0
    X.flush()
    X = np.load(path, mmap_mode="r")
    chunk = rows * d * 8  # 1.28 MB
    # O(chunk + d^2): a block's temporaries per thread (dask's threaded scheduler
    # runs two here) and a few d x d matrices; 4.1 MB, where the file is 25.6 MB
    budget = 3 * chunk + 64 * 8 * d**2

    # the modules a fit imports (dask's scheduler imports distributed) are not data
    SVDReducer(2).fit(memmap_blocks(path, n // 2))
    tracemalloc.start()
    try:
        if route == "partial_fit":
            reducer = SVDReducer(3)
            for start in range(0, n, rows):
                reducer.partial_fit(X[start : start + rows])
            _ = reducer.components_  # the d x d eigendecomposition, on first read
        else:
            reducer = SVDReducer(3, solver="covariance_eigh").fit(memmap_blocks(path, rows))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < budget, (peak, chunk, budget)

    s, Vt, mean = reference(X)
    assert_allclose(reducer.singular_values_, s[:3], rtol=1e-10)
    assert subspace_sine(reducer.components_, Vt[:3]) < 1e-9
    assert_allclose(reducer.mean_, mean, rtol=1e-14)


# -- a real cluster ------------------------------------------------------------------


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.mark.parametrize("solver", ["auto", "covariance_eigh", "full", "randomized"])
def test_large_offset_exact_on_cluster(client, solver):
    """SPARK-26158: columns with mean 1e5 and spread 1e-5. ``X^T X - n mu mu^T``
    cancels all 16 digits there (1e10 against 1e-10 per entry)."""
    rng = np.random.default_rng(0)
    n, d = 4000, 6
    Z = rng.standard_normal((n, d)) * np.array([5, 4, 3, 2, 1.5, 1.0])
    X = 1e5 + 1e-5 * Z
    Xd = da.from_array(X, chunks=(1000, d)).persist()
    reducer = SVDReducer(4, solver=solver, random_state=0).fit(Xd)
    s, Vt, mean = reference(X)
    assert_allclose(reducer.singular_values_, s[:4], rtol=1e-9)
    assert subspace_sine(reducer.components_, Vt[:4]) < 1e-8
    assert_allclose(reducer.mean_, mean, rtol=1e-15)
    scores = reducer.transform(Xd).compute()
    assert_allclose(
        scores, (X - mean) @ reducer.components_.T, atol=1e-9 * s[0] / np.sqrt(n)
    )


def test_denoiser_on_cluster(client):
    X = make_data(2000, 15)
    Xd = da.from_array(X, chunks=(500, 15)).persist()
    lazy, eager = SVDDenoiser().fit(Xd), SVDDenoiser().fit(X)
    assert_same_fit(lazy, eager, rtol=1e-9)
    assert_allclose(lazy.transform(Xd).compute(), eager.transform(X), atol=1e-9)


def test_denoiser_inverse_transform_of_a_cast_or_frame_input():
    # A dask array that needs a dtype cast, or a dask DataFrame: inverse_transform
    # returns a dask array of the same values (it used to read X.flags).
    X = make_data(300, 6)
    denoiser = SVDDenoiser().fit(X)
    as_int = da.from_array(np.rint(X * 100).astype(np.int64), chunks=(100, 6))
    back = denoiser.inverse_transform(as_int)
    assert_allclose(back.compute(), np.rint(X * 100))
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    frame = dd.from_pandas(pd.DataFrame(X), npartitions=3)
    assert_allclose(np.asarray(denoiser.inverse_transform(frame).compute()), X)
