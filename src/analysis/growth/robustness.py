"""Robustness: the confirmatory verdicts recomputed under other membership rules.

docs/methods.md ("Statistics"): verdicts recomputed with every rule quantile shifted ±0.05 and
with count shares; a verdict that changes is flagged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import pandas as pd

from analysis.growth import panel as growth
from analysis.growth.confirmatory import test_hypotheses
from analysis.growth.spec import HypothesesArg

ROBUSTNESS_COLUMNS = [
    "id", "category", "outcome", "lag", "variant", "quantile_shift", "measure", "std_effect",
    "ci_low",
    "ci_high", "p_adj", "verdict", "baseline_verdict", "flipped",
]  # fmt: skip


def robustness(
    panel: pd.DataFrame,
    membership: Callable[[float], pd.DataFrame] | pd.DataFrame,
    hypotheses: HypothesesArg = None,
    *,
    window: int = 4,
    kpis: pd.DataFrame | None = None,
    shifts: Sequence[float] = (-0.05, 0.05),
    alpha: float | None = None,
    mode: str = "auto",
    seed: int = 1,
    n_calibration: int = 200,
    variants: Callable[[float], pd.DataFrame] | pd.DataFrame | None = None,
    attenuation: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Confirmatory verdicts recomputed under other membership rules and exposure measures.

    Parameters
    ----------
    panel : pandas.DataFrame
        The client × period panel.
    membership : callable or DataFrame
        ``membership(quantile_shift) -> membership table``: the categories decided with every
        rule quantile shifted by ``quantile_shift`` (e.g. ``lambda s:
        classify(panel, clients, quantile_shift=s, ...)``). A fixed table gives the count-share
        variant only (the shifted variants are then reported as not computed).
    hypotheses, alpha, mode, seed, n_calibration
        As in :func:`test_hypotheses`.
    window, kpis
        As in :func:`analysis.growth.panel.portfolio_panel`.
    shifts : sequence of float
        Quantile shifts (docs/methods.md: ±0.05).
    variants : callable or DataFrame, optional
        Like ``membership``, for :func:`analysis.categories.rules.classify_variants` (the rule
        variants of the outcomes on "the other clients"), shifted alike.
    attenuation : mapping, optional
        As in :func:`test_hypotheses`.

    Returns
    -------
    pandas.DataFrame
        One row per hypothesis and variant (``baseline``, ``quantile_shift=-0.05``,
        ``quantile_shift=+0.05``, ``count_share``): ``id, category, outcome, lag, variant,
        quantile_shift, measure, std_effect, ci_low, ci_high, p_adj, verdict,
        baseline_verdict, flipped`` (True when the verdict differs from the baseline's).
        ``DataFrame.attrs["sensitivity"]``: membership counts per variant
        (:func:`membership_sensitivity`).
    """
    provider = membership if callable(membership) else None
    base_members = provider(0.0) if provider else membership

    def var_at(shift: float) -> pd.DataFrame | None:
        if callable(variants):
            return variants(shift)
        return variants if shift == 0.0 else None

    base_pp = growth.portfolio_panel(
        panel, base_members, window=window, kpis=kpis, variants=var_at(0.0)
    )
    # (the runs have their own name: the closure ``var_at`` reads the parameter ``variants``)
    runs: list[tuple[str, float, str, pd.DataFrame]] = [("baseline", 0.0, "share", base_pp)]
    members = {0.0: base_members}
    if provider:
        for s in shifts:
            members[float(s)] = provider(float(s))
            pp = growth.portfolio_panel(panel, members[float(s)], window=window, kpis=kpis,
                                        variants=var_at(float(s)))
            runs.append((f"quantile_shift={s:+.2f}", float(s), "share", pp))
    runs.append(("count_share", 0.0, "count_share", base_pp))
    frames = []
    base_verdicts = None
    for name, s, measure, pp in runs:
        res = test_hypotheses(pp, hypotheses, alpha=alpha, measure=measure, mode=mode, seed=seed,
                              n_calibration=n_calibration, attenuation=attenuation)
        if base_verdicts is None:
            base_verdicts = res.set_index("id")["verdict"]
        part = res[["id", "category", "outcome", "lag", "measure", "std_effect", "ci_low",
                    "ci_high", "p_adj",
                    "verdict"]].copy()
        part["variant"] = name
        part["quantile_shift"] = s
        part["baseline_verdict"] = part["id"].map(base_verdicts)
        part["flipped"] = part["verdict"] != part["baseline_verdict"]
        frames.append(part)
    out = pd.concat(frames, ignore_index=True)[ROBUSTNESS_COLUMNS]
    out.attrs["sensitivity"] = membership_sensitivity(members)
    return out


def membership_sensitivity(memberships: dict[float, pd.DataFrame]) -> pd.DataFrame:
    """Membership counts per category and period under each quantile shift (``sensitivity.csv``).

    Returns
    -------
    pandas.DataFrame
        ``quantile_shift, category, period, members, decided`` (clients with a known
        membership), ``member_share``.
    """
    frames = []
    for s, m in memberships.items():
        d = m.assign(_known=m["member"].notna(),
                     _in=m["member"].astype("boolean").fillna(False).astype(bool))
        g = d.groupby(["category", "period"], as_index=False).agg(members=("_in", "sum"),
                                                                  decided=("_known", "sum"))
        g.insert(0, "quantile_shift", float(s))
        frames.append(g)
    out = pd.concat(frames, ignore_index=True)
    out["member_share"] = out["members"] / out["decided"].where(out["decided"] > 0)
    return out.sort_values(["category", "period", "quantile_shift"]).reset_index(drop=True)


__all__ = ["ROBUSTNESS_COLUMNS", "membership_sensitivity", "robustness"]
