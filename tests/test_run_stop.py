"""Stopping a run: SIGTERM/SIGINT end every worker and kernel and leave nothing half-written;
a kernel or worker that dies is reported on the index, never a hang."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from analysis.config import SAMPLE_DIR
from analysis.report.runner import run_report
from _notebooks import tiny_notebook
from conftest import KEYCLIENTS, SMALL_METHOD_CHECK, outside_renders


def _kernels(pid: int) -> list[psutil.Process]:
    out = []
    try:
        kids = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return out
    for p in kids:
        try:
            if "ipykernel" in " ".join(p.cmdline()):
                out.append(p)
        except psutil.Error:  # ended between listing and reading
            pass
    return out


def _alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_mid_run_ends_every_child_and_keeps_the_previous_report(tmp_path, sig, code):
    out = tmp_path / "rep"
    out.mkdir()
    (out / "index.html").write_text("the previous report", encoding="utf-8")
    proc = subprocess.Popen([str(KEYCLIENTS), "run", "--sample", "--out", str(out), "--jobs", "2",
                             *SMALL_METHOD_CHECK], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 600  # a loaded machine (the session's background renders) starts kernels slowly
        # the study is prepared in one worker while a page's kernel runs in the other
        while not (_kernels(proc.pid) and len(psutil.Process(proc.pid).children(recursive=True)) >= 3) \
                and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert proc.poll() is None, "the run ended before a kernel was running"
        children = psutil.Process(proc.pid).children(recursive=True)
        assert len(_kernels(proc.pid)) >= 1 and len(children) >= 3  # two workers, a kernel at least
        assert (tmp_path / f".rep.partial-{proc.pid}").is_dir()
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, err
    assert signal.Signals(sig).name in err and "Traceback" not in err
    deadline = time.monotonic() + 10  # psutil.wait_procs has reaped them; allow the kernel's own exit
    while _alive(children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(children), [p.cmdline() for p in _alive(children)]
    assert [p.name for p in tmp_path.iterdir()] == ["rep"]  # no partial or old folder left
    assert (out / "index.html").read_text(encoding="utf-8") == "the previous report"
    assert [p.name for p in out.iterdir()] == ["index.html"]


def test_a_dead_kernel_and_a_dead_worker_are_reported_not_waited_for(tmp_path):
    books = tmp_path / "books"
    books.mkdir()
    nbs = [tiny_notebook(books, "01_kernel_dies", "import os\nos._exit(3)"),
           tiny_notebook(books, "02_fine", "x = 1")]
    result = run_report(data_dir=SAMPLE_DIR, out_dir=tmp_path / "a", notebooks=nbs, jobs=1, log=lambda m: None)
    assert result.failed == ["01_kernel_dies"]
    index = (tmp_path / "a" / "index.html").read_text(encoding="utf-8")
    assert index.count('class="failed"') == 1 and "Kernel" in index  # nbclient: DeadKernelError: Kernel died

    # the kernel's parent is the pool worker: ending it breaks the pool, which must not hang the run
    nbs = [tiny_notebook(books, "03_worker_dies", "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)")]
    result = run_report(data_dir=SAMPLE_DIR, out_dir=tmp_path / "b", notebooks=nbs, jobs=1, log=lambda m: None)
    assert result.failed == ["03_worker_dies"]
    index = (tmp_path / "b" / "index.html").read_text(encoding="utf-8")
    assert "worker process running it stopped" in index
    # (the session's reports rendering in the background are not this run's)
    assert not _alive(outside_renders(psutil.Process().children(recursive=True)))


def test_progress_lines_carry_the_page_step_elapsed_time_and_an_estimate(tmp_path, monkeypatch):
    from analysis.report import progress
    from analysis.report.runner import _Progress, _progress_file

    out = tmp_path / "executed" / "05_method_check.ipynb"
    out.parent.mkdir()
    monkeypatch.setenv(progress.ENV, str(_progress_file(out, "step")))
    progress.step("world 7/32 done\nsecond line ignored")
    _progress_file(out, "cell").write_text("cell 3/6", encoding="utf-8")
    lines = []
    p = _Progress({str(out): "05_method_check", str(tmp_path / "executed" / "01_x.ipynb"): "01_x"}, lines.append,
                  jobs=1, previous={"01_x": 30.0}, heartbeat=0)
    p.tick()
    # the running page: 7 of 32 worlds in its first ~0 s; the queued page: 30 s from the previous run
    assert lines and "05_method_check: cell 3/6, world 7/32 done" in lines[-1] and "elapsed, about" in lines[-1]
    p.done(str(out), "05_method_check", 12.0, "")
    assert lines[-1].startswith("[1/2] 05_method_check: ok (12.0 s)") and "about 0:30 left" in lines[-1]
    p.done(str(tmp_path / "executed" / "01_x.ipynb"), "01_x", 1.0, "boom")
    assert "[2/2] 01_x: FAILED (boom)" in lines[-1] and "in all" in lines[-1]

    quiet = _Progress({str(out): "05_method_check"}, None)
    quiet.tick()
    quiet.done(str(out), "05_method_check", 1.0, "")  # prints nothing, raises nothing


def test_step_outside_a_run_does_nothing(monkeypatch, tmp_path):
    from analysis.report import progress

    monkeypatch.delenv(progress.ENV, raising=False)
    progress.step("anything")
    assert list(tmp_path.iterdir()) == []


def test_tables_sized_for_readers(tmp_path, monkeypatch):
    """Long tables: Parquet, CSV only up to the limit; tables.xlsx copies the short ones and lists the rest."""
    import pandas as pd

    from analysis.report import runner as report

    big = pd.DataFrame({"client_id": [f"c{i}" for i in range(report.WORKBOOK_MAX_ROWS + 5)], "score": 0.5})
    small = pd.DataFrame({"id": ["h1", "h2"], "p_adj": [0.01, 0.2]})
    monkeypatch.setenv("KEYCLIENTS_CSV_MAX_ROWS", str(report.WORKBOOK_MAX_ROWS))
    report.save_table(big, "client_level", tmp_path)
    report.save_table(small, "hypotheses", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["client_level.parquet", "hypotheses.csv"]
    pd.testing.assert_frame_equal(report.read_table(tmp_path, "client_level"), big)
    monkeypatch.delenv("KEYCLIENTS_CSV_MAX_ROWS")
    report.save_table(big, "client_level", tmp_path)  # under the default limit: CSV too, same rows
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "client_level.csv"), big)
    book = pd.ExcelFile(report.write_workbook(tmp_path))
    assert book.sheet_names == ["contents", "hypotheses"]
    contents = book.parse("contents").set_index("table")
    assert contents.loc["client_level", "rows"] == len(big) and not contents.loc["client_level", "in_this_workbook"]
    assert contents.loc["client_level", "files"] == "client_level.csv, client_level.parquet"
    pd.testing.assert_frame_equal(book.parse("hypotheses"), small)
    monkeypatch.setenv("KEYCLIENTS_CSV_MAX_ROWS", "many")
    with pytest.raises(report.InputError, match="KEYCLIENTS_CSV_MAX_ROWS"):
        report.save_table(small, "x", tmp_path)
