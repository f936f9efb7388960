"""Verdict sentences: every kind × outcome × direction in both languages against a golden file
read and corrected by a person (tests/reference/sentences.golden.tsv), and a sentence for every
reason a hypothesis may not be testable."""

from __future__ import annotations

import csv
import itertools
import re

import pytest

from analysis.config import CATEGORIES
from analysis.growth import verdicts, wording
from conftest import ROOT

GOLDEN = ROOT / "tests" / "reference" / "sentences.golden.tsv"
OUTCOMES = ("revenue_growth", "profit_growth", "new_clients", "new_client_size", "new_product_share",
            "claims_rate", "revenue_volatility", "retention", "plan_attainment", "defect_rate")


def _row(category: str, outcome: str, direction: str, verdict: str = "supported") -> dict:
    up = direction == "up"
    return {"verdict": verdict, "category": category, "outcome": outcome, "lag": 1, "min_effect": 0.2,
            "std_effect": 0.27 if up else -0.11, "ci_low": 0.09 if up else -0.25, "ci_high": 0.46 if up else 0.03}


def _golden() -> dict:
    with open(GOLDEN, encoding="utf-8", newline="") as fh:
        return {(r["category"], r["outcome"], r["direction"], r["lang"]): r["sentence"]
                for r in csv.DictReader(fh, delimiter="\t")}


def test_every_kind_outcome_and_direction_matches_the_golden_file():
    golden = _golden()
    combos = list(itertools.product(CATEGORIES, OUTCOMES, ("up", "down"), ("en", "ru")))
    assert len(golden) == len(combos) == 240
    for cat, out, direction, lang in combos:
        assert wording.sentence(_row(cat, out, direction), lang) == golden[(cat, out, direction, lang)], (cat, out, lang)


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_sentences_read_well(lang):
    """No leftover ids or doubled words; "higher the number of …" and its kind never come back."""
    for cat, out, direction in itertools.product(CATEGORIES, OUTCOMES, ("up", "down")):
        for verdict in ("supported", "contradicted", "no_effect", "inconclusive"):
            text = wording.sentence(_row(cat, out, direction, verdict), lang)
            assert "_" not in text and not re.search(r"\b(\w+) \1\b", text), text
            assert not re.search(r"\b(higher|lower) the\b", text), text
            assert "-0.00" not in text and "−0,00" not in text
            if lang == "ru":
                assert "-" not in re.sub(r"[а-яё]-[а-яё]", "", text), text  # minus sign, not a hyphen
                assert not re.search(r"[A-Za-z]{3,}", text.replace("SD", "")), text


@pytest.mark.parametrize("code", verdicts.REASON_CODES)
def test_a_sentence_for_every_reason_code(code):
    row = {"verdict": "not_testable", "category": "key_profit", "outcome": "profit_growth", "lag": 1,
           "min_effect": 0.2, "std_effect": float("nan"), "reason_code": code, "n_periods": 2, "n_portfolios": 1,
           "mode": "panel"}
    en, ru = wording.sentence(row, "en"), wording.sentence(row, "ru")
    assert en.startswith("Not testable: ") and ru.startswith("Проверить нельзя: ")
    if code == "too_few_periods":
        assert "2 usable periods, and the model needs at least 3" in en and "2 периода с данными" in ru
    if code == "kind_not_computable":
        assert "key clients by profit" in en and "«ключевые по прибыли»" in ru
    others = [wording.reason_sentence({**row, "reason_code": c}, "en") for c in verdicts.REASON_CODES if c != code]
    assert en not in others  # each code says something of its own
