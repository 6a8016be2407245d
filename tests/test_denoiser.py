"""SVDDenoiser against the truncated SVD computed directly with LAPACK."""

import numpy as np
import pytest
import scipy.linalg
from numpy.testing import assert_allclose, assert_array_equal

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


def test_inverse_transform_returns_input(data):
    _, noisy = data
    denoiser = SVDDenoiser(3).fit(noisy)
    out = denoiser.transform(noisy)
    assert_array_equal(denoiser.inverse_transform(out), out)
    with pytest.raises(ValueError, match="expecting 30 features"):
        denoiser.inverse_transform(out[:, :5])
