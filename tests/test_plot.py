"""ScreeDisplay: what it draws is what the estimator fitted."""

import builtins

import numpy as np
import pytest
import scipy.linalg
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.decomposition import PCA, TruncatedSVD

from sklearn_svd import ScreeDisplay, SVDDenoiser, SVDReducer

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture
def noisy():
    """Rank 4 plus unit noise, 400 x 30: four values stand clear of the bulk."""
    rng = np.random.default_rng(0)
    signal = rng.standard_normal((400, 4)) @ rng.standard_normal((4, 30)) * 4 + 7
    return signal + rng.standard_normal(signal.shape)


def lines_at(ax, value):
    """Horizontal lines of ``ax`` drawn at ``value``."""
    return [
        line
        for line in ax.get_lines()
        if np.allclose(line.get_ydata(), value, rtol=1e-12)
        and np.array_equal(line.get_xdata(), [0, 1])
    ]


@pytest.mark.parametrize("shrinkage", ["frobenius", "operator", "nuclear"])
def test_denoiser_data_and_lines(noisy, shrinkage):
    denoiser = SVDDenoiser(shrinkage=shrinkage).fit(noisy)
    display = ScreeDisplay.from_estimator(denoiser)
    k = denoiser.n_components_
    assert k == 4
    # Every singular value, and they are those of the centred data (LAPACK).
    assert_array_equal(display.line_.get_ydata(), denoiser.spectrum_)
    assert_array_equal(display.line_.get_xdata(), np.arange(1, 31))
    reference = scipy.linalg.svdvals(noisy - noisy.mean(axis=0))
    assert_allclose(display.line_.get_ydata(), reference, rtol=1e-10)
    assert_array_equal(display.kept_line_.get_ydata(), denoiser.singular_values_)
    assert_array_equal(display.kept_line_.get_xdata(), np.arange(1, k + 1))
    assert_array_equal(display.shrunk_line_.get_ydata(), denoiser.shrunk_singular_values_)
    # The shrinkers drop what lies below the bulk edge: one line for both.
    assert denoiser.threshold_ == denoiser.bulk_edge_
    assert display.threshold_line_ is display.bulk_edge_line_
    assert_array_equal(display.bulk_edge_line_.get_ydata(), [denoiser.bulk_edge_] * 2)
    assert lines_at(display.ax_, denoiser.bulk_edge_) == [display.bulk_edge_line_]
    assert_array_equal(display.rank_line_.get_xdata(), [k + 0.5] * 2)
    assert display.ax_.get_yscale() == "log"


def test_hard_threshold_line_apart_from_the_bulk_edge(noisy):
    denoiser = SVDDenoiser(shrinkage="hard").fit(noisy)
    display = ScreeDisplay.from_estimator(denoiser)
    assert denoiser.threshold_ > denoiser.bulk_edge_
    assert lines_at(display.ax_, denoiser.threshold_) == [display.threshold_line_]
    assert lines_at(display.ax_, denoiser.bulk_edge_) == [display.bulk_edge_line_]
    assert display.threshold_line_ is not display.bulk_edge_line_
    # Hard truncation keeps the values as they are: no shrunk markers.
    assert display.shrunk_line_ is None
    labels = display.ax_.get_legend_handles_labels()[1]
    assert "threshold" in labels and "noise bulk edge" in labels


def test_lines_not_drawn_without_a_noise_level(noisy):
    # Hard truncation at a given rank estimates no noise: bulk edge NaN, threshold 0.
    denoiser = SVDDenoiser(3, shrinkage="hard").fit(noisy)
    assert np.isnan(denoiser.bulk_edge_) and denoiser.threshold_ == 0
    display = ScreeDisplay.from_estimator(denoiser)
    assert display.bulk_edge_line_ is None and display.threshold_line_ is None
    assert_array_equal(display.kept_line_.get_ydata(), denoiser.singular_values_)


def test_reducer_and_cumulative_ratio(noisy):
    # A partial solver: the kept values only, and their own ratios.
    reducer = SVDReducer(n_components=5, solver="arpack", random_state=0).fit(noisy)
    assert reducer.spectrum_ is None
    display = ScreeDisplay.from_estimator(reducer, cumulative=True)
    assert_array_equal(display.line_.get_ydata(), reducer.singular_values_)
    assert display.bulk_edge_line_ is None and display.shrunk_line_ is None
    assert_allclose(
        display.cumulative_line_.get_ydata(), np.cumsum(reducer.explained_variance_ratio_)
    )
    assert display.cumulative_line_.axes is display.ax_cumulative_
    assert display.ax_cumulative_.get_ylim() == (0, 1.02)

    whole = SVDReducer(n_components=0.9).fit(noisy)
    display = ScreeDisplay.from_estimator(whole, cumulative=True)
    assert_array_equal(display.line_.get_ydata(), whole.spectrum_)
    ratio = display.cumulative_line_.get_ydata()
    assert_allclose(ratio[-1], 1.0, rtol=1e-12)
    k = whole.n_components_
    assert_allclose(ratio[:k], np.cumsum(whole.explained_variance_ratio_), rtol=1e-10)


@pytest.mark.parametrize("estimator", [PCA(n_components=6), TruncatedSVD(6)])
def test_scikit_learn_estimators(noisy, estimator):
    fitted = estimator.fit(noisy)
    display = ScreeDisplay.from_estimator(fitted, cumulative=True)
    assert_array_equal(display.line_.get_ydata(), fitted.singular_values_)
    assert display.n_components == 6


def test_ax_is_honoured(noisy):
    fig, (left, right) = plt.subplots(1, 2)
    display = ScreeDisplay.from_estimator(SVDDenoiser().fit(noisy), ax=right)
    assert display.ax_ is right and display.figure_ is fig
    assert display.line_.axes is right
    assert not left.get_lines()
    assert len(fig.axes) == 2  # nothing added without cumulative

    again = ScreeDisplay.from_data(noisy, ax=left, cumulative=True)
    assert again.ax_ is left and again.figure_ is fig
    assert again.ax_cumulative_.figure is fig


def test_new_figure_when_no_ax(noisy):
    display = ScreeDisplay.from_estimator(SVDReducer(3).fit(noisy))
    assert display.figure_ is display.ax_.figure
    assert display.figure_.axes == [display.ax_]


@pytest.mark.parametrize(
    "estimator", [None, SVDDenoiser(shrinkage="hard"), SVDReducer("gavish-donoho")]
)
def test_from_data_equals_fit_then_from_estimator(noisy, estimator):
    from_data = ScreeDisplay.from_data(noisy, estimator=estimator, cumulative=True)
    fitted = (SVDDenoiser() if estimator is None else estimator).fit(noisy)
    from_fit = ScreeDisplay.from_estimator(fitted, cumulative=True)
    for attribute in ("n_components", "threshold", "bulk_edge", "name"):
        assert getattr(from_data, attribute) == getattr(from_fit, attribute)
    for attribute in ("singular_values", "explained_variance_ratio"):
        assert_array_equal(getattr(from_data, attribute), getattr(from_fit, attribute))
    for artist in ("line_", "kept_line_", "cumulative_line_"):
        assert_array_equal(
            getattr(from_data, artist).get_ydata(), getattr(from_fit, artist).get_ydata()
        )
    assert type(from_data.estimator_) is type(fitted)
    if estimator is not None:
        assert from_data.estimator_ is not estimator  # a clone was fitted


def test_from_data_leaves_the_estimator_unfitted(noisy):
    estimator = SVDDenoiser()
    ScreeDisplay.from_data(noisy, estimator=estimator)
    assert not hasattr(estimator, "singular_values_")


def test_plot_again_and_keywords(noisy):
    display = ScreeDisplay.from_estimator(SVDDenoiser().fit(noisy))
    _, ax = plt.subplots()
    display.plot(ax=ax, name="mine", line_kw={"color": "k"}, cumulative=True)
    assert display.ax_ is ax
    assert display.line_.get_label() == "mine: singular values"
    assert display.line_.get_color() == "k"
    assert display.kept_line_.get_color() == "k"


def test_unfitted_estimator_raises():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        ScreeDisplay.from_estimator(SVDDenoiser())


def test_invalid_display_parameters():
    with pytest.raises(ValueError, match="n_components must be between 0 and"):
        ScreeDisplay(singular_values=[3.0, 2.0], n_components=3).plot()
    with pytest.raises(ValueError, match="one value per kept component"):
        ScreeDisplay(
            singular_values=[3.0, 2.0], n_components=1, shrunk_singular_values=[1.0, 0.5]
        ).plot()
    with pytest.raises(ValueError, match="cumulative=True needs"):
        ScreeDisplay(singular_values=[3.0, 2.0], n_components=1).plot(cumulative=True)


@pytest.mark.parametrize("method", ["from_estimator", "from_data", "plot"])
def test_missing_matplotlib_says_what_to_install(noisy, monkeypatch, method):
    fitted = SVDDenoiser().fit(noisy)
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    call = {
        "from_estimator": lambda: ScreeDisplay.from_estimator(fitted),
        "from_data": lambda: ScreeDisplay.from_data(noisy),
        "plot": lambda: ScreeDisplay(singular_values=[2.0, 1.0], n_components=1).plot(),
    }[method]
    with pytest.raises(ImportError, match=r'pip install "sklearn-svd\[plot\]"') as info:
        call()
    assert f"ScreeDisplay.{method} requires matplotlib" in str(info.value)


def test_rounding_level_values_drawn_below_the_axis():
    # Centred data with fewer samples than features: the last singular value is
    # rounding (about eps s_1), drawn but below the axis, which would otherwise span
    # a dozen decades.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 60))
    denoiser = SVDDenoiser().fit(X)
    s = denoiser.spectrum_
    assert s[-1] < 1e-12 * s[0]
    display = ScreeDisplay.from_estimator(denoiser)
    assert_array_equal(display.line_.get_ydata(), s)
    rounding = max(X.shape) * np.finfo(np.float64).eps * s[0]
    assert display.rounding_level == pytest.approx(rounding)
    bottom = display.ax_.get_ylim()[0]
    assert s[-1] < bottom < s[-2]
    # Without a rounding level the axis reaches down to it.
    display.rounding_level = None
    display.plot()
    assert display.ax_.get_ylim()[0] <= s[-1]
