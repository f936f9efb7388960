"""CPU seconds of one method-check world of each kind on a study's design — the numbers behind the
cost model of ``analysis.report.method_check`` ("how many worlds by default").

    python benchmarks/world_cost.py [--data sample|export|one-company|DIR ...] [--worlds 2]

For each data folder: the design the report would simulate (``design_from_study``), the data's
client × period rows, the default world count, then ``--worlds`` worlds of each kind (null,
planted, min_effect) timed one by one in this process (``time.process_time``, every thread of the
process, as the report's pool workers count them), with the same seeds, hypotheses and inference as
the report's pool (``method_check.run_part``: the worlds' default inference). The planted and
min_effect worlds are tested with the null worlds' attenuation, as in the report.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _data(name: str) -> Path:
    from analysis.config import SAMPLE_DIR

    if name == "sample":
        return SAMPLE_DIR
    if name == "one-company":
        return SAMPLE_DIR.parent / "sample-one-company"
    if name == "export":
        import data

        return data.export_world()
    return Path(name)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", nargs="+", default=["sample", "export"])
    ap.add_argument("--worlds", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--inference", default=None, help="the worlds' inference (default: the tests' own)")
    a = ap.parse_args(argv)

    from analysis.report import method_check, study

    for name in a.data:
        t0 = time.process_time()
        s = study.prepare(_data(name))
        t1 = time.process_time()
        design = method_check.design_from_study(s)
        t2 = time.process_time()
        rows = len(s.panel)
        print(f"== {name}: {design.portfolios} × {design.periods} × {design.clients} ({design.freq}), "
              f"{rows:,} client × period rows; prepare {t1 - t0:.2f} s, design {t2 - t1:.2f} s CPU; "
              f"default n_worlds {method_check.default_worlds(design, rows)}", flush=True)
        null = []
        for i in range(a.worlds):
            t = time.process_time()
            null.append(method_check.run_worlds(design, 1, a.seed, kinds=("null",), start=i,
                                             inference=a.inference, log=lambda _: None))
            print(f"   null        world {i}: {time.process_time() - t:6.2f} s", flush=True)
        import pandas as pd

        att = method_check.attenuation_map(pd.concat(null, ignore_index=True)
                                                .groupby("id", as_index=False)["latent_corr"].mean())
        for kind in ("planted", "min_effect"):
            for i in range(a.worlds):
                t = time.process_time()
                method_check.run_worlds(design, 1, a.seed, kinds=(kind,), start=i, attenuation=att,
                                        inference=a.inference, log=lambda _: None)
                print(f"   {kind:<11} world {i}: {time.process_time() - t:6.2f} s", flush=True)


if __name__ == "__main__":
    main()
