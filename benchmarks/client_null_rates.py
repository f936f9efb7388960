"""Client-level false-positive rates of the default test in null worlds of one company, with the
truth known (issue 12, client level; docs/methods.md "Client level").

Each seed draws one world of ``keyclients synth`` (one portfolio, ``--effects none``) twice: as the
generator makes it (``as-is``: every article kind has its own revenue factor in the company, a trend
of SD 0.35 over the span plus a random walk) and with that factor set to 0 (``no-factor``: the same
draws otherwise, so the pair differs only by it). Each world is tested with the kinds as the default
rules decide them (``rules``) and with the latent kinds of truth.json (``latent``; key kinds are
left out, they have no latent truth). The test is the report's: :func:`period_slopes_regression`
with every kind jointly, :data:`CONTROLS`, and the Newey-West term for change outcomes — and, on the
same worlds, the same test with lasting-size controls added (``controls`` column: ``history``, the
client's log mean revenue per period over its history before t; ``history_last``, and its last
period's log revenue; session 6, docs/methods.md "Client level").

Built-in client-level differences of the generator (truth.json ``client_baseline`` and the event
model: advanced clients grow early and churn more, understanding clients stay, demanding clients
claim more) are real links; every other kind × outcome pair is null at client level *for the
latent kinds without the factor*. What is left above the band there is the test's.

    nice .venv/bin/python benchmarks/client_null_rates.py N_WORLDS [T] [FREQ] [CLIENTS] [OUT.csv]
"""

from __future__ import annotations

import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis import synth
from analysis.categories.features import client_features
from analysis.categories.rules import classify, load_rulebook, rule_features
from analysis.config import FREQUENCIES
from analysis.growth import client_links as cl

OUTCOMES = ("revenue_growth", "retention", "margin_change", "claims_rate")
ARTICLE = ("image", "demanding", "advanced", "understanding")
#: links the generator builds into clients of a latent kind (not false positives)
BUILT_IN = {("advanced", "revenue_growth"), ("advanced", "retention"),
            ("understanding", "retention"), ("demanding", "claims_rate")}

_DRAW = synth._Generator._draw_world


def _no_factor(self) -> None:
    _DRAW(self)
    self.kind_factor = {k: np.zeros_like(v) for k, v in self.kind_factor.items()}


#: The client's lasting size, measured on data up to t-1 only (session 6, issue 12: the image ->
#: revenue growth rate was traced to the window-revenue size control): log mean revenue per period
#: over the client's whole history before t (its first purchase to t-1), and its last period's log
#: revenue (0 when it did not buy; ``active_last`` is a control already).
HISTORY, LAST = "log_history_revenue", "log_last_revenue"
#: Control sets compared on the same worlds (``controls`` column): the test's default, and the
#: default with the lasting-size controls.
CONTROL_SETS = {"default": cl.CONTROLS, "history": (*cl.CONTROLS, HISTORY),
                "history_last": (*cl.CONTROLS, HISTORY, LAST)}


def _history_columns(panel: pd.DataFrame, data: pd.DataFrame) -> pd.DataFrame:
    """``data`` (:func:`cl.client_panel`'s rows) with :data:`HISTORY` and :data:`LAST`."""
    from analysis.growth.panel import PortfolioClientGrid, log_positive
    from analysis.ingest.periods import period_axis

    periods = period_axis(panel["period"].astype(str).unique())
    a = PortfolioClientGrid(panel, periods)
    rev = a.matrix("revenue")
    active = rev > 0
    rev = np.where(active, rev, 0.0)
    T = rev.shape[1]
    before = cl.shift_right(np.cumsum(rev, axis=1), 1, fill=0.0)
    ever = np.maximum.accumulate(active, axis=1)
    first = np.where(ever.any(axis=1), ever.argmax(axis=1), T)
    n = np.arange(T)[None, :] - first[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        hist = log_positive(np.where(n > 0, before / np.maximum(n, 1), np.nan))
    last = np.nan_to_num(cl.shift_right(log_positive(rev), 1), nan=0.0)
    ci = a.clients.get_indexer(pd.MultiIndex.from_frame(data[["client_id", "portfolio"]]))
    si = pd.Index(periods).get_indexer(data["period"])
    out = data.copy()
    out[HISTORY], out[LAST] = hist[ci, si], last[ci, si]
    return out


def _fits(data: pd.DataFrame, seed: int, mode: str, kinds: str) -> list[dict]:
    cats = data.attrs["categories"]
    exps = [cl.member_column(k) for k in cats]
    rows = []
    for name, controls in CONTROL_SETS.items():
        for o in OUTCOMES:
            col = f"{o}_h1"
            if col not in data.columns:
                continue
            fit = cl.period_slopes_regression(data, outcome=col, exposures=exps,
                                              controls=controls,
                                              change=o in cl.CHANGE_OUTCOMES).set_index("term")
            for k in cats:
                t = cl.member_column(k)
                if t in fit.index:
                    r = fit.loc[t]
                    rows.append({"seed": seed, "mode": mode, "kinds": kinds, "controls": name,
                                 "category": k, "outcome": o,
                                 "std_effect": float(r["std_effect"]), "p": float(r["p_unc"]),
                                 "n": int(r["n"]), "periods": int(r["n_periods"])})
    return rows


def one(args: tuple) -> list[dict]:
    seed, T, freq, clients = args
    W = FREQUENCIES[freq][2]
    rows: list[dict] = []
    for mode in ("as-is", "no-factor"):
        synth._Generator._draw_world = _DRAW if mode == "as-is" else _no_factor
        try:
            w = synth.generate(portfolios=1, periods=T, freq=freq, clients=clients, seed=seed,
                               effects="none", names=False)
        finally:
            synth._Generator._draw_world = _DRAW
        panel = synth.world_panel(w, freq=freq)
        book = load_rulebook(None)
        feats = client_features(panel, w.clients, window=W, kpis=w.kpis, only=rule_features(book))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mem = classify(panel, w.clients, rulebook=book, window=W, features=feats, kpis=w.kpis)
            data = _history_columns(panel, cl.client_panel(panel, mem, window=W, lags=[1]))
        rows += _fits(data, seed, mode, "rules")
        # latent kinds: the same client-periods, membership = the client's latent trait
        latent = {c: set(v["kinds"]) for c, v in w.truth["clients"].items()}
        lat = mem[mem["category"].astype(str).isin(ARTICLE)].copy()
        known = lat["member"].notna().to_numpy()
        flag = [k in latent.get(c, ()) for c, k in zip(lat["client_id"].astype(str),
                                                         lat["category"].astype(str))]
        lat["member"] = pd.array(np.where(known, flag, False), dtype="boolean")
        lat.loc[~known, "member"] = pd.NA
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = _history_columns(panel, cl.client_panel(panel, lat, window=W, lags=[1],
                                                           categories=list(ARTICLE)))
        rows += _fits(data, seed, mode, "latent")
    return rows


def summary(d: pd.DataFrame) -> pd.DataFrame:
    g = d.groupby(["controls", "mode", "kinds", "outcome", "category"], observed=True)
    out = g.agg(worlds=("p", "size"), rejected=("p", lambda p: int((p < 0.05).sum())),
                mean_eff=("std_effect", "mean"), sd_eff=("std_effect", "std"),
                periods=("periods", "mean"))
    out["rate"] = out["rejected"] / out["worlds"]
    ci = [sps.binomtest(int(k), int(n)).proportion_ci() for k, n in zip(out["rejected"], out["worlds"])]
    out["ci_low"] = [c.low for c in ci]
    out["ci_high"] = [c.high for c in ci]
    out["t_eff"] = out["mean_eff"] / (out["sd_eff"] / np.sqrt(out["worlds"]))
    out["truth"] = ["built-in" if (i[4], i[3]) in BUILT_IN else "null" for i in out.index]
    return out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    T = int(sys.argv[2]) if len(sys.argv) > 2 else 12
    freq = sys.argv[3] if len(sys.argv) > 3 else "Q"
    clients = int(sys.argv[4]) if len(sys.argv) > 4 else 300
    out = sys.argv[5] if len(sys.argv) > 5 else ""
    t0 = time.perf_counter()
    with ProcessPoolExecutor(2) as pool:
        res = [r for rows in pool.map(one, [(s, T, freq, clients) for s in range(500, 500 + n)])
               for r in rows]
    d = pd.DataFrame(res)
    if out:
        d.to_csv(out, index=False)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_rows", 500)
    print(f"{n} worlds, T={T} {freq}, clients={clients}; wall {time.perf_counter() - t0:.0f} s")
    print(summary(d).round(3).to_string())


if __name__ == "__main__":
    main()
