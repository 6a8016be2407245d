"""SVDImputer: missing entries filled from a low-rank model fitted by iterative SVD.

The model is the PCA model, a column mean plus a low-rank matrix,
``X ~= 1 mean^T + U diag(t) V^T``, fitted to the observed entries only. Every
iteration fills the missing entries of the completed matrix ``Z`` from the current
model and refits the model to ``Z`` by one truncated SVD through the shared engine
(:func:`sklearn_svd._engine.decompose`): the majorisation (EM) scheme of hard-impute
and soft-impute (Mazumder, Hastie & Tibshirani 2010), with the singular values of each
iterate kept (hard), shrunk by the estimated noise (the default) or soft-thresholded.
"""

import warnings
from dataclasses import dataclass, replace
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import MissingIndicator
from sklearn.utils import check_random_state

from ._base import centred_dot
from ._compat import (
    IntegralNotBool,
    Interval,
    StrOptions,
    _fit_context,
    check_is_fitted,
    validate_data,
)
from ._engine import decompose
from ._rank import Shape
from ._scatter import single_threaded_blas
from ._validation import check_numeric_columns

#: Share of the observed entries held out to choose the rank (or lambda) by "auto".
HELD_OUT = 0.1
#: A candidate must lower the held-out error by this fraction (and by the path's
#: tolerance, below which errors are convergence noise) to count as better ...
MIN_GAIN = 1e-3
#: ... and the path stops after this many candidates in a row that do not.
PATIENCE = 2
#: Rank candidates grow by this factor (at least by one): 0, 1, 2, 3, 4, 6, 9, 14, 21, ...
RANK_GROWTH = 1.5
#: Soft-impute's lambda candidates decrease by this factor from the largest singular value.
LAMBDA_RATIO = 0.8
#: Smallest lambda tried, as a fraction of the first.
LAMBDA_FLOOR = 1e-4
#: Tolerance of the fits along the path (or ``tol``, if looser): they only need to
#: rank the candidates, whose held-out errors differ by far more.
PATH_TOL = 1e-3
#: Most iterations of each fit along the path (or ``max_iter``, if fewer).
PATH_MAX_ITER = 30
#: The smallest candidate whose held-out error is within ``MIN_GAIN`` of the best plus
#: this many path tolerances is chosen (a slowly converging fit stops up to a few
#: tolerances short of its fixed point).
SLACK = 5
#: The iteration also stops when the fill moves by less than this many unit roundoffs
#: of its own norm.
ROUNDING = 2
#: Weight of the proximal term of the iteration's row update (:func:`_fill_rows`),
#: ``PROXIMAL * PROXIMAL_DECAY**(i - 1)`` at iteration ``i``, at least
#: ``PROXIMAL_FLOOR``: the directions a row's observed coordinates carry much more than
#: that share of (of at most 1) are solved exactly, those they barely see move at
#: EM's pace, the more so in the first iterations, whose subspace is the least sure.
PROXIMAL = 0.1
PROXIMAL_DECAY = 0.7
PROXIMAL_FLOOR = 1e-3
#: Share of missing entries above which a fit whose shrinkage kept no component
#: warns (its noise estimate can hold the signal: mean imputation at 90% missing).
MANY_MISSING = 0.5
#: The noise shrinkage of the hard method grows linearly to its full coefficient over
#: this many iterations, and a fit with shrinkage takes at least as many.
SHRINKAGE_RAMP = 5
#: Bytes of the stacked least-squares systems solved at once.
_SOLVE_BYTES = 2**25


def _norm(x):
    """Frobenius norm without overflow or underflow (BLAS nrm2 scales as it sums)."""
    return float(scipy.linalg.norm(np.ravel(x), check_finite=False)) if x.size else 0.0


def _solve_stacked(gram, rhs):
    """``z`` with ``gram[i] z[i] = rhs[i]`` for every row ``i`` (one stacked solve)."""
    return np.linalg.solve(gram, rhs[..., None])[..., 0]


def _rows_per_solve(k, d):
    """Rows whose ``k x k`` systems and ``d`` values fit in ``_SOLVE_BYTES``."""
    return max(1, _SOLVE_BYTES // (8 * max(k * k + d, 1)))


@dataclass(frozen=True)
class _Model:
    """One iterate's low-rank model of the completed matrix ``Z``.

    ``L = mean + scores diag(shrunk / singular_values) components``, with ``scores``
    the projections ``(Z - mean) components^T``; the ``k`` components are the top
    right singular vectors of the centred ``Z``.
    """

    mean: np.ndarray
    components: np.ndarray
    singular_values: np.ndarray  # float64
    shrunk: np.ndarray  # float64, 0 <= shrunk <= singular_values
    total_norm: float  # ||Z - 1 mean^T||_F
    noise_level: float  # estimated sigma (hard with shrinkage), else NaN
    threshold: float  # singular value at or below which shrunk is 0

    def unscaled(self, exponent):
        """The model of the data times ``2**exponent`` (exact, but for values the
        dtype cannot hold: singular values of data near its largest value)."""
        with np.errstate(over="ignore"):
            return replace(
                self,
                mean=np.ldexp(self.mean, exponent),
                singular_values=np.ldexp(self.singular_values, exponent),
                shrunk=np.ldexp(self.shrunk, exponent),
                total_norm=float(np.ldexp(self.total_norm, exponent)),
                noise_level=float(np.ldexp(self.noise_level, exponent)),
                threshold=float(np.ldexp(self.threshold, exponent)),
            )

    def kept(self, dtype):
        """The components with a nonzero shrunk value that is not rounding: of
        ``s <= max(n, d) eps s_1`` only the direction is arbitrary (as in the
        denoiser), so such components are dropped."""
        s = self.singular_values
        rounding = max(self.components.shape[1], 1) * np.finfo(dtype).eps
        keep = (self.shrunk > 0) & (s > rounding * (s[0] if s.size else 0.0))
        return keep


class _Problem:
    """The rows and columns an imputer fits (those with an observed entry), their
    missing mask and the counts the noise estimate needs.

    ``X`` (a copy, owned) is scaled in place to ``X 2**-exponent`` (exact, subnormal
    values included) when its largest observed magnitude is outside
    ``2**(minexp / 2)`` to ``2**(maxexp / 2)`` of its dtype, so that the sums,
    differences and squares of the iteration neither overflow nor underflow; the
    model is scaled back after.
    """

    def __init__(self, X, missing, seed):
        info = np.finfo(X.dtype)
        top = float(np.max(np.abs(np.where(missing, 0, X)), initial=0.0))
        self.exponent = 0
        if top > 0 and not 2.0 ** (info.minexp // 2) <= top <= 2.0 ** (info.maxexp // 2):
            self.exponent = int(np.frexp(top)[1])
            np.ldexp(X, -self.exponent, out=X)
        self.X = X
        self.missing = missing
        self.seed = seed
        self.n, self.d = X.shape
        self.shape = Shape(self.n, self.d, True)
        # centred data has at most min(n - 1, d) nonzero singular values
        self.max_rank = max(0, min(self.n - 1, self.d))

    def initial(self, missing):
        """``X`` with the missing entries set to the observed column means (two-pass:
        the second pass removes the rounding of the first, which matters at a large
        offset). Every column has an observed entry."""
        observed = ~missing
        counts = observed.sum(axis=0)
        Z = np.where(observed, self.X, 0).astype(self.X.dtype, order="C")
        mean = np.add.reduce(Z, axis=0, dtype=np.float64) / counts
        deviation = np.where(observed, self.X - mean.astype(self.X.dtype), 0)
        mean += np.add.reduce(deviation, axis=0, dtype=np.float64) / counts
        np.copyto(Z, mean.astype(Z.dtype), where=missing)
        return Z

    def observed_counts(self):
        """Observed entries of each row."""
        return self.d - self.missing.sum(axis=1)

    def degrees_of_freedom(self, counts, rank):
        """Residual degrees of freedom of a rank-``rank`` model fitted by least squares
        to rows with ``counts`` observed entries: each row's scores take
        ``min(count, rank)`` of them, the mean ``d`` and the subspace
        ``rank (d - rank)``. (Complete data: ``(n - rank) (d - rank) - d``, the
        count of Josse & Husson's regularised PCA to ``rank`` entries.)"""
        rows = int(np.sum(np.clip(counts - rank, 0, None)))
        return rows - self.d - rank * (self.d - rank)

    def hard_rank_bound(self, counts, shrinkage):
        """Largest rank the hard method may take: ``min(n - 1, d)``, and with
        shrinkage one whose residual keeps degrees of freedom for the noise estimate."""
        k = self.max_rank
        if shrinkage > 0:
            while k > 0 and self.degrees_of_freedom(counts, k) <= 0:
                k -= 1
        return k


def _decompose(Z, k, problem, select_rank=None):
    return decompose(
        Z, k, random_state=problem.seed, owner="SVDImputer", select_rank=select_rank
    )


def _hard_step(Z, missing, rank, shrinkage, problem, counts):
    """Rank-``rank`` model of ``Z``; with ``shrinkage > 0`` each singular value
    becomes ``s (1 - shrinkage (e / s)^2)_+`` (see :class:`SVDImputer`, Notes).
    ``counts``: the observed entries of each row."""
    result = _decompose(Z, rank, problem)
    s = result.singular_values.astype(np.float64)
    V = result.components
    sigma, threshold, shrunk = np.nan, 0.0, s
    dof = problem.degrees_of_freedom(counts, rank)
    if shrinkage > 0 and rank > 0 and dof > 0:
        # the residual of the observed entries under this mean and subspace, each row
        # by least squares on its own observed entries (EM-PCA's objective): the
        # residual of the SVD of Z would count the errors of the current fills too,
        # and an early iterate's would then drop components the data supports
        with single_threaded_blas():  # see _iterate
            rss = _residual_norm(Z, missing, result.mean, V)
        sigma = rss / np.sqrt(dof)
        share = counts.sum() / (problem.n * problem.d)
        # the effective noise of the completed matrix: a component must stand out of
        # the observed entries' noise, whose bulk the filling inflates by 1 / sqrt(p)
        shape = problem.shape
        edge = sigma / np.sqrt(share) * (np.sqrt(shape.N) + np.sqrt(shape.M))
        threshold = float(np.sqrt(shrinkage) * edge)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(s > 0, threshold / s, np.inf)
        shrunk = s * np.clip(1 - ratio**2, 0, None)
    return _Model(result.mean, V, s, shrunk, result.total_norm, sigma, threshold)


def _residual_norm(Z, missing, mean, V):
    """``||P_obs(Z - 1 mean^T - scores V)||_F``, each row's scores its least squares
    on its observed entries (the projection, for a complete row)."""
    partial = missing.any(axis=1)
    complete = Z[~partial]
    residual = complete - mean
    residual -= centred_dot(complete, mean, V.T) @ V
    norm = _norm(residual)
    rows = np.flatnonzero(partial)
    V = np.asarray(V, dtype=np.float64)
    mean = np.asarray(mean, dtype=np.float64)
    k, d = V.shape
    step = _rows_per_solve(k, d)
    for start in range(0, rows.size, step):
        block = rows[start : start + step]
        values, gaps = Z[block].astype(np.float64), missing[block]
        z = _scores(values, gaps, mean, V, np.zeros(k), exact=False)
        residual = np.where(gaps, 0.0, values - mean - z @ V)
        norm = float(np.hypot(norm, _norm(residual)))
    return norm


def _soft_step(Z, lam, cap, problem, previous_rank):
    """Soft-thresholded model ``s -> (s - lam)_+``, at most ``cap`` components;
    computes a few more singular values than the last iterate kept, more if they are
    all above ``lam``."""
    limit = problem.max_rank if cap is None else min(cap, problem.max_rank)
    k = min(limit, max(previous_rank + 5, 2 * previous_rank))

    def above(result):
        # only the kept values are checked for conditioning by the engine: the ones
        # below lambda may be as small as they like without a slower fallback
        return int(np.count_nonzero(result.singular_values > lam))

    while True:
        result = _decompose(Z, k, problem, select_rank=above)
        if k >= limit or result.rank < k:
            break
        k = min(limit, 2 * k)
    keep = result.rank  # s descending: the kept ones lead
    s = result.singular_values[:keep].astype(np.float64)
    return _Model(
        result.mean,
        result.components[:keep],
        s,
        s - lam,
        result.total_norm,
        np.nan,
        float(lam),
    )


def _hard_stepper(missing, rank, coef, problem, counts):
    """The hard method's step for :func:`_iterate`: :func:`_hard_step` with the
    shrinkage ramped up over the first ``SHRINKAGE_RAMP`` iterations, which it then
    takes at least (``min_iter``)."""

    def step(Z, n_iter):
        ramp = min(1.0, n_iter / SHRINKAGE_RAMP)
        return _hard_step(Z, missing, rank, coef * ramp, problem, counts)

    step.min_iter = SHRINKAGE_RAMP if coef > 0 else 1
    return step


def _soft_stepper(lam, cap, problem):
    """Soft-impute's step for :func:`_iterate`: :func:`_soft_step`, each iterate
    starting from the rank the last one kept."""
    state = {"rank": 0}

    def step(Z, n_iter):
        model = _soft_step(Z, lam, cap, problem, state["rank"])
        state["rank"] = model.components.shape[0]
        return model

    return step


def _iterate(Z, missing, step, tol, max_iter):
    """Fill ``Z[missing]`` from the model of ``Z`` until the fill moves by at most
    ``tol ||Z - mean||_F`` (or less than its own rounding). Returns the last model,
    the number of iterations, the last relative change and whether it converged;
    ``Z`` is updated in place.

    Each row's missing entries are set by least squares on its observed entries,
    given the model's mean and components (:func:`_fill_rows`): the row's part of
    the majorisation step solved with a proximal term of weight ``PROXIMAL *
    PROXIMAL_DECAY**(i - 1)`` (at least ``PROXIMAL_FLOOR``) about the model's
    reconstruction of the row. It has the same fixed points as filling from that
    reconstruction but does not crawl where a row's observed coordinates barely
    determine its scores (the reconstruction step moves them by
    ``lambda_min(V_o V_o^T)`` of the way per iteration).
    """
    where = np.flatnonzero(missing)
    rows = np.flatnonzero(missing.any(axis=1))
    gaps = missing[rows]
    min_iter = getattr(step, "min_iter", 1)  # (a shrinkage ramp's iterations)
    change = np.inf
    model, n_iter = None, 0
    while n_iter < max_iter:
        n_iter += 1
        model = step(Z, n_iter)
        # single-threaded: these small products and factorisations gain little from
        # threads, and numpy's pool left spinning made the engine's next LAPACK call
        # (SciPy's own OpenBLAS) up to 100x slower on a 2-core machine
        with single_threaded_blas():
            weight = max(PROXIMAL * PROXIMAL_DECAY ** (n_iter - 1), PROXIMAL_FLOOR)
            new = _fill_rows(Z[rows], gaps, model, Z.dtype, proximal=weight)[gaps]
        delta = _norm(new - Z.ravel().take(where))
        change = delta / model.total_norm if model.total_norm > 0 else 0.0
        # the fills carry rounding of their own magnitude (float32 at an offset of 1e6:
        # 0.06 each), which no iteration removes: a change below it is convergence
        floor = ROUNDING * np.finfo(Z.dtype).eps * _norm(new)
        np.put(Z, where, new)
        converged = not (delta > tol * model.total_norm and delta > floor)
        if converged and n_iter >= min_iter:
            break
    # (stopped by max_iter inside a shrinkage ramp: not the model asked for)
    return model, n_iter, change, converged and n_iter >= min_iter


def _fill_rows(values, gaps, model, dtype, proximal=0.0):
    """``values`` with each row's gaps filled by ``mean + z V``, ``z`` minimising
    ``||x_o - mean_o - V_o^T z||^2 + z^T diag(s / t - 1) z`` over the row's observed
    coordinates ``o`` (see :class:`SVDImputer`, Notes), in float64.

    ``proximal`` (a weight ``w > 0``): the iteration's step, which adds
    ``w ||z - z_0||^2`` to that objective, ``z_0`` EM's step (the model's
    reconstruction of the row as currently filled: its projection times ``t / s``).
    It lowers the row's part of the objective at least as much as EM's step (its
    value at ``z_0`` bounds it), so the iteration still descends, to the same fixed
    points (there ``z = z_0``). The directions the row's observed coordinates
    determine (an eigenvalue of ``V_o V_o^T`` well above ``w``) are solved at once;
    those they barely see move at EM's pace instead of jumping to a least-squares
    solution that fits a few observed entries by huge scores (one observed entry on
    a column of near-zero loading: fills of 1e19 after 3 iterations of the exact
    step)."""
    keep = model.kept(dtype)
    V = np.asarray(model.components[keep], dtype=np.float64)
    s, t = model.singular_values[keep], model.shrunk[keep]
    mean = np.asarray(model.mean, dtype=np.float64)
    out = np.array(values, dtype=np.float64)
    k, d = V.shape
    step = _rows_per_solve(k, d)
    for start in range(0, values.shape[0], step):
        block = slice(start, start + step)
        # EM's step: the model's reconstruction of the row as filled, mean + z V
        # with z its projection shrunk by t / s
        anchor = (out[block] - mean) @ V.T * (t / s) if proximal else None
        z = _scores(out[block], gaps[block], mean, V, s / t - 1, anchor, proximal)
        np.copyto(out[block], z @ V + mean, where=gaps[block])
    return out.astype(dtype, copy=False)


def _scores(values, gaps, mean, V, ridge, anchor=None, weight=0.0, exact=True):
    """Each row's ``z`` of :func:`_fill_rows`.

    The normal equations ``(V_o V_o^T + diag(ridge)) z = V_o (x_o - mean_o)`` of all
    rows come from one product (``V_o V_o^T`` is a sum of the outer products of the
    observed columns of ``V``) and one stacked solve; their rounding error is
    ``eps`` times the condition number of that ``k x k`` matrix. Rows where it
    exceeds ``1 / sqrt(eps)`` (few observed coordinates, or components that live on
    the missing ones) are solved by the pseudo-inverse of the stacked system
    ``[V_o^T; diag(sqrt(ridge))]`` instead: error ``eps`` times its condition
    number, the minimum-norm ``z`` where ``V_o`` leaves it undetermined.
    ``exact=False``: every row by the normal equations with a ``sqrt(eps)`` Tikhonov
    term, for the residual only. ``anchor`` (each row's ``z_0``) and ``weight``: the
    proximal step of :func:`_fill_rows`, whose systems are definite (eigenvalues at
    least ``weight``) and solved as they are.
    """
    b = values.shape[0]
    k, d = V.shape
    if k == 0 or b == 0:
        return np.zeros((b, k))
    observed = ~gaps
    rhs = np.where(observed, values - mean, 0.0) @ V.T
    # V_o V_o^T = sum of the outer products of the observed columns of V, or
    # V V^T less those of the missing ones: a sparse product over the fewer
    n_missing = np.count_nonzero(gaps)
    fewer_missing = n_missing < gaps.size - n_missing
    side = gaps if fewer_missing else observed
    # (a sparse product pays for its conversion only when the side is sparse enough)
    sparse_side = min(n_missing, gaps.size - n_missing) < 0.2 * gaps.size
    if fewer_missing:
        gram = np.tile((V @ V.T).ravel(), (b, 1))
    else:
        gram = np.zeros((b, k * k))
    chunk = max(1, _SOLVE_BYTES // (8 * k * k))
    for j in range(0, d, chunk):
        Vj = V[:, j : j + chunk]
        outer = (Vj.T[:, :, None] * Vj.T[:, None, :]).reshape(-1, k * k)
        part = side[:, j : j + chunk]
        if sparse_side:
            product = sp.csr_matrix(part, dtype=np.float64) @ outer
        else:
            product = part.astype(np.float64) @ outer
        gram += -product if fewer_missing else product
    gram = gram.reshape(b, k, k)
    gram[:, np.arange(k), np.arange(k)] += ridge
    if anchor is not None:
        few = np.flatnonzero(observed.sum(axis=1) < k)
        if few.size and not ridge.any():
            # rows with fewer observed coordinates than components see only the
            # range of V_o; outside it their objective is flat (no ridge), and the
            # minimum-norm convention (transform's) puts z at 0 there: so does the
            # anchor (with a ridge the solution is unique and needs no convention)
            U, S, _ = np.linalg.svd(
                V[None] * observed[few][:, None, :], full_matrices=False
            )
            U = U * (S > np.sqrt(np.finfo(np.float64).eps) * S[:, :1])[:, None, :]
            anchor = anchor.copy()
            anchor[few] = np.einsum(
                "bkr,br->bk", U, np.einsum("bkr,bk->br", U, anchor[few])
            )
        gram[:, np.arange(k), np.arange(k)] += weight
        rhs += weight * anchor
        return _solve_stacked(gram, rhs)
    if not exact:
        # a residual, not scores, is wanted: the residual of least squares is
        # well-conditioned even where the scores are not, and a Tikhonov term of
        # sqrt(eps) (the eigenvalues of V_o V_o^T are at most 1) changes it by about
        # that much relative, making every system definite
        gram[:, np.arange(k), np.arange(k)] += np.sqrt(np.finfo(np.float64).eps)
        return _solve_stacked(gram, rhs)
    # rows with fewer observed coordinates than components are singular without a
    # ridge; the others are singular or ill-conditioned only by accident, and a
    # Cholesky factorisation finds the suspects cheaply: its pivots lie between the
    # extreme eigenvalues, so a pivot ratio below 1e-4 flags a large condition
    # number, and only those rows pay for their eigenvalues
    bad = np.zeros(b, dtype=bool)
    floor = np.sqrt(np.finfo(np.float64).eps)
    if np.all(ridge > 0) and ridge.min() > floor * (1 + ridge.max()):
        # the ridge alone bounds every condition number by (1 + max) / min
        return _solve_stacked(gram, rhs)
    if not np.all(ridge > 0):
        bad = observed.sum(axis=1) < k
    rest = np.flatnonzero(~bad)
    try:
        pivots = np.diagonal(np.linalg.cholesky(gram[rest]), axis1=1, axis2=2) ** 2
        suspect = rest[pivots.min(axis=1) <= 1e-4 * pivots.max(axis=1)]
    except np.linalg.LinAlgError:  # one of them is not numerically definite
        suspect = rest
    if suspect.size:
        w = np.linalg.eigvalsh(gram[suspect])
        bad[suspect] = ~(w[:, 0] > floor * w[:, -1])
    good = ~bad
    z = np.zeros((b, k))
    if good.any():
        z[good] = _solve_stacked(gram[good], rhs[good])
    bad = np.flatnonzero(bad)
    if bad.size:
        A = observed[bad][:, :, None] * V.T[None]
        centred = np.where(observed[bad], values[bad] - mean, 0.0)
        if np.any(ridge > 0):
            prior = np.broadcast_to(np.diag(np.sqrt(ridge)), (bad.size, k, k))
            A = np.concatenate([A, prior], axis=1)
            centred = np.concatenate([centred, np.zeros((bad.size, k))], axis=1)
        z[bad] = np.einsum("bkm,bm->bk", np.linalg.pinv(A), centred)
    return z


def _held_out(missing, rng):
    """Flat indices of about ``HELD_OUT`` of the observed entries, leaving every
    column at least one observed entry."""
    observed = np.flatnonzero(~missing)
    size = round(HELD_OUT * observed.size)
    if size == 0:
        return observed[:0]
    held = np.sort(rng.choice(observed, size=size, replace=False))
    d = missing.shape[1]
    remaining = (~missing).sum(axis=0) - np.bincount(held % d, minlength=d)
    emptied = np.flatnonzero(remaining == 0)
    if emptied.size:
        # give each emptied column back its first held-out entry
        columns, first = np.unique(held % d, return_index=True)
        back = first[np.isin(columns, emptied)]
        held = np.delete(held, back)
    return held


class SVDImputer(TransformerMixin, BaseEstimator):
    """Impute missing values from a low-rank PCA model fitted by iterative SVD.

    Fits the PCA model, column means plus a rank-``k`` matrix,
    ``X ~= 1 mean^T + U diag(t) V^T``, to the observed entries of ``X`` by iterative
    SVD imputation: the missing entries of the completed matrix ``Z`` start at the
    observed column means; each iteration takes the top singular triplets of the
    centred ``Z`` through the package's engine, shrinks the singular values ``s`` to
    ``t``, and refills the missing entries from that model, until they move by at
    most ``tol`` relative to ``||Z - mean||_F``. ``fit_transform`` returns ``Z``: the
    observed entries unchanged bit for bit, the missing ones from the fitted model.
    ``transform`` fills the missing entries of new rows from the fitted mean and
    components, by least squares on each row's observed entries alone.

    Parameters
    ----------
    n_components : int or "auto", default="auto"
        Rank of the model (an upper bound: components shrunk to zero are dropped,
        and ``n_components_`` says how many are left). At most
        ``min(n_samples - 1, n_features)``, and with noise shrinkage small enough to
        leave the residual degrees of freedom (a larger value is lowered to that
        bound). ``"auto"``: ``method="hard"`` chooses the rank, ``method="soft"``
        leaves it to the threshold (no bound).
    method : {"hard", "soft"}, default="hard"
        ``"hard"``: hard-impute (iterative PCA, EM-PCA), the top ``n_components``
        singular values of each iterate kept, shrunk by the estimated noise unless
        ``shrinkage=0``. ``"soft"``: soft-impute (Mazumder, Hastie & Tibshirani 2010),
        every singular value lowered by ``lambda = shrinkage``, those below it
        dropped: the minimiser of ``||P_obs(X - 1 mean^T - M)||_F^2 / 2 + lambda
        ||M||_*``, a convex problem with one solution.
    shrinkage : float >= 0 or "auto", default="auto"
        ``method="hard"``: a multiple ``c`` of the squared noise edge: each kept
        singular value ``s`` becomes ``s (1 - c e^2 / s^2)_+``, where ``e`` is the
        largest singular value the noise of the observed entries reaches in the
        completed matrix (Notes). ``0``: plain hard-impute, whose fixed points are
        those of PCA fitted to the observed entries (EM-PCA); ``"auto"`` means 1.
        ``method="soft"``: the threshold ``lambda``, in the units of the singular
        values of the centred data; ``"auto"`` chooses it on held-out entries.
    missing_values : int, float or np.nan, default=np.nan
        The placeholder for the missing values; all its occurrences are imputed.
        Infinity is refused (as in the data): mark missing entries with NaN.
    add_indicator : bool, default=False
        If True, a :class:`sklearn.impute.MissingIndicator` of the features with
        missing values in fit is appended to the output, as in scikit-learn's
        imputers.
    keep_empty_features : bool, default=False
        Features with no observed value in fit carry no information. If False they
        are dropped from the output (as scikit-learn's imputers do); if True they are
        kept, their missing entries imputed with 0 (values observed in them at
        ``transform`` are returned as they are). Either way the model leaves them out.
    max_iter : int, default=500
        Most iterations of the final fit. A ``ConvergenceWarning`` says when it stops
        at ``max_iter`` without reaching ``tol`` (plain hard-impute at a rank the
        observed entries do not determine wanders among its many fixed points).
    tol : float, default=1e-5
        The iteration stops when the missing entries move by at most
        ``tol ||Z - mean||_F`` in one iteration (Mazumder et al.'s criterion, about
        the mean so that an offset does not loosen it), or by less than their own
        rounding (``2 eps ||fills||``: float32 data far from 0).
    copy : bool, default=True
        If False, ``transform`` and ``fit_transform`` fill a float ``X`` in place when
        they can (a writeable array of the same dtype, no feature dropped); with
        ``add_indicator`` they still do, and return a new array with the indicator.
    random_state : int, RandomState instance or None, default=None
        Draws the held-out entries of ``"auto"`` and seeds the engine's iterative
        eigensolvers. Pass an int for reproducible output.

    Attributes
    ----------
    n_components_ : int
        Rank of the fitted model: the components with a nonzero shrunk singular value.
    components_ : ndarray of shape (n_components_, n_features_kept)
        Principal axes of the completed training data (over the features with an
        observed value in fit), by decreasing singular value.
    singular_values_ : ndarray of shape (n_components_,)
        Singular values of the centred completed training data.
    shrunk_singular_values_ : ndarray of shape (n_components_,)
        The values the model uses in their place (equal for ``shrinkage=0``).
    explained_variance_ : ndarray of shape (n_components_,)
        ``singular_values_**2 / (n_samples_fit - 1)``: variances of the completed data
        along the components.
    explained_variance_ratio_ : ndarray of shape (n_components_,)
        Their shares of the total variance of the completed data.
    mean_ : ndarray of shape (n_features_kept,)
        Column means of the completed training data.
    noise_level_ : float
        Estimated noise standard deviation of the observed entries (hard method with
        shrinkage), else NaN.
    threshold_ : float
        Singular value at or below which a component is dropped: ``sqrt(c) e`` for the
        hard method (0 with ``shrinkage=0``), ``lambda`` for soft-impute.
    shrinkage_ : float
        The shrinkage used: ``c`` (hard) or ``lambda`` (soft), chosen when ``"auto"``.
    n_iter_ : int
        Iterations of the final fit.
    validation_path_ : ndarray of shape (n_candidates, 2) or None
        With ``"auto"``: each candidate tried (a rank for the hard method, ``lambda``
        for soft-impute) and its relative error on the held-out entries,
        ``||fill - X||_F / ||X - mean||_F`` over them. None otherwise.
    indicator_ : MissingIndicator or None
        The indicator appended to the output (``add_indicator=True``).
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features seen in fit, when ``X`` has string column names.

    See Also
    --------
    SVDReducer : PCA on the completed data (``make_pipeline(SVDImputer(),
        SVDReducer())``).
    SVDDenoiser : The same noise edge and shrinkage on complete data.

    Notes
    -----
    **Iteration.** At each iteration the engine gives the mean ``mu`` and the top
    right singular vectors ``V`` (singular values ``s``) of the centred ``Z``; the
    model is ``mu + z diag(t / s) V`` for a row's scores ``z``. Each row's missing
    entries are then set to ``mu + V^T z``, with ``z`` minimising
    ``||x_o - mu_o - V_o^T z||^2 + z^T diag(s / t - 1) z`` over the row's observed
    coordinates ``o``, plus ``w ||z - z_0||^2`` with ``z_0`` the reconstruction's
    scores: the row's part of the majorisation step of hard- and soft-impute
    (Mazumder et al. 2010), which refills from the model's reconstruction of the row
    (``z = z_0``), solved almost exactly. It has the same fixed points and still
    lowers the objective at every iteration, but does not crawl where the observed
    coordinates barely determine the scores (a 200 x 8 rank-2 matrix with 20%
    missing, to ``tol=1e-10``: 29 iterations instead of 3225). The proximal weight
    ``w`` (0.1, decreasing by 0.7 per iteration to 0.001) keeps the directions a
    row barely sees from jumping to huge scores fitted to a few observed entries
    while the subspace is still wrong (without it, plain hard-impute at rank 1 on
    data 97% missing filled 1e19 and stopped there). Without shrinkage
    (``t = s``) this is EM-PCA (Roweis 1998): the observed entries' residual
    ``||P_obs(X - L)||_F`` decreases at every iteration and the fixed points are the
    stationary points of PCA fitted to the observed entries. Soft-impute converges
    to the unique minimiser of its convex objective (the column means unpenalised:
    the minimiser over ``mu`` is the mean of ``Z``), which the tests check against
    Mazumder et al.'s iteration and the problem's optimality conditions.

    **Noise shrinkage** (hard, ``c > 0``) follows the regularised iterative PCA of
    Josse & Husson (2012), ``s -> s - n sigma^2 / s``, changed in two ways for
    missing data. ``sigma^2`` is the residual of the observed entries, each row
    fitted by least squares on its own observed entries, over its degrees of freedom
    ``sum_i max(|o_i| - k, 0) - d - k (d - k)`` (the residual of the SVD of ``Z``
    would count the errors of the current fills too, and on data with few columns
    dropped components the data supports). And the edge accounts for the filling: a
    component fitted to the noise of the observed entries is sustained in the
    completed matrix by its own fills, at about ``1 / sqrt(p)`` times the edge of
    that noise (``p`` the observed share), so ``e = sigma / sqrt(p) (sqrt(N) +
    sqrt(M))`` (``N``, ``M``: the larger and smaller of ``n - 1`` and ``d``), and
    ``t = s (1 - c e^2 / s^2)_+`` is zero at and below it. A rank larger than the
    signal's then costs almost nothing, where plain hard-impute fits noise into the
    missing entries (2000 x 200, rank 10, noise 0.1, 50% missing: relative error
    0.034 at rank 10, 15 and 40 with shrinkage; without, 0.047 at rank 15 and 0.071
    at rank 40 after 300 iterations, still drifting). The coefficient grows from
    ``c / 5`` to ``c`` over the first five iterations of each fit (which takes at
    least five): the first iterate's subspace, from mean-filled data, leaves much
    of the signal in the residual, and a noise estimate from it removed every
    component of a rank-3 1000 x 50 matrix with 85% missing, a fixed point (mean
    imputation) the iteration never left. At 90% missing on a rank-10 2000 x 200
    matrix the ramp is not enough and the default returns mean imputation; plain
    hard-impute told the rank (``shrinkage=0``) recovers it (error 0.09). With more
    than half of the entries missing, a fit that keeps no component warns.

    **Choosing the rank** (``n_components="auto"``, hard): 10% of the observed
    entries are held out, and the model is fitted at ranks 0, 1, 2, 3, 4, 6, 9, 14,
    21, ... (each fit warm-started from the last, to a tolerance of ``1e-3``, at
    most 30 iterations), until two ranks in a row fail to lower the held-out error
    by 0.1% and the path tolerance; the smallest rank whose error is within 0.1% and
    five path tolerances of the best is refitted on all entries, warm-started. The
    shrinkage makes the held-out error flat above the signal's rank, so the coarse
    ladder loses little. ``shrinkage="auto"`` (soft) does the same along
    ``lambda = 0.8^j s_1``. The package's spectrum rules (the denoiser's) are not
    used for the rank: the noise of a filled matrix is not white, and they chose
    58-67 components for the rank-10 matrix above.

    **Transform** solves each new row's least-squares problem above with the fitted
    model (minimum-norm ``z`` where ``V_o`` leaves it undetermined); the ridge
    ``s / t - 1`` is zero without shrinkage. It is the iteration's own row update, so
    a training row's ``transform`` equals its ``fit_transform`` at convergence.

    **Structure.** Rows with no observed value are left out of the fit and filled
    with ``mean_``; columns whose observed values are all equal (one observed
    value, a constant feature) are a fixed point of the model (zero loadings) and
    filled with that value. Sparse input is refused: its implicit zeros would be
    taken for observed values. The model is not scale-invariant (as PCA): put columns
    of different units on a common scale first
    (:class:`sklearn.preprocessing.StandardScaler` ignores NaN).

    References
    ----------
    Mazumder, Hastie & Tibshirani (2010), "Spectral regularization algorithms for
    learning large incomplete matrices", JMLR 11, 2287-2322.

    Josse & Husson (2012), "Handling missing values in exploratory multivariate data
    analysis methods", Journal de la SFdS 153(2), 79-99.

    Roweis (1998), "EM algorithms for PCA and SPCA", NIPS 10.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_svd import SVDImputer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 2)) @ rng.standard_normal((2, 8)) + 5
    >>> X_missing = X.copy()
    >>> X_missing[rng.random(X.shape) < 0.2] = np.nan
    >>> imputer = SVDImputer(tol=1e-10, random_state=0)
    >>> X_filled = imputer.fit_transform(X_missing)
    >>> imputer.n_components_
    2
    >>> gaps = np.isnan(X_missing)
    >>> bool(np.abs(X_filled[gaps] - X[gaps]).max() < 1e-6)
    True
    >>> bool(np.all(X_filled[~gaps] == X[~gaps]))
    True
    """

    _parameter_constraints: ClassVar[dict] = {
        "n_components": [IntegralNotBool(0, None, closed="left"), StrOptions({"auto"})],
        "method": [StrOptions({"hard", "soft"})],
        "shrinkage": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "missing_values": [Real],
        "add_indicator": ["boolean"],
        "keep_empty_features": ["boolean"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "copy": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_components="auto",
        *,
        method="hard",
        shrinkage="auto",
        missing_values=np.nan,
        add_indicator=False,
        keep_empty_features=False,
        max_iter=500,
        tol=1e-5,
        copy=True,
        random_state=None,
    ):
        self.n_components = n_components
        self.method = method
        self.shrinkage = shrinkage
        self.missing_values = missing_values
        self.add_indicator = add_indicator
        self.keep_empty_features = keep_empty_features
        self.max_iter = max_iter
        self.tol = tol
        self.copy = copy
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self._nan_missing()
        tags.input_tags.sparse = False
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    # -- validation -------------------------------------------------------------------

    def _nan_missing(self):
        value = self.missing_values
        return isinstance(value, Real) and bool(np.isnan(value))

    def _validate(self, X, reset):
        """Dense float ``X`` (the caller's array when no conversion is needed: never
        written unless ``copy=False``) and its missing mask."""
        if sp.issparse(X):
            raise TypeError(
                "SVDImputer does not accept sparse input: the implicit zeros of a "
                "sparse matrix would be taken for observed values. Pass X.toarray() "
                "with the missing entries set to missing_values."
            )
        check_numeric_columns(X, "SVDImputer")
        if np.isinf(self.missing_values):
            raise ValueError(
                f"SVDImputer does not accept missing_values={self.missing_values}: "
                "infinite entries are refused like in the data. Replace them by np.nan "
                "and use missing_values=np.nan."
            )
        X = validate_data(
            self,
            X,
            dtype=[np.float64, np.float32],
            ensure_all_finite="allow-nan" if self._nan_missing() else True,
            reset=reset,
            copy=False,
        )
        missing = np.isnan(X) if self._nan_missing() else X == self.missing_values
        return X, missing

    # -- fitting ----------------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the low-rank model to the observed entries of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data with missing entries marked by ``missing_values``.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted imputer.
        """
        self._fit(X, stacklevel=4)  # past fit and its wrapper
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Fit the model and return ``X`` completed by it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data with missing entries marked by ``missing_values``.
        y : None
            Ignored.

        Returns
        -------
        X_imputed : ndarray of shape (n_samples, n_features_out)
            ``X`` with its missing entries set to the fitted model's values at the
            last iteration (observed entries unchanged), without the features that
            had no observed value unless ``keep_empty_features``, and the missing
            indicator appended with ``add_indicator``.
        """
        # past fit_transform, its wrapper and set_output's
        X, missing, Z, rows = self._fit(X, stacklevel=5)
        gaps = missing[:, self._kept]
        indicator = self._indicator(missing)
        imputed = np.empty(gaps.shape, dtype=X.dtype)
        imputed[:] = self.mean_  # rows with no observed value
        imputed[np.ix_(rows, np.flatnonzero(self._varying))] = Z
        target = self._target(X)
        np.copyto(target, imputed, where=gaps)
        return self._compose(target, X, missing, indicator)

    def _fit(self, X, stacklevel):
        X, missing = self._validate(X, reset=True)
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        self._kept = ~missing.all(axis=0)
        if self.add_indicator:
            self.indicator_ = MissingIndicator(
                missing_values=self.missing_values, error_on_new=False
            ).fit(X)
        else:
            self.indicator_ = None
        # Columns whose observed values are all equal (one observed value, zero
        # columns of images, constant features) are a fixed point of the model: zero
        # loadings, filled with their value. They stay out of the iteration, where
        # rounding-level fills would only make the completed matrix graded.
        observed_min = np.where(missing, np.inf, X).min(axis=0)
        observed_max = np.where(missing, -np.inf, X).max(axis=0)
        constant = (observed_min == observed_max)[self._kept]
        cols = np.flatnonzero(self._kept)[~constant]
        sub_missing = missing[:, cols]
        rows = np.flatnonzero(~sub_missing.all(axis=1))
        problem = _Problem(
            np.ascontiguousarray(X[np.ix_(rows, cols)]), sub_missing[rows], seed
        )
        if rows.size:
            Z, model, n_iter, change, converged = self._solve(problem, rng)
            np.ldexp(Z, problem.exponent, out=Z)
        else:  # nothing varies: a mean model
            self.validation_path_ = None
            self.shrinkage_ = 0.0 if self.shrinkage == "auto" else float(self.shrinkage)
            empty = np.zeros((0, 0), dtype=X.dtype)
            model = _Model(
                empty.sum(axis=0), empty, np.zeros(0), np.zeros(0), 0.0, np.nan, 0.0
            )
            Z, n_iter, change, converged = empty, 0, 0.0, True
        if not converged:
            warnings.warn(
                f"SVDImputer did not converge in max_iter={self.max_iter} iterations: "
                f"the last moved the missing entries by {change:.2g} of ||Z - mean||_F"
                f" (tol={self.tol:g}). Raise max_iter or tol.",
                ConvergenceWarning,
                stacklevel=stacklevel,
            )
        self._set_fitted(model, problem, n_iter, X.dtype)
        share = problem.missing.mean() if problem.missing.size else 0.0
        asked = self.n_components == "auto" or self.n_components > 0
        if (
            self.method == "hard"
            and self.shrinkage_ > 0
            and asked
            and self.n_components_ == 0
            and share > MANY_MISSING
        ):
            warnings.warn(
                f"SVDImputer kept no component: the noise shrinkage removed them all, "
                f"and the missing entries are filled with the column means. With "
                f"{share:.0%} of the entries it fits missing, the noise estimate can "
                "hold the signal itself; if the data has structure, give the rank with "
                "shrinkage=0 (SVDImputer(k, shrinkage=0)) or use method='soft'.",
                UserWarning,
                stacklevel=stacklevel,
            )
        # the model over the kept features: the constant ones at their value
        varying = ~constant
        mean = observed_min[self._kept].astype(X.dtype)
        mean[varying] = self.mean_
        components = np.zeros((self.n_components_, varying.size), dtype=X.dtype)
        components[:, varying] = self.components_
        self.mean_, self.components_ = mean, components
        self._varying = varying
        return X, missing, Z, rows

    def _solve(self, problem, rng):
        """The final model and completed matrix, the rank or lambda chosen first when
        ``"auto"`` asks for it."""
        missing = problem.missing
        counts = problem.observed_counts()
        self.validation_path_ = None
        if self.method == "hard":
            coef = 1.0 if self.shrinkage == "auto" else float(self.shrinkage)
            self.shrinkage_ = coef
            bound = problem.hard_rank_bound(counts, coef)
            if self.n_components == "auto":
                rank, Z = self._rank_path(problem, coef, rng)
            else:
                rank, Z = min(self.n_components, bound), problem.initial(missing)
            step = _hard_stepper(missing, rank, coef, problem, counts)
        else:
            cap = None if self.n_components == "auto" else self.n_components
            if self.shrinkage == "auto":
                lam, Z = self._lambda_path(problem, cap, rng)
                if self.validation_path_ is not None:
                    path = self.validation_path_[:, 0]
                    np.ldexp(path, problem.exponent, out=path)
            else:  # lambda in the units of the (scaled) singular values
                lam = float(np.ldexp(float(self.shrinkage), -problem.exponent))
                Z = problem.initial(missing)
            self.shrinkage_ = float(np.ldexp(lam, problem.exponent))
            step = _soft_stepper(lam, cap, problem)
        model, n_iter, change, converged = _iterate(
            Z, missing, step, self.tol, self.max_iter
        )
        return Z, model, n_iter, change, converged

    def _path(self, problem, candidates, make_step, rng):
        """Fit along ``candidates(counts)`` (warm starts; ``counts``: each row's
        observed entries left) with ``HELD_OUT`` of the observed entries held out;
        return the best candidate and its completed matrix with the held-out entries
        put back, or the first candidate when nothing can be held out."""
        held = _held_out(problem.missing, rng)
        if held.size == 0:
            first = next(iter(candidates(problem.observed_counts())))
            return first, problem.initial(problem.missing)
        missing = problem.missing.copy()
        missing.ravel()[held] = True
        counts = missing.shape[1] - missing.sum(axis=1)
        candidates = candidates(counts)
        truth = problem.X.ravel().take(held)
        Z = problem.initial(missing)
        tol = max(self.tol, PATH_TOL)
        path, gains, misses = [], [], 0  # gains: (candidate, error, Z) improving ones
        for candidate in candidates:
            step = make_step(candidate, missing, counts)
            model = _iterate(Z, missing, step, tol, min(self.max_iter, PATH_MAX_ITER))[0]
            scale = _norm(truth - model.mean[held % problem.d])
            error = _norm(Z.ravel().take(held) - truth)
            error = error / scale if scale > 0 else 0.0
            path.append((candidate, error))
            if not gains or error < gains[-1][1] * (1 - MIN_GAIN) - tol:
                gains.append((candidate, error, Z.copy()))
                # warm starts kept only for the candidates still in the window
                gains = [g for g in gains if g[1] <= error * (1 + MIN_GAIN) + SLACK * tol]
                misses = 0
            elif model.kept(Z.dtype).any():
                # (a candidate whose shrinker kept nothing, as the first ranks when
                # their noise estimate still holds the signal, is no evidence)
                misses += 1
                if misses >= PATIENCE:
                    break
        self.validation_path_ = np.array(path, dtype=np.float64)
        # the first improving candidate within the window of the best: held-out
        # errors closer than the path's convergence cannot tell candidates apart
        best, _, best_Z = gains[0]
        best_Z.ravel()[held] = truth
        return best, best_Z

    def _rank_path(self, problem, coef, rng):

        def ranks(counts):
            bound = problem.hard_rank_bound(counts, coef)
            k = 0
            while k <= bound:
                yield k
                k = max(k + 1, round(RANK_GROWTH * k))

        def make_step(rank, missing, counts):
            return _hard_stepper(missing, rank, coef, problem, counts)

        return self._path(problem, ranks, make_step, rng)

    def _lambda_path(self, problem, cap, rng):
        top = _decompose(problem.initial(problem.missing), 1, problem)
        first = float(top.singular_values[0]) if top.singular_values.size else 0.0

        def lambdas(counts):
            lam = first
            yield lam
            while lam > LAMBDA_FLOOR * first:
                lam *= LAMBDA_RATIO
                yield lam

        def make_step(lam, missing, counts):
            return _soft_stepper(lam, cap, problem)

        return self._path(problem, lambdas, make_step, rng)

    def _set_fitted(self, scaled, problem, n_iter, dtype):
        """The attributes from the model of the scaled problem (``scaled``): what
        is kept and the ratios are decided there, where every value is finite."""
        keep = scaled.kept(dtype) if scaled.singular_values.size else np.zeros(0, bool)
        # transform's ridge s / t - 1 and kept test need only the ratios (float64)
        self._ratios = (scaled.singular_values[keep], scaled.shrunk[keep])
        ratio = np.zeros(int(keep.sum()))
        if scaled.total_norm > 0:
            ratio = (scaled.singular_values[keep] / scaled.total_norm) ** 2
        self._exponent = problem.exponent
        model = scaled.unscaled(problem.exponent)
        s = model.singular_values[keep]
        self.n_components_ = int(keep.sum())
        self.components_ = np.asarray(model.components[keep], dtype=dtype)
        dof = max(problem.n - 1, 1)
        with np.errstate(over="ignore"):  # inf where the dtype cannot hold them
            self.singular_values_ = s.astype(dtype)
            self.shrunk_singular_values_ = model.shrunk[keep].astype(dtype)
            self.explained_variance_ = ((s / np.sqrt(dof)) ** 2).astype(dtype)
        self.mean_ = np.asarray(model.mean, dtype=dtype)
        self.explained_variance_ratio_ = ratio.astype(dtype)
        self.noise_level_ = float(model.noise_level)
        self.threshold_ = float(model.threshold)
        self.n_iter_ = int(n_iter)

    # -- transforming -----------------------------------------------------------------

    def transform(self, X):
        """Fill the missing entries of ``X`` from the fitted model.

        Each row's missing entries come from the fitted mean and components, by
        least squares on that row's observed entries alone (Notes); observed
        entries are returned unchanged.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data with the features seen in fit.

        Returns
        -------
        X_imputed : ndarray of shape (n_samples, n_features_out)
            As in :meth:`fit_transform`.
        """
        check_is_fitted(self)
        X, missing = self._validate(X, reset=False)
        gaps = missing[:, self._kept]
        indicator = self._indicator(missing)
        target = self._target(X)
        rows = np.flatnonzero(gaps.any(axis=1))
        # in the fit's scaled units, as the fit solved it (data near the ends of the
        # dtype's range); the observed entries are kept from X, not scaled back
        exponent = self._exponent
        model = _Model(
            np.ldexp(self.mean_, -exponent),
            self.components_,
            *self._ratios,  # s and t in the scaled units: finite
            1.0,
            self.noise_level_,
            self.threshold_,
        )
        step = max(1, _SOLVE_BYTES // (8 * X.shape[1]))
        for start in range(0, rows.size, step):
            block = rows[start : start + step]
            values = target[block]
            if not exponent:
                target[block] = _fill_rows(values, gaps[block], model, X.dtype)
                continue
            filled = _fill_rows(np.ldexp(values, -exponent), gaps[block], model, X.dtype)
            target[block] = np.where(gaps[block], np.ldexp(filled, exponent), values)
        return self._compose(target, X, missing, indicator)

    def _indicator(self, missing):
        """The indicator's columns (computed before ``X`` may be filled in place)."""
        if self.indicator_ is None:
            return None
        return missing[:, self.indicator_.features_]

    def _target(self, X):
        """The array the kept features are imputed in: ``X`` itself when
        ``copy=False`` allows (every feature kept), else a copy of the kept columns."""
        kept = self._kept
        if not kept.all():
            return X[:, kept]  # a copy
        if not self.copy and X.flags.writeable:
            return X
        return np.array(X, order="C")

    def _compose(self, imputed, X, missing, indicator):
        """The output: the features empty in fit back in their places when kept
        (their missing entries 0, their observed ones, in new rows, as they are),
        then the indicator."""
        kept = self._kept
        out = imputed
        if self.keep_empty_features and not kept.all():
            out = np.zeros(X.shape, dtype=imputed.dtype)
            out[:, kept] = imputed
            out[:, ~kept] = np.where(missing[:, ~kept], 0, X[:, ~kept])
        if indicator is not None:
            out = np.hstack([out, indicator.astype(out.dtype)])
        return out

    def get_feature_names_out(self, input_features=None):
        """Get output feature names for transformation.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input features. If None, ``feature_names_in_`` is used, or
            ``["x0", ..., "x(n_features_in_ - 1)"]`` without it; otherwise it must
            match ``feature_names_in_`` when that is defined.

        Returns
        -------
        feature_names_out : ndarray of str objects
            The kept input features (all with ``keep_empty_features``), then the
            indicator's names (``missingindicator_<feature>``).
        """
        check_is_fitted(self, "n_features_in_")
        names = OneToOneFeatureMixin.get_feature_names_out(self, input_features)
        out = names if self.keep_empty_features else names[self._kept]
        if self.indicator_ is not None:
            out = np.concatenate([out, self.indicator_.get_feature_names_out(names)])
        return out
