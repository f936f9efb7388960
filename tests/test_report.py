"""The report: renders offline, survives a failing notebook, never leaves a half-written run."""

from __future__ import annotations

import json
import re

import nbformat
import pytest

from analysis import report
from analysis.config import SAMPLE_DIR
from analysis.errors import InputError

pytestmark = pytest.mark.slow


def test_sample_report_has_every_part(sample_report):
    assert (sample_report / "index.html").is_file()
    pages = sorted(p.name for p in (sample_report / "pages").glob("*.html"))
    assert pages and pages == sorted(p.name for p in (sample_report / "research").glob("*.html"))
    assert (sample_report / "executed").glob("*.ipynb")
    manifest = json.loads((sample_report / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["failed"] == [] and "transactions.csv" in manifest["inputs"]
    assert manifest["versions"]["pandas"]
    assert list((sample_report / "figures").glob("*.png"))


def test_report_pages_are_offline_and_code_free(sample_report):
    for page in [sample_report / "index.html", *sample_report.glob("pages/*.html"), *sample_report.glob("research/*.html")]:
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"<script[^>]+src=", text), page
        assert not re.search(r"<link[^>]+href=\"https?:", text), page
        assert not re.search(r"(src|href)=\"(https?:)?//", text), page
        assert "Synthetic data" in text and "Бокарева" in text
    presentation = next(sample_report.glob("pages/*.html")).read_text(encoding="utf-8")
    research = next(sample_report.glob("research/*.html")).read_text(encoding="utf-8")
    assert "client_period_panel" not in presentation and "client_period_panel" in research
    assert "injected-parameters" not in research and "Parameters" not in research


def _notebook(path, source):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell('data_dir: str = ""  # data', metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(source)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def test_failing_notebook_is_rendered_marked_and_others_go_on(tmp_path):
    good = _notebook(tmp_path / "01_good.ipynb", "print('fine <b>&')")
    bad = _notebook(tmp_path / "02_bad.ipynb", "raise ValueError('broken on purpose')")
    result = report.run_report(data_dir=SAMPLE_DIR, out_dir=tmp_path / "out", notebooks=[good, bad], jobs=2,
                               log=lambda m: None)
    assert result.failed == ["02_bad"]
    index = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert "failed" in index and "broken on purpose" in index
    assert "fine &lt;b&gt;&amp;" in (tmp_path / "out" / "pages" / "01_good.html").read_text(encoding="utf-8")
    assert "broken on purpose" in (tmp_path / "out" / "pages" / "02_bad.html").read_text(encoding="utf-8")


def test_interrupted_run_keeps_the_previous_report(tmp_path, monkeypatch):
    good = _notebook(tmp_path / "01_good.ipynb", "print('first run')")
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


def test_parameter_names_are_checked(tmp_path):
    nb = _notebook(tmp_path / "01.ipynb", "pass")
    with pytest.raises(InputError, match="identifier"):
        report.check_parameters(nb, {"x; import os": 1})
    with pytest.raises(InputError, match="unknown parameter"):
        report.check_parameters(nb, {"window": 3})
    assert report.check_parameters(nb, {"data_dir": "x"}) == {"data_dir": "x"}
