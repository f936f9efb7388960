"""Readers: every export style of the same tiny base reads back to the same canonical tables."""

from __future__ import annotations

import gzip

import duckdb
import numpy as np
import pandas as pd
import pytest

from analysis.ingest import load, parse, validate
from analysis.ingest.dataconfig import TableSpec
from analysis.ingest.readers import detect_delimiter, detect_encoding, read_table
from ingest_helpers import CLIENTS, EVENTS, KPIS, STYLES, TRANSACTIONS, checksums, write_style


def _assert_canonical(base):
    c = base.clients.set_index("client_id").loc[CLIENTS["client_id"]]
    assert c["name"].tolist() == CLIENTS["name"].tolist()
    assert c["portfolio"].tolist() == CLIENTS["portfolio"].tolist()
    assert c["org_type"].tolist() == CLIENTS["org_type"].tolist()
    assert c["founded_year"].tolist() == CLIENTS["founded_year"].tolist()
    assert c["is_reference"].tolist() == CLIENTS["is_reference"].tolist()
    assert str(base.clients["is_reference"].dtype) == "boolean"
    tx = base.transactions
    assert len(tx) == len(TRANSACTIONS)  # the total row is gone
    assert tx["client_id"].tolist() == TRANSACTIONS["client_id"].tolist()
    assert tx["date"].tolist() == TRANSACTIONS["date"].tolist()
    assert pd.api.types.is_datetime64_any_dtype(tx["date"])
    assert tx["revenue"].tolist() == TRANSACTIONS["revenue"].tolist()  # exact to the cent
    assert tx["cost"].tolist() == TRANSACTIONS["cost"].tolist()
    assert tx["is_new_product"].tolist() == TRANSACTIONS["is_new_product"].tolist()
    assert tx["account_manager"].tolist() == TRANSACTIONS["account_manager"].tolist()
    ev = base.events
    assert ev["type"].tolist() == EVENTS["type"].tolist()
    assert ev["date"].tolist() == EVENTS["date"].tolist()
    np.testing.assert_array_equal(ev["amount"].to_numpy(dtype=float), EVENTS["amount"].to_numpy(dtype=float))
    k = base.kpis
    assert k["period"].tolist() == KPIS["period"].tolist()
    assert k["plan_attainment"].tolist() == KPIS["plan_attainment"].tolist()


@pytest.mark.parametrize("style", STYLES)
def test_every_style_reads_to_the_same_tables(tmp_path, style):
    folder = write_style(tmp_path / style, style)
    before = checksums(folder)
    base = load(folder)
    _assert_canonical(base)
    assert checksums(folder) == before


def test_title_and_total_rows_are_skipped_and_reported(tmp_path):
    base = load(write_style(tmp_path / "w", "1c_cp1251"))
    notes = "\n".join(base.notes)
    assert "transactions.csv: skipped 1 total row(s) (line 10)" in notes
    assert "skipped 2 line(s) above the header" in notes and "encoding='cp1251'" in notes
    assert "delimiter=';'" in notes and "decimal=','" in notes and "date_format='%d.%m.%Y'" in notes


@pytest.mark.parametrize("sample, expected", [
    ("a;b\r\n1;2\r\n".encode("utf-8-sig"), "utf-8-sig"),
    ("Клиент;Выручка\n1;2\n".encode("utf-8"), "utf-8"),
    ("Клиент;Выручка;Дата\nООО Ромашка;1 234,50;01.02.2024\nАО Берёзка;12,00;05.03.2024\n".encode("cp1251"), "cp1251"),
    ("client,revenue\n1,2\n".encode("utf-16"), "utf-16"),
])
def test_encoding_detected(tmp_path, sample, expected):
    assert detect_encoding(sample, tmp_path / "x.csv") == expected


@pytest.mark.parametrize("delim", [",", ";", "\t", "|"])
def test_delimiter_detected_under_a_title_line(delim):
    lines = ["Sales report 2024"] + [delim.join(["id", "date", "revenue", "name"])] + [
        delim.join([f"C{i}", "2024-01-01", f"{i}.50", f"Name {i}"]) for i in range(20)]
    assert detect_delimiter(lines) == delim


@pytest.mark.parametrize("values, expected", [
    (["1 234,56", "7,5", "-12"], [1234.56, 7.5, -12.0]),
    (["1\u00a0234\u00a0567,89", "0,10"], [1234567.89, 0.10]),
    (["1,234,567.89", "12.5"], [1234567.89, 12.5]),
    (["1.234.567,89", "12,5"], [1234567.89, 12.5]),
    (["(100,00)", "50,00-", "1 000 ₽"], [-100.0, -50.0, 1000.0]),
    (["1 234.56", "99"], [1234.56, 99.0]),
])
def test_numbers_in_local_formats(values, expected):
    out, bad, _ = parse.money(pd.Series(values, dtype="str"))
    assert not bad.any()
    assert out.tolist() == expected


def test_text_in_money_is_flagged_not_guessed():
    out, bad, _ = parse.money(pd.Series(["12,50", "n/a", "", "twelve"], dtype="str"))
    assert bad.tolist() == [False, True, False, True]
    assert out.isna().tolist() == [False, True, True, True]


@pytest.mark.parametrize("values, fmt", [
    (["2024-01-31", "2024-02-01"], "%Y-%m-%d"),
    (["31.01.2024", "01.02.2024"], "%d.%m.%Y"),
    (["31/01/2024", "01/02/2024"], "%d/%m/%Y"),
    (["20240131", "20240201"], "%Y%m%d"),
    (["31.01.2024 0:00:00", "01.02.2024 13:45:00"], "%d.%m.%Y"),
])
def test_date_formats(values, fmt):
    out, bad, found = parse.date(pd.Series(values, dtype="str"))
    assert found == fmt and not bad.any()
    assert out.tolist() == [pd.Timestamp("2024-01-31"), pd.Timestamp("2024-02-01")]


def test_mixed_dates_are_reported_by_line():
    s = pd.Series(["31.01.2024", "2024-02-01", "05.03.2024", "31.02.2024"], index=[2, 3, 4, 5], dtype="str")
    out, bad, fmt = parse.date(s)
    assert fmt == "%d.%m.%Y"
    assert bad[bad].index.tolist() == [3, 5]


def test_yes_no_words():
    s = pd.Series(["Да", "нет", "YES", "n", "1", "0", "", "true", "maybe"], dtype="str")
    out, bad = parse.boolean(s, builtin={"true": ["да", "yes", "y", "1", "true"], "false": ["нет", "no", "n", "0"]})
    assert out.tolist()[:6] == [True, False, True, False, True, False]
    assert pd.isna(out.iloc[6]) and bool(out.iloc[7]) is True
    assert bad.tolist() == [False] * 8 + [True]


@pytest.mark.parametrize("values, labels", [
    (["01.01.2024", "01.04.2024"], ["2024Q1", "2024Q2"]),
    (["01.01.2024", "01.02.2024"], ["2024-01", "2024-02"]),
    (["2024Q1", "2024 Q2", "Q3 2024", "3 кв. 2024"], ["2024Q1", "2024Q2", "2024Q3", "2024Q3"]),
    (["2024-01", "2024/02"], ["2024-01", "2024-02"]),
    (["2023", "2024"], ["2023", "2024"]),
])
def test_period_labels(values, labels):
    out, bad, _ = parse.period(pd.Series(values, dtype="str"))
    assert not bad.any() and out.tolist() == labels


def test_xlsx_named_sheet_and_first_sheet(tmp_path):
    folder = write_style(tmp_path / "x", "xlsx")
    raw = read_table(folder / "clients.xlsx", TableSpec(sheet="Данные"))
    assert raw.detected["header_row"] == 3 and len(raw.frame) == 4
    cfg = {"tables": {"clients": {"path": "clients.xlsx", "sheet": "Данные"}}}
    _assert_canonical(load(folder, config=cfg))


def test_duckdb_source_through_ibis(tmp_path):
    folder = write_style(tmp_path / "db", "standard")
    db = tmp_path / "crm.duckdb"
    con = duckdb.connect(str(db))
    con.execute(f"CREATE TABLE sales AS SELECT * FROM read_csv('{folder / 'transactions.csv'}', all_varchar=true)")
    con.close()
    (folder / "transactions.csv").unlink()
    cfg = {"tables": {"transactions": {"source": {"url": f"duckdb://{db}", "table": "sales"}}}}
    _assert_canonical(load(folder, config=cfg))
    cfg["tables"]["transactions"]["source"] = {"url": f"duckdb://{db}", "query": "SELECT * FROM sales"}
    _assert_canonical(load(folder, config=cfg))


def test_config_mapping_and_value_maps(tmp_path):
    folder = write_style(tmp_path / "m", "standard")
    tx = pd.read_csv(folder / "transactions.csv", dtype=str)
    tx.rename(columns={"revenue": "Net Amount EUR", "client_id": "Kunde"}).to_csv(folder / "transactions.csv", index=False)
    ev = pd.read_csv(folder / "events.csv", dtype=str, keep_default_na=False)
    ev = pd.concat([ev, pd.DataFrame([{"date": "2024-06-01", "client_id": "C1", "type": "Звонок", "amount": ""}])])
    ev.replace({"claim": "Beschwerde"}).to_csv(folder / "events.csv", index=False)
    cfg = {"tables": {"transactions": {"columns": {"revenue": "Net Amount EUR", "client_id": "Kunde"}},
                      "events": {"values": {"type": {"Beschwerde": "claim", "Звонок": "ignore"}}}}}
    # a table the config maps: optional columns it leaves out are not detected behind its back,
    # a required one is (and the notes say which header was taken)
    base = load(folder, config=cfg)
    notes = "\n".join(base.notes)
    assert "cost" not in base.transactions and "is_new_product" not in base.transactions
    assert "the config maps no date column; 'date' is used" in notes
    assert "not used, the config does not map them: 'order_id' (looks like order_id), 'cost' (looks like cost)" in notes
    cfg["tables"]["transactions"]["columns"].update(
        {c: c for c in ("order_id", "date", "cost", "is_new_product", "account_manager")})
    base = load(folder, config=cfg)
    _assert_canonical(base)
    assert any("mapped to `ignore`" in n for n in base.notes)


def test_names_as_ids_with_a_warning(tmp_path):
    folder = write_style(tmp_path / "n", "standard")
    cl = pd.read_csv(folder / "clients.csv", dtype=str).drop(columns=["client_id"])
    cl.rename(columns={"name": "Контрагент"}).to_csv(folder / "clients.csv", index=False)
    tx = pd.read_csv(folder / "transactions.csv", dtype=str)
    tx["client_id"] = tx["client_id"].map(dict(zip(CLIENTS["client_id"], CLIENTS["name"])))
    tx.rename(columns={"client_id": "Контрагент"}).to_csv(folder / "transactions.csv", index=False)
    (folder / "events.csv").unlink()
    report = validate(folder)
    assert report.ok
    assert "names are used as ids" in " ".join(report.warnings["check"])
    assert set(report.base.transactions["client_id"]) <= set(CLIENTS["name"])


def test_vat_and_currencies(tmp_path):
    folder = write_style(tmp_path / "v", "standard")
    tx = pd.read_csv(folder / "transactions.csv", dtype=str)
    tx["currency"] = ["RUB", "RUB", "USD", "RUB", "EUR", "RUB"]
    tx.to_csv(folder / "transactions.csv", index=False)
    report = validate(folder)
    assert not report.ok
    assert "several currencies (EUR, RUB, USD) and no rates" in report.message()
    cfg = {"tables": {"transactions": {"currency": {"base": "RUB", "rates": {"USD": 90, "EUR": 100}},
                                       "vat": {"rate": 0.2}}}}
    base = load(folder, config=cfg)
    rev = base.transactions["revenue"].tolist()
    # decimal arithmetic, half away from zero: 1,234,567.89 / 1.2 = 1,028,806.575 → .58
    assert rev == [1028806.58, 0.08, 187500.00, 833.33, 1028.33, 0.17]
    assert set(base.transactions["currency"]) == {"RUB"}


def test_gross_profit_only_gives_cost(tmp_path):
    folder = write_style(tmp_path / "g", "standard")
    tx = pd.read_csv(folder / "transactions.csv", dtype=str)
    tx["Маржа"] = (TRANSACTIONS["revenue"] - TRANSACTIONS["cost"]).round(2).map("{:.2f}".format)
    tx.drop(columns=["cost"]).to_csv(folder / "transactions.csv", index=False)
    base = load(folder)
    assert base.transactions["cost"].tolist() == TRANSACTIONS["cost"].tolist()


def test_returns_allowed_only_when_configured(tmp_path):
    folder = write_style(tmp_path / "r", "standard")
    tx = pd.read_csv(folder / "transactions.csv", dtype=str)
    tx.loc[5, "revenue"] = "-0.20"
    tx.to_csv(folder / "transactions.csv", index=False)
    report = validate(folder)
    assert not report.ok and "negative revenue" in report.message() and "lines 7" in report.message()
    assert load(folder, config={"tables": {"transactions": {"returns": True}}}).transactions["revenue"].iloc[5] == -0.2


def test_gzip_is_read_by_content_not_name(tmp_path):
    folder = write_style(tmp_path / "z", "gzip")
    assert gzip.decompress((folder / "clients.csv.gz").read_bytes()).startswith(b"client_id;")
    _assert_canonical(load(folder))


def test_total_rows_anywhere_but_not_clients_named_total(tmp_path):
    path = tmp_path / "clients.csv"
    path.write_text("client_id,name,portfolio\nC1,Total Energies,P1\nC2,Итоговая группа,P1\n"
                    ",,Итого: 2\nC3,Beta,P2\n,Всего,\n", encoding="utf-8")
    raw = read_table(path, TableSpec())
    assert raw.frame["client_id"].tolist() == ["C1", "C2", "C3"]
    assert raw.detected["total_rows"] == [4, 6]


def test_blank_lines_keep_line_numbers(tmp_path):
    path = tmp_path / "transactions.csv"
    path.write_text("client_id,date,revenue\nC1,2024-01-01,1\n\nC2,2024-01-02,x\n", encoding="utf-8")
    raw = read_table(path, TableSpec())
    assert raw.frame.index.tolist() == [2, 4]


def test_impossible_periods_are_flagged():
    out, bad, _ = parse.period(pd.Series(["2024-13", "2024Q5", "2024-12"], dtype="str"))
    assert bad.tolist() == [True, True, False] and out.iloc[2] == "2024-12"


def test_client_periods_input(tmp_path):
    folder = tmp_path / "cp"
    folder.mkdir()
    (folder / "clients.csv").write_text("Клиент;Филиал\nC1;P1\nC2;P2\n", encoding="utf-8")
    (folder / "client_periods.csv").write_text(
        "Клиент;Квартал;Выручка;Себестоимость\nC1;2024 Q1;1 000,50;800\nC2;1 кв. 2024;20,00;\nC1;2024Q2;5,25;1\n",
        encoding="utf-8")
    from analysis.ingest.panel import client_period_panel

    base = load(folder)
    assert base.transactions is None and base.clients["client_id"].tolist() == ["C1", "C2"]
    p = client_period_panel(base)
    assert p[["client_id", "portfolio", "period"]].values.tolist() == [["C1", "P1", "2024Q1"], ["C1", "P1", "2024Q2"],
                                                                        ["C2", "P2", "2024Q1"]]
    assert p["revenue"].tolist() == [1000.5, 5.25, 20.0] and p["gross_profit"].iloc[0] == 200.5


def test_typed_date_cells_from_excel_and_parquet():
    serial, bad, _ = parse.date(pd.Series([45322, 45323.0, None], dtype=object))  # Excel day numbers
    assert serial.tolist()[:2] == [pd.Timestamp("2024-01-31"), pd.Timestamp("2024-02-01")] and not bad.any()
    ints, bad, fmt = parse.date(pd.Series([20240131, 20240201]))
    assert fmt == "%Y%m%d" and ints.tolist() == [pd.Timestamp("2024-01-31"), pd.Timestamp("2024-02-01")]
    stamps, bad, _ = parse.date(pd.Series([pd.Timestamp("2024-03-01 10:30"), None], dtype=object))
    assert stamps.iloc[0] == pd.Timestamp("2024-03-01") and pd.isna(stamps.iloc[1]) and not bad.any()


@pytest.mark.parametrize("body", [
    "ИНН;Наименование;\r\nC1;Альфа;\r\nC2;Бета;\r\n",  # every line ends with the delimiter (1C)
    "ИНН;Наименование;\r\nC1;Альфа\r\nC2;Бета\r\n",  # only the header does
])
def test_trailing_delimiters(tmp_path, body):
    path = tmp_path / "clients.csv"
    path.write_bytes(("Контрагенты;\r\n" + body).encode("cp1251"))
    raw = read_table(path, TableSpec())
    assert list(raw.frame.columns) == ["ИНН", "Наименование"]
    assert raw.frame["Наименование"].tolist() == ["Альфа", "Бета"] and raw.frame.index.tolist() == [3, 4]


@pytest.mark.parametrize("dec, thou", [(",", "\u00a0"), (",", " "), (",", ""), (".", ","), (".", " "), (".", ""), (",", ".")])
def test_random_money_round_trips_exactly(dec, thou):
    from ingest_helpers import _money

    rng = np.random.default_rng(len(thou) * 10 + ord(dec))
    cents = np.concatenate([rng.integers(-10**11, 10**11, 400), rng.integers(-999, 1000, 100), [0, 1, 99, 100, 100000]])
    values = cents / 100
    text = pd.Series([_money(v, dec=dec, thou=thou) for v in values], dtype="str")
    got, bad, found = parse.money(text)
    assert not bad.any() and found == dec
    assert got.tolist() == values.tolist()
