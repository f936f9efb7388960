"""correlation() and permutation_test() against R's cor.test.

Reference numbers: tests/reference/stats_reference.R (output in stats_reference.Rout), R 4.2.2,
on the example data of R's ?cor.test (Hollander & Wolfe 1973, p. 187).
"""

import math

import numpy as np
import pytest
from scipy import stats

from analysis.errors import InputError
from analysis.stats import correlation, permutation_test

X = [44.4, 45.9, 41.9, 53.3, 44.7, 44.1, 50.7, 45.2, 60.1]
Y = [2.6, 3.1, 2.5, 5.0, 3.6, 4.0, 5.2, 2.8, 3.8]

# R: cor.test(x, y, method = "pearson", alternative = alt) -> estimate, conf.int, p.value
R_PEARSON = {
    "two-sided": (0.571181557563829, -0.149742633036757, 0.895579461838739, 0.108173054349494),
    "greater": (0.5711815575638287, -0.0222302275045116, 1.0, 0.0540865271747469),
    "less": (0.571181557563829, -1.0, 0.866978634807614, 0.945913472825253),
}
# R: cor.test(x, y, method = "spearman", alternative = alt) -> estimate, p.value (exact, S = 48)
R_SPEARMAN = {
    "two-sided": (0.6, 0.0967978395061728),
    "greater": (0.6, 0.0483989197530864),
    "less": (0.6, 0.957137345679012),
}
# R: cor.test(x, y, method = "kendall", alternative = alt) -> estimate, p.value (exact, T = 26)
R_KENDALL = {
    "two-sided": (0.444444444444445, 0.119438932980600),
    "greater": (0.4444444444444445, 0.0597194664902998),
    "less": (0.444444444444445, 0.962411816578483),
}
RTOL = 1e-9  # R prints 15 significant digits


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_pearson_matches_r_cor_test(alternative):
    res = correlation(X, Y, method="pearson", alternative=alternative).iloc[0]
    est, lo, hi, p = R_PEARSON[alternative]
    assert res["n"] == 9
    assert res["estimate"] == pytest.approx(est, rel=RTOL)
    assert res["ci_low"] == pytest.approx(lo, rel=RTOL)
    assert res["ci_high"] == pytest.approx(hi, rel=RTOL)
    assert res["p_unc"] == pytest.approx(p, rel=RTOL)
    assert res["ci_method"] == "fisher_z"


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_spearman_exact_matches_r_cor_test(alternative):
    res = correlation(X, Y, method="spearman", alternative=alternative).iloc[0]
    est, p = R_SPEARMAN[alternative]
    assert res["estimate"] == pytest.approx(est, rel=RTOL)
    assert res["p_unc"] == pytest.approx(p, rel=RTOL)
    assert res["p_method"] == "exact"


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_kendall_exact_matches_r_cor_test(alternative):
    res = correlation(X, Y, method="kendall", alternative=alternative).iloc[0]
    est, p = R_KENDALL[alternative]
    assert res["estimate"] == pytest.approx(est, rel=RTOL)
    assert res["p_unc"] == pytest.approx(p, rel=RTOL)
    assert res["p_method"] == "exact"


def test_spearman_and_kendall_intervals_follow_the_documented_formulas():
    # Direct computation of the documented methods (Bonett & Wright 2000; Fieller et al. 1957).
    n, q = 9, stats.norm.ppf(0.975)
    rho = correlation(X, Y, method="spearman").iloc[0]
    se = math.sqrt((1 + 0.6**2 / 2) / (n - 3))
    assert rho["ci_low"] == pytest.approx(math.tanh(math.atanh(0.6) - q * se), rel=1e-12)
    assert rho["ci_high"] == pytest.approx(math.tanh(math.atanh(0.6) + q * se), rel=1e-12)
    tau = correlation(X, Y, method="kendall").iloc[0]
    se = math.sqrt(0.437 / (n - 4))
    t = 0.4444444444444444
    assert tau["ci_low"] == pytest.approx(math.tanh(math.atanh(t) - q * se), rel=1e-12)


def test_large_spearman_uses_t_approximation_and_drops_missing_pairs():
    rng = np.random.default_rng(11)
    x = rng.normal(size=50)
    y = x + rng.normal(size=50)
    x[3] = np.nan
    res = correlation(x, y, method="spearman").iloc[0]
    keep = ~np.isnan(x)
    ref = stats.spearmanr(x[keep], y[keep])
    assert res["n"] == 49
    assert res["p_method"] == "t"
    assert res["p_unc"] == pytest.approx(ref.pvalue, rel=1e-12)


@pytest.mark.parametrize(
    "kwargs",
    [{"method": "pearsn"}, {"alternative": "two.sided"}, {"confidence": 95}],
)
def test_bad_options_raise_input_error(kwargs):
    with pytest.raises(InputError):
        correlation(X, Y, **kwargs)


def test_bad_data_raise_input_error():
    with pytest.raises(InputError, match="same length"):
        correlation(X, Y[:-1])
    with pytest.raises(InputError, match="at least 3"):
        correlation([1.0, 2.0, np.nan], [1.0, 3.0, 2.0])


def test_exact_permutation_spearman_equals_r_exact_p():
    # 9! = 362880 orderings enumerated: the p-value is R's exact Spearman p (cor.test, S = 48).
    res = permutation_test(X, Y, method="spearman", n_resamples=400_000).iloc[0]
    assert bool(res["exact"])
    assert res["p_unc"] == pytest.approx(R_SPEARMAN["two-sided"][1], rel=1e-9)


def test_exact_permutation_kendall_equals_r_exact_p():
    res = permutation_test(
        X, Y, method="kendall", alternative="greater", n_resamples=400_000
    ).iloc[0]
    assert res["p_unc"] == pytest.approx(R_KENDALL["greater"][1], rel=1e-9)


def test_random_permutation_is_seeded_and_close_to_exact():
    a = permutation_test(X, Y, method="pearson", n_resamples=20_000, seed=3).iloc[0]
    b = permutation_test(X, Y, method="pearson", n_resamples=20_000, seed=3).iloc[0]
    exact = permutation_test(X, Y, method="pearson", n_resamples=400_000).iloc[0]
    assert a["p_unc"] == b["p_unc"]
    assert not bool(a["exact"])
    # Monte Carlo SE of p near 0.11 with 20000 draws is about 0.0022.
    assert a["p_unc"] == pytest.approx(exact["p_unc"], abs=0.01)


def test_spearman_above_nine_is_close_to_r_edgeworth():
    # R: cor.test(x20, y20, method = "spearman") uses the AS 89 Edgeworth series for n = 20;
    # we use the t approximation (documented), which differs in the third decimal.
    x20 = [-0.6265, 0.1836, -0.8356, 1.5953, 0.3295, -0.8205, 0.4874, 0.7383, 0.5758, -0.3054,
           1.5118, 0.3898, -0.6212, -2.2147, 1.1249, -0.0449, -0.0162, 0.9438, 0.8212, 0.5939]
    y20 = [1.2115, 1.7479, -0.6865, -2.3834, 1.5692, -0.9328, 0.1758, -2.2032, -0.3805, 0.5305,
           4.2292, 0.1842, 0.1541, -2.3223, -1.6292, -0.8749, -0.8048, 0.8252, 3.0213, 2.1203]
    res = correlation(x20, y20, method="spearman").iloc[0]
    assert res["estimate"] == pytest.approx(0.178947368421053, rel=RTOL)
    assert res["p_method"] == "t"
    assert res["p_unc"] == pytest.approx(0.448625307491905, abs=0.005)


@pytest.mark.parametrize("method", ["pearson", "spearman", "kendall"])
def test_without_the_p_value_the_estimate_and_interval_are_the_same(method):
    """``p_value=False`` (the exploratory grid, which shows no p) skips only the p-value — for
    Spearman at n ≤ 9 the enumeration of all n! orderings."""
    from analysis.stats.correlation import correlation_row

    rng = np.random.default_rng(3)
    x, y = rng.normal(size=8), rng.normal(size=8)
    full = correlation_row(x, y, method, "two-sided", 0.95)
    lean = correlation_row(x, y, method, "two-sided", 0.95, p_value=False)
    assert full["p_method"] != "not computed" and math.isfinite(full["p_unc"])
    assert lean["p_method"] == "not computed" and math.isnan(lean["p_unc"])
    for key in ("estimate", "ci_low", "ci_high", "ci_method", "n"):
        assert lean[key] == full[key], key
