"""Inputs for the benchmarks, built once and cached under ``benchmarks/out/data`` (git-ignored).

- ``world(lines)``: a ``keyclients synth`` world (CSV, as synth writes it) and the same tables as
  Parquet, converted by DuckDB (synth itself writes only CSV). Ten million order lines are ten
  copies of a one-million-line synth world with the client, portfolio and order ids suffixed by
  the copy number (so clients stay distinct): generating them directly would take synth minutes
  and about 9 GB, and the aggregation sees the same kind of data either way.
- ``category_panel(clients, periods)``: a client × period panel and a clients table drawn with
  numpy in the panel's columns, for the categorisation benchmark (1M clients × 12 periods).
- ``grid_input()``: the analysis panel (portfolio × period exposures and outcomes) of the
  one-million-line world, for the exploratory grid and the one-portfolio tests.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE / "out" / "data"
PY = sys.executable
#: synth parameters of the base worlds: ~1M order lines, and ~0.1M for --quick
SYNTH = {"1M": dict(portfolios=142, periods=16, clients=250, seed=1),
         "0.1M": dict(portfolios=16, periods=16, clients=220, seed=1)}
TABLES = ("clients", "transactions", "events")


def _synth(label: str) -> Path:
    out = CACHE / f"synth-{label}"
    if (out / "transactions.csv").is_file():
        return out
    p = SYNTH[label]
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    subprocess.run([PY, "-m", "analysis.cli", "synth", "--out", str(tmp), "--portfolios", str(p["portfolios"]),
                    "--periods", str(p["periods"]), "--clients", str(p["clients"]), "--seed", str(p["seed"])],
                   check=True, stdout=subprocess.DEVNULL)
    tmp.rename(out)
    return out


def world(label: str, base: str, copies: int = 1) -> dict[str, Path]:
    """Folders ``{"csv": ..., "parquet": ...}`` holding clients, transactions and events.

    ``base`` names the synth world (``1M`` or ``0.1M``); ``copies`` > 1 stacks that many copies with
    suffixed ids.
    """
    import duckdb

    src = _synth(base)
    out = {fmt: CACHE / f"{label}-{fmt}" for fmt in ("csv", "parquet")}
    if all((out[f] / f"transactions.{f}").is_file() for f in out):
        return out
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    for fmt, folder in out.items():
        tmp = folder.with_name(folder.name + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for table in TABLES:
            rel = f"read_csv('{src / f'{table}.csv'}', header=true, all_varchar=true)"
            if copies > 1:
                ids = [c for c in ("client_id", "portfolio", "order_id")
                       if c in con.sql(f"select * from {rel} limit 0").columns]
                repl = ", ".join(f"{c} || '-' || k AS {c}" for c in ids)
                rel = f"(SELECT * REPLACE ({repl}) FROM {rel}, range({copies}) r(k) ORDER BY k)"
                rel = f"(SELECT * EXCLUDE (k) FROM {rel})"
            if fmt == "parquet":  # typed columns, as a warehouse export would have them
                q = f"SELECT * FROM {rel}"
                cols = con.sql(q + " LIMIT 0").columns
                casts = {"date": "DATE", "revenue": "DECIMAL(18,2)", "cost": "DECIMAL(18,2)",
                         "amount": "DECIMAL(18,2)", "is_new_product": "BOOLEAN", "founded_year": "INTEGER",
                         "is_reference": "BOOLEAN", "brand_score": "DOUBLE", "innovation_score": "DOUBLE"}
                sel = ", ".join(f"CAST({c} AS {casts[c]}) AS {c}" if c in casts else c for c in cols)
                con.sql(f"COPY (SELECT {sel} FROM {rel}) TO '{tmp / (table + '.parquet')}' (FORMAT parquet)")
            else:
                con.sql(f"COPY (SELECT * FROM {rel}) TO '{tmp / (table + '.csv')}' (HEADER, DELIMITER ',')")
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
    con.close()
    return out


def category_panel(n_clients: int, periods: int, seed: int = 1) -> Path:
    """A client × period panel (Parquet) of ``n_clients`` clients over ``periods`` quarters, and its clients."""
    import numpy as np
    import pandas as pd

    folder = CACHE / f"categories-{n_clients}x{periods}"
    if (folder / "panel.parquet").is_file():
        return folder
    rng = np.random.default_rng(seed)
    ids = np.char.add("C", np.char.zfill(np.arange(n_clients).astype(str), 7))
    portfolio = np.char.add("P", np.char.zfill((np.arange(n_clients) % 200).astype(str), 3))
    labels = [str(p) for p in pd.period_range("2023Q1", periods=periods, freq="Q")]
    active = rng.random((n_clients, periods)) < 0.8
    ci, ti = np.nonzero(active)
    n = len(ci)
    size = rng.lognormal(11, 1.2, n_clients)
    revenue = np.round(size[ci] * rng.lognormal(0, 0.3, n), 2)
    cost = np.round(revenue * rng.uniform(0.55, 1.02, n), 2)
    orders = rng.poisson(3, n) + 1
    panel = pd.DataFrame({
        "client_id": ids[ci], "portfolio": portfolio[ci], "period": np.asarray(labels)[ti],
        "revenue": revenue, "cost": cost, "gross_profit": np.round(revenue - cost, 2), "orders": orders,
        "new_product_revenue": np.round(revenue * (rng.random(n) < 0.15), 2),
        "claim": rng.poisson(0.2, n), "trial": rng.poisson(0.1, n), "spec_requirement": rng.poisson(0.05, n),
        "prepayment": rng.poisson(0.2, n), "deferral_accepted": rng.poisson(0.05, n),
        "incident": rng.poisson(0.1, n)})
    panel["prepayment_amount"] = np.round(panel["prepayment"] * revenue * 0.3, 2)
    panel["account_manager"] = np.char.add("M", (rng.integers(0, 3000, n)).astype(str))
    orgs = np.array(["private", "multinational", "government", "education", "startup", "sole_trader"])
    clients = pd.DataFrame({
        "client_id": ids, "portfolio": portfolio, "org_type": orgs[rng.choice(6, n_clients, p=[.7, .06, .06, .04, .1, .04])],
        "founded_year": rng.integers(1950, 2024, n_clients), "is_reference": rng.random(n_clients) < 0.08,
        "brand_score": rng.integers(0, 100, n_clients).astype(float),
        "innovation_score": rng.integers(0, 100, n_clients).astype(float)})
    kpis = pd.DataFrame([(p, t, rng.normal(1, .08), rng.uniform(.01, .04)) for p in np.unique(portfolio) for t in labels],
                        columns=["portfolio", "period", "plan_attainment", "defect_rate"])
    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    panel.to_parquet(tmp / "panel.parquet", index=False)
    clients.to_parquet(tmp / "clients.parquet", index=False)
    kpis.to_parquet(tmp / "kpis.parquet", index=False)
    tmp.rename(folder)
    return folder


def grid_input(base: str = "1M") -> Path:
    """The analysis panel (``analysis.growth.panel.portfolio_panel``) of a synth world, pickled."""
    import pickle

    target = CACHE / f"grid-{base}.pkl"
    if target.is_file():
        return target
    from analysis.categories.rules import classify
    from analysis.growth.panel import portfolio_panel
    from analysis.ingest import load
    from analysis.ingest.panel import client_period_panel

    b = load(_synth(base))
    panel = client_period_panel(b)
    membership = classify(panel, b.clients, kpis=b.kpis, transactions=b.transactions)
    data = portfolio_panel(panel, membership, kpis=b.kpis)
    tmp = target.with_suffix(".partial")
    tmp.write_bytes(pickle.dumps(data))
    tmp.rename(target)
    return target


def export_world() -> Path:
    """A world shaped like the real export of issue 16: about 25k clients, 70k order lines, 6
    quarters (CSV). ``keyclients synth`` (80 portfolios × 6 quarters × 250 clients, seed 1) draws
    about three times as many lines per client as that export holds, so a seeded Bernoulli sample
    of 36 % of the order lines and events is kept (clients without a line stay, as in an export)."""
    import duckdb

    out = CACHE / "export-25k"
    if (out / "transactions.csv").is_file():
        return out
    src = CACHE / "synth-export-full"
    if not (src / "transactions.csv").is_file():
        tmp = src.with_name(src.name + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        subprocess.run([PY, "-m", "analysis.cli", "synth", "--out", str(tmp), "--portfolios", "80", "--periods", "6",
                        "--clients", "250", "--seed", "1"], check=True, stdout=subprocess.DEVNULL)
        tmp.rename(src)
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp)
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false; SET threads = 1")  # a seeded sample is reproducible on one thread
    for table in ("transactions", "events"):
        f = src / f"{table}.csv"
        con.execute(f"COPY (SELECT * FROM read_csv('{f}', all_varchar = true) USING SAMPLE 36 PERCENT "
                    f"(bernoulli, 1)) TO '{tmp / f.name}' (HEADER, DELIMITER ',')")
    con.close()
    tmp.rename(out)
    return out
