"""
Denoising noisy digits with a low-rank model
============================================

``SVDDenoiser`` keeps the leading singular triplets of the centred data and returns the
data in its own feature space. Here Gaussian noise is added to the digits and removed
again; the error against the clean images shows how much of the noise goes away.
"""

# %%
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
# The error as a function of the rank kept: too few components lose signal, too many
# keep noise.
for rank in (5, 10, 15, 20, 30):
    denoised = SVDDenoiser(rank).fit_transform(noisy)
    print(f"rank {rank:2d}: relative error {relative_error(denoised):.3f}")

# %%
# A fitted denoiser is a linear map: new rows are projected on the same subspace.
denoiser = SVDDenoiser(15).fit(noisy[:1500])
held_out = denoiser.transform(noisy[1500:])
error = np.linalg.norm(held_out - clean[1500:]) / np.linalg.norm(clean[1500:])
print(f"held-out rows: relative error {error:.3f}")
