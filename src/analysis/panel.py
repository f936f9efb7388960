"""Aggregate order lines and events into the client × period panel, in the engine (DuckDB).

Money is summed as DECIMAL, so totals do not depend on the order of summation or the engine.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from analysis.config import FREQUENCIES
from analysis.ingest import ClientBase

_TRUNC = {"Q": "quarter", "M": "month", "Y": "year"}
_LABEL = {
    "Q": "strftime(p, '%Y') || 'Q' || CAST(quarter(p) AS VARCHAR)",
    "M": "strftime(p, '%Y-%m')",
    "Y": "strftime(p, '%Y')",
}


def client_period_panel(base: ClientBase, *, freq: str = "Q") -> pd.DataFrame:
    """One row per client and period with any order line or event.

    Returns
    -------
    pandas.DataFrame
        ``client_id, portfolio, period`` (label such as ``2024Q1``), ``revenue``, ``cost``,
        ``gross_profit`` (NaN without costs), ``orders``, ``new_product_revenue`` and one count
        column per event type (``claim``, ``trial``, ``spec_requirement``, ``prepayment``,
        ``deferral_accepted``, ``incident``) plus ``prepayment_amount``; sorted by portfolio,
        client and period.
    """
    if freq not in FREQUENCIES:
        raise ValueError(f"freq must be one of {list(FREQUENCIES)}")
    con = duckdb.connect()
    try:
        tx = base.transactions
        clients = base.clients[["client_id"] + (["portfolio"] if "portfolio" in base.clients else [])]
        con.register("tx_df", tx)
        con.register("cl_df", clients)
        has_cost = "cost" in tx.columns
        has_new = "is_new_product" in tx.columns
        cost = "sum(CAST(cost AS DECIMAL(18,2)))" if has_cost else "NULL"
        newp = ("sum(CASE WHEN is_new_product THEN CAST(revenue AS DECIMAL(18,2)) ELSE 0 END)"
                if has_new else "NULL")
        sql_tx = f"""
            SELECT client_id, {_LABEL[freq]} AS period,
                   sum(CAST(revenue AS DECIMAL(18,2))) AS revenue, {cost} AS cost,
                   count(*) AS orders, {newp} AS new_product_revenue
            FROM (SELECT *, date_trunc('{_TRUNC[freq]}', date) AS p FROM tx_df)
            GROUP BY ALL
        """
        parts = [f"({sql_tx}) t"]
        ev_cols = ""
        if base.events is not None:
            con.register("ev_df", base.events)
            amount = "amount" if "amount" in base.events.columns else "NULL"
            sql_ev = f"""
                SELECT client_id, {_LABEL[freq]} AS period,
                       count(*) FILTER (type = 'claim') AS claim,
                       count(*) FILTER (type = 'trial') AS trial,
                       count(*) FILTER (type = 'spec_requirement') AS spec_requirement,
                       count(*) FILTER (type = 'prepayment') AS prepayment,
                       count(*) FILTER (type = 'deferral_accepted') AS deferral_accepted,
                       count(*) FILTER (type = 'incident') AS incident,
                       sum(CAST({amount} AS DECIMAL(18,2))) FILTER (type = 'prepayment') AS prepayment_amount
                FROM (SELECT *, date_trunc('{_TRUNC[freq]}', date) AS p FROM ev_df)
                GROUP BY ALL
            """
            parts = [f"({sql_tx}) t FULL OUTER JOIN ({sql_ev}) e USING (client_id, period)"]
            ev_cols = """, coalesce(claim, 0) AS claim, coalesce(trial, 0) AS trial,
                coalesce(spec_requirement, 0) AS spec_requirement, coalesce(prepayment, 0) AS prepayment,
                coalesce(deferral_accepted, 0) AS deferral_accepted, coalesce(incident, 0) AS incident,
                coalesce(prepayment_amount, 0) AS prepayment_amount"""
        portfolio = "c.portfolio" if "portfolio" in clients.columns else "'all'"
        sql = f"""
            SELECT client_id, {portfolio} AS portfolio, period,
                   coalesce(revenue, 0) AS revenue, cost, coalesce(revenue, 0) - cost AS gross_profit,
                   coalesce(orders, 0) AS orders, new_product_revenue {ev_cols}
            FROM {parts[0]} LEFT JOIN cl_df c USING (client_id)
            ORDER BY portfolio, client_id, period
        """
        out = con.execute(sql).df()
    finally:
        con.close()
    for col in ("revenue", "cost", "gross_profit", "new_product_revenue", "prepayment_amount"):
        if col in out.columns:
            out[col] = out[col].astype(float)
    return out
