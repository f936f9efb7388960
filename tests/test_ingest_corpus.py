"""Proposal quality on a corpus of realistic exports (tests/ingest_corpus.py).

For every export: ``init-config`` with no hand edit, then ``validate --config`` reaches exit 0 with
every table and column role right (asserted per column) — or exit 2 with the right message where
the data are not sound — and ``classify`` runs; the revenue read equals the export's own total to
the cent (computed in the generator with Decimal, net of VAT where a VAT amount column exists).
No traceback anywhere.
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from analysis import i18n
from analysis.cli import app
from analysis.ingest import validate
from analysis.ingest.panel import client_period_panel
from ingest_corpus import CASES, UNPARSEABLE

runner = CliRunner()


def _cli(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.stderr + result.stdout
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def _cents(values) -> Decimal:
    return sum((Decimal(f"{v:.2f}") for v in values), Decimal("0.00"))


@pytest.mark.parametrize("make", CASES, ids=[c.__name__[5:] for c in CASES])
def test_init_config_then_validate_and_classify(tmp_path, make):
    case = make(tmp_path)
    config = tmp_path / f"{case.name}.yaml"
    code, out, err = _cli("init-config", "--data", case.folder, "--out", config)
    assert code == 0, err
    text = config.read_text(encoding="utf-8")
    cfg = yaml.safe_load(text)
    assert {t: spec["path"] for t, spec in cfg["tables"].items()} == case.tables
    for table, columns in case.columns.items():
        assert cfg["tables"][table]["columns"] == columns, table
    if "config" in case.extra:
        assert case.extra["config"] in text
    code, out, err = _cli("validate", "--config", config)
    assert code == case.exit_code, err + out
    if code == 2:
        assert case.message in err
        for name in case.extra.get("files", ()):  # an overlap across files names every file
            assert name in err
        if "keep" in case.extra:  # the user says the repeated lines are real: both copies count
            revenue, lines = case.extra["keep"]
            config.write_text(text.replace("duplicates: error", "duplicates: keep"), encoding="utf-8")
            code, out, err = _cli("validate", "--config", config)
            assert code == 0, err + out
            assert "kept (`duplicates: keep`)" in out + err
            tx = validate(config=config).base.transactions
            assert len(tx) == lines and _cents(tx["revenue"]) == revenue
        return
    report = validate(config=config)
    base = report.base
    tx = base.transactions
    assert _cents(tx["revenue"]) == case.revenue
    assert len(tx) == case.lines and len(base.clients) == case.clients
    assert f"order lines used: {tx['client_id'].nunique():,} clients, {case.lines:,} lines, revenue {case.revenue:,}" in out
    if "warning" in case.extra:
        assert case.extra["warning"] in out
    if "without_config" in case.extra:
        code2, _, err2 = _cli("validate", "--data", case.folder)
        assert code2 == 2 and case.extra["without_config"] in err2 and "zero_pad: 5" in err2
    if "dropped" in case.extra:
        lines, revenue = case.extra["dropped"]
        assert report.dropped["lines"].sum() == lines
        assert Decimal(f"{report.dropped['revenue'].sum():.2f}") == revenue
    if case.extra.get("derived"):
        assert base.derived_clients and "derived from the order lines" in err
        assert set(base.clients["client_id"]) == set(tx["client_id"])
    panel = client_period_panel(base)
    expected_panel = case.revenue - case.extra.get("partial", Decimal("0.00"))
    assert _cents(panel["revenue"]) == expected_panel
    code, out, err = _cli("classify", "--data", case.folder, "--config", config, "--out", tmp_path / "m.csv")
    assert code == 0, err
    membership = pd.read_csv(tmp_path / "m.csv", dtype={"client_id": str})
    assert set(membership["client_id"]) <= set(base.clients["client_id"])


@pytest.mark.parametrize("make", UNPARSEABLE, ids=[c.__name__[5:] for c in UNPARSEABLE])
def test_canonical_column_whose_values_do_not_parse(tmp_path, make):
    """A `date`/`revenue` column that is there but unreadable is named as such — file, column, example
    cells, lines, what to do — not reported as a missing column; exit 2, no traceback, nothing written;
    the check and the fix read in Russian through the ingest catalogue."""
    case = make(tmp_path)
    before = sorted(p.name for p in case.folder.iterdir())
    code, out, err = _cli("validate", "--data", case.folder)
    assert code == 2 and case.message in err, err
    assert "required column missing" not in err and case.extra["fix"] in err
    assert sorted(p.name for p in case.folder.iterdir()) == before
    check = err.split("ERROR", 1)[1].split(": ", 1)[1].split(" (e.g.")[0]
    fix = err.split("→ ", 1)[1].strip()
    ru_check, ru_fix = i18n.dq(check, "ru"), i18n.dq(fix, "ru")
    assert ru_check.startswith("значения не читаются как") and ru_fix != fix and "если эти значения" in ru_fix


def test_dry_run_prints_the_evidence_and_writes_nothing(tmp_path):
    from ingest_corpus import case_1c_code_name

    case = case_1c_code_name(tmp_path)
    code, out, err = _cli("init-config", "--data", case.folder, "--out", tmp_path / "k.yaml", "--dry-run")
    assert code == 0, err
    assert not (tmp_path / "k.yaml").exists()
    # the id decided by overlap with the order lines, shown with the count; value samples beside each role
    assert "clients id: Контрагент: 28 of 30 values found in Реализация_ru.csv" in out
    assert "clients id: Наименование: 0 of 30 values found" in out
    assert "transactions.revenue ← 'Сумма'" in out and "values '" in out
    assert "client_id: Контрагент" in out  # the proposal itself follows the evidence


def test_data_quality_counts_are_validates(tmp_path):
    """The page's table (quality.counts_table) is validate's: filtered lines with their revenue."""
    from analysis.report import quality
    from ingest_corpus import case_english_crm

    case = case_english_crm(tmp_path)
    config = case.folder / "keyclients.yaml"  # beside the data: `run --data DIR` uses it
    assert _cli("init-config", "--data", case.folder, "--out", config)[0] == 0
    code, out, err = _cli("validate", "--data", case.folder)
    assert code == 0, err
    shown = quality.counts_table(quality.check(case.folder, config=config))
    lines, revenue = case.extra["dropped"]
    row = shown[shown["step"] == "dq_dropped_by_filter"].iloc[0]
    assert row["lines"] == -lines and Decimal(f"{-row['revenue']:.2f}") == revenue
    for r in shown.itertuples(index=False):  # every row of the page is a line validate printed
        assert f"({r.detail})" in out if r.detail else True
        if not pd.isna(r.lines):
            assert f"{int(r.lines):,} lines" in out
    assert f"dropped by a filter of the config (Status: drop Cancelled): -{lines:,} lines" in out
    read = shown.set_index("step")
    assert read.loc["dq_lines_read", "lines"] + read.loc["dq_dropped_by_filter", "lines"] == \
        read.loc["dq_lines_used", "lines"]


def test_sample_report_shows_the_counts(sample_report):
    from analysis.config import SAMPLE_DIR

    shown = pd.read_csv(sample_report / "tables" / "data_counts.csv")
    expected = validate(SAMPLE_DIR).counts()
    assert shown["step"].tolist() == expected["step"].tolist()
    assert shown["lines"].fillna(-1).astype(int).tolist() == expected["lines"].fillna(-1).astype(int).tolist()
    page = (sample_report / "pages" / "01_data_quality.html").read_text(encoding="utf-8")
    assert "order lines used" in page
