"""Issue 12's bar for the method check, measured on demand at any world count (the slow test
tests/test_method_check_bar.py runs the same worlds: 200 null + 100 planted per design with `make
method-bar`, the sample design's 200 null + 80 planted in `make test`).

    python benchmarks/method_check_bar.py [N_NULL] [N_PLANTED] [--inference NAME] [--workers K] [--seed S]

Worlds of the sample's design (read from the sample as page 5 reads a user's data) and of the same
design with G = 10 portfolios go through the default rules, rule variants and confirmatory tests
(`analysis.report.method_check.run_worlds`, the lean in-memory path). Null worlds give the family-wise
rate, the unadjusted rate per hypothesis and the mean std_effect; worlds planted at 1.5 × the
measured MDE (on the latent share) give power and the false "no effect" rate. The script prints the
measured numbers next to the bar (family-wise 0.025–0.08; unadjusted 0.02–0.09 per hypothesis;
|mean std_effect| ≤ 0.02; power ≥ 0.7 where the rule correlates ≥ 0.7 with its kind; false "no
effect" ≤ 10 %) and exits 1 when a number misses it.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor

import pandas as pd


def _block(args) -> list[dict]:
    warnings.simplefilter("ignore")
    from analysis.report import method_check

    design, start, n, kinds, effects, inference, attenuation, seed = args
    return method_check.run_worlds(design, n, seed, kinds=kinds, effects=effects, start=start, inference=inference,
                                   attenuation=attenuation, log=_quiet).to_dict("records")


def _quiet(_: str) -> None:
    pass


def _run(design, n, workers, kinds=("null",), effects="default", inference=None, attenuation=None,
         seed=12) -> pd.DataFrame:
    step = max(1, n // (4 * workers))
    blocks = [(design, s, min(step, n - s), kinds, effects, inference, attenuation, seed) for s in range(0, n, step)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return pd.DataFrame([r for b in pool.map(_block, blocks) for r in b])


def main() -> int:
    from analysis.report import method_check, study

    ap = argparse.ArgumentParser()
    ap.add_argument("n_null", nargs="?", type=int, default=200)
    ap.add_argument("n_planted", nargs="?", type=int, default=100)
    ap.add_argument("--inference", default=None)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=12, help="world i is seeded SEED * 1000 + i (the test uses 12)")
    a = ap.parse_args()
    sample = method_check.design_from_study(study.prepare())
    ok = True
    g10 = dataclasses.replace(sample, portfolios=10, periods=24, source="sample, G = 10, 24 quarters")
    for name, design in (("sample", sample), ("G10", g10)):
        t0 = time.perf_counter()
        null = _run(design, a.n_null, a.workers, inference=a.inference, seed=a.seed)
        fw = method_check.familywise(null)
        s = method_check.summary(null).set_index("id")
        effects = method_check.effects_at_mde(null, 1.5)  # as tests/test_method_check_bar.py
        att = method_check.attenuation_map(null.groupby("id", as_index=False)["latent_corr"].mean())
        planted = _run(design, a.n_planted, a.workers, kinds=("planted",), effects=effects, inference=a.inference,
                       attenuation=att, seed=a.seed)
        p = method_check.summary(planted).set_index("id")
        strong = s.index[s["latent_corr"] >= 0.7]
        checks = {
            "family-wise in 0.025-0.08": 0.025 <= fw["rate"] <= 0.08,
            "unadjusted in 0.02-0.09": bool(s["size_unadjusted"].between(0.02, 0.09).all()),
            "|mean std_effect| <= 0.02": bool((s["mean_std_effect_null"].abs() <= 0.02).all()),
            "power >= 0.7 where corr >= 0.7": bool((p.loc[strong, "power_planted"] >= 0.7).all()),
            "false no effect <= 0.10": bool((p["false_no_effect"] <= 0.10).all()),
        }
        ok &= all(checks.values())
        print(f"\n== {name}: {design.portfolios} portfolios × {design.periods} periods × ~{design.clients} clients; "
              f"{a.n_null} null + {a.n_planted} planted worlds in {time.perf_counter() - t0:.0f} s")
        print(f"family-wise {fw['text']}")
        print(pd.DataFrame({"unadjusted": s["size_unadjusted"], "mean_std_effect": s["mean_std_effect_null"],
                            "latent_corr": s["latent_corr"], "mde": s["mean_mde"],
                            "power_1.5mde": p["power_planted"], "false_no_effect": p["false_no_effect"]}).round(3))
        print({k: "ok" if v else "MISSED" for k, v in checks.items()})
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
