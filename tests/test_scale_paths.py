"""The fast paths of categorisation at scale give what the direct computation gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.categories.features import _pareto
from analysis.categories.rules import _codes


def _pareto_direct(v: np.ndarray, active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per period: each client's share of the positive total, and the share of it and every client
    ranked before it (larger values first, ties by position)."""
    share, cum = np.full(v.shape, np.nan), np.full(v.shape, np.nan)
    for t in range(v.shape[0]):
        x = [max(float(a), 0.0) if (ok and np.isfinite(a)) else 0.0 for a, ok in zip(v[t], active[t])]
        total = sum(x)
        if total <= 0:
            continue
        ranked = sorted(range(len(x)), key=lambda i: (-x[i], i))
        running = 0.0
        for i in ranked:
            running += x[i]
            cum[t, i] = running / total
            share[t, i] = x[i] / total
    return share, cum


def test_pareto_shares_match_the_direct_computation():
    rng = np.random.default_rng(3)
    v = np.where(rng.random((4, 300)) < 0.4, 0.0, rng.integers(1, 20, (4, 300)).astype(float))  # ties
    v[0, :7], v[1, :5], v[3] = np.nan, -2.0, 0.0  # missing, negative, a period without revenue
    active = rng.random((4, 300)) < 0.85
    for got, want in zip(_pareto(v, active), _pareto_direct(v, active)):
        np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("values", [
    ["a01", "a01", "a02", "a10", "a10", "b"],      # sorted runs (client ids of client_features)
    ["2024Q3", "2024Q1", "2024Q2", "2024Q1", "Ж", "é"],  # unsorted, non-ASCII
    ["x"],
])
def test_key_codes_of_arrow_text_match_sorted_factorize(values):
    col = pd.Series(values, dtype=pd.StringDtype("pyarrow"))
    codes, uniq = _codes(col)
    want_codes, want_uniq = pd.factorize(col, sort=True)
    assert codes.tolist() == want_codes.tolist()
    assert list(uniq) == list(want_uniq) == sorted(set(values)) and uniq.dtype == col.dtype
