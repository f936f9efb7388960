"""What the pages say: computed findings only, kinds that are not computable named once, reasons
for "not testable", fragility and MDE on the index, no warnings or paths on pages without code,
lists that say what they leave out, the command line's help and version."""

from __future__ import annotations

import re

import nbformat
import pandas as pd
import pytest

from analysis import i18n
from analysis.report import runner as report
from conftest import SAMPLE, run_cli

CANNED = ("margin near zero", "exactly what the article describes", "far more \"key\" clients",
          "sit on the right")


def _pages(root):
    return [root / "index.html", *sorted(root.glob("pages/*.html"))]


def _text(path) -> str:
    page = path.read_text(encoding="utf-8")
    page = re.sub(r"<style>.*?</style>|<img[^>]*>", "", page, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


@pytest.mark.slow
def test_partial_kinds_are_named_once_and_left_out(partial_report):
    hyp = pd.read_csv(partial_report / "tables" / "hypotheses.csv", keep_default_na=False)
    gone = {"key_profit", "demanding", "understanding"}
    untested = hyp[hyp["category"].isin(gone)]
    assert len(untested) and set(untested["verdict"]) == {"not_testable"}
    assert set(untested["reason_code"]) == {"kind_not_computable"}
    assert set(hyp.loc[~hyp["category"].isin(gone), "reason_code"]) == {""}
    for name in ("02_client_categories", "03_growth_links", "04_case_study"):
        text = _text(partial_report / "pages" / f"{name}.html")
        assert text.count("Not computable from these data") == 1, name
        assert "key by profit (the data lack a cost or gross profit column" in text, name
        assert "client events: claim" in text, name
        # the sentences about those kinds are replaced by that one line
        assert "cannot be identified" not in text, name
    case = _text(partial_report / "pages" / "04_case_study.html")
    assert "cannot be identified" not in case and "key clients by profit" not in case
    # the kinds map says where the kinds that exist actually sit, computed from its data
    assert re.search(r"key by revenue \(\d[\d,]* clients\) at \d+", case)
    index = (partial_report / "index.html").read_text(encoding="utf-8")
    assert "key clients by profit cannot be identified in these data" in index


@pytest.mark.slow
@pytest.mark.parametrize("which", ["sample_report", "partial_report", "ru_partial_report"])
def test_no_canned_claim_warning_traceback_or_path(which, request):
    root = request.getfixturevalue(which)
    for page in _pages(root):
        text = _text(page)
        for claim in CANNED:
            assert claim not in text, (page.name, claim)
        assert not re.search(r"\b\w*Warning\b|Traceback|site-packages", text), page.name
        assert str(root.parent) not in text and str(SAMPLE) not in text and "/tmp/" not in text, page.name


@pytest.mark.slow
def test_index_marks_fragile_verdicts_and_shows_their_mde(sample_report):
    index = (sample_report / "index.html").read_text(encoding="utf-8")
    rob = pd.read_csv(sample_report / "tables" / "robustness.csv")
    flipped = set(rob.loc[rob["flipped"].astype(bool), "id"])
    hyp = pd.read_csv(sample_report / "tables" / "hypotheses.csv")
    rows = {r.split("</td>")[0].rsplit(">", 1)[-1]: r for r in index.split("<tr>")[2:]}
    for rec in hyp.itertuples():
        row = rows[rec.id]
        assert ('class="fragile"' in row) == (rec.id in flipped), rec.id
        assert f'<td class="mde">{i18n.cell("mde", rec.mde, "en")}</td>' in row
    if flipped:
        assert 'href="pages/03_growth_links.html#robustness-table"' in index
        assert 'id="robustness-table"' in (sample_report / "pages" / "03_growth_links.html").read_text(encoding="utf-8")
    assert "<th class=\"sentence_en\">what it says</th>" in index


@pytest.mark.slow
def test_anonymised_index_shows_no_local_path(ru_report):
    index = (ru_report / "index.html").read_text(encoding="utf-8")
    assert "&lt;данные&gt;" in index and str(SAMPLE) not in index and "/tmp/" not in index


@pytest.mark.slow
def test_changes_list_says_what_it_leaves_out(sample_report):
    changes = pd.read_csv(sample_report / "tables" / "category_changes.csv")
    last = changes[changes["period"] == changes["period"].max()]
    text = _text(sample_report / "pages" / "02_client_categories.html")
    total = i18n.integer(len(last), "en")
    assert f"Top 20 of {total} changes of the last period, by revenue at stake" in text
    assert "tables/category_changes.csv" in text
    assert set(last["change"]) == {"entered", "left"}
    # one row per kind in the counts table: no kind is listed twice in it
    page = (sample_report / "pages" / "02_client_categories.html").read_text(encoding="utf-8")
    counts = page.split("How many clients each kind holds")[1].split("</table>")[0]
    for kind in ("Key by revenue", "Image clients"):
        assert counts.count(f">{kind}<") == 1


def test_warnings_and_tracebacks_stay_off_pages_without_code(tmp_path):
    """A real pandas/numpy warning and an error whose message holds a local path: the page
    without code shows neither warning nor traceback nor path; the run's log keeps them."""
    import papermill

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import numpy as np, pandas as pd\nnp.mean(np.array([]))\n"
                                          "pd.Series([1.0, None]).mean()"),
                nbformat.v4.new_code_cell(f"open('{tmp_path}/secret/missing.csv')")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    src, executed = tmp_path / "n.ipynb", tmp_path / "executed" / "n.ipynb"
    executed.parent.mkdir()
    nbformat.write(nb, src)
    with pytest.raises(papermill.PapermillExecutionError):
        papermill.execute_notebook(str(src), str(executed), kernel_name="python3", progress_bar=False)
    out = tmp_path / "pages" / "n.html"
    report.render_html(executed, out, with_code=False, synthetic=False, title="t")
    text = _text(out)
    assert "RuntimeWarning" not in text and "Traceback" not in text and str(tmp_path) not in text
    assert "FileNotFoundError" in text and "missing.csv" in text  # the one-line message stays
    log = executed.with_suffix(".log").read_text(encoding="utf-8")
    assert "RuntimeWarning" in log and str(tmp_path) in log


def test_help_shows_flags_without_bool_and_version_prints():
    for args in (("--help",), ("run", "--help"), ("classify", "--help"), ("init-config", "--help")):
        proc = run_cli(*args, env={"COLUMNS": "120"})
        assert proc.returncode == 0 and "<bool>" not in proc.stdout, args
    proc = run_cli("--version")
    from importlib.metadata import version

    assert proc.returncode == 0 and proc.stdout.strip() == f"keyclients {version('keyclients')}"


#: ASCII words a Russian page may show: ids and codes, file names, units, software and method
#: names that are not translated in Russian texts either.
RU_ALLOWED = re.compile(
    r"^(H\d+|P\d+|C?[0-9A-F]{8,}|\d{4}(Q\d|-\d\d)?|[A-Za-z]|ru|en|utf|csv|xlsx|json|parquet|CSV|ABC|XYZ|R|SE|2m|"
    r"DuckDB|Spark|statsmodels|linearmodels|scipy|plm|sandwich|lmtest|reghdfe|Stata|fixest|manifest|tables|"
    r"article_claims|category_changes|client_categories|reasons|codebook|coverage|data_problems|exploratory|hypotheses|"
    r"method_check|method_check_runs|portfolio_panel|robustness|sensitivity|clients|transactions|events|kpis|"
    r"method_check_design|method_check_familywise|growth_by_kind|growth_shares|client_links|data_counts|plan|"
    # the command line, SE and unit codes, column and parameter ids the pages quote as ids
    r"keyclients|validate|CV3|CR1|CR2|SD|C\d|portfolio|account_manager|company|level|client|min_effect|attenuation_worlds|"
    # the planner's method codes (plan.csv's mde_method), the project's methods file, the data's date column
    r"cv3_design|independent_rows|docs|methods|md|date)$")


def _english_words(root, allowed: set[str] = frozenset()) -> dict[str, set[str]]:
    """Per page of ``root``: the ASCII words neither RU_ALLOWED nor ``allowed`` lets through."""
    import html as _html

    found = {}
    for page in _pages(root):
        text = _html.unescape(_text(page))
        for word in re.findall(r"[A-Za-z0-9_]*[A-Za-z][A-Za-z0-9_]*", text):
            if not RU_ALLOWED.match(word) and word not in allowed:
                found.setdefault(page.name, set()).add(word)
    return found


@pytest.mark.slow
def test_russian_pages_have_no_english_words(ru_report):
    assert _english_words(ru_report) == {}


@pytest.mark.slow
def test_russian_pages_of_a_named_report_with_ingest_notes_have_no_english_words(ru_partial_report):
    """Not anonymised, on an export whose notes and warnings fire: the data-quality page explains
    the title line, the total row and the client without orders in Russian, and no page keeps an
    English word but the data's own client names."""
    data = ru_partial_report.parent / "data"
    clients = pd.read_csv(data / "clients.csv", dtype=str)
    # the data's own words (client names, ids, column names) and the report's table and column ids
    names = {w for text in [*clients["name"], *clients["client_id"]] for w in re.findall(r"[A-Za-z0-9_]+", text)}
    names |= {c for f in data.glob("*.csv") for c in pd.read_csv(f, nrows=0, skiprows=int(f.name == "transactions.csv"))}
    tables = ru_partial_report / "tables"
    names |= {f.stem for f in tables.iterdir()} | {c for f in tables.glob("*.csv") for c in pd.read_csv(f, nrows=0)}
    hyp = pd.read_csv(tables / "hypotheses.csv", dtype=str)
    links = pd.read_csv(tables / "client_links.csv", dtype=str)
    names |= {o for o in [*hyp["outcome"], *links["outcome"]] if isinstance(o, str)}
    names |= {f"{o}_h{lag}" for o, lag in zip([*hyp["outcome"], *links["outcome"]], [*hyp["lag"], *links["lag"]])}
    names |= {data.name, "level", "client", "company"}  # the data folder; `level: client` and the one-company unit (ids)
    names |= {"keyclients", "validate", "SD", "CV3", "CR1", "CR2", "C1", "C2", "C3", "C4"}  # the CLI; units, method codes
    dq_page = _text(ru_partial_report / "pages" / "01_data_quality.html")
    n_clients = f"{len(clients):,}".replace(",", " ")  # the sample's clients and the one without orders
    for said in ("пропущено строк над заголовком: 1", "пропущено итоговых строк: 1",
                 f"клиенты без единой строки заказа: 1 из {n_clients}", "по файлу"):
        assert said in dq_page.replace("\u202f", " ")
    assert _english_words(ru_partial_report, names) == {}


def _membership() -> pd.DataFrame:
    rows = []
    for cid, rev_member in (("A", True), ("B", False), ("C", True)):
        for period in ("2025Q3", "2025Q4"):
            rows.append({"client_id": cid, "portfolio": "P1", "period": period, "category": "key_revenue",
                         "member": rev_member if period == "2025Q4" else not rev_member, "status": "ok", "score": 1.0,
                         "reason_code": 1})
            rows.append({"client_id": cid, "portfolio": "P1", "period": period, "category": "demanding",
                         "member": None, "status": "not_computable", "score": None, "reason_code": 2})
    out = pd.DataFrame(rows)
    out.attrs["reasons"] = {"reason_code": [1, 2], "text_en": [
        "revenue={value:revenue} >= 0",
        "not computable: the data lack claims_per_100_orders_history (from events (claim)); "
        "trial_rate_history (from events (trial))"]}
    return out


def test_kinds_that_are_not_computable_are_named_once_with_what_is_missing():
    from analysis.report import narrative

    m = _membership()
    k = narrative.kind_table(m)
    assert k[["category", "status", "decided", "members"]].to_dict("records") == [
        {"category": "key_revenue", "status": "ok", "decided": 6, "members": 3},
        {"category": "demanding", "status": "not_computable", "decided": 0, "members": 0}]

    assert narrative.computable(m) == ["key_revenue"]
    en, ru = narrative.missing_kinds_line(m, "en"), narrative.missing_kinds_line(m, "ru")
    assert en == ("Not computable from these data, and left out below: demanding clients "
                  "(the data lack client events: claim, trial).")
    assert "требовательные (в данных нет событий клиентов: рекламации, пробные заказы)" in ru
    assert narrative.missing_kinds_line(m[m["category"] == "key_revenue"], "en") == ""


def test_changes_are_sorted_by_revenue_at_stake_and_counted():
    from analysis.report import narrative

    changes = pd.DataFrame({"client_id": ["A", "B", "C", "D"], "portfolio": "P1",
                            "period": ["2025Q4", "2025Q4", "2025Q4", "2025Q3"], "previous_period": "x",
                            "category": ["image", "key_revenue", "image", "image"],
                            "change": ["entered", "left", "left", "entered"], "score": 1.0, "reason_code": [1, 1, 0, 1]})
    changes.attrs["reasons"] = {"reason_code": [0, 1], "text_en": ["gone", "revenue={value:revenue} >= 3"]}
    features = pd.DataFrame({"client_id": ["A", "B", "C", "D"], "period": "2025Q4", "revenue": [5.0, 50.0, 20.0, 1.0]})
    top, total = narrative.changes_to_act_on(changes, features, top=2)
    assert list(top["client_id"]) == ["B", "C"] and total == 3
    assert list(top["reason"]) == ["revenue=50 >= 3", "gone"]  # the shown rows' reasons, values filled in
    assert narrative.changes_caption(2, 3, "en") == ("Top 2 of 3 changes of the last period, by revenue at stake — "
                                                    "the full list is in tables/category_changes.csv.")
    counts = narrative.change_counts(changes, _membership().assign(category="image"))
    assert counts.to_dict("records") == [{"category": "image", "entered": 1, "left": 1}]


def test_index_verdict_table_marks_fragile_verdicts(tmp_path):
    pd.DataFrame({"id": ["H1", "H2"], "category": ["image", "demanding"], "outcome": ["new_clients", "claims_rate"],
                  "lag": [1, 1], "std_effect": [0.27, float("nan")], "ci_low": [0.09, float("nan")],
                  "ci_high": [0.46, float("nan")], "p_adj": [0.04, float("nan")], "mde": [0.34, float("nan")],
                  "verdict": ["supported", "not_testable"], "sentence_en": ["s1", "Not testable: why."],
                  "sentence_ru": ["с1", "Проверить нельзя: почему."]}).to_csv(tmp_path / "hypotheses.csv", index=False)
    pd.DataFrame({"id": ["H1", "H1", "H2"], "variant": ["baseline", "count_share", "count_share"],
                  "flipped": [False, True, False]}).to_csv(tmp_path / "robustness.csv", index=False)
    table = report._verdict_table(tmp_path / "hypotheses.csv", lang="en")
    h1, h2 = table.split("</table>")[0].split("<tr>")[2:]
    assert '<a class="fragile" href="pages/03_growth_links.html#robustness-table" title="count shares">fragile</a>' in h1
    assert "fragile" not in h2 and "Not testable: why." in h2 and '<td class="mde">0.34</td>' in h1
    ru = report._verdict_table(tmp_path / "hypotheses.csv", lang="ru", folder="research")
    assert 'href="research/03_growth_links.html#robustness-table"' in ru and "неустойчив" in ru and "МОЭ" in ru


def test_russian_reasons_notes_and_numbers():
    assert i18n.reason("revenue=8,761,837 >= 5,765,104 (pooled Pareto top 80%)", "ru") == \
        "выручка: 8\u202f761\u202f837 >= 5\u202f765\u202f104 (верхние 80 % по Парето по всем портфелям)"
    assert i18n.reason("org_type=startup; client_age=3 <= 6; margin=-0.02 < 0.08", "ru") == \
        "тип организации: стартап; возраст клиента: 3 <= 6; маржа: \u22120,02 < 0,08"
    assert i18n.reason("not met (needs at least 2 of 4); held: is_reference=true", "ru") == \
        "не выполнено (нужно не меньше 2 из 4); выполнено: референс-клиент: да"
    assert i18n.reason("x=1", "en") == "x=1"
    assert i18n.note("1,899 lines read (encoding='utf-8', delimiter=',', header_row=1)", "ru") == \
        "прочитано строк: 1\u202f899 (кодировка utf-8, разделитель «,», строка заголовка 1)"
    assert i18n.cell("false_positive_rate", 0.0, "en") == "0 %" and i18n.cell("share", 0.214, "ru") == "21 %"
    assert i18n.cell("change_vs_default", -0.26, "ru") == "\u221226 %" and i18n.cell("change_vs_default", 0.35) == "+35 %"
    assert i18n.cell("revenue", 17631586.36) == "17,631,586" and i18n.number(-0.004) == "0.00"


def test_every_ingest_text_reads_in_russian_and_stays_as_it_is_in_english():
    """Each dq.* template, filled with values as ingest writes them, comes back unchanged in English
    and as its Russian entry in Russian; an unknown text stays as it is."""
    values = {"n": "1,234", "total": "24,765", "share": "0.1%", "rev": "2.5%", "lines": "5, 9", "what": "id only",
              "side": "last", "kept": "left out of the panel"}
    special = {"dq.eg", "dq.what_id_name", "dq.what_id_only", "dq.side_first", "dq.side_last", "dq.kept_keep",
               "dq.kept_few", "dq.left_out", "dq.line_word", "dq.line_word_many", "dq.row_word", "dq.row_word_many"}
    keys = [k for k in i18n.messages() if k.startswith("dq.") and k not in special]
    assert len(keys) >= 40
    for key in keys:
        names = re.findall(r"\{([a-z_0-9]+)\}", i18n.messages()[key]["en"])
        filled = {n: values.get(n, "X7") for n in names}
        en = re.sub(r"\{([a-z_0-9]+)\}", lambda m: filled[m.group(1)], i18n.messages()[key]["en"].replace("{*}", "line"))
        assert i18n.dq(en, "en") == en and i18n.cell("fix", en, "en") == en
        ru = i18n.dq(en, "ru")
        assert ru != en and not re.search(r"\b(the|of|and|or|is|are|in|lines?|rows?|kept)\b", ru.replace("`", "")), (key, ru)
    assert i18n.dq("date in the future (e.g. 2031-01-01)", "ru") == "дата в будущем (напр. 2031-01-01)"
    assert i18n.dq("something else entirely", "ru") == "something else entirely"


def test_the_data_quality_panel_of_a_base_with_errors_says_so():
    # a checked base with errors holds no tables (base None): the page's panel step names the
    # problems instead of failing inside the aggregation (an AttributeError on None before)
    from analysis.errors import InputError
    from analysis.ingest import ValidationReport
    from analysis.report import quality

    problems = pd.DataFrame([{"severity": "error", "file": "clients.csv", "column": "client_id",
                              "check": "missing", "count": 1, "lines": "2", "line_word": "line",
                              "fix": "fill it in"}])
    checked = ValidationReport(problems=problems, base=None, notes=[], source="exports")
    with pytest.raises(InputError, match=r"exports: 1 error\(s\) in the input"):
        quality.panel(checked)


def test_a_saved_figure_is_drawn_once_and_shown_as_its_file_at_the_notebooks_size(tmp_path, monkeypatch):
    """narrative.figure shows the PNG it wrote to figures/ (one rendering, not a second one for the
    page), at the width the notebook would draw the figure; without a figures folder, the figure."""
    import IPython.display
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from analysis.report import narrative

    shown: list = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    fig, ax = plt.subplots(figsize=(4, 3), dpi=100)
    ax.plot([0, 1], [1, 0])
    narrative.figure(fig, "line", tmp_path)
    png = (tmp_path / "line.png").read_bytes()
    (image,) = shown
    assert isinstance(image, IPython.display.Image) and image.data == png
    assert image.width == round(int.from_bytes(png[16:20], "big") * 100 / report.FIGURE_DPI)
    fig2, _ = plt.subplots()
    narrative.figure(fig2, "", None)
    assert shown[1] is fig2 and list(tmp_path.iterdir()) == [tmp_path / "line.png"]
