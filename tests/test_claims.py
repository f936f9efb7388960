"""The article's claims: effect sizes against a direct computation, and no circular membership."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.categories.claims import CLAIMS_LIST, COLUMNS, article_claims, rank_biserial
from analysis.categories.features import client_features
from analysis.categories.rules import parse_rulebook
from analysis.config import SAMPLE_DIR
from analysis.ingest import load
from analysis.ingest.panel import client_period_panel

TEXT = {"label": {"en": "x", "ru": "х"}, "description": {"en": "x", "ru": "х"}}


@pytest.fixture(scope="module")
def sample():
    base = load(SAMPLE_DIR)
    panel = client_period_panel(base)
    feats = client_features(panel, base.clients, kpis=base.kpis, transactions=base.transactions)
    return base, panel, feats


def test_rank_biserial_matches_pairwise_counting():
    rng = np.random.default_rng(4)
    a, b = rng.normal(0.5, 1, 40).round(1), rng.normal(0, 1, 55).round(1)  # rounded: ties
    diff = a[:, None] - b[None, :]
    direct = ((diff > 0).sum() - (diff < 0).sum()) / diff.size  # P(a>b) - P(a<b)
    r, lo, hi, p = rank_biserial(a, b)
    assert r == pytest.approx(direct)
    assert lo < r < hi and -1 <= lo and hi <= 1
    assert p == pytest.approx(stats.mannwhitneyu(a, b, method="asymptotic").pvalue)
    # Hanley & McNeil (1982) SE for AUC 0.7, 50 vs 50: their Table 1 gives about 0.0526
    auc, n = 0.7, 50
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    se = np.sqrt((auc * (1 - auc) + (n - 1) * (q1 - auc**2) + (n - 1) * (q2 - auc**2)) / n**2)
    assert se == pytest.approx(0.0526, abs=5e-4)


def test_claims_on_the_sample_agree_and_are_not_circular(sample):
    base, panel, feats = sample
    out = article_claims(panel, base.clients, features=feats)
    assert list(out.columns) == COLUMNS
    assert list(out["claim"]) == [c.id for c in CLAIMS_LIST]
    # the synthetic world is built the way the article describes: every claim should come out
    assert (out["verdict"] == "agrees").all(), out[["claim", "effect_size", "p_holm", "verdict"]]
    by = out.set_index("claim")
    # the rule reads margin; the margin claim must be tested without it
    assert "without margin" in by.loc["image_low_margin", "membership"]
    assert "without client_age" in by.loc["advanced_young", "membership"]
    assert by.loc["image_low_revenue", "membership"].startswith("full rule")
    assert (out["effect_size"].abs() <= 1).all() and (out["ci_low"] <= out["effect_size"]).all()
    assert (out["n_members"] + out["n_others"] <= base.clients["client_id"].nunique()).all()


def test_a_rule_made_only_of_the_tested_feature_is_not_testable(sample):
    base, panel, feats = sample
    rb = parse_rulebook({"categories": [
        {"id": "demanding", **TEXT, "rule": {"any": [
            {"feature": "claims_per_100_orders", "op": ">", "quantile": 0.75},
            {"feature": "claims_per_100_orders_history", "op": ">", "quantile": 0.75}]}},
        {"id": "image", **TEXT, "rule": {"feature": "margin", "op": "<", "value": 0.08}},
    ]})
    out = article_claims(panel, base.clients, rulebook=rb, features=feats).set_index("claim")
    assert out.loc["demanding_more_claims", "verdict"] == "not_testable"
    assert "the rule reads only" in out.loc["demanding_more_claims", "membership"]
    assert pd.isna(out.loc["demanding_more_claims", "p_value"])
    # image defined by margin alone: the margin claim is circular, the revenue one is fine
    assert out.loc["image_low_margin", "verdict"] == "not_testable"
    assert out.loc["image_low_revenue", "verdict"] in ("agrees", "contradicts", "inconclusive")
    # categories absent from the rulebook are reported, not dropped
    assert out.loc["advanced_young", "verdict"] == "not_testable"
    assert pd.isna(out.loc["advanced_young", "agrees"])


def test_claims_without_events_say_so(sample):
    base, panel, _ = sample
    no_events = panel.drop(columns=["claim", "trial", "spec_requirement", "prepayment", "deferral_accepted",
                                    "incident", "prepayment_amount"])
    out = article_claims(no_events, base.clients, kpis=base.kpis).set_index("claim")
    assert out.loc["demanding_more_claims", "verdict"] == "not_testable"
    assert out.loc["image_low_revenue", "verdict"] == "agrees"
