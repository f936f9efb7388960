"""Which few-cluster inference should the confirmatory tests use? Size and power by simulation.

Usage (results are written to ``benchmarks/out/inference_choice_<mode>.csv``, one row per world,
design, method and hypothesis; the summary is printed and goes into ``inference_choice.md``)::

    python benchmarks/inference_choice.py direct   --worlds 400     # lean DGP, seconds per 100 worlds
    python benchmarks/inference_choice.py pipeline --worlds 40      # synthetic worlds, default rules
    python benchmarks/inference_choice.py summary                   # the tables from both CSVs

``direct``: a lean data-generating process shaped like the suite's panel — G portfolios × 10
periods, five correlated exposure shares whose within-portfolio variation is concentrated in a
few portfolios (Beta(0.5, 3) base shares, AR(1) movements scaled by the base), a log-size control,
three outcomes with serially correlated, portfolio-heteroskedastic errors; the confirmatory set is
seven (exposure, outcome) pairs. Every outcome is regressed on all five exposures and the control
with portfolio and period fixed effects (:func:`analysis.stats.cluster_inference` on the
``panel_regression`` design). Planted worlds add 0.25 within-SD of the outcome per within-SD of
the exposure to each of the seven pairs (0.15 at G = 30, 0.30 at G = 10, so that power is
neither 0 nor 1).

``pipeline``: :func:`analysis.synth.generate` worlds (null: ``effects="none"``; planted: the
default effects) written as a CRM export, read, classified by the default rules and turned into
the analysis panel exactly as ``keyclients run`` does; then each outcome model is fitted once per
method (:func:`analysis.growth.fits.fit_panel`) and Holm is applied over the hypothesis set.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
METHODS = ("cr1", "cr2", "cv3", "wild")
PAIRS = [(0, 0), (1, 0), (2, 1), (3, 1), (4, 2), (0, 2), (1, 1)]  # (exposure, outcome) tested
ALPHA = 0.05
PLANTED = {30: 0.15, 10: 0.30}  # direct DGP: planted within-SD effect per design


def _holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjustment (numpy; statsmodels' multipletests runs gc.collect() on every
    call, ~0.5 s on a loaded machine, which would dominate this benchmark)."""
    out = np.full(len(p), np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if len(ok):
        m = len(ok)
        order = ok[np.argsort(p[ok], kind="stable")]
        adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
        out[order] = adj
    return out


def _direct_world(rng: np.random.Generator, g: int, t: int, planted: float) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    k = 5
    base = rng.beta(0.5, 3.0, size=(g, k))
    common = rng.normal(size=(g, t))
    x = np.empty((g, t, k))
    for j in range(k):
        z = np.zeros((g, t))
        e = 0.6 * common + 0.8 * rng.normal(size=(g, t))
        for s in range(t):
            z[:, s] = (0.5 * z[:, s - 1] if s else 0) + e[:, s]
        x[:, :, j] = np.clip(base[:, [j]] * (1 + 0.5 * z), 0, 1)
    size = np.cumsum(0.1 * rng.normal(size=(g, t)), axis=1) + rng.normal(size=(g, 1))
    scale_p = np.exp(0.5 * rng.normal(size=(g, 1)))  # portfolio heteroskedasticity
    ys = []
    xw = x - x.mean(axis=1, keepdims=True) - x.mean(axis=0, keepdims=True) + x.mean(axis=(0, 1))
    for o in range(3):
        u = np.zeros((g, t))
        eps = rng.normal(size=(g, t)) * scale_p
        for s in range(t):
            u[:, s] = (0.4 * u[:, s - 1] if s else 0) + eps[:, s]
        y = u + rng.normal(size=(g, 1)) + rng.normal(size=(1, t)) + 0.2 * size
        if planted:
            for j, oo in PAIRS:
                if oo == o:
                    y = y + planted * x[:, :, j] / xw[:, :, j].std() * u.std()
        ys.append(y.ravel())
    xs = np.concatenate([x.reshape(g * t, k), size.reshape(g * t, 1)], axis=1)
    return xs, ys, np.repeat(np.arange(g), t)


def _design(xs: np.ndarray, ent: np.ndarray, tim: np.ndarray) -> np.ndarray:
    d = (tim[:, None] == np.unique(tim)[None, :]).astype(float)[:, 1:]
    u = np.hstack([xs, d])
    cnt = np.bincount(ent)
    return u - (np.stack([np.bincount(ent, weights=c) for c in u.T], axis=1) / cnt[:, None])[ent]


def run_direct(n_worlds: int, seed: int, out: Path, designs: list[int]) -> None:
    from analysis.stats import cluster_inference

    t = 10
    first = not out.exists()
    done = -1 if first else int(pd.read_csv(out, usecols=["world"])["world"].max())
    for g in designs:
        for i in range(done + 1, n_worlds):
            rows = []
            for kind in ("null", "planted"):
                planted = PLANTED[g] if kind == "planted" else 0.0
                rng = np.random.default_rng([seed, g, i])  # null and planted share exposures
                xs, ys, ent = _direct_world(rng, g, t, planted)
                tim = np.tile(np.arange(t), g)
                u = _design(xs, ent, tim)
                for m in METHODS:
                    fits = {}
                    for o in range(3):
                        y = ys[o] - (np.bincount(ent, weights=ys[o]) / np.bincount(ent))[ent]
                        fits[o] = cluster_inference(u, y, ent, n_terms=5, method=m, seed=[seed, g, i, o])
                    p = np.array([fits[o].p_value[j] for j, o in PAIRS])
                    padj = _holm(p)
                    for h, (j, o) in enumerate(PAIRS):
                        rows.append(dict(mode="direct", G=g, world=i, kind=kind, method=m, hyp=f"P{h + 1}",
                                         planted=planted, p_unc=p[h], p_adj=padj[h],
                                         identified=bool(fits[o].identified[j])))
            pd.DataFrame(rows).to_csv(out, mode="a", header=first, index=False)
            first = False
            if (i + 1) % 25 == 0:
                print(f"direct G={g}: {i + 1}/{n_worlds}", file=sys.stderr, flush=True)


def run_pipeline(n_worlds: int, seed: int, out: Path, designs: list[int]) -> None:
    from analysis.growth import fits, spec
    from analysis.growth import panel as growth
    from analysis.report import study
    from analysis.synth import generate, load_effects, write_world

    warnings.simplefilter("ignore")
    planted_map = {(e.category, e.outcome, e.lag): e.size for e in load_effects("default")}
    hf = spec.load_hypotheses()
    first = not out.exists()
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(n_worlds):
            for g in designs:
                for kind, eff in (("null", "none"), ("planted", "default")):
                    t0 = time.time()
                    wseed = int(seed) * 1000 + i
                    folder = Path(tmp) / f"{g}_{kind}_{i}"
                    world = generate(portfolios=g, periods=10, clients=25, seed=wseed, effects=eff)
                    write_world(world, folder)
                    s = study.prepare(folder, window=world.truth["window"])
                    data = growth.portfolio_panel(s.panel, s.membership, window=s.window, kpis=s.base.kpis)
                    exp_cols = fits.usable_exposures(data)
                    rows = []
                    for m in METHODS:
                        fits: dict[str, pd.DataFrame] = {}
                        p = []
                        for h in hf.hypotheses:
                            col = growth.outcome_column(h.outcome, h.lag)
                            if col not in fits:
                                fits[col] = fits.fit_panel(data, col, exp_cols, m, wseed) if col in data.columns else pd.DataFrame()
                            f = fits[col]
                            term = growth.exposure_column(h.category, "share")
                            r = f[f["term"] == term] if "estimate" in f.columns else f.iloc[:0]
                            p.append(float(r["p_unc"].iloc[0]) if len(r) else np.nan)
                        padj = _holm(np.array(p))
                        for h, pu, pa in zip(hf.hypotheses, p, padj, strict=True):
                            pl = planted_map.get((h.category, h.outcome, h.lag), 0.0) if kind == "planted" else 0.0
                            rows.append(dict(mode="pipeline", G=g, world=i, kind=kind, method=m, hyp=h.id,
                                             planted=pl, p_unc=pu, p_adj=pa, identified=np.isfinite(pu)))
                    pd.DataFrame(rows).to_csv(out, mode="a", header=first, index=False)
                    first = False
                    print(f"pipeline G={g} world {i} {kind}: {time.time() - t0:.1f} s", file=sys.stderr, flush=True)


def _rate(x: pd.Series) -> str:
    from scipy.stats import beta

    k, n = int(x.sum()), int(x.count())
    lo = beta.ppf(0.025, k, n - k + 1) if k else 0.0
    hi = beta.ppf(0.975, k + 1, n - k) if k < n else 1.0
    return f"{k / n:.3f} [{lo:.3f}, {hi:.3f}]"


def summarize(df: pd.DataFrame) -> str:
    lines = []
    for (mode, g), d in df.groupby(["mode", "G"], sort=False):
        null = d[d["kind"] == "null"]
        pl = d[(d["kind"] == "planted") & (d["planted"] != 0)]
        n_w = null["world"].nunique()
        lines.append(f"\n**{mode}, G = {g}** ({n_w} null and {d[d['kind'] == 'planted']['world'].nunique()} planted worlds)\n")
        lines.append("| method | family-wise rate (Holm), 95 % CI | per-test size, range over hypotheses | "
                     "mean per-test size | power (Holm), planted hypotheses | LOO unidentified |")
        lines.append("|---|---|---|---|---|---|")
        for m in METHODS:
            nm = null[null["method"] == m]
            fw = nm.groupby("world")["p_adj"].apply(lambda s: bool((s < ALPHA).any()))
            size = nm.groupby("hyp")["p_unc"].apply(lambda s: float((s.dropna() < ALPHA).mean()))
            pm = pl[pl["method"] == m]
            power = float((pm["p_adj"] < ALPHA).mean()) if len(pm) else float("nan")
            lost = int((~d[d["method"] == m]["identified"].astype(bool)).sum())
            lines.append(f"| {m} | {_rate(fw)} | {size.min():.3f}–{size.max():.3f} | {size.mean():.3f} | "
                         f"{power:.3f} | {lost} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=["direct", "pipeline", "summary"])
    ap.add_argument("--worlds", type=int, default=100)
    ap.add_argument("--seed", type=int, default=20261127)
    ap.add_argument("--designs", default="30,10")
    a = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    if a.mode == "direct":
        run_direct(a.worlds, a.seed, OUT / f"inference_choice_direct_{a.designs.replace(',', '_')}.csv",
                   [int(x) for x in a.designs.split(",")])
    elif a.mode == "pipeline":
        run_pipeline(a.worlds, a.seed, OUT / "inference_choice_pipeline.csv", [int(x) for x in a.designs.split(",")])
    frames = [pd.read_csv(f, keep_default_na=False, na_values=[""]) for f in sorted(OUT.glob("inference_choice_*.csv"))]
    frames = sorted(frames, key=lambda f: (f["mode"].iloc[0], -f["G"].iloc[0]))
    print(summarize(pd.concat(frames, ignore_index=True)))


if __name__ == "__main__":
    main()
