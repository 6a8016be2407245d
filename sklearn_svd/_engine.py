"""The decomposition engine shared by every estimator: pure functions, no state.

:func:`decompose` takes a validated dense array or sparse matrix and returns an
:class:`SVDResult`: the leading singular triplets of the (optionally centred) data, in one
sign convention.

Solvers
-------
``"covariance_eigh"``
    Eigendecomposition of the smaller of the two products: the ``d x d`` scatter for tall
    data, the ``n x n`` Gram matrix for wide data (then ``V = X_c^T U / s``); singular
    values are the square roots of its eigenvalues. Cost ``n d min(n, d)`` flops for the
    product (half a GEMM, BLAS syrk) plus the top eigenpairs of a ``min(n, d)`` square
    matrix; extra memory ``O(min(n, d)^2 + chunk)``, never a copy of ``X``. Squaring the
    data squares the condition number: a singular value ``s_i`` comes out with absolute
    error about ``u s_1^2 / s_i`` (``u`` the unit roundoff), so its relative error is
    ``u (s_1 / s_i)^2``. Values below ``sqrt(u) s_1`` carry no correct digits, and
    the guard on the products (up to ``c = 2^10`` cancelled in float64, ``4`` in
    float32) puts the floor at ``sqrt(c eps) s_1`` (:func:`gram_floor`).
``"full"``
    LAPACK ``gesdd`` (falling back to ``gesvd``) on the centred data, backward stable:
    absolute error about ``u s_1``. Cost ``O(n d min(n, d))`` with a larger constant and a
    centred copy of ``X`` (none with ``copy=False``). Dense input only.
``"randomized"``, ``"arpack"``
    Only the requested components, through products with the implicitly centred data;
    see :mod:`sklearn_svd._iterative`.
``"auto"``
    See :func:`resolve_solver`.
"""

import warnings
from contextlib import nullcontext
from dataclasses import dataclass, replace
from functools import partial

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.sparse.linalg import ArpackError, ArpackNoConvergence, eigsh
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from ._iterative import arpack_svd, orthonormal_complement, randomized_svd
from ._operator import CentredOperator
from ._scatter import (
    _max_cancellation,
    cache_rows,
    centred_column_blocks,
    column_sums,
    gram_stats,
    scatter_stats,
    single_threaded_blas,
    sparse_centred_product,
    sparse_column_sums,
    sparse_gram_stats,
    sparse_scatter_stats,
)
from ._validation import MagnitudeError, effective_rows

SOLVERS = ("auto", "covariance_eigh", "full", "randomized", "arpack")

#: Solvers that return only the requested components (no whole spectrum).
PARTIAL_SOLVERS = ("randomized", "arpack")

#: Solvers that accept sparse input.
SPARSE_SOLVERS = ("auto", "covariance_eigh", "randomized", "arpack")

#: Above this smaller dimension "auto" does not form the min(n, d)^2 product for a few
#: components of dense data (10000^2 float64 is 800 MB), nor for sparse data at all.
LARGE_PRODUCT = 10_000

#: Up to this many rows and columns, "auto" always takes the direct solver (as PCA does).
SMALL_PROBLEM = 500


def gram_floor(dtype):
    """Relative level ``sqrt(c eps)`` at or below which a singular value from a Gram
    solver carries no guaranteed digit.

    The products may cancel up to ``c = 2^10`` (float64) or ``4`` (float32) of their
    scale before the guard rejects them (:func:`sklearn_svd._scatter._max_cancellation`),
    so an eigenvalue's error is up to ``c eps s_1^2`` and a value at ``sqrt(c eps) s_1``
    (``4.8e-7 s_1`` in float64, ``6.9e-4 s_1`` in float32) is all rounding. Measured on
    rank-deficient data: the exactly zero values come out as up to ``12 sqrt(eps) s_1``
    with an offset, ``2 sqrt(eps) s_1`` without.
    """
    return float(np.sqrt(_max_cancellation(dtype) * np.finfo(dtype).eps))


def half_digits(dtype):
    """``eps^(1/4)``: below this times ``s_1`` the Gram solvers' relative error bound
    ``eps (s_1 / s_i)^2`` exceeds ``sqrt(eps)``, i.e. leaves fewer than half the working
    digits (``1.2e-4`` in float64, ``1.9e-2`` in float32). ``"auto"`` redoes such a fit
    with a solver that does not square the data."""
    return float(np.finfo(dtype).eps ** 0.25)


class ConditioningWarning(UserWarning):
    """The covariance-eigen solver returned singular values with no correct digits."""


@dataclass(frozen=True)
class SVDResult:
    """Leading singular triplets of the (centred) data ``X_c = X - 1 mean^T``.

    ``X_c ~= U diag(singular_values) components``, singular values descending, each row
    of ``components`` with its largest-magnitude entry positive.

    Attributes
    ----------
    singular_values : ndarray of shape (k,)
    components : ndarray of shape (k, n_features)
        Right singular vectors as rows, in the dtype of ``X``.
    mean : ndarray of shape (n_features,)
        Column means, zeros when not centring.
    n_samples : int or float
        The number of rows; with sample weights, their total ``W`` (float).
    total_norm : float
        ``||X_c||_F``, the square root of the sum of all squared singular values (the
        norm rather than its square, which overflows for data above ``1e154``).
    spectrum : ndarray of shape (min(n_samples, n_features),) or None
        Every singular value, when the solver computed them anyway (with weights,
        ``min(ceil(W), n_features)`` of them: those of the repeated rows).
    U : ndarray of shape (n_samples, k) or None
        Left singular vectors, when the solver has them without another pass (with
        weights, those of ``D X_c``, ``D = diag(sqrt(w))``: each row scaled by its
        ``sqrt(w)``, so not the scores ``X_c V^T / s``).
    solver : str
        The solver that produced the result.
    reason : str
        Why ``"auto"`` chose that solver (empty when the solver was given).
    rank : int or None
        The rank ``select_rank`` chose (None without it).
    """

    singular_values: np.ndarray
    components: np.ndarray
    mean: np.ndarray
    n_samples: int
    total_norm: float
    spectrum: np.ndarray | None
    U: np.ndarray | None
    solver: str
    reason: str = ""
    rank: int | None = None

    @property
    def total_sum_squares(self):
        """``||X_c||_F^2`` (infinite when it exceeds the float64 range)."""
        with np.errstate(over="ignore"):
            return float(np.float64(self.total_norm) ** 2)


def resolve_solver(n_samples, n_features, n_components, center, sparse=False):
    """The solver ``"auto"`` takes before looking at the data, and why.

    ``n_components=None`` means every singular value is needed (all components, or a
    rule that reads the whole spectrum). Policy:

    Dense ``X``:

    1. ``max(n, d) <= 500``: ``"full"``; the direct SVD costs little and is the most
       accurate.
    2. more components requested than the centred data can have nonzero singular
       values (``min(n - 1, d)`` when centring): ``"full"``, since the eigenvectors of
       the zero eigenvalues of the scatter carry no information.
    3. a few components (``k <= min(n, d) / 10``) of data whose smaller side exceeds
       10000: ``"randomized"``, rather than a ``min(n, d)^2`` product of 800 MB or more.
    4. otherwise ``"covariance_eigh"`` on the smaller side, which costs half a GEMM and
       no copy of ``X``. After the fit, if a kept singular value is below
       ``eps^(1/4) s_1`` (:func:`half_digits`: the Gram bound ``eps (s_1 / s_i)^2``
       would leave fewer than half the working digits), the data is decomposed again
       with ``"full"`` (see :func:`decompose`). Centred data asking for its leading
       components rarely gets there; uncentred data far from 0 (``center=False``,
       whose ``s_1`` is the offset's) and rank-deficient data asked for more
       components than its rank do.

    Sparse ``X`` (never densified):

    1. every singular value needed, or ``k > min(n, d) / 10``: ``"covariance_eigh"``,
       while the smaller side is at most 10000 (otherwise an error asks for fewer
       components);
    2. otherwise ``"arpack"``: sparse products are cheap, so ARPACK's many
       single-vector passes cost less than block Krylov's block orthogonalisation
       (measured: 0.4-1.4x the time of ``"randomized"`` on text-like, one-hot and
       random sparse matrices, at working precision).

    If a kept singular value of ``"covariance_eigh"`` is below ``eps^(1/4) s_1``
    (``eps`` of float64: the sparse products are float64), sparse data is decomposed
    again with ``"arpack"`` (when ``k < min(n, d)``), else with ``"full"`` on a dense
    copy when that is small; otherwise the result stays, with a
    :class:`ConditioningWarning` if a kept value is at the Gram floor.
    """
    m = min(n_samples, n_features)
    k = m if n_components is None else n_components
    few = n_components is not None and k <= m / 10
    if sparse:
        if few:
            return "arpack", "sparse data, few components"
        if m > LARGE_PRODUCT:
            raise ValueError(
                f"Sparse input of shape {(n_samples, n_features)}: computing "
                f"{'every singular value' if n_components is None else f'{k} components'}"
                f" would need a dense {m} x {m} product. Ask for at most {m // 10} "
                "components (an int n_components) with solver='randomized' or "
                "'arpack'."
            )
        return "covariance_eigh", "sparse data, many components: the smaller product"
    if max(n_samples, n_features) <= SMALL_PROBLEM:
        return "full", f"max(n_samples, n_features) <= {SMALL_PROBLEM}"
    rank_bound = min(n_samples - int(center), n_features)
    if k > rank_bound:
        return "full", (
            f"n_components={k} exceeds the largest possible rank {rank_bound} of the "
            "data; the covariance eigenvectors of zero eigenvalues are arbitrary"
        )
    if few and m > LARGE_PRODUCT:
        return "randomized", f"few components and min(n, d) > {LARGE_PRODUCT}"
    return "covariance_eigh", "tall or wide data: the smaller product is cheapest"


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
    """Leading singular triplets of the column-centred ``X``.

    The result is scale-equivariant over the whole floating-point range: data whose
    squares would underflow or whose sums of squares would overflow in its dtype is
    decomposed again on a copy scaled by a power of two (exact), and the singular
    values and mean scaled back. LAPACK scales the data itself, so ``"full"`` never
    needs the copy.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features), float32 or float64
        Validated data; may contain NaN/inf, which raise a ``ValueError`` naming the
        entries. Sparse input is never densified (``"full"`` refuses it).
    n_components : int or None
        Number of triplets; None for all ``min(n_samples, n_features)``.
    solver : {"auto", "covariance_eigh", "full", "randomized", "arpack"}
    center : bool
        Subtract the column means first (PCA) or not (truncated SVD).
    copy : bool
        If False, the ``"full"`` solver centres ``X`` in place and LAPACK overwrites it
        (unless ``X`` is read-only: then it works on a copy).
    random_state : int, RandomState instance or None
        Seeds the start vector of the iterative eigensolver (results agree to working
        precision for any seed).
    owner : str
        Name used in error messages.
    select_rank : callable or None
        ``select_rank(result) -> int``: the rank a rule keeps out of the computed
        triplets, stored in ``result.rank``. Only the kept singular values are checked
        for conditioning, so a rule that reads the whole spectrum (say, a noise
        estimate) does not force a fallback for values it then drops.
    n_oversamples, n_iter, tol : int, int or "auto", float or None
        Block size beyond ``k``, most passes and residual tolerance of
        ``"randomized"`` (see :func:`sklearn_svd._iterative.randomized_svd`).
    sample_weight : ndarray of shape (n_samples,), float64, or None
        Validated frequency weights (nonnegative, finite, total ``W > 1``). The
        result is that of the rows repeated: the weighted mean ``mu_w``, and the
        singular triplets of ``D (X - 1 mu_w^T)``, ``D = diag(sqrt(w))`` (its ``U``
        is that of the weighted matrix), ``n_samples = W``, and
        ``min(ceil(W), d)`` values where the repeated rows would have them
        (``n_components`` may exceed ``min(n_samples, n_features)``: the
        components beyond the rank are zero singular values with orthonormal
        complement vectors). Weights far from 1 are scaled by a power of 4 first,
        exactly (the singular values scale by its square root, a power of 2).

    Returns
    -------
    SVDResult
    """
    options = dict(
        n_components=n_components,
        solver=solver,
        center=center,
        copy=copy,
        random_state=random_state,
        owner=owner,
        n_oversamples=n_oversamples,
        n_iter=n_iter,
        tol=tol,
    )
    if sample_weight is None:
        return rescaled_on_failure(_decompose, X, select_rank, **options)
    total, top = float(np.sum(sample_weight)), float(np.max(sample_weight))
    return weighted_on_failure(
        _decompose, X, select_rank, sample_weight, total, top, **options
    )


def weighted_on_failure(decompose_fn, X, select_rank, sample_weight, total, top, **options):
    """:func:`rescaled_on_failure` with sample weights (of sum ``total`` and largest
    ``top``, given by the caller: the dask path computes them on the workers): the
    weights normalised by a power of 4 first (:func:`_normalised_weights`), the
    result scaled back, and ``select_rank`` shown the result for the weights as
    given. The one weighted entry of the in-memory and the dask paths."""
    weights, root = _normalised_weights(sample_weight, top)

    def at_weights(result):  # the result for the weights as given
        return _weight_unscaled(result, root, total)

    result = rescaled_on_failure(
        decompose_fn,
        X,
        select_rank and (lambda result: select_rank(at_weights(result))),
        sample_weight=weights,
        rows=effective_rows(total),
        **options,
    )
    return at_weights(result)


def _normalised_weights(weights, top):
    """``weights * 4^-e`` with their largest, ``top``, brought to ``[1/2, 2)`` (the
    weights as they are when it is there already, ``e = 0``), and ``2^e``, the factor
    of the singular values. A power of 4: ``sqrt`` of the scaled weights is exactly
    that of the weights over ``2^e``, so ``sqrt(w) x`` keeps the magnitudes of ``x``,
    whose range the engine handles (:func:`rescaled_on_failure`), whatever the
    weights'."""
    if 0.5 <= top < 2:
        return weights, 1.0
    e = int(np.frexp(top)[1] // 2)
    return np.ldexp(weights, -2 * e), float(np.ldexp(1.0, e))


def _weight_unscaled(result, root, total):
    """The result for the weights as given from that for weights ``4^-e`` times them
    (``root = 2^e``): singular values and norms times ``root`` (exact), and the
    count ``total``, the weights' sum."""
    dtype = result.singular_values.dtype
    with np.errstate(over="ignore"):
        return replace(
            result,
            singular_values=(result.singular_values * root).astype(dtype),
            total_norm=result.total_norm * root,
            spectrum=None if result.spectrum is None else result.spectrum * root,
            n_samples=total,
        )


def rescaled_on_failure(decompose_fn, X, select_rank, **options):
    """``decompose_fn(X, select_rank=select_rank, **options)``, redone on a copy of
    ``X`` scaled by a power of two (exact) when the magnitudes of ``X`` spoilt it, and
    the result scaled back: the one scale-equivariance mechanism of the in-memory and
    the dask paths."""
    try:
        # Overflow and underflow are detected from the result (and the data rescaled),
        # NaN and inf in X from the sums (and located): no warnings on the way.
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            result = decompose_fn(X, select_rank=select_rank, **options)
        failure = None
    except (MagnitudeError, ArpackError, np.linalg.LinAlgError) as error:
        # an eigensolver fed an overflowed product fails too
        result, failure = None, error
    if result is not None and not _out_of_range(X, result):
        return result
    scale = _rescaling(X)
    if scale == 1:
        if failure is not None:
            raise failure
        return result

    def scaled_rank(result):
        return select_rank(_unscaled(result, scale))

    result = decompose_fn(
        _scaled(X, scale), select_rank=select_rank and scaled_rank, **options
    )
    return _unscaled(result, scale)


def _out_of_range(X, result):
    """Whether the magnitudes of ``X`` may have spoilt a Gram or iterative result:
    non-finite values, or a mean square so small that products of entries fall
    among the subnormal numbers, which carry fewer digits."""
    if not (np.isfinite(result.singular_values).all() and np.isfinite(result.total_norm)):
        return True
    if result.solver == "full":  # LAPACK scales the data itself
        return False
    # compared as norms: a square of the norm may overflow
    return result.total_norm < np.sqrt(_subnormal_floor(*X.shape, X.dtype))


def _subnormal_floor(n, d, dtype):
    """The sum of squares of ``n x d`` entries of ``dtype`` below which products of
    entries fall among the subnormal numbers (in Python floats: no float32 cast may
    overflow)."""
    info = np.finfo(dtype)
    return n * d * float(info.tiny) / float(info.eps)


def _rescaling(X, factor=1.0):
    """A power of two bringing ``max |X|`` (times ``factor``, the square root of the
    largest weight of weighted rows) to [0.5, 1) when it lies outside the range
    where squares stay normal and sums of squares finite; else 1."""
    amax = _max_abs(X) * factor
    if not np.isfinite(amax) or amax == 0:
        return 1.0
    info = np.finfo(X.dtype)
    low = np.sqrt(info.tiny / info.eps)
    high = np.sqrt(info.max / (16.0 * X.shape[0] * X.shape[1]))
    if low <= amax <= high:
        return 1.0
    # a subnormal max |X| would need more than the largest power of two of the dtype
    return float(np.ldexp(1.0, min(-int(np.frexp(amax)[1]), info.maxexp - 2)))


def _max_abs(X):
    """``max |X|`` (two reductions, no temporary)."""
    data = X.data if sp.issparse(X) else X
    if data.size == 0:
        return 0.0
    with np.errstate(invalid="ignore"):
        return float(max(np.max(data), -np.min(data)))


def _scaled(X, scale):
    """A copy of ``X`` times ``scale`` (a power of two: exact)."""
    if sp.issparse(X):
        X = X.copy()
        X.data *= X.dtype.type(scale)
        return X
    return np.multiply(X, X.dtype.type(scale), dtype=X.dtype)


def _unscaled(result, scale):
    """The result of ``decompose(X * scale)`` as that of ``decompose(X)``."""
    dtype = result.singular_values.dtype
    with np.errstate(over="ignore"):
        return replace(
            result,
            singular_values=(result.singular_values / scale).astype(dtype),
            mean=(result.mean / scale).astype(dtype),
            total_norm=result.total_norm / scale,
            spectrum=None if result.spectrum is None else result.spectrum / scale,
        )


def _decompose(
    X,
    n_components,
    *,
    solver,
    center,
    copy,
    random_state,
    owner,
    select_rank,
    n_oversamples,
    n_iter,
    tol,
    sample_weight=None,
    rows=None,
):
    """:func:`decompose` at the magnitudes of ``X``; with ``sample_weight``,
    ``rows`` is the number of rows the weights stand for (:func:`effective_rows`)."""
    n, d = X.shape
    sparse = sp.issparse(X)
    k = min(n, d) if n_components is None else n_components
    # with weights: as many values as the repeated rows have (zeros beyond the rank)
    wanted = k if sample_weight is None else min(rows, d) if n_components is None else k
    k = min(k, n, d)
    reason = ""
    chosen = solver
    if solver == "auto":
        chosen, reason = resolve_solver(n, d, n_components, center, sparse)
    w = sample_weight
    if chosen == "arpack" and w is not None and k >= min(n, d) and center and n <= d:
        # ARPACK needs k < min(n, d); the centred rows have rank n - 1 at most
        k = n - 1
    ranked = partial(_padded_ranked, wanted=wanted, length=None if w is None else rows)
    if sparse and chosen not in SPARSE_SOLVERS:
        raise TypeError(
            f"solver={chosen!r} needs dense input; for sparse X use one of "
            f"{', '.join(repr(s) for s in SPARSE_SOLVERS)}, or pass X.toarray() if it "
            "fits in memory."
        )
    iterative = partial(
        _iterative,
        X,
        k,
        center=center,
        random_state=random_state,
        owner=owner,
        sample_weight=w,
    )
    if chosen == "full":
        return ranked(_full(X, k, center, copy, owner, w), reason, select_rank)
    if chosen == "arpack":
        return ranked(iterative("arpack")[0], reason, select_rank)
    if chosen == "randomized":
        result, info = iterative(
            "randomized", n_oversamples=n_oversamples, n_iter=n_iter, tol=tol
        )
        if not info["converged"]:
            message = (
                f"randomized block Krylov did not reach tol in {info['passes']} passes "
                f"over X (largest relative Ritz residual {info['residual']:.2g})"
            )
            if solver == "auto":
                reason = f"randomized fell back to arpack: {message}"
                return ranked(iterative("arpack")[0], reason, select_rank)
            warnings.warn(
                f"{message}: the singular values may be off by up to that much. Raise "
                "n_iter or tol, or use solver='arpack' (or 'auto').",
                ConvergenceWarning,
                stacklevel=3,
            )
    else:
        result = _covariance_eigh(X, k, center, random_state, owner, w)
    result = ranked(result, reason, select_rank)

    # Both Gram formulations square the condition number (see the module notes).
    kept = result.singular_values[: result.rank]
    # (an overflowed result is redone on a rescaled copy by decompose: no verdict)
    if not (kept.size and kept[0] > 0 and np.isfinite(kept).all()):
        return result
    # the sparse scatter's products are float64 whatever the dtype of X
    precision = np.float64 if sparse and chosen == "covariance_eigh" else X.dtype
    floor = gram_floor(precision) * kept[0]
    if solver == "auto" and kept[-1] < half_digits(precision) * kept[0]:
        message = (
            f"singular value {kept.size} ({kept[-1]:.3g}) is below eps^(1/4) = "
            f"{half_digits(precision):.2g} times the largest: the {chosen} solver works "
            "on a Gram matrix, whose relative error eps (s_1 / s_i)^2 leaves fewer than "
            "half the working digits there"
        )
        if chosen == "covariance_eigh" and not sparse:
            reason = "covariance_eigh fell back to full: " + message
            return ranked(_full(X, k, center, copy, owner, w), reason, select_rank)
        if k < min(n, d):
            reason = f"{chosen} fell back to arpack: " + message
            return ranked(iterative("arpack")[0], reason, select_rank)
        if sparse and n * d <= max(4 * min(n, d) ** 2, 2**23):
            # every component of sparse data: ARPACK cannot, and a dense copy is
            # small (64 MB in float64) or at most 4x the product already formed
            reason = f"{chosen} fell back to full on a dense copy: " + message
            result = _full(X.toarray(), k, center, False, owner, w)
            return ranked(result, reason, select_rank)
        # no fallback: kept as it is, and a warning only where no digit is left
        result = replace(result, reason=f"{reason}; no fallback: {message}")
    if kept[-1] <= floor:
        message = (
            f"singular value {kept.size} ({kept[-1]:.3g}) is at or below sqrt("
            f"{_max_cancellation(precision):g} eps) = {floor / kept[0]:.2g} times the "
            f"largest: the {chosen} solver works on a Gram matrix, which squares the "
            "condition number and leaves it no correct digits"
        )
        advice = (
            "Ask for fewer components (ARPACK takes them), or pass X.toarray() "
            "with solver='full'"
            if solver == "auto"
            else "Use solver='full' or 'arpack' (or 'auto') for an accurate result, "
            "or fewer components"
        )
        warnings.warn(f"{message}. {advice}.", ConditioningWarning, stacklevel=4)
    return result


def _ranked(result, reason, select_rank):
    """The result with its reason and the rank ``select_rank`` keeps (all without)."""
    rank = result.singular_values.size if select_rank is None else select_rank(result)
    return replace(result, reason=reason, rank=rank)


def _padded_ranked(result, reason, select_rank, *, wanted, length):
    """:func:`_ranked` of :func:`padded`."""
    return _ranked(padded(result, wanted, length), reason, select_rank)


def padded(result, k, length=None):
    """The result with ``k`` triplets and a spectrum of ``length`` values: what a fit
    on weighted rows returns for the rows repeated.

    ``D X_c`` has ``min(n, d)`` singular values, the repeated rows ``min(W, d)``
    (``W`` the weights' total): the zeros beyond the rank are appended (with
    orthonormal complement vectors and zero columns of ``U``, the whole set then put
    in the one basis and sign convention by :func:`_finish`, as for the repeated
    rows), or dropped (zero weights: fewer rows repeated than given, all of them
    beyond the rank), with their triplets. ``length`` None: the spectrum as it is.
    """
    s = result.singular_values
    spectrum = result.spectrum
    if length is not None and spectrum is not None:
        m = min(length, result.components.shape[1])
        spectrum = np.concatenate([spectrum[:m], np.zeros(max(m - spectrum.size, 0))])
        spectrum = spectrum.astype(result.spectrum.dtype)
    if k <= s.size:  # (fewer rows repeated than given: the values beyond are zeros)
        U = None if result.U is None else result.U[:, :k]
        return replace(
            result,
            singular_values=s[:k],
            components=result.components[:k],
            U=U,
            spectrum=spectrum,
        )
    extra = k - s.size
    U = result.U
    if U is not None:
        U = np.hstack([U, np.zeros((U.shape[0], extra), dtype=U.dtype)])
    dtype = result.components.dtype
    Vt = result.components.astype(np.float64)
    return replace(
        _finish(
            np.concatenate([s.astype(np.float64), np.zeros(extra)]),
            np.vstack([Vt, _canonical_complement(Vt, extra)]),
            U,
            result.mean,
            result.n_samples,
            result.total_norm,
            spectrum,
            result.solver,
            dtype,
        ),
        reason=result.reason,
    )


#: Singular values closer than this many unit roundoffs (times ``s_1``, and times
#: ``s_1 / s_i`` for the solvers that square the data) are treated as tied.
TIE = 64


def _finish(s, Vt, U, mean, n, total_norm, spectrum, solver, dtype):
    """Apply the basis and sign conventions and the output dtype: the one exit of
    every solver."""
    s = np.asarray(s, dtype=np.float64)
    Vt = np.array(Vt, dtype=np.float64)
    eps = np.finfo(dtype).eps
    # Numerically zero singular values (below max(n, d) u s_1, or sqrt(u) s_1 for a
    # solver that squares the data, whose eigenvalues there are rounding): any
    # direction orthogonal to the others will do, so a fixed one rather than the one
    # the solver's rounding happened to give.
    if s.size and s[0] > 0:
        floor = (np.sqrt(eps) if solver != "full" else max(Vt.shape) * eps) * s[0]
        zero = s <= floor
        if zero.any():
            Vt[zero] = _canonical_complement(Vt[~zero], int(zero.sum()))
    for lo, hi in _tied_runs(s, eps, solver != "full"):
        Q = _canonical_rotation(Vt[lo:hi])
        Vt[lo:hi] = Q.T @ Vt[lo:hi]
        if U is not None:  # the solver's own array: rotated in place
            U[:, lo:hi] = U[:, lo:hi] @ Q.astype(U.dtype)
    signs = _signs(Vt, np.finfo(dtype).eps)
    Vt *= signs[:, None]
    if U is not None:
        U = U * signs.astype(U.dtype)
    return SVDResult(
        singular_values=np.asarray(s, dtype=dtype),
        components=np.ascontiguousarray(Vt, dtype=dtype),
        mean=np.asarray(mean, dtype=dtype),
        n_samples=n,
        total_norm=float(total_norm),
        spectrum=None if spectrum is None else np.asarray(spectrum, dtype=dtype),
        U=U,
        solver=solver,
    )


def _signs(Vt, eps):
    """PCA's sign convention (``svd_flip(u_based_decision=False)``): each row's
    largest-magnitude entry positive. Entries within ``sqrt(eps)`` of the largest
    count as tied and the first of them decides, so rounding does not flip a row whose
    largest entries are equal in exact arithmetic (``[0.7071, -0.7071]``)."""
    if Vt.size == 0:
        return np.ones(Vt.shape[0])
    mags = np.abs(Vt)
    near = mags >= (1 - np.sqrt(eps)) * mags.max(axis=1, keepdims=True)
    signs = np.sign(Vt[np.arange(Vt.shape[0]), np.argmax(near, axis=1)])
    signs[signs == 0] = 1
    return signs


def _tied_runs(s, eps, squared):
    """``(lo, hi)`` of each run of two or more singular values equal to within the
    solver's accuracy (``TIE u s_1``, or ``TIE u s_1^2 / s_i`` when the solver squares
    the data, at most ``sqrt(u) s_i``): their singular vectors are determined only as
    a subspace."""
    if s.size < 2 or not s[0] > 0:
        return []
    # a solver that squares the data resolves s_i to u s_1^2 / s_i, and values near 0
    # to sqrt(u) s_1 (the square root of an eigenvalue error of u s_1^2)
    floor = np.sqrt(eps) * s[0]
    tol = TIE * eps * s[0] * (s[0] / np.maximum(s[1:], floor) if squared else 1.0)
    # and never wider than sqrt(u) relative: the Gram solvers' tolerance grows as
    # s_i falls, and rotating distinct values together would spoil the whitened
    # scores and the factorisation by more than that
    tol = np.minimum(tol, np.sqrt(eps) * s[1:])
    tied = (s[:-1] - s[1:]) <= tol
    runs, lo = [], None
    for i, t in enumerate(tied):
        if t and lo is None:
            lo = i
        if not t and lo is not None:
            runs.append((lo, i + 1))
            lo = None
    if lo is not None:
        runs.append((lo, s.size))
    return runs


def _canonical_rotation(Vt):
    """Orthogonal ``Q`` such that the rows of ``Q^T Vt`` are a basis of the row space of
    ``Vt`` that depends on that space only, not on the basis a solver happened to
    return.

    The rows are the projections of the coordinate axes onto the space, taken greedily
    in index order (each the first axis whose remaining projection is at least half
    the longest), orthonormalised in turn: column-pivoted QR, but with near-ties
    broken by the index, which the symmetric data that produces tied singular values
    (balanced one-hot columns) makes common.
    """
    r = Vt.shape[0]
    rest = Vt.copy()  # coordinates, in the basis Vt, of what is left of each axis
    Q = np.zeros((r, r))
    for i in range(r):
        norms = np.linalg.norm(rest, axis=0)
        j = int(np.argmax(norms >= 0.5 * norms.max()))
        Q[:, i] = rest[:, j] / norms[j]
        rest -= np.outer(Q[:, i], Q[:, i] @ rest)
    return np.linalg.qr(Q)[0] * np.sign(np.diag(np.linalg.qr(Q)[1]))


def _canonical_complement(V, m):
    """``m`` orthonormal rows orthogonal to the orthonormal rows of ``V``: the
    coordinate axes projected off ``V`` and off each other, taken greedily in index
    order (the first whose remaining squared length is at least a quarter of the
    longest), as in :func:`_canonical_rotation`."""
    basis = V
    rows = []
    for _ in range(m):
        left = 1.0 - np.sum(basis**2, axis=0)  # squared length of each axis left
        j = int(np.argmax(left >= 0.25 * left.max()))
        w = -(basis.T @ basis[:, j])
        w[j] += 1.0
        w -= basis.T @ (basis @ w)  # twice is enough
        rows.append(w / np.linalg.norm(w))
        basis = np.vstack([basis, rows[-1]])
    return np.array(rows).reshape(m, V.shape[1])


def top_eigh(A, k, random_state=None):
    """Top ``k`` eigenpairs of a symmetric positive semidefinite ``A``, descending.

    Full ``eigh`` for a small matrix (``m <= 500``) or when most pairs are wanted; for
    ``k`` small against the size, Lanczos (ARPACK ``eigsh``, ``tol=0``: converged to
    working precision), a few hundred matrix-vector products instead of the ``O(m^3)``
    tridiagonal reduction, with LAPACK's subset ``evr`` as the fallback should it not
    converge.

    The full decomposition uses numpy's LAPACK, the same OpenBLAS that formed ``A``:
    calling SciPy's copy right after numpy's BLAS made both thread pools spin against
    each other on a 2-core machine (0.19 s instead of 0.06 s for ``d = 100``).

    Returns
    -------
    eigenvalues : ndarray of shape (k,), clipped at 0
    eigenvectors : ndarray of shape (m, k)
    spectrum : ndarray of shape (m,) or None
        All eigenvalues, descending, when they were computed.
    """
    m = A.shape[0]
    if k == 0:
        return np.zeros(0), np.zeros((m, 0)), None
    if m <= SMALL_PROBLEM or 2 * k >= m:
        # single-threaded while small: as fast, and it leaves no spinning BLAS threads
        with single_threaded_blas() if m <= SMALL_PROBLEM else nullcontext():
            w, V = np.linalg.eigh(A)
        w = np.clip(w[::-1], 0, None)
        return w[:k], V[:, ::-1][:, :k], w
    if 5 * k < m:
        v0 = check_random_state(random_state).uniform(-1, 1, m)
        try:
            # single-threaded: matrix-vector products and ARPACK's small dense steps
            # gain nothing from threads, and with them ran 2x slower (spinning pools)
            with single_threaded_blas():
                w, V = eigsh(
                    A, k=k, which="LA", v0=v0, tol=0, ncv=min(m, max(2 * k + 1, 20))
                )
            order = np.argsort(w)[::-1]
            return np.clip(w[order], 0, None), V[:, order], None
        except ArpackNoConvergence:
            pass
    w, V = scipy.linalg.eigh(
        A, subset_by_index=(m - k, m - 1), driver="evr", check_finite=False
    )
    return np.clip(w[::-1], 0, None), V[:, ::-1], None


def _iterative(
    X,
    k,
    solver,
    *,
    center,
    random_state,
    owner,
    n_oversamples=10,
    n_iter="auto",
    tol=None,
    sample_weight=None,
):
    """Randomized or ARPACK: the top ``k`` triplets only (no whole spectrum).

    With ``sample_weight``, of ``D X_c`` (weighted mean, ``D = diag(sqrt(w))``),
    through the operator's weighted products: no weighted copy of ``X``.

    Returns the result and the randomized solver's convergence record (None for
    ARPACK, which converges or raises).
    """
    n, d = X.shape
    if solver == "arpack" and not 0 < k < min(n, d):
        raise ValueError(
            "solver='arpack' needs 0 < n_components < min(n_samples, n_features); got "
            f"n_components={k} with n_samples={n}, n_features={d}. Use "
            "'covariance_eigh' or 'full' for every component."
        )
    w = sample_weight
    if sp.issparse(X):
        sums = sparse_column_sums(X, owner=owner, weight=w)
    else:
        sums = column_sums(X, owner=owner, weight=w)
    count = n if w is None else float(np.sum(w))
    mean = sums / count if center else np.zeros(d)
    op = CentredOperator(X, mean) if w is None else CentredOperator(X, mean, w)
    total = np.sqrt(max(op.sq_norm(), 0.0))
    info = {"converged": True}
    if total == 0:
        # Zero (or, centred, constant) data: every singular value is 0 and any
        # orthonormal rows are singular vectors. ARPACK fails on it ("error -9").
        U, s, Vt = None, np.zeros(k), np.eye(k, d)
    elif solver == "arpack":
        amax = _max_abs(X) * (1.0 if w is None else float(np.sqrt(np.max(w))))
        scale = float(np.ldexp(1.0, -np.frexp(amax)[1])) if amax > 0 else 1.0
        U, s, Vt = arpack_svd(op, k, random_state=random_state, scale=scale)
    else:
        U, s, Vt, info = randomized_svd(
            op,
            k,
            n_oversamples=n_oversamples,
            n_iter=n_iter,
            tol=tol,
            random_state=random_state,
        )
    return _finish(
        s, Vt, U, getattr(op, "mean", mean), count, total, None, solver, X.dtype
    ), info


def _from_scatter(stats, k, random_state, dtype):
    """The top ``k`` triplets (no ``U``) from the centred scatter of the rows: its
    eigenvalues are the squared singular values, its eigenvectors the right singular
    vectors."""
    total = np.sqrt(max(np.trace(stats.scatter), 0.0))
    w, V, spectrum = top_eigh(stats.scatter, k, random_state)
    spectrum = None if spectrum is None else np.sqrt(spectrum)
    return _finish(
        np.sqrt(w),
        V.T,
        None,
        stats.mean,
        stats.n_samples,
        total,
        spectrum,
        "covariance_eigh",
        dtype,
    )


def decompose_scatter(
    stats,
    n_components=None,
    *,
    scale=1.0,
    dtype=np.float64,
    random_state=None,
    select_rank=None,
    reason="statistics merged from batches",
    rows=None,
):
    """:func:`decompose` from the statistics of the rows (count, mean, centred
    scatter) rather than the rows themselves: the covariance solver's tall path, with
    its precision (``u (s_1 / s_i)^2`` relative on ``s_i``) and without its
    conditioning fallback (the rows are gone).

    Parameters
    ----------
    stats : ScatterStats
        Of the rows times ``scale`` (a power of two).
    n_components : int or None
        Number of triplets; None for all ``min(n_samples, n_features)``.
    scale : float
        The results are divided by it (exact).
    dtype : numpy dtype
        Of the results (that of the rows).
    random_state, select_rank
        As in :func:`decompose` (``select_rank`` sees the unscaled result).
    reason : str
        Stored as the result's ``reason``.
    rows : int or None
        The number of rows the statistics stand for (:func:`effective_rows` of a
        weight total; default ``n_samples``): the spectrum has ``min(rows, d)``
        values, as that of :func:`decompose` on the rows.

    Returns
    -------
    SVDResult
    """
    d = stats.mean.size
    rows = int(stats.n_samples) if rows is None else rows
    k = min(rows, d) if n_components is None else n_components
    result = _unscaled(_from_scatter(stats, k, random_state, dtype), scale)
    return _ranked(padded(result, k, rows), reason, select_rank)


def _covariance_eigh(X, k, center, random_state, owner, sample_weight=None):
    n, d = X.shape
    sparse = sp.issparse(X)
    weights = {} if sample_weight is None else {"sample_weight": sample_weight}
    if n >= d:
        if sparse:
            stats = sparse_scatter_stats(X, center=center, owner=owner, **weights)
        else:
            stats = scatter_stats(X, center=center, owner=owner, **weights)
        return _from_scatter(stats, k, random_state, X.dtype)

    if sparse:
        mean, gram, exact_centring = sparse_gram_stats(
            X, center=center, owner=owner, **weights
        )
    else:
        mean, gram, exact_centring = gram_stats(X, center=center, owner=owner, **weights)
    total = np.sqrt(max(np.trace(gram), 0.0))
    w, U, spectrum = top_eigh(gram, k, random_state)
    s = np.sqrt(w)
    spectrum = None if spectrum is None else np.sqrt(spectrum)
    # V^T = U^T X_c / s, formed block by block so X_c is never held whole (with
    # weights, U^T D X_c: D U takes the place of U)
    Vt = np.empty((U.shape[1], d))
    DU = U if sample_weight is None else U * np.sqrt(sample_weight)[:, None]
    Ut = DU.T.astype(X.dtype)
    if exact_centring and sparse:
        # only the columns the guard rejects are densified, block by block
        Vt[:] = sparse_centred_product(Ut, X, mean)
    elif exact_centring:
        # blocks centred in cache: the 10 or so rows of U^T rewrite nothing large,
        # unlike the Gram product's blocks
        for start, centred in centred_column_blocks(X, mean, cache_rows(X.T)):
            Vt[:, start : start + centred.shape[1]] = Ut @ centred
    else:
        Vt[:] = (X.T @ Ut.T).T if sparse else Ut @ X
        Vt -= np.outer(DU.sum(axis=0), mean)
    positive = s > 0
    Vt[positive] /= s[positive, None]
    if not positive.all():
        Vt[~positive] = orthonormal_complement(Vt[positive].T, (~positive).sum()).T
    count = n if sample_weight is None else float(np.sum(sample_weight))
    return _finish(s, Vt, U, mean, count, total, spectrum, "covariance_eigh", X.dtype)


def _centre(X, center, copy, owner, weight=None):
    """The centred data (in place when not ``copy``) and its float64 mean.

    A copy is laid out so that its Fortran view is tall (F order for tall data, C order
    for wide data, handed to LAPACK transposed): gesdd is up to twice as fast on a tall
    matrix as on its wide transpose.

    ``weight`` (or None): the weighted two-pass mean, and the centred rows each
    scaled by ``sqrt(w)`` (``D X_c``), in the same buffer.
    """
    n, d = X.shape
    out = np.empty(X.shape, X.dtype, order="F" if n >= d else "C") if copy else X
    count = n if weight is None else float(np.sum(weight))
    if not center:
        column_sums(X, owner=owner, blas=False, weight=weight)  # the finiteness check
        out[...] = X
        mean = np.zeros(d)
    else:
        # Two-pass mean: float64 column sums, then the mean of the centred data, which
        # removes the rounding of the first mean (it matters at a large offset).
        mean = column_sums(X, owner=owner, blas=False, weight=weight) / count
        Xc = np.subtract(X, mean.astype(X.dtype), out=out)
        if weight is None:
            r = np.add.reduce(Xc, axis=0, dtype=np.float64) / n
        else:
            r = np.einsum("i,ij->j", weight, Xc, dtype=np.float64) / count
        Xc -= r.astype(X.dtype)
        mean = mean + r
    if weight is not None:
        out *= np.sqrt(weight).astype(X.dtype)[:, None]
    return out, mean


def _full(X, k, center, copy, owner, weight=None):
    # copy=False allows overwriting X, it does not demand it: read-only memory (a
    # memmap, joblib's arrays for workers) is copied, as PCA does.
    copy = copy or not X.flags.writeable
    Xc, mean = _centre(X, center, copy, owner, weight)
    # LAPACK works in Fortran order: hand it X_c^T (a view when X_c is C-ordered) and
    # swap the factors, so overwrite_a=True really reuses the buffer.
    transposed = not Xc.flags.f_contiguous
    try:
        U, s, Vt = scipy.linalg.svd(
            Xc.T if transposed else Xc,
            full_matrices=False,
            overwrite_a=True,
            check_finite=False,
        )
    except np.linalg.LinAlgError:
        if not copy:
            raise np.linalg.LinAlgError(
                "LAPACK gesdd did not converge and copy=False let it overwrite X; "
                "fit again with copy=True to fall back to gesvd."
            ) from None
        Xc, mean = _centre(X, center, True, owner, weight)
        transposed = False
        U, s, Vt = scipy.linalg.svd(
            Xc, full_matrices=False, overwrite_a=True, lapack_driver="gesvd"
        )
    if transposed:
        U, Vt = Vt.T, U.T
    # the norm of s scaled by s_1: the sum of squares overflows above 1e154
    s1 = float(s[0]) if s.size else 0.0
    total = s1 * np.linalg.norm(s.astype(np.float64) / s1) if s1 > 0 else 0.0
    count = X.shape[0] if weight is None else float(np.sum(weight))
    return _finish(s[:k], Vt[:k], U[:, :k], mean, count, total, s, "full", X.dtype)
