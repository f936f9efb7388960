"""Shared fixtures. The sample report is rendered once per test session and shared."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
KEYCLIENTS = Path(sys.executable).with_name("keyclients")
#: The method-check page at test size (seconds, not a minute).
SMALL_METHOD_CHECK = ("-p", "n_worlds=1", "-p", "portfolios=8", "-p", "periods=10", "-p", "clients=15",
                      "-p", "attenuation_worlds=1")


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run the installed ``keyclients`` console script in a subprocess."""
    return subprocess.run([str(KEYCLIENTS), *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


@pytest.fixture(scope="session")
def sample_report(tmp_path_factory) -> Path:
    """The sample report, rendered once for every test that reads it."""
    out = tmp_path_factory.mktemp("report") / "sample"
    proc = run_cli("run", "--sample", "--out", out, *SMALL_METHOD_CHECK, cwd=tmp_path_factory.mktemp("cwd"))
    assert proc.returncode == 0, proc.stderr
    return out


#: The key of the anonymised Russian sample report (a test key, nothing secret).
ANON_KEY = "test-key-2026"


@pytest.fixture(scope="session")
def ru_report(tmp_path_factory) -> Path:
    """The sample report in Russian with pseudonyms (key ``ANON_KEY``), rendered once per session."""
    out = tmp_path_factory.mktemp("report-ru") / "sample"
    proc = run_cli("run", "--sample", "--out", out, "--lang", "ru", "--anonymize", "--anon-key", ANON_KEY,
                   *SMALL_METHOD_CHECK, cwd=tmp_path_factory.mktemp("cwd"))
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="session")
def null_world(tmp_path_factory) -> Path:
    from analysis.synth import generate, write_world

    out = tmp_path_factory.mktemp("null")
    write_world(generate(portfolios=8, periods=10, clients=25, seed=11, effects="none"), out)
    return out


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def write_partial_data(data: Path, *, with_notes: bool = False) -> Path:
    """The sample without its cost column and without its events file, written to ``data``. With
    ``with_notes``, the export also carries what the data-quality page must explain: a title line
    above the header and a total row in transactions.csv, and a client without any order."""
    import csv

    data.mkdir(parents=True, exist_ok=True)
    for name in ("clients.csv", "kpis.csv"):
        shutil.copy(SAMPLE / name, data / name)
    with open(SAMPLE / "transactions.csv", encoding="utf-8", newline="") as src, \
            open(data / "transactions.csv", "w", encoding="utf-8", newline="") as dst:
        if with_notes:
            dst.write("Выгрузка заказов\n")
        rows = csv.DictReader(src)
        keep = [c for c in rows.fieldnames if c != "cost"]
        out = csv.DictWriter(dst, fieldnames=keep, extrasaction="ignore", lineterminator="\n")
        out.writeheader()
        out.writerows(rows)
        if with_notes:
            dst.write("Итого" + "," * 4 + "123456789.00" + "," * (len(keep) - 5) + "\n")
    if with_notes:
        with open(data / "clients.csv", "a", encoding="utf-8", newline="") as fh:
            fh.write("C999999,Quiet Harbour Ltd,P01,private,it,RU,2000,false,50,50\n")
    return data


@pytest.fixture(scope="session")
def partial_report(tmp_path_factory) -> Path:
    """A report on the sample without its cost column and without its events file, so that only
    some kinds are computable (key_profit, demanding, understanding are not); rendered once."""
    data = write_partial_data(tmp_path_factory.mktemp("partial-data") / "data")
    out_dir = tmp_path_factory.mktemp("report-partial") / "partial"
    proc = run_cli("run", "--data", data, "--out", out_dir, *SMALL_METHOD_CHECK, cwd=tmp_path_factory.mktemp("cwd"))
    assert proc.returncode == 0, proc.stderr
    return out_dir


@pytest.fixture(scope="session")
def ru_partial_report(tmp_path_factory) -> Path:
    """The partial-kinds report in Russian, NOT anonymised, on an export whose ingest notes and
    warnings fire (a title line, a total row, a client without orders); rendered once. The report
    folder's ``data`` sibling holds the data (its client names are the data's own words)."""
    base = tmp_path_factory.mktemp("report-partial-ru")
    data = write_partial_data(base / "data", with_notes=True)
    out_dir = base / "partial"
    proc = run_cli("run", "--data", data, "--out", out_dir, "--lang", "ru", *SMALL_METHOD_CHECK,
                   cwd=tmp_path_factory.mktemp("cwd"))
    assert proc.returncode == 0, proc.stderr
    return out_dir
