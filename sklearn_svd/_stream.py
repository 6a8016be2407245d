"""Running statistics of a stream of row batches, merged exactly (``partial_fit``).

Each batch gives its count, mean (relative to a pivot row) and centred scatter
(:func:`scatter_stats`, or :func:`sparse_scatter_stats` for sparse batches: the
in-memory covariance solver's own statistics, with their large-offset guard), merged
into the running ones by Chan et al.'s update (:meth:`ScatterStats.merge`), which adds
the outer product of the difference of the two means and so never cancels digits,
however far a batch's mean lies from the running one. Memory: ``O(d^2)`` whatever the
number of rows.

Magnitudes: a batch whose squares would underflow or whose sums of squares would
overflow is summarised scaled by a power of two (exact), and the running statistics
carry their own power of two, so batches of any magnitude merge without overflow.

Sample weights: a batch's weights enter its statistics (count ``W``, weighted mean
and scatter, :func:`scatter_stats`'s ``sample_weight``), and Chan's update merges
weight totals as it merges counts; a batch of total weight 0 changes nothing.

Held pivot: consecutive dense unweighted batches whose products about one pivot pass
the large-offset guard are not centred and merged one by one: their sums and
products about that pivot are added (:class:`_Pending`), and centred once, when the
statistics are read (:attr:`Stream.stats`) or a batch needs a pivot of its own. This
is the in-memory pass itself (one pass about one pivot, guard-checked), and as
accurate: per column the raw-to-centred ratio of the sum is at most the largest of
the batches' (the centred sum of squares of all rows is at least the sum of the
batches' own), so the guard the batches passed holds for their union. It saves the
per-batch centring and merge, about a tenth of ``partial_fit``'s time on batches of
5000 x 100 (``benchmarks/scale.py``).
"""

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from ._engine import _rescaling as rescaling
from ._engine import _scaled as scaled
from ._engine import _subnormal_floor as subnormal_floor
from ._scatter import (
    ScatterStats,
    _accept,
    _segmented_pass,
    centred,
    scatter_stats,
    sparse_scatter_stats,
)
from ._validation import MagnitudeError


@dataclass(frozen=True)
class _Pending:
    """Sums about a held pivot of the batches added since the last merge.

    Attributes
    ----------
    shift : ndarray of shape (n_features,)
        The pivot the batches' pass was made about, in their dtype (its float64
        values).
    dtype : numpy dtype
        The batches' dtype (every one the same: the shift's rounding).
    count : int
    sums, products : ndarray, float64
        ``sum (x - shift)`` and ``sum (x - shift)(x - shift)^T`` over their rows.
    """

    shift: np.ndarray
    dtype: np.dtype
    count: int
    sums: np.ndarray
    products: np.ndarray

    def stats(self, origin):
        """Their :class:`ScatterStats`, the mean less ``origin``."""
        stats, _ = centred(self.sums, self.products.copy(), self.count, self.shift, origin)
        return stats


@dataclass(frozen=True)
class Stream:
    """Statistics of the rows seen so far.

    Attributes
    ----------
    merged : ScatterStats
        Of the rows less ``pivot``, times ``2**-exponent``, but those of ``pending``.
    pivot : ndarray of shape (n_features,), float64
        The first dense row seen (0 for sparse batches and uncentred statistics): the
        means are kept relative to it, so that at a large offset their differences,
        which Chan's update squares, keep every digit (a mean of 1e8 stored as such
        is rounded to 1e-8, which costs 1e-9 relative on a spread of 1).
    exponent : int
    dtype : numpy dtype
        float32 while every batch was float32, as ``fit`` on their concatenation.
    rows : int
        The rows seen (``stats.n_samples`` is their weights' total when weighted).
    weighted : bool
        Whether a batch came with sample weights.
    pending : _Pending or None
        The last batches' sums about a held pivot, not yet in ``merged`` (only with
        ``exponent`` 0).
    """

    merged: ScatterStats
    pivot: np.ndarray
    exponent: int
    dtype: np.dtype
    rows: int = 0
    weighted: bool = False
    pending: _Pending | None = None

    @cached_property
    def stats(self):
        """:class:`ScatterStats` of every row seen (less ``pivot``, times
        ``2**-exponent``): ``merged`` and ``pending`` merged."""
        if self.pending is None:
            return self.merged
        return self.merged.merge(self.pending.stats(self.pivot))

    @property
    def scale(self):
        """The factor the statistics' rows carry: ``2**-exponent``."""
        return float(np.ldexp(1.0, -self.exponent))

    @property
    def n_samples(self):
        held = 0 if self.pending is None else self.pending.count
        return self.merged.n_samples + held

    @property
    def n_features(self):
        return self.pivot.size

    def guess(self, dtype):
        """The pivot for the next dense batch's pass, from the rows so far (those
        rows' mean, or 0 when it is small against their spread, by the scatter's
        guard), so that no batch is probed; None (probe) for rescaled statistics."""
        if self.exponent != 0 or self.stats.n_samples == 0:
            return None
        stats = self.stats
        centred = np.diag(stats.scatter)
        mean = stats.mean + self.pivot
        with np.errstate(over="ignore", invalid="ignore"):
            raw = centred + stats.n_samples * mean**2
        if np.isfinite(raw).all() and _accept(raw, centred, dtype):
            return np.zeros_like(mean)
        return mean

    def _merge(self, other):
        """Both streams' rows (same pivot): Chan et al.'s update at a common power of
        two, rescaled further should the merged sums overflow."""
        exponent = max(self.exponent, other.exponent)
        rows = self.rows + other.rows
        weighted = self.weighted or other.weighted
        while True:
            merged = _at(self, exponent).merge(_at(other, exponent))
            if np.isfinite(merged.scatter).all() and np.isfinite(merged.mean).all():
                dtype = np.result_type(self.dtype, other.dtype)
                return Stream(merged, self.pivot, exponent, dtype, rows, weighted)
            exponent += 64


def add_batch(stream, X, *, center, owner, pivot=None, sample_weight=None):
    """``stream`` (None before the first batch) merged with the statistics of a
    validated batch ``X`` (float32 or float64, dense or sparse). ``pivot``: that of
    a new stream (default: the first row of ``X``, :func:`_pivot`), so that blocks
    summarised apart (dask's) merge. ``sample_weight``: the batch's validated
    frequency weights (float64), or None."""
    if stream is not None:
        pivot = stream.pivot
    elif pivot is None:
        pivot = _pivot(X, center, sample_weight)
    weighted = sample_weight is not None
    if weighted and not np.sum(sample_weight) > 0:
        # no weight: nothing to merge (a zero count leaves the other side unchanged)
        d = X.shape[1]
        stats = ScatterStats(0.0, np.zeros(d), np.zeros((d, d)))
        batch = Stream(stats, pivot, 0, X.dtype, X.shape[0], True)
        return batch if stream is None else stream._merge(batch)
    guess = None
    if stream is not None and not weighted and center:
        held, guess = _held(stream, X)
        if held is not None:
            return held
    if stream is not None and guess is None:
        guess = stream.guess(X.dtype)
    stats = _about_origin(X, pivot, center, owner, guess, sample_weight)
    if stats is not None:
        batch = Stream(stats, pivot, 0, X.dtype, X.shape[0], weighted)
    else:
        batch = _rescaled(X, pivot, center, owner, sample_weight)
    return batch if stream is None else stream._merge(batch)


def _held(stream, X):
    """``(stream with a dense batch's sums about its held pivot added, None)`` (the
    pivot is the :meth:`Stream.guess` of its statistics when it holds none), or
    ``(None, pivot)`` when the batch takes :func:`add_batch`'s own route: sparse, of
    another dtype than the held sums, rescaled statistics, a pass that the guard
    rejects (the batch lies too far from the held pivot: ``pivot`` is then the
    batch's mean, so that route makes one more pass, not two), or data that is not
    finite or whose squares underflow (that route raises or rescales; ``pivot``
    None)."""
    pending = stream.pending
    if sp.issparse(X) or stream.exponent != 0:
        return None, None
    if pending is None:
        guess = stream.guess(X.dtype)
        if guess is None:
            return None, None
        shift = guess.astype(X.dtype).astype(np.float64)
    elif pending.dtype == X.dtype:
        shift = pending.shift
    else:
        return None, None
    n, d = X.shape
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        total = _segmented_pass(X, shift.astype(X.dtype) if shift.any() else None)
        sums = total[d, :d]
        raw = total.diagonal()[:d]
        within = raw - sums * (sums / n)
    if not (np.isfinite(raw).all() and np.isfinite(sums).all()):
        return None, None
    if _underflows(within.sum(), n, d, X.dtype):
        return None, None
    if not _accept(raw, within, X.dtype):
        return None, shift + sums / n
    count, products = n, total[:d, :d]
    if pending is not None:
        count += pending.count
        sums = sums + pending.sums
        products = products + pending.products
    else:
        sums, products = sums.copy(), np.ascontiguousarray(products)
    held = Stream(
        stream.merged,
        stream.pivot,
        0,
        np.result_type(stream.dtype, X.dtype),
        stream.rows + n,
        stream.weighted,
        _Pending(shift, X.dtype, count, sums, products),
    )
    return held, None


def _underflows(trace, n, d, dtype, top=1.0):
    """Whether a scatter's trace fell to where products of entries are subnormal (the
    in-memory fit's test, :func:`~sklearn_svd._engine._out_of_range`); ``top``: the
    largest weight."""
    return trace < top * subnormal_floor(n, d, dtype)


def _about_origin(X, pivot, center, owner, guess, sample_weight=None):
    """The statistics of ``X`` with their mean less ``pivot``, with no copy of ``X``
    (a dense batch's :func:`scatter_stats` subtracts its shift from each chunk in
    cache), or None when magnitudes spoilt them: a sum of squares overflowed, or the
    scatter's trace fell to where products of entries are subnormal (the in-memory
    fit's test, :func:`~sklearn_svd._engine._out_of_range`). ``guess``: the dense
    pass's pivot (:meth:`Stream.guess`), or None for its own probe."""
    n, d = X.shape
    weights = {} if sample_weight is None else {"sample_weight": sample_weight}
    try:
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            if sp.issparse(X):
                stats = sparse_scatter_stats(X, center=center, owner=owner, **weights)
                stats = ScatterStats(stats.n_samples, stats.mean - pivot, stats.scatter)
            else:
                origin = pivot if pivot.any() else None
                stats = scatter_stats(
                    X, center=center, owner=owner, origin=origin, pivot=guess, **weights
                )
    except MagnitudeError:
        return None
    trace = np.trace(stats.scatter)
    if not np.isfinite(trace) or not np.isfinite(stats.mean).all():
        return None
    # (weighted: the scatter of rows scaled by sqrt(w), of which the largest is
    # that many rows' worth)
    top = 1.0 if sample_weight is None else float(np.max(sample_weight))
    if _underflows(trace, n, d, X.dtype, top):
        return None
    return stats


def _rescaled(X, pivot, center, owner, sample_weight=None):
    """The batch's statistics when its magnitudes spoilt the direct ones: its rows
    less ``pivot`` in float64 (exact near the pivot, whatever the dtype of ``X``; a
    sparse batch as it is, its mean moved to the pivot afterwards), scaled by a
    power of two where their squares would underflow or their sums overflow.
    Weighted rows are judged by ``sqrt(max w)`` times their magnitude, in float64
    (the scaled rows may leave float32's range where their weighted squares do not)."""
    sparse = sp.issparse(X)
    shift = pivot.any() and not sparse
    weighted = sample_weight is not None
    if shift:
        rows = np.subtract(X, pivot, dtype=np.float64)
    elif weighted:
        rows = X.astype(np.float64)
    else:
        rows = X
    root = 1.0 if not weighted else float(np.sqrt(np.max(sample_weight)))
    scale = rescaling(rows, root)
    exponent = -int(np.frexp(scale)[1] - 1)  # scale = 2**-exponent
    if scale != 1:
        rows = scaled(rows, scale)
    summarise = sparse_scatter_stats if sparse else scatter_stats
    weights = {} if sample_weight is None else {"sample_weight": sample_weight}
    stats = summarise(rows, center=center, owner=owner, **weights)
    if sparse and pivot.any():
        stats = ScatterStats(stats.n_samples, stats.mean - pivot * scale, stats.scatter)
    return Stream(stats, pivot, exponent, X.dtype, X.shape[0], weighted)


def _pivot(X, center, sample_weight=None):
    """The first row of a dense ``X`` in float64 (0 for sparse ``X`` or no centring);
    with weights, the first row of positive weight."""
    if not center or sp.issparse(X):
        return np.zeros(X.shape[1])
    first = 0
    if sample_weight is not None:
        positive = np.flatnonzero(sample_weight > 0)
        first = int(positive[0]) if positive.size else 0
    if not np.isfinite(X[first]).all():
        return np.zeros(X.shape[1])
    return np.asarray(X[first], dtype=np.float64)


def _at(stream, exponent):
    """``stream.stats`` for rows times ``2**-exponent`` (``exponent`` at least the
    stream's own: a power-of-two shrink, exact unless it underflows)."""
    shift = stream.exponent - exponent
    stats = stream.stats
    if shift == 0:
        return stats
    return ScatterStats(
        stats.n_samples, np.ldexp(stats.mean, shift), np.ldexp(stats.scatter, 2 * shift)
    )
