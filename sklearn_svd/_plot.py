"""ScreeDisplay: the singular spectrum of a fitted estimator, on a log scale.

Follows scikit-learn's Display convention (``RocCurveDisplay``,
``PartialDependenceDisplay``): ``from_estimator`` and ``from_data`` build the display
from fitted attributes, ``plot`` draws it and stores the axes, the figure and every
artist. matplotlib is imported only when something is drawn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.base import clone

from ._compat import check_is_fitted
from ._denoiser import SVDDenoiser

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes


def _check_matplotlib_support(caller):
    """Raise an ImportError that says what to install when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"{caller} requires matplotlib, an optional dependency of sklearn-svd. "
            'Install it with: pip install "sklearn-svd[plot]" (or pip install matplotlib).'
        ) from exc


def _positive_finite(value):
    """``value`` as a float when it can be drawn on a log scale, else None."""
    if value is None:
        return None
    value = float(value)
    return value if np.isfinite(value) and value > 0 else None


class ScreeDisplay:
    """Scree plot: the singular values, which were kept, and the noise level.

    Draws the singular values on a log scale against their index, marks the ones kept,
    and, for a :class:`SVDDenoiser`, the noise bulk edge (the largest singular value
    pure noise of the estimated level reaches), the threshold below which components
    were dropped and the shrunk values the denoised data has instead. Optionally draws
    the cumulative explained variance ratio on a second axis.

    Build it with :meth:`from_estimator` (a fitted estimator; nothing is refitted) or
    :meth:`from_data` (fits a clone first); every parameter is stored as an attribute.
    Requires matplotlib (``pip install "sklearn-svd[plot]"``).

    Parameters
    ----------
    singular_values : array-like of shape (n_values,)
        Singular values in decreasing order: the whole spectrum when it is known, the
        kept ones otherwise.
    n_components : int
        How many of the leading values were kept, ``0 <= n_components <= n_values``.
    shrunk_singular_values : array-like of shape (n_components,), default=None
        The values the kept components have after shrinkage; not drawn when None.
    threshold : float, default=None
        The singular value below which components were dropped; not drawn when None,
        zero or NaN.
    bulk_edge : float, default=None
        The noise bulk edge ``sigma sqrt(N) (1 + sqrt(beta))``; not drawn when None,
        zero or NaN.
    explained_variance_ratio : array-like of shape (n_ratios,), default=None
        Fraction of the total variance along each component, for the cumulative
        curve that :meth:`plot` draws with ``cumulative=True``.
    name : str, default=None
        Name of the estimator, shown in the legend.
    rounding_level : float, default=None
        Singular values at or below it are rounding, numerically zero (such as the
        last one of centred data with fewer samples than features). They are drawn,
        but the axis starts above them, so that they do not stretch the log scale
        over a dozen decades. None: the axis shows every positive value.

    Attributes
    ----------
    line_ : matplotlib.lines.Line2D
        Every singular value.
    kept_line_ : matplotlib.lines.Line2D
        Markers on the kept singular values.
    rank_line_ : matplotlib.lines.Line2D
        Vertical line between the last kept and the first dropped component.
    shrunk_line_ : matplotlib.lines.Line2D or None
        Markers on the shrunk values.
    bulk_edge_line_ : matplotlib.lines.Line2D or None
        Horizontal line at the bulk edge.
    threshold_line_ : matplotlib.lines.Line2D or None
        Horizontal line at the threshold: the same artist as ``bulk_edge_line_`` when
        the two are equal (the shrinkers drop what lies below the bulk edge).
    cumulative_line_ : matplotlib.lines.Line2D or None
        The cumulative explained variance ratio, on ``ax_cumulative_``.
    ax_ : matplotlib.axes.Axes
        Axes with the spectrum.
    ax_cumulative_ : matplotlib.axes.Axes or None
        Twin axes (right-hand scale from 0 to 1) with the cumulative ratio.
    figure_ : matplotlib.figure.Figure
        Figure containing the axes.
    estimator_ : estimator instance
        The fitted estimator the display was built from. Only set by
        :meth:`from_estimator` and :meth:`from_data`.

    See Also
    --------
    SVDDenoiser : Its fitted spectrum, bulk edge and threshold are what this displays.
    SVDReducer : Its singular values and explained variance ratio.

    Notes
    -----
    On the log scale, singular values that are exactly zero are not drawn, and those
    at or below ``rounding_level`` lie below the visible axis. :meth:`from_estimator`
    sets ``rounding_level`` to ``max(n_samples, n_features) eps s_1`` (``eps`` of the
    fitted dtype), the rule of ``numpy.linalg.matrix_rank``. For an
    estimator that computed the whole spectrum (``spectrum_`` is not None) every
    singular value is drawn and the explained variance ratio of each is
    ``s_i^2 / sum_j s_j^2``; otherwise only the kept ones, with their
    ``explained_variance_ratio_``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn_svd import ScreeDisplay, SVDDenoiser
    >>> rng = np.random.default_rng(0)
    >>> signal = rng.standard_normal((300, 3)) @ rng.standard_normal((3, 40))
    >>> noisy = signal + 0.5 * rng.standard_normal(signal.shape)
    >>> display = ScreeDisplay.from_estimator(SVDDenoiser().fit(noisy))
    >>> display.n_components
    3
    >>> bool(display.bulk_edge_line_.get_ydata()[0] < display.line_.get_ydata()[2])
    True
    """

    def __init__(
        self,
        *,
        singular_values,
        n_components: int,
        shrunk_singular_values=None,
        threshold: float | None = None,
        bulk_edge: float | None = None,
        explained_variance_ratio=None,
        name: str | None = None,
        rounding_level: float | None = None,
    ):
        self.singular_values = singular_values
        self.n_components = n_components
        self.shrunk_singular_values = shrunk_singular_values
        self.threshold = threshold
        self.bulk_edge = bulk_edge
        self.explained_variance_ratio = explained_variance_ratio
        self.name = name
        self.rounding_level = rounding_level

    def _validated(self):
        """The stored values as arrays, checked against each other."""
        s = np.asarray(self.singular_values, dtype=np.float64)
        if s.ndim != 1:
            raise ValueError(f"singular_values must be 1-D, got shape {s.shape}.")
        k = int(self.n_components)
        if not 0 <= k <= s.size:
            raise ValueError(
                f"n_components must be between 0 and the number of singular values "
                f"({s.size}), got {self.n_components}."
            )
        shrunk = self.shrunk_singular_values
        if shrunk is not None:
            shrunk = np.asarray(shrunk, dtype=np.float64)
            if shrunk.shape != (k,):
                raise ValueError(
                    f"shrunk_singular_values must have one value per kept component "
                    f"({k}), got shape {shrunk.shape}."
                )
        ratio = self.explained_variance_ratio
        if ratio is not None:
            ratio = np.asarray(ratio, dtype=np.float64)
            if ratio.ndim != 1 or ratio.size > s.size:
                raise ValueError(
                    "explained_variance_ratio must be 1-D with at most one value per "
                    f"singular value ({s.size}), got shape {ratio.shape}."
                )
        return s, k, shrunk, ratio

    def plot(
        self,
        ax: Axes | None = None,
        *,
        name: str | None = None,
        cumulative: bool = False,
        line_kw: dict[str, Any] | None = None,
        cumulative_kw: dict[str, Any] | None = None,
    ) -> ScreeDisplay:
        """Draw the scree plot.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on. If None, a new figure and axes are created.
        name : str, default=None
            Name shown in the legend; None uses the ``name`` given at construction.
        cumulative : bool, default=False
            Also draw the cumulative explained variance ratio, on a twin axis with a
            scale from 0 to 1 on the right (needs ``explained_variance_ratio``).
        line_kw : dict, default=None
            Keyword arguments for matplotlib's ``plot`` drawing the singular values.
        cumulative_kw : dict, default=None
            Keyword arguments for matplotlib's ``plot`` drawing the cumulative ratio.

        Returns
        -------
        display : ScreeDisplay
            The display, with the axes, the figure and the artists stored.
        """
        _check_matplotlib_support(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator

        s, k, shrunk, ratio = self._validated()
        if cumulative and ratio is None:
            raise ValueError(
                "cumulative=True needs explained_variance_ratio, which this display "
                "does not have."
            )
        if ax is None:
            _, ax = plt.subplots()
        self.ax_, self.figure_ = ax, ax.figure
        name = self.name if name is None else name
        index = np.arange(1, s.size + 1)

        line_kw = {
            "color": "C0",
            "marker": ".",
            "label": f"{name}: singular values" if name else "singular values",
            **(line_kw or {}),
        }
        (self.line_,) = ax.plot(index, s, **line_kw)
        (self.kept_line_,) = ax.plot(
            index[:k],
            s[:k],
            linestyle="none",
            marker="o",
            color=self.line_.get_color(),
            label=f"kept ({k})",
        )
        self.rank_line_ = ax.axvline(k + 0.5, color="0.5", linestyle=":", linewidth=1)

        self.shrunk_line_ = None
        if shrunk is not None:
            (self.shrunk_line_,) = ax.plot(
                index[:k], shrunk, linestyle="none", marker="v", color="C1", label="shrunk"
            )

        edge = _positive_finite(self.bulk_edge)
        threshold = _positive_finite(self.threshold)
        self.bulk_edge_line_ = self.threshold_line_ = None
        same = edge is not None and threshold is not None and np.isclose(edge, threshold)
        if edge is not None:
            label = "noise bulk edge = threshold" if same else "noise bulk edge"
            self.bulk_edge_line_ = ax.axhline(edge, color="C3", linestyle="--", label=label)
        if same:
            self.threshold_line_ = self.bulk_edge_line_
        elif threshold is not None:
            self.threshold_line_ = ax.axhline(
                threshold, color="C2", linestyle="-.", label="threshold"
            )

        # Exact zeros (rank-deficient data) cannot sit on a log scale: masked, not
        # clipped to a tiny value that would stretch the axis.
        ax.set_yscale("log", nonpositive="mask")
        floor = _positive_finite(self.rounding_level)
        if floor is not None and np.any(s <= floor) and np.any(s > floor):
            # The values at the rounding level would stretch the axis over decades of
            # nothing: start it below the lowest value of interest instead.
            shown = [s[s > floor].min(), edge, threshold]
            if shrunk is not None and np.any(shrunk > 0):
                shown.append(shrunk[shrunk > 0].min())
            ax.set_ylim(bottom=min(v for v in shown if v is not None) / 2)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set(xlabel="component", ylabel="singular value")

        self.ax_cumulative_ = self.cumulative_line_ = None
        handles = [h for h in ax.get_lines() if not h.get_label().startswith("_")]
        if cumulative:
            twin = ax.twinx()
            cumulative_kw = {
                "color": "0.3",
                "drawstyle": "steps-mid",
                "label": "cumulative explained variance ratio",
                **(cumulative_kw or {}),
            }
            (self.cumulative_line_,) = twin.plot(
                index[: ratio.size], np.cumsum(ratio), **cumulative_kw
            )
            twin.set(ylim=(0, 1.02), ylabel="cumulative explained variance ratio")
            self.ax_cumulative_ = twin
            handles.append(self.cumulative_line_)
        # "best" searches the drawn data (and warns when that is slow): only for short
        # spectra, where the top right is otherwise where the leading values are.
        ax.legend(handles=handles, loc="best" if s.size <= 500 else "upper right")
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator,
        *,
        ax: Axes | None = None,
        name: str | None = None,
        cumulative: bool = False,
        line_kw: dict[str, Any] | None = None,
        cumulative_kw: dict[str, Any] | None = None,
    ) -> ScreeDisplay:
        """Draw the scree plot of a fitted estimator, from its attributes alone.

        Reads ``spectrum_`` when the estimator has it (else ``singular_values_``),
        ``n_components_``, ``explained_variance_ratio_`` and, for a
        :class:`SVDDenoiser`, ``threshold_``, ``bulk_edge_`` and
        ``shrunk_singular_values_`` (drawn when they differ from the singular values,
        that is for every shrinkage but ``"hard"``). Any fitted estimator with
        ``singular_values_`` works, scikit-learn's ``PCA`` and ``TruncatedSVD``
        included.

        Parameters
        ----------
        estimator : estimator instance
            A fitted :class:`SVDReducer`, :class:`SVDDenoiser` or other estimator with
            ``singular_values_``.
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on. If None, a new figure and axes are created.
        name : str, default=None
            Name shown in the legend; None uses the estimator's class name.
        cumulative : bool, default=False
            Also draw the cumulative explained variance ratio on a twin axis.
        line_kw : dict, default=None
            Keyword arguments for matplotlib's ``plot`` drawing the singular values.
        cumulative_kw : dict, default=None
            Keyword arguments for matplotlib's ``plot`` drawing the cumulative ratio.

        Returns
        -------
        display : ScreeDisplay
            The display, drawn.

        See Also
        --------
        ScreeDisplay.from_data : Fit an estimator on data, then draw its scree plot.
        """
        _check_matplotlib_support(f"{cls.__name__}.from_estimator")
        check_is_fitted(estimator)
        kept = np.asarray(estimator.singular_values_)
        spectrum = getattr(estimator, "spectrum_", None)
        values = kept if spectrum is None else np.asarray(spectrum)
        k = int(getattr(estimator, "n_components_", kept.size))

        if spectrum is not None:
            # Every value known: each one's share of the total sum of squares, scaled
            # by the largest first so that no square overflows.
            top = values.max() if values.size else 0.0
            squares = (values / top) ** 2 if top > 0 else np.zeros(values.size)
            total = squares.sum()
            ratio = squares / total if total > 0 else squares
        else:
            ratio = getattr(estimator, "explained_variance_ratio_", None)

        rounding = None
        if values.size and hasattr(estimator, "n_samples_"):
            size = max(estimator.n_samples_, getattr(estimator, "n_features_in_", 0))
            dtype = getattr(estimator, "components_", values).dtype
            eps = np.finfo(dtype if dtype.kind == "f" else np.float64).eps
            rounding = size * float(eps) * float(values.max())

        shrunk = getattr(estimator, "shrunk_singular_values_", None)
        if shrunk is not None and np.array_equal(shrunk, kept):
            shrunk = None  # hard truncation: nothing was shrunk
        display = cls(
            singular_values=values,
            n_components=k,
            shrunk_singular_values=shrunk,
            threshold=getattr(estimator, "threshold_", None),
            bulk_edge=getattr(estimator, "bulk_edge_", None),
            explained_variance_ratio=ratio,
            name=type(estimator).__name__ if name is None else name,
            rounding_level=rounding,
        )
        display.estimator_ = estimator
        return display.plot(
            ax=ax, cumulative=cumulative, line_kw=line_kw, cumulative_kw=cumulative_kw
        )

    @classmethod
    def from_data(
        cls,
        X,
        *,
        estimator=None,
        ax: Axes | None = None,
        name: str | None = None,
        cumulative: bool = False,
        line_kw: dict[str, Any] | None = None,
        cumulative_kw: dict[str, Any] | None = None,
    ) -> ScreeDisplay:
        """Fit a clone of an estimator on ``X``, then draw its scree plot.

        Equivalent to ``ScreeDisplay.from_estimator(clone(estimator).fit(X))``. The
        default estimator, ``SVDDenoiser()``, decomposes the whole spectrum, estimates
        the noise level and chooses the rank, so the plot shows every singular value
        against the noise bulk edge.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to decompose.
        estimator : estimator instance, default=None
            Unfitted estimator with ``singular_values_`` once fitted (an
            :class:`SVDReducer`, an :class:`SVDDenoiser`, scikit-learn's ``PCA``...);
            it is cloned, not modified. None means ``SVDDenoiser()``.
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on. If None, a new figure and axes are created.
        name : str, default=None
            Name shown in the legend; None uses the estimator's class name.
        cumulative : bool, default=False
            Also draw the cumulative explained variance ratio on a twin axis.
        line_kw : dict, default=None
            Keyword arguments for matplotlib's ``plot`` drawing the singular values.
        cumulative_kw : dict, default=None
            Keyword arguments for matplotlib's ``plot`` drawing the cumulative ratio.

        Returns
        -------
        display : ScreeDisplay
            The display, drawn; its ``estimator_`` is the fitted clone.

        See Also
        --------
        ScreeDisplay.from_estimator : Draw the scree plot of a fitted estimator.
        """
        _check_matplotlib_support(f"{cls.__name__}.from_data")
        if estimator is None:
            estimator = SVDDenoiser()
        fitted = clone(estimator).fit(X)
        return cls.from_estimator(
            fitted,
            ax=ax,
            name=name,
            cumulative=cumulative,
            line_kw=line_kw,
            cumulative_kw=cumulative_kw,
        )
