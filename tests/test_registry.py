"""The registry of kinds and outcomes (issue 17): one place declares a kind or an outcome, and
every step — classify, the portfolio panel, the hypotheses, a page's table, sentence, figure and
codebook — picks it up.

The change-walk, as this test does it:

- a seventh kind touches **the rulebook only** (``custom: true`` with label, phrase, priority,
  description, rule) — here a copy of the built-in rulebook written to a temporary file;
- an eleventh outcome touches **the registry** (one entry: family, words, ``compute``) and the
  function it names — here a registry built in the test, with the function below.
"""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from analysis import i18n, registry
from analysis.categories.rules import classify, load_rulebook, primary_category
from analysis.growth import panel as growth
from analysis.growth.confirmatory import test_hypotheses as run_hypotheses
from analysis.report import figures
from analysis.synth import generate, world_panel

LOYAL = {
    "id": "loyal", "custom": True, "priority": 0.5,
    "label": {"en": "Loyal clients", "ru": "Верные"},
    "phrase": {"en": "loyal clients", "ru": "верные клиенты"},
    "description": {"en": "Clients who have bought for longest.", "ru": "Клиенты, которые покупают дольше всех."},
    "rule": {"all": [{"feature": "tenure", "op": ">=", "quantile": 0.75}]},
}


def orders_per_client_at(x: growth.PeriodArrays, h: int) -> np.ndarray:
    """Orders per buying client in t+h-1 (the eleventh outcome's ``compute``)."""
    orders = x.by_portfolio(np.nan_to_num(x.matrix("orders")))
    buyers = x.by_portfolio(x.active.astype(float))
    return growth.shift_left(growth.ratio(orders, buyers), h - 1)


ORDERS = {
    "id": "orders_per_client", "family": "level", "source": "panel", "compute": orders_per_client_at,
    "label": {"en": "orders per client", "ru": "заказы на клиента"},
    "phrase": {"en": "orders per client", "ru": "число заказов на клиента"},
    "up": {"en": "more orders per client", "ru": "большим числом заказов на клиента"},
    "down": {"en": "fewer orders per client", "ru": "меньшим числом заказов на клиента"},
    "description": {"en": "orders per buying client in t+h-1", "ru": "заказы на покупающего клиента в t+h-1"},
}


@pytest.fixture(scope="module")
def world():
    w = generate(portfolios=8, periods=10, clients=25, seed=17, effects="none")
    return w, world_panel(w)


def test_a_seventh_kind_and_an_eleventh_outcome_reach_every_step(world, tmp_path):
    w, panel = world
    spec = yaml.safe_load(registry.REGISTRY_FILE.read_text(encoding="utf-8"))
    spec["outcomes"].append(ORDERS)
    reg = registry.build(spec, yaml.safe_load(registry.RULEBOOK_FILE.read_text(encoding="utf-8")))
    book = yaml.safe_load(registry.RULEBOOK_FILE.read_text(encoding="utf-8"))
    book["categories"].append(LOYAL)
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump(book, allow_unicode=True), encoding="utf-8")

    with registry.use(reg):
        rb = load_rulebook(rules)  # declares the kind: labels, phrase and priority from the rulebook
        membership = classify(panel, w.clients, rulebook=rb, events=w.events, transactions=w.transactions,
                              kpis=w.kpis, window=4)
        assert "loyal" in set(membership["category"])
        primary = primary_category(membership)
        loyal_held = membership[(membership["category"] == "loyal") & membership["member"].fillna(False).astype(bool)]
        assert len(loyal_held) and (primary.set_index(["client_id", "period"]).loc[
            list(zip(loyal_held["client_id"], loyal_held["period"])), "primary_category"] == "loyal").all()

        pp = growth.portfolio_panel(panel, membership, window=4, kpis=w.kpis, lags=[1])
        assert "share_loyal" in pp.columns and "orders_per_client" in pp.attrs["outcomes"]
        # the eleventh outcome against a direct computation from the client × period panel
        buying = panel[panel["revenue"] > 0]
        direct = buying.groupby(["portfolio", "period"]).agg(orders=("orders", "sum"), n=("client_id", "nunique"))
        direct = (direct["orders"] / direct["n"]).rename("direct").reset_index()
        got = pp[["portfolio", "period", "orders_per_client_h1"]].merge(direct, on=["portfolio", "period"])
        assert len(got) == len(pp) and np.allclose(got["orders_per_client_h1"], got["direct"])

        book_rows = growth.codebook(pp).set_index("column")
        assert book_rows.loc["orders_per_client_h1", "description_en"] == "orders per buying client in t"
        assert book_rows.loc["share_loyal", "category"] == "loyal"

        res = run_hypotheses(pp, [{"id": "H7", "category": "loyal", "outcome": "orders_per_client",
                                   "expected_sign": "+", "lag": 1}], n_calibration=20)
        row = res.iloc[0]
        assert row["verdict"] in {"supported", "contradicted", "no_effect", "inconclusive"}
        assert "loyal clients" in row["sentence_en"] and "orders per client" in row["sentence_en"]
        assert "верные клиенты" in row["sentence_ru"]
        page = i18n.show(res[["id", "category", "outcome", "verdict"]], "ru").data
        assert "Верные" in page and "заказы на клиента" in page
        assert figures.kind_colors()["loyal"] not in {figures.kind_colors()[k] for k in registry.current().builtin_kinds}

    assert "loyal" not in registry.current().kinds and "orders_per_client" not in registry.current().outcomes


def test_a_misspelt_kind_is_still_an_error(tmp_path):
    book = yaml.safe_load(registry.RULEBOOK_FILE.read_text(encoding="utf-8"))
    book["categories"][2]["id"] = "imagee"
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump(book, allow_unicode=True), encoding="utf-8")
    from analysis.errors import InputError

    with pytest.raises(InputError, match="unknown category 'imagee'.*custom: true"):
        load_rulebook(rules)


def test_registry_functions_resolve_and_words_are_complete():
    reg = registry.current()
    for o in reg.outcomes.values():
        if o.source == "panel":
            assert callable(o.compute_function()), o.id
        if o.plant:
            assert callable(o.plant_function()), o.id
        assert o.phrase.en and o.phrase.ru and o.up.ru and o.down.ru and o.description.ru
    for k in reg.kinds.values():
        assert k.label.en and k.label.ru and k.phrase.en and k.phrase.ru and np.isfinite(k.priority)
    assert set(reg.synthetic_kinds) <= set(reg.kinds)


def test_a_registry_that_misses_a_word_names_the_entry():
    spec = yaml.safe_load(registry.REGISTRY_FILE.read_text(encoding="utf-8"))
    broken = dict(spec["outcomes"][0])
    del broken["up"]
    broken["id"] = "broken_one"
    spec["outcomes"].append(broken)
    with pytest.raises(registry.RegistryError, match="outcome broken_one: `up`"):
        registry.build(spec, yaml.safe_load(registry.RULEBOOK_FILE.read_text(encoding="utf-8")))
