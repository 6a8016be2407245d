"""Randomized and ARPACK solvers side by side with scikit-learn (and fbpca if installed).

Dense: ``SVDReducer(solver="randomized")`` against ``PCA(svd_solver="randomized")`` at
both libraries' defaults and at matched passes over the data (ours reads ``X``
``n_iter + 2`` times, scikit-learn's ``2 n_iter + 2`` times after making a centred
copy), plus both ARPACK solvers. Sparse: a text-like matrix (Zipf column frequencies)
against ``TruncatedSVD`` (both algorithms, ``center=False``) and
``PCA(svd_solver="arpack")`` (centred). Times are medians of interleaved runs after a
warm-up; ratio = ours / reference; memory is the peak extra memory of a fit (tracemalloc
in a child process) over the size of ``X`` (its stored arrays, for sparse input);
accuracy is against SciPy's ``svds`` at ``tol=0`` (sparse) or LAPACK on the explicitly
centred float64 data (dense): the largest relative error of the top-k singular values
and the sine of the largest principal angle between the subspaces.

Usage::

    python benchmarks/randomized.py            # the issue's shapes
    python benchmarks/randomized.py --quick    # small shapes, for CI
"""

import argparse
import statistics
import time
import warnings
from functools import partial

import numpy as np
import scipy.sparse as sp
from compare import accuracy, make_data, peak_memory, reference
from scipy.sparse.linalg import LinearOperator, svds
from sklearn.decomposition import PCA, TruncatedSVD

from sklearn_svd import SVDReducer

try:  # optional comparison
    import fbpca
except ImportError:
    fbpca = None


def text_like(n, d, density, seed=0):
    """Counts with Zipf-distributed column frequencies, log-scaled like tf weights."""
    rng = np.random.default_rng(seed)
    nnz = int(density * n * d)
    p = 1.0 / np.arange(1, d + 1) ** 1.1
    cols = rng.choice(d, size=nnz, p=p / p.sum())
    rows = rng.integers(0, n, size=nnz)
    X = sp.csr_matrix((np.ones(nnz), (rows, cols)), shape=(n, d))
    X.sum_duplicates()
    X.data = np.log1p(X.data)
    return X


def make_X(spec):
    kind, args = spec
    return text_like(*args) if kind == "sparse" else make_data(*args)


ESTIMATORS = {
    "ours": SVDReducer,
    "PCA": PCA,
    "TruncatedSVD": TruncatedSVD,
}


class FbpcaPCA:
    """fbpca.pca behind fit / singular_values_ / components_ (centred, raw=False)."""

    def __init__(self, k, n_iter=2):
        self.k, self.n_iter = k, n_iter

    def fit(self, X):
        _, s, Vt = fbpca.pca(X, k=self.k, raw=False, n_iter=self.n_iter)
        self.singular_values_, self.components_ = s, Vt
        return self


def build(spec):
    name, kwargs = spec
    if name == "fbpca":
        return FbpcaPCA(**kwargs)
    return ESTIMATORS[name](**kwargs)


def timed(specs, X, repeats):
    """Median fit time of each estimator spec, runs interleaved, after a warm-up."""
    times = {i: [] for i in range(len(specs))}
    fitted = {}
    for r in range(repeats + 1):
        for i, spec in enumerate(specs):
            est = build(spec)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                start = time.perf_counter()
                est.fit(X)
                elapsed = time.perf_counter() - start
            fitted[i] = est
            if r:
                times[i].append(elapsed)
    return [statistics.median(times[i]) for i in range(len(specs))], fitted


def sparse_reference(X, k, center):
    """SciPy's svds at tol=0 (ARPACK to working precision), centred implicitly."""
    mu = np.asarray(X.mean(axis=0)).ravel() if center else np.zeros(X.shape[1])
    op = LinearOperator(
        X.shape,
        matvec=lambda v: X @ v - mu @ v,
        rmatvec=lambda v: X.T @ v - mu * v.sum(),
        dtype=np.float64,
    )
    _, s, Vt = svds(op, k=k, tol=0, random_state=0)
    order = np.argsort(s)[::-1]
    return s[order], Vt[order]


def report(label, x_spec, X, pairs, ref, repeats, memory):
    """Print one line per (ours, reference) pair."""
    for name, ours, theirs in pairs:
        (t_ours, t_ref), fitted = timed([ours, theirs], X, repeats)
        acc_ours, acc_ref = accuracy(fitted[0], *ref), accuracy(fitted[1], *ref)
        mem = [
            peak_memory(partial(make_X, x_spec), partial(build, s)) if memory else np.nan
            for s in (ours, theirs)
        ]
        print(
            f"{label:>24} {name:>34} {t_ours:7.3f} {t_ref:7.3f} {t_ours / t_ref:6.2f} "
            f"{mem[0]:6.2f} {mem[1]:6.2f} {acc_ours[0]:9.1e} {acc_ref[0]:9.1e} "
            f"{acc_ours[1]:8.1e} {acc_ref[1]:8.1e}",
            flush=True,
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small shapes (CI)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--sparse-only", action="store_true", help="skip the dense cases")
    args = parser.parse_args()
    memory = not args.no_memory
    k = 10
    print(
        f"{'case':>24} {'ours vs reference':>34} {'ours s':>7} {'ref s':>7} {'ratio':>6} "
        f"{'mem':>6} {'memref':>6} {'relerr':>9} {'relerr ref':>9} {'sin':>8} "
        f"{'sin ref':>8}"
    )
    shapes = (
        [(10_000, 200), (4_000, 600)] if args.quick else [(100_000, 500), (20_000, 2_000)]
    )
    for n, d in [] if args.sparse_only else shapes:
        for dtype in ("float64", "float32"):
            x_spec = ("dense", (n, d, dtype, 0.0))
            X = make_X(x_spec)
            ref = reference(X, k)
            ours = ("ours", {"n_components": k, "solver": "randomized", "random_state": 0})
            pairs = [
                (
                    "randomized, both defaults",
                    ours,
                    (
                        "PCA",
                        {"n_components": k, "svd_solver": "randomized", "random_state": 0},
                    ),
                ),
                (
                    "randomized, 6 passes each",
                    ("ours", {**ours[1], "n_iter": 4}),
                    (
                        "PCA",
                        {
                            "n_components": k,
                            "svd_solver": "randomized",
                            "iterated_power": 2,
                            "random_state": 0,
                        },
                    ),
                ),
                (
                    "arpack",
                    ("ours", {"n_components": k, "solver": "arpack", "random_state": 0}),
                    ("PCA", {"n_components": k, "svd_solver": "arpack", "random_state": 0}),
                ),
            ]
            if fbpca is not None:
                pairs.append(("randomized vs fbpca defaults", ours, ("fbpca", {"k": k})))
            report(f"{n}x{d} {dtype}", x_spec, X, pairs, ref, args.repeats, memory)

    n, d = (20_000, 5_000) if args.quick else (100_000, 20_000)
    k = 50
    x_spec = ("sparse", (n, d, 1e-3))
    X = make_X(x_spec)
    for center in (False, True):
        ref = sparse_reference(X, k, center)
        ours = (
            "ours",
            {
                "n_components": k,
                "solver": "randomized",
                "center": center,
                "random_state": 0,
            },
        )
        if center:
            pairs = [
                (
                    "randomized vs PCA arpack",
                    ours,
                    ("PCA", {"n_components": k, "svd_solver": "arpack", "random_state": 0}),
                ),
                (
                    "arpack vs PCA arpack",
                    ("ours", {**ours[1], "solver": "arpack"}),
                    ("PCA", {"n_components": k, "svd_solver": "arpack", "random_state": 0}),
                ),
            ]
        else:
            pairs = [
                (
                    "randomized vs TruncatedSVD rand.",
                    ours,
                    (
                        "TruncatedSVD",
                        {"n_components": k, "algorithm": "randomized", "random_state": 0},
                    ),
                ),
                (
                    "randomized vs TruncatedSVD arpack",
                    ours,
                    (
                        "TruncatedSVD",
                        {"n_components": k, "algorithm": "arpack", "random_state": 0},
                    ),
                ),
            ]
        label = f"sparse {n}x{d} {'centred' if center else 'raw'}"
        report(label, x_spec, X, pairs, ref, args.repeats, memory)


if __name__ == "__main__":
    main()
