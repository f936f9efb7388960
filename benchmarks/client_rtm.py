"""Client-level tests in null worlds of one company (issue 12, client level): how often does each
kind → own-outcome test reject when nothing is planted at client level?

Worlds: ``keyclients synth`` (one portfolio, ``--effects none``), classified by the default rules;
the client panel and the default client model (period effects, all kinds jointly, log window
revenue, SEs clustered by client). The generator's built-in client-level differences
(advanced → revenue growth, understanding → retention; truth.json ``client_baseline``) are real
links, not false ones; every other kind × outcome pair is null at client level.

    nice .venv/bin/python benchmarks/client_rtm.py N_WORLDS [T] [FREQ] [CLIENTS] [DESIGN]
"""

from __future__ import annotations

import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

from analysis.categories.features import client_features
from analysis.categories.rules import classify, load_rulebook, rule_features
from analysis.config import FREQUENCIES
from analysis.growth import client_links as cl
from analysis.synth import generate, world_panel

OUTCOMES = ("revenue_growth", "retention", "margin_change", "claims_rate")
TRUE = {("advanced", "revenue_growth"), ("understanding", "retention"), ("demanding", "claims_rate")}


def one(args):
    seed, T, freq, clients, design = args
    W = FREQUENCIES.get(freq, ("", 4, 4))[2]
    if freq == "lean":  # tests/_client_worlds.py with the kind decided by the client's own recent revenue
        sys.path.insert(0, "tests")
        from _client_worlds import world

        W = 4
        panel, mem = world(seed, clients=clients, periods=T, feedback=1.0)
    else:
        w = generate(portfolios=1, periods=T, freq=freq, clients=clients, seed=seed, effects="none", names=False)
        panel = world_panel(w, freq=freq)
        book = load_rulebook(None)
        feats = client_features(panel, w.clients, window=W, kpis=w.kpis, only=rule_features(book))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mem = classify(panel, w.clients, rulebook=book, window=W, features=feats, kpis=w.kpis)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = cl.client_panel(panel, mem, window=W, lags=[1])
    cats = data.attrs["categories"]
    exps = [cl.member_column(k) for k in cats]
    W = data.attrs["window"]
    designs = {"pooled": (cl.client_regression, (cl.SIZE_CONTROL,)),
               "fm": (cl.period_slopes_regression, (cl.SIZE_CONTROL,)),
               "fm_act": (cl.period_slopes_regression, cl.CONTROLS)}
    rows = []
    for o in OUTCOMES:
        col = f"{o}_h1"
        if col not in data.columns:
            continue
        for name, (fn, ctrl) in designs.items():
            if design and name not in design.split(","):
                continue
            fit = fn(data, outcome=col, exposures=exps, controls=ctrl).set_index("term")
            for k in cats:
                t = cl.member_column(k)
                if t in fit.index:
                    r = fit.loc[t]
                    rows.append({"seed": seed, "design": name, "category": k, "outcome": o,
                                 "std_effect": r["std_effect"], "p": r["p_unc"], "n": r["n"]})
    return rows


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    T = int(sys.argv[2]) if len(sys.argv) > 2 else 12
    freq = sys.argv[3] if len(sys.argv) > 3 else "Q"
    clients = int(sys.argv[4]) if len(sys.argv) > 4 else 300
    design = sys.argv[5] if len(sys.argv) > 5 else ""
    t0 = time.process_time()
    with ProcessPoolExecutor(2) as pool:
        res = [r for rows in pool.map(one, [(s, T, freq, clients, design) for s in range(500, 500 + n)]) for r in rows]
    d = pd.DataFrame(res)
    g = d.groupby(["outcome", "category", "design"]).agg(reject=("p", lambda p: float((p < 0.05).mean())),
                                              mean_eff=("std_effect", "mean"), sd_eff=("std_effect", "std"),
                                              worlds=("p", "size"), n=("n", "mean"))
    g["truth"] = ["baseline link" if (i[1], i[0]) in TRUE and freq != "lean" else "null" for i in g.index]
    pd.set_option("display.width", 200)
    print(f"{n} worlds, T={T} {freq}, clients={clients}, design={design or 'default'}; parent CPU {time.process_time() - t0:.1f}s")
    print(g.round(3).to_string())


if __name__ == "__main__":
    main()
