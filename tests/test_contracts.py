"""The documented accuracy of each solver (README, docs/solvers.rst, docstrings), as tests.

Every bound is the documented one, in units of the unit roundoff ``u`` of the data's
dtype, checked against LAPACK ``gesdd`` on the explicitly centred float64 data:

- ``"full"``: absolute error about ``u s_1`` (backward stable), held to ``64 u s_1``;
- ``"arpack"``: working precision, held to ``64 u s_1`` too;
- ``"covariance_eigh"``: absolute error about ``u s_1^2 / s_i`` (the Gram matrix squares
  the condition number), held to ``64 u s_1^2 / s_i``;
- ``"randomized"``: relative error at most ``tol / 2 + 32 u (s_1 / s_i)^2`` (the residual
  stop), and a subspace sine at most the residual bound over the gap;
- ``"auto"``: never a kept value below ``sqrt(u) s_1`` from a Gram solver, never an
  unconverged iterative result.

The constant 64 covers ``sqrt(max(n, d))``-sized growth of the rounding on these shapes
(measured: 3-11).
"""

import warnings

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning

from sklearn_svd import ConditioningWarning, SVDReducer, _engine
from sklearn_svd._engine import decompose

N, D, K = 2000, 60, 20


def _data(kind, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "structured":  # one-hot block, all-zero and duplicated columns, noise
        X = np.zeros((N, D))
        X[np.arange(N), rng.integers(0, 12, N)] = 1
        X[:, 12:30] = rng.standard_normal((N, 18)) * np.logspace(0, -2, 18)
        X[:, 30:48] = X[:, 12:30]
        return X.astype(dtype)
    if kind == "graded":  # s_i from 1 down to 1e-3 (float32) or 1e-6 (float64)
        spectrum = np.logspace(0, -3 if dtype == np.float32 else -6, D)
    elif kind == "steep":  # down to 1e-12: s_31 and beyond are below sqrt(u) s_1
        spectrum = np.logspace(0, -12, D)
    else:  # flat: five values above a plateau, with small random gaps
        spectrum = np.r_[np.linspace(2, 1.5, 5), np.ones(D - 5)] + rng.uniform(0, 1e-3, D)
    U = np.linalg.qr(rng.standard_normal((N, D)))[0]
    V = np.linalg.qr(rng.standard_normal((D, D)))[0]
    return ((U * spectrum) @ V.T).astype(dtype)


def _reference(X):
    X64 = np.asarray(X.toarray() if sp.issparse(X) else X, dtype=np.float64)
    X64 = X64 - X64.mean(axis=0)
    _, s, Vt = scipy.linalg.svd(X64, full_matrices=False)
    return s, Vt


def _sines(V, W):
    """Sine of the angle between each row of V and the matching row of W, as the norm
    of the part of V orthogonal to W (sqrt(1 - cos^2) would floor it at 1e-8)."""
    V, W = np.asarray(V, float), np.asarray(W, float)
    cos = np.sum(V * W, axis=1, keepdims=True)
    return np.linalg.norm(V - cos * W, axis=1)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", ["graded", "flat", "structured"])
@pytest.mark.parametrize("solver", ["full", "arpack", "covariance_eigh", "randomized"])
def test_documented_singular_value_accuracy(solver, kind, dtype):
    X = _data(kind, dtype)
    ref, _ = _reference(X)
    u = np.finfo(dtype).eps / 2
    with warnings.catch_warnings():
        # The Gram solvers warn where s_i < sqrt(u) s_1 (graded float64): that warning
        # is tested below; here the bound itself is checked.
        warnings.simplefilter("ignore", ConditioningWarning)
        s = decompose(X, K, solver=solver, random_state=0).singular_values
    error = np.abs(s.astype(np.float64) - ref[:K])
    if solver in ("full", "arpack"):
        bound = 64 * u * ref[0] * np.ones(K)
    elif solver == "covariance_eigh":
        bound = 64 * u * ref[0] ** 2 / np.maximum(ref[:K], u * ref[0])
    else:
        tol = 1e-10 if dtype == np.float64 else 1e-4  # the documented defaults
        bound = tol / 2 * ref[:K] + 32 * u * ref[0] ** 2 / np.maximum(ref[:K], u * ref[0])
    assert np.all(error <= bound), np.max(error / bound)


@pytest.mark.parametrize("kind", ["graded", "flat", "structured"])
@pytest.mark.parametrize("tol", [1e-2, 1e-5, 1e-8, 1e-12])
def test_randomized_meets_any_tol(kind, tol):
    X = _data(kind, np.float64)
    ref, ref_V = _reference(X)
    u = np.finfo(np.float64).eps / 2
    result = decompose(X, 5, solver="randomized", tol=tol, random_state=0)
    s = result.singular_values
    residual = tol * ref[:5] ** 2 + 64 * u * ref[0] ** 2  # the stopping rule, on s^2
    bound = tol / 2 * ref[:5] + 32 * u * ref[0] ** 2 / ref[:5]
    assert np.all(np.abs(s - ref[:5]) <= bound)
    if kind == "graded":  # separated values: sine <= residual / gap (Davis-Kahan)
        gap = np.minimum(
            ref[:5] ** 2 - ref[1:6] ** 2, np.r_[np.inf, ref[:4] ** 2 - ref[1:5] ** 2]
        )
        assert np.all(_sines(result.components, ref_V[:5]) <= residual / gap)


def test_randomized_passes_grow_as_tol_shrinks():
    # the same iteration, stopped later: the cap below the need warns, and a tighter
    # tol never costs fewer passes (seen through the cap that first suffices)
    X = _data("flat", np.float64)

    def passes(tol):
        for cap in range(0, 61):
            with warnings.catch_warnings():
                warnings.simplefilter("error", ConvergenceWarning)
                try:
                    decompose(
                        X, 5, solver="randomized", tol=tol, n_iter=cap, random_state=0
                    )
                except ConvergenceWarning:
                    continue
            return cap
        return np.inf

    counts = [passes(tol) for tol in (1e-2, 1e-6, 1e-10)]
    assert counts[0] <= counts[1] <= counts[2] < np.inf
    assert counts[0] < counts[2]


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_auto_verifies_what_it_returns(sparse):
    # s_31 / s_1 < sqrt(u): a Gram solver has no correct digits there
    X = _data("steep", np.float64)
    X = sp.csr_matrix(X) if sparse else X
    ref, _ = _reference(X)
    k = 45  # > min(n, d) / 10: the covariance solver; s_45 ~ 1e-9 s_1, its fallback
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reducer = SVDReducer(k, random_state=0).fit(X)
    assert reducer.solver_ == ("arpack" if sparse else "full")
    assert "fell back" in reducer.solver_reason_
    u = np.finfo(np.float64).eps / 2
    assert np.all(np.abs(reducer.singular_values_ - ref[:k]) <= 64 * u * ref[0])


def test_forced_gram_solver_warns_where_it_has_no_digits():
    X = _data("steep", np.float64)
    with pytest.warns(ConditioningWarning, match="no correct digits"):
        decompose(X, 50, solver="covariance_eigh")
    with pytest.warns(ConditioningWarning, match="no correct digits"):
        decompose(X, 50, solver="randomized", random_state=0)


def test_randomized_cap_is_reported_and_auto_falls_back(monkeypatch):
    X = _data("flat", np.float64)
    ref, _ = _reference(X)
    with pytest.warns(ConvergenceWarning, match="did not reach tol"):
        decompose(X, 5, solver="randomized", n_iter=1, random_state=0)
    # "auto" takes randomized for a few components past LARGE_PRODUCT columns; with a
    # cap it cannot meet, it returns ARPACK's answer instead, and says so
    monkeypatch.setattr(_engine, "LARGE_PRODUCT", 50)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = decompose(X, 5, solver="auto", n_iter=1, random_state=0)
    assert result.solver == "arpack"
    assert "randomized fell back to arpack" in result.reason
    assert_allclose(result.singular_values, ref[:5], rtol=1e-12)
    # and with the default cap it converges by itself
    result = decompose(X, 5, solver="auto", random_state=0)
    assert result.solver == "randomized"
    assert_allclose(result.singular_values, ref[:5], rtol=1e-12)


def _duplicated_columns(n, d, seed=0):
    """Gaussian data whose second half of columns repeats the first: centred rank
    ``min(n - 1, d / 2)``, the other singular values exactly 0."""
    X = np.random.default_rng(seed).standard_normal((n, d))
    X[:, d // 2 :] = X[:, : d - d // 2]
    return X


@pytest.mark.parametrize(
    ("shape", "k", "sparse"),
    [((600, 1000), 505, True), ((600, 1000), 505, False), ((10, 2000), None, True)],
    ids=["csr-505-of-rank-500", "dense-505-of-rank-500", "csr-10x2000-all"],
)
def test_auto_zero_singular_values_are_zero(shape, k, sparse):
    # Numerically zero singular values come out of a Gram solver as rounding noise up
    # to ~12 sqrt(eps) s_1 (1.7e-8 s_1 on the CSR case, just above the sqrt(eps)
    # refit threshold, so "auto" returned them, and whitened them to unit variance).
    # "auto" now redoes any kept value below eps^(1/4) s_1 with a solver that resolves
    # it: LAPACK-grade zeros, whitened scores exactly 0.
    X = _duplicated_columns(*shape)
    ref, _ = _reference(X)
    rank = int(np.sum(ref > max(shape) * np.finfo(np.float64).eps * ref[0]))
    data = sp.csr_matrix(X) if sparse else X
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reducer = SVDReducer(k, whiten=True, random_state=0).fit(data)
    s = reducer.singular_values_
    assert s.size > rank
    assert np.max(s[rank:]) <= 64 * np.finfo(np.float64).eps * s[0]
    assert_allclose(s[:rank], ref[:rank], rtol=1e-10)
    scores = reducer.transform(data)
    assert np.all(scores[:, rank:] == 0)
    assert_allclose(scores[:, :rank].std(axis=0, ddof=1), 1.0, rtol=1e-8)


def test_forced_gram_solver_warns_at_its_noise_floor():
    # The same zeros from a forced Gram solver: noise above sqrt(eps) s_1 but below
    # its floor sqrt(2^10 eps) s_1 is reported as having no correct digits.
    X = sp.csr_matrix(_duplicated_columns(600, 1000))
    with pytest.warns(ConditioningWarning, match="no correct digits"):
        decompose(X, 505, solver="covariance_eigh")


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_auto_uncentred_keeps_half_the_digits(sparse):
    # Uncentred data far from 0 (TruncatedSVD's use): s_1 is the offset's, s_2 / s_1
    # ~ 5e-8, so the Gram bound eps (s_1 / s_i)^2 is ~0.1: "auto" kept covariance_eigh
    # and returned 2-3 correct digits (max relative error 4e-3 dense, 1e-2 CSR, where
    # TruncatedSVD's ARPACK gives 2.5e-10). Now any kept value below eps^(1/4) s_1
    # is redone by "full" (dense) or ARPACK (sparse).
    rng = np.random.default_rng(0)
    X = rng.standard_normal((1000, 600)) * np.logspace(0, -2, 600) + 1e6
    ref = scipy.linalg.svd(X, compute_uv=False)[:100]
    data = sp.csr_matrix(X) if sparse else X
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reducer = SVDReducer(100, center=False, random_state=0).fit(data)
    assert reducer.solver_ == ("arpack" if sparse else "full")
    assert "eps^(1/4)" in reducer.solver_reason_
    # ARPACK: working precision in the data's norm, u s_1 / s_i relative on s_i ~
    # 2e-8 s_1; LAPACK: the same bound
    assert_allclose(reducer.singular_values_, ref, rtol=1e-8)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_auto_keeps_the_gram_solver_on_ordinary_data(dtype):
    # benchmarks/compare.py's data (a rank-20 signal with strengths 1 .. 0.03, noise,
    # column means): ten components are far above eps^(1/4) s_1, so no refit.
    rng = np.random.default_rng(0)
    latent = rng.standard_normal((4000, 20)) * np.logspace(0, -1.5, 20)
    X = latent @ rng.standard_normal((20, 600)) / np.sqrt(20)
    X += 0.05 * rng.standard_normal(X.shape) + rng.standard_normal(600)
    result = decompose(X.astype(dtype), 10, solver="auto")
    assert result.solver == "covariance_eigh"
    assert "fell back" not in result.reason
