"""Publishing: Russian and English reports, pseudonyms, the synthetic banner, per-portfolio batches."""

from __future__ import annotations

import html
import json
import re
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from analysis import i18n
from analysis.config import SAMPLE_DIR
from analysis.ingest.anonymize import ENV_KEY, anonymize_base, pseudonyms
from analysis.report import runner as report
from conftest import ANON_KEY

PAGES = ("01_data_quality", "02_client_categories", "03_growth_links", "04_case_study", "05_method_check")
CYRILLIC = re.compile(r"[А-Яа-яЁё]")


def _text(page: Path) -> str:
    """The visible text of a page: no style, no embedded images, tags stripped, entities decoded."""
    raw = page.read_text(encoding="utf-8")
    raw = re.sub(r"<style>.*?</style>", " ", raw, flags=re.S)
    raw = re.sub(r'src="data:[^"]+"', " ", raw)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", raw)))


def _pages(root: Path) -> list[Path]:
    return [root / "index.html", *sorted(root.glob("pages/*.html")), *sorted(root.glob("research/*.html"))]


# ---- the catalogue -----------------------------------------------------------------------------

def test_russian_plural_forms_follow_the_cldr_rules():
    # CLDR plural rules for Russian: one (1, 21, 101), few (2–4, 22–24), many (0, 5–20, 25, 111–114)
    expected = {1: "клиент", 21: "клиент", 101: "клиент", 2: "клиента", 4: "клиента", 22: "клиента",
                0: "клиентов", 5: "клиентов", 11: "клиентов", 12: "клиентов", 14: "клиентов", 111: "клиентов",
                25: "клиентов"}
    for n, word in expected.items():
        assert i18n.plural("n.clients", n, "ru").split()[-1] == word, n
    assert i18n.plural("n.clients", 1, "en") == "1 client" and i18n.plural("n.clients", 2, "en") == "2 clients"


def test_numbers_take_the_language_format():
    assert i18n.number(1234567.891, "ru") == "1\u202f234\u202f567,89"
    assert i18n.number(1234567.891, "en") == "1,234,567.89"
    assert i18n.number(-0.5, "ru") == "\u22120,50" and i18n.number(-0.001, "en") == "0.00" and i18n.percent(0.125, "ru", 1) == "12,5 %"
    assert i18n.integer(24839, "ru") == "24\u202f839"


def test_every_catalogue_entry_has_both_languages_with_the_same_placeholders():
    for key, entry in i18n.messages().items():
        assert set(entry) == {"en", "ru"}, key
        en, ru = entry["en"], entry["ru"]
        if isinstance(en, list):
            assert len(en) == 2 and len(ru) == 3, key
            en, ru = en[0], ru[0]
        assert set(re.findall(r"{(\w+)}", en)) == set(re.findall(r"{(\w+)}", ru)), key


def test_every_notebook_markdown_cell_is_tagged_and_paired():
    import nbformat

    for nb_path in report.list_notebooks():
        nb = nbformat.read(nb_path, as_version=4)
        tags = [c.metadata.get("tags", []) for c in nb.cells if c.cell_type == "markdown"]
        en = sum("lang-en" in t for t in tags)
        ru = sum("lang-ru" in t for t in tags)
        assert en == ru and en + ru == len(tags), nb_path.name
        params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(params) == 1 and 'lang: str = "en"' in params[0].source, nb_path.name
        assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("args, words", [(("--lang", "de"), "--lang"), (("--by", "region"), "--by"),
                                         (("--anon-key", "k"), "--anonymize")])
def test_bad_publishing_options_are_usage_errors(tmp_path, args, words):
    from conftest import run_cli

    proc = run_cli("run", "--sample", "--out", tmp_path / "r", *args, cwd=tmp_path)
    assert proc.returncode == 2 and words in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "r").exists()


# ---- Russian report ----------------------------------------------------------------------------

@pytest.mark.slow
def test_russian_report_speaks_russian(ru_report):
    for page in _pages(ru_report):
        raw = page.read_text(encoding="utf-8")
        assert '<html lang="ru">' in raw, page
        headings = re.findall(r"<h[12][^>]*>(.*?)</h[12]>", raw, flags=re.S)
        assert headings and all(CYRILLIC.search(html.unescape(re.sub(r"<[^>]+>", "", h))) for h in headings), \
            (page, headings)
        text = _text(page)
        assert "Синтетические данные" in text and "Бокаревой" in text, page
        # no sentence of the English catalogue is left (its fixed part before any placeholder)
        for key, entry in i18n.messages().items():
            en = entry["en"] if isinstance(entry["en"], str) else entry["en"][1]
            fixed = re.split(r"{\w+}", re.sub(r"<[^>]+>", "", en))[0].strip()
            if len(fixed) >= 12 and fixed != re.sub(r"<[^>]+>", "", entry["ru"] if isinstance(entry["ru"], str) else "").strip():
                assert fixed not in text, (page.name, key)
        for verdict in ("supported", "contradicted", "inconclusive", "no effect"):
            assert f">{verdict}<" not in raw, (page.name, verdict)
    growth = (ru_report / "pages" / "03_growth_links.html").read_text(encoding="utf-8")
    effects = re.findall(r'<td class="std_effect">([^<]*)</td>', growth)
    assert effects and all(re.fullmatch(r"\u2212?\d+,\d\d", e) for e in effects), effects
    assert "Выводы" in growth and "Methods" not in growth and "Verdicts" not in growth


@pytest.mark.slow
def test_russian_and_english_tables_are_the_same_language_neutral_files(ru_report, sample_report):
    a = pd.read_csv(ru_report / "tables" / "hypotheses.csv")
    b = pd.read_csv(sample_report / "tables" / "hypotheses.csv")
    pd.testing.assert_frame_equal(a, b)
    assert set(a["verdict"]) <= {"supported", "contradicted", "no_effect", "inconclusive", "not_testable"}


@pytest.mark.slow
def test_english_report_has_no_russian_markdown(sample_report):
    for name in PAGES:
        text = _text(sample_report / "pages" / f"{name}.html")
        body = text.split("Бокарева")[0]  # the credit names the author in Cyrillic
        assert not re.search(r"[А-Яа-яЁё]{4,} [А-Яа-яЁё]{4,}", body.replace("Вера Бокарева", "")), name


# ---- anonymisation -----------------------------------------------------------------------------

def _real_clients() -> tuple[set[str], set[str]]:
    clients = pd.read_csv(SAMPLE_DIR / "clients.csv", dtype=str, keep_default_na=False)
    return set(clients["client_id"]), {n for n in clients["name"] if len(n) >= 4}


def _leaks(text: str, ids: set[str], names: set[str]) -> list[str]:
    """Real ids or names found in ``text`` (words are matched first, substrings only for candidates)."""
    words = set(re.findall(r"[\w'&.-]+", text))
    found = [i for i in ids if i in words]
    for name in names:
        parts = re.findall(r"[\w'&.-]+", name)
        if parts and all(p in words for p in parts) and name in text:
            found.append(name)
    return found


@pytest.mark.slow
def test_anonymised_report_holds_no_real_client_anywhere(ru_report):
    ids, names = _real_clients()
    checked = 0
    for path in sorted(ru_report.rglob("*")):
        if not path.is_file() or path.suffix == ".png":
            continue
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as z:
                text = " ".join(z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml"))
            text = html.unescape(re.sub(r"<[^>]+>", " ", text))
        else:
            text = path.read_text(encoding="utf-8", errors="replace")
            text = re.sub(r"(data:image/png;base64,|\"image/png\": \")[A-Za-z0-9+/=\\n\"]+", " ", text)
        leaks = _leaks(text, ids, names)
        assert not leaks, (path.relative_to(ru_report), leaks[:5])
        assert ANON_KEY not in text, path
        checked += 1
    assert checked > 30
    categories = pd.read_csv(ru_report / "tables" / "client_categories.csv", dtype=str)
    assert categories["client_id"].str.fullmatch(r"C[0-9A-F]{12}").all()
    manifest = json.loads((ru_report / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["anonymized"] == "stable" and "anonymize" in manifest["parameters"]
    assert "будут" not in _text(ru_report / "index.html")  # the stable-key notice, not the random one
    assert "псевдонимами" in _text(ru_report / "index.html")


def test_pseudonyms_are_keyed_stable_and_unique():
    from analysis.ingest import load

    ids = [f"77{n:08d}" for n in range(5000)]  # ИНН-like: guessable, so the hash must be keyed
    a, b, c = pseudonyms(ids, "k1"), pseudonyms(ids, "k1"), pseudonyms(ids, "k2")
    assert a == b and a != c and len(set(a.values())) == len(ids)
    assert not set(a.values()) & set(ids)
    import hashlib

    assert "C" + hashlib.sha256(ids[0].encode()).hexdigest().upper()[:12] != a[ids[0]]
    base = load(SAMPLE_DIR)
    anon = anonymize_base(base, "k1")
    mapping = pseudonyms(base.clients["client_id"], "k1")
    assert list(anon.clients["client_id"]) == [mapping[i] for i in base.clients["client_id"]]
    assert set(anon.transactions["client_id"]) <= set(mapping.values())
    assert not set(anon.clients["name"]) & set(base.clients["name"])
    assert len(anon.transactions) == len(base.transactions)


def test_without_a_key_a_random_one_is_drawn_and_the_report_says_so(monkeypatch):
    monkeypatch.delenv(ENV_KEY, raising=False)
    key1, kind = report.resolve_anon_key(True)
    key2, _ = report.resolve_anon_key(True)
    assert kind == "random" and key1 != key2 and len(key1) >= 32
    monkeypatch.setenv(ENV_KEY, "from-env")
    assert report.resolve_anon_key(True) == ("from-env", "stable")
    assert report.resolve_anon_key(True, "given") == ("given", "stable")
    assert report.resolve_anon_key(False) == ("", "")
    for lang, phrase in (("en", "not stable across runs"), ("ru", "меняются от запуска к запуску")):
        assert phrase in report.notices(lang=lang, anonymized="random")
        assert phrase not in report.notices(lang=lang, anonymized="stable")


# ---- synthetic banner --------------------------------------------------------------------------

@pytest.mark.slow
def test_synthetic_banner_appears_exactly_when_the_data_are_synthetic(sample_report, ru_report, partial_report,
                                                                      ru_partial_report, tmp_path):
    for root in (sample_report, ru_report):
        for page in _pages(root):
            assert page.read_text(encoding="utf-8").count('<div class="banner">') == 1, page
    # the sample's files without its truth.json are real data; so are the partial-kinds reports'
    # (the sample's files, changed, without truth.json)
    data = tmp_path / "real"
    shutil.copytree(SAMPLE_DIR, data)
    (data / "truth.json").unlink()
    assert report.is_synthetic(SAMPLE_DIR) and not report.is_synthetic(data)
    for root, credit in ((partial_report, "Бокарева"), (ru_partial_report, "Бокаревой")):
        assert not report.is_synthetic(root.parent / "data")
        pages = _pages(root)
        assert len(pages) == 11
        for page in pages:
            text = page.read_text(encoding="utf-8")
            assert 'class="banner' not in text and "Synthetic data" not in text, page
            assert "Синтетические данные" not in text, page
            assert credit in text, page


# ---- per-portfolio batches ---------------------------------------------------------------------

@pytest.mark.slow
def test_batch_by_portfolio_lists_every_portfolio_and_keeps_the_pseudonyms(ru_report, portfolio_batch):
    """Two portfolios of the sample, one report each, anonymised with the key of the Russian sample
    report (the session's ``portfolio_batch``: pages 02 and 03 of P01 and P02): the index lists
    both, each runs in the one-portfolio mode, and a client has the same pseudonym in this second
    run as in the first."""
    from _jobs import BATCH_PAGES, BATCH_PORTFOLIOS
    from analysis.ingest import load
    from analysis.report.study import portfolios as all_portfolios

    assert len(all_portfolios(load(SAMPLE_DIR))) == pd.read_csv(SAMPLE_DIR / "clients.csv")["portfolio"].nunique()
    assert BATCH_PAGES == ("02_client_categories", "03_growth_links")
    lines = portfolio_batch["log"]
    chosen = BATCH_PORTFOLIOS
    assert chosen == ["P01", "P02"]
    assert portfolio_batch["failed"] == [], lines
    out = portfolio_batch["out"]
    index = (out / "index.html").read_text(encoding="utf-8")
    first = pd.read_csv(ru_report / "tables" / "client_categories.csv", dtype=str)
    for p in chosen:
        assert f'href="{p}/index.html"' in index
        assert (out / p / "pages" / "03_growth_links.html").is_file()
        hyp = pd.read_csv(out / p / "tables" / "hypotheses.csv")
        assert (hyp["mode"] == "single").all()  # one portfolio: the statistics' one-portfolio mode
        cats = pd.read_csv(out / p / "tables" / "client_categories.csv", dtype=str)
        assert set(cats["portfolio"]) == {p}
        assert set(cats["client_id"]) == set(first.loc[first["portfolio"] == p, "client_id"])  # same key, same pseudonyms
        assert "Только портфель" in _text(out / p / "pages" / "02_client_categories.html")
    assert "Выводы по портфелям" in index and "Состав по видам" in index
    assert index.count('class="verdict') == len(chosen) * len(hyp)
    # progress names portfolio/notebook (and each portfolio's study, prepared once for its pages)
    assert sum("/" in line and ": ok" in line and "00_prepare_study" not in line for line in lines) == 4
    assert sum("/00_prepare_study" in line and ": ok" in line for line in lines) == 2
    ids, names = _real_clients()
    for path in out.rglob("*.html"):
        assert not _leaks(_text(path), ids, names), path


def test_batch_lists_portfolios_from_the_clients_table_without_reading_the_order_lines(tmp_path):
    """``run --by portfolio`` lists the portfolios as the whole base would
    (``study.portfolios(load(...))``); when the clients table names every client's portfolio the
    order lines are not read (here they cannot be), else the whole base is loaded as before."""
    from analysis.ingest import load
    from analysis.report.runner import batch_portfolios
    from analysis.report.study import portfolios

    expect = portfolios(load(SAMPLE_DIR))
    assert batch_portfolios(SAMPLE_DIR) == expect and len(expect) > 2
    folder = tmp_path / "unread"
    folder.mkdir()
    shutil.copy(SAMPLE_DIR / "clients.csv", folder / "clients.csv")
    (folder / "transactions.csv").write_bytes(b"\x00 not an export \xff")
    assert batch_portfolios(folder) == expect
    # a client without a portfolio takes the one of its order lines: the whole base decides
    part = tmp_path / "partial"
    part.mkdir()
    for name in ("clients.csv", "transactions.csv"):
        shutil.copy(SAMPLE_DIR / name, part / name)
    cl = pd.read_csv(part / "clients.csv", dtype=str, keep_default_na=False)
    tx = pd.read_csv(part / "transactions.csv", dtype=str, keep_default_na=False)
    if "portfolio" not in tx:
        tx["portfolio"] = tx["client_id"].map(dict(zip(cl["client_id"], cl["portfolio"])))
    tx.loc[tx["client_id"] == cl["client_id"].iloc[0], "portfolio"] = "Z99"
    tx.to_csv(part / "transactions.csv", index=False)
    cl.loc[0, "portfolio"] = ""
    cl.to_csv(part / "clients.csv", index=False)
    assert batch_portfolios(part) == portfolios(load(part)) == sorted({*expect, "Z99"})
