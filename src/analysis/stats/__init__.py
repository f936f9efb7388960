"""Statistics with tidy results: one row per test or term, unrounded, columns named in each
docstring. Built on scipy, statsmodels and linearmodels; every function is checked against R or a
published table in ``tests/test_stats_*.py`` (the R script sits in ``tests/reference/``).
"""

from analysis.stats._validate import StatsWarning
from analysis.stats.correlation import correlation

__all__ = ["StatsWarning", "correlation"]
