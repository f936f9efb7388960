"""adjust_pvalues() against R's p.adjust and Benjamini & Hochberg (1995).

Reference numbers: tests/reference/stats_reference.R (output in stats_reference.Rout), R 4.2.2
p.adjust on the 15 p-values of Benjamini & Hochberg (1995), JRSS B 57:289-300, section 4.
"""

import numpy as np
import pandas as pd
import pytest

from analysis.errors import InputError
from analysis.stats import adjust_pvalues

BH95 = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459,
        0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.0000]  # fmt: skip
ONES = [1.0] * 6
R_P_ADJUST = {  # p.adjust(p, method = <R name>)
    "bonferroni": [0.0015, 0.0060, 0.0285, 0.1425, 0.3015, 0.4170, 0.4470, 0.5160, 0.6885] + ONES,
    "holm": [0.0015, 0.0056, 0.0247, 0.1140, 0.2211, 0.2780, 0.2780, 0.2780, 0.3213] + ONES,
    "hochberg": [0.0015, 0.0056, 0.0247, 0.1140, 0.2211, 0.2682, 0.2682, 0.2752, 0.3213] + ONES,
    "hommel": [0.0015, 0.0056, 0.0247, 0.0950, 0.1608, 0.1946, 0.2086, 0.2408, 0.3213] + ONES,
    "BH": [0.0015, 0.0030, 0.0095, 0.0356250000000000, 0.0603, 0.0638571428571429,
           0.0638571428571429, 0.0645, 0.0765, 0.4860, 0.5811818181818181, 0.7148749999999999,
           0.7532307692307693, 0.8132142857142857, 1.0],
    "BY": [0.00497734348984349, 0.00995468697968698, 0.03152317543567543, 0.11821190788378289,
           0.20008920829170829, 0.21189262285333715, 0.21189262285333715, 0.21402577006327006,
           0.25384451798201801] + ONES,
}  # fmt: skip
CANONICAL = {"bonferroni": "bonferroni", "holm": "holm", "hochberg": "simes-hochberg",
             "hommel": "hommel", "BH": "fdr_bh", "BY": "fdr_by"}  # fmt: skip


@pytest.mark.parametrize("r_name", list(R_P_ADJUST))
def test_matches_r_p_adjust(r_name):
    res = adjust_pvalues(BH95, method=CANONICAL[r_name])
    np.testing.assert_allclose(res["p_adj"], R_P_ADJUST[r_name], rtol=1e-9)
    assert (res["p_adjust_method"] == CANONICAL[r_name]).all()
    # R's names are accepted and reported under statsmodels' name.
    alias = adjust_pvalues(BH95, method=r_name)
    np.testing.assert_allclose(alias["p_adj"], res["p_adj"], rtol=0)
    assert alias["p_adjust_method"].iloc[0] == CANONICAL[r_name]


def test_rejections_of_benjamini_hochberg_1995_example():
    # The paper: at level 0.05 Bonferroni(-type) procedures reject 3 hypotheses, BH rejects 4.
    assert adjust_pvalues(BH95, method="fdr_bh")["reject"].sum() == 4
    assert adjust_pvalues(BH95, method="bonferroni")["reject"].sum() == 3
    assert adjust_pvalues(BH95, method="holm")["reject"].sum() == 3


def test_missing_p_values_stay_missing_and_do_not_count():
    # R: p.adjust(c(0.01, NA, 0.04, 0.03), method = "BH") -> 0.03 NA 0.04 0.04
    p = pd.Series([0.01, np.nan, 0.04, 0.03], index=list("abcd"))
    res = adjust_pvalues(p, method="fdr_bh")
    assert list(res.index) == list("abcd")
    np.testing.assert_allclose(res["p_adj"], [0.03, np.nan, 0.04, 0.04], rtol=1e-12)
    assert res["reject"].isna().tolist() == [False, True, False, False]


def test_method_is_required_and_checked():
    with pytest.raises(TypeError):
        adjust_pvalues(BH95)  # no silent Holm-Sidak default
    with pytest.raises(InputError, match="must be one of"):
        adjust_pvalues(BH95, method="hs")
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        adjust_pvalues([0.1, 1.2], method="holm")


def test_numpy_holm_and_bh_equal_statsmodels_including_ties_and_nan(monkeypatch):
    """Holm and BH run in numpy (statsmodels' multipletests calls gc.collect() on every call);
    statsmodels is the reference, value for value and decision for decision."""
    import gc

    from statsmodels.stats.multitest import multipletests

    # the reference's gc.collect() cost 96 s over these 600 calls in a full session; it changes no number
    monkeypatch.setattr(gc, "collect", lambda *args, **kwargs: 0)

    from analysis.stats.multicomp import fdr_bh, holm

    rng = np.random.default_rng(0)
    for trial in range(300):
        p = rng.uniform(size=int(rng.integers(1, 15))) ** rng.uniform(0.2, 3)
        if trial % 3 == 0:
            p = np.round(p, 2)  # ties
        alpha = float(rng.choice([0.01, 0.05, 0.1, 0.3]))
        for name, ours in (("holm", holm), ("fdr_bh", fdr_bh)):
            rej, adj, _, _ = multipletests(p, alpha=alpha, method=name)
            got_adj, got_rej = ours(p, alpha)
            np.testing.assert_array_equal(got_adj, np.minimum(adj, 1.0))
            np.testing.assert_array_equal(got_rej, rej)
    with_nan = adjust_pvalues([0.01, np.nan, 0.04, 0.03], method="holm")
    np.testing.assert_allclose(with_nan["p_adj"], [0.03, np.nan, 0.06, 0.06])
    assert with_nan["reject"].isna().tolist() == [False, True, False, False]
