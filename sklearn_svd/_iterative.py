"""Iterative solvers for a few components of large or sparse data: randomized, ARPACK.

Both see the data only through products with the centred matrix
``X_c = X - 1 mu^T`` (:class:`CentredOperator`): no centred copy of ``X`` is made and a
sparse ``X`` is never densified.
"""

import numpy as np
from scipy.sparse.linalg import LinearOperator, svds
from sklearn.utils import check_random_state

from ._scatter import single_threaded_blas
from ._validation import MagnitudeError

#: Largest ratio of the basis to the block: beyond it the iteration restarts from its
#: best Ritz vectors, so memory stays ``O(min(n, d) (k + n_oversamples))``.
MAX_BLOCKS = 8

#: Iterations allowed by ``n_iter="auto"`` before giving up on ``tol``.
AUTO_MAX_ITER = 60

#: A direction of a new Krylov block shorter than this many unit roundoffs times the
#: largest Ritz value is rounding noise of the Gram products: it is deflated (dropped).
DEFLATION = 64


def default_tol(dtype):
    """The default relative residual: 1e-10 for float64 data, 1e-4 for float32.

    Each Ritz value is then correct to half that relatively or better, and the Ritz
    values' errors are quadratic in the residuals (far below them once separated):
    measured on decaying and flat spectra, 1e-10 took at most one pass more than
    ``sqrt(u) = 1.5e-8`` and gave subspaces 1e5x more accurate.
    """
    return 1e-10 if np.dtype(dtype) == np.float64 else 1e-4


def _orthonormal(Y):
    # numpy's QR runs on the same OpenBLAS as the products (see _engine.top_eigh).
    return np.linalg.qr(Y)[0]


def _deflated(W, floor):
    """Orthonormal basis of the directions of ``W`` longer than ``floor``, and ``B``.

    ``W ~= Q B`` with ``Q`` orthonormal and the dropped part of norm ``<= floor``. QR
    alone would return a basis for a numerically zero ``W`` too, made of rounding
    noise that is not orthogonal to anything (that is what made the Ritz values
    overshoot on structured data); the SVD of the small ``R`` ranks the directions.
    """
    Q, R = np.linalg.qr(W)
    Ur, sr, Vrt = np.linalg.svd(R)
    keep = sr > floor
    return Q @ Ur[:, keep], sr[keep, None] * Vrt[keep]


def _tridiagonal(columns, size):
    """The symmetric ``T = Q^T G Q`` from its upper block columns."""
    T = np.zeros((size, size))
    start = 0
    for c in columns:
        T[: c.shape[0], start : start + c.shape[1]] = c
        start += c.shape[1]
    return np.triu(T) + np.triu(T, 1).T  # the lower blocks mirror the upper ones


def randomized_svd(op, k, *, n_oversamples=10, n_iter="auto", tol=None, random_state=None):
    """Top ``k`` singular triplets of the centred data by randomized block Krylov.

    Contract: stops when every one of the top ``k`` Ritz pairs ``(theta_i, y_i)`` of
    the smaller Gram operator ``G`` (``X_c^T X_c`` or ``X_c X_c^T``; ``theta_i =
    s_i^2``) has a residual ``||G y_i - theta_i y_i|| <= tol theta_i + delta``, with
    ``delta = 64 u theta_1`` the rounding level of the Gram products (``u`` the unit
    roundoff of ``X``). Each Ritz value is then within that residual of an eigenvalue
    of ``G`` (Demmel 1997, thm. 5.5), so ``s_i`` has a relative error of at most
    ``tol / 2 + 32 u (s_1 / s_i)^2``, and usually far less (the error of a Ritz value
    is quadratic in the residual when ``s_i`` is separated from its neighbours); the
    subspace sine of ``y_i`` is at most its residual over the gap to the rest of the
    spectrum. It also stops, with an exact answer, when the Krylov space is exhausted
    (the data has fewer than ``k + n_oversamples`` directions the start block reaches:
    zero or duplicated columns, one-hot data, low rank). If ``n_iter`` passes do not
    reach ``tol``, a ``ConvergenceWarning`` gives the residual reached.

    Method: a Gaussian block of ``l = k + n_oversamples`` columns in the short
    dimension starts a block Lanczos iteration on ``G`` with full reorthogonalisation
    (each new block orthogonalised twice against the basis, Giraud et al. 2005).
    Directions of a new block at the rounding level are deflated instead of
    normalised. The projections collected on the way form ``T = Q^T G Q``, whose
    eigenpairs are the Ritz pairs; the residuals come from the recurrence,
    ``G Q z - theta Q z = Q_next B z_last``, at no extra pass. When the basis reaches
    ``8 l`` columns the iteration restarts from the best ``l`` Ritz vectors (thick
    restart). Block Krylov's error decays like ``exp(-c q sqrt(gap))`` where subspace
    iteration's decays like ``(s_{k+1} / s_k)^(2q)`` (Musco & Musco 2015).

    Cost: one application of ``G`` to ``l`` columns per iteration, each one pass over
    ``X`` (both products per chunk while it is in cache; one more pass for wide data to
    recover ``V``), ``4 n d l`` flops each, and ``O(min(n, d) l)`` extra memory besides
    the chunks. ``n_iter``: the most iterations after the first application of ``G``
    (``"auto"``: 60), so at most ``n_iter + 1`` passes. Deterministic for a fixed
    ``random_state``.

    Returns
    -------
    U : ndarray of shape (n_samples, k) or None
        Left singular vectors (wide data only; tall data leaves them to a projection).
    s : ndarray of shape (k,)
    Vt : ndarray of shape (k, n_features)
    info : dict
        ``passes`` (applications of ``G``), ``residual`` (the largest of
        ``||G y_i - theta_i y_i|| / theta_i`` over the top ``k``, 0 when exhausted),
        ``converged`` and ``exhausted``.

    References
    ----------
    Halko, Martinsson & Tropp (2011), "Finding structure with randomness", SIAM Review
    53(2). doi:10.1137/090771806

    Musco & Musco (2015), "Randomized block Krylov methods for stronger and faster
    approximate singular value decomposition", NeurIPS 28. arXiv:1504.05477

    Giraud, Langou & Rozloznik (2005), "The loss of orthogonality in the Gram-Schmidt
    orthogonalization process", Computers & Mathematics with Applications 50(7).
    doi:10.1016/j.camwa.2005.08.009
    """
    m = min(op.shape)
    eps = np.finfo(op.dtype).eps
    tol = default_tol(op.dtype) if tol is None else tol
    max_passes = 1 + (AUTO_MAX_ITER if n_iter == "auto" else int(n_iter))
    width = min(k + n_oversamples, m)
    rng = check_random_state(random_state)
    block = _orthonormal(rng.standard_normal((m, width)))
    basis = block
    columns = []  # columns[i] = basis^T G Q_i, the upper block column i of T
    info = {"passes": 0, "residual": np.inf, "converged": False, "exhausted": False}
    while True:
        W = op.gram(block).astype(np.float64)
        info["passes"] += 1
        if not np.isfinite(W).all():  # X is finite (its sums were): an overflow
            raise MagnitudeError(
                f"The Gram products of X overflow in {op.dtype}: rescale X."
            )
        # The rest is small dense algebra: single-threaded, or BLAS threads left
        # spinning by the products made each QR ~50x slower on a busy 2-core machine.
        with single_threaded_blas():
            C = basis.T @ W
            W -= basis @ C
            C2 = basis.T @ W  # twice is enough (Giraud et al. 2005)
            W -= basis @ C2
            columns.append(C + C2)
            theta, Z = np.linalg.eigh(_tridiagonal(columns, basis.shape[1]))
            theta, Z = theta[::-1], Z[:, ::-1]
            scale = max(theta[0], 0.0)
            floor = DEFLATION * eps * scale
            block, B = _deflated(W, floor)
            top = min(k, theta.size)
            # residual of each Ritz pair: ||B z_last|| (z_last: its rows of the last block)
            residual = np.linalg.norm(B @ Z[-W.shape[1] :, :top], axis=0)
            bound = tol * np.maximum(theta[:top], 0.0) + floor
            with np.errstate(divide="ignore", invalid="ignore"):
                relative = np.where(residual > floor, residual / theta[:top], 0.0)
            info["residual"] = float(np.max(relative, initial=0.0))
            # Once the basis spans all m dimensions nothing is left: T holds G exactly.
            block = block[:, : m - basis.shape[1]]
            info["exhausted"] = block.shape[1] == 0
            converged = top == k and bool(np.all(residual <= bound))
            if converged or info["exhausted"] or info["passes"] >= max_passes:
                info["converged"] = converged or info["exhausted"]
                break
            # The kept directions are far above the rounding level; one more projection
            # removes what the QR of W left of the basis.
            block -= basis @ (basis.T @ block)
            block = _orthonormal(block)
            if basis.shape[1] + block.shape[1] > MAX_BLOCKS * width:
                # Thick restart: the best Ritz vectors, with T = diag(theta) on them.
                keep = min(width, theta.size)
                basis = basis @ Z[:, :keep]
                columns = [np.diag(theta[:keep])]
            basis = np.hstack([basis, block])
    order = slice(0, min(k, theta.size))
    s = np.sqrt(np.clip(theta[order], 0, None))
    Y = basis @ Z[:, order]
    if s.size < k:  # exhausted below k: the rest are exact zeros
        s = np.r_[s, np.zeros(k - s.size)]
        Y = np.hstack([Y, orthonormal_complement(Y, k - Y.shape[1])])
    zero = s <= np.sqrt(DEFLATION * eps) * s[0] if s.size and s[0] > 0 else s <= 0
    if op.tall:
        return None, s, Y.T, info
    Vt = op.rmatmat(Y).T.astype(np.float64)
    Vt[~zero] /= s[~zero, None]
    if zero.any():
        Vt[zero] = orthonormal_complement(Vt[~zero].T, int(zero.sum())).T
    return Y, s, Vt, info


def orthonormal_complement(Y, m):
    """``m`` orthonormal columns orthogonal to the orthonormal columns of ``Y``, the
    same for the same ``Y`` (a zero singular value's vector is any such direction)."""
    Z = np.random.RandomState(0).standard_normal((Y.shape[0], m))
    for _ in range(2):
        Z -= Y @ (Y.T @ Z)
    return np.linalg.qr(Z)[0]


def arpack_svd(op, k, *, random_state=None, scale=1.0):
    """Top ``k`` singular triplets of the centred data by ARPACK.

    Contract: converged to working precision. ``scipy.sparse.linalg.svds`` (implicitly
    restarted Lanczos, ``tol=0``) on the centred operator; ``k < min(n, d)``. Cost: a
    few hundred products with ``X_c`` and ``X_c^T``, more when the spectrum near
    ``s_k`` is flat. The start vector is drawn from ``random_state``.

    ARPACK runs in float64 on ``scale * X_c``, ``scale`` a power of two that brings the
    largest entry of ``X`` near 1 (exact): single-precision ARPACK on float32 data,
    and its absolute thresholds on data far from unit scale, returned values that were
    not the largest. It runs single-threaded, so its products round the same way
    whatever limit other fits in the process hold (ties make Lanczos sensitive to
    the last bit), and its matrix-vector products gain little from threads.
    """
    base = op.linear_operator()

    def scaled(product):
        return lambda v: scale * np.asarray(product(v), dtype=np.float64)

    A = LinearOperator(
        op.shape,
        matvec=scaled(base.matvec),
        rmatvec=scaled(base.rmatvec),
        matmat=scaled(base.matmat),
        rmatmat=scaled(base.rmatmat),
        dtype=np.float64,
    )
    v0 = check_random_state(random_state).uniform(-1, 1, min(op.shape))
    with single_threaded_blas():
        U, s, Vt = svds(A, k=k, tol=0, v0=v0, solver="arpack")
    if not np.isfinite(s).all():  # X is finite (its sums were): an overflow
        raise MagnitudeError(f"The products of X overflow in {op.dtype}: rescale X.")
    order = np.argsort(s)[::-1]
    return U[:, order], s[order] / scale, Vt[order]
