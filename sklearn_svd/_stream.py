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
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ._engine import _rescaling as rescaling
from ._engine import _scaled as scaled
from ._scatter import ScatterStats, scatter_stats, sparse_scatter_stats


@dataclass(frozen=True)
class Stream:
    """Statistics of the rows seen so far.

    Attributes
    ----------
    stats : ScatterStats
        Of the rows less ``pivot``, times ``2**-exponent``.
    pivot : ndarray of shape (n_features,), float64
        The first dense row seen (0 for sparse batches and uncentred statistics): the
        means are kept relative to it, so that at a large offset their differences,
        which Chan's update squares, keep every digit (a mean of 1e8 stored as such
        is rounded to 1e-8, which costs 1e-9 relative on a spread of 1).
    exponent : int
    dtype : numpy dtype
        float32 while every batch was float32, as ``fit`` on their concatenation.
    """

    stats: ScatterStats
    pivot: np.ndarray
    exponent: int
    dtype: np.dtype

    @property
    def scale(self):
        """The factor the statistics' rows carry: ``2**-exponent``."""
        return float(np.ldexp(1.0, -self.exponent))

    @property
    def n_samples(self):
        return self.stats.n_samples

    @property
    def n_features(self):
        return self.pivot.size

    def _merge(self, other):
        """Both streams' rows (same pivot): Chan et al.'s update at a common power of
        two, rescaled further should the merged sums overflow."""
        exponent = max(self.exponent, other.exponent)
        while True:
            merged = _at(self, exponent).merge(_at(other, exponent))
            if np.isfinite(merged.scatter).all() and np.isfinite(merged.mean).all():
                dtype = np.result_type(self.dtype, other.dtype)
                return Stream(merged, self.pivot, exponent, dtype)
            exponent += 64


def add_batch(stream, X, *, center, owner):
    """``stream`` (None before the first batch) merged with the statistics of a
    validated batch ``X`` (float32 or float64, dense or sparse)."""
    pivot = stream.pivot if stream is not None else _pivot(X, center)
    sparse = sp.issparse(X)
    # float64 differences: exact near the pivot, whatever the dtype of X (a sparse
    # batch is summarised as it is and its mean moved to the pivot afterwards)
    shift = pivot.any() and not sparse
    rows = np.subtract(X, pivot, dtype=np.float64) if shift else X
    scale = rescaling(rows)
    exponent = -int(np.frexp(scale)[1] - 1)  # scale = 2**-exponent
    if scale != 1:
        rows = scaled(rows, scale)
    summarise = sparse_scatter_stats if sparse else scatter_stats
    stats = summarise(rows, center=center, owner=owner)
    if sparse and pivot.any():
        stats = ScatterStats(stats.n_samples, stats.mean - pivot * scale, stats.scatter)
    batch = Stream(stats, pivot, exponent, X.dtype)
    return batch if stream is None else stream._merge(batch)


def _pivot(X, center):
    """The first row of a dense ``X`` in float64 (0 for sparse ``X`` or no centring)."""
    if not center or sp.issparse(X) or not np.isfinite(X[0]).all():
        return np.zeros(X.shape[1])
    return np.asarray(X[0], dtype=np.float64)


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
