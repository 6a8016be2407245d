"""Input checks shared by the engine and the estimators.

Each check raises an error that states the rule it enforces and how to fix the input.
"""

import numbers

import numpy as np
import scipy.sparse as sp


def raise_nonfinite(X, *, name="X", owner="this estimator"):
    """Locate the non-finite entries of ``X`` and raise a ``ValueError`` naming them.

    Called after a pass over ``X`` whose running sums came out non-finite: NaN and
    infinity propagate into sums, so the engine needs no separate finiteness pass and
    only looks for the offending entries once it knows there are some. For a sparse
    ``X`` the (row, column) of each non-finite stored value comes from the sparse
    structure, at any size and without densifying. If every entry is finite, a sum of
    squares overflowed: :class:`MagnitudeError`.
    """
    if sp.issparse(X):
        rows, cols, n_nan, n_inf = _sparse_nonfinite(X)
    else:
        bad = ~np.isfinite(X)
        n_nan = int(np.isnan(X).sum())
        n_inf = int(bad.sum()) - n_nan
        rows, cols = np.nonzero(bad)
    if n_nan == 0 and n_inf == 0:
        # Every entry is finite but a sum of squares overflowed (the engine catches
        # this and decomposes a rescaled copy).
        raise MagnitudeError(
            f"Input {name} is finite but too large: sums of its squares overflow to "
            f"infinity in {X.dtype}. Rescale {name} (e.g. StandardScaler) before "
            f"{owner}."
        )
    where = ", ".join(f"({r}, {c})" for r, c in zip(rows[:5], cols[:5], strict=True))
    more = f" and {rows.size - 5} more" if rows.size > 5 else ""
    raise ValueError(
        f"Input {name} contains NaN ({n_nan} entries) or infinity ({n_inf} entries), "
        f"at (row, column) {where}{more}. {owner} needs finite values: drop those rows "
        "or impute them (e.g. sklearn.impute.SimpleImputer) first."
    )


def _sparse_nonfinite(X):
    """Rows and columns (in row-major order, each position once) of the non-finite
    stored values of a sparse ``X``, and the numbers of NaN and infinite values.

    A stored value's position in ``X.data`` is not a (row, column): its row (CSR) or
    column (CSC) is the slice of ``indptr`` it falls in, the other index is in
    ``indices``. Other formats go through COO. Reads ``X`` only.
    """
    if X.format in ("csr", "csc"):
        data = X.data[: int(X.indptr[-1])]
        at = np.flatnonzero(~np.isfinite(data))
        major = np.searchsorted(X.indptr, at, side="right") - 1
        minor = X.indices[at]
        rows, cols = (major, minor) if X.format == "csr" else (minor, major)
    else:
        X = X.tocoo()
        data = X.data
        at = np.flatnonzero(~np.isfinite(data))
        rows, cols = X.row[at], X.col[at]
    n_nan = int(np.isnan(data[at]).sum())
    n_inf = at.size - n_nan
    order = np.lexsort((cols, rows))
    rows, cols = rows[order], cols[order]
    # a duplicated position (non-canonical input) is named once
    first = np.ones(rows.size, dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    return rows[first], cols[first], n_nan, n_inf


def check_numeric_columns(X, owner):
    """Raise a ``TypeError`` naming the non-numeric columns of a DataFrame ``X``.

    scikit-learn's own check reports only the first value it cannot convert; a user
    with a mixed DataFrame wants the column names.
    """
    dtypes = getattr(X, "dtypes", None)
    columns = getattr(X, "columns", None)
    if dtypes is None or columns is None or isinstance(X, np.ndarray):
        return
    try:
        dtypes = list(dtypes)
    except TypeError:  # a single dtype (pandas Series)
        return
    bad = []
    for col, dtype in zip(columns, dtypes, strict=True):
        kind = getattr(dtype, "kind", None)
        if kind is not None:  # numpy and pandas dtypes
            numeric = kind in "biuf"
        else:  # polars dtypes
            numeric = dtype.is_numeric() or str(dtype) == "Boolean"
        if not numeric:
            bad.append(f"{col!r} ({dtype})")
    if bad:
        raise TypeError(
            f"{owner} needs numeric columns; these are not numeric: {', '.join(bad)}. "
            "Encode them (e.g. sklearn.preprocessing.OneHotEncoder in a "
            "ColumnTransformer) or drop them first."
        )


def check_rank(n_components, n_samples, n_features):
    """Check an integer rank against the shape of the data."""
    bound = min(n_samples, n_features)
    if isinstance(n_components, numbers.Integral) and not 0 <= n_components <= bound:
        raise ValueError(
            f"n_components={n_components} must be between 0 and "
            f"min(n_samples, n_features)={bound} (n_samples={n_samples}, "
            f"n_features={n_features}). Ask for at most {bound} components."
        )


class MagnitudeError(ValueError):
    """Finite data whose sums of squares overflow its dtype (the engine rescales it)."""


def check_weight_shape(shape, n_samples):
    """A ``ValueError`` unless ``shape`` is that of one weight per row: ``(n_samples,)``
    (numpy and dask weights alike)."""
    if len(shape) != 1:
        raise ValueError(
            f"sample_weight must be 1-D, one weight per row of X; got an array of "
            f"shape {shape}. Pass a vector of length {n_samples}."
        )
    if shape[0] != n_samples:
        raise ValueError(
            f"sample_weight has {shape[0]} weights but X has {n_samples} rows: "
            "give one weight per row."
        )


def check_sample_weight(sample_weight, n_samples, *, owner="this estimator"):
    """``sample_weight`` as a new 1-D float64 array of ``n_samples`` frequency weights
    (None stays None; a number is given to every row), or a ``ValueError`` stating the
    rule it breaks.

    The weights must be finite and nonnegative, and their total ``W`` (the number of
    rows they stand for) must exceed 1: the variances divide by ``W - 1``. The
    caller's array is never modified (a copy is made whatever its dtype).
    """
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Number):
        weights = np.full(n_samples, sample_weight, dtype=np.float64)
    else:
        weights = np.asarray(sample_weight)
        if weights.dtype.kind not in "biuf":
            raise ValueError(
                f"sample_weight must hold numbers; got an array of dtype "
                f"{weights.dtype}. Pass one nonnegative float per row of X."
            )
        weights = np.array(weights, dtype=np.float64)  # a copy: never the caller's
    check_weight_shape(weights.shape, n_samples)
    bad = np.flatnonzero(~np.isfinite(weights))
    if bad.size:
        raise ValueError(
            f"sample_weight must be finite; it holds NaN or infinity at index "
            f"{', '.join(map(str, bad[:5]))}{' and more' if bad.size > 5 else ''}. "
            f"{owner} needs a finite, nonnegative weight per row."
        )
    bad = np.flatnonzero(weights < 0)
    if bad.size:
        raise ValueError(
            f"sample_weight must be nonnegative (a weight is the number of times a row "
            f"counts); it is negative at index {', '.join(map(str, bad[:5]))}"
            f"{' and more' if bad.size > 5 else ''}. Drop those rows, or give them 0."
        )
    with np.errstate(over="ignore"):
        total = float(np.sum(weights))
    if not np.isfinite(total):
        raise ValueError(
            "The sum of sample_weight overflows float64: divide the weights by a "
            "common factor (only their total, the number of rows they stand for, "
            "changes the variances)."
        )
    return weights


def check_total_weight(total, owner="this estimator"):
    """Raise a ``ValueError`` when the weights' total ``W`` leaves the variance
    undefined (``W <= 1``: it divides by ``W - 1``)."""
    if total == 0:
        raise ValueError(
            f"Every sample weight is zero: {owner} has no rows to fit. Give the rows "
            "to fit positive weights (a weight counts a row that many times)."
        )
    if not total > 1:
        raise ValueError(
            f"The sample weights sum to {total:.6g}, but {owner} needs a total above 1: "
            "weights are frequencies (a weight of 3 counts a row three times) and the "
            "variances divide by sum(sample_weight) - 1. Relative or importance "
            "weights should be scaled to sum to the number of rows: "
            "sample_weight * n_samples / sample_weight.sum()."
        )


def effective_rows(total):
    """The number of rows that weights of total ``total`` stand for: ``total`` itself
    when it is a whole number (integer weights: the rows repeated), else the next
    whole number. It sets the length of the spectrum and the shape the rank rules
    and the noise estimate see (``min(rows, n_features)`` singular values)."""
    return int(np.ceil(total))
