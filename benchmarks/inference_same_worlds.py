"""Every confirmatory inference on the SAME worlds of a design (issue 12, the default inference).

    python benchmarks/inference_same_worlds.py OUT.parquet --design G10|sample --kind null|planted
        [--worlds N] [--start S] [--workers K] [--effects effects.json] [--inference cv3,cr2,wild,cr1]

One world (the default rules, rule variants and "others" groups of the method check's lean path,
world i seeded 12 000 + i as tests/test_method_check_bar.py) is built once and tested with each
inference (`test_hypotheses(inference=...)`); `cv3j` is CV3 centred on the mean of the jackknife
estimates (summclust's CRV3J), run by passing ``center="mean"`` through. Rows: world, inference, id,
std_effect, std_effect_se, p_unc, p_adj, df, mde, planted, rejected; the CPU seconds of each world's
construction and of each inference go into ``cpu_world`` / ``cpu_test``. `summary OUT.parquet...`
prints the tables (family-wise and unadjusted rates with exact 95 % CIs, SD ÷ SE, mean MDE, power).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

SEED = 12
#: A folder to keep each world's analysis panel in (KEYCLIENTS_WORLD_CACHE): a later run with other
#: inferences reads them instead of building the worlds again (planted worlds: the same effects).
CACHE = os.environ.get("KEYCLIENTS_WORLD_CACHE", "")


@functools.lru_cache(maxsize=4)
def _design(name: str):
    from analysis.report import method_check, study

    sample = method_check.design_from_study(study.prepare())
    if name == "G10":
        return dataclasses.replace(sample, portfolios=10, periods=24, source="sample, G = 10, 24 quarters")
    return sample


def _patch_center(center: str) -> None:
    import analysis.stats.fe as fe
    from analysis.stats import cluster

    def ci(*a, **k):
        if k.get("method") == "cv3":
            k["center"] = center
        return cluster.cluster_inference(*a, **k)

    fe.cluster_inference = ci


def _worlds(args) -> list[dict]:
    design_name, start, n, kind, effects, inferences = args
    warnings.simplefilter("ignore")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from analysis.growth.confirmatory import test_hypotheses
    from analysis.report import method_check

    design = _design(design_name)
    eff = "none" if kind == "null" else effects
    sizes = {} if kind == "null" else {(e["category"], e["outcome"], int(e["lag"])): e["size"] for e in effects}
    rows = []
    for i in range(start, start + n):
        seed = SEED * 1000 + i
        c0 = time.process_time()
        cache = os.path.join(CACHE, f"{design_name}_{kind}_{i}.pkl") if CACHE else ""
        if cache and os.path.exists(cache):
            data = pd.read_pickle(cache)
        else:
            _, data = method_check._world_data(design, seed, eff)
            if cache:
                data.to_pickle(cache)
        cw = time.process_time() - c0
        for inf in inferences:
            _patch_center("mean" if inf == "cv3j" else "estimate")
            c1 = time.process_time()
            res = test_hypotheses(data, seed=seed, sentences=False, inference="cv3" if inf == "cv3j" else inf)
            ct = time.process_time() - c1
            for r in res.itertuples():
                rows.append({"world": i, "seed": seed, "kind": kind, "inference": inf, "id": r.id,
                             "category": r.category, "outcome": r.outcome, "lag": int(r.lag),
                             "std_effect": r.std_effect, "std_effect_se": r.std_effect_se,
                             "p_unc": r.p_unc, "p_adj": r.p_adj, "df": r.df, "mde": r.mde,
                             "verdict": r.verdict, "expected_sign": str(r.expected_sign),
                             "planted": sizes.get((r.category, r.outcome, int(r.lag)), 0.0),
                             "cpu_world": cw, "cpu_test": ct})
        _patch_center("estimate")
    return rows


def run(argv: list[str]) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--design", default="G10")
    ap.add_argument("--kind", default="null")
    ap.add_argument("--worlds", type=int, default=200)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--block", type=int, default=10)
    ap.add_argument("--effects", default="")
    ap.add_argument("--inference", default="cv3,cv3j,cr2,wild,cr1")
    a = ap.parse_args(argv)
    effects = json.loads(open(a.effects).read()) if a.effects else []
    infs = a.inference.split(",")
    jobs = [(a.design, s, min(a.block, a.start + a.worlds - s), a.kind, effects, infs)
            for s in range(a.start, a.start + a.worlds, a.block)]
    t0, c0 = time.time(), os.times()
    with ProcessPoolExecutor(max_workers=a.workers) as pool:
        parts = list(pool.map(_worlds, jobs))
    c1 = os.times()
    out = pd.DataFrame([r for p in parts for r in p])
    out.to_parquet(a.out)
    print(f"{len(out)} rows, {time.time() - t0:.0f} s wall, "
          f"{c1.children_user + c1.children_system - c0.children_user - c0.children_system:.0f} CPU-s (children), "
          f"load {os.getloadavg()}")


def _ci(k: int, n: int) -> str:
    from analysis.report.method_check import rate_ci

    r, lo, hi = rate_ci(k, n)
    return f"{k}/{n} {r:.3f} [{lo:.3f}, {hi:.3f}]"


def summary(paths: list[str], alpha: float = 0.05) -> None:
    d = pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
    d["rejected"] = d["p_adj"] < alpha
    for kind, dk in d.groupby("kind"):
        print(f"\n== {kind}: {dk['world'].nunique()} worlds")
        for inf, g in dk.groupby("inference", sort=False):
            if kind == "null":
                fw = g.groupby("world")["rejected"].any()
                per = g.groupby("id").apply(lambda h: (int((h["p_unc"] < alpha).sum()), int(h["p_unc"].notna().sum())))
                sd_se = g.groupby("id").apply(lambda h: h["std_effect"].std() / h["std_effect_se"].mean())
                mde = g.groupby("id")["mde"].mean()
                print(f"{inf:5s} family-wise {_ci(int(fw.sum()), len(fw))}; "
                      f"unadjusted {', '.join(f'{i} {k / n:.3f}' for i, (k, n) in per.items())}; "
                      f"SD/SE {', '.join(f'{v:.2f}' for v in sd_se)}; MDE {', '.join(f'{v:.3f}' for v in mde)}; "
                      f"not tested {int(g['p_unc'].isna().sum())}; cpu_test {g.groupby('world')['cpu_test'].first().mean():.3f}")
            else:
                p = g[g["planted"] != 0]
                hit = p["rejected"] & (np.sign(p["std_effect"]) == np.sign(p["planted"]))
                by = hit.groupby(p["id"]).mean()
                unadj = ((p["p_unc"] < alpha) & (np.sign(p["std_effect"]) == np.sign(p["planted"]))).groupby(p["id"]).mean()
                print(f"{inf:5s} power (Holm) {_ci(int(hit.sum()), len(hit))}: "
                      f"{', '.join(f'{i} {v:.2f}' for i, v in by.items())}; unadjusted "
                      f"{', '.join(f'{i} {v:.2f}' for i, v in unadj.items())}; "
                      f"no_effect {(p['verdict'] == 'no_effect').mean():.3f}")
    if "null" in set(d["kind"]):
        print("\nmean std_effect (null) ± 1.96 SE:", ", ".join(
            f"{i} {g.mean():+.3f} ± {1.96 * g.std() / np.sqrt(len(g)):.3f}"
            for i, g in d[(d["kind"] == "null") & (d["inference"] == d["inference"].iloc[0])].groupby("id")["std_effect"]))


if __name__ == "__main__":
    if sys.argv[1] == "summary":
        summary(sys.argv[2:])
    else:
        run(sys.argv[1:])
