"""Read a client base into canonical tables (DESIGN.md, "Data").

This first version reads a folder of canonical CSV files (``clients.csv``, ``transactions.csv``,
``events.csv``, ``kpis.csv``) as ``keyclients synth`` writes them; the ingestion issue grows it into
readers for real exports (delimiters, encodings, Excel, Parquet, column mapping, validation).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.errors import InputError

TABLES = ("clients", "transactions", "events", "kpis")
REQUIRED = {
    "clients": ("client_id",),
    "transactions": ("client_id", "date", "revenue"),
    "events": ("client_id", "date", "type"),
    "kpis": ("period",),
}


@dataclass
class ClientBase:
    """The canonical tables of one client base; absent tables are ``None``."""

    clients: pd.DataFrame
    transactions: pd.DataFrame | None = None
    events: pd.DataFrame | None = None
    kpis: pd.DataFrame | None = None
    source: Path | None = None
    notes: list[str] = field(default_factory=list)
    synthetic: bool = False


def _read_csv(path: Path, table: str) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, dtype={"client_id": str, "portfolio": str, "period": str}, keep_default_na=True)
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(f"{path}: cannot read as a UTF-8 CSV ({exc.__class__.__name__}); "
                         "save it as UTF-8 CSV with a header row") from None
    missing = [c for c in REQUIRED[table] if c not in df.columns]
    if missing:
        raise InputError(f"{path}: required column(s) {', '.join(missing)} missing; "
                         f"found {', '.join(map(str, df.columns))}")
    if "date" in df.columns:
        dates = pd.to_datetime(df["date"], format="%Y-%m-%d", errors="coerce")
        bad = dates.isna()
        if bad.any():
            rows = (bad[bad].index[:5] + 2).tolist()
            raise InputError(f"{path}: column date has {int(bad.sum())} value(s) that are not YYYY-MM-DD dates "
                             f"(rows {rows}); fix or remove them")
        df["date"] = dates
    for col in ("is_reference", "is_new_product"):
        if col in df.columns:
            df[col] = df[col].map({"true": True, "false": False, True: True, False: False}).astype("boolean")
    return df


def load(data: str | Path) -> ClientBase:
    """Read the canonical tables from folder ``data``.

    Returns
    -------
    ClientBase
        ``clients`` (required) and ``transactions``, ``events``, ``kpis`` when present.
    """
    folder = Path(data)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder")
    frames = {}
    for table in TABLES:
        path = folder / f"{table}.csv"
        frames[table] = _read_csv(path, table) if path.is_file() else None
    if frames["clients"] is None:
        raise InputError(f"{folder}: clients.csv not found; a client base needs a clients table")
    if frames["transactions"] is None:
        raise InputError(f"{folder}: transactions.csv not found; a client base needs order lines")
    return ClientBase(**frames, source=folder, synthetic=(folder / "truth.json").is_file())
