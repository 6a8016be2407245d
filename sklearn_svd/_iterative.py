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
        if sp.issparse(X):
            X = X.tocsr() if X.shape[0] >= X.shape[1] else X.tocsc()
        self.X = X
        self.mean = np.asarray(mean, dtype=np.float64)
        self.dtype = X.dtype
        self.shape = X.shape
        self.tall = X.shape[0] >= X.shape[1]
        self.sparse = sp.issparse(X)
        self.step = max(1, 4 * CHUNK_BYTES // max(1, min(X.shape) * X.dtype.itemsize))
        self.explicit = False
        if not self.sparse and np.any(mean):
            # The columns' raw and centred sums of squares on the first rows: the
            # same cancellation test as the scatter's (_scatter._accept).
            probe = X[: max(self.step, 1000)] if self.tall else X
            shifted = probe - self.mean.astype(X.dtype)
            raw = np.einsum("ij,ij->j", probe, probe, dtype=np.float64)
            centred = np.einsum("ij,ij->j", shifted, shifted, dtype=np.float64)
            self.explicit = not _accept(raw, centred, X.dtype)
        self._mean_x = self.mean.astype(X.dtype)

    def _chunks(self):
        """Yield ``(slice, centred_chunk_or_raw, correction)`` along the long side.

        For implicit centring the raw chunk is returned with the mean slice to
        subtract as a rank-one correction; for explicit centring the chunk is centred.
        """
        n, d = self.shape
        for start in range(0, n if self.tall else d, self.step):
            if self.tall:
                sl = slice(start, min(start + self.step, n))
                block = self.X[sl]
                mean = self._mean_x
            else:
                sl = slice(start, min(start + self.step, d))
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
        for _, block, mean in self._chunks():
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
            sums = np.asarray(self.X.sum(axis=0, dtype=np.float64)).ravel()
            n = self.shape[0]
            # sum (x - mu)^2 = sum x^2 - 2 mu . sums + n |mu|^2, with sums = n mu
            return float(data @ data - 2 * self.mean @ sums + n * self.mean @ self.mean)
        total = 0.0
        for _, block, mean in self._chunks():
            if mean is not None:
                block = block - mean
            total += float(np.einsum("ij,ij->", block, block, dtype=np.float64))
        return total

    def linear_operator(self):
        """The same products as a SciPy ``LinearOperator`` (for ARPACK)."""
        return LinearOperator(
            self.shape,
            matvec=lambda v: self.matmat(v.reshape(-1, 1)).ravel(),
            rmatvec=lambda v: self.rmatmat(v.reshape(-1, 1)).ravel(),
            matmat=self.matmat,
            rmatmat=self.rmatmat,
            dtype=self.dtype,
        )


def _orthonormal(Y):
    # numpy's QR runs on the same OpenBLAS as the products (see _engine.top_eigh).
    return np.linalg.qr(Y)[0]


def _rayleigh_ritz(op, Q, k):
    """Best rank-``k`` factors of ``X_c`` restricted to the basis ``Q`` of the short side.

    Tall data: ``X_c Q`` (``n x L``) is reduced to its R factor chunk by chunk (TSQR),
    never held whole, and the SVD of R gives ``s`` and ``V = Q W``. Wide data:
    ``B = Q^T X_c`` (``L x d``) is small enough to decompose directly. No Gram matrix is
    formed here, so the singular values keep the accuracy of the basis.
    """
    if op.tall:
        R = np.zeros((0, Q.shape[1]), dtype=op.dtype)
        Qx = Q.astype(op.dtype)
        for _, block, mean in op._chunks():
            part = block @ Qx
            if mean is not None:
                part -= mean @ Qx
            R = np.linalg.qr(np.vstack([R, part]), mode="r")
        _, s, Wt = np.linalg.svd(R, full_matrices=False)
        V = (Q @ Wt[:k].T).T
        return None, s[:k], V
    B = op.rmatmat(Q).T
    Uh, s, Vt = np.linalg.svd(B, full_matrices=False)
    return Q @ Uh[:, :k], s[:k], Vt[:k]


def randomized_svd(op, k, *, n_oversamples=10, n_iter="auto", random_state=None):
    """Top ``k`` singular triplets of the centred data by randomized block Krylov.

    Contract: approximate. With ``l = k + n_oversamples`` and ``q = n_iter``, a Gaussian
    block ``Omega`` of ``l`` columns in the short dimension is multiplied by the smaller
    Gram operator ``G`` ``q + 1`` times, each block re-orthonormalised, and the whole
    Krylov space ``[G Omega, ..., G^(q+1) Omega]`` is searched for the top ``k``
    triplets (Rayleigh-Ritz on ``X_c`` itself, no squaring). Block Krylov's error
    decays like ``exp(-c q sqrt(gap))`` where subspace iteration's decays like
    ``(s_{k+1} / s_k)^(2q)`` (Musco & Musco 2015): on slowly decaying or flat spectra
    it reaches a given accuracy with far fewer passes. Each application of ``G`` reads
    ``X`` once (both products per chunk in cache), so the solver costs ``q + 2``
    passes over ``X``, ``(2 q + 3) n d l`` flops, and ``O(min(n, d) l (q + 1))`` extra
    memory. ``n_iter="auto"``: 3. Deterministic for a fixed ``random_state``.

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
    block = rng.standard_normal((m, width)).astype(op.dtype, copy=False)
    blocks = []
    for _ in range(q + 1):
        block = _orthonormal(op.gram(block))
        blocks.append(block)
    basis = np.hstack(blocks)
    Q = _orthonormal(basis) if basis.shape[1] <= m else np.eye(m, dtype=op.dtype)
    return _rayleigh_ritz(op, Q.astype(np.float64), k)


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
