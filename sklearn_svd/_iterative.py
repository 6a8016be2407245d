"""Iterative solvers for a few components of large or sparse data: randomized, ARPACK.

Both see the data only through products with the centred matrix
``X_c = X - 1 mu^T`` (:class:`CentredOperator`): no centred copy of ``X`` is made and a
sparse ``X`` is never densified.
"""

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, svds
from sklearn.utils import check_random_state

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


def _orthonormal(Y):
    # numpy's QR runs on the same OpenBLAS as the products (see _engine.top_eigh).
    return np.linalg.qr(Y)[0]


def randomized_svd(op, k, *, n_oversamples=10, n_iter="auto", random_state=None):
    """Top ``k`` singular triplets of the centred data by randomized block Krylov.

    Contract: approximate. With ``l = k + n_oversamples`` and ``q = n_iter``, a Gaussian
    block ``Omega`` of ``l`` columns in the short dimension starts a block Lanczos
    iteration on the smaller Gram operator ``G`` (``X_c^T X_c`` or ``X_c X_c^T``): the
    Krylov space ``[G Omega, ..., G^(q+1) Omega]`` gets an orthonormal basis (each new
    block orthogonalised twice against all previous ones), the projections collected
    on the way form ``T = Q^T G Q``, and its eigenpairs give the top ``k`` Ritz
    triplets. Block Krylov's error decays like ``exp(-c q sqrt(gap))`` where subspace
    iteration's decays like ``(s_{k+1} / s_k)^(2q)`` (Musco & Musco 2015): on slowly
    decaying or flat spectra it reaches a given accuracy with far fewer passes.

    Cost: ``q + 2`` applications of ``G`` to ``l`` columns, each one pass over ``X``
    (both products per chunk while it is in cache; one more pass for wide data to
    recover ``V``), ``4 (q + 2) n d l`` flops, and ``O(min(n, d) l (q + 1))`` extra
    memory besides the chunks. Like any Gram formulation it squares the condition
    number: ``s_i`` is accurate to about ``u (s_1 / s_i)^2`` relative at best.
    ``n_iter="auto"``: 3. Deterministic for a fixed ``random_state``.

    Returns
    -------
    U : ndarray of shape (n_samples, k) or None
        Left singular vectors (wide data only; tall data leaves them to a projection).
    s : ndarray of shape (k,)
    Vt : ndarray of shape (k, n_features)

    References
    ----------
    Halko, Martinsson & Tropp (2011), "Finding structure with randomness", SIAM Review
    53(2). doi:10.1137/090771806

    Musco & Musco (2015), "Randomized block Krylov methods for stronger and faster
    approximate singular value decomposition", NeurIPS 28. arXiv:1504.05477
    """
    m = min(op.shape)
    q = 3 if n_iter == "auto" else n_iter
    width = min(k + n_oversamples, m)
    rng = check_random_state(random_state)
    omega = rng.standard_normal((m, width)).astype(op.dtype, copy=False)
    block = _orthonormal(op.gram(omega).astype(np.float64))
    basis = block
    columns = []  # columns[i] = basis^T G Q_i, the upper block column i of T
    for i in range(q + 1):
        W = op.gram(block).astype(np.float64)
        columns.append(basis.T @ W)
        if i == q or basis.shape[1] + width > m:
            break
        W -= basis @ columns[-1]
        W -= basis @ (basis.T @ W)  # twice is enough (Giraud et al. 2005)
        block = _orthonormal(W)
        basis = np.hstack([basis, block])
    size = sum(c.shape[1] for c in columns)
    T = np.zeros((size, size))
    start = 0
    for c in columns:
        T[: c.shape[0], start : start + c.shape[1]] = c
        start += c.shape[1]
    T = T[: basis.shape[1], : basis.shape[1]]
    T = np.triu(T) + np.triu(T, 1).T  # the lower blocks mirror the upper ones
    w, Wr = np.linalg.eigh(T)
    order = np.argsort(w)[::-1][:k]
    s = np.sqrt(np.clip(w[order], 0, None))
    Y = basis @ Wr[:, order]
    if op.tall:
        return None, s, Y.T
    Vt = op.rmatmat(Y).T.astype(np.float64)
    positive = s > 0
    Vt[positive] /= s[positive, None]
    return Y, s, Vt


def arpack_svd(op, k, *, random_state=None):
    """Top ``k`` singular triplets of the centred data by ARPACK.

    Contract: converged to working precision. ``scipy.sparse.linalg.svds`` (implicitly
    restarted Lanczos, ``tol=0``) on the centred operator; ``k < min(n, d)``. Cost: a
    few hundred products with ``X_c`` and ``X_c^T``, more when the spectrum near
    ``s_k`` is flat. The start vector is drawn from ``random_state``.
    """
    v0 = check_random_state(random_state).uniform(-1, 1, min(op.shape))
    U, s, Vt = svds(op.linear_operator(), k=k, tol=0, v0=v0, solver="arpack")
    order = np.argsort(s)[::-1]
    return U[:, order], s[order], Vt[order]
