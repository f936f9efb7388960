"""Run the notebooks with papermill and publish them as one offline HTML report.

The run is built in a temporary folder beside the report folder and swapped into place only when
complete: an interrupted run leaves the previous report intact and no half-written one. A
notebook that fails still renders (with papermill's error banner), is marked in the index, and
makes the exit code 1; the others go on.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import version as _pkg_version
from pathlib import Path
from typing import Callable

from analysis.config import NOTEBOOKS_DIR
from analysis.errors import InputError

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
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d1d1f; margin: 0;
       background: #fafafa; }
main { max-width: 1100px; margin: 0 auto; padding: 1.5rem 2rem 3rem; background: #fff; }
h1, h2, h3 { line-height: 1.25; } h1 { font-size: 1.8rem; } h2 { margin-top: 2rem; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3rem 0.6rem; text-align: right; }
th { background: #f2f2f2; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; height: auto; }
pre { background: #f6f8fa; padding: 0.6rem; overflow-x: auto; font-size: 0.85rem; }
.banner { background: #fff4ce; border: 1px solid #e0c45c; padding: 0.6rem 1rem; border-radius: 4px; }
.failed { color: #b00020; font-weight: 600; }
.jp-InputArea, .input_area { margin-top: 0.5rem; }
.jp-OutputPrompt, .jp-InputPrompt, .prompt { display: none; }
footer { margin-top: 3rem; font-size: 0.85rem; color: #555; border-top: 1px solid #ddd; padding-top: 0.8rem; }
"""

CREDIT = ("The kinds of key client come from an article by sales trainer Вера Бокарева (Vera Bokareva); "
          "the statistics are associations, not proof of cause.")
SYNTHETIC_BANNER = ("<div class=\"banner\"><strong>Synthetic data.</strong> This report was made from a "
                    "generated client base, not from a real company.</div>")


@dataclass
class RunResult:
    """What a run produced: the index page, the notebooks that failed, timings."""

    out_dir: Path
    index: Path
    failed: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def list_notebooks(folder: Path = NOTEBOOKS_DIR) -> list[Path]:
    """The report's notebooks in their numbered order."""
    books = sorted(p for p in Path(folder).glob("*.ipynb") if not p.name.startswith("."))
    if not books:
        raise InputError(f"{folder}: no notebooks found; reinstall the package")
    return books


def check_parameters(notebook: Path, parameters: dict) -> dict:
    """Refuse parameter names papermill would inject verbatim unless they are known identifiers."""
    import papermill

    known = papermill.inspect_notebook(str(notebook))
    for name in parameters:
        if not (isinstance(name, str) and name.isidentifier()):
            raise InputError(f"parameter name {name!r} is not a valid identifier")
        if name not in known:
            raise InputError(f"{notebook.name}: unknown parameter {name!r}; it takes {', '.join(sorted(known))}")
    return {k: v for k, v in parameters.items()}


def _execute(notebook: str, output: str, parameters: dict, cwd: str, cell_timeout: int) -> tuple[str, float, str]:
    """Worker: execute one notebook with papermill (in its own process)."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    start = time.perf_counter()
    error = ""
    try:
        papermill.execute_notebook(notebook, output, parameters=parameters, kernel_name=KERNEL,
                                   progress_bar=False, cwd=cwd, start_timeout=START_TIMEOUT,
                                   execution_timeout=cell_timeout, log_output=False)
    except PapermillExecutionError as exc:
        error = f"{exc.ename}: {exc.evalue}"
    except Exception as exc:  # a kernel that dies or times out: the notebook is marked failed
        error = f"{exc.__class__.__name__}: {exc}"
    return Path(notebook).stem, time.perf_counter() - start, error


def render_html(executed: Path, out: Path, *, with_code: bool, synthetic: bool, title: str) -> None:
    """One executed notebook → one self-contained HTML page (no script, images inline)."""
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor
    from traitlets.config import Config

    cfg = Config()
    cfg.TagRemovePreprocessor.remove_cell_tags = {"injected-parameters", "remove-cell"}
    cfg.TagRemovePreprocessor.enabled = True
    exporter = HTMLExporter(config=cfg, template_name="basic")
    exporter.exclude_input = not with_code
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    exporter.register_preprocessor(TagRemovePreprocessor(config=cfg), enabled=True)
    nb = nbformat.read(executed, as_version=4)
    body, _ = exporter.from_notebook_node(nb)
    page = PAGE.format(lang="en", title=html.escape(title), css=CSS, body=body,
                       banner=SYNTHETIC_BANNER if synthetic else "", footer=html.escape(CREDIT))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _versions() -> dict:
    out = {"python": sys.version.split()[0]}
    for pkg in ("keyclients", "numpy", "pandas", "scipy", "statsmodels", "linearmodels", "duckdb",
                "papermill", "nbconvert", "seaborn"):
        try:
            out[pkg] = _pkg_version(pkg)
        except Exception:  # pragma: no cover
            out[pkg] = "not installed"
    return out


def run_report(*, data_dir: Path, out_dir: Path, seed: int = 1, jobs: int = 0, cell_timeout: int = 600,
               notebooks: list[Path] | None = None, extra_parameters: dict | None = None,
               log: Callable[[str], None] = print) -> RunResult:
    """Execute the notebooks on ``data_dir`` and publish the report into ``out_dir``.

    Returns
    -------
    RunResult
        ``out_dir``, ``index`` (index.html), ``failed`` (notebook names), ``timings`` (seconds).
    """
    data_dir = Path(data_dir).resolve()
    out_dir = Path(out_dir).resolve()
    books = notebooks or list_notebooks()
    synthetic = (data_dir / "truth.json").is_file()
    base_params = {"data_dir": str(data_dir), "seed": int(seed), **(extra_parameters or {})}
    params = {nb: check_parameters(nb, {k: v for k, v in base_params.items()
                                        if k in _known(nb)}) for nb in books}
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    for sub in ("executed", "pages", "research", "tables", "figures"):
        (tmp / sub).mkdir(parents=True)
    started = time.perf_counter()
    result = RunResult(out_dir=out_dir, index=out_dir / "index.html")
    try:
        jobs = jobs or os.cpu_count() or 1
        tasks = []
        for nb in books:
            p = dict(params[nb])
            if "tables_dir" in _known(nb):
                p["tables_dir"] = str(tmp / "tables")
            if "figures_dir" in _known(nb):
                p["figures_dir"] = str(tmp / "figures")
            tasks.append((str(nb), str(tmp / "executed" / nb.name), p, str(tmp), cell_timeout))
        log(f"running {len(tasks)} notebook(s) on {data_dir} with {min(jobs, len(tasks))} worker(s)")
        if min(jobs, len(tasks)) == 1:
            outcomes = [_execute(*t) for t in tasks]
        else:
            with ProcessPoolExecutor(max_workers=min(jobs, len(tasks))) as pool:
                futures = [pool.submit(_execute, *t) for t in tasks]
                outcomes = [f.result() for f in futures]
        errors = {}
        for name, seconds, error in outcomes:
            result.timings[name] = round(seconds, 2)
            log(f"{name}: {'FAILED ' + error if error else 'ok'} ({seconds:.1f} s)")
            if error:
                result.failed.append(name)
                errors[name] = error
        for nb in books:
            executed = tmp / "executed" / nb.name
            if executed.exists():
                title = nb.stem.replace("_", " ")
                render_html(executed, tmp / "pages" / f"{nb.stem}.html", with_code=False, synthetic=synthetic, title=title)
                render_html(executed, tmp / "research" / f"{nb.stem}.html", with_code=True, synthetic=synthetic, title=title)
        _write_index(tmp, books, errors, synthetic=synthetic, parameters=base_params)
        manifest = {
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "parameters": base_params,
            "seed": seed,
            "inputs": {p.name: _sha256(p) for p in sorted(data_dir.iterdir()) if p.is_file()},
            "versions": _versions(),
            "timings": {**result.timings, "total": round(time.perf_counter() - started, 2)},
            "failed": result.failed,
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        _swap(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return result


def _known(nb: Path, _cache: dict = {}) -> dict:  # noqa: B006 - a deliberate per-process cache
    import papermill

    if nb not in _cache:
        _cache[nb] = papermill.inspect_notebook(str(nb))
    return _cache[nb]


def _swap(tmp: Path, out_dir: Path) -> None:
    """Put the finished run in place; the old report is removed only after the new one is in."""
    old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
    if out_dir.exists():
        out_dir.rename(old)
    tmp.rename(out_dir)
    shutil.rmtree(old, ignore_errors=True)


def _write_index(tmp: Path, books: list[Path], errors: dict, *, synthetic: bool, parameters: dict) -> None:
    items = []
    for nb in books:
        name = html.escape(nb.stem)
        mark = f' <span class="failed">failed: {html.escape(errors[nb.stem])}</span>' if nb.stem in errors else ""
        items.append(f'<li><a href="pages/{name}.html">{name}</a> '
                     f'(<a href="research/{name}.html">with code</a>){mark}</li>')
    tables = "".join(f'<li><a href="tables/{html.escape(p.name)}">{html.escape(p.name)}</a></li>'
                     for p in sorted((tmp / "tables").glob("*")))
    figures = "".join(f'<figure><img alt="{html.escape(p.stem)}" src="data:image/png;base64,{_b64(p)}"></figure>'
                      for p in sorted((tmp / "figures").glob("*.png"))[:3])
    params = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>"
                     for k, v in parameters.items())
    body = (f"<h1>Key clients and growth</h1><h2>Pages</h2><ul>{''.join(items)}</ul>"
            f"{('<h2>Key figures</h2>' + figures) if figures else ''}"
            f"<h2>Tables</h2><ul>{tables or '<li>none</li>'}</ul>"
            f"<h2>Run parameters</h2><table>{params}</table>")
    page = PAGE.format(lang="en", title="Key clients and growth", css=CSS, body=body,
                       banner=SYNTHETIC_BANNER if synthetic else "", footer=html.escape(CREDIT))
    (tmp / "index.html").write_text(page, encoding="utf-8")


def _b64(path: Path) -> str:
    import base64

    return base64.b64encode(path.read_bytes()).decode("ascii")
