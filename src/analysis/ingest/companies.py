"""A research panel of companies: several company folders read as one client base.

Each folder is one company's export, read by :func:`analysis.ingest.load` with its own data
config (``keyclients.yaml`` in the folder: its currency, VAT, column names; ``--config`` serves
folders without one). The companies become the portfolios of the panel (``portfolio`` = the
folder's name, replacing any portfolio column of the company's own), and client ids are prefixed
with it (``acme:C0001``), so two companies' client 1 stay two clients.

Money on one scale. Rule thresholds are pooled over all clients of all companies (a quantile, the
Pareto top 80 % of revenue), so money must be comparable across companies: a company reporting in
roubles would otherwise hold every "largest" client. Every money column of a company (revenue,
cost, gross profit, prepayment and event amounts) is multiplied by one factor, chosen so that the
company's median client-period revenue becomes :data:`REFERENCE`. A client's money then reads "in
units of its company's typical client"; margins, shares and growth rates do not change (a constant
factor cancels in ratios and log differences, and the size control's level is absorbed by the
portfolio fixed effects). The factors are listed in :func:`load_companies`'s table.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analysis.errors import InputError

if TYPE_CHECKING:  # the package imports this module's users; at run time each function imports it
    from analysis.ingest import ClientBase, DataConfig, ValidationReport

#: The median client-period revenue of every company after rescaling.
REFERENCE = 10_000.0
CONFIG_NAME = "keyclients.yaml"
_MONEY = {"transactions": ("revenue", "cost", "gross_profit"), "events": ("amount",),
          "client_periods": ("revenue", "cost", "gross_profit", "new_product_revenue",
                             "prepayment_amount")}
_ID_TABLES = ("clients", "transactions", "events", "client_periods")


def _has_data(folder: Path) -> bool:
    from analysis.ingest.readers import find_file

    return (find_file(folder, "clients") is not None
            or find_file(folder, "transactions") is not None
            or (folder / CONFIG_NAME).is_file())


def company_folders(path: str | Path) -> list[Path] | None:
    """The company folders inside ``path`` when it is a folder of company folders, else None.

    A folder is a folder of companies when it holds no client base itself (no ``clients``/
    ``transactions`` file, no ``keyclients.yaml``) and some of its sub-folders do; they are taken
    in name order.
    """
    path = Path(path)
    if not path.is_dir() or _has_data(path):
        return None
    subs = sorted((p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")
                   and _has_data(p)),
                  key=lambda p: p.name)
    return subs or None


def is_synthetic(path: str | Path) -> bool:
    """A ``truth.json`` lies beside the data (in any company folder of a folder of companies)."""
    path = Path(path)
    folders = company_folders(path) or [path]
    return any((f / "truth.json").is_file() for f in folders)


def names(folders: list[Path]) -> list[str]:
    """One name per company folder: the folder's name (``-2``, ``-3`` … when two are the same)."""
    out: list[str] = []
    for f in folders:
        name = Path(f).resolve().name or "company"
        base, i = name, 2
        while name in out:
            name, i = f"{base}-{i}", i + 1
        out.append(name)
    return out


def _company_config(folder: Path, config: str | Path | None, freq: str | None) -> DataConfig:
    from analysis.ingest import DataConfig, read_config

    own = folder / CONFIG_NAME
    cfg = read_config(own) if own.is_file() else (read_config(config) if config else DataConfig())
    return cfg.model_copy(update={"freq": freq or cfg.freq})


def validate_companies(folders: list[Path], *, config: str | Path | None = None,
                       freq: str | None = None) -> ValidationReport:
    """Validate every company folder; one :class:`~analysis.ingest.ValidationReport` for all.

    Problems and notes name the company (``acme/transactions.csv``); ``base`` is the combined
    client base of :func:`combine` when no company has an error.
    """
    from analysis.ingest import ValidationReport, validate

    reports: list[tuple[str, Path, ValidationReport]] = []
    frames: list[pd.DataFrame] = []
    notes: list[str] = []
    for name, folder in zip(names(folders), folders):
        rep = validate(folder, config=_company_config(folder, config, freq))
        reports.append((name, folder, rep))
        p = rep.problems.copy()
        if len(p):
            p["file"] = name + "/" + p["file"].astype(str)
        frames.append(p)
        notes += [f"{name}/{n}" for n in rep.notes]
    problems = pd.concat(frames, ignore_index=True) if frames else reports[0][2].problems
    base = None
    if all(r.ok for _, _, r in reports):
        bases = [(n, f, r.base) for n, f, r in reports if r.base is not None]  # all: no errors
        base, _ = combine(bases, freq=freq or reports[0][2].freq or "Q",
                          configs=[_company_config(f, config, freq) for f in folders])
    parent = Path(folders[0]).parent
    first_freq = _company_config(folders[0], config, freq).freq
    return ValidationReport(problems=problems, base=base, notes=notes, source=str(parent),
                            freq=freq or first_freq or "Q")


def load_companies(folders: list[Path], *, config: str | Path | None = None,
                   freq: str = "Q") -> tuple[ClientBase, pd.DataFrame]:
    """Read several company folders into one client base, each company one portfolio.

    Returns
    -------
    (ClientBase, pandas.DataFrame)
        The combined base (ids prefixed ``company:``, money rescaled, see the module docstring) and
        one row per company: ``company, folder, currency, vat, clients, order_lines, first_period,
        last_period, median_client_period_revenue`` (in the company's own money), ``scale`` (the
        factor every money column was multiplied by).

    Raises
    ------
    InputError
        When a folder has errors; the message names the company.
    """
    from analysis.ingest import load

    loaded: list[tuple[str, Path, ClientBase]] = []
    configs: list[DataConfig] = []
    for name, folder in zip(names(folders), folders):
        cfg = _company_config(folder, config, freq)
        try:
            loaded.append((name, folder, load(folder, config=cfg)))
        except InputError as exc:
            raise InputError(f"company {name} ({folder}): {exc}") from None
        configs.append(cfg)
    return combine(loaded, freq=freq, configs=configs)


def _median_revenue(base: ClientBase, freq: str) -> float:
    if base.transactions is not None:
        tx = base.transactions
        per = pd.to_datetime(tx["date"]).dt.to_period(freq).astype(str)
        rev = tx.groupby([tx["client_id"].astype(str), per])["revenue"].sum()
    elif base.client_periods is not None:
        rev = base.client_periods.groupby(["client_id", "period"])["revenue"].sum()
    else:
        return float("nan")
    rev = rev[rev > 0]
    return float(rev.median()) if len(rev) else float("nan")


def combine(loaded: list[tuple[str, Path, ClientBase]], *, freq: str,
            configs: list[DataConfig] | None = None) -> tuple[ClientBase, pd.DataFrame]:
    """The companies' bases as one (see :func:`load_companies`)."""
    parts: dict[str, list[pd.DataFrame]] = {t: [] for t in (*_ID_TABLES, "kpis")}
    rows = []
    for i, (name, folder, base) in enumerate(loaded):
        med = _median_revenue(base, freq)
        scale = REFERENCE / med if np.isfinite(med) and med > 0 else 1.0
        for table in (*_ID_TABLES, "kpis"):
            df = getattr(base, table, None)
            if df is None:
                continue
            df = df.copy()
            if table in _ID_TABLES:
                df["client_id"] = name + ":" + df["client_id"].astype(str)
            for col in _MONEY.get(table, ()):
                if col in df.columns:
                    df[col] = (pd.to_numeric(df[col], errors="coerce") * scale).round(2)
            if table == "kpis":
                num = [c for c in df.columns if c not in ("portfolio", "period")
                       and pd.api.types.is_numeric_dtype(df[c])
                       and not pd.api.types.is_bool_dtype(df[c])]
                if "portfolio" in df.columns and df["portfolio"].nunique() > 1:
                    df = df.groupby("period", as_index=False)[num].mean()
                df = df.drop(columns=["portfolio"], errors="ignore")
            if table in ("clients", "transactions", "client_periods", "kpis"):
                df["portfolio"] = name
            parts[table].append(df)
        cfg = configs[i] if configs else None
        tx_spec = cfg.tables.get("transactions") if cfg is not None else None
        tx, cp = base.transactions, base.client_periods
        if tx is not None:
            periods = pd.to_datetime(tx["date"]).dt.to_period(freq).astype(str)
        elif cp is not None:
            periods = cp["period"].astype(str)
        else:  # not reached: a base without errors has order lines or client periods
            raise InputError(f"company {name} ({folder}): no order lines nor client periods")
        rows.append({
            "company": name, "folder": str(folder),
            "currency": (tx_spec.currency.base if tx_spec is not None
                         and tx_spec.currency is not None else ""),
            "vat": (f"included, {tx_spec.vat.rate:.0%} removed" if tx_spec is not None
                    and tx_spec.vat is not None
                    else ""),
            "clients": int(len(base.clients)), "order_lines": int(len(tx)) if tx is not None else 0,
            "first_period": min(periods) if len(periods) else "", "last_period": max(periods)
            if len(periods) else "",
            "median_client_period_revenue": med, "scale": scale,
        })
    tables: dict[str, pd.DataFrame | None] = {}
    for table, frames in parts.items():
        if not frames:
            tables[table] = None
            continue
        bools = {c for f in frames for c in f.columns if str(f[c].dtype) == "boolean"}
        out = pd.concat(frames, ignore_index=True)
        for c in bools:
            out[c] = out[c].astype("boolean")
        tables[table] = out
    first = loaded[0][2]
    notes = [f"{name}/{n}" for name, _, b in loaded for n in b.notes]
    base = dataclasses.replace(
        first, clients=tables["clients"], transactions=tables["transactions"],
        events=tables["events"],
        kpis=tables["kpis"], client_periods=tables["client_periods"],
        source=Path(loaded[0][1]).parent,
        notes=notes, synthetic=any(b.synthetic for _, _, b in loaded))
    return base, pd.DataFrame(rows)
