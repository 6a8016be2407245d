"""
Weighted PCA: duplicate rows and survey weights
===============================================

``sample_weight`` makes a row count as many times as its weight says: a weight of 3 is
three copies of the row, a weight of 0 drops it. Two uses of that:

1. **Deduplicated data.** Data with many repeated rows (answers on a scale, discretised
   readings, one-hot records) can be reduced to its distinct rows and their counts: the
   fit on the distinct rows with ``sample_weight=counts`` *is* the fit on all the rows,
   at a fraction of the cost.
2. **Survey weights.** A sample that over-represents a group gives that group's
   structure too much say; weighting each respondent by the number of people they
   stand for recovers the population's principal components.

See the user guide's *Sample weights* page for the formulas and the degrees of freedom.
"""

# %%
# Deduplicated data: weights are counts
# -------------------------------------
# 200,000 answers to 8 questions on a 1-5 scale, driven by two latent traits. There
# are at most 5^8 = 390,625 distinct answer patterns, and far fewer occur.
import time

import matplotlib.pyplot as plt
import numpy as np

from sklearn_svd import SVDReducer

rng = np.random.default_rng(0)
n, d = 200_000, 8
traits = rng.standard_normal((n, 2))
loadings = np.array(
    [[1.0, 0.9, 0.8, 0.7, 0.0, 0.1, 0.0, 0.2], [0.0, 0.2, 0.1, 0.0, 1.0, 0.9, 0.8, 0.7]]
)
answers = np.clip(np.rint(3 + traits @ loadings + 0.6 * rng.standard_normal((n, d))), 1, 5)

distinct, counts = np.unique(answers, axis=0, return_counts=True)
print(f"{n} rows, {distinct.shape[0]} distinct ({distinct.shape[0] / n:.1%})")

start = time.perf_counter()
full = SVDReducer(n_components=3, solver="full").fit(answers)
t_full = time.perf_counter() - start
start = time.perf_counter()
dedup = SVDReducer(n_components=3, solver="full").fit(distinct, sample_weight=counts)
t_dedup = time.perf_counter() - start

print(f"all rows:      {t_full:.3f} s, n_samples_ = {full.n_samples_}")
print(f"distinct rows: {t_dedup:.3f} s, n_samples_ = {dedup.n_samples_:.0f}")
for name in ["components_", "explained_variance_", "mean_", "noise_variance_"]:
    a, b = getattr(full, name), getattr(dedup, name)
    print(f"  {name:22s} largest difference {np.max(np.abs(a - b)):.1e}")

# %%
# The same model: every fitted attribute agrees to rounding, ``n_samples_`` is the sum
# of the counts, and ``transform`` gives every row the same scores. The scores of the
# 200,000 rows are the scores of their distinct patterns.
scores_full = full.transform(answers[:5])
scores_dedup = dedup.transform(answers[:5])
print(np.abs(scores_full - scores_dedup).max())

# %%
# Survey weights: a sample that over-represents a group
# -----------------------------------------------------
# A population of 1,000,000 people in two groups: 90% in group A, 10% in group B,
# whose features vary along different directions. A survey of 4000 people draws half
# from each group, so group B is over-represented 5x. Each respondent's design weight
# is the number of people of their group they stand for (group size / sample size).
n_a, n_b = 900_000, 100_000
dirs_a = rng.standard_normal((2, 20))
dirs_b = rng.standard_normal((2, 20))


def draw(m, dirs, shift):
    return shift + rng.standard_normal((m, 2)) @ dirs + 0.3 * rng.standard_normal((m, 20))


population = np.vstack([draw(n_a, dirs_a, 0.0), draw(n_b, dirs_b, 1.0)])
sample = np.vstack([draw(2000, dirs_a, 0.0), draw(2000, dirs_b, 1.0)])
weights = np.r_[np.full(2000, n_a / 2000), np.full(2000, n_b / 2000)]

truth = SVDReducer(n_components=4).fit(population)
plain = SVDReducer(n_components=4).fit(sample)
weighted = SVDReducer(n_components=4).fit(sample, sample_weight=weights)


def subspace_sine(a, b):
    """Largest principal angle's sine between two sets of components."""
    s = np.linalg.svd(a.components_ @ b.components_.T, compute_uv=False)
    return float(np.sqrt(max(0.0, 1 - s.min() ** 2)))


for label, model in [("unweighted", plain), ("weighted", weighted)]:
    sine = subspace_sine(model, truth)
    print(f"{label:10s} sample: subspace sine to the population's components {sine:.3f}")
print(f"n_samples_ of the weighted fit: {weighted.n_samples_:.0f} (the population)")

# %%
# The design weights sum to the population size, so the weighted fit counts a million
# rows: its variances divide by ``W - 1``, and the rank rules see a million rows. When
# only the ratios of the weights mean something (importance weights), scale them to
# sum to the number of rows instead; the components and explained variance ratios do
# not change, the degrees of freedom become the sample's.
relative = SVDReducer(n_components=4).fit(
    sample, sample_weight=weights * len(sample) / weights.sum()
)
difference = np.abs(relative.components_ - weighted.components_).max()
print(f"components: largest difference {difference:.1e}")
print(f"n_samples_ = {relative.n_samples_:.0f}")
print("explained variance ratios:", relative.explained_variance_ratio_.round(3))

# %%
# The explained variance ratios: the weighted sample's match the population's, the
# unweighted sample's overstate the components of the over-represented group.
fig, ax = plt.subplots(figsize=(6, 3.5))
x = np.arange(4)
for offset, (label, model) in zip(
    (-0.27, 0.0, 0.27),
    [("population", truth), ("sample, unweighted", plain), ("sample, weighted", weighted)],
    strict=True,
):
    ax.bar(x + offset, model.explained_variance_ratio_, width=0.27, label=label)
ax.set_xticks(x, [f"PC{i + 1}" for i in x])
ax.set_ylabel("explained variance ratio")
ax.legend()
fig.tight_layout()
plt.show()
