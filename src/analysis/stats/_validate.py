"""Checks shared by the statistics functions: validate at the boundary, once, with a message a
reader can act on (see :mod:`analysis.errors`)."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from analysis.errors import InputError


class StatsWarning(UserWarning):
    """A result was computed but needs care: few clusters, collinear exposures, a short series."""


def check_choice(name: str, value: object, allowed: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``allowed``; raise :class:`InputError` otherwise."""
    allowed = list(allowed)
    if value not in allowed:
        raise InputError(
            f"The value for `{name}` must be one of {allowed}, but {value!r} was passed."
        )
    return value  # type: ignore[return-value]


def as_list(name: str, value: str | Sequence[str] | None) -> list[str]:
    """A column name or a sequence of them, as a list (``None`` gives an empty list)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    out = list(value)
    if not all(isinstance(v, str) for v in out):
        raise InputError(f"`{name}` must be a column name or a list of column names, got {value!r}.")
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


def as_vector(name: str, values: object) -> np.ndarray:
    """A 1-D float array from a list, array or Series; :class:`InputError` otherwise."""
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"`{name}` must be numbers; converting failed: {exc}.") from exc
    if arr.ndim != 1:
        raise InputError(f"`{name}` must be one-dimensional, got shape {arr.shape}.")
    return arr


def warn(message: str) -> None:
    """Emit a :class:`StatsWarning` pointing at the caller of the public function."""
    warnings.warn(message, StatsWarning, stacklevel=3)
