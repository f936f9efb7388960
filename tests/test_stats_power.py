"""required_n() and mde() against R (stats::power.t.test, pwr::pwr.r.test) and Cohen's table.

Reference numbers: tests/reference/stats_reference.R (output in stats_reference.Rout), R 4.2.2,
pwr 1.3-0. Cohen (1992), "A power primer", Psychological Bulletin 112:155-159, Table 2.
"""

import numpy as np
import pandas as pd
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


def _fe_design(rng, g, t, k=3):
    unit = np.repeat(np.arange(g), t)
    period = np.tile(np.arange(t), g)
    x = rng.normal(size=(g * t, k)) + rng.normal(size=(g, 1, k)).repeat(t, axis=0).reshape(g * t, k)
    u = np.hstack([x, (period[:, None] == np.arange(1, t)[None, :]).astype(float)])
    return u - (np.stack([np.bincount(unit, weights=c) for c in u.T], axis=1) / t)[unit], unit


def test_vectorised_cv3_equals_cluster_inference():
    """The CV3 behind cluster_design_mde, over many outcomes at once, equals cluster_inference's
    (itself checked against summclust/pyfixest in test_stats_cluster.py) outcome by outcome."""
    from analysis.stats import cluster_inference
    from analysis.stats.power import _cv3_many

    rng = np.random.default_rng(3)
    u, unit = _fe_design(rng, 8, 12)
    y = rng.normal(size=(len(unit), 4))
    groups = [np.flatnonzero(unit == c) for c in range(8)]
    b, se, ok = _cv3_many(u, y, groups, 3)
    assert ok.all()
    for r in range(4):
        ref = cluster_inference(u, y[:, r], unit, n_terms=3, method="cv3")
        np.testing.assert_allclose(b[:, r], ref.estimate, rtol=1e-9)
        np.testing.assert_allclose(se[:, r], ref.std_error, rtol=1e-9)


def test_cluster_design_mde_meets_the_formula_with_many_clusters_and_exceeds_it_with_few():
    """With 120 clusters of independent rows CV3 is close to the usual SE and t(G-1) to the normal,
    so the simulated MDE of a small effect is the formula's (design_mde, independent rows) within
    Monte Carlo error; with 8 clusters and balanced independent exposures it is near the formula,
    when an exposure moves in only two of the 8 clusters (leverage concentrated, as a kind held by a
    few managers' clients) or moves with another exposure (collinear kinds) it is well above it; its
    own power at it is the promised 0.8."""
    from analysis.stats.power import cluster_design_mde, design_mde

    rng = np.random.default_rng(5)
    u, unit = _fe_design(rng, 120, 3, k=1)
    sim = cluster_design_mde(u, unit, n_terms=1, n_sims=2000, seed=1).iloc[0]
    formula = float(design_mde(360, params=120 + 3 - 1 + 1, df=119)["mde"].iloc[0])
    assert sim["mde"] == pytest.approx(formula, rel=0.06)
    assert sim["power_at_mde"] == pytest.approx(0.8, abs=0.01)
    u, unit = _fe_design(rng, 8, 29, k=7)
    few = cluster_design_mde(u, unit, n_terms=7, m=7, n_sims=1000, seed=1)
    bound = float(design_mde(8 * 29, params=8 + 29 - 1 + 7, df=7, m=7)["mde"].iloc[0])
    assert (few["mde"] > 0.95 * bound).all() and few["power_at_mde"].between(0.79, 0.81).all()
    x = rng.normal(size=(8, 29)) * np.array([3, 3, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1])[:, None]
    u, unit = _fe_design(rng, 8, 29, k=6)
    u[:, 0] = (x - x.mean(axis=1, keepdims=True)).ravel()
    lop = cluster_design_mde(u, unit, n_terms=7, m=7, n_sims=1000, seed=1).iloc[0]
    assert lop["mde"] > 1.2 * bound and lop["power_at_mde"] == pytest.approx(0.8, abs=0.01)
    noise = rng.normal(size=(8, 29))
    u[:, 1] = u[:, 2] + 0.4 * (noise - noise.mean(axis=1, keepdims=True)).ravel()  # two kinds that move
    # together (key by revenue and by profit): VIF ≈ 7
    pair = cluster_design_mde(u, unit, n_terms=7, m=7, n_sims=1000, seed=1).iloc[1]
    assert pair["mde"] > 1.6 * bound


def test_mde_with_one_df_per_standard_error_equals_one_call_each():
    se, df = np.array([0.1, 0.25, 0.4]), np.array([9.0, 29.0, 4.3])
    many = mde(se, m=7, df=df)
    for i in range(3):
        one = mde(se[i], m=7, df=df[i]).iloc[0]
        assert many["mde"].iloc[i] == one["mde"] and many["df"].iloc[i] == df[i]
    with pytest.raises(InputError):
        mde(se, df=np.array([9.0, 0.0, 3.0]))


@pytest.mark.parametrize("statistic, method", [("cr1", "wild"), ("cv3", "wild_cv3")])
def test_wild_design_mde_reads_the_bootstraps_own_p_values(statistic, method):
    """wild_design_mde's p-value of every draw at any planted slope (from five B-vectors, the
    slope entering linearly) equals cluster_inference's restricted wild bootstrap (itself checked
    against full enumeration by refits in test_stats_cluster.py) run on that outcome with the same
    seed; its ``mde_fitted`` is the mean fitted (t + z) × bootstrap-t SE of the same null draws."""
    from analysis.stats import cluster_inference
    from analysis.stats.cluster import bootstrap_weights
    from analysis.stats.fe import entity_demean
    from analysis.stats.power import _wild_p, _wild_parts, wild_design_mde

    rng = np.random.default_rng(4)
    u, unit = _fe_design(rng, 9, 8, k=3)
    groups = [np.flatnonzero(unit == c) for c in range(9)]
    e = entity_demean(np.random.default_rng(3).normal(size=(len(unit), 100)), unit)
    v, _ = bootstrap_weights(9, 999, "webb", np.random.default_rng(11))
    parts = _wild_parts(u, groups, v, e[:, :5], 3, statistic)
    for j in range(3):
        for slope in (0.0, 0.4, -1.5):
            ref = [cluster_inference(u, slope * u[:, j] + e[:, s], unit, n_terms=3, method=method, seed=11).p_value[j]
                   for s in range(5)]
            np.testing.assert_allclose(_wild_p(parts[j], slope), ref, atol=1e-12)
    out = wild_design_mde(u, unit, n_terms=3, m=3, n_sims=100, seed=3, boot_seed=11, statistic=statistic)
    s_ = u[:, 3:]
    xw = u[:, :3] - s_ @ (np.linalg.pinv(s_) @ u[:, :3])
    ew = e - s_ @ (np.linalg.pinv(s_) @ e)
    ses = np.array([cluster_inference(u, e[:, i], unit, n_terms=3, method=method, seed=11).std_error
                    for i in range(100)])
    q = stats.t.ppf(1 - 0.05 / 6, 8) + stats.norm.ppf(0.8)
    fitted = q * np.mean(ses * xw.std(axis=0, ddof=1)[None] / ew.std(axis=0, ddof=1)[:, None], axis=0)
    np.testing.assert_allclose(out["mde_fitted"], fitted, rtol=1e-9)
    assert (out["weights"] == "webb").all() and out["power_at_mde"].between(0.79, 0.82).all()
    with pytest.raises(InputError, match="n_boot"):
        wild_design_mde(u, unit, n_terms=1, n_boot=99)


def test_wild_design_mde_without_boot_seed_is_reproducible():
    """Randomness only through explicit seeds: without ``boot_seed`` the bootstrap weights come
    from ``seed`` (they came from fresh OS entropy: the same design and seed gave MDEs 0.197 and
    0.199), and another seed gives other draws."""
    from analysis.stats.power import wild_design_mde

    u, unit = _fe_design(np.random.default_rng(5), 10, 6, k=1)
    a, b = (wild_design_mde(u, unit, n_terms=1, n_sims=100, seed=2) for _ in range(2))
    pd.testing.assert_frame_equal(a, b)
    c = wild_design_mde(u, unit, n_terms=1, n_sims=100, seed=3)
    assert c["mde_fitted"].iloc[0] != a["mde_fitted"].iloc[0]


def test_default_design_mde_simulates_the_test_the_default_runs_at_this_many_clusters():
    """For the planner: below 12 clusters the default is the bootstrap of the CV3 t, so its MDE
    (wild_design_mde, statistic="cv3"); from 12 on CV3's (cluster_design_mde)."""
    from analysis.growth import fits
    from analysis.stats.power import cluster_design_mde, wild_design_mde

    rng = np.random.default_rng(3)
    for g, expect in ((6, "wild"), (12, "cv3")):
        cl = np.repeat(np.arange(g), 12)
        x = rng.normal(size=cl.size) + np.repeat(rng.normal(size=g), 12)
        u = np.column_stack([x - np.bincount(cl, x)[cl] / 12])
        kw = dict(n_terms=1, alpha=0.05, power=0.8, m=2, n_sims=100, seed=4)
        got = fits.default_design_mde(u, cl, **kw)["mde"].to_numpy()
        ref = (wild_design_mde(u, cl, statistic="cv3", **kw) if expect == "wild"
               else cluster_design_mde(u, cl, **kw))["mde"].to_numpy()
        np.testing.assert_array_equal(got, ref)
