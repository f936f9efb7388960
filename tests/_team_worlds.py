"""Lean team-level worlds with known truth, for the sub-portfolio design of one company (issue 13).

Not the product's generator: a direct simulation of what the team-level test reads — G units
(account managers) × T usable periods of the six kinds' exposure shares, the log-size control and
seven outcomes, one per confirmatory hypothesis — so that a test of the planner's MDE does not
depend on the rules' attenuation.

- Exposures: each unit has a base share per kind (Beta(2, 8), mean 0.2); the shares move with an
  AR(1) factor common to the kinds (ρ 0.8, as window shares are smooth) and one per kind, scaled
  by the base (bounded in [0, 1]); the size control is a random walk around the unit's level.
- Outcomes: unit and period effects, the planted slope on one exposure, and independent normal
  errors (SD 1) — the error model the planner assumes.
- The model of every outcome: all six exposures and the size control, unit and period effects,
  CV3 with t(G-1) (:func:`analysis.stats.cluster_inference`, the suite's default inference),
  Holm over the seven.
"""

from __future__ import annotations

import numpy as np

from analysis.stats import cluster_inference

KINDS = 6
#: (exposure index, expected sign) of H1–H7: the kinds of key_revenue, key_profit, image, demanding,
#: demanding, advanced, understanding (analysis/resources/hypotheses.yaml)
HYPOTHESES = [(0, 1), (1, 1), (2, 1), (3, -1), (3, 1), (4, 1), (5, -1)]


def exposures(rng: np.random.Generator, g: int, t: int) -> np.ndarray:
    """(g·t, KINDS + 1) exposure shares and size control, rows unit-major (unit 0's periods first)."""
    base = rng.beta(2.0, 8.0, size=(g, KINDS))
    z = np.zeros((g, t, KINDS + 1))
    shock = 0.6 * rng.normal(size=(g, t, 1)) + 0.8 * rng.normal(size=(g, t, KINDS + 1))
    for s in range(t):
        z[:, s] = (0.8 * z[:, s - 1] if s else shock[:, s] / 0.6) + shock[:, s]
    x = np.clip(base[:, None, :] * (1 + 0.25 * z[:, :, :KINDS]), 0, 1)
    size = rng.normal(size=(g, 1)) + 0.1 * np.cumsum(z[:, :, KINDS], axis=1)
    return np.concatenate([x, size[:, :, None]], axis=2).reshape(g * t, KINDS + 1)


def design(x: np.ndarray, g: int, t: int) -> tuple[np.ndarray, np.ndarray]:
    """``U = [X, period dummies]`` demeaned within unit (the layout cluster_inference takes), and the units."""
    unit = np.repeat(np.arange(g), t)
    period = np.tile(np.arange(t), g)
    dummies = (period[:, None] == np.arange(1, t)[None, :]).astype(float)
    u = np.hstack([x, dummies])
    u = u - (np.stack([np.bincount(unit, weights=c) for c in u.T], axis=1) / t)[unit]
    return u, unit


def within_sd(v: np.ndarray, g: int, t: int) -> float:
    w = v.reshape(g, t)
    w = w - w.mean(axis=1, keepdims=True) - w.mean(axis=0, keepdims=True) + w.mean()
    return float(w.std(ddof=1))


def world(seed: int, *, g: int = 8, t: int = 29, planted: dict[int, float] | None = None):
    """One world: (design U, units, exposures, outcomes (7, g·t)) with ``planted`` {hypothesis index:
    std_effect} — the slope that makes the exposure explain d² of the outcome's within variance."""
    rng = np.random.default_rng(seed)
    x = exposures(rng, g, t)
    u, unit = design(x, g, t)
    sd_e = np.sqrt((g - 1) * (t - 1) / (g * t - 1))  # within SD of unit-variance errors
    ys = np.empty((len(HYPOTHESES), g * t))
    for i, (j, sign) in enumerate(HYPOTHESES):
        y = np.repeat(rng.normal(size=g), t) + np.tile(rng.normal(size=t), g) + rng.normal(size=g * t)
        d = (planted or {}).get(i, 0.0)
        if d:
            y = y + sign * d / np.sqrt(1 - d * d) * sd_e / within_sd(x[:, j], g, t) * x[:, j]
        ys[i] = y
    return u, unit, x, ys


KIND_NAMES = ["key_revenue", "key_profit", "image", "demanding", "advanced", "understanding"]


def frame(x: np.ndarray, ys: np.ndarray, g: int, t: int):
    """The world as the analysis panel the planner reads (``portfolio, period, share_<kind>,
    log_window_revenue, y<i>_h1``)."""
    import pandas as pd

    out = pd.DataFrame({"portfolio": np.repeat([f"U{i:02d}" for i in range(g)], t),
                        "period": np.tile([f"2024-{s:03d}" for s in range(t)], g)})
    for j, k in enumerate(KIND_NAMES):
        out[f"share_{k}"] = x[:, j]
    out["log_window_revenue"] = x[:, KINDS]
    for i in range(len(ys)):
        out[f"y{i}_h1"] = ys[i]
    return out


def holm(p: np.ndarray) -> np.ndarray:
    m = len(p)
    order = np.argsort(p, kind="stable")
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj
    return out


def test_world(u: np.ndarray, unit: np.ndarray, x: np.ndarray, ys: np.ndarray, g: int, t: int):
    """The suite's default test of H1–H7 on one world: per hypothesis (std_effect, p_unc, p_adj)."""
    est, p = np.empty(len(HYPOTHESES)), np.empty(len(HYPOTHESES))
    for i, (j, _) in enumerate(HYPOTHESES):
        y = ys[i] - np.bincount(unit, weights=ys[i])[unit] / t
        res = cluster_inference(u, y, unit, n_terms=KINDS + 1, method="cv3")
        est[i] = res.estimate[j] * within_sd(x[:, j], g, t) / within_sd(ys[i], g, t)
        p[i] = res.p_value[j]
    return est, p, holm(p)
