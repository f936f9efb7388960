"""Helpers for the growth tests: synthetic worlds as client × period panels, and membership
tables from the worlds' truth (the latent kinds), so the growth statistics can be checked where
the truth is known."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.config import CATEGORIES
from analysis.synth import World, generate, world_panel  # noqa: F401  (world_panel: used by the tests)


def truth_membership(panel: pd.DataFrame, truth: dict, categories=CATEGORIES, *, window: int = 4) -> pd.DataFrame:
    """Membership from the latent kinds: every client of a kind is a member in every period
    (``short_history`` before a full window), as a membership table."""
    periods = sorted(panel["period"].unique())
    clients = panel[["client_id", "portfolio"]].drop_duplicates()
    kinds = {cid: set(v["kinds"]) for cid, v in truth["clients"].items()}
    rows = []
    for k in categories:
        flag = clients["client_id"].map(lambda c, k=k: k in kinds.get(c, ()))
        for i, p in enumerate(periods):
            ok = i >= window - 1
            rows.append(pd.DataFrame({
                "client_id": clients["client_id"].to_numpy(), "portfolio": clients["portfolio"].to_numpy(),
                "period": p, "category": k,
                "member": pd.array(flag.to_numpy() if ok else [pd.NA] * len(clients), dtype="boolean"),
                "status": "ok" if ok else "short_history", "score": np.nan, "reason": "latent kind (truth.json)",
            }))
    return pd.concat(rows, ignore_index=True)


def world_data(seed: int, *, portfolios: int = 30, periods: int = 12, clients: int = 40, effects="none",
               freq: str = "Q", window: int | None = None):
    """(world, client panel, truth membership) of one synthetic world."""
    w = generate(portfolios=portfolios, periods=periods, clients=clients, seed=seed, effects=effects, freq=freq,
                 window=window)
    panel = world_panel(w, freq=freq)
    window = w.truth["window"]
    return w, panel, truth_membership(panel, w.truth, window=window)


def mixed_membership(world: World, panel: pd.DataFrame, *, window: int = 4) -> pd.DataFrame:
    """The article's four kinds from the truth (latent traits fixed per client) and the two key
    kinds from the default rules (exact functions of the data). The truth's key kinds are ranked
    on revenue over the whole history — later periods included — so they would hand a panel a
    look-ahead that the rules do not have."""
    from analysis.categories.rules import classify
    from analysis.config import ARTICLE_KINDS

    latent = truth_membership(panel, world.truth, ARTICLE_KINDS, window=window)
    key = classify(panel, world.clients, window=window, kpis=world.kpis, categories=["key_revenue", "key_profit"])
    return pd.concat([key, latent], ignore_index=True)
