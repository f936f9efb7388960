"""Every public statistics function has a NumPy docstring whose examples run."""

import doctest
import importlib
import inspect

import pytest

import analysis.stats as stats_pkg

MODULES = ["correlation", "multicomp", "regression", "resampling", "power", "cluster"]
POSITIONAL = {
    "correlation": ["x", "y"],
    "permutation_test": ["x", "y"],
    "block_bootstrap": ["data", "statistic"],
    "cluster_inference": ["design", "y", "cluster"],
}
PUBLIC = [name for name in stats_pkg.__all__ if name != "StatsWarning"]


@pytest.mark.parametrize("name", PUBLIC)
def test_public_function_is_documented(name):
    func = getattr(stats_pkg, name)
    doc = inspect.getdoc(func)
    for section in ("Parameters", "Returns", "Raises", "Examples"):
        assert f"\n{section}\n" in doc, f"{name} lacks a {section} section"
    params = list(inspect.signature(func).parameters.values())
    # data first, options keyword-only
    positional = [p.name for p in params if p.kind != p.KEYWORD_ONLY]
    assert positional == POSITIONAL.get(name, [params[0].name])
    assert all(p.annotation is not inspect.Parameter.empty for p in params)


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples_run(module):
    mod = importlib.import_module(f"analysis.stats.{module}")
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
