"""The report: every page and table, offline HTML, escaping, failures, atomic swap, parameters."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from analysis import i18n
from analysis.config import SAMPLE_DIR
from analysis.errors import InputError
from analysis.report import runner as report
from _notebooks import tiny_notebook
from conftest import run_cli

DESIGN_TABLES = ("hypotheses", "exploratory", "robustness", "client_categories", "category_changes",
                 "article_claims", "sensitivity", "portfolio_panel", "codebook")
PAGES = ("01_data_quality", "02_client_categories", "03_growth_links", "04_case_study", "05_method_check")


@pytest.mark.slow
def test_sample_report_has_every_part(sample_report):
    assert (sample_report / "index.html").is_file()
    for folder in ("pages", "research"):
        assert sorted(p.stem for p in (sample_report / folder).glob("*.html")) == list(PAGES)
    assert sorted(p.stem for p in (sample_report / "executed").glob("*.ipynb")) == list(PAGES)
    for name in DESIGN_TABLES:
        table = pd.read_csv(sample_report / "tables" / f"{name}.csv")
        assert len(table) > 0, name
    book = pd.ExcelFile(sample_report / "tables" / "tables.xlsx")
    contents = book.parse("contents")
    assert set(DESIGN_TABLES) <= set(contents["table"])  # every table listed; the summary ones copied
    copied = set(contents.loc[contents["in_this_workbook"], "table"])
    assert copied == set(book.sheet_names) - {"contents"} and {"hypotheses", "exploratory"} <= copied
    for name in set(DESIGN_TABLES) - copied:  # client-level tables: Parquet beside the CSV, the same table
        parquet = pd.read_parquet(sample_report / "tables" / f"{name}.parquet")
        assert parquet.to_csv(index=False) == (sample_report / "tables" / f"{name}.csv").read_text(encoding="utf-8")
    manifest = json.loads((sample_report / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["failed"] == [] and "transactions.csv" in manifest["inputs"]
    assert manifest["versions"]["pandas"] and manifest["seed"] == 1
    # CPU seconds of the study's preparation and of every page with its kernel (the benchmark's per-page costs)
    cpu = {k: v for k, v in manifest["timings"].items() if k.endswith(" CPU") and "worlds" not in k}
    assert set(cpu) == {f"{name} CPU" for name in ("00_prepare_study", *PAGES)} and min(cpu.values()) > 0.5
    assert len(list((sample_report / "figures").glob("key_*.png"))) == 3


@pytest.mark.slow
def test_verdicts_on_the_index_match_the_table(sample_report):
    index = (sample_report / "index.html").read_text(encoding="utf-8")
    hyp = pd.read_csv(sample_report / "tables" / "hypotheses.csv")
    assert set(hyp["verdict"]) <= {"supported", "contradicted", "no_effect", "inconclusive"}
    for verdict in hyp["verdict"]:
        assert f'<td class="verdict txt">{i18n.verdict(verdict, "en")}' in index
    assert index.count("<img") == 3


@pytest.mark.slow
def test_report_pages_are_offline_and_code_free(sample_report):
    for page in [sample_report / "index.html", *sample_report.glob("pages/*.html"), *sample_report.glob("research/*.html")]:
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"<script[^>]+src=", text), page
        assert not re.search(r"(src|href)=\"(https?:)?//", text), page
        assert "Synthetic data" in text and "Бокарева" in text
    for name in PAGES:
        presentation = (sample_report / "pages" / f"{name}.html").read_text(encoding="utf-8")
        research = (sample_report / "research" / f"{name}.html").read_text(encoding="utf-8")
        code_cell = re.compile(r'class="(input_area|[^"]*jp-InputArea)')
        assert not code_cell.search(presentation) and code_cell.search(research), name
        assert "injected-parameters" not in research and ".partial-" not in research, name


@pytest.mark.slow
def test_text_from_the_data_is_escaped(small_world):
    """Markup in client names and in a portfolio name (the session's small world) reaches every
    page of the report escaped."""
    from _jobs import EVIL_NAME, EVIL_PORTFOLIO

    out = small_world["out"]
    assert small_world["failed"] == []
    clients = pd.read_csv(small_world["data"] / "clients.csv", dtype=str, keep_default_na=False)
    assert clients["name"].str.startswith(EVIL_NAME).all() and (clients["portfolio"] == EVIL_PORTFOLIO).any()
    pages = list(out.rglob("*.html"))
    assert len(pages) == 11
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "<script>" not in text and "<b>P01</b>" not in text, page
    examples = (out / "pages" / "02_client_categories.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert" in examples


PARAMS = 'data_dir: str = ""  # data\nn: int = 1  # a number'


@pytest.mark.slow
def test_failing_notebook_is_rendered_marked_and_others_go_on(tmp_path):
    good = tiny_notebook(tmp_path, "01_good", "print('fine <b>&')", PARAMS)
    bad = tiny_notebook(tmp_path, "02_bad", "raise ValueError('broken on purpose')", PARAMS)
    result = report.run_report(data_dir=SAMPLE_DIR, out_dir=tmp_path / "out", notebooks=[good, bad], jobs=2,
                               log=lambda m: None)
    assert result.failed == ["02_bad"]
    index = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert "failed" in index and "broken on purpose" in index
    assert "fine &lt;b&gt;&amp;" in (tmp_path / "out" / "pages" / "01_good.html").read_text(encoding="utf-8")
    assert "broken on purpose" in (tmp_path / "out" / "pages" / "02_bad.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_interrupted_run_keeps_the_previous_report(tmp_path, monkeypatch):
    good = tiny_notebook(tmp_path, "01_good", "print('first run')", PARAMS)
    out = tmp_path / "out"
    report.run_report(data_dir=SAMPLE_DIR, out_dir=out, notebooks=[good], jobs=1, log=lambda m: None)
    before = (out / "pages" / "01_good.html").read_bytes()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "_write_index", interrupted)
    with pytest.raises(KeyboardInterrupt):
        report.run_report(data_dir=SAMPLE_DIR, out_dir=out, notebooks=[good], jobs=1, log=lambda m: None)
    assert (out / "pages" / "01_good.html").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_parameter_names_and_values_are_checked(tmp_path):
    nb = tiny_notebook(tmp_path, "01", "pass", PARAMS)
    with pytest.raises(InputError, match="identifier"):
        report.check_parameters(nb, {"x; import os": 1})
    with pytest.raises(InputError, match="unknown parameter"):
        report.check_parameters(nb, {"window": 3})
    with pytest.raises(InputError, match="must be int"):
        report.check_parameters(nb, {"n": "3"})
    assert report.check_parameters(nb, {"data_dir": "x", "n": 2}) == {"data_dir": "x", "n": 2}


def test_cli_params_are_typed_by_the_notebook_not_guessed(tmp_path):
    nb = tiny_notebook(tmp_path, "01", "pass", PARAMS)
    assert report.parse_param("n=0123", [nb]) == ("n", 123)
    assert report.parse_param("data_dir=0123", [nb]) == ("data_dir", "0123")
    for bad in ("n=abc", "n=1.5", "=3", "nope=1", "a b=1"):
        with pytest.raises(InputError):
            report.parse_param(bad, [nb])


def test_bad_param_on_the_command_line_exits_2(tmp_path):
    proc = run_cli("run", "--sample", "--out", tmp_path / "r", "-p", "n_worlds=many", cwd=tmp_path)
    assert proc.returncode == 2 and "n_worlds" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_every_page_on_a_small_world_writes_its_files(small_world):
    """Each notebook runs under papermill on small synthetic data and writes what it promises (the
    session's small world, 8 portfolios × 10 periods × 20 clients)."""
    from _jobs import SMALL_PARAMS, SMALL_WORLD

    assert SMALL_WORLD["portfolios"] == 8 and SMALL_PARAMS["n_worlds"] == 1
    assert small_world["failed"] == []
    out = small_world["out"]
    for tables in PROMISED.values():
        for t in tables:
            assert (out / "tables" / f"{t}.csv").is_file(), t
    hyp = pd.read_csv(out / "tables" / "hypotheses.csv")
    assert hyp["n_portfolios"].eq(8).all() and hyp["verdict"].notna().all()
    runs_table = pd.read_csv(out / "tables" / "method_check_runs.csv", keep_default_na=False)
    assert set(runs_table["kind"]) == {"null", "planted", "min_effect"}
    for page in PAGES:
        text = (out / "pages" / f"{page}.html").read_text(encoding="utf-8")
        # an exception shows as "SomeError: message" (the prose may say "Errors stop a run")
        assert "Traceback" not in text and not re.search(r"\w+Error: ", re.sub(r"<[^>]+>", "", text)), page


PROMISED = {"01_data_quality": ["coverage"], "02_client_categories": ["client_categories", "article_claims",
                                                                      "category_changes", "sensitivity"],
            "03_growth_links": ["portfolio_panel", "codebook", "hypotheses", "exploratory", "robustness", "plan",
                                "client_links"],
            "04_case_study": ["growth_by_kind", "growth_shares"],
            "05_method_check": ["method_check", "method_check_runs"]}
#: Tables of the data-quality page: they describe the export itself (its notes differ below).
EXPORT_TABLES = {"data_counts", "data_problems", "coverage"}
#: Columns in the report's language: none (tables hold both languages, ``*_en`` and ``*_ru``, or
#: text in one fixed language the page translates, as ``method_check``'s ``*_text``).
IN_REPORT_LANGUAGE: dict[str, str] = {}


def _table(folder, name):
    frame = pd.read_csv(folder / "tables" / f"{name}.csv", dtype=str, keep_default_na=False)
    suffix = IN_REPORT_LANGUAGE.get(name)
    return frame[[c for c in frame.columns if not (suffix and c.endswith(suffix))]]


def _same_tables(a, b, skip=frozenset(), rtol=0.0) -> list[str]:
    """Names of the CSV tables compared between report folders ``a`` and ``b``: byte for byte
    (``rtol`` 0; a table with columns in the report's language, without them), else numbers to a
    relative ``rtol`` and every other cell exactly."""
    names = sorted({f.stem for f in (a / "tables").glob("*.csv")} - set(skip))
    assert names == sorted({f.stem for f in (b / "tables").glob("*.csv")} - set(skip))
    for name in names:
        if not rtol and name not in IN_REPORT_LANGUAGE:
            assert (a / "tables" / f"{name}.csv").read_bytes() == (b / "tables" / f"{name}.csv").read_bytes(), name
            continue
        x, y = _table(a, name), _table(b, name)
        assert list(x.columns) == list(y.columns) and x.shape == y.shape, name
        for col in x.columns:
            u, v = pd.to_numeric(x[col], errors="coerce"), pd.to_numeric(y[col], errors="coerce")
            numbers = u.notna() & v.notna()
            assert (x[col][~numbers] == y[col][~numbers]).all(), (name, col)
            assert (abs(u[numbers] - v[numbers]) <= rtol * abs(u[numbers])).all(), (name, col)
    return names


@pytest.mark.slow
def test_the_same_inputs_and_seed_give_the_same_tables(partial_report, ru_partial_report, sample_report,
                                                       ru_report):
    """Same inputs and seed → identical tables, in two renders (separate processes, each with its
    own pool of kernels) that the session makes anyway — the check that used to render a small world
    twice:

    - the partial-kinds export in English and in Russian (not anonymised): every table of pages
      2–5 byte for byte (its data-quality tables describe the Russian copy's extra title line, total
      row and client without orders, and are left out; ``method_check``'s ``*_text`` columns are
      English in every report since session 6 — the page translates them — so it is compared byte
      for byte too);
    - the whole sample in English and in Russian with pseudonyms, so the kinds the partial export
      cannot compute (key by profit, demanding, understanding) are covered too: every table without
      client ids, names or example clients, numbers to a relative 1e-9 and the rest exactly. Not
      byte for byte: pseudonyms sort the clients in another order, so sums over clients differ in
      the last bits (measured: at most 1.2e-11 relative, in exploratory.csv).

    The language and the pseudonyms must not reach a table either (tables are language-neutral)."""
    compared = _same_tables(partial_report, ru_partial_report, skip=EXPORT_TABLES)
    promised = {t for page, tables in PROMISED.items() if page != "01_data_quality" for t in tables}
    assert promised <= set(compared), promised - set(compared)
    with_clients = {f.stem for f in (sample_report / "tables").glob("*.csv")
                    if {"client_id", "name", "client_name"} & set(pd.read_csv(f, nrows=0).columns)}
    compared = _same_tables(sample_report, ru_report, skip=with_clients | {"reasons"}, rtol=1e-9)
    assert {"coverage", "portfolio_panel", "hypotheses", "exploratory", "robustness", "plan", "client_links",
            "growth_by_kind", "method_check_runs"} <= set(compared), compared


def test_strip_plots_are_drawn_the_same_every_time():
    """seaborn jitters strip plots with numpy's global generator: the figure seeds it locally (and
    gives the caller's state back), so the same runs draw the same PNG."""
    import io

    import numpy as np

    from analysis.report import figures

    runs = pd.DataFrame({"id": ["H1", "H2"] * 6, "std_effect": np.linspace(-1, 1, 12),
                         "kind": ["null"] * 6 + ["planted"] * 6, "planted": [0.0] * 6 + [0.3] * 6})

    def png() -> bytes:
        np.random.seed(None)  # whatever the global state, the drawing is the same
        buf = io.BytesIO()
        figures.method_check(runs).savefig(buf, format="png", metadata={"Software": None})
        return buf.getvalue()

    np.random.seed(7)
    before = np.random.get_state()[1].copy()
    first = png()
    assert first == png()
    np.random.seed(7)
    figures.method_check(runs)
    assert (np.random.get_state()[1] == before).all()


def test_method_check_table_texts_are_english_and_the_page_translates_them():
    """``method_check.csv``'s ``*_text`` columns are data: English whatever the report's language
    (docs/data.md); :func:`method_check.rate_texts` writes them in the page's language from the
    counts beside them."""
    from analysis.report import method_check

    runs = pd.DataFrame({"id": "H1", "category": "image", "outcome": "revenue_growth", "lag": 1,
                         "kind": ["null"] * 16, "rejected": [True] * 3 + [False] * 13,
                         "p_unc": [0.01] * 3 + [0.5] * 13, "planted": 0.0, "std_effect": 0.0,
                         "verdict": "inconclusive", "mde": 0.3, "latent_corr": 0.5, "latent_slope": 0.5,
                         "world": range(16)})
    runs.attrs["alpha"] = 0.05
    table = method_check.summary(runs)
    assert table.loc[0, "size_text"] == "3/16 (0.19, 95 % CI 0.04–0.46)"
    shown = method_check.rate_texts(table, "ru")
    assert shown.loc[0, "size_text"] == "3/16 (0,19, 95 % ДИ 0,04–0,46)"
    assert shown.loc[0, "power_planted_text"] == "0/0" and table.loc[0, "size_text"].endswith("0.46)")
    pd.testing.assert_frame_equal(method_check.rate_texts(table, "en"), table)
