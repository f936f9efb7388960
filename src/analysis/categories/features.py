"""Client features over a trailing window: the signals the category rules read.

Every feature of client *c* at period *t* is computed from the periods t-W+1 … t (the window that
ends at *t*; W = ``window``). The client × period panel is laid out as dense (client × period)
arrays and windows are differences of cumulative sums, so a million clients over twelve periods
take seconds; only the account-manager continuity needs a group-by over order lines.

Relative features (shares, Pareto cumulative shares, ABC classes, RFM scores) are pooled over all
clients of all portfolios active in the same window, as docs/data.md asks of thresholds. A feature
whose source is absent from the data (no cost column, no events file, no ``kpis``) is all-missing,
and :data:`SOURCES` says which input it needs, so :mod:`analysis.categories.rules` can name it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.config import FREQUENCIES
from analysis.ingest.periods import period_axis, period_freq

#: Every feature, with its unit/meaning and the input it needs (used in reasons and messages).
FEATURES: dict[str, tuple[str, str]] = {
    # money and size
    "revenue": ("revenue over the window", "transactions.revenue"),
    "gross_profit": ("gross profit (revenue - cost) over the window", "transactions.cost"),
    "margin": ("gross profit / revenue over the window (0.25 = 25 %)", "transactions.cost"),
    "revenue_share": ("share of all clients' window revenue (pooled)", "transactions.revenue"),
    "profit_share": ("share of all clients' positive window gross profit (pooled)",
                     "transactions.cost"),
    "revenue_cum_share": ("Pareto: cumulative revenue share of the clients this large or larger",
                          "transactions.revenue"),
    "profit_cum_share": ("Pareto: cumulative profit share of the clients this profitable or more",
                         "transactions.cost"),
    "abc_revenue": ("ABC class by revenue: A up to 80 %, B up to 95 % of cumulative revenue, C the "
                    "rest", "transactions.revenue"),
    "abc_profit": ("ABC class by gross profit (same cuts)", "transactions.cost"),
    "revenue_cv": ("coefficient of variation of per-period revenue in the window",
                   "transactions.revenue"),
    "xyz_class": ("XYZ class of revenue variability: X cv <= 0.1, Y <= 0.25, Z above",
                  "transactions.revenue"),
    "recency": ("periods since the last purchase (0: bought in this period)",
                "transactions.revenue"),
    "r_score": ("RFM recency score 1-5 (5: most recent), pooled quintiles", "transactions.revenue"),
    "f_score": ("RFM frequency score 1-5 (5: most orders), pooled quintiles",
                "transactions.revenue"),
    "m_score": ("RFM monetary score 1-5 (5: most revenue), pooled quintiles",
                "transactions.revenue"),
    "orders": ("orders (order lines) in the window", "transactions"),
    "active_periods": ("periods of the window with a purchase", "transactions.revenue"),
    # the demanding kind
    "claims": ("formal claims in the window", "events (claim)"),
    "claims_per_100_orders": ("claims per 100 orders in the window", "events (claim)"),
    "trials": ("trials of new materials in the window", "events (trial)"),
    "spec_requirements": ("special acceptance requirements in the window",
                          "events (spec_requirement)"),
    # the understanding kind
    "incidents": ("incidents on the supplier's side in the window", "events (incident)"),
    "claims_per_incident": ("claims per incident in the window (empty without incidents)",
                            "events (incident, claim)"),
    "deferrals": ("deferrals accepted (the client agreed to wait) in the window",
                  "events (deferral_accepted)"),
    "deferrals_per_incident": ("accepted deferrals per incident (empty without incidents)",
                               "events (incident, deferral_accepted)"),
    "prepayments": ("prepayments in the window", "events (prepayment)"),
    "prepayment_amount": ("money prepaid in the window", "events (prepayment amount)"),
    "prepayment_ratio": ("money prepaid / revenue over the window", "events (prepayment amount)"),
    "prepayments_behind_plan": ("prepayments made in periods when the portfolio was behind plan",
                                "kpis.plan_attainment"),
    "behind_plan_periods": ("periods of the window when the portfolio was behind plan",
                            "kpis.plan_attainment"),
    "claims_per_100_orders_history": ("claims per 100 orders over the client's history to date",
                                      "events (claim)"),
    "trial_rate_history": ("trials per period with a purchase, over the client's history to date",
                           "events (trial)"),
    "spec_rate_history": ("special requirements per period with a purchase, over the history to "
                          "date", "events (spec_requirement)"),
    "prepayment_rate_history": ("prepayments per period with a purchase, over the client's history "
                                "to date", "events (prepayment)"),
    "deferrals_per_incident_history": ("accepted deferrals per incident over the client's history "
                                       "to date", "events (incident, deferral_accepted)"),
    "prepayment_rate_history_shrunk": ("prepayments per period with a purchase to date, shrunk "
                                       "towards the pooled rate of the period as if 2 more periods "
                                       "at that rate had been seen (short histories count less)",
                                       "events (prepayment)"),
    "deferrals_per_incident_history_shrunk": ("accepted deferrals per incident to date, shrunk "
                                              "towards the pooled share of the period as if 2 more "
                                              "incidents at that share had been seen",
                                              "events (incident, deferral_accepted)"),
    "claims_per_incident_history": ("claims per incident over the client's history to date",
                                    "events (incident, claim)"),
    "prepayments_per_year_history_shrunk": ("prepayments per year of buying to date, shrunk "
                                            "towards the pooled rate of the period as if half a "
                                            "year more at that rate had been seen",
                                            "events (prepayment)"),
    "trials_per_year_history_shrunk": ("trials per year of buying to date, shrunk towards the "
                                       "pooled rate of the period as if half a year more at that "
                                       "rate had been seen", "events (trial)"),
    "specs_per_year_history_shrunk": ("special requirements per year of buying to date, shrunk "
                                      "towards the pooled rate of the period as if half a year "
                                      "more at that rate had been seen",
                                      "events (spec_requirement)"),
    "tenure": ("periods since the client's first period in the data, this one included",
               "transactions"),
    "manager_continuity": ("share of the window's orders handled by the client's most frequent "
                           "manager", "transactions.account_manager"),
    "manager_continuity_history": ("share of all the client's orders so far handled by its most "
                                   "frequent manager so far", "transactions.account_manager"),
    # the advanced kind
    "client_age": ("years since the client was founded, at the period", "clients.founded_year"),
    "new_product_share": ("share of window revenue from new products",
                          "transactions.is_new_product"),
    # attributes
    "org_type": ("organisation type", "clients.org_type"),
    "industry": ("industry", "clients.industry"),
    "country": ("country", "clients.country"),
    "founded_year": ("year founded", "clients.founded_year"),
    "is_reference": ("the supplier shows the client's name or logo in its marketing",
                     "clients.is_reference"),
    "brand_score": ("how well known the client's brand is (0-100)", "clients.brand_score"),
    "innovation_score": ("how innovation-driven the client is (0-100)", "clients.innovation_score"),
}
ATTRIBUTES = ("org_type", "industry", "country", "founded_year", "is_reference", "brand_score",
              "innovation_score")
EVENT_COLS = {"claim": "claims", "trial": "trials", "spec_requirement": "spec_requirements",
              "incident": "incidents", "deferral_accepted": "deferrals",
              "prepayment": "prepayments"}
_NUMERIC_ATTRS = ("founded_year", "brand_score", "innovation_score")
ABC_CUTS = (0.8, 0.95)
XYZ_CUTS = (0.1, 0.25)


class _ClientWindowGrid:
    """Dense (period × client) arrays of panel columns, and their trailing-window sums: one column
    per *client* wherever it sits (its features follow it across portfolios; its portfolio is its
    first row's), period-major so that per-period ranks run along contiguous rows. Not
    :class:`analysis.growth.panel.PortfolioClientGrid`, whose rows are clients within a
    portfolio."""

    def __init__(self, panel: pd.DataFrame, periods: list[str], window: int):
        self.periods, self.window = periods, window
        self.T = len(periods)
        codes, self.clients = pd.factorize(panel["client_id"], sort=True)
        self.n = len(self.clients)
        self.codes = codes
        pcodes, plabels = pd.factorize(panel["period"])  # few labels: look each up once
        look = pd.Index(periods).get_indexer(pd.Index(plabels).astype(str))
        self.pos = np.where(pcodes >= 0, look[np.maximum(pcodes, 0)] if len(look) else -1, -1)
        self.flat = self.pos.astype(np.int64) * self.n + codes  # arrays are (period × client)
        self.panel = panel
        first = np.full(self.n, len(codes), dtype=np.int64)
        # each client's first row, without a sort
        np.minimum.at(first, codes, np.arange(len(codes)))
        # the client's first row's portfolio
        self.portfolio = panel["portfolio"].take(first).to_numpy()

    def dense(self, col: str) -> np.ndarray | None:
        """The column as an (n × T) float array, 0 where the client has no row; None if
        absent/all-NaN."""
        if col not in self.panel.columns:
            return None
        v = pd.to_numeric(self.panel[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        if np.isnan(v).all():
            return None
        out = np.bincount(self.flat, weights=np.nan_to_num(v), minlength=self.n * self.T)
        return out.reshape(self.T, self.n)

    def roll(self, x: np.ndarray) -> np.ndarray:
        """Trailing window sums (window ending at each period; shorter at the start)."""
        c = np.cumsum(x, axis=0)
        w = self.window
        if self.T > w:
            c[w:] -= c[:-w].copy()
        return c


def _divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.full(np.broadcast_shapes(np.shape(a), np.shape(b)), np.nan)
    return np.divide(a, b, out=out, where=b > 0)


def _pareto(v: np.ndarray, active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per period (column) over the active clients: each value's share of the column's positive
    total and the Pareto cumulative share (this client and all larger ones; ties by client id)."""
    x = np.where(active & np.isfinite(v), np.clip(v, 0, None), 0.0)
    cum = np.empty_like(x)
    total = np.zeros((x.shape[0], 1))
    # only the positive values need an order: the zeros come last and add nothing
    for t in range(x.shape[0]):
        pos = np.flatnonzero(x[t] > 0)
        vals = x[t, pos]
        order = _descending(vals)
        cs = np.cumsum(vals[order])
        total[t, 0] = cs[-1] if len(cs) else 0.0
        cum[t] = total[t, 0]
        cum[t, pos[order]] = cs
    with np.errstate(divide="ignore", invalid="ignore"):
        return _divide(x, np.broadcast_to(total, x.shape)), _divide(cum,
                                                                    np.broadcast_to(total, x.shape))


def _descending(vals: np.ndarray) -> np.ndarray:
    """``np.argsort(-vals, kind="stable")`` (largest first, ties in index order), at the speed of
    numpy's vectorised quicksort (a third of the stable sort's time on a million values): ties,
    rare in money, are put back in index order afterwards."""
    order = np.argsort(-vals)
    ranked = vals[order]
    tie = ranked[1:] == ranked[:-1]
    if tie.any():
        inrun = np.zeros(len(order), dtype=bool)
        inrun[1:] |= tie
        inrun[:-1] |= tie
        run = np.cumsum(np.concatenate(([True], ~tie)))  # one number per run of equal values
        at = np.flatnonzero(inrun)
        order[at] = order[at][np.lexsort((order[at], run[at]))]
    return order


def _classes(codes: np.ndarray, labels: list[str]) -> pd.Categorical:
    return pd.Categorical.from_codes(codes, categories=labels)


def _abc(cum: np.ndarray, share: np.ndarray) -> pd.Categorical:
    before = cum - share
    codes = np.where(before < ABC_CUTS[0], 0, np.where(before < ABC_CUTS[1], 1, 2))
    return _classes(np.where(np.isfinite(cum), codes, -1), ["A", "B", "C"])


def _quintile_score(x: np.ndarray, active: np.ndarray, *,
                    higher_is_better: bool = True) -> np.ndarray:
    """Scores 1-5: the quintile bin of the value among each period's active clients (5: best).

    Bins are closed on the right at the 20/40/60/80th percentiles, so tied values share a score
    (a period where most clients bought last share the top recency score)."""
    v = x if higher_is_better else -x
    out = np.full(v.shape, np.nan)
    for t in range(v.shape[0]):
        vals = v[t, active[t]]
        if vals.size:
            cuts = np.quantile(vals, [0.2, 0.4, 0.6, 0.8])
            out[t] = 1 + np.searchsorted(cuts, v[t], side="left")
    return out


def _manager_records(records: pd.DataFrame, grid: _ClientWindowGrid, *,
                     from_panel: bool = False) -> pd.DataFrame:
    if from_panel:  # the panel's own rows: the grid has their client and period positions already
        codes, pos = grid.codes, grid.pos
    else:
        codes = pd.Index(grid.clients).get_indexer(records["client_id"])
        pos = pd.Index(grid.periods).get_indexer(records["period"].astype(str))
    ok = (codes >= 0) & (pos >= 0) & records["account_manager"].notna().to_numpy()
    mgr, _ = pd.factorize(records["account_manager"][ok])
    base = pd.DataFrame({"c": codes[ok], "t": pos[ok], "m": mgr,
                         "w": records["weight"].to_numpy()[ok]})
    key = base["c"].to_numpy() * grid.T + base["t"].to_numpy()
    # one record per client-period, in order (the panel's own rows): the group sums are the
    # records (NaN sums to 0)
    if len(key) > 1 and (np.diff(key) > 0).all():
        return base.assign(w=base["w"].fillna(0))
    return base.groupby(["c", "t", "m"], as_index=False, sort=True)["w"].sum()


def _manager_history(base: pd.DataFrame, grid: _ClientWindowGrid) -> np.ndarray:
    """Share of all orders to date handled by the most frequent manager to date.

    Cumulative counts only grow, so the leader's count at a period is the running maximum of
    every (client, manager) cumulative count seen so far; periods without orders carry forward.
    """
    c, m, w = base["c"].to_numpy(), base["m"].to_numpy(), base["w"].to_numpy(dtype=float)
    lead = None
    if len(c) > 1 and (np.diff(c) >= 0).all() and (w == np.floor(w)).all():
        lead = _sorted_leads(c, m, w)  # whole counts in client order: segment sums in numpy
    if lead is None:
        cum = base.groupby(["c", "m"], sort=False)["w"].cumsum()
        lead = pd.Series(cum.to_numpy()).groupby(c).cummax().to_numpy()
    flat = base["t"].to_numpy() * grid.n + c
    top = np.zeros(grid.n * grid.T)
    np.maximum.at(top, flat, lead)
    tot = np.bincount(flat, weights=base["w"].to_numpy(), minlength=grid.n * grid.T)
    top = np.maximum.accumulate(top.reshape(grid.T, grid.n), axis=0)
    tot = np.cumsum(tot.reshape(grid.T, grid.n), axis=0)
    return _divide(top, tot)


def _sorted_leads(c: np.ndarray, m: np.ndarray, w: np.ndarray) -> np.ndarray | None:
    """The running count of each record's (client, manager) and the running maximum of those
    within the client — ``groupby([c, m]).cumsum()`` then ``groupby(c).cummax()`` — for records
    sorted by client (in time order within it) whose weights are whole counts; None when the
    numbers would pass 2⁵³ (float sums no longer exact)."""
    if (float(c.max()) + 2) * (float(np.abs(w).sum()) + 1) >= 2.0**53:
        return None
    key = c.astype(np.int64) * (int(m.max()) + 1 if len(m) else 1) + m
    order = np.argsort(key, kind="stable")  # (client, manager) runs, time order kept within them
    ws = w[order]
    cs = np.cumsum(ws)
    ks = key[order]
    start = np.concatenate(([True], ks[1:] != ks[:-1]))
    before = (cs - ws)[start]  # the total before each run
    cum = np.empty_like(cs)
    cum[order] = cs - np.repeat(before, np.diff(np.append(np.flatnonzero(start), len(ks))))
    big = float(cum.max()) + 1 if len(cum) else 1.0  # clients apart: offsets a maximum cannot cross
    shifted = cum + c * big
    return np.maximum.accumulate(shifted) - c * big


def _manager_continuity(base: pd.DataFrame, grid: _ClientWindowGrid) -> np.ndarray:
    """Share of each window's orders handled by that window's most frequent manager."""
    parts = []
    for lag in range(grid.window):  # each record counts in the windows ending t … t+W-1
        b = base.assign(t=base["t"] + lag)
        parts.append(b[b["t"] < grid.T])
    win = pd.concat(parts, ignore_index=True).groupby(["c", "t", "m"], sort=False)["w"].sum()
    g = win.groupby(level=["c", "t"], sort=False)
    top, tot = g.max(), g.sum()
    out = np.full(grid.n * grid.T, np.nan)
    c = top.index.get_level_values("c").to_numpy()
    t = top.index.get_level_values("t").to_numpy()
    out[t * grid.n + c] = top.to_numpy() / tot.to_numpy()
    return out.reshape(grid.T, grid.n)


def client_features(panel: pd.DataFrame, clients: pd.DataFrame, *, window: int = 4,
                    kpis: pd.DataFrame | None = None, events: pd.DataFrame | None = None,
                    transactions: pd.DataFrame | None = None, behind_plan: float = 1.0,
                    only: list[str] | None = None) -> pd.DataFrame:
    """Features of every client at every period, over the trailing window ending there.

    Parameters
    ----------
    panel
        The client × period panel (:func:`analysis.ingest.panel.client_period_panel`).
    clients
        The clients table (attributes: ``org_type``, ``founded_year``, ``is_reference`` …).
    window
        Periods in the trailing window (4 for quarters, 12 for months).
    kpis
        Portfolio × period KPIs; ``plan_attainment`` below ``behind_plan`` marks a period when the
        supplier was behind plan (``prepayments_behind_plan``). Without it those features are empty.
    events
        The events table, if any. Event counts are read from the panel's event columns; when the
        data hold no event at all (no events file, or an empty one) every event feature is
        missing rather than zero.
    transactions
        Order lines with ``account_manager`` for ``manager_continuity``, or the same lines counted
        per client, period and manager (``client_id, period, account_manager, orders``:
        :func:`analysis.ingest.panel.manager_orders_expr`, what an engine run brings back); without
        them the panel's ``account_manager`` column is used if present (one manager per
        client-period).
    only
        Compute only these features (e.g. those a rulebook reads,
        :func:`analysis.categories.rules.rule_features`): the columns returned are the keys and
        these. At a million clients each feature is a (periods × clients) array; computing the 17
        the default rules read instead of all 50 is what keeps the memory bounded.

    Returns
    -------
    pandas.DataFrame
        One row per client and period at which the client was active in the window (a purchase
        or an event in t-W+1 … t): ``client_id, portfolio, period, period_index`` (0-based
        position in the data's periods), ``complete`` (a full window of data precedes and
        includes the period) and one column per entry of :data:`FEATURES` (floats; classes and
        attributes as objects/booleans). Features whose source is missing are all-NaN/None.

    Examples
    --------
    Two features of the bundled sample's clients (the keys come with them):

    >>> from analysis.config import SAMPLE_DIR
    >>> from analysis.ingest import load
    >>> from analysis.ingest.panel import client_period_panel
    >>> base = load(SAMPLE_DIR)
    >>> f = client_features(client_period_panel(base), base.clients, only=["margin", "tenure"])
    >>> list(f.columns)
    ['client_id', 'portfolio', 'period', 'period_index', 'complete', 'margin', 'tenure']
    >>> bool((f["margin"].dropna() < 1).all())
    True
    """
    if window < 1:
        raise ValueError("window must be at least 1 period")
    wanted = None if only is None else set(only)
    if wanted is not None:
        unknown = sorted(wanted - set(FEATURES))
        if unknown:
            raise ValueError(f"unknown features {unknown}; features: {', '.join(FEATURES)}")
    w = _Work(panel, window, wanted)
    _money_and_activity(w)
    _window_events(w, panel, events)
    _behind_plan(w, kpis, behind_plan)
    _history(w)
    _tenure_products_managers(w, panel, transactions)
    _pooled(w)
    cols = _rows(w)
    _attributes(w, cols, clients)
    keep = [f for f in FEATURES if wanted is None or f in wanted]
    order = ["client_id", "portfolio", "period", "period_index", "complete", *keep]
    return pd.DataFrame({k: cols[k] for k in order}, copy=False)


class _Work:
    """What the steps of :func:`client_features` share: the grid, the wanted features, the
    revenue arrays every step reads and the dense (period × client) features computed so far."""

    #: orders over the window (all-NaN without an orders column): set by :func:`_money_and_activity`
    O: np.ndarray

    def __init__(self, panel: pd.DataFrame, window: int, wanted: set[str] | None):
        self.wanted, self.window = wanted, window
        self.periods = periods = period_axis(panel["period"].astype(str).unique())
        self.grid = grid = _ClientWindowGrid(panel, periods, window)
        n, T = grid.n, grid.T
        # every dense array is (period × client)
        self.nanmat = np.full((T, n), np.nan) if wanted is None else None
        rev = grid.dense("revenue")
        self.rev = rev = np.zeros((T, n)) if rev is None else rev
        self.has_row = has_row = np.bincount(grid.flat, minlength=n * T).reshape(T, n) > 0
        self.active_win = grid.roll(has_row.astype(float)) > 0
        self.bought = rev > 0
        self.R = R = grid.roll(rev)
        self.feats: dict[str, np.ndarray] = {"revenue": R}
        self.gp: np.ndarray | None = None
        self.orders: np.ndarray | None = None
        self.ev: dict[str, np.ndarray | None] = {}
        self.has_events = False
        # the rows' client and period positions (set by _rows)
        self.ci = self.ti = np.empty(0, dtype=np.intp)

    def want(self, *names: str) -> bool:
        return self.wanted is None or any(n in self.wanted for n in names)

    def nan(self) -> np.ndarray:
        return self.nanmat if self.nanmat is not None else np.full((self.grid.T, self.grid.n),
                                                                   np.nan)


def _money_and_activity(w: _Work) -> None:
    """Gross profit and margin, orders, active periods, revenue variability and recency."""
    grid, feats, want, nan = w.grid, w.feats, w.want, w.nan
    rev, R, bought, window, T = w.rev, w.R, w.bought, w.window, grid.T
    gp = None
    if want("gross_profit", "margin", "profit_share", "profit_cum_share", "abc_profit"):
        gp = grid.dense("gross_profit")
        cost = grid.dense("cost") if gp is None else None
        if cost is not None:
            gp = rev - cost
        if gp is not None:
            G = grid.roll(gp)
            feats["gross_profit"] = G
            if want("margin"):
                feats["margin"] = _divide(G, R)
        else:
            feats["gross_profit"] = feats["margin"] = nan()
    w.gp = gp

    orders = grid.dense("orders") if want("orders", "claims_per_100_orders",
                                          "claims_per_100_orders_history",
                                           "f_score") else None
    O = grid.roll(orders) if orders is not None else nan()
    feats["orders"] = O
    w.orders, w.O = orders, O
    if want("active_periods"):
        feats["active_periods"] = grid.roll(bought.astype(float))

    # revenue variability over the window (population SD of per-period revenue, zeros included)
    if want("revenue_cv", "xyz_class"):
        S2 = grid.roll(rev**2)
        w_len = np.minimum(np.arange(T) + 1, window)[:, None]
        mean = R / w_len
        with np.errstate(invalid="ignore"):
            sd = np.sqrt(np.clip(S2 / w_len - mean**2, 0, None))
        feats["revenue_cv"] = _divide(sd, mean)
        del S2, mean, sd

    # recency: periods since the last purchase as of t
    if want("recency", "r_score"):
        idx = np.where(bought, np.arange(T)[:, None], -1)
        last = np.maximum.accumulate(idx, axis=0)
        feats["recency"] = np.where(last >= 0, np.arange(T)[:, None] - last, np.nan)


def _window_events(w: _Work, panel: pd.DataFrame, events: pd.DataFrame | None) -> None:
    """Event counts over the window and their ratios (claims per order and per incident,
    prepayments)."""
    grid, feats, want, nan = w.grid, w.feats, w.want, w.nan
    R, O, orders, T, n = w.R, w.O, w.orders, grid.T, grid.n
    ev = {col: grid.dense(col) if col in panel.columns else None for col in EVENT_COLS}
    # No event at all in the data means no events file (the panel may fill its columns with 0):
    # the event signals are then absent, not zero.
    has_events = any(x is not None and x.any() for x in ev.values())
    if events is not None and len(events) == 0:
        has_events = False
    w.ev, w.has_events = ev, has_events
    window_events = {"claims": ("claims", "claims_per_100_orders", "claims_per_incident"),
                     "trials": ("trials",), "spec_requirements": ("spec_requirements",),
                     "incidents": ("incidents", "claims_per_incident", "deferrals_per_incident"),
                     "deferrals": ("deferrals", "deferrals_per_incident"),
                     "prepayments": ("prepayments",)}
    for col, name in EVENT_COLS.items():
        x = ev[col]
        if not has_events:
            x = None
        elif x is None and col in panel.columns:
            x = np.zeros((T, n))  # the column exists but holds no such event: a true zero
        if want(*window_events[name]):
            feats[name] = grid.roll(x) if x is not None else nan()
    if want("claims_per_100_orders"):
        feats["claims_per_100_orders"] = 100 * _divide(feats["claims"],
                                                       O) if orders is not None else nan()
    if want("claims_per_incident"):
        feats["claims_per_incident"] = _divide(feats["claims"], feats["incidents"])
    if want("deferrals_per_incident"):
        feats["deferrals_per_incident"] = _divide(feats["deferrals"], feats["incidents"])
    if want("prepayment_amount", "prepayment_ratio"):
        pa = grid.dense("prepayment_amount") if "prepayment_amount" in panel.columns else None
        if pa is None and "prepayment_amount" in panel.columns and has_events:
            pa = np.zeros((T, n))
        if not has_events:
            pa = None
        feats["prepayment_amount"] = grid.roll(pa) if pa is not None else nan()
        feats["prepayment_ratio"] = _divide(feats["prepayment_amount"], R)


def _behind_plan(w: _Work, kpis: pd.DataFrame | None, behind_plan: float) -> None:
    """Prepayments in periods when the portfolio was behind plan (its KPI in the period)."""
    grid, feats, want, nan = w.grid, w.feats, w.want, w.nan
    periods, ev, has_events, T, n = w.periods, w.ev, w.has_events, grid.T, grid.n
    behind = None
    if want("prepayments_behind_plan", "behind_plan_periods") and kpis is not None \
            and "plan_attainment" in kpis.columns and "period" in kpis.columns:
        k = kpis.copy()
        k["period"] = k["period"].astype(str)
        if "portfolio" in k.columns:
            kp = k.groupby(["portfolio", "period"])["plan_attainment"].mean()
            table = kp.unstack("period").reindex(columns=periods)
            rows = table.reindex(pd.Index(grid.portfolio)).to_numpy(dtype=float).T
        else:
            kp = (k.groupby("period")["plan_attainment"].mean().reindex(periods)
                  .to_numpy(dtype=float))
            rows = np.broadcast_to(kp[:, None], (T, n))
        if np.isfinite(rows).any():
            behind = np.where(np.isfinite(rows), (rows < behind_plan).astype(float), 0.0)
    if want("prepayments_behind_plan", "behind_plan_periods"):
        if behind is not None and has_events:
            pre = ev["prepayment"] if ev["prepayment"] is not None else np.zeros((T, n))
            feats["prepayments_behind_plan"] = grid.roll(pre * behind)
            feats["behind_plan_periods"] = grid.roll(behind)
        else:
            feats["prepayments_behind_plan"] = feats["behind_plan_periods"] = nan()


_HISTORY = ("claims_per_100_orders_history", "trial_rate_history", "spec_rate_history",
            "prepayment_rate_history", "deferrals_per_incident_history",
            "claims_per_incident_history",
            "prepayment_rate_history_shrunk", "deferrals_per_incident_history_shrunk",
            "prepayments_per_year_history_shrunk", "trials_per_year_history_shrunk",
            "specs_per_year_history_shrunk")
#: The event columns each history feature reads.
_HISTORY_USES = {"prepayment": ("prepayment_rate_history", "prepayment_rate_history_shrunk",
                                "prepayments_per_year_history_shrunk"),
                 "trial": ("trial_rate_history", "trials_per_year_history_shrunk"),
                 "spec_requirement": ("spec_rate_history", "specs_per_year_history_shrunk"),
                 "claim": ("claims_per_100_orders_history", "claims_per_incident_history"),
                 "deferral_accepted": ("deferrals_per_incident_history",
                                       "deferrals_per_incident_history_shrunk"),
                 "incident": ("deferrals_per_incident_history", "claims_per_incident_history",
                              "deferrals_per_incident_history_shrunk")}


def _history(w: _Work) -> None:
    """Relationship history to date (loyalty is a trait of the relationship, not of one window)."""
    grid, feats, want, nan = w.grid, w.feats, w.want, w.nan
    ev, orders, periods, T, n = w.ev, w.orders, w.periods, grid.T, grid.n
    history = _HISTORY
    if want(*history):
        hist_active = np.cumsum(w.bought, axis=0).astype(float)
        if w.has_events:
            z = np.zeros((T, n))
            uses = _HISTORY_USES
            cum = {col: np.cumsum(x if (x := ev[col]) is not None else z, axis=0)
                   for col in EVENT_COLS
                   if want(*uses[col])}
            if want("prepayment_rate_history"):
                feats["prepayment_rate_history"] = _divide(cum["prepayment"], hist_active)
            if want("trial_rate_history"):
                feats["trial_rate_history"] = _divide(cum["trial"], hist_active)
            if want("spec_rate_history"):
                feats["spec_rate_history"] = _divide(cum["spec_requirement"], hist_active)
            if want("claims_per_100_orders_history"):
                feats["claims_per_100_orders_history"] = (
                    100 * _divide(cum["claim"], np.cumsum(orders, axis=0)) if orders is not None
                    else nan())
            if want("deferrals_per_incident_history"):
                feats["deferrals_per_incident_history"] = _divide(cum["deferral_accepted"],
                                                                  cum["incident"])
            if want("claims_per_incident_history"):
                feats["claims_per_incident_history"] = _divide(cum["claim"], cum["incident"])
            # shrunk rates: a client's evidence to date weighed against the pooled rate of the same
            # period (2 pseudo-periods / pseudo-incidents), so one lucky event in a short history
            # does not look like a habit; nothing after the period is read
            seen = hist_active > 0
            if want("prepayment_rate_history_shrunk"):
                pooled_pre = _divide(np.where(seen, cum["prepayment"], 0).sum(axis=1),
                                     np.where(seen, hist_active, 0).sum(axis=1))
                feats["prepayment_rate_history_shrunk"] = np.where(
                    seen,
                    (cum["prepayment"]
                     + 2 * np.nan_to_num(pooled_pre)[:, None]) / (hist_active + 2), np.nan)
            if want("deferrals_per_incident_history_shrunk"):
                pooled_def = _divide(cum["deferral_accepted"].sum(axis=1),
                                     cum["incident"].sum(axis=1))
                feats["deferrals_per_incident_history_shrunk"] = np.where(
                    seen,
                    (cum["deferral_accepted"]
                     + 2 * np.nan_to_num(pooled_def)[:, None]) / (cum["incident"] + 2),
                    np.nan)
            # the same per year of buying, so that one threshold reads alike on quarters and months
            # (and does not move with how common a kind happens to be, as a quantile does); the
            # prior weighs half a year of periods
            per_year = FREQUENCIES[period_freq(periods)][1]
            prior = per_year / 2
            for col, name in (("prepayment", "prepayments"), ("trial", "trials"),
                              ("spec_requirement", "specs")):
                if not want(f"{name}_per_year_history_shrunk"):
                    continue
                pooled = _divide(np.where(seen, cum[col], 0).sum(axis=1),
                                 np.where(seen, hist_active, 0).sum(axis=1))
                feats[f"{name}_per_year_history_shrunk"] = np.where(
                    seen,
                    per_year * (cum[col]
                                + prior * np.nan_to_num(pooled)[:, None]) / (hist_active + prior),
                    np.nan)
            del cum
        else:
            for name in history:
                feats[name] = nan()
        del hist_active
    w.ev = {}


def _tenure_products_managers(w: _Work, panel: pd.DataFrame,
                              transactions: pd.DataFrame | None) -> None:
    """Tenure, the new-product share of revenue and the account manager's continuity."""
    grid, feats, want, nan = w.grid, w.feats, w.want, w.nan
    periods, has_row, R, T = w.periods, w.has_row, w.R, grid.T
    # tenure: periods since first appearance in the data
    if want("tenure"):
        first = np.where(has_row.any(axis=0), has_row.argmax(axis=0), T)
        feats["tenure"] = np.arange(T)[:, None] - first[None, :] + 1.0

    if want("new_product_share"):
        newp = grid.dense("new_product_revenue")
        feats["new_product_share"] = _divide(grid.roll(newp), R) if newp is not None else nan()

    # contact continuity
    if want("manager_continuity", "manager_continuity_history"):
        cont = hist = None
        rec, from_panel = None, False
        if (transactions is not None and "account_manager" in transactions.columns
                and "date" in transactions.columns):
            freq = period_freq(periods)
            period = pd.to_datetime(transactions["date"]).dt.to_period(freq).astype(str)
            rec = pd.DataFrame({"client_id": transactions["client_id"], "period": period,
                                "account_manager": transactions["account_manager"], "weight": 1.0})
        elif transactions is not None and {"period", "account_manager", "orders"} <= set(
                transactions.columns):
            # the order lines already counted per client, period and manager (the engine's,
            # analysis.ingest.panel.manager_orders_expr): the same records, summed
            rec = transactions[["client_id", "period", "account_manager"]].assign(
                weight=transactions["orders"].to_numpy(dtype=float))
        elif "account_manager" in panel.columns:
            weight = panel["orders"].to_numpy(dtype=float) if "orders" in panel.columns else 1.0
            # one manager per row
            rec = panel[["client_id", "period", "account_manager"]].assign(weight=weight)
            from_panel = True
        if rec is not None:
            mb = _manager_records(rec, grid, from_panel=from_panel)
            del rec
            if len(mb):
                cont = _manager_continuity(mb, grid) if want("manager_continuity") else None
                hist = _manager_history(mb, grid) if want("manager_continuity_history") else None
        feats["manager_continuity"] = cont if cont is not None else nan()
        feats["manager_continuity_history"] = hist if hist is not None else nan()


def _pooled(w: _Work) -> None:
    """Pooled relative features within each period's window (columns of the dense arrays)."""
    feats, want, nan = w.feats, w.want, w.nan
    R, O, active_win, T = w.R, w.O, w.active_win, w.grid.T
    if want("revenue_share", "revenue_cum_share", "abc_revenue"):
        share, cum = _pareto(R, active_win)
        feats["revenue_share"], feats["revenue_cum_share"] = share, cum
    if want("profit_share", "profit_cum_share", "abc_profit"):
        if w.gp is not None:
            share_p, cum_p = _pareto(feats["gross_profit"], active_win)
        else:
            share_p = cum_p = nan()
        feats["profit_share"], feats["profit_cum_share"] = share_p, cum_p
    if want("r_score"):
        feats["r_score"] = _quintile_score(np.where(np.isnan(feats["recency"]), T,
                                                    feats["recency"]), active_win,
                                           higher_is_better=False)
    if want("f_score"):
        feats["f_score"] = _quintile_score(O, active_win) if w.orders is not None else nan()
    if want("m_score"):
        feats["m_score"] = _quintile_score(R, active_win)


def _rows(w: _Work) -> dict[str, object]:
    """The rows: clients active in the window, in client then period order, with their features
    taken from the dense arrays (each array freed once its rows are taken) and the classes."""
    grid, feats, want, wanted = w.grid, w.feats, w.want, w.wanted
    periods, window, n = w.periods, w.window, grid.n
    ci, ti = np.nonzero(w.active_win.T)
    cols: dict[str, object] = {
        "client_id": pd.Series(grid.clients).take(ci).reset_index(drop=True),
        "portfolio": pd.Series(grid.portfolio).take(ci).reset_index(drop=True),
        "period": pd.Series(pd.array(periods, dtype="str")).take(ti).reset_index(drop=True),
        "period_index": ti,
        "complete": ti >= window - 1,
    }
    flat = ti * n + ci
    deps = {"abc_revenue": ("revenue_cum_share", "revenue_share"),
            "abc_profit": ("profit_cum_share", "profit_share"),
            "xyz_class": ("revenue_cv",)}
    rows_of = None if wanted is None else wanted | {d for f in wanted for d in deps.get(f, ())}
    taken: dict[str, np.ndarray] = {}
    for name in list(feats):  # one dense array at a time, freed once its rows are taken
        arr = feats.pop(name)
        if rows_of is None or name in rows_of:
            cols[name] = taken[name] = arr.ravel().take(flat)
        del arr
    if want("abc_revenue"):
        cols["abc_revenue"] = _abc(taken["revenue_cum_share"], taken["revenue_share"])
    if want("abc_profit"):
        cols["abc_profit"] = _abc(taken["profit_cum_share"], taken["profit_share"])
    if want("xyz_class"):
        cv = taken["revenue_cv"]
        xyz = np.where(cv <= XYZ_CUTS[0], 0, np.where(cv <= XYZ_CUTS[1], 1, 2))
        cols["xyz_class"] = _classes(np.where(np.isnan(cv), -1, xyz), ["X", "Y", "Z"])
    w.ci, w.ti = ci, ti
    return cols


def _attributes(w: _Work, cols: dict[str, object], clients: pd.DataFrame) -> None:
    """Client attributes, aligned to the clients once and taken per row; the client's age."""
    grid, want, periods, ci, ti = w.grid, w.want, w.periods, w.ci, w.ti
    attrs = [a for a in ATTRIBUTES if a in clients.columns
             and want(a, *(("client_age",) if a == "founded_year" else ()))]
    cl = clients.drop_duplicates("client_id").set_index("client_id")[attrs].reindex(grid.clients)
    for a in ATTRIBUTES:
        if not want(a, *(("client_age",) if a == "founded_year" else ())):
            continue
        if a not in attrs:
            cols[a] = np.full(len(ci),
                              np.nan) if a in _NUMERIC_ATTRS else pd.Categorical.from_codes(
                np.full(len(ci), -1), categories=[])
            continue
        col = cl[a]
        if a in _NUMERIC_ATTRS:
            cols[a] = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)[ci]
        elif a == "is_reference":
            cols[a] = col.astype("boolean").array.take(ci)
        else:
            cols[a] = pd.Categorical(col.astype(object)).take(ci)
    if want("client_age"):
        if "founded_year" in attrs:
            year = np.array([int(p[:4]) for p in periods], dtype=float)[ti]
            cols["client_age"] = year - cols["founded_year"]
        else:
            cols["client_age"] = np.full(len(ci), np.nan)


def available(features: pd.DataFrame) -> dict[str, bool]:
    """Which features carry any value in the data (False: its source is absent)."""
    return {f: bool(f in features.columns and features[f].notna().any()) for f in FEATURES}
