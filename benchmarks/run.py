"""Speed and memory, as ratios against a baseline measured in the same run.

Usage: ``make bench`` (or ``python benchmarks/run.py [--quick]``). Prints a table and writes it,
with a description of the machine, to ``benchmarks/RESULTS.md``. Each case runs in a fresh
process (imports included), repeated ``--repeat`` times; the table shows the median time and the
peak resident memory of that process. Absolute numbers depend on the machine and its load; the
ratios, measured side by side, are what to compare. Peak memory is that of the measured process
itself (notebook kernels run in processes of their own and are not included).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
PY = sys.executable


def measure(code: str, repeat: int) -> tuple[float, float]:
    """Median wall time (s) and max peak RSS (MB) of ``python -c code`` in fresh processes."""
    times, peaks = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.Popen([PY, "-c", code], stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        times.append(time.perf_counter() - start)
        if status != 0:
            raise SystemExit(f"benchmark case failed:\n{code}")
        peaks.append(usage.ru_maxrss / 1024)
    return statistics.median(times), max(peaks)


def floor_notebooks(folder: Path) -> list[Path]:
    """The report's notebooks reduced to their parameters and import cells: the runner's floor."""
    from analysis.report import list_notebooks

    out = []
    for nb_path in list_notebooks():
        nb = nbformat.read(nb_path, as_version=4)
        keep = [c for c in nb.cells if c.cell_type == "code" and (
            "parameters" in c.metadata.get("tags", []) or c.source.lstrip().startswith(("import", "from")))]
        for cell in keep:
            if "parameters" not in cell.metadata.get("tags", []):
                cell.source = "\n".join(l for l in cell.source.splitlines() if l.startswith(("import", "from")))
        nb.cells = keep
        target = folder / nb_path.name
        nbformat.write(nb, target)
        out.append(target)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, one repeat")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    repeat = 1 if args.quick else args.repeat
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # 1. synth: generation cost per order line, small vs large (linear scaling → ratio ≈ 1)
        sizes = {"sample size": (30, 12, 40), "large": (120, 16, 250)}
        if args.quick:
            sizes["large"] = (60, 16, 150)
        per_line = {}
        for label, (p, t, k) in sizes.items():
            code = textwrap.dedent(f"""
                from analysis.synth import generate, write_world
                w = generate(portfolios={p}, periods={t}, clients={k}, seed=1)
                write_world(w, {str(tmp / label.split()[0])!r})
                print(len(w.transactions))
            """)
            seconds, mb = measure(code, repeat)
            lines = sum(1 for _ in open(tmp / label.split()[0] / "transactions.csv")) - 1
            per_line[label] = seconds / lines
            rows.append((f"synth {label}", f"{lines:,} lines", seconds, mb))
        small, large = per_line.values()
        rows.append(("synth: time per line, large ÷ small", "", large / small, None))

        # 2. the sample report vs the floor (same runner, notebooks reduced to their imports)
        (tmp / "floor_nb").mkdir()
        books = floor_notebooks(tmp / "floor_nb")
        report = textwrap.dedent(f"""
            from analysis.config import SAMPLE_DIR
            from analysis.report import run_report
            run_report(data_dir=SAMPLE_DIR, out_dir={str(tmp / 'rep')!r}, log=lambda m: None)
        """)
        floor = textwrap.dedent(f"""
            from pathlib import Path
            from analysis.config import SAMPLE_DIR
            from analysis.report import run_report
            run_report(data_dir=SAMPLE_DIR, out_dir={str(tmp / 'floor')!r}, log=lambda m: None,
                       notebooks=[Path(p) for p in {[str(b) for b in books]!r}])
        """)
        t_rep, m_rep = measure(report, repeat)
        t_floor, m_floor = measure(floor, repeat)
        rows.append(("run --sample (report)", f"{len(books)} notebook(s)", t_rep, m_rep))
        rows.append(("run --sample floor (imports only)", "", t_floor, m_floor))
        rows.append(("report ÷ floor (goal ≤ 1.5)", "", t_rep / t_floor, m_rep / m_floor))

    table = ["| case | size | time (s) or ratio | peak MB or ratio |", "| --- | --- | ---: | ---: |"]
    for name, size, seconds, mb in rows:
        table.append(f"| {name} | {size} | {seconds:.2f} | {'' if mb is None else f'{mb:.0f}' if mb > 10 else f'{mb:.2f}'} |")
    machine = (f"{platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} cores, "
               f"load average {os.getloadavg()[0]:.2f} at start")
    text = "\n".join(table)
    print(text)
    results = HERE / "RESULTS.md"
    results.write_text(f"# Benchmark results\n\n{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} — {machine}; "
                       f"median of {repeat} run(s), each a fresh process (imports included).\n\n{text}\n",
                       encoding="utf-8")
    print(f"\nwritten to {results}")


if __name__ == "__main__":
    main()
