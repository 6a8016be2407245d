"""Mergeable second-moment statistics: count, mean and centred scatter.

The covariance-eigen solver needs the centred scatter
``S = (X - 1 mu^T)^T (X - 1 mu^T)`` (or, for wide data, the centred Gram matrix
``(X - 1 mu^T)(X - 1 mu^T)^T``) without ever holding a centred copy of ``X``.

It forms the product about a pivot ``p`` and corrects for the mean afterwards:
``S = sum (x - p)(x - p)^T - n r r^T`` with ``r = mean(x - p)``. The correction cancels
leading digits when ``r`` is large against the spread, so the result is accepted only when,
column by column, the uncorrected diagonal exceeds the corrected one by a bounded factor
(see :func:`_max_cancellation`). The pivot is 0 when the mean is small against the
spread (no copy: chunk products of the rows of ``X`` as they are), otherwise the mean
of the first rows (about one chunk), each chunk shifted while it sits in cache. Either
way the pass runs in threads over segments of rows. ``X^T X - n mu mu^T`` with a large
offset is never accepted.

Sparse input (:func:`sparse_scatter_stats`, :func:`sparse_gram_stats`) gets the same
guard column by column, from exact sums of squares in ``O(nnz)``: the columns it
accepts (every column of counts, indicators, TF-IDF) go through the sparse product in
float64, the others (a mean that dwarfs its spread needs mostly stored values) through
cache-sized dense chunks shifted by their mean; ``X`` is never densified whole.

:class:`ScatterStats` merges exactly (Chan et al.'s pairwise update,
:meth:`ScatterStats.merge`), so streaming and distributed fitting reuse the same
statistics.

References
----------
Chan, Golub & LeVeque, "Algorithms for computing the sample variance: analysis and
recommendations", The American Statistician 37(3), 1983. doi:10.1080/00031305.1983.10483115
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache, partial
from itertools import chain

import numpy as np
import scipy.sparse as sp
from threadpoolctl import ThreadpoolController

from ._validation import raise_nonfinite

#: Target size in bytes of one chunk of rows, so that a chunk stays in the L2 cache.
CHUNK_BYTES = 1 << 21


@dataclass(frozen=True)
class ScatterStats:
    """Sample count, mean and centred scatter of a block of rows.

    Attributes
    ----------
    n_samples : int or float
        Number of rows summarised; with sample weights, their total ``W`` (a float),
        the number of rows the weights stand for.
    mean : ndarray of shape (n_features,), float64
        Column means (zeros when the statistics are not centred); weighted means
        ``sum_i w_i x_i / W`` with weights.
    scatter : ndarray of shape (n_features, n_features), float64
        ``sum_i w_i (x_i - mean)(x_i - mean)^T`` (``w_i = 1`` without weights).
    """

    n_samples: int
    mean: np.ndarray
    scatter: np.ndarray

    def merge(self, other):
        """Return the statistics of the union of both blocks (Chan et al.'s update).

        Exact in exact arithmetic; in floating point the correction term is formed
        from the difference of the two means, so no large offset is ever squared.
        The counts may be weight totals (floats): the update is the same, and a block
        of total weight 0 leaves the other unchanged.
        """
        if self.n_samples == 0:
            return other
        if other.n_samples == 0:
            return self
        n = self.n_samples + other.n_samples
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.n_samples / n)
        scatter = self.scatter + other.scatter
        scatter += np.outer(delta, delta * (self.n_samples * other.n_samples / n))
        return ScatterStats(n, mean, scatter)


def column_sums(X, *, owner="this estimator", blas=True, weight=None):
    """Column sums of ``X`` in float64, raising on NaN or infinity.

    ``weight`` (float64, one per row, or None): the weighted sums ``w^T X`` instead
    (a zero weight times NaN is still NaN: it is located all the same).

    With ``blas``, blocks of rows are summed with a BLAS ``gemv`` in the dtype of ``X``
    and the block sums are added in float64, without a converted copy. In float32 a
    block's sum is rounded at about ``u`` times its rows times ``|mean|`` (40 times a
    spread of 1 for 50000 rows at an offset of 1e6): a first estimate, which every
    caller that centres refines from the deviations (a residual mean), or uses only
    when the mean is small against the spread. Without it, numpy's own loop sums in
    float64: callers
    that run SciPy's LAPACK next use it, since numpy's BLAS threads keep spinning after
    a call and slowed SciPy's (a separate OpenBLAS) by up to 2x on 2 cores.
    NaN and infinity propagate into the sums: this is the only finiteness check the
    engine needs.
    """
    n = X.shape[0]
    if blas:
        step = max(1, CHUNK_BYTES // max(1, X.shape[1] * X.itemsize)) * 4
        ones = np.ones(min(step, n), dtype=X.dtype)
        sums = np.zeros(X.shape[1])
        with np.errstate(invalid="ignore", over="ignore"):
            for start in range(0, n, step):
                block = X[start : start + step]
                if weight is None:
                    sums += ones[: block.shape[0]] @ block
                else:
                    sums += weight[start : start + step].astype(X.dtype) @ block
    else:
        with np.errstate(invalid="ignore", over="ignore"):
            if weight is None:
                sums = np.add.reduce(X, axis=0, dtype=np.float64)
            else:  # numpy's own loop (no BLAS), in float64
                sums = np.einsum("i,ij->j", weight, X, dtype=np.float64)
    if not np.isfinite(sums).all():
        raise_nonfinite(X, owner=owner)
    return sums


def _max_cancellation(dtype):
    """Largest accepted ratio of raw to centred sum of squares, per column.

    The rounding error of a product formed about a point other than the mean grows
    with this ratio. float64 may spend 10 of its 53 bits (the accuracy targets keep a
    factor ~100 of margin, see tests/test_engine.py); float32 only 2 of its 24.
    """
    return 2.0**10 if dtype == np.float64 else 4.0


def _accept(raw_diag, centred_diag, dtype, limit=None):
    """Whether a product about a pivot lost at most the allowed bits in every column.

    ``limit`` is the largest accepted ratio of raw to centred sum of squares
    (default :func:`_max_cancellation`).
    """
    limit = _max_cancellation(dtype) if limit is None else limit
    # 0 / 0 (an all-zero column) is exact; anything / (<= 0) is a total cancellation.
    ok = raw_diag <= limit * centred_diag
    ok |= raw_diag == 0
    return bool(ok.all())


def scatter_stats(
    X, *, center=True, owner="this estimator", origin=None, pivot=None, sample_weight=None
):
    """Count, mean and centred scatter of the rows of a dense ``X``, in float64.

    Contract: returns :class:`ScatterStats` whose ``scatter`` is the centred scatter
    of ``X`` with an error ``|E_ij| <= c u sqrt(S_ii S_jj)``, ``u`` the unit roundoff
    of ``X.dtype`` and ``c`` at most :func:`_max_cancellation` times that of forming
    the exactly centred product: the offset of the data is never squared.

    Method: one pass (:func:`_about_pivot`) forms ``sum (x - p)(x - p)^T`` about a
    pivot ``p`` and corrects it by ``n r r^T``, ``r`` the mean of ``x - p``. The pivot
    is 0 when the first rows say the mean is small against the spread (no copy at
    all). Otherwise it is the mean of those rows, and each chunk is shifted while it
    sits in cache (the fused pass).
    If the data drifts so far that the correction cancels more than the guard
    accepts, a last pass uses the mean just found. Extra memory:
    ``O(d^2 + chunk * d)`` per thread, never a copy of ``X``.

    ``origin`` (float64, of shape ``(d,)``): return the mean less ``origin``,
    subtracted before anything is rounded to the mean's magnitude: a mean of ``1e8``
    kept relative to a nearby origin keeps the digits that a mean stored as such
    loses (``u |mean|``). ``partial_fit`` and the dask path keep every batch's mean
    relative to one origin, so that Chan's update never squares that rounding.
    ``pivot`` (float64, of shape ``(d,)``): the first pass's pivot, in place of the
    probe's choice (all zeros: about 0, no copy), for a caller that knows the mean and
    spread of earlier rows, as ``partial_fit`` does of the batches before; the guard
    still checks the pass, and a bad guess costs a second one.

    ``sample_weight`` (float64, one nonnegative weight per row, or None): frequency
    weights. The count is their total ``W`` and the statistics those of the rows
    repeated (``sum w (x - mean)(x - mean)^T``, weighted mean): each chunk is shifted
    and scaled by ``sqrt(w)`` in cache, with ``sqrt(w)`` in the column of ones, so the
    same ``syrk`` gives ``sum w (x - p)(x - p)^T``, ``sum w (x - p)`` and ``W``: still
    no copy of ``X``. Weights of total 0 give empty statistics.

    Raises ``ValueError`` naming the entries when ``X`` holds NaN or infinity.
    """
    n, d = X.shape
    q = None
    if sample_weight is not None:
        n = float(np.sum(sample_weight))
        if n == 0:  # nothing to summarise: merging it changes nothing
            return ScatterStats(0.0, np.zeros(d), np.zeros((d, d)))
        q = np.sqrt(sample_weight).astype(X.dtype)
    if not center:
        if q is None:
            scatter = np.asarray(X.T @ X, dtype=np.float64)
        else:  # the chunks scaled by sqrt(w) in cache, as below, about 0
            scatter = np.ascontiguousarray(_segmented_pass(X, None, q)[:d, :d])
        if not np.isfinite(np.diag(scatter)).all():
            raise_nonfinite(X, owner=owner)
        return ScatterStats(n, np.zeros(d), scatter)

    if pivot is None:
        pivot = _probe_pivot(X, owner, sample_weight)
    elif not pivot.any():
        pivot = None
    weights = {} if q is None else {"q": q, "n_samples": n}
    for _ in range(3):
        stats, accepted = _about_pivot(X, pivot, owner, origin, **weights)
        if accepted:
            return stats
        pivot = stats.mean if origin is None else stats.mean + origin
    return stats  # pragma: no cover (a pivot at the mean leaves nothing to cancel)


def _probe_pivot(X, owner, weight=None):
    """The first pass's pivot, from the first rows: None (about 0) when their
    (weighted) mean is small against their spread, else their mean."""
    probe = X[: cache_rows(X)]
    w = None if weight is None else weight[: probe.shape[0]]
    if w is not None and not w.sum() > 0:
        w = None  # the first rows carry no weight: their plain mean will do as a guess
    with np.errstate(invalid="ignore", over="ignore"):
        if w is None:
            count = probe.shape[0]
            pivot = np.add.reduce(probe, axis=0, dtype=np.float64) / count
            probe_raw = np.einsum("ij,ij->j", probe, probe, dtype=np.float64)
        else:
            count = float(w.sum())
            pivot = np.einsum("i,ij->j", w, probe, dtype=np.float64) / count
            probe_raw = np.einsum("i,ij,ij->j", w, probe, probe, dtype=np.float64)
        probe_centred = probe_raw - count * pivot**2
    if np.isfinite(probe_raw).all() and _accept(probe_raw, probe_centred, X.dtype):
        return None
    if not np.isfinite(pivot).all():
        raise_nonfinite(X, owner=owner)
    return pivot


def cache_rows(X):
    """Rows of ``X`` that fill about CHUNK_BYTES (at least 64): a block that stays in
    cache.

    Used where no large accumulator is rewritten per block: the probes that choose the
    pivot (they only estimate how much a correction would cancel, and the full pass
    checks it again) and, on ``X.T``, the recovery of ``V`` on the wide path.
    """
    return max(CHUNK_BYTES // (X.shape[1] * X.dtype.itemsize), 64)


def _chunk_rows(X, width=None):
    """Rows per chunk: about CHUNK_BYTES, more (up to ``4 d``, within 16 CHUNK_BYTES)
    when ``d`` is large. ``width``: the columns of the chunk's buffer, if not ``d``.

    Each chunk's product rewrites the ``d x d`` float64 accumulator, so a chunk should
    have several times ``d`` rows for that traffic to stay small against the product
    (on 20000 x 2000 float32, 4096-row chunks took 0.40x sklearn's time where 2048
    rows took 0.49x). The buffer is then O(d^2), at most 2x (float32) or 4x (float64)
    the accumulator, and the byte cap keeps it a fraction of ``X``.
    """
    width = X.shape[1] if width is None else width
    row_bytes = width * X.dtype.itemsize
    return max(min(4 * width, 16 * CHUNK_BYTES // row_bytes), CHUNK_BYTES // row_bytes, 1)


#: Largest ``d`` whose scatter is accumulated in several row segments (one ``d x d``
#: float64 accumulator each, at most 8 MB); wider data gets one segment, and BLAS
#: threads its large products itself.
SEGMENTED_MAX_FEATURES = 1000

#: Number of row segments of the fused pass (for d <= SEGMENTED_MAX_FEATURES).
N_SEGMENTS = 8


def _about_pivot(X, pivot, owner, origin=None, q=None, n_samples=None):
    """Scatter formed about ``pivot`` in one pass over ``X``, and its check.

    ``pivot=None`` means about 0: no copy, the chunk products are of the rows of ``X``
    as they are. The chunk products are summed in float64, so float32 data loses no
    precision to the accumulation over many rows.

    For ``d <= SEGMENTED_MAX_FEATURES`` the rows are cut into at most
    :data:`N_SEGMENTS` segments, fixed by the shape alone so that the result does not
    depend on the number of threads. Segments run in threads, each with a
    single-threaded BLAS (:func:`sum_segments`): OpenBLAS's own threads do poorly on a
    product with few columns (on 200000 x 100 float64 one threaded ``X.T @ X`` took
    1.45x as long as the segmented pass). Wider float64 data about 0 gets a single
    ``syrk`` over ``X``, which BLAS threads well and which is faster than chunks whose
    ``d x d`` products must each be added to the total.

    ``q``: ``sqrt`` of the sample weights (see :func:`_segment_products`), and
    ``n_samples`` their total, the count of the statistics.
    """
    d = X.shape[1]
    plain = pivot is None and q is None and X.flags.aligned
    if plain and X.dtype == np.float64 and d > SEGMENTED_MAX_FEATURES:
        # numpy calls syrk for X.T @ X
        return _corrected(X, column_sums(X, owner=owner), X.T @ X, None, owner, origin)
    shift = None if pivot is None else pivot.astype(X.dtype)
    total = _segmented_pass(X, shift, q)
    # contiguous: matrix-vector products with the strided view ran 7x slower
    products = np.ascontiguousarray(total[:d, :d])
    # with weights: the mean correction divides by the syrk's own sum of the squared
    # sqrt(w) (the count the products were formed with), the count reported is W
    count = None if q is None else float(total[d, d])
    return _corrected(
        X, total[d, :d], products, shift, owner, origin, count=count, n_samples=n_samples
    )


def _segmented_pass(X, shift, q=None):
    """``sum [q (x - shift), q]^T [q (x - shift), q]`` over the rows of ``X`` (``q``
    None: 1; ``shift`` None: 0) in float64, by the segments of :func:`_about_pivot`."""
    n, d = X.shape
    rows = _chunk_rows(X)
    segments = _segments(n, rows, d)
    return sum_segments(partial(_segment_products, X, shift, rows, q), segments, n <= rows)


def _segments(n, rows, d):
    """The row segments ``(start, stop)`` of a pass over ``n`` rows in chunks of
    ``rows``: at most :data:`N_SEGMENTS` whole chunks each for ``d`` up to
    :data:`SEGMENTED_MAX_FEATURES`, else one. Fixed by the shape alone, so that the
    result does not depend on the number of threads."""
    n_chunks = -(-n // rows)
    n_segments = min(N_SEGMENTS, n_chunks) if d <= SEGMENTED_MAX_FEATURES else 1
    per_segment = -(-n_chunks // n_segments) * rows
    return [(start, min(start + per_segment, n)) for start in range(0, n, per_segment)]


def _segment_products(X, shift, rows, q, start, stop):
    """``sum [x - shift, 1]^T [x - shift, 1]`` over rows ``start:stop``, in float64.

    The result (at least ``(d + 1) x (d + 1)``) holds the product about ``shift``
    (None: 0) in ``[:d, :d]`` and the column sums in ``[d, :d]``. A shifted chunk
    goes to a buffer with a column of ones after the data, so one ``syrk`` gives both;
    about 0 the rows of ``X`` are used in place. The buffer's rows are padded with
    zeros to a multiple of 32 bytes: with ``d + 1 = 2001`` float32 columns the
    ``syrk`` took 1.15x as long as with 2008.

    ``q`` (``sqrt`` of the sample weights in the dtype of ``X``, or None): each
    buffered row and its one are multiplied by its ``q``, so the same ``syrk`` gives
    ``sum w (x - shift)(x - shift)^T``, ``sum w (x - shift)`` and, in ``[d, d]``,
    ``sum q^2``; the rows always go through the buffer then (a copy of a chunk, in
    cache), shifted or not.
    """
    d = X.shape[1]
    m = min(rows, stop - start)
    # numpy's products of unaligned data (a dask block unpickled on a worker) do not
    # call BLAS: 3-10x slower; such chunks go through the (aligned) buffer
    direct = shift is None and q is None and X.flags.aligned
    if direct:
        total = np.zeros((d + 1, d + 1))
        ones = np.ones(m, dtype=X.dtype)
    else:
        width = _padded(d + 1, X.dtype)
        total = np.zeros((width, width))
        buffer = _chunk_buffer(m, d, width, X.dtype)
    # NaN and inf are located after the pass; don't warn about them on the way.
    with np.errstate(invalid="ignore", over="ignore"):
        for lo in range(start, stop, rows):
            block = X[lo : min(lo + rows, stop)]
            if direct:  # numpy calls BLAS syrk for A.T @ A
                total[:d, :d] += block.T @ block
                total[d, :d] += ones[: block.shape[0]] @ block
                continue
            shifted = buffer[: block.shape[0]]
            if shift is None:
                shifted[:, :d] = block
            else:
                np.subtract(block, shift, out=shifted[:, :d])
            if q is not None:
                scale = q[lo : lo + block.shape[0], None]
                shifted[:, :d] *= scale
                shifted[:, d : d + 1] = scale
            total += shifted.T @ shifted
    return total


@cache
def _blas_controller():
    return ThreadpoolController().select(user_api="blas")


#: Overlapping uses of :func:`single_threaded_blas` over the whole process, and the
#: (library, thread count) pairs the first of them changed, for the last to restore.
_shared_limit = {"depth": 0, "changed": []}
_shared_limit_lock = threading.Lock()
#: The same, per Python thread, for libraries whose limit is per thread.
_own_limit = threading.local()


def _per_thread(library):
    """Whether a library's thread limit applies to the calling thread only: OpenBLAS
    on the OpenMP threading layer (each calling thread gets its own pool, as
    ``threadpoolctl`` documents); other BLAS pools are process-wide."""
    return (
        library.internal_api == "openblas"
        and getattr(library, "threading_layer", None) == "openmp"
    )


def _set_threads(library, count):
    """``library.set_num_threads(count)`` from whichever Python thread calls it.

    ``threadpoolctl`` >= 3.8 lets only one thread change a process-wide OpenBLAS pool:
    the first to set a limit, until it releases it (a ``threadpool_limits`` block does
    on exit); calls from any other thread silently do nothing. The first fit to enter
    and the last to leave are usually different threads, so the right is released
    at once: the next call, from any thread, takes it again.
    """
    library.set_num_threads(count)
    release = getattr(library, "clear_controlling_thread", None)
    if release is not None:
        release()  # only if this thread holds it


def _limit_to_one(libraries):
    """Set each library to one thread; the (library, count) pairs this changed."""
    changed = []
    for library in libraries:
        count = library.num_threads
        if count is None or count <= 1:
            continue
        _set_threads(library, 1)
        # a call another thread's threadpool_limits block made void changed nothing
        if library.num_threads == 1:
            changed.append((library, count))
    return changed


def _restore(changed):
    """Undo :func:`_limit_to_one`, where its limit is still in place: a count someone
    else set meanwhile is theirs, and stays."""
    for library, count in changed:
        if library.num_threads == 1:
            _set_threads(library, count)


def _user_blas_threads():
    """The smallest BLAS thread count outside :func:`single_threaded_blas`: what the
    user allows, even while another fit holds the limit."""
    with _shared_limit_lock:
        saved = {id(library): count for library, count in _shared_limit["changed"]}
        counts = [
            saved.get(id(library), library.num_threads)
            for library in _blas_controller().lib_controllers
        ]
    return min([c for c in counts if c is not None], default=1)


@contextmanager
def single_threaded_blas():
    """Context manager: every loaded BLAS runs single-threaded inside it.

    Besides the fused pass, small LAPACK calls use it: after a threaded BLAS call,
    OpenBLAS's idle threads keep spinning for ~0.1 s, and on a 2-core machine that
    slowed the next fit's pass by up to 1.5x. A single-threaded call leaves none.

    A process-wide BLAS pool is shared by overlapping uses (fits running in several
    Python threads): under a lock, the first to enter saves the counts and sets 1, the
    last to leave restores them, whichever threads those are. A plain save-and-restore
    per use lets a fit that entered while another held the limit save that 1 and
    restore it for good. A per-thread pool (OpenBLAS on OpenMP) is limited and
    restored by each thread for itself. Only a count still at the 1 set here is
    restored, so a limit set meanwhile by someone else (``threadpool_limits``) is kept.
    """
    libraries = _blas_controller().lib_controllers
    shared = [library for library in libraries if not _per_thread(library)]
    own = [library for library in libraries if _per_thread(library)]
    with _shared_limit_lock:
        if _shared_limit["depth"] == 0:
            _shared_limit["changed"] = _limit_to_one(shared)
        _shared_limit["depth"] += 1
    depth = getattr(_own_limit, "depth", 0)
    if depth == 0:
        _own_limit.changed = _limit_to_one(own)
    _own_limit.depth = depth + 1
    try:
        yield
    finally:
        _own_limit.depth -= 1
        if _own_limit.depth == 0:
            _restore(_own_limit.changed)
        with _shared_limit_lock:
            _shared_limit["depth"] -= 1
            if _shared_limit["depth"] == 0:
                _restore(_shared_limit["changed"])
                _shared_limit["changed"] = []


def sum_segments(func, segments, one_chunk=False):
    """``func(*segments[0]) + func(*segments[1]) + ...``, added in segment order.

    With more than one segment and a BLAS allowed ``t > 1`` threads, the segments run
    in ``2 t`` Python threads (numpy releases the GIL in its loops and BLAS calls),
    each BLAS call single-threaded for the duration: 2 threads on 2 cores made the
    fused pass about 1.6x faster than one loop with a threaded BLAS, and 4 threads
    another ~15% faster when an earlier call had left BLAS threads spinning (more
    runnable threads get more of the CPU); with a BLAS limited to one thread, one loop.
    Parts are added as they arrive, in order, so only a few are held at a time and the
    sum does not depend on the number of threads.

    One segment: BLAS's own threads for wide data, but not for ``one_chunk`` (a pass
    over a single cache-sized chunk, as ``partial_fit`` makes of a small batch): next
    to a busy process a threaded ``syrk`` of 500 x 100 took 3-24 ms, single-threaded
    1.1 ms.
    """
    if len(segments) == 1:
        if not one_chunk:  # wide data: one segment, and BLAS's own threads
            return func(*segments[0])
        with single_threaded_blas():
            return func(*segments[0])
    blas_threads = _user_blas_threads()
    n_threads = min(len(segments), 2 * blas_threads)
    # single-threaded products in every case, so that a BLAS limit another fit sets
    # or lifts meanwhile changes no rounding
    with single_threaded_blas():
        if blas_threads <= 1:
            return _ordered_sum(func(*segment) for segment in segments)
        # the calling thread takes the first segment: one hand-over less
        rest = _thread_pool(n_threads - 1).map(lambda segment: func(*segment), segments[1:])
        return _ordered_sum(chain([func(*segments[0])], rest))


#: Thread pools of :func:`sum_segments`, kept between calls by (process, size):
#: starting the threads anew cost about 1 ms a call, which dominated ``partial_fit``
#: on batches of a few thousand rows (2.6x the time of one ``fit``). The process id
#: makes a child made by ``fork`` (which inherits the pool but not its threads)
#: start its own.
_pools = {}
_pools_lock = threading.Lock()


def _thread_pool(n_threads):
    """A process-wide pool of ``n_threads`` threads for leaf tasks (tasks that never
    wait on the pool themselves, so concurrent fits may share it)."""
    key = (os.getpid(), n_threads)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = ThreadPoolExecutor(
                n_threads, thread_name_prefix="sklearn_svd"
            )
    return pool


def _ordered_sum(parts):
    total = next(parts)
    for part in parts:
        total += part
    return total


def _corrected(X, sums, products, shift, owner, origin=None, count=None, n_samples=None):
    """Statistics from the sums and products about ``shift`` (None: 0), their mean
    less ``origin`` (None: 0), and whether the mean correction cancelled few enough
    bits to accept them. ``count`` (default: the rows of ``X``) is what the sums are
    divided by, ``n_samples`` (default: ``count``) the count reported."""
    count = X.shape[0] if count is None else count
    products = np.asarray(products, dtype=np.float64)
    if not (np.isfinite(np.diag(products)).all() and np.isfinite(sums).all()):
        raise_nonfinite(X, owner=owner)
    return centred(sums, products, count, shift, origin, X.dtype, n_samples)


def centred(
    sums, products, count, shift=None, origin=None, dtype=np.float64, n_samples=None
):
    """:func:`_corrected` for finite sums: the products (float64, overwritten) about
    ``shift`` corrected by ``count r r^T``, ``r = sums / count``, and whether that
    cancelled few enough bits for ``dtype``. ``partial_fit`` centres the sums it
    accumulated over batches with it."""
    d = products.shape[0]
    raw_diag = np.diag(products).copy()
    r = sums / count
    _subtract_outer(products, r, r * count)
    base = np.zeros(d) if shift is None else shift.astype(np.float64)
    if origin is not None:
        base = base - origin  # exact where the shift is near the origin
    stats = ScatterStats(count if n_samples is None else n_samples, base + r, products)
    return stats, _accept(raw_diag, np.diag(products), dtype)


def _subtract_outer(A, x, y, block=256):
    """``A -= outer(x, y)`` in place, by strips of rows (no ``d x d`` temporary)."""
    for lo in range(0, A.shape[0], block):
        A[lo : lo + block] -= np.outer(x[lo : lo + block], y)


def gram_stats(X, *, center=True, owner="this estimator", sample_weight=None):
    """Mean and centred Gram matrix ``(X - 1 mu^T)(X - 1 mu^T)^T`` of a dense wide ``X``.

    The ``n x n`` counterpart of :func:`scatter_stats` for ``n < d``: the raw product
    ``X X^T`` corrected for the mean, with the same cancellation guard (on the row
    norms), and otherwise blocks of columns, each centred in one pass
    (:func:`_centred_gram`).

    ``sample_weight`` (float64 or None): the mean is the weighted mean ``mu_w`` and
    the Gram matrix that of ``D (X - 1 mu_w^T)``, ``D = diag(sqrt(w))``: the rows are
    centred on ``mu_w`` as above and the ``n x n`` result scaled by
    ``sqrt(w_i w_j)`` (no copy of ``X``).

    Returns
    -------
    mean : ndarray of shape (n_features,), float64
    gram : ndarray of shape (n_samples, n_samples), float64
    exact_centring : bool
        False when the raw product was accepted, True when columns were centred.
    """
    mean, gram, exact = _gram_stats(X, center, owner, sample_weight)
    if sample_weight is not None:
        _scale_rows_columns(gram, np.sqrt(sample_weight))
    return mean, gram, exact


def _scale_rows_columns(A, q):
    """``A *= outer(q, q)`` in place, by strips of rows (no ``n x n`` temporary)."""
    for lo in range(0, A.shape[0], 256):
        A[lo : lo + 256] *= q[lo : lo + 256, None]
        A[lo : lo + 256] *= q


def _gram_stats(X, center, owner, weight):
    """:func:`gram_stats` before the weights' scaling of the rows."""
    n, d = X.shape
    if not center:
        mean = np.zeros(d)
    elif weight is None:
        mean = column_sums(X, owner=owner) / n
    else:
        mean = column_sums(X, owner=owner, weight=weight) / np.sum(weight)
    if center and not _probe_accepts_raw_gram(X, mean):
        return (*_centred_gram(X, mean, weight), True)
    raw = np.asarray(X @ X.T, dtype=np.float64)  # numpy calls BLAS syrk
    raw_diag = np.diag(raw).copy()
    if not np.isfinite(raw_diag).all():
        raise_nonfinite(X, owner=owner)
    if not center:
        return mean, raw, False
    # (X - 1 mu^T)(X - 1 mu^T)^T = X X^T - a 1^T - 1 a^T + (mu . mu) 1 1^T, a = X mu.
    a = X @ mean.astype(X.dtype)
    raw -= a[:, None]
    raw -= a[None, :]
    raw += mean @ mean
    if _accept(raw_diag, np.diag(raw), X.dtype):
        return mean, raw, False
    return (*_centred_gram(X, mean, weight), True)


def _probe_accepts_raw_gram(X, mean):
    """Whether the first block of columns says the raw Gram product would pass the
    cancellation guard (row by row), so that a doomed product is not formed at all."""
    start, centred = next(centred_column_blocks(X, mean, cache_rows(X.T)))
    raw = X[:, start : start + centred.shape[1]]
    raw = np.einsum("ij,ij->i", raw, raw, dtype=np.float64)
    centred = np.einsum("ij,ij->i", centred, centred, dtype=np.float64)
    return _accept(raw, centred, X.dtype)


def _centred_gram(X, mean, weight=None):
    """The mean, refined, and the Gram matrix from blocks of columns, each centred in
    one pass.

    ``weight`` (or None): the residual is the weighted mean of the deviations, so
    that the result is centred on the weighted mean (the rows are not scaled here).

    The column sums behind ``mean`` are inexact in float32 (a float32 ``gemv`` per
    block of rows), so a block ``c = X[:, cols] - mean`` (centred on the mean and its
    rounding's remainder, :func:`subtract_mean`) keeps a residual mean ``r``; at an
    offset of 1e4 in
    float32, ignoring it cost two digits of the Gram matrix. ``r`` is summed from
    the centred values, which are small, so a ``gemv`` in ``X``'s dtype gets it to
    about ``u`` times the spread. It goes into the block as an extra last row, so the
    block's one ``syrk`` also gives ``c r`` and ``r . r``, and with the sums ``G`` of
    those products ``X_c X_c^T = G_cc - G_cr 1^T - 1 G_cr^T + G_rr 1 1^T``: ``r`` is
    small, so the correction cancels nothing.
    """
    n, d = X.shape
    if weight is None:
        ones, count = np.ones(n, dtype=X.dtype), n
    else:
        ones, count = weight.astype(X.dtype), float(np.sum(weight))
    residual = np.empty(d)
    gram = np.zeros((n, n))
    cr = np.zeros(n)
    rr = 0.0
    for start, block in centred_column_blocks(X, mean, extra_row=True):
        block[n] = ones @ block[:n]  # BLAS gemv
        block[n] /= count
        residual[start : start + block.shape[1]] = block[n]
        product = block @ block.T  # numpy calls BLAS syrk
        gram += product[:n, :n]
        cr += product[n, :n]
        rr += float(product[n, n])
        del product  # or two n x n products are alive while the next is formed
    gram -= cr[:, None]
    gram -= cr[None, :]
    gram += rr
    head, rest = split_mean(mean, X.dtype)
    # what the blocks were centred on, in float64, plus what they kept
    centre = head.astype(np.float64) + (0.0 if rest is None else rest.astype(np.float64))
    return centre + residual, gram


def _compressed(X):
    """``X`` as CSR or CSC with no duplicate entries, never modifying the caller's matrix.

    The per-column formulas of :func:`_column_moments` count each stored value as one
    entry, so duplicates must be summed first: a matrix whose indices are not strictly
    increasing within each row (CSR) or column (CSC) is copied and the copy made
    canonical. Other formats are converted (a new matrix).
    """
    if X.format not in ("csr", "csc"):
        X = X.tocsr()
    nnz = int(X.indptr[-1])
    indices = X.indices[:nnz]
    ascending = indices[1:] > indices[:-1]
    # the first entry of each row (column) need not exceed the last of the previous
    starts = X.indptr[1:-1]
    ascending[starts[(starts > 0) & (starts < nnz)] - 1] = True
    if ascending.all():
        return X
    X = X.copy()
    X.sum_duplicates()
    return X


def _entry_columns(X):
    """The column of each stored value of a CSR or CSC ``X``."""
    nnz = int(X.indptr[-1])
    if X.format == "csr":
        return X.indices[:nnz]
    return np.repeat(np.arange(X.shape[1]), np.diff(X.indptr))


def _entry_rows(X):
    """The row of each stored value of a CSR or CSC ``X``."""
    if X.format == "csc":
        return X.indices[: X.indptr[-1]]
    return np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))


def _row_scaled(X, q):
    """A float64 copy of a CSR or CSC ``X`` with row ``i`` times ``q[i]`` (``O(nnz)``)."""
    X = X.astype(np.float64, copy=True)
    X.data[: int(X.indptr[-1])] *= q[_entry_rows(X)]
    return X


def sparse_column_sums(X, *, owner="this estimator", weight=None):
    """Column sums of a sparse ``X`` in float64; NaN or infinity in its stored values
    raise a ``ValueError`` naming their (row, column).

    The stored values are added in float64 whatever the dtype of ``X`` (SciPy's
    ``X.sum(dtype=np.float64)`` accumulates float32 input in float32). Duplicate
    entries add up, as they do in every product with ``X``. ``weight`` (one per row,
    or None): the weighted sums ``w^T X``.
    """
    if X.format not in ("csr", "csc"):
        X = X.tocsr()
    data = X.data[: int(X.indptr[-1])]
    if not np.isfinite(data).all():
        raise_nonfinite(X, owner=owner)
    with np.errstate(over="ignore", invalid="ignore"):
        if weight is not None:
            data = data * weight[_entry_rows(X)]
        sums = np.bincount(_entry_columns(X), weights=data, minlength=X.shape[1])
    if not np.isfinite(sums).all():  # finite values whose sum overflows float64
        raise_nonfinite(X, owner=owner)
    return sums


def _column_moments(X, mean=None, weights=None):
    """Per column of a sparse ``X`` (from :func:`_compressed`), in float64 and
    ``O(nnz)``: the two-pass mean, ``sum x^2`` and ``sum (x - mean)^2``.

    Contract: the centred sum of squares carries an error of about ``u`` (float64)
    times itself, however large the mean against the spread: a column with ``z``
    unstored zeros adds ``z mean^2`` to ``sum over stored (x - mean)^2``, so no offset
    is squared and nothing cancels. ``mean`` is a first estimate (the column sums over
    ``n``); the residual mean of the deviations from it refines it, as the dense path
    does, to about ``u`` times the spread. ``mean=None`` (uncentred): the mean is 0
    and both sums are ``sum x^2``.

    ``weights`` (float64, one per row, or None): the weighted sums ``sum w x^2`` and
    ``sum w (x - mean)^2`` about the weighted mean, each stored value counted with its
    row's weight and the unstored zeros with the rest of the total weight.
    """
    n, d = X.shape
    columns = _entry_columns(X)
    data = X.data[: columns.size].astype(np.float64)
    if weights is None:
        entry_weights, total = None, n
        stored = np.bincount(columns, minlength=d)
    else:
        entry_weights, total = weights[_entry_rows(X)], float(np.sum(weights))
        stored = np.bincount(columns, entry_weights, minlength=d)
    with np.errstate(over="ignore", invalid="ignore"):
        squares = data * data if weights is None else entry_weights * data * data
        raw = np.bincount(columns, weights=squares, minlength=d)
        if mean is None:
            return np.zeros(d), raw, raw
        unstored = total - stored
        deviation = data - mean[columns]
        weighted = deviation if weights is None else entry_weights * deviation
        residual = (np.bincount(columns, weighted, d) - unstored * mean) / total
        centred = np.bincount(columns, weighted * deviation, d) + unstored * mean**2
        centred = np.maximum(centred - total * residual**2, 0.0)
    return mean + residual, raw, centred


def _cancelling(raw, centred, limit):
    """Columns whose mean correction would cancel more than ``limit`` allows: the
    column-by-column form of :func:`_accept`."""
    return ~((raw <= limit * centred) | (raw == 0))


def _sparse_moments(X, center, owner, limit, weight=None):
    """``X`` canonical, its two-pass (weighted) mean, and the columns whose raw to
    centred sum of squares exceeds ``limit`` (None if none), in one ``O(nnz)`` pass;
    NaN, infinity and overflowing sums raise."""
    n = X.shape[0] if weight is None else float(np.sum(weight))
    X = _compressed(X)
    sums = sparse_column_sums(X, owner=owner, weight=weight)
    mean, raw, centred = _column_moments(X, sums / n if center else None, weight)
    if not np.isfinite(raw).all():  # finite values whose squares overflow float64
        raise_nonfinite(X, owner=owner)
    heavy = _cancelling(raw, centred, limit) if center else None
    return X, mean, heavy if center and heavy.any() else None


def sparse_scatter_stats(X, *, center=True, owner="this estimator", sample_weight=None):
    """:func:`scatter_stats` for a sparse ``X``, never densifying it whole.

    Contract: at least that of :func:`scatter_stats`, ``|E_ij| <= c u sqrt(S_ii S_jj)``
    with ``c`` at most :func:`_max_cancellation` times that of the exactly centred
    product, whatever the offset of the data (for float32 data, the light block's error
    is that of float64 arithmetic, far below).

    Method: the exact per-column sums of squares (:func:`_column_moments`, ``O(nnz)``)
    split the columns. For the light ones (every column of counts, indicators or
    TF-IDF) the mean correction of the raw product cancels at most 2^10 (the float64
    guard, as the products are float64 whatever the dtype), and the
    scatter is the sparse product ``X^T X``, formed in float64 (exact products, float64
    sums: float32 input loses nothing to the accumulation), less ``n mu mu^T``. A
    heavy column, whose mean dwarfs its spread, is necessarily mostly stored values
    (a fraction ``z`` of zeros alone makes the ratio at most ``1 / z``); those
    columns are densified by cache-sized chunks of rows, each shifted by the mean while
    in cache (:func:`_split_products`), which gives their block of the scatter and
    their products with the light columns (a sparse-dense product). Extra memory:
    the ``d x d`` result and a float64 copy of the stored values; with heavy columns,
    a float64 copy of ``X`` without them, a sparse copy of them, and the chunks.

    ``sample_weight`` (float64 or None): frequency weights, as in
    :func:`scatter_stats`. The exact sums of squares are weighted
    (:func:`_column_moments`), the light block is the product of the row-scaled
    matrix ``D X`` (an ``O(nnz)`` float64 copy, ``D = diag(sqrt(w))``) less
    ``W mu mu^T``, and the heavy chunks are scaled by ``sqrt(w)`` in cache.
    """
    n, d = X.shape
    q = None
    if sample_weight is not None:
        n = float(np.sum(sample_weight))
        if n == 0:  # nothing to summarise: merging it changes nothing
            return ScatterStats(0.0, np.zeros(d), np.zeros((d, d)))
        q = np.sqrt(sample_weight)
    # The products are float64 whatever the dtype of X (exact for float32 values), so
    # float32 data may cancel as many bits as float64 data: 2^10 of float64's 53 leave
    # float32's 24 intact (TF-IDF columns of common words, ratios ~30, stay sparse).
    X, mean, heavy = _sparse_moments(
        X, center, owner, _max_cancellation(np.float64), sample_weight
    )
    if heavy is None:
        X64 = X.astype(np.float64, copy=False) if q is None else _row_scaled(X, q)
        scatter = np.asarray((X64.T @ X64).toarray(), dtype=np.float64)
        if center:
            _subtract_outer(scatter, mean, mean * n)
        return ScatterStats(n, mean, scatter)
    H = np.flatnonzero(heavy)
    X = X.tocsr()
    XH = X[:, H]
    XL, scatter = None, np.zeros((d, d))
    if not heavy.all():
        # the light columns in place, the heavy entries dropped from a float64 copy:
        # the product comes out d x d, and only the heavy rows and columns are rewritten
        XL = X.astype(np.float64, copy=True) if q is None else _row_scaled(X, q)
        XL.data[heavy[_entry_columns(XL)]] = 0
        XL.eliminate_zeros()
        scatter = np.asarray((XL.T @ XL).toarray(), dtype=np.float64)
        _subtract_outer(scatter, mean, mean * n)
    shift = mean[H].astype(X.dtype)
    h, width = H.size, _padded(H.size + 1, X.dtype)
    rows = _chunk_rows(XH, width)
    m = X.shape[0]
    segments = _segments(m, rows, d)
    qh = None if q is None else q.astype(X.dtype)
    products = partial(_split_products, XH, XL, shift, rows, qh)
    total = sum_segments(products, segments, m <= rows)
    # sum (c - r)(x - mu)^T and sum (c - r)(c - r)^T, c = x_H - shift, r = mean(c)
    # (weighted: sum w (c - r)..., r the weighted mean, over the syrk's own sum q^2)
    count = n if q is None else float(total[h, h])
    r = total[h, :h] / count
    if XL is not None:
        cross = total[:h, width:]
        _subtract_outer(cross, r, mean * n)
        scatter[H] = cross
        scatter[:, H] = cross.T
    block = total[:h, :h]
    _subtract_outer(block, r, r * count)
    scatter[np.ix_(H, H)] = block
    mean[H] = shift + r
    return ScatterStats(n, mean, scatter)


def _padded(width, dtype):
    """``width`` rounded up to a multiple of 32 bytes of ``dtype`` (faster ``syrk``)."""
    itemsize = np.dtype(dtype).itemsize
    return -(-width * itemsize // 32) * 32 // itemsize


#: Chunk buffers up to this size are kept between calls, one per thread: a fresh
#: 2 MB buffer for every batch (zeroed, then page faults on first touch) cost about
#: 0.5 ms of ``partial_fit``'s time per batch of 5000 x 100, a third of its overhead
#: over ``fit``.
KEEP_BUFFER_BYTES = 4 * CHUNK_BYTES
_kept_buffers = threading.local()


def _chunk_buffer(m, d, width, dtype):
    """An ``m x width`` buffer of ``dtype`` for chunks of ``d`` columns: column ``d``
    set to 1, the padding after it to 0, the first ``d`` columns left to the caller.
    The calling thread's kept buffer when it is small enough (the caller must be done
    with it before the thread asks again: each pass fills, multiplies and drops it)."""
    dtype = np.dtype(dtype)
    size = m * width
    if size * dtype.itemsize > KEEP_BUFFER_BYTES:
        buffer = np.empty((m, width), dtype=dtype)
    else:
        flat = getattr(_kept_buffers, "flat", None)
        if flat is None or flat.dtype != dtype or flat.size < size:
            flat = _kept_buffers.flat = np.empty(size, dtype=dtype)
        buffer = flat[:size].reshape(m, width)
    buffer[:, d] = 1
    buffer[:, d + 1 :] = 0
    return buffer


def _split_products(XH, XL, shift, rows, q, start, stop):
    """``sum [c, 1]^T [c, 1, x_L]`` over rows ``start:stop`` in float64, ``c`` the
    heavy columns ``XH`` (sparse) less ``shift``, ``x_L`` the light ones (sparse
    float64 with every column, the heavy ones empty; or None).

    Each chunk of ``XH`` is densified and shifted into a buffer with a column of ones
    after it (padded as in :func:`_segment_products`), so one ``syrk`` in the dtype of
    ``XH`` gives the heavy block and its column sums; the light columns enter through
    a sparse-dense product in float64. The result has the padded width ``w`` of the
    buffer: ``[:h, :h]`` the heavy block, ``[h, :h]`` the sums, ``[:h, w:]`` the
    products with the light columns.

    ``q`` (``sqrt`` of the weights, or None): each chunk row and its one are scaled
    by it, as in :func:`_segment_products`; ``XL`` is then the row-scaled matrix, so
    every product carries ``w``.
    """
    h = XH.shape[1]
    width = _padded(h + 1, XH.dtype)
    total = np.zeros((width, width + (0 if XL is None else XL.shape[1])))
    buffer = _chunk_buffer(min(rows, stop - start), h, width, XH.dtype)
    for lo in range(start, stop, rows):
        hi = min(lo + rows, stop)
        chunk = buffer[: hi - lo]
        np.subtract(XH[lo:hi].toarray(), shift, out=chunk[:, :h])
        if q is not None:
            chunk[:, :h] *= q[lo:hi, None]
            chunk[:, h] = q[lo:hi]
        total[:, :width] += chunk.T @ chunk  # numpy calls BLAS syrk
        if XL is not None:
            total[:, width:] += (XL[lo:hi].T @ chunk).T
    return total


def sparse_gram_stats(X, *, center=True, owner="this estimator", sample_weight=None):
    """:func:`gram_stats` for a sparse wide ``X``, never densifying it whole.

    Contract: as :func:`gram_stats`. The columns are split as in
    :func:`sparse_scatter_stats`, with the guard of the dtype of ``X``: the light ones
    give the sparse product ``X X^T``
    (float64) corrected for the mean (``X X^T - a 1^T - 1 a^T + |mu|^2``,
    ``a = X mu``), accepted when the guard also passes on its diagonal, row by row, as
    the dense path's; the heavy ones (or all, if the rows fail the guard) are
    densified by cache-sized blocks of columns, each centred in one pass
    (:func:`_centred_gram`). ``exact_centring`` is True as soon as any column was
    centred explicitly, so that ``V`` is recovered from centred blocks too.

    ``sample_weight`` (or None): as in :func:`gram_stats`, the weighted mean and the
    Gram matrix of ``D X_c``, scaled by ``sqrt(w_i w_j)`` at the end.

    Returns
    -------
    mean : ndarray of shape (n_features,), float64
    gram : ndarray of shape (n_samples, n_samples), float64
    exact_centring : bool
    """
    n, d = X.shape
    # The Gram product is float64 too, but the columns accepted here get V from an
    # implicitly centred product in the dtype of X (_engine): the dense path's guard.
    X, mean, heavy = _sparse_moments(
        X, center, owner, _max_cancellation(X.dtype), sample_weight
    )
    light = np.ones(d, dtype=bool) if heavy is None else ~heavy
    gram = np.zeros((n, n))
    if light.any():
        XL = X if heavy is None else X[:, np.flatnonzero(light)]
        XL = XL.astype(np.float64, copy=False)
        gram = np.asarray((XL @ XL.T).toarray(), dtype=np.float64)
        if center:
            raw_diag = np.diag(gram).copy()
            a = np.asarray(XL @ mean[light]).ravel()
            gram -= a[:, None]
            gram -= a[None, :]
            gram += mean[light] @ mean[light]
            if not _accept(raw_diag, np.diag(gram), X.dtype):
                light[:] = False
                gram[:] = 0.0
        del XL
    exact = not light.all()
    if exact:
        H = np.flatnonzero(~light)
        mean[H], heavy_gram = _centred_gram(X[:, H].tocsc(), mean[H], sample_weight)
        gram += heavy_gram
    if sample_weight is not None:
        _scale_rows_columns(gram, np.sqrt(sample_weight))
    return mean, gram, exact


def sparse_centred_product(A, X, mean):
    """``A @ (X - 1 mean^T)`` in float64 for a dense ``A`` (``k x n``) and a sparse
    ``X``, never densifying ``X`` whole.

    Contract: each column ``j`` of the result has an error of about ``u`` times
    ``|A| |x_j - mean_j|`` (``u`` the unit roundoff of ``X``), whatever the offset, at
    the cost of a sparse product for the columns the guard of
    :func:`sparse_gram_stats` accepts (``A X - (A 1) mean^T``, the correction in
    float64) and cache-sized dense blocks, centred in one pass, for the heavy ones
    only. Meant for ``V^T = U^T X_c / s`` on the wide path: centring every column
    explicitly costs a dense ``k x n x d`` product (10x the fit for one heavy column of
    a 2000 x 50000 matrix at density 1e-3).
    """
    X = _compressed(X)
    out = np.asarray((X.T @ A.T).T, dtype=np.float64)
    out -= np.outer(np.sum(A, axis=1, dtype=np.float64), mean)
    _, raw, centred = _column_moments(X, np.asarray(mean, dtype=np.float64))
    H = np.flatnonzero(_cancelling(raw, centred, _max_cancellation(X.dtype)))
    if H.size:
        XH = X[:, H].tocsc()
        for start, block in centred_column_blocks(XH, mean[H], cache_rows(XH.T)):
            out[:, H[start : start + block.shape[1]]] = A @ block
    return out


def split_mean(mean, dtype):
    """``mean`` (float64) as ``(head, rest)`` in ``dtype``: the mean rounded to ``dtype``
    and what that rounding left (None when nothing: always for float64).

    Centring with both (:func:`subtract_mean`) is accurate to about ``u`` times the
    spread instead of ``u |mean|``: at an offset of 1e6 in float32 the rounding alone
    is 0.03, 3% of a spread of 1.
    """
    mean = np.asarray(mean, dtype=np.float64)
    head = mean.astype(dtype)
    rest = (mean - head).astype(dtype)
    return head, (rest if rest.any() else None)


def subtract_mean(block, head, rest, out=None):
    """``block - head - rest`` (see :func:`split_mean`), into ``out`` if given.

    ``head`` first: values near the mean lose nothing to ``x - head`` (Sterbenz), so
    the remainder then lands on the small deviations and is not rounded away.
    """
    out = np.subtract(block, head, out=out)
    if rest is not None:
        out -= rest
    return out


def centred_column_blocks(X, mean, cols=None, *, extra_row=False):
    """Yield ``(start, X[:, start:stop] - mean[start:stop])`` as C-contiguous blocks.

    ``mean`` is subtracted in the dtype of ``X`` as the rounded mean and then its
    remainder (:func:`subtract_mean`). The blocks have ``cols`` columns;
    by default as many as :func:`_chunk_rows` gives rows to ``X.T``, since the products
    of the wide path rewrite an ``n x n`` accumulator per block. Each block is centred
    in one pass into a reused buffer, so it is valid only until the next one is
    yielded. With ``extra_row``, each block has one more row, left for the caller.
    A sparse ``X`` is densified one block at a time (from a CSC copy if it is CSR).
    """
    n, d = X.shape
    if sp.issparse(X) and X.format != "csc":
        X = X.tocsc()  # a copy, so that each block of columns is a cheap slice
    cols = min(_chunk_rows(X.T) if cols is None else cols, d)
    height = n + extra_row
    flat = np.empty(height * cols, dtype=X.dtype)
    head, rest = split_mean(mean, X.dtype)
    for start in range(0, d, cols):
        stop = min(start + cols, d)
        block = flat[: height * (stop - start)].reshape(height, stop - start)
        columns = X[:, start:stop]
        if sp.issparse(columns):
            columns = columns.toarray()
        part = None if rest is None else rest[start:stop]
        subtract_mean(columns, head[start:stop], part, out=block[:n])
        yield start, block
