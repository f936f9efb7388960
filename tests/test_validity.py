"""Validity of the verdicts (issue 12, items 2–5): no selection on the outcome through the rules,
"no effect" only where the rule could have seen an effect, rates with exact binomial CIs, and
the quality of the default rules on worlds whose truth is known."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from analysis.categories import rules as categories
from analysis.config import ARTICLE_KINDS
from analysis.growth import confirmatory, fits, verdicts, wording
from analysis.growth import panel as growth
from analysis.report import method_check
from analysis.synth import generate, world_panel


@pytest.fixture(scope="module")
def small_world():
    warnings.simplefilter("ignore")
    w = generate(portfolios=6, periods=9, clients=30, seed=21, effects="none")
    panel = world_panel(w)
    m = categories.classify(panel, w.clients, window=4, kpis=w.kpis)
    v = categories.classify_variants(panel, w.clients, window=4, kpis=w.kpis)
    return w, panel, m, v


# ---------------------------------------------------------------------------------------------
# item 2: the other clients


def test_rule_variants_drop_exactly_the_conditions_on_the_outcomes_signal():
    book = categories.load_rulebook()
    var = categories.outcome_variants(book)
    assert set(var) == {("demanding", "claims_rate"), ("advanced", "new_product_share")}
    rule, dropped = var[("demanding", "claims_rate")]
    assert dropped == ["claims_per_100_orders_history"]
    assert {leaf.feature for leaf in rule.leaves()} == {"trials_per_year_history_shrunk", "specs_per_year_history_shrunk"}
    rule, dropped = var[("advanced", "new_product_share")]
    assert "new_product_share" not in {leaf.feature for leaf in rule.leaves()}


def test_variant_membership_is_the_reduced_rule_and_signal_is_any_condition(small_world):
    w, panel, m, v = small_world
    feats = categories.client_features(panel, w.clients, window=4, kpis=w.kpis)
    ok = feats["complete"].to_numpy()
    # the demanding variant: trials (>= 1 a year) AND special requirements (>= 0.7 a year), direct
    f = feats[ok]
    direct = (f["trials_per_year_history_shrunk"] >= 1.0) & (f["specs_per_year_history_shrunk"] >= 0.7)
    mine = v[v["category"] == "demanding_without_claims_rate"].set_index(["client_id", "period"])["member"]
    got = mine.loc[list(zip(f["client_id"], f["period"]))].astype(bool).to_numpy()
    assert (got == direct.to_numpy()).all()
    # any signal ⊇ the full rule's members and ⊇ the variant's members
    full = m[m["category"] == "demanding"].set_index(["client_id", "period"])["member"]
    sig = v[v["category"] == "demanding_any_signal"].set_index(["client_id", "period"])["member"]
    both = pd.concat({"full": full, "sig": sig, "var": mine}, axis=1).dropna().astype(bool)
    assert not (both["full"] & ~both["sig"]).any() and not (both["var"] & ~both["sig"]).any()
    assert both["sig"].sum() > both["full"].sum()


def test_others_exclude_every_client_with_a_signal_and_codebook_says_so(small_world):
    w, panel, m, v = small_world
    pp = growth.portfolio_panel(panel, m, window=4, kpis=w.kpis, variants=v, lags=[1])
    assert pp.attrs["others"] == {"new_product_share": "no_signal", "claims_rate": "no_signal"}
    assert pp.attrs["variants"]["claims_rate"] == {"demanding": "demanding_without_claims_rate"}
    # claims_rate at lag 1 recomputed directly: claims / orders in period t of clients without any
    # demanding signal at t-1
    sig = v[v["category"] == "demanding_any_signal"][["client_id", "period", "member"]]
    periods = sorted(panel["period"].unique())
    prev = dict(zip(periods[1:], periods[:-1]))
    row = pp.dropna(subset=["claims_rate_h1"]).iloc[3]
    p, t = row["portfolio"], row["period"]
    s_prev = sig[sig["period"] == prev[t]].set_index("client_id")["member"]
    cur = panel[(panel["portfolio"] == p) & (panel["period"] == t)]
    flagged = cur["client_id"].map(s_prev).fillna(False).astype(bool)
    others = cur[~flagged.to_numpy()]
    assert row["claims_rate_h1"] == pytest.approx(100 * others["claim"].sum() / others["orders"].sum())
    cb = growth.codebook(pp).set_index("column")
    assert cb.loc["claims_rate_h1", "group"] == "no demanding signal at t-1"
    assert cb.loc["revenue_growth_h1", "group"] == "all clients"
    assert cb.loc["share_demanding_without_claims_rate", "rule"] == "without claims_per_100_orders_history"
    assert cb.loc["share_demanding_without_claims_rate", "used_for"] == "claims_rate"
    assert "claims_rate" not in cb.loc["share_demanding", "used_for"]
    assert cb.loc["share_demanding", "rule"] == "full"
    # without variants the older construction is used and said
    old = growth.portfolio_panel(panel, m, window=4, kpis=w.kpis, lags=[1])
    assert old.attrs["others"]["claims_rate"] == "not_member"
    assert any("selects on the outcome" in n for n in old.attrs["notes"])


def test_models_of_outcomes_on_the_others_use_the_variant(small_world):
    w, panel, m, v = small_world
    pp = growth.portfolio_panel(panel, m, window=4, kpis=w.kpis, variants=v)
    res = confirmatory.test_hypotheses(pp).set_index("id")
    assert res.loc["H4", "exposure"] == "share_demanding_without_claims_rate"
    assert res.loc["H6", "exposure"] == "share_advanced_without_new_product_share"
    assert res.loc["H5", "exposure"] == "share_demanding"
    cols, term = fits.model_exposures(pp, "claims_rate", fits.usable_exposures(pp))
    assert "share_demanding" not in cols and term["demanding"] in cols


# ---------------------------------------------------------------------------------------------
# item 4: "no effect" only where the rule could have seen one


@pytest.mark.parametrize("lo, hi, att, verdict, reason", [
    (-0.10, 0.12, 1.0, "no_effect", ""),
    (-0.10, 0.12, 0.8, "no_effect", ""),  # inside ±0.16
    (-0.10, 0.12, 0.4, "inconclusive", "rule_too_noisy"),  # inside ±0.2 but not ±0.08
    (-0.10, 0.25, 0.4, "inconclusive", "ci_too_wide"),
    (-0.10, 0.12, np.nan, "no_effect", ""),  # not measured: taken as 1
])
def test_attenuation_narrows_the_equivalence_band(lo, hi, att, verdict, reason):
    v = verdicts.verdict(0.9, (lo + hi) / 2, lo, hi, expected_sign="+", min_effect=0.2, attenuation=att)
    assert v == verdict
    assert verdicts.verdict_reason(v, lo, hi, min_effect=0.2, attenuation=att) == reason


def test_sentences_name_the_rule_defined_kind_and_the_noisy_rule():
    row = {"verdict": "inconclusive", "verdict_reason": "rule_too_noisy", "category": "understanding",
           "outcome": "revenue_volatility", "lag": 1, "min_effect": 0.2, "std_effect": 0.01, "ci_low": -0.12,
           "ci_high": 0.14}
    en = wording.sentence(row, "en")
    assert "as the rules define them" in en and "rule too noisy to rule out an effect" in en
    assert "правил" in wording.sentence(row, "ru")
    row["verdict"], row["verdict_reason"] = "no_effect", ""
    assert "as the rules define them" in wording.sentence(row, "en")


# ---------------------------------------------------------------------------------------------
# item 5: rates and their CIs, attenuation


def test_rates_are_counts_with_exact_clopper_pearson_intervals():
    # Clopper-Pearson 95 %: 0/16 → [0, 0.2059]; 3/16 → [0.0405, 0.4565] (R: binom.test(3, 16)$conf.int)
    r, lo, hi = method_check.rate_ci(0, 16)
    assert (r, lo) == (0.0, 0.0) and hi == pytest.approx(0.2059, abs=5e-4)
    r, lo, hi = method_check.rate_ci(3, 16)
    assert lo == pytest.approx(0.0405, abs=5e-4) and hi == pytest.approx(0.4565, abs=5e-4)
    assert method_check.rate_text(0, 16).startswith("0/16 ")
    assert "<" not in method_check.rate_text(0, 16)


def test_familywise_warns_only_when_the_whole_ci_is_above_ten_percent():
    def runs(k, n):
        return pd.DataFrame({"kind": "null", "world": np.repeat(np.arange(n), 2),
                             "rejected": np.repeat(np.arange(n) < k, 2)})
    # 5/16 (issue 12's page): Clopper-Pearson [0.1102, 0.5866], all above 0.10 → warn
    fw = method_check.familywise(runs(5, 16))
    assert fw["ci_low"] == pytest.approx(0.1102, abs=5e-4) and fw["warn"] is True
    assert fw["k"] == 5 and fw["n"] == 16
    assert method_check.familywise(runs(4, 16))["warn"] is False  # [0.0727, 0.5238]
    assert method_check.familywise(runs(2, 16))["warn"] is False


def test_latent_attenuation_recovers_a_known_correlation():
    rng = np.random.default_rng(3)
    P, T = 40, 12
    port = np.repeat([f"P{i}" for i in range(P)], T)
    per = np.tile([f"2023Q{i}" for i in range(T)], P)
    x = rng.normal(size=P * T) + np.repeat(rng.normal(size=P), T) * 3  # portfolio means are removed
    y = 0.5 * x + rng.normal(scale=0.5, size=P * T)
    data = pd.DataFrame({"portfolio": port, "period": per, "share_k": y})
    lat = pd.DataFrame({"portfolio": port, "period": per, "category": "k", "latent_share": x})
    corr, slope = method_check.latent_attenuation(data, lat, "share_k", "k")
    assert slope == pytest.approx(0.5, abs=0.04)
    assert corr == pytest.approx(0.5 / np.sqrt(0.25 + 0.25), abs=0.04)


def test_design_is_plain_picklable_data_and_run_worlds_is_deterministic():
    import pickle

    d = method_check.Design(portfolios=4, periods=8, clients=12, kind_shares=(("image", 0.2),))
    assert pickle.loads(pickle.dumps(d)) == d
    a = method_check.run_worlds(d, 1, 5, kinds=("null",))
    b = pickle.loads(pickle.dumps(method_check.run_worlds))(d, 1, 5, kinds=("null",))
    pd.testing.assert_frame_equal(a, b)
    assert set(a["kind"]) == {"null"} and (a["planted"] == 0).all()
    assert a["latent_corr"].notna().any()


def test_design_from_the_sample_reads_the_study(sample_study):
    d = method_check.design_from_study(sample_study)
    assert d.portfolios == sample_study.panel["portfolio"].nunique()
    assert d.freq == "Q" and d.window == sample_study.window
    shares = dict(d.kind_shares)
    assert set(shares) == set(ARTICLE_KINDS) and all(0.02 <= s <= 0.6 for s in shares.values())
    assert {"claim", "prepayment"} <= set(dict(d.event_scale))


@pytest.fixture(scope="module")
def sample_study():
    from analysis.report import study

    return study.prepare()


# ---------------------------------------------------------------------------------------------
# item 3: rule quality on hidden-truth worlds (fresh seeds)


@pytest.mark.slow
@pytest.mark.parametrize("freq, periods, portfolios, seed, window", [
    ("Q", 12, 30, 90_101, 0),
    ("M", 30, 14, 90_201, 12),
    ("M", 30, 14, 90_201, 0),  # the 6-month default window
])
def test_default_rules_see_the_article_kinds(freq, periods, portfolios, seed, window):
    q = method_check.world_rule_quality(seed, portfolios=portfolios, periods=periods, clients=40, freq=freq,
                                        window=window)
    print(f"\n{freq}: " + q[["category", "precision", "recall"]].round(3).to_string(index=False))
    q = q.set_index("category")
    # issue 12's bar: 0.8 / 0.8 for all four. On these seeds (not the ones the thresholds were chosen
    # on) the weakest measured with the generator of issue 12 (realised-share effects, finite-mean size
    # tail, the same revenue noise for every kind): Q understanding 0.85 / 0.86, demanding 0.90 / 0.86;
    # M (12 months) demanding 0.90 / 0.86; M (6 months) demanding 0.86 / 0.86, understanding 0.90 / 0.86.
    for k in ("image", "demanding", "advanced", "understanding"):
        assert q.loc[k, "precision"] >= 0.8 and q.loc[k, "recall"] >= 0.8, (k, q.loc[k].to_dict())


def test_index_warns_next_to_the_verdicts_only_when_the_familywise_ci_is_above_ten_percent(tmp_path):
    from analysis.report import runner as report

    def warning(k, n):
        fw = method_check.familywise(pd.DataFrame({"kind": "null", "world": np.arange(n), "rejected": np.arange(n) < k}))
        pd.DataFrame([fw]).to_csv(tmp_path / "method_check_familywise.csv", index=False)
        return report._method_check_warning(tmp_path, "en")

    text = warning(5, 16)
    assert "5/16" in text and "0.11" in text and text.startswith('<p class="warning">')
    assert "5/16" in report._method_check_warning(tmp_path, "ru") and "0,11" in report._method_check_warning(tmp_path, "ru")
    assert warning(2, 16) == ""
    (tmp_path / "method_check_familywise.csv").unlink()
    assert report._method_check_warning(tmp_path, "en") == ""


def test_synthetic_key_kinds_are_planted_on_what_a_window_rule_sees(small_world):
    # the latent key_revenue share is the pooled Pareto top 80 % of each window's revenue, decided on
    # that window: the default rule's exposure reproduces it (whole-history kinds would look ahead)
    w, panel, m, v = small_world
    pp = growth.portfolio_panel(panel, m, window=4, kpis=w.kpis, variants=v, lags=[1])
    corr, slope = method_check.latent_attenuation(pp, w.latent_shares, "share_key_revenue", "key_revenue")
    assert corr > 0.99 and slope == pytest.approx(1.0, abs=0.02)


def test_attenuations_of_a_world_equal_latent_attenuation_pair_by_pair(small_world):
    # one_world measures every hypothesis's attenuation from one table of latent shares
    w, panel, m, v = small_world
    pp = growth.portfolio_panel(panel, m, window=4, kpis=w.kpis, variants=v, lags=[1])
    pairs = [(c, k) for k in ARTICLE_KINDS + ("key_revenue",) for c in pp.columns if c.startswith("share_")]
    pairs += [(np.nan, "image"), ("share_image", "no_such_kind")]
    fast = method_check._attenuations(pp, w.latent_shares, pairs)
    for (col, k), got in zip(pairs, fast, strict=True):
        ref = method_check.latent_attenuation(pp, w.latent_shares, col, k) if isinstance(col, str) \
            else (np.nan, np.nan)
        np.testing.assert_array_equal(got, ref)


# ---------------------------------------------------------------------------------------------
# item 6: the sample shows every verdict honestly (read from the session's sample report)


def test_sample_shows_every_verdict_honestly(sample_report):
    import json

    from analysis.config import SAMPLE_DIR

    truth = json.loads((SAMPLE_DIR / "truth.json").read_text(encoding="utf-8"))
    planted = {(e["category"], e["outcome"]) for e in truth["effects"]
               if e.get("level", "portfolio") == "portfolio" and e["size"] != 0}
    hyps = pd.read_csv(sample_report / "tables" / "hypotheses.csv")
    if "level" in hyps.columns:
        hyps = hyps[hyps["level"].fillna("portfolio") == "portfolio"]
    assert (hyps["inference"] == fits.resolve_inference(fits.DEFAULT_INFERENCE, 50)).all()  # 50 portfolios
    hyps["planted"] = [(c, o) in planted for c, o in zip(hyps["category"], hyps["outcome"])]
    table = hyps[["id", "category", "outcome", "planted", "verdict", "verdict_reason"]].to_string(index=False)
    assert hyps["planted"].any() and (~hyps["planted"]).any(), table
    # at least one supported, and each of them planted (a supported null would be a false positive)
    supported = hyps[hyps["verdict"] == "supported"]
    assert len(supported) and supported["planted"].all(), table
    # at least one "no effect" where nothing is planted, and no planted effect called "no effect"
    no_effect = hyps[hyps["verdict"] == "no_effect"]
    assert len(no_effect) and not no_effect["planted"].any(), table


def test_apply_attenuation_decides_at_the_recorded_level_and_never_guesses_one():
    from analysis.errors import InputError
    from analysis.growth import confirmatory

    row = {"id": "H1", "category": "image", "p_adj": 0.03, "std_effect": 0.3, "ci90_low": 0.05, "ci90_high": 0.55,
           "expected_sign": "+", "min_effect": 0.2, "attenuation": 1.0}
    res = pd.DataFrame([row])
    res.attrs["alpha"] = 0.01  # a file at level 0.01: p_adj 0.03 is not significant
    assert confirmatory.apply_attenuation(res, {"H1": 0.9})["verdict"].iloc[0] == "inconclusive"
    assert confirmatory.apply_attenuation(res, {"H1": 0.9}, alpha=0.05)["verdict"].iloc[0] == "supported"
    read_back = pd.DataFrame([row])  # attrs lost (a table read from hypotheses.csv)
    with pytest.raises(InputError, match="alpha"):
        confirmatory.apply_attenuation(read_back, {"H1": 0.9})
