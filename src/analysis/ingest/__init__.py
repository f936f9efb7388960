"""Read a client base into canonical tables (docs/data.md, "Data").

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
from typing import Union

import pandas as pd

from analysis.errors import InputError
from analysis.ingest.dataconfig import DataConfig, TableName, TableSpec, parse_config, read_config
from analysis.ingest.mapping import REQUIRED
from analysis.ingest.readers import RawTable, find_file, read_many, read_sql
from analysis.ingest.tables import build_table, cross_checks, fill_portfolio
from analysis.ingest.validation import Problems, format_problems

TABLES = ("clients", "transactions", "events", "kpis")
DROPPED_COLUMNS = ["file", "reason", "detail", "lines", "revenue"]
COUNT_COLUMNS = ["step", "detail", "clients", "lines", "revenue"]
ALL_TABLES: tuple[TableName, ...] = ("clients", "transactions", "events", "client_periods", "kpis")
#: A data config as the entry points take it: a YAML path, a mapping or a checked
#: :class:`DataConfig`
ConfigLike = Union[str, Path, dict[str, object], DataConfig, None]

__all__ = ["ClientBase", "DataConfig", "ValidationReport", "load", "read_config", "validate",
           "TABLES", "REQUIRED"]


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
    #: ``drop``: the panel leaves out a partial first/last period (see
    #: :mod:`analysis.ingest.periods`);
    #: :func:`load` sets it from the config (``partial_periods``, default ``drop``); a base built by
    #: hand keeps them
    partial_periods: str = "keep"
    #: the clients table was derived from the order lines (no clients file)
    derived_clients: bool = False


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
    #: rows left out before the analysis: ``file, reason, detail, lines, revenue`` (filters)
    dropped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=DROPPED_COLUMNS))
    #: partial first/last periods at the config's frequency
    #: (:func:`analysis.ingest.periods.partial_periods`)
    partial: pd.DataFrame | None = None
    freq: str = "Q"

    @property
    def ok(self) -> bool:
        return not (self.problems["severity"] == "error").any()

    @property
    def errors(self) -> pd.DataFrame:
        return self.problems[self.problems["severity"] == "error"]

    @property
    def warnings(self) -> pd.DataFrame:
        return self.problems[self.problems["severity"] == "warning"]

    def counts(self) -> pd.DataFrame:
        """From the lines read to the lines in the panel, one step a row: ``step`` (an id:
        ``dq_clients``, ``dq_clients_derived``, ``dq_lines_read``, ``dq_dropped_by_filter``,
        ``dq_lines_used``, ``dq_clients_without_orders``, ``dq_partial_period``,
        ``dq_lines_in_panel``, ``dq_events``), ``detail`` (the filter or the period), ``clients``,
        ``lines``, ``revenue`` (negative for what a step takes away). ``validate`` prints it and the
        data-quality page shows it, so their counts agree and every difference has its row."""
        rows = []
        base = self.base
        if base is None:
            return pd.DataFrame(columns=COUNT_COLUMNS)

        def row(step, detail="", clients=None, lines=None, revenue=None):
            rows.append({"step": step, "detail": detail, "clients": clients, "lines": lines,
                         "revenue": revenue})

        tx = base.transactions
        n_cl = len(base.clients)
        row("dq_clients_derived" if base.derived_clients else "dq_clients", clients=n_cl)
        if tx is not None:
            dropped = self.dropped
            rev = round(float(tx["revenue"].sum()), 2)
            if len(dropped):
                row("dq_lines_read", lines=len(tx) + int(dropped["lines"].sum()),
                    revenue=round(rev + float(dropped["revenue"].sum()), 2))
                for r in dropped.itertuples(index=False):
                    row("dq_dropped_by_filter", r.detail, lines=-int(r.lines),
                        revenue=-float(r.revenue))
            row("dq_lines_used", clients=int(tx["client_id"].nunique()), lines=len(tx), revenue=rev)
            if not base.derived_clients:
                idle = int((~base.clients["client_id"].isin(tx["client_id"].unique())).sum())
                if idle:
                    row("dq_clients_without_orders", clients=idle)
            part = self.partial if self.partial is not None else pd.DataFrame(columns=["period"])
            n_periods = tx["date"].dropna().dt.to_period(self.freq).nunique()
            if len(part) and base.partial_periods == "drop" and n_periods - len(part) >= 2:
                labels = tx["date"].dt.to_period(self.freq).map(
                    lambda p: p.strftime("%Y-%m") if self.freq == "M" else str(p))
                inside = labels.isin(part["period"].tolist()).to_numpy()
                for r in part.itertuples(index=False):
                    row("dq_partial_period", f"{r.period} ({r.side})", lines=-int(r.lines),
                        revenue=-float(r.revenue))
                kept = tx[~inside]
                row("dq_lines_in_panel", clients=int(kept["client_id"].nunique()), lines=len(kept),
                    revenue=round(float(kept["revenue"].sum()), 2))
        if base.events is not None:
            row("dq_events", clients=int(base.events["client_id"].nunique()),
                lines=len(base.events))
        out = pd.DataFrame(rows, columns=COUNT_COLUMNS)
        for c in ("clients", "lines"):
            out[c] = out[c].astype("Int64")
        return out

    def summary(self) -> str:
        """The counts as the lines ``validate`` prints (the data-quality page shows the same
        table)."""
        from analysis.i18n import t

        lines = []
        for r in self.counts().itertuples(index=False):
            parts = []
            if not pd.isna(r.clients):
                parts.append(f"{int(r.clients):,} clients")
            if not pd.isna(r.lines):
                parts.append(f"{int(r.lines):,} lines")
            if not pd.isna(r.revenue):
                parts.append(f"revenue {r.revenue:,.2f}")
            step = t(f"value.{r.step}", "en") + (f" ({r.detail})" if r.detail else "")
            lines.append(f"  {step}: " + ", ".join(parts))
        return "\n".join(lines)

    def message(self) -> str:
        n_err, n_warn = len(self.errors), len(self.warnings)
        head = (f"{self.source}: {n_err} error(s)" + (f", {n_warn} warning(s)" if n_warn else "")
                + " in the input; nothing was written")
        return format_problems(self.problems, header=head)


#: A config with this name beside the data is used when no other is given (so ``run --data DIR``
#: reads exports that need a mapping).
DEFAULT_CONFIG = "keyclients.yaml"


def _config(config: ConfigLike, data: Path | None) -> tuple[DataConfig, Path, bool]:
    here = None
    if config is None and data is not None and data.is_dir() and (data / DEFAULT_CONFIG).is_file():
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
    if data is not None and data.is_file():
        # one file: the order lines (the clients are derived from them)
        spec = cfg.tables.get("transactions", TableSpec()).model_copy(update={"path": data.name})
        cfg = cfg.model_copy(update={"tables": {**{t: v for t, v in cfg.tables.items()
                                                   if t != "clients"},
                                                "transactions": spec}})
        return cfg, data.parent, True
    base = data
    if base is None and cfg.data:
        base = here / cfg.data if here is not None else Path(cfg.data)
    elif base is None:
        base = here
    if base is None:
        raise InputError("give the data folder (--data DIR) or a config file naming the files")
    if not base.is_dir():
        raise InputError(f"{base}: no such folder or file; --data takes the folder holding the "
                         "client base files "
                         "or one file of order lines")
    return cfg, base, False


def _read(table: str, spec: TableSpec, folder: Path, problems: Problems, *,
          search: bool = True) -> RawTable | None:
    if spec.source is not None:
        label = f"{table} ({spec.source.url})"
        try:
            return read_sql(spec.source, label)
        except InputError as exc:
            problems.error(label, "", "cannot read", fix=str(exc))
            return None
    if spec.path is not None:
        paths = _paths(table, spec.path, folder, problems)
        if paths is None:
            return None
    else:
        path = find_file(folder, table) if search else None
        if path is None:
            return None
        paths = [path]
    try:
        raw = read_many(paths, spec)
    except InputError as exc:
        msg = str(exc)
        path = next((p for p in paths if msg.startswith(f"{p}: ")), paths[0])
        prefix = f"{path}: "
        problems.error(path.name, "", "cannot read", fix=msg[len(prefix):]
                       if msg.startswith(prefix) else msg)
        problems.unreadable[(table, "")] = {path.name}
        return None
    if raw.origin is not None:
        problems.origins[raw.label] = raw.origin
    return raw


def _paths(table: str, named: str | list[str], folder: Path,
           problems: Problems) -> list[Path] | None:
    """The files a table's ``path:`` names: one file, a list, or glob patterns
    (``sales_2024_*.csv``, matches in name order); ``None`` (with the problem) when one is missing
    or a pattern matches none."""
    out: list[Path] = []
    for one in ([named] if isinstance(named, str) else named):
        path = Path(one)
        path = path if path.is_absolute() else folder / path
        if any(ch in one for ch in "*?["):
            hits = sorted(p for p in path.parent.glob(path.name) if p.is_file()
                          and p.name != DEFAULT_CONFIG)
            if not hits:
                problems.error(one, "", "no file matches the pattern named in the config",
                               fix=f"no file in {path.parent} matches {path.name!r}; fix `tables: "
                               f"{{{table}: "
                                   "{path: ...}}` in the config")
                return None
            out.extend(h for h in hits if h not in out)
        elif not path.is_file():
            problems.error(str(path.name), "", "file named in the config not found",
                           fix=f"{path} does not exist; fix `tables: {{{table}: {{path: ...}}}}` "
                           "in the config")
            return None
        elif path not in out:
            out.append(path)
    return out


def _id_hints(raws: dict[str, RawTable], cfg: DataConfig, notes: list[str]) -> dict[str, str]:
    """The clients file's id column decided by content (overlap with the order lines' ids), unless
    the config names it."""
    from analysis.ingest.ids import best_id_column, id_candidates
    from analysis.ingest.mapping import propose

    cl, tx = raws.get("clients"), raws.get("transactions")
    spec_c = cfg.tables.get("clients", TableSpec())
    if cl is None or tx is None or "client_id" in spec_c.columns:
        return {}
    spec_t = cfg.tables.get("transactions", TableSpec())
    tx_frame = tx.frame.drop(columns=[c for c in spec_t.ignore if c in tx.frame.columns])
    tx_col = spec_t.columns.get("client_id") or propose(list(tx_frame.columns), "transactions",
                                                        tx_frame.head(2000)).get("client_id")
    if tx_col is None or tx_col not in tx.frame.columns:
        return {}
    frame = cl.frame.drop(columns=[c for c in spec_c.ignore if c in cl.frame.columns])
    if "client_id" in frame.columns and tx_col == "client_id":
        return {}  # canonical names on both sides: nothing to decide (and no cost on a large base)
    cands = [c for c in id_candidates(frame) if c not in spec_c.columns.values()]
    best, scored = best_id_column(frame, tx.frame[tx_col], cands)
    if best is None:
        return {}
    auto = propose(list(frame.columns), "clients", frame.head(2000)).get("client_id")
    if auto != best:
        ev = next(o for o in scored if o.column == best).evidence(tx.label)
        notes.append(f"{cl.label}: the client id is {best!r} by content ({ev})")
    return {"client_id": best}


def _derive_clients(tx: pd.DataFrame) -> pd.DataFrame:
    """One row per client of the order lines: ``client_id`` and, when the lines name them, ``name``
    (the name written on most of the client's lines; a tie goes to the first in alphabetical
    order)."""
    ids = tx["client_id"].dropna()
    clients = pd.DataFrame({"client_id": pd.Series(ids.unique(),
                                                   dtype="str")}).sort_values("client_id")
    if "client_name" in tx and tx["client_name"].notna().any():
        counts = (tx.dropna(subset=["client_id",
                                    "client_name"]).groupby(["client_id", "client_name"]).size()
                  .reset_index(name="n").sort_values(["client_id", "n", "client_name"],
                                                     ascending=[True, False, True])
                  .drop_duplicates("client_id").set_index("client_id")["client_name"])
        clients["name"] = clients["client_id"].map(counts).astype("str")
    return clients.reset_index(drop=True)


def validate(data: str | Path | None = None, *, config: ConfigLike = None) -> ValidationReport:
    """Read and check a client base, collecting every problem instead of stopping at the first.

    Parameters
    ----------
    data
        Folder holding the files (canonical names unless the config names them), or one file of
        order lines (the clients are then derived from it).
    config
        A data config: a YAML path, a mapping, or a :class:`DataConfig`.

    Returns
    -------
    ValidationReport
        ``problems`` (severity, file, column, check, count, lines, fix), ``notes`` (what was
        detected and skipped), ``dropped`` (rows the config's filters left out, with revenue),
        ``partial`` (partial first/last periods) and ``base`` (the canonical tables, when there is
        no error).
    """
    folder = Path(data) if data is not None else None
    cfg, folder, single = _config(config, folder)
    problems = Problems()
    notes: list[str] = []
    if config is None and (folder / DEFAULT_CONFIG).is_file() and not single:
        notes.append(f"config: {folder / DEFAULT_CONFIG} (found beside the data)")
    got = _read_tables(cfg, folder, single, problems, notes)
    derived = _clients_or_derived(got, cfg, folder, problems, notes)
    if got.frames.get("clients") is not None:
        cross_checks({k: v for k, v in got.frames.items() if v is not None}, got.labels, problems,
                     got.line_words,
                     got.names, specs=cfg.tables)
    freq = cfg.freq or "Q"
    partial = _partial_periods(got, cfg, freq, problems)
    report_problems = problems.frame()
    base = None
    if not problems.has_errors:
        base = _client_base(got.frames, cfg, folder, single, notes, report_problems, derived)
    return ValidationReport(problems=report_problems, base=base, notes=notes,
                            source=str(folder if not single else data),
                            dropped=pd.DataFrame(got.dropped, columns=DROPPED_COLUMNS),
                            partial=partial, freq=freq)


@dataclass
class _Tables:
    """The tables :func:`validate` has read: canonical frames (None: absent or unusable), how each
    source is named in messages (``labels``, ``line_words``), the source column names of the
    canonical ones, and the rows the config's filters dropped."""

    frames: dict[str, pd.DataFrame | None] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    line_words: dict[str, str] = field(default_factory=dict)
    names: dict[str, dict[str, str]] = field(default_factory=dict)
    dropped: list[dict] = field(default_factory=list)


def _read_tables(cfg: DataConfig, folder: Path, single: bool, problems: Problems,
                 notes: list[str]) -> _Tables:
    """Read every table the config or the folder holds and build its canonical frame."""
    got = _Tables()
    frames, labels, line_words, names = got.frames, got.labels, got.line_words, got.names
    dropped = got.dropped
    raws: dict[str, RawTable] = {}
    for table in ALL_TABLES:
        spec = cfg.tables.get(table, TableSpec())
        raw = _read(table, spec, folder, problems, search=not single)
        if raw is not None:
            raws[table] = raw
    hints = _id_hints(raws, cfg, notes)
    for table in ALL_TABLES:
        spec = cfg.tables.get(table, TableSpec())
        raw = raws.get(table)
        if raw is None:
            frames[table] = None
            continue
        labels[table], line_words[table] = raw.label, raw.line_word
        if raw.frame.empty and table in ("clients", "transactions", "client_periods"):
            problems.error(raw.label, "", "no data rows (header only)",
                           fix="export the table with its data lines")
            frames[table] = None
            continue
        n_read = len(raw.frame)
        keep = (cfg.portfolio_by,) if cfg.portfolio_by and table != "kpis" else ()
        frame = build_table(raw, table, spec, problems, freq=cfg.freq, duplicates=cfg.duplicates,
                            hints=hints if table == "clients" else None, keep=keep)
        names[table] = raw.detected.pop("names", {})
        dropped.extend(raw.detected.pop("dropped", []))
        notes.extend(raw.notes)
        d = raw.detected
        if raw.line_word == "line":
            desc = ", ".join(f"{k}={v!r}" for k, v in d.items() if k in
                             ("encoding", "delimiter", "decimal", "date_format", "header_row")
                             and v is not None)
            per = d.get("files")
            notes.append(f"{raw.label}: {n_read:,} lines read ({desc}"
                         + (", " + ", ".join(f"{k}: {v:,}" for k, v in per.items()) if per else "")
                         + ")")
        else:
            notes.append(f"{raw.label}: {n_read:,} rows read")
        frames[table] = frame
    return got


def _clients_or_derived(got: _Tables, cfg: DataConfig, folder: Path, problems: Problems,
                        notes: list[str]) -> bool:
    """Check that order lines (or client periods) are there; without a clients table derive the
    clients from them. Returns whether the clients were derived."""
    frames, labels, line_words = got.frames, got.labels, got.line_words
    present = set(labels) | {t for (t, c) in problems.unreadable if c == "" and t in ALL_TABLES}
    present |= {t for t in ALL_TABLES if cfg.tables.get(t) is not None and cfg.tables[t].path}
    derived = False
    if not present & {"transactions", "client_periods"}:
        problems.error("transactions.csv", "",
                       "no order lines (transactions) nor client_periods table found",
                       fix=f"put transactions.csv (or .xlsx/.parquet) in {folder} or name the file "
                           f"in the config (`keyclients init-config --data {folder}` finds it by "
                           "its content)")
    elif "clients" not in present:
        src = frames.get("transactions")
        if src is None:
            src = frames.get("client_periods")
        if src is not None:
            frames["clients"] = clients = _derive_clients(src)
            labels["clients"] = "clients (derived)"
            line_words["clients"] = "row"
            derived = True
            what = "id and name" if "name" in clients else "id only"
            notes.append(f"no clients table: {len(clients):,} clients derived from the order lines "
                         f"({what}); client attributes (organisation type, founding year, "
                         "reference) are absent")
        elif not problems.has_errors:
            problems.error("clients.csv", "", "clients table not found",
                           fix=f"put clients.csv (or .xlsx/.parquet) in {folder} or name the file "
                           "in the config")
    return derived


def _partial_periods(got: _Tables, cfg: DataConfig, freq: str,
                     problems: Problems) -> pd.DataFrame | None:
    """The partial first/last periods of the order lines, each a warning saying whether it is
    kept."""
    from analysis.ingest.periods import partial_periods

    partial = None
    tx = got.frames.get("transactions")
    if tx is not None and "date" in tx and not problems.has_errors:
        partial = partial_periods(tx["date"], freq, tx["revenue"] if "revenue" in tx else None)
        total = float(tx["revenue"].sum()) if "revenue" in tx else 0.0
        n_periods = tx["date"].dropna().dt.to_period(freq).nunique()
        for r in partial.itertuples(index=False):
            kept = cfg.partial_periods == "keep" or n_periods - len(partial) < 2
            what = (f"partial {r.side} period {r.period}: the data cover {r.days_covered} of its "
                    f"{r.days_in_period} days ({r.first_day} – {r.last_day}); {r.lines:,} lines, "
                    f"{(r.revenue / total if total else 0):.1%} of revenue; "
                    + ("kept in the panel"
                       + (" (`partial_periods: keep`)" if cfg.partial_periods == "keep"
                          else " (too few periods otherwise)") if kept
                       else "left out of the panel"))
            problems.warning(got.labels["transactions"],
                             got.names.get("transactions", {}).get("date", "date"), what,
                             count=r.lines,
                             fix=("export whole periods" if kept else
                                  "export whole periods, or set `partial_periods: keep` in the "
                                  "config to keep it"))
    return partial


def _client_base(frames: dict[str, pd.DataFrame | None], cfg: DataConfig, folder: Path,
                 single: bool,
                 notes: list[str], report_problems: pd.DataFrame, derived: bool) -> ClientBase:
    """The canonical tables of a base without errors (portfolio filled in, fresh indexes, the
    warnings among its notes)."""
    clients = frames["clients"]
    clients, note = fill_portfolio(clients, frames.get("transactions"))
    if note:
        notes.append(note)
    clean: dict[str, pd.DataFrame | None] = {
        t: (None if (f := frames.get(t)) is None else f.reset_index(drop=True)) for t in ALL_TABLES}
    clean["clients"] = clients.reset_index(drop=True)
    for t in ("transactions", "client_periods"):
        f = clean[t]
        if f is not None and "client_name" in f:
            clean[t] = f.drop(columns=["client_name"])  # names live in the clients table only
    warn = [f"warning: {r.file}, {r.column}: {r.check}" for r in report_problems.itertuples()
            if r.severity == "warning"]
    return ClientBase(clients=clean["clients"], transactions=clean["transactions"],
                      events=clean["events"],
                      kpis=clean["kpis"], client_periods=clean["client_periods"], source=folder,
                      notes=notes + warn, synthetic=(folder / "truth.json").is_file()
                      and not single,
                      partial_periods=cfg.partial_periods, derived_clients=derived)


def load(data: str | Path | None = None, *, config: ConfigLike = None) -> ClientBase:
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
    if not report.ok or report.base is None:  # a base comes with every report without errors
        raise InputError(report.message())
    return report.base
