"""Optimal singular value shrinkers (Gavish & Donoho 2017): pure functions.

In units ``y = s / (sigma sqrt(N))`` (see :mod:`sklearn_svd._rank`), a spiked signal
of strength ``x`` appears at ``y(x) = sqrt((1 + x^2)(beta + x^2)) / x`` when ``x`` exceeds
``beta^(1/4)``, i.e. above the bulk edge ``1 + sqrt(beta)``; below it the signal is
lost in the noise and every optimal shrinker returns 0. Above it, with
``x(y) = sqrt((y^2 - beta - 1 + sqrt((y^2 - beta - 1)^2 - 4 beta)) / 2)``:

- Frobenius loss: ``eta(y) = sqrt((y^2 - beta - 1)^2 - 4 beta) / y``;
- operator-norm loss: ``eta(y) = x(y)``;
- nuclear-norm loss: ``eta(y) = max(0, (x^4 - beta - sqrt(beta) x y) / (x^2 y))``.

The result is scaled back by ``sigma sqrt(N)``.

Reference
---------
Gavish & Donoho (2017), "Optimal shrinkage of singular values", IEEE Trans. Inf.
Theory 63(4), 2137-2152. doi:10.1109/TIT.2017.2653801
"""

import numpy as np

SHRINKERS = ("frobenius", "operator", "nuclear")


def _signal_strength(y, beta):
    """``x(y)`` above the bulk edge, 0 at or below it."""
    t = y**2 - beta - 1
    disc = np.maximum(t**2 - 4 * beta, 0.0)
    x2 = np.where(y > 1 + np.sqrt(beta), (t + np.sqrt(disc)) / 2, 0.0)
    return np.sqrt(x2)


def shrink_units(y, beta, loss):
    """Optimal shrinker ``eta(y)`` for ``loss`` in units of ``sigma sqrt(N)``.

    Parameters
    ----------
    y : array-like
        Singular values divided by ``sigma sqrt(N)``.
    beta : float
        Aspect ratio ``M / N`` in ``(0, 1]``.
    loss : {"frobenius", "operator", "nuclear"}

    Returns
    -------
    eta : ndarray, zero at and below the bulk edge ``1 + sqrt(beta)``.
    """
    y = np.asarray(y, dtype=np.float64)
    above = y > 1 + np.sqrt(beta)
    safe_y = np.where(above, y, 2 + 2 * np.sqrt(beta))  # avoid 0/0 below the edge
    if loss == "frobenius":
        t = safe_y**2 - beta - 1
        eta = np.sqrt(np.maximum(t**2 - 4 * beta, 0.0)) / safe_y
    elif loss == "operator":
        eta = _signal_strength(safe_y, beta)
    elif loss == "nuclear":
        x = _signal_strength(safe_y, beta)
        eta = np.maximum((x**4 - beta - np.sqrt(beta) * x * safe_y) / (x**2 * safe_y), 0.0)
    else:
        raise ValueError(f"loss must be one of {SHRINKERS}, got {loss!r}")
    return np.where(above, eta, 0.0)


def shrink(s, sigma, shape, loss):
    """Shrunk singular values ``sigma sqrt(N) eta(s / (sigma sqrt(N)))``."""
    s = np.asarray(s, dtype=np.float64)
    if sigma <= 0:
        return s.copy()  # no noise: nothing to shrink
    scale = sigma * np.sqrt(shape.N)
    return scale * shrink_units(s / scale, shape.beta, loss)


def optshrink(s, rank, shape):
    """OptShrink (Nadakuditi 2014): data-driven shrinkage of the top ``rank`` values.

    The noise is whatever the singular values ``s_{r+1}..s_M`` say it is, not a
    white-noise model: with ``Sigma`` the ``(N - r) x (M - r)`` matrix of those values,
    ``D(z) = phi(z) phibar(z)``, ``phi(z) = tr(z (z^2 - Sigma Sigma^T)^-1) / (M - r)``
    and ``phibar`` the same over the ``N - r`` side (``N - M`` more poles at 0), the
    D-transform of the noise, gives the weights ``eta_i = -2 D(s_i) / D'(s_i)``: for a
    rank-``r`` signal plus noise, asymptotically the Frobenius-optimal value for each
    singular vector pair the data gives. For white noise ``D`` is that of the
    Marchenko-Pastur law and ``eta`` is Gavish & Donoho's Frobenius shrinker.

    Parameters
    ----------
    s : array-like of shape (M,)
        Every singular value that carries noise, descending.
    rank : int
        Number of signal components ``r < M``.
    shape : Shape

    Returns
    -------
    eta : ndarray of shape (rank,)
        Nonnegative; 0 where the estimate is not positive (a value inside the noise).

    Reference
    ---------
    Nadakuditi (2014), "OptShrink: an algorithm for improved low-rank signal matrix
    denoising by optimal, data-driven singular value shrinkage", IEEE Trans. Inf.
    Theory 60(5), 3002-3018. doi:10.1109/TIT.2014.2311661
    """
    s = np.asarray(s, dtype=np.float64)[: shape.M]
    M, N, r = s.size, shape.N, int(rank)
    top = s[:r]
    if r >= M or not s[r] > 0:
        return top.copy()  # no noise left to learn from: nothing to shrink
    # in units of the largest noise value (no overflow), z the signal values
    unit = s[r]
    z = top[:, None] / unit
    noise2 = (s[r:] / unit) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = z**2 - noise2
        trace = np.sum(z / gap, axis=1)
        dtrace = -np.sum((z**2 + noise2) / gap**2, axis=1)
        z = z[:, 0]
        phi, dphi = trace / (M - r), dtrace / (M - r)
        phibar = (trace + (N - M) / z) / (N - r)
        dphibar = (dtrace - (N - M) / z**2) / (N - r)
        eta = -2 * phi * phibar / (dphi * phibar + phi * dphibar)
    return unit * np.where(np.isfinite(eta) & (eta > 0) & (z > 1), eta, 0.0)
