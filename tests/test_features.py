"""Features over the trailing window, checked against direct pandas computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.categories.features import FEATURES, available, client_features
from analysis.config import SAMPLE_DIR
from analysis.ingest import load
from analysis.ingest.panel import client_period_panel
from analysis.ingest.periods import period_axis


@pytest.fixture(scope="module")
def sample():
    base = load(SAMPLE_DIR)
    panel = client_period_panel(base)
    feats = client_features(panel, base.clients, kpis=base.kpis, transactions=base.transactions)
    return base, panel, feats


def tiny_panel() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Three clients in two portfolios over five quarters, with hand-countable numbers."""
    rows = [
        # client, portfolio, period, revenue, cost, orders, new, claim, trial, spec, prepay, deferral, incident, mgr
        ("A", "P1", "2024Q1", 100, 80, 2, 0, 1, 0, 0, 0, 0, 1, "m1"),
        ("A", "P1", "2024Q2", 100, 80, 2, 50, 0, 1, 0, 1, 1, 1, "m1"),
        ("A", "P1", "2024Q4", 200, 150, 4, 0, 1, 0, 1, 0, 0, 0, "m2"),
        ("A", "P1", "2025Q1", 100, 70, 1, 0, 0, 0, 0, 2, 0, 0, "m1"),
        ("B", "P1", "2024Q1", 50, 50, 1, 0, 0, 0, 0, 0, 0, 0, "m3"),
        ("B", "P1", "2024Q2", 50, 40, 1, 0, 0, 0, 0, 0, 0, 0, "m3"),
        ("C", "P2", "2024Q3", 300, 200, 3, 300, 0, 2, 0, 0, 0, 0, "m4"),
        ("C", "P2", "2025Q1", 300, 200, 3, 0, 0, 0, 0, 0, 0, 0, "m4"),
    ]
    cols = ["client_id", "portfolio", "period", "revenue", "cost", "orders", "new_product_revenue", "claim",
            "trial", "spec_requirement", "prepayment", "deferral_accepted", "incident", "account_manager"]
    panel = pd.DataFrame(rows, columns=cols)
    panel["revenue"] = panel["revenue"].astype(float)
    panel["cost"] = panel["cost"].astype(float)
    panel["gross_profit"] = panel["revenue"] - panel["cost"]
    panel["prepayment_amount"] = panel["prepayment"] * 10.0
    clients = pd.DataFrame({"client_id": ["A", "B", "C"], "portfolio": ["P1", "P1", "P2"],
                            "org_type": ["private", "government", "startup"], "founded_year": [2000, 1950, 2022],
                            "is_reference": [False, True, False]})
    return panel, clients


def test_period_axis_fills_gaps():
    assert period_axis(["2024Q1", "2024Q3"]) == ["2024Q1", "2024Q2", "2024Q3"]
    assert period_axis(["2024-11", "2025-01"]) == ["2024-11", "2024-12", "2025-01"]
    assert period_axis(["2023", "2021"]) == ["2021", "2022", "2023"]


def test_tiny_panel_by_hand():
    panel, clients = tiny_panel()
    kpis = pd.DataFrame({"portfolio": ["P1"] * 5, "period": ["2024Q1", "2024Q2", "2024Q3", "2024Q4", "2025Q1"],
                         "plan_attainment": [1.1, 0.9, 1.0, 1.0, 0.8]})
    f = client_features(panel, clients, window=2, kpis=kpis).set_index(["client_id", "period"])
    # B is active in the windows ending 2024Q1..2024Q3 (its last purchase 2024Q2), not after
    assert sorted(f.loc["B"].index) == ["2024Q1", "2024Q2", "2024Q3"]
    # A at 2024Q2 over the window 2024Q1-2024Q2
    a = f.loc[("A", "2024Q2")]
    assert a["revenue"] == 200 and a["gross_profit"] == 40 and a["margin"] == pytest.approx(0.2)
    assert a["orders"] == 4 and a["claims"] == 1 and a["claims_per_100_orders"] == pytest.approx(25)
    assert a["incidents"] == 2 and a["claims_per_incident"] == pytest.approx(0.5)
    assert a["deferrals_per_incident"] == pytest.approx(0.5)
    assert a["new_product_share"] == pytest.approx(50 / 200)
    assert a["prepayments"] == 1 and a["prepayment_amount"] == 10
    assert a["prepayments_behind_plan"] == 1 and a["behind_plan_periods"] == 1  # 2024Q2 below plan
    assert a["tenure"] == 2 and a["complete"]
    # A at 2024Q3: bought nothing that quarter; window 2024Q2-2024Q3
    a3 = f.loc[("A", "2024Q3")]
    assert a3["revenue"] == 100 and a3["recency"] == 1 and a3["active_periods"] == 1
    # A at 2025Q1: window 2024Q4-2025Q1, managers m2 (4 orders) and m1 (1 order)
    a5 = f.loc[("A", "2025Q1")]
    assert a5["manager_continuity"] == pytest.approx(4 / 5)
    # history to date: m1 2+2+1 = 5 orders of 9
    assert a5["manager_continuity_history"] == pytest.approx(5 / 9)
    assert a5["prepayment_rate_history"] == pytest.approx(3 / 4)  # 3 prepayments, 4 periods with purchases
    assert a5["claims_per_100_orders_history"] == pytest.approx(100 * 2 / 9)
    assert a5["prepayments_behind_plan"] == 2  # 2025Q1 behind plan (0.8)
    # revenue variability over the window [200, 100]
    assert a5["revenue_cv"] == pytest.approx(np.std([200, 100]) / 150)
    # first window is short
    assert not f.loc[("A", "2024Q1"), "complete"]
    # client age and attributes
    assert f.loc[("C", "2025Q1"), "client_age"] == 3
    assert f.loc[("B", "2024Q2"), "is_reference"]
    # C has no plan figures (its portfolio has no kpis): behind-plan counts are zero, not invented
    assert f.loc[("C", "2025Q1"), "behind_plan_periods"] == 0


def test_pareto_and_abc_match_a_direct_computation(sample):
    _, _, f = sample
    for period, g in f.groupby("period"):
        g = g.sort_values("revenue", ascending=False, kind="stable")
        total = g["revenue"].clip(lower=0).sum()
        cum = g["revenue"].clip(lower=0).cumsum() / total
        # ties aside, the cumulative share is this client's plus all larger ones'
        np.testing.assert_allclose(np.sort(g["revenue_cum_share"].to_numpy()), np.sort(cum.to_numpy()), rtol=1e-9)
        before = cum - g["revenue"] / total
        expected = np.where(before < 0.8, "A", np.where(before < 0.95, "B", "C"))
        assert (g["abc_revenue"].to_numpy() == expected).mean() > 0.999
        assert g["revenue_share"].sum() == pytest.approx(1.0)


def test_window_sums_match_rolling(sample):
    _, panel, f = sample
    periods = period_axis(panel["period"].unique())
    wide = (panel.pivot_table(index="client_id", columns="period", values="revenue", aggfunc="sum", fill_value=0.0)
            .reindex(columns=periods, fill_value=0.0))
    rolled = wide.T.rolling(4, min_periods=1).sum().T.stack()
    got = f.set_index(["client_id", "period"])["revenue"]
    np.testing.assert_allclose(got.to_numpy(), rolled.reindex(got.index).to_numpy(), rtol=1e-12)
    claims = (panel.pivot_table(index="client_id", columns="period", values="claim", aggfunc="sum", fill_value=0)
              .reindex(columns=periods, fill_value=0).T.rolling(4, min_periods=1).sum().T.stack())
    np.testing.assert_allclose(f.set_index(["client_id", "period"])["claims"].to_numpy(),
                               claims.reindex(got.index).to_numpy())


def test_every_feature_present_and_rows_unique(sample):
    _, _, f = sample
    assert set(FEATURES) <= set(f.columns)
    assert not f.duplicated(["client_id", "period"]).any()
    av = available(f)
    assert all(av.values()), [k for k, v in av.items() if not v]


def test_missing_sources_leave_features_empty(sample):
    base, panel, _ = sample
    no_cost = panel.drop(columns=["cost", "gross_profit", "account_manager"], errors="ignore")
    f = client_features(no_cost, base.clients[["client_id", "portfolio"]])
    av = available(f)
    for feat in ("gross_profit", "margin", "profit_share", "abc_profit", "client_age", "org_type",
                 "prepayments_behind_plan", "manager_continuity"):
        assert not av[feat], feat
    assert av["revenue"] and av["claims"]
    no_events = panel.drop(columns=["claim", "trial", "spec_requirement", "prepayment", "deferral_accepted",
                                    "incident", "prepayment_amount"])
    f = client_features(no_events, base.clients, kpis=base.kpis)
    assert not available(f)["claims"] and not available(f)["prepayment_rate_history"]
    assert available(f)["margin"]
