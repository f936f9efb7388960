"""Pairwise correlation with a confidence interval and a p-value, as one tidy row."""

from __future__ import annotations

import math
from typing import TypedDict

import numpy as np
import pandas as pd
from scipy import stats

from analysis.stats._validate import Numbers, check_choice, check_confidence, complete_pairs

METHODS = ("pearson", "spearman", "kendall")
ALTERNATIVES = ("two-sided", "greater", "less")

# Largest n for which the Spearman p-value is computed by full enumeration of the n! orderings.
# R's cor.test is exact (no Edgeworth approximation) up to n = 9 as well, so results agree there.
SPEARMAN_EXACT_MAX_N = 9
# R's cor.test uses the exact null distribution of Kendall's tau below n = 50 without ties.
KENDALL_EXACT_MAX_N = 49


class CorrelationRow(TypedDict):
    """One row of :func:`correlation` (the columns its docstring lists)."""

    method: str
    alternative: str
    n: int
    estimate: float
    ci_low: float
    ci_high: float
    ci_method: str
    p_unc: float
    p_method: str


def _fisher_ci(
    r: float, se_z: float, confidence: float, alternative: str
) -> tuple[float, float]:
    """Interval for a correlation from a normal interval on atanh(r) (one-sided like R)."""
    if not np.isfinite(r) or not np.isfinite(se_z):
        return (math.nan, math.nan)
    z = math.atanh(min(max(r, -1.0), 1.0)) if abs(r) < 1 else math.copysign(math.inf, r)
    if alternative == "two-sided":
        q = stats.norm.ppf(0.5 + confidence / 2)
        return (math.tanh(z - q * se_z), math.tanh(z + q * se_z))
    q = stats.norm.ppf(confidence)
    if alternative == "greater":
        return (math.tanh(z - q * se_z), 1.0)
    return (-1.0, math.tanh(z + q * se_z))


def _spearman_exact_p(x: np.ndarray, y: np.ndarray, alternative: str) -> float:
    """Exact permutation p-value of Spearman's rho by enumerating all n! pairings (scipy)."""
    rx, ry = stats.rankdata(x), stats.rankdata(y)

    def rho(a: np.ndarray, axis: int = -1) -> np.ndarray:
        # ``a`` holds the permuted ranks of y; Spearman's rho is Pearson's r on ranks.
        a = a - a.mean(axis=axis, keepdims=True)
        b = rx - rx.mean()
        return (a * b).sum(axis=axis) / np.sqrt((a**2).sum(axis=axis) * (b**2).sum())

    res = stats.permutation_test(
        (ry,),
        rho,
        permutation_type="pairings",
        vectorized=True,
        n_resamples=np.inf,
        alternative=alternative,
    )
    return float(res.pvalue)


def correlation(
    x: Numbers,
    y: Numbers,
    *,
    method: str = "pearson",
    alternative: str = "two-sided",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Correlation of two variables with a confidence interval and a p-value.

    Pairs with a missing value in either variable are dropped (R's ``complete.obs``).

    Parameters
    ----------
    x, y : array-like
        Two numeric vectors of the same length.
    method : {"pearson", "spearman", "kendall"}
        Pearson's r, Spearman's rho or Kendall's tau-b.
    alternative : {"two-sided", "greater", "less"}
        Alternative hypothesis; "greater" means a positive association.
    confidence : float
        Confidence level of the interval. One-sided alternatives give one-sided intervals
        (as R's ``cor.test``).

    Returns
    -------
    pandas.DataFrame
        One row with columns:

        - ``method``, ``alternative``: as passed.
        - ``n``: number of complete pairs.
        - ``estimate``: r, rho or tau-b.
        - ``ci_low``, ``ci_high``: confidence interval of the estimate.
        - ``ci_method``: how the interval was built — ``fisher_z`` (Pearson, SE 1/sqrt(n-3),
          as R), ``fisher_z_bonett_wright`` (Spearman, SE sqrt((1+rho^2/2)/(n-3)); Bonett &
          Wright 2000, Psychometrika 65:23-28), ``fisher_z_fieller`` (Kendall, SE
          sqrt(0.437/(n-4)); Fieller, Hartley & Pearson 1957, Biometrika 44:470-481).
        - ``p_unc``: uncorrected p-value.
        - ``p_method``: ``t`` (Pearson; Spearman with ties or n > 9, Student t approximation),
          ``exact`` (Spearman without ties and n <= 9, by enumerating all n! orderings;
          Kendall without ties and n < 50, exact null distribution — both as R's
          ``cor.test``) or ``normal`` (Kendall otherwise). For 10 <= n < 1290 without ties R
          uses an Edgeworth series for Spearman instead of the t approximation used here, so
          p-values differ slightly from R there.

    Raises
    ------
    analysis.errors.InputError
        Unknown method or alternative, vectors of different lengths, fewer than 3 complete
        pairs (fewer than 5 for a Kendall interval).

    Examples
    --------
    >>> import numpy as np
    >>> from analysis.stats import correlation
    >>> rng = np.random.default_rng(1)
    >>> x = rng.normal(size=40)
    >>> y = 0.5 * x + rng.normal(size=40)
    >>> res = correlation(x, y, method="spearman")
    >>> list(res.columns)[:5]
    ['method', 'alternative', 'n', 'estimate', 'ci_low']
    >>> bool(res.loc[0, "ci_low"] < res.loc[0, "estimate"] < res.loc[0, "ci_high"])
    True
    """
    row = correlation_row(x, y, method, alternative, confidence)
    return pd.DataFrame({k: [v] for k, v in row.items()})


def correlation_row(
    x: Numbers, y: Numbers, method: str, alternative: str, confidence: float, *,
    p_value: bool = True,
) -> CorrelationRow:
    """:func:`correlation`'s one row as a dict, the same keys and values (callers with many pairs
    skip building a frame per pair). ``p_value=False``: estimate and interval only (``p_unc`` NaN,
    ``p_method`` ``"not computed"``) — for callers that show no p-value, as the exploratory grid:
    Spearman's exact p enumerates all n! orderings up to n = 9 (about 2 CPU-s a pair)."""
    check_choice("method", method, METHODS)
    check_choice("alternative", alternative, ALTERNATIVES)
    check_confidence(confidence)
    xa, ya = complete_pairs(x, y, what="A correlation")
    n = int(xa.size)
    ties = np.unique(xa).size < n or np.unique(ya).size < n

    if method == "pearson":
        res = stats.pearsonr(xa, ya, alternative=alternative)
        est, p, p_method = float(res.statistic), float(res.pvalue), "t"
        ci = _fisher_ci(est, 1 / math.sqrt(n - 3) if n > 3 else math.nan, confidence, alternative)
        ci_method = "fisher_z"
    elif method == "spearman":
        res = stats.spearmanr(xa, ya, alternative=alternative)
        est = float(res.statistic)
        if not p_value:
            p, p_method = math.nan, "not computed"
        elif not ties and n <= SPEARMAN_EXACT_MAX_N:
            p, p_method = _spearman_exact_p(xa, ya, alternative), "exact"
        else:
            p, p_method = float(res.pvalue), "t"
        se_z = math.sqrt((1 + est**2 / 2) / (n - 3)) if n > 3 else math.nan
        ci = _fisher_ci(est, se_z, confidence, alternative)
        ci_method = "fisher_z_bonett_wright"
    else:
        exact = not ties and n <= KENDALL_EXACT_MAX_N
        res = stats.kendalltau(
            xa, ya, method="exact" if exact else "asymptotic", alternative=alternative
        )
        est, p = float(res.statistic), float(res.pvalue)
        p_method = "exact" if exact else "normal"
        se_z = math.sqrt(0.437 / (n - 4)) if n > 4 else math.nan
        ci = _fisher_ci(est, se_z, confidence, alternative)
        ci_method = "fisher_z_fieller"

    return {"method": method, "alternative": alternative, "n": n, "estimate": est, "ci_low": ci[0],
            "ci_high": ci[1], "ci_method": ci_method,
            "p_unc": min(p, 1.0) if p_value else math.nan,
            "p_method": p_method if p_value else "not computed"}
