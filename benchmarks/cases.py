"""One benchmark case per call, run by ``run.py`` in a fresh process: ``python cases.py CASE ARG...``.

Only the standard library is imported at the top, so each case pays for exactly the imports it
needs (they are part of what is measured). A case prints one JSON line last: a checksum of its
result, so the harness can check that the paths compared computed the same thing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

EVENT_TYPES = ("claim", "trial", "spec_requirement", "prepayment", "deferral_accepted", "incident")


def _checksum(df) -> dict:
    """Order-insensitive sums of a client × period panel (money to the cent, counts exact)."""
    return {"rows": int(len(df)), "orders": int(df["orders"].sum()), "claim": int(df["claim"].sum()),
            "prepayment": int(df["prepayment"].sum()), "revenue": round(float(df["revenue"].sum()), 0),
            "cost": round(float(df["cost"].sum()), 0),
            "prepayment_amount": round(float(df["prepayment_amount"].sum()), 0),
            "manager_chars": int(df["account_manager"].astype("str").str.len().sum()),
            "first": [str(df["client_id"].iloc[0]), str(df["period"].iloc[0])],
            "last": [str(df["client_id"].iloc[-1]), str(df["period"].iloc[-1])]}


# --- aggregation into the client × quarter panel ----------------------------------------------

def agg_ours(folder: str) -> dict:
    """Our path: the panel's Ibis expression over the files, read by DuckDB in place."""
    from analysis.ingest.engine import panel_from_files

    return _checksum(panel_from_files(folder))


def agg_ours_pandas_ingest(folder: str) -> dict:
    """Our tolerant path: ``analysis.ingest.load`` (pandas readers) then ``client_period_panel``."""
    from analysis.ingest import load
    from analysis.ingest.panel import client_period_panel

    return _checksum(client_period_panel(load(folder)))


def _source(folder: Path, table: str) -> str:
    pq = folder / f"{table}.parquet"
    return f"read_parquet('{pq}')" if pq.is_file() else f"read_csv('{folder / (table + '.csv')}')"


def duckdb_sql(folder: Path) -> str:
    """The same panel as one hand-written DuckDB query (what a DuckDB user would write)."""
    q = "year(date)::VARCHAR || 'Q' || quarter(date)::VARCHAR"
    counts = ",\n".join(f"  count(*) FILTER (WHERE type = '{t}') AS {t}" for t in EVENT_TYPES)
    ev = ",\n".join(f"  coalesce(e.{t}, 0) AS {t}" for t in EVENT_TYPES)
    return f"""
WITH t AS (
  SELECT client_id, {q} AS period, CAST(revenue AS DECIMAL(18,2)) AS rev, CAST(cost AS DECIMAL(18,2)) AS cost,
         coalesce(is_new_product, false) AS np, account_manager
  FROM {_source(folder, 'transactions')}
), g AS (
  SELECT client_id, period, account_manager, sum(rev) AS revenue, sum(cost) AS cost, count(*) AS orders,
         sum(CASE WHEN np THEN rev ELSE 0 END) AS npr
  FROM t GROUP BY client_id, period, account_manager
), a AS (
  SELECT client_id, period, sum(revenue) AS revenue, sum(cost) AS cost, sum(orders) AS orders, sum(npr) AS npr,
         first(account_manager ORDER BY account_manager IS NULL, revenue DESC, account_manager) AS account_manager
  FROM g GROUP BY client_id, period
), e AS (
  SELECT client_id, {q} AS period,
{counts},
  sum(CAST(amount AS DECIMAL(18,2))) FILTER (WHERE type = 'prepayment') AS prepayment_amount
  FROM {_source(folder, 'events')} GROUP BY ALL
), p AS (
  SELECT coalesce(a.client_id, e.client_id) AS client_id, coalesce(a.period, e.period) AS period,
  coalesce(a.revenue, 0) AS revenue, a.cost, coalesce(a.orders, 0) AS orders, a.npr,
{ev},
  coalesce(e.prepayment_amount, 0) AS prepayment_amount, a.account_manager
  FROM a FULL JOIN e ON a.client_id = e.client_id AND a.period = e.period
)
SELECT p.client_id, c.portfolio, p.period, p.revenue::DOUBLE AS revenue, p.cost::DOUBLE AS cost,
       (p.revenue - p.cost)::DOUBLE AS gross_profit, p.orders, p.npr::DOUBLE AS new_product_revenue,
       {', '.join(f'p.{t}' for t in EVENT_TYPES)}, p.prepayment_amount::DOUBLE AS prepayment_amount,
       p.account_manager
FROM p LEFT JOIN (SELECT client_id, portfolio FROM {_source(folder, 'clients')}) c ON p.client_id = c.client_id
ORDER BY c.portfolio, p.client_id, p.period
"""


def agg_duckdb(folder: str) -> dict:
    """The engine's own speed: the hand-written query, result fetched as a pandas frame."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    return _checksum(con.sql(duckdb_sql(Path(folder))).df())


def agg_duckdb_arrow(folder: str) -> dict:
    """The same query fetched through Arrow (``to_arrow_table().to_pandas()``), DuckDB's other way to pandas."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    return _checksum(con.sql(duckdb_sql(Path(folder))).to_arrow_table().to_pandas())


def agg_pandas(folder: str) -> dict:
    """pandas: read with the pyarrow engine, then groupby (money summed as float)."""
    import numpy as np
    import pandas as pd

    folder = Path(folder)

    def read(table, cols):
        pq = folder / f"{table}.parquet"
        if pq.is_file():
            return pd.read_parquet(pq, columns=cols)
        return pd.read_csv(folder / f"{table}.csv", usecols=cols, engine="pyarrow")

    tx = read("transactions", ["client_id", "date", "revenue", "cost", "is_new_product", "account_manager"])
    d = pd.to_datetime(tx["date"])
    tx["period"] = (d.dt.year * 10 + d.dt.quarter).astype("int32")
    tx["revenue"] = tx["revenue"].astype("float64")
    tx["cost"] = tx["cost"].astype("float64")
    tx["npr"] = tx["revenue"].where(tx["is_new_product"].fillna(False).astype(bool), 0.0)
    g = (tx.groupby(["client_id", "period", "account_manager"], dropna=False, sort=False, observed=True)
         .agg(revenue=("revenue", "sum"), cost=("cost", "sum"), orders=("revenue", "size"), npr=("npr", "sum"))
         .reset_index())
    del tx
    main = (g.sort_values(["client_id", "period", "revenue", "account_manager"],
                          ascending=[True, True, False, True], na_position="last")
            .drop_duplicates(["client_id", "period"])[["client_id", "period", "account_manager"]])
    a = (g.groupby(["client_id", "period"], sort=False)[["revenue", "cost", "orders", "npr"]].sum().reset_index()
         .merge(main, on=["client_id", "period"]))
    ev = read("events", ["client_id", "date", "type", "amount"])
    d = pd.to_datetime(ev["date"])
    ev["period"] = (d.dt.year * 10 + d.dt.quarter).astype("int32")
    ev["amount"] = ev["amount"].astype("float64").where(ev["type"] == "prepayment")
    e = pd.crosstab([ev["client_id"], ev["period"]], ev["type"]).reindex(columns=list(EVENT_TYPES), fill_value=0)
    e["prepayment_amount"] = ev.groupby(["client_id", "period"])["amount"].sum()
    p = a.merge(e.reset_index(), on=["client_id", "period"], how="outer")
    for c in (*EVENT_TYPES, "orders"):
        p[c] = p[c].fillna(0).astype("int64")
    p["revenue"] = p["revenue"].fillna(0.0)
    p["prepayment_amount"] = p["prepayment_amount"].fillna(0.0)
    p["gross_profit"] = p["revenue"] - p["cost"]
    p = p.rename(columns={"npr": "new_product_revenue"})
    p = p.merge(read("clients", ["client_id", "portfolio"]), on="client_id", how="left")
    p["period"] = (p["period"] // 10).astype(str) + "Q" + (p["period"] % 10).astype(str)
    p = p.sort_values(["portfolio", "client_id", "period"], kind="stable", ignore_index=True)
    del np
    return _checksum(p)


# --- validation ---------------------------------------------------------------------------

def check_ours(folder: str) -> dict:
    """Our engine-side checks of the same files (one scan per table, every problem counted)."""
    from analysis.ingest.engine import check

    problems = check(folder)
    return {"problems": int(len(problems))}


def validate_pandas_ingest(folder: str) -> dict:
    """The tolerant validation of ``analysis.ingest.validate`` (pandas readers and pandera)."""
    from analysis.ingest import validate

    report = validate(folder)
    return {"problems": int((report.problems["severity"] == "error").sum())}


def scan_duckdb(folder: str) -> dict:
    """The floor of any check: DuckDB reading every cell of the order lines once (min/max/count of each column)."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    src = _source(Path(folder), "transactions")
    cols = con.sql(f"SELECT * FROM {src} LIMIT 0").columns
    aggs = ", ".join(f"count({c}), min({c}), max({c})" for c in cols)
    con.sql(f"SELECT {aggs} FROM {src}").fetchall()
    return {"problems": 0}


# --- categorisation -------------------------------------------------------------------------

def classify_ours(folder: str) -> dict:
    """Features over the trailing window (only those the rulebook reads) and the six rules, on a
    prepared client × period panel: the membership table with reason codes, as the pages get it."""
    import pandas as pd

    from analysis.categories.features import client_features
    from analysis.categories.rules import classify, load_rulebook, rule_features

    folder = Path(folder)
    panel = pd.read_parquet(folder / "panel.parquet")
    clients = pd.read_parquet(folder / "clients.parquet")
    kpis = pd.read_parquet(folder / "kpis.parquet")
    book = load_rulebook()
    feats = client_features(panel, clients, kpis=kpis, only=rule_features(book))
    del panel
    m = classify(None, clients, rulebook=book, kpis=kpis, features=feats)
    return {"rows": int(len(m)), "members": int(m["member"].fillna(False).sum()),
            "codes": int(m["reason_code"].nunique())}


def classify_floor(folder: str) -> dict:
    """The floor: the same imports, reading the panel, and one vectorised trailing-window sum."""
    import pandas as pd

    import analysis.categories.features  # noqa: F401
    import analysis.categories.rules  # noqa: F401

    folder = Path(folder)
    panel = pd.read_parquet(folder / "panel.parquet")
    pd.read_parquet(folder / "clients.parquet")
    wide = panel.pivot_table(index="client_id", columns="period", values="revenue", aggfunc="sum", fill_value=0)
    rolled = wide.T.rolling(4, min_periods=1).sum().T
    return {"rows": int(rolled.size)}


# --- statistics -----------------------------------------------------------------------------

def grid_ours(path: str) -> dict:
    """The exploratory grid: 6 categories × 8 outcomes × 4 lags, panel model, BH."""
    import pickle

    from analysis.growth.exploratory import explore

    data = pickle.loads(Path(path).read_bytes())
    out = explore(data, mode="panel")
    return {"cells": int(len(out)), "with_p": int(out["p_unc"].notna().sum())}


def single_ours(path: str) -> dict:
    """One-portfolio mode on one portfolio's series: ADL tests incl. the moving-block bootstrap (999)."""
    import pickle

    from analysis.growth.confirmatory import test_hypotheses

    data = pickle.loads(Path(path).read_bytes())
    one = data[data["portfolio"] == sorted(data["portfolio"].unique())[0]].copy()
    one.attrs = dict(data.attrs)
    out = test_hypotheses(one, mode="single")
    return {"rows": int(len(out)), "decided": int(out["verdict"].notna().sum())}


def stats_floor(path: str) -> dict:
    """The floor of the statistics cases: their imports and reading the analysis panel."""
    import pickle

    import analysis.growth.confirmatory  # noqa: F401
    import analysis.growth.exploratory  # noqa: F401

    data = pickle.loads(Path(path).read_bytes())
    return {"rows": int(len(data))}


def imports_only(module: str) -> dict:
    """Import one module and nothing else (the fixed cost of a fresh process)."""
    import importlib

    importlib.import_module(module)
    return {}


if __name__ == "__main__":
    name, *args = sys.argv[1:]
    result = globals()[name](*args)
    print(json.dumps(result, sort_keys=True))
