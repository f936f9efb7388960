"""Portfolio × period exposures to each kind of key client, and the outcomes after the window.

docs/methods.md ("Statistics") defines both; this module follows it literally:

- **Exposure** of portfolio p at period t to category k, over the window t-W … t-1, with
  membership read at t-1 (a membership at t-1 is decided over t-W … t-1, so nothing from period
  t or later enters the exposure): the revenue share of k's members (``share_<k>``, the default),
  their share of the window's active clients (``count_share_<k>``) and whether any member was
  active (``presence_<k>``). The size control is the log of the portfolio's revenue over the
  same window (``log_window_revenue``).
- **Outcomes** at lag h (``<outcome>_h<h>``) use periods t … t+h only: growth outcomes compare
  t+h with t+h-1, level outcomes are measured in t+h-1. No outcome reads a period inside the
  exposure window, so the window's own highs and lows are not part of the outcome. Regression to
  the mean can still reach an outcome through a portfolio's dynamics (a strong window followed by
  a weaker level), which the size control and the fixed effects absorb only in part: the null
  worlds of :mod:`analysis.report.method_check` measure what is left rather than assume it away.
- **The other clients.** Outcomes about a kind's own behaviour (new-product share outside
  ``advanced``, claims outside ``demanding``) are measured on the clients with no signal of the
  kind at t-1 (no condition of its rule holds: ``<k>_any_signal`` of
  :func:`analysis.categories.rules.classify_variants`), and the exposure paired with such an outcome
  comes from the kind's rule without the conditions that read the outcome's own signal
  (``share_<k>_without_<outcome>``). Otherwise the rule selects clients on the outcome (lucky
  highs revert afterwards) and its missed members stay among "the others". Without ``variants``
  the older construction is used (outside = not a member at t-1) and ``attrs["notes"]`` says so.
  Every numeric KPI column the user brings becomes a level outcome.

Everything is computed on dense (client × period) arrays: the panel is small after aggregation,
and the simulation tests call these functions hundreds of times.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

import numpy as np
import pandas as pd

from analysis import registry
from analysis.errors import InputError
from analysis.ingest.periods import period_axis

#: Exposure measures: column prefix → (English, Russian) description.
EXPOSURES: dict[str, tuple[str, str]] = {
    "share": ("revenue share of the category's clients over the window t-W … t-1",
              "доля выручки клиентов категории за окно t-W … t-1"),
    "count_share": ("share of the window's active clients who are in the category",
                    "доля клиентов категории среди клиентов, покупавших в окне"),
    "presence": ("1 when at least one client of the category bought in the window, else 0",
                 "1, если в окне покупал хотя бы один клиент категории, иначе 0"),
}
SIZE_CONTROL = "log_window_revenue"
LAGS = (1, 2, 3, 4)


def outcome_column(outcome: str, lag: int) -> str:
    """Column name of ``outcome`` at lag ``lag`` in :func:`portfolio_panel`
    (``revenue_growth_h1``)."""
    return f"{outcome}_h{lag}"


def exposure_column(category: str, measure: str = "share") -> str:
    """Column name of a category's exposure (``share_image``, ``count_share_image``,
    ``presence_image``)."""
    if measure not in EXPOSURES:
        raise InputError(f"The value for `measure` must be one of {list(EXPOSURES)}, but "
                         f"{measure!r} was passed.")
    return f"{measure}_{category}"


def outcome_kind(outcome: str) -> str:
    """``growth`` (measured between t+h-1 and t+h) or ``level`` (measured in t+h-1): the outcome's
    ``family`` in the registry; a KPI column the registry does not know is a level."""
    return registry.current().family(outcome)


# ---------------------------------------------------------------------------------------------
# dense arrays


class PortfolioClientGrid:
    """The client × period panel as dense (clients × periods) arrays on one period axis, one row
    per client *within a portfolio* (``client_id``, ``portfolio``): a client that moved counts in
    each portfolio for the periods it sat there, so a portfolio's sums hold only what its own
    clients bought. Not :class:`analysis.categories.features` ``_ClientWindowGrid`` (one row per
    client wherever it sits, period-major, for a client's own features over its window) nor
    :class:`analysis.growth.fits.PortfolioArrays` (the portfolio × period analysis panel)."""

    def __init__(self, panel: pd.DataFrame, periods: list[str]):
        need = ["client_id", "portfolio", "period", "revenue"]
        missing = [c for c in need if c not in panel.columns]
        if missing:
            raise InputError(f"the client × period panel has no column(s) {missing}; build it with "
                             "analysis.ingest.panel.client_period_panel")
        keys = panel[["client_id", "portfolio"]].astype(str)
        self.clients = pd.MultiIndex.from_frame(keys).unique().sort_values()
        self.periods = periods
        self.T = len(periods)
        ci = self.clients.get_indexer(pd.MultiIndex.from_frame(keys))
        si = pd.Index(periods).get_indexer(panel["period"].astype(str))
        if (si < 0).any():
            raise InputError(f"panel periods {sorted(set(panel['period'][si < 0]))[:3]} do not fit "
                             f"one frequency")
        self.ci, self.si = ci, si
        self.portfolios = pd.Index(sorted(self.clients.get_level_values("portfolio").unique()))
        self.pc = self.portfolios.get_indexer(self.clients.get_level_values("portfolio"))
        self.P, self.C = len(self.portfolios), len(self.clients)
        self.panel = panel

    def matrix(self, column: str) -> np.ndarray:
        """(clients × periods) array of a panel column, 0 where a client has no row; all NaN
        when the column is absent or empty."""
        if column not in self.panel.columns or self.panel[column].isna().all():
            return np.full((self.C, self.T), np.nan)
        out = np.zeros((self.C, self.T))
        vals = pd.to_numeric(self.panel[column], errors="coerce").to_numpy(dtype=float)
        np.add.at(out, (self.ci, self.si), np.nan_to_num(vals, nan=0.0))
        return out

    def by_portfolio(self, x: np.ndarray) -> np.ndarray:
        """Sum a (clients × periods) array within portfolios → (portfolios × periods)."""
        out = np.zeros((self.P, x.shape[1]))
        np.add.at(out, self.pc, x)
        return out

    def membership(self, membership: pd.DataFrame,
                   categories: Sequence[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per category: (member, known) boolean (clients × periods) arrays; NA counts as not a
        member."""
        need = ["client_id", "period", "category", "member"]
        missing = [c for c in need if c not in membership.columns]
        if missing:
            raise InputError(f"the membership table has no column(s) {missing}; it needs "
                             "client_id, portfolio, period, category, member (as "
                             "analysis.categories.rules.classify writes)")
        m = membership[membership["category"].isin(list(categories))]
        if "portfolio" in m.columns:
            ci = _positions(self.clients, m["client_id"], m["portfolio"])
        else:
            ci = _positions(pd.Index(self.clients.get_level_values("client_id")), m["client_id"])
        si = _positions(pd.Index(self.periods), m["period"])
        ok = (ci >= 0) & (si >= 0)
        flag = m["member"].astype("boolean")
        known = flag.notna().to_numpy()
        isin = flag.fillna(False).to_numpy(dtype=bool)
        cat_codes, cat_names = pd.factorize(m["category"])
        cat = np.asarray(cat_names.astype(str), dtype=object)[cat_codes] if len(m) \
            else np.array([], dtype=object)
        out = {}
        for k in categories:
            sel = ok & (cat == k)
            mem = np.zeros((self.C, self.T), bool)
            kn = np.zeros((self.C, self.T), bool)
            mem[ci[sel], si[sel]] = isin[sel]
            kn[ci[sel], si[sel]] = known[sel]
            out[k] = (mem, kn)
        return out


def _positions(index: pd.Index, *columns: pd.Series) -> np.ndarray:
    """Position in ``index`` of each row's key (the columns read as text; -1 where absent).

    The keys are looked up once per distinct key, not once per row: a membership table repeats
    each client × period once per kind, and its key columns are categoricals.
    """
    codes, uniques = [], []
    for col in columns:
        c, u = pd.factorize(col)
        codes.append(c.astype(np.int64))
        uniques.append(pd.Index(u).astype(str))
    if not len(codes[0]):
        return np.zeros(0, dtype=np.intp)
    key = codes[0]
    for c, u in zip(codes[1:], uniques[1:]):
        key = key * (len(u) + 1) + (c + 1)  # -1 (missing) becomes a code of its own
    distinct, inverse = np.unique(key, return_inverse=True)
    if len(columns) == 1:
        firsts = [distinct]
    else:
        firsts, rest = [], distinct
        for u in reversed(uniques[1:]):
            firsts.insert(0, rest % (len(u) + 1) - 1)
            rest = rest // (len(u) + 1)
        firsts.insert(0, rest)
    parts = [np.asarray(u, dtype=object)[np.where(f >= 0, f, 0)] for f, u in zip(firsts, uniques)]
    missing = np.zeros(len(distinct), dtype=bool)
    for f in firsts:
        missing |= f < 0
    keys = pd.MultiIndex.from_arrays(parts) if len(parts) > 1 else pd.Index(parts[0])
    pos = np.where(missing, -1, index.get_indexer(keys))
    return pos[inverse]


def window_sum(x: np.ndarray, window: int) -> np.ndarray:
    """Column t: the sum of columns t-W … t-1 (NaN for t < W)."""
    c = np.concatenate([np.zeros((x.shape[0], 1)), np.cumsum(x, axis=1)], axis=1)
    out = np.full(x.shape, np.nan)
    if x.shape[1] > window:
        out[:, window:] = c[:, window:-1] - c[:, : x.shape[1] - window]
    return out


def shift_left(x: np.ndarray, k: int) -> np.ndarray:
    """Column t takes column t+k (NaN past the end); k may be 0."""
    out = np.full(x.shape, np.nan)
    if k < x.shape[1]:
        out[:, : x.shape[1] - k] = x[:, k:]
    return out


def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / den, np.nan)


def log_positive(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > 0, np.log(np.where(x > 0, x, 1.0)), np.nan)


class PeriodArrays:
    """What an outcome's ``compute`` reads (:mod:`analysis.registry`): the client × period panel
    as dense (clients × periods) arrays on one period axis, the trailing window's revenue and
    active clients, and each kind's membership at t-1 (the exposure of column t).

    A ``compute(arrays, h)`` returns a (portfolios × periods) array whose column t holds the
    outcome at lag h (growth outcomes from t+h-1 to t+h, level outcomes in t+h-1; NaN past the
    data), or None when the data lack what it needs — after putting the reason in ``missing``.
    """

    def __init__(self, grid: PortfolioClientGrid, window: int,
                 prev: dict[str, tuple[np.ndarray, np.ndarray]],
                 signal_of: dict[str, str]):
        self.grid, self.W, self.T, self.P, self.C = grid, window, grid.T, grid.P, grid.C
        self.panel = grid.panel
        #: kind or rule-variant id → (member at t-1, membership known at t-1), clients × periods
        self.prev = prev
        #: kind → its ``<k>_any_signal`` variant id (who has any signal of the kind)
        self.signal_of = signal_of
        #: outcome → ``no_signal`` / ``not_member``: who "the other clients" were
        self.others: dict[str, str] = {}
        #: outcome → why it could not be computed
        self.missing: dict[str, str] = {}
        self.rev = grid.matrix("revenue")
        self.active = self.rev > 0
        self.win_rev_c = window_sum(self.rev, window)  # client revenue over t-W … t-1
        self.win_act_c = window_sum(self.active.astype(float), window) > 0  # active in the window
        self.win_rev = grid.by_portfolio(np.nan_to_num(self.win_rev_c))
        self.win_n = grid.by_portfolio(self.win_act_c.astype(float))

    def has(self, column: str) -> bool:
        """Whether the panel has ``column`` with at least one value."""
        return column in self.panel.columns and bool(self.panel[column].notna().any())

    def matrix(self, column: str) -> np.ndarray:
        return self.grid.matrix(column)

    def by_portfolio(self, x: np.ndarray) -> np.ndarray:
        return self.grid.by_portfolio(x)

    @cached_property
    def growth(self) -> np.ndarray:
        """Column s: log R(s) - log R(s-1) of each portfolio's revenue."""
        g = np.full((self.P, self.T), np.nan)
        g[:, 1:] = np.diff(log_positive(self.by_portfolio(self.rev)), axis=1)
        return g

    @cached_property
    def new(self) -> np.ndarray:
        """(clients × periods) True in the client's first period with revenue."""
        first = np.where(self.active.any(axis=1), self.active.argmax(axis=1), -1)
        new = np.zeros((self.C, self.T), bool)
        has = first >= 0
        new[np.flatnonzero(has), first[has]] = True
        return new

    def outside_ratio(self, outcome: str, available: bool, num: np.ndarray, den: np.ndarray,
                      scale: float,
                      h: int) -> np.ndarray | None:
        """``scale`` × Σ num / Σ den in t+h-1 over the clients outside the outcome's kind at t-1:
        with no signal of the kind (its ``<k>_any_signal`` variant) when given, else not members.
        ``available``: whether the data have the columns of ``num`` and ``den``."""
        k = registry.current().outcomes[outcome].outside
        if k not in self.prev or not available:
            self.missing[outcome] = ("no such column in the data" if k in self.prev else
                                     f"no membership of `{k}` to tell who is outside it")
            return None
        if k in self.signal_of:  # the others: no condition of k's rule holds at t-1
            m1, kn1 = self.prev[self.signal_of[k]]
            self.others[outcome] = "no_signal"
        else:
            m1, kn1 = self.prev[k]
            self.others[outcome] = "not_member"
        T = self.T
        known_p = self.by_portfolio(kn1.astype(float)) > 0
        outside = ~m1
        num_s = shift_left(np.nan_to_num(num), h - 1)
        den_s = shift_left(np.nan_to_num(den), h - 1)
        val = scale * ratio(self.by_portfolio(np.where(outside, num_s, 0.0)),
                            self.by_portfolio(np.where(outside, den_s, 0.0)))
        val[:, T - (h - 1):] = np.nan
        return np.where(known_p, val, np.nan)


# ---------------------------------------------------------------------------------------------
# the outcomes of the registry (resources/registry.yaml names these as `compute`)


def revenue_growth_at(x: PeriodArrays, h: int) -> np.ndarray:
    """log R(t+h) - log R(t+h-1) of the portfolio's revenue."""
    return shift_left(x.growth, h)


def profit_growth_at(x: PeriodArrays, h: int) -> np.ndarray | None:
    """log GP(t+h) - log GP(t+h-1) of the portfolio's gross profit."""
    if not x.has("gross_profit"):
        x.missing["profit_growth"] = "no cost or gross profit in the data"
        return None
    gp = np.full((x.P, x.T), np.nan)
    gp[:, 1:] = np.diff(log_positive(x.by_portfolio(x.matrix("gross_profit"))), axis=1)
    return shift_left(gp, h)


def revenue_volatility_at(x: PeriodArrays, h: int) -> np.ndarray:
    """|revenue growth at lag h - the portfolio's mean growth|."""
    g = x.growth
    with np.errstate(invalid="ignore"):
        mean_g = np.nanmean(np.where(np.isfinite(g), g, np.nan), axis=1, keepdims=True)
    return shift_left(np.abs(g - mean_g), h)


def new_clients_at(x: PeriodArrays, h: int) -> np.ndarray:
    """Clients buying for the first time in t+h-1 per 100 clients active in the window."""
    return 100 * ratio(shift_left(x.by_portfolio(x.new.astype(float)), h - 1), x.win_n)


def new_client_size_at(x: PeriodArrays, h: int) -> np.ndarray:
    """Log mean revenue in t+h-1 of the clients new in that period."""
    new_n = x.by_portfolio(x.new.astype(float))
    new_rev = x.by_portfolio(np.where(x.new, x.rev, 0.0))
    return shift_left(log_positive(ratio(new_rev, new_n)), h - 1)


def retention_at(x: PeriodArrays, h: int) -> np.ndarray:
    """Share of the window's active clients (t-W … t-1) still buying in t+h-1."""
    T = x.T
    kept = np.zeros((x.C, T))
    kept[:, : T - (h - 1)] = (x.win_act_c[:, : T - (h - 1)] & x.active[:, h - 1:]).astype(float)
    ret = ratio(x.by_portfolio(kept), x.win_n)
    ret[:, T - (h - 1):] = np.nan
    return ret


def new_product_share_at(x: PeriodArrays, h: int) -> np.ndarray | None:
    """New-product share of revenue in t+h-1 from the clients outside ``advanced``."""
    return x.outside_ratio("new_product_share", x.has("new_product_revenue"),
                           x.matrix("new_product_revenue"),
                           x.rev, 1.0, h)


def claims_rate_at(x: PeriodArrays, h: int) -> np.ndarray | None:
    """Claims per 100 orders in t+h-1 from the clients outside ``demanding``."""
    available = "claim" in x.panel.columns and "orders" in x.panel.columns
    return x.outside_ratio("claims_rate", available, x.matrix("claim"), x.matrix("orders"),
                           100.0, h)


# ---------------------------------------------------------------------------------------------
# public API


def portfolio_panel(
    panel: pd.DataFrame,
    membership: pd.DataFrame,
    *,
    window: int = 4,
    kpis: pd.DataFrame | None = None,
    lags: Sequence[int] = LAGS,
    categories: Sequence[str] | None = None,
    variants: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The analysis panel: one row per portfolio and exposure period t, exposures and outcomes.

    Parameters
    ----------
    panel : pandas.DataFrame
        Client × period panel (:func:`analysis.ingest.panel.client_period_panel`): ``client_id,
        portfolio, period, revenue`` and, when present, ``gross_profit, orders,
        new_product_revenue, claim``.
    membership : pandas.DataFrame
        Membership table (``client_id, portfolio, period, category, member``), membership at
        period s decided over s-W+1 … s (:func:`analysis.categories.rules.classify`). ``member`` NA
        (short history, not computable) counts as "not a member"; a category with no known
        membership in a portfolio's period t-1 gets NaN exposures there.
    window : int
        W, periods in the exposure window (default 4 quarters; 12 for months).
    kpis : pandas.DataFrame, optional
        ``period`` [, ``portfolio``] and numeric KPI columns; each becomes a level outcome. Without
        ``portfolio`` a KPI applies to every portfolio.
    lags : sequence of int
        Lags h of the outcomes (default 1–4).
    categories : sequence of str, optional
        Categories to build exposures for (default: those in ``membership``, in the order of
        the registry, :mod:`analysis.registry`).
    variants : pandas.DataFrame, optional
        :func:`analysis.categories.rules.classify_variants`: the rule variants without the
        conditions that read an outcome's own signal (they get exposure columns of their own,
        ``share_<k>_without_<outcome>``) and each kind's ``<k>_any_signal`` (the clients left out
        of "the others"). Without it, "the others" are the non-members at t-1 (older, biased
        construction; noted in ``attrs["notes"]``).

    Returns
    -------
    pandas.DataFrame
        One row per portfolio and period t with a complete window (t ≥ W), sorted:

        - ``portfolio``, ``period`` (t, the first period after the window).
        - ``window_revenue``, ``log_window_revenue`` (the size control), ``window_clients``
          (clients with revenue in the window).
        - ``share_<k>``, ``count_share_<k>``, ``presence_<k>`` for every category k.
        - the same three for every rule variant ``<k>_without_<outcome>`` in ``variants``.
        - ``<outcome>_h<h>`` for every outcome of the registry that the data allow and every
          numeric KPI column, h in ``lags``; NaN where the period t+h is past the data or the
          outcome is undefined (e.g. no new client in that period for ``new_client_size``).

        ``DataFrame.attrs``: ``window``, ``lags``, ``categories``, ``outcomes`` (ids present),
        ``notes`` (what could not be computed and why), ``variants`` (``{outcome: {category:
        variant id}}``: which exposure a model of that outcome uses for the category),
        ``variant_rules`` (``{variant id: features dropped}``), ``others`` (``{outcome: group}``,
        ``no_signal`` or ``not_member``: who "the others" were).

    Examples
    --------
    >>> from analysis.config import SAMPLE_DIR
    >>> from analysis.ingest import load
    >>> from analysis.ingest.panel import client_period_panel
    >>> from analysis.categories.rules import classify
    >>> base = load(SAMPLE_DIR)
    >>> cp = client_period_panel(base)
    >>> membership = classify(cp, base.clients, kpis=base.kpis, events=base.events,
    ...                       transactions=base.transactions)
    >>> pp = portfolio_panel(cp, membership, kpis=base.kpis)
    >>> pp[["share_key_revenue", "revenue_growth_h1"]].notna().any().all()
    np.True_
    """
    if not isinstance(window, (int, np.integer)) or window < 1:
        raise InputError(f"`window` must be a whole number of periods ≥ 1, got {window!r}")
    lags = [int(h) for h in lags]
    if not lags or min(lags) < 1:
        raise InputError(f"`lags` must be whole numbers ≥ 1, got {lags!r}")
    reg = registry.current()
    present = {str(c) for c in membership["category"].unique()}
    kinds = reg.kind_ids()
    cats = list(categories) if categories is not None else (
        [k for k in kinds if k in present] + sorted(present - set(kinds)))
    periods = period_axis(panel["period"].unique())
    grid = PortfolioClientGrid(panel, periods)
    mem, vinfo = _memberships(grid, membership, cats, variants)
    var_cats = [c for c in vinfo if c in mem and vinfo[c].get("outcome")]
    sig_of = {vinfo[c]["category"]: c for c in vinfo if c in mem and not vinfo[c].get("outcome")}
    # membership at t-1 → exposure at t
    prev = {k: (np.roll(m, 1, axis=1), np.roll(kn, 1, axis=1)) for k, (m, kn) in mem.items()}
    x = PeriodArrays(grid, window, prev, sig_of)
    notes: list[str] = []
    cols: dict[str, np.ndarray] = {
        "window_revenue": x.win_rev,
        SIZE_CONTROL: log_positive(x.win_rev),
        "window_clients": x.win_n,
    }
    cols.update(_exposure_columns(x, cats + var_cats, notes))
    out_cols, outcomes = _panel_outcomes(x, lags, notes)
    var_map: dict[str, dict[str, str]] = {}
    for c in var_cats:
        var_map.setdefault(vinfo[c]["outcome"], {})[vinfo[c]["category"]] = c
    if kpis is not None and len(kpis):
        kpi_cols, kpi_names = _kpi_outcomes(kpis, grid, lags)
        out_cols.update(kpi_cols)
        outcomes += kpi_names
    cols.update(out_cols)
    frame = _frame(grid, cols, window)
    frame.attrs.update(window=window, lags=lags, categories=cats, outcomes=outcomes, notes=notes,
                       variants=var_map,
                       variant_rules={c: list(vinfo[c].get("dropped", [])) for c in var_cats},
                       others=x.others)
    return frame


def _memberships(grid: PortfolioClientGrid, membership: pd.DataFrame, cats: list[str],
                 variants: pd.DataFrame | None
                 ) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict[str, dict]]:
    """Membership arrays of the kinds and of the rule variants, and what each variant is."""
    mem = grid.membership(membership, cats)
    vinfo = dict(variants.attrs.get("variants", {})) if variants is not None else {}
    if variants is not None and len(variants):
        present_v = [str(c) for c in pd.unique(variants["category"])]
        # ids tell what each is when attrs were lost (e.g. a Parquet round trip)
        for c in present_v:
            if c.endswith("_any_signal"):
                vinfo.setdefault(c, {"category": c[: -len("_any_signal")], "outcome": "",
                                     "dropped": []})
            elif "_without_" in c:
                k, o = c.split("_without_", 1)
                vinfo.setdefault(c, {"category": k, "outcome": o, "dropped": []})
        mem.update(grid.membership(variants, present_v))
    return mem, vinfo


def _exposure_columns(x: PeriodArrays, kinds: list[str], notes: list[str]) -> dict[str, np.ndarray]:
    """``share_<k>``, ``count_share_<k>``, ``presence_<k>`` of every kind and variant."""
    cols: dict[str, np.ndarray] = {}
    for k in kinds:
        m1, kn1 = x.prev[k]
        m1[:, 0] = False
        kn1[:, 0] = False
        known_p = x.by_portfolio(kn1.astype(float)) > 0
        in_rev = x.by_portfolio(np.where(m1, np.nan_to_num(x.win_rev_c), 0.0))
        in_n = x.by_portfolio((m1 & x.win_act_c).astype(float))
        cols[exposure_column(k, "share")] = np.where(known_p, ratio(in_rev, x.win_rev), np.nan)
        cols[exposure_column(k, "count_share")] = np.where(known_p, ratio(in_n, x.win_n), np.nan)
        cols[exposure_column(k, "presence")] = np.where(known_p & (x.win_n > 0),
                                                        (in_n > 0).astype(float), np.nan)
        if not known_p[:, x.W:].any():
            notes.append(
                f"{k}: no known membership (not computable or short history); exposures are empty")
    return cols


def _column_order(outcome: registry.Outcome) -> int:
    """Columns of one lag: growth outcomes, then levels over all clients, then levels over the
    other clients (each group in registry order)."""
    return 0 if outcome.family == "growth" else 2 if outcome.outside else 1


def _panel_outcomes(x: PeriodArrays, lags: list[int],
                    notes: list[str]) -> tuple[dict[str, np.ndarray], list[str]]:
    """Every panel outcome of the registry at every lag (``<outcome>_h<h>``) and the ids computed;
    ``notes`` gets what could not be computed and why."""
    reg = registry.current()
    panel_outs = [reg.outcomes[o] for o in reg.panel_outcomes()]
    out_cols: dict[str, np.ndarray] = {}
    for h in lags:
        for po in sorted(panel_outs, key=_column_order):
            compute = po.compute_function()
            assert compute is not None, "registry.load gives every panel outcome its compute"
            value = compute(x, h)
            if value is not None:
                out_cols[outcome_column(po.id, h)] = value
    outcomes = [po.id for po in panel_outs if outcome_column(po.id, lags[0]) in out_cols]
    outside = reg.outside()
    notes.extend(
        f"{o}: {why}" for o, why in x.missing.items() if o not in outside and o not in outcomes)
    for o, grp in x.others.items():
        if grp == "not_member":
            notes.append(f"{o}: measured on the non-members of `{outside[o]}` at t-1 (no rule "
                         f"variants given), "
                         "which selects on the outcome; pass variants=classify_variants(...)")
    for o in outside:
        if o not in outcomes:
            notes.append(f"{o}: not computed ({x.missing.get(o, 'no such column in the data')})")
    return out_cols, outcomes


def _kpi_outcomes(kpis: pd.DataFrame, grid: PortfolioClientGrid,
                  lags: list[int]) -> tuple[dict[str, np.ndarray], list[str]]:
    """Every numeric KPI column as a level outcome: its value in t+h-1."""
    kcols = [c for c in kpis.columns if c not in ("portfolio", "period")
             and pd.api.types.is_numeric_dtype(kpis[c]) and not pd.api.types.is_bool_dtype(kpis[c])]
    si = pd.Index(grid.periods).get_indexer(kpis["period"].astype(str))
    pi = grid.portfolios.get_indexer(kpis["portfolio"].astype(str)) \
        if "portfolio" in kpis.columns else None
    out: dict[str, np.ndarray] = {}
    for c in kcols:
        arr = np.full((grid.P, grid.T), np.nan)
        vals = kpis[c].to_numpy(dtype=float)
        if pi is None:
            ok = si >= 0
            arr[:, si[ok]] = vals[ok][None, :]
        else:
            ok = (si >= 0) & (pi >= 0)
            arr[pi[ok], si[ok]] = vals[ok]
        for h in lags:
            out[outcome_column(c, h)] = shift_left(arr, h - 1)
    return out, kcols


def _frame(grid: PortfolioClientGrid, cols: dict[str, np.ndarray], window: int) -> pd.DataFrame:
    """One row per portfolio and period t ≥ W with revenue in the window."""
    t_idx = np.arange(window, grid.T)
    frame = pd.DataFrame({
        "portfolio": np.repeat(grid.portfolios.to_numpy(dtype=object), len(t_idx)),
        "period": np.tile(np.asarray(grid.periods, dtype=object)[t_idx], grid.P),
    })
    data = {c: v[:, window:].reshape(-1) for c, v in cols.items()}
    frame = pd.concat([frame, pd.DataFrame(data)], axis=1)
    frame["portfolio"] = frame["portfolio"].astype(str)
    frame["period"] = frame["period"].astype(str)
    return frame[frame["window_revenue"] > 0].reset_index(drop=True)


def exposures(panel: pd.DataFrame, membership: pd.DataFrame, *, window: int = 4) -> pd.DataFrame:
    """Exposures in long format: one row per category, portfolio and period t.

    Returns
    -------
    pandas.DataFrame
        ``portfolio, period, category, share, count_share, presence, window_revenue,
        log_window_revenue`` (see :func:`portfolio_panel`), and ``exposure`` (= ``share``, the
        name the first-look notebook uses).
    """
    wide = portfolio_panel(panel, membership, window=window, lags=[1])
    rows = []
    for k in wide.attrs["categories"]:
        part = wide[["portfolio", "period", "window_revenue", SIZE_CONTROL]].copy()
        part.insert(2, "category", k)
        for m in EXPOSURES:
            part[m] = wide[exposure_column(k, m)]
        rows.append(part)
    cols = ["portfolio", "period", "category", *EXPOSURES, "window_revenue", SIZE_CONTROL]
    out = pd.concat(rows, ignore_index=True)[cols]
    out["exposure"] = out["share"]
    return out


def revenue_growth(panel: pd.DataFrame, *, lag: int = 1) -> pd.DataFrame:
    """``revenue_growth`` at lag h in long format: ``portfolio, period, outcome, lag, value``
    (``period`` is the exposure period t; value log R(t+h) - log R(t+h-1)). A shortcut for the
    first-look notebook; :func:`portfolio_panel` has every outcome."""
    none = pd.DataFrame({"client_id": pd.Series(dtype=str), "period": pd.Series(dtype=str),
                         "category": pd.Series(dtype=str), "member": pd.Series(dtype="boolean")})
    wide = portfolio_panel(panel, none, window=1, lags=[lag])
    out = wide[["portfolio", "period"]].copy()
    out["outcome"] = "revenue_growth"
    out["lag"] = lag
    out["value"] = wide[outcome_column("revenue_growth", lag)]
    return out.dropna(subset=["value"]).reset_index(drop=True)


def _at_lag(text: str, h: int) -> str:
    """Put the lag into a description: ``t+h-1`` → ``t+1`` for h = 2, ``t+h`` → ``t+2``."""
    later = f"t+{h - 1}" if h > 1 else "t"
    return text.replace("t+h-1", later).replace("t+h", f"t+{h}")


def codebook(data: pd.DataFrame) -> pd.DataFrame:
    """Every column of a :func:`portfolio_panel` frame explained.

    Returns
    -------
    pandas.DataFrame
        One row per column: ``column``, ``role`` (id, size, exposure, control, outcome),
        ``category``, ``measure``, ``outcome``, ``lag``, ``periods`` (which periods it reads,
        relative to t), ``rule`` (exposures: ``full`` or ``without <features>`` — the rule
        variant that decided the kind), ``group`` (outcomes: whose orders it counts — ``all
        clients``, or for an outcome on "the other clients" ``no <k> signal at t-1`` /
        ``not <k> at t-1``), ``used_for`` (exposures: the outcomes whose models use the column),
        ``description_en``, ``description_ru``.
    """
    W = data.attrs.get("window", "W")
    reg = registry.current()
    outside = reg.outside()
    rows = []
    cats = data.attrs.get("categories") or [
        c[len("share_"):] for c in data.columns if c.startswith("share_")]
    vrules = dict(data.attrs.get("variant_rules") or {})
    var_map = dict(data.attrs.get("variants") or {})
    others = dict(data.attrs.get("others") or {})
    base_of = {v: (k, o) for o, d in var_map.items() for k, v in d.items()}
    replaced = {(k, o) for o, d in var_map.items() for k in d}
    outs = list(data.attrs.get("outcomes") or [])
    fixed = {
        "portfolio": ("id", "the portfolio (supplier unit)", "портфель (подразделение поставщика)",
                      ""),
        "period": ("id", "t: the first period after the exposure window",
                   "t: первый период после окна", "t"),
        "window_revenue": ("size", "portfolio revenue over the window", "выручка портфеля за окно",
                           f"t-{W} … t-1"),
        SIZE_CONTROL: ("control", "log portfolio revenue over the window (the size control)",
                       "логарифм выручки портфеля за окно (контроль размера)", f"t-{W} … t-1"),
        "window_clients": ("size", "clients with revenue in the window",
                           "клиенты с выручкой в окне", f"t-{W} … t-1"),
    }
    for col in data.columns:
        row = {"column": col, "role": "", "category": "", "measure": "", "outcome": "",
               "lag": np.nan,
               "periods": "", "rule": "", "group": "", "used_for": "", "description_en": "",
               "description_ru": ""}
        if col in fixed:
            role, en, ru, per = fixed[col]
            row.update(role=role, description_en=en, description_ru=ru, periods=per)
        else:
            hit = False
            for m, (en, ru) in EXPOSURES.items():
                for k in [*cats, *vrules]:
                    if col == exposure_column(k, m):
                        if k in base_of:
                            kind, o = base_of[k]
                            drop = ", ".join(vrules.get(k, []))
                            row.update(rule=f"without {drop}", used_for=o,
                                       description_en=f"{kind} (rule without {drop}, for {o}): "
                                                      f"{en}; membership at t-1",
                                       description_ru=f"{kind} (правило без {drop}, для {o}): "
                                                      f"{ru}; принадлежность на t-1")
                            k_show = kind
                        else:
                            row.update(rule="full",
                                       used_for=", ".join(o for o in outs if (k,
                                                                              o) not in replaced),
                                       description_en=f"{k}: {en}; membership at t-1",
                                       description_ru=f"{k}: {ru}; принадлежность на t-1")
                            k_show = k
                        row.update(role="exposure", category=k_show, measure=m,
                                   periods=f"t-{W} … t-1")
                        hit = True
            if not hit and "_h" in col:
                o, _, h = col.rpartition("_h")
                if h.isdigit():
                    h = int(h)
                    growth = outcome_kind(o) == "growth"
                    known = reg.outcomes.get(o)
                    en = known.description.en if known else f"KPI {o} in t+h-1"
                    ru = known.description.ru if known else f"показатель {o} в периоде t+h-1"
                    per = f"t+{h - 1} … t+{h}" if growth else f"t+{h - 1}"
                    grp = others.get(o)
                    group = (f"no {outside[o]} signal at t-1" if grp == "no_signal" else
                             f"not {outside[o]} at t-1" if grp == "not_member" else "all clients")
                    row.update(role="outcome", outcome=o, lag=h, periods=per.replace("t+0", "t"),
                               group=group,
                               description_en=_at_lag(en, h).replace("lag h", f"lag {h}"),
                               description_ru=_at_lag(ru, h).replace("лагом h", f"лагом {h}"))
        rows.append(row)
    out = pd.DataFrame(rows)
    out["description_en"] = out["description_en"].str.replace("t+0", "t", regex=False)
    out["description_ru"] = out["description_ru"].str.replace("t+0", "t", regex=False)
    return out
