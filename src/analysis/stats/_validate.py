"""Checks shared by the statistics functions: validate at the boundary, once, with a message a
reader can act on (see :mod:`analysis.errors`)."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import TypeAlias

import numpy as np
import pandas as pd

from analysis.errors import InputError

#: A numeric vector as callers pass it: a list, an array or a Series.
Numbers: TypeAlias = Sequence[float] | np.ndarray | pd.Series


class StatsWarning(UserWarning):
    """A result was computed but needs care: few clusters, collinear exposures, a short series."""


def check_choice(name: str, value: object, allowed: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``allowed``; raise :class:`InputError` otherwise."""
    allowed = list(allowed)
    if value not in allowed:
        raise InputError(
            f"The value for `{name}` must be one of {allowed}, but {value!r} was passed."
        )
    return value


def as_list(name: str, value: str | Sequence[str] | None) -> list[str]:
    """A column name or a sequence of them, as a list (``None`` gives an empty list)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    out = list(value)
    if not all(isinstance(v, str) for v in out):
        raise InputError(
            f"`{name}` must be a column name or a list of column names, got {value!r}."
        )
    return out


def check_columns(data: pd.DataFrame, columns: Sequence[str], *, what: str = "data") -> None:
    """Raise :class:`InputError` naming the missing columns and the ones that exist."""
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"`{what}` must be a pandas DataFrame, got {type(data).__name__}.")
    missing = [c for c in columns if c not in data.columns]
    if missing:
        shown = list(map(str, data.columns[:20]))
        raise InputError(
            f"{what} has no column(s) {missing}; it has {shown}. Pass the right column names "
            "or add the columns."
        )
    dup = sorted({c for c in columns if list(columns).count(c) > 1})
    if dup:
        raise InputError(f"Column(s) {dup} are used twice (e.g. as outcome and as exposure).")


def check_numeric(data: pd.DataFrame, columns: Sequence[str], *, what: str = "data") -> None:
    """Raise :class:`InputError` for a column that is not numeric (booleans are allowed)."""
    for c in columns:
        if not (pd.api.types.is_numeric_dtype(data[c]) or pd.api.types.is_bool_dtype(data[c])):
            bad = data[c].head(3).tolist()
            raise InputError(
                f"Column {c!r} of {what} must be numeric, but it has dtype {data[c].dtype} "
                f"(first values {bad}). Convert it to numbers first."
            )


def check_confidence(confidence: float) -> None:
    """Raise :class:`InputError` unless ``0 < confidence < 1``."""
    if not 0 < confidence < 1:
        raise InputError(f"`confidence` must be between 0 and 1, got {confidence!r}.")


def as_vector(name: str, values: object) -> np.ndarray:
    """A 1-D float array from a list, array or Series; :class:`InputError` otherwise."""
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"`{name}` must be numbers; converting failed: {exc}.") from exc
    if arr.ndim != 1:
        raise InputError(f"`{name}` must be one-dimensional, got shape {arr.shape}.")
    return arr


def complete_pairs(x: object, y: object, *, what: str) -> tuple[np.ndarray, np.ndarray]:
    """``x`` and ``y`` as float vectors without the pairs where either is missing (R's
    ``complete.obs``); :class:`InputError` when their lengths differ or fewer than 3 complete
    pairs are left (``what`` names the test in that message, e.g. "A correlation")."""
    xa, ya = as_vector("x", x), as_vector("y", y)
    if xa.shape != ya.shape:
        raise InputError(f"`x` and `y` must have the same length, got {xa.size} and {ya.size}.")
    keep = ~(np.isnan(xa) | np.isnan(ya))
    xa, ya = xa[keep], ya[keep]
    if xa.size < 3:
        raise InputError(f"{what} needs at least 3 complete pairs; got {int(xa.size)}.")
    return xa, ya


def warn(message: str) -> None:
    """Emit a :class:`StatsWarning` pointing at the caller of the public function."""
    warnings.warn(message, StatsWarning, stacklevel=3)
