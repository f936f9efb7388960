"""A real browser over every page of the sample and the partial-kinds reports, in both languages
and both audiences.

Playwright drives Debian's chromium headless and offline: every page must load with zero console
errors, zero failed requests and zero dialogs, and every local link must lead to a file of the
report. Full-page screenshots are kept under ``reports/screenshots/<lang>/`` (ignored by git) for a
person to look at. Under ``CI=true`` a missing chromium or playwright fails the check; elsewhere
it is skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from conftest import ROOT

CHROMIUM = Path(os.environ.get("KEYCLIENTS_CHROMIUM", "/usr/lib/chromium/chromium"))
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
SHOTS = ROOT / "reports" / "screenshots"


def _missing() -> str:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (pip install playwright)"
    if not CHROMIUM.is_file():
        return f"no chromium at {CHROMIUM} (apt-get install chromium)"
    return ""


@pytest.fixture(scope="module")
def browser():
    reason = _missing()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser check under CI=true: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield b
        b.close()


def _check_report(browser, root: Path, lang: str, *, only_index: bool = False) -> list[str]:
    """Open every page of ``root``; return the problems found (empty: clean)."""
    shots = SHOTS / lang
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    current = {"page": ""}
    page.on("console", lambda m: problems.append(f"{current['page']}: console {m.type}: {m.text}")
            if m.type in ("error", "assert") else None)
    page.on("pageerror", lambda e: problems.append(f"{current['page']}: page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"{current['page']}: request failed: {r.url} {r.failure}"))
    page.on("dialog", lambda d: (problems.append(f"{current['page']}: dialog: {d.message}"), d.dismiss()))
    pages = [root / "index.html", *sorted(root.glob("pages/*.html")), *sorted(root.glob("research/*.html"))]
    assert len(pages) == 11, pages
    pages = pages[:1] if only_index else pages
    for path in pages:
        rel = path.relative_to(root).as_posix()
        current["page"] = f"{lang}/{rel}"
        response = page.goto(path.as_uri(), wait_until="load")
        assert response is None or response.ok, rel
        page.screenshot(path=str(shots / (rel.replace("/", "__").removesuffix(".html") + ".png")), full_page=True)
        if page.evaluate("document.documentElement.lang") != lang.split("-")[0]:
            problems.append(f"{rel}: <html lang> is not {lang}")
        if not page.evaluate("document.querySelector('h1') !== null"):
            problems.append(f"{rel}: no heading")
        broken = page.evaluate("[...document.images].filter(i => !i.complete || i.naturalWidth === 0).length")
        if broken:
            problems.append(f"{rel}: {broken} image(s) did not render")
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        if overflow > 4:
            problems.append(f"{rel}: the page scrolls sideways by {overflow}px")
        for href in page.evaluate("[...document.querySelectorAll('a[href]')].map(a => a.href)"):
            url = urlparse(href)
            if url.scheme == "file" and not Path(unquote(url.path)).exists():
                problems.append(f"{rel}: link to a missing file {href}")
            elif url.scheme not in ("file", ""):
                problems.append(f"{rel}: link leaves the report: {href}")
    context.close()
    return problems


@pytest.mark.slow
def test_english_report_in_a_real_browser(browser, sample_report):
    assert _check_report(browser, sample_report, "en") == []


@pytest.mark.slow
def test_russian_report_in_a_real_browser(browser, ru_report):
    assert _check_report(browser, ru_report, "ru") == []
    assert len(list((SHOTS / "ru").glob("*.png"))) == 11


@pytest.mark.slow
@pytest.mark.parametrize("which, lang", [("partial_report", "en"), ("ru_partial_report", "ru")])
def test_partial_kinds_report_in_a_real_browser(browser, request, which, lang):
    """The report where only some kinds are computable (no cost column, no events file), every
    page, in both languages (the Russian one also carries ingest notes and a warning)."""
    root = request.getfixturevalue(which)
    assert _check_report(browser, root, f"{lang}-partial") == []


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "ru"])
def test_research_audience_index_in_a_real_browser(browser, sample_report, ru_report, tmp_path, lang):
    """``--audience research`` changes only the index (pages/ and research/ are in every run):
    rebuild it on a copy and check it the same way."""
    from analysis.report import runner as report

    root = shutil.copytree(sample_report if lang == "en" else ru_report, tmp_path / "r")
    books = report.list_notebooks()
    report._write_index(root, books, {}, synthetic=True, parameters={"lang": lang}, audience="research", lang=lang,
                        banner=report.notices(lang=lang, synthetic=True))
    index = (root / "index.html").read_text(encoding="utf-8")
    assert 'href="research/03_growth_links.html"' in index
    assert _check_report(browser, root, f"{lang}-research", only_index=True) == []


@pytest.mark.slow
@pytest.mark.parametrize("name", ["02_client_categories", "05_method_check"])
def test_printed_pages_show_every_column_header(browser, sample_report, tmp_path, name):
    """Printing (or saving as PDF) hides nothing behind a scrollbar: every column header of every
    table on the page is in the PDF's text."""
    import re
    import unicodedata

    from pypdf import PdfReader

    context = browser.new_context(offline=True)
    page = context.new_page()
    page.goto((sample_report / "pages" / f"{name}.html").as_uri(), wait_until="load")
    headers = page.evaluate("[...document.querySelectorAll('th')].map(t => t.innerText.trim()).filter(Boolean)")
    pdf = tmp_path / f"{name}.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True, prefer_css_page_size=True)
    context.close()
    # NFKC: the PDF's text has typographic ligatures ("ﬀ" for "ff")
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", "".join(p.extract_text() or "" for p in PdfReader(pdf).pages)))
    assert headers
    missing = [h for h in headers if re.sub(r"\s+", "", unicodedata.normalize("NFKC", h)) not in text]
    assert missing == []
