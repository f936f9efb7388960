"""The ``keyclients`` command line: a thin layer over the package's Python API.

Exit codes: 0 done; 2 bad input or usage (one message, no traceback, nothing written);
1 the analysis itself failed (the report of what did render is kept); 130 / 143 stopped by SIGINT /
SIGTERM (workers and kernels ended, the partial report removed, the previous one kept).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, Optional, ParamSpec, TypedDict, TypeVar

import typer
import typer.core

from analysis.errors import InputError, KeyclientsError, Stopped

if TYPE_CHECKING:  # typer vendors click: its commands take the vendored click's context
    from typer._click.core import Context
    from typer.core import TyperOption


def _no_bool(opt: TyperOption | None) -> TyperOption | None:
    """``-h, --help`` shown without ``<bool>``: it takes no value."""
    if opt is not None:
        opt.metavar = ""
    return opt


class _Group(typer.core.TyperGroup):
    def get_help_option(self, ctx: Context) -> TyperOption | None:
        return _no_bool(super().get_help_option(ctx))


class _Command(typer.core.TyperCommand):
    def get_help_option(self, ctx: Context) -> TyperOption | None:
        return _no_bool(super().get_help_option(ctx))


app = typer.Typer(
    cls=_Group,
    add_completion=False,
    no_args_is_help=True,
    help="Sort a client base into kinds of key client and test which kinds move growth.",
    context_settings={"help_option_names": ["-h", "--help"]},
)


#: Boolean flags show no ``<bool>`` in ``--help``: they take no value.
FLAG = ""

# Options several commands take, declared once (one name, one help text).
ConfigOption = Annotated[Optional[Path],
                         typer.Option("--config",
                                      help="Data config (YAML) mapping files and columns.")]
RulebookOption = Annotated[Optional[Path],
                           typer.Option("--rulebook",
                                        help="Category rulebook (YAML); default: built in.")]
HypothesesOption = Annotated[Optional[Path],
                             typer.Option("--hypotheses",
                                          help="Hypotheses file (YAML); default: built in.")]
FreqOption = Annotated[Optional[str],
                       typer.Option("--freq",
                                    help="Periods: Q (quarters) or M (months); default: the "
                                    "config's freq, else Q.")]
WindowOption = Annotated[Optional[int],
                         typer.Option("--window", min=1,
                                      help="Periods in the trailing window; default: the "
                                      "config's window, else 4 quarters or 6 months.")]
PortfolioByOption = Annotated[Optional[str],
                              typer.Option("--portfolio-by",
                                           help="Sub-portfolios inside one company: a client "
                                           "or order column (account_manager, region, branch, "
                                           "channel, ...).")]
EngineOption = Annotated[Optional[str],
                         typer.Option("--engine",
                                      help="Aggregation engine: duckdb or spark (default: the "
                                      "config's engine, else duckdb).")]


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


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one clear message to stderr and exit with ``code`` (2: bad input, 1: analysis
    failed)."""
    typer.echo(f"keyclients: error: {message}", err=True)
    raise typer.Exit(code)


_P = ParamSpec("_P")
_R = TypeVar("_R")


def guarded(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """Turn the package's own errors into one message and the right exit code."""

    @functools.wraps(func)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return func(*args, **kwargs)
        except Stopped as exc:
            fail(f"stopped by {exc}; every worker and kernel ended, the partial report removed, "
                 "the previous report (if any) kept", exc.exit_code)
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
    out: Path = typer.Option(..., "--out",
                             help="Folder to write the world into (created if missing)."),
    portfolios: int = typer.Option(30, min=1, help="Number of portfolios (supplier units)."),
    periods: int = typer.Option(12, min=3, help="Number of periods."),
    freq: str = typer.Option("Q", help="Period frequency: Q (quarters) or M (months)."),
    start: Optional[str] = typer.Option(None,
                                        help="First period, e.g. 2022Q1 or 2022-01 (default 2023Q1 "
                                        "/ 2023-01); the same seed draws the same world from any "
                                        "start."),
    clients: int = typer.Option(40, min=5, help="Mean number of clients a portfolio starts with."),
    seed: int = typer.Option(1, help="Random seed: the same seed gives byte-identical files."),
    effects: str = typer.Option("default",
                                help="Planted effects: default, none (a null world), one-company "
                                "(default plus client-level effects) or a YAML file."),
    managers: int = typer.Option(0, min=0,
                                 help="0: a world of --portfolios portfolios; N ≥ 2: one company "
                                 "whose clients are served by N account managers (no portfolio "
                                 "column; keyclients.yaml sets portfolio_by)."),
    flavor: str = typer.Option("standard", help="standard (UTF-8 CSV, canonical names) or ru-1c "
                               "(a 1C export)."),
) -> None:
    """Write a synthetic client base with known truth (truth.json) and planted effects."""
    import time

    from analysis import synth as _synth

    if freq not in ("Q", "M"):
        raise InputError(f"--freq must be Q or M, got {freq!r}")
    command = _synth.synth_command(portfolios=portfolios, periods=periods, freq=freq,
                                   clients=clients,
                                   seed=seed, effects=effects, flavor=flavor, managers=managers,
                                   start=start)
    t0 = time.perf_counter()
    world = _synth.generate(portfolios=portfolios, periods=periods, freq=freq, clients=clients,
                            seed=seed,
                            effects=effects, flavor=flavor, command=command, managers=managers,
                            start=start)
    _synth.write_world(world, out, flavor=flavor)
    typer.echo(
        f"wrote {out}: {len(world.clients):,} clients, {len(world.transactions):,} order lines, "
        f"{len(world.events):,} events, {len(world.truth['effects'])} planted effects "
        f"({time.perf_counter() - t0:.1f} s)"
    )


def _sample_dir(name: str | None) -> Path:
    from analysis.config import SAMPLE_DIR, SAMPLES

    name = name or "panel"
    if name not in SAMPLES:
        raise InputError(f"--sample {name}: no such sample; use one of {', '.join(SAMPLES)} "
                         "(--sample alone: panel)")
    return SAMPLES[name] if name != "panel" else SAMPLE_DIR


def _check_freq(freq: str | None) -> str:
    if freq is None:
        return ""
    freq = freq.strip().upper()
    if freq not in ("Q", "M"):
        raise InputError(f"--freq must be Q (quarters) or M (months), got {freq!r}")
    return freq


def _validate_data(data_dir: Path, config: Path | None, freq: str, portfolio_by: str,
                   engine: str = "duckdb", stage: Path | None = None):
    """Every problem of the input at once (company by company for a folder of companies); with
    ``--engine spark`` canonical files are checked by Spark where they lie (the order lines do
    not come into this process), converted once into ``stage`` with the checks' outcome, which
    the run's study job then reads instead of the files (:func:`_spark_stage`)."""
    from analysis.ingest import validate as _validate
    from analysis.ingest.companies import company_folders, validate_companies
    from analysis.report.study import check_in_engine, settings

    folders = company_folders(data_dir)
    if engine == "spark" and not folders and not portfolio_by:
        st = settings(data_dir, config=config or "", freq=freq)
        # portfolio_by in the data config: the study reads the files in pandas (report.study), so a
        # check in Spark here would start a JVM and convert the files for nothing
        if not st.portfolio_by and check_in_engine(data_dir, st, engine, stage=stage or ""):
            return None
    if folders:
        if portfolio_by:
            raise InputError("--portfolio-by works on one company's data; with several company "
                             "folders each company is one portfolio")
        checked = validate_companies(folders, config=config, freq=freq or None)
    else:
        st = settings(data_dir, config=config or "", freq=freq, portfolio_by=portfolio_by)
        checked = _validate(data_dir, config=st.config if freq or portfolio_by else config)
        by = st.portfolio_by
        b = checked.base
        if checked.ok and by and b is not None:  # a base comes with every report without errors
            tx = b.transactions if b.transactions is not None else b.client_periods
            if by not in b.clients.columns and (tx is None or by not in tx.columns):
                from analysis.ingest.units import SUGGESTED

                raise InputError(
                    f"{data_dir}: portfolio_by {by!r} is a column of neither the clients table nor "
                    f"the order lines (clients: {', '.join(map(str, b.clients.columns))}; order "
                    f"lines: {', '.join(map(str, tx.columns)) if tx is not None else 'none'}); "
                    f"give one of those (e.g. {', '.join(SUGGESTED)}) as it is headed in the file")
    if not checked.ok:
        raise InputError(checked.message())
    return checked


@contextlib.contextmanager
def _spark_stage():
    """A staging folder for ``run --engine spark``: the CLI's check converts the files into it
    and records its outcome there; the folder is named in
    :data:`analysis.ingest.engine.STAGE_ENV` for the run's jobs (forked from this process), so the
    study is prepared from the Parquet without checking or reading the CSV files again. Removed,
    and the variable restored, when the run ends."""
    import os
    import shutil
    import tempfile

    from analysis.ingest.engine import STAGE_ENV

    folder = Path(tempfile.mkdtemp(prefix="keyclients-spark-"))
    before = os.environ.get(STAGE_ENV)
    os.environ[STAGE_ENV] = str(folder)
    try:
        yield folder
    finally:
        if before is None:
            os.environ.pop(STAGE_ENV, None)
        else:
            os.environ[STAGE_ENV] = before
        shutil.rmtree(folder, ignore_errors=True)


def _check_input(cleanup: contextlib.ExitStack, data_dir: Path, config: Path | None, freq: str,
                 portfolio_by: str, engine: str | None) -> None:
    """``run``'s check of the input (:func:`_validate_data`) with the engine ``resolve_engine``
    chooses; with Spark into a staging folder kept until ``cleanup`` closes at the end of the run
    (:func:`_spark_stage`)."""
    engine = resolve_engine(engine, config, data_dir)
    stage = cleanup.enter_context(_spark_stage()) if engine == "spark" else None
    _validate_data(data_dir, config, freq, portfolio_by, engine=engine, stage=stage)


class _RunOptions(TypedDict):
    """What ``run`` passes to both :func:`analysis.report.runner.run_report` and ``run_batch``."""

    data_dir: Path
    out_dir: Path
    seed: int
    jobs: int
    cell_timeout: int
    extra_parameters: dict[str, object]
    audience: str
    lang: str
    anonymize: bool
    anon_key: str | None
    csv_max_rows: int | None
    log: Callable[[str], None] | None


@app.command(cls=_Command)
@guarded
def run(
    which: Optional[str] = typer.Argument(None, show_default=False, help="With --sample: which "
                                          "bundled sample, panel (default; 50 portfolios × 16 "
                                          "quarters) or one-company (36 months, 8 account "
                                          "managers)."),
    sample: bool = typer.Option(False, "--sample", metavar=FLAG, help="Use a bundled synthetic "
                                "sample (`--sample one-company` for the second)."),
    data: list[Path] = typer.Option([], "--data", help="Folder with clients/transactions/events/"
                                    "kpis files; repeat it (or give a folder of company folders) "
                                    "for a research panel, one company per folder."),
    out: Optional[Path] = typer.Option(None, "--out", help="Report folder (default: reports/sample "
                                       "or reports/<data name>)."),
    config: ConfigOption = None,
    rulebook: RulebookOption = None,
    hypotheses: HypothesesOption = None,
    freq: FreqOption = None,
    window: WindowOption = None,
    portfolio_by: PortfolioByOption = None,
    audience: str = typer.Option("presentation", help="presentation (pages without code first) or "
                                 "research."),
    lang: str = typer.Option("en", "--lang", help="Report language: en or ru (every heading, label "
                             "and number format)."),
    anonymize: bool = typer.Option(False, "--anonymize", metavar=FLAG, help="Replace client names "
                                   "and ids by keyed pseudonyms everywhere."),
    anon_key: Optional[str] = typer.Option(None, "--anon-key", help="Key of the pseudonyms (same "
                                           "key, same pseudonyms; default: $KEYCLIENTS_ANON_KEY); "
                                           "without one a random key is drawn."),
    by: Optional[str] = typer.Option(None, "--by", help="portfolio: one report per portfolio plus "
                                     "an index comparing them."),
    seed: int = typer.Option(1, help="Seed for every random step of the analysis."),
    jobs: int = typer.Option(0, help="Notebooks run in parallel (0: one per core)."),
    timeout: int = typer.Option(600, help="Seconds a notebook cell may run."),
    engine: EngineOption = None,
    param: list[str] = typer.Option([], "--param", "-p", help="NAME=VALUE for a notebook "
                                    "parameter (repeatable), e.g. -p n_worlds=20."),
    quiet: bool = typer.Option(False, "--quiet", "-q", metavar=FLAG, help="No progress lines "
                               "(errors and the report's path only)."),
    csv_max_rows: Optional[int] = typer.Option(None, "--csv-max-rows", min=0, help="Tables longer "
                                               "than this are written as Parquet only (default: "
                                               "$KEYCLIENTS_CSV_MAX_ROWS, else 200000)."),
) -> None:
    """Run the notebooks on a client base and write the HTML report."""
    from analysis.report import runner as report

    if sample == bool(data):
        raise InputError("give exactly one of --sample or --data DIR")
    if which is not None and not sample:
        raise InputError(f"unexpected argument {which!r}; a sample name goes with --sample "
                         "(--sample one-company)")
    data_dir = _sample_dir(which) if sample else _data_folder(data)
    freq = _check_freq(freq)
    out_dir = out or Path("reports") / (("sample" if not which or which == "panel"
                                         else f"sample-{which}") if sample
                                        else ("companies" if len(data) > 1
                                              else data_dir.resolve().name))
    with contextlib.ExitStack() as cleanup:
        if not sample:  # bad data stops here with every problem listed, before any notebook runs
            _check_input(cleanup, data_dir, config, freq, portfolio_by or "", engine)
        extra = _notebook_parameters(data_dir, config=config, rulebook=rulebook,
                                     hypotheses=hypotheses, engine=engine,
                                     settings={"freq": freq, "window": window,
                                               "portfolio_by": portfolio_by}, param=param)
        from analysis.i18n import check_lang

        check_lang(lang)
        if anon_key and not anonymize:
            raise InputError("--anon-key is used only with --anonymize")
        common = _RunOptions(data_dir=data_dir, out_dir=out_dir, seed=seed, jobs=jobs,
                             cell_timeout=timeout, extra_parameters=extra, audience=audience,
                             lang=lang, anonymize=anonymize, anon_key=anon_key,
                             csv_max_rows=csv_max_rows,
                             log=None if quiet else (lambda msg: typer.echo(msg, err=True)))
        if by is not None:
            cfg = str(config.resolve()) if config else ""
            result = report.run_batch(by=by, config=cfg, **common)
        else:
            result = report.run_report(**common)
        typer.echo(f"report: {result.index}")
        if result.failed:
            fail(f"{len(result.failed)} notebook(s) failed: {', '.join(result.failed)}; see "
                 f"{result.index}", 1)


def _input_files(**paths: Path | None) -> dict[str, str]:
    """The ``--config``, ``--rulebook``, ``--hypotheses`` files given, resolved; a missing one stops
    here."""
    found = {}
    for name, path in paths.items():
        if path is not None:
            if not path.is_file():
                raise InputError(f"--{name} {path}: no such file")
            found[name] = str(path.resolve())
    return found


def _notebook_parameters(data_dir: Path, *, config: Path | None, rulebook: Path | None,
                         hypotheses: Path | None,
                         engine: str | None, settings: dict, param: list[str]) -> dict:
    """The notebooks' parameters from ``run``'s options; a broken rulebook or hypotheses file, or a
    parameter the notebooks do not take, stops here, before any notebook runs."""
    from analysis.report import runner as report

    extra: dict = _input_files(config=config, rulebook=rulebook, hypotheses=hypotheses)
    if rulebook is not None:
        from analysis.categories.rules import load_rulebook

        load_rulebook(rulebook)
    if hypotheses is not None:
        from analysis.growth.spec import load_hypotheses

        load_hypotheses(hypotheses)
    extra["engine"] = resolve_engine(engine, config, data_dir)
    for key, value in settings.items():
        if value:
            extra[key] = value
    for text in param:
        name, value = report.parse_param(text, report.list_notebooks())
        extra[name] = value
    return extra


def _data_folder(data: list[Path]) -> Path:
    """The one folder the pages read: ``--data`` itself, or, with several, a temporary folder of
    links to them (a folder of company folders; removed when the command ends)."""
    import atexit
    import shutil
    import tempfile

    from analysis.ingest.companies import names

    for folder in data:
        if not Path(folder).is_dir():
            raise InputError(f"{folder}: no such folder; --data takes the folder holding "
                             "clients.csv and transactions.csv")
    if len(data) == 1:
        return Path(data[0])
    links = Path(tempfile.mkdtemp(prefix="keyclients-companies-"))
    atexit.register(shutil.rmtree, links, True)
    for name, folder in zip(names(data), data):
        (links / name).symlink_to(Path(folder).resolve(), target_is_directory=True)
    return links


@app.command("init-config", cls=_Command)
@guarded
def init_config(
    data: Path = typer.Option(..., "--data",
                              help="Folder holding the export files (CSV, .txt, .xlsx, Parquet), "
                              "or one file of order lines."),
    out: Path = typer.Option(Path("keyclients.yaml"), "--out", help="Config file to write."),
    force: bool = typer.Option(False, "--force", metavar=FLAG,
                               help="Overwrite --out if it exists."),
    dry_run: bool = typer.Option(False, "--dry-run", metavar=FLAG,
                                 help="Print the proposal and the evidence for each decision "
                                 "(overlap, value samples); write nothing."),
) -> None:
    """Propose a commented data config mapping the files' columns to canonical names."""
    from analysis.ingest.propose import make_proposal, write_config

    if dry_run:
        proposal = make_proposal(data)
        typer.echo("# evidence for each decision:")
        for line in proposal.evidence:
            typer.echo(f"#   {line}")
        typer.echo(proposal.text)
        for item in proposal.todo:
            typer.echo(f"  TODO {item}", err=True)
        return
    summary = write_config(data, out, force=force)
    found = ", ".join(f"{t} ← {f}" for t, f in summary["tables"].items()) or "no table recognised"
    typer.echo(f"wrote {out}: {found}")
    for item in summary["todo"]:
        typer.echo(f"  TODO {item}", err=True)
    typer.echo(f"check it (--dry-run shows why each column was chosen), then: "
               f"keyclients validate --data {data} --config {out}", err=True)


@app.command(cls=_Command)
@guarded
def validate(
    data: Optional[Path] = typer.Option(None, "--data",
                                        help="Folder holding the client base files, one file "
                                        "of order lines, or a folder of company folders."),
    config: ConfigOption = None,
    freq: Optional[str] = typer.Option(None, "--freq",
                                       help="Periods: Q (quarters) or M (months); default: the "
                                       "config's freq."),
    portfolio_by: Optional[str] = typer.Option(None, "--portfolio-by",
                                               help="Check that this client or order column exists "
                                               "(sub-portfolios inside one company)."),
) -> None:
    """Check a client base: every problem at once, by file, column and line; exit 2 on errors."""
    from analysis.ingest import validate as _validate

    freq = _check_freq(freq)
    if data is not None and data.is_dir():
        report = _validate_data(data, config, freq, portfolio_by or "")
    else:
        report = _validate(data, config=config)
        if not report.ok:
            fail(report.message(), 2)
    for note in report.notes:
        typer.echo(f"  {note}", err=True)
    if len(report.warnings):
        typer.echo(report.message().replace("; nothing was written", ""))
    typer.echo("counts (the data-quality page shows the same):")
    typer.echo(report.summary())
    base = report.base
    typer.echo(f"ok: {len(base.clients):,} clients" + (
        f", {len(base.transactions):,} order lines" if base.transactions is not None else "") + (
        f", {len(base.events):,} events" if base.events is not None else ""))


@app.command("init-rulebook", cls=_Command)
@guarded
def init_rulebook(
    out: Path = typer.Option(Path("rulebook.yaml"), "--out",
                             help="Where to write the copy (default ./rulebook.yaml)."),
    force: bool = typer.Option(False, "--force", metavar=FLAG, help="Overwrite an existing file."),
) -> None:
    """Copy the default rulebook (the rules of the six kinds) for editing."""
    from analysis.categories.rules import copy_default_rulebook

    written = copy_default_rulebook(out, force=force)
    typer.echo(f"wrote {written}; edit it and pass --rulebook {out}")


@app.command("classify", cls=_Command)
@guarded
def classify_cmd(
    data: Path = typer.Option(..., "--data",
                              help="Folder with clients/transactions/events/kpis files."),
    out: Path = typer.Option(..., "--out", help="The membership table to write (.csv)."),
    config: ConfigOption = None,
    rulebook: RulebookOption = None,
    engine: EngineOption = None,
    window: WindowOption = None,
    freq: FreqOption = None,
    portfolio_by: PortfolioByOption = None,
    per_portfolio: bool = typer.Option(False, "--per-portfolio", metavar=FLAG,
                                       help="Relative thresholds within each portfolio "
                                       "(descriptive only)."),
    changes: Optional[Path] = typer.Option(None, "--changes",
                                           help="Also write category_changes.csv here."),
    claims: Optional[Path] = typer.Option(None, "--claims",
                                          help="Also write article_claims.csv here."),
    sensitivity: Optional[Path] = typer.Option(None, "--sensitivity",
                                               help="Also write sensitivity.csv here."),
) -> None:
    """Sort the clients into the six kinds and write the membership table with reason codes
    (their texts in ``<out>_reasons.csv`` beside it)."""
    from analysis.categories import rules as _cat
    from analysis.report import study

    engine = resolve_engine(engine, config, data)
    if out.suffix.lower() != ".csv":
        raise InputError(f"--out {out}: give a .csv file name")
    _cat.load_rulebook(rulebook)  # a broken rulebook stops here, before any work
    if not data.is_dir():
        raise InputError(f"{data}: no such folder; --data takes the folder holding clients.csv and "
                         "transactions.csv")
    s = study.prepare(data, config=config or "", rulebook=rulebook or "", window=window or 0,
                      engine=engine,
                      freq=_check_freq(freq), portfolio_by=portfolio_by or "",
                      per_portfolio=per_portfolio)
    membership, panel, base, book, feats = s.membership, s.panel, s.base, s.rulebook, s.features
    kw = s.kw
    tables = {out: membership,
              out.with_name(out.stem + "_reasons.csv"): _cat.reasons_table(membership)}
    if changes is not None:
        tables[changes] = _cat.category_changes(membership)
    if sensitivity is not None:
        tables[sensitivity] = _cat.sensitivity(panel, base.clients, rulebook=book, features=feats,
                                               **kw)
    if claims is not None:
        from analysis.categories.claims import article_claims

        tables[claims] = article_claims(panel, base.clients, rulebook=book, features=feats, **kw)
    for path, frame in tables.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        frame.to_csv(tmp, index=False)
        tmp.replace(path)
    summary = _cat.status_summary(membership)
    for row in summary.itertuples():
        if row.status == "ok":
            typer.echo(f"{row.category}: {row.members:,} of {row.rows:,} client-periods "
                       f"({row.share:.1%})")
        elif row.status == "not_computable":
            typer.echo(f"{row.category}: not computed — {row.reason}", err=True)
    typer.echo(f"wrote {', '.join(str(p) for p in tables)}")


@app.command("plan", cls=_Command, help="What these data can test: per hypothesis and design, "
             "usable rows, G, T, MDE and what more data would need.")
@guarded
def plan_cmd(
    data: Optional[Path] = typer.Option(None, "--data",
                                        help="Folder with clients/transactions/events/kpis files."),
    sample: bool = typer.Option(False, "--sample", metavar=FLAG,
                                help="Plan the bundled synthetic sample instead."),
    config: ConfigOption = None,
    rulebook: RulebookOption = None,
    hypotheses: HypothesesOption = None,
    window: WindowOption = None,
    freq: FreqOption = None,
    portfolio_by: PortfolioByOption = None,
    engine: EngineOption = None,
    lang: str = typer.Option("en", "--lang", help="Language of the reasons: en or ru."),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write the plan as CSV here."),
) -> None:
    """The ``plan`` command (its help is the decorator's: one line on the terminal)."""
    if lang not in ("en", "ru"):
        raise InputError(f"--lang must be one of en, ru, got {lang!r}")
    if sample == (data is not None):
        raise InputError("give exactly one of --sample or --data DIR")
    if data is not None:
        if not data.is_dir():
            raise InputError(f"{data}: no such folder; --data takes the folder holding clients.csv "
                             "and transactions.csv")
        from analysis.ingest import validate as _validate

        checked = _validate(data, config=config)
        if not checked.ok:
            raise InputError(checked.message())
    _input_files(config=config, rulebook=rulebook, hypotheses=hypotheses)
    if out is not None and out.suffix.lower() != ".csv":
        raise InputError(f"--out {out}: give a .csv file name")
    from analysis.report import planner  # after the checks: a usage error answers at once

    table = planner.plan_for(data or "", config=config or "", rulebook=rulebook or "",
                             hypotheses=hypotheses,
                             window=window or 0, engine=resolve_engine(engine, config, data),
                             freq=freq or "",
                             portfolio_by=portfolio_by or "")
    typer.echo(planner.format_plan(table, lang))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        table.to_csv(tmp, index=False)
        tmp.replace(out)
        typer.echo(f"wrote {out}", err=True)


def main() -> None:  # pragma: no cover - console entry point alias
    app(prog_name="keyclients")


if __name__ == "__main__":  # pragma: no cover
    main()
