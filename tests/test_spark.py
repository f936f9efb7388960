"""The same Ibis aggregation on Spark (``local[2]``) gives the DuckDB panel: money exact, counts exact.

Needs the spark extra (``pip install '.[spark]'``) and Java 17. Under ``CI=true`` a missing
pyspark or Java fails these tests (``.ci/run`` installs the extra); elsewhere they are skipped
with the reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import numpy as np
import pandas as pd
import pytest

from analysis.config import SAMPLE_DIR
from analysis.ingest import load
from analysis.ingest.panel import client_period_panel

pytestmark = pytest.mark.slow


def _missing() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install '.[spark]')"
    java = shutil.which("java") or (os.path.join(os.environ["JAVA_HOME"], "bin", "java")
                                    if os.environ.get("JAVA_HOME") else None)
    if java is None or subprocess.run([java, "-version"], capture_output=True).returncode != 0:
        return "Java is not available (Spark needs Java 17: apt install openjdk-17-jre-headless)"
    return None


@pytest.fixture(scope="module")
def spark():
    reason = _missing()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and the Spark test cannot run: {reason}")
        pytest.skip(reason)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ["KEYCLIENTS_SPARK_MASTER"] = "local[2]"
    from analysis.ingest.engine import spark_session

    session = spark_session()
    session.sparkContext.setLogLevel("ERROR")
    assert session.sparkContext.master == "local[2]"
    yield session
    session.stop()


@pytest.fixture(scope="module")
def base():
    return load(SAMPLE_DIR)


def _assert_same_panel(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(got.columns) == list(expected.columns)
    assert len(got) == len(expected) > 1000
    for col in ("revenue", "cost", "gross_profit", "new_product_revenue", "prepayment_amount"):
        # money exact: identical cents, not merely close
        cents = lambda s: np.round(s.to_numpy(dtype=float) * 100)  # noqa: E731
        np.testing.assert_array_equal(cents(got[col]), cents(expected[col]), err_msg=col)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_spark_panel_equals_duckdb_quarters(spark, base):
    expected = client_period_panel(base, engine="duckdb")
    got = client_period_panel(base, engine="spark")
    _assert_same_panel(got, expected)
    assert expected["orders"].sum() == len(base.transactions)


def test_spark_reads_the_files_itself(spark):
    from analysis.ingest.engine import panel_from_files

    expected = panel_from_files(SAMPLE_DIR, engine="duckdb")
    _assert_same_panel(panel_from_files(SAMPLE_DIR, engine="spark"), expected)


def test_spark_panel_equals_duckdb_months(spark, base):
    expected = client_period_panel(base, freq="M", engine="duckdb")
    _assert_same_panel(client_period_panel(base, freq="M", engine="spark"), expected)


def test_spark_study_brings_only_the_panel(spark, tmp_path, monkeypatch):
    # `run --engine spark`: the CLI's check converts the files once to Parquet in a staging folder
    # and records its outcome; the study job then reads the Parquet without converting or checking
    # again. The study holds the panel and the manager counts, not the order lines, and classifies
    # exactly as the pandas path
    from _engine_data import mixed_managers
    from analysis.ingest import engine
    from analysis.report import study

    folder = mixed_managers(tmp_path / "data")
    direct = study.prepare(folder)
    stage = tmp_path / "stage"
    stage.mkdir()
    assert study.check_in_engine(folder, study.settings(folder), "spark", stage=stage)

    def again(*args, **kwargs):
        raise AssertionError("the study job converted or checked the files again")

    monkeypatch.setenv(engine.STAGE_ENV, str(stage))
    monkeypatch.setattr(engine, "_convert", again)
    monkeypatch.setattr(engine, "check_scan", again)
    got = study.prepare(folder, engine="spark")
    assert got.base.transactions is None and got.base.events is None and got.managers is not None
    for name in ("panel", "features", "membership", "variants"):
        pd.testing.assert_frame_equal(getattr(got, name), getattr(direct, name), check_exact=True,
                                      obj=name)
    pd.testing.assert_frame_equal(got.base.clients, direct.base.clients, check_exact=True)
    assert spark.sparkContext._jsc is not None  # the caller's session is left running
    # a staging folder made from other files is not used
    assert engine.stage_of(stage, folder, freq="Q", duplicates="error") is not None
    assert engine.stage_of(stage, folder, freq="M", duplicates="error") is None
    with open(folder / "kpis.csv", "a", encoding="utf-8") as fh:
        fh.write("\n")
    assert engine.stage_of(stage, folder, freq="Q", duplicates="error") is None


def test_a_file_changed_while_it_is_converted_is_not_taken_as_checked(spark, tmp_path, monkeypatch):
    """checked.json records the files' sha256 from before the conversion: a file written to while
    the CLI converts and checks it (its Parquet holds the old content) no longer matches the record,
    so the study checks it again instead of reading the stale Parquet as checked. The record used
    to take the sha256 after the checks, i.e. of the new content, and was accepted."""
    from _engine_data import mixed_managers
    from analysis.ingest import engine

    folder = mixed_managers(tmp_path / "data")
    stage = tmp_path / "stage"
    stage.mkdir()
    convert = engine._convert

    def convert_then_append(con, path, header, target):
        convert(con, path, header, target)
        if path.name == "transactions.csv":  # the export is still being written
            with open(path, "a", encoding="utf-8") as fh:
                fh.write("\n")

    monkeypatch.setattr(engine, "_convert", convert_then_append)
    engine.check_in_engine(folder, engine="spark", stage=stage)
    assert (stage / "checked.json").is_file()
    assert engine.stage_of(stage, folder, freq="Q", duplicates="error") is None


def test_run_engine_spark_bad_input_exits_2(spark, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from _engine_data import mixed_managers
    from analysis.cli import app

    folder = mixed_managers(tmp_path / "data")
    tx = pd.read_csv(folder / "transactions.csv", dtype=str, keep_default_na=False)
    tx.loc[[3, 4], "revenue"] = "12 руб."
    tx.loc[[6], "client_id"] = "NOBODY"  # Spark's hash join to the clients' ids, not NOT IN
    tx.to_csv(folder / "transactions.csv", index=False)
    out = tmp_path / "report"
    temp = tmp_path / "tmp"  # where the staging folder goes
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    args = ["run", "--data", str(folder), "--engine", "spark", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "transactions.csv, column revenue: not a number" in result.output
    assert "transactions.csv, column client_id: client not in the clients table" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()
    assert not list(temp.iterdir())  # the staging folder removed
    from analysis.ingest.engine import STAGE_ENV

    assert STAGE_ENV not in os.environ
