"""Stopping a run: SIGTERM/SIGINT end every worker and kernel and leave nothing half-written;
a kernel or worker that dies is reported on the index, never a hang."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import nbformat
import psutil
import pytest

from analysis.config import SAMPLE_DIR
from analysis.report import run_report
from conftest import KEYCLIENTS, SMALL_METHOD_CHECK


def _kernels(pid: int) -> list[psutil.Process]:
    try:
        return [p for p in psutil.Process(pid).children(recursive=True) if "ipykernel" in " ".join(p.cmdline())]
    except psutil.Error:
        return []


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
        deadline = time.monotonic() + 180
        while len(_kernels(proc.pid)) < 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert proc.poll() is None, "the run ended before two kernels were running"
        children = psutil.Process(proc.pid).children(recursive=True)
        assert len(_kernels(proc.pid)) >= 2 and len(children) >= 4  # two workers, two kernels
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


def _notebook(folder: Path, name: str, source: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def test_a_dead_kernel_and_a_dead_worker_are_reported_not_waited_for(tmp_path):
    books = tmp_path / "books"
    books.mkdir()
    nbs = [_notebook(books, "01_kernel_dies", "import os\nos._exit(3)"),
           _notebook(books, "02_fine", "x = 1")]
    result = run_report(data_dir=SAMPLE_DIR, out_dir=tmp_path / "a", notebooks=nbs, jobs=1, log=lambda m: None)
    assert result.failed == ["01_kernel_dies"]
    index = (tmp_path / "a" / "index.html").read_text(encoding="utf-8")
    assert index.count('class="failed"') == 1 and "Kernel" in index  # nbclient: DeadKernelError: Kernel died

    # the kernel's parent is the pool worker: ending it breaks the pool, which must not hang the run
    nbs = [_notebook(books, "03_worker_dies", "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)")]
    result = run_report(data_dir=SAMPLE_DIR, out_dir=tmp_path / "b", notebooks=nbs, jobs=1, log=lambda m: None)
    assert result.failed == ["03_worker_dies"]
    index = (tmp_path / "b" / "index.html").read_text(encoding="utf-8")
    assert "worker process running it stopped" in index
    assert not _alive(psutil.Process().children(recursive=True))
