"""The exploratory grid: every category × outcome × lag from the confirmatory model.

docs/methods.md ("Statistics"): the same model as :mod:`analysis.growth.confirmatory` (panel mode
with CR1 and t(G-1), or the one-portfolio deciding test), Benjamini-Hochberg over the grid, and
pooled Pearson and Spearman correlations beside it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis import registry
from analysis.growth import panel as growth
from analysis.growth.fits import (
    PortfolioArrays,
    calibrate_single,
    choose_mode,
    fit_single,
    fit_twoway,
    model_exposures,
    usable_exposures,
)
from analysis.stats import adjust_pvalues, fe
from analysis.stats.correlation import correlation_row as _correlation

EXPLORE_COLUMNS = [
    "category", "outcome", "lag", "measure", "mode", "n", "n_portfolios", "estimate", "std_effect",
    "std_effect_se", "ci_low", "ci_high", "p_unc", "p_adj", "p_adjust_method", "reject",
    "pearson_r", "pearson_ci_low", "pearson_ci_high", "spearman_r", "spearman_ci_low",
    "spearman_ci_high", "diagnostics",
]  # fmt: skip


def explore(
    data: pd.DataFrame,
    *,
    alpha: float = 0.05,
    measure: str = "share",
    outcomes: Sequence[str] | None = None,
    lags: Sequence[int] | None = None,
    mode: str = "auto",
    seed: int = 1,
    n_calibration: int = 200,
) -> pd.DataFrame:
    """Every category × outcome × lag from the same model, Benjamini-Hochberg over the grid.

    Returns
    -------
    pandas.DataFrame
        One row per cell: ``category, outcome, lag, measure, mode, n, n_portfolios, estimate,
        std_effect, std_effect_se, ci_low, ci_high`` (95 % CI of ``std_effect``), ``p_unc``,
        ``p_adj`` (BH over every cell with a p-value), ``p_adjust_method`` (``fdr_bh``),
        ``reject`` (FDR at ``alpha``), and the pooled correlations of exposure and outcome
        (raw values, every portfolio-period a point, so their p-values would be optimistic and
        are not shown) ``pearson_r, pearson_ci_low, pearson_ci_high, spearman_r,
        spearman_ci_low, spearman_ci_high``; ``diagnostics``.
    """
    md = choose_mode(data, mode)
    cats = data.attrs.get("categories") or [
        c[len("share_"):] for c in data.columns if c.startswith("share_")]
    outs = list(outcomes) if outcomes is not None else list(data.attrs.get("outcomes") or [
        o for o in registry.current().outcome_ids() if growth.outcome_column(o, 1) in data.columns])
    lag_l = list(lags) if lags is not None else list(data.attrs.get("lags") or growth.LAGS)
    arr = PortfolioArrays(data)
    exp_cols = usable_exposures(arr, measure=measure, categories=cats)
    rows = []
    deciding = "hac"
    if md == "single":
        n_cal = max(int(len(data)) - 1, 8)
        cal = calibrate_single(n_cal, alpha=alpha, n_sims=n_calibration, seed=seed)
        deciding = str(cal.loc[cal["deciding"], "test"].iloc[0])
    for o in outs:
        for h in lag_l:
            col = growth.outcome_column(o, h)
            if col not in data.columns:
                continue
            cols_o, terms = model_exposures(arr, o, exp_cols, measure=measure)
            # one model per outcome and lag, every exposure at once (one within transform)
            fit = fit_twoway(arr, col, cols_o, None, None) if md == "panel" else None
            for k in cats:
                term = terms.get(k, growth.exposure_column(k, measure))
                row = {c: np.nan for c in EXPLORE_COLUMNS} | {
                    "category": k, "outcome": o, "lag": h, "measure": measure, "mode": md,
                    "p_adjust_method": "fdr_bh", "diagnostics": ""}
                if md == "panel":
                    if isinstance(fit, fe.TwoWayFit) and term in fit.terms[:-1]:
                        row.update(_twoway_values(fit, fit.terms.index(term)))
                    else:
                        row["diagnostics"] = ("not estimable (exposure or outcome missing or "
                                              "constant)")
                elif term in data.columns:
                    # the grid shows the deciding test only (page 3's hypotheses show them all)
                    fit1 = fit_single(data, col, term, deciding, seed, every_test=False)
                    if fit1 is not None:
                        row.update(_single_values(fit1, deciding))
                if term in data.columns:
                    xs, ys = arr.col(term), arr.col(col)
                    both = np.isfinite(xs) & np.isfinite(ys)
                    xs, ys = xs[both], ys[both]
                    if len(xs) >= 4 and len(np.unique(xs)) > 1 and len(np.unique(ys)) > 1:
                        for method, pre in (("pearson", "pearson"), ("spearman", "spearman")):
                            # correlation()'s row
                            c = _correlation(xs, ys, method, "two-sided", 0.95,
                                             p_value=False)
                            row.update({f"{pre}_r": float(c["estimate"]),
                                        f"{pre}_ci_low": float(c["ci_low"]),
                                        f"{pre}_ci_high": float(c["ci_high"])})
                rows.append(row)
    out = pd.DataFrame(rows, columns=EXPLORE_COLUMNS)
    ok = out["p_unc"].notna()
    out["reject"] = pd.array([pd.NA] * len(out), dtype="boolean")
    if ok.any():
        adj = adjust_pvalues(out.loc[ok, "p_unc"].to_numpy(dtype=float), method="fdr_bh",
                             alpha=alpha)
        out.loc[ok, "p_adj"] = adj["p_adj"].to_numpy()
        out.loc[ok, "reject"] = adj["reject"].to_numpy()
    out.attrs.update(mode=md, alpha=alpha, measure=measure)
    return out


def _twoway_values(fit: fe.TwoWayFit, j: int) -> dict[str, object]:
    """A row's numbers from exposure ``j`` of the panel model (95 % CI on the t(df) scale)."""
    q = sps.t.ppf(0.975, float(fit.df[j]))
    eff, eff_se = float(fit.std_effect[j]), float(fit.std_effect_se[j])
    return dict(n=int(fit.n), n_portfolios=int(fit.n_entities), estimate=float(fit.estimate[j]),
                std_effect=eff, std_effect_se=eff_se, ci_low=float(eff - q * eff_se),
                ci_high=float(eff + q * eff_se), p_unc=float(fit.p_unc[j]),
                diagnostics=fit.diagnostics[j])


def _single_values(fit1: dict, deciding: str) -> dict[str, object]:
    """A row's numbers from the one-portfolio model's deciding test."""
    q = sps.t.ppf(0.975, float(fit1["df"]))
    return dict(n=int(fit1["n"]), n_portfolios=1, estimate=float(fit1["estimate"]),
                std_effect=fit1["std_effect"], std_effect_se=fit1["std_effect_se"],
                ci_low=fit1["std_effect"] - q * fit1["std_effect_se"],
                ci_high=fit1["std_effect"] + q * fit1["std_effect_se"],
                p_unc=float(fit1["p_unc"]), diagnostics=f"deciding test {deciding}")


__all__ = ["EXPLORE_COLUMNS", "explore"]
