"""Products with the implicitly centred data ``X_c = X - 1 mu^T``, never forming it.

The iterative solvers (:mod:`sklearn_svd._iterative`) see the data only through
:class:`CentredOperator`: no centred copy of ``X`` is made and a sparse ``X`` is never
densified whole.
"""

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from ._scatter import (
    CHUNK_BYTES,
    _accept,
    _cancelling,
    _column_moments,
    _compressed,
    split_mean,
    subtract_mean,
)


def _implicit_limit(dtype):
    """Largest accepted ratio of raw to centred sum of squares for implicit centring.

    Implicit centring costs about ``sqrt(raw / centred)`` in relative error of the
    products (no squaring): accept up to 2^10 of it in float64, 2^4 in float32 (the
    test is the scatter's, :func:`sklearn_svd._scatter._accept`, with these limits).
    """
    return 2.0**20 if dtype == np.float64 else 2.0**8


class CentredOperator:
    """Products with ``X_c = X - 1 mu^T`` without forming it.

    Chunks run along the long side of ``X`` (blocks of rows when ``n >= d``, of columns
    otherwise), so the temporaries are of the size of the short side. Centring is
    implicit, ``X_c Q = X Q - 1 (mu^T Q)``, when the mean is small against the spread;
    for dense ``X`` with a large offset each chunk is centred exactly in cache instead,
    since the rank-one correction would cancel leading digits (about
    ``u |mu| / spread`` of relative precision, ``u`` the unit roundoff).

    Dense ``X`` is read once on construction, each chunk centred exactly (the mean
    rounded to the dtype of ``X``, then the rounding's remainder,
    :func:`sklearn_svd._scatter.subtract_mean`): the residual mean of the deviations
    refines the mean (float32 column sums of 50000 rows at an offset of 1e6 are off
    by 40 times a spread of 1), the per-column sums of squares give ``sq_norm``
    exactly and choose between implicit and exact centring for the whole of ``X``.

    Sparse ``X`` is judged column by column, from its exact sums of squares
    (:func:`sklearn_svd._scatter._column_moments`, ``O(nnz)``): the light columns (all
    of them for counts, indicators, TF-IDF) are centred implicitly in whole sparse
    products; the heavy ones, whose mean dwarfs their spread, are necessarily mostly
    stored values, and enter as cache-sized dense chunks along the long side, each
    centred exactly. The mean is refined by a second pass (the residual mean of the
    deviations, as the dense solvers do) and ``sq_norm`` is exact. ``X`` itself is
    never modified (a non-canonical matrix is copied before its duplicates are summed).

    ``gram(Y)`` applies the smaller Gram operator (``X_c^T X_c`` for tall data,
    ``X_c X_c^T`` for wide data) in one pass over ``X``: both products are taken on each
    chunk while it is in cache.

    With ``sample_weight`` ``w`` the operator is ``D X_c``, ``D = diag(sqrt(w))`` and
    ``mean`` the weighted mean: the weights scale the rows of a product's result
    (``D (X_c Q)``) or of its operand (``X_c^T (D P)``), so no weighted copy of ``X``
    is made; the moments, the mean's refinement and ``sq_norm`` are the weighted ones.
    """

    def __init__(self, X, mean, sample_weight=None):
        # ``mean``: the column means of ``X``, or zeros for an uncentred operator.
        mean = np.asarray(mean, dtype=np.float64)
        self.weights = None
        if sample_weight is not None:
            self.weights = np.asarray(sample_weight, dtype=np.float64)
            self.total_weight = float(np.sum(self.weights))
            self._root = np.sqrt(self.weights).astype(X.dtype)[:, None]
        self.dtype = X.dtype
        self.shape = X.shape
        self.tall = X.shape[0] >= X.shape[1]
        self.sparse = sp.issparse(X)
        self.long = X.shape[0] if self.tall else X.shape[1]
        self.explicit = False
        self.heavy = None
        if self.sparse:
            self._init_sparse(X, mean)
            return
        self.X = X
        # Dense chunks of about CHUNK_BYTES.
        self.step = max(1, CHUNK_BYTES // max(1, min(X.shape) * X.dtype.itemsize))
        self._sq_norm = None
        if np.any(mean):
            mean, raw, centred = self._dense_moments(mean)
            self._sq_norm = float(np.sum(centred))
            limit = _implicit_limit(X.dtype)
            self.explicit = not _accept(raw, centred, X.dtype, limit)
        self.mean = mean
        self._mean_x, self._rest_x = split_mean(mean, X.dtype)

    def _dense_moments(self, mean):
        """Per column of a dense ``X``, in one pass of exactly centred chunks: the
        two-pass mean, ``sum x^2`` and ``sum (x - mean)^2`` (float64).

        ``mean`` is a first estimate; the deviations from it are small, so their sums
        carry no cancellation and refine it to about ``u`` times the spread. The sum
        of squares about the refined mean, ``sum c^2 - n r^2``, cancels only as much
        as the first estimate was off; a second pass runs in the rare case where that
        is more than the float64 guard allows.
        """
        d = self.shape[1]
        w = self.weights
        n = self.shape[0] if w is None else self.total_weight
        for _ in range(2):
            head, rest = split_mean(mean, self.dtype)
            sums, squares = np.zeros(d), np.zeros(d)
            for start in range(0, self.long, self.step):
                sl = slice(start, min(start + self.step, self.long))
                if self.tall:
                    chunk, at = subtract_mean(self.X[sl], head, rest), slice(None)
                    rows = None if w is None else w[sl]
                else:
                    part = None if rest is None else rest[sl]
                    chunk, at = subtract_mean(self.X[:, sl], head[sl], part), sl
                    rows = w
                if rows is None:
                    sums[at] += np.add.reduce(chunk, axis=0, dtype=np.float64)
                    squares[at] += np.einsum("ij,ij->j", chunk, chunk, dtype=np.float64)
                else:
                    sums[at] += rows @ chunk
                    squares[at] += np.einsum("i,ij,ij->j", rows, chunk, chunk)
            centre = head.astype(np.float64)
            if rest is not None:
                centre += rest
            residual = sums / n
            mean = centre + residual
            centred = np.maximum(squares - n * residual**2, 0.0)
            if _accept(squares, centred, np.float64):
                break
        # sum x^2 = sum (c + centre)^2, for the guard (a ratio: its rounding is moot)
        raw = squares + 2 * centre * sums + n * centre**2
        return mean, raw, centred

    def _init_sparse(self, X, mean):
        """Refined mean, exact ``sq_norm`` and the split into light and heavy columns."""
        X = _compressed(X)
        X = X.tocsr() if self.tall else X.tocsc()
        self.centre = bool(np.any(mean))
        self.mean, raw, centred = _column_moments(
            X, mean if self.centre else None, self.weights
        )
        self._sq_norm = float(np.sum(centred))
        heavy = _cancelling(raw, centred, _implicit_limit(X.dtype)) if self.centre else None
        # Sparse products are cheap per stored value and costly per call: the light
        # columns go whole.
        self.step = self.long
        if heavy is None or not heavy.any():
            self.light, self.X = None, X
            self._mean_x = self.mean.astype(X.dtype)
            return
        self.light, self.heavy = np.flatnonzero(~heavy), np.flatnonzero(heavy)
        self.X, self.XH = X[:, self.light], X[:, self.heavy]
        self._mean_x = self.mean[self.light].astype(X.dtype)
        # The mean rounded to the dtype of X, and what that rounding left: at an offset
        # of 1e4 in float32 the rounding alone is ~1e-3 of a spread of 1.
        self._mean_h, self._rest_h = split_mean(self.mean[self.heavy], X.dtype)
        short = self.heavy.size if self.tall else self.shape[0]
        self._heavy_step = max(1, CHUNK_BYTES // (short * X.dtype.itemsize))
        if self.weights is not None:
            # the unstored zeros' weight, the total less the stored weights, is
            # rounded (counts are exact): the heavy columns again, from their chunks
            heavy_centred = self._refine_heavy()
            self._sq_norm = float(np.sum(centred[self.light]) + np.sum(heavy_centred))

    def _refine_heavy(self):
        """Weighted heavy columns: their mean refined, and their centred sums of
        squares, from exactly centred chunks (two-pass formulas: no cancellation)."""
        h = self.heavy.size
        sums, squares = np.zeros(h), np.zeros(h)
        for sl, chunk in self._heavy_chunks():
            rows, at = (self.weights[sl], slice(None)) if self.tall else (self.weights, sl)
            sums[at] += rows @ chunk
            squares[at] += np.einsum("i,ij,ij->j", rows, chunk, chunk)
        residual = sums / self.total_weight
        centre = self._mean_h.astype(np.float64)
        if self._rest_h is not None:
            centre += self._rest_h
        self.mean[self.heavy] = centre + residual
        self._mean_h, self._rest_h = split_mean(self.mean[self.heavy], self.dtype)
        return np.maximum(squares - self.total_weight * residual**2, 0.0)

    def _chunks(self, step=None):
        """Yield ``(slice, centred_chunk_or_raw, correction)`` along the long side.

        For implicit centring the raw chunk is returned with the mean slice to
        subtract as a rank-one correction; for explicit centring the chunk is centred.
        ``step`` defaults to whole products, except with explicit centring.
        """
        if step is None:
            step = self.step if self.explicit else self.long
        for start in range(0, self.long, step):
            sl = slice(start, min(start + step, self.long))
            if self.tall:
                block, at = self.X[sl], slice(None)
            else:
                block, at = self.X[:, sl], sl
            if self.explicit:
                rest = None if self._rest_x is None else self._rest_x[at]
                yield sl, subtract_mean(block, self._mean_x[at], rest), None
            else:
                yield sl, block, self._mean_x[at]

    def _heavy_chunks(self):
        """Yield ``(slice, chunk)`` along the long side: the heavy columns of a sparse
        ``X``, densified and centred exactly, a chunk at a time.

        The mean is subtracted in two parts, as for dense chunks
        (:func:`sklearn_svd._scatter.subtract_mean`), so the chunk is centred to about
        ``u`` times the spread rather than ``u |mean|``.
        """
        length = self.shape[0] if self.tall else self.heavy.size
        for start in range(0, length, self._heavy_step):
            sl = slice(start, min(start + self._heavy_step, length))
            if self.tall:
                chunk, at = self.XH[sl].toarray(), slice(None)
            else:
                chunk, at = self.XH[:, sl].toarray(), sl
            rest = None if self._rest_h is None else self._rest_h[at]
            yield sl, subtract_mean(chunk, self._mean_h[at], rest, out=chunk)

    def _light_mat(self, Q):
        """``X_c @ Q`` over the light (implicitly centred) columns of a sparse ``X``."""
        out = np.asarray(self.X @ Q)
        if self.centre:
            out -= self._mean_x @ Q
        return out

    def _light_rmat(self, P):
        """``X_c^T @ P`` for the light columns of a sparse ``X``."""
        out = np.asarray(self.X.T @ P)
        if self.centre:
            out -= np.outer(self._mean_x, P.sum(axis=0))
        return out

    def _sparse_matmat(self, Q):
        if self.heavy is None:
            return self._light_mat(Q)
        out = self._light_mat(Q[self.light])
        QH = Q[self.heavy]
        for sl, chunk in self._heavy_chunks():
            if self.tall:
                out[sl] += chunk @ QH
            else:
                out += chunk @ QH[sl]
        return out

    def _sparse_rmatmat(self, P):
        if self.heavy is None:
            return self._light_rmat(P)
        out = np.empty((self.shape[1], P.shape[1]), dtype=self.dtype)
        out[self.light] = self._light_rmat(P)
        heavy = np.zeros((self.heavy.size, P.shape[1]), dtype=self.dtype)
        for sl, chunk in self._heavy_chunks():
            if self.tall:
                heavy += chunk.T @ P[sl]
            else:
                heavy[sl] = chunk.T @ P
        out[self.heavy] = heavy
        return out

    def _sparse_gram(self, Y):
        if self.tall:  # X_c^T (X_c Y): the sparse products go whole, so two passes
            return self._sparse_rmatmat(self._sparse_matmat(Y))
        # X_c (X_c^T Y) is a sum over columns: light and heavy apart, one pass each
        out = self._light_mat(self._light_rmat(Y))
        if self.heavy is not None:
            for _, chunk in self._heavy_chunks():
                out += chunk @ (chunk.T @ Y)
        return out

    def matmat(self, Q):
        """``X_c @ Q`` for ``Q`` of shape (n_features, m) (``D X_c @ Q`` weighted)."""
        Q = np.asarray(Q, dtype=self.dtype)
        out = self._sparse_matmat(Q) if self.sparse else self._dense_matmat(Q)
        if self.weights is not None:
            out *= self._root
        return out

    def _dense_matmat(self, Q):
        out = np.zeros((self.shape[0], Q.shape[1]), dtype=self.dtype)
        for sl, block, mean in self._chunks():
            if self.tall:
                part = block @ Q
                out[sl] = part if mean is None else part - mean @ Q
            else:
                out += block @ Q[sl]
                if mean is not None:
                    out -= mean @ Q[sl]
        return out

    def rmatmat(self, P):
        """``X_c^T @ P`` for ``P`` of shape (n_samples, m) (``X_c^T D P`` weighted)."""
        P = np.asarray(P, dtype=self.dtype)
        if self.weights is not None:
            P = P * self._root
        if self.sparse:
            return self._sparse_rmatmat(P)
        out = np.zeros((self.shape[1], P.shape[1]), dtype=self.dtype)
        for sl, block, mean in self._chunks():
            if self.tall:
                out += block.T @ P[sl]
                if mean is not None:
                    out -= np.outer(mean, P[sl].sum(axis=0))
            else:
                part = block.T @ P
                out[sl] = part if mean is None else part - np.outer(mean, P.sum(axis=0))
        return out

    def gram(self, Y):
        """The smaller Gram operator applied to ``Y`` (``min(n, d) x m``), one pass."""
        Y = np.asarray(Y, dtype=self.dtype)
        weighted = self.weights is not None
        if self.sparse and weighted and self.tall:
            return self.rmatmat(self.matmat(Y))
        if weighted and not self.tall:  # D X_c X_c^T D Y
            out = self._unweighted_gram(Y * self._root)
            out *= self._root
            return out
        return self._unweighted_gram(Y)

    def _unweighted_gram(self, Y):
        """:meth:`gram` of ``X_c`` (for tall dense data, with the weights between the
        two products: ``X_c^T W X_c Y``)."""
        if self.sparse:
            return self._sparse_gram(Y)
        out = np.zeros_like(Y)
        col_sum_y = None
        for sl, block, mean in self._chunks(self.step):
            if self.tall:  # X_c^T (X_c Y), Y: d x m
                Z = block @ Y
                if mean is not None:
                    Z -= mean @ Y
                if self.weights is not None:
                    Z *= self.weights[sl, None].astype(self.dtype)
                out += block.T @ Z
                if mean is not None:
                    out -= np.outer(mean, Z.sum(axis=0))
            else:  # X_c (X_c^T Y), Y: n x m
                if col_sum_y is None:
                    col_sum_y = Y.sum(axis=0)
                Z = block.T @ Y
                if mean is not None:
                    Z -= np.outer(mean, col_sum_y)
                out += block @ Z
                if mean is not None:
                    out -= mean @ Z
        return out

    def sq_norm(self):
        """``||X_c||_F^2`` in float64 (the total variance times the degrees of freedom)."""
        if self._sq_norm is not None:  # from the exactly centred moments
            return self._sq_norm
        total = 0.0
        for sl, block, mean in self._chunks(self.step):
            if mean is not None:
                block = block - mean
            if self.weights is None:
                total += float(np.einsum("ij,ij->", block, block, dtype=np.float64))
            else:
                rows = self.weights[sl] if self.tall else self.weights
                total += float(rows @ np.einsum("ij,ij->i", block, block, dtype=np.float64))
        return total

    def _matvec(self, v):
        if self.explicit or self.heavy is not None or self.weights is not None:
            return self.matmat(v.reshape(-1, 1)).ravel()
        v = v.astype(self.dtype, copy=False)
        return np.asarray(self.X @ v).ravel() - self._mean_x @ v

    def _rmatvec(self, u):
        if self.explicit or self.heavy is not None or self.weights is not None:
            return self.rmatmat(u.reshape(-1, 1)).ravel()
        u = u.astype(self.dtype, copy=False)
        return np.asarray(self.X.T @ u).ravel() - self._mean_x * u.sum()

    def linear_operator(self):
        """The same products as a SciPy ``LinearOperator`` (for ARPACK); single vectors
        go straight to the matrix-vector kernels."""
        return LinearOperator(
            self.shape,
            matvec=self._matvec,
            rmatvec=self._rmatvec,
            matmat=self.matmat,
            rmatmat=self.rmatmat,
            dtype=self.dtype,
        )
