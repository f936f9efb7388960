"""panel_regression(), ts_regression() and granger() against R (plm, sandwich, lmtest).

Reference numbers: tests/reference/stats_reference.R (output in stats_reference.Rout), R 4.2.2
with plm 2.6, sandwich 3.0, lmtest 0.9. Data: plm's Grunfeld (Baltagi, Econometric Analysis of
Panel Data, Table 2.1), lmtest's Mandible (?coeftest example) and ChickEgg (?grangertest example;
Thurman & Fisher 1988).
"""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from linearmodels import PanelOLS

from analysis.errors import InputError
from analysis.stats import StatsWarning, granger, panel_regression, ts_regression

REF = Path(__file__).parent / "reference"
RTOL = 1e-7


@pytest.fixture(scope="module")
def grunfeld():
    return pd.read_csv(REF / "grunfeld.csv")


def fit(data, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatsWarning)
        return panel_regression(
            data, outcome="inv", exposures=["value", "capital"], entity="firm", time="year",
            **kwargs,
        )  # fmt: skip


# plm(inv ~ value + capital, model = "within", effect = "individual" | "twoways")
R_WITHIN1 = {
    "coef": [0.110123804120718, 0.310065341300139],
    "classical": [0.0118566942140438, 0.0173545027755526],  # df.residual 188
    "cluster_sss": [0.0151560754389038, 0.0526183915914517],  # vcovHC(type = "sss")
    "lsdv_hc1": [0.0193780332907784, 0.0427950056185062],  # lm + factor(firm), HC1
    "std_effect": [0.340232027103861, 0.579830440929193],
}
R_WITHIN2 = {
    "coef": [0.117715855082606, 0.357916273073427],
    "classical": [0.0137512830036482, 0.0227190108825725],  # df.residual 169
    # vcovHC(type = "HC0", cluster = "group") * G/(G-1) * (N-1)/(N-K), K = 2 + (T - 1) = 21
    "cluster_fixest": [0.0107941512931432, 0.0477145546616250],
    "lsdv_hc1": [0.0191799205213128, 0.0544026642585446],
    "std_effect": [0.363687981148160, 0.669312956945459],
}


def test_within_classical_matches_plm_and_baltagi(grunfeld):
    res = fit(grunfeld, cov_type="unadjusted")
    np.testing.assert_allclose(res["estimate"], R_WITHIN1["coef"], rtol=RTOL)
    np.testing.assert_allclose(res["std_error"], R_WITHIN1["classical"], rtol=RTOL)
    assert (res["df"] == 188).all()
    # Baltagi (2013) Table 2.1, within: 0.110 (0.012), 0.310 (0.017)
    np.testing.assert_allclose(res["estimate"].round(3), [0.110, 0.310])
    np.testing.assert_allclose(res["std_error"].round(3), [0.012, 0.017])


def test_two_way_classical_matches_plm(grunfeld):
    res = fit(grunfeld, cov_type="unadjusted", time_effects=True)
    np.testing.assert_allclose(res["estimate"], R_WITHIN2["coef"], rtol=RTOL)
    np.testing.assert_allclose(res["std_error"], R_WITHIN2["classical"], rtol=RTOL)
    assert (res["df"] == 169).all()


@pytest.mark.parametrize("time_effects", [False, True])
def test_robust_matches_hc1_on_dummy_regression(grunfeld, time_effects):
    res = fit(grunfeld, cov_type="robust", time_effects=time_effects)
    ref = R_WITHIN2 if time_effects else R_WITHIN1
    np.testing.assert_allclose(res["std_error"], ref["lsdv_hc1"], rtol=RTOL)


def test_one_way_clustered_matches_plm_sss_and_uses_t_g_minus_1(grunfeld):
    res = fit(grunfeld, cov_type="clustered")
    np.testing.assert_allclose(res["std_error"], R_WITHIN1["cluster_sss"], rtol=RTOL)
    assert (res["df"] == 9).all()  # G - 1
    from scipy import stats

    t = res["estimate"] / res["std_error"]
    np.testing.assert_allclose(res["p_unc"], 2 * stats.t.sf(t.abs(), 9), rtol=1e-12)
    q = stats.t.ppf(0.975, 9)
    np.testing.assert_allclose(res["ci_high"], res["estimate"] + q * res["std_error"], rtol=1e-12)
    assert res.attrs["K"] == 2
    assert "not nested" in res["small_sample"].iloc[0]


def test_linearmodels_debiased_group_debias_agrees_in_the_one_way_case(grunfeld):
    # Verifies the claim that linearmodels needs debiased=True and group_debias=True to match
    # R/Stata: with one-way effects nested in the clusters it then equals plm's "sss".
    g = grunfeld.set_index(["firm", "year"])
    mod = PanelOLS(g["inv"], g[["value", "capital"]], entity_effects=True)
    lm = mod.fit(cov_type="clustered", cluster_entity=True, debiased=True, group_debias=True)
    np.testing.assert_allclose(lm.std_errors, R_WITHIN1["cluster_sss"], rtol=RTOL)
    default = mod.fit(cov_type="clustered", cluster_entity=True)
    assert not np.allclose(default.std_errors, R_WITHIN1["cluster_sss"], rtol=1e-3)


def test_two_way_clustered_counts_the_effects_not_nested_in_the_clusters(grunfeld):
    res = fit(grunfeld, cov_type="clustered", time_effects=True)
    np.testing.assert_allclose(res["std_error"], R_WITHIN2["cluster_fixest"], rtol=RTOL)
    assert res.attrs["K"] == 21
    n, g, k = 200, 10, 21
    assert res.attrs["ssc_factor"] == pytest.approx(g / (g - 1) * (n - 1) / (n - k), rel=1e-14)


def test_time_effects_only_count_every_period_effect(grunfeld):
    # plm(effect = "time") with vcovHC(type = "HC0", cluster = "group") * G/(G-1)*(N-1)/(N-K),
    # K = 2 slopes + T = 20 year effects (not nested in the firm clusters)
    res = fit(grunfeld, cov_type="clustered", entity_effects=False, time_effects=True)
    np.testing.assert_allclose(res["estimate"], [0.116797792110671, 0.219706578450729], rtol=RTOL)
    np.testing.assert_allclose(
        res["std_error"], [0.0180385491146063, 0.1039342245755926], rtol=RTOL
    )
    assert res.attrs["K"] == 22


def test_pooled_clustered_matches_stata_convention(grunfeld):
    # lm(inv ~ value + capital) with sandwich::vcovCL(cluster = ~firm, type = "HC1"):
    # G/(G-1) * (N-1)/(N-K), K = 3 with the intercept (Stata's regress, vce(cluster)).
    res = fit(grunfeld, cov_type="clustered", entity_effects=False).set_index("term")
    np.testing.assert_allclose(
        res.loc[["value", "capital", "const"], "estimate"],
        [0.115562156360552, 0.230678488731970, -42.714369436559359], rtol=RTOL,
    )  # fmt: skip
    np.testing.assert_allclose(
        res.loc[["value", "capital", "const"], "std_error"],
        [0.0158943366870588, 0.0849671126355401, 20.4252029284738974], rtol=RTOL,
    )  # fmt: skip
    assert res.loc["const", "role"] == "intercept"
    assert np.isnan(res.loc["const", "std_effect"])


@pytest.mark.parametrize("time_effects", [False, True])
def test_std_effect_is_on_the_two_way_within_scale(grunfeld, time_effects):
    # R: coef * sd(resid(lm(x ~ factor(firm) + factor(year)))) / sd(resid(lm(inv ~ ...)))
    res = fit(grunfeld, cov_type="clustered", time_effects=time_effects)
    ref = R_WITHIN2 if time_effects else R_WITHIN1
    np.testing.assert_allclose(res["std_effect"], ref["std_effect"], rtol=RTOL)
    ratio = res["std_effect"] / res["estimate"]
    np.testing.assert_allclose(res["std_effect_se"], res["std_error"] * ratio, rtol=1e-12)


def test_std_effect_on_unbalanced_panel_matches_dummy_regression(grunfeld):
    # Direct computation: residuals of least squares on firm and year dummies.
    rng = np.random.default_rng(5)
    data = grunfeld.drop(index=rng.choice(len(grunfeld), 23, replace=False)).reset_index(drop=True)
    res = fit(data, cov_type="clustered", time_effects=True)
    d = pd.get_dummies(data[["firm", "year"]].astype(str), drop_first=True).astype(float)
    d.insert(0, "one", 1.0)
    resid = {
        c: data[c] - d @ np.linalg.lstsq(d, data[c], rcond=None)[0]
        for c in ["inv", "value", "capital"]
    }
    expected = res["estimate"].to_numpy() * np.array(
        [resid["value"].std() / resid["inv"].std(), resid["capital"].std() / resid["inv"].std()]
    )
    np.testing.assert_allclose(res["std_effect"], expected, rtol=1e-8)
    assert res["n"].iloc[0] == 177


def test_robust_without_effects_matches_mandible_coeftest():
    # lmtest ?coeftest: lm(length ~ age, subset = age <= 28); vcovHC(type = "HC1")
    md = pd.read_csv(REF / "mandible.csv")
    md = md[md["age"] <= 28].reset_index(drop=True)
    md["id"], md["period"] = np.arange(len(md)), 0
    kw = dict(outcome="length", exposures="age", entity="id", time="period", entity_effects=False)
    rob = panel_regression(md, cov_type="robust", **kw).set_index("term")
    cls = panel_regression(md, cov_type="unadjusted", **kw).set_index("term")
    np.testing.assert_allclose(
        rob.loc[["const", "age"], "estimate"], [-11.95336567540247, 1.77273012537074], rtol=RTOL
    )
    np.testing.assert_allclose(
        rob.loc[["const", "age"], "std_error"], [1.0162696418963433, 0.0546907274702816], rtol=RTOL
    )
    np.testing.assert_allclose(
        cls.loc[["const", "age"], "std_error"], [0.9762265390907090, 0.0477044749761551], rtol=RTOL
    )
    assert rob.loc["age", "n"] == 158 and rob.loc["age", "df"] == 156


def test_few_clusters_and_collinearity_are_diagnosed(grunfeld):
    with pytest.warns(StatsWarning, match="few_clusters"):
        res = panel_regression(
            grunfeld, outcome="inv", exposures=["value"], entity="firm", time="year"
        )
    assert "few_clusters: G=10" in res["diagnostics"].iloc[0]
    assert "few_clusters" in res.attrs["diagnostics"][0]
    data = grunfeld.copy()
    rng = np.random.default_rng(1)
    data["value2"] = data["value"] + rng.normal(scale=5.0, size=len(data))
    with pytest.warns(StatsWarning, match="collinear"):
        res = panel_regression(
            data, outcome="inv", exposures=["value", "value2"], entity="firm", time="year",
            cov_type="unadjusted",
        )  # fmt: skip
    assert res["diagnostics"].str.contains("collinear: VIF=").all()
    # 40 clusters and unrelated exposures: no diagnostics, no warning.
    big = pd.DataFrame([(p, t) for p in range(40) for t in range(6)], columns=["p", "t"])
    big["x"], big["z"], big["y"] = rng.normal(size=(3, len(big)))
    with warnings.catch_warnings():
        warnings.simplefilter("error", StatsWarning)
        res = panel_regression(big, outcome="y", exposures=["x", "z"], entity="p", time="t")
    assert (res["diagnostics"] == "").all()


def test_missing_values_are_dropped_and_reported(grunfeld):
    data = grunfeld.copy()
    data.loc[[0, 5], "value"] = np.nan
    res = fit(data, cov_type="unadjusted")
    assert res["n"].iloc[0] == 198
    assert "dropped_missing: 2 rows" in res["diagnostics"].iloc[0]


def test_bad_inputs_raise_input_error(grunfeld):
    base = dict(outcome="inv", exposures=["value"], entity="firm", time="year")
    with pytest.raises(InputError, match="no column"):
        panel_regression(grunfeld, **{**base, "exposures": ["valu"]})
    with pytest.raises(InputError, match="must be one of"):
        panel_regression(grunfeld, **base, cov_type="HC3")
    with pytest.raises(InputError, match="Too few rows"):
        panel_regression(grunfeld.head(11), **base, time_effects=True)
    with pytest.raises(InputError, match="twice"):
        panel_regression(pd.concat([grunfeld, grunfeld.head(1)]), **base)
    data = grunfeld.assign(size=grunfeld["firm"] * 2.0)  # constant within firm
    with pytest.raises(InputError, match="fixed effects"):
        panel_regression(data, **{**base, "exposures": ["value", "size"]})
    data = grunfeld.assign(v2=2 * grunfeld["value"])
    with pytest.raises(InputError, match="collinear"):
        panel_regression(data, **{**base, "exposures": ["value", "v2"]})
    with pytest.raises(InputError, match="numeric"):
        panel_regression(grunfeld.assign(value=grunfeld["value"].astype(str)), **base)


# ---- one portfolio -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chickegg():
    return pd.read_csv(REF / "chickegg.csv")


# grangertest(effect ~ cause, order = p, data = ChickEgg): F, Pr(>F), Res.Df
R_GRANGER = {
    ("chicken", "egg"): [(0.0470318564993352, 0.8291934626130211, 50),
                         (0.879984447115899, 0.421511370041872, 47),
                         (0.591615329454700, 0.623786200392401, 44),
                         (0.392863297762785, 0.812537784066671, 41)],
    ("egg", "chicken"): [(1.207100107309535, 0.277169618232631, 50),
                         (8.81747280331767, 5.60165105043592e-04, 47),
                         (5.40498437233502482, 0.00296639744557642, 44),
                         (4.25676579667239796, 0.00567143690425524, 41)],
}  # fmt: skip


@pytest.mark.parametrize("cause,effect", list(R_GRANGER))
def test_granger_matches_lmtest_grangertest(chickegg, cause, effect):
    res = granger(chickegg, cause=cause, effect=effect, maxlag=4)
    ref = np.array(R_GRANGER[(cause, effect)])
    np.testing.assert_allclose(res["statistic"], ref[:, 0], rtol=RTOL)
    np.testing.assert_allclose(res["p_unc"], ref[:, 1], rtol=RTOL)
    assert res["df_denom"].tolist() == ref[:, 2].astype(int).tolist()
    assert res["df_num"].tolist() == [1, 2, 3, 4]


def test_granger_sorts_by_time(chickegg):
    shuffled = chickegg.sample(frac=1, random_state=0)
    res = granger(shuffled, cause="egg", effect="chicken", maxlag=3, time="year")
    assert res["statistic"].iloc[2] == pytest.approx(5.40498437233502482, rel=RTOL)


# lm(egg ~ egg_l1 + chicken_l1); sandwich::NeweyWest(fm, lag = 3, prewhite = FALSE, adjust = TRUE)
R_ADL = {
    "coef": [279.34133514841147417, 0.96131207558460430, -0.00011357588797293],
    "nw": [2.16490426883185e02, 3.80724333285060e-02, 4.79870373575790e-04],
    "classical": [2.79693693397594e02, 2.72409610424491e-02, 5.23709051300911e-04],
}


def test_ts_regression_newey_west_matches_sandwich(chickegg):
    with pytest.warns(StatsWarning, match="short_series"):
        res = ts_regression(
            chickegg, outcome="egg", exposures="chicken", lags=1, own_lags=1, hac_lags=3,
            time="year",
        )  # fmt: skip
    assert res["term"].tolist() == ["const", "egg.L1", "chicken.L1"]
    np.testing.assert_allclose(res["estimate"], R_ADL["coef"], rtol=RTOL)
    np.testing.assert_allclose(res["std_error"], R_ADL["nw"], rtol=RTOL)
    assert (res["df"] == 50).all() and (res["n"] == 53).all()
    with pytest.warns(StatsWarning):
        cls = ts_regression(chickegg, outcome="egg", exposures="chicken", cov_type="unadjusted")
    np.testing.assert_allclose(cls["std_error"], R_ADL["classical"], rtol=RTOL)


def test_ts_regression_lags_and_bootstrap_are_reproducible(chickegg):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatsWarning)
        res = ts_regression(chickegg, outcome="egg", exposures="chicken", lags=[1, 3], own_lags=2)
        a = ts_regression(chickegg, outcome="egg", exposures="chicken", cov_type="bootstrap",
                          seed=4, n_resamples=200)  # fmt: skip
        b = ts_regression(chickegg, outcome="egg", exposures="chicken", cov_type="bootstrap",
                          seed=4, n_resamples=200)  # fmt: skip
    assert res["term"].tolist() == ["const", "egg.L1", "egg.L2", "chicken.L1", "chicken.L3"]
    assert res["n"].iloc[0] == 51
    pd.testing.assert_frame_equal(a, b)
    # bootstrap SEs are of the same order as the HAC ones (a sanity bound, not a reference)
    ratio = a["std_error"].to_numpy() / np.array(R_ADL["nw"])
    assert np.all((ratio > 0.3) & (ratio < 3))


def test_ts_bad_inputs_raise_input_error(chickegg):
    with pytest.raises(InputError, match="must be one of"):
        ts_regression(chickegg, outcome="egg", exposures="chicken", cov_type="nw")
    with pytest.raises(InputError, match="missing values"):
        ts_regression(chickegg.assign(egg=chickegg["egg"].where(chickegg.index != 5)),
                      outcome="egg", exposures="chicken")  # fmt: skip
    with pytest.raises(InputError, match="Too few periods"):
        ts_regression(chickegg.head(6), outcome="egg", exposures="chicken", lags=3, own_lags=3)
    with pytest.raises(InputError, match="no column"):
        granger(chickegg, cause="hen", effect="egg", maxlag=2)
    with pytest.raises(InputError, match="maxlag"):
        granger(chickegg, cause="chicken", effect="egg", maxlag=0)


def test_clustered_matches_petersen_published_values():
    # Petersen's test data (5,000 firm-years; shipped with statsmodels' tests as test_data.txt).
    # Published on his web page ("Programming advice - Finance: standard errors"), Stata
    # `regress y x, cluster(firmid)`: x 1.034833 (0.0505957), _cons 0.0296797 (0.0670127);
    # OLS SEs 0.0285833 and 0.0283593. More digits from R (vcovCL, HC1 with cadjust).
    pt = pd.read_csv(REF / "petersen.csv")
    kw = dict(outcome="y", exposures="x", entity="firmid", time="year", entity_effects=False)
    res = panel_regression(pt, cov_type="clustered", **kw).set_index("term")
    np.testing.assert_allclose(
        res.loc[["const", "x"], "estimate"], [0.0296797195272893, 1.0348334383759608], rtol=RTOL
    )
    np.testing.assert_allclose(
        res.loc[["const", "x"], "std_error"], [0.0670127036411133, 0.0505957259771380], rtol=RTOL
    )
    np.testing.assert_allclose(
        res.loc[["const", "x"], "std_error"], [0.0670127, 0.0505957], atol=5e-8
    )  # the published 6-7 digits
    assert res.loc["x", "df"] == 499 and res.loc["x", "diagnostics"] == ""
    cls = panel_regression(pt, cov_type="unadjusted", **kw).set_index("term")
    np.testing.assert_allclose(cls.loc[["const", "x"], "std_error"], [0.0283593, 0.0285833],
                               atol=5e-8)  # fmt: skip
    # With firm effects: plm within, vcovHC(type = "sss", cluster = "group")
    fe = panel_regression(pt, cov_type="clustered", **{**kw, "entity_effects": True}).iloc[0]
    assert fe["estimate"] == pytest.approx(0.969874861229675, rel=RTOL)
    assert fe["std_error"] == pytest.approx(0.0301419731371687, rel=RTOL)


def test_string_labels_give_the_same_fit(grunfeld):
    data = grunfeld.assign(
        firm=grunfeld["firm"].map(lambda f: f"firm-{f:02d}"),
        year=grunfeld["year"].astype(str) + "Q1",
    ).sample(frac=1, random_state=1)
    a = fit(data, cov_type="clustered", time_effects=True)
    b = fit(grunfeld, cov_type="clustered", time_effects=True)
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-10)
