"""Iterative solvers for a few components of large or sparse data: randomized, ARPACK.

Both see the data only through products with the centred matrix
``X_c = X - 1 mu^T`` (:class:`CentredOperator`): no centred copy of ``X`` is made and a
sparse ``X`` is never densified.
"""

import numpy as np
from scipy.sparse.linalg import svds
from sklearn.utils import check_random_state


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
