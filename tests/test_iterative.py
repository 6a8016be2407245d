"""Randomized and ARPACK solvers, and sparse input, against LAPACK references.

Tolerances: ARPACK converges to working precision (tol=0), so it is held to the
direct solver's bounds. Randomized block Krylov is approximate; its error decays like
exp(-c q sqrt(gap)) with q the iterations: on the fast and slow decays below it reaches
working precision at the defaults (q = 3), on the flat tail (gap s_10 / s_11 = 1.67,
then a plateau) about 1e-10 in the values and 1e-5 in the subspace.
"""

import tracemalloc

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.decomposition import TruncatedSVD
from sklearn.exceptions import ConvergenceWarning

from sklearn_svd import ConditioningWarning, SVDDenoiser, SVDReducer
from sklearn_svd._engine import decompose, resolve_solver

K = 10


def spectrum(kind, m=60):
    if kind == "fast":
        return np.logspace(0, -6, m)
    if kind == "slow":
        return 1.0 / np.arange(1, m + 1)
    return np.r_[np.linspace(1, 0.5, 10), np.full(m - 10, 0.3)]  # flat tail


def known_spectrum(n, d, kind, offset=0.0, seed=0):
    """Rank 60 with the given decay; the flat kind also gets a full-rank noise floor."""
    rng = np.random.default_rng(seed)
    U = np.linalg.qr(rng.standard_normal((n, 60)))[0]
    V = np.linalg.qr(rng.standard_normal((d, 60)))[0]
    X = (U * spectrum(kind) * 100) @ V.T + offset
    if kind == "flat":
        X += 0.01 * rng.standard_normal((n, d))
    return X


def reference(X, center=True):
    X64 = np.asarray(X.toarray() if sp.issparse(X) else X, dtype=np.float64)
    if center:
        X64 = X64 - X64.mean(0)
    _, s, Vt = scipy.linalg.svd(X64, full_matrices=False)
    return s, Vt


def sine(V, W):
    """Sine of the largest principal angle between the row spaces of V and W."""
    V, W = np.asarray(V, dtype=np.float64), np.asarray(W, dtype=np.float64)
    return np.linalg.norm(W - (W @ V.T) @ V, 2)


# (relative error of s, subspace sine) per solver and spectrum, float64
BOUNDS = {
    ("arpack", "fast"): (1e-12, 1e-10),
    ("arpack", "slow"): (1e-12, 1e-10),
    ("arpack", "flat"): (1e-12, 1e-10),
    ("randomized", "fast"): (1e-12, 1e-10),
    ("randomized", "slow"): (1e-12, 1e-10),
    ("randomized", "flat"): (1e-10, 1e-5),
}


@pytest.mark.parametrize("solver", ["randomized", "arpack"])
@pytest.mark.parametrize("kind", ["fast", "slow", "flat"])
@pytest.mark.parametrize("shape", [(3000, 400), (400, 3000)], ids=["tall", "wide"])
@pytest.mark.parametrize("offset", [0.0, 1e6])
def test_agrees_with_direct_solver(solver, kind, shape, offset):
    X = known_spectrum(*shape, kind, offset)
    ref_s, ref_V = reference(X)
    result = decompose(X, K, solver=solver, random_state=0)
    rtol, sin_tol = BOUNDS[(solver, kind)]
    if offset:  # the data itself carries ~6 fewer digits at an offset of 1e6
        rtol, sin_tol = max(rtol, 1e-9), max(sin_tol, 1e-7)
    assert result.solver == solver and result.spectrum is None
    assert_allclose(result.singular_values, ref_s[:K], rtol=rtol)
    assert sine(result.components, ref_V[:K]) < sin_tol
    # total variance from the Frobenius norm, not from a spectrum
    assert_allclose(result.total_sum_squares, np.sum(ref_s**2), rtol=1e-9)


@pytest.mark.parametrize("solver", ["randomized", "arpack"])
def test_float32_kept(solver):
    X = known_spectrum(2000, 300, "slow").astype(np.float32)
    ref_s, ref_V = reference(X)
    result = decompose(X, K, solver=solver, random_state=0)
    assert result.singular_values.dtype == np.float32
    assert result.components.dtype == np.float32
    # float32: s_10 / s_1 = 0.1, so 1e-4 relative holds with margin (u = 6e-8)
    assert_allclose(result.singular_values, ref_s[:K], rtol=1e-4)
    assert sine(result.components, ref_V[:K]) < 1e-3


@pytest.mark.parametrize("solver", ["randomized", "arpack"])
def test_deterministic_for_a_seed(solver):
    X = known_spectrum(1500, 200, "flat")
    a = decompose(X, K, solver=solver, random_state=3)
    b = decompose(X, K, solver=solver, random_state=3)
    assert_array_equal(a.components, b.components)
    assert_array_equal(a.singular_values, b.singular_values)


def test_randomized_iterations_trade_passes_for_accuracy():
    X = known_spectrum(3000, 400, "flat")
    _, ref_V = reference(X)
    errors = []
    for q in (0, 1, 2, 3):
        # a cap below what the default tol needs: the shortfall is reported
        with pytest.warns(ConvergenceWarning, match="did not reach tol"):
            result = decompose(X, K, solver="randomized", n_iter=q, random_state=0)
        errors.append(sine(result.components, ref_V[:K]))
    assert errors[0] > errors[1] > errors[2] > errors[3]


def sparse_counts(n, d, density, seed=0, fmt="csr"):
    """Sparse counts with column weights 0.9^j, so the spectrum decays (gaps ~10%)."""
    rng = np.random.default_rng(seed)
    X = sp.random(
        n,
        d,
        density=density,
        format="csr",
        random_state=rng,
        data_rvs=lambda size: rng.poisson(3, size) + 1.0,
    )
    return (X @ sp.diags(0.9 ** np.arange(d) + 0.01)).asformat(fmt)


@pytest.mark.parametrize("solver", ["randomized", "arpack", "covariance_eigh", "auto"])
@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("shape", [(2000, 300), (300, 2000)], ids=["tall", "wide"])
def test_sparse_equals_dense(solver, fmt, shape):
    X = sparse_counts(*shape, 0.05, fmt=fmt)
    dense = SVDReducer(K, solver="full").fit(X.toarray())
    ours = SVDReducer(K, solver=solver, random_state=0).fit(X)
    assert_allclose(ours.singular_values_, dense.singular_values_, rtol=1e-8)
    assert_allclose(ours.mean_, dense.mean_, rtol=1e-12)
    assert sine(ours.components_, dense.components_) < 1e-6
    # transform of sparse input is dense and equals the dense transform
    Z = ours.transform(X)
    assert isinstance(Z, np.ndarray)
    assert_allclose(np.abs(Z), np.abs(dense.transform(X.toarray())), rtol=1e-5, atol=1e-8)
    assert isinstance(ours.inverse_transform(Z), np.ndarray)


@pytest.mark.parametrize("solver", ["randomized", "arpack", "covariance_eigh"])
def test_uncentred_sparse_matches_truncated_svd(solver):
    X = sparse_counts(1500, 400, 0.02)
    ours = SVDReducer(K, solver=solver, center=False, random_state=0).fit(X)
    tsvd = TruncatedSVD(K, algorithm="arpack", random_state=0).fit(X)
    assert_allclose(ours.singular_values_, tsvd.singular_values_, rtol=1e-8)
    assert sine(ours.components_, tsvd.components_) < 1e-6
    assert_allclose(ours.mean_, 0)


def test_sparse_input_is_never_densified():
    # 20000 x 5000 at density 1e-3: 100000 stored values (1.2 MB as CSR), 800 MB dense.
    X = sparse_counts(20_000, 5_000, 1e-3)
    dense_bytes = X.shape[0] * X.shape[1] * 8
    sparse_bytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    assert dense_bytes > 10 * sparse_bytes
    for solver in ("randomized", "arpack"):
        tracemalloc.start()
        reducer = SVDReducer(5, solver=solver, random_state=0).fit(X)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < 0.1 * dense_bytes, (solver, peak)
        assert reducer.n_components_ == 5


def test_full_solver_refuses_sparse_input():
    X = sparse_counts(100, 20, 0.1)
    with pytest.raises(TypeError, match=r"solver='full' needs dense input.*'randomized'"):
        SVDReducer(3, solver="full").fit(X)


def test_dense_iterative_memory_is_small():
    # Implicit centring: no centred copy of X (scikit-learn's make one, 1.2-1.7x X).
    X = known_spectrum(40_000, 300, "slow", offset=0.5)
    for solver in ("randomized", "arpack"):
        tracemalloc.start()
        SVDReducer(K, solver=solver, random_state=0).fit(X)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < 0.3 * X.nbytes, (solver, peak / X.nbytes)


@pytest.mark.parametrize("solver", ["randomized", "arpack"])
def test_partial_solvers_and_spectrum_rules(solver):
    X = known_spectrum(800, 100, "slow")
    with pytest.raises(
        ValueError,
        match=f"needs every singular value, which solver='{solver}' does not compute",
    ):
        SVDReducer(0.9, solver=solver).fit(X)
    with pytest.raises(ValueError, match="Give an int n_components"):
        SVDDenoiser(solver=solver).fit(X)
    # what they can do: an int rank, with a known or estimated noise level or hard
    # truncation
    denoiser = SVDDenoiser(5, noise_level=0.1, solver=solver, random_state=0).fit(X)
    exact = SVDDenoiser(5, noise_level=0.1, solver="full").fit(X)
    assert_allclose(
        denoiser.shrunk_singular_values_, exact.shrunk_singular_values_, rtol=1e-8
    )
    hard = SVDDenoiser(5, shrinkage="hard", solver=solver, random_state=0).fit(X)
    assert np.isnan(hard.noise_level_)
    # noise_variance_ and the explained variance ratio come from the Frobenius norm
    reducer = SVDReducer(5, solver=solver, random_state=0).fit(X)
    full = SVDReducer(5, solver="full").fit(X)
    assert_allclose(reducer.noise_variance_, full.noise_variance_, rtol=1e-8)
    assert_allclose(
        reducer.explained_variance_ratio_, full.explained_variance_ratio_, rtol=1e-8
    )


def test_arpack_needs_fewer_components_than_the_rank():
    X = known_spectrum(300, 60, "fast")
    with pytest.raises(
        ValueError,
        match=r"needs 0 < n_components < min\(n_samples, n_features\); got n_components=60",
    ):
        SVDReducer(60, solver="arpack").fit(X)


def test_auto_policy_for_sparse_and_large_data():
    assert resolve_solver(100_000, 20_000, 50, True, sparse=True)[0] == "arpack"
    assert resolve_solver(5_000, 300, None, True, sparse=True)[0] == "covariance_eigh"
    assert resolve_solver(5_000, 300, 100, True, sparse=True)[0] == "covariance_eigh"
    with pytest.raises(ValueError, match="Ask for at most 2000 components"):
        resolve_solver(100_000, 20_000, None, True, sparse=True)
    assert resolve_solver(50_000, 20_000, 10, True)[0] == "randomized"
    assert resolve_solver(50_000, 2_000, 10, True)[0] == "covariance_eigh"


def test_randomized_conditioning_fallback():
    # One strong column, the rest 1e-9 of it: s_2 / s_1 ~ 1e-9 < sqrt(eps).
    X = sparse_counts(3000, 100, 0.1) @ sp.diags(np.r_[1.0, np.full(99, 1e-9)])
    X = X.tocsr()
    ref_s, _ = reference(X)
    with pytest.warns(ConditioningWarning, match="randomized solver works on a Gram"):
        decompose(X, 10, solver="randomized", random_state=0)
    # few components of sparse data: ARPACK from the start
    result = decompose(X, 10, solver="auto", random_state=0)
    assert result.solver == "arpack" and "fell back" not in result.reason
    assert_allclose(result.singular_values, ref_s[:10], rtol=1e-6)
    # more (k > min(n, d) / 10): the sparse scatter, then ARPACK, never "full"
    result = decompose(X, 20, solver="auto", random_state=0)
    assert result.solver == "arpack"
    assert "covariance_eigh fell back to arpack" in result.reason
    assert_allclose(result.singular_values, ref_s[:20], rtol=1e-6)


def test_denoiser_on_sparse_input_returns_dense():
    X = sparse_counts(500, 80, 0.1)
    denoiser = SVDDenoiser(5, noise_level=0.1, solver="randomized", random_state=0)
    out = denoiser.fit_transform(X)
    assert isinstance(out, np.ndarray) and out.shape == X.shape
    assert isinstance(denoiser.inverse_transform(X), np.ndarray)
    dense = SVDDenoiser(5, noise_level=0.1, solver="full").fit_transform(X.toarray())
    assert_allclose(out, dense, rtol=1e-7, atol=1e-9)


def _weighted_case(kind, shape, dtype, rng):
    n, d = shape
    if kind == "sparse heavy":  # a column whose mean 1e6 dwarfs its spread
        X = sp.random(n, d, density=0.1, random_state=1, format="lil", dtype=dtype)
        X[:, 0] = 1e6 + rng.standard_normal((n, 1))
        return X.tocsr()
    if kind == "sparse":
        return sp.random(n, d, density=0.1, random_state=1, format="csc", dtype=dtype)
    return (rng.standard_normal(shape) + (1e4 if kind == "dense offset" else 5)).astype(
        dtype
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(300, 20), (60, 200)], ids=["tall", "wide"])
@pytest.mark.parametrize("kind", ["dense", "dense offset", "sparse", "sparse heavy"])
@pytest.mark.parametrize("center", [True, False])
def test_weighted_operator_products(kind, shape, dtype, center):
    # The weighted operator is D (X - 1 mu_w^T), D = diag(sqrt(w)), with mu_w the
    # weighted mean, refined from a rough first estimate. Reference: that matrix
    # formed explicitly in float64. Its own rounding is u |x| per entry (u 1e6 for the
    # heavy column), hence the offset cases' looser bounds.
    from sklearn_svd._operator import CentredOperator

    rng = np.random.default_rng(7)
    X = _weighted_case(kind, shape, dtype, rng)
    D = np.asarray(X.toarray() if sp.issparse(X) else X, dtype=np.float64)
    w = rng.random(shape[0]) * 3
    w[::7] = 0  # zero weights drop rows
    mean = (w @ D) / w.sum() if center else np.zeros(shape[1])
    op = CentredOperator(X, mean * (1 + 1e-6), sample_weight=w)
    A = np.sqrt(w)[:, None] * (D - mean)
    Q, P = rng.standard_normal((shape[1], 3)), rng.standard_normal((shape[0], 3))
    Y = rng.standard_normal((min(shape), 3))
    G = A.T @ A if shape[0] >= shape[1] else A @ A.T
    L = op.linear_operator()
    # float32: u = 6e-8 times the sums' cancellation (up to ~300 uncentred terms of 1e6)
    rtol = 1e-4 if dtype == np.float32 else {"dense offset": 1e-10}.get(kind, 1e-12)
    rtol = 1e-8 if kind == "sparse heavy" and dtype == np.float64 else rtol
    for ours, exact in [
        (op.matmat(Q), A @ Q),
        (op.rmatmat(P), A.T @ P),
        (op.gram(Y), G @ Y),
        (L.matvec(Q[:, 0]), A @ Q[:, 0]),
        (L.rmatvec(P[:, 0]), A.T @ P[:, 0]),
    ]:
        assert_allclose(ours, exact, atol=rtol * np.abs(exact).max())
    assert_allclose(
        op.sq_norm(), np.sum(A * A), rtol=1e-5 if dtype == np.float32 else 1e-13
    )
    if center:
        assert_allclose(op.mean, mean, rtol=1e-6 if dtype == np.float32 else 1e-14)
