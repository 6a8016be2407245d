"""SVDReducer against scikit-learn's PCA / TruncatedSVD and LAPACK references."""

import pickle

import numpy as np
import pytest
import scipy.linalg
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_svd import SVDDenoiser, SVDReducer

SOLVERS = ["full", "covariance_eigh", "auto"]


@pytest.fixture
def X():
    rng = np.random.default_rng(0)
    latent = rng.standard_normal((1200, 6)) * [5, 4, 3, 2, 1.5, 1]
    return latent @ rng.standard_normal((6, 40)) + 0.1 * rng.standard_normal((1200, 40)) + 7


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("n_components", [3, 0.9, None])
@pytest.mark.parametrize("whiten", [False, True])
def test_matches_pca(X, solver, n_components, whiten):
    ours = SVDReducer(n_components, solver=solver, whiten=whiten)
    pca = PCA(n_components, svd_solver="full", whiten=whiten)
    Z = ours.fit_transform(X)
    Z_pca = pca.fit_transform(X)
    assert ours.n_components_ == pca.n_components_
    for name in ["explained_variance_", "explained_variance_ratio_", "singular_values_"]:
        assert_allclose(getattr(ours, name), getattr(pca, name), rtol=1e-9, err_msg=name)
    assert_allclose(ours.noise_variance_, pca.noise_variance_, rtol=1e-7, atol=1e-12)
    assert_allclose(ours.mean_, pca.mean_, rtol=1e-13)
    # Only directions with a nonzero variance are determined.
    kept = pca.explained_variance_ > 1e-8 * pca.explained_variance_[0]
    assert_allclose(ours.components_[kept], pca.components_[kept], atol=1e-8)
    assert_allclose(Z[:, kept], Z_pca[:, kept], atol=1e-7)
    assert_allclose(ours.transform(X)[:, kept], Z[:, kept], atol=1e-7)
    assert_allclose(ours.inverse_transform(Z), pca.inverse_transform(Z_pca), atol=1e-7)


@pytest.mark.parametrize("solver", SOLVERS)
def test_inverse_transform_round_trip(X, solver):
    full = SVDReducer(solver=solver).fit(X)
    assert_allclose(full.inverse_transform(full.transform(X)), X, rtol=1e-10)
    # A truncated model returns the orthogonal projection on its subspace.
    k3 = SVDReducer(3, solver=solver).fit(X)
    P = k3.inverse_transform(k3.transform(X))
    residual = (X - k3.mean_) - (P - k3.mean_)
    assert_allclose(residual @ k3.components_.T, 0, atol=1e-9)


@pytest.mark.parametrize("solver", SOLVERS)
def test_uncentred_matches_truncated_svd(X, solver):
    ours = SVDReducer(5, solver=solver, center=False).fit(X)
    tsvd = TruncatedSVD(5, algorithm="arpack", random_state=0).fit(X)
    assert_allclose(ours.singular_values_, tsvd.singular_values_, rtol=1e-9)
    # TruncatedSVD uses another sign convention; ours is PCA's.
    assert_allclose(np.abs(ours.components_), np.abs(tsvd.components_), atol=1e-8)
    assert_allclose(ours.mean_, 0)
    Z = ours.transform(X)
    assert_allclose(np.abs(Z), np.abs(tsvd.transform(X)), atol=1e-7)


@pytest.mark.parametrize("solver", SOLVERS)
def test_float32_preserved(X, solver):
    X32 = X.astype(np.float32)
    reducer = SVDReducer(3, solver=solver).fit(X32)
    for name in ["components_", "singular_values_", "explained_variance_", "mean_"]:
        assert getattr(reducer, name).dtype == np.float32, name
    assert reducer.transform(X32).dtype == np.float32
    assert reducer.fit_transform(X32).dtype == np.float32
    pca = PCA(3, svd_solver="full").fit(X)  # float64 reference; s_3 / s_1 ~ 0.6
    assert_allclose(reducer.singular_values_, pca.singular_values_, rtol=1e-4)


def test_pipeline_grid_search_on_dataframe():
    pd = pytest.importorskip("pandas")
    from sklearn.datasets import load_digits

    digits = load_digits()
    frame = pd.DataFrame(digits.data, columns=[f"px{i}" for i in range(64)])
    pipe = make_pipeline(StandardScaler(), SVDReducer(), LogisticRegression(max_iter=300))
    grid = GridSearchCV(pipe, {"svdreducer__n_components": [2, 30]}, cv=3)
    grid.fit(frame, digits.target)
    assert grid.best_params_ == {"svdreducer__n_components": 30}
    assert grid.best_score_ > 0.9
    names = grid.best_estimator_[:-1].get_feature_names_out()
    assert_array_equal(names, [f"svdreducer{i}" for i in range(30)])


def test_set_output_pandas(X):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(40)], index=range(5, 1205))
    out = SVDReducer(2).set_output(transform="pandas").fit_transform(frame)
    assert list(out.columns) == ["svdreducer0", "svdreducer1"]
    assert_array_equal(out.index, frame.index)


def test_clone_and_pickle(X):
    reducer = SVDReducer(4, solver="covariance_eigh", random_state=3).fit(X)
    restored = pickle.loads(pickle.dumps(reducer))
    assert_array_equal(restored.transform(X), reducer.transform(X))
    fresh = clone(reducer)
    assert fresh.get_params() == reducer.get_params()
    assert not hasattr(fresh, "components_")


@pytest.mark.parametrize("solver", SOLVERS)
def test_caller_array_untouched(X, solver):
    before = X.copy()
    SVDReducer(3, solver=solver).fit_transform(X)
    assert_array_equal(X, before)


def test_rank_too_large_names_both_numbers(X):
    with pytest.raises(
        ValueError,
        match=r"n_components=41 .*=40 \(n_samples=1200, "
        r"n_features=40\)",
    ):
        SVDReducer(41).fit(X)


@pytest.mark.parametrize("value", [True, False, np.bool_(True)])
def test_bool_n_components_is_refused(X, value):
    # True is an Integral to Python (PCA(n_components=True) fits one component), but
    # no count of components: scikit-learn's standard parameter message instead.
    with pytest.raises(
        ValueError,  # sklearn's InvalidParameterError
        match=r"The 'n_components' parameter of SVDReducer must be an int in the "
        r"range \[0, inf\).* Got (np\.)?(True|False|True_) instead",
    ):
        SVDReducer(value).fit(X)
    with pytest.raises(ValueError, match="'n_components' parameter of SVDDenoiser"):
        SVDDenoiser(value).fit(X)
    assert SVDReducer(np.int64(2)).fit(X).n_components_ == 2


def test_transform_errors(X):
    reducer = SVDReducer(3).fit(X)
    with pytest.raises(
        ValueError, match="X has 39 features, but SVDReducer is expecting 40"
    ):
        reducer.transform(X[:, :39])
    bad = X.copy()
    bad[2, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        reducer.transform(bad)
    with pytest.raises(ValueError, match="inverse_transform takes the output of transform"):
        reducer.inverse_transform(X)


def test_input_errors(X):
    bad = X.copy()
    bad[4, 1] = np.inf
    with pytest.raises(
        ValueError,
        match=r"infinity \(1 entries\), at \(row, column\) "
        r"\(4, 1\)",
    ):
        SVDReducer(2).fit(bad)
    with pytest.raises(ValueError, match="Complex data not supported"):
        SVDReducer(2).fit(X + 1j)
    with pytest.raises(ValueError, match="minimum of 2 is required"):
        SVDReducer().fit(np.empty((0, 3)))
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "city": ["x", "y", "z"]})
    with pytest.raises(TypeError, match=r"not numeric: 'city' \((object|str)"):
        SVDReducer(1).fit(frame)


def lapack_scores(X):
    """LAPACK SVD of the explicitly centred float64 data: the reference factors."""
    X = np.asarray(X, dtype=np.float64)
    U, s, Vt = scipy.linalg.svd(X - X.mean(axis=0), full_matrices=False)
    return U, s, Vt


def _constant_column(n, d, column):
    X = np.random.default_rng(3).standard_normal((n, d))
    X[:, column] = 3.0
    return X


# Data with exactly one zero singular value once centred; "auto" takes "full" for each
# (the large ones after trying "covariance_eigh", or because n <= d).
ONE_ZERO_COMPONENT = {
    "constant column": lambda: _constant_column(50, 5, 2),
    "fewer rows than features": lambda: np.random.default_rng(4).standard_normal((4, 6)),
    "constant column, large": lambda: _constant_column(600, 8, 5),
    "fewer rows than features, large": lambda: np.random.default_rng(5).standard_normal(
        (8, 600)
    ),
}


@pytest.mark.parametrize("case", list(ONE_ZERO_COMPONENT))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", ["full", "auto"])
def test_whiten_zero_variance_component(case, dtype, solver):
    X = ONE_ZERO_COMPONENT[case]().astype(dtype)
    n, d = X.shape
    reducer = SVDReducer(whiten=True, solver=solver)
    Z = reducer.fit_transform(X)
    T = reducer.transform(X)
    U, s, _ = lapack_scores(X)
    # The rule of numpy.linalg.matrix_rank on the reference singular values.
    zero = s <= max(n, d) * np.finfo(dtype).eps * s[0]
    assert zero.sum() == 1 and zero[-1]
    # fit_transform used to return U sqrt(n - 1) there (entries ~1) and transform
    # rounding / eps (up to ~10): both are 0 now.
    assert_array_equal(Z[:, zero], 0)
    assert_array_equal(T[:, zero], 0)
    # The other columns are LAPACK's U sqrt(n - 1), up to sign. Scores are O(1) and
    # s_1 / s_r < 10 here: float64 agrees to ~1e3 eps, float32 to ~1e3 eps32.
    atol = 1e-12 if dtype == np.float64 else 2e-4
    expected = U[:, ~zero] * np.sqrt(n - 1)
    expected *= np.sign(np.sum(expected * Z[:, ~zero], axis=0))
    assert_allclose(Z[:, ~zero], expected, atol=atol)
    assert_allclose(T[:, ~zero], expected, atol=atol)
    # The zero component carries no data: the round trip still reproduces X.
    back = reducer.inverse_transform(T)
    assert_allclose(back, X, atol=atol * np.abs(X).max())
    assert back.dtype == dtype


@pytest.mark.parametrize("solver", ["full", "covariance_eigh", "randomized", "arpack"])
@pytest.mark.parametrize("shape", [(60, 700), (700, 60)])
@pytest.mark.parametrize("whiten", [False, True])
def test_fit_transform_keeps_float32(solver, shape, whiten):
    # The Gram and randomized solvers return U in float64; the scores used to follow.
    rng = np.random.default_rng(6)
    n, d = shape
    latent = rng.standard_normal((n, 5)) * [5, 4, 3, 1, 0.5]
    X = latent @ rng.standard_normal((5, d)) + 0.01 * rng.standard_normal((n, d))
    X = X.astype(np.float32)
    reducer = SVDReducer(3, solver=solver, whiten=whiten, random_state=0)
    Z = reducer.fit_transform(X)
    assert Z.dtype == np.float32
    U, s, _ = lapack_scores(X)
    expected = U[:, :3] * (np.sqrt(n - 1) if whiten else s[:3])
    expected *= np.sign(np.sum(expected * Z, axis=0))
    # float32 data, s_1 / s_3 ~ 2 and a gap s_3 / s_4 ~ 3: ~1e3 eps32 of the largest
    # score (the scores' float32 rounding alone is eps32).
    assert_allclose(Z, expected, atol=1e-4 * np.abs(expected).max())
    assert_allclose(reducer.transform(X), Z, atol=1e-4 * np.abs(expected).max())


def test_zero_components_round_trip(X):
    reducer = SVDReducer(0).fit(X)
    Z = reducer.transform(X)
    assert Z.shape == (X.shape[0], 0)
    # Nothing kept: the projection on the (empty) subspace is the mean.
    mean = np.broadcast_to(X.mean(axis=0), X.shape)
    assert_allclose(reducer.inverse_transform(Z), mean, rtol=1e-13)
    assert_allclose(reducer.fit_transform(X), Z)
