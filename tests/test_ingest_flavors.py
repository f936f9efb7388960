"""The same synthetic world written as a CRM export and as a 1C export reads back to the same
canonical tables and the same panel, to the cent."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import synth
from analysis.ingest import load, validate
from analysis.ingest.panel import client_period_panel
from ingest_helpers import checksums


@pytest.fixture(scope="module")
def two_flavours(tmp_path_factory):
    world = synth.generate(portfolios=5, periods=8, clients=20, seed=7, flavor="standard")
    std = tmp_path_factory.mktemp("standard")
    ru = tmp_path_factory.mktemp("ru1c")
    synth.write_world(world, std, flavor="standard")
    synth.write_world(world, ru, flavor="ru-1c")
    ports = sorted(world.clients["portfolio"].unique())
    config = {"tables": {t: {"values": {"portfolio": {p.replace("P", "Филиал "): p for p in ports}}}
                         for t in ("clients", "transactions", "kpis")}}
    return std, ru, config


def test_ru_1c_is_really_a_1c_export(two_flavours):
    _, ru, _ = two_flavours
    raw = (ru / "transactions.csv").read_bytes()
    text = raw.decode("cp1251")
    assert "Итого;" in text and "\u00a0" in text and ";Выручка;" in text
    assert raw.decode("utf-8", errors="replace").count("\ufffd") > 0  # not UTF-8


def test_both_flavours_read_to_equal_tables(two_flavours):
    std, ru, config = two_flavours
    before = checksums(ru)
    a, b = load(std), load(ru, config=config)
    assert checksums(ru) == before
    pd.testing.assert_frame_equal(a.clients, b.clients)
    pd.testing.assert_frame_equal(a.transactions.drop(columns="order_id"), b.transactions.drop(columns="order_id"))
    assert (b.transactions["order_id"].str.replace("РН-", "SO-") == a.transactions["order_id"]).all()
    pd.testing.assert_frame_equal(a.events, b.events)
    pd.testing.assert_frame_equal(a.kpis, b.kpis)


@pytest.mark.parametrize("freq", ["Q", "M", "Y"])
def test_both_flavours_give_the_same_panel(two_flavours, freq):
    std, ru, config = two_flavours
    pa_ = client_period_panel(load(std), freq=freq)
    pb = client_period_panel(load(ru, config=config), freq=freq)
    pd.testing.assert_frame_equal(pa_, pb, check_exact=True)


def test_synth_ru_1c_world_validates_and_sums_like_the_standard_one(tmp_path):
    std, ru = tmp_path / "std", tmp_path / "ru"
    for flavor, out in (("standard", std), ("ru-1c", ru)):
        synth.write_world(synth.generate(portfolios=3, periods=6, clients=12, seed=5, flavor=flavor), out, flavor=flavor)
    report = validate(ru)
    assert report.ok, report.message()
    assert any("skipped 1 total row" in n for n in report.notes)
    # the panels are exact to the cent; their float sums in pandas depend on row order (the two
    # flavours order clients differently: C000001… vs ИНН), so compare in cents
    tot_a = client_period_panel(load(std)).groupby("period")[["revenue", "cost", "orders"]].sum()
    tot_b = client_period_panel(report.base).groupby("period")[["revenue", "cost", "orders"]].sum()
    pd.testing.assert_frame_equal((tot_a * 100).round().astype("int64"), (tot_b * 100).round().astype("int64"))
