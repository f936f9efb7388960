"""The ``keyclients`` command line: a thin layer over the package's Python API.

Exit codes: 0 done; 2 bad input or usage (one message, no traceback, nothing written);
1 the analysis itself failed (the report of what did render is kept).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
import typer.core

from analysis.errors import InputError, KeyclientsError

class _NoBoolHelp:
    """``-h, --help`` shown without ``<bool>``: it takes no value."""

    def get_help_option(self, ctx):
        opt = super().get_help_option(ctx)
        if opt is not None:
            opt.metavar = ""
        return opt


class _Group(_NoBoolHelp, typer.core.TyperGroup):
    pass


class _Command(_NoBoolHelp, typer.core.TyperCommand):
    pass


app = typer.Typer(
    cls=_Group,
    add_completion=False,
    no_args_is_help=True,
    help="Sort a client base into kinds of key client and test which kinds move growth.",
    context_settings={"help_option_names": ["-h", "--help"]},
)


#: Boolean flags show no ``<bool>`` in ``--help``: they take no value.
FLAG = ""


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"keyclients {version('keyclients')}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", metavar=FLAG, callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Sort a client base into kinds of key client and test which kinds move growth."""


def fail(message: str, code: int = 2) -> None:
    """Print one clear message to stderr and exit with ``code`` (2: bad input, 1: analysis failed)."""
    typer.echo(f"keyclients: error: {message}", err=True)
    raise typer.Exit(code)


def guarded(func):
    """Turn the package's own errors into one message and the right exit code."""
    import functools

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except InputError as exc:
            fail(str(exc), 2)
        except KeyclientsError as exc:
            fail(str(exc), 1)

    return wrapper


def resolve_engine(engine: str | None, config: Path | None, data: Path | None = None) -> str:
    """``--engine`` if given, else ``engine:`` of the data config (``--config``, or a
    ``keyclients.yaml`` beside the data), else ``duckdb``."""
    if config is None and data is not None and (Path(data) / "keyclients.yaml").is_file():
        config = Path(data) / "keyclients.yaml"
    if engine is None and config is not None and Path(config).is_file():
        from analysis.ingest import read_config

        engine = read_config(config).engine
    engine = engine or "duckdb"
    if engine not in ("duckdb", "spark"):
        raise InputError(f"--engine must be duckdb or spark, got {engine!r}")
    return engine


@app.command(cls=_Command)
@guarded
def synth(
    out: Path = typer.Option(..., "--out", help="Folder to write the world into (created if missing)."),
    portfolios: int = typer.Option(30, min=1, help="Number of portfolios (supplier units)."),
    periods: int = typer.Option(12, min=3, help="Number of periods."),
    freq: str = typer.Option("Q", help="Period frequency: Q (quarters) or M (months)."),
    clients: int = typer.Option(40, min=5, help="Mean number of clients a portfolio starts with."),
    seed: int = typer.Option(1, help="Random seed: the same seed gives byte-identical files."),
    effects: str = typer.Option("default", help="Planted effects: default, none (a null world) or a YAML file."),
    flavor: str = typer.Option("standard", help="standard (UTF-8 CSV, canonical names) or ru-1c (a 1C export)."),
) -> None:
    """Write a synthetic client base with known truth (truth.json) and planted effects."""
    import time

    from analysis import synth as _synth

    if freq not in ("Q", "M"):
        raise InputError(f"--freq must be Q or M, got {freq!r}")
    command = _synth.synth_command(portfolios=portfolios, periods=periods, freq=freq, clients=clients,
                                   seed=seed, effects=effects, flavor=flavor)
    start = time.perf_counter()
    world = _synth.generate(portfolios=portfolios, periods=periods, freq=freq, clients=clients, seed=seed,
                            effects=effects, flavor=flavor, command=command)
    _synth.write_world(world, out, flavor=flavor)
    typer.echo(
        f"wrote {out}: {len(world.clients):,} clients, {len(world.transactions):,} order lines, "
        f"{len(world.events):,} events, {len(world.truth['effects'])} planted effects "
        f"({time.perf_counter() - start:.1f} s)"
    )


@app.command(cls=_Command)
@guarded
def run(
    sample: bool = typer.Option(False, "--sample", metavar=FLAG, help="Use the bundled synthetic sample data."),
    data: Optional[Path] = typer.Option(None, "--data", help="Folder with clients/transactions/events/kpis files."),
    out: Optional[Path] = typer.Option(None, "--out", help="Report folder (default: reports/sample or reports/<data name>)."),
    config: Optional[Path] = typer.Option(None, "--config", help="Data config (YAML) mapping files and columns."),
    rulebook: Optional[Path] = typer.Option(None, "--rulebook", help="Category rulebook (YAML); default: built in."),
    hypotheses: Optional[Path] = typer.Option(None, "--hypotheses", help="Hypotheses file (YAML); default: built in."),
    audience: str = typer.Option("presentation", help="presentation (pages without code first) or research."),
    lang: str = typer.Option("en", "--lang", help="Report language: en or ru (every heading, label and number format)."),
    anonymize: bool = typer.Option(False, "--anonymize", metavar=FLAG, help="Replace client names and ids by keyed pseudonyms everywhere."),
    anon_key: Optional[str] = typer.Option(None, "--anon-key", help="Key of the pseudonyms (same key, same pseudonyms; "
                                           "default: $KEYCLIENTS_ANON_KEY); without one a random key is drawn."),
    by: Optional[str] = typer.Option(None, "--by", help="portfolio: one report per portfolio plus an index comparing them."),
    seed: int = typer.Option(1, help="Seed for every random step of the analysis."),
    jobs: int = typer.Option(0, help="Notebooks run in parallel (0: one per core)."),
    timeout: int = typer.Option(600, help="Seconds a notebook cell may run."),
    engine: Optional[str] = typer.Option(None, "--engine", help="Aggregation engine: duckdb or spark (default: the config's engine, else duckdb)."),
    param: list[str] = typer.Option([], "--param", "-p", help="NAME=VALUE for a notebook parameter (repeatable), "
                                                              "e.g. -p n_worlds=20."),
) -> None:
    """Run the notebooks on a client base and write the HTML report."""
    from analysis import report
    from analysis.config import SAMPLE_DIR

    if sample == (data is not None):
        raise InputError("give exactly one of --sample or --data DIR")
    data_dir = SAMPLE_DIR if sample else Path(data)
    if not data_dir.is_dir():
        raise InputError(f"{data_dir}: no such folder; --data takes the folder holding clients.csv and transactions.csv")
    out_dir = out or Path("reports") / ("sample" if sample else data_dir.resolve().name)
    if not sample:  # bad data stops here with every problem listed, before any notebook runs
        from analysis.ingest import validate as _validate

        checked = _validate(data_dir, config=config)
        if not checked.ok:
            raise InputError(checked.message())
    extra = {}
    for name, path in (("config", config), ("rulebook", rulebook), ("hypotheses", hypotheses)):
        if path is not None:
            if not path.is_file():
                raise InputError(f"--{name} {path}: no such file")
            extra[name] = str(path.resolve())
    if rulebook is not None:
        from analysis.categories import load_rulebook

        load_rulebook(rulebook)  # a broken rulebook stops here, before any notebook runs
    if hypotheses is not None:
        from analysis.hypotheses import load_hypotheses

        load_hypotheses(hypotheses)
    extra["engine"] = resolve_engine(engine, config, data_dir)
    for text in param:
        name, value = report.parse_param(text, report.list_notebooks())
        extra[name] = value
    from analysis.i18n import check_lang

    check_lang(lang)
    if anon_key and not anonymize:
        raise InputError("--anon-key is used only with --anonymize")
    common = dict(data_dir=data_dir, out_dir=out_dir, seed=seed, jobs=jobs, cell_timeout=timeout,
                  extra_parameters=extra, audience=audience, lang=lang, anonymize=anonymize, anon_key=anon_key,
                  log=lambda msg: typer.echo(msg, err=True))
    if by is not None:
        result = report.run_batch(by=by, config=str(config.resolve()) if config else "", **common)
    else:
        result = report.run_report(**common)
    typer.echo(f"report: {result.index}")
    if result.failed:
        fail(f"{len(result.failed)} notebook(s) failed: {', '.join(result.failed)}; see {result.index}", 1)


@app.command("init-config", cls=_Command)
@guarded
def init_config(
    data: Path = typer.Option(..., "--data", help="Folder holding the export files (CSV, .xlsx, Parquet)."),
    out: Path = typer.Option(Path("keyclients.yaml"), "--out", help="Config file to write."),
    force: bool = typer.Option(False, "--force", metavar=FLAG, help="Overwrite --out if it exists."),
) -> None:
    """Propose a commented data config mapping the files' columns to canonical names."""
    from analysis.ingest.propose import write_config

    summary = write_config(data, out, force=force)
    found = ", ".join(f"{t} ← {f}" for t, f in summary["tables"].items()) or "no table recognised"
    typer.echo(f"wrote {out}: {found}")
    for item in summary["todo"]:
        typer.echo(f"  TODO {item}", err=True)
    typer.echo(f"check it, then: keyclients validate --data {data} --config {out}", err=True)


@app.command(cls=_Command)
@guarded
def validate(
    data: Optional[Path] = typer.Option(None, "--data", help="Folder holding the client base files."),
    config: Optional[Path] = typer.Option(None, "--config", help="Data config (YAML) mapping files and columns."),
) -> None:
    """Check a client base: every problem at once, by file, column and line; exit 2 on errors."""
    from analysis.ingest import validate as _validate

    report = _validate(data, config=config)
    if not report.ok:
        fail(report.message(), 2)
    for note in report.notes:
        typer.echo(f"  {note}", err=True)
    if len(report.warnings):
        typer.echo(report.message().replace("; nothing was written", ""))
    base = report.base
    typer.echo(f"ok: {len(base.clients):,} clients" + (
        f", {len(base.transactions):,} order lines" if base.transactions is not None else "") + (
        f", {len(base.events):,} events" if base.events is not None else ""))


@app.command("init-rulebook", cls=_Command)
@guarded
def init_rulebook(
    out: Path = typer.Option(Path("rulebook.yaml"), "--out", help="Where to write the copy (default ./rulebook.yaml)."),
    force: bool = typer.Option(False, "--force", metavar=FLAG, help="Overwrite an existing file."),
) -> None:
    """Copy the default rulebook (the rules of the six kinds) for editing."""
    from analysis.categories import copy_default_rulebook

    typer.echo(f"wrote {copy_default_rulebook(out, force=force)}; edit it and pass --rulebook {out}")


@app.command("classify", cls=_Command)
@guarded
def classify_cmd(
    data: Path = typer.Option(..., "--data", help="Folder with clients/transactions/events/kpis files."),
    out: Path = typer.Option(..., "--out", help="The membership table to write (.csv)."),
    config: Optional[Path] = typer.Option(None, "--config", help="Data config (column mapping) YAML."),
    rulebook: Optional[Path] = typer.Option(None, "--rulebook", help="Rulebook YAML (default: the built-in one)."),
    engine: Optional[str] = typer.Option(None, "--engine", help="Aggregation engine: duckdb or spark (default: the config's engine, else duckdb)."),
    window: int = typer.Option(4, "--window", min=1, help="Periods in the trailing window."),
    per_portfolio: bool = typer.Option(False, "--per-portfolio", metavar=FLAG, help="Relative thresholds within each portfolio (descriptive only)."),
    changes: Optional[Path] = typer.Option(None, "--changes", help="Also write category_changes.csv here."),
    claims: Optional[Path] = typer.Option(None, "--claims", help="Also write article_claims.csv here."),
    sensitivity: Optional[Path] = typer.Option(None, "--sensitivity", help="Also write sensitivity.csv here."),
) -> None:
    """Sort the clients into the six kinds and write the membership table with reasons."""
    import inspect

    from analysis import categories as _cat
    from analysis.ingest import load
    from analysis.panel import client_period_panel

    engine = resolve_engine(engine, config, data)
    if out.suffix.lower() != ".csv":
        raise InputError(f"--out {out}: give a .csv file name")
    book = _cat.load_rulebook(rulebook)  # a broken rulebook stops here, before any work
    base = load(data, config=config)
    if base.transactions is None:
        raise InputError(f"{data}: classify needs order lines (transactions); none were found")
    if "engine" in inspect.signature(client_period_panel).parameters:
        panel = client_period_panel(base, engine=engine)
    elif engine != "duckdb":
        raise InputError(f"--engine {engine} is not available in this installation; use --engine duckdb")
    else:
        panel = client_period_panel(base)
    kw = dict(window=window, kpis=base.kpis, events=base.events, transactions=base.transactions)
    from analysis.features import client_features

    feats = client_features(panel, base.clients, **kw)
    membership = _cat.classify(panel, base.clients, rulebook=book, per_portfolio=per_portfolio,
                               features=feats, **kw)
    tables = {out: membership}
    if changes is not None:
        tables[changes] = _cat.category_changes(membership)
    if sensitivity is not None:
        tables[sensitivity] = _cat.sensitivity(panel, base.clients, rulebook=book, features=feats, **kw)
    if claims is not None:
        from analysis.claims import article_claims

        tables[claims] = article_claims(panel, base.clients, rulebook=book, features=feats, **kw)
    for path, frame in tables.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        frame.to_csv(tmp, index=False)
        tmp.replace(path)
    summary = _cat.status_summary(membership)
    for row in summary.itertuples():
        if row.status == "ok":
            typer.echo(f"{row.category}: {row.members:,} of {row.rows:,} client-periods ({row.share:.1%})")
        elif row.status == "not_computable":
            typer.echo(f"{row.category}: not computed — {row.reason}", err=True)
    typer.echo(f"wrote {', '.join(str(p) for p in tables)}")


def main() -> None:  # pragma: no cover - console entry point alias
    app(prog_name="keyclients")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
