"""block_bootstrap(): checks against direct computations with known answers."""

import numpy as np
import pandas as pd
import pytest

from analysis.errors import InputError
from analysis.stats import block_bootstrap
from analysis.stats.resampling import block_indices


def test_block_indices_are_consecutive_runs():
    rng = np.random.default_rng(0)
    idx = block_indices(10, 3, 500, rng, circular=False)
    assert idx.shape == (500, 10)
    assert idx.min() >= 0 and idx.max() <= 9
    # within each block of 3 the indices step by one
    blocks = idx[:, :9].reshape(500, 3, 3)
    assert np.all(np.diff(blocks, axis=-1) == 1)
    # every start 0..7 occurs (moving blocks never run past the end)
    assert set(blocks[:, :, 0].ravel()) == set(range(8))
    circ = block_indices(10, 3, 500, rng, circular=True)
    assert set(circ[:, 0]) == set(range(10))  # circular blocks may start anywhere


def test_block_length_one_is_the_iid_bootstrap_of_the_mean():
    # With blocks of one row the bootstrap SE of a mean is sd * sqrt((n-1)/n) / sqrt(n).
    rng = np.random.default_rng(3)
    data = pd.DataFrame({"v": rng.normal(size=200)})
    res = block_bootstrap(
        data, lambda d: d["v"].mean(), block_length=1, n_resamples=2000, seed=1
    ).iloc[0]
    expected = data["v"].std(ddof=0) / np.sqrt(200)
    assert res["estimate"] == pytest.approx(data["v"].mean(), rel=1e-12)
    assert res["std_error"] == pytest.approx(expected, rel=0.06)  # MC error about 1.6 %
    assert res["ci_low"] < res["estimate"] < res["ci_high"]


def test_blocks_capture_autocorrelation():
    # AR(1) with rho = 0.6: the SE of the mean is sqrt((1+rho)/(1-rho)) = 2 times the iid SE.
    rng = np.random.default_rng(8)
    n, rho = 2000, 0.6
    e = rng.normal(size=n)
    v = np.empty(n)
    v[0] = e[0] / np.sqrt(1 - rho**2)
    for t in range(1, n):
        v[t] = rho * v[t - 1] + e[t]
    data = pd.DataFrame({"v": v})
    stat = lambda d: d["v"].mean()  # noqa: E731
    iid = block_bootstrap(data, stat, block_length=1, n_resamples=1000, seed=2).iloc[0]
    blk = block_bootstrap(data, stat, block_length=25, n_resamples=1000, seed=2).iloc[0]
    true_se = np.sqrt((1 + rho) / (1 - rho) / (1 - rho**2) / n)  # long-run variance / n
    assert blk["std_error"] == pytest.approx(true_se, rel=0.15)
    assert blk["std_error"] / iid["std_error"] == pytest.approx(2.0, rel=0.2)


def test_series_statistics_give_one_row_each_and_are_seeded():
    rng = np.random.default_rng(5)
    data = pd.DataFrame({"a": rng.normal(size=50), "b": rng.normal(size=50)})

    def stat(d):
        return d[["a", "b"]].mean()

    x = block_bootstrap(data, stat, n_resamples=200, seed=9, method="circular")
    y = block_bootstrap(data, stat, n_resamples=200, seed=9, method="circular")
    pd.testing.assert_frame_equal(x, y)
    assert x["term"].tolist() == ["a", "b"]
    assert (x["block_length"] == 4).all()  # ceil(50 ** (1/3))


def test_bad_inputs_raise_input_error():
    data = pd.DataFrame({"v": np.arange(10.0)})
    with pytest.raises(InputError, match="must be one of"):
        block_bootstrap(data, lambda d: d["v"].mean(), method="stationary")
    with pytest.raises(InputError, match="block_length"):
        block_bootstrap(data, lambda d: d["v"].mean(), block_length=11)
    with pytest.raises(InputError, match="at least 4"):
        block_bootstrap(data.head(3), lambda d: d["v"].mean())
