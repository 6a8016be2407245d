"""Scaling out: streaming ``partial_fit``, dask on a ``LocalCluster``, out of core.

Three sections, every ratio from this one run, k = 10 throughout:

1. Streaming: ``SVDReducer.partial_fit`` over 100 batches (then the first read of
   ``components_``, which runs the ``d x d`` eigendecomposition) against our in-memory
   ``fit`` of the same rows (after one untimed run of each, interleaved, medians and
   the range of their ratio round by round) and against ``IncrementalPCA`` over the
   same batches. Accuracy: the largest relative error of the top-k explained
   variances. Then the same two with one BLAS thread (one thread a pass: what each
   call costs besides the split of its batch between two threads). With the share of
   the CPU time the hypervisor took meanwhile ("steal" in /proc/stat, against the
   time not idle: on this 2-core virtual machine 0-47% in bursts, and the ratio rose
   with it), and the time a waiting thread takes to start a task handed to it (a
   fixed cost of each ``partial_fit`` call of more than one chunk).
2. dask on ``LocalCluster(n_workers=2, threads_per_worker=1)`` (worker processes),
   the array generated and persisted on the workers in chunks of 100,000 rows, the
   blocks made on the workers in turn (each holds half of them): our
   ``"auto"`` (here ``"covariance_eigh"``: per-block statistics merged by a tree),
   ``"full"`` (dask's TSQR) and ``"randomized"`` (block Krylov, one pass per Gram
   application), against dask-ml's ``PCA(svd_solver="full")`` (TSQR) and
   ``PCA(svd_solver="randomized")`` (``svd_compressed``, its default power
   iterations), and against our in-memory fit of the same data on the client.
   Accuracy: the largest relative error of the top-k singular values and the sine of
   the largest principal angle between the top-k subspaces. The workers import the
   packages before any timing, and one untimed fit of each kind precedes the
   rounds; the in-memory and ``"auto"`` fits alternate for :data:`REPEATS` rounds
   (medians, and the range of their ratio round by round), the slower ones run once.
3. Out of core: a ``.npy`` file of several GB mapped with ``numpy.memmap``, fitted with
   ``"covariance_eigh"`` three ways (``fit`` on the memmap, ``partial_fit`` over blocks
   of its rows, a dask array of blocks of its rows), each from a cold page cache (the
   file's pages dropped with ``posix_fadvise``), against reading the file once
   (sequential reads of one block at a time into one buffer). Memory
   outside the mapped file: the peak of numpy's allocations (tracemalloc, a warm second
   run) and the peak anonymous resident memory (``RssAnon``, sampled every 5 ms).

"Exact" is LAPACK: a Householder QR of the explicitly centred float64 data, then the
SVD of ``R`` (backward stable, as the SVD of the data itself).

Usage::

    python benchmarks/scale.py            # the issue's shapes (about 10 minutes)
    python benchmarks/scale.py --quick    # small shapes, for CI (under a minute)

dask-ml rows need ``pip install dask-ml`` (not a dependency of sklearn-svd); without it
they are left out.
"""

import argparse
import os
import statistics
import tempfile
import threading
import time
import tracemalloc
import warnings

import numpy as np
import scipy.linalg
from sklearn.decomposition import IncrementalPCA
from threadpoolctl import threadpool_limits

import sklearn_svd
from sklearn_svd import SVDReducer

K = 10
#: Interleaved rounds of the fast dask fits (ours in memory, then "auto"), their
#: medians reported; the slow ones (TSQR, randomized, dask-ml's) run once.
REPEATS = 7
SIZES = {
    "full": {
        "stream": [(500_000, 100), (2_000_000, 100)],
        "dask": [(2_000_000, 100), (200_000, 1_000)],
        "rows": 100_000,
        "memmap": (5_000_000, 100),
        "memmap_rows": 100_000,
    },
    "quick": {
        "stream": [(20_000, 50)],
        "dask": [(40_000, 20), (8_000, 200)],
        "rows": 2_000,
        "memmap": (200_000, 20),
        "memmap_rows": 20_000,
    },
}


def latent_model(d, seed):
    """Loadings, strengths and column means of a rank-20 signal (as in compare.py)."""
    rng = np.random.default_rng(seed)
    r = 20
    return (
        rng.standard_normal((r, d)) / np.sqrt(r),
        np.logspace(0, -1.5, r),
        rng.standard_normal(d) + 3.0,
    )


def make_block(n, d, seed, block):
    """Rows of the model: rank-20 signal, noise 0.05, column offsets."""
    loadings, strengths, means = latent_model(d, seed)
    rng = np.random.default_rng((seed, block))
    X = (rng.standard_normal((n, strengths.size)) * strengths) @ loadings
    X += 0.05 * rng.standard_normal((n, d))
    X += means
    return X


def exact(X, k=K):
    """LAPACK on the explicitly centred float64 data: QR, then the SVD of R."""
    Xc = np.array(X, dtype=np.float64)
    mean = Xc.mean(axis=0)
    Xc -= mean
    Xc -= Xc.mean(axis=0)
    R = scipy.linalg.qr(Xc, mode="r", overwrite_a=True, check_finite=False)[0]
    del Xc
    _, s, Vt = np.linalg.svd(R[: R.shape[1]])
    return s[:k], Vt[:k]


def accuracy(s, V, ref):
    """Largest relative error of the top-k singular values; sine of the largest
    principal angle between the top-k subspaces."""
    ref_s, ref_V = ref
    s = np.asarray(s, dtype=np.float64)[: ref_s.size]
    V = np.asarray(V, dtype=np.float64)[: ref_s.size]
    rel = float(np.max(np.abs(s / ref_s - 1)))
    residual = ref_V - (ref_V @ V.T) @ V  # no 1 - cos^2 cancellation
    return rel, float(np.linalg.norm(residual, 2))


def timed(func, repeats=1, gap=0.25):
    """Median seconds of ``func()`` over ``repeats`` runs, each after ``gap`` idle
    seconds (OpenBLAS threads spin ~0.1 s after a call), and the last result."""
    times = []
    for _ in range(repeats):
        time.sleep(gap)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = func()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def row(cells, widths):
    """A table row: the first cell left-aligned, the others right-aligned."""
    cells = [
        f"{c:>{w}}" if i else f"{c:<{w}}"
        for i, (c, w) in enumerate(zip(cells, widths, strict=True))
    ]
    return "  ".join(cells)


# -- 1. streaming ----------------------------------------------------------------------


def streaming(n, d, repeats):
    X = make_block(n, d, 0, 0)
    batches = np.array_split(X, 100)
    s, V = exact(X)
    ev = s**2 / (n - 1)

    def fit():
        return SVDReducer(K).fit(X)

    def partial():
        reducer = SVDReducer(K)
        for batch in batches:
            reducer.partial_fit(batch)
        _ = reducer.components_  # the eigendecomposition runs on first read
        return reducer

    def incremental():
        ipca = IncrementalPCA(K)
        for batch in batches:
            ipca.partial_fit(batch)
        return ipca

    print(
        f"1. Streaming: {n} x {d} float64, k = {K}, 100 batches of {n // 100} rows; "
        f"fit and partial_fit interleaved, median of {repeats} (IncrementalPCA: of "
        f"{min(repeats, 3)}); EV error = largest relative error of the top-{K} "
        "explained variances against LAPACK"
    )
    widths = (34, 9, 8, 9, 9)
    print(row(("method", "time s", "vs fit", "EV err", "sin V"), widths))
    fit(), partial()  # untimed: the thread pools and chunk buffers are made once
    # fit and partial_fit interleaved, so that both see the same load
    steal, rounds, stolen = Steal(), [], []
    for _ in range(repeats):
        round_steal = Steal()
        rounds.append((timed(fit), timed(partial)))
        stolen.append(round_steal.fraction())
    total_steal = steal.fraction()
    t_fit, fitted = statistics.median(r[0][0] for r in rounds), rounds[-1][0][1]
    t_partial, merged = statistics.median(r[1][0] for r in rounds), rounds[-1][1][1]
    per_round = [b[0] / a[0] for a, b in rounds]
    for label, func in (
        ("SVDReducer.fit (in memory)", None),
        ("SVDReducer.partial_fit x 100", None),
        ("IncrementalPCA.partial_fit x 100", incremental),
    ):
        if func is None:
            t, est = (t_fit, fitted) if "fit (" in label else (t_partial, merged)
        else:
            t, est = timed(func, min(repeats, 3))
        err = float(np.max(np.abs(est.explained_variance_ / ev - 1)))
        sine = accuracy(est.singular_values_, est.components_, (s, V))[1]
        cells = (label, f"{t:.3f}", f"{t / t_fit:.2f}x", f"{err:.1e}", f"{sine:.1e}")
        print(row(cells, widths))
    print(
        f"partial_fit / fit, round by round: {min(per_round):.2f}x to "
        f"{max(per_round):.2f}x over {repeats} interleaved rounds; time per batch "
        f"beyond fit's: {(t_partial - t_fit) / 100 * 1e3:.2f} ms"
    )
    # the same with one BLAS thread (so one thread a pass): what each call costs
    # besides the split of its batch between two threads
    with threadpool_limits(1, user_api="blas"):
        single = [(timed(fit)[0], timed(partial)[0]) for _ in range(repeats)]
    t_fit1 = statistics.median(a for a, _ in single)
    t_partial1 = statistics.median(b for _, b in single)
    print(
        "with one BLAS thread (one thread a pass): partial_fit / fit "
        f"{t_partial1 / t_fit1:.2f}x (fit {t_fit1:.3f} s)"
    )
    if total_steal is not None:
        print(
            f"CPU time the host took (steal / busy): {total_steal:.0%}; round by round, "
            "partial_fit / fit (steal): "
            + ", ".join(
                f"{r:.2f}x ({'?' if f is None else f'{f:.0%}'})"
                for r, f in zip(per_round, stolen, strict=True)
            )
        )
    print()


class Steal:
    """The share of the busy CPU time that the hypervisor gave to others ("steal" in
    /proc/stat, against the time not idle) from now until :meth:`fraction` (None where
    /proc/stat is not readable, or too little time passed to tell)."""

    def __init__(self):
        self.start = self._read()

    @staticmethod
    def _read():
        try:
            with open("/proc/stat") as f:
                fields = [int(x) for x in f.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        if len(fields) < 8:
            return None
        return fields[7], sum(fields) - fields[3] - fields[4]  # steal, not idle

    def fraction(self):
        end = self._read()
        if self.start is None or end is None:
            return None
        busy = end[1] - self.start[1]
        # (in clock ticks, 10 ms: fewer than 50 cannot resolve a few percent)
        return (end[0] - self.start[0]) / busy if busy >= 50 else None


def handover(repeats):
    """How long a waiting thread takes to start a task handed to it while the calling
    thread multiplies (the fused pass hands each batch's second segment over so):
    a fixed cost of every ``partial_fit`` call on more than one chunk of rows."""
    from concurrent.futures import ThreadPoolExecutor

    block = np.random.default_rng(0).standard_normal((2500, 100))
    waits = []
    with ThreadPoolExecutor(1) as pool, threadpool_limits(1, user_api="blas"):
        for _ in range(50 * repeats):
            start = time.perf_counter()
            begun = pool.submit(time.perf_counter)
            _ = block.T @ block
            waits.append(begun.result() - start)
    waits.sort()
    tenth = len(waits) // 10
    print(
        f"Starting a waiting thread (a task handed over while this one multiplies "
        f"2500 x 100): median {statistics.median(waits) * 1e3:.2f} ms, 10% to 90% "
        f"{waits[tenth] * 1e3:.2f} to {waits[-tenth - 1] * 1e3:.2f} ms, over "
        f"{len(waits)} hand-overs"
    )
    print()


# -- 2. dask -------------------------------------------------------------------------


def dask_section(shapes, rows):
    from distributed import Client, LocalCluster

    try:
        from dask_ml.decomposition import PCA as DaskPCA
    except ImportError:
        DaskPCA = None

    print(
        "2. dask: LocalCluster(n_workers=2, threads_per_worker=1), worker processes, "
        f"on {os.cpu_count()} cores; X persisted on the workers in chunks of {rows} "
        f"rows, half on each worker; k = {K}; workers warmed up (imports, one untimed "
        f"fit); ours in memory and 'auto' interleaved, median of {REPEATS}; the "
        "others one fit"
    )
    if DaskPCA is None:
        print("   (dask-ml not installed: its rows are left out)")
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        # Each worker imports the packages once, before any timing (the in-memory fit
        # is timed after its imports too): a first fit would otherwise pay ~1 s of
        # importing scikit-learn and SciPy in each worker process.
        client.run(warm_imports)
        for n, d in shapes:
            dask_case(n, d, rows, DaskPCA)
    print(
        "   vs dask-ml: time / dask-ml PCA(svd_solver='full'); "
        "vs in-mem: time / ours in memory"
    )
    print()


def warm_imports():
    """Import what the fits import, in a worker."""
    import importlib

    for name in ("sklearn_svd", "sklearn_svd._dask", "dask_ml.decomposition"):
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def dask_case(n, d, rows, DaskPCA):
    """One shape: the array generated and persisted on the workers, every fit."""
    import dask
    import dask.array as da
    from distributed import get_client, wait

    # Each block made on a chosen worker, in turn: persisting tasks left where they
    # ran put 13 blocks on one worker and 7 on the other, and every pass then waited
    # on the fuller one (the first fits took up to 1.5x as long, until work stealing
    # moved blocks over).
    client = get_client()
    client.wait_for_workers(2)  # both, even if one is restarting
    workers = sorted(client.nthreads())  # asked of the scheduler, not a cached view
    sizes = [min(rows, n - start) for start in range(0, n, rows)]
    futures = [
        client.submit(make_block, m, d, 1, i, workers=[workers[i % len(workers)]])
        for i, m in enumerate(sizes)
    ]
    blocks = [
        da.from_delayed(dask.delayed(future), shape=(m, d), dtype=np.float64)
        for future, m in zip(futures, sizes, strict=True)
    ]
    Xd = da.concatenate(blocks).persist()
    wait(Xd)
    del futures, blocks
    holders = [w for held in client.who_has(Xd).values() for w in held]
    placed = sorted(holders.count(w) for w in workers)
    # the same rows made again on the client (not Xd.compute(): no 1.6 GB transfer),
    # for the in-memory fit and the reference
    X = np.concatenate([make_block(m, d, 1, i) for i, m in enumerate(sizes)])
    assert np.array_equal(X[-1], Xd[-1].compute())
    ref = exact(X)
    # one untimed fit of each first: the first dask pass after the data is placed
    # ran up to 1.7x slower than the next ones (so did a bare map of the statistics)
    SVDReducer(K).fit(X)
    SVDReducer(K).fit(Xd)
    # in memory and dask "auto" interleaved, so that both see the same load
    rounds = [
        (
            timed(lambda: SVDReducer(K, random_state=0).fit(X)),
            timed(lambda: SVDReducer(K, random_state=0).fit(Xd)),
        )
        for _ in range(REPEATS)
    ]
    t_mem, mem = statistics.median(r[0][0] for r in rounds), rounds[-1][0][1]
    t_auto, auto = statistics.median(r[1][0] for r in rounds), rounds[-1][1][1]
    per_round = [b[0] / a[0] for a, b in rounds]
    cases = [
        (f"ours, in memory ({mem.solver_})", t_mem, mem),
        (f"ours, dask auto ({auto.solver_})", t_auto, auto),
    ]
    for solver in ("full", "randomized"):
        reducer = SVDReducer(K, solver=solver, random_state=0)
        t, est = timed(lambda reducer=reducer: reducer.fit(Xd))
        cases.append((f"ours, dask {solver}", t, est))
    if DaskPCA is not None:
        for solver in ("full", "randomized"):
            pca = DaskPCA(n_components=K, svd_solver=solver, random_state=0)
            t, est = timed(lambda pca=pca: pca.fit(Xd))
            cases.append((f"dask-ml PCA {solver}", t, est))
    t_tsqr = dict((label, t) for label, t, _ in cases).get("dask-ml PCA full", np.nan)
    print(f"   {n} x {d} float64 ({X.nbytes / 1e9:.1f} GB), blocks per worker {placed}")
    widths = (38, 9, 11, 12, 9, 9)
    print(row(("   method", "time s", "vs dask-ml", "vs in-mem", "s err", "sin V"), widths))
    for label, t, est in cases:
        rel, sine = accuracy(est.singular_values_, est.components_, ref)
        cells = (
            "   " + label,
            f"{t:.2f}",
            f"{t / t_tsqr:.3f}x",
            f"{t / t_mem:.2f}x",
            f"{rel:.1e}",
            f"{sine:.1e}",
        )
        print(row(cells, widths), flush=True)
    print(
        f"   dask auto / in memory, round by round: {min(per_round):.2f}x to "
        f"{max(per_round):.2f}x over {REPEATS} interleaved rounds"
    )


# -- 3. out of core --------------------------------------------------------------------


def drop_cache(path):
    """Drop the file's pages from the page cache (this file only)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def rss_anon():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    return 0


class AnonPeak:
    """The peak of ``RssAnon`` (resident memory not backed by a file: the mapped
    file's pages are not counted), sampled every 5 ms."""

    def __enter__(self):
        self.base = self.peak = rss_anon()
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self):
        while self.running:
            self.peak = max(self.peak, rss_anon())
            time.sleep(0.005)

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()
        self.extra = self.peak - self.base


def memmap_blocks(path, rows):
    """A dask array of blocks of rows of a ``.npy`` file: each task maps the file and
    returns a view (``da.from_array`` would copy a memmap whole into memory)."""
    import dask
    import dask.array as da

    X = np.load(path, mmap_mode="r")
    n, d = X.shape

    def load(start, stop):
        return np.load(path, mmap_mode="r")[start:stop]

    return da.concatenate(
        [
            da.from_delayed(
                dask.delayed(load)(start, min(start + rows, n)),
                shape=(min(rows, n - start), d),
                dtype=X.dtype,
            )
            for start in range(0, n, rows)
        ]
    )


def out_of_core(n, d, rows, directory):
    path = os.path.join(directory, "X.npy")
    X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(n, d))
    for i, start in enumerate(range(0, n, rows)):
        X[start : start + rows] = make_block(min(rows, n - start), d, 2, i)
    X.flush()
    del X
    chunk = rows * d * 8

    # Each run maps the file itself and unmaps it when done: the kernel does not drop
    # the cached pages of a file that is still mapped.
    def read_once():
        """Sequential reads of one block at a time into one buffer: the disk's speed."""
        buffer = bytearray(chunk)
        with open(path, "rb", buffering=0) as f:
            while f.readinto(buffer):
                pass

    def fit_memmap():
        return SVDReducer(K, solver="covariance_eigh").fit(np.load(path, mmap_mode="r"))

    def fit_partial():
        X = np.load(path, mmap_mode="r")
        reducer = SVDReducer(K)
        for start in range(0, n, rows):
            reducer.partial_fit(X[start : start + rows])
        _ = reducer.components_
        return reducer

    def fit_dask():
        return SVDReducer(K, solver="covariance_eigh").fit(memmap_blocks(path, rows))

    print(
        f"3. Out of core: {n} x {d} float64 in a .npy file ({n * d * 8 / 1e9:.1f} GB), "
        f"memmapped; blocks of {rows} rows ({chunk / 1e6:.0f} MB); d^2 = "
        f"{8 * d * d / 1e6:.2f} MB; cold page cache for each timing"
    )
    widths = (36, 8, 9, 15, 13, 9)
    header = ("method", "time s", "vs read", "tracemalloc MB", "RssAnon MB", "s diff")
    print(row(header, widths))
    import dask.array as da

    # imports and warm-up, on other data: each timing starts from a cold page cache
    SVDReducer(2).fit(da.random.default_rng(0).standard_normal((1000, d), chunks=500))
    SVDReducer(2, solver="covariance_eigh").fit(np.ones((1000, d)) + np.eye(1000, d))
    results = {}
    for label, func in (
        ("read the file once", read_once),
        ("fit(memmap), covariance_eigh", fit_memmap),
        ("partial_fit over blocks", fit_partial),
        ("fit(dask blocks), covariance_eigh", fit_dask),
    ):
        drop_cache(path)
        with AnonPeak() as anon:
            t, est = timed(func, gap=0.25)
        tracemalloc.start()  # a warm second run: the peak of numpy's allocations
        func()
        traced = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        results[label] = (t, est, traced, anon.extra)
    t_read = results["read the file once"][0]
    s_ref = results["fit(memmap), covariance_eigh"][1].singular_values_
    for label, (t, est, traced, anon) in results.items():
        diff = ""
        if not label.startswith("read"):
            diff = f"{np.max(np.abs(est.singular_values_ / s_ref - 1)):.1e}"
        ratio = f"{t / t_read:.2f}x"
        cells = (label, f"{t:.2f}", ratio, f"{traced / 1e6:.1f}", f"{anon / 1e6:.0f}", diff)
        print(row(cells, widths))
    print(
        "   s diff: largest relative difference of the singular values from fit(memmap); "
        "MB outside the mapped file"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small shapes (CI)")
    parser.add_argument("--repeats", type=int, default=None, help="streaming repeats")
    parser.add_argument("--only", choices=["stream", "dask", "memmap"], default=None)
    parser.add_argument("--dir", default=None, help="where to write the memmapped file")
    args = parser.parse_args()
    sizes = SIZES["quick" if args.quick else "full"]
    repeats = args.repeats or (1 if args.quick else 7)
    import dask
    import distributed
    import sklearn

    print(
        f"sklearn-svd {sklearn_svd.__version__}, scikit-learn {sklearn.__version__}, "
        f"numpy {np.__version__}, dask {dask.__version__}, distributed "
        f"{distributed.__version__}; {os.cpu_count()} cores; load average at start "
        + "/".join(f"{x:.1f}" for x in os.getloadavg())
    )
    print()
    if args.only in (None, "stream"):
        for shape in sizes["stream"]:
            streaming(*shape, repeats)
        handover(repeats)
    if args.only in (None, "dask"):
        dask_section(sizes["dask"], sizes["rows"])
    if args.only in (None, "memmap"):
        with tempfile.TemporaryDirectory(dir=args.dir) as directory:
            out_of_core(*sizes["memmap"], sizes["memmap_rows"], directory)
    print()
    print("load average at the end " + "/".join(f"{x:.1f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
