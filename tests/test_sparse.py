"""Sparse input against LAPACK's SVD of the explicitly centred float64 data.

The data mixes light columns (80% zeros, mean ~0: the fast sparse products) with dense
columns carrying an offset: 0, 1e4 in float32 (each float32 value keeps ~8 bits of
a spread of 1), 1e8 in float64 (~27 bits). A product corrected for the mean,
``X^T X - n mu mu^T``, would keep no digit of those columns' variances; every solver
must be as accurate as on data near 0.

Tolerances (u = unit roundoff: 1.1e-16 in float64, 6e-8 in float32):
- covariance_eigh and ARPACK (eigsh on the Gram operator) square the condition
  number: a singular value's relative error is about ``u (s_1 / s_i)^2``, which is at
  most 36 u for the top K = 5 here (``s_1 / s_5`` ~ 6); allowed: ``c u (s_1 / s_K)^2``
  with ``c = 20`` of margin.
- randomized block Krylov stops at a residual ``tol`` (1e-10, 1e-4 by dtype): its
  documented bound is ``tol / 2 + 32 u (s_1 / s_i)^2``, allowed twice that.
- explained variance ratios square ``s`` (twice its error) over a total that is exact
  to rounding (``||X_c||_F^2`` from per-column sums in float64, or a trace).
- the mean is two-pass accurate and returned in the dtype of ``X``: within ``eps``
  (twice u) of ``|mean| + spread``.
- components: the error of an axis is its residual over the relative gap to its
  neighbours (>= 0.45 in squares for the top 3 here): ``u (s_1 / s_i)^2 / 0.45`` for
  the direct solvers, ``tol / 0.45`` for randomized; allowed 10 times the bound on ``s``.
"""

import functools
import math

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from sklearn_svd import SVDDenoiser, SVDReducer
from sklearn_svd._iterative import default_tol
from sklearn_svd._operator import CentredOperator
from sklearn_svd._scatter import (
    sparse_centred_product,
    sparse_column_sums,
    sparse_gram_stats,
    sparse_scatter_stats,
)

K = 5
SOLVERS = ["covariance_eigh", "randomized", "arpack", "auto"]
CASES = [("float64", 0.0), ("float32", 0.0), ("float32", 1e4), ("float64", 1e8)]
SHAPES = {"tall": (600, 60), "wide": (60, 600)}
FORMATS = {"csr": sp.csr_matrix, "csc": sp.csc_matrix}


def mixed_data(shape, dtype, offset, seed=0):
    """Three latent factors plus noise, column scales 1 .. 0.1 (full rank, decaying
    spectrum); even columns 80% zeros, odd columns dense plus ``offset``."""
    n, d = shape
    rng = np.random.default_rng(seed)
    factors = rng.standard_normal((n, 3)) @ (
        rng.standard_normal((3, d)) * [[3.0], [2.0], [1.4]]
    )
    X = (factors + rng.standard_normal((n, d))) * np.logspace(0, -1, d)
    light = np.arange(d) % 2 == 0
    X[:, light] *= rng.random((n, light.sum())) < 0.2
    X[:, ~light] += offset
    return X.astype(dtype)


@functools.cache
def reference(shape, dtype, offset):
    """The data, its mean (exactly rounded sums) and LAPACK gesdd on it centred in
    float64."""
    X = mixed_data(shape, dtype, offset)
    mean = exact_mean(X)
    _, s, Vt = scipy.linalg.svd(X.astype(np.float64) - mean, full_matrices=False)
    # PCA's sign convention: each row's largest-magnitude entry positive
    Vt *= np.sign(Vt[np.arange(len(Vt)), np.abs(Vt).argmax(axis=1)])[:, None]
    return X, mean, s, Vt


@functools.cache
def reference_denoiser(shape, dtype, offset):
    """The default denoiser fitted by LAPACK ("full") on the float64 data."""
    X = reference(shape, dtype, offset)[0]
    return SVDDenoiser(solver="full").fit(X.astype(np.float64))


def s_rtol(dtype, solver, s):
    """Relative error allowed in ``s[:K]`` (module notes)."""
    u = np.finfo(dtype).eps / 2
    squared = u * (s[0] / s[K - 1]) ** 2
    if solver == "randomized":
        return 2 * (default_tol(dtype) / 2 + 32 * squared)
    return 20 * squared


def check_against_reference(est, X, mean, s, Vt, solver):
    """Every fitted quantity of ``est`` (fitted on ``X``) against the LAPACK reference."""
    n, d = X.shape
    dof = n - 1
    rtol = s_rtol(X.dtype, solver, s)
    total = np.sum(s**2)
    assert est.n_components_ == K
    assert est.singular_values_.dtype == X.dtype
    assert_allclose(est.singular_values_, s[:K], rtol=rtol)
    assert_allclose(est.explained_variance_ratio_, s[:K] ** 2 / total, rtol=3 * rtol)
    # a sum over many columns in float64, or a trace of float64-accumulated products
    total_rtol = 1e-12 if X.dtype == np.float64 else 1e-5
    assert_allclose(est.total_variance_, total / dof, rtol=total_rtol)
    # noise_variance_ = (total - kept) / rest: the kept part's error, undivided
    kept = np.sum(s[:K] ** 2)
    rest = min(n, d) - K
    atol = (2 * rtol * kept + total_rtol * total) / (rest * dof)
    assert_allclose(est.noise_variance_, (total - kept) / (rest * dof), rtol=0, atol=atol)
    spread = X.astype(np.float64).std(axis=0)
    eps = np.finfo(X.dtype).eps
    assert np.all(np.abs(est.mean_ - mean) <= eps * (np.abs(mean) + spread))
    assert_allclose(est.components_[:3], Vt[:3], rtol=0, atol=10 * rtol)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("estimator", ["reducer", "denoiser"])
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("dtype", "offset"), CASES, ids=str)
def test_every_sparse_solver_matches_lapack(dtype, offset, shape, fmt, estimator, solver):
    X, mean, s, Vt = reference(SHAPES[shape], dtype, offset)
    if estimator == "reducer":
        est = SVDReducer(K, solver=solver, random_state=0)
    else:  # a noise level far below the spectrum: every one of the K values is kept
        est = SVDDenoiser(K, noise_level=1e-3, solver=solver, random_state=0)
    est.fit(FORMATS[fmt](X))
    check_against_reference(est, X, mean, s, Vt, solver)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("dtype", "offset"), CASES, ids=str)
def test_denoiser_spectrum_rules_match_lapack(dtype, offset, shape, fmt):
    # The default denoiser reads the whole spectrum (noise estimate, rank): sparse
    # "auto" (covariance_eigh) against LAPACK on the float64 data. The noise level is
    # a median of the spectrum, whose smallest values s_i carry an error of about
    # u (s_1 / s_i)^2: 1e-3 relative in float32 at s_1 / s_i ~ 130, far less in float64.
    X, mean, _, _ = reference(SHAPES[shape], dtype, offset)
    ref = reference_denoiser(SHAPES[shape], dtype, offset)
    est = SVDDenoiser().fit(FORMATS[fmt](X))
    rtol = 1e-9 if dtype == "float64" else 2e-3
    assert est.n_components_ == ref.n_components_
    assert_allclose(est.noise_level_, ref.noise_level_, rtol=rtol)
    assert_allclose(est.singular_values_, ref.singular_values_, rtol=rtol)
    assert_allclose(est.total_variance_, ref.total_variance_, rtol=rtol)
    # (noise_variance_ is held to its closed form in the fixed-rank test above: here
    # the rank leaves one or two values, whose mean square the non-LAPACK solvers
    # report as 0 when it is below max(n, d) eps of the total, by _base's rule.)
    spread = X.astype(np.float64).std(axis=0)
    eps = np.finfo(X.dtype).eps
    assert np.all(np.abs(est.mean_ - mean) <= eps * (np.abs(mean) + spread))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("dtype", "offset"), CASES, ids=str)
def test_sparse_equals_dense(dtype, offset, shape):
    # Both against the same reference; the dense path is the one held to it in
    # test_engine.py. transform of sparse input is compared near 0 only: at an offset
    # it is centred implicitly (_base.centred_dot), which this module does not fix.
    X, _, s, _ = reference(SHAPES[shape], dtype, offset)
    sparse = SVDReducer(K, solver="covariance_eigh").fit(sp.csr_matrix(X))
    dense = SVDReducer(K, solver="covariance_eigh").fit(X)
    rtol = 2 * s_rtol(X.dtype, "covariance_eigh", s)
    assert_allclose(sparse.singular_values_, dense.singular_values_, rtol=rtol)
    assert_allclose(
        sparse.explained_variance_ratio_, dense.explained_variance_ratio_, rtol=3 * rtol
    )
    assert_allclose(sparse.components_[:3], dense.components_[:3], rtol=0, atol=10 * rtol)
    # the dense mean is held to 1e-10 (float64) and 1e-3 (float32, float32 block sums)
    # of each column's spread in test_engine.py; both are rounded to the dtype
    eps = np.finfo(X.dtype).eps
    spread = X.astype(np.float64).std(axis=0)
    dense_tol = 1e-10 if X.dtype == np.float64 else 1e-3
    bound = eps * np.abs(dense.mean_) + dense_tol * spread
    assert np.all(np.abs(sparse.mean_ - dense.mean_) <= bound)
    if offset == 0:
        # scores of size ~s_1 / sqrt(n) with an error of ~u s_1 per entry
        atol = 1e3 * np.finfo(X.dtype).eps * s[0]
        assert_allclose(sparse.transform(sp.csr_matrix(X)), dense.transform(X), atol=atol)


def exact_mean(X):
    """Column means from exactly rounded sums (numpy's mean over rows is a sequential
    sum: at an offset of 1e4 in float64 it is off by ~50 u |mean|)."""
    X64 = np.asarray(X, dtype=np.float64)
    return np.array([math.fsum(column) for column in X64.T]) / len(X64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("offset", [1e2, 1e4])
def test_scatter_and_gram_contract(dtype, offset):
    # Contract of the sparse scatter (and Gram): |E_ij| <= c u sqrt(S_ii S_jj) with c at
    # most the guard's cancellation L (_max_cancellation: 2^10 in float64, 4 in float32)
    # times the growth of a sum of n products (~sqrt(n)), whatever the offset: light
    # columns through the float64 sparse product corrected for the mean, heavy ones
    # (offset 1e2 in float32, 1e4 in both) centred exactly in dense chunks. Allowed
    # 2 L sqrt(n).
    X = mixed_data((3000, 40), dtype, offset)
    mean = exact_mean(X)
    Xc = X.astype(np.float64) - mean
    S = Xc.T @ Xc
    u = np.finfo(dtype).eps / 2
    c = 2 * (2.0**10 if dtype == np.float64 else 4.0) * np.sqrt(len(X))
    stats = sparse_scatter_stats(sp.csr_matrix(X))
    scale = np.sqrt(np.outer(np.diag(S), np.diag(S)))
    assert np.all(np.abs(stats.scatter - S) <= c * u * scale)
    # two-pass mean: within a few u of |mean| + spread
    assert np.all(np.abs(stats.mean - mean) <= 4 * u * (np.abs(mean) + Xc.std(0)))
    # 40 x 600: wide, with offset columns among the first 300
    W = np.hstack([X[:300].T, mixed_data((40, 300), dtype, offset, seed=1)])
    mean = exact_mean(W)
    Wc = W.astype(np.float64) - mean
    G = Wc @ Wc.T
    c = 2 * (2.0**10 if dtype == np.float64 else 4.0) * np.sqrt(W.shape[1])
    mean_w, gram, exact = sparse_gram_stats(sp.csc_matrix(W))
    assert exact  # the offset columns were centred explicitly
    scale = np.sqrt(np.outer(np.diag(G), np.diag(G)))
    assert np.all(np.abs(gram - G) <= c * u * scale)
    assert np.all(np.abs(mean_w - mean) <= 4 * u * (np.abs(mean) + Wc.std(0)))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("dtype", "offset"), CASES, ids=str)
def test_centred_operator_products(dtype, offset, shape):
    X, mean, s, _ = reference(SHAPES[shape], dtype, offset)
    M = sp.csr_matrix(X)
    op = CentredOperator(M, sparse_column_sums(M) / len(X))
    # The operator's mean: two-pass, within a few u of |mean| + spread (in float64, of
    # the data's dtype: float64 cannot hold a mean of 1e8 closer than 1.5e-8).
    u = np.finfo(np.float64).eps / 2
    spread = X.astype(np.float64).std(axis=0)
    assert np.all(np.abs(op.mean - mean) <= 4 * u * (np.abs(mean) + spread))
    # Each product with X - 1 op.mean^T against the explicit float64 product (exact
    # centring: x - mean is exact for x close to mean): a sum of d (or n) terms in the
    # dtype of X errs by about u sqrt(d) |x_c| |q| per entry; allowed 64 u |X_c| |Q|.
    Xc = X.astype(np.float64) - op.mean
    rng = np.random.default_rng(0)
    Q = rng.standard_normal((X.shape[1], 3))
    P = rng.standard_normal((X.shape[0], 3))
    Y = rng.standard_normal((min(X.shape), 3))
    tol = 64 * np.finfo(dtype).eps / 2 * np.linalg.norm(Xc)
    assert np.abs(op.matmat(Q) - Xc @ Q).max() <= tol * np.linalg.norm(Q)
    assert np.abs(op.rmatmat(P) - Xc.T @ P).max() <= tol * np.linalg.norm(P)
    gram = Xc.T @ (Xc @ Y) if X.shape[0] >= X.shape[1] else Xc @ (Xc.T @ Y)
    bound = 2 * tol * np.linalg.norm(Xc) * np.linalg.norm(Y)
    assert np.abs(op.gram(Y) - gram).max() <= bound
    # ||X_c||_F^2 from per-column sums in float64: exact to float64 rounding
    assert_allclose(op.sq_norm(), np.sum(s**2), rtol=1e-13)


@pytest.mark.parametrize(("dtype", "offset"), CASES, ids=str)
def test_sparse_centred_product(dtype, offset):
    # U^T X_c for the wide path's V: against the explicit float64 product, entry by
    # entry within 64 u |a_i| |x_j - mean_j| (a sum of n products in the dtype of X).
    X, mean, _, _ = reference(SHAPES["wide"], dtype, offset)
    Xc = X.astype(np.float64) - mean
    A = np.random.default_rng(0).standard_normal((4, X.shape[0])).astype(dtype)
    out = sparse_centred_product(A, sp.csr_matrix(X), mean)
    bound = np.outer(np.linalg.norm(A, axis=1), np.linalg.norm(Xc, axis=0))
    u = np.finfo(dtype).eps / 2
    assert np.all(np.abs(out - A.astype(np.float64) @ Xc) <= 64 * u * bound)


def test_reproducer_float32_offset_1e4():
    # The report: float32 data + 1e4 as CSR gave s_1 = 2350 (covariance_eigh, truth
    # ~300), explained variance ratios summing to 0.18 (arpack), and a denoiser of rank
    # 16 with sigma 0.
    X, _, s, _ = reference(SHAPES["tall"], "float32", 1e4)
    total = np.sum(s**2)
    S = sp.csr_matrix(X)
    assert_allclose(SVDReducer(K).fit(S).singular_values_, s[:K], rtol=1e-5)
    ratio = SVDReducer(K, solver="arpack", random_state=0).fit(S).explained_variance_ratio_
    assert_allclose(ratio.sum(), np.sum(s[:K] ** 2) / total, rtol=1e-5)
    ref = reference_denoiser(SHAPES["tall"], "float32", 1e4)
    den = SVDDenoiser().fit(S)
    assert den.n_components_ == ref.n_components_
    assert_allclose(den.noise_level_, ref.noise_level_, rtol=2e-3)


def test_float32_column_sums_in_float64():
    # 200000 stored copies of float32(0.1) in one column: float32 accumulation drifts
    # by ~1e-3 relative; the float64 sum is exact to ~n u_64 = 2e-11.
    n = 200_000
    value = np.float32(0.1)
    X = sp.csr_matrix(
        (np.full(n, value), np.zeros(n, dtype=np.int32), np.arange(n + 1)), shape=(n, 2)
    )
    expected = n * float(value)
    for M in (X, X.tocsc()):
        sums = sparse_column_sums(M)
        assert sums.dtype == np.float64
        assert_allclose(sums, [expected, 0.0], rtol=1e-12)


def large_with_nonfinite(fmt, index_dtype):
    """A 2000 x 1000 matrix with 1e6 stored values, NaN at three of them and inf at two,
    and the (row, column) of each (from COO, independently of the sparse structure)."""
    rng = np.random.default_rng(0)
    n, d = 2000, 1000
    flat = np.sort(rng.choice(n * d, size=1_000_000, replace=False))
    coo = sp.coo_matrix(
        (rng.standard_normal(flat.size), (flat // d, flat % d)), shape=(n, d)
    )
    X = coo.asformat(fmt)
    X.indices = X.indices.astype(index_dtype)
    X.indptr = X.indptr.astype(index_dtype)
    picks = [654_321, 10, 999_999, 500_000, 77]
    X.data[picks[:3]] = np.nan
    X.data[picks[3:]] = [np.inf, -np.inf]
    # positions of the picked stored values, from a COO view of the same arrays
    rows, cols = (X.tocoo().row, X.tocoo().col)
    where = sorted(zip(rows[picks], cols[picks], strict=True))
    return X, where


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("fmt", FORMATS)
def test_nonfinite_message_names_row_and_column(fmt, index_dtype):
    X, where = large_with_nonfinite(fmt, index_dtype)
    named = ", ".join(f"({r}, {c})" for r, c in where)
    message = (
        r"contains NaN \(3 entries\) or infinity \(2 entries\), at \(row, column\) "
        + named.replace("(", r"\(").replace(")", r"\)")
        + r"\. "
    )
    # warnings are errors in this run: no RuntimeWarning may precede the error
    for est in (
        SVDReducer(K, solver="randomized"),
        SVDReducer(K, solver="arpack"),
        SVDReducer(None, solver="covariance_eigh"),
        SVDReducer(K),
        SVDDenoiser(),
    ):
        with pytest.raises(ValueError, match=message):
            est.fit(X)


def non_canonical(X, index_dtype):
    """``X`` (CSR or CSC) with every stored value split into two duplicates, indices
    reversed within each row (column), and indices of ``index_dtype``."""
    major = np.repeat(np.arange(len(X.indptr) - 1), np.diff(X.indptr))
    order = np.lexsort((-X.indices, major))
    data = np.concatenate([X.data[order] * 0.5, X.data[order] * 0.5])
    indices = np.concatenate([X.indices[order], X.indices[order]])
    owner = np.concatenate([major[order], major[order]])
    order = np.argsort(owner, kind="stable")
    indptr = np.r_[0, np.cumsum(np.diff(X.indptr) * 2)]
    M = type(X)((data[order], indices[order], indptr), shape=X.shape)
    # set after construction, which would take int32 indices where they fit
    M.indices, M.indptr = M.indices.astype(index_dtype), M.indptr.astype(index_dtype)
    return M


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("shape", SHAPES)
def test_callers_matrix_is_never_modified(shape, fmt, index_dtype):
    # Duplicates and unsorted indices must be summed and sorted on a copy; the fits
    # still see the summed values (x / 2 + x / 2 = x exactly in binary).
    X, mean, s, Vt = reference(SHAPES[shape], "float32", 1e4)
    M = non_canonical(FORMATS[fmt](X), index_dtype)
    assert not M.has_sorted_indices
    data, indices, indptr = M.data.copy(), M.indices.copy(), M.indptr.copy()
    for solver in SOLVERS:
        est = SVDReducer(K, solver=solver, random_state=0)
        est.fit(M)
        check_against_reference(est, X, mean, s, Vt, solver)
        est.fit_transform(M)
        est.transform(M)
        SVDDenoiser(K, noise_level=1e-3, solver=solver, random_state=0).fit_transform(M)
    SVDDenoiser().fit(M)
    assert M.data.dtype == np.float32 and M.indices.dtype == index_dtype
    assert M.indptr.dtype == index_dtype
    assert_array_equal(M.data, data)
    assert_array_equal(M.indices, indices)
    assert_array_equal(M.indptr, indptr)
