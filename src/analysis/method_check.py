"""Does the method find what is there, and only that? Type I error and power on synthetic worlds.

Each world goes through the same path as a user's data — files written, read, aggregated,
classified by the rulebook, tested — so the rates measured here include the attenuation of noisy
rules, not only the statistics.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import growth, progress, study
from analysis import hypotheses as hyp
from analysis.synth import generate, load_effects, write_world


def run_worlds(n_worlds: int = 6, *, seed: int = 1, portfolios: int = 30, periods: int = 12, clients: int = 40,
               effects: str = "default", hypotheses=None, log=None) -> pd.DataFrame:
    """Run the confirmatory tests on ``n_worlds`` null worlds and ``n_worlds`` worlds with effects.

    World ``i`` of each kind uses seed ``seed * 1000 + i``; the null and planted worlds of one
    ``i`` share everything but the effects. Each finished world is reported to ``log`` (default:
    :func:`analysis.progress.step`, the report runner's heartbeat: "world 7/32 done").

    Returns
    -------
    pandas.DataFrame
        One row per world and hypothesis: ``world``, ``kind`` (``null`` or ``planted``), ``seed``,
        ``id, category, outcome, lag``, ``planted`` (the planted size, 0 when none), ``std_effect,
        ci_low, ci_high, p_adj, mde, verdict`` and ``rejected`` (significant after Holm).
    """
    planted = {(e.category, e.outcome, e.lag): e.size for e in load_effects(effects)}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(int(n_worlds)):
            world_seed = int(seed) * 1000 + i
            for kind, eff in (("null", "none"), ("planted", effects)):
                folder = Path(tmp) / f"{kind}_{i}"
                world = generate(portfolios=portfolios, periods=periods, clients=clients, seed=world_seed, effects=eff)
                write_world(world, folder)
                s = study.prepare(folder, window=world.truth["window"])
                data = growth.portfolio_panel(s.panel, s.membership, window=s.window, kpis=s.base.kpis)
                res = hyp.test_hypotheses(data, hypotheses, seed=world_seed)
                res = res.assign(world=i, kind=kind, seed=world_seed)
                res["planted"] = [planted.get((c, o, int(lag)), 0.0) if kind == "planted" else 0.0
                                  for c, o, lag in zip(res["category"], res["outcome"], res["lag"])]
                rows.append(res)
                (log or progress.step)(f"world {2 * i + (kind == 'planted') + 1}/{2 * int(n_worlds)} done")
    out = pd.concat(rows, ignore_index=True)
    out["rejected"] = out["p_adj"] < 0.05
    cols = ["world", "kind", "seed", "id", "category", "outcome", "lag", "planted", "std_effect", "ci_low",
            "ci_high", "p_adj", "mde", "verdict", "rejected"]
    return out[cols]


def summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Per hypothesis: the rejection rate in null worlds (type I error), in planted worlds (power
    where an effect was planted), the mean estimate and the mean MDE, and the verdict counts."""
    g = runs.groupby(["id", "category", "outcome", "lag"], sort=False)
    null = runs[runs["kind"] == "null"].groupby("id")
    plant = runs[runs["kind"] == "planted"].groupby("id")
    out = g.size().rename("rows").reset_index()
    out["planted"] = out["id"].map(plant["planted"].max()).fillna(0.0)
    out["false_positive_rate"] = out["id"].map(null["rejected"].mean())
    out["rejection_rate_planted"] = out["id"].map(plant["rejected"].mean())
    out["mean_estimate_null"] = out["id"].map(null["std_effect"].mean())
    out["mean_estimate_planted"] = out["id"].map(plant["std_effect"].mean())
    out["mean_mde"] = out["id"].map(runs.groupby("id")["mde"].mean())
    out["attenuation"] = np.where(out["planted"] != 0, out["mean_estimate_planted"] / out["planted"].replace(0, np.nan),
                                  np.nan)
    return out.drop(columns="rows")


def familywise_error(runs: pd.DataFrame) -> float:
    """Share of null worlds in which at least one confirmatory hypothesis was rejected."""
    null = runs[runs["kind"] == "null"]
    if null.empty:
        return float("nan")
    return float(null.groupby("world")["rejected"].any().mean())
