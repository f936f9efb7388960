"""The planner's ``units_needed`` checked against simulated designs (issue 12, client12).

For each of N lean team worlds of the one-company design (8 managers × 29 usable months,
tests/_team_worlds.py), the planner's answer for one hypothesis at min_effect 0.2 — by the design
effect measured at the data's own G (the old way) and by simulating copies of the data's units
(:func:`analysis.report.planner._units_by_simulation`) — then a fresh world with that many units and
an effect of 0.2 planted: found (Holm over seven, right sign) or not. Power ≈ 0.8 means the answer
is right; more means it asks for more units than needed.

    nice .venv/bin/python benchmarks/planner_units.py N
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

sys.path.insert(0, "tests")
import _team_worlds as tw  # noqa: E402
from analysis.report import planner  # noqa: E402

G, T, M, TARGET = 8, 29, 7, 0.2


def one(seed: int):
    i = seed % M
    j, sign = tw.HYPOTHESES[i]
    u, unit, x, ys = tw.world(seed)
    pp = tw.frame(x, ys, G, T)
    cols = [f"share_{k}" for k in tw.KIND_NAMES]

    def sim(g):
        return planner.cv3_design_mde(pp, f"y{i}_h1", cols, cols[j], m=M, units=g)

    v = sim(0)
    bound = planner._panel_mde(G, T, tw.KINDS + 1, 0.05, M)
    old = planner._search(lambda g: planner._panel_mde(g, T, tw.KINDS + 1, 0.05, M), TARGET / (v / bound), 2)
    new = planner._units_by_simulation(planner._known(sim, G, v), G, T, tw.KINDS + 1, 0.05, M, TARGET)
    found = []
    for g in (old, new):
        u2, unit2, x2, ys2 = tw.world(seed + 50_000, g=g, t=T, planted={i: TARGET})
        est, p, padj = tw.test_world(u2, unit2, x2, ys2, g, T)
        found.append(bool(padj[i] < 0.05 and np.sign(est[i]) == sign))
    return old, new, found[0], found[1]


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    t0 = time.time()
    with ProcessPoolExecutor(2) as pool:
        r = list(pool.map(one, range(30_000, 30_000 + n)))
    old = np.array([x[0] for x in r]); new = np.array([x[1] for x in r])
    print(f"{n} worlds ({time.time() - t0:.0f}s wall): units needed old median {np.median(old):.0f} "
          f"(range {old.min()}-{old.max()}), power there {np.mean([x[2] for x in r]):.2f}; "
          f"new median {np.median(new):.0f} ({new.min()}-{new.max()}), power there {np.mean([x[3] for x in r]):.2f}")
