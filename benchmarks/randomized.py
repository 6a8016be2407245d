"""Randomized and ARPACK solvers side by side with scikit-learn (and fbpca if installed).

Dense: ``SVDReducer(solver="randomized")`` against ``PCA(svd_solver="randomized")``
(at both libraries' defaults, at matched passes over the data and at matched
accuracy) and against ``PCA(svd_solver="arpack")``, both ARPACK solvers, and both
``"auto"`` policies, on

- ``low-rank``: a rank-20 signal with decaying strengths plus noise (``compare.py``'s
  data), and the same with ``k = d / 2`` (``half-k``: most of the top ``k`` lie in the
  flat noise bulk);
- ``spiked``: three spikes above the BBP edge on a Marchenko-Pastur bulk (Gaussian
  noise), and ``noise``: the bulk alone; flat spectra, where subspace iteration
  converges slowly (the top ``k`` are within a few percent of each other);
- ``one-hot``: 20 categorical features (Zipf-distributed levels) one-hot encoded,
  dense float; ``zero/dup``: half distinct columns, 30 % duplicates of them, 20 % zeros.

Matched passes: ours reads ``X`` at most ``n_iter + 1`` times (one application of the
Gram operator per pass; it stops earlier once its residual tolerance is met),
scikit-learn's ``2 iterated_power + 2`` times after making a centred copy; so
``n_iter=5`` against ``iterated_power=2``. Matched accuracy: the smallest
``iterated_power`` of ``LADDER`` whose largest singular value error is at most ours
(or ``10 eps`` of the dtype, if larger: both are then at the rounding level); when
none reaches it, the row runs the ladder's last rung and says so.

Sparse: a text-like matrix (Zipf column frequencies) against ``TruncatedSVD`` (both
algorithms, ``center=False``) and ``PCA(svd_solver="arpack")`` (centred).

Times are medians of interleaved runs (order alternating) after a warm-up, each fit
after an idle gap (``--gap``, see ``compare.py``); ratio = ours / reference; memory is
the peak extra memory of a fit (tracemalloc in a child process) over the size of ``X``
(its stored arrays, for sparse input); accuracy is against SciPy's ``svds`` at
``tol=0`` (sparse) or LAPACK on the explicitly centred float64 data (dense): the
largest relative error of the top-k singular values and the sine of the largest
principal angle between the subspaces. The note gives the passes of our randomized
solver (applications of the Gram operator, from its ``info``), the solvers the
``"auto"`` policies ran, and the ``iterated_power`` matched.

Usage::

    python benchmarks/randomized.py            # the issue's shapes
    python benchmarks/randomized.py --quick    # small shapes, for CI
    python benchmarks/randomized.py --scale 0.2   # a fifth of the rows (busy machine)
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

import sklearn_svd._engine as engine
from sklearn_svd import SVDReducer

try:  # optional comparison
    import fbpca
except ImportError:
    fbpca = None

# iterated_power values tried for PCA's randomized at matched accuracy
LADDER = (2, 4, 7, 12, 20, 35, 50)


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


def spiked(n, d, dtype, spikes=(4.0, 3.0, 2.0), seed=0):
    """Standard Gaussian noise plus rank-one spikes and column offsets.

    The noise's singular values fill the Marchenko-Pastur bulk up to about
    ``sqrt(n) + sqrt(d)``; a spike of strength ``c (n d)^(1/4)`` with ``c > 1`` (the BBP
    threshold) stands out of it. Without spikes the top of the spectrum is flat.
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    if spikes:
        r = len(spikes)
        U = np.linalg.qr(rng.standard_normal((n, r)))[0]
        V = np.linalg.qr(rng.standard_normal((d, r)))[0]
        X += (U * (np.asarray(spikes) * (n * d) ** 0.25)) @ V.T
    X += 3.0 * rng.standard_normal(d)
    return X.astype(dtype, copy=False)


def one_hot(n, d, dtype, n_features=20, seed=0):
    """``n_features`` categorical features with 2 to about ``2 d / n_features`` levels
    (``d`` in all) of Zipf-distributed frequencies, one-hot encoded as dense floats."""
    rng = np.random.default_rng(seed)
    levels = np.linspace(2, 2 * d / n_features - 2, n_features).round().astype(int)
    levels[-1] += d - levels.sum()
    X = np.zeros((n, d), dtype=dtype)
    start = 0
    for m in levels:
        p = 1.0 / np.arange(1, m + 1) ** 1.1
        X[np.arange(n), start + rng.choice(m, size=n, p=p / p.sum())] = 1
        start += m
    return X


def zero_dup(n, d, dtype, seed=0):
    """``compare.py``'s data on ``d / 2`` columns, ``3 d / 10`` duplicates of them and
    the rest all-zero columns, in shuffled order."""
    rng = np.random.default_rng(seed)
    distinct = make_data(n, d // 2, "float64", 0.0, seed=seed)
    dup = distinct[:, rng.choice(d // 2, size=3 * d // 10)]
    zeros = np.zeros((n, d - distinct.shape[1] - dup.shape[1]))
    X = np.hstack([distinct, dup, zeros])[:, rng.permutation(d)]
    return X.astype(dtype)


GENERATORS = {
    "low-rank": make_data,
    "spiked": spiked,
    "noise": partial(spiked, spikes=()),
    "one-hot": one_hot,
    "zero/dup": zero_dup,
    "sparse": text_like,
}


def make_X(spec):
    kind, args = spec
    return GENERATORS[kind](*args)


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


# info of the last randomized solve (passes, residual, converged), see record_info
LAST_INFO = {}


def record_info():
    """Wrap the engine's randomized solver so each solve leaves its ``info`` in
    ``LAST_INFO``; a no-op if the engine no longer calls it by that name."""
    solve = getattr(engine, "randomized_svd", None)
    if solve is None:
        return

    def recorded(*args, **kwargs):
        out = solve(*args, **kwargs)
        if isinstance(out, tuple) and out and isinstance(out[-1], dict):
            LAST_INFO["info"] = out[-1]
        return out

    engine.randomized_svd = recorded


def fit(spec, X, gap=0.0):
    """Fit a fresh estimator after ``gap`` idle seconds: (seconds, estimator, info of
    its randomized solve or None)."""
    est = build(spec)
    LAST_INFO.clear()
    time.sleep(gap)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        est.fit(X)
        elapsed = time.perf_counter() - start
    return elapsed, est, LAST_INFO.pop("info", None)


def timed(specs, X, repeats, gap=0.0):
    """Median fit time of each estimator spec, runs interleaved (order alternating)
    after a warm-up; the last fit of each and its solver info."""
    times = {i: [] for i in range(len(specs))}
    fitted, infos = {}, {}
    order = list(range(len(specs)))
    for r in range(repeats + 1):
        for i in order if r % 2 else order[::-1]:
            elapsed, fitted[i], infos[i] = fit(specs[i], X, gap)
            if r:
                times[i].append(elapsed)
    return [statistics.median(times[i]) for i in order], fitted, infos


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


def describe(est, info):
    """What the note says of a fitted estimator: passes of a randomized solve, or the
    solver an ``"auto"`` policy ran."""
    if info is not None:
        passes = info.get("passes", "?")
        converged = "" if info.get("converged", True) else ", not converged"
        exhausted = ", exhausted" if info.get("exhausted") else ""
        return f"{passes} passes{exhausted}{converged}"
    if isinstance(est, SVDReducer):
        return est.solver_
    return getattr(est, "_fit_svd_solver", "?")


def report(label, x_spec, X, rows, ref, repeats, memory, gap):
    """Print one line per row ``(name, ours, reference, note)``."""
    for name, ours, theirs, note in rows:
        (t_ours, t_ref), fitted, infos = timed([ours, theirs], X, repeats, gap)
        acc_ours, acc_ref = accuracy(fitted[0], *ref), accuracy(fitted[1], *ref)
        mem = [
            peak_memory(partial(make_X, x_spec), partial(build, s)) if memory else np.nan
            for s in (ours, theirs)
        ]
        if ours[1].get("solver") == "auto":
            note = f"ours {describe(fitted[0], None)}, PCA {describe(fitted[1], None)}"
        elif infos[0] is not None:
            note = f"ours {describe(fitted[0], infos[0])}" + (f"; {note}" if note else "")
        print(
            f"{label:>27} {name:>34} {t_ours:7.3f} {t_ref:7.3f} {t_ours / t_ref:6.2f} "
            f"{mem[0]:6.2f} {mem[1]:6.2f} {acc_ours[0]:9.1e} {acc_ref[0]:9.1e} "
            f"{acc_ours[1]:8.1e} {acc_ref[1]:8.1e}  {note}",
            flush=True,
        )


def matched_power(X, k, ref, target):
    """The smallest ``iterated_power`` of ``LADDER`` whose singular value error is at
    most ``target``, and whether one reached it (if not, the ladder's last)."""
    pca = {"n_components": k, "svd_solver": "randomized", "random_state": 0}
    for q in LADDER:
        _, est, _ = fit(("PCA", {**pca, "iterated_power": q}), X)
        if accuracy(est, *ref)[0] <= target:
            return q, True
    return LADDER[-1], False


def dense_rows(X, k, ref):
    """The rows of one dense case: (name, ours, reference, note)."""
    ours = ("ours", {"n_components": k, "solver": "randomized", "random_state": 0})
    pca = {"n_components": k, "random_state": 0}
    _, est, _ = fit(ours, X)
    target = max(accuracy(est, *ref)[0], 10 * np.finfo(X.dtype).eps)
    q, reached = matched_power(X, k, ref, target)
    matched = (
        f"PCA iterated_power={q} <= {target:.1e}"
        if reached
        else f"no iterated_power <= {q} reached {target:.1e}"
    )
    rows = [
        (
            "randomized, both defaults",
            ours,
            ("PCA", {**pca, "svd_solver": "randomized"}),
            "",
        ),
        (
            "randomized, 6 passes each",
            ("ours", {**ours[1], "n_iter": 5}),
            ("PCA", {**pca, "svd_solver": "randomized", "iterated_power": 2}),
            "",
        ),
        (
            "randomized, matched accuracy",
            ours,
            ("PCA", {**pca, "svd_solver": "randomized", "iterated_power": q}),
            matched,
        ),
        ("randomized vs PCA arpack", ours, ("PCA", {**pca, "svd_solver": "arpack"}), ""),
        (
            "arpack",
            ("ours", {**ours[1], "solver": "arpack"}),
            ("PCA", {**pca, "svd_solver": "arpack"}),
            "",
        ),
        ("auto", ("ours", {**ours[1], "solver": "auto"}), ("PCA", pca), ""),
    ]
    if fbpca is not None:
        rows.append(("randomized vs fbpca defaults", ours, ("fbpca", {"k": k}), ""))
    return rows


def dense_cases(quick, scale=1.0):
    """(label, data kind, (n, d), k) of each dense case, ``n`` times ``scale``."""
    if quick:
        low_rank = [((10_000, 200), 10), ((4_000, 600), 10)]
        n, d = 2_000, 200
    else:
        low_rank = [((100_000, 500), 10), ((20_000, 2_000), 10)]
        n, d = 20_000, 1_000
    cases = [("low-rank", shape, k) for shape, k in low_rank]
    cases.append(("half-k", (n, d), d // 2))
    cases += [(kind, (n, d), 10) for kind in ("spiked", "noise", "one-hot", "zero/dup")]
    return [(kind, (round(n * scale), d), k) for kind, (n, d), k in cases]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small shapes (CI)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--sparse-only", action="store_true", help="skip the dense cases")
    parser.add_argument("--dense-only", action="store_true", help="skip the sparse cases")
    parser.add_argument("--only", default=None, help="run only cases whose label matches")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiply every case's rows by this"
    )
    parser.add_argument(
        "--gap",
        type=float,
        default=None,
        help="idle seconds before each timed fit (0.25; 0 with --quick)",
    )
    args = parser.parse_args()
    memory = not args.no_memory
    gap = args.gap if args.gap is not None else 0.0 if args.quick else 0.25
    record_info()
    print(
        f"{'case':>27} {'ours vs reference':>34} {'ours s':>7} {'ref s':>7} {'ratio':>6} "
        f"{'mem':>6} {'memref':>6} {'relerr':>9} {'relerr ref':>9} {'sin':>8} "
        f"{'sin ref':>8}  note"
    )
    for kind, (n, d), k in [] if args.sparse_only else dense_cases(args.quick, args.scale):
        for dtype in ("float64", "float32"):
            label = f"{kind} {n}x{d} k={k} {dtype[-2:]}"
            if args.only and args.only not in label:
                continue
            generator = "low-rank" if kind == "half-k" else kind
            x_spec = (
                generator,
                (n, d, dtype) + ((0.0,) if generator == "low-rank" else ()),
            )
            X = make_X(x_spec)
            ref = reference(X, k)
            rows = dense_rows(X, k, ref)
            report(label, x_spec, X, rows, ref, args.repeats, memory, gap)

    if args.dense_only:
        return
    n, d = (20_000, 5_000) if args.quick else (100_000, 20_000)
    n = round(n * args.scale)
    k = 50
    x_spec = ("sparse", (n, d, 1e-3))
    X = make_X(x_spec)
    for center in (False, True):
        label = f"sparse {n}x{d} {'centred' if center else 'raw'}"
        if args.only and args.only not in label:
            continue
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
            rows = [
                (
                    "randomized vs PCA arpack",
                    ours,
                    ("PCA", {"n_components": k, "svd_solver": "arpack", "random_state": 0}),
                    "",
                ),
                (
                    "arpack vs PCA arpack",
                    ("ours", {**ours[1], "solver": "arpack"}),
                    ("PCA", {"n_components": k, "svd_solver": "arpack", "random_state": 0}),
                    "",
                ),
            ]
        else:
            rows = [
                (
                    "randomized vs TruncatedSVD rand.",
                    ours,
                    (
                        "TruncatedSVD",
                        {"n_components": k, "algorithm": "randomized", "random_state": 0},
                    ),
                    "",
                ),
                (
                    "randomized vs TruncatedSVD arpack",
                    ours,
                    (
                        "TruncatedSVD",
                        {"n_components": k, "algorithm": "arpack", "random_state": 0},
                    ),
                    "",
                ),
            ]
        report(label, x_spec, X, rows, ref, args.repeats, memory, gap)


if __name__ == "__main__":
    main()
