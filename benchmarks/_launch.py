"""Run one command and report its wall time and peak memory: ``python _launch.py OUT.json CMD...``.

The benchmark harness starts every case through this small launcher instead of directly: Linux
carries a process's peak RSS across ``exec``, so a case forked straight from the harness would
report the harness's own memory whenever that was larger. Forked from this small process, a
case's ``ru_maxrss`` is its own (plus this interpreter's few MB, the same for every case).
"""

import json
import os
import subprocess
import sys
import time

out, argv = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
proc = subprocess.Popen(argv)
_, status, usage = os.wait4(proc.pid, 0)
seconds = time.perf_counter() - start
with open(out, "w") as fh:
    json.dump({"seconds": seconds, "maxrss_mb": usage.ru_maxrss / 1024, "rc": os.waitstatus_to_exitcode(status),
               "cpu_seconds": usage.ru_utime + usage.ru_stime}, fh)
