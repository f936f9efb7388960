"""The row-level engines: connect DuckDB or Spark, read large canonical files in place, check them there.

:mod:`analysis.ingest` reads real exports of any shape (encodings, title rows, decimal commas,
Russian headers) into pandas; that holds every cell in memory. Order lines that are already
canonical — Parquet, or plain CSV with canonical headers, ``,`` between fields, ``.`` decimals and
ISO dates (what ``keyclients synth`` writes and what a warehouse exports) — are better read by the
engine itself: DuckDB streams them through the aggregation in bounded memory, and Spark reads them
on its executors. The panel is the same Ibis expression (:func:`analysis.ingest.panel.panel_expr`) either
way, so both paths give the same numbers.

Engines: ``duckdb`` (embedded, the default) and ``spark`` (``pip install 'keyclients[spark]'``;
an active ``SparkSession`` is used as it is, otherwise one is started on
``KEYCLIENTS_SPARK_MASTER``, default ``local[2]``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.config import EVENT_TYPES
from analysis.errors import InputError
from analysis.ingest.backends import ENGINES, connect, spark_session  # noqa: F401 (public here too)

MONEY = "DECIMAL(18, 2)"
#: Canonical columns the engine reads, with their engine types (others in the file are ignored).
SCAN_COLUMNS: dict[str, dict[str, str]] = {
    "transactions": {"client_id": "VARCHAR", "date": "DATE", "revenue": MONEY, "cost": MONEY,
                     "is_new_product": "BOOLEAN", "account_manager": "VARCHAR"},
    "clients": {"client_id": "VARCHAR", "portfolio": "VARCHAR"},
    "events": {"client_id": "VARCHAR", "date": "DATE", "type": "VARCHAR", "amount": MONEY},
}
REQUIRED = {"transactions": ("client_id", "date", "revenue"), "clients": ("client_id", "portfolio"),
            "events": ("client_id", "date", "type")}
_SPARK_TYPES = {"VARCHAR": "STRING", "DATE": "DATE", MONEY: "DECIMAL(18,2)", "BOOLEAN": "BOOLEAN"}
MAX_LINES = 5  # record numbers shown per problem
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class NotScannable(InputError):
    """The files are not canonical enough for the engine to read them itself (use :func:`analysis.ingest.load`)."""


@dataclass
class Scan:
    """Canonical tables registered in an engine, read from the files where they lie."""

    con: object
    tables: dict = field(default_factory=dict)  # name → ibis Table (canonical column names)
    paths: dict = field(default_factory=dict)  # name → Path
    raw: dict = field(default_factory=dict)  # name → ibis Table of the file's cells as text (CSV), for checks


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


def scan(data: str | Path, *, engine: str = "duckdb", con=None) -> Scan:
    """Register the folder's canonical ``transactions``, ``clients`` and ``events`` files in the engine.

    Parameters
    ----------
    data
        Folder with ``transactions`` and ``clients`` (and optionally ``events``) as ``.parquet`` or
        plain ``.csv`` with canonical headers (``client_id, date, revenue``...); or a URI
        (``hdfs://``, ``s3a://``...) of a folder holding them as ``.parquet``, read by the engine
        itself (on Spark, by the executors).
    engine, con
        ``duckdb`` or ``spark``, or an Ibis connection to use.

    Returns
    -------
    Scan
        ``tables`` (Ibis tables with the canonical columns found, typed: money DECIMAL(18,2),
        dates DATE), ``paths``, ``raw`` (CSV cells as text, for :func:`check`) and ``con``.

    Raises
    ------
    NotScannable
        When a file is missing, not canonical (other headers, delimiter, date format, encoding)
        or a required column is absent; :func:`analysis.ingest.load` reads such files.
    """
    folder = Path(data)
    con = con if con is not None else connect(engine)
    spark = con.name == "pyspark"
    out = Scan(con=con)
    remote = "://" in str(data)  # hdfs://, s3a://, gs://...: Parquet read by the engine (Spark's executors)
    for table in ("transactions", "clients", "events"):
        path = f"{str(data).rstrip('/')}/{table}.parquet" if remote else _find(folder, table)
        if path is None:
            if table == "events":
                continue
            raise NotScannable(f"{folder}: no {table}.parquet or {table}.csv")
        want = SCAN_COLUMNS[table]
        if remote:
            try:
                t = con.read_parquet(path)
            except Exception as exc:
                if table == "events":
                    continue
                raise NotScannable(f"{path}: cannot read ({str(exc).splitlines()[0][:200]})") from None
            header = list(t.columns)
            raw = t
            path = Path(path.split("://", 1)[1])  # for the file name in messages
        elif path.suffix == ".parquet":
            t = con.read_parquet(str(path))
            header = list(t.columns)
            raw = t  # typed by the file; text columns are parsed with try_cast in check()
        else:
            header = _csv_header(path)
            if spark:
                ddl = ", ".join(f"`{h}` {_SPARK_TYPES.get(want.get(h, 'VARCHAR'), 'STRING')}" for h in header)
                t = con.read_csv(str(path), header=True, schema=ddl, mode="PERMISSIVE")
                raw = None
            else:
                t = con.read_csv(str(path), types={h: want[h] for h in header if h in want},
                                 header=True, delim=",", quote='"', auto_detect=True)
                raw = con.read_csv(str(path), header=True, delim=",", quote='"', all_varchar=True)
        missing = [c for c in REQUIRED[table] if c not in header]
        if missing:
            raise NotScannable(f"{path.name}: no column {', '.join(missing)} under its canonical name")
        keep = [c for c in want if c in header]
        casts = {c: t[c].cast(want[c].lower().replace("varchar", "string")) for c in keep}
        if table == "events":
            casts["type"] = t["type"].cast("string").strip().lower()
        out.tables[table] = t.select(**casts)
        out.paths[table] = path
        out.raw[table] = raw
    return out


def panel_from_files(data: str | Path, *, freq: str = "Q", engine: str = "duckdb",
                     partial_periods: str = "drop") -> pd.DataFrame:
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
    from analysis.ingest.panel import panel_expr

    # the result is sorted explicitly, so DuckDB need not keep the files' row order (less memory)
    con = connect(engine, preserve_insertion_order=False) if engine == "duckdb" else None
    s = scan(data, engine=engine, con=con)
    try:
        expr = panel_expr(s.tables["transactions"], s.tables["clients"], s.tables.get("events"), freq=freq)
        # through Arrow: Ibis's own to_pandas adds a second conversion pass (~25 % of the time at 1M lines)
        out = s.con.to_pyarrow(expr).to_pandas()
        if partial_periods == "drop" and len(out):  # as client_period_panel: partial first/last period out
            from analysis.ingest.periods import partial_labels

            tx = s.tables["transactions"]
            days = s.con.to_pyarrow(tx.select(day=tx.date.cast("date")).distinct()).to_pandas()["day"]
            part = partial_labels(pd.to_datetime(days), freq)
            if part and pd.to_datetime(days).dt.to_period(freq).nunique() - len(part) >= 2:
                out = out[~out["period"].isin(part)]
    finally:
        if s.con.name == "duckdb":
            s.con.disconnect()
    for col in ("client_id", "portfolio", "period"):
        out[col] = out[col].astype("str")
    return out.reset_index(drop=True)


_CHECK_FIX = {
    "client_id": "every line needs the client's id",
    "date": "write every date as YYYY-MM-DD",
    "revenue": "write amounts as plain numbers with a dot for decimals",
}


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
    import ibis

    s = scan(data, engine=engine)
    rows: list[dict] = []
    cl = s.tables["clients"]

    def add(table, column, check_, count, lines, fix):
        rows.append({"severity": "error", "file": s.paths[table].name, "column": column, "check": check_,
                     "count": int(count), "lines": ", ".join(str(int(x)) for x in lines), "fix": fix})

    try:
        for table, t in s.tables.items():
            raw = s.raw.get(table)
            src = raw if raw is not None else t
            conds: dict[str, tuple[str, object, object]] = {}  # "column|check" → (column, condition, example value)
            for col, typ in SCAN_COLUMNS[table].items():
                if col not in t.columns:
                    continue
                cell = src[col]
                textual = cell.type().is_string()  # (DuckDB reads an empty CSV field as NULL; no TRIM needed)
                if textual and typ != "VARCHAR":  # text cells (CSV, or a text column in Parquet) that do not parse
                    target = {"DATE": "date", MONEY: "decimal(18, 2)", "BOOLEAN": "boolean"}[typ]
                    parsed = cell.try_cast(target)
                    what = "date" if typ == "DATE" else "yes/no value" if typ == "BOOLEAN" else "number"
                    conds[f"{col}|not a {what}"] = (col, cell.notnull() & (cell != "") & parsed.isnull(), cell)
                    value = parsed
                else:
                    value = cell
                if col in REQUIRED[table]:
                    conds[f"{col}|empty"] = (col, cell.isnull() | (cell == "") if textual else cell.isnull(),
                                             None)
                if table == "transactions" and col == "revenue" and not returns:
                    conds[f"{col}|negative revenue"] = (col, value < 0, None)
                if table == "events" and col == "type":
                    conds[f"{col}|not an event type"] = (
                        col, cell.notnull() & ~cell.strip().lower().isin(list(EVENT_TYPES)), cell)
                if table != "clients" and col == "client_id":
                    conds[f"{col}|client not in the clients table"] = (
                        col, cell.notnull() & (cell != "") & ~cell.isin(cl.client_id), None)
            aggs = {}
            for i, (_, cond, example) in enumerate(conds.values()):
                aggs[f"c{i}"] = cond.fill_null(False).ifelse(1, 0).sum()
                if example is not None:
                    aggs[f"e{i}"] = example.cast("string").min(where=cond.fill_null(False))
            res = s.con.to_pandas(src.aggregate(**aggs)).iloc[0]
            for i, (key, (col, cond, example)) in enumerate(conds.items()):
                name = key.split("|", 1)[1]
                count = int(res[f"c{i}"] or 0)
                if not count:
                    continue
                lines = []
                if s.con.name == "duckdb":  # record numbers in file order, looked up only for failed checks
                    numbered = src.mutate(_line=ibis.row_number().over() + 1)
                    first = numbered.filter(cond.fill_null(False)).order_by("_line").limit(MAX_LINES)
                    lines = s.con.to_pandas(first.select("_line"))["_line"].tolist()
                label = name
                if example is not None and res.get(f"e{i}") is not None:
                    label += f" (e.g. {str(res[f'e{i}'])[:40]!r})"
                fix = {"client not in the clients table": f"add those clients to {s.paths['clients'].name} or correct the ids",
                       "not an event type": f"use one of {', '.join(EVENT_TYPES)} (or map the words in a data config)",
                       "negative revenue": "returns? pass returns=True (`returns: true` in the config); else correct them",
                       }.get(name, _CHECK_FIX.get(col, "correct those cells"))
                add(table, col, label, count, lines, fix)
        dup = cl.group_by("client_id").aggregate(n=cl.count()).filter(lambda x: x.n > 1)
        ndup = int(s.con.to_pandas(dup.aggregate(k=dup.count()))["k"].iloc[0])  # ids listed twice or more
        if ndup:
            add("clients", "client_id", "client id listed more than once", ndup, [], "keep one line per client")
    finally:
        if s.con.name == "duckdb":
            s.con.disconnect()
    return pd.DataFrame(rows, columns=["severity", "file", "column", "check", "count", "lines", "fix"])
