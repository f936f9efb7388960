"""Lazy validation: every failure is collected (file, column, check, count, first lines, fix).

Parse failures are found while typing the columns (:mod:`analysis.ingest.tables`); the row checks on
the typed tables are pandera schemas run with ``lazy=True``; the checks across tables (unknown
clients, founding after the first order, empty periods) are vectorised joins. Frames carry their
source line numbers as index, so a failure names the line a user can open the file at.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, SupportsInt

import pandas as pd

from analysis.config import EVENT_TYPES

if TYPE_CHECKING:  # pandera is imported when a table is checked, not with the package (~0.3 s)
    import pandera.pandas as pa

MAX_LINES = 5
PROBLEM_COLUMNS = ["severity", "file", "column", "check", "count", "lines", "fix"]


@dataclass
class Problems:
    """A growing list of problems found in the input; ``frame()`` gives the tidy table."""

    rows: list[dict] = field(default_factory=list)
    #: (file, column) → lines already reported as unreadable, so an emptied cell is not reported
    #: twice
    unreadable: dict = field(default_factory=dict)
    #: label of a table joined from several files → its rows' ``file`` and ``line`` (by row
    #: position),
    #: so every problem names the file and the line where the row was read
    origins: dict = field(default_factory=dict)

    def where(self, file: str, index: SupportsInt) -> str:
        """Row ``index`` of ``file`` as a line number, or as ``name:line`` in a table joined from
        files."""
        origin = self.origins.get(file)
        if origin is None:
            return str(int(index))
        return f"{origin['file'].iat[int(index)]}:{int(origin['line'].iat[int(index)])}"

    def add(self, severity: str, file: str, column: str, check: str, *, count: int = 1,
            lines: Iterable[SupportsInt] = (),
            fix: str = "", line_word: str = "line") -> None:
        lines = list(lines)[:MAX_LINES]
        self.rows.append({"severity": severity, "file": file, "column": column or "",
                          "check": check,
                          "count": int(count),
                          "lines": ", ".join(self.where(file, x) for x in lines),
                          "line_word": line_word, "fix": fix})

    def error(self, *args: Any, **kw: Any) -> None:
        self.add("error", *args, **kw)

    def warning(self, *args: Any, **kw: Any) -> None:
        self.add("warning", *args, **kw)

    def mask(self, severity: str, file: str, column: str, check: str, bad: pd.Series, fix: str,
             line_word: str = "line", values: pd.Series | None = None) -> None:
        """Add a problem for the rows where ``bad`` is true (nothing when none is)."""
        bad = bad.fillna(False).astype(bool)
        if severity == "error" and bad.any():
            self.unreadable.setdefault((file, column),
                                       set()).update(bad.index[bad.to_numpy()].tolist())
        n = int(bad.sum())
        if not n:
            return
        idx = bad.index[bad.to_numpy()][:MAX_LINES]
        if values is not None:
            shown = ", ".join(repr(str(v))[:40] for v in values.loc[idx].tolist()[:3])
            check = f"{check} (e.g. {shown})"
        self.add(severity, file, column, check, count=n, lines=idx, fix=fix, line_word=line_word)

    @property
    def has_errors(self) -> bool:
        return any(r["severity"] == "error" for r in self.rows)

    def frame(self) -> pd.DataFrame:
        if not self.rows:
            return pd.DataFrame(columns=PROBLEM_COLUMNS)
        df = pd.DataFrame(self.rows)
        order = {"error": 0, "warning": 1}
        df = df.sort_values(["severity"], key=lambda s: s.map(order),
                            kind="stable").reset_index(drop=True)
        return df[PROBLEM_COLUMNS + ["line_word"]]


def format_problems(df: pd.DataFrame, *, header: str = "") -> str:
    """The short table ``keyclients validate`` prints: one block per problem."""
    out = [header] if header else []
    for r in df.itertuples(index=False):
        where = r.file + (f", column {r.column}" if r.column else "")
        lines = f"; {r.line_word}s {r.lines}" if r.lines else ""
        count = f" ({r.count:,} {r.line_word}{'s' if r.count != 1 else ''})" if r.lines else ""
        out.append(f"  {r.severity.upper():7s} {where}: {r.check}{count}{lines}\n          → "
                   f"{r.fix}")
    return "\n".join(out)


# --- pandera schemas of the typed tables
# ------------------------------------------------------------

def _check(fn, name: str) -> "pa.Check":
    import pandera.pandas as pa

    return pa.Check(fn, name=name, ignore_na=True)


def table_schema(table: str, columns: Iterable[str], *, returns: bool = False,
                 today: pd.Timestamp | None = None, this_year: int | None = None
                 ) -> "pa.DataFrameSchema":
    """Row checks of one canonical table (only on the columns it has)."""
    import pandera.pandas as pa

    today = today or pd.Timestamp.today().normalize()
    this_year = this_year or today.year
    cols: dict[str, pa.Column] = {}

    def col(name, checks=(), **kw):
        if name in columns:
            cols[name] = pa.Column(checks=list(checks), required=False, coerce=False, **kw)

    not_future = _check(lambda s: s <= today, "date in the future")
    if table == "clients":
        col("client_id", nullable=False, unique=True)
        col("founded_year",
            [_check(lambda s: (s >= 1700) & (s <= this_year),
                    f"founded_year outside 1700–{this_year}")],
            nullable=True)
    elif table == "transactions":
        col("client_id", nullable=False)
        col("date", [not_future], nullable=False)
        col("revenue", [] if returns else [_check(lambda s: s >= 0, "negative revenue")],
            nullable=False)
        col("cost", [_check(lambda s: s >= 0, "negative cost")] if not returns else [],
            nullable=True)
    elif table == "events":
        col("client_id", nullable=False)
        col("date", [not_future], nullable=False)
        col("type", [_check(lambda s: s.isin(EVENT_TYPES), "unknown event type")], nullable=False)
        col("amount", [_check(lambda s: s >= 0, "negative amount")], nullable=True)
    elif table == "client_periods":
        col("client_id", nullable=False)
        col("period", nullable=False)
        col("revenue", [] if returns else [_check(lambda s: s >= 0, "negative revenue")],
            nullable=False)
    elif table == "kpis":
        col("period", nullable=False)
    return pa.DataFrameSchema(cols, strict=False, coerce=False)


#: Checks that warn instead of stopping the run (a synthetic world may reach into the future).
WARNING_CHECKS = {"date in the future"}

FIXES = {
    "unique": "give every client one row (merge the duplicates) or map another column to client_id",
    "not_nullable": "fill the empty cells or remove those lines",
    "negative revenue": "remove or correct the lines; if they are returns, set `returns: true` for "
    "this table in the config",
    "negative cost": "correct the cost of those lines",
    "negative amount": "correct the event amounts",
    "date in the future": "fine for plans or synthetic data; otherwise check the date format (day "
    "and month swapped?)",
    "unknown event type": ("map these values under `values: {type: {...: "
                           "claim|trial|spec_requirement|prepayment|deferral_accepted|incident"
                           "|ignore}}` for events in the config"),
}


def run_schema(problems: Problems, frame: pd.DataFrame, table: str, label: str,
               names: dict[str, str], *,
               returns: bool = False, line_word: str = "line") -> None:
    """Validate ``frame`` lazily and add every failure to ``problems``."""
    from pandera.errors import SchemaErrors

    schema = table_schema(table, frame.columns, returns=returns)
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as exc:
        fc = exc.failure_cases
        fc = fc[fc["column"].notna()]
        for (column, check), grp in fc.groupby(["column", "check"], sort=False):
            idx = pd.to_numeric(grp["index"], errors="coerce").dropna().astype(int)
            if check == "field_uniqueness":
                name, fix = "duplicate value", FIXES["unique"]
                dup = frame[column].duplicated(keep=False) & frame[column].notna()
                idx = pd.Series(frame.index[dup.to_numpy()])
                examples = frame.loc[dup, column].astype(str).unique()[:3].tolist()
                name += f" (e.g. {', '.join(map(repr, examples))})"
            elif check == "not_nullable":
                name, fix = "empty cell", FIXES["not_nullable"]
                seen = problems.unreadable.get((label, names.get(column, column)), set())
                idx = idx[~idx.isin(seen)]
                if idx.empty:
                    continue
            else:
                name, fix = str(check), FIXES.get(str(check), "correct or remove those lines")
                examples = grp["failure_case"].astype(str).unique()[:3].tolist()
                if examples and check != "date in the future":
                    name += f" (e.g. {', '.join(map(repr, examples))})"
                elif examples:
                    name += f" (e.g. {examples[0][:10]})"
            severity = "warning" if check in WARNING_CHECKS else "error"
            problems.add(severity, label, names.get(column, column), name, count=len(idx),
                         lines=sorted(idx)[:MAX_LINES], fix=fix, line_word=line_word)
