"""Portfolio exposures to each kind of key client, and growth outcomes after the window.

This first version (the walking skeleton) computes one exposure — the revenue share of a
category's clients over the window t-W … t-1 — and one outcome, revenue growth at lag h,
log R(t+h) - log R(t+h-1), never from a period inside the exposure window.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def portfolio_revenue(panel: pd.DataFrame) -> pd.DataFrame:
    """Revenue per portfolio and period, as a (portfolio × period) table with zeros filled."""
    periods = np.sort(panel["period"].unique())
    return panel.pivot_table(index="portfolio", columns="period", values="revenue", aggfunc="sum",
                             fill_value=0.0).reindex(columns=periods, fill_value=0.0)


def exposures(panel: pd.DataFrame, membership: pd.DataFrame, *, window: int = 4) -> pd.DataFrame:
    """Revenue share of each category's members over the window t-W … t-1, per portfolio and t.

    Membership is read at t-1 (decided over the same window), so the exposure of period t uses
    nothing from period t or later.

    Returns
    -------
    pandas.DataFrame
        ``portfolio, period, category, exposure, window_revenue``.
    """
    periods = list(np.sort(panel["period"].unique()))
    nxt = dict(zip(periods[:-1], periods[1:]))
    members = membership[membership["member"].fillna(False).astype(bool)]
    wide = panel.pivot_table(index=["client_id", "portfolio"], columns="period", values="revenue",
                             aggfunc="sum", fill_value=0.0).reindex(columns=periods, fill_value=0.0)
    rolled = wide.T.rolling(window, min_periods=window).sum().T.stack().rename("window_revenue").reset_index()
    rolled["period"] = rolled["period"].map(nxt)  # window ending t-1 → exposure at t
    rolled = rolled.dropna(subset=["period", "window_revenue"])
    totals = rolled.groupby(["portfolio", "period"], as_index=False)["window_revenue"].sum()
    rows = []
    for category, m in members.groupby("category"):
        m = m.assign(period=m["period"].map(nxt)).dropna(subset=["period"])
        inside = rolled.merge(m[["client_id", "period"]], on=["client_id", "period"])
        share = inside.groupby(["portfolio", "period"], as_index=False)["window_revenue"].sum()
        share = totals.merge(share, on=["portfolio", "period"], how="left", suffixes=("", "_k"))
        share["exposure"] = share["window_revenue_k"].fillna(0.0) / share["window_revenue"]
        share["category"] = category
        rows.append(share[["portfolio", "period", "category", "exposure", "window_revenue"]])
    return pd.concat(rows, ignore_index=True).sort_values(["category", "portfolio", "period"]).reset_index(drop=True)


def revenue_growth(panel: pd.DataFrame, *, lag: int = 1) -> pd.DataFrame:
    """``revenue_growth`` at lag h for exposure period t: log R(t+h) - log R(t+h-1).

    Returns ``portfolio, period, outcome, lag, value`` (``period`` is the exposure period t).
    """
    rev = portfolio_revenue(panel)
    with np.errstate(divide="ignore", invalid="ignore"):
        logr = np.log(rev.where(rev > 0))
    growth = logr.T.diff().T  # column s: log R(s) - log R(s-1)
    shifted = growth.T.shift(-lag).T  # column t: growth into t+h
    out = shifted.stack().rename("value").reset_index()
    out["outcome"] = "revenue_growth"
    out["lag"] = lag
    return out[["portfolio", "period", "outcome", "lag", "value"]].dropna().reset_index(drop=True)
