"""The method check's worlds in the report runner's pool: the same rows as the page computing them
itself, a default count fixed by the data and the design, and a failure reported on the page and
the index, never a hang."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.errors import InputError
from analysis.report import method_check
from analysis.report.runner import run_report
from _notebooks import tiny_notebook

DESIGN = method_check.Design(portfolios=6, periods=9, clients=12)


def test_worlds_split_into_pool_parts_give_the_pages_own_rows(tmp_path):
    direct = method_check.check_worlds(DESIGN, 2, 3)
    method_check.save_plan(tmp_path, DESIGN, 2)
    for phase in ("null", "planted"):  # the pool finishes parts in any order within a phase
        for start in (1, 0):
            method_check.run_part(tmp_path, phase, start, 1, 3)
    design, pooled = method_check.load_worlds(tmp_path)
    assert design == DESIGN
    pd.testing.assert_frame_equal(direct, pooled, check_exact=True)
    assert set(pooled["kind"]) == {"null", "planted", "min_effect"} and pooled["world"].nunique() == 2
    # pages 3 and 4 read these null worlds' attenuation instead of simulating the same worlds again:
    # exactly what measure_attenuation gives on them (the same design and seed), at any count they hold,
    # for every hypothesis the confirmatory tests decide (the portfolio-level ones; the worlds test no other)
    decided = set(pooled["id"])
    for k in (1, 2):
        measured = method_check.attenuation_map(method_check.measure_attenuation(DESIGN, k, 3))
        read = method_check.study_attenuation(None, k, 3, worlds_dir=tmp_path)
        assert len(decided) == 7 and read == {i: a for i, a in measured.items() if i in decided}


def test_growth_pages_measure_their_attenuation_when_the_worlds_are_not_there(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(method_check, "design_from_study", lambda s: DESIGN)
    monkeypatch.setattr(method_check, "measure_attenuation",
                        lambda d, n, seed, **kw: calls.append((d, n, seed)) or pd.DataFrame(
                            {"id": ["H1"], "latent_corr": [0.5]}))
    assert method_check.study_attenuation(None, 0, 3, worlds_dir=tmp_path) is None and not calls
    frame = pd.DataFrame({"world": [0, 0], "id": ["H1", "H2"], "latent_corr": [0.25, 0.75]})
    frame.to_parquet(tmp_path / "null-0.parquet")
    assert method_check.study_attenuation(None, 1, 3, worlds_dir=tmp_path) == {"H1": 0.25, "H2": 0.75}
    # fewer worlds there than asked for, a failed run, or no folder: measured here
    for folder in (tmp_path, ""):
        assert method_check.study_attenuation(None, 2, 3, worlds_dir=folder) == {"H1": 0.5}
    (tmp_path / "error.txt").write_text("boom\n", encoding="utf-8")
    assert method_check.study_attenuation(None, 1, 3, worlds_dir=tmp_path) == {"H1": 0.5}
    assert calls == [(DESIGN, 2, 3)] * 2 + [(DESIGN, 1, 3)]


def _planned(tmp_path, **params):
    from analysis.report.runner import _plan, _Run, list_notebooks

    tasks = _plan(_Run(tmp_path, list_notebooks(), {"data_dir": "", "seed": 1, **params}), 60, {})
    return {Path(t[0]).stem: t[2] for t in tasks}


def test_the_runner_lets_the_growth_pages_read_the_method_checks_null_worlds_only_when_they_are_theirs(
        tmp_path):
    pages = _planned(tmp_path)
    worlds = pages["05_method_check"]["worlds_dir"]
    readers = [name for name, p in pages.items() if "attenuation_dir" in p]
    assert readers == ["03_growth_links", "04_case_study"]
    assert all(pages[n]["attenuation_dir"] == worlds and pages[n]["study_dir"] == pages["05_method_check"][
        "study_dir"] for n in readers)
    # worlds of other sizes than the data's, or no attenuation asked for: each page measures its own
    for params in ({"portfolios": 5}, {"clients": 8}, {"attenuation_worlds": 0}):
        pages = _planned(tmp_path, **params)
        assert [pages[n]["attenuation_dir"] for n in readers] == ["", ""], params


def test_a_page_reading_null_worlds_waits_for_the_ones_it_reads(tmp_path):
    from analysis.report.runner import _nulls_ready, _Worlds

    folder = tmp_path / "worlds"
    folder.mkdir()
    w = _Worlds(str(folder), "05.ipynb", "", {}, {}, {}, phase="plan")
    page = (str(Path(__file__).parents[1] / "notebooks" / "03_growth_links.ipynb"), "03.ipynb",
            {"attenuation_dir": str(folder), "attenuation_worlds": 2})
    worlds = {str(folder): w}
    assert not _nulls_ready(page, worlds)  # not planned yet
    w.phase, w.n = "null", 3
    (folder / "null-1.parquet").write_bytes(b"")
    assert not _nulls_ready(page, worlds)
    (folder / "null-0.parquet").write_bytes(b"")
    assert _nulls_ready(page, worlds)
    (folder / "null-0.parquet").unlink()
    w.n = 1  # fewer worlds planned than the page reads: it measures them itself, at once
    assert _nulls_ready(page, worlds)
    w.n, w.phase = 3, "done"  # finished or failed: nothing more will come
    assert _nulls_ready(page, worlds)
    assert _nulls_ready((page[0], page[1], {"attenuation_dir": ""}), {})


def test_worlds_with_their_own_warnings_still_carry_the_level(tmp_path):
    # one company's 4 managers × 8 quarters: each world's tests carry their own warnings (a kind held by
    # one unit), so the worlds' attrs differed, pd.concat of the pool's parts dropped them all, and page 5
    # failed with "these runs carry no level α"; the runs keep the level and nothing else
    design = method_check.Design(portfolios=4, periods=8, clients=75)
    method_check.save_plan(tmp_path, design, 2)
    for phase in ("null", "planted"):
        for start in (0, 1):
            method_check.run_part(tmp_path, phase, start, 1, 1)
    _, runs = method_check.load_worlds(tmp_path)
    assert runs.attrs == {"alpha": 0.05} and method_check.level(runs) == 0.05
    assert not method_check.summary(runs).empty


def test_missing_or_failed_worlds_are_an_error_that_says_why(tmp_path):
    with pytest.raises(InputError, match="not planned"):
        method_check.load_worlds(tmp_path)
    method_check.save_plan(tmp_path, DESIGN, 2)
    with pytest.raises(InputError, match="0 of the 2 null worlds"):
        method_check.load_worlds(tmp_path)
    (tmp_path / "error.txt").write_text("the worker process running them stopped\n", encoding="utf-8")
    with pytest.raises(InputError, match="did not finish: the worker process running them stopped"):
        method_check.load_worlds(tmp_path)


def test_default_world_count_is_fixed_by_the_data_and_design_and_bounded():
    small, large = method_check.Design(portfolios=10, periods=8, clients=20), method_check.Design(
        portfolios=100, periods=16, clients=250)
    assert method_check.default_worlds(small, 24_000) == method_check.default_worlds(small, 24_000)
    assert method_check.MIN_WORLDS <= method_check.default_worlds(large, 1_000) <= method_check.default_worlds(
        small, 1_000) <= method_check.MAX_WORLDS
    assert method_check.default_worlds(large, 1_000) == method_check.MIN_WORLDS  # a costly design: the floor
    # the largest count whose estimated cost stays within the share aimed at (under a third of the whole)
    assert method_check.WORLDS_SHARE <= 1 / 3
    for d in (method_check.Design(portfolios=50, periods=16, clients=30),
              method_check.Design(portfolios=80, periods=7, clients=118),
              method_check.Design(portfolios=8, periods=36, clients=98, freq="M")):
        for rows in (24_000, 200_000):
            n = method_check.default_worlds(d, rows)
            rest = method_check.report_rest_cost(rows)

            def share(k: int) -> float:
                return method_check.worlds_cost(d, k) / (method_check.worlds_cost(d, k) + rest)

            if method_check.MIN_WORLDS < n < method_check.MAX_WORLDS:
                assert share(n) <= method_check.WORLDS_SHARE < share(n + 1)


def test_world_cost_model_counts_every_kind_and_the_inference_the_worlds_use():
    """Planted and min_effect worlds are dearer than null ones (their effects are sized against
    the world's noise), larger worlds dearer than small ones, and a design tested with the wild
    cluster bootstrap dearer than with CV3; the count follows the inference the tests pick."""
    d = method_check.Design(portfolios=8, periods=36, clients=98, freq="M")
    null, planted, min_effect = (method_check.world_cost(d, k, "cv3") for k in method_check.KINDS_OF_WORLD)
    assert null < planted and null < min_effect
    assert method_check.world_cost(d, "null", "wild_cv3") > null
    bigger = method_check.Design(portfolios=8, periods=36, clients=200, freq="M")
    assert method_check.world_cost(bigger, "planted", "cv3") > planted
    assert method_check.worlds_cost(d, 2) == pytest.approx(
        method_check.WORLDS_FIXED + 2 * sum(method_check.world_cost(d, k) for k in method_check.KINDS_OF_WORLD))
    assert method_check.worlds_cost(d, 2, ("null",)) < method_check.worlds_cost(d, 2)
    from analysis.growth import fits

    resolve = getattr(fits, "resolve_inference", None)
    expect = resolve(fits.DEFAULT_INFERENCE, d.portfolios) if resolve else fits.DEFAULT_INFERENCE
    assert method_check.worlds_inference(d) == expect
    assert method_check.world_cost(d, "null") == method_check.world_cost(d, "null", expect)


def test_worlds_that_fail_in_the_pool_are_reported_on_the_page_and_index(tmp_path):
    """A plan that cannot be made (here: a folder without data) fails the method-check page
    with the reason; the page that needs no worlds is unaffected; the run ends."""
    books = tmp_path / "books"
    books.mkdir()
    params = ('data_dir: str = ""\nworlds_dir: str = ""\nn_worlds: int = 1\nportfolios: int = 0\n'
              'periods: int = 0\nclients: int = 0\nseed: int = 1')
    nbs = [tiny_notebook(books, "01_fine", "x = 1"),
           tiny_notebook(books, "05_checks", "from analysis.report import method_check\n"
                                         "design, runs = method_check.load_worlds(worlds_dir)", params)]
    (tmp_path / "empty").mkdir()
    result = run_report(data_dir=tmp_path / "empty", out_dir=tmp_path / "r", notebooks=nbs, jobs=2,
                        log=lambda m: None)
    assert result.failed == ["05_checks"]
    index = (tmp_path / "r" / "index.html").read_text(encoding="utf-8")
    assert index.count('class="failed"') == 1 and "worlds did not finish" in index
    assert not (tmp_path / "r" / ".worlds").exists()


def test_a_worker_that_dies_does_not_stop_the_pages_queued_after_it(tmp_path):
    books = tmp_path / "books"
    books.mkdir()
    nbs = [tiny_notebook(books, "01_worker_dies", "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"),
           tiny_notebook(books, "02_fine", "x = 1")]
    from analysis.config import SAMPLE_DIR

    result = run_report(data_dir=SAMPLE_DIR, out_dir=tmp_path / "r", notebooks=nbs, jobs=1, log=lambda m: None)
    assert result.failed == ["01_worker_dies"]
    assert (tmp_path / "r" / "pages" / "02_fine.html").is_file()


class _Done:
    """A finished pool future."""

    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value


def test_worlds_count_once_in_the_progress_when_a_job_fails_while_others_run(tmp_path):
    """Two world jobs run at once and the first fails: the worlds are done (failed) then, and the
    second job ending later must not count them a second time ("[3/2]")."""
    from analysis.report.runner import _Progress, _worlds_done, _Worlds

    folder = str(tmp_path / "worlds")
    w = _Worlds(folder, str(tmp_path / "05.ipynb"), "", {}, {}, {}, phase="null", n=2, left=2, running=2)
    lines: list[str] = []
    names = {folder: "05 worlds", str(tmp_path / "01.ipynb"): "01"}
    progress = _Progress(names, lines.append)
    _worlds_done(w, _Done((1.0, "ValueError: boom")), progress, names)
    _worlds_done(w, _Done((1.0, "")), progress, names)
    assert w.phase == "done" and w.error == "ValueError: boom" and w.running == 0
    assert progress.n == 1 and len(lines) == 1 and lines[0].startswith("[1/2] 05 worlds: FAILED")


@pytest.mark.parametrize("n", [-1, -5])
def test_a_negative_world_count_is_an_input_error_on_both_paths(tmp_path, n):
    """``-p n_worlds=-1``: the page computing its worlds and the runner's plan both say what to
    give (before: "No objects to concatenate" on the page, and in the pool a plan of no jobs that
    left the page "not run")."""
    with pytest.raises(InputError, match="n_worlds"):
        method_check.check_worlds(DESIGN, n, 3)
    with pytest.raises(InputError, match="n_worlds"):
        method_check.save_plan(tmp_path, DESIGN, n)
    assert not (tmp_path / "plan.json").exists()


def test_kernels_get_one_blas_thread_unless_the_user_sets_it(tmp_path, monkeypatch):
    """The pages' matrices are small: a second BLAS thread only spins (the planner took 2–3× the
    CPU with numpy's default threads). The user's own setting wins."""
    from analysis.config import SAMPLE_DIR
    from analysis.report.runner import BLAS_THREADS, _prepare_run

    for name in BLAS_THREADS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "3")
    got = _prepare_run(SAMPLE_DIR, tmp_path / "r", seed=1, extra_parameters=None, lang="en",
                       anonymize=False, anon_key=None, csv_max_rows=None).env
    assert got["OPENBLAS_NUM_THREADS"] == got["OMP_NUM_THREADS"] == "1" and got["MKL_NUM_THREADS"] == "3"
