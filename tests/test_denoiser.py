"""SVDDenoiser against the truncated SVD computed directly with LAPACK."""

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from scipy.sparse.linalg import LinearOperator, svds
from sklearn.decomposition import PCA

from sklearn_svd import SVDDenoiser

SOLVERS = ["full", "covariance_eigh", "auto"]


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    signal = rng.standard_normal((900, 3)) @ rng.standard_normal((3, 30)) * 3 + 10
    return signal, signal + rng.standard_normal(signal.shape)


def truncated(X, k):
    """Best rank-k approximation of the centred X, plus the mean (Eckart-Young)."""
    mean = X.mean(axis=0)
    U, s, Vt = scipy.linalg.svd(X - mean, full_matrices=False)
    return (U[:, :k] * s[:k]) @ Vt[:k] + mean


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("shape", ["tall", "wide"])
def test_fit_transform_is_truncated_svd(data, solver, shape):
    _, noisy = data
    if shape == "wide":  # 40 x 800 goes through the Gram matrix
        rng = np.random.default_rng(1)
        X = rng.standard_normal((40, 3)) @ rng.standard_normal((3, 800)) * 3 + 5
        X += rng.standard_normal(X.shape)
    else:
        X = noisy
    denoiser = SVDDenoiser(3, shrinkage="hard", solver=solver)
    out = denoiser.fit_transform(X)
    assert out.shape == X.shape
    assert_allclose(out, truncated(X, 3), atol=1e-8 * np.abs(X).max())
    # transform on the training rows applies the same linear map
    assert_allclose(denoiser.transform(X), out, atol=1e-8 * np.abs(X).max())


def test_new_rows_use_the_fitted_projection(data):
    _, noisy = data
    denoiser = SVDDenoiser(3, shrinkage="hard").fit(noisy[:600])
    new = noisy[600:]
    V = denoiser.components_
    expected = (new - denoiser.mean_) @ V.T @ V + denoiser.mean_
    assert_allclose(denoiser.transform(new), expected, rtol=1e-12, atol=1e-12)


def test_denoising_reduces_error(data):
    signal, noisy = data
    out = SVDDenoiser(3, shrinkage="hard").fit_transform(noisy)
    # rank 3 signal: the error falls to about sqrt(3 (n + d) / (n d)) = 0.32 of the noise
    assert np.linalg.norm(out - signal) < 0.36 * np.linalg.norm(noisy - signal)


def test_rank_zero_returns_the_mean(data):
    _, noisy = data
    out = SVDDenoiser(0, shrinkage="hard").fit_transform(noisy)
    assert_allclose(out, np.broadcast_to(noisy.mean(0), noisy.shape), rtol=1e-12)


def test_float32_preserved(data):
    _, noisy = data
    X32 = noisy.astype(np.float32)
    denoiser = SVDDenoiser(3, shrinkage="hard")
    out = denoiser.fit_transform(X32)
    assert out.dtype == np.float32
    assert denoiser.transform(X32).dtype == np.float32
    assert_allclose(out, truncated(noisy.astype(np.float32), 3), rtol=1e-4, atol=1e-4)


def test_dataframe_in_and_out(data):
    pd = pytest.importorskip("pandas")
    _, noisy = data
    frame = pd.DataFrame(
        noisy,
        columns=[f"gene{i}" for i in range(30)],
        index=[f"cell{i}" for i in range(900)],
    )
    denoiser = SVDDenoiser(3, shrinkage="hard").set_output(transform="pandas")
    out = denoiser.fit_transform(frame)
    assert list(out.columns) == list(frame.columns)
    assert list(out.index) == list(frame.index)
    assert_array_equal(denoiser.get_feature_names_out(), frame.columns)
    assert_allclose(out.to_numpy(), truncated(noisy, 3), atol=1e-9)


def test_polars_in_and_out(data):
    pl = pytest.importorskip("polars")
    _, noisy = data
    frame = pl.DataFrame(noisy, schema=[f"c{i}" for i in range(30)], orient="row")
    out = SVDDenoiser(3).set_output(transform="polars").fit_transform(frame)
    assert isinstance(out, pl.DataFrame)
    assert out.columns == frame.columns


def test_inverse_transform_returns_a_new_array(data):
    _, noisy = data
    denoiser = SVDDenoiser(3).fit(noisy)
    out = denoiser.transform(noisy)
    before = out.copy()
    back = denoiser.inverse_transform(out)
    assert_array_equal(back, before)
    # It used to return `out` itself: writing to the result changed the caller's array.
    assert not np.shares_memory(back, out)
    back += 1.0
    assert_array_equal(out, before)
    with pytest.raises(ValueError, match="expecting 30 features"):
        denoiser.inverse_transform(out[:, :5])


def test_inverse_transform_of_a_dataframe_is_a_new_array(data):
    pd = pytest.importorskip("pandas")
    _, noisy = data
    frame = pd.DataFrame(noisy, columns=[f"g{i}" for i in range(30)])
    denoiser = SVDDenoiser(3).fit(frame)
    before = frame.to_numpy().copy()
    back = denoiser.inverse_transform(frame)
    assert_array_equal(back, before)
    back[:] = 0.0  # a view of the frame's block would write through
    assert_array_equal(frame.to_numpy(), before)


def shrunk_reference(s, sigma, n, d, loss):
    """Gavish & Donoho (2017) optimal shrinkers, from the paper's closed forms, for the
    centred n x d data (noise of an (n - 1) x d matrix)."""
    N, M = max(n - 1, d), min(n - 1, d)
    beta = M / N
    y = s / (sigma * np.sqrt(N))
    above = y > 1 + np.sqrt(beta)
    y = np.where(above, y, 3.0)  # any value above the edge; masked below
    t = y**2 - beta - 1
    x = np.sqrt((t + np.sqrt(t**2 - 4 * beta)) / 2)
    eta = {
        "frobenius": np.sqrt(t**2 - 4 * beta) / y,
        "operator": x,
        "nuclear": np.maximum((x**4 - beta - np.sqrt(beta) * x * y) / (x**2 * y), 0),
    }[loss]
    return np.where(above, eta, 0.0) * sigma * np.sqrt(N)


@pytest.fixture(scope="module")
def one_spike():
    """One strong rank-1 signal in unit noise: one singular value above the bulk edge."""
    rng = np.random.default_rng(4)
    signal = np.outer(rng.standard_normal(400), rng.standard_normal(60)) * 1.2 + 7
    return signal + rng.standard_normal(signal.shape)


@pytest.mark.parametrize("shrinkage", ["frobenius", "operator", "nuclear"])
@pytest.mark.parametrize("n_components", [5, 40, None])
@pytest.mark.parametrize("solver", ["full", "covariance_eigh"])
def test_n_components_counts_the_nonzero_shrunk_values(
    one_spike, shrinkage, n_components, solver
):
    X = one_spike
    n, d = X.shape
    denoiser = SVDDenoiser(n_components, shrinkage=shrinkage, noise_level=1.0)
    denoiser.set_params(solver=solver)
    out = denoiser.fit_transform(X)
    mean = X.mean(axis=0)
    U, s, Vt = scipy.linalg.svd(X - mean, full_matrices=False)
    upper = min(n, d) if n_components is None else n_components
    eta = shrunk_reference(s[:upper], 1.0, n, d, shrinkage)
    k = int(np.sum(eta > 0))
    assert 0 < k < 5  # the bound is not reached: the test can fail
    # n_components_ used to be the bound, with zero shrunk values in the attributes.
    assert denoiser.n_components_ == k
    # s_1 / s_k is small here: float64 LAPACK agreement to ~1e3 eps.
    assert_allclose(denoiser.singular_values_, s[:k], rtol=1e-12)
    assert_allclose(denoiser.shrunk_singular_values_, eta[:k], rtol=1e-12)
    assert_allclose(np.abs(denoiser.components_ @ Vt[:k].T), np.eye(k), atol=1e-12)
    variance = s**2 / (n - 1)
    assert_allclose(denoiser.explained_variance_, variance[:k], rtol=1e-12)
    assert_allclose(denoiser.explained_variance_ratio_, (variance / variance.sum())[:k])
    # PCA's noise variance: the mean of the variances not kept (covariance_eigh
    # subtracts the kept from the total: rounding eps * total / noise ~ 1e-14)
    assert_allclose(denoiser.noise_variance_, variance[k:].mean(), rtol=1e-12)
    # the denoised data and the probabilistic model are those of rank k
    expected = (U[:, :k] * eta[:k]) @ Vt[:k] + mean
    assert_allclose(out, expected, atol=1e-12 * np.abs(X).max())
    assert_allclose(denoiser.transform(X), expected, atol=1e-12 * np.abs(X).max())
    pca = PCA(k, svd_solver="full").fit(X)
    assert_allclose(denoiser.score(X), pca.score(X), rtol=1e-10)


def test_hard_truncation_drops_zero_singular_values():
    X = np.tile([1.0, -2.0, 3.0], (10, 1))  # constant rows: every singular value is 0
    denoiser = SVDDenoiser(None, shrinkage="hard")
    out = denoiser.fit_transform(X)
    assert denoiser.n_components_ == 0
    assert denoiser.components_.shape == (0, 3)
    assert denoiser.shrunk_singular_values_.shape == (0,)
    assert_array_equal(out, X)
    assert_array_equal(denoiser.transform(X), X)


def test_default_rank_bound_on_pure_noise():
    # The reported case: SVDDenoiser(5) had n_components_ 5 and shrunk values
    # [2.81, 0, 0, 0, 0].
    X = np.random.default_rng(1).standard_normal((30, 10))  # one value above the edge
    denoiser = SVDDenoiser(5).fit(X)
    _, s, _ = scipy.linalg.svd(X - X.mean(axis=0))
    # the closed form at the estimated noise level gives the nonzero values
    eta = shrunk_reference(s[:5], denoiser.noise_level_, 30, 10, "frobenius")
    k = int(np.sum(eta > 0))
    assert 0 < k < 5
    assert denoiser.n_components_ == k
    assert denoiser.components_.shape == (k, 10)
    assert_allclose(denoiser.singular_values_, s[:k], rtol=1e-12)
    assert_allclose(denoiser.shrunk_singular_values_, eta[:k], rtol=1e-12)


@pytest.fixture(scope="module")
def large_sparse():
    """Sparse data whose smaller side exceeds the 10000 for which "auto" forms the
    dense min(n, d)^2 product, with two strong directions (10001 x 10003, 40k
    nonzeros)."""
    rng = np.random.default_rng(7)
    noise = sp.random(10001, 10003, density=2e-4, random_state=rng) * 0.1
    rows = rng.choice(10001, 300, replace=False)
    values = np.r_[np.full(150, 20.0), np.full(150, -15.0)]
    columns = np.r_[np.full(150, 5), np.full(150, 9)]
    spikes = sp.coo_matrix((values, (rows, columns)), shape=noise.shape)
    return (noise + spikes).tocsr()


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({}, ValueError),  # auto: used to ask for fewer components only
        ({"n_components": 0.5, "solver": "randomized"}, ValueError),  # used to say "auto"
        ({"n_components": 5, "noise_level": "median", "solver": "arpack"}, ValueError),
        ({"solver": "full"}, TypeError),
        ({"n_components": 5, "noise_level": 0.5, "solver": "full"}, TypeError),
    ],
)
def test_large_sparse_messages_name_what_works(large_sparse, params, error):
    with pytest.raises(
        error,
        match="Give an int n_components"
        if error is ValueError
        else "give an int n_components",
    ) as info:
        SVDDenoiser(**params).fit(large_sparse)
    message = str(info.value)
    # never sent to "full" (dense only) or to a bare "auto" (which refuses this input)
    assert "'full' or" not in message and "or 'auto'." not in message
    assert (
        "int n_components (and noise_level='mp', a float, or None) with solver=" in message
    )
    assert "(or 'auto', up to 1000 components)" in message


@pytest.fixture(scope="module")
def large_sparse_singular_values(large_sparse):
    """Top singular values of the implicitly centred sparse data by SciPy's svds
    (ARPACK on a LinearOperator): the reference."""
    X = large_sparse
    mean = np.asarray(X.mean(axis=0)).ravel()
    centred = LinearOperator(
        X.shape,
        matvec=lambda v: X @ np.ravel(v) - mean @ np.ravel(v),
        rmatvec=lambda u: X.T @ np.ravel(u) - mean * np.sum(u),
        dtype=np.float64,
    )
    s = svds(centred, k=3, random_state=0, return_singular_vectors=False)
    return np.sort(s)[::-1]


@pytest.mark.parametrize(
    "params",
    [
        {"n_components": 3, "shrinkage": "hard", "solver": "randomized"},
        {"n_components": 3, "shrinkage": "hard", "solver": "arpack"},
        {"n_components": 3, "shrinkage": "hard"},  # auto
        {"n_components": 3, "noise_level": 0.01},  # auto, a shrinker
    ],
)
def test_large_sparse_advice_fits(large_sparse, large_sparse_singular_values, params):
    denoiser = SVDDenoiser(**params, random_state=0).fit(large_sparse)
    assert denoiser.solver_ in ("randomized", "arpack")
    k = denoiser.n_components_
    assert 0 < k <= 3
    # ARPACK converges to ~eps s_1; the randomized solver to tol / 2 + 32 eps
    # (s_1 / s_i)^2 relative (its contract), ~4e-9 for s_1 / s_3 ~ 1e3.
    assert_allclose(denoiser.singular_values_, large_sparse_singular_values[:k], rtol=1e-7)


@pytest.mark.parametrize("sparse", [False, True])
def test_partial_solver_message_names_solvers_for_the_input(data, sparse):
    _, noisy = data
    X = sp.csr_matrix(noisy) if sparse else noisy
    with pytest.raises(ValueError, match="solver='randomized' does not compute") as info:
        SVDDenoiser(solver="randomized").fit(X)
    # "full" refuses sparse input: it used to be offered for it too
    whole = (
        "'covariance_eigh' or 'auto'" if sparse else "'covariance_eigh', 'full' or 'auto'"
    )
    assert str(info.value).endswith(f"or use solver={whole}.")
    # what it names fits, and agrees with LAPACK on the centred data
    denoiser = SVDDenoiser(solver="covariance_eigh").fit(X)
    _, s, _ = scipy.linalg.svd(noisy - noisy.mean(axis=0))
    # s_1 / s_30 ~ 10^2: the Gram solver's relative error u (s_1 / s_i)^2 < 1e-11
    assert_allclose(denoiser.spectrum_, s, rtol=1e-9)


def spiked_data(n, d, strengths, seed=0):
    """Signal of the given strengths (in units of sqrt(N), the bulk edge of unit noise
    at beta -> 0 being 1) plus unit Gaussian noise; returns (signal, noisy)."""
    rng = np.random.default_rng(seed)
    N = max(n - 1, d)
    U = np.linalg.qr(rng.standard_normal((n, len(strengths))))[0]
    V = np.linalg.qr(rng.standard_normal((d, len(strengths))))[0]
    signal = (U * np.sqrt(N) * np.asarray(strengths)) @ V.T
    return signal, signal + rng.standard_normal((n, d))


@pytest.mark.parametrize("solver", ["randomized", "arpack"])
@pytest.mark.parametrize("sparse", [False, True])
def test_partial_solvers_estimate_the_noise(solver, sparse):
    # The default denoiser at a given rank with a partial solver: the noise level
    # from the top k and the residual energy, within 1% of the whole-spectrum
    # estimate, and the same denoised data to that accuracy.
    _, X = spiked_data(1001, 300, [2, 2.5, 3, 3.5, 4])
    full = SVDDenoiser(30, solver="full").fit(X)
    partial = SVDDenoiser(30, solver=solver, random_state=0)
    partial.fit(sp.csr_matrix(X) if sparse else X)
    assert partial.solver_ == solver
    assert_allclose(partial.noise_level_, 1.0, rtol=1e-2)
    assert_allclose(partial.noise_level_, full.noise_level_, rtol=1e-2)
    assert partial.n_components_ == full.n_components_ == 5
    reference = full.transform(X)
    error = np.linalg.norm(partial.transform(X) - reference) / np.linalg.norm(reference)
    assert error < 1e-2


def test_partial_solver_warns_when_the_noise_is_not_identifiable():
    # 5 signal components, 3 computed: none lies inside the bulk.
    _, X = spiked_data(1001, 300, [2, 2.5, 3, 3.5, 4])
    with pytest.warns(UserWarning, match="not identifiable"):
        denoiser = SVDDenoiser(3, solver="randomized", random_state=0).fit(X)
    assert denoiser.noise_level_ > 1.0  # the residual holds two spikes


def test_partial_solver_on_pure_noise_keeps_almost_nothing():
    # k = M / 4 of pure noise: the Frobenius shrinker keeps < 5% of the noise norm.
    rng = np.random.default_rng(3)
    X = rng.standard_normal((801, 200))
    denoiser = SVDDenoiser(50, solver="randomized", random_state=0)
    denoised = denoiser.fit_transform(X) - X.mean(0)
    assert_allclose(denoiser.noise_level_, 1.0, rtol=1e-2)
    assert np.linalg.norm(denoised) < 0.05 * np.linalg.norm(X - X.mean(0))


def test_optshrink_is_the_frobenius_shrinker_for_white_noise():
    # For white noise the D-transform is Marchenko-Pastur's and OptShrink's weights
    # are Gavish & Donoho's Frobenius shrinker at the true sigma, up to the
    # finite-size fluctuation of the empirical transform (~1/M).
    _, X = spiked_data(2001, 1000, [1.5, 2, 3])
    opt = SVDDenoiser(shrinkage="optshrink").fit(X)
    known = SVDDenoiser(noise_level=1.0).fit(X)
    assert opt.n_components_ == known.n_components_ == 3
    assert_allclose(opt.shrunk_singular_values_, known.shrunk_singular_values_, rtol=2e-2)


def test_optshrink_beats_a_white_noise_model_on_coloured_noise():
    # Noise whose column variances range over 0.1 .. 4: the white-noise shrinkers
    # mis-model the bulk; OptShrink learns it from the spectrum (Nadakuditi 2014).
    rng = np.random.default_rng(9)
    signal, _ = spiked_data(1001, 400, [1.5, 2, 3, 4])
    noise = rng.standard_normal(signal.shape) * np.sqrt(np.linspace(0.1, 4, 400))
    X = signal + noise
    errors = {
        shrinkage: np.linalg.norm(
            SVDDenoiser(shrinkage=shrinkage).fit_transform(X) - signal - X.mean(0)
        )
        for shrinkage in ("optshrink", "frobenius")
    }
    assert errors["optshrink"] < errors["frobenius"]


def test_optshrink_with_an_int_rank_and_a_partial_solver():
    _, X = spiked_data(601, 200, [2, 3])
    denoiser = SVDDenoiser(4, shrinkage="optshrink").fit(X)
    # an explicit rank is an upper bound: values inside the bulk get weight 0
    assert denoiser.n_components_ <= 4
    assert np.all(denoiser.shrunk_singular_values_ < denoiser.singular_values_)
    with pytest.raises(ValueError, match="shrinkage='frobenius'"):
        SVDDenoiser(4, shrinkage="optshrink", solver="randomized").fit(X)
