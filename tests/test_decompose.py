"""Growth by kind: exact to the cent, attribution by main kind, shares."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from analysis.config import CATEGORIES
from analysis.errors import InputError
from analysis.growth import decompose


def _random_base(seed: int, n_clients: int = 60, periods: int = 7):
    rng = np.random.default_rng(seed)
    labels = [str(p) for p in pd.period_range("2024Q1", periods=periods, freq="Q")]
    rows = []
    for c in range(n_clients):
        for t, per in enumerate(labels):
            if rng.uniform() < 0.35:
                continue  # not active this period: no row
            cents = int(rng.integers(-5_000, 9_000_000))
            cost = int(rng.integers(0, 9_000_000))
            if rng.uniform() < 0.05:
                cents = 0
            rows.append({"client_id": f"C{c:03d}", "portfolio": f"P{c % 3}", "period": per,
                         "revenue": cents / 100, "gross_profit": (cents - cost) / 100,
                         "_rev": Decimal(cents) / 100, "_gp": Decimal(cents - cost) / 100})
    panel = pd.DataFrame(rows)
    mem = []
    for c in range(n_clients):
        for t, per in enumerate(labels):
            for k in CATEGORIES:
                member = pd.NA if t < 2 else bool(rng.uniform() < 0.2)
                mem.append({"client_id": f"C{c:03d}", "portfolio": f"P{c % 3}", "period": per, "category": k,
                            "member": member})
    membership = pd.DataFrame(mem)
    membership["member"] = membership["member"].astype("boolean")
    return panel, membership, labels


@pytest.mark.parametrize("seed", range(4))
def test_sums_to_the_cent_on_random_data(seed):
    panel, membership, labels = _random_base(seed)
    table = decompose.growth_by_kind(panel, membership)
    # the company's change computed directly, in Decimal, from the panel
    for measure, exact in (("revenue", "_rev"), ("gross_profit", "_gp")):
        totals = {p: sum(panel.loc[panel["period"] == p, exact], Decimal(0)) for p in labels}
        part = table[table["measure"] == measure]
        for t in range(1, len(labels)):
            rows = part[part["period"] == labels[t]]
            want = int((totals[labels[t]] - totals[labels[t - 1]]) * 100)
            assert int(decompose.to_minor(rows["change"]).sum()) == want
            assert int(decompose.to_minor(rows["company_change"].iloc[:1])[0]) == want
            comps = decompose.to_minor(rows[list(decompose.COMPONENTS)].to_numpy().ravel()).reshape(len(rows), -1)
            assert (comps.sum(axis=1) == decompose.to_minor(rows["change"])).all()
            assert (decompose.to_minor(rows["value"]) - decompose.to_minor(rows["prev_value"])
                    == decompose.to_minor(rows["change"])).all()
            assert int(decompose.to_minor(rows["value"]).sum()) == int(totals[labels[t]] * 100)
    shares = decompose.growth_shares(table, since=labels[1])
    for measure, exact in (("revenue", "_rev"), ("gross_profit", "_gp")):
        s = shares[shares["measure"] == measure]
        first = sum(panel.loc[panel["period"] == labels[0], exact], Decimal(0))
        last = sum(panel.loc[panel["period"] == labels[-1], exact], Decimal(0))
        assert int(decompose.to_minor(s["start_value"]).sum()) == int(first * 100)
        assert int(decompose.to_minor(s["change"]).sum()) == int((last - first) * 100)
        assert s["share_of_gains"].sum() == pytest.approx(1.0)
        assert s["share_of_new_clients"].sum() == pytest.approx(1.0)


def test_attribution_by_main_kind_and_components():
    # three clients, two periods; A is image and key_revenue (image wins by priority), B holds no
    # kind, C is new in period 2 and key_revenue then
    panel = pd.DataFrame({
        "client_id": ["A", "B", "A", "C"], "portfolio": "all",
        "period": ["2024Q1", "2024Q1", "2024Q2", "2024Q2"],
        "revenue": [100.10, 50.00, 80.05, 30.00], "gross_profit": [10.0, 5.0, 12.0, 3.0],
    })
    mem = []
    for cid, per, kinds in (("A", "2024Q1", {"image", "key_revenue"}), ("B", "2024Q1", set()),
                            ("A", "2024Q2", {"image"}), ("C", "2024Q2", {"key_revenue"})):
        for k in CATEGORIES:
            mem.append({"client_id": cid, "portfolio": "all", "period": per, "category": k, "member": k in kinds})
    table = decompose.growth_by_kind(panel, pd.DataFrame(mem))
    rev = table[table["measure"] == "revenue"].set_index("kind")
    assert rev.loc["image", "shrunk"] == pytest.approx(-20.05) and rev.loc["image", "change"] == pytest.approx(-20.05)
    assert rev.loc["none", "lost"] == pytest.approx(-50.0) and rev.loc["none", "lost_clients"] == 1
    assert rev.loc["key_revenue", "won"] == pytest.approx(30.0)
    assert rev.loc["key_revenue", "new_clients"] == 1
    assert rev["change"].sum() == pytest.approx(110.05 - 150.10)
    assert "undecided" not in rev.index  # nobody was undecided: no empty group


def test_one_period_is_refused():
    panel = pd.DataFrame({"client_id": ["A"], "portfolio": "all", "period": ["2024Q1"], "revenue": [1.0]})
    mem = pd.DataFrame({"client_id": ["A"], "period": ["2024Q1"], "category": ["image"], "member": [True]})
    with pytest.raises(InputError, match="at least 2 periods"):
        decompose.growth_by_kind(panel, mem)


def test_without_gross_profit_only_revenue():
    panel, membership, _ = _random_base(3)
    panel["gross_profit"] = np.nan
    table = decompose.growth_by_kind(panel, membership)
    assert set(table["measure"]) == {"revenue"}
    assert any("gross_profit" in n for n in table.attrs["notes"])


def test_sentence_is_descriptive_in_both_languages():
    panel, membership, labels = _random_base(5)
    shares = decompose.growth_shares(decompose.growth_by_kind(panel, membership))
    en, ru = decompose.shares_sentence(shares, "en"), decompose.shares_sentence(shares, "ru")
    assert "not what caused it" in en and "не его причин" in ru
    assert not any(w in en.lower() for w in ("because", "drives", "caused by", "leads to"))


@pytest.mark.slow
def test_sample_report_decomposition_sums_to_the_orders_to_the_cent(sample_report):
    """growth_by_kind.csv against the sample's order lines, summed as Decimal from the CSV text."""
    from conftest import SAMPLE

    tx = pd.read_csv(SAMPLE / "transactions.csv", dtype=str, keep_default_na=False)
    quarter = pd.PeriodIndex(pd.to_datetime(tx["date"]), freq="Q").astype(str)
    totals: dict[str, Decimal] = {}
    for q, amount in zip(quarter, tx["revenue"]):
        totals[q] = totals.get(q, Decimal(0)) + Decimal(amount)
    table = pd.read_csv(sample_report / "tables" / "growth_by_kind.csv")
    rev = table[table["measure"] == "revenue"]
    labels = sorted(totals)
    for prev, cur in zip(labels, labels[1:]):
        rows = rev[rev["period"] == cur]
        assert int(decompose.to_minor(rows["change"]).sum()) == int((totals[cur] - totals[prev]) * 100), cur
    page = (sample_report / "pages" / "04_case_study.html").read_text(encoding="utf-8")
    assert "Where the growth came from" in page and "not what caused it" in page
