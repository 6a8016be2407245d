"""dask arrays: the engine's solvers fed block by block, ``X`` never on the client.

Each path only feeds blocks of ``X`` to the functions the in-memory engine uses and
reduces their results across blocks, on the workers, by a tree (:func:`_tree`); the
client receives arrays of the size of the result (a ``d x d`` scatter, an ``n x n``
Gram matrix when ``n < d``, a few vectors), never ``n x d``.

``"covariance_eigh"``
    Tall data: each block of rows is summarised by
    :func:`sklearn_svd._stream.add_batch`, ``partial_fit``'s own statistics (count,
    mean about a common pivot row, centred scatter, with their large-offset guard and
    power-of-two scaling), merged by Chan et al.'s update (:meth:`Stream._merge`);
    the ``d x d`` eigendecomposition runs on the client
    (:func:`sklearn_svd._engine.decompose_scatter`). One pass over ``X``. Wide data:
    each block of columns gives its centred Gram matrix
    (:func:`sklearn_svd._scatter.gram_stats`: centring is per column, so the blocks'
    matrices add up exactly), the ``n x n`` eigendecomposition runs on the client,
    and a second pass gives ``V``.
``"full"``
    ``X`` centred lazily on its mean (from a pass of differences to the first row, so
    a large offset cancels no digits), then dask's tall-skinny QR and the SVD of
    ``R`` (:func:`dask.array.linalg.svd`). Two passes.
``"randomized"``, ``"arpack"``
    The engine's block Krylov solver and ARPACK on :class:`DaskCentredOperator`: each
    product with the centred data is one pass of blockwise products, summed (or
    stacked) across blocks. Randomized makes a few passes, ARPACK hundreds.

Chunking: the tall paths need whole rows in a block, the wide ones whole columns; an
array chunked the other way is rechunked first (dask moves each block once).

Sample weights (:func:`check_sample_weight`): ``"covariance_eigh"`` only (``"auto"``
takes it): each block of rows is summarised with its weights (a dask array chunked
as the rows of ``X``, or a NumPy array cut the same way), and the wide path scales its
Gram matrices by them. The other solvers raise, naming it.

dask is imported only here, and only inside the functions: the package imports this
module, not dask, until it is given a dask collection (:func:`is_dask`).
"""

import warnings
from dataclasses import replace
from functools import reduce, wraps
from itertools import pairwise

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ._compat import validate_data
from ._engine import (
    LARGE_PRODUCT,
    ConditioningWarning,
    _finish,
    _ranked,
    decompose_scatter,
    gram_floor,
    half_digits,
    padded,
    rescaled_on_failure,
    resolve_solver,
    top_eigh,
    weighted_on_failure,
)
from ._iterative import arpack_svd, orthonormal_complement, randomized_svd
from ._operator import _implicit_limit
from ._scatter import (
    _accept,
    gram_stats,
    split_mean,
    subtract_mean,
)
from ._stream import _pivot, add_batch
from ._validation import (
    MagnitudeError,
    check_numeric_columns,
    check_weight_shape,
)
from ._validation import check_sample_weight as _check_weights

#: Results merged per node of the reduction trees.
SPLIT_EVERY = 8


def is_dask(X):
    """Whether ``X`` is a dask collection (array or DataFrame), told by the module of
    its type so that dask is not imported to find out."""
    module = type(X).__module__
    return module == "dask" or module.startswith(("dask.", "dask_expr"))


def _compute(*collections):
    """``dask.compute``, on the scheduler in use (a ``distributed.Client`` if one is
    active). Every result the client receives comes through here."""
    import dask

    return dask.compute(*collections)


def _quiet(func):
    """Run a task with the engine's floating-point error state: overflow and NaN are
    detected from the results (and the data rescaled or the entries named), not
    warned about. The state is per thread, so each task sets its own."""

    @wraps(func)
    def task(*args, **kwargs):
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            return func(*args, **kwargs)

    return task


def _tree(parts, combine):
    """``combine`` applied over ``parts`` (delayed values) by a tree with
    :data:`SPLIT_EVERY` children per node, in order, so that the result does not
    depend on which worker finishes first."""
    from dask import delayed

    combine = delayed(_quiet(combine), pure=True)
    while len(parts) > 1:
        groups = [parts[i : i + SPLIT_EVERY] for i in range(0, len(parts), SPLIT_EVERY)]
        parts = [combine(*group) if len(group) > 1 else group[0] for group in groups]
    return parts[0]


def _sum(*parts):
    return reduce(np.add, parts)


def _blocks(X, axis):
    """``X`` with whole rows (``axis=0``: blocks of rows) or whole columns
    (``axis=1``) per block, as delayed blocks with their slices along ``axis``."""
    X = X.rechunk({1 - axis: -1})
    bounds = np.cumsum((0, *X.chunks[axis]))
    slices = [slice(int(a), int(b)) for a, b in pairwise(bounds)]
    return list(X.to_delayed().ravel()), slices


def validate(estimator, X, *, reset, min_samples=1):
    """A dask array or DataFrame checked as ``validate_data`` checks an array, without
    computing it: dimensions, dtype (float32 kept, anything else cast to float64
    lazily), the number of features and the feature names (a DataFrame's from its
    ``_meta``, which has no rows). Values are not checked for NaN and infinity here:
    a fit locates them from its statistics, a transform propagates them.

    A dask DataFrame goes through ``to_dask_array(lengths=True)``, which computes the
    length of each partition (the number of samples must be known).
    """
    import dask.array as da

    owner = type(estimator).__name__
    if isinstance(X, da.Array):
        if X.ndim != 2:
            raise ValueError(
                f"Expected a 2D dask array, got a {X.ndim}D array of shape {X.shape} "
                "instead. Reshape it with X.reshape(-1, 1) for a single feature or "
                "X.reshape(1, -1) for a single sample."
            )
        meta = np.empty((0, X.shape[1]), dtype=X.dtype)
    elif hasattr(X, "to_dask_array"):
        check_numeric_columns(X, owner)
        meta = X._meta  # the columns and dtypes, no rows
        X = X.to_dask_array(lengths=True)
        if X.ndim != 2:
            raise ValueError(
                f"Expected a dask DataFrame, got a {type(X).__name__} of shape "
                f"{X.shape}; pass series.to_frame()."
            )
    else:
        raise TypeError(f"Expected a dask Array or DataFrame, got {type(X).__name__}.")
    if np.isnan(X.shape[0]):
        raise ValueError(
            f"X has unknown chunk sizes (shape {X.shape}): {owner} needs the number "
            "of samples. Call X.compute_chunk_sizes() first (or pass lengths=True to "
            "DataFrame.to_dask_array)."
        )
    if not isinstance(X._meta, np.ndarray):
        raise TypeError(
            f"{owner} takes dask arrays of dense numpy chunks; these chunks are "
            f"{type(X._meta).__name__}. Convert them with "
            "X.map_blocks(lambda block: block.toarray()), or fit the scipy.sparse "
            "matrix in memory."
        )
    # the rows are not needed to check the features, names and dtype
    checked = validate_data(
        estimator,
        meta,
        reset=reset,
        dtype=[np.float64, np.float32],
        ensure_min_samples=0,
        ensure_all_finite=False,
    )
    if X.shape[0] < min_samples:
        raise ValueError(
            f"Found array with {X.shape[0]} sample(s) (shape={X.shape}) while a "
            f"minimum of {min_samples} is required by {owner}."
        )
    return X.astype(checked.dtype, copy=False)


def check_sample_weight(sample_weight, X, owner):
    """Sample weights for a dask ``X`` (or a 1-D dask array of its rows): a dask array
    of float64 chunked as the rows of ``X``, and their total, checked as in memory
    (:func:`sklearn_svd._validation.check_sample_weight`), in one small computation
    (a count of bad values and a sum) when they are a dask array; NumPy weights are
    checked on the client (``n`` numbers, not ``n x d``)."""
    import dask.array as da

    n = X.shape[0]
    rows = X.chunks[0]
    if not is_dask(sample_weight):
        weights = _check_weights(sample_weight, n, owner=owner)
        return da.from_array(weights, chunks=(rows,)), float(np.sum(weights))
    weights = sample_weight
    if hasattr(weights, "to_dask_array"):  # a dask Series
        weights = weights.to_dask_array(lengths=True)
    check_weight_shape(weights.shape, n)
    weights = weights.astype(np.float64).rechunk((rows,))
    nonfinite, negative, total = _compute(
        (~da.isfinite(weights)).sum(), (weights < 0).sum(), weights.sum()
    )
    if nonfinite or negative:
        # the in-memory check names the rule and the first indices
        _check_weights(_compute(weights)[0], n, owner=owner)
    if not np.isfinite(total):
        _check_weights(np.array([np.inf]), 1, owner=owner)
    return weights, float(total)


def _weight_blocks(weights, slices):
    """The delayed weights of each block of rows (None for none)."""
    if weights is None:
        return [None] * len(slices)
    return list(weights.to_delayed().ravel())


def as_float_array(X):
    """A dask array or DataFrame as a 2D floating-point dask array of whole rows
    (float32 kept, anything else float64), lazily: ``check_array`` for dask."""
    if hasattr(X, "to_dask_array"):
        X = X.to_dask_array(lengths=True)
    if X.ndim != 2:
        raise ValueError(f"Expected a 2D dask array, got shape {X.shape} instead.")
    dtype = X.dtype if X.dtype == np.float32 else np.float64
    return X.astype(dtype, copy=False).rechunk({1: -1})


def map_rows(func, X, width, *args, dtype):
    """``func(block, *args)`` on each block of whole rows of ``X``, lazily: a dask
    array of ``width`` columns (None: one value per row)."""
    X = X.rechunk({1: -1})
    if width is None:
        return X.map_blocks(func, *args, dtype=dtype, drop_axis=1, chunks=(X.chunks[0],))
    return X.map_blocks(func, *args, dtype=dtype, chunks=(X.chunks[0], (width,)))


def decompose(
    X,
    n_components=None,
    *,
    solver="auto",
    center=True,
    copy=True,
    random_state=None,
    owner="this estimator",
    select_rank=None,
    n_oversamples=10,
    n_iter="auto",
    tol=None,
    sample_weight=None,
):
    """:func:`sklearn_svd._engine.decompose` for a validated 2D dask array.

    The same result as in memory, with the same solver policy (``"auto"`` resolved by
    :func:`sklearn_svd._engine.resolve_solver`, a Gram solver's fit redone by
    ``"full"`` when a kept singular value is below ``eps^(1/4) s_1``) and the same
    rescaling of data at extreme magnitudes. ``U`` is None on the tall paths (the
    scores are a lazy projection) and a dask array with the rows of ``X`` on the wide
    ones. ``copy`` is ignored: ``X`` is never modified.

    ``sample_weight`` (from :func:`check_sample_weight`): ``"covariance_eigh"`` only
    (``"auto"`` takes it, without its fallback to ``"full"``); the other solvers
    raise a ``ValueError``.
    """
    options = dict(
        n_components=n_components,
        solver=solver,
        center=center,
        random_state=random_state,
        owner=owner,
        n_oversamples=n_oversamples,
        n_iter=n_iter,
        tol=tol,
    )
    if sample_weight is None:
        return rescaled_on_failure(_decompose, X, select_rank, **options)
    if solver not in ("auto", "covariance_eigh"):
        raise ValueError(
            f"sample_weight with a dask X needs solver='covariance_eigh' (or 'auto'); "
            f"solver={solver!r} does not take weights on dask input. Use "
            "'covariance_eigh', or fit X.compute() in memory, where every solver "
            "takes them."
        )
    total, top = (float(v) for v in _compute(sample_weight.sum(), sample_weight.max()))
    return weighted_on_failure(
        _decompose, X, select_rank, sample_weight, total, top, **options
    )


def _decompose(
    X, n_components, *, solver, center, random_state, owner, select_rank, n_oversamples,
    n_iter, tol, sample_weight=None, rows=None,
):  # fmt: skip
    n, d = X.shape
    m = min(n, d)
    k = m if n_components is None else n_components
    chosen, reason = solver, ""
    if solver == "auto":
        chosen, reason = resolve_solver(n, d, n_components, center)
    weighted = sample_weight is not None
    if weighted:
        # the weights enter the covariance statistics only
        if chosen != "covariance_eigh":
            reason = "sample weights on dask input: covariance_eigh"
        chosen = "covariance_eigh"
        wanted = min(rows, d) if n_components is None else k
        k = min(k, m)
    if chosen == "full":
        return _ranked(_full(X, k, center, owner), reason, select_rank)
    if chosen == "covariance_eigh":
        result = _covariance_eigh(X, k, center, random_state, owner, sample_weight, rows)
        if weighted:
            result = padded(result, wanted, rows)
    else:
        result, info = _iterative(
            X,
            k,
            chosen,
            center=center,
            random_state=random_state,
            owner=owner,
            n_oversamples=n_oversamples,
            n_iter=n_iter,
            tol=tol,
        )
        if info is not None and not info["converged"]:
            warnings.warn(
                f"randomized block Krylov did not reach tol in {info['passes']} passes "
                f"over X (largest relative Ritz residual {info['residual']:.2g}): the "
                "singular values may be off by up to that much. Raise n_iter or tol, or "
                "use solver='covariance_eigh' or 'full'.",
                ConvergenceWarning,
                stacklevel=5,
            )
    result = _ranked(result, reason, select_rank)

    # Both Gram formulations square the condition number: the engine's rules.
    kept = result.singular_values[: result.rank]
    # (an overflowed result is redone on a rescaled copy by decompose: no verdict)
    if not (kept.size and kept[0] > 0 and np.isfinite(kept).all()):
        return result
    if solver == "auto" and kept[-1] < half_digits(X.dtype) * kept[0] and weighted:
        message = (
            f"singular value {kept.size} ({kept[-1]:.3g}) is below eps^(1/4) = "
            f"{half_digits(X.dtype):.2g} times the largest, where the Gram matrix "
            "leaves fewer than half the digits; 'full' takes no sample weights on "
            "dask input"
        )
        result = replace(result, reason=f"{reason}; no fallback: {message}")
    elif solver == "auto" and kept[-1] < half_digits(X.dtype) * kept[0]:
        message = (
            f"singular value {kept.size} ({kept[-1]:.3g}) is below eps^(1/4) = "
            f"{half_digits(X.dtype):.2g} times the largest: the {chosen} solver works "
            "on a Gram matrix, whose relative error eps (s_1 / s_i)^2 leaves fewer than "
            "half the working digits there"
        )
        # TSQR (two passes) where R is affordable; ARPACK would take hundreds
        if m <= LARGE_PRODUCT:
            reason = f"{chosen} fell back to full: " + message
            return _ranked(_full(X, k, center, owner), reason, select_rank)
        result = replace(result, reason=f"{reason}; no fallback: {message}")
    floor = gram_floor(X.dtype) * kept[0]
    if kept[-1] <= floor:
        warnings.warn(
            f"singular value {kept.size} ({kept[-1]:.3g}) is at or below "
            f"{floor / kept[0]:.2g} times the largest: the {chosen} solver works on a "
            "Gram matrix, which squares the condition number and leaves it no correct "
            "digits. Use solver='full' (or 'auto') for an accurate result, or fewer "
            "components.",
            ConditioningWarning,
            stacklevel=5,
        )
    return result


def _lazy_U(result, rows):
    """The result with its ``U`` (numpy, ``n x k``) as a dask array of row chunks
    ``rows``, so that ``fit_transform`` is lazy too."""
    if result.U is None:
        return result
    import dask.array as da

    return replace(result, U=da.from_array(result.U, chunks=(rows, -1)))


# -- covariance_eigh -----------------------------------------------------------------


class _NonFinite:
    """What a block holding NaN or infinity returns: the client then locates them in
    ``X`` (:func:`_raise_nonfinite`), so the error names rows and columns of ``X``,
    not of the block."""


def _nonfinite(error):
    """Whether ``error`` is :func:`raise_nonfinite`'s (NaN or infinity found)."""
    return not isinstance(error, MagnitudeError) and str(error).startswith(
        "Input X contains NaN"
    )


@_quiet
def _block_stream(block, pivot, center, owner, weights=None):
    """The statistics of one block of rows (None for no rows), with its rows'
    weights (or None)."""
    if block.shape[0] == 0:
        return None
    try:
        return add_batch(
            None, block, center=center, owner=owner, pivot=pivot, sample_weight=weights
        )
    except ValueError as error:
        if _nonfinite(error):
            return _NonFinite()
        raise


def _merge_streams(*streams):
    streams = [stream for stream in streams if stream is not None]
    for stream in streams:
        if isinstance(stream, _NonFinite):
            return stream
    return reduce(lambda a, b: a._merge(b), streams) if streams else None


def merged_stream(X, center, owner, pivot=None, sample_weight=None):
    """The :class:`Stream` of the rows of ``X``: each block of rows summarised by
    :func:`add_batch` about one pivot (``pivot``, or the first row of ``X``, as
    ``partial_fit`` takes its first batch's), merged by a tree on the workers. One
    pass over ``X``, no copy of a block; the client receives ``d x d``.

    Each block's mean is kept relative to the pivot, subtracted before it is rounded
    (:func:`~sklearn_svd._scatter.scatter_stats`'s ``origin``), so that Chan's update
    never squares a rounding of the offset, however far the blocks drift from the
    first row.

    ``sample_weight``: a dask array chunked as the rows of ``X``
    (:func:`check_sample_weight`), each block summarised with its weights.
    """
    from dask import delayed

    blocks, slices = _blocks(X, 0)
    if pivot is None:
        first = next(i for i, sl in enumerate(slices) if sl.stop > sl.start)
        pivot = delayed(_pivot, pure=True)(blocks[first], center)
    task = delayed(_block_stream, pure=True)
    weights = _weight_blocks(sample_weight, slices)
    parts = [
        task(block, pivot, center, owner, w)
        for block, w in zip(blocks, weights, strict=True)
    ]
    stream = _compute(_tree(parts, _merge_streams))[0]
    if isinstance(stream, _NonFinite):
        _raise_nonfinite(X, owner)
    return stream


@_quiet
def _block_gram(block, center, owner, weights=None):
    """Column means and centred Gram matrix of one block of whole columns (with
    weights: the weighted means, and the Gram matrix of ``D X_c``)."""
    if block.shape[1] == 0:
        return np.zeros(0), np.zeros((block.shape[0], block.shape[0]))
    try:
        mean, gram, _ = gram_stats(block, center=center, owner=owner, sample_weight=weights)
    except ValueError as error:
        if _nonfinite(error):
            return _NonFinite()
        raise
    return mean, gram


def _merge_grams(*parts):
    """Blocks of columns: their means side by side, their Gram matrices summed."""
    for part in parts:
        if isinstance(part, _NonFinite):
            return part
    return np.concatenate([p[0] for p in parts]), _sum(*(p[1] for p in parts))


def _raise_nonfinite(X, owner):
    """Locate the NaN and infinite entries of ``X`` and raise the engine's
    ``ValueError`` naming them: counts in one pass, positions from the first blocks
    that hold any (computed one at a time)."""
    import dask.array as da

    bad = ~da.isfinite(X)
    nb = bad.numblocks
    counts = bad.map_blocks(
        lambda b: np.array([[np.count_nonzero(b)]]),
        dtype=np.intp,
        chunks=((1,) * nb[0], (1,) * nb[1]),
    )
    counts, n_bad, n_nan = _compute(counts, bad.sum(), da.isnan(X).sum())
    starts = [np.cumsum((0, *c)) for c in X.chunks]
    where = []
    for i, j in zip(*np.nonzero(counts), strict=True):
        rows, cols = np.nonzero(~np.isfinite(_compute(X.blocks[i, j])[0]))
        where += list(zip(rows + starts[0][i], cols + starts[1][j], strict=True))
        if len(where) >= 5:
            break
    where = sorted(where)[:5]
    more = f" and {int(n_bad) - 5} more" if n_bad > 5 else ""
    raise ValueError(
        f"Input X contains NaN ({int(n_nan)} entries) or infinity "
        f"({int(n_bad - n_nan)} entries), at (row, column) "
        f"{', '.join(f'({r}, {c})' for r, c in where)}{more}. {owner} needs finite "
        "values: drop those rows or impute them (e.g. sklearn.impute.SimpleImputer) "
        "first."
    )


@_quiet
def _block_components(block, Ut, head, rest):
    """``U^T X_c`` over one block of whole columns, centred exactly in the block."""
    return Ut @ subtract_mean(block, head, rest)


def _covariance_eigh(X, k, center, random_state, owner, sample_weight=None, rows=None):
    n, d = X.shape
    if n >= d:
        stream = merged_stream(X, center, owner, sample_weight=sample_weight)
        result = decompose_scatter(
            stream.stats,
            k,
            scale=stream.scale,
            dtype=stream.dtype,
            random_state=random_state,
            rows=rows,
        )
        mean = stream.pivot + result.mean.astype(np.float64)
        return replace(result, mean=mean.astype(stream.dtype))
    from dask import delayed

    weights = None
    if sample_weight is not None:  # n < d numbers, to every block of columns
        weights = _compute(sample_weight)[0]
    blocks, slices = _blocks(X, 1)
    task = delayed(_block_gram, pure=True)
    parts = [task(block, center, owner, weights) for block in blocks]
    merged = _compute(_tree(parts, _merge_grams))[0]
    if isinstance(merged, _NonFinite):
        _raise_nonfinite(X, owner)
    mean, gram = merged
    total = np.sqrt(max(np.trace(gram), 0.0))
    w, U, spectrum = top_eigh(gram, k, random_state)
    s = np.sqrt(w)
    spectrum = None if spectrum is None else np.sqrt(spectrum)
    # V^T = U^T X_c / s: a second pass, block by block of columns (weighted:
    # U^T D X_c, so D U in place of U)
    DU = U if weights is None else U * np.sqrt(weights)[:, None]
    Ut = DU.T.astype(X.dtype)
    head, rest = split_mean(mean, X.dtype)
    task = delayed(_block_components, pure=True)
    parts = [
        task(block, Ut, head[sl], None if rest is None else rest[sl])
        for block, sl in zip(blocks, slices, strict=True)
    ]
    Vt = np.hstack([np.asarray(p, dtype=np.float64) for p in _compute(*parts)])
    positive = s > 0
    Vt[positive] /= s[positive, None]
    if not positive.all():
        Vt[~positive] = orthonormal_complement(Vt[positive].T, (~positive).sum()).T
    count = n if weights is None else float(np.sum(weights))
    result = _finish(s, Vt, U, mean, count, total, spectrum, "covariance_eigh", X.dtype)
    return _lazy_U(result, X.chunks[0])


# -- moments, full -------------------------------------------------------------------


@_quiet
def _block_moments(block, pivot):
    """Per column of one block: ``pivot`` (None: the block's first row, or 0 for no
    rows), the float64 sums and sums of squares of ``x - pivot``, and ``max |x|``."""
    if pivot is None:
        pivot = np.zeros(block.shape[1]) if block.shape[0] == 0 else block[0]
    pivot = np.asarray(pivot, dtype=np.float64)
    D = np.subtract(block, pivot, dtype=np.float64)
    amax = max(float(np.max(block)), -float(np.min(block))) if block.size else 0.0
    return pivot, D.sum(axis=0), np.einsum("ij,ij->j", D, D), amax


def _first_row(block):
    return np.asarray(block[0], dtype=np.float64)


def _add_moments(*parts):
    """Blocks of rows, about one pivot: the sums add up."""
    return (
        parts[0][0],
        _sum(*(p[1] for p in parts)),
        _sum(*(p[2] for p in parts)),
        max(p[3] for p in parts),
    )


def _join_moments(*parts):
    """Blocks of columns, each about its own first row: side by side."""
    joined = [np.concatenate([p[i] for p in parts]) for i in range(3)]
    return (*joined, max(p[3] for p in parts))


def _moments(X, center, owner):
    """Float64 column means, the centred sum of squares ``||X_c||_F^2``, ``max |X|``
    and whether centring must be explicit, in one pass (two in the rare case below).

    Each block (of whole rows for tall data, whole columns for wide data) gives the
    sums and sums of squares of the differences to a pivot (the first row of ``X``,
    then the mean), in one task with one temporary; they are small against the spread,
    so the mean is exact to about ``u`` times the spread at any offset. If the pivot
    lay so far out that the sum of squares about the mean cancels more than the
    scatter's guard accepts, a second pass uses the mean found. Implicit centring
    (``X Q - 1 (mu^T Q)``) is accepted on the same test as
    :class:`~sklearn_svd._operator.CentredOperator`'s, from the raw and centred sums of
    squares.
    """
    from dask import delayed

    n, d = X.shape
    tall = n >= d
    blocks, slices = _blocks(X, 0 if tall else 1)
    task = delayed(_block_moments, pure=True)
    pivot = None if center else np.zeros(d)
    if center and tall:  # one pivot for every block of rows: the first row
        first = next(i for i, sl in enumerate(slices) if sl.stop > sl.start)
        pivot = delayed(_first_row, pure=True)(blocks[first])
    for _ in range(2):
        if tall:
            parts = [task(block, pivot) for block in blocks]
        else:
            parts = [
                task(block, None if pivot is None else pivot[sl])
                for block, sl in zip(blocks, slices, strict=True)
            ]
        merged = _compute(_tree(parts, _add_moments if tall else _join_moments))[0]
        base, sums, squares, amax = merged
        _check_finite(X, squares, amax, owner)
        if not center:
            return np.zeros(d), float(np.sum(squares)), amax, False
        residual = sums / n
        mean = base + residual
        centred = np.maximum(squares - n * residual**2, 0.0)
        if _accept(squares, centred, np.float64):
            break
        pivot = mean
    # sum x^2 = sum (c + base)^2, for the implicit-centring guard (a ratio)
    raw = squares + 2 * base * sums + n * base**2
    explicit = not _accept(raw, centred, X.dtype, _implicit_limit(X.dtype))
    return mean, float(np.sum(centred)), amax, explicit


def _check_finite(X, squares, amax, owner):
    """NaN or infinity in ``X`` are named; finite data whose squares overflowed raises
    :class:`MagnitudeError` (and :func:`decompose` rescales it)."""
    if not np.isfinite(amax):
        _raise_nonfinite(X, owner)
    if not np.isfinite(squares).all():
        raise MagnitudeError(f"The squares of X overflow in {X.dtype}: rescale X.")


def _full(X, k, center, owner):
    """Exact: dask's tall-skinny QR of the lazily centred data, then the SVD of ``R``
    (:func:`dask.array.linalg.svd`), on ``X_c^T`` for wide data."""
    import dask.array as da

    n, d = X.shape
    mean = _moments(X, center, owner)[0]
    head, rest = split_mean(mean, X.dtype)
    # the rounded mean, then its remainder: exact near the mean (Sterbenz)
    Xc = X - head if center else X
    if rest is not None:
        Xc = Xc - rest
    tall = n >= d
    Xc = Xc.rechunk({1: -1} if tall else {0: -1})
    u, s, vt = da.linalg.svd(Xc, coerce_signs=False)
    # tall: U (from Q) stays on the workers; fit_transform projects X instead
    if tall:
        s, vt = _compute(s, vt)
        U = None
    else:
        s, vt, U = _compute(s, vt[:k], u)
        U = U[:, :k]
    s1 = float(s[0]) if s.size else 0.0
    total = s1 * np.linalg.norm(s.astype(np.float64) / s1) if s1 > 0 else 0.0
    result = _finish(s[:k], vt[:k], U, mean, n, total, s, "full", X.dtype)
    return _lazy_U(result, X.chunks[0])


# -- randomized, arpack --------------------------------------------------------------


@_quiet
def _block_product(kind, block, head, rest, explicit, A):
    """One block's share of a product with the centred data ``C``: the block centred
    exactly (on the rounded mean and its remainder) when ``explicit``, else
    implicitly, ``B A - 1 (m^T A)`` (``head`` None: no centring)."""
    if explicit:
        B, m = subtract_mean(block, head, rest), None
    else:
        B, m = block, head

    def mat(M):  # C @ M
        out = B @ M
        if m is not None:
            out -= m @ M
        return out

    def rmat(M):  # C^T @ M
        out = B.T @ M
        if m is not None:
            out -= np.outer(m, M.sum(axis=0))
        return out

    if kind == "gram_rows":
        return rmat(mat(A))
    if kind == "gram_columns":
        return mat(rmat(A))
    return mat(A) if kind == "matmat" else rmat(A)


class DaskCentredOperator:
    """Products with the centred data ``X_c = X - 1 mu^T`` of a dask array: the
    interface of :class:`sklearn_svd._operator.CentredOperator` that the iterative
    solvers use (``shape``, ``dtype``, ``tall``, ``mean``, ``gram``, ``matmat``,
    ``rmatmat``, ``sq_norm``, ``linear_operator``).

    Blocks run along the long side (whole rows for tall data, whole columns for wide
    data). Centring is implicit when the offset is small against the spread, and
    otherwise exact, each block centred on the workers, as ``CentredOperator``
    decides for a dense ``X``: no offset cancels digits. Each product is one
    pass over ``X``: the blocks' shares are summed by a tree on the workers, or
    stacked when the product runs along the long side (``matmat`` of tall data,
    ``rmatmat`` of wide data, a vector of the long side's length). The mean and
    ``||X_c||_F^2`` come from one pass on construction (:func:`_moments`).

    Each product computes ``X`` again from its sources: persist ``X`` (``X.persist()``)
    if it fits in the cluster's memory.
    """

    def __init__(self, X, center, owner):
        n, d = X.shape
        self.shape = X.shape
        self.dtype = X.dtype
        self.tall = n >= d
        self.mean, self._sq_norm, self.amax, self.explicit = _moments(X, center, owner)
        self._center = center
        self._parts, self._slices = _blocks(X, 0 if self.tall else 1)
        self._head, self._rest = split_mean(self.mean, X.dtype)

    def _centring(self, sl):
        """(head, rest, explicit) for a block: the whole mean for a block of rows, its
        columns' for a block of columns; head None without centring."""
        if not self._center:
            return None, None, False
        if self.tall:
            return self._head, self._rest, self.explicit
        rest = None if self._rest is None else self._rest[sl]
        return self._head[sl], rest, self.explicit

    def _products(self, kind, A, split=None):
        """The delayed share of each block; ``split`` slices ``A`` per block."""
        from dask import delayed

        task = delayed(_block_product, pure=True)
        shared = delayed(A, pure=True) if split is None else None
        return [
            task(kind, block, *self._centring(sl), shared if split is None else A[sl])
            for block, sl in zip(self._parts, self._slices, strict=True)
        ]

    def gram(self, Y):
        """The smaller Gram operator applied to ``Y`` (``min(n, d) x m``), one pass."""
        Y = np.asarray(Y, dtype=self.dtype)
        kind = "gram_rows" if self.tall else "gram_columns"
        return _compute(_tree(self._products(kind, Y), _sum))[0]

    def matmat(self, Q):
        """``X_c @ Q`` for ``Q`` of shape (n_features, m)."""
        Q = np.asarray(Q, dtype=self.dtype)
        if self.tall:
            return np.concatenate(_compute(*self._products("matmat", Q)))
        return _compute(_tree(self._products("matmat", Q, split=True), _sum))[0]

    def rmatmat(self, P):
        """``X_c^T @ P`` for ``P`` of shape (n_samples, m)."""
        P = np.asarray(P, dtype=self.dtype)
        if self.tall:
            return _compute(_tree(self._products("rmatmat", P, split=True), _sum))[0]
        return np.concatenate(_compute(*self._products("rmatmat", P)))

    def sq_norm(self):
        """``||X_c||_F^2`` in float64."""
        return self._sq_norm

    def linear_operator(self):
        """The products as a SciPy ``LinearOperator`` (for ARPACK)."""
        from scipy.sparse.linalg import LinearOperator

        return LinearOperator(
            self.shape,
            matvec=lambda v: self.matmat(v.reshape(-1, 1)).ravel(),
            rmatvec=lambda u: self.rmatmat(u.reshape(-1, 1)).ravel(),
            matmat=self.matmat,
            rmatmat=self.rmatmat,
            dtype=self.dtype,
        )


def _iterative(
    X, k, solver, *, center, random_state, owner, n_oversamples=10, n_iter="auto", tol=None
):
    """Randomized or ARPACK on :class:`DaskCentredOperator` (as the engine's
    ``_iterative`` on ``CentredOperator``); the convergence record of randomized."""
    n, d = X.shape
    if solver == "arpack" and not 0 < k < min(n, d):
        raise ValueError(
            "solver='arpack' needs 0 < n_components < min(n_samples, n_features); got "
            f"n_components={k} with n_samples={n}, n_features={d}. Use "
            "'covariance_eigh' or 'full' for every component."
        )
    op = DaskCentredOperator(X, center, owner)
    total = np.sqrt(max(op.sq_norm(), 0.0))
    info = None
    if total == 0:
        # zero (or, centred, constant) data: any orthonormal rows are singular vectors
        U, s, Vt = None, np.zeros(k), np.eye(k, d)
    elif solver == "arpack":
        amax = op.amax
        scale = float(np.ldexp(1.0, -np.frexp(amax)[1])) if amax > 0 else 1.0
        U, s, Vt = arpack_svd(op, k, random_state=random_state, scale=scale)
        if not op.tall:
            U = U.astype(X.dtype)
        else:
            U = None  # n long vectors: the scores are a lazy projection
    else:
        U, s, Vt, info = randomized_svd(
            op,
            k,
            n_oversamples=n_oversamples,
            n_iter=n_iter,
            tol=tol,
            random_state=random_state,
        )
    result = _finish(s, Vt, U, op.mean, n, total, None, solver, X.dtype)
    return _lazy_U(result, X.chunks[0]), info
