"""Denoising quality on real data: noise estimates, shrinkers and partial solvers.

Every case is clean data plus white Gaussian noise of a known level ``sigma``. Each
cell is the Frobenius error against the clean data divided by that of the Frobenius
shrinker told the true ``sigma`` (1.00: as good as knowing sigma; below 1: better,
as on natural images, whose weak components inside the noise bulk make a smaller
sigma pay). Columns:

- ``floor``: the best sigma on a grid of 0.3 .. 1.5 times the truth;
- ``default``: ``SVDDenoiser()`` (guarded MP-PCA fitted to the lower half of the bulk),
  with its sigma over the truth in parentheses;
- ``veraart``: the MP-PCA rule as published (Veraart et al. 2016), which the default
  replaced; ``median``: Gavish & Donoho's median rule;
- ``optshrink``: ``SVDDenoiser(shrinkage="optshrink")``;
- ``k=M/10``, ``k=M/4``: ``SVDDenoiser(k, solver="randomized")`` against the
  full-spectrum default's error (1.00: as good), ``*`` when it warned that sigma is not
  identifiable from the top k (the signal has more than k components above the noise).

Cases: both bundled photographs (gray and each channel, both orientations), the
digits, the standardised breast-cancer table, at three noise levels each, and spiked
and power-law synthetic spectra. The default's two constants (``MIN_BULK``,
``LOWER`` in ``sklearn_svd/_rank.py``) were tuned on the ``train`` cases (china.jpg
and the digits) only; ``held-out`` cases (flower.jpg, the table, the synthetic
spectra) were never tuned on. Pure noise: over seeded trials, the fraction in which
a rule keeps a component and the fraction of the noise norm the default keeps.

Usage::

    python benchmarks/denoise.py            # every case (about 2 minutes)
    python benchmarks/denoise.py --quick    # gray images, one orientation, fewer trials
"""

import argparse
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, load_sample_image

from sklearn_svd import SVDDenoiser
from sklearn_svd._rank import Shape, noise_median
from sklearn_svd._shrink import shrink

PARTIAL = (10, 4)  # k = M / 10, M / 4


def veraart(s, shape):
    """MP-PCA as published: the first p whose remaining eigenvalues pass the range
    test, sigma^2 their mean (descending to the last eigenvalue if none passes)."""
    M, N = shape.M, shape.N
    lam = np.asarray(s, dtype=np.float64)[:M] ** 2 / N
    m = M - np.arange(M)
    sigma2 = np.cumsum(lam[::-1])[::-1] / m
    fits = lam - lam[-1] < 4 * np.sqrt(m / N) * sigma2
    return float(np.sqrt(sigma2[int(np.argmax(fits)) if fits.any() else M - 1]))


def real_cases(quick):
    images = {}
    for name in ("china", "flower"):
        image = load_sample_image(f"{name}.jpg").astype(np.float64)
        images[f"{name} gray"] = image.mean(axis=2)
        if not quick:
            for c, channel in enumerate("rgb"):
                images[f"{name} {channel}"] = image[:, :, c]
    for name, clean in images.items():
        split = "train" if name.startswith("china") else "held-out"
        for orientation in ("", "T") if not quick else ("",):
            for sigma in (10, 25, 50):
                data = clean.T if orientation else clean
                yield split, f"{name}{orientation} s={sigma}", data, sigma
    digits = load_digits().data
    for sigma in (1, 2, 4):
        yield "train", f"digits s={sigma}", digits, sigma
    table = load_breast_cancer().data
    table = (table - table.mean(0)) / table.std(0)
    for sigma in (0.2, 0.5, 1.0):
        yield "held-out", f"cancer s={sigma}", table, sigma


def synthetic_cases(quick):
    rng = np.random.default_rng(0)
    N = 300 if quick else 1000
    for beta in (0.1, 0.5, 1.0):
        n, d = N + 1, round(beta * N)
        for multiple in (0.8, 1.5, 3.0):  # of the detection edge beta^(1/4)
            U = np.linalg.qr(rng.standard_normal((n, 4)))[0]
            V = np.linalg.qr(rng.standard_normal((d, 4)))[0]
            x = multiple * beta**0.25 * np.sqrt(N)
            yield "spiked", f"spiked b={beta:g} x={multiple:g}edge", (U * x) @ V.T, 1.0
    for n, d in ((500, 300), (1000, 100)):
        for alpha in (0.5, 1.0, 1.5):
            m = min(n, d)
            U = np.linalg.qr(rng.standard_normal((n, m)))[0]
            V = np.linalg.qr(rng.standard_normal((d, m)))[0]
            s = 3 * np.sqrt(max(n, d)) * np.arange(1, m + 1) ** -alpha
            yield "power-law", f"power {n}x{d} a={alpha:g}", (U * s) @ V.T, 1.0


def evaluate(clean, sigma, seed):
    rng = np.random.default_rng(seed)
    noisy = clean + sigma * rng.standard_normal(clean.shape)
    shape = Shape(*noisy.shape, True)
    mean = noisy.mean(axis=0)
    U, s, Vt = np.linalg.svd(noisy - mean, full_matrices=False)
    target = clean - mean
    # ||U eta V^T - target||^2 = ||target||^2 - 2 eta . diag(U^T target V) + |eta|^2
    overlap = np.einsum("ij,ij->j", U, target @ Vt.T)
    norm2 = np.sum(target**2)

    def shrunk_error(level):
        eta = shrink(s, level, shape, "frobenius")
        return np.sqrt(max(norm2 - 2 * eta @ overlap + eta @ eta, 0.0))

    def error(denoised):
        return np.linalg.norm(denoised - clean)

    known = shrunk_error(sigma)
    cells = {"floor": min(shrunk_error(f * sigma) for f in np.linspace(0.3, 1.5, 121))}
    default = SVDDenoiser()
    cells["default"] = error(default.fit_transform(noisy))
    cells["sigma"] = default.noise_level_ / sigma
    cells["veraart"] = shrunk_error(veraart(s, shape))
    cells["median"] = shrunk_error(noise_median(s, shape))
    cells["optshrink"] = error(SVDDenoiser(shrinkage="optshrink").fit_transform(noisy))
    out = {key: value / known for key, value in cells.items() if key != "sigma"}
    out["sigma"] = cells["sigma"]
    for frac in PARTIAL:
        k = max(1, shape.M // frac)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            partial = SVDDenoiser(k, solver="randomized", random_state=0)
            denoised = partial.fit_transform(noisy)
        out[f"k=M/{frac}"] = error(denoised) / cells["default"]
        out[f"k=M/{frac} unidentified"] = any(
            "not identifiable" in str(w.message) for w in caught
        )
    return out


def pure_noise(shapes, trials):
    print(f"\npure noise, {trials} trials per shape: share of trials keeping a component")
    print("(hard rule, default), the noise norm the default keeps (mean, 99th percentile),")
    print("and the same for SVDDenoiser(M // 4, solver='randomized')")
    for n, d in shapes:
        rows = []
        for t in range(trials):
            X = np.random.default_rng(10_000 + t).standard_normal((n, d))
            norm = np.linalg.norm(X - X.mean(0))
            hard = SVDDenoiser(shrinkage="hard").fit(X).n_components_
            default = SVDDenoiser()
            kept = np.linalg.norm(default.fit_transform(X) - X.mean(0)) / norm
            shape = Shape(n, d, True)
            partial = SVDDenoiser(shape.M // 4, solver="randomized", random_state=t)
            kept_partial = np.linalg.norm(partial.fit_transform(X) - X.mean(0)) / norm
            rows.append((hard > 0, default.n_components_ > 0, kept, kept_partial))
        rows = np.array(rows, dtype=np.float64)
        print(
            f"{n:>5} x {d:<5} hard {rows[:, 0].mean():5.1%}"
            f"  default {rows[:, 1].mean():5.1%}"
            f"  kept {rows[:, 2].mean():6.2%} (99%: {np.quantile(rows[:, 2], 0.99):6.2%})"
            f"  partial kept {rows[:, 3].mean():6.2%}"
            f" (99%: {np.quantile(rows[:, 3], 0.99):6.2%})",
            flush=True,
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    columns = ["floor", "default", "veraart", "median", "optshrink"]
    partial = [f"k=M/{frac}" for frac in PARTIAL]
    print("cells: error / error of the Frobenius shrinker at the true sigma")
    print("partial: error / error of the default; * = not identifiable from the top k")
    head = " ".join(f"{c:>9}" for c in columns + partial)
    print(f"{'split':>9} {'case':>26} {head} {'sigma':>7}")
    results = {}
    cases = [*real_cases(args.quick), *synthetic_cases(args.quick)]
    for seed, (split, name, clean, sigma) in enumerate(cases):
        cell = evaluate(clean, sigma, seed)
        results.setdefault(split, []).append(cell)
        values = " ".join(f"{cell[c]:9.3f}" for c in columns)
        marks = " ".join(
            f"{cell[p]:8.3f}{'*' if cell[p + ' unidentified'] else ' '}" for p in partial
        )
        print(f"{split:>9} {name:>26} {values} {marks} {cell['sigma']:7.3f}", flush=True)
    print("\nsummary (mean / max of each column; partial: over identifiable cases only)")
    for split, cells in results.items():
        parts = []
        for c in columns + partial:
            values = [cell[c] for cell in cells if not cell.get(f"{c} unidentified", False)]
            parts.append(
                f"{c} {np.mean(values):.3f}/{np.max(values):.3f}" if values else f"{c} -"
            )
        print(f"{split:>9}: " + "  ".join(parts))
    shapes = [(301, 300), (1001, 100), (200, 1000)] if not args.quick else [(201, 100)]
    pure_noise(shapes, 20 if args.quick else 200)


if __name__ == "__main__":
    main()
