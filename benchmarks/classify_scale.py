"""Categorisation at scale, on its own: ``python benchmarks/classify_scale.py [CLIENTS] [PERIODS]``.

Builds (once, cached in ``benchmarks/out/data``) a client × period panel of CLIENTS clients over
PERIODS quarters drawn with numpy (:func:`data.category_panel`; default 1,000,000 × 12), then, in a
fresh process, reads it and classifies it as the pages do (only the features the rulebook reads,
reason codes) and prints the wall time, the peak resident memory (``ru_maxrss`` of that process)
and the machine's load average. ``make bench`` runs the same case (``classify`` group).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import data  # noqa: E402


def main() -> None:
    clients = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    periods = int(sys.argv[2]) if len(sys.argv) > 2 else 12
    folder = data.category_panel(clients, periods)
    load0 = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        stats = Path(tmp) / "stats.json"
        proc = subprocess.run([sys.executable, str(HERE / "_launch.py"), str(stats), sys.executable,
                               str(HERE / "cases.py"), "classify_ours", str(folder)],
                              capture_output=True, text=True, cwd=str(HERE.parent))
        res = json.loads(stats.read_text()) if stats.is_file() else {"rc": -1}
    if res.get("rc") != 0:
        sys.exit(f"classify failed:\n{proc.stderr[-3000:]}")
    out = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    print(f"classify {clients:,} clients × {periods} periods: {res['seconds']:.1f} s wall, "
          f"{res.get('cpu_seconds', float('nan')):.1f} s CPU (user + system), peak {res['maxrss_mb']:,.0f} MB "
          f"(load average {load0:.1f} at start, {os.getloadavg()[0]:.1f} at end; {out})")


if __name__ == "__main__":
    main()
