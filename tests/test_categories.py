"""The rulebook, its operators and combinators, the membership table, and recovery of the truth."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from analysis.categories.features import client_features
from analysis.categories.rules import (
    INACTIVE_CODE,
    MEMBERSHIP_COLUMNS,
    category_changes,
    classify,
    copy_default_rulebook,
    explain,
    load_rulebook,
    parse_rulebook,
    primary_category,
    reason_texts,
    reasons_table,
    rule_features,
    sensitivity,
    with_reasons,
)
from analysis.config import ARTICLE_KINDS, CATEGORIES, SAMPLE_DIR
from analysis.errors import InputError
from analysis.ingest import ClientBase, load
from analysis.ingest.panel import client_period_panel
from analysis.synth import generate
from conftest import run_cli

TEXT = {"label": {"en": "x", "ru": "х"}, "description": {"en": "x", "ru": "х"}}


def book(rules: dict) -> object:
    """A rulebook of the given {category: rule} built in memory."""
    return parse_rulebook({"categories": [{"id": k, **TEXT, "rule": r} for k, r in rules.items()]})


@pytest.fixture(scope="module")
def sample():
    base = load(SAMPLE_DIR)
    panel = client_period_panel(base)
    kw = dict(kpis=base.kpis, transactions=base.transactions)
    feats = client_features(panel, base.clients, **kw)
    membership = classify(panel, base.clients, features=feats, **kw)
    truth = json.loads((SAMPLE_DIR / "truth.json").read_text(encoding="utf-8"))
    return base, panel, feats, membership, truth


def precision_recall(membership: pd.DataFrame, truth: dict, kind: str) -> tuple[float, float]:
    m = membership[(membership["category"] == kind) & (membership["status"] == "ok")]
    y = m["client_id"].map(lambda c: kind in truth["clients"][c]["kinds"]).to_numpy(dtype=bool)
    p = m["member"].to_numpy(dtype=bool)
    return (y & p).sum() / p.sum(), (y & p).sum() / y.sum()


def hand_features() -> pd.DataFrame:
    """Eight clients, two portfolios, one complete period; values chosen to make answers obvious."""
    return pd.DataFrame({
        "client_id": list("abcdefgh"), "portfolio": ["P1"] * 4 + ["P2"] * 4, "period": "2024Q4",
        "period_index": 3, "complete": True,
        "revenue": [100.0, 50, 30, 20, 10, 5, 4, 1],
        "trials": [0.0, 1, 2, 3, 4, 5, 6, 7],
        "org_type": ["private", "government", "startup", None, "education", "private", "private", "startup"],
        "is_reference": pd.array([True, False, None, True, False, False, True, False], dtype="boolean"),
        "margin": [0.3, 0.0, np.nan, 0.1, 0.2, 0.05, 0.5, -0.1],
    })


def members(rule: dict, feats: pd.DataFrame | None = None, **kw) -> list[str]:
    f = hand_features() if feats is None else feats
    m = classify(None, None, rulebook=book({"image": rule}), features=f, **kw)
    return sorted(m.loc[m["member"].fillna(False).astype(bool), "client_id"])


@pytest.mark.parametrize("rule, expected", [
    ({"feature": "trials", "op": "<", "value": 2}, "ab"),
    ({"feature": "trials", "op": "<=", "value": 2}, "abc"),
    ({"feature": "trials", "op": ">", "value": 5}, "gh"),
    ({"feature": "trials", "op": ">=", "value": 5}, "fgh"),
    ({"feature": "trials", "op": "==", "value": 3}, "d"),
    ({"feature": "trials", "op": "!=", "value": 3}, "abcefgh"),
    ({"feature": "trials", "op": "in", "value": [1, 6]}, "bg"),
    ({"feature": "trials", "op": "not_in", "value": [1, 6]}, "acdefh"),
    ({"feature": "trials", "op": "between", "value": [2, 4]}, "cde"),
    ({"feature": "org_type", "op": "==", "value": "startup"}, "ch"),
    ({"feature": "org_type", "op": "!=", "value": "private"}, "bceh"),  # unknown (d) is not "not private"
    ({"feature": "org_type", "op": "in", "value": ["government", "education"]}, "be"),
    ({"feature": "org_type", "op": "not_in", "value": ["private", "startup"]}, "be"),
    ({"feature": "is_reference", "op": "==", "value": True}, "adg"),
    ({"feature": "is_reference", "op": "!=", "value": True}, "befh"),  # unknown (c) is neither
    ({"feature": "margin", "op": "<", "value": 0.1}, "bfh"),  # missing margin (c) never holds
    ({"all": [{"feature": "trials", "op": ">", "value": 1}, {"feature": "margin", "op": "<", "value": 0.2}]}, "dfh"),
    ({"any": [{"feature": "trials", "op": "<", "value": 1}, {"feature": "org_type", "op": "==", "value": "startup"}]}, "ach"),
    ({"at_least": 2, "of": [{"feature": "trials", "op": ">=", "value": 4},
                            {"feature": "is_reference", "op": "==", "value": False},
                            {"feature": "margin", "op": "<=", "value": 0.05}]}, "befh"),
    ({"all": [{"any": [{"feature": "trials", "op": "==", "value": 0}, {"feature": "trials", "op": "==", "value": 7}]},
              {"feature": "margin", "op": ">", "value": 0}]}, "a"),
])
def test_operators_and_combinators(rule, expected):
    assert "".join(members(rule)) == expected


def test_quantile_and_pareto_pooled_vs_per_portfolio():
    # pooled: trials q0.75 over all 8 = 5.25 → f? no: 5.25 → g, h
    assert members({"feature": "trials", "op": ">", "quantile": 0.75}) == ["g", "h"]
    # per portfolio: P1 q0.75 of 0..3 = 2.25 → d; P2 q0.75 of 4..7 = 6.25 → h
    assert members({"feature": "trials", "op": ">", "quantile": 0.75}, per_portfolio=True) == ["d", "h"]
    # Pareto top 80 % of revenue pooled (total 220): a (100), b (150), c (180 → before 150 < 176)
    assert members({"feature": "revenue", "op": ">=", "pareto_top": 0.8}) == ["a", "b", "c"]
    # per portfolio: P1 total 200 → a, b, c (before 150 < 160); P2 total 20 → e, f (before 10 < 16), g? before 15 < 16 → yes
    assert members({"feature": "revenue", "op": ">=", "pareto_top": 0.8}, per_portfolio=True) == list("abcefg")
    # quantile_shift moves the relative cut: q0.70 pooled → 4.9 → f, g, h
    assert members({"feature": "trials", "op": ">", "quantile": 0.75}, quantile_shift=-0.05) == ["f", "g", "h"]
    # value_scale moves absolute cuts only
    assert members({"feature": "trials", "op": ">", "value": 4}, value_scale=1.25) == ["g", "h"]


def test_reason_codes_expand_to_the_conditions_with_values_and_thresholds():
    # texts written by hand from hand_features(): the Pareto cut of 80 % of 220 is c's 30 (docstring
    # of test_quantile_and_pareto...), per portfolio P2's cut is g's 4
    rb = book({"key_revenue": {"feature": "revenue", "op": ">=", "pareto_top": 0.8},
               "image": {"at_least": 2, "of": [{"feature": "org_type", "op": "in", "value": ["government", "education"]},
                                               {"feature": "is_reference", "op": "==", "value": True},
                                               {"feature": "margin", "op": "<", "value": 0.08}]}})
    f = hand_features()
    m = classify(None, None, rulebook=rb, features=f)
    assert m["reason_code"].dtype == np.int32
    text = with_reasons(m, f).set_index(["client_id", "category"])["reason"]
    assert text["a", "key_revenue"] == "revenue=100 >= 30 (pooled Pareto top 80%)"
    assert text["d", "key_revenue"] == "not met: no condition held (needs revenue >= the Pareto top 0.8 cut)"
    assert text["b", "image"] == "org_type=government; margin=0 < 0.08"
    assert text["a", "image"] == "not met (needs at least 2 of 3); held: is_reference=true"
    assert text["h", "image"] == "not met (needs at least 2 of 3); held: margin=-0.1 < 0.08"
    r = reasons_table(m).set_index("reason_code")
    code = m.set_index(["client_id", "category"])["reason_code"]
    # a, b, c share one code: the same conditions held against the same threshold
    assert code["a", "key_revenue"] == code["b", "key_revenue"] == code["c", "key_revenue"]
    row = r.loc[code["a", "key_revenue"]]
    assert (row["category"], row["status"], bool(row["member"]), row["conditions"], row["period"]) == \
        ("key_revenue", "ok", True, "1", "2024Q4")
    assert row["text_en"] == "revenue={value:revenue} >= 30 (pooled Pareto top 80%)"
    assert "{value:revenue}" in row["text_ru"] and "Парето" in row["text_ru"]
    assert r.loc[code["b", "image"], "conditions"] == "1;3" and r.loc[code["b", "image"], "period"] == ""
    # per portfolio, the threshold quoted is the portfolio's own
    pp = classify(None, None, rulebook=rb, features=f, per_portfolio=True)
    assert with_reasons(pp, f).set_index(["client_id", "category"])["reason"]["g", "key_revenue"] == \
        "revenue=4 >= 4 (per-portfolio Pareto top 80%)"
    assert reasons_table(pp).set_index("reason_code").loc[
        pp.set_index(["client_id", "category"])["reason_code"]["g", "key_revenue"], "portfolio"] == "P2"


def test_rule_features_are_enough_to_classify(sample):
    base, panel, feats, m, _ = sample
    book_ = load_rulebook()
    lean = client_features(panel, base.clients, kpis=base.kpis, transactions=base.transactions,
                           only=rule_features(book_))
    assert set(lean.columns) == {"client_id", "portfolio", "period", "period_index", "complete", *rule_features(book_)}
    assert len(rule_features(book_)) < len(feats.columns) / 2
    for c in rule_features(book_):
        pd.testing.assert_series_equal(lean[c], feats[c], check_names=False)
    again = classify(panel, base.clients, features=lean)
    pd.testing.assert_frame_equal(m, again)
    assert reasons_table(m).equals(reasons_table(again))


def test_kinds_on_two_threads_give_the_same_table_and_codes(sample, monkeypatch):
    import analysis.categories.rules as cat_mod

    base, panel, feats, m, _ = sample
    monkeypatch.setattr(cat_mod, "PARALLEL_ROWS", 0)  # large tables take this path
    threaded = classify(panel, base.clients, kpis=base.kpis, transactions=base.transactions, features=feats)
    pd.testing.assert_frame_equal(m, threaded)
    assert reasons_table(m).equals(reasons_table(threaded))


def test_pooled_thresholds_let_portfolios_differ_per_portfolio_ones_do_not(sample):
    base, panel, feats, _, _ = sample
    rb = book({"demanding": {"feature": "trial_rate_history", "op": ">", "quantile": 0.75},
               "key_revenue": {"feature": "revenue", "op": ">=", "pareto_top": 0.8}})

    def shares(per_portfolio):
        m = classify(panel, base.clients, rulebook=rb, features=feats, per_portfolio=per_portfolio)
        m = m[(m["status"] == "ok") & (m["period"] == "2025Q4")]
        m = m.assign(member=m["member"].astype(bool))
        count = m[m["category"] == "demanding"].groupby("portfolio")["member"].mean()
        rev = m[m["category"] == "key_revenue"].merge(
            feats[feats["period"] == "2025Q4"][["client_id", "revenue"]], on="client_id")
        rev_share = rev.groupby("portfolio").apply(
            lambda g: g.loc[g["member"], "revenue"].sum() / g["revenue"].sum(), include_groups=False)
        return count, rev_share

    pooled_count, pooled_rev = shares(False)
    local_count, local_rev = shares(True)
    assert pooled_count.std() > 0.05 and pooled_rev.std() > 0.05  # portfolios differ when pooled
    # per portfolio: about a quarter of each portfolio's clients lie above its upper quartile (ties
    # and interpolation between ~40 clients move it a little), far tighter than pooled
    assert local_count.between(0.1, 0.3).all(), local_count.describe()
    assert local_count.std() < pooled_count.std() / 2
    # and the Pareto A class holds about 80 % of every portfolio's revenue
    assert local_rev.between(0.8, 0.95).all(), local_rev.describe()
    assert local_rev.std() < pooled_rev.std() / 2


def test_membership_table_shape_and_types(sample):
    _, _, feats, m, _ = sample
    assert list(m.columns) == MEMBERSHIP_COLUMNS
    assert str(m["member"].dtype) == "boolean"
    assert set(m["category"]) == set(CATEGORIES)
    assert len(m) == len(feats) * len(CATEGORIES)
    assert not m.duplicated(["client_id", "period", "category"]).any()
    assert set(m["status"]) == {"ok", "short_history"}
    short = m[m["status"] == "short_history"]
    first_three = set(sorted(map(str, feats["period"].unique()))[:3])  # W = 4: a full window from the 4th quarter
    assert short["member"].isna().all() and set(map(str, short["period"])) == first_three
    assert explain(short, feats).str.contains("short history").all()
    assert m.loc[m["status"] == "ok", "member"].notna().all()


def test_default_rules_recover_the_sample_truth(sample):
    *_, m, truth = sample
    for kind in ARTICLE_KINDS:
        p, r = precision_recall(m, truth, kind)
        assert p >= 0.7 and r >= 0.7, (kind, p, r)


def world_base(seed: int, **kw) -> tuple[ClientBase, dict]:
    w = generate(seed=seed, **kw)
    tx = w.transactions.assign(revenue=w.transactions["revenue_minor"] / 100, cost=w.transactions["cost_minor"] / 100)
    ev = w.events.assign(amount=np.where(w.events["amount_minor"] >= 0, w.events["amount_minor"] / 100, np.nan))
    return ClientBase(clients=w.clients, transactions=tx, events=ev, kpis=w.kpis), w.truth


@pytest.mark.slow
@pytest.mark.parametrize("seed, portfolios, periods, clients, freq", [
    (1, 10, 12, 40, "Q"), (2, 20, 8, 30, "Q"), (3, 5, 16, 80, "Q"), (5, 10, 36, 40, "M")])
def test_default_rules_recover_the_truth_in_other_worlds(seed, portfolios, periods, clients, freq):
    base, truth = world_base(seed, portfolios=portfolios, periods=periods, clients=clients, freq=freq)
    panel = client_period_panel(base, freq=freq)
    window = 4 if freq == "Q" else 12
    m = classify(panel, base.clients, kpis=base.kpis, transactions=base.transactions, window=window)
    for kind in ARTICLE_KINDS:
        p, r = precision_recall(m, truth, kind)
        assert p >= 0.7 and r >= 0.7, (kind, p, r)


def test_reasons_name_the_conditions_that_held(sample):
    _, _, feats, m, _ = sample
    ok = with_reasons(m[m["status"] == "ok"], feats)
    img = ok[(ok["category"] == "image") & ok["member"].astype(bool)]
    assert len(img)
    assert img["reason"].str.contains(r"org_type=(multinational|government|education)|is_reference=true|"
                                      r"brand_score=|margin=").all()
    row = img[img["reason"].str.contains("is_reference=true")].iloc[0]
    assert "is_reference=true" in row["reason"]
    key = ok[(ok["category"] == "key_revenue") & ok["member"].astype(bool)]
    assert key["reason"].str.contains(r"revenue=.* >= .*\(pooled Pareto top 80%\)").all()
    non = ok[(ok["category"] == "demanding") & ~ok["member"].astype(bool)]
    assert non["reason"].str.startswith("not met").all()
    assert non["reason"].str.contains("needs at least 2 of 3").all()


def test_missing_cost_makes_key_profit_not_computable_and_the_rest_go_on(sample):
    base, panel, *_ = sample
    no_cost = panel.drop(columns=["cost", "gross_profit"])
    m = classify(no_cost, base.clients, kpis=base.kpis, transactions=base.transactions)
    kp = m[m["category"] == "key_profit"]
    assert kp["reason_code"].nunique() == 1  # one code for the whole kind
    kp = kp.assign(reason=kp["reason_code"].map(reason_texts(m)))
    assert (kp["status"] == "not_computable").all() and kp["member"].isna().all()
    assert kp["reason"].str.contains("gross_profit").all() and kp["reason"].str.contains("transactions.cost").all()
    # image reads margin only optionally: it still works
    for cat in ("key_revenue", "image", "demanding", "advanced", "understanding"):
        assert set(m.loc[m["category"] == cat, "status"]) == {"ok", "short_history"}, cat


def test_missing_events_and_attributes_are_named(sample):
    base, panel, *_ = sample
    no_events = panel.drop(columns=["claim", "trial", "spec_requirement", "prepayment", "deferral_accepted",
                                    "incident", "prepayment_amount"])
    m = classify(no_events, base.clients[["client_id", "portfolio"]])
    status = m.groupby("category")["status"].agg(lambda s: set(s))
    assert status["demanding"] == {"not_computable"} and status["understanding"] == {"not_computable"}
    assert status["image"] == {"not_computable"} and status["advanced"] == {"not_computable"}
    assert status["key_revenue"] == {"ok", "short_history"}
    texts = reason_texts(m)
    reason = texts[int(m.loc[m["category"] == "demanding", "reason_code"].iloc[0])]
    assert "claims_per_100_orders_history" in reason and "events" in reason
    assert "org_type" in texts[int(m.loc[m["category"] == "image", "reason_code"].iloc[0])]


def test_identical_output_for_identical_input(sample):
    base, panel, _, m, _ = sample
    again = classify(panel, base.clients, kpis=base.kpis, transactions=base.transactions)
    pd.testing.assert_frame_equal(m, again)


def test_single_portfolio_pools_over_periods(sample):
    base, panel, *_ = sample
    one = panel[panel["portfolio"] == "P01"]
    rb = book({"demanding": {"feature": "trials", "op": ">", "quantile": 0.75}})
    m = classify(one, base.clients, rulebook=rb)
    f = client_features(one, base.clients)
    q = f.loc[f["complete"], "trials"].quantile(0.75)
    ok = m[m["status"] == "ok"]
    expected = f.loc[f["complete"], "trials"].to_numpy() > q
    assert (ok["member"].to_numpy(dtype=bool) == expected).all()
    assert classify(one, base.clients, rulebook=rb, per_portfolio=True).equals(m)


# -- rulebook validation -------------------------------------------------------------------------


def default_dict() -> dict:
    return yaml.safe_load(load_rulebook.__globals__["default_rulebook_path"]().read_text(encoding="utf-8"))


@pytest.mark.parametrize("mutate, words", [
    (lambda d: d["categories"][3]["rule"]["of"][0].update(feature="claims_per_ordr"),
     ["demanding", "unknown feature 'claims_per_ordr'", "claims_per_100_orders_history"]),
    (lambda d: d["categories"][2]["rule"]["of"][2].update(op="=>"),
     ["image", "unknown operator '=>'", "between"]),
    (lambda d: d["categories"][0].update(id="vip"), ["unknown category 'vip'", "key_revenue", "understanding"]),
    (lambda d: d["categories"][4]["rule"]["of"][0].update(op="between", value=[6, 2]),
     ["advanced", "low 6 is above high 2"]),
    (lambda d: d["categories"][4]["rule"]["of"][0].update(value="young"), ["advanced", "must be a number"]),
    (lambda d: d["categories"][2]["rule"]["of"][1].update(value="yes"), ["image", "yes/no"]),
    (lambda d: d["categories"][2]["rule"]["of"][0].update(op=">"), ["image", "org_type is a label"]),
    (lambda d: (d["categories"][3]["rule"]["of"][0].pop("value"), d["categories"][3]["rule"]["of"][0].update(quantile=1.5)),
     ["demanding", "outside [0, 1]"]),
    (lambda d: d["categories"][3]["rule"]["of"][0].update(quantile=0.8), ["demanding", "exactly one of value"]),
    (lambda d: d["categories"][3]["rule"].update(at_least=5), ["demanding", "at_least: 5"]),
    (lambda d: d["categories"].append(dict(d["categories"][0])), ["listed twice: key_revenue"]),
])
def test_broken_rulebooks_name_the_rule(mutate, words):
    d = default_dict()
    mutate(d)
    with pytest.raises(InputError) as err:
        parse_rulebook(d, source="my.yaml")
    for w in words:
        assert w in str(err.value), (w, str(err.value))


def test_default_rulebook_is_complete_and_bilingual():
    rb = load_rulebook()
    assert rb.ids == list(CATEGORIES)
    for c in rb.categories:
        assert c.label.en and c.label.ru and c.description.en and c.description.ru
        assert any("а" <= ch <= "я" for ch in c.description.ru.lower())


def test_cli_bad_rulebook_exits_2_and_classify_writes(tmp_path):
    rb = tmp_path / "rules.yaml"
    proc = run_cli("init-rulebook", "--out", rb)
    assert proc.returncode == 0 and rb.is_file()
    assert run_cli("init-rulebook", "--out", rb).returncode == 2  # refuses to overwrite
    bad = rb.read_text(encoding="utf-8").replace("feature: trials_per_year_history_shrunk", "feature: trial_rte")
    rb.write_text(bad, encoding="utf-8")
    out = tmp_path / "m.csv"
    proc = run_cli("classify", "--data", SAMPLE_DIR, "--rulebook", rb, "--out", out)
    assert proc.returncode == 2, proc.stderr
    assert "unknown feature 'trial_rte'" in proc.stderr and "demanding" in proc.stderr
    assert "Traceback" not in proc.stderr and not out.exists()
    proc = run_cli("classify", "--data", SAMPLE_DIR, "--out", out, "--changes", tmp_path / "ch.csv")
    assert proc.returncode == 0, proc.stderr
    m = pd.read_csv(out)
    reasons = pd.read_csv(tmp_path / "m_reasons.csv")
    assert set(m["category"]) == set(CATEGORIES) and m["reason_code"].isin(reasons["reason_code"]).all()
    assert (tmp_path / "ch.csv").is_file()


def test_copy_default_rulebook(tmp_path):
    out = copy_default_rulebook(tmp_path / "r.yaml")
    assert load_rulebook(out).ids == list(CATEGORIES)
    with pytest.raises(InputError, match="exists"):
        copy_default_rulebook(out)


# -- derived tables -------------------------------------------------------------------------------


def test_category_changes_on_a_tiny_membership():
    rows = [
        # client, period, category, member, status
        ("A", "2024Q1", "image", None, "short_history"),
        ("A", "2024Q2", "image", False, "ok"),
        ("A", "2024Q3", "image", True, "ok"),
        ("A", "2024Q4", "image", True, "ok"),
        ("B", "2024Q2", "image", True, "ok"),
        ("B", "2024Q3", "image", False, "ok"),
        ("C", "2024Q2", "image", True, "ok"),  # C not active in 2024Q3 (no row): left
        ("D", "2024Q4", "image", True, "ok"),  # D new in 2024Q4: entered
        ("A", "2024Q2", "key_profit", None, "not_computable"),
        ("A", "2024Q3", "key_profit", None, "not_computable"),
    ]
    m = pd.DataFrame(rows, columns=["client_id", "period", "category", "member", "status"])
    m["member"] = m["member"].astype("boolean")
    m["portfolio"] = "P1"
    m["score"] = 1.0
    m["reason_code"] = 7
    ch = category_changes(m)
    got = set(zip(ch["client_id"], ch["period"], ch["category"], ch["change"], ch["previous_period"]))
    assert got == {("A", "2024Q3", "image", "entered", "2024Q2"), ("B", "2024Q3", "image", "left", "2024Q2"),
                   ("C", "2024Q3", "image", "left", "2024Q2"), ("D", "2024Q4", "image", "entered", "2024Q3")}
    assert ch.loc[ch["client_id"] == "C", "reason_code"].iloc[0] == INACTIVE_CODE
    assert set(ch.loc[ch["client_id"] != "C", "reason_code"]) == {7}
    assert list(ch.columns) == ["client_id", "portfolio", "period", "previous_period", "category", "change",
                                "score", "reason_code"]


def test_category_changes_on_the_sample_agree_with_a_direct_comparison(sample):
    *_, m, _ = sample
    ch = category_changes(m)
    ok = m[(m["status"] == "ok") & (m["category"] == "advanced")]
    wide = ok.pivot(index="client_id", columns="period", values="member").astype("boolean").fillna(False)
    entered = int((wide["2025Q4"] & ~wide["2025Q3"]).sum())
    left = int((~wide["2025Q4"] & wide["2025Q3"]).sum())
    sel = ch[(ch["category"] == "advanced") & (ch["period"] == "2025Q4")]
    assert (sel["change"] == "entered").sum() == entered and (sel["change"] == "left").sum() == left


def test_primary_category(sample):
    *_, m, _ = sample
    prim = primary_category(m)
    assert not prim.duplicated(["client_id", "period"]).any()
    ok = prim[prim["primary_category"].notna()]
    assert set(ok["primary_category"]) <= set(CATEGORIES) | {"none"}
    both = ok[ok["categories"].str.contains("image") & ok["categories"].str.contains("key_revenue")]
    assert (both["primary_category"] == "image").all()
    assert (ok.loc[ok["n_categories"] == 0, "primary_category"] == "none").all()


def test_sensitivity_counts(sample):
    base, panel, feats, m, _ = sample
    s = sensitivity(panel, base.clients, features=feats)
    assert set(s["threshold"]) == {"default", "relative", "absolute"}
    d = s[s["threshold"] == "default"].set_index("category")["members"]
    direct = m[m["status"] == "ok"].groupby("category")["member"].sum()
    assert (d == direct.reindex(d.index)).all()
    kr = s[s["category"] == "key_revenue"].set_index(["threshold", "shift"])["members"]
    assert kr[("relative", -0.05)] < kr[("default", 0.0)] < kr[("relative", 0.05)]  # Pareto cut 75 % / 85 %
    assert kr[("absolute", 0.25)] == kr[("default", 0.0)]  # no absolute threshold in that rule


def test_cli_runs_without_cost_or_events_and_says_what_it_could_not_compute(tmp_path):
    data = tmp_path / "export"
    data.mkdir()
    for name in ("clients.csv", "kpis.csv"):
        (data / name).write_bytes((SAMPLE_DIR / name).read_bytes())
    tx = pd.read_csv(SAMPLE_DIR / "transactions.csv", dtype=str).drop(columns=["cost"])
    tx.to_csv(data / "transactions.csv", index=False)
    out = tmp_path / "m.csv"
    proc = run_cli("classify", "--data", data, "--out", out, "--claims", tmp_path / "claims.csv")
    assert proc.returncode == 0, proc.stderr
    assert "key_profit: not computed" in proc.stderr and "transactions.cost" in proc.stderr
    assert "demanding: not computed" in proc.stderr and "events" in proc.stderr
    m = pd.read_csv(out)
    status = m.groupby("category")["status"].agg(set)
    assert status["key_revenue"] == {"ok", "short_history"} and status["image"] == {"ok", "short_history"}
    assert status["understanding"] == {"not_computable"}
    claims = pd.read_csv(tmp_path / "claims.csv").set_index("claim")
    assert claims.loc["demanding_more_claims", "verdict"] == "not_testable"
