"""Validation: every failure collected with its source lines; bad inputs exit 2 with one clear
message naming file and column; input files are never touched; init-config never overwrites."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from analysis.cli import app
from analysis.ingest import validate
from ingest_helpers import checksums, write_style

runner = CliRunner()


def _cli(*args):
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def _edit(folder: Path, table: str, fn, name: str | None = None) -> None:
    path = folder / (name or f"{table}.csv")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    fn(df).to_csv(path, index=False)


def _set(table, row, col, value):
    def fn(df):
        df.loc[row, col] = value
        return df
    return lambda f: _edit(f, table, fn)


def _write(name: str, data: bytes | str):
    def fn(folder: Path):
        (folder / name).write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return fn


def _config(text: str):
    return _write("keyclients.yaml", text)


def _xlsx_with_config(folder: Path):
    df = pd.read_csv(folder / "transactions.csv", dtype=str)
    df.to_excel(folder / "transactions.xlsx", sheet_name="Продажи", index=False)
    (folder / "transactions.csv").unlink()
    (folder / "keyclients.yaml").write_text("tables:\n  transactions: {path: transactions.xlsx, sheet: Sales}\n",
                                            encoding="utf-8")


def _cp1251_declared_utf8(folder: Path):
    text = (folder / "clients.csv").read_text(encoding="utf-8")
    (folder / "clients.csv").write_bytes(text.encode("cp1251"))
    (folder / "keyclients.yaml").write_text("tables:\n  clients: {encoding: utf-8}\n", encoding="utf-8")


def _dup_client(folder: Path):
    _edit(folder, "clients", lambda df: pd.concat([df, df.iloc[[1]]], ignore_index=True))


def _ragged(folder: Path):
    path = folder / "transactions.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[3] += ",extra,cells"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _rename(table, old, new):
    return lambda f: _edit(f, table, lambda df: df.rename(columns={old: new}))


def _drop(table, col):
    return lambda f: _edit(f, table, lambda df: df.drop(columns=[col]))


def _unlink(name):
    return lambda f: (f / name).unlink()


def _currencies(rates: str | None):
    def fn(folder):
        _edit(folder, "transactions", lambda df: df.assign(currency=["RUB", "USD", "RUB", "EUR", "RUB", "RUB"]))
        if rates:
            (folder / "keyclients.yaml").write_text(rates, encoding="utf-8")
    return fn


# case id → (how to break the standard tiny base, words the message must contain)
BAD = {
    "missing_required_column": (_drop("transactions", "revenue"), ["transactions.csv", "revenue", "required column missing"]),
    "misspelled_required_column": (_rename("transactions", "client_id", "clinet_id"),
                                   ["transactions.csv", "client_id", "required column missing", "is it 'clinet_id'?"]),
    "events_without_type": (_drop("events", "type"), ["events.csv", "type", "required column missing"]),
    "text_in_revenue": (_set("transactions", 1, "revenue", "twelve"), ["transactions.csv", "revenue", "not a number", "lines 3", "'twelve'"]),
    "negative_revenue": (_set("transactions", 2, "revenue", "-5.00"), ["transactions.csv", "revenue", "negative revenue", "lines 4", "returns: true"]),
    "duplicate_client_ids": (_dup_client, ["clients.csv", "client_id", "duplicate value", "'C2'", "lines 3, 6"]),
    "empty_client_id": (_set("transactions", 0, "client_id", ""), ["transactions.csv", "client_id", "empty cell", "lines 2"]),
    "empty_file": (_write("transactions.csv", b""), ["transactions.csv", "empty"]),
    "header_only": (_write("transactions.csv", "order_id,date,client_id,revenue\n"), ["transactions.csv", "no data rows"]),
    "binary_junk": (_write("clients.csv", bytes(range(256)) * 8), ["clients.csv", "binary data"]),
    "wrong_encoding": (_cp1251_declared_utf8, ["clients.csv", "not utf-8", "encoding"]),
    "unknown_event_type": (_set("events", 1, "type", "Звонок"), ["events.csv", "type", "unknown event type", "'Звонок'", "lines 3"]),
    "unknown_client_in_transactions": (_set("transactions", 3, "client_id", "C9"), ["transactions.csv", "client_id", "not in the clients table", "'C9'", "lines 5"]),
    "unknown_client_in_events": (_set("events", 0, "client_id", "X1"), ["events.csv", "client_id", "not in the clients table", "lines 2"]),
    "impossible_date": (_set("transactions", 1, "date", "2024-02-30"), ["transactions.csv", "date", "not a date", "lines 3", "'2024-02-30'"]),
    "mixed_dates": (_set("transactions", 4, "date", "15.05.2024"), ["transactions.csv", "date", "not a date in the column's format %Y-%m-%d", "lines 6"]),
    "text_in_founded_year": (_set("clients", 0, "founded_year", "nineteen-ninety"), ["clients.csv", "founded_year", "not a whole number", "lines 2"]),
    "bad_yes_no": (_set("transactions", 0, "is_new_product", "maybe"), ["transactions.csv", "is_new_product", "not a yes/no value", "'maybe'"]),
    "ragged_line": (_ragged, ["transactions.csv", "line 4", "delimiter"]),
    "mixed_currencies_without_rates": (_currencies(None), ["transactions.csv", "currency", "several currencies (EUR, RUB, USD) and no rates"]),
    "currency_without_its_rate": (_currencies("tables:\n  transactions: {currency: {base: RUB, rates: {USD: 90}}}\n"),
                                  ["transactions.csv", "currency", "no rate for EUR", "lines 5"]),
    "missing_transactions_file": (_unlink("transactions.csv"), ["transactions.csv", "no order lines"]),
    "config_names_missing_file": (_config("tables:\n  transactions: {path: sales_2024.csv}\n"), ["sales_2024.csv", "not found"]),
    "config_key_typo": (_config("tables:\n  transactions: {delimeter: ';'}\n"), ["keyclients.yaml", "unknown key", "delimeter", "did you mean 'delimiter'"]),
    "config_unknown_table": (_config("tables:\n  sales: {path: transactions.csv}\n"), ["keyclients.yaml", "unknown table 'sales'"]),
    "config_bad_yaml": (_config("tables: [transactions: {path: x\n"), ["keyclients.yaml", "not a readable YAML"]),
    "config_column_not_in_file": (_config("tables:\n  transactions: {columns: {revenue: Сумма}}\n"),
                                  ["transactions.csv", "Сумма", "not in the file"]),
    "config_unknown_canonical_column": (_config("tables:\n  transactions: {columns: {revnue: revenue}}\n"),
                                        ["transactions.csv", "revnue", "unknown canonical column", "'revenue'"]),
    "xlsx_without_named_sheet": (_xlsx_with_config, ["transactions.xlsx", "no sheet named 'Sales'", "'Продажи'"]),
    "xlsx_corrupt": (lambda f: (_unlink("clients.csv")(f), _write("clients.xlsx", b"PK\x03\x04 not really")(f)),
                     ["clients.xlsx", "not a readable .xlsx"]),
    "gzip_corrupt": (lambda f: (_unlink("events.csv")(f), _write("events.csv.gz", gzip.compress(b"date,client_id\n")[:15])(f)),
                     ["events.csv.gz"]),
}


@pytest.fixture
def tiny(tmp_path) -> Path:
    return write_style(tmp_path / "data", "standard")


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_exits_2_with_a_clear_message(tiny, case):
    breaker, words = BAD[case]
    breaker(tiny)
    before = checksums(tiny)
    args = ["validate", "--data", tiny]
    if (tiny / "keyclients.yaml").exists():
        args += ["--config", tiny / "keyclients.yaml"]
    code, out, err = _cli(*args)
    assert code == 2, (case, out, err)
    assert "Traceback" not in err and "Traceback" not in out
    assert err.startswith("keyclients: error:")
    for w in words:
        assert w in err, (case, w, err)
    assert checksums(tiny) == before  # no input touched, nothing written


def test_corpus_is_large_enough():
    assert len(BAD) >= 25


def test_validation_is_lazy_and_names_lines(tiny):
    _set("transactions", 1, "revenue", "abc")(tiny)
    _set("transactions", 3, "date", "2024-13-01")(tiny)
    _set("transactions", 4, "client_id", "C404")(tiny)
    _set("events", 2, "type", "Звонок")(tiny)
    _dup_client(tiny)
    report = validate(tiny)
    errors = report.errors
    got = {(r.file, r.column.split(" ")[0], r.lines) for r in errors.itertuples()}
    assert got == {("transactions.csv", "revenue", "3"), ("transactions.csv", "date", "5"),
                   ("transactions.csv", "client_id", "6"), ("events.csv", "type", "4"),
                   ("clients.csv", "client_id", "3, 6")}
    assert report.base is None
    assert list(report.problems.columns[:7]) == ["severity", "file", "column", "check", "count", "lines", "fix"]


def test_lines_are_source_lines_under_title_rows(tmp_path):
    folder = write_style(tmp_path / "ru", "1c_cp1251")
    path = folder / "transactions.csv"
    text = path.read_bytes().decode("cp1251").replace("2\u00a0500,00", "2\u00a0500,00 руб. (уточнить)")
    path.write_bytes(text.encode("cp1251"))
    report = validate(folder)
    row = report.errors.iloc[0]
    assert row["file"] == "transactions.csv" and row["column"] == "Выручка (revenue)" and row["lines"] == "6"
    assert path.read_bytes().decode("cp1251").splitlines()[5].startswith("O3;")


def test_warnings_exit_0_and_are_shown(tiny):
    _set("clients", 1, "org_type", "Кооператив")(tiny)
    code, out, err = _cli("validate", "--data", tiny)
    assert code == 0, err
    assert "WARNING" in out and "Кооператив" in out and "org_type" in out and "ok: 4 clients" in out


def test_validate_ok_on_every_style(tmp_path):
    for style in ("1c_cp1251", "xlsx"):
        folder = write_style(tmp_path / style, style)
        code, out, err = _cli("validate", "--data", folder)
        assert code == 0, err
        assert "ok: 4 clients, 6 order lines, 4 events" in out


def test_init_config_proposes_and_never_overwrites(tmp_path):
    folder = write_style(tmp_path / "ru", "1c_cp1251")
    before = checksums(folder)
    out = tmp_path / "keyclients.yaml"
    code, stdout, err = _cli("init-config", "--data", folder, "--out", out)
    assert code == 0, err
    text = out.read_text(encoding="utf-8")
    for line in ("client_id: ИНН", "revenue: Выручка", "encoding: cp1251", 'delimiter: ";"', "header_row: 3",
                 'decimal: ","', 'date_format: "%d.%m.%Y"', "Госучреждение: government", "Рекламация: claim",
                 "plan_attainment: Выполнение плана"):
        assert line in text, line
    # the proposal is a valid config that reads the data
    code, stdout, err = _cli("validate", "--data", folder, "--config", out)
    assert code == 0, err
    out.write_text("# mine\n", encoding="utf-8")
    code, stdout, err = _cli("init-config", "--data", folder, "--out", out)
    assert code == 2 and "already exists" in err and "--force" in err
    assert out.read_text(encoding="utf-8") == "# mine\n"
    code, stdout, err = _cli("init-config", "--data", folder, "--out", out, "--force")
    assert code == 0 and out.read_text(encoding="utf-8") == text.replace(text.splitlines()[0], out.read_text(
        encoding="utf-8").splitlines()[0])
    assert checksums(folder) == before


def test_init_config_marks_what_it_cannot_map(tmp_path):
    folder = write_style(tmp_path / "w", "standard")
    _rename("transactions", "revenue", "Umsatz")(folder)
    _set("events", 0, "type", "Звонок")(folder)
    code, stdout, err = _cli("init-config", "--data", folder, "--out", tmp_path / "k.yaml")
    assert code == 0
    text = (tmp_path / "k.yaml").read_text(encoding="utf-8")
    assert "# revenue:    # TODO required" in text and "Umsatz" in text
    assert '# Звонок:    # TODO not recognised' in text
    assert "TODO" in err and "required column revenue not found" in err


def test_run_with_bad_data_stops_before_any_notebook(tiny, tmp_path):
    _set("transactions", 1, "revenue", "twelve")(tiny)
    code, out, err = _cli("run", "--data", tiny, "--out", tmp_path / "report")
    assert code == 2 and "not a number" in err
    assert not (tmp_path / "report").exists()


def test_real_console_script_exit_code(tiny):
    import subprocess
    import sys

    _set("transactions", 1, "revenue", "twelve")(tiny)
    exe = Path(sys.executable).with_name("keyclients")
    proc = subprocess.run([str(exe), "validate", "--data", str(tiny)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "revenue" in proc.stderr and "Traceback" not in proc.stderr


def test_a_config_beside_the_data_is_used(tiny):
    _rename("transactions", "revenue", "Umsatz")(tiny)
    assert _cli("validate", "--data", tiny)[0] == 2
    (tiny / "keyclients.yaml").write_text("tables:\n  transactions: {columns: {revenue: Umsatz}}\n", encoding="utf-8")
    code, out, err = _cli("validate", "--data", tiny)
    assert code == 0, err
    assert "found beside the data" in err


def test_kpi_portfolios_that_would_not_join_are_warned(tiny):
    _set("kpis", 2, "portfolio", "Филиал 02")(tiny)
    report = validate(tiny)
    assert report.ok
    row = report.warnings[report.warnings["file"] == "kpis.csv"].iloc[0]
    assert row["column"] == "portfolio" and row["lines"] == "4" and "Филиал 02" in row["check"]
