"""Side-by-side benchmark: sklearn_svd against scikit-learn's PCA, in one process.

For each case and dtype it prints the median fit time of ours and of the reference
(runs interleaved, after one warm-up run each), their ratio (ours / sklearn, below 1
means we are faster), the peak extra memory of a fit in units of the size of X
(measured with tracemalloc in a child process, so one run cannot inflate another's
peak), and the accuracy of each against LAPACK's SVD of the explicitly centred float64
data: the largest relative error of the top-k singular values and the sine of the
largest principal angle between the top-k right singular subspaces.

Each timed fit starts after an idle gap (``--gap``, 0.25 s by default). After a
threaded call, OpenBLAS keeps its worker threads spinning for about 0.1 s; on a 2-core
machine a fit that starts inside that window runs on what the spinners leave (our
200000 x 100 float32 pass took 45 ms idle and 62-71 ms right after a BLAS call). Fits
run back to back would charge each estimator for the threads the other left behind,
and not symmetrically: ours leaves none (its small LAPACK calls run single-threaded),
scikit-learn's do. ``--gap 0`` measures back to back.

Usage::

    python benchmarks/compare.py            # the issue's shapes (several minutes)
    python benchmarks/compare.py --quick    # small shapes, for CI
    python benchmarks/compare.py --offset 1e6   # data with a large common offset
    python benchmarks/compare.py --gap 0        # fits back to back
"""

import argparse
import multiprocessing as mp
import statistics
import time
import tracemalloc
import warnings
from functools import partial

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from sklearn.decomposition import PCA

from sklearn_svd import SVDReducer

K = 10
CASES = {
    "full": [
        ("tall", 200_000, 100),
        ("tall", 100_000, 500),
        ("medium", 20_000, 2_000),
        ("wide", 2_000, 20_000),
    ],
    "quick": [
        ("tall", 20_000, 50),
        ("tall", 10_000, 200),
        ("medium", 4_000, 600),
        ("wide", 600, 4_000),
    ],
}

# (label, ours solver, sklearn svd_solver); sklearn's covariance_eigh forms d x d, which
# crashed (float64) or ran for minutes (float32) on the wide case: not run there.
PAIRS = [
    ("covariance_eigh", "covariance_eigh", "covariance_eigh"),
    ("auto", "auto", "auto"),
    ("full", "full", "full"),
]


def make_data(n, d, dtype, offset, seed=0, mean_scale=1.0):
    """A rank-20 signal with decaying strengths, plus noise and column offsets.

    Column means are drawn from N(0, mean_scale^2) (with the default, about 3.5 times
    the columns' spread of ~0.28, as in raw features), plus a common ``offset``.
    """
    rng = np.random.default_rng(seed)
    r = 20
    latent = rng.standard_normal((n, r)) * np.logspace(0, -1.5, r)
    loadings = rng.standard_normal((r, d)) / np.sqrt(r)
    X = latent @ loadings
    X += 0.05 * rng.standard_normal((n, d))
    X += mean_scale * rng.standard_normal(d) + offset
    return X.astype(dtype, copy=False)


def reference(X, k):
    """Top-k singular values and right vectors of the explicitly centred float64 X."""
    X64 = np.array(X, dtype=np.float64)
    X64 -= X64.mean(axis=0)
    X64 -= X64.mean(axis=0)
    # Thin SVD through the smaller side keeps the reference affordable on wide data.
    _, s, Vt = scipy.linalg.svd(X64, full_matrices=False, check_finite=False)
    return s[:k], Vt[:k]


def make_estimator(lib, solver):
    if lib == "ours":
        return SVDReducer(K, solver=solver, random_state=0)
    return PCA(K, svd_solver=solver, random_state=0)


def accuracy(est, ref_s, ref_V):
    s = np.asarray(est.singular_values_, dtype=np.float64)
    V = np.asarray(est.components_, dtype=np.float64)
    rel = float(np.max(np.abs(s / ref_s - 1)))
    # sine of the largest principal angle between span(V) and span(ref_V): the norm of
    # the part of ref_V outside span(V) (no 1 - cos^2 cancellation)
    residual = ref_V - (ref_V @ V.T) @ V
    sine = float(np.linalg.norm(residual, 2))
    return rel, sine


def nbytes(X):
    """Size of ``X``: its buffer, or its stored arrays when sparse."""
    if sp.issparse(X):
        return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    return X.nbytes


def _peak_child(queue, make_x, make_est):
    X = make_x()
    est = make_est()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tracemalloc.start()
        est.fit(X)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    queue.put(peak / nbytes(X))


def peak_memory(make_x, make_est):
    """Peak extra memory of ``make_est().fit(make_x())`` over the size of X, measured in a
    fresh child process (both factories must be picklable, e.g. ``functools.partial``)."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_peak_child, args=(queue, make_x, make_est))
    proc.start()
    proc.join()
    return queue.get() if proc.exitcode == 0 else float("nan")


def fit_seconds(lib, solver, X, gap=0.0):
    est = make_estimator(lib, solver)
    time.sleep(gap)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        est.fit(X)
    return time.perf_counter() - start, est


def time_pair(ours_solver, skl_solver, X, repeats, run_skl=True, gap=0.0):
    """Median fit times of ours and sklearn's, runs interleaved after one warm-up each,
    each fit after ``gap`` idle seconds.

    Interleaving exposes both to the same background load on a shared machine.
    """
    libs = [("ours", ours_solver)] + ([("skl", skl_solver)] if run_skl else [])
    times = {lib: [] for lib, _ in libs}
    fitted = {}
    for i in range(repeats + 1):
        for lib, solver in libs if i % 2 else libs[::-1]:
            elapsed, fitted[lib] = fit_seconds(lib, solver, X, gap)
            if i:  # round 0 is the warm-up
                times[lib].append(elapsed)
    medians = {lib: statistics.median(t) for lib, t in times.items()}
    return medians, fitted


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small shapes (CI)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--offset", type=float, default=0.0)
    parser.add_argument(
        "--mean-scale", type=float, default=1.0, help="spread of the column means (1)"
    )
    parser.add_argument(
        "--gap", type=float, default=0.25, help="idle seconds before each timed fit"
    )
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--only", default=None, help="run only cases whose name matches")
    args = parser.parse_args()

    header = (
        f"{'case':>20} {'dtype':>7} {'solver':>15} {'ours s':>8} {'skl s':>8} "
        f"{'ratio':>6} {'mem ours':>8} {'mem skl':>8} {'relerr ours':>11} "
        f"{'relerr skl':>10} {'sin ours':>8} {'sin skl':>8} {'ours ran':>15}"
    )
    print(
        f"k = {K}, offset = {args.offset:g}, mean scale = {args.mean_scale:g}, median of "
        f"{args.repeats} interleaved fits after a warm-up, each after {args.gap:g} s "
        "idle; ratio = ours / sklearn; "
        "mem = peak extra memory / size of X"
    )
    print(header)
    for name, n, d in CASES["quick" if args.quick else "full"]:
        label = f"{name} {n}x{d}"
        if args.only and args.only not in label:
            continue
        for dtype in (np.float64, np.float32):
            X = make_data(n, d, dtype, args.offset, mean_scale=args.mean_scale)
            ref_s, ref_V = reference(X, K)
            for pair, ours_solver, skl_solver in PAIRS:
                run_skl = not (name == "wide" and skl_solver == "covariance_eigh")
                medians, fitted = time_pair(
                    ours_solver, skl_solver, X, args.repeats, run_skl, args.gap
                )
                t_ours, est_ours = medians["ours"], fitted["ours"]
                if run_skl:
                    t_skl = medians["skl"]
                    acc_skl = accuracy(fitted["skl"], ref_s, ref_V)
                else:
                    t_skl, acc_skl = float("nan"), (float("nan"), float("nan"))
                acc_ours = accuracy(est_ours, ref_s, ref_V)
                if args.no_memory:
                    mem_ours = mem_skl = float("nan")
                else:
                    make_x = partial(
                        make_data,
                        n,
                        d,
                        np.dtype(dtype).name,
                        args.offset,
                        mean_scale=args.mean_scale,
                    )
                    mem_ours = peak_memory(
                        make_x, partial(make_estimator, "ours", ours_solver)
                    )
                    mem_skl = (
                        peak_memory(make_x, partial(make_estimator, "skl", skl_solver))
                        if run_skl
                        else float("nan")
                    )
                print(
                    f"{label:>20} {np.dtype(dtype).name:>7} {pair:>15} {t_ours:8.3f} "
                    f"{t_skl:8.3f} {t_ours / t_skl:6.2f} {mem_ours:8.2f} {mem_skl:8.2f} "
                    f"{acc_ours[0]:11.1e} {acc_skl[0]:10.1e} {acc_ours[1]:8.1e} "
                    f"{acc_skl[1]:8.1e} {est_ours.solver_:>15}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
