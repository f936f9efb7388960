"""Periods as the data allow (freq, window), the company's own units (portfolio_by), several
company folders as one panel, and the one-company sample (issue 13, items 1, 2, 6, 7)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.errors import InputError
from analysis.growth import panel as growth
from analysis.report import study
from conftest import ROOT, run_cli

ONE_COMPANY = ROOT / "data" / "sample-one-company"
MONTH = re.compile(r"^\d{4}-\d{2}$")
QUARTER = re.compile(r"^\d{4}Q[1-4]$")


@pytest.fixture(scope="module")
def monthly(tmp_path_factory) -> Path:
    """A small monthly world of 3 portfolios over 14 months."""
    from analysis.synth import generate, write_world

    out = tmp_path_factory.mktemp("monthly")
    write_world(generate(portfolios=3, periods=14, freq="M", clients=12, seed=5, effects="none"), out)
    return out


@pytest.fixture(scope="module")
def teams(tmp_path_factory) -> Path:
    """A small one-company world: 3 account managers, 14 months, keyclients.yaml beside it."""
    from analysis.synth import generate, write_world

    out = tmp_path_factory.mktemp("teams")
    write_world(generate(managers=3, periods=14, freq="M", clients=15, seed=6, effects="one-company"), out)
    return out


# ---------------------------------------------------------------------------------------------
# freq and window


def test_monthly_study_has_month_labels_and_a_six_month_window(monthly):
    s = study.prepare(monthly, freq="M")
    assert s.freq == "M" and s.window == 6
    for frame in (s.panel, s.features, s.membership):
        assert frame["period"].map(lambda p: bool(MONTH.match(p))).all()
    assert s.panel["period"].nunique() == 14
    data = growth.portfolio_panel(s.panel, s.membership, window=s.window, kpis=s.base.kpis)
    # the first period with a full window of 6 months before it is the 7th month
    assert data["period"].min() == "2023-07"
    assert data["plan_attainment_h1"].notna().all()  # monthly KPIs join monthly periods


def test_freq_and_window_come_from_the_config_and_the_argument_wins(monthly, tmp_path):
    folder = shutil.copytree(monthly, tmp_path / "data")
    (folder / "keyclients.yaml").write_text("version: 1\nfreq: M\nwindow: 3\n", encoding="utf-8")
    s = study.prepare(folder)
    assert (s.freq, s.window) == ("M", 3)
    assert s.membership["period"].str.match(MONTH).all()
    q = study.prepare(folder, freq="Q", window=2)
    assert (q.freq, q.window) == ("Q", 2)
    assert q.panel["period"].str.match(QUARTER).all()
    assert study.settings(folder, freq="Q").window == 3  # the config's window, not the default
    with pytest.raises(InputError, match="freq must be Q"):
        study.settings(folder, freq="W")


def test_quarterly_sample_keeps_its_four_quarter_window():
    st = study.settings("")
    assert (st.freq, st.window, st.portfolio_by) == ("Q", 4, "")


# ---------------------------------------------------------------------------------------------
# units (portfolio_by)


def _brute_force_units(lines: pd.DataFrame, periods: list[str], window: int) -> dict:
    """Unit per (client, t) by direct loops: most revenue over t-W+1 … t, ties alphabetical."""
    out = {}
    for c, part in lines.groupby("client_id"):
        for t, label in enumerate(periods):
            span = periods[max(0, t - window + 1): t + 1]
            tot = part[part["period"].isin(span)].groupby("unit")["revenue"].sum()
            tot = tot[tot > 0]
            if len(tot):
                best = max(tot)
                out[(c, label)] = sorted(u for u, v in tot.items() if v == best)[0]
    return out


def test_unit_assignment_matches_a_direct_computation():
    from analysis.ingest import ClientBase
    from analysis.ingest.units import assign

    rng = np.random.default_rng(3)
    periods = [str(p) for p in pd.period_range("2024-01", periods=10, freq="M")]
    n = 400
    month = rng.integers(0, 10, n)
    lines = pd.DataFrame({
        "client_id": rng.choice([f"C{i}" for i in range(12)], n),
        "period": np.asarray(periods, dtype=object)[month],
        "unit": rng.choice(["Bob", "Ann", "Cid"], n),
        "revenue": rng.choice([100.0, 200.0, 300.0], n),  # few values: ties happen
    })
    tx = pd.DataFrame({"client_id": lines["client_id"], "revenue": lines["revenue"],
                       "date": pd.PeriodIndex(lines["period"], freq="M").to_timestamp() + pd.Timedelta(days=3),
                       "account_manager": lines["unit"]})
    base = ClientBase(clients=pd.DataFrame({"client_id": sorted(lines["client_id"].unique())}), transactions=tx)
    units = assign(base, by="account_manager", window=3, freq="M", periods=periods)
    got = {(r.client_id, r.period): r.portfolio for r in units.assignment.itertuples()}
    assert got == _brute_force_units(lines, periods, 3)
    # moves: every change of unit between a client's consecutive assigned periods
    expected = 0
    for _, part in units.assignment.groupby("client_id"):
        expected += int((part["portfolio"] != part["portfolio"].shift()).sum() - 1)
    assert len(units.moves) == expected
    assert (units.moves["from_unit"] != units.moves["to_unit"]).all()


def test_a_tie_goes_to_the_name_first_in_alphabetical_order():
    from analysis.ingest import ClientBase
    from analysis.ingest.units import assign

    tx = pd.DataFrame({"client_id": ["A", "A"], "revenue": [50.0, 50.0],
                       "date": pd.to_datetime(["2024-01-05", "2024-01-20"]), "account_manager": ["Zoe", "Max"]})
    base = ClientBase(clients=pd.DataFrame({"client_id": ["A"]}), transactions=tx)
    units = assign(base, by="account_manager", window=2, freq="M", periods=["2024-01", "2024-02"])
    assert units.assignment["portfolio"].tolist() == ["Max", "Max"]


def test_panel_over_the_managers_of_one_company(teams):
    s = study.prepare(teams)  # keyclients.yaml beside the data: freq M, portfolio_by account_manager
    truth = json.loads((teams / "truth.json").read_text(encoding="utf-8"))
    assert s.units is not None and s.units.by == "account_manager"
    assert sorted(s.panel["portfolio"].unique()) == sorted(truth["units"])
    # every feature row carries the unit of its own period, as the assignment says
    assert (s.features["portfolio"] == s.units.unit_of(s.features)).all()
    assert (s.membership["portfolio"] == s.units.unit_of(s.membership)).all()
    # managers change only where the generator moved a client: no other move is seen, and a
    # move shows once the new manager's revenue leads the window (late moves may not yet)
    moved = {c: e["moved"]["to"] for c, e in truth["clients"].items() if "moved" in e}
    seen = dict(zip(s.units.moves["client_id"], s.units.moves["to_unit"]))
    assert set(seen) <= set(moved) and len(seen) >= len(moved) / 2
    assert all(moved[c] == to for c, to in seen.items())
    data = growth.portfolio_panel(s.panel, s.membership, window=s.window, kpis=s.base.kpis)
    assert data["portfolio"].nunique() == 3
    assert data["plan_attainment_h1"].notna().all()  # the managers' own KPI rows join
    text = study.design_sentence(s, data)
    assert "3 units of `account_manager`" in text and "not companies" in text
    assert "fewer than 10" in text
    assert set(study.design_tables(s)) == {"unit_moves_by_period", "unit_moves"}


def test_portfolio_by_a_column_of_the_clients_table(monthly):
    s = study.prepare(monthly, freq="M", portfolio_by="org_type")
    by_client = s.base.clients.set_index("client_id")["org_type"]
    assert (s.panel["portfolio"] == s.panel["client_id"].map(by_client)).all()
    assert s.units.moves.empty


def test_portfolio_by_an_unknown_column_stops_with_the_columns_named(monthly):
    proc = run_cli("validate", "--data", monthly, "--portfolio-by", "channel")
    assert proc.returncode == 2
    assert "channel" in proc.stderr and "account_manager" in proc.stderr and "Traceback" not in proc.stderr


def test_portfolio_by_keeps_a_column_that_is_not_canonical(monthly, tmp_path):
    folder = shutil.copytree(monthly, tmp_path / "data")
    tx = pd.read_csv(folder / "transactions.csv", dtype=str)
    tx["Channel"] = np.where(tx["order_id"].str[-1].astype(int) % 2 == 0, "web", "phone")
    tx.to_csv(folder / "transactions.csv", index=False)
    s = study.prepare(folder, freq="M", portfolio_by="Channel")
    assert sorted(s.panel["portfolio"].unique()) == ["phone", "web"]


# ---------------------------------------------------------------------------------------------
# several companies


def test_companies_share_one_relative_money_scale(monthly, tmp_path):
    """A copy of one company with every amount ×100 (another currency) classifies the same."""
    root = tmp_path / "companies"
    a = shutil.copytree(monthly, root / "alpha")
    b = shutil.copytree(monthly, root / "beta")
    for name, cols in (("transactions", ["revenue", "cost"]), ("events", ["amount"])):
        df = pd.read_csv(b / f"{name}.csv", dtype=str, keep_default_na=False)
        for c in cols:
            v = pd.to_numeric(df[c].replace("", np.nan))
            df[c] = (v * 100).map(lambda x: "" if pd.isna(x) else f"{x:.2f}")
        df.to_csv(b / f"{name}.csv", index=False)
    s = study.prepare(root, freq="M")
    assert sorted(s.panel["portfolio"].unique()) == ["alpha", "beta"]
    assert s.base.clients["client_id"].str.match(r"^(alpha|beta):").all()
    tab = s.companies.set_index("company")
    assert tab.loc["beta", "median_client_period_revenue"] == pytest.approx(
        100 * tab.loc["alpha", "median_client_period_revenue"], rel=1e-6)
    # after rescaling, each company's median client-period revenue is the reference
    cp = s.panel[s.panel["revenue"] > 0].groupby(["portfolio"])["revenue"].median()
    assert cp.to_numpy() == pytest.approx([10_000, 10_000], rel=1e-3)
    m = s.membership[s.membership["category"].isin(["key_revenue", "key_profit"])].copy()
    m["client"] = m["client_id"].str.split(":").str[1]
    wide = m.pivot_table(index=["client", "period", "category"], columns="portfolio", values="member",
                         aggfunc="first")
    assert (wide["alpha"].astype("boolean") == wide["beta"].astype("boolean")).all()
    assert "research panel of 2 companies" in study.design_sentence(s)
    assert a.exists()


def test_a_company_with_bad_data_is_named(monthly, tmp_path):
    root = tmp_path / "companies"
    shutil.copytree(monthly, root / "good")
    bad = shutil.copytree(monthly, root / "bad")
    tx = pd.read_csv(bad / "transactions.csv", dtype=str)
    tx.loc[3, "revenue"] = "abc"
    tx.to_csv(bad / "transactions.csv", index=False)
    proc = run_cli("validate", "--data", root)
    assert proc.returncode == 2
    assert "bad/transactions.csv" in proc.stdout + proc.stderr and "Traceback" not in proc.stderr


# ---------------------------------------------------------------------------------------------
# synth: client-level effects and the one-company layout


def test_client_level_growth_effect_is_planted_as_recorded():
    """Same seed with and without the effect: members' extra log growth per period equals the
    recorded shift (a direct computation on the generated client × period revenue)."""
    from analysis.synth import generate

    eff = [{"category": "demanding", "outcome": "revenue_growth", "lag": 1, "size": 0.2, "level": "client"}]
    kw = dict(portfolios=3, periods=12, freq="Q", clients=30, seed=9)
    planted, null = generate(effects=eff, **kw), generate(effects="none", **kw)
    cal = [c for c in planted.truth["calibration"] if c.get("level") == "client"][0]
    assert cal["shift_per_period"] == pytest.approx(0.2 * cal["outcome_sd"])
    assert planted.truth["effects"] == [{**eff[0]}]

    def growth_gap(world):
        cp = world.client_periods.copy()
        cp["t"] = pd.PeriodIndex(cp["period"], freq="Q").asi8
        cp = cp.sort_values(["client_id", "t"])
        g = np.log(cp["revenue"]).diff()
        ok = (cp["client_id"] == cp["client_id"].shift()) & (cp["t"].diff() == 1)
        member = cp["client_id"].map(lambda c: "demanding" in world.truth["clients"][c]["kinds"])
        return g[ok & member].mean() - g[ok & ~member].mean()

    # churn and entry differ a little between the passes, so the match is close, not exact
    assert growth_gap(planted) - growth_gap(null) == pytest.approx(cal["shift_per_period"], abs=0.01)


def test_client_level_effects_are_checked():
    from analysis.synth import load_effects

    with pytest.raises(InputError, match="client-level effect acts on"):
        load_effects([{"category": "image", "outcome": "claims_rate", "size": 0.1, "level": "client"}])
    with pytest.raises(InputError, match="latent kinds"):
        load_effects([{"category": "key_revenue", "outcome": "retention", "size": 0.1, "level": "client"}])


def test_one_company_world_has_no_portfolio_column(teams):
    clients = pd.read_csv(teams / "clients.csv")
    tx = pd.read_csv(teams / "transactions.csv")
    truth = json.loads((teams / "truth.json").read_text(encoding="utf-8"))
    assert "portfolio" not in clients and "portfolio" not in tx
    assert sorted(tx["account_manager"].unique()) == sorted(truth["units"])
    assert truth["layout"] == "one-company" and truth["portfolio_by"] == "account_manager"
    assert {e.get("level", "portfolio") for e in truth["effects"]} == {"portfolio", "client"}
    assert "portfolio_by: account_manager" in (teams / "keyclients.yaml").read_text(encoding="utf-8")


@pytest.mark.slow
def test_one_company_sample_is_reproducible(tmp_path):
    """data/sample-one-company is exactly what its recorded command writes."""
    line = next(x for x in (ONE_COMPANY / "README.md").read_text(encoding="utf-8").splitlines()
                if x.strip().startswith("keyclients synth "))
    proc = run_cli(*line.split()[1:], "--out", tmp_path)
    assert proc.returncode == 0, proc.stderr
    for f in sorted(ONE_COMPANY.iterdir()):
        if f.name != "README.md":
            assert (tmp_path / f.name).read_bytes() == f.read_bytes(), f.name


def test_sample_names():
    assert run_cli("run", "one-company").returncode == 2
    proc = run_cli("run", "--sample", "nope")
    assert proc.returncode == 2 and "one-company" in proc.stderr


# ---------------------------------------------------------------------------------------------
# whole reports (slow)


@pytest.mark.slow
def test_monthly_report_over_two_companies(monthly_report):
    """--freq M and two --data folders: a monthly research panel, rendered end to end (the
    session's ``monthly_report``: a world like ``monthly`` and a second one of 2 portfolios)."""
    out = monthly_report["out"]
    pp = pd.read_csv(out / "tables" / "portfolio_panel.csv", dtype={"period": str})
    assert pp["period"].str.match(MONTH).all()
    assert sorted(pp["portfolio"].unique()) == sorted(monthly_report["companies"])
    cats = pd.read_csv(out / "tables" / "client_categories.csv", dtype={"period": str})
    assert cats["period"].str.match(MONTH).all()
    assert len(pd.read_csv(out / "tables" / "companies.csv")) == 2
    page = (out / "pages" / "03_growth_links.html").read_text(encoding="utf-8")
    assert "research panel of 2 companies" in page and "6 months" in page
    assert "synthetic" in (out / "index.html").read_text(encoding="utf-8").lower()


@pytest.mark.slow
def test_one_company_sample_report(one_company_report):
    out = one_company_report
    truth = json.loads((ONE_COMPANY / "truth.json").read_text(encoding="utf-8"))
    pp = pd.read_csv(out / "tables" / "portfolio_panel.csv", dtype={"period": str})
    assert sorted(pp["portfolio"].unique()) == sorted(truth["units"])
    assert pp["period"].str.match(MONTH).all() and pp["period"].min() == "2023-07"
    moves = pd.read_csv(out / "tables" / "unit_moves.csv")
    assert len(moves) > 0
    page = (out / "pages" / "03_growth_links.html").read_text(encoding="utf-8")
    assert "8 units of `account_manager`" in page and "not companies" in page
    assert f"{len(moves)} moves in all" in page.replace(",", "")


def test_few_units_ask_for_the_few_cluster_inference(monkeypatch):
    from analysis.growth import fits

    names = {"cr1": ("CR1", "CR1"), "cv3": ("the jackknife", "складной нож"), "wild": ("wild", "дикий")}
    monkeypatch.setattr(fits, "INFERENCE_NAMES", names, raising=False)
    monkeypatch.setattr(fits, "DEFAULT_INFERENCE", "cr1", raising=False)
    assert study.inference_options(8) == {"inference": "cv3"}
    assert study.inference_options(pd.DataFrame({"portfolio": list("abc")})) == {"inference": "cv3"}
    assert study.inference_options(30) == {} and study.inference_options(1) == {}
    monkeypatch.setattr(fits, "DEFAULT_INFERENCE", "wild")
    assert study.inference_options(8) == {"inference": "wild"}  # the default, when it is a few-cluster one
    monkeypatch.delattr(fits, "INFERENCE_NAMES")
    assert study.inference_options(8) == {}  # statistics without the option: the text flags it


def test_anonymised_units_carry_no_manager_name(teams, monkeypatch):
    monkeypatch.setenv("KEYCLIENTS_ANON_KEY", "test-key")
    s = study.prepare(teams, anonymize=True)
    truth = json.loads((teams / "truth.json").read_text(encoding="utf-8"))
    assert sorted(s.panel["portfolio"].unique()) == ["U01", "U02", "U03"]
    text = " ".join(map(str, [*s.membership["portfolio"].unique(), *s.units.moves.to_numpy().ravel(),
                              *s.base.kpis["portfolio"]]))
    assert not any(name in text for name in truth["units"])


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_month_labels_are_thinned_on_long_axes(lang):
    """36 months: revenue_trend and category_shares label quarter starts only (12 labels), the
    positions match the periods, both languages; 12 months keep every label."""
    import matplotlib.pyplot as plt

    from analysis.report import figures

    months = [str(p) for p in pd.period_range("2022-01", periods=36, freq="M")]
    assert figures.period_ticks(months[:12]) == list(range(12))
    assert [months[i] for i in figures.period_ticks(months)][:3] == ["2022-01", "2022-04", "2022-07"]
    assert len(figures.period_ticks([str(p) for p in pd.period_range("2018-01", periods=72, freq="M")])) == 12
    quarters = [str(p) for p in pd.period_range("2015Q1", periods=20, freq="Q")]
    assert [quarters[i] for i in figures.period_ticks(quarters)] == [f"{y}Q1" for y in range(2015, 2020)]
    rng = np.random.default_rng(0)
    panel = pd.DataFrame({"period": np.repeat(months[::-1], 3), "client_id": np.tile(["a", "b", "c"], 36),
                          "revenue": rng.uniform(1, 10, 108)})
    counts = pd.DataFrame({"period": np.repeat(months, 2), "category": np.tile(["image", "advanced"], 36),
                           "share": rng.uniform(0, 0.3, 72)})
    for fig in (figures.revenue_trend(panel, lang=lang), figures.category_shares(counts, lang=lang)):
        ax = fig.axes[-1] if len(fig.axes) == 2 else fig.axes[0]
        shown = [(round(x), t.get_text()) for x, t in zip(ax.get_xticks(), ax.get_xticklabels(), strict=True)]
        assert shown == [(i, months[i]) for i in range(0, 36, 3)], shown
        plt.close(fig)
