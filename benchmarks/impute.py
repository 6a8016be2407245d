"""Imputation quality and time: SVDImputer against scikit-learn's imputers.

Each case removes entries of a complete matrix ``X`` at random and fills them back.
Cells: the relative error on the removed entries, ``||X_hat - X||_F / ||X||_F`` over
them, and the fit_transform time (one run each, after a warm-up fit of ours on the
same data; IterativeImputer takes minutes, so it is not repeated). Columns:

- ``err / hard``: error over that of hard-impute at the known rank (``hard k=10``,
  ``SVDImputer(10, shrinkage=0)``, plain EM-PCA), the reference;
- ``time / iter``: time over IterativeImputer's.

Methods: ``SimpleImputer(strategy="mean")``, ``KNNImputer()``, ``IterativeImputer()``
(default BayesianRidge, max_iter=10, random_state=0), hard-impute at rank 10,
``SVDImputer()`` (rank chosen on held-out entries, noise shrinkage) and
``SVDImputer(method="soft")`` (lambda chosen on held-out entries).

Cases: (a) a rank-10 matrix 2000 x 200 (standard normal factors) plus noise of
standard deviation 0.1, with 10%, 30% and 50% of the entries missing at random;
(b) the digits (1797 x 64) with 30% of the pixels removed at random.

Target (issue 13), with the rank chosen automatically: on (a), an error at most
IterativeImputer's at every fraction and at most 1.05x the known-rank hard-impute's,
in at most 0.05x IterativeImputer's time. The last lines check it.

Usage::

    python benchmarks/impute.py            # the issue's cases (IterativeImputer:
                                           # several minutes per case)
    python benchmarks/impute.py --quick    # small cases, for CI (about a minute)
"""

import argparse
import os
import time
import warnings

import numpy as np
import sklearn
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer

import sklearn_svd
from sklearn_svd import SVDImputer

REFERENCE = "hard k=10"
METHODS = {
    "mean": lambda: SimpleImputer(strategy="mean"),
    "knn": lambda: KNNImputer(),
    "iterative": lambda: IterativeImputer(random_state=0),
    REFERENCE: lambda: SVDImputer(10, shrinkage=0, random_state=0),
    "SVDImputer()": lambda: SVDImputer(random_state=0),
    "soft auto": lambda: SVDImputer(method="soft", random_state=0),
}
OURS = (REFERENCE, "SVDImputer()", "soft auto")


def synthetic(n, d, rank, sigma, seed=0):
    rng = np.random.default_rng(seed)
    signal = rng.standard_normal((n, rank)) @ rng.standard_normal((rank, d))
    return signal + sigma * rng.standard_normal((n, d))


def cases(quick):
    if quick:
        X = synthetic(400, 40, 10, 0.1)
        yield "rank-10 400 x 40", 0.3, X
        yield "digits[:600]", 0.3, load_digits().data[:600]
        return
    X = synthetic(2000, 200, 10, 0.1)
    for fraction in (0.1, 0.3, 0.5):
        yield "rank-10 2000 x 200", fraction, X
    yield "digits 1797 x 64", 0.3, load_digits().data


def run(method, X_missing):
    estimator = METHODS[method]()
    with warnings.catch_warnings():
        # IterativeImputer's "early stopping criterion not reached" at max_iter=10
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        X_hat = estimator.fit_transform(X_missing)
        seconds = time.perf_counter() - start
    return X_hat, seconds, estimator


def evaluate(X, fraction, seed):
    rng = np.random.default_rng(seed)
    missing = rng.random(X.shape) < fraction
    X_missing = np.where(missing, np.nan, X)
    norm = np.linalg.norm(X[missing])
    run(REFERENCE, X_missing)  # warm-up: imports, BLAS threads, caches
    rows = {}
    for method in METHODS:
        X_hat, seconds, estimator = run(method, X_missing)
        error = np.linalg.norm(X_hat[missing] - X[missing]) / norm
        rank = getattr(estimator, "n_components_", None)
        rows[method] = {"error": error, "time": seconds, "rank": rank}
        print(f"    {method:<13} done in {seconds:8.2f} s", flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(
        f"sklearn-svd {sklearn_svd.__version__}, scikit-learn {sklearn.__version__}, "
        f"numpy {np.__version__}; {os.cpu_count()} cores; load average at start "
        + "/".join(f"{x:.1f}" for x in os.getloadavg())
    )
    verdicts = []
    for seed, (name, fraction, X) in enumerate(cases(args.quick)):
        print(f"\n{name}, {fraction:.0%} missing at random", flush=True)
        rows = evaluate(X, fraction, seed)
        reference, iterative = rows[REFERENCE], rows["iterative"]
        print(
            f"  {'method':<13} {'error':>8} {'err / hard':>10} {'time s':>9} "
            f"{'time / iter':>11} {'rank':>5}"
        )
        for method, row in rows.items():
            rank = "" if row["rank"] is None else str(row["rank"])
            print(
                f"  {method:<13} {row['error']:8.4f} "
                f"{row['error'] / reference['error']:10.3f} {row['time']:9.3f} "
                f"{row['time'] / iterative['time']:11.4f} {rank:>5}"
            )
        auto = rows["SVDImputer()"]
        if name.startswith("digits"):  # the target is set on (a)
            continue
        verdicts.append(
            (
                f"{name}, {fraction:.0%}",
                auto["error"] <= iterative["error"],
                auto["error"] <= 1.05 * reference["error"],
                auto["time"] <= 0.05 * iterative["time"],
            )
        )
    print("\ntarget for SVDImputer() on (a) (rank chosen automatically):")
    print(f"  {'case':<28} {'<= iterative':>12} {'<= 1.05 hard':>12} {'<= 0.05 time':>12}")
    for case, *checks in verdicts:
        marks = " ".join(f"{'yes' if ok else 'NO':>12}" for ok in checks)
        print(f"  {case:<28} {marks}")
    print("load average at the end " + "/".join(f"{x:.1f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
