"""The planner: what these data can test, per hypothesis and design, and what would make the rest
testable.

Before any test, for every confirmatory hypothesis and every design that could test it —

- ``portfolio_panel``: the portfolios of the data, portfolio and period effects, SEs clustered by
  portfolio (df = G - 1);
- ``sub_portfolios``: the company split by its own units (account managers, regions, branches,
  channels) into a panel of the same model;
- ``one_portfolio``: the company as one series (ADL with its own lag; at least 8 usable periods);
- ``client``: client-level links (:mod:`analysis.growth.client_links`; period effects, SEs clustered
by
  client) for the hypotheses declared with ``level: client`` —

it counts the usable rows, units (G) and periods (T) and computes the design's MDE (Holm over the
hypothesis family: m = the number of hypotheses at that level).

- **Panels of the data's own units** (``portfolio_panel``, and ``sub_portfolios`` when the panel is
  cut by that column): the MDE of the default test (CV3, t(G-1)) on the data's own design — its
  exposures, size control, fixed effects and clusters, no outcome read — by simulation
  (:func:`analysis.stats.power.cluster_design_mde`, ``mde_method`` ``cv3_design``): the effect the
  test finds with 80 % power when the errors are independent. With few units this is far above the
  independent-rows formula (one company, 8 managers, 36 months: 0.46–0.73 SD against 0.33), which is
  kept beside it (``mde_independent``).
- **Other designs** (a unit column the panel is not cut by, the company as one series, client
  level): the formula :func:`analysis.stats.power.design_mde` (``mde_method`` ``independent_rows``),
  which assumes independent rows after the fixed effects — a lower bound.

Whether a panel design can be tested at all is the confirmatory test's own decision, asked of it on
the design with a noise outcome (:func:`design_probe`, :func:`test_decision`): where it refuses, the
row is ``not_testable`` with the test's reason (``test_reason``) and the fewest units and periods
from which it would test (``testable_units``, ``testable_periods``) — no threshold of the test is
copied.

Where a design cannot test a hypothesis, or its MDE is more than twice ``min_effect``, the planner
says why and what would bring the MDE down to ``min_effect``: how many periods (at this number of
units), how many units (at this number of periods), and what monthly periods would give. For a
``cv3_design`` row these scale the formula by the design effect measured on the data (simulated MDE
/ formula MDE), an approximation that errs on the side of asking for more data (CV3's penalty
shrinks as G grows).
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analysis import registry
from analysis.config import FREQUENCIES
from analysis.growth import client_links
from analysis.growth.fits import MIN_PERIODS, model_exposures, usable_exposures
from analysis.growth.panel import (
    SIZE_CONTROL,
    outcome_column,
    outcome_kind,
    portfolio_panel,
)
from analysis.growth.spec import HypothesesArg, Hypothesis, as_hypothesis_file
from analysis.ingest.periods import period_axis
from analysis.stats.cluster import bootstrap_p_floor
from analysis.stats.power import cluster_design_mde, design_mde

if TYPE_CHECKING:
    from analysis.categories.rules import Rulebook
    from analysis.report.study import Study

DESIGNS = ("portfolio_panel", "sub_portfolios", "one_portfolio", "client")
UNIT_COLUMNS = ("account_manager", "region", "branch", "channel")
MIN_SERIES = MIN_PERIODS["single"]  # usable periods the one-portfolio test needs
MAX_SEARCH = 100_000
STATUSES = ("testable", "weak", "not_testable")

PLAN_COLUMNS = [
    "id", "level", "category", "outcome", "lag", "design", "units", "G", "T", "usable_rows",
    "params", "df", "m", "mde", "mde_method", "mde_independent", "min_effect", "status",
    "periods_needed", "units_needed", "monthly_usable_periods", "reason_en", "reason_ru", "need_en",
    "need_ru", "test_reason", "testable_units", "testable_periods",
]  # fmt: skip
#: Error draws of the simulated CV3 MDE (Monte Carlo SE of the power at the MDE ≈ 0.018).
CV3_SIMS = 500

_UNIT_WORDS = {
    "portfolio": ("portfolios", "портфелей"), "account_manager": ("account managers", "менеджеров"),
    "region": ("regions", "регионов"), "branch": ("branches", "филиалов"),
    "channel": ("channels", "каналов"),
    "client": ("clients", "клиентов"),
}


def infer_freq(labels: Sequence[str]) -> str:
    """``Q``, ``M`` or ``Y`` from period labels (``2024Q1``, ``2024-01``, ``2024``)."""
    first = str(next(iter(labels), ""))
    return "Q" if "Q" in first else "M" if "-" in first else "Y"


def _usable(T: int, window: int, lag: int, kind: str) -> int:
    """Periods t with a full window t-W … t-1 and the outcome at lag h inside the data."""
    last = T - 1 - (lag if kind == "growth" else lag - 1)
    return max(0, last - window + 1)


def _search(f: Callable[[int], float], target: float, start: int) -> int | None:
    """Smallest n ≥ start with f(n) ≤ target (f decreasing), by doubling then bisection."""
    lo, hi = start, max(start, 2)
    while not f(hi) <= target:
        if hi > MAX_SEARCH:
            return None
        lo, hi = hi, hi * 2
    while lo < hi:
        mid = (lo + hi) // 2
        if f(mid) <= target:
            hi = mid
        else:
            lo = mid + 1
    return hi


@functools.lru_cache(maxsize=4096)
def _panel_mde(G: int, t_use: int, k: int, alpha: float, m: int) -> float:
    """Design MDE of the two-way panel: G·T rows pay for G + T - 1 effects and k slopes; df G -
    1."""
    if G < 2 or t_use < 2:
        return math.nan
    mde = design_mde(G * t_use, params=G + t_use - 1 + k, df=G - 1, alpha=alpha, m=m)["mde"]
    return float(mde.iloc[0])


def cv3_design_mde(data: pd.DataFrame, outcome_col: str, exposure_cols: Sequence[str], term: str, *,
                   alpha: float = 0.05, power: float = 0.8, m: int = 1, n_sims: int = CV3_SIMS,
                   seed: int = 0, units: int = 0, periods: int = 0) -> float:
    """MDE (std_effect scale) of the default panel test of ``term`` on the data's own design: the
    rows where ``outcome_col`` is known, ``exposure_cols`` and the size control, portfolio effects
    absorbed within the portfolio clusters and period dummies
    (:func:`analysis.stats.power.cluster_design_mde`; the outcome's values are not read). NaN when
    the design cannot be built or CV3 cannot test it.

    ``units`` > 0: the same design with that many units, each a copy of one of the data's units in
    turn (unit i of the new design is the data's unit i mod G) — "more units like these", the design
    the planner's ``units_needed`` is searched on. ``periods`` > 0: then that many periods, each a
    copy of one of the data's periods with the outcome known in turn (:func:`_period_copies`)."""
    cols = [*exposure_cols, SIZE_CONTROL]
    need = ["portfolio", "period", outcome_col, *cols]
    if term not in exposure_cols or any(c not in data.columns for c in need):
        return math.nan
    d = data[need].dropna()
    if units:
        d = _copies(d, int(units))
    if periods:
        d = _period_copies(d, int(periods))
    if d["portfolio"].nunique() < 2 or d["period"].nunique() < 2 or len(d) <= len(cols) + 2:
        return math.nan
    ent = pd.factorize(d["portfolio"])[0]
    tim = pd.factorize(d["period"], sort=True)[0]
    dummies = (tim[:, None] == np.arange(1, tim.max() + 1)[None, :]).astype(float)
    u = np.hstack([d[cols].to_numpy(dtype=float), dummies])
    means = np.stack([np.bincount(ent, weights=c) for c in u.T], axis=1) / np.bincount(ent)[:, None]
    u = u - means[ent]
    keep = [j for j in range(len(cols)) if u[:, j].std() > 1e-12] \
        + list(range(len(cols), u.shape[1]))
    j = cols.index(term)
    if j not in keep:
        return math.nan
    out = cluster_design_mde(u[:, keep], ent, n_terms=sum(1 for x in keep if x < len(cols)),
                             alpha=alpha,
                             power=power, m=m, n_sims=n_sims, seed=seed)
    return float(out["mde"].iloc[keep.index(j)])


def _repeat_groups(d: pd.DataFrame, col: str, n: int, label: str, *, sort: bool) -> pd.DataFrame:
    """``n`` groups of ``col``, group i a copy of the data's group i mod K (in order of appearance,
    or sorted with ``sort``) labelled ``label.format(i)``, each group's rows in the data's order.
    One ``take`` of the rows (a frame per copy cost the units search most of its time: pandas
    copies the frame's ``attrs`` on every operation)."""
    codes, names = pd.factorize(d[col].astype(str), sort=sort)
    rows_of = [np.flatnonzero(codes == j) for j in range(len(names))]
    take = [rows_of[i % len(names)] for i in range(n)]
    out = d.iloc[np.concatenate(take)].reset_index(drop=True)
    out.attrs = {}
    out[col] = np.repeat(np.array([label.format(i) for i in range(n)], dtype=object),
                         [len(t) for t in take])
    return out


def _copies(d: pd.DataFrame, units: int) -> pd.DataFrame:
    """``units`` units, unit i a copy of the data's unit i mod G (labels ``copy<i>``)."""
    return _repeat_groups(d, "portfolio", units, "copy{}", sort=False)


def _period_copies(d: pd.DataFrame, periods: int) -> pd.DataFrame:
    """``periods`` periods, period j a copy of the data's period j mod T (in time order), labelled
    ``p<j>`` so that they sort in that order — "more periods like these" (exposures' movements
    repeat; the rows of a period stay in the data's order)."""
    return _repeat_groups(d, "period", periods, "p{:06d}", sort=True)


def design_probe(pp: pd.DataFrame, outcome_col: str, *, units: int = 0, periods: int = 0,
                 seed: int = 0) -> pd.DataFrame:
    """The portfolio panel as a design only, for the confirmatory test to decide whether it can
    test: the rows where ``outcome_col`` is known, that column replaced by standard-normal noise
    (the outcome's values are not read), on ``units`` copies of the units (:func:`_copies`) and
    then ``periods`` copies of the periods (:func:`_period_copies`) when given. The panel's
    ``attrs`` (kinds, rule variants) are kept: the test reads them."""
    d = pp[pp[outcome_col].notna()]
    d = d.assign(**{outcome_col: np.random.default_rng(seed).normal(size=len(d))})
    if units:
        d = _copies(d, int(units))
    if periods:
        d = _period_copies(d, int(periods))
    d.attrs = dict(pp.attrs)
    return d


def test_decision(probe: pd.DataFrame, h: Hypothesis) -> pd.Series:
    """The default confirmatory test's own row for hypothesis ``h`` on a :func:`design_probe`
    (:func:`analysis.growth.confirmatory.test_hypotheses`, panel mode): its ``reason_code`` is
    empty where the test tests, else the test's reason (``too_few_rows``,
    ``one_portfolio_identifies``, …) — the planner applies the test's rules by asking it, never a
    copy of its thresholds."""
    from analysis.growth.confirmatory import test_hypotheses

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return test_hypotheses(probe, [h], mode="panel", sentences=False).iloc[0]


test_decision.__test__ = False  # type: ignore[attr-defined]  # pytest reads it; not a test


def _first(ok: Callable[[int], bool], start: int, cap: int,
           hopeless: Callable[[], bool] = lambda: False) -> int | None:
    """Smallest n in [start, cap] with ok(n) (ok monotone), by doubling then bisection; None when
    not even ``cap`` is, or when ``hopeless()`` says after a failed try that no n will be."""
    lo, hi = start - 1, max(start, 1)
    while not ok(hi):
        if hi >= cap or hopeless():
            return None
        lo, hi = hi, min(2 * hi, cap)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi


@functools.lru_cache(maxsize=4096)
def _series_mde(t_use: int, alpha: float, m: int) -> float:
    """Design MDE of the ADL on one series: t_use - 1 rows after the own lag, 3 parameters."""
    if t_use < MIN_SERIES:
        return math.nan
    return float(design_mde(t_use - 1, params=3, alpha=alpha, m=m)["mde"].iloc[0])


@functools.lru_cache(maxsize=4096)
def _client_mde(rows: int, G: int, t_use: int, k: int, alpha: float, m: int) -> float:
    """Design MDE of the default client-level test (one regression per period, the mean slope with
    t(T-1)): each period's rows pay for an intercept and k slopes, so the mean slope's SE is about
    1/sqrt(rows - T(k+1)) when rows are independent; t(T-1) for the size and the power, as the
    results table's MDE (:func:`analysis.growth.client_links.t_mde`). Needs 3 periods with a
    slope."""
    resid = rows - t_use * (k + 1)
    if G < 2 or t_use < 3 or resid < 2:
        return math.nan
    return client_links.t_mde(1 / math.sqrt(resid), t_use - 1, alpha=alpha, m=m)


def plan(
    panel: pd.DataFrame,
    membership: pd.DataFrame,
    *,
    hypotheses: HypothesesArg = None,
    window: int = 4,
    kpis: pd.DataFrame | None = None,
    clients: pd.DataFrame | None = None,
    freq: str | None = None,
    portfolio_by: str = "",
    rulebook: Rulebook | str | Path | None = None,
    variants: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The plan: per hypothesis and design, usable rows, G, T, MDE, and what would make it testable.

    Parameters
    ----------
    panel, membership
        The client × period panel and the membership table (as a report's first pages build them).
    hypotheses
        Hypotheses file, list or path (default: the built-in file, portfolio and client level).
    window
        W, periods in the exposure window.
    kpis
        KPI table (its columns are outcomes too).
    clients
        The clients table (its ``region``, ``branch`` or ``channel`` columns are candidate units).
    freq
        ``Q``, ``M`` or ``Y`` (default: read from the period labels).
    portfolio_by
        The column the panel's portfolios were cut by (``study.Study.units.by``), if any: its
        ``sub_portfolios`` rows are then the panel itself and get the simulated CV3 MDE too.
    rulebook, variants
        As for :func:`analysis.growth.client_links.client_links` (default: the built-in rulebook,
        no variants): a client-level hypothesis whose kind's rule reads the outcome's own signal,
        with no rule variant without it, is not tested there, so it is planned as not testable.

    Returns
    -------
    pandas.DataFrame
        One row per hypothesis and design: ``id, level, category, outcome, lag, design``, ``units``
        (what G counts: portfolio, account_manager, …, client, or ``company`` for one series),
        ``G``, ``T`` (usable periods), ``usable_rows``, ``params`` (fixed effects and slopes the
        rows pay for), ``df``, ``m`` (hypotheses in the Holm family), ``mde`` (design MDE,
        std_effect scale; NaN when not testable), ``mde_method`` (``cv3_design``: simulated for the
        default CV3 test on the data's own design; ``independent_rows``: the formula, a lower
        bound), ``mde_independent`` (the formula's MDE, for comparison), ``min_effect``, ``status``
        (``testable``;
        ``weak``: MDE > 2 × min_effect; ``not_testable``), ``periods_needed`` (periods in all,
        at this G, for an MDE of min_effect), ``units_needed`` (G at this T for that MDE),
        ``monthly_usable_periods`` (quarterly data: usable periods the same span gives in months),
        ``reason_en, reason_ru`` (why not testable or weak; empty when testable),
        ``need_en, need_ru`` (what would make it testable).
    """
    p = _Planner(panel, membership, hypotheses=hypotheses, window=window, kpis=kpis,
                 clients=clients, freq=freq,
                 rulebook=rulebook, variants=variants)
    for h in p.port_h:
        p.portfolio_rows(h, portfolio_by)
    for h in p.client_h:
        p.client_rows(h)
    out = pd.DataFrame(p.rows, columns=PLAN_COLUMNS)
    out.attrs.update(freq=p.freq, window=p.W, periods=p.T_all, portfolios=p.G_port,
                     unit_column=p.unit_col,
                     unit_count=p.G_units, alpha=p.alpha)
    return out


class _Planner:
    """What :func:`plan` reads once (the hypotheses, the periods, the portfolio and client panels,
    the unit column) and the plan's rows, one per hypothesis and design."""

    def __init__(self, panel: pd.DataFrame, membership: pd.DataFrame, *, hypotheses: HypothesesArg,
                 window: int, kpis: pd.DataFrame | None, clients: pd.DataFrame | None,
                 freq: str | None, rulebook: Rulebook | str | Path | None = None,
                 variants: pd.DataFrame | None = None):
        from analysis.categories.rules import Rulebook, load_rulebook

        hf = as_hypothesis_file(hypotheses)
        periods = period_axis(panel["period"].astype(str).unique())
        self.T_all = T_all = len(periods)
        self.freq = freq or infer_freq(periods)
        self.W = W = int(window)
        kinds = set(membership["category"].astype(str))
        self.k = len([c for c in registry.current().kind_ids() if c in kinds]) + 1  # + size control
        known = membership[membership["member"].notna()]
        self.computable = set(known["category"].astype(str))
        self.G_port = int(panel["portfolio"].nunique())
        self.port_h = port_h = [h for h in hf.hypotheses if h.level == "portfolio"]
        self.client_h = client_h = [h for h in hf.hypotheses if h.level == "client"]
        self.m_port, self.m_client = max(1, len(port_h)), max(1, len(client_h))
        self.alpha = hf.alpha
        # outcomes the data allow
        self.pp = pp = portfolio_panel(panel, membership, window=W, kpis=kpis,
                                       lags=sorted({h.lag for h in port_h}) or [1]) \
            if port_h and T_all > W else None
        self.port_outcomes = set(pp.attrs["outcomes"]) if pp is not None else set()
        self.port_notes = " ".join(pp.attrs["notes"]) if pp is not None else ""
        self.cp = client_links.client_panel(panel, membership, window=W,
                                            lags=sorted({h.lag for h in client_h}) or [1],
                                            variants=variants) if client_h and T_all > W else None
        # the features each kind's rule reads (client_links tests a kind picked on the outcome's own
        # signal with its rule variant without it, or not at all)
        book = rulebook if isinstance(rulebook, Rulebook) \
            else load_rulebook(rulebook or None) if client_h else None
        self.rule_features = {c.id: sorted({leaf.feature for leaf in c.rule.leaves()})
                              for c in book.categories} if book is not None else {}
        # sub-portfolio units
        unit_col, G_units = "", 0
        for col in UNIT_COLUMNS:
            if col in panel.columns and panel[col].notna().any():
                unit_col, G_units = col, int(panel[col].dropna().astype(str).nunique())
                break
            if clients is not None and col in clients.columns and clients[col].notna().any():
                unit_col, G_units = col, int(clients[col].dropna().astype(str).nunique())
                break
        self.unit_col, self.G_units = unit_col, G_units
        self.monthly_w = FREQUENCIES["M"][2]
        self.rows: list[dict] = []
        self.statuses = membership.groupby(membership["category"].astype(str))["status"].agg(
            lambda x: set(x.astype(str))).to_dict() if "status" in membership.columns else {}
        self._said: dict[tuple, Any] = {}
        self._hopeless: set[tuple] = set()

    def refusal(self, h, units: int = 0, periods: int = 0) -> pd.Series | None:
        """None when the default test can test ``h`` on the portfolio panel's design (``units``
        copies of its units, ``periods`` copies of its periods when given: :func:`design_probe`),
        else the test's own row with its ``reason_code`` (:func:`test_decision`)."""
        key = (h.id, int(units), int(periods))
        if key not in self._said:
            assert self.pp is not None
            row = test_decision(design_probe(self.pp, outcome_column(h.outcome, h.lag),
                                             units=units, periods=periods), h)
            self._said[key] = row if str(row["reason_code"] or "") else None
        return self._said[key]

    def cv3(self, h, units: int = 0, periods: int = 0) -> float:
        """:func:`_cv3_of` of ``h`` on the portfolio panel (copies of its units and periods when
        given), remembered: the searches ask for the same designs again."""
        key = ("cv3", h.id, int(units), int(periods))
        if key not in self._said:
            assert self.pp is not None
            self._said[key] = _cv3_of(self.pp, h, self.alpha, self.m_port, units=units,
                                      periods=periods)
        return self._said[key]

    def periods_help(self, h, copies: int, periods: int) -> bool:
        """Whether the test tests ``h`` on ``periods`` copies of the panel's periods (at ``copies``
        copies of its units). Once it refuses because without one unit the exposure no longer
        varies (``one_portfolio_identifies``: enough rows, the exposure still unidentified), no
        number of copied periods helps — each copy repeats the same pattern — so the search stops
        there (:func:`_first` then reports none)."""
        row = self.refusal(h, units=copies, periods=periods)
        if row is not None and str(row["reason_code"]) == "one_portfolio_identifies":
            self._hopeless.add((h.id, copies))
        return row is None

    def refused_needs(self, h, G: int, t_use: int, extra: int, unit_col: str, monthly: float,
                      needs_data: list, copies: int = 0) -> tuple[list, float, float, float, float]:
        """What would make a design the test refuses testable, asked of the test itself: the fewest
        units (copies of the panel's, at these periods) and the fewest periods (copies of its
        usable ones, at these units) at which it tests; then the units for an MDE of min_effect,
        simulated from that number of units (:func:`_units_by_simulation`), and what monthly
        periods would give where the test could run there. ``copies``: the design is ``copies``
        copies of the panel's units (a unit column the panel is not cut by), 0 for the panel.

        Returns (needs, periods_needed, units_needed, testable_units, testable_periods)."""
        alpha, m, k, freq = self.alpha, self.m_port, self.k, self.freq
        need = list(needs_data)
        words = {"units": _unit(unit_col, "en"), "units_ru": _unit(unit_col, "ru")}
        g_ok = _first(lambda g: self.refusal(h, units=g) is None, max(G + 1, 2), MAX_UNITS)
        t_ok = _first(lambda t: self.periods_help(h, copies, t), max(t_use + 1, 2),
                      MAX_TEST_PERIODS, hopeless=lambda: (h.id, copies) in self._hopeless)
        if g_ok:
            need.append(("plan.need.testable_units", {"G": g_ok, "T": t_use, **words}))
        if t_ok:
            need.append(("plan.need.testable_periods",
                         {"periods": t_ok + extra, "usable": t_ok,
                          "span": _span(t_ok + extra, freq), "G": G, **words}))
        elif (h.id, copies) in self._hopeless:
            need.append(("plan.need.periods_no_help", {"G": G, **words}))
        else:
            need.append(("plan.need.periods_not_enough",
                         {"usable": MAX_TEST_PERIODS, "G": G, **words}))
        un = math.nan
        if g_ok:
            found = _units_by_simulation(lambda g: self.cv3(h, units=g), g_ok, t_use, k, alpha, m,
                                         h.min_effect, cap=MAX_REFUSED_UNITS)
            if found:
                un = found.units
                need.append(("plan.need.units_mde", {"G": found.units, "T": t_use, **words,
                                                     "low": found.low, "high": found.high}))
            elif np.isfinite(self.cv3(h, units=g_ok)):  # simulated there, and the MDE far above
                need.append(("plan.need.units_beyond", {"G": MAX_REFUSED_UNITS, "T": t_use,
                                                        **words}))
        if freq == "Q" and np.isfinite(monthly) and monthly > t_use \
                and self.refusal(h, units=copies, periods=int(monthly)) is None:
            mde_m = self.cv3(h, units=copies, periods=int(monthly))
            if np.isfinite(mde_m):
                need.append(("plan.need.monthly_panel", {"usable": int(monthly), "mde": mde_m}))
        t_all = float(t_ok + extra) if t_ok else math.nan
        return need, math.nan, un, float(g_ok or math.nan), t_all

    def kind_problem(self, h, extra):
        """(reason, needs) when h's kind has no decided membership: a history shorter than the
        window, or signals the data lack."""
        T_all, W, freq = self.T_all, self.W, self.freq
        if h.category in self.computable:
            return None, []
        if self.statuses.get(h.category, set()) <= {"short_history"}:
            return (("plan.reason.short_history", {"T": T_all, "W": W}),
                    [("plan.need.min_periods",
                      {"periods": extra + 2, "span": _span(extra + 2, freq)})])
        return ("plan.reason.no_category", {"category": h.category}), [("plan.need.data", {})]

    def add(self, h, design, units, G, t_use, n_rows, params, df, m, mde_v, reason, need,
            periods_needed=np.nan,
            units_needed=np.nan, monthly=np.nan, method="independent_rows", independent=None,
            test_reason: str = "", testable: tuple[float, float] = (np.nan, np.nan)):
        """One row of the plan: its status (testable, weak, not testable) and, where it is not
        testable or its MDE exceeds the smallest effect of interest, why and what would help."""
        if design in ("portfolio_panel", "sub_portfolios") and np.isfinite(mde_v) \
                and not p_floor_reachable(G, m, self.alpha):
            # the default test there (the bootstrap, below 12 units) cannot reject at any effect
            words = {"units": _unit(str(units), "en"), "units_ru": _unit(str(units), "ru")}
            floor = float(bootstrap_p_floor(int(G)))
            nums = {"floor": f"{floor:.3f}", "level": f"{self.alpha / m:.4f}"}
            reason = ("plan.reason.p_floor", {"G": int(G), "m": int(m), **nums, **words,
                                              **{f"{k}_ru": v.replace(".", ",")
                                                 for k, v in nums.items()}})
            need = [("plan.need.p_floor_units", {"G": _reachable_units(m, self.alpha), **words}),
                    *[x for x in need if str(x[0]).startswith("plan.need.units")]]
            mde_v, periods_needed = math.nan, math.nan
        status = ("not_testable" if not np.isfinite(mde_v)
                  else "weak" if mde_v > 2 * h.min_effect else "testable")
        if status == "not_testable" and not reason:
            reason = ("plan.reason.too_few_rows", {"rows": n_rows, "params": params})
        if status == "weak" and not reason:
            reason = ("plan.reason.weak", {"mde": mde_v, "min": h.min_effect})
        elif status == "testable" and mde_v > h.min_effect:
            reason = ("plan.reason.above_min", {"mde": mde_v, "min": h.min_effect})
        explain = status != "testable" or mde_v > h.min_effect
        self.rows.append({
            "id": h.id, "level": h.level, "category": h.category, "outcome": h.outcome,
            "lag": h.lag,
            "design": design, "units": units, "G": G, "T": t_use, "usable_rows": n_rows,
            "params": params, "df": df, "m": m, "mde": mde_v,
            "mde_method": method if np.isfinite(mde_v) else "",
            "mde_independent": mde_v if independent is None else independent,
            "min_effect": h.min_effect,
            "status": status,
            "periods_needed": periods_needed if explain else np.nan,
            "units_needed": units_needed if explain else np.nan,
            "monthly_usable_periods": monthly if explain else np.nan,
            "reason_en": _text(reason, "en") if explain else "",
            "reason_ru": _text(reason, "ru") if explain else "",
            "need_en": _needs(need, "en") if explain else "",
            "need_ru": _needs(need, "ru") if explain else "",
            "test_reason": test_reason,
            "testable_units": testable[0], "testable_periods": testable[1],
        })

    def portfolio_rows(self, h, portfolio_by: str) -> None:
        """A portfolio-level hypothesis in three designs: the portfolio panel, sub-portfolios, the
        company as one series."""
        T_all, W, freq, k = self.T_all, self.W, self.freq, self.k
        alpha, m_port = self.alpha, self.m_port
        pp, G_port = self.pp, self.G_port
        add = self.add
        kind = outcome_kind(h.outcome)
        t_use = _usable(T_all, W, h.lag, kind)
        # periods before/after the usable ones
        extra = W + (h.lag if kind == "growth" else h.lag - 1)
        monthly = _usable(3 * T_all, self.monthly_w, h.lag, kind) if freq == "Q" else np.nan
        missing, needs_data = self.kind_problem(h, extra)
        if not missing and pp is not None and h.outcome not in self.port_outcomes \
                and outcome_column(h.outcome, h.lag) not in pp.columns:
            missing = ("plan.reason.no_outcome",
                       {"outcome": h.outcome, "why": _why(h.outcome, self.port_notes)})
            needs_data = [("plan.need.data", {})]
        # 1. the portfolio panel: whether the default test can test it (asked of the test on the
        # panel's design), then its MDE on the data's own design where it can be built
        refused = self.refusal(h) if not missing and pp is not None and G_port >= 2 \
            and t_use >= 2 and outcome_column(h.outcome, h.lag) in pp.columns else None
        bound = _panel_mde(G_port, t_use, k, alpha, m_port) if not missing else math.nan
        mde_v, method, deff = bound, "independent_rows", 1.0
        if refused is not None:
            mde_v = math.nan
        elif np.isfinite(bound) and pp is not None:
            sim = self.cv3(h)
            if np.isfinite(sim):
                mde_v, method, deff = sim, "cv3_design", sim / bound
        reason = missing or (_refusal_reason(refused) if refused is not None else None) \
            or (("plan.reason.one_unit", {"units": _unit("portfolio", "en"),
                                         "units_ru": _unit("portfolio", "ru")})
                if G_port < 2 else ("plan.reason.few_periods",
                                    {"T": T_all, "usable": t_use, "W": W, "lag": h.lag, "min": 2})
                if t_use < 2 else None)
        code = str(refused["reason_code"]) if refused is not None else ""
        testable: tuple[float, float] = (np.nan, np.nan)
        sim_units = _known(lambda g: self.cv3(h, units=g), G_port, mde_v) \
            if method == "cv3_design" else None
        if refused is not None:
            need, pn, un, *tst = self.refused_needs(h, G_port, t_use, extra, "portfolio", monthly,
                                                    needs_data)
            testable = (tst[0], tst[1])
        else:
            need, pn, un = _panel_needs(G_port, t_use, k, alpha, m_port, h.min_effect, extra,
                                        "portfolio", monthly,
                                        freq, needs_data, deff, sim_units)
        panel_row = (mde_v, method, deff, reason, code, need, pn, un, testable)
        add(h, "portfolio_panel", "portfolio", G_port, t_use, G_port * t_use,
            G_port + t_use - 1 + k, G_port - 1,
            m_port, mde_v, reason, need, pn, un, monthly, method, bound, code, testable)
        self.sub_rows(h, portfolio_by, t_use, extra, monthly, missing, needs_data, panel_row,
                      refused, sim_units)
        self.series_row(h, t_use, extra, monthly, missing, needs_data)

    def sub_rows(self, h, portfolio_by: str, t_use: int, extra: int, monthly: float, missing,
                 needs_data: list, panel_row: tuple, refused: pd.Series | None,
                 sim_units: Callable[[int], float] | None) -> None:
        """The sub-portfolios design: the portfolio panel's row when the panel is cut by this
        column; else a panel of that many units like the portfolios, asked of the test on copies
        of the panel's units."""
        T_all, W, freq, k = self.T_all, self.W, self.freq, self.k
        alpha, m_port, pp = self.alpha, self.m_port, self.pp
        G_port, unit_col, G_units, add = self.G_port, self.unit_col, self.G_units, self.add
        if unit_col:
            same = unit_col == portfolio_by and G_units == G_port
            bound_u = _panel_mde(G_units, t_use, k, alpha, m_port) if not missing else math.nan
            refused_u = None
            if same:  # the same design: its needs in this column's words
                mde_u, method_u, deff_u, reason, code_u, *_, testable_u = panel_row
                if refused is not None:
                    need, pn, un, *tst = self.refused_needs(h, G_units, t_use, extra, unit_col,
                                                            monthly, needs_data)
                    testable_u = (tst[0], tst[1])
                else:
                    need, pn, un = _panel_needs(G_units, t_use, k, alpha, m_port, h.min_effect,
                                                extra, unit_col, monthly, freq, needs_data, deff_u,
                                                sim_units)
            else:
                # (copies of one portfolio would be alike: no stand-in for real units; and where the
                # test accepts the panel, more units like its own cannot make it refuse)
                refused_u = self.refusal(h, units=G_units) \
                    if not missing and pp is not None and G_units >= 2 and G_port >= 2 \
                    and t_use >= 2 and (refused is not None or G_units < G_port) \
                    and outcome_column(h.outcome, h.lag) in pp.columns else None
                mde_u, method_u, deff_u = (math.nan if refused_u is not None else bound_u,
                                           "independent_rows", 1.0)
                code_u, testable_u = "", (np.nan, np.nan)
                reason = missing or (_refusal_reason(refused_u) if refused_u is not None
                                     else None) \
                    or (("plan.reason.one_unit", {"units": _unit(unit_col, "en"),
                                                  "units_ru": _unit(unit_col, "ru")})
                        if G_units < 2 else ("plan.reason.few_periods",
                                             {"T": T_all, "usable": t_use, "W": W, "lag": h.lag,
                                              "min": 2})
                        if t_use < 2 else None)
                if refused_u is not None:
                    code_u = str(refused_u["reason_code"])
                    need, pn, un, *tst = self.refused_needs(h, G_units, t_use, extra, unit_col,
                                                            monthly, needs_data, copies=G_units)
                    testable_u = (tst[0], tst[1])
                else:
                    need, pn, un = _panel_needs(G_units, t_use, k, alpha, m_port, h.min_effect,
                                                extra, unit_col, monthly, freq, needs_data)
            add(h, "sub_portfolios", unit_col, G_units, t_use, G_units * t_use,
                G_units + t_use - 1 + k, G_units - 1,
                m_port, mde_u, reason, need, pn, un, monthly, method_u, bound_u, code_u,
                testable_u)
        else:
            add(h, "sub_portfolios", "", 0, t_use, 0, np.nan, np.nan, m_port, math.nan,
                ("plan.reason.no_units", {}), [("plan.need.units_column", {})], monthly=monthly)

    def series_row(self, h, t_use, extra, monthly, missing, needs_data) -> None:
        """The company as one series (ADL with its own lag; at least MIN_SERIES usable periods)."""
        T_all, W, freq, alpha, m_port = self.T_all, self.W, self.freq, self.alpha, self.m_port
        mde_v = _series_mde(t_use, alpha, m_port) if not missing else math.nan
        reason = missing or (("plan.reason.few_periods",
                              {"T": T_all, "usable": t_use, "W": W, "lag": h.lag,
                               "min": MIN_SERIES})
                             if t_use < MIN_SERIES else None)
        t_need = _search(lambda t: _nan_inf(_series_mde(t, alpha, m_port)), h.min_effect,
                         max(MIN_SERIES, t_use))
        need = needs_data + ([("plan.need.periods_series",
                               {"periods": t_need + extra, "usable": t_need,
                                                             "span": _span(t_need + extra, freq)})]
                             if t_need else [])
        if freq == "Q" and monthly >= MIN_SERIES:
            need.append(("plan.need.monthly", {"usable": monthly,
                                               "mde": _series_mde(int(monthly), alpha, m_port)}))
        self.add(h, "one_portfolio", "company", 1, t_use, max(t_use - 1, 0), 3, max(t_use - 4, 0),
                 m_port, mde_v, reason,
                 need, (t_need + extra) if t_need else np.nan, np.nan, monthly)

    def client_rows(self, h) -> None:
        """A client-level hypothesis (client-level links: one regression per period, t(T-1))."""
        T_all, W, freq, k = self.T_all, self.W, self.freq, self.k
        alpha, m_client, cp = self.alpha, self.m_client, self.cp
        k_client = k + len(client_links.CONTROLS) - 1  # kinds + the client model's controls
        col = f"{h.outcome}_h{h.lag}"
        kind = "growth" if h.outcome in ("revenue_growth", "margin_change") else "level"
        t_use_all = _usable(T_all, W, h.lag, kind)
        extra = W + (h.lag if kind == "growth" else h.lag - 1)
        monthly = _usable(3 * T_all, self.monthly_w, h.lag, kind) if freq == "Q" else np.nan
        missing, need = self.kind_problem(h, extra)
        if missing:
            pass
        elif cp is None:
            missing = ("plan.reason.few_periods", {"T": T_all, "usable": 0, "W": W, "lag": h.lag,
                                                   "min": 2})
        elif col not in cp.columns:
            why = _why(h.outcome, " ".join(cp.attrs["notes"]))
            missing = ("plan.reason.no_outcome", {"outcome": h.outcome, "why": why})
        own = client_links.reads_own_signal(self.rule_features.get(h.category, ()), h.outcome)
        if not missing and own and cp is not None \
                and client_links.member_column(f"{h.category}_without_{h.outcome}") \
                not in cp.columns:
            missing = ("dq.client_rtm", {"category": h.category, "features": ", ".join(own),
                                         "outcome": h.outcome})
            need = [("plan.need.rule_variant",
                     {"category": h.category, "features": ", ".join(own)})]
        if cp is not None and col in cp.columns:
            # the rows the test uses: the outcome, every kind's membership (the variant where the
            # kind's rule reads the outcome) and the controls all known
            # (client_links.test_client_links)
            exps = [c for c in cp.columns if c.startswith("member_") and "_without_" not in c]
            variant = client_links.member_column(f"{h.category}_without_{h.outcome}")
            if own and variant in cp.columns:
                exps = [variant if c == client_links.member_column(h.category) else c
                        for c in exps]
            ctrl = [c for c in client_links.CONTROLS if c in cp.columns]
            used = cp[[col, "client_id", "period", *exps, *ctrl]].dropna()
            n_rows = len(used)
            G, t_use = int(used["client_id"].nunique()), int(used["period"].nunique())
        else:
            n_rows, G, t_use = 0, 0, t_use_all
        mde_v = _client_mde(n_rows, G, t_use, k_client, alpha,
                            m_client) if not missing else math.nan
        reason = missing or (("plan.reason.few_clients",
                              {"rows": n_rows}) if not np.isfinite(mde_v) else None)
        per_period = n_rows / t_use if t_use else 0
        if missing and not need:
            need = [("plan.need.data", {})]
        pn = un = np.nan
        # more periods or clients would not help
        rtm = bool(missing) and missing[0] == "dq.client_rtm"
        if per_period > 0 and not rtm:
            t_need = _search(lambda t: _nan_inf(_client_mde(int(per_period * t), max(G, 2), t,
                                                            k_client, alpha, m_client)),
                             h.min_effect, max(t_use, 1))
            if t_need:
                pn = t_need + extra
                need.append(("plan.need.periods", {"periods": pn, "span": _span(pn, freq), "G": G,
                                                   "units": _unit("client", "en"),
                                                   "units_ru": _unit("client", "ru")}))
        if t_use >= 1 and G >= 1 and not rtm:
            per_client = n_rows / G if G else t_use
            g_need = _search(lambda g: _nan_inf(_client_mde(int(per_client * g), g, t_use, k_client,
                                                            alpha, m_client)),
                             h.min_effect, max(G, 2))
            if g_need:
                un = g_need
                need.append(("plan.need.units", {"G": g_need, "T": t_use, "units": _unit("client",
                                                                                         "en"),
                                                 "units_ru": _unit("client", "ru")}))
        self.add(h, "client", "client", G, t_use, n_rows, t_use * (k_client + 1),
                 t_use - 1 if t_use else np.nan, m_client,
                 mde_v, reason, need, pn, un, monthly)


def p_floor_reachable(G: int, m: int, alpha: float) -> bool:
    """Whether the default test on ``G`` units can reach Holm's strictest level alpha/m at all:
    below 12 units it is the wild bootstrap, which with a handful of units enumerates every Webb
    vector and cannot give a p-value below 6/6^G
    (:func:`analysis.stats.cluster.bootstrap_p_floor`, :func:`analysis.growth.confirmatory.
    holm_reachable`): with 3 units and two or more hypotheses no effect of any size is found."""
    from analysis.growth.fits import DEFAULT_INFERENCE, resolve_inference

    if int(m) < 1 or int(G) < 2 or resolve_inference(DEFAULT_INFERENCE, int(G)) not in (
            "wild", "wild_cv3"):
        return True
    return bootstrap_p_floor(int(G)) * int(m) < alpha


def _reachable_units(m: int, alpha: float) -> int:
    """The fewest units from which :func:`p_floor_reachable` holds."""
    return next(g for g in range(2, 1000) if p_floor_reachable(g, m, alpha))


def _refusal_reason(row: pd.Series) -> tuple[str, dict]:
    """The plan's reason for a design the test refuses: the test's own sentence (``Not testable:
    …``, :func:`analysis.growth.wording.reason_sentence`) in both languages."""
    from analysis.growth.wording import reason_sentence

    return ("plan.reason.test", {"text": reason_sentence(row, "en"),
                                 "text_ru": reason_sentence(row, "ru")})


def _nan_inf(x: float) -> float:
    return x if np.isfinite(x) else math.inf


def _cv3_of(pp: pd.DataFrame, h, alpha: float, m: int, units: int = 0, periods: int = 0) -> float:
    """:func:`cv3_design_mde` of hypothesis ``h`` on the portfolio panel, with the model's own
    exposures (``units`` > 0: on that many copies of the panel's units)."""
    col = outcome_column(h.outcome, h.lag)
    usable = usable_exposures(pp)
    cols, term = model_exposures(pp, h.outcome, usable)
    return cv3_design_mde(pp, col, cols, term.get(h.category, ""), alpha=alpha, m=m, units=units,
                          periods=periods,
                          n_sims=UNIT_SEARCH_SIMS if units or periods else CV3_SIMS)


def _known(sim: Callable[[int], float], G: int, value: float) -> Callable[[int], float]:
    """``sim`` remembering its values, with the data's own G known already."""
    seen = {G: value}

    def f(g: int) -> float:
        if g not in seen:
            seen[g] = sim(g)
        return seen[g]
    return f


#: Simulated designs the search for ``units_needed`` may try, the most units it reports, and the
#: error draws of each (fewer than the MDE's own; the Monte Carlo error this leaves is stated with
#: the answer: :func:`mde_mc_error`).
UNIT_SIMS, MAX_UNITS, UNIT_SEARCH_SIMS = 5, 2000, 200
#: Most units the search for an MDE of min_effect tries from a design the test refuses (the test
#: needs more units there already; simulations of a thousand units cost seconds each).
MAX_REFUSED_UNITS = 200
#: Most usable periods the planner's search for a testable design tries (copies of the data's
#: periods: a design the test refuses for its units — one portfolio identifies the exposure — stays
#: refused however long, and the test on hundreds of periods costs seconds each).
MAX_TEST_PERIODS = 48


def mde_mc_error(n_sims: int, df: float, *, alpha: float = 0.05, power: float = 0.8,
                 m: int = 1) -> float:
    """Relative Monte Carlo SE of a simulated MDE (:func:`analysis.stats.power.cluster_design_mde`)
    from ``n_sims`` error draws: the power's binomial SE sqrt(p(1-p)/n) over the slope of the power
    curve at the MDE, with the test statistic approximately N(d/se, 1) around the critical value
    q = t(df, 1 - alpha/(2m)): SE(MDE)/MDE ≈ sqrt(p(1-p)/n) / (phi(z_p) (q + z_p)). 200 draws at
    65 units, m = 7: 0.027 (measured over 40 seeds on the one-company sample's design: see
    docs/methods.md "Planner")."""
    from scipy import stats as sps

    zp = float(sps.norm.ppf(power))
    q = float(sps.t.ppf(1 - alpha / (2 * m), max(df, 1)))
    return math.sqrt(power * (1 - power) / n_sims) / (float(sps.norm.pdf(zp)) * (q + zp))


class UnitsFound:
    """The units search's answer: ``units`` (where the simulated MDE reaches the target on the
    smooth curve through the simulations) and ``low``–``high``, the answer for a target moved by
    ±2 Monte Carlo SEs of the simulated MDEs (``mc_error``, relative): the range the search's own
    simulation error leaves."""

    def __init__(self, units: int, low: int, high: int, mc_error: float):
        self.units, self.low, self.high, self.mc_error = units, low, high, mc_error

    def __repr__(self) -> str:
        return f"UnitsFound({self.units}, {self.low}–{self.high}, mc_error={self.mc_error:.3f})"


def _units_by_simulation(sim: Callable[[int], float], G: int, t_use: int, k: int, alpha: float,
                         m: int,
                         target: float, cap: int = MAX_UNITS) -> UnitsFound | None:
    """Units (at this T) for a simulated CV3 MDE of ``target``: the formula's answer at the design
    effect measured by simulating the design with that many copies of the data's units, repeated
    until the proposal repeats (at most :data:`UNIT_SIMS` simulations).

    Scaling the formula by the design effect measured at the data's own G (what the plan did before)
    keeps CV3's small-G penalty at any G and asks for far too many units (one company, 8 managers:
    about 80 where 30-odd do); the design effect measured at the proposed G drops that penalty and
    keeps what does not shrink with more units (kinds that move together, exposures held by few
    units).

    The answer is not "the first simulated MDE at or below the target": near the target that
    comparison is decided by Monte Carlo error (0.201 against 0.198 named 65 managers, or none at
    all when the last simulation came out at 0.201). It is read off the smooth curve formula(g) ×
    design effect(g), the design effect interpolated linearly in log g between the simulated
    designs (constant beyond them), where it reaches the target; ``low``–``high`` are the same for
    a target ±2 Monte Carlo SEs (:func:`mde_mc_error`). Deterministic for the simulations' seed."""
    def formula(g: int) -> float:
        return _nan_inf(_panel_mde(g, t_use, k, alpha, m))

    g = G
    tried: dict[int, float] = {}
    for _ in range(UNIT_SIMS):
        mde_g = tried[g] = sim(g)
        if not np.isfinite(mde_g):
            return None
        deff = mde_g / formula(g)
        nxt = _search(lambda x: formula(x) * deff, target, 2)
        if nxt is None or nxt > cap:
            return None
        if nxt in tried:
            break
        g = max(nxt, 2)
    xs = sorted(x for x in tried if np.isfinite(formula(x)))
    if not xs:
        return None
    lx = np.log(np.array(xs, dtype=float))
    ld = np.log(np.array([tried[x] / formula(x) for x in xs]))

    def curve(x: int) -> float:
        return formula(x) * float(np.exp(np.interp(math.log(x), lx, ld)))

    units = _search(curve, target, 2)
    if units is None or units > cap:
        return None
    err = mde_mc_error(UNIT_SEARCH_SIMS, units - 1, alpha=alpha, m=m)
    low = _search(curve, target * (1 + 2 * err), 2) or units
    high = _search(curve, target * (1 - 2 * err), 2) or units
    return UnitsFound(units, min(low, units), max(high, units), err)


def _panel_needs(G, t_use, k, alpha, m, target, extra, units, monthly, freq, needs_data, deff=1.0,
                 sim_units=None):
    """What would bring the MDE to ``target``. Periods at this G: the MDE scales as 1/sqrt(residual
    rows) at the design effect ``deff`` measured on the data (simulated CV3 MDE / formula MDE, 1 for
    the formula itself); G stays, so do CV3's penalty and the t quantile. Units at this T: with
    ``sim_units`` (the simulated CV3 MDE of a design with g copies of the data's units) by
    :func:`_units_by_simulation`, else the formula scaled by ``deff``."""
    need = list(needs_data)
    pn = un = np.nan
    scaled = target / deff if deff != 1.0 else target
    if G >= 2:
        t_need = _search(lambda t: _nan_inf(_panel_mde(G, t, k, alpha, m)), scaled, max(t_use, 2))
        if t_need:
            pn = t_need + extra
            need.append(("plan.need.periods", {"periods": pn, "span": _span(pn, freq), "G": G,
                                               "units": _unit(units, "en"),
                                               "units_ru": _unit(units, "ru")}))
    if t_use >= 2:
        found = None
        if sim_units is not None and G >= 2:
            found = _units_by_simulation(sim_units, G, t_use, k, alpha, m, target)
            g_need = found.units if found else None
        else:
            g_need = _search(lambda g: _nan_inf(_panel_mde(g, t_use, k, alpha, m)), scaled,
                             max(G, 2))
        if g_need:
            un = g_need
            words = {"G": g_need, "T": t_use, "units": _unit(units, "en"),
                     "units_ru": _unit(units, "ru")}
            need.append(("plan.need.units_sim", words | {"low": found.low, "high": found.high})
                        if found else ("plan.need.units", words))
    elif G < 2:
        need.append(("plan.need.both", {"units": _unit(units, "en"), "units_ru": _unit(units, "ru"),
                                        "min_periods": extra + 2, "span": _span(extra + 2, freq)}))
    if freq == "Q" and np.isfinite(monthly) and monthly > t_use and G >= 2:
        need.append(("plan.need.monthly_panel", {"usable": int(monthly),
                                                 "mde": deff * _panel_mde(G, int(monthly), k, alpha,
                                                                          m)}))
    return need, pn, un


def _unit(col: str, lang: str) -> str:
    en, ru = _UNIT_WORDS.get(col, (col, col))
    return en if lang == "en" else ru


def _span(periods: int, freq: str) -> str:
    per_year = FREQUENCIES.get(freq, ("", 4, 4))[1]
    return f"{periods / per_year:.1f}"


def _why(outcome: str, notes: str) -> str:
    for part in notes.split(". ") + notes.split("; "):
        if part.strip().startswith(outcome):
            return part.strip().split(": ", 1)[-1]
    return "the data lack its columns"


def _fmt(v, lang: str) -> str:
    from analysis import i18n

    if isinstance(v, (float, np.floating)) and not float(v).is_integer():
        return i18n.number(float(v), lang, 2)
    if isinstance(v, (int, np.integer, float, np.floating)):
        return i18n.integer(int(v), lang)
    return str(v)


def _text(item, lang: str) -> str:
    from analysis import i18n

    if not item:
        return ""
    key, values = item
    vals = {k: _fmt(v, lang) for k, v in values.items() if not k.endswith("_ru")}
    if lang == "ru":
        vals.update({k[:-3]: v for k, v in values.items() if k.endswith("_ru")})
    if "span" in values:
        vals["span"] = values["span"].replace(".", ",") if lang == "ru" else values["span"]
    if lang == "ru" and "category" in values:  # the kind's Russian name, not its id
        vals["category"] = f"«{i18n.category(str(values['category']), lang)}»"
    if lang == "ru" and "why" in values:
        vals["why"] = i18n.dq(str(values["why"]), lang)
    return i18n.t(key, lang, **vals)


def _needs(items, lang: str) -> str:
    return ("; or " if lang == "en" else "; или ").join(_text(i, lang) for i in items if i)


def plan_line(table: pd.DataFrame, lang: str = "en") -> str:
    """One sentence for the index: how many hypotheses some design can test, and the best MDE."""
    from analysis import i18n

    if table.empty:
        return ""
    best = table.groupby("id")["status"].apply(
        lambda s: "testable" if (s == "testable").any()
        else "weak" if (s == "weak").any() else "not_testable")
    n = len(best)
    return i18n.t("plan.line", lang, testable=int((best == "testable").sum()),
                  weak=int((best == "weak").sum()),
                  none=int((best == "not_testable").sum()), total=n)


def format_plan(table: pd.DataFrame, lang: str = "en") -> str:
    """The plan as plain text for a terminal: facts, one line per hypothesis and design, then why
    and what would make it testable."""
    from analysis import i18n

    a = table.attrs
    head = i18n.t("plan.facts", lang, periods=a.get("periods", ""), freq=a.get("freq", ""),
                  window=a.get("window", ""),
                  portfolios=a.get("portfolios", ""), units=a.get("unit_column") or "-",
                  n_units=a.get("unit_count", 0))
    lines = [head, ""]
    cols = ["id", "design", "units", "G", "T", "usable_rows", "mde", "min_effect", "status"]
    shown = table[cols].copy()
    shown["mde"] = [i18n.number(x, lang) if np.isfinite(x) else "-" for x in shown["mde"]]
    shown["design"] = [i18n.label(x, lang) for x in shown["design"]]
    shown["status"] = [i18n.label(x, lang) for x in shown["status"]]
    shown.columns = [i18n.column(c, lang) for c in cols]
    lines.append(shown.to_string(index=False))
    notes = table[(table[f"reason_{lang}"] != "") | (table[f"need_{lang}"] != "")]
    if len(notes):
        lines.append("")
    for r in notes.itertuples():
        lines.append(f"{r.id} {i18n.label(r.design, lang)}: {getattr(r, f'reason_{lang}')}"
                     + (f" → {getattr(r, f'need_{lang}')}" if getattr(r, f"need_{lang}") else ""))
    lines += ["", plan_line(table, lang)]
    return "\n".join(lines)


def plan_for(data_dir: str | Path = "", *, config: str | Path = "", rulebook: str | Path = "",
             hypotheses: str | Path | None = None, window: int = 0, engine: str = "duckdb",
             portfolio: str = "", freq: str = "", portfolio_by: str = "") -> pd.DataFrame:
    """:func:`plan` of a client base on disk (the bundled sample when ``data_dir`` is empty).

    ``freq``, ``window`` (0: the frequency's default) and ``portfolio_by`` resolve as in
    :func:`analysis.report.study.prepare`: the argument, else the data config, else the default.
    """
    from analysis.report import study

    s = study.prepare(data_dir, config=config, rulebook=rulebook, window=window, engine=engine,
                      portfolio=portfolio,
                      freq=freq, portfolio_by=portfolio_by)
    return plan_study(s, hypotheses=hypotheses or None)


def plan_study(s: Study, *, hypotheses: HypothesesArg = None) -> pd.DataFrame:
    """:func:`plan` of a prepared :class:`analysis.report.study.Study` (its window, frequency and
    units)."""
    return plan(s.panel, s.membership, hypotheses=hypotheses, window=s.window, kpis=s.base.kpis,
                clients=s.base.clients, freq=s.freq,
                portfolio_by=s.units.by if s.units is not None else "",
                rulebook=s.rulebook, variants=s.variants)


__all__ = ["DESIGNS", "PLAN_COLUMNS", "UnitsFound", "cv3_design_mde", "design_probe", "format_plan",
           "infer_freq", "mde_mc_error", "plan", "plan_for", "plan_line", "plan_study",
           "test_decision"]
