"""Run the notebooks with papermill and publish them as one offline HTML report.

The run is built in a temporary folder beside the report folder and swapped into place only when
complete: an interrupted run leaves the previous report intact and no half-written one. A
notebook that fails still renders (with papermill's error banner), is marked in the index, and
makes the exit code 1; the others go on.
"""

from __future__ import annotations

import functools
import hashlib
import html
import json
import os
import re
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
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
td.sentence_en, td.sentence_ru { text-align: left; max-width: 32rem; }
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


_TYPES = {"int": int, "str": str, "float": (int, float), "bool": bool}


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
            raise InputError(f"{Path(notebook).name}: unknown parameter {name!r}; it takes {', '.join(sorted(known))}")
        expected = _TYPES.get(str(known[name].get("inferred_type_name", "")).strip())
        if expected is not None and (not isinstance(value, expected) or (expected is int and isinstance(value, bool))):
            raise InputError(f"{Path(notebook).name}: parameter {name} must be {known[name]['inferred_type_name']}, "
                             f"got {value!r}")
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


def _execute(notebook: str, output: str, parameters: dict, cwd: str, cell_timeout: int) -> tuple[str, float, str]:
    """Worker: execute one notebook with papermill (in its own process)."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    start = time.perf_counter()
    error = ""
    # the kernel inherits this worker's stderr: keep its chatter in a log beside the executed notebook
    log_file = open(Path(output).with_suffix(".log"), "w", encoding="utf-8")
    os.dup2(log_file.fileno(), 2)
    try:
        papermill.execute_notebook(notebook, output, parameters=parameters, kernel_name=KERNEL,
                                   progress_bar=False, cwd=cwd, start_timeout=START_TIMEOUT,
                                   execution_timeout=cell_timeout, log_output=False)
    except PapermillExecutionError as exc:
        error = f"{exc.ename}: {exc.evalue}"
    except Exception as exc:  # a kernel that dies or times out: the notebook is marked failed
        error = f"{exc.__class__.__name__}: {exc}"
    finally:
        log_file.close()
    return Path(notebook).stem, time.perf_counter() - start, error


def render_html(executed: Path, out: Path, *, with_code: bool, synthetic: bool, title: str) -> None:
    """One executed notebook → one self-contained HTML page (no script, images inline)."""
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor
    from traitlets.config import Config

    cfg = Config()
    cfg.TagRemovePreprocessor.remove_cell_tags = {"parameters", "injected-parameters", "remove-cell"}
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
               audience: str = "presentation", log: Callable[[str], None] = print) -> RunResult:
    """Execute the notebooks on ``data_dir`` and publish the report into ``out_dir``.

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
        errors = {}
        progress = _Progress(len(tasks), log)
        with ProcessPoolExecutor(max_workers=min(jobs, len(tasks))) as pool:
            futures = [pool.submit(_execute, *t) for t in tasks]
            for future in as_completed(futures):
                name, seconds, error = future.result()
                result.timings[name] = round(seconds, 2)
                progress.done(name, seconds, error)
                if error:
                    errors[name] = error
        result.failed = [nb.stem for nb in books if nb.stem in errors]
        for nb in books:
            executed = tmp / "executed" / nb.name
            if executed.exists():
                title = nb.stem.replace("_", " ")
                render_html(executed, tmp / "pages" / f"{nb.stem}.html", with_code=False, synthetic=synthetic, title=title)
                render_html(executed, tmp / "research" / f"{nb.stem}.html", with_code=True, synthetic=synthetic, title=title)
        write_workbook(tmp / "tables")
        _write_index(tmp, books, errors, synthetic=synthetic, parameters=base_params, audience=audience)
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
                 audience: str = "presentation") -> None:
    folder = "pages" if audience == "presentation" else "research"
    other = "research" if folder == "pages" else "pages"
    other_label = "with code" if folder == "pages" else "without code"
    items = []
    for nb in books:
        name = html.escape(nb.stem)
        mark = f' <span class="failed">failed: {html.escape(errors[nb.stem])}</span>' if nb.stem in errors else ""
        items.append(f'<li><a href="{folder}/{name}.html">{name.replace("_", " ")}</a> '
                     f'(<a href="{other}/{name}.html">{other_label}</a>){mark}</li>')
    tables = "".join(f'<li><a href="tables/{html.escape(p.name)}">{html.escape(p.name)}</a></li>'
                     for p in sorted((tmp / "tables").glob("*")))
    key_figures = sorted((tmp / "figures").glob("key_*.png")) or sorted((tmp / "figures").glob("*.png"))
    figures = "".join(f'<figure><img alt="{html.escape(p.stem)}" src="data:image/png;base64,{_b64(p)}"></figure>'
                      for p in key_figures[:3])
    verdicts = _verdict_table(tmp / "tables" / "hypotheses.csv")
    params = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>"
                     for k, v in parameters.items())
    body = (f"<h1>Key clients and growth</h1>"
            f"{('<h2>Verdicts</h2>' + verdicts) if verdicts else ''}"
            f"{('<h2>Key figures</h2>' + figures) if figures else ''}"
            f"<h2>Pages</h2><ul>{''.join(items)}</ul>"
            f"<h2>Tables</h2><ul>{tables or '<li>none</li>'}</ul>"
            f"<h2>Run parameters</h2><table>{params}</table>")
    page = PAGE.format(lang="en", title="Key clients and growth", css=CSS, body=body,
                       banner=SYNTHETIC_BANNER if synthetic else "", footer=html.escape(CREDIT))
    (tmp / "index.html").write_text(page, encoding="utf-8")


def _verdict_table(path: Path) -> str:
    """The confirmatory verdicts as an HTML table (every cell escaped), or '' when absent."""
    if not path.is_file():
        return ""
    import pandas as pd

    df = pd.read_csv(path)
    cols = [c for c in ("category", "outcome", "lag", "std_effect", "ci_low", "ci_high", "p_adj", "verdict",
                        "sentence_en") if c in df.columns]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    rows = []
    for rec in df[cols].itertuples(index=False):
        cells = []
        for c, v in zip(cols, rec):
            text = f"{v:.3g}" if isinstance(v, float) else str(v)
            cells.append(f'<td class="{html.escape(c)}">{html.escape(text)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


class _Progress:
    """A progress bar on a terminal, plain log lines otherwise."""

    def __init__(self, total: int, log: Callable[[str], None]):
        self.total, self.n, self.log = total, 0, log
        self.tty = sys.stderr.isatty() and log is not None

    def done(self, name: str, seconds: float, error: str) -> None:
        self.n += 1
        status = f"FAILED ({error})" if error else "ok"
        if self.tty:
            bar = "#" * int(20 * self.n / self.total)
            sys.stderr.write(f"\r[{bar:<20}] {self.n}/{self.total} {name}: {status} ({seconds:.1f} s)\033[K")
            if self.n == self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()
        else:
            self.log(f"[{self.n}/{self.total}] {name}: {status} ({seconds:.1f} s)")


def save_table(df, name: str, tables_dir: str | Path | None) -> None:
    """Write a table shown in a notebook to ``tables/<name>.csv`` (tidy, unrounded, UTF-8)."""
    if tables_dir:
        path = Path(tables_dir) / f"{name}.csv"
        df.to_csv(path, index=False, encoding="utf-8")


def save_figure(fig, name: str, figures_dir: str | Path | None) -> None:
    """Write a figure shown in a notebook to ``figures/<name>.png`` (``key_*`` go on the index)."""
    if figures_dir:
        fig.savefig(Path(figures_dir) / f"{name}.png", dpi=110, bbox_inches="tight")


def write_workbook(tables_dir: Path, *, max_rows: int = 1_000_000) -> Path | None:
    """Every CSV of the run as one sheet of ``tables.xlsx`` (for analysts who live in Excel)."""
    import pandas as pd

    csvs = sorted(Path(tables_dir).glob("*.csv"))
    if not csvs:
        return None
    path = Path(tables_dir) / "tables.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        for csv in csvs:
            df = pd.read_csv(csv, nrows=max_rows)
            df.to_excel(xl, sheet_name=csv.stem[:31], index=False)
    return path


def _b64(path: Path) -> str:
    import base64

    return base64.b64encode(path.read_bytes()).decode("ascii")


def bullets(texts) -> "IPython.display.HTML":  # noqa: F821 - IPython is imported lazily
    """A bulleted list for a notebook page, every text HTML-escaped (text may come from the data)."""
    from IPython.display import HTML

    return HTML("<ul>" + "".join(f"<li>{html.escape(str(t))}</li>" for t in texts) + "</ul>")


def paragraph(text: str) -> "IPython.display.HTML":  # noqa: F821
    """One paragraph of computed text for a notebook page, HTML-escaped."""
    from IPython.display import HTML

    return HTML(f"<p>{html.escape(str(text))}</p>")
