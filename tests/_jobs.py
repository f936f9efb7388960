"""The reports the tests read, each rendered by one job in a process of its own.

``conftest.Renders`` runs ``python tests/_jobs.py NAME FOLDER`` in the background while the other
tests run (two jobs at a time by default), and the session fixture of the same name waits for it.
A job writes ``FOLDER/result.json``: the report folder (``out``), the command's ``returncode`` and
``stderr`` (a render through the ``keyclients`` command line) or the run's ``failed`` notebooks and
progress ``log`` (a render through :mod:`analysis.report.runner`). A job that dies writes nothing and its
fixture fails with the job's output.

Each report is rendered once per test session and shared by every test file that reads it; a check
that needs another report is added to one of these rather than rendering a new one. One more job is
not a report: ``method_bar`` simulates the worlds of issue 12's bar (tests/test_method_check_bar.py,
every design it asserts on, in one process pool) — the longest job, so it starts first.

Jobs run niced (``NICE``): the session's own process runs the other tests one after another and
keeps a core, the jobs take the rest; that serial part then never ends up alone at the end.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from conftest import ANON_KEY, SMALL_METHOD_CHECK, run_cli, write_partial_data

TIMEOUT = 3000  # seconds: the jobs share two cores with the rest of the suite
#: The small world of test_report (every page once) at its test sizes.
SMALL_WORLD = {"portfolios": 8, "periods": 10, "clients": 20, "seed": 4}
SMALL_PARAMS = {"n_worlds": 1, "portfolios": 6, "periods": 9, "clients": 12, "attenuation_worlds": 1}
#: Text from the data that must reach every page escaped (test_report).
EVIL_NAME = "<script>alert('x')</script>"
EVIL_PORTFOLIO = "<b>P01</b>"
#: The per-portfolio batch of test_publish.
BATCH_PORTFOLIOS = ["P01", "P02"]
BATCH_PAGES = ("02_client_categories", "03_growth_links")


def _cli(folder: Path, out: Path, *args) -> dict:
    cwd = folder / "cwd"
    cwd.mkdir(exist_ok=True)
    proc = run_cli("run", "--out", out, *args, *SMALL_METHOD_CHECK, cwd=cwd, timeout=TIMEOUT)
    return {"out": str(out), "returncode": proc.returncode, "stderr": proc.stderr}


def sample_report(folder: Path) -> dict:
    """The sample report (English)."""
    return _cli(folder, folder / "sample", "--sample")


def ru_report(folder: Path) -> dict:
    """The sample report in Russian with pseudonyms (key ``ANON_KEY``)."""
    return _cli(folder, folder / "sample", "--sample", "--lang", "ru", "--anonymize", "--anon-key", ANON_KEY)


def partial_report(folder: Path) -> dict:
    """The sample without its cost column and without its events file (English)."""
    data = write_partial_data(folder / "data")
    return _cli(folder, folder / "partial", "--data", data)


def ru_partial_report(folder: Path) -> dict:
    """The partial-kinds report in Russian, not anonymised, with ingest notes; ``data`` is the
    report folder's sibling."""
    data = write_partial_data(folder / "data", with_notes=True)
    return _cli(folder, folder / "partial", "--data", data, "--lang", "ru")


def one_company_report(folder: Path) -> dict:
    """The one-company sample (8 account managers, 36 months)."""
    return _cli(folder, folder / "one", "--sample", "one-company")


def monthly_report(folder: Path) -> dict:
    """Two small monthly companies (``monthly``: 3 portfolios, ``second``: 2) as one research panel."""
    from analysis.synth import generate, write_world

    write_world(generate(portfolios=3, periods=14, freq="M", clients=12, seed=5, effects="none"), folder / "monthly")
    write_world(generate(portfolios=2, periods=14, freq="M", clients=12, seed=8, effects="none"), folder / "second")
    return {**_cli(folder, folder / "report", "--data", folder / "monthly", "--data", folder / "second", "--freq", "M"),
            "companies": ["monthly", "second"]}


def evil_small_world(data: Path) -> Path:
    """The small world with markup in client names and in a portfolio name."""
    import pandas as pd

    from analysis.synth import generate, write_world

    write_world(generate(**SMALL_WORLD), data)
    clients = pd.read_csv(data / "clients.csv", dtype=str, keep_default_na=False)
    clients["name"] = EVIL_NAME + clients["name"]
    clients["portfolio"] = clients["portfolio"].where(clients["portfolio"] != "P01", EVIL_PORTFOLIO)
    clients.to_csv(data / "clients.csv", index=False)
    tx = pd.read_csv(data / "transactions.csv", dtype=str, keep_default_na=False)
    tx["portfolio"] = tx["portfolio"].where(tx["portfolio"] != "P01", EVIL_PORTFOLIO)
    tx.to_csv(data / "transactions.csv", index=False)
    return data


def small_world(folder: Path) -> dict:
    """Every page on the small world with markup in its names."""
    from analysis.report import runner as report

    data = evil_small_world(folder / "world")
    result = report.run_report(data_dir=data, out_dir=folder / "out", extra_parameters=SMALL_PARAMS, log=None)
    return {"out": str(folder / "out"), "data": str(data), "failed": result.failed}


def portfolio_batch(folder: Path) -> dict:
    """Two portfolios of the sample, one report each, in Russian, anonymised with ``ANON_KEY``."""
    from analysis.config import SAMPLE_DIR
    from analysis.report import runner as report

    lines: list[str] = []
    book = [b for b in report.list_notebooks() if b.stem in BATCH_PAGES]
    result = report.run_batch(data_dir=SAMPLE_DIR, out_dir=folder / "batch", notebooks=book, lang="ru",
                              anonymize=True, anon_key=ANON_KEY, portfolios=BATCH_PORTFOLIOS, log=lines.append,
                              extra_parameters={"attenuation_worlds": 1})
    return {"out": str(folder / "batch"), "failed": result.failed, "log": lines}


def method_bar(folder: Path) -> dict:
    """Issue 12's bar: the simulated worlds of tests/test_method_check_bar.py (every design it
    asserts on, in one process pool), pickled to ``bar.pkl`` for its tests."""
    import pickle

    import test_method_check_bar as bar

    out = folder / "bar.pkl"
    out.write_bytes(pickle.dumps(bar.compute_bar(), protocol=pickle.HIGHEST_PROTOCOL))
    return {"out": str(out)}


JOBS = {f.__name__: f for f in (sample_report, ru_report, partial_report, ru_partial_report, one_company_report,
                                monthly_report, small_world, portfolio_batch, method_bar)}
#: Niceness a job adds to its own (and so to every process it starts): the test session's own
#: process runs its tests one after another on one core, the jobs fill what is left, so the
#: session's serial part never waits behind the jobs and ends up alone at the end.
NICE = 5
#: Jobs that run with one BLAS/OpenMP thread, set before numpy loads (the user's environment
#: wins), as the report's kernels do (``analysis.report.runner.BLAS_THREADS``): the bar's worlds
#: are small matrices where a second thread only spins (a G = 10 world with ``wild_cv3``: 1.15 CPU-s
#: with numpy's default threads, 0.74 with one; CV3 0.63 / 0.60).
ONE_BLAS_THREAD = ("method_bar",)


def _cpu() -> float:
    """CPU seconds of this process and of every process it started and waited for."""
    import resource

    return sum(u.ru_utime + u.ru_stime for u in (resource.getrusage(resource.RUSAGE_SELF),
                                                 resource.getrusage(resource.RUSAGE_CHILDREN)))


if __name__ == "__main__":
    import time

    name, where = sys.argv[1], Path(sys.argv[2])
    os.nice(NICE)
    if name in ONE_BLAS_THREAD:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, "1")
    where.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    result = JOBS[name](where)
    result.update(wall_s=round(time.perf_counter() - start, 1), cpu_s=round(_cpu(), 1))
    (where / "result.json.tmp").write_text(json.dumps(result), encoding="utf-8")
    (where / "result.json.tmp").replace(where / "result.json")
