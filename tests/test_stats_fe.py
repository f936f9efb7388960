"""The numpy two-way fixed-effects path (analysis.stats.fe) against linearmodels and pyfixest.

References: :func:`analysis.stats.panel_regression` (linearmodels ``PanelOLS`` for the slopes and
CR1, :mod:`analysis.stats.cluster` on its own design for CV3, CR2 and the wild bootstrap, each
checked against pyfixest or a brute force in tests/test_stats_cluster.py), pyfixest 0.60 directly
for the slopes, CR1 and CV3, and a dummy-variable least-squares fit for the within transform. The
fast path must agree to 1e-10 on balanced and unbalanced panels for every method.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.errors import InputError
from analysis.stats import StatsWarning, panel_regression
from analysis.stats.fe import twoway_fit, twoway_regression, within, within_sd

REF = Path(__file__).parent / "reference"
NUMERIC = ("estimate", "std_error", "statistic", "df", "p_unc", "ci_low", "ci_high", "std_effect", "std_effect_se")
METHODS = (None, "cr1", "cv3", "cr2", "wild")


@pytest.fixture(scope="module")
def grunfeld():
    return pd.read_csv(REF / "grunfeld.csv")


def _world(unbalanced: bool, seed: int = 5) -> pd.DataFrame:
    """30 portfolios × 10 periods, three exposures concentrated in some portfolios and a control."""
    rng = np.random.default_rng(seed)
    d = pd.DataFrame([(f"P{g:02d}", f"2024Q{t}" if t < 5 else f"2025Q{t - 4}") for g in range(30) for t in range(1, 11)],
                     columns=["portfolio", "period"])
    g = pd.factorize(d["portfolio"])[0]
    for j, c in enumerate(("share_a", "share_b", "share_c")):
        d[c] = rng.uniform(size=len(d)) * (rng.uniform(size=30) < 0.5 + 0.15 * j)[g] + rng.normal(size=30)[g]
    d["size"] = rng.normal(size=len(d)) + 3 * rng.normal(size=30)[g]
    d["growth"] = 0.3 * d["share_a"] + 0.1 * d["size"] + rng.normal(size=len(d)) + rng.normal(size=30)[g]
    if unbalanced:
        d = d.drop(index=rng.choice(len(d), 37, replace=False))
        d.loc[d.index[:5], "share_b"] = np.nan  # rows the model drops
    return d.reset_index(drop=True)


def _both(d, outcome, exposures, controls, entity, time, inference, seed=11):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatsWarning)
        ref = panel_regression(d, outcome=outcome, exposures=exposures, controls=controls, entity=entity, time=time,
                               time_effects=True, inference=inference, seed=seed)
        new = twoway_regression(d[outcome], d[[*exposures, *controls]].to_numpy(float), d[entity], d[time],
                                terms=[*exposures, *controls],
                                roles=["exposure"] * len(exposures) + ["control"] * len(controls),
                                outcome=outcome, inference=inference, seed=seed)
    return ref, new


def _assert_same(ref: pd.DataFrame, new: pd.DataFrame) -> None:
    assert list(new.columns) == list(ref.columns)
    for c in NUMERIC:
        a, b = ref[c].to_numpy(float), new[c].to_numpy(float)
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        ok = ~np.isnan(a)
        np.testing.assert_allclose(b[ok], a[ok], rtol=1e-10, atol=1e-12, err_msg=c)
    for c in ("term", "role", "n", "n_entities", "n_periods", "cov_type", "small_sample", "diagnostics"):
        assert new[c].tolist() == ref[c].tolist(), c
    if "identified" in ref.columns:
        assert new["identified"].tolist() == ref["identified"].tolist()
        assert (new["inference"] == ref["inference"]).all()
    assert set(new.attrs) == set(ref.attrs)
    for key in ("K", "n_clusters", "small_sample", "diagnostics", "df"):
        assert new.attrs[key] == ref.attrs[key], key
    assert new.attrs["ssc_factor"] == pytest.approx(ref.attrs["ssc_factor"], rel=1e-14)


@pytest.mark.parametrize("inference", METHODS)
@pytest.mark.parametrize("unbalanced", [False, True])
def test_equals_panel_regression_on_portfolio_panels(inference, unbalanced):
    d = _world(unbalanced)
    ref, new = _both(d, "growth", ["share_a", "share_b", "share_c"], ["size"], "portfolio", "period", inference)
    _assert_same(ref, new)
    if unbalanced:
        assert new.loc[0, "diagnostics"].startswith("dropped_missing: 5 rows")


@pytest.mark.parametrize("inference", METHODS)
@pytest.mark.parametrize("unbalanced", [False, True])
def test_equals_panel_regression_on_grunfeld_few_clusters(grunfeld, inference, unbalanced):
    d = grunfeld
    if unbalanced:
        d = d.drop(index=np.random.default_rng(3).choice(len(d), 23, replace=False)).reset_index(drop=True)
    ref, new = _both(d, "inv", ["value", "capital"], [], "firm", "year", inference)
    _assert_same(ref, new)
    assert "few_clusters: G=10 < 30" in new.loc[0, "diagnostics"]


def test_wild_bootstrap_follows_the_seed():
    d = _world(True)
    args = (d["growth"], d[["share_a", "size"]].to_numpy(float), d["portfolio"], d["period"])
    kw = dict(terms=["share_a", "size"], inference="wild")
    a = twoway_regression(*args, **kw, seed=4)
    b = twoway_regression(*args, **kw, seed=4)
    c = twoway_regression(*args, **kw, seed=5)
    assert a["p_unc"].tolist() == b["p_unc"].tolist()
    assert a["p_unc"].tolist() != c["p_unc"].tolist()


@pytest.mark.parametrize("unbalanced", [False, True])
def test_slopes_cr1_and_cv3_match_pyfixest(unbalanced):
    pf = pytest.importorskip("pyfixest")
    d = _world(unbalanced).dropna().reset_index(drop=True)
    terms = ["share_a", "share_b", "share_c", "size"]
    fml = "growth ~ share_a + share_b + share_c + size | portfolio + period"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cr1 = twoway_regression(d["growth"], d[terms].to_numpy(float), d["portfolio"], d["period"], terms=terms,
                                inference="cr1").set_index("term")
        cv3 = twoway_regression(d["growth"], d[terms].to_numpy(float), d["portfolio"], d["period"], terms=terms,
                                inference="cv3").set_index("term")
        ref1 = pf.feols(fml, data=d, vcov={"CRV1": "portfolio"}, fixef_tol=1e-14)
        ref3 = pf.feols(fml, data=d, vcov={"CRV3": "portfolio"}, ssc=pf.ssc(k_adj=False, G_adj=False),
                        fixef_tol=1e-14)
    n, g = len(d), d["portfolio"].nunique()
    k = cr1.attrs["K"]
    assert ref1._df_k == k + 1  # fixest counts the nested portfolio effects as one parameter
    conv = np.sqrt((n - k - 1) / (n - k))
    for t in terms:
        assert cr1.loc[t, "estimate"] == pytest.approx(ref1.coef()[t], rel=1e-10)
        assert cr1.loc[t, "std_error"] == pytest.approx(ref1.se()[t] * conv, rel=1e-10)
        # pyfixest's CRV3 with its ssc off is the raw jackknife sum; CV3 multiplies it by (G-1)/G
        assert cv3.loc[t, "std_error"] == pytest.approx(ref3.se()[t] * np.sqrt((g - 1) / g), rel=1e-10)


def test_cluster_whose_removal_loses_identification_gives_nan_never_a_p_value(grunfeld):
    d = grunfeld.copy()
    rng = np.random.default_rng(2)
    d["share"] = np.where(d["firm"] == 3, rng.uniform(size=len(d)), 0.5)  # varies only in firm 3
    with pytest.warns(StatsWarning, match="without cluster"):
        res = twoway_regression(d["inv"], d[["share", "value"]].to_numpy(float), d["firm"], d["year"],
                                terms=["share", "value"], outcome="inv", inference="cv3").set_index("term")
    assert not res.loc["share", "identified"] and res.loc["value", "identified"]
    assert np.isnan(res.loc["share", "std_error"]) and np.isnan(res.loc["share", "p_unc"])
    assert np.isnan(res.loc["share", "ci_low"]) and np.isnan(res.loc["share", "std_effect_se"])
    assert "without cluster(s) 3" in res.loc["share", "diagnostics"]
    assert np.isfinite(res.loc["value", "p_unc"])
    fit = twoway_fit(d["inv"], d[["share", "value"]].to_numpy(float), d["firm"], d["year"],
                     terms=["share", "value"], inference="cv3")
    assert any("loo_unidentified" in w for w in fit.warnings)


def test_within_is_the_dummy_variable_residual_on_an_unbalanced_panel():
    d = _world(True).dropna()
    e = pd.factorize(d["portfolio"], sort=True)[0]
    t = pd.factorize(d["period"], sort=True)[0]
    x = d[["growth", "share_a", "size"]].to_numpy(float)
    dummies = np.column_stack([np.eye(e.max() + 1)[e], np.eye(t.max() + 1)[t][:, 1:]])
    resid = x - dummies @ np.linalg.lstsq(dummies, x, rcond=None)[0]
    np.testing.assert_allclose(within(x, e, t), resid, atol=1e-12)
    assert within_sd(x[:, 1], e, t) == pytest.approx(resid[:, 1].std(), rel=1e-12)
    one = np.zeros_like(e)
    assert within_sd(x[:, 1], one, t) == pytest.approx(x[:, 1].std(), rel=1e-12)  # one entity: minus the mean


def test_bad_panels_raise_input_error_like_panel_regression():
    d = _world(False)
    y, ent, per = d["growth"], d["portfolio"], d["period"]
    absorbed = d.groupby("portfolio")["size"].transform("mean").to_numpy()
    with pytest.raises(InputError, match="does not vary once the fixed effects"):
        twoway_regression(y, np.column_stack([d["share_a"], absorbed]), ent, per, terms=["share_a", "absorbed"])
    with pytest.raises(InputError, match="collinear"):
        twoway_regression(y, np.column_stack([d["share_a"], d["share_b"], d["share_a"] - 2 * d["share_b"]]), ent,
                          per, terms=["a", "b", "c"])
    with pytest.raises(InputError, match="occur twice"):
        twoway_regression(np.r_[y, y[:1]], np.r_[d["share_a"], d["share_a"][:1]], np.r_[ent, ent[:1]],
                          np.r_[per, per[:1]], terms=["share_a"])
    with pytest.raises(InputError, match="Too few rows"):
        twoway_regression(y[:10], d["share_a"][:10], ent[:10], per[:10], terms=["share_a"])
    with pytest.raises(InputError, match="inference"):
        twoway_regression(y, d["share_a"], ent, per, terms=["share_a"], inference="hc3")
