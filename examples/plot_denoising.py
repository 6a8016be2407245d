"""
Denoising noisy digits: automatic rank and optimal shrinkage
============================================================

``SVDDenoiser`` estimates the noise level from the spectrum, chooses the rank and
shrinks the singular values with the optimal shrinker of Gavish & Donoho. Here Gaussian
noise is added to the digits and removed again; the error against the clean images is
compared with the best possible plain truncation.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from sklearn_svd import SVDDenoiser

clean = load_digits().data
rng = np.random.default_rng(0)
noisy = clean + 4.0 * rng.standard_normal(clean.shape)


def relative_error(estimate):
    return np.linalg.norm(estimate - clean) / np.linalg.norm(clean)


print(f"noisy input: relative error {relative_error(noisy):.3f}")

# %%
# Plain truncation at a fixed rank: too few components lose signal, too many keep noise.
# The best rank can only be found with the clean data in hand (an oracle).
errors = {
    k: relative_error(SVDDenoiser(k, shrinkage="hard").fit_transform(noisy))
    for k in range(1, 40)
}
best = min(errors, key=errors.get)
print(f"oracle truncation: rank {best}, relative error {errors[best]:.3f}")

# %%
# The defaults: noise level by MP-PCA, rank and shrinkage from random-matrix theory.
denoiser = SVDDenoiser()
denoised = denoiser.fit_transform(noisy)
print(
    f"SVDDenoiser(): sigma = {denoiser.noise_level_:.2f} (true 4), rank "
    f"{denoiser.n_components_}, relative error {relative_error(denoised):.3f}"
)

# %%
# Every shrinkage option, with the noise level estimated.
shrunk = {}
for shrinkage in ("frobenius", "nuclear", "operator", "hard"):
    model = SVDDenoiser(shrinkage=shrinkage)
    shrunk[shrinkage] = error = relative_error(model.fit_transform(noisy))
    print(f"{shrinkage:>9}: rank {model.n_components_:2d}, relative error {error:.3f}")

# %%
# The truncation error against the rank, and each automatic rule as a level: the
# shrinkers beat the best truncation without being told the clean data, because they
# also correct the values of the components they keep (noise inflates each one).
fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(list(errors), list(errors.values()), color="0.3", marker=".", label="truncation")
ax.axvline(best, color="0.3", linestyle=":", linewidth=1)
for (shrinkage, error), color in zip(shrunk.items(), ["C0", "C1", "C2", "C3"], strict=True):
    ax.axhline(error, color=color, linestyle="--", label=f'shrinkage="{shrinkage}"')
ax.set(
    xlabel="rank of the truncation",
    ylabel="relative error against the clean digits",
    title="Denoising noisy digits",
)
ax.legend(fontsize=9)

# %%
# A fitted denoiser is a linear map: new rows get the same projection and shrinkage.
denoiser = SVDDenoiser().fit(noisy[:1500])
held_out = denoiser.transform(noisy[1500:])
error = np.linalg.norm(held_out - clean[1500:]) / np.linalg.norm(clean[1500:])
print(f"held-out rows: relative error {error:.3f}")
plt.show()
