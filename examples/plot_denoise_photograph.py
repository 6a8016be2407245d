"""
Denoising a photograph
======================

A grayscale photograph is a matrix whose rows are strongly correlated: a few singular
directions carry most of the picture, and white noise spreads evenly over all of them.
``SVDDenoiser`` estimates the noise level from the spectrum itself, keeps the
components that stand above the noise and shrinks them by the amount the noise
inflated them: nothing here is told the noise level or the rank.
"""

# %%
# A photograph with noise
# -----------------------
# scikit-learn's sample image of a flower, averaged to gray (pixel values 0 to 255,
# 427 x 640), plus Gaussian noise of standard deviation 40.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_sample_image

from sklearn_svd import ScreeDisplay, SVDDenoiser

clean = load_sample_image("flower.jpg").astype(np.float64).mean(axis=2)
rng = np.random.default_rng(0)
sigma = 40.0
noisy = clean + sigma * rng.standard_normal(clean.shape)


def psnr(image):
    """Peak signal-to-noise ratio against the clean image, in dB."""
    return 10 * np.log10(255**2 / np.mean((image - clean) ** 2))


print(f"image {clean.shape}, noise sigma = {sigma:g}, noisy PSNR {psnr(noisy):.1f} dB")

# %%
# The image as a matrix
# ---------------------
# Each row of pixels is a sample, each column a feature. The denoiser's defaults:
# noise level by MP-PCA, rank and Frobenius-optimal shrinkage from random-matrix
# theory.
denoiser = SVDDenoiser()
denoised = denoiser.fit_transform(noisy)
print(
    f"estimated sigma = {denoiser.noise_level_:.1f} (true {sigma:g}), "
    f"rank kept = {denoiser.n_components_} of {min(clean.shape)}, "
    f"PSNR {psnr(denoised):.1f} dB"
)

# %%
# Noisy, denoised and what was removed. The residual ``noisy - denoised`` should look
# like the noise itself: where it shows the picture, signal was removed too.
panels = {
    "original": clean,
    f"noisy ({psnr(noisy):.1f} dB)": noisy,
    f"denoised, rank {denoiser.n_components_} ({psnr(denoised):.1f} dB)": denoised,
    "residual (noisy - denoised)": noisy - denoised,
}
fig, axes = plt.subplots(2, 2, figsize=(9, 6.4))
for ax, (title, image) in zip(axes.ravel(), panels.items(), strict=True):
    residual = title.startswith("residual")
    ax.imshow(
        image,
        cmap="gray",
        vmin=-3 * sigma if residual else 0,
        vmax=3 * sigma if residual else 255,
    )
    ax.set_title(title, fontsize=10)
    ax.set_axis_off()
fig.tight_layout()

# %%
# Why that rank
# -------------
# The scree plot of the fitted denoiser (no refit): every singular value of the
# centred image, the noise bulk edge ``sigma sqrt(N) (1 + sqrt(beta))`` below which pure
# noise of the estimated level lies, and the shrunk values the denoised image has.
display = ScreeDisplay.from_estimator(denoiser)
display.ax_.set_title("Singular values of the noisy photograph")

# %%
# Patches as samples
# ------------------
# An image has more low-rank structure between small patches than between whole
# rows: cut it into 8 x 8 tiles, make each tile a row of 64 pixels, denoise that
# 4240 x 64 matrix and put the tiles back. The noise on the tiles is still white, so
# the same automatic rules apply.
p = 8
h, w = (clean.shape[0] // p) * p, (clean.shape[1] // p) * p


def to_patches(image):
    return image[:h, :w].reshape(h // p, p, w // p, p).swapaxes(1, 2).reshape(-1, p * p)


def from_patches(patches):
    return patches.reshape(h // p, w // p, p, p).swapaxes(1, 2).reshape(h, w)


patch_denoiser = SVDDenoiser()
tiles = from_patches(patch_denoiser.fit_transform(to_patches(noisy)))
mse = np.mean((tiles - clean[:h, :w]) ** 2)
print(
    f"8 x 8 patches: sigma = {patch_denoiser.noise_level_:.1f}, rank "
    f"{patch_denoiser.n_components_} of {p * p}, PSNR {10 * np.log10(255**2 / mse):.1f} dB"
)

fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
for ax, (title, image) in zip(
    axes,
    [("rows as samples", denoised), ("8 x 8 patches as samples", tiles)],
    strict=True,
):
    ax.imshow(image, cmap="gray", vmin=0, vmax=255)
    ax.set_title(title, fontsize=10)
    ax.set_axis_off()
fig.tight_layout()
plt.show()
