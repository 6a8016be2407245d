"""
A scree plot with the noise bulk edge
=====================================

Where does the signal end and the noise begin? Pure white noise of standard
deviation ``sigma`` in an ``N x M`` matrix (``N >= M``) has singular values that fill
the interval ``sigma sqrt(N) [1 - sqrt(beta), 1 + sqrt(beta)]``, ``beta = M / N`` (the
Marchenko-Pastur bulk). A component of the signal is recoverable only if it lifts its
singular value above the upper end of that interval, the *bulk edge*.
:class:`~sklearn_svd.ScreeDisplay` draws the spectrum of a fitted estimator against
that edge.
"""

# %%
# Noisy digits
# ------------
# scikit-learn's 8 x 8 digits (pixel values 0 to 16) with Gaussian noise of standard
# deviation 4 added.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from sklearn_svd import ScreeDisplay, SVDDenoiser, SVDReducer

clean = load_digits().data
rng = np.random.default_rng(0)
noisy = clean + 4.0 * rng.standard_normal(clean.shape)

# %%
# The scree plot
# --------------
# ``ScreeDisplay.from_data`` fits a clone of the estimator (by default
# ``SVDDenoiser()``, which computes every singular value and estimates the noise
# level) and draws: every singular value, the kept ones, the bulk edge of the noise
# level it estimated, and the values after optimal shrinkage. The right-hand axis
# gives the cumulative explained variance ratio.
display = ScreeDisplay.from_data(noisy, cumulative=True)
denoiser = display.estimator_
print(
    f"noise level {denoiser.noise_level_:.2f} (true 4), bulk edge "
    f"{denoiser.bulk_edge_:.1f}, rank kept {denoiser.n_components_}"
)
display.ax_.set_title("Noisy digits: spectrum and noise bulk edge")

# %%
# Pure noise for comparison
# -------------------------
# The singular values of noise alone (same shape, same sigma) end at the bulk edge:
# everything the denoiser keeps stands above what noise can produce.
pure_noise = 4.0 * rng.standard_normal(clean.shape)
noise_spectrum = SVDReducer().fit(pure_noise).singular_values_

fig, ax = plt.subplots()
display = ScreeDisplay.from_estimator(denoiser, ax=ax)
ax.plot(
    np.arange(1, noise_spectrum.size + 1),
    noise_spectrum,
    color="0.6",
    label="noise alone",
)
ax.legend(loc="upper right")
ax.set_title("Noisy digits against noise alone")
print(f"largest singular value of noise alone: {noise_spectrum[0]:.1f}")

# %%
# The rules side by side
# ----------------------
# The hard threshold of Gavish and Donoho (for an estimated noise level) sits above the
# bulk edge: hard truncation keeps fewer components than the shrinkers, which keep
# everything above the edge but shrink the weak components towards zero.
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
for ax, shrinkage in zip(axes, ["frobenius", "hard"], strict=True):
    shown = ScreeDisplay.from_data(noisy, estimator=SVDDenoiser(shrinkage=shrinkage), ax=ax)
    ax.set_title(f'shrinkage="{shrinkage}": rank {shown.estimator_.n_components_}')
    ax.set_xlim(0, 45)
fig.tight_layout()
plt.show()
