"""
Imputing missing values with a low-rank model
=============================================

``SVDImputer`` fits a PCA model (column means plus a low-rank matrix) to the observed
entries only, by iterative SVD, and fills the missing ones from it. Here entries of the
breast-cancer table are removed, at random and in blocks, and filled back by
``SVDImputer`` and by scikit-learn's ``SimpleImputer``, ``KNNImputer`` and
``IterativeImputer``; the error is measured on the removed entries.
"""

# %%
# The data: 569 tumours, 30 correlated measurements (radius, area, perimeter, ... of
# the cell nuclei). A PCA model is not scale-invariant, so the columns are put on a
# common scale first (``StandardScaler`` also ignores NaN, if the data has gaps
# already).
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.preprocessing import StandardScaler

from sklearn_svd import SVDImputer

X = StandardScaler().fit_transform(load_breast_cancer().data)
n, d = X.shape
rng = np.random.default_rng(0)

# %%
# Two ways of losing entries: 30% of them at random, and blocks of 10 consecutive
# measurements missing in 40% of the rows (an instrument that failed for some
# tumours).
at_random = rng.random(X.shape) < 0.3
in_blocks = np.zeros(X.shape, dtype=bool)
for i in np.flatnonzero(rng.random(n) < 0.4):
    start = rng.integers(0, d - 10)
    in_blocks[i, start : start + 10] = True
patterns = {"30% at random": at_random, "blocks of 10 columns": in_blocks}

imputers = {
    "mean": lambda: SimpleImputer(strategy="mean"),
    "KNN": lambda: KNNImputer(),
    "iterative": lambda: IterativeImputer(random_state=0),
    "SVDImputer": lambda: SVDImputer(random_state=0),
    "SVDImputer soft": lambda: SVDImputer(method="soft", random_state=0),
}


def relative_error(X_filled, mask):
    return np.linalg.norm(X_filled[mask] - X[mask]) / np.linalg.norm(X[mask])


errors = {}
for pattern, mask in patterns.items():
    X_missing = np.where(mask, np.nan, X)
    for name, make in imputers.items():
        imputer = make()
        start = time.perf_counter()
        with warnings.catch_warnings():  # IterativeImputer stops at max_iter=10
            warnings.simplefilter("ignore", ConvergenceWarning)
            X_filled = imputer.fit_transform(X_missing)
        seconds = time.perf_counter() - start
        errors[pattern, name] = relative_error(X_filled, mask)
        rank = getattr(imputer, "n_components_", "")
        print(
            f"{pattern:>20} {name:>16}: error {errors[pattern, name]:.3f} "
            f"in {seconds:5.2f} s {f'(rank {rank})' if rank != '' else ''}"
        )

# %%
# The low-rank model uses the correlations between all the columns at once, where
# ``KNNImputer`` averages whole neighbouring rows and ``IterativeImputer`` regresses
# each column on the others in turn. On blocks, the neighbours' and the regressions'
# inputs are missing together; the low-rank model only needs a row's remaining
# coordinates to place it in the subspace.
fig, ax = plt.subplots(figsize=(7, 3.5))
width = 0.8 / len(imputers)
for j, name in enumerate(imputers):
    values = [errors[pattern, name] for pattern in patterns]
    ax.bar(np.arange(len(patterns)) + j * width, values, width, label=name)
ax.set_xticks(np.arange(len(patterns)) + 0.4 - width / 2, list(patterns))
ax.set_ylabel("relative error on the missing entries")
ax.legend(fontsize="small", ncol=2)
fig.tight_layout()

# %%
# How the rank was chosen
# -----------------------
# ``n_components="auto"`` holds out 10% of the observed entries and fits ranks 0, 1,
# 2, 3, 4, 6, 9, ... with warm starts; ``validation_path_`` holds each rank's error on
# the held-out entries. The noise shrinkage drops the components the observed entries
# cannot support, so the curve is flat past the best rank, and the imputer keeps the
# smallest rank on the flat part.
X_missing = np.where(at_random, np.nan, X)
imputer = SVDImputer(random_state=0).fit(X_missing)
ranks, held_out = imputer.validation_path_.T
fig, ax = plt.subplots(figsize=(6, 3.2))
ax.plot(ranks, held_out, "o-")
ax.set_xlabel("rank tried")
ax.set_ylabel("held-out relative error")
ax.set_title(
    f"kept: {imputer.n_components_} components, noise level "
    f"{imputer.noise_level_:.2f} per entry"
)
fig.tight_layout()

# %%
# PCA on incomplete data
# ----------------------
# Followed by :class:`~sklearn_svd.SVDReducer` with the same rank and without
# shrinkage, the imputer gives EM-PCA: the reducer's components are those of PCA
# fitted to the observed entries only, and new rows are scored by least squares on
# their observed coordinates.
from sklearn.pipeline import make_pipeline  # noqa: E402

from sklearn_svd import SVDReducer  # noqa: E402

k = 5
pca = make_pipeline(SVDImputer(k, shrinkage=0, tol=1e-10), SVDReducer(k))
pca.fit(X_missing)
imputer, reducer = pca.named_steps["svdimputer"], pca.named_steps["svdreducer"]
print(
    "largest difference between the two models' components: "
    f"{np.abs(reducer.components_ - imputer.components_).max():.1e}"
)
print("scores of three incomplete rows:\n", pca.transform(X_missing[:3]).round(2))
