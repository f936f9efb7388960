"""No hidden state (issue 17, item 6): functions do not write into the caller's frames, a missing
window is an error, the generator gives the same world twice, the level α comes from the
hypotheses file wherever a page or the method check uses it, and no dead declarations are left
(an error class nobody raises or catches, a dependency nothing imports)."""

from __future__ import annotations

import ast
import json
import re
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import i18n
from analysis.categories.features import client_features
from analysis.categories.rules import RuleContext, classify, classify_variants, reason_texts
from analysis.synth import _Generator, generate, load_effects, world_panel

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "analysis"
WINDOW = 3


@pytest.fixture(scope="module")
def small():
    w = generate(portfolios=3, periods=7, clients=10, seed=5, effects="none")
    panel = world_panel(w)
    feats = client_features(panel, w.clients, window=WINDOW, kpis=w.kpis)
    return w, panel, feats


def test_classify_leaves_the_callers_features_alone(small):
    w, panel, feats = small
    before = feats.copy()
    assert feats.attrs == {}
    classify(panel, w.clients, window=WINDOW, kpis=w.kpis, features=feats)
    classify_variants(panel, w.clients, window=WINDOW, kpis=w.kpis, features=feats)
    assert feats.attrs == {}  # classify used to store the window there
    pd.testing.assert_frame_equal(feats, before)


def test_a_rule_context_needs_its_window(small):
    w, panel, feats = small
    with pytest.raises(TypeError):  # it used to read the features' attrs and fall back to 4 quietly
        RuleContext(feats, per_portfolio=False, quantile_shift=0.0, value_scale=1.0)
    with pytest.raises(ValueError, match="window"):
        RuleContext(feats, window=0, per_portfolio=False, quantile_shift=0.0, value_scale=1.0)
    m = classify(panel, w.clients, window=WINDOW, kpis=w.kpis, features=feats)
    texts = reason_texts(m)
    short = {texts[c] for c in m.loc[m["status"] == "short_history", "reason_code"].unique()}
    assert short == {f"short history: fewer than {WINDOW} periods of data end here"}


def test_the_generator_gives_the_same_world_twice():
    effects = load_effects([
        {"category": "image", "outcome": "new_clients", "lag": 1, "size": 0.3},
        {"category": "understanding", "outcome": "plan_attainment", "lag": 1, "size": 0.3},  # a KPI plant hook
        {"category": "demanding", "outcome": "revenue_growth", "lag": 1, "size": 0.05, "level": "client"},
        {"category": "image", "outcome": "retention", "lag": 1, "size": 0.05, "level": "client"},
    ])

    def make():
        return _Generator(portfolios=3, periods=8, freq="Q", clients=10, seed=11, effects=effects)

    gen = make()
    first = gen.run()
    kpi_first = gen.plan_attainment.copy()
    second = gen.run()  # the planted growth, hazard and KPI shifts used to pile up, the draws to move on
    fresh = make().run()
    for got in (second, fresh):
        pd.testing.assert_frame_equal(got[0], first[0])
        _same(got[1], first[1])  # order lines' extras (events, money)
        _same(got[2], first[2])  # latent kinds
        _same(got[3], first[3])  # calibration, exposures, shares
    np.testing.assert_array_equal(gen.plan_attainment, kpi_first)


def _same(a, b) -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b)
    elif isinstance(a, np.random.Generator):  # a stream handed on: at the same point
        assert json.dumps(a.bit_generator.state, default=str) == json.dumps(b.bit_generator.state, default=str)
    else:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def _alpha_file(alpha: float):
    from analysis.growth.spec import as_hypothesis_file

    return as_hypothesis_file(None).model_copy(update={"alpha": alpha})


def test_the_method_check_decides_at_the_files_level(monkeypatch):
    from analysis.report import method_check

    hf = _alpha_file(0.10)
    p = [0.03, 0.07, 0.2]

    def one_world(design, seed, effects, **kw):  # three hypotheses; the real worlds are tested elsewhere
        n = len(p)
        return pd.DataFrame({"id": [f"H{i}" for i in range(n)], "category": "image", "outcome": "new_clients",
                             "lag": 1, "exposure": "share", "std_effect": 0.1, "std_effect_se": 0.1,
                             "ci_low": -0.1, "ci_high": 0.3, "ci90_low": -0.05, "ci90_high": 0.25, "p_unc": p,
                             "p_adj": p, "mde": 0.3, "verdict": "inconclusive", "verdict_reason": "",
                             "latent_corr": 1.0, "latent_slope": 1.0})

    monkeypatch.setattr(method_check, "one_world", one_world)
    runs = method_check.run_worlds(None, 2, 1, kinds=("null",), hypotheses=hf, log=lambda _: None)
    assert runs["rejected"].tolist() == [True, True, False] * 2  # p_adj 0.07 < 0.10 (0.05 said no)
    assert method_check.level(runs) == 0.10
    s = method_check.summary(pd.concat([runs, runs], ignore_index=True)).set_index("id")
    assert s.loc["H1", "size_unadjusted_k"] == 4  # p_unc 0.07 counts at α = 0.10
    bare = runs.copy()
    bare.attrs = {}
    with pytest.raises(ValueError, match="level"):  # a rate at an assumed 0.05 is no longer made up
        method_check.summary(bare)


def test_pages_state_the_files_level():
    # page 5's family-wise sentence and page 3's level line take α; the exploratory grid's title too
    assert "10 %" in i18n.t("fwer", "en", count="1/20", rate="0.05", low="0.00", high="0.25", alpha=i18n.level(0.1))
    assert "2,5 %" in i18n.t("fwer", "ru", count="1/20", rate="0,05", low="0,00", high="0,25",
                             alpha=i18n.level(0.025, "ru"))
    assert "α = 10 %" in i18n.t("verdict_level", "en", alpha=i18n.level(0.1))
    assert "10 %" in i18n.t("fig.grid_title", "en", alpha=i18n.level(0.1))
    # no page states a level of its own
    fixed = re.compile(r"α\s*=\s*(0[.,]05|5\s*%)|p\s*<\s*0[.,]05|holds it at 5 %|не более 5 %|rate at 5 %|не выше 5 %")
    texts = [(p.name, "".join(c["source"])) for p in sorted((ROOT / "notebooks").glob("*.ipynb"))
             for c in json.loads(p.read_text(encoding="utf-8"))["cells"]]
    texts.append(("messages.yaml", (SRC / "resources" / "messages.yaml").read_text(encoding="utf-8")))
    assert not [name for name, text in texts if fixed.search(text)]


def test_the_grid_figure_marks_cells_at_the_grids_level():
    from analysis.report import figures

    grid = pd.DataFrame({"category": ["image", "image"], "outcome": ["new_clients", "retention"], "lag": [1, 1],
                         "std_effect": [0.2, -0.1], "reject": [True, False]})
    with pytest.raises(ValueError, match="level"):
        figures.grid_heatmap(grid)
    grid.attrs["alpha"] = 0.1
    fig = figures.grid_heatmap(grid)
    assert "10 %" in fig._suptitle.get_text()
    import matplotlib.pyplot as plt

    plt.close(fig)


def _names_used(tree: ast.AST) -> tuple[set[str], set[str], set[str]]:
    raised, caught, bases = set(), set(), set()

    def name(node) -> str | None:
        node = node.func if isinstance(node, ast.Call) else node
        return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None

    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            raised.add(name(node.exc))
        elif isinstance(node, ast.ExceptHandler) and node.type is not None:
            types = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
            caught |= {name(t) for t in types}
        elif isinstance(node, ast.ClassDef):
            bases |= {name(b) for b in node.bases}
    return raised, caught, bases


def test_every_error_class_is_raised_or_caught():
    errors = [n.name for n in ast.parse((SRC / "errors.py").read_text(encoding="utf-8")).body
              if isinstance(n, ast.ClassDef)]
    raised, caught = set(), set()
    for path in SRC.rglob("*.py"):
        r, c, _ = _names_used(ast.parse(path.read_text(encoding="utf-8")))
        raised |= r
        caught |= c
    assert errors and not [e for e in errors if e not in raised | caught]  # AnalysisError was neither


#: Declared dependencies that no module imports, and why they are needed all the same.
USED_WITHOUT_IMPORT = {
    "duckdb": "the default engine; the package reaches it through ibis (ibis.duckdb)",
    "ipykernel": "the kernel papermill runs the notebooks in",
}


def _imports(source: str) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out


def test_every_declared_dependency_is_imported_or_explained():
    from importlib.metadata import packages_distributions

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    declared = {re.split(r"[<>=\[ ;]", d)[0].lower().replace("_", "-") for d in deps}
    modules = set()
    for path in SRC.rglob("*.py"):
        modules |= _imports(path.read_text(encoding="utf-8"))
    for path in (ROOT / "notebooks").glob("*.ipynb"):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] == "code":
                modules |= _imports("".join(cell["source"]))
    dists = packages_distributions()
    imported = {d.lower().replace("_", "-") for m in modules for d in dists.get(m, [])}
    assert not declared - imported - set(USED_WITHOUT_IMPORT)  # jinja2 was declared and never imported
    assert set(USED_WITHOUT_IMPORT) <= declared
