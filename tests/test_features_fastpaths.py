"""The classify speedups of categories.features equal the code they replaced (issue 16): the
Pareto order by quicksort with ties put back equals the stable sort, and the manager history by
segment sums equals ``groupby([c, m]).cumsum()`` then ``groupby(c).cummax()``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.categories.features import _descending, _sorted_leads


def test_descending_equals_the_stable_sort_with_ties():
    rng = np.random.default_rng(0)
    cases = [np.array([]), np.array([3.0]), np.full(7, 2.0), np.array([1.0, np.inf, 1.0, np.inf])]
    cases += [rng.integers(1, 4, int(rng.integers(2, 30))).astype(float) for _ in range(200)]
    for vals in cases:
        np.testing.assert_array_equal(_descending(vals), np.argsort(-vals, kind="stable"))


def _leads_by_groupby(c: np.ndarray, m: np.ndarray, w: np.ndarray) -> np.ndarray:
    base = pd.DataFrame({"c": c, "m": m, "w": w})
    cum = base.groupby(["c", "m"], sort=False)["w"].cumsum()
    return pd.Series(cum.to_numpy()).groupby(c).cummax().to_numpy()


def test_sorted_leads_equal_the_group_bys():
    rng = np.random.default_rng(1)
    for _ in range(300):
        n = int(rng.integers(2, 40))
        c = np.sort(rng.integers(0, int(rng.integers(1, 5)), n))  # one client included
        m = rng.integers(0, int(rng.integers(1, 4)), n)
        w = rng.integers(0, 4, n).astype(float)  # zero counts included
        np.testing.assert_array_equal(_sorted_leads(c, m, w), _leads_by_groupby(c, m, w))


def test_sorted_leads_leave_negative_counts_to_the_group_bys():
    # a client_periods file may carry net orders below zero (nothing checks its `orders`): the
    # offsets that keep clients apart in the running maximum need counts >= 0
    c, m, w = np.array([0, 0, 1, 1]), np.zeros(4, dtype=int), np.array([3.0, 1.0, -2.0, -1.0])
    got = _sorted_leads(c, m, w)
    assert got is None or np.array_equal(got, _leads_by_groupby(c, m, w))
