"""Client-level links: timing of the client panel, the estimator against linearmodels, the
hypothesis schema, wording, and (slow) size and power on simulated worlds with known truth."""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from _client_worlds import world
from analysis.config import CATEGORIES
from analysis.errors import InputError
from analysis.growth import client_links as cl
from analysis.growth import confirmatory, spec, verdicts
from analysis.stats import mde, panel_regression


def test_client_panel_timing_by_hand():
    # one client, 7 quarters; image member decided from 2023Q4 on (W = 4)
    labels = [str(p) for p in pd.period_range("2023Q1", periods=7, freq="Q")]
    rev = [100.0, 100.0, 100.0, 100.0, 200.0, 0.0, 50.0]
    panel = pd.DataFrame({"client_id": "A", "portfolio": "all", "period": labels, "revenue": rev,
                          "gross_profit": [r * 0.2 for r in rev], "orders": [2] * 7, "claim": [0, 0, 0, 0, 1, 0, 1]})
    panel = panel[panel["revenue"] > 0]
    mem = pd.DataFrame([{"client_id": "A", "portfolio": "all", "period": p, "category": k,
                         "member": (pd.NA if i < 3 else (k == "image" and i == 4))}
                        for i, p in enumerate(labels) for k in CATEGORIES])
    mem["member"] = mem["member"].astype("boolean")
    d = cl.client_panel(panel, mem, window=4, lags=[1]).set_index("period")
    # t = 2024Q1 (index 4): membership read at 2023Q4 (not image), window 2023Q1-Q4
    assert list(d.index) == ["2024Q1", "2024Q2", "2024Q3"]
    assert d.loc["2024Q1", "member_image"] == 0 and d.loc["2024Q2", "member_image"] == 1
    assert d.loc["2024Q1", "window_revenue"] == 400
    assert d.loc["2024Q1", "revenue_growth_h1"] != d.loc["2024Q1", "revenue_growth_h1"]  # t+1 not active: NaN
    assert d.loc["2024Q1", "retention_h1"] == 1 and d.loc["2024Q2", "retention_h1"] == 0  # in t, t+h-1 = t
    assert d.loc["2024Q1", "claims_rate_h1"] == 50.0  # 1 claim / 2 orders in 2024Q1
    assert np.isnan(d.loc["2024Q3", "margin_change_h1"])  # t+1 past the data


def _panel_data(seed: int, n: int = 120, T: int = 6):
    rng = np.random.default_rng(seed)
    d = pd.DataFrame([(f"c{i}", f"2024-{t + 1:02d}") for i in range(n) for t in range(T)],
                     columns=["client_id", "period"])
    d = d.sample(frac=0.85, random_state=seed).reset_index(drop=True)  # unbalanced
    d["x1"] = (rng.uniform(size=len(d)) < 0.3).astype(float)
    d["x2"] = (rng.uniform(size=len(d)) < 0.2).astype(float)
    d[cl.SIZE_CONTROL] = rng.normal(size=len(d))
    d["y"] = 0.3 * d["x1"] + rng.normal(size=len(d)) + d["client_id"].map(
        dict(zip([f"c{i}" for i in range(n)], rng.normal(size=n))))
    return d


@pytest.mark.parametrize("client_effects", [False, True])
def test_estimator_matches_linearmodels(client_effects):
    d = _panel_data(4)
    ours = cl.client_regression(d, outcome="y", exposures=["x1", "x2"], client_effects=client_effects)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = panel_regression(d, outcome="y", exposures=["x1", "x2"], controls=[cl.SIZE_CONTROL],
                               entity="client_id", time="period", entity_effects=client_effects,
                               time_effects=True, cov_type="clustered")
    for col in ("estimate", "std_error", "df", "p_unc"):
        np.testing.assert_allclose(ours[col].to_numpy(), ref[col].to_numpy(), rtol=1e-6, err_msg=col)


def test_client_hypotheses_schema():
    hf = spec.load_hypotheses()
    client = [h for h in hf.hypotheses if h.level == "client"]
    assert {h.outcome for h in client} <= set(spec.CLIENT_OUTCOMES) and len(client) >= 3
    with pytest.raises(InputError, match="client-level hypothesis"):
        spec.as_hypothesis_file([{"id": "X", "level": "client", "category": "image", "outcome": "new_clients",
                       "expected_sign": "+"}])


def test_portfolio_tests_ignore_client_hypotheses_and_vice_versa():
    panel, membership = world(3, clients=250)
    from analysis.growth.panel import portfolio_panel

    items = [{"id": "P1", "category": "image", "outcome": "retention", "expected_sign": "+"},
             {"id": "C9", "level": "client", "category": "image", "outcome": "retention", "expected_sign": "+"}]
    pp = portfolio_panel(panel, membership, window=4)
    assert list(confirmatory.test_hypotheses(pp, items, mode="single", n_calibration=20)["id"]) == ["P1"]
    res = cl.test_client_links(cl.client_panel(panel, membership, lags=[1]), items)
    assert list(res["id"]) == ["C9"] and res["verdict"].iloc[0] in verdicts.VERDICTS


def test_results_and_sentences():
    panel, membership = world(5, clients=300, retention=0.1)
    res = cl.client_links(panel, membership)
    assert list(res.columns) == cl.CLIENT_COLUMNS
    assert (res["level"] == "client").all() and (res["p_adjust_method"] == "holm").all()
    c2 = res.set_index("id").loc["C2"]
    assert c2["verdict"] == "supported" and c2["n_clients"] == 300
    for text in res["sentence_en"]:
        if "Not testable" not in text:
            assert "compares clients with clients" in text or "Inconclusive" in text
        assert not any(w in text.lower() for w in ("causes", "because", "drives", "leads to"))
    assert all(("клиент" in t) for t in res["sentence_ru"])


def test_missing_outcome_is_not_testable():
    panel, membership = world(6, clients=200)
    panel = panel.drop(columns=["gross_profit"])
    res = cl.client_links(panel, membership).set_index("id")
    assert res.loc["C3", "verdict"] == "not_testable"
    assert "margin_change" in res.loc["C3", "diagnostics"]


# ---------------------------------------------------------------------------------------------
# validation on simulated worlds (slow): size within the binomial band, power at the MDE

WORKERS = max(1, min(2, os.cpu_count() or 1))
# one company, 12 quarters (7 usable periods at lag 1), 300 clients; the kinds share demand shocks
# (SD 0.05 per quarter, as the product's generator has a factor per kind and period)
DESIGN = {"clients": 300, "periods": 12, "common": 0.05}
TESTS = {"C1": ("advanced", "revenue_growth_h1"), "C2": ("understanding", "retention_h1"),
         "C3": ("understanding", "margin_change_h1"), "C4": ("demanding", "claims_rate_h1")}


def _fits(args) -> list[tuple[str, float, float, float, float]]:
    """(id, estimate, std_error, p_unc, df) of the four default client tests in one world (``args``:
    seed, planted knobs, design: ``default`` (one regression per period, the package's default),
    ``pooled`` (period effects, SEs clustered by client: the old default) or ``within``)."""
    seed, planted, design = args
    panel, membership = world(seed, **(DESIGN | planted))
    data = cl.client_panel(panel, membership, lags=[1])
    exposures = [cl.member_column(k) for k in CATEGORIES]
    out = []
    for hid, (kind, col) in TESTS.items():
        if design == "default":
            fit = cl.period_slopes_regression(data, outcome=col, exposures=exposures, controls=cl.CONTROLS,
                                              change=col.rsplit("_h", 1)[0] in cl.CHANGE_OUTCOMES)
        else:
            fit = cl.client_regression(data, outcome=col, exposures=exposures, client_effects=design == "within")
        r = fit.set_index("term").loc[cl.member_column(kind)]
        out.append((hid, float(r["estimate"]), float(r["std_error"]), float(r["p_unc"]), float(r["df"])))
    return out


def _run(seeds, planted=None, design="default"):
    with ProcessPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(_fits, [(s, planted or {}, design) for s in seeds], chunksize=10))


def _holm_rejects(p: np.ndarray, alpha: float = 0.05) -> np.ndarray:
    """Holm's step-down, written out (a check independent of statsmodels)."""
    order = np.argsort(p)
    m = len(p)
    reject = np.zeros(m, bool)
    for step, i in enumerate(order):
        if p[i] > alpha / (m - step):
            break
        reject[i] = True
    return reject


def _band(n: int, p: float, level: float = 0.99) -> tuple[float, float]:
    return stats.binom.ppf((1 - level) / 2, n, p) / n, stats.binom.ppf(1 - (1 - level) / 2, n, p) / n


def test_period_slopes_by_hand():
    """The default estimator against a direct computation: per period, least squares with an
    intercept (numpy lstsq on the raw columns), then the mean slope and SD/sqrt(T) with t(T-1)."""
    d = _panel_data(11, n=150, T=6)
    ours = cl.period_slopes_regression(d, outcome="y", exposures=["x1", "x2"]).set_index("term")
    slopes = []
    for _, g in d.groupby("period"):
        X = np.column_stack([np.ones(len(g)), g[["x1", "x2", cl.SIZE_CONTROL]].to_numpy()])
        slopes.append(np.linalg.lstsq(X, g["y"].to_numpy(), rcond=None)[0][1:])
    slopes = np.array(slopes)
    se = slopes.std(axis=0, ddof=1) / np.sqrt(len(slopes))
    t = slopes.mean(axis=0) / se
    np.testing.assert_allclose(ours.loc[["x1", "x2"], "estimate"], slopes.mean(axis=0)[:2], rtol=1e-10)
    np.testing.assert_allclose(ours.loc[["x1", "x2"], "std_error"], se[:2], rtol=1e-10)
    np.testing.assert_allclose(ours.loc[["x1", "x2"], "p_unc"], 2 * stats.t.sf(np.abs(t[:2]), len(slopes) - 1), rtol=1e-8)
    assert (ours["df"] == len(slopes) - 1).all()
    # change outcomes: variance + first autocovariance (Newey-West, Bartlett weight 1/2), over T
    nw = cl.period_slopes_regression(d, outcome="y", exposures=["x1", "x2"], change=True).set_index("term")
    c = slopes - slopes.mean(axis=0)
    var = (c ** 2).sum(axis=0) / (len(c) - 1) + (c[1:] * c[:-1]).sum(axis=0) / (len(c) - 1)
    np.testing.assert_allclose(nw.loc[["x1", "x2"], "std_error"], np.sqrt(var[:2] / len(c)), rtol=1e-10)


def test_kind_read_from_the_outcome_is_not_tested_or_uses_its_variant():
    """A kind whose rule reads the client's own revenue (key by revenue) is not tested against its own
    revenue growth (regression to the mean is built in); a kind with a variant rule without the
    outcome's signal is tested with the variant's membership."""
    panel, membership = world(5, clients=200)
    hyps = [{"id": "K1", "level": "client", "category": "key_revenue", "outcome": "revenue_growth",
             "expected_sign": "+", "lag": 1},
            {"id": "K2", "level": "client", "category": "demanding", "outcome": "claims_rate",
             "expected_sign": "+", "lag": 1},
            {"id": "K3", "level": "client", "category": "key_revenue", "outcome": "retention",
             "expected_sign": "+", "lag": 1}]
    data = cl.client_panel(panel, membership, lags=[1])
    feats = {"key_revenue": ["revenue"], "demanding": ["claims_per_100_orders_history", "trials_per_year_history_shrunk"]}
    res = cl.test_client_links(data, hyps, rule_features=feats).set_index("id")
    assert res.loc["K1", "verdict"] == "not_testable"
    assert "regression to the mean" in res.loc["K1", "diagnostics"] and "revenue" in res.loc["K1", "diagnostics"]
    assert res.loc["K2", "verdict"] == "not_testable"  # no variant in the data
    assert res.loc["K3", "verdict"] != "not_testable" and res.loc["K3", "exposure"] == "member_key_revenue"
    variant = membership[membership["category"] == "demanding"].copy()
    variant["category"] = "demanding_without_claims_rate"
    data = cl.client_panel(panel, membership, lags=[1], variants=variant)
    res = cl.test_client_links(data, hyps, rule_features=feats).set_index("id")
    assert res.loc["K2", "exposure"] == "member_demanding_without_claims_rate"
    assert res.loc["K2", "verdict"] != "not_testable"
    assert "регрессия к среднему" in res.loc["K1", "sentence_ru"]


@pytest.mark.slow
def test_null_worlds_reject_at_the_nominal_rate():
    """250 null worlds where a kind's clients share demand shocks: the default test (one regression
    per period) rejects each true null at 0.02-0.09. (The old pooled test with SEs clustered by
    client rejected 0.10-0.12 for the change outcomes on 60 of these worlds, 0.13-0.45 in the
    product's synthetic company: docs/methods.md; it is no longer run here, nothing asserted on it.)"""
    worlds = _run(range(1000, 1250))  # 250 null worlds × 4 tests
    p = np.array([[r[3] for r in w] for w in worlds])
    per_test = (p < 0.05).mean(axis=0)
    fwer = float(np.mean([_holm_rejects(row).any() for row in p]))
    print(f"\nclient level, null ({len(p)} worlds): per-test rejection {np.round(per_test, 3)} (C1-C4), "
          f"family-wise (Holm, 4) {fwer:.3f}")
    assert ((per_test >= 0.02) & (per_test <= 0.09)).all(), per_test
    assert fwer <= 0.09, fwer


@pytest.mark.slow
# additive outcomes, so the planted effect leaves the noise (and the SE) as it was
@pytest.mark.parametrize(("hid", "knob"), [("C1", "growth"), ("C3", "margin")])
def test_effects_planted_at_the_mde_are_found_about_80_percent(hid, knob):
    """An effect planted at the MDE the results table shows ((t(T-1, 1-α/2m) + t(T-1, 0.8)) × SE) is
    found (Holm over four) about 80 % of the time, and estimated without bias."""
    col = list(TESTS).index(hid)
    pilot = [w[col] for w in _run(range(2000, 2010))]
    se = float(np.sqrt(np.mean([r[2] ** 2 for r in pilot])))
    df = float(np.median([r[4] for r in pilot]))
    size = cl.t_mde(se, df, m=4)  # raw units: the MDE of the Holm family of 4
    worlds = _run(range(3000, 3100), {knob: size})
    p = np.array([[r[3] for r in w] for w in worlds])
    est = np.array([w[col][1] for w in worlds])
    power = float(np.mean([_holm_rejects(row)[col] for row in p]))
    lo, hi = _band(len(p), 0.8)
    print(f"\nclient level, {hid} planted at MDE {size:.4f} ({knob}, df {df:.0f}): found {power:.2f} of {len(p)} "
          f"worlds (band {lo:.2f}-{hi:.2f}); mean estimate {est.mean():.4f}")
    assert lo <= power <= hi
    assert abs(est.mean() - size) < 3 * est.std(ddof=1) / np.sqrt(len(est))  # unbiased at the planted size


OLD = {"periods": 8, "common": 0.0}  # the design the within-client option was measured on


@pytest.mark.slow
def test_within_client_option_size_recovery_and_where_it_is_biased():
    """``client_effects=True`` (off by default; numbers in docs/methods.md "Client level"), on worlds
    of 8 quarters without shared shocks:

    - kinds that are a client's lasting trait plus noise: true nulls rejected at the nominal rate;
    - an effect planted at the within design's own MDE (about 3× the pooled design's: the kinds
      barely move within a client) is found about as often as promised and estimated somewhat small
      (0.86 and 0.95 of the planted size in two runs of 60 worlds);
    - when the client's own recent revenue decides its kind, the pooled design finds links that
      are not there (advanced → revenue growth in 0.8 of null worlds) — what the rules' regression
      to the mean does, and why such a kind is not tested against that outcome."""
    worlds = _run(range(6000, 6080), OLD, design="within")
    p = np.array([[r[3] for r in w] for w in worlds])
    lo, hi = _band(p.size, 0.05)
    assert lo <= float((p < 0.05).mean()) <= hi
    pilot = [w[0] for w in _run(range(6100, 6106), OLD, design="within")]
    size = float(mde(np.mean([r[2] for r in pilot]), m=4, df=float(np.mean([r[4] for r in pilot])))["mde"].iloc[0])
    pooled_se = float(np.mean([w[0][2] for w in _run(range(6100, 6106), OLD, design="pooled")]))
    assert size > 2 * float(mde(pooled_se, m=4, df=299)["mde"].iloc[0])
    planted = _run(range(6200, 6260), OLD | {"growth": size}, design="within")
    p = np.array([[r[3] for r in w] for w in planted])
    est = np.array([w[0][1] for w in planted])
    power = float(np.mean([_holm_rejects(row)[0] for row in p]))
    lo, hi = _band(len(p), 0.8)
    assert lo <= power <= hi, power
    # recovered, somewhat small: 0.95 of the planted size here, 0.86 in another 60 worlds (docs)
    assert 0.8 * size <= est.mean() <= 1.05 * size, (est.mean(), size)
    p = np.array([[r[3] for r in w] for w in _run(range(6300, 6340), OLD | {"feedback": 1.0}, design="pooled")])
    assert float((p[:, 0] < 0.05).mean()) >= 0.5, (p[:, 0] < 0.05).mean()


def test_newey_west_pairs_only_periods_that_are_adjacent_in_time():
    """A period whose outcome is unknown for every client (a quarter missing from the export makes
    the growth into and out of it unknown) leaves a hole: the periods either side of it share no
    period, so their slopes are not a lag-1 pair of the Newey-West autocovariance."""
    d = _panel_data(12, n=150, T=9)
    d.loc[d["period"].isin(["2024-04", "2024-05"]), "y"] = np.nan  # the rows stay, the outcome is unknown
    nw = cl.period_slopes_regression(d, outcome="y", exposures=["x1", "x2"], change=True).set_index("term")
    slopes = {}
    for p, g in d.dropna().groupby("period"):
        X = np.column_stack([np.ones(len(g)), g[["x1", "x2", cl.SIZE_CONTROL]].to_numpy()])
        slopes[p] = np.linalg.lstsq(X, g["y"].to_numpy(), rcond=None)[0][1:3]
    months = [f"2024-{t + 1:02d}" for t in range(9)]
    s = np.array([slopes.get(m, [np.nan, np.nan]) for m in months])  # on the time axis, holes as NaN
    n = np.isfinite(s[:, 0]).sum()
    c = s - np.nanmean(s, axis=0)
    pair = np.isfinite(c[1:, 0]) & np.isfinite(c[:-1, 0])
    var = np.nansum(c ** 2, axis=0) / (n - 1) + (c[1:][pair] * c[:-1][pair]).sum(axis=0) / (n - 1)
    np.testing.assert_allclose(nw.loc[["x1", "x2"], "std_error"], np.sqrt(var / n), rtol=1e-10)
    assert (nw.loc[["x1", "x2"], "n_periods"] == 7).all()


def test_kinds_with_identical_members_in_a_period_give_no_split_slope():
    """Two kinds with the very same members in some periods: least squares cannot tell their slopes
    apart there, so neither gets a slope in those periods (reported), and the other terms' slopes are
    the unique ones of the model without the tied pair (statsmodels' OLS per period, the reference)."""
    import statsmodels.api as sm

    d = _panel_data(12, n=150, T=6).assign(x3=lambda f: f["x1"])
    early = d["period"].isin(sorted(d["period"].unique())[:2])
    rng = np.random.default_rng(4)
    d.loc[~early, "x3"] = rng.normal(size=int((~early).sum()))  # tied in the first two periods only
    res = cl.period_slopes_regression(d, outcome="y", exposures=["x1", "x2", "x3"])
    tied = res.attrs["collinear"]
    assert set(tied) == {"x1", "x3"} and all(len(v) == 2 for v in tied.values())
    r = res.set_index("term")
    assert r.loc["x1", "n_periods"] == 4 and r.loc["x3", "n_periods"] == 4 and r.loc["x2", "n_periods"] == 6
    x2 = []
    for p, g in d.groupby("period"):
        cols = ["x1", "x2", cl.SIZE_CONTROL] if p in set(d.loc[early, "period"]) else ["x1", "x2", "x3", cl.SIZE_CONTROL]
        x2.append(sm.OLS(g["y"], sm.add_constant(g[cols])).fit().params["x2"])
    assert r.loc["x2", "estimate"] == pytest.approx(np.mean(x2), rel=1e-9)
