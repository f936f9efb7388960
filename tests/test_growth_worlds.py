"""The growth statistics on synthetic worlds whose truth is known (slow): one portfolio.

A long monthly series recovers a planted effect, and null series stay calibrated (the measured
rates and what the test can detect: the test's docstring). The portfolio
panel's worlds (null worlds: no more findings than alpha allows, no shifted estimate; planted
worlds: effects found at the power the MDE promises) are issue 12's bar, measured through the
default rules and inference in tests/test_method_check_bar.py.

Worlds run in two processes, each seeded from its own index, so results do not depend on
scheduling. Run with ``-s`` to see the measured rates.
"""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ProcessPoolExecutor

import pandas as pd
import pytest

pytestmark = pytest.mark.slow

WORKERS = max(1, min(2, os.cpu_count() or 1))
COLS = ["id", "std_effect", "std_effect_se", "p_unc", "p_adj", "mde", "verdict"]


def _map(func, args):
    with ProcessPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(func, args, chunksize=5))


# ---------------------------------------------------------------------------------------------
# one portfolio: a long monthly series

SINGLE = {"portfolios": 4, "periods": 72, "clients": 40, "freq": "M", "window": 12}  # 60 periods with outcomes


def _single_series(seed: int, effects, hypotheses=None) -> list[dict]:
    """Each portfolio of a small monthly world as its own single series (the generator needs
    several portfolios to plant an effect: its unit removes period means across portfolios)."""
    warnings.simplefilter("ignore")
    from _worlds import mixed_membership, world_data
    from analysis.growth import confirmatory
    from analysis.growth import panel as growth

    w, panel, _ = world_data(seed, effects=effects, **SINGLE)
    membership = mixed_membership(w, panel, window=12)
    out = []
    for p, part in panel.groupby("portfolio"):
        pp = growth.portfolio_panel(part, membership[membership["portfolio"] == p], window=12, kpis=w.kpis)
        res = confirmatory.test_hypotheses(pp, hypotheses, n_calibration=200, seed=1)
        cal = pd.DataFrame(res.attrs["calibration"]).set_index("test")["rejection_rate"].round(3).to_dict()
        out += res[COLS + ["n", "test"]].assign(world=seed, portfolio=p, calibration=str(cal)).to_dict("records")
    return out


def _single_planted(seed: int) -> list[dict]:
    from analysis.growth import spec

    h6 = [h for h in spec.load_hypotheses().hypotheses if h.id == "H6"]  # the planted one alone (m = 1)
    return _single_series(seed, [{"category": "advanced", "outcome": "new_product_share", "lag": 1, "size": 0.8}], h6)


def _single_null(seed: int) -> list[dict]:
    return _single_series(seed, "none")


def test_one_portfolio_long_series_recovers_an_effect_and_stays_calibrated():
    """Planted H6 (advanced → new-product share, size 0.8 on the two-way panel of 4 portfolios),
    each portfolio tested as its own monthly series (n = 59): 12 series of 3 worlds; null: 16
    series of 4 worlds × 7 hypotheses.

    Measured on this generator (2026-11-27, 40 planted worlds = 160 series, seeds 70 000–70 039):
    supported in 101/160 = 0.63 [Wilson 95 %: 0.55, 0.70]; mean std_effect 0.423 (SD of one
    series' estimate 0.30, mean SE 0.166, mean MDE 0.471 = 2.84 SE) — a single series sees about
    0.53 of the panel's planted 0.8 (it keeps the period means the panel removes, and the series'
    own share SD differs from the pooled one), and the series' true effects vary (estimates' SD
    0.30 > SE 0.17), so the power is below the 0.8 the mean MDE would promise at a fixed effect.
    The truth is exact at the panel: ``exposure_scale`` 1.0 (one pass; the latent kind does not
    feed back). Null (15 worlds, 420 tests): unadjusted rejection 0.055 [0.037, 0.081].

    So the assertions sit on those rates with a margin, for 12 series: supported ≥ 4/12 fails
    with probability 0.009 at power 0.63 (0.036 at the CI's low end 0.55) and catches a power
    collapse (at 0.2 it passes with probability 0.20; at the null's 0.05, 0.002); the mean
    std_effect of 12 series (SD 0.095 across 14 blocks of 12) ≥ 0.2 fails with probability ≈ 0.01
    and catches an effect that lands at less than half its size about half of the time, at a
    quarter about 5 times in 6; ≤ 0.8: on average a series sees no more than the planted size.
    Checked: these seeds with a planted 0.3 instead give 5/12 supported and mean 0.205 — the
    test passes, so it does not see an effect that lands at ~3/8 of its size; 12 series are too
    few for that (it would need about 4× the series, i.e. the CPU).
    The earlier "supported ≥ 0.6 of 12" failed for about half of all seed sets (P = 0.48 at 0.63).
    Null: ≤ 0.12 of 112 tests fails with probability 0.003 at 0.055."""
    planted = pd.DataFrame([r for w in _map(_single_planted, range(70_000, 70_003)) for r in w])
    null = pd.DataFrame([r for w in _map(_single_null, range(71_000, 71_004)) for r in w])
    h6 = planted[planted["id"] == "H6"]
    rej = (null["p_unc"] < 0.05).mean()
    print(f"\none portfolio: n per series {int(h6['n'].median())}, {h6['test'].iloc[0]!r}, "
          f"calibration (null rejection rate per test at this length) {h6['calibration'].iloc[0]}\n"
          f"planted H6 verdicts {h6['verdict'].value_counts().to_dict()}, mean std_effect {h6['std_effect'].mean():.3f}\n"
          f"null series {null['portfolio'].count() // 7}: unadjusted rejection rate {rej:.3f}, "
          f"per hypothesis {(null['p_unc'] < 0.05).groupby(null['id']).mean().round(3).to_dict()}")
    assert h6["n"].min() >= 55
    assert (h6["verdict"] == "supported").sum() >= 4, "power fell well below the measured 0.63"
    mean = h6["std_effect"].mean()
    assert 0.2 <= mean <= 0.8, f"mean std_effect {mean:.3f}: a single series saw 0.42 of a planted 0.8"
    assert 0.0 <= rej <= 0.12
    assert null["verdict"].isin(["no_effect", "inconclusive", "not_testable"]).mean() >= 0.9
