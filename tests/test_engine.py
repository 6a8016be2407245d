"""The decomposition engine against LAPACK's SVD of explicitly centred float64 data.

Tolerances (u = unit roundoff: 1.1e-16 in float64, 6e-8 in float32):
- "full" is backward stable: |ds_i| <~ u s_1 times a modest factor, so relative error
  u (s_1 / s_i) stays below 1e-12 for s_i >= 1e-4 s_1 in float64.
- "covariance_eigh" squares the condition number: relative error u (s_1 / s_i)^2, which
  is 1e-10 at s_i = 1e-3 s_1 in float64 (the bound asked of it, with margin ~100).
- float32: 1e-4 for s_i >= 1e-2 s_1 on every solver (u (s_1/s_i)^2 = 6e-4 worst case;
  the chunked float64 merge and float64 eigensolver keep it well inside).
"""

import threading
import tracemalloc
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.decomposition import PCA
from threadpoolctl import ThreadpoolController, threadpool_info, threadpool_limits

from sklearn_svd import ConditioningWarning, _scatter
from sklearn_svd._engine import SOLVERS as ALL_SOLVERS
from sklearn_svd._engine import decompose, resolve_solver, top_eigh
from sklearn_svd._scatter import ScatterStats, gram_stats, scatter_stats

SOLVERS = ["full", "covariance_eigh", "auto"]


def reference_svd(X):
    """LAPACK gesdd on the explicitly centred float64 data (two-pass mean)."""
    X64 = np.array(X, dtype=np.float64)
    X64 -= X64.mean(axis=0)
    X64 -= X64.mean(axis=0)
    _, s, Vt = scipy.linalg.svd(X64, full_matrices=False, lapack_driver="gesdd")
    # The convention under test (PCA's): each row's largest-magnitude entry positive.
    Vt *= np.sign(Vt[np.arange(len(Vt)), np.abs(Vt).argmax(axis=1)])[:, None]
    return s, Vt


def offset_data(dtype, offset, n=100_000, d=50, seed=0):
    """Independent columns with scales 1 .. 1e-4, plus a large common offset."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * np.logspace(0, -4, d) + offset
    return X.astype(dtype)


# Bounds per (dtype, solver): (relative error, smallest s_i / s_1 it applies to).
BOUNDS = {
    ("float64", "full"): (1e-12, 1e-4),
    ("float64", "covariance_eigh"): (1e-10, 1e-3),
    ("float64", "auto"): (1e-10, 1e-3),
    ("float32", "full"): (1e-4, 1e-2),
    ("float32", "covariance_eigh"): (1e-4, 1e-2),
    ("float32", "auto"): (1e-4, 1e-2),
}


@pytest.fixture(
    scope="module",
    params=[("float64", 0.0), ("float64", 1e6), ("float32", 0.0), ("float32", 1e4)],
    ids=str,
)
def offset_case(request):
    dtype, offset = request.param
    X = offset_data(dtype, offset)
    s, Vt = reference_svd(X)
    return dtype, X, s, Vt


@pytest.mark.parametrize("solver", SOLVERS)
def test_accuracy_with_large_offset(offset_case, solver):
    # PCA(10) on the float64 / 1e6 case gets the 10th variance 31% wrong (its
    # covariance_eigh squares the offset); float32 / 1e4 is off by orders of magnitude.
    dtype, X, ref_s, ref_Vt = offset_case
    X_before = X.copy()
    rtol, floor = BOUNDS[(dtype, solver)]
    k = int(np.sum(ref_s >= floor * ref_s[0]))
    result = decompose(X, k, solver=solver)
    assert result.singular_values.dtype == X.dtype
    assert_allclose(result.singular_values, ref_s[:k], rtol=rtol)
    # The leading axes are well separated (gaps >= 20%): componentwise agreement.
    assert_allclose(
        result.components[:10], ref_Vt[:10], atol=1e-7 if dtype == "float64" else 1e-3
    )
    # mean to a tiny fraction of each column's spread (float32 sums blocks in float32)
    ref_mean = X_before.astype(np.float64).mean(0)
    spread = X_before.astype(np.float64).std(0)
    tol = 1e-10 if dtype == "float64" else 1e-3
    assert np.all(np.abs(result.mean - ref_mean) <= tol * spread + 1e-7 * np.abs(ref_mean))
    assert_array_equal(X, X_before)  # the caller's array is untouched


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("shape", [(3000, 40), (40, 3000), (700, 600), (600, 700)])
def test_components_equal_pca(solver, shape):
    rng = np.random.default_rng(1)
    X = rng.standard_normal(shape) @ np.diag(np.logspace(0, -1, shape[1])) + 3.0
    pca = PCA(10, svd_solver="full").fit(X)
    result = decompose(X, 10, solver=solver)
    assert_allclose(result.singular_values, pca.singular_values_, rtol=1e-10)
    # Same sign convention as PCA: the same vectors, not just the same subspace.
    assert_allclose(result.components, pca.components_, atol=1e-9)
    assert_allclose(result.mean, pca.mean_, rtol=1e-12)
    if result.U is not None:  # left vectors consistent with the right ones
        Xc = X - result.mean
        assert_allclose(
            result.U * result.singular_values, Xc @ result.components.T, atol=1e-9
        )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("offset", [5.0, 1e3])
def test_wide_gram_with_offset(dtype, offset):
    # Wide data goes through the n x n Gram matrix; in float32 both offsets force
    # exact centring of the columns (raw/centred ratio ~230 and ~1e7), in float64 the
    # larger one does.
    rng = np.random.default_rng(2)
    X = rng.standard_normal((300, 2000)) * np.logspace(0, -2, 2000) + offset
    X = X.astype(dtype)
    ref_s, ref_Vt = reference_svd(X)
    result = decompose(X, 20, solver="covariance_eigh")
    assert result.solver == "covariance_eigh"
    rtol = 1e-10 if dtype == np.float64 else 1e-4
    assert_allclose(result.singular_values, ref_s[:20], rtol=rtol)
    # the leading right vectors have gaps >= 1%: componentwise agreement
    atol = 1e-8 if dtype == np.float64 else 1e-3
    assert_allclose(result.components[:3], ref_Vt[:3], atol=atol)
    gram = result.components.astype(np.float64) @ result.components.T
    assert_allclose(gram, np.eye(20), atol=1e-10 if dtype == np.float64 else 1e-5)


def test_wide_gram_float32_large_offset():
    # At offset 1e4, float32 column sums are off by ~2% of a column's spread and the
    # mean rounded to float32 by up to half an ulp (5e-4). Centred on it, each block
    # keeps that residual mean; left in, it cost the Gram matrix ~1e-4 of its scale
    # (measured), where float32 products of 3000 columns allow ~1e-6.
    rng = np.random.default_rng(5)
    scales = np.logspace(0, -1, 3000)
    X = rng.standard_normal((200, 3000)) * scales + 1e4 + rng.standard_normal(3000)
    X = X.astype(np.float32)
    X64 = X.astype(np.float64)
    Xc = X64 - X64.mean(0)
    ref = Xc @ Xc.T
    mean, gram, exact = gram_stats(X)
    assert exact
    scale = np.sqrt(np.outer(np.diag(ref), np.diag(ref)))
    assert np.max(np.abs(gram - ref) / scale) < 2e-5
    assert_allclose(mean, X64.mean(0), rtol=0, atol=1e-6 * Xc.std(0).min())


@pytest.mark.parametrize("solver", ["randomized", "arpack"])
@pytest.mark.parametrize("shape", [(500, 40), (50_000, 40), (40, 3000)])
def test_iterative_dense_float32_large_offset(solver, shape):
    # Dense data at an offset of 1e6 in float32 is centred exactly, chunk by chunk.
    # The mean rounded to float32 is off by up to 0.03 (half an ulp) and, for 50000
    # rows, the float32 column sums by ~40 times the spread of 1: subtracting only the
    # rounded mean, from unrefined sums, gave errors of 4e-3 (500 rows) and 260x
    # (50000 rows) where the sparse path, which refines the mean and subtracts the
    # rounding's remainder, gave 4e-8. Now both are at float32's u (6e-8) times a
    # small factor.
    rng = np.random.default_rng(11)
    X = (rng.standard_normal(shape) + 1e6).astype(np.float32)
    ref_s, _ = reference_svd(X)
    for data in (X, sp.csr_matrix(X)):
        result = decompose(data, 5, solver=solver, random_state=0)
        assert_allclose(result.singular_values, ref_s[:5], rtol=5e-7)
        # the mean is returned in float32: within an ulp at 1e6 (0.0625)
        ulp = float(np.spacing(np.float32(1e6)))
        assert_allclose(result.mean, X.astype(np.float64).mean(0), rtol=0, atol=ulp)
        assert_allclose(result.total_norm, np.linalg.norm(ref_s), rtol=1e-6)


def test_scatter_stats_merge_is_exact():
    rng = np.random.default_rng(3)
    A = rng.standard_normal((500, 6)) + 100.0
    B = 2 * rng.standard_normal((300, 6)) - 50.0
    merged = scatter_stats(A).merge(scatter_stats(B))
    both = np.vstack([A, B])
    centred = both - both.mean(0)
    assert merged.n_samples == 800
    assert_allclose(merged.mean, both.mean(0), rtol=1e-14)
    assert_allclose(merged.scatter, centred.T @ centred, rtol=1e-12)
    empty = ScatterStats(0, np.zeros(6), np.zeros((6, 6)))
    assert empty.merge(merged) is merged


@pytest.mark.parametrize("offset", [0.0, 1e8])
def test_scatter_stats_without_cancellation(offset):
    # At offset 1e8 the raw product X^T X - n mu mu^T would keep no digit of a column
    # with unit spread; the guard must route this through centred chunks.
    rng = np.random.default_rng(4)
    Z = rng.standard_normal((20_000, 5))
    stats = scatter_stats(Z + offset)
    Zc = Z - Z.mean(0)
    assert_allclose(
        stats.scatter,
        Zc.T @ Zc,
        rtol=1e-6 if offset else 1e-12,
        atol=1e-6 * len(Z) if offset else 0,
    )
    W = (Z + offset)[:300].T.copy()  # 5 x 300: wide
    mean, gram, exact = gram_stats(W)
    assert exact == bool(offset)
    Wc = W - W.mean(0)
    assert_allclose(mean, W.mean(0), rtol=1e-14)
    assert_allclose(gram, Wc @ Wc.T, rtol=1e-9, atol=1e-9 * np.trace(Wc @ Wc.T))


def test_scatter_stats_mean_relative_to_an_origin():
    # At 1e8 a mean stored as such is rounded to ~1e-8; relative to a nearby origin it
    # keeps every digit. Reference: X - origin is exact here (Sterbenz), so its mean
    # in float64 is accurate to u times the spread.
    rng = np.random.default_rng(11)
    X = 1e8 + rng.standard_normal((5000, 4)) * np.array([1.0, 2.0, 3.0, 0.5])
    origin = X[17].copy()
    stats = scatter_stats(X, origin=origin)
    deviations = X - origin
    assert_allclose(stats.mean, deviations.mean(0), rtol=1e-14, atol=1e-15)
    Dc = deviations - deviations.mean(0)
    assert_allclose(stats.scatter, Dc.T @ Dc, rtol=1e-10)


@pytest.mark.parametrize("guess", [0.0, -1e6, 1e6])
def test_scatter_stats_bad_pivot_guess_costs_a_pass_not_digits(guess, monkeypatch):
    # A caller's pivot (partial_fit's guess from earlier batches) far from the data:
    # the guard rejects the pass and a second one about the mean found is exact.
    passes = []
    about_pivot = _scatter._about_pivot
    monkeypatch.setattr(
        _scatter, "_about_pivot", lambda *a: passes.append(1) or about_pivot(*a)
    )
    rng = np.random.default_rng(12)
    X = 1e6 + rng.standard_normal((3000, 5))
    stats = scatter_stats(X, pivot=np.full(5, guess))
    mean, scatter = _exact_scatter(X)
    mean += (X - mean).mean(0)  # np.mean itself is off by ~log2(n) u |mean|
    assert_allclose(stats.mean, mean, rtol=1e-15)
    assert_allclose(stats.scatter, scatter, rtol=1e-9)
    assert len(passes) == (1 if guess == 1e6 else 2)


def test_segment_pool_survives_fork():
    # The fused pass keeps its thread pool between calls; a child made by fork inherits
    # the pool object but not its threads, and must start its own (not hang).
    import multiprocessing

    X = np.random.default_rng(13).standard_normal((50_000, 20)) + 5
    parent = scatter_stats(X)  # the pool now exists in this process
    with multiprocessing.get_context("fork").Pool(1) as pool:
        child = pool.apply_async(scatter_stats, (X,)).get(timeout=60)
    assert_allclose(child.scatter, parent.scatter, rtol=1e-13)


def test_scatter_stats_kept_buffers_carry_nothing_over():
    # Each thread keeps its chunk buffer between passes; a pass of another width (the
    # padding after the ones column moves), dtype or weighting reuses it and must give
    # the statistics of its own rows. Shifted chunks (offset) go through the buffer.
    rng = np.random.default_rng(14)
    for d, dtype, weighted in [
        (102, np.float64, False),
        (100, np.float64, False),
        (103, np.float32, True),
        (5, np.float64, True),
        (101, np.float64, False),
        (100, np.float32, False),
    ]:
        X = (rng.standard_normal((3000, d)) + 50).astype(dtype)
        w = rng.integers(0, 3, 3000).astype(np.float64) if weighted else None
        stats = scatter_stats(X, sample_weight=w)
        X64 = X.astype(np.float64)
        w64 = np.ones(3000) if w is None else w
        mean = w64 @ X64 / w64.sum()
        Xc = X64 - mean
        eps = np.finfo(dtype).eps
        assert_allclose(stats.mean, mean, rtol=100 * eps)
        assert_allclose(
            stats.scatter, (Xc * w64[:, None]).T @ Xc, rtol=1e3 * eps, atol=1e3 * eps
        )


def _exact_scatter(X):
    """Mean and centred scatter of ``X`` from an explicitly centred float64 copy."""
    X64 = X.astype(np.float64)
    Xc = X64 - X64.mean(0)
    return X64.mean(0), Xc.T @ Xc


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_scatter_stats_same_for_any_thread_count(dtype):
    # The fused pass runs its row segments in threads; the segments depend on the
    # shape only, so the statistics are bitwise identical with one thread or several.
    # (The offset makes both dtypes shift their chunks: the segmented path.)
    X = np.random.default_rng(6).standard_normal((30_000, 40)).astype(dtype) + 100
    with threadpool_limits(limits=1, user_api="blas"):
        serial = scatter_stats(X)
    with threadpool_limits(limits=2, user_api="blas"):
        threaded = scatter_stats(X)
    assert_array_equal(threaded.scatter, serial.scatter)
    assert_array_equal(threaded.mean, serial.mean)


def test_scatter_stats_respects_a_single_thread_limit(monkeypatch):
    # A user who limits BLAS to one thread (say, to run fits in parallel processes)
    # gets one loop: no thread pool is started.
    def no_pool(*args, **kwargs):
        raise AssertionError("a thread pool was started under a 1-thread limit")

    monkeypatch.setattr(_scatter, "ThreadPoolExecutor", no_pool)
    X = np.random.default_rng(8).standard_normal((30_000, 40)).astype(np.float32) + 100
    with threadpool_limits(limits=1, user_api="blas"):
        stats = scatter_stats(X)
    _, ref = _exact_scatter(X)
    assert_allclose(stats.scatter, ref, rtol=1e-5, atol=1e-6 * np.trace(ref))


def _blas_counts():
    return sorted(
        (lib["filepath"], lib["num_threads"])
        for lib in threadpool_info()
        if lib["user_api"] == "blas"
    )


@pytest.fixture
def blas_at_two():
    """Every BLAS at 2 threads, set and released by this thread (so that the fits'
    threads may change it: threadpoolctl >= 3.8 lets only one thread at a time)."""
    controller = ThreadpoolController().select(user_api="blas")

    def release():
        for lib in controller.lib_controllers:
            getattr(lib, "clear_controlling_thread", lambda: None)()

    limiter = controller.limit(limits=2)
    release()
    yield
    limiter.restore_original_limits()
    release()


def _interleaved(read):
    """Enter ``single_threaded_blas`` in two threads and leave it in the order that a
    plain save-and-restore does not survive: "a" enters first and leaves first, "b"
    leaves last, while "a" is still alive. Returns what ``read()`` gave in each
    thread inside and after."""
    a_in, b_in, a_out, b_out = (threading.Event() for _ in range(4))
    seen = {}

    def a():
        with _scatter.single_threaded_blas():
            seen["a inside"] = read()
            a_in.set()
            b_in.wait(10)
        a_out.set()
        b_out.wait(10)
        seen["a after"] = read()

    def b():
        a_in.wait(10)
        with _scatter.single_threaded_blas():
            b_in.set()
            a_out.wait(10)
            seen["b inside"] = read()
        seen["b after"] = read()
        b_out.set()

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return seen


def test_single_thread_limit_restored_by_a_different_thread(blas_at_two):
    # The first thread to enter sets the limit, a different one leaves last. With
    # threadpoolctl >= 3.8 only the thread that first set an OpenBLAS limit may change
    # it again, so the last one's restore was silently dropped: BLAS stayed at one
    # thread for the rest of the process.
    before = _blas_counts()
    seen = _interleaved(_blas_counts)
    assert all(count == 1 for _, count in seen["a inside"] + seen["b inside"])
    assert seen["b after"] == seen["a after"] == before
    assert _blas_counts() == before


def test_concurrent_fits_leave_blas_limits_as_they_were(blas_at_two):
    # Many overlapping fits, each entering and leaving the single-thread limit several
    # times, in every interleaving the scheduler makes: the counts are those before.
    # (Before the fix, the limit stayed at 1 after one or two rounds.)
    rng = np.random.default_rng(0)
    tall = [rng.standard_normal((n, 40)) + 1 for n in (600, 700, 800, 1200)]
    wide = rng.standard_normal((100, 800))

    def fit(i):
        X = tall[i % 4] if i % 5 else wide
        solver = ("covariance_eigh", "randomized", "arpack")[i % 3]
        return decompose(X, 5, solver=solver, random_state=0).singular_values

    before = _blas_counts()
    for _ in range(4):
        with ThreadPoolExecutor(6) as pool:
            list(pool.map(fit, range(60)))
        assert _blas_counts() == before


def test_single_thread_limit_keeps_a_limit_set_meanwhile():
    # Only a count still at the 1 the engine set is restored: a limit someone set
    # while a fit held it is theirs.
    with threadpool_limits(limits=2, user_api="blas"):
        with _scatter.single_threaded_blas():
            controller = ThreadpoolController().select(user_api="blas")
            controller.limit(limits=2)
            for lib in controller.lib_controllers:
                # released, as a threadpool_limits block does on exit
                getattr(lib, "clear_controlling_thread", lambda: None)()
        assert all(count == 2 for _, count in _blas_counts())


class _PerThreadLibrary:
    """A BLAS whose limit is per calling thread, as OpenBLAS on OpenMP."""

    internal_api = "openblas"
    threading_layer = "openmp"

    def __init__(self):
        self._local = threading.local()

    @property
    def num_threads(self):
        return getattr(self._local, "count", 4)

    def set_num_threads(self, count):
        self._local.count = count


def test_per_thread_blas_limits_are_restored_by_each_thread(monkeypatch):
    # A per-thread limit set by one thread and "restored" by another would leave the
    # first on one thread for good: each thread limits and restores its own.
    library = _PerThreadLibrary()
    controller = type("Controller", (), {"lib_controllers": [library]})()
    monkeypatch.setattr(_scatter, "_blas_controller", lambda: controller)
    seen = _interleaved(lambda: library.num_threads)
    assert seen == {"a inside": 1, "b inside": 1, "a after": 4, "b after": 4}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_scatter_stats_drifting_data(dtype, monkeypatch):
    # Sorted data: the first rows read for the pivot (2048 in float64, 4096 in float32)
    # hold (nearly) only the low group, so their mean, the first pivot, is ~3 sigma
    # from the overall mean. The float32 guard rejects that pass (ratio ~9 > 4) and
    # redoes it about the mean just found; the float64 guard accepts it (3 bits of 53
    # cancel).
    rng = np.random.default_rng(7)
    Z = rng.standard_normal((40_000, 128))
    X = (Z + np.where(np.arange(len(Z)) < 4000, 0.0, 1e3)[:, None]).astype(dtype)
    passes = []
    about_pivot = _scatter._about_pivot

    def counted(X, pivot, *args):
        passes.append(pivot)
        return about_pivot(X, pivot, *args)

    monkeypatch.setattr(_scatter, "_about_pivot", counted)
    stats = scatter_stats(X)
    assert len(passes) == (1 if dtype == np.float64 else 2)
    mean, ref = _exact_scatter(X)
    # float32: each entry is rounded at ~500 x its spread, ~3e-5 relative to the scatter
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    assert_allclose(stats.mean, mean, rtol=rtol)
    assert_allclose(stats.scatter, ref, rtol=rtol)


def test_top_eigh_paths_agree():
    rng = np.random.default_rng(5)
    G = rng.standard_normal((800, 1000))
    A = G @ G.T
    w_ref = scipy.linalg.eigvalsh(A)[::-1]
    for k in (5, 300, 500):  # Lanczos, subset evr, full eigh
        w, V, _ = top_eigh(A, k, random_state=0)
        assert_allclose(w, w_ref[:k], rtol=1e-10)
        assert_allclose(A @ V, V * w, atol=1e-8 * w_ref[0])


def test_auto_policy():
    assert resolve_solver(400, 50, 10, True)[0] == "full"  # small
    assert resolve_solver(10_000, 600, 10, True)[0] == "covariance_eigh"
    assert resolve_solver(600, 10_000, 10, True)[0] == "covariance_eigh"
    # 600 x 10000 centred has rank <= 599: all 600 components need the direct SVD
    assert resolve_solver(600, 10_000, 600, True)[0] == "full"
    assert resolve_solver(600, 10_000, 600, False)[0] == "covariance_eigh"


def test_auto_falls_back_when_spectrum_is_ill_conditioned():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((5000, 600)) * np.logspace(0, -10, 600)
    ref_s, _ = reference_svd(X)
    # s_200 ~ 5e-4 s_1: the Gram bound eps (s_1 / s_i)^2 keeps more than half the
    # digits; s_300 ~ 1e-5 s_1: fewer (below eps^(1/4) = 1.2e-4); s_599 ~ 1e-10: none
    result = decompose(X, 200, solver="auto")
    assert result.solver == "covariance_eigh"
    for k in (300, 590):
        result = decompose(X, k, solver="auto")
        assert result.solver == "full"
        assert "eps^(1/4)" in result.reason
    accurate = ref_s[:590] >= 1e-6 * ref_s[0]  # full: relative error u s_1 / s_i
    assert_allclose(result.singular_values[accurate], ref_s[:590][accurate], rtol=1e-9)
    with pytest.warns(ConditioningWarning, match="no correct digits"):
        decompose(X, 590, solver="covariance_eigh")


@pytest.mark.parametrize("solver", SOLVERS)
def test_deterministic(solver):
    rng = np.random.default_rng(7)
    X = rng.standard_normal((3000, 700))
    a = decompose(X, 5, solver=solver, random_state=0)
    b = decompose(X, 5, solver=solver, random_state=0)
    c = decompose(X, 5, solver=solver, random_state=1)
    assert_array_equal(a.components, b.components)
    assert_allclose(a.components, c.components, atol=1e-10)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_entries_are_located(solver, bad):
    X = np.random.default_rng(8).standard_normal((1000, 600))
    X[17, 3] = bad
    with pytest.raises(ValueError, match=r"contains NaN.*infinity.*\(17, 3\)"):
        decompose(X, 5, solver=solver)


def _graded(n=1500, d=30, seed=0):
    """Data with singular values spread over one decade (s_1 / s_d ~ 10)."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)) * np.logspace(0, -1, d)


@pytest.mark.parametrize(
    ("solver", "sparse"),
    [(s, False) for s in ALL_SOLVERS] + [(s, True) for s in ALL_SOLVERS if s != "full"],
)
@pytest.mark.parametrize(
    ("dtype", "scale"),
    [
        (np.float32, 1e-30),
        (np.float32, 1e-22),
        (np.float32, 1e18),
        (np.float32, 1e30),
        (np.float64, 1e-300),
        (np.float64, 1e-160),
        (np.float64, 1e154),
        (np.float64, 1e300),
    ],
)
def test_scale_equivariant_over_the_float_range(solver, sparse, dtype, scale):
    # Squares of these entries underflow into the subnormals or sums of squares
    # overflow in the dtype; the engine must rescale instead of returning garbage.
    base = _graded()
    ref_s, ref_V = reference_svd(base)
    X = (base * scale).astype(dtype)
    result = decompose(sp.csr_matrix(X) if sparse else X, 5, solver=solver, random_state=0)
    # relative to s_1: float32 rounding of the data (u = 6e-8) times s_1 / s_5 < 10
    # and the Gram solvers' squaring; float64 far tighter
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    s = result.singular_values.astype(np.float64)
    assert_allclose(s / scale, ref_s[:5], rtol=rtol)
    assert_allclose(result.total_norm / scale, np.linalg.norm(ref_s), rtol=rtol)
    assert np.abs(np.abs(result.components @ ref_V[:5].T) - np.eye(5)).max() < 100 * rtol


def test_overflowing_sums_are_rescaled_not_refused():
    X = np.full((600, 3), 1e200)
    X[::2] *= -1
    X[:, 1] *= np.linspace(1, 2, 600)
    result = decompose(X, 2, solver="covariance_eigh")
    ref_s, _ = reference_svd(X / 1e200)
    assert_allclose(result.singular_values / 1e200, ref_s[:2], rtol=1e-12)
    assert result.total_sum_squares == np.inf  # beyond float64, honestly
    assert_allclose(result.total_norm / 1e200, np.linalg.norm(ref_s), rtol=1e-12)


def _peak(f):
    tracemalloc.start()
    f()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_memory():
    X = np.random.default_rng(9).standard_normal((40_000, 100))
    # covariance_eigh: O(d^2 + chunk) per thread, never a copy of X (2 MiB chunks
    # here; with 2 BLAS threads, 4 threads in flight, and up to 8 segment sums of
    # d^2 held: ~0.3 X), and independent of n: 4x the rows fit in the same budget
    with threadpool_limits(limits=2, user_api="blas"):
        peak = _peak(lambda: decompose(X, 10, solver="covariance_eigh"))
        X4 = np.vstack([X] * 4)
        peak4 = _peak(lambda: decompose(X4, 10, solver="covariance_eigh"))
    assert peak < 0.35 * X.nbytes
    assert peak4 < 0.35 * X.nbytes
    # full, copy=False: no centred copy, only LAPACK's factors (U is n x d = X's size)
    Y = X.copy()
    with_copy = _peak(lambda: decompose(Y, 10, solver="full"))
    without = _peak(lambda: decompose(Y, 10, solver="full", copy=False))
    assert without < with_copy - 0.8 * X.nbytes
    assert not np.allclose(Y, X)  # X was used in place, as copy=False documents


def _balanced_one_hot(n=4000, d=40, seed=0):
    """Each row one 1, each column n / d of them: the centred data has d - 1 equal
    singular values sqrt(n / d), so its singular vectors are a subspace only."""
    X = np.zeros((n, d))
    X[np.arange(n), np.random.default_rng(seed).permutation(np.arange(n) % d)] = 1
    return X


@pytest.mark.parametrize(
    ("data", "k"),
    [
        (_balanced_one_hot(), 39),  # every tied value returned
        # 19 tied values below 3 distinct ones
        (
            np.hstack(
                [
                    _balanced_one_hot()[:, :20],
                    np.random.default_rng(1).normal(0, 5, (4000, 3)),
                ]
            ),
            22,
        ),
    ],
    ids=["one-hot", "one-hot-and-normal"],
)
def test_tied_singular_values_have_one_basis(data, k):
    # Every solver, seed and input format returns the same basis of a tied subspace:
    # the projections of the coordinate axes onto it, in index order, and PCA's signs
    # with exactly equal entries deciding by the first index.
    ref = decompose(data, k, solver="full")
    ref_s, _ = reference_svd(data)
    assert_allclose(ref.singular_values, ref_s[:k], rtol=1e-12)
    for solver in ALL_SOLVERS:
        for seed in (0, 1):
            for X in (data, sp.csr_matrix(data)):
                if sp.issparse(X) and solver == "full":
                    continue
                result = decompose(X, k, solver=solver, random_state=seed)
                # ties resolved to the rounding of the tied subspace: u s_1 / gap with
                # a gap of ~0.5 s_1 to the rest (arpack and the Gram solvers ~1e-10)
                assert_allclose(result.components, ref.components, atol=1e-9)


def test_scatter_stats_of_unaligned_data():
    # dask blocks unpickled on a worker can be unaligned: numpy's products of such data
    # skip BLAS, so their chunks are copied to an aligned buffer; same statistics
    rng = np.random.default_rng(14)
    X = rng.standard_normal((20_000, 30)) + 2
    raw = np.empty(X.nbytes + 1, dtype=np.uint8)[1:]
    unaligned = raw.view(np.float64).reshape(X.shape)
    unaligned[...] = X
    assert not unaligned.flags.aligned
    ours, aligned = scatter_stats(unaligned), scatter_stats(X)
    # the contract's |E_ij| <= c u sqrt(S_ii S_jj): off-diagonal sums cancel
    scale = np.sqrt(np.outer(np.diag(aligned.scatter), np.diag(aligned.scatter)))
    assert np.all(np.abs(ours.scatter - aligned.scatter) <= 1e-13 * scale)
    assert_allclose(ours.mean, aligned.mean, rtol=1e-14)
