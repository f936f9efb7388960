"""The engine path: canonical files read and checked by DuckDB in place (analysis.ingest.engine).

The panel read this way must equal the panel of the tolerant pandas path (``load`` then
``client_period_panel``) exactly; the checks must count every planted bad cell.
"""

from __future__ import annotations

import shutil

import duckdb
import pandas as pd
import pytest

from _engine_data import mixed_managers
from analysis.config import SAMPLE_DIR
from analysis.errors import InputError
from analysis.ingest import load
from analysis.ingest.engine import NotScannable, check, connect, panel_from_files, scan
from analysis.ingest.panel import client_period_panel


@pytest.fixture(scope="module")
def sample_panel():
    return client_period_panel(load(SAMPLE_DIR))


def _copy_sample(tmp_path):
    for name in ("clients.csv", "transactions.csv", "events.csv"):
        shutil.copy(SAMPLE_DIR / name, tmp_path / name)
    return tmp_path


def test_csv_in_place_equals_pandas_path(sample_panel):
    pd.testing.assert_frame_equal(panel_from_files(SAMPLE_DIR), sample_panel, check_exact=True)


def test_parquet_in_place_equals_pandas_path(tmp_path, sample_panel):
    con = duckdb.connect()
    types = {"transactions": "* REPLACE (CAST(revenue AS DECIMAL(18,2)) AS revenue, CAST(date AS DATE) AS date)",
             "events": "* REPLACE (CAST(date AS DATE) AS date)", "clients": "*"}
    for table, sel in types.items():
        con.sql(f"COPY (SELECT {sel} FROM read_csv('{SAMPLE_DIR / (table + '.csv')}')) "
                f"TO '{tmp_path / (table + '.parquet')}' (FORMAT parquet)")
    pd.testing.assert_frame_equal(panel_from_files(tmp_path), sample_panel, check_exact=True)


def test_months_equal_pandas_path():
    expected = client_period_panel(load(SAMPLE_DIR), freq="M")
    got = panel_from_files(SAMPLE_DIR, freq="M")
    assert got["period"].str.match(r"^\d{4}-\d{2}$").all()
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_money_sums_are_exact_cents(tmp_path):
    # 0.10 + 0.20 ten thousand times: float summation drifts, DECIMAL does not
    n = 10_000
    pd.DataFrame({"client_id": ["A"], "portfolio": ["P"]}).to_csv(tmp_path / "clients.csv", index=False)
    tx = pd.DataFrame({"client_id": "A", "date": "2024-02-01", "revenue": ["0.10", "0.20"] * (n // 2),
                       "cost": "0.01"})
    tx.to_csv(tmp_path / "transactions.csv", index=False)
    panel = panel_from_files(tmp_path)
    assert panel["revenue"].tolist() == [1500.0]
    assert panel["cost"].tolist() == [100.0]
    assert panel["orders"].tolist() == [n]
    assert panel["period"].tolist() == ["2024Q1"]


def test_semicolon_csv_is_refused(tmp_path):
    _copy_sample(tmp_path)
    path = tmp_path / "transactions.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",", ";"), encoding="utf-8")
    with pytest.raises(NotScannable, match="comma-separated"):
        scan(tmp_path)


def test_day_first_dates_are_refused(tmp_path):
    _copy_sample(tmp_path)
    tx = pd.read_csv(tmp_path / "transactions.csv", dtype=str, keep_default_na=False)
    tx["date"] = pd.to_datetime(tx["date"]).dt.strftime("%d.%m.%Y")
    tx.to_csv(tmp_path / "transactions.csv", index=False)
    with pytest.raises(NotScannable, match="YYYY-MM-DD"):
        scan(tmp_path)


def test_missing_canonical_column_is_refused(tmp_path):
    _copy_sample(tmp_path)
    tx = pd.read_csv(tmp_path / "transactions.csv").rename(columns={"revenue": "Выручка"})
    tx.to_csv(tmp_path / "transactions.csv", index=False)
    with pytest.raises(NotScannable, match="revenue"):
        scan(tmp_path)


def test_unknown_engine_is_an_input_error():
    with pytest.raises(InputError, match="duckdb, spark"):
        connect("postgres")


def test_clean_sample_has_no_problems():
    assert check(SAMPLE_DIR).empty


def test_check_counts_every_planted_problem(tmp_path):
    _copy_sample(tmp_path)
    tx = pd.read_csv(tmp_path / "transactions.csv", dtype=str, keep_default_na=False)
    tx.loc[[3, 10], "date"] = "not a date"
    tx.loc[[5], "revenue"] = "12 руб."
    tx.loc[[7, 8, 9], "revenue"] = "-5.00"
    tx.loc[[11], "client_id"] = ""
    tx.loc[[12, 13], "client_id"] = "NOBODY"
    tx.to_csv(tmp_path / "transactions.csv", index=False)
    ev = pd.read_csv(tmp_path / "events.csv", dtype=str, keep_default_na=False)
    ev.loc[[0, 1, 2, 3], "type"] = "phone_call"
    ev.to_csv(tmp_path / "events.csv", index=False)
    cl = pd.read_csv(tmp_path / "clients.csv", dtype=str, keep_default_na=False)
    pd.concat([cl, cl.iloc[[0, 1]]]).to_csv(tmp_path / "clients.csv", index=False)

    problems = check(tmp_path)
    found = {(r.file, r.column, r.check.split(" (")[0]): (r.count, r.lines) for r in problems.itertuples()}
    # record numbers count data lines from 1: row 3 of the frame is the 4th line after the header
    assert found[("transactions.csv", "date", "not a date")] == (2, "4, 11")
    assert found[("transactions.csv", "revenue", "not a number")] == (1, "6")
    assert found[("transactions.csv", "revenue", "negative revenue")] == (3, "8, 9, 10")
    assert found[("transactions.csv", "client_id", "empty")] == (1, "12")
    assert found[("transactions.csv", "client_id", "client not in the clients table")] == (2, "13, 14")
    assert found[("events.csv", "type", "not an event type")] == (4, "1, 2, 3, 4")
    assert "'phone_call'" in problems.loc[problems["column"] == "type", "check"].iloc[0]
    assert found[("clients.csv", "client_id", "client id listed more than once")][0] == 2
    assert set(problems["severity"]) == {"error"}
    assert len(problems) == 7


def test_returns_allow_negative_revenue(tmp_path):
    _copy_sample(tmp_path)
    tx = pd.read_csv(tmp_path / "transactions.csv", dtype=str, keep_default_na=False)
    tx.loc[[7], "revenue"] = "-5.00"
    tx.to_csv(tmp_path / "transactions.csv", index=False)
    assert len(check(tmp_path)) == 1
    assert check(tmp_path, returns=True).empty


def test_engine_comes_from_the_option_then_the_config(tmp_path):
    from analysis.cli import resolve_engine

    cfg = tmp_path / "keyclients.yaml"
    cfg.write_text("version: 1\nengine: spark\n", encoding="utf-8")
    assert resolve_engine(None, cfg) == "spark"
    assert resolve_engine("duckdb", cfg) == "duckdb"
    assert resolve_engine(None, None, tmp_path) == "spark"  # a keyclients.yaml beside the data
    assert resolve_engine(None, None) == "duckdb"
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nengine: postgres\n", encoding="utf-8")
    with pytest.raises(InputError, match="engine"):
        resolve_engine(None, bad)


def test_cli_refuses_an_unknown_engine(tmp_path):
    from typer.testing import CliRunner

    from analysis.cli import app

    result = CliRunner().invoke(app, ["classify", "--data", str(SAMPLE_DIR), "--out", str(tmp_path / "m.csv"),
                                      "--engine", "postgres"])
    assert result.exit_code == 2
    assert "duckdb or spark" in result.output
    assert not (tmp_path / "m.csv").exists()


def test_check_reads_typed_parquet(tmp_path):
    _copy_sample(tmp_path)
    con = duckdb.connect()
    con.sql(f"COPY (SELECT * REPLACE (CASE WHEN order_id IN ('SO-0000002', 'SO-0000005') THEN -1.5 ELSE revenue END "
            f"AS revenue) FROM read_csv('{tmp_path / 'transactions.csv'}')) TO '{tmp_path / 'transactions.parquet'}' "
            "(FORMAT parquet)")
    (tmp_path / "transactions.csv").unlink()
    problems = check(tmp_path)
    assert problems[["file", "column", "count", "lines"]].values.tolist() == [
        ["transactions.parquet", "revenue", 2, "2, 5"]]


def test_study_read_in_engine_equals_the_pandas_path(tmp_path):
    # the engine path of `run --engine spark` (here on DuckDB): the order lines stay in the engine,
    # only the panel, the manager counts and the small tables come back — and classify the same
    from analysis.categories import rules
    from analysis.report import study

    folder = mixed_managers(tmp_path)
    direct = study.prepare(folder)
    st = study.settings(folder)
    base, panel, managers = study._read_in_engine(folder, st, "duckdb", "")
    assert base.transactions is None and base.events is None
    pd.testing.assert_frame_equal(panel, direct.panel, check_exact=True)
    pd.testing.assert_frame_equal(base.clients, direct.base.clients, check_exact=True)
    pd.testing.assert_frame_equal(base.kpis, direct.base.kpis, check_exact=True)
    # the counts are the order lines grouped by hand
    tx = direct.base.transactions.dropna(subset=["account_manager"])
    by_hand = (tx.assign(period=tx["date"].dt.to_period("Q").astype(str))
               .groupby(["client_id", "period", "account_manager"]).size())
    by_hand = by_hand[by_hand.index.get_level_values("period").isin(set(panel["period"]))]
    counted = managers.set_index(["client_id", "period", "account_manager"])["orders"]
    assert counted.to_dict() == by_hand.to_dict()
    assert (managers.groupby(["client_id", "period"]).size() > 1).any()
    # the same counts from order lines already in pandas (the path of files the engine cannot read)
    from analysis.ingest.panel import manager_orders_of

    of_frames = manager_orders_of(direct.base, engine="duckdb", periods=panel["period"].unique())
    pd.testing.assert_frame_equal(of_frames, managers, check_exact=True)
    kw = dict(window=st.window, kpis=base.kpis, transactions=managers)
    feats = study.client_features(panel, base.clients, **kw)
    pd.testing.assert_frame_equal(feats, direct.features, check_exact=True)
    assert feats["manager_continuity"].lt(1).any()
    membership = rules.classify(panel, base.clients, rulebook=direct.rulebook, features=feats, **kw)
    pd.testing.assert_frame_equal(membership, direct.membership, check_exact=True)
    # one portfolio, filtered in the engine
    one = study.prepare(folder, portfolio="P03")
    base, panel, managers = study._read_in_engine(folder, st, "duckdb", "P03")
    pd.testing.assert_frame_equal(panel, one.panel, check_exact=True)
    pd.testing.assert_frame_equal(base.clients, one.base.clients, check_exact=True)
    assert set(managers["client_id"]) <= set(one.base.clients["client_id"])


def test_bad_input_on_the_engine_path_is_one_message(tmp_path):
    from analysis.report import study

    folder = mixed_managers(tmp_path)
    tx = pd.read_csv(folder / "transactions.csv", dtype=str, keep_default_na=False)
    tx.loc[[3], "date"] = "not a date"
    tx.to_csv(folder / "transactions.csv", index=False)
    with pytest.raises(InputError) as err:
        study.check_in_engine(folder, study.settings(folder), "duckdb")
    text = str(err.value)
    assert text.startswith(f"{folder}: 1 error(s) in the input; nothing was written")
    assert "transactions.csv, column date: not a date" in text and "YYYY-MM-DD" in text
    with pytest.raises(InputError, match="not a date"):
        study._read_in_engine(folder, study.settings(folder), "duckdb", "")


def test_engine_path_counts_identical_order_lines(tmp_path):
    folder = mixed_managers(tmp_path)
    tx = pd.read_csv(folder / "transactions.csv", dtype=str, keep_default_na=False)
    doubled = pd.concat([tx, tx.iloc[: len(tx) // 50]])  # 2 % of the lines again: an error
    doubled.to_csv(folder / "transactions.csv", index=False)
    from analysis.ingest import validate

    expected = validate(folder).problems
    assert expected["check"].str.startswith("identical order lines").any()
    from analysis.ingest.engine import check_in_engine

    what = f"identical order lines: {len(tx) // 50:,} of {len(doubled):,} lines"
    with pytest.raises(InputError, match=what):
        check_in_engine(folder)
    one = tx.iloc[list(range(len(tx))) + [0]]  # one line repeated: a warning, as in load
    one.to_csv(folder / "transactions.csv", index=False)
    assert check_in_engine(folder) == [
        "warning: transactions.csv, : identical order lines: 1 of "
        f"{len(tx) + 1:,} lines repeat an earlier one (0.0% of the lines)"]


def test_files_the_engine_would_misread_go_to_the_tolerant_readers(tmp_path):
    from analysis.report import study

    folder = mixed_managers(tmp_path)
    tx = pd.read_csv(folder / "transactions.csv", dtype=str, keep_default_na=False)
    tx.assign(vat_included="true").to_csv(folder / "transactions.csv", index=False)
    assert study._read_in_engine(folder, study.settings(folder), "duckdb", "") is None
    assert study.check_in_engine(folder, study.settings(folder), "duckdb") is False


def test_dates_in_the_future_warn_as_in_the_pandas_validation(tmp_path):
    """Order lines and events dated after today: a warning (file, column, count, first date, fix)
    in the engine's checks as in :func:`analysis.ingest.validate`, the same notes, the run goes on."""
    from analysis.ingest import load, validate
    from analysis.ingest.engine import check_in_engine

    _copy_sample(tmp_path)
    tx = pd.read_csv(tmp_path / "transactions.csv", dtype=str, keep_default_na=False)
    tx.loc[[4], "date"] = "2091-03-02"
    tx.loc[[2, 9], "date"] = "2090-07-15"
    tx.to_csv(tmp_path / "transactions.csv", index=False)
    ev = pd.read_csv(tmp_path / "events.csv", dtype=str, keep_default_na=False)
    ev.loc[[1], "date"] = "2099-12-31"
    ev.to_csv(tmp_path / "events.csv", index=False)

    problems = check(tmp_path)
    found = {(r.file, r.column, r.check): (r.severity, r.count, r.lines) for r in problems.itertuples()}
    assert found == {
        ("transactions.csv", "date", "date in the future (e.g. 2090-07-15)"): ("warning", 3, "3, 5, 10"),
        ("events.csv", "date", "date in the future (e.g. 2099-12-31)"): ("warning", 1, "2")}
    pandas = validate(tmp_path).problems
    pandas = pandas[pandas["check"].str.startswith("date in the future")]  # (it also sees the empty months)
    assert sorted(zip(pandas["file"], pandas["column"], pandas["check"], pandas["count"], pandas["fix"])) == sorted(
        zip(problems["file"], problems["column"], problems["check"], problems["count"], problems["fix"]))
    warned = [n for n in load(tmp_path).notes if "date in the future" in n]
    assert sorted(check_in_engine(tmp_path)) == sorted(warned) and len(warned) == 2
