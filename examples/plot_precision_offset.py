"""
Precision at a large column offset
==================================

Raw features often sit far from zero: timestamps, prices, sensor readings with a
baseline. PCA centres them, and *how* it centres decides what is left of the data.
Forming the covariance as ``X^T X / n - mu mu^T`` subtracts two huge, nearly equal
numbers: at an offset ``c`` against a spread of 1 it loses about ``2 log10(c)`` digits,
and the small principal components go first. ``SVDReducer`` forms its scatter
matrix about a pivot near the mean, so the offset costs nothing.

Here the same data is shifted by larger and larger offsets, and the singular values
found by each solver are compared with LAPACK's SVD of the explicitly centred data
(the reference; see the user guide's *Mathematics* page for why squaring the data
costs precision at all).
"""

# %%
# Data with a decaying spectrum
# -----------------------------
# 3000 samples, 50 features: ten components with strengths from 1 down to 0.01, plus a
# little noise, shifted by a common offset.
import warnings

import matplotlib.pyplot as plt
import numpy as np
import scipy.linalg
from sklearn.decomposition import PCA

from sklearn_svd import SVDReducer

rng = np.random.default_rng(0)
n, d, k = 3000, 50, 10
latent = rng.standard_normal((n, k)) * np.logspace(0, -2, k)
base = latent @ rng.standard_normal((k, d)) + 0.01 * rng.standard_normal((n, d))


def reference(X):
    """Top-k singular values of X centred in float64 (twice: the second pass removes
    the rounding of the first mean), by LAPACK."""
    Xc = X.astype(np.float64)
    Xc -= Xc.mean(axis=0)
    Xc -= Xc.mean(axis=0)
    return scipy.linalg.svdvals(Xc)[:k]


def error(estimator, X, s_ref):
    """Largest relative error of the top-k singular values."""
    with warnings.catch_warnings():
        # scikit-learn may warn that its covariance is ill-conditioned: that is the point
        warnings.simplefilter("ignore")
        estimator.fit(X)
    return np.max(np.abs(estimator.singular_values_.astype(np.float64) / s_ref - 1))


estimators = {
    "SVDReducer()": lambda: SVDReducer(k),
    'SVDReducer(solver="full")': lambda: SVDReducer(k, solver="full"),
    "PCA()": lambda: PCA(k),
    'PCA(svd_solver="full")': lambda: PCA(k, svd_solver="full"),
}
offsets = {
    np.float32: 10.0 ** np.arange(0, 6),
    np.float64: 10.0 ** np.arange(0, 13, 3),
}

# %%
# Errors against the offset
# -------------------------
errors = {}
for dtype, shifts in offsets.items():
    for offset in shifts:
        X = (base + offset).astype(dtype)
        s_ref = reference(X)
        for name, make in estimators.items():
            errors[dtype, name, offset] = error(make(), X, s_ref)
        print(
            f"{dtype.__name__:>7} offset {offset:7.0e}: "
            + ", ".join(f"{name} {errors[dtype, name, offset]:.0e}" for name in estimators)
        )

# %%
# The plot: one panel per dtype, the largest relative error of the top ten singular
# values against the offset. An error of 1 or more means no correct digit. scikit-learn
# chooses its covariance solver for data this tall (``PCA()`` here); its full SVD centres
# the data itself and keeps more digits, at the price of a centred copy and a slower
# decomposition. Ours stays at working precision (about 1e-13 in float64, and the
# precision of the float32 data itself) at every offset, with no copy of ``X``.
styles = {
    "SVDReducer()": dict(color="C0", marker="o"),
    'SVDReducer(solver="full")': dict(color="C0", marker="s", linestyle="--"),
    "PCA()": dict(color="C3", marker="o"),
    'PCA(svd_solver="full")': dict(color="C3", marker="s", linestyle="--"),
}
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
for ax, (dtype, shifts) in zip(axes, offsets.items(), strict=True):
    for name in estimators:
        values = [max(errors[dtype, name, offset], 1e-17) for offset in shifts]
        ax.loglog(shifts, values, label=name, **styles[name])
    ax.axhline(1.0, color="0.5", linewidth=1, linestyle=":")
    ax.set(
        title=f"{dtype.__name__} data",
        xlabel="column offset (spread of the data: about 1)",
        ylabel="largest relative error, top 10 singular values",
    )
axes[0].legend(loc="upper left", fontsize=9)
fig.tight_layout()
plt.show()
