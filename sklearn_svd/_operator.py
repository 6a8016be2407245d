"""Products with the implicitly centred data ``X_c = X - 1 mu^T``, never forming it.

The iterative solvers (:mod:`sklearn_svd._iterative`) see the data only through
:class:`CentredOperator`: no centred copy of ``X`` is made and a sparse ``X`` is never
densified whole.
"""

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from ._scatter import CHUNK_BYTES, _accept


class CentredOperator:
    """Products with ``X_c = X - 1 mu^T`` without forming it.

    Chunks run along the long side of ``X`` (blocks of rows when ``n >= d``, of columns
    otherwise), so the temporaries are of the size of the short side. Centring is
    implicit, ``X_c Q = X Q - 1 (mu^T Q)``, when the mean is small against the spread;
    for dense ``X`` with a large offset each chunk is centred exactly in cache instead,
    since the rank-one correction would cancel leading digits. Sparse ``X`` is always
    centred implicitly, with the correction in float64: its relative precision is about
    ``u |mu| / spread`` (``u`` the unit roundoff), fine for the usual sparse data
    (counts, indicators) whose means are not far above their spread.

    ``gram(Y)`` applies the smaller Gram operator (``X_c^T X_c`` for tall data,
    ``X_c X_c^T`` for wide data) in one pass over ``X``: both products are taken on each
    chunk while it is in cache.
    """

    def __init__(self, X, mean):
        # ``mean``: the column means of ``X``, or zeros for an uncentred operator.
        if sp.issparse(X):
            X = X.tocsr() if X.shape[0] >= X.shape[1] else X.tocsc()
        self.X = X
        self.mean = np.asarray(mean, dtype=np.float64)
        self.dtype = X.dtype
        self.shape = X.shape
        self.tall = X.shape[0] >= X.shape[1]
        self.sparse = sp.issparse(X)
        self.long = X.shape[0] if self.tall else X.shape[1]
        # Dense chunks of about CHUNK_BYTES; sparse products are cheap per stored
        # value and costly per call, so sparse X goes whole.
        self.step = (
            self.long
            if self.sparse
            else max(1, CHUNK_BYTES // max(1, min(X.shape) * X.dtype.itemsize))
        )
        self.explicit = False
        if not self.sparse and np.any(mean):
            # Implicit centring costs about sqrt(raw / centred sum of squares) in
            # relative error of the products (no squaring): accept up to 2^10 of it in
            # float64, 2^4 in float32, judged on the first rows (the test is the
            # scatter's, _scatter._accept, with these limits).
            probe = X[: max(self.step, 1000)] if self.tall else X
            shifted = probe - self.mean.astype(X.dtype)
            raw = np.einsum("ij,ij->j", probe, probe, dtype=np.float64)
            centred = np.einsum("ij,ij->j", shifted, shifted, dtype=np.float64)
            limit = 2.0**20 if X.dtype == np.float64 else 2.0**8
            self.explicit = not _accept(raw, centred, X.dtype, limit)
        self._mean_x = self.mean.astype(X.dtype)

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
                block = self.X[sl]
                mean = self._mean_x
            else:
                block = self.X[:, sl]
                mean = self._mean_x[sl]
            if self.explicit:
                yield sl, np.asarray(block) - mean, None
            else:
                yield sl, block, mean

    def matmat(self, Q):
        """``X_c @ Q`` for ``Q`` of shape (n_features, m)."""
        Q = np.asarray(Q, dtype=self.dtype)
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
        """``X_c^T @ P`` for ``P`` of shape (n_samples, m)."""
        P = np.asarray(P, dtype=self.dtype)
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
        out = np.zeros_like(Y)
        col_sum_y = None
        for _, block, mean in self._chunks(self.step):
            if self.tall:  # X_c^T (X_c Y), Y: d x m
                Z = block @ Y
                if mean is not None:
                    Z -= mean @ Y
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
        if self.sparse:
            data = self.X.data.astype(np.float64)
            # sum (x - mu)^2 = sum x^2 - n |mu|^2, as mu is the column mean (or 0)
            return float(data @ data - self.shape[0] * self.mean @ self.mean)
        total = 0.0
        for _, block, mean in self._chunks(self.step):
            if mean is not None:
                block = block - mean
            total += float(np.einsum("ij,ij->", block, block, dtype=np.float64))
        return total

    def _matvec(self, v):
        if self.explicit:
            return self.matmat(v.reshape(-1, 1)).ravel()
        v = v.astype(self.dtype, copy=False)
        return np.asarray(self.X @ v).ravel() - self._mean_x @ v

    def _rmatvec(self, u):
        if self.explicit:
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
