"""Resampling tests: a permutation test of association and a block bootstrap for series."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import InputError
from analysis.stats._validate import Numbers, check_choice, check_confidence, complete_pairs
from analysis.stats.correlation import ALTERNATIVES, METHODS

PERMUTATION_METHODS = METHODS  # the correlations that can serve as the test statistic
BOOTSTRAP_METHODS = ("moving", "circular")


def block_indices(
    n: int, block_length: int, n_resamples: int, rng: np.random.Generator, *, circular: bool
) -> np.ndarray:
    """Row indices of ``n_resamples`` block-bootstrap samples, shape (n_resamples, n).

    Hand-written because the one maintained implementation (``arch.bootstrap``) is not a
    dependency and the index arithmetic is three lines: draw block starts, lay consecutive
    indices from each, cut at n (Kunsch 1989 moving blocks; Politis & Romano 1992 circular).
    """
    n_blocks = math.ceil(n / block_length)
    high = n if circular else n - block_length + 1
    starts = rng.integers(0, high, size=(n_resamples, n_blocks))
    idx = (starts[..., None] + np.arange(block_length)).reshape(n_resamples, -1)[:, :n]
    return idx % n if circular else idx


def permutation_test(
    x: Numbers,
    y: Numbers,
    *,
    method: str = "pearson",
    alternative: str = "two-sided",
    n_resamples: int = 9999,
    seed: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Permutation test of association between two variables (scipy ``permutation_test``).

    The pairing of ``x`` and ``y`` is shuffled; the p-value is the share of shufflings whose
    correlation is at least as extreme as the observed one. When ``n!`` does not exceed
    ``n_resamples`` all orderings are enumerated and the p-value is exact. Shuffling assumes
    exchangeable observations: for autocorrelated series use :func:`block_bootstrap` instead.

    Parameters
    ----------
    x, y : array-like
        Two numeric vectors of the same length; pairs with a missing value are dropped.
    method : {"pearson", "spearman", "kendall"}
        Correlation used as the test statistic.
    alternative : {"two-sided", "greater", "less"}
        Alternative hypothesis ("greater": positive association).
    n_resamples : int
        Random shufflings when enumeration is too large.
    seed : int or numpy.random.Generator, optional
        Randomness of the shufflings.

    Returns
    -------
    pandas.DataFrame
        One row: ``method``, ``alternative``, ``n`` (complete pairs), ``estimate`` (the
        observed correlation), ``p_unc``, ``n_resamples`` (orderings used), ``exact`` (True
        when every ordering was enumerated).

    Raises
    ------
    analysis.errors.InputError
        Unknown method or alternative, different lengths, fewer than 3 complete pairs.

    Examples
    --------
    >>> import numpy as np
    >>> from analysis.stats import permutation_test
    >>> rng = np.random.default_rng(2)
    >>> x = rng.normal(size=30)
    >>> res = permutation_test(x, x + rng.normal(size=30), n_resamples=999, seed=1)
    >>> bool(res.loc[0, "p_unc"] < 0.05)
    True
    """
    check_choice("method", method, PERMUTATION_METHODS)
    check_choice("alternative", alternative, ALTERNATIVES)
    xa, ya = complete_pairs(x, y, what="A permutation test")
    n = int(xa.size)
    if method == "spearman":
        xa, ya = stats.rankdata(xa), stats.rankdata(ya)
    batch = None
    if method == "kendall":
        # Kendall's tau-b from pair signs, vectorized over the batch of permuted y.
        i, j = np.triu_indices(n, k=1)
        sx = np.sign(xa[i] - xa[j])
        batch = max(1, 5_000_000 // i.size)

        def statistic(b: np.ndarray, axis: int = -1) -> np.ndarray:
            sy = np.sign(b[..., i] - b[..., j])
            return (sy * sx).sum(axis=-1) / np.sqrt((sy**2).sum(axis=-1) * (sx**2).sum())

    else:
        xc = xa - xa.mean()

        def statistic(b: np.ndarray, axis: int = -1) -> np.ndarray:  # Pearson r, vectorized
            bc = b - b.mean(axis=axis, keepdims=True)
            return (bc * xc).sum(axis=axis) / np.sqrt((bc**2).sum(axis=axis) * (xc**2).sum())

    exact = math.factorial(n) <= n_resamples
    res = stats.permutation_test(
        (ya,),
        statistic,
        permutation_type="pairings",
        vectorized=True,
        batch=batch,
        n_resamples=np.inf if exact else n_resamples,
        alternative=alternative,
        rng=np.random.default_rng(seed),
    )
    return pd.DataFrame(
        {
            "method": [method],
            "alternative": [alternative],
            "n": [n],
            "estimate": [float(res.statistic)],
            "p_unc": [float(res.pvalue)],
            "n_resamples": [math.factorial(n) if exact else n_resamples],
            "exact": [exact],
        }
    )


def block_bootstrap(
    data: pd.DataFrame,
    statistic: Callable[[pd.DataFrame], float | pd.Series],
    *,
    block_length: int | None = None,
    n_resamples: int = 999,
    method: str = "moving",
    confidence: float = 0.95,
    seed: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Block bootstrap of a statistic of a time series (rows in time order).

    Resamples blocks of consecutive rows (moving blocks, or circular blocks that wrap
    around the end), so that dependence within a block is kept, and recomputes
    ``statistic`` on each resample.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per period, in time order.
    statistic : callable
        ``statistic(frame) -> float`` or a Series of named values (one row each in the
        result). Called once on ``data`` and once per resample (with a fresh 0..n-1 index).
    block_length : int, optional
        Rows per block; default ceil(n^(1/3)).
    n_resamples : int
        Bootstrap resamples.
    method : {"moving", "circular"}
        Moving blocks (Kunsch 1989) or circular blocks (Politis & Romano 1992).
    confidence : float
        Level of the percentile interval.
    seed : int or numpy.random.Generator, optional
        Randomness of the resamples.

    Returns
    -------
    pandas.DataFrame
        One row per value of the statistic: ``term`` (the Series label, or ``statistic``),
        ``estimate`` (on the original data), ``std_error`` (SD of the bootstrap values),
        ``ci_low``, ``ci_high`` (percentile interval), ``n``, ``n_resamples`` (resamples with a
        finite value), ``block_length``, ``method``.

    Raises
    ------
    analysis.errors.InputError
        Unknown method, fewer than 4 rows, a block length outside 1..n.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from analysis.stats import block_bootstrap
    >>> rng = np.random.default_rng(4)
    >>> series = pd.DataFrame({"growth": rng.normal(size=100)})
    >>> res = block_bootstrap(series, lambda d: d["growth"].mean(), block_length=5, seed=1)
    >>> res.loc[0, "term"], int(res.loc[0, "n"]), int(res.loc[0, "block_length"])
    ('statistic', 100, 5)
    """
    check_choice("method", method, BOOTSTRAP_METHODS)
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"`data` must be a pandas DataFrame, got {type(data).__name__}.")
    check_confidence(confidence)
    n = len(data)
    if n < 4:
        raise InputError(f"A block bootstrap needs at least 4 rows; got {n}.")
    b = block_length if block_length is not None else int(math.ceil(n ** (1 / 3)))
    if not 1 <= b <= n:
        raise InputError(f"`block_length` must be between 1 and {n}, got {b}.")
    rng = np.random.default_rng(seed)
    frame = data.reset_index(drop=True)

    def as_series(value: float | pd.Series) -> pd.Series:
        if isinstance(value, pd.Series):
            return value.astype(float)
        return pd.Series({"statistic": float(value)})

    observed = as_series(statistic(frame))
    idx = block_indices(n, b, n_resamples, rng, circular=method == "circular")
    draws = pd.DataFrame(
        [as_series(statistic(frame.iloc[i].reset_index(drop=True))) for i in idx],
        columns=observed.index,
    )
    lo, hi = (1 - confidence) / 2, (1 + confidence) / 2
    return pd.DataFrame(
        {
            "term": list(observed.index),
            "estimate": observed.to_numpy(),
            "std_error": draws.std(ddof=1).to_numpy(),
            "ci_low": draws.quantile(lo).to_numpy(),
            "ci_high": draws.quantile(hi).to_numpy(),
            "n": n,
            "n_resamples": draws.notna().sum().to_numpy(),
            "block_length": b,
            "method": method,
        }
    )
