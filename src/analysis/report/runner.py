"""Run the notebooks with papermill and publish them as one offline HTML report.

The run is built in a temporary folder beside the report folder and swapped into place only when
complete: an interrupted run leaves the previous report intact and no half-written one. A
notebook that fails still renders (with papermill's error banner), is marked in the index, and
makes the exit code 1; the others go on. A worker or kernel that dies is reported the same way.

SIGINT and SIGTERM stop a run cleanly: every worker and kernel is ended (the workers run in their
own process groups, so a Ctrl-C at the terminal reaches the runner alone, which stops them), the
temporary folder is removed, the previous report is kept, and :class:`Stopped` is raised (the CLI
exits 130 or 143).
"""

from __future__ import annotations

import functools
import hashlib
import html
import json
import os
import re
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import version as _pkg_version
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from analysis.config import NOTEBOOKS_DIR
from analysis.errors import InputError, Stopped

if TYPE_CHECKING:
    import pandas as pd
    from IPython.display import HTML
    from matplotlib.figure import Figure

KERNEL = "python3"
START_TIMEOUT = 120  # seconds a kernel may take to start

PAGE = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<main>
{banner}
{body}
<footer>{footer}</footer>
</main>
</body>
</html>
"""

CSS = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d1d1f;
       margin: 0; background: #fafafa; }
main { max-width: 1100px; margin: 0 auto; padding: 1.5rem 2rem 3rem; background: #fff; }
h1, h2, h3 { line-height: 1.25; } h1 { font-size: 1.8rem; } h2 { margin-top: 2rem; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3rem 0.6rem; text-align: right; }
th { background: #f2f2f2; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; height: auto; }
pre { background: #f6f8fa; padding: 0.6rem; overflow-x: auto; font-size: 0.85rem; }
.banner { background: #fff4ce; border: 1px solid #e0c45c; padding: 0.6rem 1rem;
          border-radius: 4px; }
.failed { color: #b00020; font-weight: 600; }
td.sentence_en, td.sentence_ru { text-align: left; max-width: 32rem; }
.jp-InputArea, .input_area { margin-top: 0.5rem; }
.jp-OutputPrompt, .jp-InputPrompt, .prompt { display: none; }
td.txt, th.txt { text-align: left; }
.table-wrap { overflow-x: auto; max-width: 100%; }
nav { font-size: 0.9rem; margin: 0.5rem 0; }
.banner + .banner { margin-top: 0.4rem; }
footer { margin-top: 3rem; font-size: 0.85rem; color: #555; border-top: 1px solid #ddd;
         padding-top: 0.8rem; }
a.anchor-link { visibility: hidden; text-decoration: none; margin-left: 0.3em; color: #888; }
h1:hover a.anchor-link, h2:hover a.anchor-link, h3:hover a.anchor-link,
a.anchor-link:focus { visibility: visible; }
a.fragile { font-size: 0.8rem; color: #8a4b00; background: #fff1de; border-radius: 3px;
            padding: 0 0.3em; white-space: nowrap; }
p.note, p.computed { font-size: 0.9rem; } p.note { color: #555; }
table.verdicts td.verdict { white-space: nowrap; }
table.verdicts th.id, table.verdicts th.category, table.verdicts th.outcome,
table.verdicts th.verdict, table.verdicts th.sentence_en,
table.verdicts th.sentence_ru { text-align: left; }
table.verdicts td.sentence_en,
table.verdicts td.sentence_ru { min-width: 24rem; font-size: 0.85rem; }
@media print {
  @page { size: A4 landscape; margin: 12mm; }
  body { background: #fff; font-size: 10pt; }
  main { max-width: none; padding: 0; }
  nav, a.anchor-link { display: none; }
  .table-wrap { overflow: visible; }
  table { width: 100%; table-layout: auto; font-size: 7.5pt; page-break-inside: auto; }
  th, td { padding: 0.15rem 0.25rem; overflow-wrap: anywhere; word-break: break-word; }
  tr, img, figure { page-break-inside: avoid; }
  thead { display: table-header-group; }
  h2, h3 { page-break-after: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""

CREDIT = ("The kinds of key client come from an article by sales trainer Вера Бокарева (Vera "
          "Bokareva); the statistics are associations, not proof of cause.")
SYNTHETIC_BANNER = ("<div class=\"banner\"><strong>Synthetic data.</strong> This report was made "
                    "from a generated client base, not from a real company.</div>")


@dataclass
class RunResult:
    """What a run produced: the index page, the notebooks that failed, timings."""

    out_dir: Path
    index: Path
    failed: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def is_synthetic(data_dir: Path) -> bool:
    """A ``truth.json`` beside the data (or beside any company's data in a folder of companies)."""
    from analysis.ingest.companies import is_synthetic as _is_synthetic

    return _is_synthetic(data_dir)


def list_notebooks(folder: Path = NOTEBOOKS_DIR) -> list[Path]:
    """The report's notebooks in their numbered order."""
    books = sorted(p for p in Path(folder).glob("*.ipynb") if not p.name.startswith("."))
    if not books:
        raise InputError(f"{folder}: no notebooks found; reinstall the package")
    return books


_TYPES: dict[str, type | tuple[type, ...]] = {"int": int, "str": str, "float": (int, float),
                                             "bool": bool}


def check_parameters(notebook: Path, parameters: dict) -> dict:
    """Check names and values before papermill sees them.

    Papermill injects parameter *names* verbatim into code, so a name must be an identifier the
    notebook declares; a value must have the type its annotation names (``int``, ``str``…).
    """
    known = _known(Path(notebook))
    for name, value in parameters.items():
        if not (isinstance(name, str) and name.isidentifier()):
            raise InputError(f"parameter name {name!r} is not a valid identifier")
        if name not in known:
            raise InputError(f"{Path(notebook).name}: unknown parameter {name!r}; it takes "
                             f"{', '.join(sorted(known))}")
        expected = _TYPES.get(str(known[name].get("inferred_type_name", "")).strip())
        wrong = not isinstance(value, expected) or (expected is int and isinstance(value, bool)) \
            if expected is not None else False
        if wrong:
            raise InputError(f"{Path(notebook).name}: parameter {name} must be "
                             f"{known[name]['inferred_type_name']}, got {value!r}")
    return dict(parameters)


def parse_param(text: str, notebooks: list[Path]) -> tuple[str, object]:
    """``NAME=VALUE`` from the command line, typed by the notebooks' own annotation (never guessed:
    ``0123`` for a ``str`` parameter stays ``"0123"``)."""
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise InputError(f"--param {text!r}: write NAME=VALUE, NAME a parameter of the notebooks")
    types = {_known(nb)[name]["inferred_type_name"] for nb in notebooks if name in _known(nb)}
    if not types:
        known = sorted({k for nb in notebooks for k in _known(nb)})
        raise InputError(f"--param {name}: no notebook takes it; they take {', '.join(known)}")
    kind = str(types.pop()).strip()
    try:
        if kind == "int":
            if not re.fullmatch(r"[+-]?\d+", raw.strip()):
                raise ValueError
            return name, int(raw)
        if kind == "float":
            return name, float(raw)
        if kind == "bool":
            if raw.strip().lower() not in ("true", "false"):
                raise ValueError
            return name, raw.strip().lower() == "true"
    except ValueError:
        raise InputError(f"--param {name}: {raw!r} is not a valid {kind}") from None
    return name, raw


def _execute(notebook: str, output: str, parameters: dict, cwd: str, cell_timeout: int,
             env: dict | None = None) -> tuple[str, float, str, float]:
    """Worker: execute one notebook with papermill (in its own process). Returns its name, wall
    seconds, error (empty when none) and CPU seconds (the kernel's and this worker's).

    ``env`` goes into the kernel's environment (the anonymisation key travels this way, never as
    a parameter, so it is written into no notebook).
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from analysis.ingest.anonymize import ENV_KEY
    from analysis.report import progress

    os.environ.pop(ENV_KEY, None)
    os.environ.update(env or {})
    # the page's own steps (analysis.report.progress.step in the kernel) and the cell it is at, for
    # the heartbeat
    os.environ[progress.ENV] = str(_progress_file(output, "step"))
    cells_file = _progress_file(output, "cell")
    import nbformat

    # + injected
    n_code = 1 + sum(c.cell_type == "code" for c in nbformat.read(notebook, as_version=4).cells)
    started_cells = []

    def on_cell_start(cell, cell_index, **_):
        if cell.cell_type == "code" and cell.source.strip():
            started_cells.append(cell_index)
            _write_line(cells_file, f"cell {len(started_cells)}/{n_code}")

    start, cpu0 = time.perf_counter(), _cpu_seconds()
    error = ""
    _write_line(cells_file, "starting the kernel")
    # the kernel inherits this worker's stderr: keep its chatter in a log beside the executed
    # notebook
    log_file = open(Path(output).with_suffix(".log"), "w", encoding="utf-8")
    os.dup2(log_file.fileno(), 2)
    try:
        papermill.execute_notebook(notebook, output, parameters=parameters, kernel_name=KERNEL,
                                   progress_bar=False, cwd=cwd, start_timeout=START_TIMEOUT,
                                   execution_timeout=cell_timeout, log_output=False,
                                   on_cell_start=on_cell_start)
    except PapermillExecutionError as exc:
        error = f"{exc.ename}: {exc.evalue}"
    except Exception as exc:  # a kernel that dies or times out: the notebook is marked failed
        error = f"{exc.__class__.__name__}: {exc}"
    finally:
        log_file.close()
        for key in (*(env or {}), progress.ENV):
            os.environ.pop(key, None)
    return Path(notebook).stem, time.perf_counter() - start, error, _cpu_seconds() - cpu0


def _cpu_seconds() -> float:
    """CPU seconds (user + system) of this process and of its children that ended (a page's
    kernel, once papermill has shut it down and waited for it)."""
    import resource

    own, kids = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                     resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _progress_file(output: str | Path, kind: str) -> Path:
    """Where a running notebook's progress lines go: ``executed/.<name>.<kind>`` (removed at the
    end)."""
    output = Path(output)
    return output.parent / f".{output.stem}.{kind}"


def _write_line(path: Path, text: str) -> None:
    try:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass


def notices(*, lang: str = "en", synthetic: bool = False, anonymized: str = "",
            portfolio: str = "") -> str:
    """The banners every page of a run shows: synthetic data, pseudonyms (``anonymized``:
    ``"stable"`` or ``"random"``), one portfolio."""
    from analysis import i18n

    parts = []
    if synthetic:
        parts.append(SYNTHETIC_BANNER if lang == "en"
                     else f'<div class="banner">{i18n.t("report.synthetic", lang)}</div>')
    if anonymized:
        text = html.escape(i18n.t(f"report.anon_{anonymized}", lang))
        parts.append(f'<div class="banner anon">{text}</div>')
    if portfolio:
        text = html.escape(i18n.t("report.portfolio", lang, portfolio=portfolio))
        parts.append(f'<div class="banner portfolio">{text}</div>')
    return "\n".join(parts)


def credit(lang: str = "en") -> str:
    """The footer crediting the article's author (escaped HTML)."""
    from analysis import i18n

    return html.escape(CREDIT if lang == "en" else i18n.t("report.credit", lang))


def page_title(stem: str, lang: str = "en") -> str:
    from analysis import i18n

    key = f"page.{stem}"
    return i18n.t(key, lang) if i18n.has(key) else stem.replace("_", " ")


def render_html(executed: Path, out: Path, *, with_code: bool, synthetic: bool, title: str,
                lang: str = "en",
                banner: str | None = None, back: str = "") -> None:
    """One executed notebook → one self-contained HTML page (no script, images inline).

    Markdown cells tagged with the other language (``lang-en`` / ``lang-ru``) are removed, as are
    the parameters cells. ``banner`` (HTML) replaces the default synthetic-data banner; ``back``
    is the relative link to the run's index.
    """
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor
    from traitlets.config import Config

    from analysis import i18n

    i18n.check_lang(lang)
    cfg = Config()
    cfg.TagRemovePreprocessor.remove_cell_tags = {"parameters", "injected-parameters",
                                                  "remove-cell",
                                                  *(f"lang-{other}" for other in i18n.LANGS
                                                    if other != lang)}
    cfg.TagRemovePreprocessor.enabled = True
    exporter = HTMLExporter(config=cfg, template_name="basic")
    exporter.exclude_input = not with_code
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    exporter.register_preprocessor(TagRemovePreprocessor(config=cfg), enabled=True)
    nb = nbformat.read(executed, as_version=4)
    if not with_code:
        moved = _quiet(nb)
        if moved:  # warnings and tracebacks go to the run's log, not onto a page without code
            with open(Path(executed).with_suffix(".log"), "a", encoding="utf-8") as fh:
                fh.write("\n".join(moved) + "\n")
    body, _ = exporter.from_notebook_node(nb)
    if back:
        label = html.escape(i18n.t("report.back", lang))
        body = f'<nav><a href="{html.escape(back)}">← {label}</a></nav>' + body
    if banner is None:
        banner = notices(lang=lang, synthetic=synthetic)
    page = PAGE.format(lang=lang, title=html.escape(title), css=CSS, body=body, banner=banner,
                       footer=credit(lang))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")


def _quiet(nb) -> list[str]:
    """Remove from an executed notebook what a reader without code should not see: stderr output
    (Python warnings, library chatter) and tracebacks (an error keeps its one-line message, local
    paths replaced by file names). Returns the removed text, for the log."""
    moved = []
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                moved.append(str(out.get("text", "")))
                continue
            if out.get("output_type") == "error":
                moved.append("\n".join(out.get("traceback", [])))
                out["traceback"] = [
                    f"{out.get('ename', 'Error')}: {_no_paths(str(out.get('evalue', '')))}"]
            kept.append(out)
        cell["outputs"] = kept
    return moved


_PATH = re.compile(r"(?:[A-Za-z]:)?(?:[\\/][^\\/\s:'\"<>|]+)+[\\/]([^\\/\s:'\"<>|]+)")


def _no_paths(text: str) -> str:
    """Local absolute paths in a message cut to their last part (``/home/a/data/x.csv`` →
    ``x.csv``)."""
    return _PATH.sub(lambda m: m.group(1), text)


def _versions() -> dict:
    out = {"python": sys.version.split()[0]}
    for pkg in ("keyclients", "numpy", "pandas", "scipy", "statsmodels", "linearmodels", "duckdb",
                "papermill", "nbconvert", "seaborn"):
        try:
            out[pkg] = _pkg_version(pkg)
        except Exception:  # pragma: no cover
            out[pkg] = "not installed"
    return out


def resolve_anon_key(anonymize: bool, key: str | None = None) -> tuple[str, str]:
    """The key a run pseudonymises with and whether its pseudonyms are ``"stable"`` (a key was
    given, by argument or ``KEYCLIENTS_ANON_KEY``) or ``"random"``; ``("", "")`` when off."""
    from analysis.ingest.anonymize import ENV_KEY, new_key

    if not anonymize:
        return "", ""
    key = key or os.environ.get(ENV_KEY, "")
    return (key, "stable") if key else (new_key(), "random")


@dataclass
class _Run:
    """One report inside a run: its folder, notebooks and parameters."""

    tmp: Path
    books: list[Path]
    params: dict
    portfolio: str = ""


def _plan(run: _Run, cell_timeout: int, env: dict) -> list[tuple]:
    for sub in ("executed", "pages", "research", "tables", "figures"):
        (run.tmp / sub).mkdir(parents=True, exist_ok=True)
    tasks = []
    for nb in run.books:
        p = check_parameters(nb, {k: v for k, v in run.params.items() if k in _known(nb)})
        if "tables_dir" in _known(nb):
            p["tables_dir"] = str(run.tmp / "tables")
        if "figures_dir" in _known(nb):
            p["figures_dir"] = str(run.tmp / "figures")
        if "study_dir" in _known(nb):  # the study is prepared once per run (see _execute_all)
            p["study_dir"] = str(run.tmp / STUDY_DIR / _study_key(nb, p))
        # the method check's worlds run in the pool (see _execute_all)
        if "worlds_dir" in _known(nb):
            p["worlds_dir"] = str(run.tmp / WORLDS_DIR / nb.stem)
            (run.tmp / WORLDS_DIR).mkdir(exist_ok=True)
        if "attenuation_dir" in _known(nb):  # set by _share_null_worlds when they can be shared
            p["attenuation_dir"] = ""
        tasks.append((str(nb), str(run.tmp / "executed" / nb.name), p, str(run.tmp), cell_timeout,
                      env))
    return _share_null_worlds(tasks)


def _share_null_worlds(tasks: list[tuple]) -> list[tuple]:
    """Pages that take ``attenuation_dir`` (the growth pages' attenuation) read the method check's
    null worlds instead of simulating the same worlds again, when they are the same worlds: the
    same prepared study (so the same design), no world sizes set by hand, the same seed,
    hypotheses and rulebook (:func:`analysis.report.method_check.study_attenuation`). Otherwise
    the page measures them itself, as without the runner."""
    source = next((t for t in tasks if t[2].get("worlds_dir")), None)
    if source is None:
        return tasks
    worlds_args = _study_args(Path(source[0]), source[2], names=WORLD_PARAMETERS)
    if any(int(worlds_args.get(k, 0) or 0) for k in ("portfolios", "periods", "clients")):
        return tasks
    same = ("seed", "hypotheses", "rulebook")
    out = []
    for t in tasks:
        wanted = _study_args(Path(t[0]), t[2], names=("attenuation_worlds",))
        if "attenuation_dir" in _known(Path(t[0])) and wanted.get("attenuation_worlds") \
                and t[2].get("study_dir") \
                and t[2]["study_dir"] == source[2].get("study_dir") \
                and _study_args(Path(t[0]), t[2], names=same) == \
                {k: v for k, v in worlds_args.items() if k in same}:
            t = (t[0], t[1], {**t[2], "attenuation_dir": source[2]["worlds_dir"]}, *t[3:])
        out.append(t)
    return out


STUDY_DIR = ".study"  # inside a run's temporary folder; removed before the report is published
WORLDS_DIR = ".worlds"  # the method check's worlds, one folder per page; removed like the study
PREPARE = "00_prepare_study"
#: The parameters of the method-check page that decide its worlds (besides the study).
WORLD_PARAMETERS = ("n_worlds", "portfolios", "periods", "clients", "seed", "hypotheses",
                    "rulebook")


def _study_args(nb: Path, params: dict, *, tests: bool = False,
                names: tuple[str, ...] = ()) -> dict:
    """The arguments a page passes to ``study.prepare`` (``tests``: ``hypotheses`` and ``seed`` of
    its confirmatory tests instead; ``names``: those parameters instead): its parameters named like
    them, as injected or else the notebook's own defaults."""
    import ast
    import inspect

    from analysis.report import study

    wanted = set(names) if names else {"hypotheses", "seed"} if tests else \
        set(inspect.signature(study.prepare).parameters) - {"cache"}
    out = {}
    for name, spec in _known(nb).items():
        if name in wanted:
            if name in params:
                out[name] = params[name]
            else:
                try:
                    out[name] = ast.literal_eval(str(spec.get("default")))
                except (ValueError, SyntaxError):
                    continue
    return out


def _study_key(nb: Path, params: dict) -> str:
    """One prepared study per distinct set of arguments (pages with other defaults get their
    own)."""
    text = json.dumps(_study_args(nb, params), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _prepare_study(folder: str, kwargs: dict,
                   env: dict | None = None) -> tuple[str, float, str, float]:
    """Worker: prepare the run's study once (:func:`analysis.report.study.save_prepared`) into
    ``folder``. Returns what :func:`_execute` returns."""
    from analysis.report import progress, study

    os.environ.update(env or {})
    output = Path(folder).parents[1] / "executed" / f"{PREPARE}-{Path(folder).name}.ipynb"
    os.environ[progress.ENV] = str(_progress_file(output, "step"))
    _write_line(
        _progress_file(output, "cell"), "reading, aggregating and classifying once for every page")
    start, cpu0, error = time.perf_counter(), _cpu_seconds(), ""
    try:
        data_dir = kwargs.pop("data_dir", "")
        study.save_prepared(folder, data_dir, **kwargs)
    # the pages then prepare for themselves and show the error where it belongs
    except Exception as exc:
        error = f"{exc.__class__.__name__}: {exc}"
    finally:
        for key in (*(env or {}), progress.ENV):
            os.environ.pop(key, None)
    return PREPARE, time.perf_counter() - start, error, _cpu_seconds() - cpu0


def _plan_worlds(folder: str, study_dir: str, study_args: dict, args: dict,
                 env: dict | None = None) -> tuple[float, str]:
    """Worker: the method check's design from the run's study and its world count
    (``n_worlds``, 0: :func:`analysis.report.method_check.default_worlds`), written to ``folder``
    (:func:`~analysis.report.method_check.save_plan`). Returns (CPU seconds, error)."""
    from analysis.report import method_check, study

    os.environ.update(env or {})
    start, error = time.process_time(), ""
    try:
        s = study.prepare(**study_args, cache=study_dir)
        design = method_check.override(method_check.design_from_study(s),
                                       portfolios=int(args.get("portfolios", 0)),
                                       periods=int(args.get("periods", 0)),
                                       clients=int(args.get("clients", 0)))
        n = int(args.get("n_worlds", 0)) or method_check.default_worlds(design, len(s.panel))
        method_check.save_plan(folder, design, n)
    except Exception as exc:  # shown on the method-check page, which reads the worlds
        error = f"{exc.__class__.__name__}: {_no_paths(str(exc))}"
    finally:
        for key in env or {}:
            os.environ.pop(key, None)
    return time.process_time() - start, error


def _world_part(folder: str, phase: str, start: int, args: dict,
                env: dict | None = None) -> tuple[float, str]:
    """Worker: world ``start`` of one phase of the method check
    (:func:`analysis.report.method_check.run_part`). Returns (CPU seconds, error)."""
    from analysis.report import method_check

    os.environ.update(env or {})
    t0, error = time.process_time(), ""
    try:
        method_check.run_part(folder, phase, start, 1, int(args.get("seed", 1)),
                              hypotheses=args.get("hypotheses") or None,
                              rulebook=args.get("rulebook") or None)
    except Exception as exc:
        error = f"{exc.__class__.__name__}: {_no_paths(str(exc))}"
    finally:
        for key in env or {}:
            os.environ.pop(key, None)
    return time.process_time() - t0, error


@dataclass
class _Worlds:
    """The method check's worlds of one page, run as pool jobs while the other pages render:
    the plan (design and count, once the study is prepared), the null worlds, then the planted
    and min_effect worlds (which need the null worlds' attenuation); the page starts when all are
    in ``folder``. A failure stops the rest and is written to ``folder/error.txt`` (the page says
    it)."""

    folder: str
    page: str  # the page's output path
    study_dir: str
    study_args: dict
    args: dict
    env: dict
    pending: list = field(default_factory=list)  # (function, args) ready to submit
    running: int = 0
    left: int = 0  # jobs of the current phase not finished
    phase: str = "wait"  # wait → plan → null → planted → done
    n: int = 0
    parts: int = 0  # world jobs finished
    error: str = ""
    cpu: float = 0.0
    cpu_phase: dict = field(default_factory=dict)  # CPU seconds by phase (plan, null, planted)
    t0: float = 0.0

    def start(self) -> None:
        self.t0 = time.perf_counter()
        self.phase, self.left = "plan", 1
        self.pending = [(_plan_worlds, (self.folder, self.study_dir, self.study_args, self.args,
                                        self.env))]

    def _phase(self, phase: str) -> None:
        self.phase, self.left = phase, self.n
        self.pending = [
            (_world_part, (self.folder, phase, i, self.args, self.env)) for i in range(self.n)]

    def finished(self, cpu: float, error: str) -> None:
        """One job of this page's worlds has ended (``error``: why it failed)."""
        self.running -= 1
        self.cpu += cpu
        self.cpu_phase[self.phase] = self.cpu_phase.get(self.phase, 0.0) + cpu
        if self.phase == "done":
            return
        if error:
            self.error, self.pending, self.phase = error, [], "done"
            Path(self.folder).mkdir(parents=True, exist_ok=True)
            Path(self.folder, "error.txt").write_text(error + "\n", encoding="utf-8")
            return
        self.left -= 1
        if self.phase != "plan":
            self.parts += 1
        if self.left > 0:
            return
        if self.phase == "plan":
            self.n = int(
                json.loads(Path(self.folder, "plan.json").read_text(encoding="utf-8"))["n_worlds"])
            self._phase("null")
        elif self.phase == "null":
            self._phase("planted")
        else:
            self.phase = "done"
        if self.phase == "done":
            Path(self.folder, "timing.json").write_text(json.dumps(
                {"seconds": round(time.perf_counter() - self.t0, 2),
                 "cpu_seconds": round(self.cpu, 2),
                 "cpu_by_phase": {k: round(v, 2) for k, v in self.cpu_phase.items()},
                 "n_worlds": self.n}), encoding="utf-8")

    def status(self) -> str:
        return "planning the worlds" if self.phase == "plan" else f"world {self.parts}/{2 * self.n}"


class _StopOnSignals:
    """While a run lasts, SIGINT and SIGTERM raise :class:`Stopped` in the main thread; ``hold()``
    defers them while the finished report is being put in place (only possible from the main
    thread; elsewhere the process's own handlers stay). After the first stop, further signals are
    ignored so that they cannot interrupt the clean-up."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.old: dict = {}
        self.holding = False
        self.pending: int | None = None

    def __enter__(self) -> "_StopOnSignals":
        if threading.current_thread() is threading.main_thread():
            self.old = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
        return self

    def _handle(self, signum, frame) -> None:
        if self.holding:  # the report is being put in place, or a stop is already under way
            self.pending = signum
            return
        self.holding = True  # a second Ctrl-C must not interrupt the clean-up of the first
        raise Stopped(signum)

    @contextmanager
    def hold(self):
        self.holding = True
        try:
            yield
        finally:
            self.holding = False

    def __exit__(self, *exc) -> None:
        for s, handler in self.old.items():
            signal.signal(s, handler)


def _worker_init() -> None:
    """Each pool worker leads its own process group (a terminal's Ctrl-C reaches the runner only,
    which then ends the workers and kernels itself) and has the default signal handlers."""
    try:
        os.setpgid(0, 0)
    except OSError:  # pragma: no cover - not permitted on some platforms
        pass
    for s in _StopOnSignals.SIGNALS:
        signal.signal(s, signal.SIG_DFL)


def _end_children(grace: float = 5.0) -> None:
    """End every descendant of this process (pool workers and the kernels they started, which
    run in sessions of their own): SIGTERM, then SIGKILL for those alive after ``grace`` s."""
    import psutil

    try:
        procs = psutil.Process().children(recursive=True)
    except psutil.Error:  # pragma: no cover
        return
    for p in procs:
        try:
            p.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(procs, timeout=grace)
    for p in alive:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=grace)


class _Pool:
    """A process pool that is started afresh when a worker dies (the dead worker's jobs fail with
    ``BrokenProcessPool`` and are reported; the jobs submitted after it still run)."""

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self.pool = ProcessPoolExecutor(max_workers=jobs, initializer=_worker_init)

    def submit(self, fn, *args):
        from concurrent.futures.process import BrokenProcessPool

        try:
            return self.pool.submit(fn, *args)
        except BrokenProcessPool:
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = ProcessPoolExecutor(max_workers=self.jobs, initializer=_worker_init)
            return self.pool.submit(fn, *args)


def _studies(tasks: list[tuple]) -> dict[str, dict]:
    """``{study folder: study.prepare's arguments}`` of the pages that take ``study_dir``."""
    studies: dict[str, dict] = {}
    for t in tasks:
        if t[2].get("study_dir"):
            args = studies.setdefault(t[2]["study_dir"], _study_args(Path(t[0]), t[2]))
            # the tests the pages show
            if "hypotheses" in _known(Path(t[0])) and "hypotheses" not in args:
                args.update(_study_args(Path(t[0]), t[2], tests=True))
    return studies


def _worlds_done(w: _Worlds, future, progress: "_Progress", names: dict) -> None:
    """A job of ``w`` has ended: record it; say the worlds are done or how far they are."""
    try:
        cpu, error = future.result()
    except Exception as exc:  # the worker process died
        cpu = 0.0
        error = f"the worker process running them stopped ({exc.__class__.__name__}: {exc})"
    # a job still running when another failed: the worlds were counted then
    was_done = w.phase == "done"
    w.finished(cpu, error)
    if was_done:
        return
    if w.phase == "done":
        progress.done(w.folder, names[w.folder], time.perf_counter() - w.t0, w.error)
        _progress_file(w.folder, "cell").unlink(missing_ok=True)
    else:
        _write_line(_progress_file(w.folder, "cell"), w.status())


def _study_done(folder: str, error: str, queue: list, worlds: dict) -> list:
    """The study of ``folder`` is prepared (or failed: its pages and worlds then prepare for
    themselves and show the error); the queue with those pages' ``study_dir`` cleared on failure."""
    for w in worlds.values():
        if w.study_dir == folder and w.phase == "wait":
            w.study_dir = "" if error else w.study_dir
            w.start()
    if not error:
        return queue
    return [t if t[2].get("study_dir") != folder else (*t[:2], {**t[2], "study_dir": ""}, *t[3:])
            for t in queue]


def _nulls_ready(task: tuple, worlds: dict) -> bool:
    """A page that reads the method check's first ``attenuation_worlds`` null worlds
    (``attenuation_dir``, :func:`_share_null_worlds`) starts once they are written, or once the
    worlds can no longer write them (finished, failed, or fewer planned: the page then measures
    its attenuation itself)."""
    folder = task[2].get("attenuation_dir")
    w = worlds.get(folder) if folder else None
    if w is None or w.phase == "done":
        return True
    if w.phase in ("wait", "plan"):
        return False
    k = int(_study_args(Path(task[0]), task[2], names=("attenuation_worlds",))
            .get("attenuation_worlds", 0) or 0)
    return k > w.n or all(Path(folder, f"null-{i}.parquet").is_file() for i in range(k))


def _execute_all(tasks: list[tuple], jobs: int, log: Callable[[str], None] | None, label=None,
                 previous: dict | None = None) -> dict:
    """Run every task in one process pool; ``{output path: (name, seconds, error)}``.

    Pages that take ``study_dir`` wait for the study, prepared once per run folder by a pool job
    of its own while the other pages start; if that job fails they prepare it themselves (and
    show the error). A page that takes ``worlds_dir`` (the method check) waits for its worlds,
    which run as pool jobs of their own (:class:`_Worlds`) once the study is prepared, at most
    ``jobs - 1`` at a time while pages wait, so the other pages render meanwhile; a page that
    reads their null worlds for its attenuation (``attenuation_dir``) waits for those
    (:func:`_nulls_ready`). Pages start longest first (by the previous run's timings), in their
    numbered order otherwise. A worker that dies marks its notebook failed (a world's: the
    method-check page says so), and the pool is started afresh for the rest (:class:`_Pool`); any
    exception here, ``Stopped`` included, ends every worker and kernel before it propagates.
    """
    previous = previous or {}
    jobs = min(jobs or os.cpu_count() or 1, len(tasks))
    studies = _studies(tasks)
    env = tasks[0][5] if tasks else {}
    prep = {str(
        Path(folder).parents[1] / "executed" / f"{PREPARE}-{Path(folder).name}.ipynb"): folder
            for folder in studies}
    worlds = {t[2]["worlds_dir"]: _Worlds(t[2]["worlds_dir"], t[1], t[2].get("study_dir", ""),
                                          _study_args(
        Path(t[0]), t[2]), _study_args(Path(t[0]), t[2], names=WORLD_PARAMETERS), env)
        for t in tasks if t[2].get("worlds_dir")}
    names = {t[1]: (label(t[1], Path(t[0]).stem) if label else Path(t[0]).stem) for t in tasks}
    names.update({out: label(out, PREPARE) if label else PREPARE for out in prep})
    names.update({folder: f"{names[w.page]} worlds" for folder, w in worlds.items()})
    progress = _Progress(names, log, jobs=jobs, previous=previous)
    # stable: numbered order on ties
    queue = sorted(tasks, key=lambda t: -previous.get(Path(t[0]).stem, 0.0))
    ready = {folder: False for folder in studies}
    done: dict = {}
    futures: dict[Future[tuple], tuple] = {}  # a page: (name, seconds, error); worlds: (cpu, error)
    pool = _Pool(jobs)

    def startable(t) -> bool:
        study_dir, worlds_dir = t[2].get("study_dir"), t[2].get("worlds_dir")
        return (not study_dir or ready[study_dir]) and (
            not worlds_dir or worlds[worlds_dir].phase == "done") and _nulls_ready(t, worlds)

    def feed() -> None:
        while len(futures) < jobs:
            page = next((t for t in queue if startable(t)), None)
            w = next((w for w in worlds.values() if w.pending), None)
            world_jobs = sum(x.running for x in worlds.values())
            if w is not None and (page is None or world_jobs < max(jobs - 1, 1)):
                fn, args = w.pending.pop(0)
                w.running += 1
                futures[pool.submit(fn, *args)] = ("worlds", w.folder)
            elif page is not None:
                queue.remove(page)
                futures[pool.submit(_execute, *page)] = page
            else:
                return

    try:
        for w in worlds.values():
            if not w.study_dir:
                w.start()
        for out, (folder, kwargs) in zip(prep, studies.items()):
            futures[pool.submit(_prepare_study, folder, kwargs, env)] = (PREPARE, out)
        feed()
        while futures:
            finished, _ = wait(list(futures), timeout=1.0, return_when=FIRST_COMPLETED)
            for future in finished:
                task = futures.pop(future)
                if task[0] == "worlds":
                    _worlds_done(worlds[task[1]], future, progress, names)
                    continue
                try:
                    name, seconds, error, cpu = future.result()
                except Exception as exc:  # the worker process died (killed, out of memory…)
                    name, seconds, cpu = Path(task[0]).stem, 0.0, 0.0
                    error = (f"the worker process running it stopped "
                             f"({exc.__class__.__name__}: {exc})")
                if task[0] == PREPARE:
                    ready[prep[task[1]]] = True
                    queue[:] = _study_done(prep[task[1]], error, queue, worlds)
                done[task[1]] = (name, seconds, error, cpu)
                progress.done(task[1], names[task[1]], seconds, error)
                for kind in ("cell", "step"):
                    _progress_file(task[1], kind).unlink(missing_ok=True)
            feed()
            progress.tick()
    except BaseException:
        _end_children()
        pool.pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.pool.shutdown()
    return done


def _publish(run: _Run, results: dict, *, data_dir: Path, synthetic: bool, audience: str, lang: str,
             anonymized: str, seed: int, started: float, back: str = "../index.html") -> RunResult:
    """Render the pages, workbook, index and manifest of one executed run in its folder."""
    from analysis.report.study import file_digest

    shutil.rmtree(run.tmp / STUDY_DIR, ignore_errors=True)
    world_timings = {}
    for timing in sorted((run.tmp / WORLDS_DIR).glob("*/timing.json")):
        t = json.loads(timing.read_text(encoding="utf-8"))
        world_timings[f"{timing.parent.name} worlds"] = t["seconds"]
        world_timings[f"{timing.parent.name} worlds CPU"] = t["cpu_seconds"]
        for phase, cpu in t.get("cpu_by_phase", {}).items():
            world_timings[f"{timing.parent.name} worlds CPU, {phase}"] = cpu
    shutil.rmtree(run.tmp / WORLDS_DIR, ignore_errors=True)
    result = RunResult(out_dir=run.tmp, index=run.tmp / "index.html")
    errors = {}
    # CPU seconds of the study's preparation and of each page (its kernel's)
    cpu_timings: dict[str, float] = {}
    for out, (name, _, _, cpu) in results.items():
        if Path(out).parent == run.tmp / "executed" and name == PREPARE:
            cpu_timings[f"{PREPARE} CPU"] = round(cpu_timings.get(f"{PREPARE} CPU", 0.0) + cpu, 2)
    for nb in run.books:
        name, seconds, error, cpu = results.get(str(run.tmp / "executed" / nb.name),
                                                (nb.stem, 0.0, "not run", 0.0))
        result.timings[nb.stem] = round(seconds, 2)
        cpu_timings[f"{nb.stem} CPU"] = round(cpu, 2)
        if error:
            errors[nb.stem] = error
    result.failed = [nb.stem for nb in run.books if nb.stem in errors]
    banner = notices(lang=lang, synthetic=synthetic, anonymized=anonymized, portfolio=run.portfolio)
    for nb in run.books:
        executed = run.tmp / "executed" / nb.name
        if executed.exists():
            title = page_title(nb.stem, lang)
            for folder, code in (("pages", False), ("research", True)):
                render_html(executed, run.tmp / folder / f"{nb.stem}.html", with_code=code,
                            synthetic=synthetic,
                            title=title, lang=lang, banner=banner, back=back)
    write_workbook(run.tmp / "tables")
    _write_index(run.tmp, run.books, errors, synthetic=synthetic, parameters=run.params,
                 audience=audience,
                 lang=lang, banner=banner)
    manifest = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "parameters": run.params,
        "seed": seed,
        "lang": lang,
        "anonymized": anonymized or False,
        "inputs": {p.name: file_digest(p) for p in sorted(data_dir.iterdir()) if p.is_file()},
        "versions": _versions(),
        "timings": {**result.timings, **cpu_timings, **world_timings,
                    "total": round(time.perf_counter() - started, 2)},
        "failed": result.failed,
    }
    (run.tmp / "manifest.json").write_text(
        json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return result


def _base_parameters(data_dir: Path, seed: int, extra: dict | None, lang: str,
                     anonymize: bool) -> dict:
    from analysis import i18n

    params = {"data_dir": str(data_dir), "seed": int(seed), **(extra or {})}
    if lang != "en":
        params["lang"] = lang
    i18n.check_lang(params.get("lang", "en"))
    if anonymize:
        params["anonymize"] = True
    return params


#: The kernels' BLAS and OpenMP threads unless the user's environment sets them: the pages' linear
#: algebra is small matrices (the planner's and the bootstrap's pseudo-inverses), where a second
#: BLAS thread only spins — on the sample the planner took 5.1–5.6 s CPU with numpy's default
#: threads and 1.9–2.5 s with one (benchmarks/RESULTS.md).
BLAS_THREADS = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@dataclass
class _Prepared:
    """What a single report and a per-portfolio batch set up alike (:func:`_prepare_run`)."""

    params: dict  # the parameters every notebook of the run gets
    lang: str
    synthetic: bool
    anonymized: str  # how the pseudonyms' key was chosen ("" without anonymisation)
    env: dict  # environment of the workers and kernels: the anonymisation key, the CSV row
    # limit, BLAS threads
    tmp: Path  # the partial folder the run is written into before it replaces ``out_dir``


def _prepare_run(data_dir: Path, out_dir: Path, *, seed: int, extra_parameters: dict | None,
                 lang: str,
                 anonymize: bool, anon_key: str | None, csv_max_rows: int | None) -> _Prepared:
    """The run's parameters, language, anonymisation key and workers' environment, and an empty
    partial folder beside ``out_dir`` (its parent created)."""
    from analysis.ingest.anonymize import ENV_KEY

    synthetic = is_synthetic(data_dir)
    base_params = _base_parameters(data_dir, seed, extra_parameters, lang, anonymize)
    lang = base_params.get("lang", "en")
    key, anonymized = resolve_anon_key(anonymize, anon_key)
    env = {ENV_KEY: key} if key else {}
    env.update({name: os.environ.get(name, value) for name, value in BLAS_THREADS.items()})
    if csv_max_rows is not None:  # tables longer than this: Parquet only
        env["KEYCLIENTS_CSV_MAX_ROWS"] = str(int(csv_max_rows))
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    return _Prepared(params=base_params, lang=lang, synthetic=synthetic, anonymized=anonymized,
                     env=env, tmp=tmp)


def run_report(*, data_dir: Path, out_dir: Path, seed: int = 1, jobs: int = 0,
               cell_timeout: int = 600,
               notebooks: list[Path] | None = None, extra_parameters: dict | None = None,
               audience: str = "presentation", lang: str = "en", anonymize: bool = False,
               anon_key: str | None = None,
               csv_max_rows: int | None = None,
               log: Callable[[str], None] | None = print) -> RunResult:
    """Execute the notebooks on ``data_dir`` and publish the report into ``out_dir``.

    ``lang`` (``en`` or ``ru``) chooses every word shown; ``anonymize`` replaces client names and
    ids by pseudonyms keyed with ``anon_key`` (else ``KEYCLIENTS_ANON_KEY``, else a random key,
    which the report then says). ``log`` receives the progress lines (each page with the time
    elapsed and an estimate of what is left, from the previous run's timings when there was one;
    a heartbeat with the step of a long page); ``None`` prints nothing. ``csv_max_rows``: tables
    longer than this are written as Parquet only (default ``KEYCLIENTS_CSV_MAX_ROWS`` or 200,000).

    Returns
    -------
    RunResult
        ``out_dir``, ``index`` (index.html), ``failed`` (notebook names), ``timings`` (seconds).
    """
    if audience not in ("presentation", "research"):
        raise InputError(f"--audience must be presentation or research, got {audience!r}")
    data_dir = Path(data_dir).resolve()
    out_dir = Path(out_dir).resolve()
    books = notebooks or list_notebooks()
    prep = _prepare_run(data_dir, out_dir, seed=seed, extra_parameters=extra_parameters, lang=lang,
                        anonymize=anonymize, anon_key=anon_key, csv_max_rows=csv_max_rows)
    base_params, lang, synthetic, anonymized, env, tmp = (prep.params, prep.lang, prep.synthetic,
                                                          prep.anonymized,
                                                          prep.env, prep.tmp)
    run = _Run(tmp=tmp, books=books, params=base_params,
               portfolio=str(base_params.get("portfolio", "")))
    started = time.perf_counter()
    with _StopOnSignals() as stop:
        try:
            tasks = _plan(run, cell_timeout, env)
            if log:
                log(f"running {len(tasks)} notebook(s) on {data_dir} with "
                    f"{min(jobs or os.cpu_count() or 1, len(tasks))} worker(s)")
            done = _execute_all(tasks, jobs, log, previous=_previous_timings(out_dir))
            result = _publish(run, done, data_dir=data_dir, synthetic=synthetic, audience=audience,
                              lang=lang,
                              anonymized=anonymized, seed=seed, started=started,
                              back="../index.html")
            with stop.hold():
                _swap(tmp, out_dir)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    result.out_dir, result.index = out_dir, out_dir / "index.html"
    return result


def run_batch(*, data_dir: Path, out_dir: Path, by: str = "portfolio", seed: int = 1, jobs: int = 0,
              cell_timeout: int = 600, notebooks: list[Path] | None = None,
              extra_parameters: dict | None = None,
              audience: str = "presentation", lang: str = "en", anonymize: bool = False,
              anon_key: str | None = None,
              config: str | Path = "", portfolios: list[str] | None = None,
              csv_max_rows: int | None = None,
              log: Callable[[str], None] | None = print) -> RunResult:
    """One report per portfolio (``out_dir/<portfolio>/``) plus ``out_dir/index.html`` comparing
    their verdicts and mixes of kinds. Every notebook of every portfolio goes into one process
    pool, so the portfolios run in parallel; progress counts them all.

    Notebooks that take no ``portfolio`` parameter (the method check, which does not read the
    data) are left out of the per-portfolio reports.

    Returns
    -------
    RunResult
        ``out_dir``, ``index`` (the batch index), ``failed`` (``portfolio/notebook``), ``timings``.
    """
    from analysis import i18n

    if by != "portfolio":
        raise InputError(f"--by takes portfolio, got {by!r}")
    if audience not in ("presentation", "research"):
        raise InputError(f"--audience must be presentation or research, got {audience!r}")
    data_dir = Path(data_dir).resolve()
    out_dir = Path(out_dir).resolve()
    books = [nb for nb in (notebooks or list_notebooks()) if "portfolio" in _known(nb)]
    if not books:
        raise InputError("--by portfolio: no notebook takes a portfolio parameter")
    names = portfolios or batch_portfolios(data_dir, config)
    prep = _prepare_run(data_dir, out_dir, seed=seed, extra_parameters=extra_parameters, lang=lang,
                        anonymize=anonymize, anon_key=anon_key, csv_max_rows=csv_max_rows)
    base_params, lang, synthetic, anonymized, env, tmp = (prep.params, prep.lang, prep.synthetic,
                                                          prep.anonymized,
                                                          prep.env, prep.tmp)
    started = time.perf_counter()
    runs = {name: _Run(tmp=tmp / _slug(name), books=books,
                       params={**base_params, "portfolio": name}, portfolio=name)
            for name in names}
    if len({r.tmp.name for r in runs.values()}) < len(runs):
        raise InputError("--by portfolio: two portfolio names map to the same folder name")
    with _StopOnSignals() as stop:
        try:
            tasks = [t for r in runs.values() for t in _plan(r, cell_timeout, env)]
            folders = {str(r.tmp): name for name, r in runs.items()}
            if log:
                log(f"running {len(tasks)} notebook(s) for "
                    f"{i18n.plural('batch.count', len(runs), 'en')} on {data_dir} with "
                    f"{min(jobs or os.cpu_count() or 1, len(tasks))} worker(s)")
            done = _execute_all(tasks, jobs, log, label=lambda out,
                                nb: f"{folders[str(Path(out).parents[1])]}/{nb}")
            result = RunResult(out_dir=out_dir, index=out_dir / "index.html")
            summaries = {}
            for name, r in runs.items():
                sub = _publish(r, done, data_dir=data_dir, synthetic=synthetic, audience=audience,
                               lang=lang,
                               anonymized=anonymized, seed=seed, started=started,
                               back="../index.html")
                result.failed += [f"{name}/{nb}" for nb in sub.failed]
                result.timings.update({f"{name}/{k}": v for k, v in sub.timings.items()})
                summaries[name] = sub
            _write_batch_index(tmp, runs, summaries, lang=lang, synthetic=synthetic,
                               anonymized=anonymized,
                               parameters=base_params, audience=audience)
            with stop.hold():
                _swap(tmp, out_dir)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return result


def batch_portfolios(data_dir: Path, config: str | Path = "") -> list[str]:
    """The portfolios ``run --by portfolio`` makes a report for, as
    :func:`analysis.report.study.portfolios` of the whole client base — read from the clients table
    alone when it names every client's portfolio (the order lines, most of an export, are then not
    read just to list them). Clients without a portfolio (it then comes from their order lines),
    clients derived from the order lines, a ``portfolio_by`` or SQL source in the config, or a
    clients table that does not read cleanly: the whole base is loaded, as before."""
    from analysis import ingest
    from analysis.ingest.readers import find_file, read_many
    from analysis.ingest.tables import build_table
    from analysis.ingest.validation import Problems
    from analysis.report.study import portfolios

    cfg, folder, single = ingest._config(config or None, Path(data_dir))
    spec = cfg.tables.get("clients", ingest.TableSpec())
    path = None if single or cfg.portfolio_by or spec.source is not None or spec.path is not None \
        else find_file(folder, "clients")
    clients, problems = None, Problems()
    if path is not None:
        try:
            clients = build_table(read_many([path], spec), "clients", spec, problems,
                                  freq=cfg.freq, duplicates=cfg.duplicates)
        except InputError:  # load says what is wrong, with every other problem
            clients = None
        if not problems.has_errors and clients is not None and len(clients) \
                and "portfolio" in clients and clients["portfolio"].notna().all():
            return sorted(clients["portfolio"].astype(str).unique())
    return portfolios(ingest.load(data_dir, config=config or None))


def _previous_timings(out_dir: Path) -> dict:
    """Seconds per page in the report already at ``out_dir`` (its manifest), for the estimates."""
    try:
        timings = json.loads(
            (Path(out_dir) / "manifest.json").read_text(encoding="utf-8")).get("timings", {})
        return {
            k: float(v) for k, v in timings.items() if k != "total" and isinstance(v, (int, float))}
    except (OSError, ValueError, AttributeError):
        return {}


def _slug(name: str) -> str:
    """A folder name for a portfolio: letters, digits, ``-`` and ``_`` kept, the rest ``_``."""
    slug = re.sub(r"[^\w-]+", "_", str(name), flags=re.UNICODE).strip("_")
    return slug or "portfolio"


def _write_batch_index(tmp: Path, runs: dict, summaries: dict, *, lang: str, synthetic: bool,
                       anonymized: str,
                       parameters: dict, audience: str) -> None:
    """The batch index: every portfolio with links, its verdicts side by side, its mix of kinds."""
    import pandas as pd

    from analysis import i18n

    folder = "pages" if audience == "presentation" else "research"
    verdicts, mixes, links = {}, {}, []
    for name, r in runs.items():
        slug = html.escape(r.tmp.name)
        failed = summaries[name].failed
        mark = (f' <span class="failed">{html.escape(i18n.t("batch.failed_pages", lang))}: '
                f'{html.escape(", ".join(failed))}</span>') if failed else ""
        pages = " · ".join(f'<a href="{slug}/{folder}/{html.escape(nb.stem)}.html">'
                           f'{html.escape(page_title(nb.stem, lang))}</a>'
                           for nb in r.books)
        links.append(f'<li><a href="{slug}/index.html"><strong>{html.escape(name)}</strong></a>: '
                     f'{pages}{mark}</li>')
        hyp = r.tmp / "tables" / "hypotheses.csv"
        if hyp.is_file():
            h = pd.read_csv(hyp, keep_default_na=False)
            verdicts[name] = dict(zip(h["id"], h["verdict"]))
        cats = r.tmp / "tables" / "client_categories"
        if cats.with_suffix(".csv").is_file() or cats.with_suffix(".parquet").is_file():
            m = read_table(r.tmp / "tables", "client_categories",
                           ["period", "category", "status", "member"])
            m = m[m["status"] == "ok"]
            if len(m):
                last = m[m["period"] == m["period"].max()]
                member = last["member"].astype(str).str.lower().eq("true")
                mixes[name] = member.groupby(last["category"]).mean().to_dict()
    body = [f"<h1>{html.escape(i18n.t('batch.title', lang))}</h1>",
            f"<p>{html.escape(i18n.t('batch.intro', lang))} "
            f"{html.escape(i18n.plural('batch.count', len(runs), lang))}.</p>",
            f"<h2>{html.escape(i18n.t('batch.reports', lang))}</h2><ul>{''.join(links)}</ul>"]
    if verdicts:
        ids = list(dict.fromkeys(i for v in verdicts.values() for i in v))
        head = "".join(f"<th>{html.escape(str(i))}</th>" for i in ids)
        rows = "".join(f'<tr><td>{html.escape(name)}</td>' + "".join(
            f'<td class="verdict v-{html.escape(str(v.get(i, "")))}">'
            f'{html.escape(i18n.verdict(v[i], lang) if i in v else "")}</td>'
            for i in ids) + "</tr>" for name, v in verdicts.items())
        body.append(f"<h2>{html.escape(i18n.t('batch.verdicts', lang))}</h2>"
                    f"<table><thead><tr><th>{html.escape(i18n.t('batch.portfolio', lang))}</th>"
                    f"{head}</tr></thead>"
                    f"<tbody>{rows}</tbody></table>")
    if mixes:
        from analysis import registry

        cats = [c for c in registry.current().kind_ids() if any(c in m for m in mixes.values())]
        head = "".join(f"<th>{html.escape(i18n.category(c, lang))}</th>" for c in cats)
        rows = "".join(f"<tr><td>{html.escape(name)}</td>" + "".join(
            f"<td>{html.escape(i18n.percent(m[c], lang) if c in m else '')}</td>" for c in cats)
            + "</tr>"
            for name, m in mixes.items())
        body.append(f"<h2>{html.escape(i18n.t('batch.mix', lang))}</h2>"
                    f"<table><thead><tr><th>{html.escape(i18n.t('batch.portfolio', lang))}</th>"
                    f"{head}</tr></thead>"
                    f"<tbody>{rows}</tbody></table>")
    body.append(_parameters_table(parameters, lang))
    banner = notices(lang=lang, synthetic=synthetic, anonymized=anonymized)
    page = PAGE.format(lang=lang, title=html.escape(i18n.t("batch.title", lang)), css=CSS,
                       body="".join(body),
                       banner=banner, footer=credit(lang))
    (tmp / "index.html").write_text(page, encoding="utf-8")
    manifest = {"created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "by": "portfolio",
                "portfolios": {name: r.tmp.name for name, r in runs.items()},
                "parameters": parameters,
                "lang": lang, "anonymized": anonymized or False, "versions": _versions(),
                "failed": {name: s.failed for name, s in summaries.items() if s.failed}}
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n",
                                       encoding="utf-8")


_PATH_PARAMETERS = ("data_dir", "config", "rulebook", "hypotheses", "tables_dir", "figures_dir")


def _parameter_value(name: str, value, *, anonymized: bool, lang: str) -> str:
    """A run parameter as the index shows it: a folder or file by its name only (``<data>`` when
    anonymised), never a local absolute path; booleans as yes/no."""
    from analysis import i18n

    if name in _PATH_PARAMETERS and value:
        if anonymized and name == "data_dir":
            return i18n.t("report.data_anon", lang)
        return Path(str(value)).name
    if isinstance(value, bool):
        return i18n.t(f"value.{value}", lang)
    if isinstance(value, (int, float)):
        return i18n.number(value, lang)
    return i18n.label(value, lang)


def _parameters_table(parameters: dict, lang: str) -> str:
    from analysis import i18n

    anonymized = bool(parameters.get("anonymize"))
    def label(k: str) -> str:
        return i18n.t(f"param.{k}", lang) if i18n.has(f"param.{k}") else str(k)

    rows = "".join(f"<tr><td>{html.escape(label(k))}</td>"
                   f"<td>{html.escape(_parameter_value(k, v, anonymized=anonymized, lang=lang))}"
                   "</td></tr>"
                   for k, v in parameters.items())
    return (f"<h2>{html.escape(i18n.t('report.parameters', lang))}</h2><table><thead><tr>"
            f"<th>{html.escape(i18n.t('report.parameter', lang))}</th>"
            f"<th>{html.escape(i18n.t('report.value', lang))}</th>"
            f"</tr></thead><tbody>{rows}</tbody></table>")


def _known(nb: Path) -> dict:
    """The notebook's declared parameters (papermill's inspection, cached per file version)."""
    nb = Path(nb)
    return _inspect(str(nb), nb.stat().st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _inspect(path: str, mtime_ns: int) -> dict:
    import papermill

    return papermill.inspect_notebook(path)


def _swap(tmp: Path, out_dir: Path) -> None:
    """Put the finished run in place; the old report is removed only after the new one is in."""
    old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
    if out_dir.exists():
        out_dir.rename(old)
    tmp.rename(out_dir)
    shutil.rmtree(old, ignore_errors=True)


def _write_index(tmp: Path, books: list[Path], errors: dict, *, synthetic: bool, parameters: dict,
                 audience: str = "presentation", lang: str = "en",
                 banner: str | None = None) -> None:
    from analysis import i18n

    folder = "pages" if audience == "presentation" else "research"
    other = "research" if folder == "pages" else "pages"
    other_label = i18n.t("report.with_code" if folder == "pages" else "report.without_code", lang)
    items = []
    for nb in books:
        name = html.escape(nb.stem)
        mark = (f' <span class="failed">{html.escape(i18n.t("report.failed", lang))}: '
                f'{html.escape(_no_paths(errors[nb.stem]))}</span>'
                if nb.stem in errors else "")
        items.append(f'<li><a href="{folder}/{name}.html">'
                     f'{html.escape(page_title(nb.stem, lang))}</a> '
                     f'(<a href="{other}/{name}.html">{html.escape(other_label)}</a>){mark}</li>')
    tables = "".join(f'<li><a href="tables/{html.escape(p.name)}">{html.escape(p.name)}</a></li>'
                     for p in sorted((tmp / "tables").glob("*")))
    key_figures = sorted((tmp / "figures").glob("key_*.png")) \
        or sorted((tmp / "figures").glob("*.png"))
    figures = "".join(f'<figure><img alt="{html.escape(p.stem)}" '
                      f'src="data:image/png;base64,{_b64(p)}"></figure>'
                      for p in key_figures[:3])
    verdicts = _verdict_table(tmp / "tables" / "hypotheses.csv", lang=lang, folder=folder)
    none = html.escape(i18n.t("report.none", lang))
    h = lambda key: html.escape(i18n.t(key, lang))  # noqa: E731 - shorthand for the page's labels
    verdicts_html = (f"<h2>{h('report.verdicts')}</h2>"
                     f"{_method_check_warning(tmp / 'tables', lang)}{verdicts}"
                     if verdicts else "")
    verdicts_html = _plan_line(tmp / "tables" / "plan.csv", lang=lang) + verdicts_html
    figures_html = f"<h2>{h('report.key_figures')}</h2>{figures}" if figures else ""
    body = (f"<h1>{h('report.title')}</h1>{verdicts_html}{figures_html}"
            f"<h2>{h('report.pages')}</h2><ul>{''.join(items)}</ul>"
            f"<h2>{h('report.tables')}</h2><p>{h('report.tables_note')}</p>"
            f"<ul>{tables or f'<li>{none}</li>'}</ul>"
            f"{_parameters_table(parameters, lang)}")
    if banner is None:
        banner = notices(lang=lang, synthetic=synthetic)
    page = PAGE.format(lang=lang, title=h("report.title"), css=CSS, body=body, banner=banner,
                       footer=credit(lang))
    (tmp / "index.html").write_text(page, encoding="utf-8")


def _method_check_warning(tables: Path, lang: str = "en") -> str:
    """A warning next to the verdicts when the method check's family-wise rate is above 10 % with
    its whole 95 % CI (``method_check_familywise.csv`` of page 5), else ''."""
    path = tables / "method_check_familywise.csv"
    if not path.is_file():
        return ""
    import pandas as pd

    from analysis import i18n

    row = pd.read_csv(path).iloc[0]
    if not bool(row.get("warn", False)):
        return ""
    text = i18n.t("fwer_warning", lang, count=f"{int(row['k'])}/{int(row['n'])}",
                  low=i18n.cell("rate", float(row["ci_low"]), lang),
                  high=i18n.cell("rate", float(row["ci_high"]), lang))
    return f'<p class="warning">{html.escape(text)}</p>'


def _fragile(tables: Path) -> dict:
    """``{hypothesis id: [variants whose verdict differs]}`` from robustness.csv (empty when
    absent)."""
    path = tables / "robustness.csv"
    if not path.is_file():
        return {}
    import pandas as pd

    rob = pd.read_csv(path, keep_default_na=False)
    if "flipped" not in rob.columns:
        return {}
    flipped = rob[rob["flipped"].astype(str).str.lower() == "true"]
    return {str(k): list(g["variant"]) for k, g in flipped.groupby("id", sort=False)}


def _plan_line(path: Path, *, lang: str = "en") -> str:
    """The planner's one line for the index (escaped), or '' when the run wrote no plan."""
    if not path.is_file():
        return ""
    import pandas as pd

    from analysis.report.planner import plan_line

    text = plan_line(pd.read_csv(path, keep_default_na=False, dtype={"status": str, "id": str}),
                     lang)
    return f'<p class="plan">{html.escape(text)}</p>' if text else ""


def _verdict_table(path: Path, *, lang: str = "en", folder: str = "pages") -> str:
    """The confirmatory verdicts as an HTML table (every cell escaped, in ``lang``), or '' when
    absent.

    Beside each verdict: its MDE, and a *fragile* mark linking to the robustness table when a
    robustness variant changes it; a hypothesis that could not be tested says why (its sentence
    is built from ``reason_code``).
    """
    if not path.is_file():
        return ""
    import pandas as pd

    from analysis import i18n

    df = pd.read_csv(path)
    fragile = _fragile(path.parent)
    cols = [c for c in ("id", "category", "outcome", "lag", "std_effect", "ci_low", "ci_high",
                        "p_adj", "mde", "verdict",
                        f"sentence_{lang}") if c in df.columns]
    head = "".join(
        f'<th class="{html.escape(c)}">{html.escape(i18n.column(c, lang))}</th>' for c in cols)
    link = f"{folder}/03_growth_links.html#robustness-table"
    rows = []
    for rec in df[cols].to_dict("records"):
        cells = []
        for c in cols:
            v = rec[c]
            text = html.escape(i18n.cell(c, v, lang))
            if c == "verdict" and str(rec.get("id")) in fragile:
                variants = ", ".join(i18n.header(x, lang) for x in fragile[str(rec["id"])])
                text += (f' <a class="fragile" href="{html.escape(link)}" '
                         f'title="{html.escape(variants)}">'
                         f'{html.escape(i18n.t("report.fragile", lang))}</a>')
            cells.append(
                f'<td class="{html.escape(c)}{" txt" if isinstance(v, str) else ""}">{text}</td>')
        rows.append(f"<tr>{''.join(cells)}</tr>")
    note = f'<p class="note">{html.escape(i18n.t("report.fragile_note", lang))}</p>' if fragile \
        else ""
    return (f'<div class="table-wrap"><table class="verdicts"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>{note}')


def _clock(seconds: float) -> str:
    seconds = int(round(max(seconds, 0)))
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return f"{seconds // 60}:{seconds % 60:02d}"


_FRACTION = re.compile(r"(\d+)\s*/\s*(\d+)")


class _Progress:
    """Per-page progress with elapsed time and an estimate of what is left, plus a heartbeat
    from long pages (the cell they are at and their own step, e.g. ``world 7/32``).

    On a terminal one status line is redrawn every second; otherwise a line per finished page
    and a heartbeat every ``heartbeat`` seconds. ``log=None`` prints nothing (``--quiet``).

    Estimates: a page's duration in the previous run of the same report (``previous``), else the
    mean of the pages finished so far; a running page whose own step reads ``k/n`` is estimated
    from its pace. Pages share ``jobs`` workers, so what is left is divided by their number.
    """

    def __init__(self, tasks: dict, log: Callable[[str], None] | None, *, jobs: int = 1,
                 previous: dict | None = None, heartbeat: float = 20.0):
        self.tasks = tasks  # output path → label
        self.total, self.n, self.log, self.jobs = len(tasks), 0, log, max(int(jobs), 1)
        self.previous = previous or {}
        self.heartbeat = heartbeat
        self.tty = log is not None and sys.stderr.isatty()
        self.t0 = self.last_beat = time.perf_counter()
        self.started: dict[str, float] = {}
        self.finished: dict[str, float] = {}

    def _stem(self, out: str) -> str:
        return Path(out).stem

    def _running(self) -> dict[str, tuple[float, str]]:
        """Pages under way: output path → (seconds since start, 'cell 3/9, world 7/32')."""
        from analysis.report import progress

        now, out = time.perf_counter(), {}
        for path in self.tasks:
            if path in self.finished:
                continue
            cell = progress.read(_progress_file(path, "cell"))
            if not cell:
                continue
            self.started.setdefault(path, now)
            step = progress.read(_progress_file(path, "step"))
            out[path] = (now - self.started[path], ", ".join(x for x in (cell, step) if x))
        return out

    def _expected(self, path: str) -> float | None:
        prev = self.previous.get(self._stem(path))
        if prev:
            return float(prev)
        if self.finished:
            return sum(self.finished.values()) / len(self.finished)
        return None

    def _left(self, running: dict) -> float | None:
        """Seconds left for the whole run (None: no basis for an estimate yet)."""
        total = 0.0
        for path in self.tasks:
            if path in self.finished:
                continue
            expected = self._expected(path)
            if path in running:
                elapsed, text = running[path]
                m = _FRACTION.findall(text.split(", ", 1)[-1]) if ", " in text else []
                if m and int(m[-1][0]) > 0:  # the page's own k/n: its pace so far
                    k, n = map(int, m[-1])
                    expected = elapsed * n / k
                if expected is None:
                    return None
                # overdue: a little longer, never "0:00"
                total += max(expected - elapsed, 0.1 * elapsed)
            else:
                if expected is None:
                    return None
                total += expected
        return total / min(self.jobs, max(self.total - self.n, 1))

    def _times(self, running: dict) -> str:
        elapsed = _clock(time.perf_counter() - self.t0)
        if self.n == self.total:
            return f"{elapsed} in all"
        left = self._left(running)
        return f"{elapsed} elapsed, " + (
            f"about {_clock(left)} left" if left is not None else "no estimate yet")

    def done(self, path: str, name: str, seconds: float, error: str) -> None:
        self.n += 1
        self.finished[path] = seconds
        if self.log is None:
            return
        status = f"FAILED ({error})" if error else "ok"
        line = (f"[{self.n}/{self.total}] {name}: {status} ({seconds:.1f} s) · "
                f"{self._times(self._running())}")
        if self.tty:
            sys.stderr.write(f"\r{line}\033[K\n")
            sys.stderr.flush()
        else:
            self.log(line)
        self.last_beat = time.perf_counter()

    def tick(self) -> None:
        """Called about once a second while pages run: redraw the status line or, now and then,
        log a heartbeat."""
        if self.log is None:
            return
        now = time.perf_counter()
        running = self._running()
        pages = "; ".join(f"{self.tasks[p]}: {text} ({_clock(el)})" for p,
                          (el, text) in running.items())
        if self.tty:
            line = f"[{self.n}/{self.total}] {self._times(running)} · {pages}"
            width = shutil.get_terminal_size((100, 20)).columns - 1
            sys.stderr.write(f"\r{line[:width]}\033[K")
            sys.stderr.flush()
        elif now - self.last_beat >= self.heartbeat and running:
            self.log(f"  … {pages} · {self._times(running)}")
            self.last_beat = now


#: Tables longer than this (the client-level ones) get a Parquet file and are listed in
#: tables.xlsx by file name instead of being copied into it.
WORKBOOK_MAX_ROWS = 10_000
#: Default of ``KEYCLIENTS_CSV_MAX_ROWS``: a table longer than this is written as Parquet only.
CSV_MAX_ROWS = 200_000


def csv_max_rows() -> int:
    """Rows up to which a table is also written as CSV (``KEYCLIENTS_CSV_MAX_ROWS``, default
    200,000)."""
    raw = os.environ.get("KEYCLIENTS_CSV_MAX_ROWS", "")
    try:
        return int(raw) if raw.strip() else CSV_MAX_ROWS
    except ValueError:
        raise InputError(f"KEYCLIENTS_CSV_MAX_ROWS={raw!r}: write a whole number of rows") from None


def save_table(df: pd.DataFrame, name: str, tables_dir: str | Path | None) -> None:
    """Write a table shown in a notebook to ``tables/`` (tidy, unrounded): ``<name>.csv`` (UTF-8)
    up to :func:`csv_max_rows` rows, and ``<name>.parquet`` as well for a table longer than
    ``WORKBOOK_MAX_ROWS`` (client-level tables: compact, typed, fast to read)."""
    if tables_dir:
        folder = Path(tables_dir)
        if len(df) > WORKBOOK_MAX_ROWS:
            plain = df.copy(deep=False)
            plain.attrs = {}  # lookups carried in attrs (reasons) are tables of their own
            plain.to_parquet(folder / f"{name}.parquet", index=False)
        if len(df) <= csv_max_rows():
            df.to_csv(folder / f"{name}.csv", index=False, encoding="utf-8")


def read_table(tables_dir: str | Path, name: str,
               columns: list[str] | None = None) -> pd.DataFrame:
    """A table of a run's ``tables/`` folder, from its Parquet file when it has one, else its
    CSV."""
    import pandas as pd

    folder = Path(tables_dir)
    if (folder / f"{name}.parquet").is_file():
        return pd.read_parquet(folder / f"{name}.parquet", columns=columns)
    return pd.read_csv(folder / f"{name}.csv", usecols=columns, keep_default_na=False)


FIGURE_DPI = 110  # the resolution of figures/<name>.png


def save_figure(fig: Figure, name: str, figures_dir: str | Path | None) -> bytes | None:
    """Write a figure shown in a notebook to ``figures/<name>.png`` (``key_*`` go on the index);
    returns the PNG written (None without ``figures_dir``), which a page may show as it is
    instead of drawing the figure a second time (:func:`analysis.report.narrative.figure`)."""
    if not figures_dir:
        return None
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=FIGURE_DPI, bbox_inches="tight")
    png = buf.getvalue()
    (Path(figures_dir) / f"{name}.png").write_bytes(png)
    return png


def write_workbook(tables_dir: Path, *, max_rows: int = WORKBOOK_MAX_ROWS) -> Path | None:
    """The run's summary tables as sheets of ``tables.xlsx`` (for analysts who live in Excel).

    The first sheet, ``contents``, lists every table of the run with its rows and files; tables
    longer than ``max_rows`` (client-level ones) are listed there by file name, not copied (a
    sheet of hundreds of thousands of rows helps no reader and took half of a large run).
    """
    import pandas as pd
    import pyarrow.parquet as pq

    folder = Path(tables_dir)
    stems = sorted(
        {p.stem for p in folder.glob("*.csv")} | {p.stem for p in folder.glob("*.parquet")})
    if not stems:
        return None
    sheets, contents = {}, []
    for stem in stems:
        files = [
            f"{stem}{ext}" for ext in (".csv", ".parquet") if (folder / f"{stem}{ext}").is_file()]
        if (folder / f"{stem}.parquet").is_file():
            rows, df = pq.ParquetFile(folder / f"{stem}.parquet").metadata.num_rows, None
        else:
            df = pd.read_csv(folder / f"{stem}.csv", nrows=max_rows + 1)
            rows = len(df)
        if df is not None and rows <= max_rows:
            sheets[stem[:31]] = df
        contents.append({"table": stem, "rows": rows, "files": ", ".join(files),
                         "in_this_workbook": df is not None and rows <= max_rows})
    path = folder / "tables.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        pd.DataFrame(contents).to_excel(xl, sheet_name="contents", index=False)
        for sheet, df in sheets.items():
            df.to_excel(xl, sheet_name=sheet, index=False)
    return path


def _b64(path: Path) -> str:
    import base64

    return base64.b64encode(path.read_bytes()).decode("ascii")


def bullets(texts: Iterable[object]) -> HTML:
    """A bulleted list for a notebook page, every text HTML-escaped (text may come from the
    data)."""
    from IPython.display import HTML

    return HTML("<ul>" + "".join(f"<li>{html.escape(str(t))}</li>" for t in texts) + "</ul>")


def paragraph(text: str) -> HTML:
    """One paragraph of computed text for a notebook page, HTML-escaped."""
    from IPython.display import HTML

    return HTML(f"<p>{html.escape(str(text))}</p>")
