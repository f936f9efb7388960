"""Kinds of key client, decided per client and period over a trailing window.

This first version decides ``key_revenue`` only (the walking skeleton); the categories issue
adds the editable rulebook with all six kinds and a reason for every decision.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def window_totals(panel: pd.DataFrame, *, value: str = "revenue", window: int = 4) -> pd.DataFrame:
    """Each client's ``value`` summed over the trailing ``window`` periods ending at each period.

    Returns ``client_id, portfolio, period, window_total, complete`` for every client and every
    period of the data (0 where the client bought nothing in the window); ``complete`` is False
    while fewer than ``window`` periods of data precede (and include) the period.
    """
    periods = np.sort(panel["period"].unique())
    pos = {p: i for i, p in enumerate(periods)}
    wide = panel.pivot_table(index=["client_id", "portfolio"], columns="period", values=value,
                             aggfunc="sum", fill_value=0.0).reindex(columns=periods, fill_value=0.0)
    rolled = wide.T.rolling(window, min_periods=1).sum().T
    out = rolled.stack().rename("window_total").reset_index()
    out["complete"] = out["period"].map(pos) >= window - 1
    return out


def key_revenue(panel: pd.DataFrame, *, window: int = 4, top: float = 0.8) -> pd.DataFrame:
    """Membership in ``key_revenue``: the clients making the pooled top ``top`` share of revenue.

    The threshold is pooled over all portfolios in each window (DESIGN.md): a client is a member
    when the clients larger than it hold less than ``top`` of all clients' window revenue.

    Returns
    -------
    pandas.DataFrame
        ``client_id, portfolio, period, category, member, status, score, reason``; ``member`` is
        empty (``<NA>``) with ``status = "short_history"`` before a full window of data exists.
    """
    tot = window_totals(panel, window=window)
    tot = tot[tot["window_total"] > 0].copy()
    tot = tot.sort_values(["period", "window_total", "client_id"], ascending=[True, False, True])
    grand = tot.groupby("period")["window_total"].transform("sum")
    before = tot.groupby("period")["window_total"].cumsum() - tot["window_total"]
    tot["score"] = tot["window_total"] / grand
    member = (before / grand) < top
    tot["category"] = "key_revenue"
    tot["member"] = member.astype("boolean").where(tot["complete"], pd.NA)
    tot["status"] = np.where(tot["complete"], "ok", "short_history")
    tot["reason"] = np.where(
        ~tot["complete"], f"fewer than {window} periods of history",
        np.where(member, [f"revenue share {s:.2%}: inside the pooled top {top:.0%} of revenue" for s in tot["score"]],
                 f"outside the pooled top {top:.0%} of revenue"))
    cols = ["client_id", "portfolio", "period", "category", "member", "status", "score", "reason"]
    return tot[cols].sort_values(["portfolio", "client_id", "period"]).reset_index(drop=True)
