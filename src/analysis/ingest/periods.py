"""Partial first and last periods, detected from the span of the order lines' dates.

An export that starts in the last week of a quarter (or ends a fortnight into a month) makes that
period look like a collapse or a boom of revenue. A first (last) period is partial when the data
start after (end before) a fifth of it has passed and the gap is longer than twice the usual gap
between order days, so a quiet first week of January in daily data does not count. Partial periods
are reported by ``validate`` and left out of the panel unless the config says
``partial_periods: keep``.

Also the one period axis every later layer puts its arrays on (:func:`period_axis`, gaps filled).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

#: Share of a period the data may miss at its start or end before the period counts as partial.
MISSING_SHARE = 0.2
PARTIAL_COLUMNS = ["period", "side", "first_day", "last_day", "days_covered", "days_in_period",
                   "lines", "revenue"]


def _label(p: pd.Period, freq: str) -> str:
    return str(p) if freq != "M" else p.strftime("%Y-%m")


def partial_periods(dates: pd.Series, freq: str = "Q",
                    revenue: pd.Series | None = None) -> pd.DataFrame:
    """The partial first and/or last period of ``dates`` at frequency ``freq`` (``Q``, ``M`` or
    ``Y``).

    Returns
    -------
    pandas.DataFrame
        One row per partial period: ``period`` (label such as ``2024Q1`` or ``2024-01``), ``side``
        (first/last), ``first_day``/``last_day`` (the days the data cover in it), ``days_covered``,
        ``days_in_period``, ``lines`` (order lines in it) and ``revenue`` (their sum, when given).
        Empty when the data cover a single period or both ends are whole.
    """
    if freq not in ("Q", "M", "Y"):
        raise ValueError(f"freq must be Q, M or Y, got {freq!r}")
    d = pd.to_datetime(dates).dropna().dt.normalize()
    if d.empty:
        return pd.DataFrame(columns=PARTIAL_COLUMNS)
    per = d.dt.to_period(freq)
    first, last = per.min(), per.max()
    if first == last:
        return pd.DataFrame(columns=PARTIAL_COLUMNS)
    days = pd.Series(d.unique()).sort_values()
    gap = float(days.diff().dt.days.median()) if len(days) > 1 else 1.0
    rows = []
    for side, p in (("first", first), ("last", last)):
        start, end = p.start_time.normalize(), p.end_time.normalize()
        length = (end - start).days + 1
        in_p = per == p
        lo, hi = d[in_p].min(), d[in_p].max()
        missing = (lo - start).days if side == "first" else (end - hi).days
        if missing > MISSING_SHARE * length and missing > 2 * gap:
            rev = float(revenue[in_p.to_numpy()].sum()) if revenue is not None else float("nan")
            covered = (end - lo).days + 1 if side == "first" else (hi - start).days + 1
            rows.append({"period": _label(p, freq), "side": side,
                         "first_day": (lo if side == "first" else start).date(),
                         "last_day": (end if side == "first" else hi).date(),
                         "days_covered": covered, "days_in_period": length,
                         "lines": int(in_p.sum()), "revenue": round(rev, 2)})
    return pd.DataFrame(rows, columns=PARTIAL_COLUMNS)


def partial_labels(dates: pd.Series, freq: str = "Q") -> list[str]:
    """The labels of :func:`partial_periods`."""
    return partial_periods(dates, freq)["period"].tolist()


def period_freq(labels: Iterable[object]) -> str:
    """The frequency code of period labels: ``Q`` (``2024Q1``), ``M`` (``2024-01``) or ``Y``
    (``2024``)."""
    first = str(next(iter(labels)))
    if "Q" in first:
        return "Q"
    if "-" in first:
        return "M"
    return "Y"


def period_axis(labels: Iterable[object]) -> list[str]:
    """All period labels from the first to the last (gaps filled), in order."""
    labels = sorted({str(x) for x in labels})
    if not labels:
        return []
    freq = period_freq(labels)
    try:
        rng = pd.period_range(pd.Period(labels[0], freq=freq), pd.Period(labels[-1], freq=freq))
        full = [str(p) for p in rng]
        if set(labels) <= set(full):
            return full
    except (ValueError, TypeError):
        pass
    return labels
