"""Denoising quality of every shrinkage option on spiked models and on noisy digits.

Spiked model: ``X = 1 mu^T + sqrt(N) sigma sum_i x U_i V_i^T + sigma Z`` with ``r = 4``
spikes of equal strength ``x`` (in units of ``sigma sqrt(N)``), placed around the
detection edge ``beta^(1/4)`` below which a spike is invisible in the spectrum. For each
shrinkage option, with sigma known and estimated (MP-PCA), the table gives the relative
Frobenius error against the signal divided by that of the oracle best truncation (the
best hard rank chosen with the signal in hand; < 1 means better than any truncation),
and the rank chosen. "detectable" is the number of spikes above the edge. The "oracle"
column is the oracle's relative error: against the centred signal for the spiked
models, against the clean digits (as in the issue's figures) for the digits.

Usage::

    python benchmarks/denoise.py            # beta in {0.1, 0.5, 1}, N = 1000
    python benchmarks/denoise.py --quick    # N = 300
"""

import argparse

import numpy as np
from sklearn.datasets import load_digits

from sklearn_svd import SVDDenoiser

SHRINKAGES = ["frobenius", "nuclear", "operator", "hard"]
STRENGTHS = [0.8, 1.1, 1.5, 2.0, 3.0]  # multiples of the detection edge beta^(1/4)
RANK = 4


def spiked(n, d, x, sigma, seed):
    rng = np.random.default_rng(seed)
    N = max(n - 1, d)
    U = np.linalg.qr(rng.standard_normal((n, RANK)))[0]
    U -= U.mean(0)  # the signal lives in the centred space
    U /= np.linalg.norm(U, axis=0)
    V = np.linalg.qr(rng.standard_normal((d, RANK)))[0]
    signal = (U * (x * sigma * np.sqrt(N))) @ V.T + rng.standard_normal(d) * 5
    return signal, signal + sigma * rng.standard_normal((n, d))


def oracle_truncation(noisy, clean, scale):
    mean = noisy.mean(0)
    U, s, Vt = np.linalg.svd(noisy - mean, full_matrices=False)
    errors = [
        np.linalg.norm((U[:, :k] * s[:k]) @ Vt[:k] + mean - clean) for k in range(s.size)
    ]
    return min(errors) / scale, int(np.argmin(errors))


def row(label, clean, noisy, sigma, true_rank, scale):
    oracle, oracle_rank = oracle_truncation(noisy, clean, scale)
    cells = []
    for shrinkage in SHRINKAGES:
        for noise_level in (sigma, None):
            est = SVDDenoiser(shrinkage=shrinkage, noise_level=noise_level)
            err = np.linalg.norm(est.fit_transform(noisy) - clean) / scale
            cells.append(f"{err / oracle:5.2f} {est.n_components_:3d}")
    print(
        f"{label:>22} {true_rank:>4} {oracle:7.3f} {oracle_rank:4d} | " + " | ".join(cells),
        flush=True,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    N = 300 if args.quick else 1000
    head = " | ".join(f"{s[:5]:>5} known  est" for s in SHRINKAGES)
    print("cells: error / oracle-truncation error, rank chosen (sigma known | estimated)")
    print(f"{'case':>22} {'det.':>4} {'oracle':>7} {'k*':>4} | {head}")
    for beta in (0.1, 0.5, 1.0):
        n, d = N + 1, round(beta * N)  # n - 1 = N rows after centring
        for multiple in STRENGTHS:
            x = multiple * beta**0.25
            clean, noisy = spiked(n, d, x, 1.0, seed=int(100 * beta + 10 * multiple))
            detectable = RANK if multiple > 1 else 0
            scale = np.linalg.norm(clean - clean.mean(0))  # the signal, without its mean
            row(f"b={beta:g} x={multiple:g}edge", clean, noisy, 1.0, detectable, scale)

    clean = load_digits().data
    noisy = clean + 4.0 * np.random.default_rng(0).standard_normal(clean.shape)
    row("digits sigma=4", clean, noisy, 4.0, -1, np.linalg.norm(clean))


if __name__ == "__main__":
    main()
