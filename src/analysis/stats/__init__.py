"""Statistics with tidy results: one row per test or term, unrounded, columns named in each
docstring. Built on scipy, statsmodels and linearmodels; every function is checked against R or a
published table in ``tests/test_stats_*.py`` (the R script sits in ``tests/reference/``).

- :func:`correlation` — Pearson, Spearman, Kendall with CI and p-value.
- :func:`adjust_pvalues` — multiple-testing adjustment, method always named.
- :func:`panel_regression` — fixed effects, clustered SEs (CR1: G/(G-1)(N-1)/(N-K), K counting
  the effects not nested in the clusters, t(G-1)), ``std_effect`` on the two-way within scale;
  ``inference="cr2" | "cv3" | "wild" | "wild_cv3"`` for few clusters (:func:`cluster_inference`).
- :func:`ts_regression`, :func:`granger` — one portfolio: ADL with Newey-West SEs, Granger F.
- :func:`permutation_test`, :func:`block_bootstrap` — resampling.
- :func:`required_n`, :func:`mde` — design-based power.
"""

from analysis.stats._validate import StatsWarning
from analysis.stats.cluster import cluster_inference
from analysis.stats.correlation import correlation
from analysis.stats.multicomp import adjust_pvalues
from analysis.stats.power import mde, required_n
from analysis.stats.regression import granger, panel_regression, ts_regression
from analysis.stats.resampling import block_bootstrap, permutation_test

__all__ = [
    "StatsWarning",
    "adjust_pvalues",
    "block_bootstrap",
    "cluster_inference",
    "correlation",
    "granger",
    "mde",
    "panel_regression",
    "permutation_test",
    "required_n",
    "ts_regression",
]
