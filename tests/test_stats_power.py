"""required_n() and mde() against R (stats::power.t.test, pwr::pwr.r.test) and Cohen's table.

Reference numbers: tests/reference/stats_reference.R (output in stats_reference.Rout), R 4.2.2,
pwr 1.3-0. Cohen (1992), "A power primer", Psychological Bulletin 112:155-159, Table 2.
"""

import numpy as np
import pytest
from scipy import stats

from analysis.errors import InputError
from analysis.stats import mde, required_n

# power.t.test(delta = d, power = 0.8, strict = TRUE, tol = 1e-12)$n
R_TWO_SAMPLE = {0.2: 393.405695019503, 0.5: 63.7656101909419, 0.8: 25.5245718357411}
R_ONE_SAMPLE = {0.2: 198.150820954208, 0.5: 33.3671289533192, 0.8: 14.3027644928194}
# pwr.r.test power function solved for power = 0.8 (uniroot, tol = 1e-12)
R_PWR_R = {0.1: 781.75156424871, 0.3: 84.073637744296, 0.5: 28.2484104632125}


@pytest.mark.parametrize("d", [0.2, 0.5, 0.8])
def test_t_tests_match_r_power_t_test(d):
    two = required_n(d, test="two_sample_t").iloc[0]
    one = required_n(d, test="one_sample_t").iloc[0]
    assert two["n_exact"] == pytest.approx(R_TWO_SAMPLE[d], rel=1e-6)
    assert one["n_exact"] == pytest.approx(R_ONE_SAMPLE[d], rel=1e-6)
    assert two["n"] == int(np.ceil(R_TWO_SAMPLE[d]))


def test_holm_strictest_step_divides_alpha():
    # power.t.test(delta = 0.5, power = 0.8, sig.level = 0.0125, strict = TRUE)$n
    res = required_n(0.5, test="two_sample_t", m=4).iloc[0]
    assert res["n_exact"] == pytest.approx(90.7819000771869, rel=1e-6)


def test_correlation_matches_pwr_r_test():
    res = required_n(list(R_PWR_R), test="correlation")
    np.testing.assert_allclose(res["n_exact"], list(R_PWR_R.values()), rtol=1e-8)
    one = required_n(0.3, alternative="one-sided").iloc[0]
    assert one["n_exact"] == pytest.approx(66.55462785215, rel=1e-8)


def test_cohen_1992_table_2():
    # Cohen's table (alpha = .05 two-tailed, power = .80), two-sample t per group: 393, 64, 26
    # (rounded to the nearest integer); r: 783, 85, 28 from his own approximation, which the
    # pwr formula reproduces to within one observation.
    t = required_n([0.2, 0.5, 0.8], test="two_sample_t")["n_exact"].round().tolist()
    assert t == [393, 64, 26]
    r = required_n([0.1, 0.3, 0.5], test="correlation")["n_exact"].to_numpy()
    assert np.all(np.abs(r - [783, 85, 28]) <= 1.3)


def test_mde_formula():
    # (z_.975 + z_.80) * SE = 2.8016 * SE (the textbook "2.8 standard errors", Bloom 1995)
    res = mde([0.1, 0.2]).reset_index(drop=True)
    k = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    np.testing.assert_allclose(res["mde"], [0.1 * k, 0.2 * k], rtol=1e-12)
    assert k == pytest.approx(2.801585, abs=1e-6)
    # Holm's strictest step and t(G - 1): docs/methods.md, "Statistics" (MDE)
    res = mde(0.1, m=5, df=24).iloc[0]
    expected = (stats.t.ppf(1 - 0.05 / 10, 24) + stats.norm.ppf(0.8)) * 0.1
    assert res["mde"] == pytest.approx(expected, rel=1e-12)
    assert res["critical_value"] == pytest.approx(2.797, abs=1e-3)  # t table: 24 df, 0.005


@pytest.mark.parametrize(
    "call",
    [
        lambda: required_n(0.0),
        lambda: required_n(1.2, test="correlation"),
        lambda: required_n(0.3, test="anova"),
        lambda: required_n(0.3, power=80),
        lambda: mde(-0.1),
        lambda: mde(0.1, m=0),
        lambda: mde(0.1, df=0),
    ],
)
def test_bad_inputs_raise_input_error(call):
    with pytest.raises(InputError):
        call()


def test_mde_with_one_df_per_standard_error_equals_one_call_each():
    se, df = np.array([0.1, 0.25, 0.4]), np.array([9.0, 29.0, 4.3])
    many = mde(se, m=7, df=df)
    for i in range(3):
        one = mde(se[i], m=7, df=df[i]).iloc[0]
        assert many["mde"].iloc[i] == one["mde"] and many["df"].iloc[i] == df[i]
    with pytest.raises(InputError):
        mde(se, df=np.array([9.0, 0.0, 3.0]))
