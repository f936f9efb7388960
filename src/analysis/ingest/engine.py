"""The row-level engines: connect DuckDB or Spark, read large canonical files in place, check
them there.

:mod:`analysis.ingest` reads real exports of any shape (encodings, title rows, decimal commas,
Russian headers) into pandas; that holds every cell in memory. Order lines that are already
canonical — Parquet, or plain CSV with canonical headers, ``,`` between fields, ``.`` decimals and
ISO dates (what ``keyclients synth`` writes and what a warehouse exports) — are better read by the
engine itself: DuckDB streams them through the aggregation in bounded memory, and Spark reads them
on its executors. The panel is the same Ibis expression
(:func:`analysis.ingest.panel.panel_expr`) either way, so both paths give the same numbers.

With ``--engine spark`` a report's study is read this way (:func:`load_in_engine`): the files are
checked where they lie, and only the client × period panel, the order lines counted per client,
period and manager (what the features read beyond the panel) and the small tables (clients,
KPIs) come into Python.

Spark reads a CSV file once: :func:`scan` converts its cells (as text) to Parquet in a staging
folder and every later query — each check, the panel, the partial periods, the manager counts —
reads that Parquet (a CSV has no column pruning and Spark would parse it again for each). A
staging folder that passed the checks carries ``checked.json`` (the input files' sha256, the
settings and the warnings found): :func:`load_in_engine` given it reads the Parquet and does not
check again (``keyclients run --engine spark`` checks in the CLI process and hands the folder to
the job that prepares the study through :data:`STAGE_ENV`).

Engines: ``duckdb`` (embedded, the default) and ``spark`` (``pip install 'keyclients[spark]'``;
an active ``SparkSession`` is used as it is, otherwise one is started on
``KEYCLIENTS_SPARK_MASTER``, default ``local[2]``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from analysis.config import EVENT_TYPES
from analysis.errors import InputError
from analysis.ingest.backends import (  # noqa: F401 - ENGINES, spark_session: public here too
    ENGINES,
    connect,
    release,
    spark_active,
    spark_session,
)

if TYPE_CHECKING:  # ibis is imported with the backend
    import ibis.expr.types as ir
    from ibis.backends import BaseBackend

MONEY = "DECIMAL(18, 2)"
#: Canonical columns the engine reads, with their engine types (others in the file are ignored).
SCAN_COLUMNS: dict[str, dict[str, str]] = {
    "transactions": {
        "client_id": "VARCHAR",
        "date": "DATE",
        "revenue": MONEY,
        "cost": MONEY,
        "is_new_product": "BOOLEAN",
        "account_manager": "VARCHAR",
    },
    "clients": {"client_id": "VARCHAR", "portfolio": "VARCHAR"},
    "events": {"client_id": "VARCHAR", "date": "DATE", "type": "VARCHAR", "amount": MONEY},
}
REQUIRED = {
    "transactions": ("client_id", "date", "revenue"),
    "clients": ("client_id", "portfolio"),
    "events": ("client_id", "date", "type"),
}
MAX_LINES = 5  # record numbers shown per problem
#: Environment variable naming a staging folder whose files passed the checks (:func:`stage_of`).
STAGE_ENV = "KEYCLIENTS_SPARK_STAGE"
_CHECKED = "checked.json"
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class NotScannable(InputError):
    """The files are not canonical enough for the engine to read them itself (use
    :func:`analysis.ingest.load`)."""


@dataclass
class Scan:
    """Canonical tables registered in an engine, read from the files where they lie.

    ``tables``: name → Ibis table of the canonical columns, typed; ``paths``: name → file;
    ``raw``: name → the file's cells as text (CSV; the typed file for Parquet), for the checks;
    ``whole``: name → every column of the file; ``stage``: the folder Spark converted the CSV
    files into (None on DuckDB), removed by :func:`close` when ``scan`` made it.
    """

    con: BaseBackend
    tables: dict[str, ir.Table] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)
    raw: dict[str, ir.Table | None] = field(default_factory=dict)
    whole: dict[str, ir.Table] = field(default_factory=dict)
    stage: Path | None = None
    own_stage: bool = False


def close(s: Scan, *, stop_spark: bool = False) -> None:
    """Release the scan's connection (:func:`release`) and remove the staging folder it made."""
    try:
        release(s.con, stop_spark=stop_spark)
    finally:
        if s.own_stage and s.stage is not None:
            shutil.rmtree(s.stage, ignore_errors=True)


def _find(folder: Path, table: str) -> Path | None:
    for suffix in (".parquet", ".csv"):
        path = folder / f"{table}{suffix}"
        if path.is_file():
            return path
    return None


def _csv_header(path: Path) -> list[str]:
    """The header of a plain CSV, or NotScannable when the file is not written the canonical way."""
    with open(path, "rb") as fh:
        head = fh.read(64 * 1024)
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = ""
        for n in range(1, 4):  # a multi-byte character cut at the end of the sample
            try:
                text = head[:-n].decode("utf-8-sig")
                break
            except UnicodeDecodeError:
                continue
        if not text:
            raise NotScannable(f"{path.name}: not UTF-8") from None
    lines = text.splitlines()
    if len(lines) < 2 or "," not in lines[0] or ";" in lines[0] or "\t" in lines[0]:
        raise NotScannable(f"{path.name}: not a comma-separated file with a header line")
    header = [h.strip().strip('"') for h in lines[0].split(",")]
    if "date" in header:
        i = header.index("date")
        first = lines[1].split(",")
        if len(first) != len(header) or not _ISO_DATE.match(first[i].strip().strip('"')):
            raise NotScannable(f"{path.name}: dates are not written as YYYY-MM-DD")
    return header


def scan(
    data: str | Path,
    *,
    engine: str = "duckdb",
    con: BaseBackend | None = None,
    stage: str | Path | None = None,
    staged: bool = False,
    as_is: bool = False,
) -> Scan:
    """Register the folder's canonical ``transactions``, ``clients`` and ``events`` files in the
    engine.

    Parameters
    ----------
    data
        Folder with ``transactions`` and ``clients`` (and optionally ``events``) as ``.parquet`` or
        plain ``.csv`` with canonical headers (``client_id, date, revenue``...); or a URI
        (``hdfs://``, ``s3a://``...) of a folder holding them as ``.parquet``, read by the engine
        itself (on Spark, by the executors).
    engine, con
        ``duckdb`` or ``spark``, or an Ibis connection to use.
    stage
        Spark: the folder the CSV files are converted into (one Parquet folder per table, the
        cells as text); by default a temporary folder, removed by :func:`close`. Ignored by
        DuckDB, which streams a CSV file through each query.
    staged
        Read the Parquet already in ``stage`` instead of converting the CSV files again (the
        caller has checked, with :func:`stage_of`, that it was made from these files).
    as_is
        Refuse (:class:`NotScannable`) order lines or events with a column outside
        :data:`AS_IS`, before converting anything (the report's engine path).

    Returns
    -------
    Scan
        ``tables`` (Ibis tables with the canonical columns found, typed: money DECIMAL(18,2),
        dates DATE), ``paths``, ``raw`` (CSV cells as text, for :func:`check`), ``whole`` (every
        column of the file), ``con`` and ``stage``.

    Raises
    ------
    NotScannable
        When a file is missing, not canonical (other headers, delimiter, date format, encoding)
        or a required column is absent, or (``as_is``) has a column outside :data:`AS_IS`;
        :func:`analysis.ingest.load` reads such files.
    """
    con = con if con is not None else connect(engine)
    out = Scan(con=con)
    if con.name == "pyspark" and "://" not in str(data):
        out.own_stage = stage is None
        out.stage = Path(stage) if stage is not None else Path(
            tempfile.mkdtemp(prefix="keyclients-spark-"))
    try:
        for table in ("transactions", "clients", "events"):
            got = _read_one(con, data, table, out.stage, staged, as_is)
            if got is None:
                continue
            t, raw, header, path = got
            want = SCAN_COLUMNS[table]
            missing = [c for c in REQUIRED[table] if c not in header]
            if missing:
                raise NotScannable(
                    f"{path.name}: no column {', '.join(missing)} under its canonical name"
                )
            keep = [c for c in want if c in header]
            casts = {c: t[c].cast(want[c].lower().replace("varchar", "string")) for c in keep}
            if table == "events":
                casts["type"] = t["type"].cast("string").strip().lower()
            out.tables[table] = t.select(**casts)
            out.paths[table] = path
            out.raw[table] = raw
            out.whole[table] = t
    except BaseException:
        if out.own_stage and out.stage is not None:
            shutil.rmtree(out.stage, ignore_errors=True)
        raise
    return out


def _read_one(
    con: BaseBackend, data: str | Path, table: str, stage: Path | None = None,
    staged: bool = False, as_is: bool = False,
) -> tuple[ir.Table, ir.Table | None, list[str], Path] | None:
    """One table registered in the engine: (typed table, raw cells or None, header, path); None
    for absent events; :class:`NotScannable` for an absent or non-canonical required file.

    Spark reads a CSV file once, as text, into ``stage/<table>.parquet`` (or, ``staged``, takes
    the Parquet already there); its typed table is then that text cast to the canonical types,
    which the checks have found parseable before any query reads it."""
    want = SCAN_COLUMNS[table]
    if "://" in str(
        data
    ):  # hdfs://, s3a://, gs://...: Parquet read by the engine (Spark's executors)
        uri = f"{str(data).rstrip('/')}/{table}.parquet"
        try:
            t = con.read_parquet(uri)
        except Exception as exc:
            if table == "events":
                return None
            raise NotScannable(f"{uri}: cannot read ({str(exc).splitlines()[0][:200]})") from None
        name = Path(uri.split("://", 1)[1])  # the path names the file in messages
        if as_is:
            _refuse_extra(table, list(t.columns), name)
        return t, t, list(t.columns), name
    folder = Path(data)
    path = _find(folder, table)
    if path is None:
        if table == "events":
            return None
        raise NotScannable(f"{folder}: no {table}.parquet or {table}.csv")
    if path.suffix == ".parquet":
        t = con.read_parquet(str(path))
        if as_is:
            _refuse_extra(table, list(t.columns), path)
        return t, t, list(t.columns), path  # typed by the file; text columns are parsed in check()
    header = _csv_header(path)
    if as_is:
        _refuse_extra(table, header, path)
    if con.name == "pyspark":
        assert stage is not None  # scan() gives Spark a staging folder
        target = stage / f"{table}.parquet"
        if not staged:
            _convert(con, path, header, target)
        text = con.read_parquet(str(target))  # the cells as text: the checks parse them
        return text, text, header, path
    t = con.read_csv(
        str(path),
        types={h: want[h] for h in header if h in want},
        header=True,
        delim=",",
        quote='"',
        auto_detect=True,
    )
    raw = con.read_csv(str(path), header=True, delim=",", quote='"', all_varchar=True)
    return t, raw, header, path


def _refuse_extra(table: str, columns: list[str], path: Path) -> None:
    """:class:`NotScannable` when order lines or events have a column outside :data:`AS_IS`."""
    extra = sorted(set(columns) - AS_IS[table]) if table in AS_IS else []
    if extra:
        raise NotScannable(f"{path.name}: columns {', '.join(extra)} need the tolerant readers")


def _convert(con: BaseBackend, path: Path, header: list[str], target: Path) -> None:
    """Spark: read a CSV file once, every cell as text, and write it to ``target`` as Parquet."""
    session = spark_session()  # the active session, the one the Ibis connection runs on
    schema = ", ".join(f"`{h}` STRING" for h in header)
    session.read.csv(str(path), header=True, schema=schema).write.mode("overwrite").parquet(
        str(target))


def _fetch(con: BaseBackend, expr: ir.Table) -> pd.DataFrame:
    """An expression's rows as pandas, through Arrow (Ibis's own ``to_pandas`` converts twice:
    ~25 % of the time at 1M lines)."""
    return con.to_pyarrow(expr).to_pandas()


def _partial_labels(s: Scan, freq: str) -> list[str]:
    """The partial first/last periods of the scanned order lines (as ``client_period_panel``'s
    ``drop_partial_periods``): none when fewer than two whole periods would remain."""
    from analysis.ingest.periods import partial_labels

    tx = s.tables["transactions"]
    days = pd.to_datetime(_fetch(s.con, tx.select(day=tx.date.cast("date")).distinct())["day"])
    part = list(partial_labels(days, freq))
    if part and days.dt.to_period(freq).nunique() - len(part) >= 2:
        return part
    return []


def _panel_of_scan(s: Scan, freq: str, partial_periods: str) -> pd.DataFrame:
    from analysis.ingest.panel import panel_expr

    tables = s.tables
    expr = panel_expr(tables["transactions"], tables["clients"], tables.get("events"), freq=freq)
    out = _fetch(s.con, expr)
    if partial_periods == "drop" and len(out):
        part = _partial_labels(s, freq)
        if part:
            out = out[~out["period"].isin(part)]
    for col in ("client_id", "portfolio", "period"):
        out[col] = out[col].astype("str")
    return out.reset_index(drop=True)


def panel_from_files(
    data: str | Path, *, freq: str = "Q", engine: str = "duckdb", partial_periods: str = "drop"
) -> pd.DataFrame:
    """The client × period panel of a folder of canonical files, read and aggregated in the engine.

    Same columns, values and order as :func:`analysis.ingest.panel.client_period_panel` on
    :func:`analysis.ingest.load` of the folder; memory stays bounded by the engine (DuckDB spills
    to disk beyond its memory limit), not by the number of order lines. A partial first or last
    period is left out as there (``partial_periods="keep"`` keeps it). Raises
    :class:`NotScannable` when the files need the tolerant readers of :mod:`analysis.ingest`.

    Examples
    --------
    >>> from analysis.config import SAMPLE_DIR
    >>> panel_from_files(SAMPLE_DIR).columns[:3].tolist()
    ['client_id', 'portfolio', 'period']
    """
    # the result is sorted explicitly, so DuckDB need not keep the files' row order (less memory)
    con = connect(engine, preserve_insertion_order=False) if engine == "duckdb" else None
    s = scan(data, engine=engine, con=con)
    try:
        return _panel_of_scan(s, freq, partial_periods)
    finally:
        close(s)  # a Spark session outlives the call (it may be the caller's own)


_CHECK_FIX = {
    "client_id": "every line needs the client's id",
    "date": "write every date as YYYY-MM-DD",
    "revenue": "write amounts as plain numbers with a dot for decimals",
}
_NAMED_FIX = {
    "not an event type": f"use one of {', '.join(EVENT_TYPES)} (or map the words in a data config)",
    "negative revenue": (
        "returns? pass returns=True (`returns: true` in the config); else correct them"
    ),
}
#: Checks that warn instead of stopping the run, as in :func:`analysis.ingest.validate` (a synthetic
#: world or a plan may reach into the future); their fixes are the pandas validation's.
_WARNING_CHECKS = ("date in the future",)
_DUPLICATE_FIX = (
    "the same export loaded twice or overlapping files? export each period once; "
    "if these are real repeated lines, set `duplicates: keep` in the config"
)
PROBLEM_COLUMNS = ["severity", "file", "column", "check", "count", "lines", "fix"]
_Condition = tuple[str, "ir.BooleanValue", "ir.Value | None"]  # column, condition, example value


def check(data: str | Path, *, engine: str = "duckdb", returns: bool = False) -> pd.DataFrame:
    """Check canonical files in the engine: one scan per table, every problem counted.

    The checks of :func:`analysis.ingest.validate` that matter at scale: required cells empty or
    not parseable (dates, amounts, yes/no), negative revenue (unless ``returns``), event types
    outside the six, duplicate client ids, and order lines or events of clients missing from the
    clients table. All conditions of a table are counted in one aggregate over one scan; the
    first offending record numbers are looked up afterwards, only for the checks that failed
    (DuckDB; Spark has no file order, so there they stay empty).

    Returns
    -------
    pandas.DataFrame
        One row per problem: ``severity, file, column, check, count, lines, fix`` (``lines``: the
        first offending record numbers, 1 = first data line), like ``ValidationReport.problems``.
    """
    s = scan(data, engine=engine)
    try:
        return check_scan(s, returns=returns)
    finally:
        close(s)  # a Spark session outlives the call (it may be the caller's own)


def _conditions(
    s: Scan, table: str, src: ir.Table, *, returns: bool, known: ir.Value | None = None
) -> dict[str, _Condition]:
    """The checks of one table: ``"column|check"`` → (column, condition, example value or None).

    ``known``: a column of ``src`` that is null where the row's client is not in the clients
    table (``src`` left-joined to their ids, see :func:`_with_known_clients`); without it that
    check is ``NOT IN`` the clients' ids, which Spark runs as a nested loop over both tables.
    """
    t = s.tables[table]
    cl = s.tables["clients"]
    conds: dict[str, _Condition] = {}
    for col, typ in SCAN_COLUMNS[table].items():
        if col not in t.columns:
            continue
        cell = src[col]
        textual = (
            cell.type().is_string()
        )  # (DuckDB reads an empty CSV field as NULL; no TRIM needed)
        value = cell
        if textual and typ != "VARCHAR":  # text cells (CSV, or text in Parquet) that do not parse
            target = {"DATE": "date", MONEY: "decimal(18, 2)", "BOOLEAN": "boolean"}[typ]
            value = cell.try_cast(target)
            what = "date" if typ == "DATE" else "yes/no value" if typ == "BOOLEAN" else "number"
            conds[f"{col}|not a {what}"] = (
                col,
                cell.notnull() & (cell != "") & value.isnull(),
                cell,
            )
        if col in REQUIRED[table]:
            empty = cell.isnull() | (cell == "") if textual else cell.isnull()
            conds[f"{col}|empty"] = (col, empty, None)
        if table == "transactions" and col == "revenue" and not returns:
            conds[f"{col}|negative revenue"] = (col, value < 0, None)
        if table in ("transactions", "events") and col == "date":
            # as the pandas validation: later than today (its dates at midnight, so a date of
            # today is not in the future)
            today = pd.Timestamp.today().date()
            day = value.cast("date")
            conds[f"{col}|date in the future"] = (col, day > today, day)
        if table == "events" and col == "type":
            wrong = cell.notnull() & ~cell.strip().lower().isin(list(EVENT_TYPES))
            conds[f"{col}|not an event type"] = (col, wrong, cell)
        if table != "clients" and col == "client_id":
            listed = known.notnull() if known is not None else cell.isin(cl.client_id)
            missing = cell.notnull() & (cell != "") & ~listed
            conds[f"{col}|client not in the clients table"] = (col, missing, None)
    return conds


def _table_problems(s: Scan, table: str, *, returns: bool) -> list[dict[str, object]]:
    """The problems of one table: every condition counted in one aggregate over one scan."""
    import ibis

    raw = s.raw.get(table)
    src = raw if raw is not None else s.tables[table]
    joined, known = _with_known_clients(s, table, src)
    conds = _conditions(s, table, joined, returns=returns, known=known)
    aggs = {}
    for i, (_, cond, example) in enumerate(conds.values()):
        aggs[f"c{i}"] = cond.fill_null(False).ifelse(1, 0).sum()
        if example is not None:
            aggs[f"e{i}"] = example.cast("string").min(where=cond.fill_null(False))
    res = _fetch(s.con, joined.aggregate(**aggs)).iloc[0]
    rows: list[dict[str, object]] = []
    numbered = src.mutate(_line=ibis.row_number().over() + 1)
    in_file = _conditions(s, table, numbered, returns=returns) if s.con.name == "duckdb" else {}
    for i, (key, (col, cond, example)) in enumerate(conds.items()):
        name = key.split("|", 1)[1]
        count = int(res[f"c{i}"] or 0)
        if not count:
            continue
        lines: list[int] = []
        if in_file:  # DuckDB: record numbers in file order, only for the checks that failed
            first = numbered.filter(in_file[key][1].fill_null(False)).order_by("_line")
            first = first.limit(MAX_LINES)
            lines = _fetch(s.con, first.select("_line"))["_line"].tolist()
        label = name
        warn = name in _WARNING_CHECKS
        if warn and in_file:  # the first offending line's date, as the pandas validation shows
            first = numbered.filter(in_file[key][1].fill_null(False)).order_by("_line").limit(1)
            res[f"e{i}"] = _fetch(s.con, first.select(_e=in_file[key][2]))["_e"].iloc[0]
        if example is not None and res.get(f"e{i}") is not None:
            shown = str(res[f"e{i}"])
            label += f" (e.g. {shown[:10]})" if warn else f" (e.g. {shown[:40]!r})"
        clients = s.paths["clients"].name
        fix = _NAMED_FIX.get(name) or _CHECK_FIX.get(col, "correct those cells")
        if name == "client not in the clients table":
            fix = f"add those clients to {clients} or correct the ids"
        if warn:
            from analysis.ingest.validation import FIXES

            fix = FIXES[name]
        rows.append(_problem(s, table, col, label, count, lines, fix,
                             severity="warning" if warn else "error"))
    return rows


def _with_known_clients(s: Scan, table: str, src: ir.Table) -> tuple[ir.Table, ir.Value | None]:
    """``src`` left-joined to the clients table's distinct ids (an equi-join every engine hashes)
    and the joined id column, null where the row's client is not listed; ``(src, None)`` for the
    clients table itself."""
    if table == "clients" or "client_id" not in src.columns:
        return src, None
    cl = s.tables["clients"]
    ids = cl.select(_listed=cl.client_id).distinct()
    joined = src.left_join(ids, src.client_id.cast("string") == ids._listed)
    return joined, joined._listed


def _problem(
    s: Scan,
    table: str,
    column: str,
    check_: str,
    count: int,
    lines: list[int],
    fix: str,
    severity: str = "error",
) -> dict[str, object]:
    return {
        "severity": severity,
        "file": s.paths[table].name,
        "column": column,
        "check": check_,
        "count": int(count),
        "lines": ", ".join(str(int(x)) for x in lines),
        "fix": fix,
    }


def check_scan(s: Scan, *, returns: bool = False, duplicates: str = "") -> pd.DataFrame:
    """:func:`check` on tables already scanned (``s``, left open).

    ``duplicates="error"`` also counts identical order lines, as :func:`analysis.ingest.load` does:
    an error from 1 % of the lines, a warning below; ``"keep"`` or ``""`` (default) does not look.
    """
    rows: list[dict[str, object]] = []
    for table in s.tables:
        rows.extend(_table_problems(s, table, returns=returns))
    cl = s.tables["clients"]
    dup = cl.group_by("client_id").aggregate(n=cl.count()).filter(lambda x: x.n > 1)
    ndup = int(_fetch(s.con, dup.aggregate(k=dup.count()))["k"].iloc[0])  # ids listed twice or more
    if ndup:
        rows.append(
            _problem(
                s,
                "clients",
                "client_id",
                "client id listed more than once",
                ndup,
                [],
                "keep one line per client",
            )
        )
    if duplicates == "error":
        rows.extend(_duplicate_lines(s))
    return pd.DataFrame(rows, columns=PROBLEM_COLUMNS)


def _duplicate_lines(s: Scan) -> list[dict[str, object]]:
    """Identical order lines (every column of the file alike): an error from 1 % of the lines."""
    raw = s.raw.get(
        "transactions"
    )  # the cells as text where the engine has them (a bad cell stops no cast)
    src = raw if raw is not None else s.whole["transactions"]
    once = src.distinct()
    n = int(_fetch(s.con, src.aggregate(n=src.count()))["n"].iloc[0])
    repeated = n - int(_fetch(s.con, once.aggregate(n=once.count()))["n"].iloc[0])
    if not repeated:
        return []
    what = (
        f"identical order lines: {repeated:,} of {n:,} lines repeat an earlier one "
        f"({repeated / n:.1%} of the lines)"
    )
    severity = "error" if repeated / n >= 0.01 else "warning"
    return [_problem(s, "transactions", "", what, repeated, [], _DUPLICATE_FIX, severity)]


#: Order-line and event columns the engine path takes as they are; a file with any other column
#: (VAT, currencies, gross profit without cost, a client name, headers under other names) needs
#: the mapping and money rules of :func:`analysis.ingest.load`.
AS_IS = {
    "transactions": {
        "order_id",
        "client_id",
        "date",
        "revenue",
        "portfolio",
        "cost",
        "is_new_product",
        "account_manager",
    },
    "events": {"client_id", "date", "type", "amount"},
}


@dataclass
class EngineBase:
    """A client base whose order lines and events stayed in the engine (:func:`load_in_engine`).

    ``clients`` and ``kpis`` as :func:`analysis.ingest.load` reads them (pandas); ``panel`` the
    client × period panel; ``managers`` the order lines counted per client, period and manager
    (:func:`analysis.ingest.panel.manager_orders_expr`; None without managers); ``notes`` the
    warnings of the checks.
    """

    clients: pd.DataFrame
    kpis: pd.DataFrame | None
    panel: pd.DataFrame
    managers: pd.DataFrame | None
    notes: list[str] = field(default_factory=list)


def load_in_engine(
    data: str | Path,
    *,
    freq: str = "Q",
    engine: str = "duckdb",
    portfolio: str = "",
    partial_periods: str = "drop",
    duplicates: str = "error",
    stage: str | Path = "",
) -> EngineBase:
    """Check and aggregate a folder of canonical files in the engine; only the client × period
    panel, the manager counts and the small tables (clients, KPIs) come back to pandas.

    The same numbers as :func:`analysis.ingest.load` then
    :func:`analysis.ingest.panel.client_period_panel` (and, with ``portfolio``,
    ``analysis.report.study.only_portfolio``): the order lines never enter this process, so its
    memory does not grow with them. ``stage``: a staging folder :func:`check_in_engine` wrote for
    these files (Spark); when :func:`stage_of` accepts it the files are neither converted nor
    checked again, its warnings are the notes.

    Raises
    ------
    NotScannable
        When the files are not canonical enough (see :func:`scan`), or the order lines or events
        carry a column outside :data:`AS_IS`: the caller reads them with
        :func:`analysis.ingest.load`.
    InputError
        When a check fails: one message listing every problem (file, column, count, fix).
    """
    folder = Path(data)
    owned = engine == "spark" and not spark_active()
    con = connect(engine, preserve_insertion_order=False) if engine == "duckdb" else None
    notes = stage_of(stage, folder, freq=freq, duplicates=duplicates) if stage else None
    s = _scan_or_release(folder, engine, con, owned, stage=stage if notes is not None else None,
                         staged=notes is not None)
    try:
        if notes is None:
            clients, kpis, notes = _checked(s, folder, freq, duplicates)
        else:  # checked already: the small tables are read again (one row per client)
            clients, kpis = _small_tables(folder, freq)
        if portfolio:
            clients, kpis = _one_portfolio(s, clients, kpis, portfolio)
        panel = _panel_of_scan(s, freq, partial_periods)
        managers = _managers_of_scan(s, freq, set(panel["period"].unique()))
    finally:
        close(s, stop_spark=owned)
    return EngineBase(clients=clients, kpis=kpis, panel=panel, managers=managers, notes=notes)


def check_in_engine(
    data: str | Path,
    *,
    freq: str = "Q",
    engine: str = "duckdb",
    duplicates: str = "error",
    stage: str | Path = "",
) -> list[str]:
    """The checks :func:`load_in_engine` makes, alone: the warnings found (as notes); an
    :class:`~analysis.errors.InputError` listing every error; :class:`NotScannable` when the files
    need :func:`analysis.ingest.validate` instead.

    ``stage`` (Spark): a folder to keep the converted files in; when the checks pass it gets
    ``checked.json`` (:func:`stage_of`), so that :func:`load_in_engine` given the folder reads
    the Parquet without checking again. Without it the converted files are removed."""
    folder = Path(data)
    owned = engine == "spark" and not spark_active()
    # the files' sha256 before they are converted and checked: a file changed meanwhile then
    # differs from the record and is checked again by the study, never read as checked
    inputs = _input_digests(folder) if stage else {}
    s = _scan_or_release(folder, engine, None, owned, stage=stage or None)
    try:
        notes = _checked(s, folder, freq, duplicates)[2]
        if s.stage is not None and not s.own_stage:
            _write_checked(s, folder, freq=freq, duplicates=duplicates, notes=notes,
                           inputs=inputs)
        return notes
    finally:
        close(s, stop_spark=owned)


def _scan_or_release(folder: Path, engine: str, con: BaseBackend | None, owned: bool,
                     **kwargs) -> Scan:
    """:func:`scan` ``as_is``; when it refuses the files, the connection is released (and a Spark
    session started for it, ``owned``, stopped) before the caller falls back on the tolerant
    readers."""
    con = con if con is not None else connect(engine)
    try:
        return scan(folder, engine=engine, con=con, as_is=True, **kwargs)
    except BaseException:
        release(con, stop_spark=owned)
        raise


def _input_digests(folder: Path) -> dict[str, str]:
    """sha256 of the files :func:`scan` and :func:`_small_tables` read in ``folder``."""
    from analysis.ingest.readers import find_file

    out = {}
    for table in ("transactions", "clients", "events", "kpis"):
        path = _find(folder, table) if table != "kpis" else find_file(folder, table)
        if path is not None:
            h = hashlib.sha256()
            with open(path, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
            out[path.name] = h.hexdigest()
    return out


def _write_checked(s: Scan, folder: Path, *, freq: str, duplicates: str,
                   notes: list[str], inputs: dict[str, str]) -> None:
    """Record in the staging folder that ``folder``'s files passed the checks (read by
    :func:`stage_of`): their sha256 as they were before the conversion (``inputs``), the
    settings, the tables converted, the warnings."""
    assert s.stage is not None
    converted = sorted(t for t in s.tables if (s.stage / f"{t}.parquet").is_dir())  # CSV files
    record = {"folder": str(folder.resolve()), "inputs": inputs,
              "tables": converted, "freq": freq, "duplicates": duplicates, "notes": notes}
    (s.stage / _CHECKED).write_text(json.dumps(record, ensure_ascii=False, indent=1),
                                    encoding="utf-8")


def stage_of(stage: str | Path, folder: str | Path, *, freq: str, duplicates: str
             ) -> list[str] | None:
    """The warnings of the checks :func:`check_in_engine` made into ``stage`` when it holds the
    Parquet of ``folder``'s files as they are now (same sha256), checked with the same ``freq``
    and ``duplicates``; None otherwise (the caller then converts and checks itself)."""
    path = Path(stage) / _CHECKED
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    folder = Path(folder)
    same = (record.get("folder") == str(folder.resolve()) and record.get("freq") == freq
            and record.get("duplicates") == duplicates
            and record.get("inputs") == _input_digests(folder)
            and all((Path(stage) / f"{t}.parquet").is_dir() for t in record.get("tables", [])))
    return list(record.get("notes", [])) if same else None


def stage_from_env() -> str:
    """The staging folder named by :data:`STAGE_ENV` (set by ``keyclients run --engine spark``
    for the jobs of one run), or ""."""
    return os.environ.get(STAGE_ENV, "")


def _checked(
    s: Scan, folder: Path, freq: str, duplicates: str
) -> tuple[pd.DataFrame, pd.DataFrame | None, list[str]]:
    """Read the small tables and run the checks (``s`` scanned ``as_is``: files the engine path
    would misread were refused)."""
    clients, kpis = _small_tables(folder, freq)
    problems = check_scan(s, duplicates=duplicates)
    if (problems["severity"] == "error").any():
        raise InputError(_message(folder, problems))
    notes = [f"warning: {r.file}, {r.column}: {r.check}" for r in problems.itertuples()]
    return clients, kpis, notes


def _message(folder: Path, problems: pd.DataFrame) -> str:
    """The message :func:`analysis.ingest.load` raises, for the engine's problems."""
    from analysis.ingest.validation import format_problems

    n_err = int((problems["severity"] == "error").sum())
    n_warn = len(problems) - n_err
    head = (
        f"{folder}: {n_err} error(s)"
        + (f", {n_warn} warning(s)" if n_warn else "")
        + " in the input; nothing was written"
    )
    return format_problems(problems.assign(line_word="line"), header=head)


def _small_tables(folder: Path, freq: str) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The clients and KPIs read by the tolerant pandas readers, as :func:`analysis.ingest.load`
    builds them (one row per client and per portfolio × period: small beside the order lines)."""
    from analysis.ingest.dataconfig import TableSpec
    from analysis.ingest.readers import find_file, read_many
    from analysis.ingest.tables import build_table
    from analysis.ingest.validation import Problems, format_problems

    problems = Problems()
    frames: dict[str, pd.DataFrame | None] = {}
    for table in ("clients", "kpis"):
        path = find_file(folder, table)
        if path is None:
            frames[table] = None
            continue
        frame = build_table(read_many([path], TableSpec()), table, TableSpec(), problems, freq=freq)
        frames[table] = None if frame is None else frame.reset_index(drop=True)
    clients = frames["clients"]
    if problems.has_errors or clients is None:
        raise InputError(
            format_problems(
                problems.frame(), header=f"{folder}: errors in the input; nothing was written"
            )
        )
    if "portfolio" not in clients or clients["portfolio"].isna().any():
        raise NotScannable(f"{folder}: clients without a portfolio (taken from the order lines)")
    return clients, frames["kpis"]


def _one_portfolio(
    s: Scan, clients: pd.DataFrame, kpis: pd.DataFrame | None, portfolio: str
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """``analysis.report.study.only_portfolio`` in the engine: the clients of one portfolio, and
    their order lines and events filtered by a semi-join (``s.tables`` are replaced)."""
    keep = clients["portfolio"].astype(str) == str(portfolio)
    if not keep.any():
        known = sorted(clients["portfolio"].dropna().astype(str).unique())
        raise InputError(
            f"portfolio {portfolio!r}: no client belongs to it; the data have "
            f"{', '.join(known[:10])}"
        )
    cl = s.tables["clients"]
    cl = cl.filter(cl.portfolio == str(portfolio))
    s.tables["clients"] = cl
    for table in ("transactions", "events"):
        if table in s.tables:
            t = s.tables[table]
            s.tables[table] = t.semi_join(cl.select("client_id"), "client_id")
    if kpis is not None and "portfolio" in kpis:
        kpis = kpis[kpis["portfolio"].astype(str) == str(portfolio)].reset_index(drop=True)
    return clients[keep].reset_index(drop=True), kpis


def _managers_of_scan(s: Scan, freq: str, periods: set[str]) -> pd.DataFrame | None:
    from analysis.ingest.panel import manager_orders, manager_orders_expr

    expr = manager_orders_expr(s.tables["transactions"], freq=freq)
    if expr is None:
        return None
    out = manager_orders(_fetch(s.con, expr))
    return out[out["period"].isin(periods)].reset_index(drop=True)
