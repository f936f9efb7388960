"""The same Ibis aggregation on Spark (``local[2]``) gives the DuckDB panel: money exact, counts exact.

Needs the spark extra (``pip install '.[spark]'``) and Java 17. Under ``CI=true`` a missing
pyspark or Java fails these tests (``.ci/run`` installs the extra); elsewhere they are skipped
with the reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess

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
