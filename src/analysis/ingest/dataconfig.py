"""The data config (``keyclients.yaml``): where each table is and how its columns map.

A pydantic model, so a misspelt key or a wrong type is an :class:`~analysis.errors.InputError`
naming the key and the nearest valid one, not a silent default. Every reader setting left out is
detected from the file (see :mod:`analysis.ingest.readers`).

Example
-------
.. code-block:: yaml

    version: 1
    data: /path/to/exports         # folder the paths are relative to (--data wins); default:
                                   # this file's
    freq: Q                        # periods of the panel: Q (quarters) or M (months); --freq wins
    window: 4                      # periods in the trailing window (default: 4 quarters, 6 months)
    portfolio_by: account_manager  # sub-portfolios: a client or order column (region, branch,
                                   # channel, ...)
    engine: duckdb                 # or spark (pip install 'keyclients[spark]'); --engine wins
    tables:
      transactions:
        path: sales.csv            # relative to the data folder (or to this file without
                                   # --data); an export split over files:
                                   # [sales_2024_q1.csv, sales_2024_q2.csv] or "sales_2024_*.csv"
        encoding: cp1251           # utf-8, utf-8-sig, cp1251, ...: detected when left out
        delimiter: ";"
        decimal: ","
        thousands: " "
        date_format: "%d.%m.%Y"
        header_row: 2              # line number of the header (1 = first line)
        columns: {client_id: ИНН, date: Дата, revenue: Выручка}
        returns: false             # true: negative revenue lines are returns, not errors
        vat: {included: true, rate: 0.2}
        currency: {base: RUB, rates: {USD: 92.5, EUR: 99.1}}
        ignore: [Комментарий]      # source columns never used (not even detected)
        filter: {Статус: {drop: [Отменён, Cancelled]}}   # rows kept/dropped by a column's values
        zero_pad: 5                # client ids of digits only are padded to 5 digits (1 → 00001)
        id_format: text            # or number: 00001, 1 and 1.0 are all the client 1
    duplicates: error              # identical order lines stop validation; keep: they are real
                                   # lines
    partial_periods: drop          # partial first/last period left out of the panel; keep: kept
      events:
        path: events.csv
        values: {type: {Звонок: ignore, Рекламация: claim}}
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from analysis.errors import InputError

TABLES = ("clients", "transactions", "events", "client_periods", "kpis")
#: The name of a table (a key of ``tables:``), one of :data:`TABLES`.
TableName = Literal["clients", "transactions", "events", "client_periods", "kpis"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Vat(_Strict):
    """Revenue includes VAT: ``included: true`` for every line, or the name of a yes/no column."""

    included: bool | str = True
    rate: float = Field(ge=0, le=1)


class Currency(_Strict):
    """Convert every money column to ``base`` with ``rates`` (units of base per unit of
    currency)."""

    base: str
    rates: dict[str, float] = Field(default_factory=dict)


class Source(_Strict):
    """A SQL source that Ibis opens: ``url`` (e.g. ``duckdb:///sales.duckdb``), and a table or a
    query."""

    url: str
    table: str | None = None
    query: str | None = None


class RowFilter(_Strict):
    """Rows kept (``keep``) or dropped (``drop``) by the values of one column (compared as written,
    ignoring case and surrounding spaces)."""

    keep: list[str] | None = None
    drop: list[str] | None = None

    @field_validator("keep", "drop", mode="before")
    @classmethod
    def _as_text(cls, v):
        if v is None:
            return v
        if not isinstance(v, list):
            v = [v]
        return [str(x) for x in v]


class TableSpec(_Strict):
    """How to read one table. Everything but ``path``/``source`` is detected when left out."""

    path: str | list[str] | None = None  # one file, several files read alike and joined, or a glob
    source: Source | None = None
    format: Literal["csv", "xlsx", "parquet"] | None = None
    sheet: str | int | None = None
    encoding: str | None = None
    # , ; | \\t, "whitespace" (runs of spaces) or "fixed" (aligned columns)
    delimiter: str | None = None
    decimal: Literal[".", ","] | None = None
    thousands: str | None = None
    date_format: str | None = None
    header_row: int | None = Field(default=None, ge=1)
    skip_totals: bool = True
    columns: dict[str, str] = Field(default_factory=dict)
    values: dict[str, dict[str, str]] = Field(default_factory=dict)
    true_values: list[str] = Field(default_factory=list)
    false_values: list[str] = Field(default_factory=list)
    returns: bool = False
    vat: Vat | None = None
    currency: Currency | None = None
    ignore: list[str] = Field(default_factory=list)
    filter: dict[str, RowFilter] = Field(default_factory=dict)
    zero_pad: int | None = Field(default=None, ge=1, le=40)
    id_format: Literal["text", "number"] = "text"

    @field_validator("delimiter")
    @classmethod
    def _one_char(cls, v: str | None) -> str | None:
        if v is not None and v not in (",", ";", "\t", "|", "\\t", " ", "whitespace", "fixed"):
            raise ValueError("delimiter must be one of , ; | \\t whitespace fixed")
        if v == " ":
            return "whitespace"
        return "\t" if v == "\\t" else v

    @field_validator("path")
    @classmethod
    def _some_path(cls, v):
        if isinstance(v, list):
            if not v:
                raise ValueError("path lists no file; name one file, several ([a.csv, b.csv]) or a "
                                 "glob (sales_*.csv)")
            return v[0] if len(v) == 1 else v
        return v

    @field_validator("ignore", mode="before")
    @classmethod
    def _list(cls, v):
        return [v] if isinstance(v, str) else v


class DataConfig(_Strict):
    """The whole data config; ``tables`` not named are looked up by canonical file name."""

    version: int = 1
    data: str | None = None
    freq: Literal["Q", "M", "Y"] | None = None
    # trailing window in periods; default per frequency
    window: int | None = Field(default=None, ge=1)
    # units of the panel inside one company (see analysis.ingest.units)
    portfolio_by: str | None = None
    engine: Literal["duckdb", "spark"] | None = None  # aggregation engine; --engine wins
    # identical order lines: stop, or keep as real lines
    duplicates: Literal["error", "keep"] = "error"
    # partial first/last period: out of the panel, or kept
    partial_periods: Literal["drop", "keep"] = "drop"
    tables: dict[TableName, TableSpec] = Field(default_factory=dict)


def _nearest(word: str | int, choices: Iterable[str]) -> str:
    hit = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.5)
    return f"; did you mean {hit[0]!r}?" if hit else ""


def _fields_at(loc: tuple) -> list[str]:
    """The valid keys at the place in the model where an unknown key ``loc[-1]`` was found."""
    path = [p for p in loc[:-1] if not isinstance(p, int)]
    if path == ["tables"]:
        return list(TABLES)
    if path[:1] == ["tables"]:
        path = path[2:]
        model: type[BaseModel] = TableSpec
    else:
        model = DataConfig
    for part in path:
        ann = getattr(model.model_fields.get(part), "annotation", None)
        found = next((c for c in (Vat, Currency, Source, RowFilter) if ann is c
                      or c in getattr(ann, "__args__", ())), None)
        if found is None:
            return []
        model = found
    return list(model.model_fields)


def parse_config(raw: object, *, origin: str = "config") -> DataConfig:
    """Check a config mapping; raise :class:`InputError` naming the bad key and the fix."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InputError(f"{origin}: a data config is a YAML mapping (version, freq, tables); got "
                         f"{type(raw).__name__}")
    try:
        return DataConfig.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for err in exc.errors()[:5]:
            loc = tuple(err["loc"])
            where = ".".join(str(p) for p in loc)
            if err["type"] == "extra_forbidden":
                lines.append(f"unknown key {where!r}{_nearest(loc[-1], _fields_at(loc))}")
            elif err["type"] == "literal_error" and len(loc) >= 2 and loc[0] == "tables":
                lines.append(f"unknown table {str(loc[1])!r} under tables; use one of "
                             f"{', '.join(TABLES)}{_nearest(loc[1], TABLES)}")
            else:
                lines.append(f"{where}: {err['msg']}")
        raise InputError(f"{origin}: " + "; ".join(dict.fromkeys(lines))
                         + "; fix the config file") from None


def read_config(path: str | Path) -> DataConfig:
    """Read and check a YAML data config."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: config file not found; write one with `keyclients init-config "
                         "--data DIR`")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable YAML file ({str(exc).splitlines()[0]}); fix its "
                         "syntax") from None
    return parse_config(raw, origin=str(path))
