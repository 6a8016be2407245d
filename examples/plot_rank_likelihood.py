"""
Choosing the rank by held-out likelihood
========================================

Both estimators carry the probabilistic PCA model of their rank (Tipping & Bishop):
``score`` is the average log-likelihood of the samples under a Gaussian whose
covariance has the kept components plus isotropic noise, exactly as ``PCA.score``.
``GridSearchCV`` over ``n_components`` with its default scoring therefore chooses the
rank that best predicts *held-out* data. Here that curve is drawn, and compared with
the rules that need no cross-validation.
"""

# %%
# Noisy digits
# ------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, KFold

from sklearn_svd import SVDDenoiser, SVDReducer

clean = load_digits().data
rng = np.random.default_rng(0)
noisy = clean + 4.0 * rng.standard_normal(clean.shape)

# %%
# The search
# ----------
# Five folds, shuffled (the digits are stored in writer order), every rank from 1 to
# 45. No ``scoring`` argument: ``GridSearchCV`` calls ``SVDReducer.score``, the
# held-out log-likelihood per sample.
ranks = np.arange(1, 46)
search = GridSearchCV(
    SVDReducer(),
    {"n_components": ranks},
    cv=KFold(5, shuffle=True, random_state=0),
)
search.fit(noisy)
mean = search.cv_results_["mean_test_score"]
std = search.cv_results_["std_test_score"]
best = search.best_params_["n_components"]
print(f"best rank by held-out likelihood: {best}")

# %%
# The rules that need no held-out data: Minka's evidence (``"mle"``, as
# ``PCA(n_components="mle")``), the optimal hard threshold of Gavish and Donoho, and
# the denoiser's automatic rank (every component above the estimated noise bulk edge).
rules = {
    '"mle"': SVDReducer("mle").fit(noisy).n_components_,
    '"gavish-donoho"': SVDReducer("gavish-donoho").fit(noisy).n_components_,
    "SVDDenoiser()": SVDDenoiser().fit(noisy).n_components_,
}
for rule, rank in rules.items():
    print(f"{rule:>16}: rank {rank}")

# %%
# The curve
# ---------
# The likelihood rises steeply while components carry signal, then falls slowly as
# each extra component fits noise that does not recur in the held-out fold (right:
# the same curve, near its maximum).
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
for ax, shown in zip(axes, [ranks >= 1, ranks >= 15], strict=True):
    ax.plot(ranks[shown], mean[shown], color="C0", marker=".", label="held-out")
    ax.fill_between(
        ranks[shown],
        (mean - std)[shown],
        (mean + std)[shown],
        color="C0",
        alpha=0.2,
        label="± 1 std over folds",
    )
    ax.axvline(best, color="C0", linestyle="--", label=f"best: {best}")
    for (rule, rank), color in zip(rules.items(), ["C1", "C2", "C3"], strict=True):
        ax.axvline(rank, color=color, linestyle=":", label=f"{rule}: {rank}")
    ax.set(xlabel="n_components", ylabel="mean log-likelihood per sample")
    ax.set_xlim(ranks[shown][0] - 1, ranks[-1] + 1)
axes[0].set_title("GridSearchCV(SVDReducer()) on noisy digits")
axes[1].set_title("near the maximum")
axes[1].legend(loc="lower right", fontsize=9)
fig.tight_layout()
plt.show()
