"""SVDImputer against references written here: plain soft-impute and EM-PCA loops on
numpy.linalg.svd, least squares by numpy.linalg.lstsq, the soft-impute optimality
conditions, and exact recovery of low-rank matrices."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sklearn_svd import SVDImputer, SVDReducer


def low_rank(n, d, rank, *, noise=0.0, offset=0.0, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, rank)) @ rng.standard_normal((rank, d))
    X += offset + rng.standard_normal(d)  # column means
    return X + noise * rng.standard_normal((n, d))


def remove(X, fraction, seed=1):
    """``X`` with about ``fraction`` of its entries set to NaN, and the mask."""
    mask = np.random.default_rng(seed).random(X.shape) < fraction
    return np.where(mask, np.nan, X), mask


def reference_soft_impute(X_missing, lam, tol=1e-14, max_iter=100_000):
    """Mazumder, Hastie & Tibshirani (2010), Algorithm 1, with unpenalised column
    means: Z <- P_obs(X) + P_miss(mean(Z) + S_lam(Z - mean(Z)))."""
    mask = np.isnan(X_missing)
    Z = np.where(mask, np.nanmean(X_missing, axis=0), X_missing)
    for _ in range(max_iter):
        mean = Z.mean(axis=0)
        U, s, Vt = np.linalg.svd(Z - mean, full_matrices=False)
        L = (U * np.maximum(s - lam, 0)) @ Vt + mean
        change = np.linalg.norm((L - Z)[mask]) / np.linalg.norm(Z - mean)
        Z[mask] = L[mask]
        if change < tol:
            return Z
    raise AssertionError("the reference did not converge")


def reference_em_pca(X_missing, k, tol=1e-14, max_iter=100_000):
    """Plain hard-impute (EM-PCA in the zero-noise limit): the rank-k PCA model of
    the completed matrix fills its missing entries. Returns Z, mean, components."""
    mask = np.isnan(X_missing)
    Z = np.where(mask, np.nanmean(X_missing, axis=0), X_missing)
    for _ in range(max_iter):
        mean = Z.mean(axis=0)
        U, s, Vt = np.linalg.svd(Z - mean, full_matrices=False)
        L = (U[:, :k] * s[:k]) @ Vt[:k] + mean
        change = np.linalg.norm((L - Z)[mask]) / np.linalg.norm(Z - mean)
        Z[mask] = L[mask]
        if change < tol:
            return Z, Z.mean(axis=0), np.linalg.svd(Z - Z.mean(0))[2][:k]
    raise AssertionError("the reference did not converge")


def same_subspace(A, B):
    """Sine of the largest principal angle between the row spaces of A and B."""
    QA, QB = np.linalg.qr(A.T)[0], np.linalg.qr(B.T)[0]
    return np.linalg.norm(QB - QA @ (QA.T @ QB), 2)


# -- against references -------------------------------------------------------------


@pytest.mark.parametrize("lam", [0.5, 3.0, 20.0])
def test_soft_impute_matches_reference(lam):
    X_missing, _ = remove(low_rank(60, 12, 3, noise=0.3, offset=2.0), 0.3)
    expected = reference_soft_impute(X_missing.copy(), lam)
    imputer = SVDImputer(method="soft", shrinkage=lam, tol=1e-13, max_iter=10_000)
    out = imputer.fit_transform(X_missing)
    # both converge to the unique minimiser; 1e-13 per iteration leaves ~1e-11
    assert_allclose(out, expected, rtol=0, atol=1e-9 * np.abs(expected).max())
    assert imputer.shrinkage_ == lam
    assert_allclose(imputer.threshold_, lam)


def test_soft_impute_solution_is_optimal():
    """The optimality conditions of min ||P_obs(X - 1 mu^T - M)||^2 / 2 + lam ||M||_*:
    with R = P_obs(X - 1 mu^T - M) and M = U diag(t) V^T (t > 0), the columns of R
    sum to zero, U^T R V = lam I, and the rest of R has spectral norm <= lam."""
    lam = 4.0
    X_missing, mask = remove(low_rank(80, 15, 4, noise=0.5, offset=-3.0), 0.25)
    imputer = SVDImputer(method="soft", shrinkage=lam, tol=1e-13, max_iter=10_000)
    Z = imputer.fit_transform(X_missing)
    V = imputer.components_
    t = imputer.shrunk_singular_values_
    centred = Z - imputer.mean_
    U = centred @ V.T / imputer.singular_values_
    M = (U * t) @ V
    R = np.where(mask, 0.0, Z - imputer.mean_ - M)
    scale = np.abs(R).max()
    assert_allclose(R.sum(axis=0), 0, atol=1e-8 * scale * len(R))
    assert_allclose(U.T @ R @ V.T, lam * np.eye(len(t)), atol=1e-7 * lam)
    rest = R - U @ (U.T @ R @ V.T) @ V
    assert np.linalg.norm(rest, 2) <= lam * (1 + 1e-7)


def test_hard_impute_matches_em_pca():
    X_missing, _ = remove(low_rank(70, 10, 3, noise=0.2, offset=5.0), 0.2)
    Z_ref, mean_ref, V_ref = reference_em_pca(X_missing.copy(), 3)
    imputer = SVDImputer(3, shrinkage=0, tol=1e-13, max_iter=10_000)
    Z = imputer.fit_transform(X_missing)
    assert_allclose(Z, Z_ref, rtol=0, atol=1e-8 * np.abs(Z_ref).max())
    assert_allclose(imputer.mean_, mean_ref, rtol=0, atol=1e-8 * np.abs(Z_ref).max())
    assert same_subspace(imputer.components_, V_ref) < 1e-8


@pytest.mark.parametrize("shrinkage", [0, "auto"])
@pytest.mark.parametrize("shape", [(300, 40), (40, 300)])
def test_hard_impute_recovers_exact_low_rank(shrinkage, shape):
    X = low_rank(*shape, 4, offset=10.0)
    X_missing, mask = remove(X, 0.3)
    imputer = SVDImputer(4, shrinkage=shrinkage, tol=1e-12, max_iter=5000)
    out = imputer.fit_transform(X_missing)
    # exact data: only the convergence tolerance and rounding stand between the fill
    # and the truth
    assert_allclose(out[mask], X[mask], rtol=0, atol=1e-8 * np.abs(X).max())
    assert imputer.n_components_ == 4


def test_auto_rank_recovers_exact_low_rank():
    X = low_rank(200, 20, 3, offset=1.0)
    X_missing, mask = remove(X, 0.3)
    imputer = SVDImputer(tol=1e-12, max_iter=5000, random_state=0)
    out = imputer.fit_transform(X_missing)
    assert imputer.n_components_ == 3
    assert_allclose(out[mask], X[mask], rtol=0, atol=1e-8 * np.abs(X).max())


@pytest.mark.parametrize("fraction", [0.1, 0.5])
def test_auto_rank_on_noisy_low_rank(fraction):
    """The rank found on held-out entries and the noise shrinkage do as well as
    plain hard-impute told the true rank (the benchmark's target, small)."""
    X = low_rank(600, 60, 5, noise=0.1)
    X_missing, mask = remove(X, fraction)
    known = SVDImputer(5, shrinkage=0).fit_transform(X_missing)
    imputer = SVDImputer(random_state=0)
    auto = imputer.fit_transform(X_missing)
    assert imputer.n_components_ == 5
    error = np.linalg.norm(auto[mask] - X[mask])
    assert error <= 1.05 * np.linalg.norm(known[mask] - X[mask])
    path = imputer.validation_path_
    assert path.shape[1] == 2 and path[0, 0] == 0 and 0.9 < path[0, 1] < 1.1


def test_shrinkage_guards_against_too_large_a_rank():
    """Plain hard-impute at twice the rank fits noise into the missing entries; the
    noise shrinkage drops the extra components."""
    X = low_rank(400, 40, 4, noise=0.1)
    X_missing, mask = remove(X, 0.5)

    def error(imputer):
        return np.linalg.norm(imputer.fit_transform(X_missing)[mask] - X[mask])

    right = error(SVDImputer(4, shrinkage=0))
    shrunk = SVDImputer(8)
    assert error(shrunk) <= 1.02 * right
    assert shrunk.n_components_ == 4
    # (plain hard-impute wanders among its many fixed points there: no convergence)
    with pytest.warns(ConvergenceWarning):
        assert error(SVDImputer(8, shrinkage=0, max_iter=300)) > 1.5 * right


@pytest.mark.parametrize("shape", [(500, 40), (40, 500), (1000, 3)])
def test_noise_level_estimate(shape):
    """sigma from the observed entries' least-squares residual over its degrees of
    freedom: unbiased for low-rank data plus white noise, whatever the shape (with
    3 columns and rank 2, most rows have no residual degree of freedom at all)."""
    rank = 2 if shape[1] == 3 else 3
    X_missing, _ = remove(low_rank(*shape, rank, noise=0.5), 0.3)
    imputer = SVDImputer(rank, tol=1e-8).fit(X_missing)
    assert imputer.n_components_ == rank
    assert 0.45 < imputer.noise_level_ < 0.55
    assert SVDImputer(random_state=0).fit(X_missing).n_components_ == rank


def test_rank_zero_is_mean_imputation():
    X_missing, _ = remove(low_rank(50, 6, 2, offset=3.0), 0.3)
    out = SVDImputer(0).fit_transform(X_missing)
    assert_allclose(out, SimpleImputer().fit_transform(X_missing), rtol=1e-14)


# -- transform ----------------------------------------------------------------------


def lstsq_fill(x, mean, V, ridge=None):
    """One row's fill by numpy.linalg.lstsq on its observed coordinates (minimum
    norm), with the ridge as extra rows sqrt(ridge) z = 0."""
    observed = ~np.isnan(x)
    A, b = V[:, observed].T, (x - mean)[observed]
    if ridge is not None:
        A = np.vstack([A, np.diag(np.sqrt(ridge))])
        b = np.concatenate([b, np.zeros(len(ridge))])
    z = np.linalg.lstsq(A, b, rcond=None)[0]
    return np.where(observed, x, mean + z @ V)


def test_transform_is_least_squares_on_observed_entries():
    X = low_rank(300, 12, 3, noise=0.3, offset=4.0)
    X_train, _ = remove(X[:200], 0.2)
    imputer = SVDImputer(3, shrinkage=0).fit(X_train)
    new, _ = remove(X[200:], 0.4, seed=2)
    new[0, :10] = np.nan  # two observed coordinates for three components
    expected = np.array([lstsq_fill(x, imputer.mean_, imputer.components_) for x in new])
    assert_allclose(imputer.transform(new), expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("method", ["hard", "soft"])
def test_transform_with_shrinkage_is_ridge_least_squares(method):
    X = low_rank(300, 12, 3, noise=0.5)
    X_train, _ = remove(X[:200], 0.2)
    shrinkage = "auto" if method == "hard" else 5.0
    imputer = SVDImputer(4, method=method, shrinkage=shrinkage, random_state=0)
    imputer.fit(X_train)
    s, t = imputer.singular_values_, imputer.shrunk_singular_values_
    assert np.all(t < s)
    new, _ = remove(X[200:], 0.4, seed=2)
    new[0, :11] = np.nan
    expected = np.array(
        [lstsq_fill(x, imputer.mean_, imputer.components_, s / t - 1) for x in new]
    )
    assert_allclose(imputer.transform(new), expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    "params",
    [
        {"n_components": 3, "shrinkage": 0},
        {"n_components": 5},
        {"method": "soft", "shrinkage": 2.0},
    ],
    ids=["hard", "hard-shrunk", "soft"],
)
def test_transform_of_training_rows_equals_fit_transform(params):
    """At convergence each training row's fill is the least-squares solution for its
    observed entries under the fitted model (the iteration's fixed point)."""
    X_missing, _ = remove(low_rank(150, 10, 3, noise=0.3), 0.3)
    imputer = SVDImputer(**params, tol=1e-13, max_iter=10_000, random_state=0)
    out = imputer.fit_transform(X_missing)
    assert_allclose(imputer.transform(X_missing), out, rtol=0, atol=1e-9)


# -- the contract: observed entries, copies, dtypes, determinism ---------------------


@given(data=st.data())
def test_observed_entries_unchanged(data):
    n = data.draw(st.integers(1, 40), label="n")
    d = data.draw(st.integers(1, 8), label="d")
    dtype = data.draw(st.sampled_from([np.float32, np.float64]), label="dtype")
    method = data.draw(st.sampled_from(["hard", "soft"]), label="method")
    fraction = data.draw(st.sampled_from([0.0, 0.1, 0.5, 0.9]), label="fraction")
    seed = data.draw(st.integers(0, 2**16), label="seed")
    exponent = 30 if dtype == np.float32 else 150  # near the ends of the range
    scale = data.draw(st.sampled_from([10.0**-exponent, 1.0, 10.0**exponent]))
    rng = np.random.default_rng(seed)
    X = (rng.standard_normal((n, 2)) @ rng.standard_normal((2, d)) * scale).astype(dtype)
    X_missing = np.where(rng.random((n, d)) < fraction, np.nan, X).astype(dtype)
    original = X_missing.copy()
    imputer = SVDImputer(method=method, keep_empty_features=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        out = imputer.fit_transform(X_missing)
    observed = ~np.isnan(original)
    assert_array_equal(X_missing, original)  # the input is not modified
    assert out.dtype == dtype and out.shape == X.shape
    assert_array_equal(out[observed], original[observed])  # bit for bit
    assert np.isfinite(out).all()
    assert_array_equal(imputer.transform(X_missing)[observed], original[observed])


def test_input_not_modified_and_copy_false_fills_in_place():
    X_missing, _ = remove(low_rank(60, 8, 2), 0.2)
    original = X_missing.copy()
    out = SVDImputer(2).fit_transform(X_missing)
    assert_array_equal(X_missing, original)
    imputer = SVDImputer(2, copy=False).fit(X_missing)
    filled = imputer.transform(X_missing)
    assert filled is X_missing and not np.isnan(X_missing).any()
    assert_allclose(filled, out, atol=1e-6)


def test_read_only_input():
    X_missing, _ = remove(low_rank(60, 8, 2), 0.2)
    X_missing.setflags(write=False)
    for copy in (True, False):
        imputer = SVDImputer(2, copy=copy)
        out = imputer.fit_transform(X_missing)
        assert not np.isnan(out).any() and out is not X_missing
        assert not np.isnan(imputer.transform(X_missing)).any()


def test_float32_preserved_and_accurate():
    X = low_rank(300, 20, 3, noise=0.1, offset=3.0)
    X_missing, mask = remove(X, 0.3)
    out64 = SVDImputer(random_state=0).fit_transform(X_missing)
    imputer = SVDImputer(random_state=0)
    out32 = imputer.fit_transform(X_missing.astype(np.float32))
    assert out32.dtype == np.float32
    for name in ("components_", "mean_", "singular_values_", "explained_variance_"):
        assert getattr(imputer, name).dtype == np.float32, name
    assert imputer.transform(X_missing.astype(np.float32)).dtype == np.float32
    # the fills agree to the noise level's digits (float32: eps 1.2e-7 x conditioning)
    assert_allclose(out32[mask], out64[mask], rtol=0, atol=1e-3)


def test_deterministic():
    X_missing, _ = remove(low_rank(120, 15, 3, noise=0.2), 0.3)
    for method in ("hard", "soft"):
        a = SVDImputer(method=method, random_state=0).fit_transform(X_missing)
        b = SVDImputer(method=method, random_state=0).fit_transform(X_missing)
        assert_array_equal(a, b)


def test_convergence_warning_and_n_iter():
    X_missing, _ = remove(low_rank(100, 10, 3, noise=0.2), 0.3)
    with pytest.warns(ConvergenceWarning, match="did not converge in max_iter=2") as got:
        imputer = SVDImputer(3, max_iter=2).fit(X_missing)
    assert got[0].filename == __file__  # points at the caller, not inside
    assert imputer.n_iter_ == 2
    with pytest.warns(ConvergenceWarning) as got:
        SVDImputer(3, max_iter=2).fit_transform(X_missing)
    assert got[0].filename == __file__
    # a loose tol met inside the shrinkage's ramp (its first five iterations) is not
    # convergence: the model is not yet the one asked for
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        SVDImputer(6, tol=0.5, max_iter=1).fit(X_missing)
    imputer = SVDImputer(3, tol=1e-6).fit(X_missing)
    assert 2 < imputer.n_iter_ < 500


# -- structure: empty rows and columns, constant columns ----------------------------


def test_all_missing_column_dropped_or_kept_as_zero():
    X_missing, _ = remove(low_rank(50, 5, 2), 0.2)
    X_missing[:, 2] = np.nan
    # (transform equals fit_transform to the iteration's tolerance)
    imputer = SVDImputer(2, tol=1e-12).fit(X_missing)
    out = imputer.transform(X_missing)
    assert out.shape == (50, 4)
    assert_array_equal(imputer.get_feature_names_out(), ["x0", "x1", "x3", "x4"])
    assert imputer.components_.shape == (2, 4) and imputer.mean_.shape == (4,)
    kept = SVDImputer(2, keep_empty_features=True, tol=1e-12)
    full = kept.fit_transform(X_missing)
    assert full.shape == (50, 5)
    assert_array_equal(full[:, 2], 0)
    assert_allclose(np.delete(full, 2, axis=1), out)
    assert len(kept.get_feature_names_out()) == 5
    # a new row's observed value in that column is returned as it is (not 0)
    row = np.array([[1.0, np.nan, 7.5, 2.0, np.nan]])
    assert_array_equal(kept.transform(row)[0, [0, 2, 3]], [1.0, 7.5, 2.0])


def test_plain_hard_impute_stays_bounded_on_barely_observed_rows():
    # Rows with one observed entry on a column of near-zero loading: their exact
    # least-squares scores are huge (the fills reached 1e19 in 3 iterations); EM's
    # step moves them slowly. The fills must stay of the data's magnitude.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 1)) @ rng.standard_normal((1, 20))
    X_missing = X.copy()
    X_missing[rng.random(X.shape) < 0.97] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        out = SVDImputer(1, shrinkage=0, random_state=0).fit_transform(X_missing)
    assert np.abs(out).max() <= 10 * np.nanmax(np.abs(X_missing))


def test_plain_hard_impute_near_full_rank_no_worse_than_the_mean():
    # rank 7 in 8 columns, 20% missing, fitted at rank 7: rows missing one entry are
    # exactly determined but ill-conditioned; the exact row step drifted to fills of
    # 6e3 (data within 10).
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 7)) @ rng.standard_normal((7, 8))
    X_missing, mask = remove(X, 0.2, seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        out = SVDImputer(7, shrinkage=0, random_state=0).fit_transform(X_missing)
    mean_fill = SimpleImputer().fit_transform(X_missing)
    error = np.linalg.norm((out - X)[mask])
    assert error < np.linalg.norm((mean_fill - X)[mask])


def test_all_missing_row_filled_with_mean():
    X_missing, _ = remove(low_rank(50, 5, 2), 0.2)
    X_missing[7] = np.nan
    imputer = SVDImputer(2)
    out = imputer.fit_transform(X_missing)
    assert_allclose(out[7], imputer.mean_)
    assert_allclose(imputer.transform(np.full((1, 5), np.nan))[0], imputer.mean_)


def test_everything_missing():
    X = np.full((4, 3), np.nan)
    assert SVDImputer().fit_transform(X).shape == (4, 0)
    assert_array_equal(SVDImputer(keep_empty_features=True).fit_transform(X), 0)


def test_constant_and_single_value_columns():
    X = low_rank(80, 6, 2, noise=0.1)
    X[:, 1] = 7.0
    X[:, 4] = 0.0
    X_missing, _ = remove(X, 0.3)
    X_missing[:, 5] = np.nan
    X_missing[3, 5] = 2.5  # one observed value
    imputer = SVDImputer(random_state=0)
    out = imputer.fit_transform(X_missing)
    assert_array_equal(out[:, 1], 7.0)
    assert_array_equal(out[:, 4], 0.0)
    assert_array_equal(out[:, 5], 2.5)
    assert_array_equal(imputer.components_[:, [1, 4, 5]], 0)


def test_duplicated_columns_and_one_hot():
    rng = np.random.default_rng(0)
    base = low_rank(100, 4, 2, noise=0.1)
    labels = rng.integers(0, 3, 100)
    X = np.hstack([base, base[:, :2], np.eye(3)[labels]])
    X_missing, mask = remove(X, 0.2)
    out = SVDImputer(random_state=0).fit_transform(X_missing)
    assert np.isfinite(out).all()
    # a duplicated column is recovered from its twin, to the noise level (0.1: its
    # own noise is one weak direction, below the noise edge)
    twin = mask[:, 4] & ~mask[:, 0]
    assert_allclose(out[twin, 4], X[twin, 0], atol=0.4)


# -- shapes and magnitudes ----------------------------------------------------------


@pytest.mark.parametrize(
    "X",
    [
        np.array([[1.0, np.nan, 3.0]]),
        np.array([[1.0, 2.0], [np.nan, 4.0]]),
        np.array([[1.0], [np.nan], [3.0]]),
        np.array([[1.0, np.nan], [np.nan, 4.0]]),
    ],
    ids=["1 row", "2x2", "1 column", "2x2 diagonal"],
)
@pytest.mark.parametrize("method", ["hard", "soft"])
def test_tiny_shapes(X, method):
    imputer = SVDImputer(method=method, random_state=0, keep_empty_features=True)
    out = imputer.fit_transform(X)
    observed = ~np.isnan(X)
    assert_array_equal(out[observed], X[observed])
    assert np.isfinite(out).all()


def test_shrinkage_does_not_collapse_at_high_missing_fractions():
    # 85% missing: the first iterate's noise estimate (from mean-filled data) holds
    # much of the signal, and at full strength the shrinkage removed every component
    # (mean imputation, a fixed point); plain hard-impute at the rank reaches 0.08.
    X = low_rank(1000, 50, 3, noise=0.01)
    X_missing, mask = remove(X, 0.85)
    norm = np.linalg.norm((X - X.mean(0))[mask])
    for n_components in (3, "auto"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            imputer = SVDImputer(n_components, random_state=0)
            out = imputer.fit_transform(X_missing)
        assert imputer.n_components_ == 3
        assert np.linalg.norm((out - X)[mask]) < 0.2 * norm


def test_warns_when_shrinkage_removes_everything_at_high_missing_fractions():
    # 90% missing on a rank-10 2000 x 200 matrix: the ramp is not enough, every
    # component is removed, and the result is mean imputation: a warning says so and
    # what to do (the advice, the rank without shrinkage, reaches 0.09 relative error
    # after 500 iterations: the imputation page).
    X_missing, _ = remove(low_rank(2000, 200, 10, noise=0.1), 0.9)
    with pytest.warns(UserWarning, match="kept no component.*shrinkage=0"):
        imputer = SVDImputer(10, random_state=0).fit(X_missing)
    assert imputer.n_components_ == 0
    # no warning where few entries are missing (pure noise: rank 0 is the answer)
    noise = np.random.default_rng(3).standard_normal((200, 10))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert SVDImputer(random_state=0).fit(remove(noise, 0.2)[0]).n_components_ == 0


def test_high_missing_fraction():
    X = low_rank(200, 30, 3, noise=0.1)
    X_missing, mask = remove(X, 0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)  # may keep no component
        out = SVDImputer(random_state=0).fit_transform(X_missing)
    assert np.isfinite(out).all()
    assert_array_equal(out[~mask], X[~mask])


@pytest.mark.parametrize("scale", [1e-150, 1e150])
def test_scale_equivariant(scale):
    X_missing, _ = remove(low_rank(100, 10, 3, noise=0.2), 0.3)
    expected = SVDImputer(random_state=0).fit_transform(X_missing)
    out = SVDImputer(random_state=0).fit_transform(X_missing * scale)
    assert_allclose(out / scale, expected, rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("method", ["hard", "soft"])
@pytest.mark.parametrize(
    "dtype, exponent", [(np.float64, 1021), (np.float64, -1000), (np.float32, 125)]
)
def test_extreme_magnitudes_scaled_exactly(dtype, exponent, method):
    # Data near the top of the dtype's range (sums and differences overflowed: a
    # crash, or a misleading NaN error) or deep below 1: the fit on X 2**e is the
    # fit on X, scaled by 2**e (powers of two scale exactly), every attribute too.
    X_missing, _ = remove(low_rank(100, 6, 2, noise=0.1), 0.2)
    X_missing = (X_missing / np.nanmax(np.abs(X_missing))).astype(dtype)
    scale = np.ldexp(1.0, exponent)
    params = {"random_state": 0, "method": method}
    reference = SVDImputer(**params)
    expected = reference.fit_transform(X_missing)
    imputer = SVDImputer(**params)
    out = imputer.fit_transform(X_missing * dtype(scale))
    assert np.isfinite(out).all()
    assert_array_equal(out, expected * dtype(scale))
    assert imputer.n_components_ == reference.n_components_
    for name in ("mean_", "singular_values_", "shrunk_singular_values_"):
        assert_allclose(getattr(imputer, name) / scale, getattr(reference, name))
    assert_allclose(imputer.components_, reference.components_)
    if method == "soft":
        assert_allclose(imputer.shrinkage_ / scale, reference.shrinkage_)
    new = imputer.transform(X_missing[:10] * dtype(scale))
    assert_allclose(new / scale, reference.transform(X_missing[:10]), rtol=1e-6)


def test_underdetermined_rows_take_the_minimum_norm_fill():
    # A row with fewer observed entries than components: its objective is flat along
    # the components its observed coordinates do not see; fit and transform both take
    # the minimum-norm scores there (the proximal step drifted elsewhere: 4e-3 apart).
    X_missing, mask = remove(low_rank(100, 6, 2), 0.2)
    assert ((~mask).sum(axis=1) < 2).any()
    imputer = SVDImputer(2, shrinkage=0, tol=1e-12, random_state=0)
    out = imputer.fit_transform(X_missing)
    assert_allclose(imputer.transform(X_missing), out, rtol=0, atol=1e-9)


@pytest.mark.parametrize(
    "dtype, exponent",
    [(np.float64, -1030), (np.float32, -135), (np.float64, 1023), (np.float32, 127)],
)
def test_ends_of_the_floating_point_range(dtype, exponent):
    # Subnormal data (scaling it by a power of two as a float overflowed: NaN), and
    # data at the largest exponent, whose singular values the dtype cannot hold
    # (transform rebuilt the model from them: inf, mean imputation). Both fit in
    # scaled units; the fills equal the reference's scaled by 2**e to the precision
    # the scaled data keeps, and transform of the training rows equals fit_transform.
    X_missing, mask = remove(low_rank(100, 6, 2), 0.2)
    X_missing = (X_missing / np.nanmax(np.abs(X_missing))).astype(dtype)
    reference = SVDImputer(2, shrinkage=0, tol=1e-12, random_state=0)
    expected = reference.fit_transform(X_missing)
    scaled = np.ldexp(X_missing, exponent)
    imputer = SVDImputer(2, shrinkage=0, tol=1e-12, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        out = imputer.fit_transform(scaled)
    assert imputer.n_components_ == 2
    assert_array_equal(out[~mask], scaled[~mask])
    # subnormal data keeps about 14 (float64) or 11 (float32) bits; a float32
    # iteration stops at its fills' rounding (2 eps ||fills||), about 1e-3 of them
    tol = 1e-3 if exponent < 0 or dtype == np.float32 else 1e-6
    assert_allclose(np.ldexp(out, -exponent)[mask], expected[mask], rtol=0, atol=tol)
    again = imputer.transform(scaled)
    assert_array_equal(again[~mask], scaled[~mask])
    assert_allclose(
        np.ldexp(again, -exponent)[mask], np.ldexp(out, -exponent)[mask], rtol=0, atol=tol
    )


def test_large_offset_keeps_the_centring_accurate():
    """Columns at 1e6 with a spread of 1: the fills must match those of the data
    without the offset to the digits the spread has (u 1e6 = 2e-10 of absolute
    rounding in each stored value)."""
    X = low_rank(300, 15, 3, noise=0.1)
    X_missing, mask = remove(X, 0.3)
    params = {"n_components": 3, "tol": 1e-12, "max_iter": 2000, "random_state": 0}
    expected = SVDImputer(**params).fit_transform(X_missing)
    shifted = SVDImputer(**params).fit_transform(X_missing + 1e6)
    assert_allclose(shifted[mask] - 1e6, expected[mask], rtol=0, atol=1e-7)


def test_rank_near_the_bound():
    X = low_rank(30, 8, 7, noise=0.01)
    X_missing, _ = remove(X, 0.1)
    for k in (7, 8, 100):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            imputer = SVDImputer(k, random_state=0)
            out = imputer.fit_transform(X_missing)
        assert np.isfinite(out).all() and imputer.n_components_ <= 8


# -- input validation ---------------------------------------------------------------


def test_inf_complex_and_sparse_refused():
    X = np.array([[1.0, np.inf], [2.0, 3.0], [np.nan, 1.0]])
    with pytest.raises(ValueError, match="infinity"):
        SVDImputer().fit(X)
    with pytest.raises(ValueError, match=r"[Cc]omplex"):
        SVDImputer().fit(np.array([[1 + 1j, 2], [3, 4j]]))
    with pytest.raises(TypeError, match="does not accept sparse input"):
        SVDImputer().fit(sp.random(10, 4, density=0.5, format="csr", random_state=0))


def test_infinite_missing_values_marker_refused():
    X = np.array([[1.0, np.inf], [2.0, 3.0], [4.0, 5.0]])
    with pytest.raises(ValueError, match=r"missing_values=inf.*np\.nan"):
        SVDImputer(missing_values=np.inf).fit(X)


def test_other_missing_values_marker():
    X = low_rank(60, 6, 2, noise=0.1)
    X_missing, mask = remove(X, 0.2)
    marked = np.where(mask, -1.0, X)
    out = SVDImputer(2, missing_values=-1, random_state=0).fit_transform(marked)
    expected = SVDImputer(2, random_state=0).fit_transform(X_missing)
    assert_allclose(out, expected)
    with pytest.raises(ValueError, match="NaN"):
        SVDImputer(missing_values=-1).fit(X_missing)


def test_transform_checks_features():
    X_missing, _ = remove(low_rank(40, 5, 2), 0.2)
    imputer = SVDImputer(2).fit(X_missing)
    with pytest.raises(ValueError, match="features"):
        imputer.transform(X_missing[:, :4])


# -- scikit-learn integration -------------------------------------------------------


def test_missing_indicator():
    X_missing, _ = remove(low_rank(60, 5, 2), 0.2)
    X_missing[:, 3] = np.where(np.isnan(X_missing[:, 3]), 0.0, X_missing[:, 3])
    imputer = SVDImputer(2, add_indicator=True)
    out = imputer.fit_transform(X_missing)
    with_missing = [j for j in range(5) if np.isnan(X_missing[:, j]).any()]
    assert out.shape == (60, 5 + len(with_missing))
    assert_array_equal(out[:, 5:], np.isnan(X_missing[:, with_missing]))
    names = imputer.get_feature_names_out(["a", "b", "c", "d", "e"])
    assert list(names[5:]) == [f"missingindicator_{'abcde'[j]}" for j in with_missing]
    new = np.full((1, 5), np.nan)
    assert imputer.transform(new).shape == (1, 5 + len(with_missing))


def test_dataframe_in_and_out():
    pd = pytest.importorskip("pandas")
    X_missing, _ = remove(low_rank(60, 4, 2), 0.2)
    X_missing[:, 1] = np.nan
    frame = pd.DataFrame(X_missing, columns=["a", "b", "c", "d"])
    imputer = SVDImputer(2, add_indicator=True).set_output(transform="pandas")
    out = imputer.fit_transform(frame)
    assert list(out.columns) == [
        "a",
        "c",
        "d",
        "missingindicator_a",
        "missingindicator_b",
        "missingindicator_c",
        "missingindicator_d",
    ]
    assert_array_equal(imputer.feature_names_in_, ["a", "b", "c", "d"])
    assert not out.isna().any().any()


def test_pipeline_with_reducer_is_em_pca():
    """make_pipeline(SVDImputer(k, shrinkage=0), SVDReducer(k)): the reducer's PCA of
    the completed data has the imputer's mean and components (the fixed point), which
    are EM-PCA's; new rows get EM-PCA's least-squares scores."""
    X = low_rank(200, 10, 3, noise=0.3, offset=2.0)
    X_train, _ = remove(X[:150], 0.2)
    pipe = make_pipeline(
        SVDImputer(3, shrinkage=0, tol=1e-13, max_iter=10_000), SVDReducer(3)
    )
    pipe.fit(X_train)
    imputer, reducer = pipe.named_steps["svdimputer"], pipe.named_steps["svdreducer"]
    assert_allclose(reducer.mean_, imputer.mean_, atol=1e-9)
    assert_allclose(reducer.components_, imputer.components_, atol=1e-8)
    _, mean_ref, V_ref = reference_em_pca(X_train.copy(), 3)
    assert_allclose(reducer.mean_, mean_ref, atol=1e-8)
    assert same_subspace(reducer.components_, V_ref) < 1e-8
    new, _ = remove(X[150:], 0.3, seed=5)
    scores = pipe.transform(new)
    for x, score in zip(new, scores, strict=True):
        observed = ~np.isnan(x)
        A = reducer.components_[:, observed].T
        z = np.linalg.lstsq(A, (x - reducer.mean_)[observed], rcond=None)[0]
        assert_allclose(score, z, atol=1e-8)


def test_grid_search_clone_and_pickle():
    X = low_rank(120, 8, 2, noise=0.1)
    X_missing, _ = remove(X, 0.2)
    pipe = make_pipeline(SVDImputer(random_state=0), SVDReducer(2))
    search = GridSearchCV(pipe, {"svdimputer__n_components": [1, 2]}, cv=3)
    search.fit(X_missing)
    assert search.best_params_ == {"svdimputer__n_components": 2}
    imputer = SVDImputer(random_state=0).fit(X_missing)
    again = pickle.loads(pickle.dumps(imputer))
    assert_array_equal(again.transform(X_missing), imputer.transform(X_missing))
