"""A lean client-level world with known truth, for validating analysis.growth.client_links.

Not the product's generator (``keyclients synth``): a direct simulation of what the client-level
test reads — a client × period panel and a membership table — with effects planted exactly on the
membership at t-1 and the outcome at lag 1, so the truth of every hypothesis is known.

- Kinds: six independent latent traits (prevalence 20 %); the membership of a period is the
  trait with 5 % of decisions flipped at random, undecided (NA) in the first W-1 periods.
- Activity: a client starts in one of the first half of the periods and then buys in a period
  with probability 0.85 (+ ``retention`` for members of ``understanding`` at t-1).
- Revenue: log revenue = client level + AR(1) noise (rho 0.5, sd 0.4); members of ``advanced`` at
  t-1 get ``growth`` added to their log growth from t to t+1.
- Gross margin: client level + noise (sd 0.03); members of ``understanding`` at t-1 get
  ``margin`` added to their margin change from t to t+1.
- Claims: Poisson(0.05 × orders), orders 1 + Poisson(4); members of ``demanding`` at t-1 file
  claims at 0.05 + ``claims`` per order in period t.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.config import CATEGORIES


def world(seed: int, *, clients: int = 400, periods: int = 8, window: int = 4, growth: float = 0.0,
          retention: float = 0.0, margin: float = 0.0, claims: float = 0.0,
          feedback: float = 0.0, common: float = 0.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``feedback`` > 0: the client's own past decides its kind, as the rules do — a client whose
    revenue is high for it in period t (AR noise in its top fifth) is also a member of ``advanced``
    at t with this probability (no planted effect: any link is the estimator's).

    ``common`` > 0: the clients of a kind (its lasting trait) share demand shocks — each kind's log
    revenue moves by a random walk with steps of this SD, as the product's generator does (a kind's
    factor per portfolio and period); drawn only when it is above 0, so other worlds stay as they were."""
    rng = np.random.default_rng(seed)
    C, T, W = clients, periods, window
    labels = [str(p) for p in pd.period_range("2023Q1", periods=T, freq="Q")]
    trait = rng.uniform(size=(C, len(CATEGORIES))) < 0.2
    flip = rng.uniform(size=(C, T, len(CATEGORIES))) < 0.05
    member = trait[:, None, :] ^ flip  # (C, T, K)
    k = {c: i for i, c in enumerate(CATEGORIES)}
    prev = np.zeros_like(member)
    prev[:, 1:] = member[:, :-1]
    prev[:, : W] = False  # undecided at t-1 < W-1: no planted effect there
    start = rng.integers(0, T // 2, size=C)
    after = np.arange(T)[None, :] >= start[:, None]
    p_buy = 0.85 + retention * prev[:, :, k["understanding"]]
    active = after & (rng.uniform(size=(C, T)) < p_buy)
    e = rng.normal(scale=0.4, size=(C, T))
    a = np.zeros((C, T))
    a[:, 0] = e[:, 0] / np.sqrt(1 - 0.25)
    for t in range(1, T):
        a[:, t] = 0.5 * a[:, t - 1] + e[:, t]
    if feedback:
        high = (a > np.quantile(a, 0.8)) & (rng.uniform(size=(C, T)) < feedback)
        member[:, :, k["advanced"]] |= high
        prev[:, 1:] = member[:, :-1]
        prev[:, : W] = False
    # growth from t to t+1 raised by `growth` for members of advanced at t-1: a cumulative shift
    bump = np.zeros((C, T))
    bump[:, 2:] = growth * prev[:, 1:-1, k["advanced"]]
    log_rev = rng.normal(13, 1, size=(C, 1)) + a + np.cumsum(bump, axis=1)
    mbump = np.zeros((C, T))
    mbump[:, 2:] = margin * prev[:, 1:-1, k["understanding"]]
    marg = rng.normal(0.25, 0.05, size=(C, 1)) + rng.normal(scale=0.03, size=(C, T)) + np.cumsum(mbump, axis=1)
    if common:
        walk = np.cumsum(rng.normal(scale=common, size=(len(CATEGORIES), T)), axis=1)  # (K, T)
        log_rev = log_rev + trait.astype(float) @ walk
    revenue = np.round(np.exp(log_rev), 2)
    orders = 1 + rng.poisson(4, size=(C, T))
    rate = 0.05 + claims * prev[:, :, k["demanding"]]
    claim = rng.poisson(rate * orders)
    ci, ti = np.nonzero(active)
    panel = pd.DataFrame({
        "client_id": [f"C{i:05d}" for i in ci], "portfolio": "all", "period": np.asarray(labels, dtype=object)[ti],
        "revenue": revenue[ci, ti], "gross_profit": np.round(revenue[ci, ti] * marg[ci, ti], 2),
        "orders": orders[ci, ti], "claim": claim[ci, ti],
    })
    ids = np.repeat(np.arange(C), T * len(CATEGORIES))
    tt = np.tile(np.repeat(np.arange(T), len(CATEGORIES)), C)
    kk = np.tile(np.arange(len(CATEGORIES)), C * T)
    flag = pd.array(member.reshape(-1), dtype="boolean")
    flag[tt < W - 1] = pd.NA
    membership = pd.DataFrame({
        "client_id": np.char.add("C", np.char.zfill(ids.astype(str), 5)), "portfolio": "all",
        "period": np.asarray(labels, dtype=object)[tt], "category": np.asarray(CATEGORIES, dtype=object)[kk],
        "member": flag,
    })
    return panel, membership
