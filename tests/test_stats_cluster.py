"""Few-cluster inference (analysis.stats.cluster via panel_regression(inference=...)).

References: pyfixest 0.60 (an independent implementation of fixest) for CR1 and CV3; a
dummy-variable brute force written here (full hat matrix, explicit (I - H_gg)^(-1/2), the
Imbens–Kolesár df from the n × G matrix) for CR2 and its Bell–McCaffrey df; full enumeration of
the 2^G sign vectors with a refit of the model per vector for the wild cluster bootstrap; and a
simulation with known truth for the sizes.
"""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.errors import InputError
from analysis.stats import StatsWarning, cluster_inference, panel_regression

REF = Path(__file__).parent / "reference"
G_BASE = dict(outcome="inv", exposures=["value", "capital"], entity="firm", time="year")
P_BASE = dict(outcome="y", exposures=["x"], entity="firmid", time="year")


@pytest.fixture(scope="module")
def grunfeld():
    return pd.read_csv(REF / "grunfeld.csv")


@pytest.fixture(scope="module")
def petersen():
    return pd.read_csv(REF / "petersen.csv")


def fit(data, base, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatsWarning)
        return panel_regression(data, **base, **kw)


def pf_fit(data, fml, vcov, **kw):
    pf = pytest.importorskip("pyfixest")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.feols(fml, data=data, vcov=vcov, **kw)


# --- CR1 --------------------------------------------------------------------------------------


@pytest.mark.parametrize("time_effects", [False, True])
def test_cr1_option_is_todays_default(grunfeld, time_effects):
    plain = fit(grunfeld, G_BASE, time_effects=time_effects)
    cr1 = fit(grunfeld, G_BASE, time_effects=time_effects, inference="cr1")
    for col in ("estimate", "std_error", "p_unc", "ci_low", "ci_high", "df", "std_effect_se"):
        np.testing.assert_allclose(cr1[col].astype(float), plain[col].astype(float), rtol=1e-10)
    assert list(plain.columns) == list(cr1.columns)[: len(plain.columns)]
    assert "inference" not in plain.columns and (cr1["inference"] == "cr1").all()


@pytest.mark.parametrize(
    ("data", "base", "effects", "fml", "k_extra"),
    [
        # firm effects nested in the firm clusters: fixest counts them as one parameter (K + 1)
        ("grunfeld", G_BASE, dict(), "inv ~ value + capital | firm", 1),
        ("grunfeld", G_BASE, dict(time_effects=True), "inv ~ value + capital | firm + year", 1),
        # nothing nested: the same K
        ("grunfeld", G_BASE, dict(entity_effects=False, time_effects=True), "inv ~ value + capital | year", 0),
        ("petersen", P_BASE, dict(time_effects=True), "y ~ x | firmid + year", 1),
        ("petersen", P_BASE, dict(entity_effects=False), "y ~ x", 0),
    ],
)
def test_cr1_matches_pyfixest_up_to_its_documented_k(request, data, base, effects, fml, k_extra):
    d = request.getfixturevalue(data)
    ours = fit(d, base, inference="cr1", **effects).set_index("term")
    ref = pf_fit(d, fml, {"CRV1": base["entity"]})
    n, k = len(d), ours.attrs["K"]
    assert ref._df_k == k + k_extra  # what pyfixest/fixest count for K
    se_ref = ref.se()
    # convert pyfixest's (N-1)/(N-K-k_extra) into ours
    conv = np.sqrt((n - k - k_extra) / (n - k))
    for term in se_ref.index:
        name = "const" if term == "Intercept" else term
        assert ours.loc[name, "estimate"] == pytest.approx(ref.coef()[term], rel=1e-8)
        assert ours.loc[name, "std_error"] == pytest.approx(se_ref[term] * conv, rel=1e-7)
    assert (ours["df"] == d[base["entity"]].nunique() - 1).all()


# --- CV3 --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "base", "effects", "fml"),
    [
        ("grunfeld", G_BASE, dict(), "inv ~ value + capital | firm"),
        ("grunfeld", G_BASE, dict(time_effects=True), "inv ~ value + capital | firm + year"),
        ("petersen", P_BASE, dict(entity_effects=False), "y ~ x"),
    ],
)
def test_cv3_matches_pyfixest_crv3_after_its_scaling(request, data, base, effects, fml):
    # pyfixest's CRV3 is sum_g (b_g - b)(b_g - b)' times its ssc; with k_adj=G_adj=False the raw
    # sum, which the MNW CV3 multiplies by (G-1)/G.
    pf = pytest.importorskip("pyfixest")
    d = request.getfixturevalue(data)
    ours = fit(d, base, inference="cv3", **effects).set_index("term")
    ref = pf_fit(d, fml, {"CRV3": base["entity"]}, ssc=pf.ssc(k_adj=False, G_adj=False))
    g = d[base["entity"]].nunique()
    for term, se in ref.se().items():
        name = "const" if term == "Intercept" else term
        assert ours.loc[name, "std_error"] == pytest.approx(se * np.sqrt((g - 1) / g), rel=1e-7)
    assert ours["identified"].all()


def test_cv3_centred_on_the_jackknife_mean_by_direct_refits(grunfeld):
    d = grunfeld
    ours = fit(d, G_BASE, inference="cv3", time_effects=True)
    firms = sorted(d["firm"].unique())
    jack = []
    for f in firms:
        sub = d[d["firm"] != f]
        x = np.column_stack([sub[["value", "capital"]], pd.get_dummies(sub["firm"]), pd.get_dummies(sub["year"]).iloc[:, 1:]])
        jack.append(np.linalg.lstsq(x.astype(float), sub["inv"].to_numpy(float), rcond=None)[0][:2])
    jack = np.array(jack)
    g = len(firms)
    est = ours["estimate"].to_numpy()
    np.testing.assert_allclose(ours["std_error"], np.sqrt((g - 1) / g * ((jack - est) ** 2).sum(0)), rtol=1e-7)
    # the β̄-centred variant through the core function
    from analysis.stats.regression import _cluster_design

    frame = d.set_index(["firm", "year"])[["inv", "value", "capital"]]
    frame.index = pd.MultiIndex.from_arrays([pd.factorize(frame.index.get_level_values(i), sort=True)[0] for i in (0, 1)])
    u, y = _cluster_design(frame, "inv", ["value", "capital"], True, True)
    res = cluster_inference(u, y, frame.index.get_level_values(0).to_numpy(), n_terms=2, method="cv3", center="mean")
    np.testing.assert_allclose(res.std_error, np.sqrt((g - 1) / g * ((jack - jack.mean(0)) ** 2).sum(0)), rtol=1e-7)
    assert (res.std_error < ours["std_error"].to_numpy()).all()


def test_leave_one_out_loss_of_identification_is_reported(grunfeld):
    d = grunfeld.copy()
    rng = np.random.default_rng(2)
    # "share" varies over time only in firm 3: without it the effect is not identified
    d["share"] = np.where(d["firm"] == 3, rng.uniform(size=len(d)), 0.5)
    with pytest.warns(StatsWarning, match="without cluster"):
        res = panel_regression(d, outcome="inv", exposures=["share", "value"], entity="firm", time="year",
                               time_effects=True, inference="cv3").set_index("term")
    assert not res.loc["share", "identified"] and res.loc["value", "identified"]
    assert np.isnan(res.loc["share", "std_error"]) and np.isnan(res.loc["share", "p_unc"])
    assert "without cluster(s) 3" in res.loc["share", "diagnostics"]
    assert np.isfinite(res.loc["value", "p_unc"])


# --- CR2 --------------------------------------------------------------------------------------


def _cr2_brute(d: pd.DataFrame, y: str, xs: list[str], ent: str, tim: str | None):
    """CR2 and Bell–McCaffrey df on the full dummy-variable regression, written from the
    formulas (Bell & McCaffrey 2002; Imbens & Kolesár 2016), with n × n matrices."""
    cols = [d[xs].to_numpy(float), pd.get_dummies(d[ent]).to_numpy(float)]
    if tim:
        cols.append(pd.get_dummies(d[tim]).to_numpy(float)[:, 1:])
    x = np.hstack(cols)
    yv = d[y].to_numpy(float)
    n = len(yv)
    m = np.linalg.pinv(x.T @ x)
    h = x @ m @ x.T
    e = yv - h @ yv
    cl = d[ent].to_numpy()
    blocks = []
    meat = 0
    for c in np.unique(cl):
        ix = np.flatnonzero(cl == c)
        lam, vec = np.linalg.eigh(np.eye(len(ix)) - h[np.ix_(ix, ix)])
        a = (vec * np.where(lam > 1e-10, 1 / np.sqrt(np.clip(lam, 1e-10, None)), 0)) @ vec.T
        s = x[ix].T @ a @ e[ix]
        meat = meat + np.outer(s, s)
        blocks.append((ix, a))
    v = m @ meat @ m
    dfs = []
    for j in range(len(xs)):
        q = np.zeros((n, len(blocks)))
        for gi, (ix, a) in enumerate(blocks):
            col = np.zeros(n)
            col[ix] = a @ x[ix] @ m[:, j]
            q[:, gi] = col - h @ col
        b = q.T @ q
        dfs.append(np.trace(b) ** 2 / np.trace(b @ b))
    return np.sqrt(np.diag(v)[: len(xs)]), np.array(dfs)


@pytest.mark.parametrize("time_effects", [False, True])
@pytest.mark.parametrize("unbalanced", [False, True])
def test_cr2_and_bell_mccaffrey_df_match_the_dummy_variable_brute_force(grunfeld, time_effects, unbalanced):
    d = grunfeld
    if unbalanced:
        d = d.drop(index=np.random.default_rng(3).choice(len(d), 23, replace=False)).reset_index(drop=True)
    ours = fit(d, G_BASE, inference="cr2", time_effects=time_effects)
    se, dfs = _cr2_brute(d, "inv", ["value", "capital"], "firm", "year" if time_effects else None)
    np.testing.assert_allclose(ours["std_error"], se, rtol=1e-8)
    np.testing.assert_allclose(ours["df"], dfs, rtol=1e-8)
    from scipy import stats

    np.testing.assert_allclose(ours["p_unc"], 2 * stats.t.sf(np.abs(ours["estimate"] / se), dfs), rtol=1e-8)


def test_cr2_on_petersen_subset_matches_brute_force(petersen):
    d = petersen[petersen["firmid"] <= 40].reset_index(drop=True)
    ours = fit(d, P_BASE, inference="cr2", time_effects=True)
    se, dfs = _cr2_brute(d, "y", ["x"], "firmid", "year")
    np.testing.assert_allclose(ours["std_error"], se, rtol=1e-8)
    np.testing.assert_allclose(ours["df"], dfs, rtol=1e-8)
    # balanced panel, one regressor varying within clusters: Bell–McCaffrey df is below G - 1
    assert 1 < ours["df"].iloc[0] < 39


# --- wild cluster bootstrap --------------------------------------------------------------------


def _wild_by_enumeration(d: pd.DataFrame, xs: list[str], j: int):
    """Restricted wild cluster bootstrap by brute force: every sign vector, a refit of the
    two-way dummy regression and a CR1 t statistic (same factor) per vector."""
    firms = np.sort(d["firm"].unique())
    g = len(firms)
    full = np.hstack([d[xs].to_numpy(float), pd.get_dummies(d["firm"]).to_numpy(float),
                      pd.get_dummies(d["year"]).to_numpy(float)[:, 1:]])
    y = d["inv"].to_numpy(float)
    cl = np.searchsorted(firms, d["firm"].to_numpy())

    def t_of(yy):
        b, *_ = np.linalg.lstsq(full, yy, rcond=None)
        e = yy - full @ b
        m = np.linalg.pinv(full.T @ full)
        s = np.stack([full[cl == c].T @ e[cl == c] for c in range(g)])
        v = m @ s.T @ s @ m
        return b[j] / np.sqrt(v[j, j])

    keep = [c for c in range(full.shape[1]) if c != j]
    br, *_ = np.linalg.lstsq(full[:, keep], y, rcond=None)
    fitted = full[:, keep] @ br
    resid = y - fitted
    t0 = t_of(y)
    ts = np.array([t_of(fitted + resid * np.array(v)[cl]) for v in itertools.product([-1.0, 1.0], repeat=g)])
    return t0, ts


def test_wild_bootstrap_equals_full_enumeration_by_refits(grunfeld):
    d = grunfeld[grunfeld["firm"] <= 6].reset_index(drop=True)
    ours = fit(d, G_BASE, inference="wild", time_effects=True, n_boot=999)
    assert ours.attrs["enumerated"] is False  # G=6 < 12: Webb weights by default
    from analysis.stats.regression import _cluster_design

    frame = d.set_index(["firm", "year"])[["inv", "value", "capital"]]
    frame.index = pd.MultiIndex.from_arrays([pd.factorize(frame.index.get_level_values(i), sort=True)[0] for i in (0, 1)])
    u, y = _cluster_design(frame, "inv", ["value", "capital"], True, True)
    res = cluster_inference(u, y, frame.index.get_level_values(0).to_numpy(), n_terms=2, method="wild",
                            weights="rademacher", n_boot=999)
    assert res.details["enumerated"] and res.details["n_boot"] == 2**6
    n, p = u.shape
    factor = 6 / 5 * (n - 1) / (n - p)  # the core's default CR1 factor; it cancels in the p-value
    for j in range(2):
        t0, ts = _wild_by_enumeration(d, ["value", "capital"], j)
        assert res.statistic[j] * np.sqrt(factor) == pytest.approx(t0, rel=1e-8)
        assert res.p_value[j] == pytest.approx(np.mean(np.abs(ts) >= abs(t0) - 1e-9), abs=1e-12)
        assert res.details["q_star"][j] * np.sqrt(factor) == pytest.approx(np.quantile(np.abs(ts), 0.95), rel=1e-8)


def _cv3_refits(grunfeld, n_firms):
    """Grunfeld's first ``n_firms`` firms as the within design of the two-way model (``u``, ``yw``,
    firm codes, G) and ``refits(j, vectors)``: the observed CV3 t of term j and, per weight vector,
    the CV3 t of a refit of the two-way dummy regression (lstsq) on all firms and on all firms but
    one, with outcome restricted fit + residual × the firm's weight — the bootstrap by brute force."""
    d = grunfeld[grunfeld["firm"] <= n_firms].reset_index(drop=True)
    firms = np.sort(d["firm"].unique())
    g = len(firms)
    full = np.hstack([d[["value", "capital"]].to_numpy(float), pd.get_dummies(d["firm"]).to_numpy(float),
                      pd.get_dummies(d["year"]).to_numpy(float)[:, 1:]])
    y = d["inv"].to_numpy(float)
    cl = np.searchsorted(firms, d["firm"].to_numpy())

    def t_cv3(yy, j):
        b = np.linalg.lstsq(full, yy, rcond=None)[0][j]
        jack = [np.linalg.lstsq(full[cl != c], yy[cl != c], rcond=None)[0][j] for c in range(g)]
        return b / np.sqrt((g - 1) / g * np.sum((np.array(jack) - b) ** 2))

    from analysis.stats.regression import _cluster_design

    frame = d.set_index(["firm", "year"])[["inv", "value", "capital"]]
    frame.index = pd.MultiIndex.from_arrays([pd.factorize(frame.index.get_level_values(i), sort=True)[0] for i in (0, 1)])
    u, yw = _cluster_design(frame, "inv", ["value", "capital"], True, True)
    cluster = frame.index.get_level_values(0).to_numpy()

    def refits(j, vectors):
        keep = [c for c in range(full.shape[1]) if c != j]
        fitted = full[:, keep] @ np.linalg.lstsq(full[:, keep], y, rcond=None)[0]
        resid = y - fitted
        t0 = t_cv3(y, j)
        ts = np.array([t_cv3(fitted + resid * np.array(v)[cl], j) for v in vectors])
        return t0, ts

    return u, yw, cluster, g, refits


def test_wild_bootstrap_of_the_cv3_t_equals_full_enumeration_by_refits(grunfeld):
    """``wild_cv3``: every sign vector, a refit of the two-way dummy regression on all firms and
    on all firms but one (lstsq, no downdating) and the CV3 t statistic ((G-1)/G, centred on the
    estimate) per vector; the observed t is the plain CV3 one (checked against pyfixest above)."""
    u, yw, cluster, g, refits = _cv3_refits(grunfeld, 6)
    res = cluster_inference(u, yw, cluster, n_terms=2, method="wild_cv3",
                            weights="rademacher", n_boot=999)
    cv3 = cluster_inference(u, yw, cluster, n_terms=2, method="cv3")
    assert res.details["enumerated"] and "of the CV3 t" in res.label
    for j in range(2):
        t0, ts = refits(j, itertools.product([-1.0, 1.0], repeat=g))
        assert res.statistic[j] == pytest.approx(t0, rel=1e-8)
        assert res.statistic[j] == pytest.approx(cv3.estimate[j] / cv3.std_error[j], rel=1e-10)
        assert res.p_value[j] == pytest.approx(np.mean(np.abs(ts) >= abs(t0) - 1e-9), abs=1e-12)
        assert res.details["q_star"][j] == pytest.approx(np.quantile(np.abs(ts), 0.95), rel=1e-8)
        # bootstrap-t SE: the interval est ± q* × CV3 SE
        assert res.ci_high[j] - res.estimate[j] == pytest.approx(res.details["q_star"][j] * cv3.std_error[j], rel=1e-10)


def test_wild_bootstrap_is_seeded_and_picks_webb_below_12(grunfeld):
    a = fit(grunfeld, G_BASE, inference="wild", seed=5)
    b = fit(grunfeld, G_BASE, inference="wild", seed=5)
    c = fit(grunfeld, G_BASE, inference="wild", seed=6)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["p_unc"], c["p_unc"])
    assert a.attrs["weights"] == "webb" and a.attrs["n_boot"] == 999
    assert "webb" in a["small_sample"].iloc[0]
    # bootstrap-t interval: est ± q* × CR1 SE, reported as SE_boot with t(G-1)
    from scipy import stats

    cr1 = fit(grunfeld, G_BASE, inference="cr1")
    q = stats.t.ppf(0.975, 9)
    np.testing.assert_allclose(a["ci_high"] - a["estimate"], np.array(a.attrs["q_star"]) * cr1["std_error"], rtol=1e-10)
    np.testing.assert_allclose(a["std_error"] * q, np.array(a.attrs["q_star"]) * cr1["std_error"], rtol=1e-10)


def test_bad_inference_arguments_raise_input_error(grunfeld):
    with pytest.raises(InputError, match="inference"):
        fit(grunfeld, G_BASE, inference="cr3")
    with pytest.raises(InputError, match="cov_type='clustered'"):
        fit(grunfeld, G_BASE, inference="cv3", cov_type="robust")
    with pytest.raises(InputError, match="n_boot"):
        fit(grunfeld, G_BASE, inference="wild", n_boot=99)


# --- known truth ------------------------------------------------------------------------------


def _null_world(rng, g, t=10):
    """A few portfolios carry most of the exposure's within variation (Beta(1, 3) loadings);
    AR(1) exposure and errors: CR1 with t(G-1) over-rejects at G = 10."""
    base = rng.beta(1.0, 3.0, size=g)
    x = np.zeros((g, t))
    u = np.zeros((g, t))
    for s in range(t):
        x[:, s] = (0.5 * x[:, s - 1] if s else 0) + rng.normal(size=g)
        u[:, s] = (0.5 * u[:, s - 1] if s else 0) + rng.normal(size=g)
    x = base[:, None] * x
    y = u + rng.normal(size=(g, 1))
    ent = np.repeat(np.arange(g), t)
    tim = np.tile(np.arange(t), g)
    d = (tim[:, None] == np.arange(1, t)[None, :]).astype(float)
    design = np.column_stack([x.ravel(), rng.normal(size=g * t), d])
    cnt = np.bincount(ent)
    design = design - (np.stack([np.bincount(ent, weights=c) for c in design.T], 1) / cnt[:, None])[ent]
    yv = y.ravel() - (np.bincount(ent, weights=y.ravel()) / cnt)[ent]
    return design, yv, ent


@pytest.mark.slow
@pytest.mark.parametrize(("g", "n_sims"), [(10, 500), (30, 300)])
def test_small_cluster_methods_hold_their_size_where_cr1_does_not(g, n_sims):
    rng = np.random.default_rng(20261127 + g)
    rej = dict.fromkeys(("cr1", "cr2", "cv3", "wild"), 0)
    for i in range(n_sims):
        design, y, ent = _null_world(rng, g)
        for m in rej:
            r = cluster_inference(design, y, ent, n_terms=1, method=m, seed=i)
            rej[m] += int(r.p_value[0] < 0.05)
    rate = {m: v / n_sims for m, v in rej.items()}
    # two-sided 99 % binomial band around 5 %: ±2.58 SE (SE 0.0097 at 500, 0.0126 at 300 draws)
    half = 2.58 * np.sqrt(0.05 * 0.95 / n_sims)
    lo, hi = 0.05 - half, 0.05 + half
    for m in ("cr2", "cv3", "wild"):
        assert lo <= rate[m] <= hi, (m, rate)
    if g == 10:
        assert rate["cr1"] > hi, rate
    else:
        assert rate["cr1"] >= max(rate["cr2"], rate["wild"]), rate


@pytest.mark.parametrize("n_firms", [3, 4])
def test_wild_cv3_with_few_clusters_enumerates_every_webb_vector_as_refits_do(grunfeld, n_firms):
    """One company's handful of managers: with 3 or 4 clusters the bootstrap uses all 6^G Webb
    vectors (216, 1,296 ≤ 2 × 999 draws) instead of draws; checked against a refit of the two-way
    dummy regression on all firms and on all firms but one per vector (lstsq). Its p-value cannot
    fall below the constant vectors' share (they reproduce |t|): bootstrap_p_floor, 6/216 = 0.028
    with 3 clusters — above Holm's 0.05/7, whatever the data."""
    from analysis.stats.cluster import _WEBB, bootstrap_p_floor

    u, yw, cluster, g, refits = _cv3_refits(grunfeld, n_firms)
    res = cluster_inference(u, yw, cluster, n_terms=2, method="wild_cv3", seed=1)
    other = cluster_inference(u, yw, cluster, n_terms=2, method="wild_cv3", seed=2)
    assert res.details["weights"] == "webb" and res.details["enumerated"]
    assert res.details["n_boot"] == 6**g and f"all {6**g} weight vectors" in res.label
    np.testing.assert_array_equal(res.p_value, other.p_value)  # exact: no draws, the seed is unused
    floor = bootstrap_p_floor(g)
    assert floor == pytest.approx(6 / 6**g)
    vectors = list(itertools.product(_WEBB, repeat=g))
    for j in range(2):
        t0, ts = refits(j, vectors)
        assert res.statistic[j] == pytest.approx(t0, rel=1e-8)
        assert res.p_value[j] == pytest.approx(np.mean(np.abs(ts) >= abs(t0) * (1 - 1e-9)), abs=1e-12)
        assert res.details["q_star"][j] == pytest.approx(np.quantile(np.abs(ts), 0.95), rel=1e-8)
        const = [i for i, v in enumerate(vectors) if len(set(v)) == 1]
        np.testing.assert_allclose(np.abs(ts[const]), abs(t0), rtol=1e-8)
        assert res.p_value[j] >= floor - 1e-12
