"""Aggregate order lines and events into the client × period panel, in the engine.

The aggregation is one Ibis expression (:func:`panel_expr`), run by DuckDB by default; the same
expression compiles for Spark (``ibis.to_sql(expr, dialect="pyspark")``), so a cluster run is a
backend switch. Money is cast to DECIMAL(18,2) before summing, so totals are exact and do not
depend on the order of summation or on the engine; only the panel comes back to pandas.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir
import pandas as pd

from analysis.config import CLIENT_PERIOD_COLUMNS, EVENT_TYPES, FREQUENCIES
from analysis.errors import InputError
from analysis.ingest.backends import connect, release, spark_active

if (
    TYPE_CHECKING
):  # importing analysis.ingest costs pandera and pydantic (~1 s) on the engine-only path
    from analysis.ingest import ClientBase

MONEY = "decimal(18, 2)"
PANEL_COLUMNS = list(CLIENT_PERIOD_COLUMNS)
_MONEY_COLS = ("revenue", "cost", "gross_profit", "new_product_revenue", "prepayment_amount")


def period_label(date: ir.TimestampValue, freq: str) -> ir.StringValue:
    """``2024Q1`` (quarters), ``2024-01`` (months) or ``2024`` (years) of a date column."""
    if freq == "Q":
        return date.year().cast("string") + "Q" + date.quarter().cast("string")
    if freq == "M":
        return date.strftime("%Y-%m")
    if freq == "Y":
        return date.year().cast("string")
    raise ValueError(f"freq must be one of {list(FREQUENCIES)}, got {freq!r}")


def panel_expr(
    transactions: ir.Table, clients: ir.Table, events: ir.Table | None = None, *, freq: str = "Q"
) -> ir.Table:
    """The panel as an Ibis expression over canonical tables (any backend).

    Optional columns (``cost``, ``is_new_product``, ``account_manager``, ``amount``,
    ``portfolio``) are used when the tables have them. See :func:`client_period_panel` for the
    columns; money columns are DECIMAL here.
    """
    tx = transactions
    cols = set(tx.columns)
    null_money = ibis.literal(None, type=MONEY)
    t = tx.mutate(
        period=period_label(tx.date, freq),
        _rev=tx.revenue.cast(MONEY),
        _cost=tx.cost.cast(MONEY) if "cost" in cols else null_money,
    )
    t_aggs = {
        "revenue": t._rev.sum(),
        "cost": t._cost.sum(),
        "orders": t.count(),
        "new_product_revenue": (
            t.is_new_product.fill_null(False).ifelse(t._rev, 0).sum()
            if "is_new_product" in cols
            else null_money
        ),
    }
    if "account_manager" in cols:
        # one scan at client × period × manager grain, then rolled up; the period's main manager
        # has the most revenue, a tie goes to the name first in alphabetical order
        g = t.group_by(["client_id", "period", "account_manager"]).aggregate(**t_aggs)
        w = ibis.window(
            group_by=[g.client_id, g.period],
            order_by=[g.account_manager.isnull(), g.revenue.desc(), g.account_manager.asc()],
        )
        g = g.mutate(_first=ibis.row_number().over(w) == 0)
        agg = g.group_by(["client_id", "period"]).aggregate(
            revenue=g.revenue.sum(),
            cost=g.cost.sum(),
            orders=g.orders.sum(),
            new_product_revenue=g.new_product_revenue.sum(),
            account_manager=g.account_manager.max(where=g._first),
        )
    else:
        agg = t.group_by(["client_id", "period"]).aggregate(**t_aggs)
    agg = agg.mutate(
        revenue=agg.revenue.cast("decimal(38, 2)"),
        cost=agg.cost.cast("decimal(38, 2)"),
        new_product_revenue=agg.new_product_revenue.cast("decimal(38, 2)"),
    )
    zero = ibis.literal(0, type="decimal(38, 2)")
    if events is not None:
        e = events.mutate(period=period_label(events.date, freq))
        amount = e.amount.cast(MONEY) if "amount" in events.columns else ibis.literal(0, type=MONEY)
        e_aggs = {typ: e.type.count(where=e.type == typ) for typ in EVENT_TYPES}
        e_aggs["prepayment_amount"] = amount.sum(where=e.type == "prepayment").cast(
            "decimal(38, 2)"
        )
        eagg = e.group_by(["client_id", "period"]).aggregate(**e_aggs)
        j = agg.outer_join(eagg, ["client_id", "period"])
        panel = j.select(
            client_id=j.client_id.coalesce(j.client_id_right),
            period=j.period.coalesce(j.period_right),
            revenue=j.revenue.coalesce(zero),
            cost=j.cost,
            orders=j.orders.coalesce(0),
            new_product_revenue=j.new_product_revenue,
            **{typ: j[typ].coalesce(0) for typ in EVENT_TYPES},
            prepayment_amount=j.prepayment_amount.coalesce(zero),
            **({"account_manager": j.account_manager} if "account_manager" in cols else {}),
        )
    else:
        panel = agg.mutate(
            **{typ: ibis.literal(0, type="int64") for typ in EVENT_TYPES}, prepayment_amount=zero
        )
    panel = panel.mutate(gross_profit=panel.revenue - panel.cost)
    if "portfolio" in clients.columns:
        cl = clients.select("client_id", "portfolio")
        panel = panel.left_join(cl, "client_id").drop("client_id_right")
    else:
        panel = panel.mutate(portfolio=ibis.literal("all"))
    order = [c for c in PANEL_COLUMNS if c in panel.columns] + (
        ["account_manager"] if "account_manager" in panel.columns else []
    )
    money = {c: panel[c].cast("float64") for c in _MONEY_COLS}
    return panel.mutate(**money).select(order).order_by(["portfolio", "client_id", "period"])


def manager_orders_expr(transactions: ir.Table, *, freq: str = "Q") -> ir.Table | None:
    """Order lines counted per client, period and account manager, as an Ibis expression.

    What :func:`analysis.categories.features.client_features` reads of the order lines beyond the
    panel (``manager_continuity``): columns ``client_id, period, account_manager, orders``, lines
    without a manager left out, sorted by client, period and manager. ``None`` when the order
    lines name no manager.
    """
    if "account_manager" not in transactions.columns:
        return None
    t = transactions.filter(transactions.account_manager.notnull())
    t = t.mutate(period=period_label(t.date, freq))
    keys = ["client_id", "period", "account_manager"]
    return t.group_by(keys).aggregate(orders=t.count()).order_by(keys)


def manager_orders(frame: pd.DataFrame) -> pd.DataFrame:
    """A fetched :func:`manager_orders_expr`: keys as ``str``, ``orders`` int64, a fresh index."""
    out = frame.reset_index(drop=True)
    for col in ("client_id", "period", "account_manager"):
        out[col] = out[col].astype("str")
    out["orders"] = out["orders"].astype("int64")
    return out


def manager_orders_of(
    base: ClientBase,
    *,
    freq: str = "Q",
    engine: str = "duckdb",
    periods: Iterable[str] | None = None,
) -> pd.DataFrame | None:
    """:func:`manager_orders_expr` over the base's order lines, run by ``engine``; only the
    ``periods`` given (e.g. the panel's) are kept. None without order lines naming a manager."""
    tx = base.transactions
    if tx is None or "account_manager" not in tx.columns:
        return None
    frame = tx[["client_id", "date", "account_manager"]]
    con = connect(engine)
    try:
        expr = manager_orders_expr(ibis.memtable(frame), freq=freq)
        assert expr is not None  # the frame has the manager column
        out = manager_orders(con.to_pyarrow(expr).to_pandas())
    finally:
        if (
            con.name == "duckdb"
        ):  # a Spark session is left to the caller (client_period_panel stops it)
            con.disconnect()
    if periods is not None:
        out = out[out["period"].isin(set(periods))].reset_index(drop=True)
    return out


#: Canonical column types of the engine-side tables (the schema :func:`panel_sql` compiles against).
ENGINE_SCHEMAS = {
    "transactions": {
        "client_id": "string",
        "date": "timestamp",
        "revenue": "float64",
        "cost": "float64",
        "is_new_product": "boolean",
        "account_manager": "string",
    },
    "clients": {"client_id": "string", "portfolio": "string"},
    "events": {"client_id": "string", "date": "timestamp", "type": "string", "amount": "float64"},
}


def panel_sql(*, freq: str = "Q", dialect: str = "duckdb") -> str:
    """The panel query as SQL text for ``dialect`` (``duckdb``, ``pyspark``, ...), over tables named
    ``transactions``, ``clients`` and ``events`` with the canonical columns.
    """
    tables = {name: ibis.table(schema, name=name) for name, schema in ENGINE_SCHEMAS.items()}
    if dialect == "pyspark" and getattr(ibis.options, "pyspark", None) is None:
        # the pyspark compiler reads one option the pyspark backend registers on import; without
        # pyspark installed, stand in the backend's default so the SQL still compiles
        class _SparkOptions(ibis.config.Config):
            treat_nan_as_null: bool = False

        ibis.options.pyspark = _SparkOptions()
    expr = panel_expr(tables["transactions"], tables["clients"], tables["events"], freq=freq)
    return ibis.to_sql(expr, dialect=dialect)


def _schema_key(df: pd.DataFrame) -> tuple:
    """The frame's columns with their Ibis types, hashable (the cache key of the compiled query)."""
    return tuple((name, str(dtype)) for name, dtype in ibis.memtable(df.head(0)).schema().items())


@functools.lru_cache(maxsize=64)
def _compiled_duckdb(freq: str, tx: tuple, clients: tuple, events: tuple | None) -> str:
    """The panel expression over tables named ``kc_*``, compiled to DuckDB SQL once per shape."""
    t = ibis.table(dict(tx), name="kc_transactions")
    c = ibis.table(dict(clients), name="kc_clients")
    e = ibis.table(dict(events), name="kc_events") if events is not None else None
    return ibis.to_sql(panel_expr(t, c, e, freq=freq), dialect="duckdb")


def _run_duckdb(con, frames: dict[str, pd.DataFrame], freq: str) -> pd.DataFrame:
    """Run the compiled panel query on DuckDB over the frames, registered in place (no copy).

    Building and compiling the Ibis expression costs more than the query itself on a small base,
    so the SQL is compiled once per column layout and reused; the result is the same as running the
    expression through Ibis (the tests compare both with a direct computation).
    """
    sql = _compiled_duckdb(
        freq,
        _schema_key(frames["transactions"]),
        _schema_key(frames["clients"]),
        _schema_key(frames["events"]) if "events" in frames else None,
    )
    raw = con.con  # the DuckDB connection under the Ibis backend (its settings, e.g. memory_limit)
    for name, df in frames.items():
        raw.register(f"kc_{name}", df)
    try:
        return raw.execute(sql).df()
    finally:
        for name in frames:
            raw.unregister(f"kc_{name}")


def client_period_panel(
    base: ClientBase, *, freq: str = "Q", engine: str = "duckdb"
) -> pd.DataFrame:
    """One row per client and period with any order line or event.

    Parameters
    ----------
    base
        Canonical tables from :func:`analysis.ingest.load`.
    freq
        ``Q`` (quarters), ``M`` (months) or ``Y`` (years).
    engine
        ``duckdb`` (embedded, default) or ``spark`` (needs pyspark).

    Returns
    -------
    pandas.DataFrame
        ``client_id, portfolio, period`` (label such as ``2024Q1``), ``revenue``, ``cost``,
        ``gross_profit`` (NaN without costs), ``orders`` (order lines), ``new_product_revenue``
        (NaN without ``is_new_product``), one count column per event type (``claim``, ``trial``,
        ``spec_requirement``, ``prepayment``, ``deferral_accepted``, ``incident``; 0 without
        events), ``prepayment_amount``, and ``account_manager`` (the manager with most revenue in
        the client's period; a tie goes to the name first in alphabetical order) when order
        lines name one. Money summed exactly and returned as float; sorted by portfolio, client
        and period. A partial first or last period (the export starts or ends inside it) is left
        out unless the data config says ``partial_periods: keep``. With ``client_periods`` input
        and no order lines, that table comes back in the same columns.

    Examples
    --------
    >>> from analysis.config import SAMPLE_DIR
    >>> from analysis.ingest import load
    >>> panel = client_period_panel(load(SAMPLE_DIR))
    >>> list(panel.columns[:4])
    ['client_id', 'portfolio', 'period', 'revenue']
    """
    if freq not in FREQUENCIES:
        raise ValueError(f"freq must be one of {list(FREQUENCIES)}")
    if base.transactions is None:
        if getattr(base, "client_periods", None) is not None:
            return _from_client_periods(base)
        raise InputError("the client base has no order lines (transactions) to aggregate")
    tx = base.transactions
    frames = {
        "transactions": tx[[c for c in ENGINE_SCHEMAS["transactions"] if c in tx.columns]],
        "clients": base.clients[
            [c for c in ENGINE_SCHEMAS["clients"] if c in base.clients.columns]
        ],
    }
    if base.events is not None:
        frames["events"] = base.events[
            [c for c in ENGINE_SCHEMAS["events"] if c in base.events.columns]
        ]
    owned = engine == "spark" and not spark_active()  # a session started here is stopped here
    con = connect(engine)
    try:
        if engine == "duckdb":
            out = _run_duckdb(con, frames, freq)
        else:
            tables = {name: ibis.memtable(df) for name, df in frames.items()}
            expr = panel_expr(
                tables["transactions"], tables["clients"], tables.get("events"), freq=freq
            )
            out = con.to_pandas(expr)
    finally:
        release(con, stop_spark=owned)
    for col in ("client_id", "portfolio", "period", "account_manager"):
        if col in out:
            out[col] = out[col].astype("str")
    for col in (
        "orders",
        *EVENT_TYPES,
    ):  # counts are int64 whatever integer width the engine returns
        out[col] = out[col].astype("int64")
    return drop_partial_periods(out, base, freq).reset_index(drop=True)


def drop_partial_periods(panel: pd.DataFrame, base: ClientBase, freq: str) -> pd.DataFrame:
    """``panel`` without the partial first/last period of the order lines' dates at ``freq``
    (:func:`analysis.ingest.periods.partial_periods`), unless the base says
    ``partial_periods: keep`` or fewer than two periods would remain; ``validate`` reports the
    same periods."""
    if (
        getattr(base, "partial_periods", "keep") != "drop"
        or base.transactions is None
        or panel.empty
    ):
        return panel
    from analysis.ingest.periods import partial_labels

    part = partial_labels(base.transactions["date"], freq)
    if not part or base.transactions["date"].dropna().dt.to_period(freq).nunique() - len(part) < 2:
        return panel
    return panel[~panel["period"].isin(part)]


def _from_client_periods(base: ClientBase) -> pd.DataFrame:
    if base.client_periods is None:  # the caller looked
        raise InputError("the client base has no client_periods table")
    cp = base.client_periods.copy()
    if "portfolio" not in cp:
        port = (
            base.clients.set_index("client_id")["portfolio"]
            if "portfolio" in base.clients
            else None
        )
        cp["portfolio"] = cp["client_id"].map(port) if port is not None else "all"
    for c in ("cost", "new_product_revenue"):
        if c not in cp:
            cp[c] = float("nan")
    if "gross_profit" not in cp:
        cp["gross_profit"] = cp["revenue"] - cp["cost"]
    elif cp["cost"].isna().all():
        cp["cost"] = cp["revenue"] - cp["gross_profit"]
    for c in ("orders", *EVENT_TYPES):
        cp[c] = cp[c].fillna(0).astype("int64") if c in cp else 0
    cp["prepayment_amount"] = (
        cp["prepayment_amount"].fillna(0.0) if "prepayment_amount" in cp else 0.0
    )
    order = PANEL_COLUMNS + (["account_manager"] if "account_manager" in cp else [])
    return (
        cp[order]
        .sort_values(["portfolio", "client_id", "period"], kind="stable")
        .reset_index(drop=True)
    )
