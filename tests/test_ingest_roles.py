"""Roles by content and what validate must not let pass: ignore, filter, ids written two ways,
money and VAT, doubled exports, clients without orders, partial periods, whitespace and fixed-width
text, one file of order lines."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from analysis.cli import app
from analysis.ingest import load, validate
from analysis.ingest.dataconfig import TableSpec
from analysis.ingest.periods import partial_periods
from analysis.ingest.readers import detect_delimiter, read_table
from ingest_helpers import TRANSACTIONS, write_style

runner = CliRunner()


def _tx(folder, fn):
    df = pd.read_csv(folder / "transactions.csv", dtype=str, keep_default_na=False)
    fn(df).to_csv(folder / "transactions.csv", index=False)


def test_whitespace_log_and_fixed_width_report_are_read(tmp_path):
    log = tmp_path / "log.txt"
    log.write_text("Transaction log 2024\nclient  date        amount\nC1  2024-01-05  1234,50\n"
                   "C22 2024-02-29 0,10\n", encoding="utf-8")
    raw = read_table(log, TableSpec())
    assert raw.detected["delimiter"] == "whitespace"
    assert raw.frame.columns.tolist() == ["client", "date", "amount"]
    assert raw.frame.loc[4].tolist() == ["C22", "2024-02-29", "0,10"] and raw.frame.index.tolist() == [3, 4]
    rep = tmp_path / "report.dat"
    rep.write_text("Client    Name            Amount\nC1        Acme, Ltd         12.50\n"
                   "C2        Бета Групп      1000.00\nИтого                     1012.50\n", encoding="cp1251")
    raw = read_table(rep, TableSpec())
    assert raw.detected["delimiter"] == "fixed" and raw.detected["encoding"] == "cp1251"
    assert raw.frame["Name"].tolist() == ["Acme, Ltd", "Бета Групп"]  # a comma and a space inside a value
    assert raw.frame["Amount"].tolist() == ["12.50", "1000.00"] and raw.detected["total_rows"] == [4]


@pytest.mark.parametrize("delim", [",", ";", "\t", "|"])
def test_a_delimiter_beats_spaces_inside_values(delim):
    dec = "." if delim == "," else ","
    lines = [delim.join(["id", "name", "revenue"])] + [delim.join([f"{i:05d}", f"ООО «Клиент {i}»", f"{i}{dec}50"])
                                                       for i in range(30)]
    assert detect_delimiter(lines) == delim


def test_ignore_and_columns_left_out_are_not_detected(tmp_path):
    folder = write_style(tmp_path / "i", "standard")
    cfg = {"tables": {"transactions": {"ignore": ["cost", "Комментарий"]}}}
    report = validate(folder, config=cfg)
    assert report.ok and "cost" not in report.base.transactions
    assert "column listed under `ignore:` is not in the file" in report.message() and "Комментарий" in report.message()
    cfg = {"tables": {"transactions": {"ignore": ["revenue"], "columns": {"revenue": "revenue"}}}}
    report = validate(folder, config=cfg)
    assert not report.ok and "column named in the config for revenue is listed under `ignore:` too" in report.message()


def test_filters_keep_or_drop_rows_and_say_what_went(tmp_path):
    folder = write_style(tmp_path / "f", "standard")
    _tx(folder, lambda df: df.assign(Status=["ok", "Cancelled", "ok", " отменён ", "ok", "ok"]))
    report = validate(folder, config={"tables": {"transactions": {"filter": {"Status": {"drop": ["cancelled",
                                                                                               "Отменён"]}}}}})
    assert report.ok and report.base.transactions["revenue"].tolist() == [1234567.89, 2500.00, 12.34, 0.20]
    d = report.dropped.iloc[0]
    assert (d["lines"], d["revenue"], d["detail"]) == (2, 1000.09, "Status: drop cancelled, Отменён")
    report = validate(folder, config={"tables": {"transactions": {"filter": {"account_manager": {"keep": ["Ann"]}}}}})
    assert report.base.transactions["account_manager"].tolist() == ["Ann", "Ann"]
    report = validate(folder, config={"tables": {"transactions": {"filter": {"Statuss": {"drop": ["x"]}}}}})
    assert not report.ok and "column named under `filter:` is not in the file" in report.message()


def test_ids_written_two_ways_one_message_and_the_fix(tmp_path):
    folder = write_style(tmp_path / "w", "standard")
    cl = pd.read_csv(folder / "clients.csv", dtype=str)
    cl["client_id"] = ["0001", "0002", "0003", "0004"]
    cl.to_csv(folder / "clients.csv", index=False)
    for table in ("transactions", "events"):
        df = pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)
        df["client_id"] = df["client_id"].str[1:] + ".0"  # C1 → 1.0, as Excel writes it
        df.to_csv(folder / f"{table}.csv", index=False)
    report = validate(folder)
    assert not report.ok
    errs = report.errors
    assert len(errs) == 2 and errs["check"].str.contains("client ids written two ways").all()
    assert "'1.0' here is '0001' in clients.csv" in report.message()
    assert "zero_pad: 4" in report.message()
    base = load(folder, config={"tables": {"transactions": {"zero_pad": 4}, "events": {"zero_pad": 4}}})
    assert base.transactions["client_id"].tolist() == ["0001", "0001", "0002", "0003", "0004", "0001"]
    base = load(folder, config={"tables": {t: {"id_format": "number"} for t in ("clients", "transactions", "events")}})
    assert base.clients["client_id"].tolist() == ["1", "2", "3", "4"]


def test_vat_amount_gives_net_revenue_and_is_never_the_flag(tmp_path):
    folder = write_style(tmp_path / "v", "standard")
    vat = (TRANSACTIONS["revenue"] / 6).round(2)
    _tx(folder, lambda df: df.rename(columns={"revenue": "Сумма с НДС"}).assign(**{"В т.ч. НДС": vat.map("{:.2f}".format)}))
    base = load(folder)
    assert base.transactions["revenue"].tolist() == (TRANSACTIONS["revenue"] - vat).round(2).tolist()
    assert "vat_included" not in base.transactions
    _tx(folder, lambda df: df.assign(**{"В т.ч. НДС": ["1", "0", "1", "1", "0", "1"]}))  # now a yes/no flag
    report = validate(folder)
    assert report.ok and base.transactions is not None
    assert "vat_included" in report.base.transactions
    assert report.base.transactions["revenue"].tolist() == TRANSACTIONS["revenue"].tolist()
    _tx(folder, lambda df: df.assign(**{"В т.ч. НДС": ["9999999", "0", "1", "1", "0", "1"]}))
    report = validate(folder)
    assert not report.ok and "VAT amount larger than the amount it is part of" in report.message()


def test_doubled_export_stops_unless_kept(tmp_path):
    folder = write_style(tmp_path / "d", "standard")
    _tx(folder, lambda df: pd.concat([df, df.iloc[[1, 3]]], ignore_index=True))
    report = validate(folder)
    assert not report.ok
    msg = report.message()
    assert "identical order lines: 2 of 8 lines repeat an earlier one (25.0% of the lines" in msg
    assert "first repeated at line 8 (same as line 3)" in msg and "duplicates: keep" in msg
    report = validate(folder, config={"duplicates": "keep"})
    assert report.ok and len(report.base.transactions) == 8
    assert any("kept (`duplicates: keep`)" in n for n in report.notes)


def test_partial_periods_quarterly_and_monthly():
    dates = pd.Series(pd.date_range("2023-03-25", "2024-05-10", freq="D"))
    q = partial_periods(dates, "Q")
    assert q[["period", "side", "days_covered", "days_in_period"]].values.tolist() == [
        ["2023Q1", "first", 7, 90], ["2024Q2", "last", 40, 91]]
    m = partial_periods(dates, "M")
    assert m["period"].tolist() == ["2023-03", "2024-05"]
    whole = pd.Series(pd.date_range("2023-01-03", "2024-12-30", freq="B"))  # business days: whole periods
    assert partial_periods(whole, "Q").empty and partial_periods(whole, "M").empty
    weekly = pd.Series(pd.date_range("2023-01-06", "2024-12-27", freq="W-FRI"))  # a gap of 5 days is usual
    assert partial_periods(weekly, "M").empty


def test_partial_period_left_out_of_the_panel_unless_kept(tmp_path):
    from analysis.ingest.panel import client_period_panel

    folder = write_style(tmp_path / "p", "standard")
    # a line a day from the last Friday of March to the end of September: Q1 holds one week
    days = pd.date_range("2024-03-25", "2024-09-30", freq="D")
    (folder / "transactions.csv").write_text("client_id,date,revenue\n" + "".join(
        f"C{1 + i % 4},{d:%Y-%m-%d},{10 + i}.25\n" for i, d in enumerate(days)), encoding="utf-8")
    report = validate(folder)
    assert report.ok and "partial first period 2024Q1: the data cover 7 of its 91 days" in report.message()
    panel = client_period_panel(report.base)
    assert sorted(panel["period"].unique()) == ["2024Q2", "2024Q3"]
    counts = report.counts().set_index("step")
    assert counts.loc["dq_lines_in_panel", "lines"] == len(days) - 7
    assert counts.loc["dq_lines_in_panel", "revenue"] == round(panel["revenue"].sum(), 2)
    kept = validate(folder, config={"partial_periods": "keep"})
    assert "kept in the panel (`partial_periods: keep`)" in kept.message()
    assert sorted(client_period_panel(kept.base)["period"].unique()) == ["2024Q1", "2024Q2", "2024Q3"]


def test_clients_without_orders_are_counted(tmp_path):
    folder = write_style(tmp_path / "c", "standard")
    _tx(folder, lambda df: df[df["client_id"] != "C4"])
    report = validate(folder)
    assert report.ok
    assert "clients with no order line at all: 1 of 4 (25.0%)" in report.message()


def test_validate_one_file_of_order_lines(tmp_path):
    folder = write_style(tmp_path / "s", "standard")
    result = runner.invoke(app, ["validate", "--data", str(folder / "transactions.csv")])
    assert result.exit_code == 0, result.stderr
    assert "4 clients derived from the order lines (id only)" in result.stderr
    assert "ok: 4 clients, 6 order lines" in result.stdout and "events" not in result.stdout.split("ok:")[1]


def test_a_repeated_excel_header_is_read_without_a_traceback(tmp_path):
    from openpyxl import Workbook

    folder = tmp_path / "x"
    folder.mkdir()
    book = Workbook()
    sheet = book.active
    for row in (["client_id", "date", "Сумма", "Сумма"], ["C1", "2024-01-05", 1, 2], ["C1", "2024-06-05", 1, 2]):
        sheet.append(row)
    book.save(folder / "transactions.xlsx")
    result = runner.invoke(app, ["validate", "--data", str(folder / "transactions.xlsx")])
    assert result.exit_code == 0, result.stderr
    assert "the header 'Сумма' is repeated; column 4 is read as 'Сумма.1'" in result.stderr
    assert "revenue 2.00" in result.stdout


def _split_files(folder):
    folder.mkdir()
    (folder / "a_2023.csv").write_text("client;date;amount\nC1;2023-03-01;10,50\nC2;2023-06-01;bad\n"
                                       "C1;2023-12-30;1,00\n", encoding="utf-8")
    (folder / "a_2024.csv").write_text("Title of the report\nclient;date;amount\nC1;2023-12-30;1,00\n"
                                       "C2;2024-02-01;2,25\n", encoding="utf-8")


def test_several_files_of_one_table_name_each_file_and_line(tmp_path):
    """`path:` as a glob or a list: the files are joined; a problem names the file and its line, an
    identical line across the files names both files; a missing file or pattern is one clear error."""
    _split_files(tmp_path / "d")
    for path in ("a_*.csv", ["a_2023.csv", "a_2024.csv"]):
        report = validate(tmp_path / "d", config={"tables": {"transactions": {"path": path}}})
        assert not report.ok
        rows = report.errors.set_index("check")
        bad = rows.loc[rows.index.str.startswith("not a number")].iloc[0]
        assert bad["file"] == "a_2023.csv + a_2024.csv" and bad["lines"] == "a_2023.csv:3"
        dup = report.problems[report.problems["check"].str.startswith("identical order lines")].iloc[0]
        assert "1 of 5 lines repeat" in dup["check"] and dup["lines"] == "a_2024.csv:3"
        assert "first repeated at a_2024.csv line 3 (same as a_2023.csv line 4)" in dup["check"]
        assert "a_2023.csv: 1 line" in dup["check"] and "a_2024.csv: 1 line" in dup["check"]
    report = validate(tmp_path / "d", config={"tables": {"transactions": {"path": ["a_2023.csv", "nope.csv"]}}})
    assert report.errors["check"].tolist() == ["file named in the config not found"]
    report = validate(tmp_path / "d", config={"tables": {"transactions": {"path": "b_*.csv"}}})
    assert report.errors["check"].tolist() == ["no file matches the pattern named in the config"]
    (tmp_path / "d" / "a_2025.csv").write_text("client;day;amount\nC1;2025-01-01;1\n", encoding="utf-8")
    report = validate(tmp_path / "d", config={"tables": {"transactions": {"path": "a_*.csv"}}})
    err = report.errors.iloc[0]
    assert err["file"] == "a_2025.csv" and "same columns" in err["fix"] and "'day'" in err["fix"]
    result = runner.invoke(app, ["validate", "--data", str(tmp_path / "d")])
    assert "Traceback" not in result.stdout + result.stderr
