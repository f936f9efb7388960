"""Shared fixtures. Every report the tests read is rendered once per test session, in the
background while the other tests run, and shared by every file that reads it (see ``Renders``)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

#: The environment as the session started, before the line below: what the background renders run
#: with, so that they run as a user's ``keyclients run`` does.
USER_ENV = dict(os.environ)
#: One BLAS/OpenMP thread in this process and the pools its tests start (unless the environment
#: sets them; numpy is not loaded yet when pytest reads this file): the tests' matrices are small,
#: where a second thread only spins — under load it tripled the CPU of pooled simulations
#: (test_team_worlds 38.4 → 14.9 CPU-s). The report's kernels do the same
#: (``analysis.report.runner.BLAS_THREADS``; tests/test_worlds_pool.py checks that without these).
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

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


#: The key of the anonymised Russian sample report (a test key, nothing secret).
ANON_KEY = "test-key-2026"


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


# ---- reports rendered in the background --------------------------------------------------------

#: Session fixture → the jobs of tests/_jobs.py it waits for.
RENDERS = {"sample_report": ("sample_report",), "ru_report": ("ru_report",), "partial_report": ("partial_report",),
           "ru_partial_report": ("ru_partial_report",), "one_company_report": ("one_company_report",),
           "monthly_report": ("monthly_report",), "small_world": ("small_world",),
           "portfolio_batch": ("portfolio_batch",), "method_bar": ("method_bar",)}
#: CPU seconds of each job (a run of `make test`, KEYCLIENTS_TEST_TIMES): the jobs start longest
#: first, so that the last to end is a short one and both cores stay busy until the end.
COST = {"method_bar": 340, "portfolio_batch": 97, "one_company_report": 86, "ru_report": 84, "sample_report": 84,
        "ru_partial_report": 69, "partial_report": 68, "small_world": 62, "monthly_report": 54}
JOBS_SCRIPT = Path(__file__).with_name("_jobs.py")
#: Renders at a time (each runs its notebooks in a pool of one worker per core).
PARALLEL = int(os.environ.get("KEYCLIENTS_TEST_RENDERS", "2"))
WAIT = 3600  # seconds a test waits for its report


def _renders_used(item) -> list[str]:
    """The render fixtures a test uses, by name or as a parameter naming one (getfixturevalue)."""
    names = list(item.fixturenames)
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        names += [v for v in callspec.params.values() if isinstance(v, str)]
    return [n for n in names if n in RENDERS]


def pytest_collection_modifyitems(config, items):
    """Tests that read a rendered report run last (in their files' order), so that the reports are
    rendered in the background while every other test runs."""
    items.sort(key=lambda item: bool(_renders_used(item)))


class Renders:
    """Runs the jobs of tests/_jobs.py in subprocesses, ``PARALLEL`` at a time, in the order they
    were asked for; a job a test waits for and that has not started goes first. A thread starts the
    next job when one ends; ``stop`` ends the process groups of jobs still running."""

    def __init__(self, base: Path, parallel: int = PARALLEL):
        self.base, self.parallel = base, max(1, parallel)
        # the environment as the session started (USER_ENV): a job that starts while a test has
        # changed os.environ (monkeypatch.setenv) must not see that change
        self.env = dict(USER_ENV)
        self.queue: list[str] = []
        self.running: dict[str, subprocess.Popen] = {}
        self.ended: dict[str, int] = {}
        self.cond = threading.Condition()
        self.stopped = False
        self.thread = threading.Thread(target=self._loop, name="renders", daemon=True)
        self.thread.start()

    def ask(self, jobs, *, first: bool = False) -> None:
        with self.cond:
            for job in jobs:
                if job in self.running or job in self.ended:
                    continue
                if job in self.queue:
                    if not first:
                        continue
                    self.queue.remove(job)
                if first:
                    self.queue.insert(0, job)
                else:
                    self.queue.append(job)
            self.cond.notify_all()

    def pids(self) -> set[int]:
        with self.cond:
            return {proc.pid for proc in self.running.values()}

    def _start(self, job: str) -> subprocess.Popen:
        folder = self.base / job
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "job.log", "wb") as log:
            return subprocess.Popen([sys.executable, str(JOBS_SCRIPT), job, str(folder)], stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=folder, env=self.env,
                                    start_new_session=True)

    def _loop(self) -> None:
        with self.cond:
            while not self.stopped:
                for job, proc in list(self.running.items()):
                    if proc.poll() is not None:
                        self.ended[job] = proc.returncode
                        _JOB_CPU[0] += _job_cpu(self.base / job)
                        del self.running[job]
                        self.cond.notify_all()
                while self.queue and len(self.running) < self.parallel:
                    job = self.queue.pop(0)
                    try:
                        self.running[job] = self._start(job)
                    except OSError as exc:  # its fixture fails with this instead of waiting
                        (self.base / job / "job.log").write_text(f"could not start: {exc}", encoding="utf-8")
                        self.ended[job] = -1
                        self.cond.notify_all()
                self.cond.wait(0.5)

    def result(self, job: str) -> dict:
        """Wait for ``job`` and return what it wrote (fails the test when the job died)."""
        self.ask([job], first=True)
        with self.cond:
            if not self.cond.wait_for(lambda: job in self.ended, timeout=WAIT):
                pytest.fail(f"the background render {job} did not end within {WAIT} s")
        folder = self.base / job
        done = folder / "result.json"
        if not done.is_file():
            log = (folder / "job.log").read_text(encoding="utf-8", errors="replace")
            pytest.fail(f"the background render {job} ended with exit code {self.ended[job]} and no result:\n{log[-4000:]}")
        return json.loads(done.read_text(encoding="utf-8"))

    def stop(self) -> None:
        with self.cond:
            self.stopped = True
            self.queue.clear()
            procs = list(self.running.values())
            self.cond.notify_all()
        for proc in procs:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        deadline = time.monotonic() + 10
        for proc in procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.thread.join(5)


@pytest.fixture(scope="session", autouse=True)
def renders(request, tmp_path_factory):
    """Starts, at the first test, every render that the selected tests read, longest first."""
    wanted = [job for item in request.session.items for name in _renders_used(item) for job in RENDERS[name]]
    global _RUNNER
    runner = _RUNNER = Renders(tmp_path_factory.mktemp("renders"))
    _BASE[:] = [runner.base]
    runner.ask(sorted(dict.fromkeys(wanted), key=lambda job: -COST.get(job, 0)))
    yield runner
    runner.stop()
    _RUNNER = None


_RUNNER: Renders | None = None


def outside_renders(procs) -> list:
    """``procs`` (psutil processes) less the background renders and everything they started: for
    tests that check that a run of their own left no process behind."""
    import psutil

    jobs = _RUNNER.pids() if _RUNNER else set()
    out = []
    for proc in procs:
        try:
            if proc.pid in jobs or any(parent.pid in jobs for parent in proc.parents()):
                continue
        except psutil.NoSuchProcess:
            continue
        out.append(proc)
    return out


def pytest_terminal_summary(terminalreporter):
    """One line per background render: its wall time and CPU seconds (with the processes it ran);
    and the CPU seconds of the whole session, which depend far less on the machine's load than
    its wall time does."""
    terminalreporter.write_line(f"CPU seconds of this session (pytest and every process it waited for): {_cpu():.0f}")
    base = _BASE[0] if _BASE else None
    if base is None or not base.is_dir():
        return
    rows = []
    for folder in sorted(base.iterdir()):
        done = folder / "result.json"
        if done.is_file():
            r = json.loads(done.read_text(encoding="utf-8"))
            rows.append(f"{folder.name}: {r.get('wall_s', '?')} s wall, {r.get('cpu_s', '?')} s CPU")
            if _TIMES:
                with open(_TIMES, "a", encoding="utf-8") as fh:
                    fh.write(f"render:{folder.name},{r.get('wall_s', 0)},{r.get('cpu_s', 0)}\n")
    if rows:
        terminalreporter.write_sep("-", f"background renders ({PARALLEL} at a time)")
        for row in rows:
            terminalreporter.write_line(row)


_BASE: list[Path] = []
#: KEYCLIENTS_TEST_TIMES=file.csv: one row per test (wall and CPU seconds of its setup, call and
#: teardown, without the background renders that ended meanwhile) and one per background render.
_TIMES = os.environ.get("KEYCLIENTS_TEST_TIMES", "")
_JOB_CPU = [0.0]  # CPU seconds of the background renders reaped so far


def _cpu() -> float:
    import resource

    return sum(u.ru_utime + u.ru_stime for u in (resource.getrusage(resource.RUSAGE_SELF),
                                                 resource.getrusage(resource.RUSAGE_CHILDREN)))


def _job_cpu(folder: Path) -> float:
    try:
        return float(json.loads((folder / "result.json").read_text(encoding="utf-8")).get("cpu_s", 0.0))
    except (OSError, ValueError):
        return 0.0


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    if not _TIMES:
        yield
        return
    wall, cpu, jobs = time.perf_counter(), _cpu(), _JOB_CPU[0]
    yield
    wall, cpu = time.perf_counter() - wall, _cpu() - cpu - (_JOB_CPU[0] - jobs)
    with open(_TIMES, "a", encoding="utf-8") as fh:
        fh.write(f"{item.nodeid},{wall:.2f},{cpu:.2f}\n")


def _rendered(renders: Renders, job: str) -> dict:
    result = renders.result(job)
    assert result.get("returncode", 0) == 0, result.get("stderr")
    return result


@pytest.fixture(scope="session")
def sample_report(renders) -> Path:
    """The sample report (English)."""
    return Path(_rendered(renders, "sample_report")["out"])


@pytest.fixture(scope="session")
def ru_report(renders) -> Path:
    """The sample report in Russian with pseudonyms (key ``ANON_KEY``)."""
    return Path(_rendered(renders, "ru_report")["out"])


@pytest.fixture(scope="session")
def partial_report(renders) -> Path:
    """A report on the sample without its cost column and without its events file, so that only
    some kinds are computable (key_profit, demanding, understanding are not)."""
    return Path(_rendered(renders, "partial_report")["out"])


@pytest.fixture(scope="session")
def ru_partial_report(renders) -> Path:
    """The partial-kinds report in Russian, NOT anonymised, on an export whose ingest notes and
    warnings fire (a title line, a total row, a client without orders). The report folder's
    ``data`` sibling holds the data (its client names are the data's own words)."""
    return Path(_rendered(renders, "ru_partial_report")["out"])


@pytest.fixture(scope="session")
def one_company_report(renders) -> Path:
    """The one-company sample's report."""
    return Path(_rendered(renders, "one_company_report")["out"])


@pytest.fixture(scope="session")
def monthly_report(renders) -> dict:
    """``--freq M`` over two small monthly companies: ``{"out": report folder, "companies": their
    folder names}``."""
    result = _rendered(renders, "monthly_report")
    return {"out": Path(result["out"]), "companies": result["companies"]}


@pytest.fixture(scope="session")
def small_world(renders) -> dict:
    """Every page on a small world with markup in client and portfolio names:
    ``{"out", "data", "failed"}``. (That the same inputs and seed give the same tables is checked
    on two renders the session makes anyway: tests/test_report.py.)"""
    r = _rendered(renders, "small_world")
    return {**r, "out": Path(r["out"]), "data": Path(r["data"])}


@pytest.fixture(scope="session")
def portfolio_batch(renders) -> dict:
    """Two portfolios of the sample, one report each, Russian, anonymised with ``ANON_KEY``:
    ``{"out", "failed", "log"}``."""
    result = _rendered(renders, "portfolio_batch")
    return {**result, "out": Path(result["out"])}


@pytest.fixture(scope="session")
def method_bar(renders) -> dict:
    """Issue 12's bar worlds (tests/test_method_check_bar.py ``compute_bar``), simulated in the
    background while the other tests run: ``{design: {"design", "null", "planted", "effects"}}``."""
    import pickle

    return pickle.loads(Path(_rendered(renders, "method_bar")["out"]).read_bytes())
