"""Read a client base into canonical tables (DESIGN.md, "Data").

One entry point, :func:`load`, takes a folder of files with canonical names (``clients``,
``transactions``, ``events``, ``client_periods``, ``kpis`` as ``.csv``, ``.csv.gz``, ``.tsv``,
``.txt``, ``.xlsx`` or ``.parquet``) and/or a data config (:mod:`analysis.ingest.dataconfig`) that
names other files, sheets or SQL sources and maps their columns. How each file is written
(encoding, delimiter, decimal comma, thousands separators, date format, «Да/Нет», title and total
rows) is detected and can be fixed in the config. :func:`validate` reports every problem at once;
:func:`load` raises :class:`~analysis.errors.InputError` with that report when any is an error.

Modules: ``readers`` (files → raw cells), ``mapping`` (headers → canonical names, synonyms),
``parse`` (cells → typed values), ``tables`` (one table, cross-table checks), ``validation``
(the problem list, pandera schemas), ``dataconfig`` (the config model), ``propose`` (init-config).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.errors import InputError
from analysis.ingest.dataconfig import DataConfig, TableSpec, parse_config, read_config
from analysis.ingest.mapping import REQUIRED, SCHEMA
from analysis.ingest.readers import RawTable, find_file, read_sql, read_table
from analysis.ingest.tables import build_table, cross_checks, fill_portfolio
from analysis.ingest.validation import Problems, format_problems

TABLES = ("clients", "transactions", "events", "kpis")
ALL_TABLES = ("clients", "transactions", "events", "client_periods", "kpis")

__all__ = ["ClientBase", "DataConfig", "ValidationReport", "load", "read_config", "validate", "TABLES", "REQUIRED"]


@dataclass
class ClientBase:
    """The canonical tables of one client base; absent tables are ``None``.

    Column types: ids and labels ``str``; ``date`` datetime64; money ``float64`` (rounded to cents,
    summed exactly as DECIMAL in the engine); yes/no columns pandas ``boolean``; ``founded_year``
    ``Int64``; kpi ``period`` labels like ``2024Q1``. Every table has a fresh RangeIndex.
    """

    clients: pd.DataFrame
    transactions: pd.DataFrame | None = None
    events: pd.DataFrame | None = None
    kpis: pd.DataFrame | None = None
    source: Path | None = None
    notes: list[str] = field(default_factory=list)
    synthetic: bool = False
    client_periods: pd.DataFrame | None = None


@dataclass
class ValidationReport:
    """What :func:`validate` found.

    ``problems`` has one row per problem: ``severity`` (error/warning), ``file``, ``column``,
    ``check``, ``count``, ``lines`` (the first offending source lines), ``fix``. ``base`` holds the
    tables when there is no error.
    """

    problems: pd.DataFrame
    base: ClientBase | None
    notes: list[str]
    source: str

    @property
    def ok(self) -> bool:
        return not (self.problems["severity"] == "error").any()

    @property
    def errors(self) -> pd.DataFrame:
        return self.problems[self.problems["severity"] == "error"]

    @property
    def warnings(self) -> pd.DataFrame:
        return self.problems[self.problems["severity"] == "warning"]

    def message(self) -> str:
        n_err, n_warn = len(self.errors), len(self.warnings)
        head = (f"{self.source}: {n_err} error(s)" + (f", {n_warn} warning(s)" if n_warn else "")
                + " in the input; nothing was written")
        return format_problems(self.problems, header=head)


#: A config with this name beside the data is used when no other is given (so ``run --data DIR``
#: reads exports that need a mapping).
DEFAULT_CONFIG = "keyclients.yaml"


def _config(config, data: Path | None) -> tuple[DataConfig, Path]:
    here = None
    if config is None and data is not None and (data / DEFAULT_CONFIG).is_file():
        config = data / DEFAULT_CONFIG
    if config is None:
        cfg = DataConfig()
    elif isinstance(config, DataConfig):
        cfg = config
    elif isinstance(config, dict):
        cfg = parse_config(config)
    else:
        cfg = read_config(config)
        here = Path(config).resolve().parent
    base = data
    if base is None and cfg.data:
        base = here / cfg.data if here is not None else Path(cfg.data)
    elif base is None:
        base = here
    if base is None:
        raise InputError("give the data folder (--data DIR) or a config file naming the files")
    if not base.is_dir():
        raise InputError(f"{base}: no such folder; --data takes the folder holding the client base files")
    return cfg, base


def _read(table: str, spec: TableSpec, folder: Path, problems: Problems) -> RawTable | None:
    if spec.source is not None:
        label = f"{table} ({spec.source.url})"
        try:
            return read_sql(spec.source, label)
        except InputError as exc:
            problems.error(label, "", "cannot read", fix=str(exc))
            return None
    if spec.path is not None:
        path = Path(spec.path)
        path = path if path.is_absolute() else folder / path
        if not path.is_file():
            problems.error(str(path.name), "", "file named in the config not found",
                           fix=f"{path} does not exist; fix `tables: {{{table}: {{path: ...}}}}` in the config")
            return None
    else:
        path = find_file(folder, table)
        if path is None:
            return None
    try:
        return read_table(path, spec)
    except InputError as exc:
        msg = str(exc)
        prefix = f"{path}: "
        problems.error(path.name, "", "cannot read", fix=msg[len(prefix):] if msg.startswith(prefix) else msg)
        problems.unreadable[(table, "")] = {path.name}
        return None


def validate(data: str | Path | None = None, *, config=None) -> ValidationReport:
    """Read and check a client base, collecting every problem instead of stopping at the first.

    Parameters
    ----------
    data
        Folder holding the files (canonical names unless the config names them).
    config
        A data config: a YAML path, a mapping, or a :class:`DataConfig`.

    Returns
    -------
    ValidationReport
        ``problems`` (severity, file, column, check, count, lines, fix), ``notes`` (what was
        detected and skipped) and ``base`` (the canonical tables, when there is no error).
    """
    folder = Path(data) if data is not None else None
    cfg, folder = _config(config, folder)
    problems = Problems()
    notes: list[str] = []
    if config is None and (folder / DEFAULT_CONFIG).is_file():
        notes.append(f"config: {folder / DEFAULT_CONFIG} (found beside the data)")
    frames: dict[str, pd.DataFrame | None] = {}
    labels: dict[str, str] = {}
    line_words: dict[str, str] = {}
    names: dict[str, dict[str, str]] = {}
    for table in ALL_TABLES:
        spec = cfg.tables.get(table, TableSpec())
        raw = _read(table, spec, folder, problems)
        if raw is None:
            frames[table] = None
            continue
        labels[table], line_words[table] = raw.label, raw.line_word
        if raw.frame.empty and table in ("clients", "transactions", "client_periods"):
            problems.error(raw.label, "", "no data rows (header only)",
                           fix="export the table with its data lines")
            frames[table] = None
            continue
        keep = (cfg.portfolio_by,) if cfg.portfolio_by and table != "kpis" else ()
        frame = build_table(raw, table, spec, problems, freq=cfg.freq, keep=keep)
        names[table] = raw.detected.pop("names", {})
        notes.extend(raw.notes)
        d = raw.detected
        if raw.line_word == "line":
            desc = ", ".join(f"{k}={v!r}" for k, v in d.items() if k in
                             ("encoding", "delimiter", "decimal", "date_format", "header_row") and v is not None)
            notes.append(f"{raw.label}: {len(raw.frame):,} lines read ({desc})")
        else:
            notes.append(f"{raw.label}: {len(raw.frame):,} rows read")
        frames[table] = frame
    present = set(labels) | {t for (t, c) in problems.unreadable if c == "" and t in ALL_TABLES}
    present |= {t for t in ALL_TABLES if cfg.tables.get(t) is not None and cfg.tables[t].path}
    if "clients" not in present:
        problems.error("clients.csv", "", "clients table not found",
                       fix=f"put clients.csv (or .xlsx/.parquet) in {folder} or name the file in the config")
    if not present & {"transactions", "client_periods"}:
        problems.error("transactions.csv", "", "no order lines (transactions) nor client_periods table found",
                       fix=f"put transactions.csv (or .xlsx/.parquet) in {folder} or name the file in the config")
    if all(frames.get(t) is not None for t in ("clients",)):
        cross_checks({k: v for k, v in frames.items() if v is not None}, labels, problems, line_words, names)
    report_problems = problems.frame()
    base = None
    if not problems.has_errors:
        clients = frames["clients"]
        clients, note = fill_portfolio(clients, frames.get("transactions"))
        if note:
            notes.append(note)
        clean = {t: (None if frames.get(t) is None else frames[t].reset_index(drop=True))
                 for t in ALL_TABLES}
        clean["clients"] = clients.reset_index(drop=True)
        warn = [f"warning: {r.file}, {r.column}: {r.check}" for r in report_problems.itertuples()
                if r.severity == "warning"]
        base = ClientBase(clients=clean["clients"], transactions=clean["transactions"], events=clean["events"],
                          kpis=clean["kpis"], client_periods=clean["client_periods"], source=folder,
                          notes=notes + warn, synthetic=(folder / "truth.json").is_file())
    return ValidationReport(problems=report_problems, base=base, notes=notes, source=str(folder))


def load(data: str | Path | None = None, *, config=None) -> ClientBase:
    """Read a client base into canonical tables, or stop with every problem found.

    Parameters
    ----------
    data
        Folder holding the files (canonical names unless the config names them).
    config
        Optional data config: YAML path, mapping or :class:`DataConfig`.

    Returns
    -------
    ClientBase
        ``clients`` (``client_id`` plus the optional columns found), ``transactions``
        (``client_id, date, revenue`` plus ``order_id, portfolio, cost, gross_profit,
        is_new_product, account_manager, currency, vat_included`` when present), ``events``
        (``client_id, date, type, amount``), ``kpis`` (``period``, ``portfolio`` and numeric KPI
        columns), ``client_periods`` (already aggregated input), ``notes`` (what was detected or
        skipped, and the warnings), ``synthetic`` (a ``truth.json`` sits beside the files).

    Raises
    ------
    InputError
        When any check fails; the message lists file, column, check, count, lines and the fix.

    Examples
    --------
    >>> from analysis.ingest import load                 # doctest: +SKIP
    >>> base = load("data/sample")                        # doctest: +SKIP
    >>> base.transactions.dtypes["revenue"]              # doctest: +SKIP
    dtype('float64')
    """
    report = validate(data, config=config)
    if not report.ok:
        raise InputError(report.message())
    return report.base
