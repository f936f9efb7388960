"""Client features over a trailing window: the signals the category rules read.

Every feature of client *c* at period *t* is computed from the periods t-W+1 … t (the window that
ends at *t*; W = ``window``). The client × period panel is laid out as dense (client × period)
arrays and windows are differences of cumulative sums, so a million clients over twelve periods
take seconds; only the account-manager continuity needs a group-by over order lines.

Relative features (shares, Pareto cumulative shares, ABC classes, RFM scores) are pooled over all
clients of all portfolios active in the same window, as DESIGN.md asks of thresholds. A feature
whose source is absent from the data (no cost column, no events file, no ``kpis``) is all-missing,
and :data:`SOURCES` says which input it needs, so :mod:`analysis.categories` can name it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Every feature, with its unit/meaning and the input it needs (used in reasons and messages).
FEATURES: dict[str, tuple[str, str]] = {
    # money and size
    "revenue": ("revenue over the window", "transactions.revenue"),
    "gross_profit": ("gross profit (revenue - cost) over the window", "transactions.cost"),
    "margin": ("gross profit / revenue over the window (0.25 = 25 %)", "transactions.cost"),
    "revenue_share": ("share of all clients' window revenue (pooled)", "transactions.revenue"),
    "profit_share": ("share of all clients' positive window gross profit (pooled)", "transactions.cost"),
    "revenue_cum_share": ("Pareto: cumulative revenue share of the clients this large or larger", "transactions.revenue"),
    "profit_cum_share": ("Pareto: cumulative profit share of the clients this profitable or more", "transactions.cost"),
    "abc_revenue": ("ABC class by revenue: A up to 80 %, B up to 95 % of cumulative revenue, C the rest", "transactions.revenue"),
    "abc_profit": ("ABC class by gross profit (same cuts)", "transactions.cost"),
    "revenue_cv": ("coefficient of variation of per-period revenue in the window", "transactions.revenue"),
    "xyz_class": ("XYZ class of revenue variability: X cv <= 0.1, Y <= 0.25, Z above", "transactions.revenue"),
    "recency": ("periods since the last purchase (0: bought in this period)", "transactions.revenue"),
    "r_score": ("RFM recency score 1-5 (5: most recent), pooled quintiles", "transactions.revenue"),
    "f_score": ("RFM frequency score 1-5 (5: most orders), pooled quintiles", "transactions.revenue"),
    "m_score": ("RFM monetary score 1-5 (5: most revenue), pooled quintiles", "transactions.revenue"),
    "orders": ("orders (order lines) in the window", "transactions"),
    "active_periods": ("periods of the window with a purchase", "transactions.revenue"),
    # the demanding kind
    "claims": ("formal claims in the window", "events (claim)"),
    "claims_per_100_orders": ("claims per 100 orders in the window", "events (claim)"),
    "trials": ("trials of new materials in the window", "events (trial)"),
    "spec_requirements": ("special acceptance requirements in the window", "events (spec_requirement)"),
    # the understanding kind
    "incidents": ("incidents on the supplier's side in the window", "events (incident)"),
    "claims_per_incident": ("claims per incident in the window (empty without incidents)", "events (incident, claim)"),
    "deferrals": ("deferrals accepted (the client agreed to wait) in the window", "events (deferral_accepted)"),
    "deferrals_per_incident": ("accepted deferrals per incident (empty without incidents)", "events (incident, deferral_accepted)"),
    "prepayments": ("prepayments in the window", "events (prepayment)"),
    "prepayment_amount": ("money prepaid in the window", "events (prepayment amount)"),
    "prepayment_ratio": ("money prepaid / revenue over the window", "events (prepayment amount)"),
    "prepayments_behind_plan": ("prepayments made in periods when the portfolio was behind plan", "kpis.plan_attainment"),
    "behind_plan_periods": ("periods of the window when the portfolio was behind plan", "kpis.plan_attainment"),
    "claims_per_100_orders_history": ("claims per 100 orders over the client's history to date", "events (claim)"),
    "trial_rate_history": ("trials per period with a purchase, over the client's history to date", "events (trial)"),
    "spec_rate_history": ("special requirements per period with a purchase, over the history to date", "events (spec_requirement)"),
    "prepayment_rate_history": ("prepayments per period with a purchase, over the client's history to date", "events (prepayment)"),
    "deferrals_per_incident_history": ("accepted deferrals per incident over the client's history to date", "events (incident, deferral_accepted)"),
    "claims_per_incident_history": ("claims per incident over the client's history to date", "events (incident, claim)"),
    "tenure": ("periods since the client's first period in the data, this one included", "transactions"),
    "manager_continuity": ("share of the window's orders handled by the client's most frequent manager", "transactions.account_manager"),
    "manager_continuity_history": ("share of all the client's orders so far handled by its most frequent manager so far", "transactions.account_manager"),
    # the advanced kind
    "client_age": ("years since the client was founded, at the period", "clients.founded_year"),
    "new_product_share": ("share of window revenue from new products", "transactions.is_new_product"),
    # attributes
    "org_type": ("organisation type", "clients.org_type"),
    "industry": ("industry", "clients.industry"),
    "country": ("country", "clients.country"),
    "founded_year": ("year founded", "clients.founded_year"),
    "is_reference": ("the supplier shows the client's name or logo in its marketing", "clients.is_reference"),
    "brand_score": ("how well known the client's brand is (0-100)", "clients.brand_score"),
    "innovation_score": ("how innovation-driven the client is (0-100)", "clients.innovation_score"),
}
ATTRIBUTES = ("org_type", "industry", "country", "founded_year", "is_reference", "brand_score", "innovation_score")
EVENT_COLS = {"claim": "claims", "trial": "trials", "spec_requirement": "spec_requirements",
              "incident": "incidents", "deferral_accepted": "deferrals", "prepayment": "prepayments"}
ABC_CUTS = (0.8, 0.95)
XYZ_CUTS = (0.1, 0.25)


def period_freq(labels) -> str:
    """The frequency code of period labels: ``Q`` (``2024Q1``), ``M`` (``2024-01``) or ``Y`` (``2024``)."""
    first = str(next(iter(labels)))
    if "Q" in first:
        return "Q"
    if "-" in first:
        return "M"
    return "Y"


def period_axis(labels) -> list[str]:
    """All period labels from the first to the last (gaps filled), in order."""
    labels = sorted({str(x) for x in labels})
    if not labels:
        return []
    freq = period_freq(labels)
    try:
        rng = pd.period_range(pd.Period(labels[0], freq=freq), pd.Period(labels[-1], freq=freq))
        full = [str(p) for p in rng]
        if set(labels) <= set(full):
            return full
    except (ValueError, TypeError):
        pass
    return labels


class _Grid:
    """Dense (client × period) arrays of panel columns, and their trailing-window sums."""

    def __init__(self, panel: pd.DataFrame, periods: list[str], window: int):
        self.periods, self.window = periods, window
        self.T = len(periods)
        codes, self.clients = pd.factorize(panel["client_id"], sort=True)
        self.n = len(self.clients)
        pos = pd.Index(periods).get_indexer(panel["period"].astype(str))
        self.flat = codes.astype(np.int64) * self.T + pos
        self.panel = panel
        first_port = panel.drop_duplicates("client_id").set_index("client_id")["portfolio"]
        self.portfolio = first_port.reindex(self.clients).to_numpy(dtype=object)

    def dense(self, col: str) -> np.ndarray | None:
        """The column as an (n × T) float array, 0 where the client has no row; None if absent/all-NaN."""
        if col not in self.panel.columns:
            return None
        v = pd.to_numeric(self.panel[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        if np.isnan(v).all():
            return None
        out = np.bincount(self.flat, weights=np.nan_to_num(v), minlength=self.n * self.T)
        return out.reshape(self.n, self.T)

    def roll(self, x: np.ndarray) -> np.ndarray:
        """Trailing window sums (window ending at each period; shorter at the start)."""
        c = np.cumsum(x, axis=1)
        out = c.copy()
        w = self.window
        if self.T > w:
            out[:, w:] = c[:, w:] - c[:, :-w]
        return out


def _divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.nan)


def _pareto(values: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Within each group: the value's share of the group's positive total and the Pareto
    cumulative share (this client and all larger ones; ties broken by position)."""
    v = np.where(np.isfinite(values), np.clip(values, 0, None), 0.0)
    order = np.lexsort((-v, groups))
    gs, vs = groups[order], v[order]
    cs = np.cumsum(vs)
    start = np.r_[True, gs[1:] != gs[:-1]]
    base = np.maximum.accumulate(np.where(start, cs - vs, 0.0))
    within = cs - base
    totals = np.bincount(np.searchsorted(np.unique(gs), gs), weights=vs)
    tot_sorted = totals[np.searchsorted(np.unique(gs), gs)]
    cum = np.empty_like(v)
    share = np.empty_like(v)
    with np.errstate(divide="ignore", invalid="ignore"):
        cum[order] = np.where(tot_sorted > 0, within / tot_sorted, np.nan)
        share[order] = np.where(tot_sorted > 0, vs / tot_sorted, np.nan)
    return share, cum


def _abc(cum: np.ndarray, share: np.ndarray) -> np.ndarray:
    before = cum - share
    out = np.where(before < ABC_CUTS[0], "A", np.where(before < ABC_CUTS[1], "B", "C")).astype(object)
    return np.where(np.isfinite(cum), out, None)


def _quintile_score(values: np.ndarray, groups: np.ndarray, *, higher_is_better: bool = True) -> np.ndarray:
    """Scores 1-5 from within-group percentile ranks (average ranks for ties)."""
    s = pd.Series(values if higher_is_better else -values)
    pct = s.groupby(groups).rank(pct=True, method="average").to_numpy()
    return np.clip(np.ceil(pct * 5), 1, 5)


def _manager_records(records: pd.DataFrame, grid: _Grid) -> pd.DataFrame:
    codes = pd.Index(grid.clients).get_indexer(records["client_id"])
    pos = pd.Index(grid.periods).get_indexer(records["period"].astype(str))
    ok = (codes >= 0) & (pos >= 0) & records["account_manager"].notna().to_numpy()
    mgr, _ = pd.factorize(records["account_manager"][ok])
    base = pd.DataFrame({"c": codes[ok], "t": pos[ok], "m": mgr, "w": records["weight"].to_numpy()[ok]})
    return base.groupby(["c", "t", "m"], as_index=False, sort=True)["w"].sum()


def _manager_history(base: pd.DataFrame, grid: _Grid) -> np.ndarray:
    """Share of all orders to date handled by the most frequent manager to date.

    Cumulative counts only grow, so the leader's count at a period is the running maximum of
    every (client, manager) cumulative count seen so far; periods without orders carry forward.
    """
    cum = base.groupby(["c", "m"], sort=False)["w"].cumsum()
    lead = pd.Series(cum.to_numpy()).groupby(base["c"].to_numpy()).cummax().to_numpy()
    flat = base["c"].to_numpy() * grid.T + base["t"].to_numpy()
    top = np.zeros(grid.n * grid.T)
    np.maximum.at(top, flat, lead)
    tot = np.bincount(flat, weights=base["w"].to_numpy(), minlength=grid.n * grid.T)
    top = np.maximum.accumulate(top.reshape(grid.n, grid.T), axis=1)
    tot = np.cumsum(tot.reshape(grid.n, grid.T), axis=1)
    return _divide(top, tot)


def _manager_continuity(base: pd.DataFrame, grid: _Grid) -> np.ndarray:
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
    out[c * grid.T + t] = top.to_numpy() / tot.to_numpy()
    return out.reshape(grid.n, grid.T)


def client_features(panel: pd.DataFrame, clients: pd.DataFrame, *, window: int = 4,
                    kpis: pd.DataFrame | None = None, events: pd.DataFrame | None = None,
                    transactions: pd.DataFrame | None = None, behind_plan: float = 1.0) -> pd.DataFrame:
    """Features of every client at every period, over the trailing window ending there.

    Parameters
    ----------
    panel
        The client × period panel (:func:`analysis.panel.client_period_panel`).
    clients
        The clients table (attributes: ``org_type``, ``founded_year``, ``is_reference`` …).
    window
        Periods in the trailing window (4 for quarters, 12 for months).
    kpis
        Portfolio × period KPIs; ``plan_attainment`` below ``behind_plan`` marks a period when the
        supplier was behind plan (``prepayments_behind_plan``). Without it those features are empty.
    events
        Accepted for symmetry with :func:`analysis.categories.classify`; event counts are read
        from the panel's event columns, which exist only when the events file did.
    transactions
        Order lines with ``account_manager`` for ``manager_continuity``; without them the panel's
        ``account_manager`` column is used if present (one manager per client-period).

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
    >>> from analysis.config import SAMPLE_DIR
    >>> from analysis.ingest import load
    >>> from analysis.panel import client_period_panel
    >>> base = load(SAMPLE_DIR)
    >>> f = client_features(client_period_panel(base), base.clients, kpis=base.kpis)
    >>> bool((f["margin"].dropna() < 1).all())
    True
    """
    del events  # the panel carries the event counts
    if window < 1:
        raise ValueError("window must be at least 1 period")
    periods = period_axis(panel["period"].astype(str).unique())
    grid = _Grid(panel, periods, window)
    n, T = grid.n, grid.T
    nanmat = np.full((n, T), np.nan)

    rev = grid.dense("revenue")
    rev = np.zeros((n, T)) if rev is None else rev
    has_row = np.bincount(grid.flat, minlength=n * T).reshape(n, T) > 0
    active_win = grid.roll(has_row.astype(float)) > 0
    bought = rev > 0
    R = grid.roll(rev)
    feats: dict[str, np.ndarray] = {"revenue": R}

    gp = grid.dense("gross_profit")
    if gp is None and grid.dense("cost") is not None:
        gp = rev - grid.dense("cost")
    if gp is not None:
        G = grid.roll(gp)
        feats["gross_profit"] = G
        feats["margin"] = _divide(G, R)
    else:
        feats["gross_profit"] = feats["margin"] = nanmat

    orders = grid.dense("orders")
    O = grid.roll(orders) if orders is not None else nanmat
    feats["orders"] = O
    feats["active_periods"] = grid.roll(bought.astype(float))

    # revenue variability over the window (population SD of per-period revenue, zeros included)
    S2 = grid.roll(rev**2)
    w_len = np.minimum(np.arange(T) + 1, window)[None, :]
    mean = R / w_len
    with np.errstate(invalid="ignore"):
        sd = np.sqrt(np.clip(S2 / w_len - mean**2, 0, None))
    feats["revenue_cv"] = _divide(sd, mean)

    # recency: periods since the last purchase as of t
    idx = np.where(bought, np.arange(T)[None, :], -1)
    last = np.maximum.accumulate(idx, axis=1)
    feats["recency"] = np.where(last >= 0, np.arange(T)[None, :] - last, np.nan)

    # events
    ev = {col: grid.dense(col) if col in panel.columns else None for col in EVENT_COLS}
    has_events = any(col in panel.columns for col in EVENT_COLS)
    for col, name in EVENT_COLS.items():
        x = ev[col]
        if x is None and has_events and col in panel.columns:
            x = np.zeros((n, T))  # the column exists but holds no such event: a true zero
        feats[name] = grid.roll(x) if x is not None else nanmat
    feats["claims_per_100_orders"] = 100 * _divide(feats["claims"], O) if orders is not None else nanmat
    feats["claims_per_incident"] = _divide(feats["claims"], feats["incidents"])
    feats["deferrals_per_incident"] = _divide(feats["deferrals"], feats["incidents"])
    pa = grid.dense("prepayment_amount") if "prepayment_amount" in panel.columns else None
    if pa is None and "prepayment_amount" in panel.columns and has_events:
        pa = np.zeros((n, T))
    feats["prepayment_amount"] = grid.roll(pa) if pa is not None else nanmat
    feats["prepayment_ratio"] = _divide(feats["prepayment_amount"], R)

    # behind plan: the portfolio's KPI in the period
    behind = None
    if kpis is not None and "plan_attainment" in kpis.columns and "period" in kpis.columns:
        k = kpis.copy()
        k["period"] = k["period"].astype(str)
        if "portfolio" in k.columns:
            kp = k.groupby(["portfolio", "period"])["plan_attainment"].mean()
            table = kp.unstack("period").reindex(columns=periods)
            rows = table.reindex(pd.Index(grid.portfolio)).to_numpy(dtype=float)
        else:
            kp = k.groupby("period")["plan_attainment"].mean().reindex(periods).to_numpy(dtype=float)
            rows = np.broadcast_to(kp, (n, T))
        if np.isfinite(rows).any():
            behind = np.where(np.isfinite(rows), (rows < behind_plan).astype(float), 0.0)
    if behind is not None and has_events:
        pre = ev["prepayment"] if ev["prepayment"] is not None else np.zeros((n, T))
        feats["prepayments_behind_plan"] = grid.roll(pre * behind)
        feats["behind_plan_periods"] = grid.roll(behind)
    else:
        feats["prepayments_behind_plan"] = feats["behind_plan_periods"] = nanmat

    # relationship history to date (loyalty is a trait of the relationship, not of one window)
    hist_active = np.cumsum(bought, axis=1).astype(float)
    if has_events:
        z = np.zeros((n, T))
        cum = {col: np.cumsum(ev[col] if ev[col] is not None else z, axis=1) for col in EVENT_COLS}
        feats["prepayment_rate_history"] = _divide(cum["prepayment"], hist_active)
        feats["trial_rate_history"] = _divide(cum["trial"], hist_active)
        feats["spec_rate_history"] = _divide(cum["spec_requirement"], hist_active)
        feats["claims_per_100_orders_history"] = (100 * _divide(cum["claim"], np.cumsum(orders, axis=1))
                                                  if orders is not None else nanmat)
        feats["deferrals_per_incident_history"] = _divide(cum["deferral_accepted"], cum["incident"])
        feats["claims_per_incident_history"] = _divide(cum["claim"], cum["incident"])
    else:
        for name in ("claims_per_100_orders_history", "trial_rate_history", "spec_rate_history",
                     "prepayment_rate_history", "deferrals_per_incident_history", "claims_per_incident_history"):
            feats[name] = nanmat

    # tenure: periods since first appearance in the data
    first = np.where(has_row.any(axis=1), has_row.argmax(axis=1), T)
    feats["tenure"] = np.arange(T)[None, :] - first[:, None] + 1.0

    newp = grid.dense("new_product_revenue")
    feats["new_product_share"] = _divide(grid.roll(newp), R) if newp is not None else nanmat

    # contact continuity
    cont = hist = None
    rec = None
    if transactions is not None and "account_manager" in transactions.columns and "date" in transactions.columns:
        freq = period_freq(periods)
        rec = pd.DataFrame({"client_id": transactions["client_id"],
                            "period": pd.to_datetime(transactions["date"]).dt.to_period(freq).astype(str),
                            "account_manager": transactions["account_manager"], "weight": 1.0})
    elif "account_manager" in panel.columns:
        w = panel["orders"].to_numpy(dtype=float) if "orders" in panel.columns else 1.0
        rec = panel[["client_id", "period", "account_manager"]].assign(weight=w)  # one manager per row
    if rec is not None:
        mb = _manager_records(rec, grid)
        if len(mb):
            cont, hist = _manager_continuity(mb, grid), _manager_history(mb, grid)
    feats["manager_continuity"] = cont if cont is not None else nanmat
    feats["manager_continuity_history"] = hist if hist is not None else nanmat

    # the rows: clients active in the window
    ci, ti = np.nonzero(active_win)
    out = {
        "client_id": grid.clients.to_numpy()[ci],
        "portfolio": grid.portfolio[ci],
        "period": np.asarray(periods, dtype=object)[ti],
        "period_index": ti,
        "complete": ti >= window - 1,
    }
    for name, arr in feats.items():
        out[name] = arr[ci, ti]
    df = pd.DataFrame(out)
    if gp is None:
        df["gross_profit"] = np.nan

    # pooled relative features within each period's window
    g = ti
    share, cum = _pareto(df["revenue"].to_numpy(), g)
    df["revenue_share"], df["revenue_cum_share"] = share, cum
    df["abc_revenue"] = _abc(cum, share)
    if gp is not None:
        share, cum = _pareto(df["gross_profit"].to_numpy(), g)
        df["profit_share"], df["profit_cum_share"] = share, cum
        df["abc_profit"] = _abc(cum, share)
    else:
        df["profit_share"] = df["profit_cum_share"] = np.nan
        df["abc_profit"] = None
    cv = df["revenue_cv"].to_numpy()
    df["xyz_class"] = np.where(np.isnan(cv), None,
                               np.where(cv <= XYZ_CUTS[0], "X", np.where(cv <= XYZ_CUTS[1], "Y", "Z")))
    df["r_score"] = _quintile_score(df["recency"].fillna(T).to_numpy(), g, higher_is_better=False)
    df["f_score"] = (_quintile_score(df["orders"].to_numpy(), g) if orders is not None else np.nan)
    df["m_score"] = _quintile_score(df["revenue"].to_numpy(), g)

    # client attributes
    attrs = [a for a in ATTRIBUTES if a in clients.columns]
    cl = clients.drop_duplicates("client_id").set_index("client_id")[attrs]
    cl = cl.reindex(df["client_id"])
    for a in ATTRIBUTES:
        if a in attrs:
            df[a] = cl[a].to_numpy()
        else:
            df[a] = np.nan if a in ("founded_year", "brand_score", "innovation_score") else None
    if "founded_year" in attrs:
        year = pd.Series(periods).str.slice(0, 4).astype(int).to_numpy()[ti]
        fy = pd.to_numeric(df["founded_year"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        df["client_age"] = year - fy
        df["founded_year"] = fy
    else:
        df["client_age"] = np.nan
    for a in ("brand_score", "innovation_score"):
        df[a] = pd.to_numeric(df[a], errors="coerce").astype(float)
    if "is_reference" in attrs:
        df["is_reference"] = df["is_reference"].astype("boolean")
    cols = ["client_id", "portfolio", "period", "period_index", "complete", *FEATURES]
    return df[cols]  # ordered by client_id, then period


def available(features: pd.DataFrame) -> dict[str, bool]:
    """Which features carry any value in the data (False: its source is absent)."""
    return {f: bool(f in features.columns and features[f].notna().any()) for f in FEATURES}
