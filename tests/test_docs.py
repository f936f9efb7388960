"""The Examples sections of the public modules run (on data/sample) and print what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["analysis.synth", "analysis.growth.panel", "analysis.categories.rules", "analysis.categories.features", "analysis.categories.claims",
           "analysis.ingest", "analysis.ingest.panel", "analysis.growth.verdicts", "analysis.growth.wording",
           "analysis.growth.decompose"]


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{name}: {result.failed} example(s) failed"
