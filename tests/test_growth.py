"""Exposures and outcomes (analysis.growth.panel) against a direct computation on a hand-made panel,
and the guard against mechanical links: no outcome reads a period of its exposure window."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from analysis.config import CATEGORIES
from analysis.growth import panel as growth

W = 2
PERIODS = [f"2023Q{q}" for q in range(1, 5)] + [f"2024Q{q}" for q in range(1, 5)]  # 8 quarters


def _hand_panel(seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Two portfolios, seven clients, eight quarters; some quiet periods and late starters."""
    rng = np.random.default_rng(seed)
    clients = {"A": ["a1", "a2", "a3", "a4"], "B": ["b1", "b2", "b3"]}
    start = {"a1": 0, "a2": 0, "a3": 3, "a4": 5, "b1": 0, "b2": 2, "b3": 6}
    rows = []
    for p, ids in clients.items():
        for c in ids:
            for s, per in enumerate(PERIODS):
                if s < start[c] or (c == "a2" and s == 4):  # a2 is quiet in 2024Q1
                    continue
                rev = float(rng.integers(100, 1000))
                orders = int(rng.integers(1, 6))
                rows.append({"client_id": c, "portfolio": p, "period": per, "revenue": rev,
                             "cost": round(rev * rng.uniform(0.5, 0.9), 2), "orders": orders,
                             "new_product_revenue": float(rng.integers(0, int(rev))),
                             "claim": int(rng.integers(0, 3))})
    panel = pd.DataFrame(rows)
    panel["gross_profit"] = panel["revenue"] - panel["cost"]
    mem = []
    for c, p in [(c, p) for p, ids in clients.items() for c in ids]:
        for s, per in enumerate(PERIODS):
            for k in ("key_revenue", "demanding", "advanced"):
                known = s >= W - 1
                mem.append({"client_id": c, "portfolio": p, "period": per, "category": k,
                            "member": bool(rng.uniform() < 0.4) if known else pd.NA,
                            "status": "ok" if known else "short_history"})
    membership = pd.DataFrame(mem)
    membership["member"] = membership["member"].astype("boolean")
    kpis = pd.DataFrame([{"portfolio": p, "period": per, "plan_attainment": rng.uniform(0.8, 1.2)}
                         for p in clients for per in PERIODS])
    return panel, membership, kpis


def _direct(panel: pd.DataFrame, membership: pd.DataFrame, kpis: pd.DataFrame, p: str, t: int, h: int) -> dict:
    """Every column of one row (portfolio p, exposure period index t, lag h), computed the plain way."""
    pp = panel[panel["portfolio"] == p]
    win = PERIODS[t - W:t]

    def members(k, s):
        m = membership[(membership["category"] == k) & (membership["period"] == PERIODS[s])
                       & (membership["portfolio"] == p)]
        return set(m.loc[m["member"].fillna(False).astype(bool), "client_id"])

    in_win = pp[pp["period"].isin(win)]
    active = set(in_win.loc[in_win["revenue"] > 0, "client_id"])
    total = in_win["revenue"].sum()
    out = {"window_revenue": total, "log_window_revenue": np.log(total), "window_clients": len(active)}
    for k in ("key_revenue", "demanding", "advanced"):
        mk = members(k, t - 1)
        out[f"share_{k}"] = in_win.loc[in_win["client_id"].isin(mk), "revenue"].sum() / total
        out[f"count_share_{k}"] = len(active & mk) / len(active)
        out[f"presence_{k}"] = float(len(active & mk) > 0)

    def rev(s):
        return pp.loc[pp["period"] == PERIODS[s], "revenue"].sum() if 0 <= s < len(PERIODS) else np.nan

    def gp(s):
        return pp.loc[pp["period"] == PERIODS[s], "gross_profit"].sum()

    last = len(PERIODS) - 1
    if t + h <= last:
        out[f"revenue_growth_h{h}"] = np.log(rev(t + h)) - np.log(rev(t + h - 1))
        out[f"profit_growth_h{h}"] = np.log(gp(t + h)) - np.log(gp(t + h - 1))
        growths = [np.log(rev(s)) - np.log(rev(s - 1)) for s in range(1, last + 1)]
        out[f"revenue_volatility_h{h}"] = abs(out[f"revenue_growth_h{h}"] - np.mean(growths))
    s = t + h - 1
    if s <= last:
        now = pp[pp["period"] == PERIODS[s]]
        first = pp[pp["revenue"] > 0].groupby("client_id")["period"].min()
        new_ids = set(first[first == PERIODS[s]].index)
        out[f"new_clients_h{h}"] = 100 * len(new_ids) / len(active)
        new_rows = now[now["client_id"].isin(new_ids)]
        out[f"new_client_size_h{h}"] = np.log(new_rows["revenue"].mean()) if len(new_rows) else np.nan
        buying = set(now.loc[now["revenue"] > 0, "client_id"])
        out[f"retention_h{h}"] = len(active & buying) / len(active)
        outside_adv = now[~now["client_id"].isin(members("advanced", t - 1))]
        out[f"new_product_share_h{h}"] = outside_adv["new_product_revenue"].sum() / outside_adv["revenue"].sum()
        outside_dem = now[~now["client_id"].isin(members("demanding", t - 1))]
        out[f"claims_rate_h{h}"] = 100 * outside_dem["claim"].sum() / outside_dem["orders"].sum()
        out[f"plan_attainment_h{h}"] = kpis.loc[(kpis["portfolio"] == p) & (kpis["period"] == PERIODS[s]),
                                                "plan_attainment"].iloc[0]
    return out


def test_every_column_matches_a_direct_computation():
    panel, membership, kpis = _hand_panel()
    pp = growth.portfolio_panel(panel, membership, window=W, kpis=kpis)
    assert list(pp["period"].unique()) == PERIODS[W:]
    checked = 0
    for p, t, h in itertools.product(["A", "B"], range(W, len(PERIODS)), growth.LAGS):
        row = pp[(pp["portfolio"] == p) & (pp["period"] == PERIODS[t])].iloc[0]
        for col, value in _direct(panel, membership, kpis, p, t, h).items():
            got = row[col]
            if np.isnan(value):
                assert np.isnan(got), (p, PERIODS[t], col)
            else:
                assert got == pytest.approx(value, rel=1e-12, abs=1e-12), (p, PERIODS[t], col)
            checked += 1
    assert checked > 300
    # past the end of the data, outcomes are missing rather than invented
    last = pp[pp["period"] == PERIODS[-1]].iloc[0]
    assert np.isnan(last["revenue_growth_h1"]) and np.isnan(last["retention_h2"])


def _columns_touched(pp0: pd.DataFrame, pp1: pd.DataFrame) -> set[tuple[str, str]]:
    a = pp0.set_index(["portfolio", "period"])
    b = pp1.set_index(["portfolio", "period"])
    diff = ~np.isclose(a.to_numpy(float), b.to_numpy(float), equal_nan=True, rtol=1e-12, atol=0)
    rows, cols = np.nonzero(diff)
    return {(a.index[r][1], a.columns[c]) for r, c in zip(rows, cols)}


def _allowed(column: str, t: int, s: int) -> bool:
    """May a change of period s reach ``column`` of exposure period t? Exposures read t-W … t-1;
    growth outcomes t+h-1 and t+h; level outcomes t+h-1 (docs/methods.md)."""
    if column.startswith(("share_", "count_share_", "presence_")) or column in (
            "window_revenue", "log_window_revenue", "window_clients"):
        return t - W <= s <= t - 1
    o, _, h = column.rpartition("_h")
    h = int(h)
    if growth.outcome_kind(o) == "growth":
        return s in (t + h - 1, t + h)
    if o in ("new_clients", "retention"):  # per 100 / share of the window's active clients
        return s == t + h - 1 or t - W <= s <= t - 1
    return s == t + h - 1


def test_no_outcome_reads_a_period_of_its_exposure_window():
    """Perturb one period's data at a time: an exposure moves only when its window holds that
    period, an outcome only when it is measured in it (plus the window's client count that
    new_clients and retention are per). revenue_volatility is centred on the portfolio's mean
    growth over all periods, so any period moves it a little; its deviation is checked apart."""
    panel, membership, kpis = _hand_panel()
    base = growth.portfolio_panel(panel, membership, window=W, kpis=kpis)
    for s, per in enumerate(PERIODS):
        bumped = panel.copy()
        sel = bumped["period"] == per
        bumped.loc[sel, "revenue"] *= 1.7
        bumped.loc[sel, "claim"] += 1
        bumped.loc[sel, "new_product_revenue"] *= 0.5
        bumped.loc[sel, "gross_profit"] *= 1.3
        k2 = kpis.copy()
        k2.loc[k2["period"] == per, "plan_attainment"] += 0.1
        pp = growth.portfolio_panel(bumped, membership, window=W, kpis=k2)
        for t_label, col in _columns_touched(base, pp):
            if col.startswith("revenue_volatility"):
                continue
            t = PERIODS.index(t_label)
            assert _allowed(col, t, s), f"{col} of {t_label} changed when {per} changed"
    # membership: a decision at period s reaches only the exposures of t = s+1 and the
    # outside-the-category outcomes measured for that t
    for s, per in enumerate(PERIODS[:-1]):
        flipped = membership.copy()
        sel = flipped["period"] == per
        flipped.loc[sel, "member"] = ~flipped.loc[sel, "member"].fillna(False)
        pp = growth.portfolio_panel(panel, flipped, window=W, kpis=kpis)
        for t_label, col in _columns_touched(base, pp):
            assert PERIODS.index(t_label) == s + 1, f"{col} of {t_label} moved with membership of {per}"


def test_exposures_long_format_and_categories():
    panel, membership, kpis = _hand_panel()
    ex = growth.exposures(panel, membership, window=W)
    assert set(ex["category"]) == {"key_revenue", "demanding", "advanced"}
    assert list(ex.columns[:6]) == ["portfolio", "period", "category", "share", "count_share", "presence"]
    assert ex["share"].between(0, 1).all()


def test_a_category_without_membership_has_empty_exposures_and_a_note():
    panel, membership, kpis = _hand_panel()
    membership = membership.copy()
    sel = membership["category"] == "advanced"
    membership.loc[sel, "member"] = pd.NA
    membership.loc[sel, "status"] = "not_computable"
    pp = growth.portfolio_panel(panel, membership, window=W)
    assert pp["share_advanced"].isna().all()
    assert pp["new_product_share_h1"].isna().all()
    assert any("advanced" in n for n in pp.attrs["notes"])
    pp2 = growth.portfolio_panel(panel, membership[~sel], window=W)
    assert "new_product_share_h1" not in pp2.columns
    assert any("new_product_share" in n for n in pp2.attrs["notes"])


def test_codebook_explains_every_column():
    panel, membership, kpis = _hand_panel()
    pp = growth.portfolio_panel(panel, membership, window=W, kpis=kpis)
    cb = growth.codebook(pp)
    assert cb["column"].tolist() == list(pp.columns)
    assert (cb["description_en"].str.len() > 5).all() and (cb["description_ru"].str.len() > 5).all()
    assert set(cb["role"]) == {"id", "size", "control", "exposure", "outcome"}
    row = cb.set_index("column").loc["claims_rate_h2"]
    assert row["periods"] == "t+1" and "t+1" in row["description_en"]
    assert cb.set_index("column").loc["revenue_growth_h1", "periods"] == "t … t+1"


def test_default_exposures_vary_after_removing_portfolio_and_period_means():
    """Every default exposure of a synthetic world — from the default rules and from the latent
    kinds — moves within portfolios over time (a measure constant by construction would be
    absorbed by the fixed effects and test nothing)."""
    from _worlds import world_data
    from analysis.categories.rules import classify
    from analysis.growth.fits import within_sd

    w, panel, latent = world_data(7, portfolios=10, periods=10, clients=30)
    rules = classify(panel, w.clients, window=4, kpis=w.kpis)
    for membership in (rules, latent):
        pp = growth.portfolio_panel(panel, membership, window=4)
        for k in CATEGORIES:
            for measure in ("share", "count_share"):
                col = growth.exposure_column(k, measure)
                assert within_sd(pp, col) > 0.01 * pp[col].std(), col
            assert pp[f"share_{k}"].between(0, 1).all()
        assert within_sd(pp, growth.SIZE_CONTROL) > 0


def test_world_panel_helper_matches_the_engine():
    """The tests' pandas aggregation of a world equals the engine's panel (same columns, values)."""
    from _worlds import world_panel
    from analysis.ingest import ClientBase
    from analysis.ingest.panel import client_period_panel
    from analysis.synth import generate

    w = generate(portfolios=3, periods=6, clients=10, seed=2)
    tx = w.transactions.assign(revenue=w.transactions["revenue_minor"] / 100, cost=w.transactions["cost_minor"] / 100)
    ev = w.events.assign(amount=np.where(w.events["amount_minor"] >= 0, w.events["amount_minor"] / 100, np.nan))
    base = ClientBase(clients=w.clients, transactions=tx.drop(columns=["revenue_minor", "cost_minor"]),
                      events=ev.drop(columns=["amount_minor"]), kpis=w.kpis)
    engine = client_period_panel(base).set_index(["client_id", "period"]).sort_index()
    mine = world_panel(w).set_index(["client_id", "period"]).sort_index()
    assert mine.index.equals(engine.index)
    for col in ("revenue", "gross_profit", "orders", "new_product_revenue", "claim"):
        np.testing.assert_allclose(mine[col].to_numpy(float), engine[col].to_numpy(float), rtol=1e-9, err_msg=col)
