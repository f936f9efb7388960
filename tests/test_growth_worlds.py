"""The growth statistics on synthetic worlds whose truth is known (slow): one portfolio.

A long monthly series recovers a planted effect, and null series stay calibrated. The portfolio
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
    assert (h6["verdict"] == "supported").mean() >= 0.6
    assert 0.0 <= rej <= 0.12
    assert null["verdict"].isin(["no_effect", "inconclusive", "not_testable"]).mean() >= 0.9
