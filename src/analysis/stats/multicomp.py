"""Multiple-testing adjustment of p-values, with the method always named."""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

from analysis.errors import InputError
from analysis.stats._validate import Numbers, as_vector

# statsmodels' methods under their long names (statsmodels' own default, Holm-Sidak, is never
# used implicitly: the method is a required argument).
METHODS = (
    "bonferroni",
    "sidak",
    "holm",
    "holm-sidak",
    "simes-hochberg",
    "hommel",
    "fdr_bh",
    "fdr_by",
    "fdr_tsbh",
    "fdr_tsbky",
)
# R's p.adjust names for the same procedures.
R_ALIASES = {"hochberg": "simes-hochberg", "BH": "fdr_bh", "fdr": "fdr_bh", "BY": "fdr_by"}


def holm(p: np.ndarray, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Holm's step-down adjustment in numpy: adjusted p-values (capped at 1) and rejections at
    ``alpha``, for p-values without NaN. The same arithmetic as statsmodels' ``multipletests(...,
    method="holm")`` (checked in tests/test_stats_multicomp.py), which runs ``gc.collect()`` on
    every call — seconds over the many small families of the method check."""
    p = np.asarray(p, dtype=float)
    m = p.size
    order = np.argsort(p)
    adj_sorted = np.minimum(np.maximum.accumulate(p[order] * np.arange(m, 0, -1)), 1.0)
    adj = np.empty(m)
    adj[order] = adj_sorted
    fails = np.flatnonzero(p[order] > alpha / np.arange(m, 0, -1))
    first = fails[0] if fails.size else m
    reject = np.empty(m, dtype=bool)
    reject[order] = np.arange(m) < first
    return adj, reject


def fdr_bh(p: np.ndarray, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Benjamini–Hochberg adjusted p-values (capped at 1) and rejections at ``alpha`` in numpy,
    for p-values without NaN (statsmodels' ``multipletests(..., method="fdr_bh")`` arithmetic,
    checked in tests/test_stats_multicomp.py)."""
    p = np.asarray(p, dtype=float)
    m = p.size
    order = np.argsort(p)
    ps = p[order]
    ecdf = np.arange(1, m + 1) / m
    below = np.flatnonzero(ps <= ecdf * alpha)
    adj_sorted = np.minimum(np.minimum.accumulate((ps / ecdf)[::-1])[::-1], 1.0)
    adj = np.empty(m)
    adj[order] = adj_sorted
    reject = np.empty(m, dtype=bool)
    reject[order] = np.arange(m) <= (below[-1] if below.size else -1)
    return adj, reject


_NUMPY = {"holm": holm, "fdr_bh": fdr_bh}


def adjust_pvalues(
    p: Numbers,
    *,
    method: str,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Adjust p-values for multiple testing (statsmodels ``multipletests``; Holm and
    Benjamini–Hochberg in numpy, :func:`holm`, :func:`fdr_bh`).

    Missing p-values stay missing and do not count as tests (as R's ``p.adjust``).

    Parameters
    ----------
    p : array-like
        Uncorrected p-values in [0, 1]. A Series keeps its index in the result.
    method : str
        Required, never defaulted. One of ``bonferroni``, ``sidak``, ``holm``, ``holm-sidak``,
        ``simes-hochberg``, ``hommel``, ``fdr_bh`` (Benjamini-Hochberg), ``fdr_by``
        (Benjamini-Yekutieli), ``fdr_tsbh``, ``fdr_tsbky`` (two-stage FDR); R's names
        ``hochberg``, ``BH``, ``fdr`` and ``BY`` are accepted too.
    alpha : float
        Family-wise error rate or false discovery rate for ``reject`` (the two-stage FDR
        methods also use it in their adjusted p-values).

    Returns
    -------
    pandas.DataFrame
        One row per p-value, in the input order, with columns:

        - ``p_unc``: the p-value as given.
        - ``p_adj``: the adjusted p-value (capped at 1).
        - ``reject``: ``p_adj <= alpha`` as decided by the procedure (NA where p is missing).
        - ``p_adjust_method``: the statsmodels name of the method.

    Raises
    ------
    analysis.errors.InputError
        Unknown method, or a p-value outside [0, 1].

    Examples
    --------
    >>> from analysis.stats import adjust_pvalues
    >>> res = adjust_pvalues([0.01, 0.02, 0.04, 0.3], method="holm")
    >>> res["p_adj"].round(3).tolist()
    [0.04, 0.06, 0.08, 0.3]
    """
    name = R_ALIASES.get(method, method)
    if name not in METHODS:
        raise InputError(
            f"The value for `method` must be one of {list(METHODS)} (or R's "
            f"{list(R_ALIASES)}), but {method!r} was passed."
        )
    if not 0 < alpha < 1:
        raise InputError(f"`alpha` must be between 0 and 1, got {alpha!r}.")
    index = p.index if isinstance(p, pd.Series) else None
    arr = as_vector("p", p)
    ok = ~np.isnan(arr)
    if np.any((arr[ok] < 0) | (arr[ok] > 1)):
        bad = arr[ok][(arr[ok] < 0) | (arr[ok] > 1)][:3].tolist()
        raise InputError(f"p-values must lie in [0, 1]; got {bad}.")
    p_adj = np.full(arr.shape, np.nan)
    reject = pd.array([pd.NA] * arr.size, dtype="boolean")
    if ok.any():
        if name in _NUMPY:  # numpy: statsmodels' gc.collect() per call dominated small families
            adj, rej = _NUMPY[name](arr[ok], alpha)
        else:
            rej, adj, _, _ = multipletests(arr[ok], alpha=alpha, method=name)
        p_adj[ok] = np.minimum(adj, 1.0)
        reject[ok] = rej
    return pd.DataFrame(
        {"p_unc": arr, "p_adj": p_adj, "reject": reject, "p_adjust_method": name},
        index=index,
    )
