"""Client-level links: do clients of a kind go on to grow, stay, improve margin or claim more?

The portfolio panel asks whether a *portfolio* that leans on a kind does better; one company
with few portfolios can rarely answer that. With many clients it can ask a narrower question of
its own clients: **do clients of this kind, compared with other clients in the same period, grow
or stay more afterwards?** That is a statement about the clients, not about what having such
clients does to the company's growth.

Unit: client × period t, for clients with revenue in the window t-W … t-1 and a decided
membership at t-1 (the same timing as the portfolio exposures: nothing from t or later decides
the kind). Regressors: every kind's membership at t-1 (0/1) jointly, and the log of the client's
revenue over the window (size control). Outcomes at lag h, never read inside the window:

- ``revenue_growth``: log R(t+h) - log R(t+h-1), clients buying in both periods;
- ``retention``: 1 when the client buys in t+h-1, else 0 (a linear probability);
- ``margin_change``: gross margin (GP / revenue) in t+h minus in t+h-1, clients buying in both;
- ``claims_rate``: the client's claims per 100 orders in t+h-1, clients with orders then.

Model (docs/methods.md "Client level"): by default one regression per period (Fama-MacBeth) of the
outcome on every kind's membership at t-1 jointly, the log window revenue and the client's activity
in the window (:data:`CONTROLS`); the estimate is the mean of the period slopes, its SE their SD
over sqrt(T), t(T-1). Clients of a kind share demand shocks within a period, which a pooled
regression with SEs clustered by client counts as independent evidence (in null worlds of the
product's generator it rejected revenue-growth nulls in up to 0.45 of worlds; per period 0.01-0.31,
where kinds have their own revenue trends or differ in lasting size: docs/methods.md).
A kind whose rule reads the outcome's own signal (:data:`CLIENT_SIGNALS`) is tested with its rule
variant without those conditions, or is not testable: its members are picked on highs that revert
(regression to the mean: 0.77 of null worlds where the client's own recent revenue decides the
kind). ``client_effects=True`` runs the pooled regression with client and period effects (the
within-client comparison), CR1 by client, t(G-1); it is not the default: its MDE is about 3x, it
estimates planted effects somewhat small (0.86 and 0.95 of the planted size in two runs of 60
worlds), and it does not remove regression to the mean (0.05 and 0.18).

``std_effect``: the change in the outcome, in SDs, per SD of membership, both after removing
period means (within periods; within clients and periods with client effects).

The least squares and the clustered covariance are written out with numpy: the general
``stats.panel_regression`` (linearmodels) takes about a second per fit at client scale because
of its two-way demeaning of an unbalanced panel, and the validation fits hundreds of worlds;
a test checks this code against ``panel_regression`` on the same data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis import registry
from analysis.errors import InputError
from analysis.growth.panel import (
    PortfolioClientGrid,
    log_positive,
    ratio,
    shift_left,
    window_sum,
)
from analysis.growth.spec import (
    CLIENT_OUTCOMES,
    HypothesesArg,
    Hypothesis,
    HypothesisFile,
    as_hypothesis_file,
)
from analysis.growth.verdicts import POWER, verdict
from analysis.growth.wording import LEADS, format_decimal, format_signed, kind_words
from analysis.ingest.periods import period_axis
from analysis.stats import adjust_pvalues, fe

if TYPE_CHECKING:
    from analysis.categories.rules import Rulebook

SIZE_CONTROL = "log_window_revenue"
ACTIVE_SHARE = "window_active_share"
ACTIVE_LAST = "active_last"
#: Client-level outcomes that are changes between consecutive periods (their period slopes are
#: negatively autocorrelated: :func:`period_slopes_regression`'s ``change``).
CHANGE_OUTCOMES = frozenset({"revenue_growth", "margin_change"})
#: The default model's controls: size, and activity in the window and in its last period.
CONTROLS = (SIZE_CONTROL, ACTIVE_SHARE, ACTIVE_LAST)
#: Features whose rule conditions read a client-level outcome's own signal in the window: a kind
#: decided on them is picked on a high (or low) of the very thing measured afterwards, which reverts
#: to the mean (docs/methods.md "Client level"). claims_rate's come from the registry (portfolio
#: level).
CLIENT_SIGNALS = {
    "revenue_growth": frozenset({"revenue", "gross_profit", "revenue_share", "profit_share",
                                 "revenue_cum_share", "profit_cum_share", "abc_revenue",
                                 "abc_profit", "revenue_cv"}),
    "margin_change": frozenset({"gross_profit", "margin", "profit_share", "profit_cum_share",
                                "abc_profit"}),
    "retention": frozenset(),
}
LAGS = (1, 2)

CLIENT_COLUMNS = [
    "id", "category", "outcome", "lag", "expected_sign", "level", "test", "exposure", "n",
    "n_clients", "n_periods", "n_members", "estimate", "std_error", "std_effect", "std_effect_se",
    "ci_low", "ci_high", "ci90_low", "ci90_high", "p_unc", "p_adj", "p_adjust_method", "df", "mde",
    "power", "min_effect", "verdict", "sentence_en", "sentence_ru", "diagnostics", "hypothesis_en",
    "hypothesis_ru",
]  # fmt: skip


def shift_right(x: np.ndarray, j: int, fill: float = np.nan) -> np.ndarray:
    """``x`` moved ``j`` periods later along axis 1 (column t holds t - j); ``fill`` before the
    start."""
    out = np.full(x.shape, fill, dtype=float if fill is np.nan else x.dtype)
    if j < x.shape[1]:
        out[:, j:] = x[:, : x.shape[1] - j]
    return out


def member_column(category: str) -> str:
    return f"member_{category}"


def client_panel(
    panel: pd.DataFrame,
    membership: pd.DataFrame,
    *,
    window: int = 4,
    lags: Sequence[int] = LAGS,
    categories: Sequence[str] | None = None,
    variants: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The client-level analysis panel: one row per client and period t.

    ``variants``: rule variants (:func:`analysis.categories.rules.classify_variants`); those without
    the conditions that read a client-level outcome's own signal (``<k>_without_<outcome>``) get a
    ``member_<variant>`` column too (at t-1), for the test of that outcome.

    Returns
    -------
    pandas.DataFrame
        Rows: clients with revenue in the window t-W … t-1 whose kinds are decided at t-1.
        Columns ``client_id, portfolio, period, window_revenue, log_window_revenue``,
        ``member_<k>`` (0/1, member of k at t-1) for every category, and
        ``<outcome>_h<h>`` for ``revenue_growth``, ``retention``, ``margin_change`` (when gross
        profit is known) and ``claims_rate`` (when claims and orders are), NaN where undefined
        or past the data. ``attrs``: ``window``, ``lags``, ``categories``, ``outcomes``, ``notes``.
    """
    if not isinstance(window, (int, np.integer)) or window < 1:
        raise InputError(f"`window` must be a whole number of periods ≥ 1, got {window!r}")
    lags = [int(h) for h in lags]
    present = {str(c) for c in membership["category"].unique()}
    cats = list(categories) if categories is not None else [
        k for k in registry.current().kind_ids() if k in present]
    periods = period_axis(panel["period"].astype(str).unique())
    a = PortfolioClientGrid(panel, periods)
    T, W = a.T, int(window)
    notes: list[str] = []
    rev = a.matrix("revenue")
    active = rev > 0
    win_rev = window_sum(np.where(active, rev, 0.0), W)
    mem = a.membership(membership, cats)
    known_prev = np.zeros((a.C, T), bool)
    cols: dict[str, np.ndarray] = {"window_revenue": win_rev, SIZE_CONTROL: log_positive(win_rev)}
    var_ids, var_cols = _variant_columns(a, variants, cats)
    cols.update(var_cols)
    for k in cats:
        m, kn = mem[k]
        m1 = np.zeros_like(m)
        kn1 = np.zeros_like(kn)
        m1[:, 1:], kn1[:, 1:] = m[:, :-1], kn[:, :-1]
        known_prev |= kn1
        cols[member_column(k)] = np.where(kn1, m1.astype(float), np.nan)
    # activity in the window (a client that stopped buying mid-window has a small window revenue
    # and seldom buys again: the size control alone would credit that to the kinds of small clients)
    cols[ACTIVE_SHARE] = window_sum(active.astype(float), W) / W
    cols[ACTIVE_LAST] = shift_right(active, 1, fill=False).astype(float)
    outcomes: list[str] = []
    growth = np.full((a.C, T), np.nan)
    growth[:, 1:] = np.where(active[:, 1:] & active[:, :-1], np.diff(log_positive(rev), axis=1),
                             np.nan)
    series: dict[str, tuple[np.ndarray, str]] = {"revenue_growth": (growth, "growth"),
                                                 "retention": (active.astype(float), "level")}
    gp = a.matrix("gross_profit")
    if np.isfinite(gp).any() and "gross_profit" in panel.columns \
            and panel["gross_profit"].notna().any():
        margin = np.where(active, ratio(gp, rev), np.nan)
        mch = np.full((a.C, T), np.nan)
        mch[:, 1:] = margin[:, 1:] - margin[:, :-1]
        series["margin_change"] = (mch, "growth")
    else:
        notes.append("margin_change: no cost or gross profit in the data")
    if "claim" in panel.columns and "orders" in panel.columns and panel["claim"].sum() > 0:
        series["claims_rate"] = (100 * ratio(a.matrix("claim"), a.matrix("orders")), "level")
    else:
        notes.append("claims_rate: no claims in the data (events with type claim)")
    for o, (arr, kind) in series.items():
        outcomes.append(o)
        for h in lags:
            cols[f"{o}_h{h}"] = shift_left(arr, h if kind == "growth" else h - 1)
    keep = (win_rev > 0) & known_prev
    keep[:, :W] = False
    ci, ti = np.nonzero(keep)
    out = pd.DataFrame({
        "client_id": np.asarray(a.clients.get_level_values("client_id"), dtype=object)[ci],
        "portfolio": np.asarray(a.clients.get_level_values("portfolio"), dtype=object)[ci],
        "period": np.asarray(periods, dtype=object)[ti],
    })
    for c, values in cols.items():
        out[c] = values[ci, ti]
    for c in ("client_id", "portfolio", "period"):
        out[c] = out[c].astype(str)
    out = out.sort_values(["period", "client_id"], kind="stable").reset_index(drop=True)
    out.attrs.update(window=W, lags=lags, categories=cats, outcomes=outcomes, notes=notes,
                     variants=var_ids)
    return out


def client_regression(
    data: pd.DataFrame,
    *,
    outcome: str,
    exposures: Sequence[str],
    controls: Sequence[str] = (SIZE_CONTROL,),
    client: str = "client_id",
    time: str = "period",
    client_effects: bool = False,
) -> pd.DataFrame:
    """Least squares with period (and optionally client) fixed effects, SEs clustered by client.

    Returns
    -------
    pandas.DataFrame
        One row per term (exposures, then controls): ``term, role, estimate, std_error,
        statistic, df`` (G - 1), ``p_unc, n, n_clients, n_periods, std_effect, std_effect_se,
        small_sample`` (the factor in words). Exposures constant after the fixed effects are
        left out (``attrs["dropped"]``).
    """
    cols = [client, time, outcome, *exposures, *controls]
    d = data[cols].dropna()
    if d[outcome].nunique() < 2 or len(d) < 10:
        raise InputError(f"{outcome}: fewer than 10 usable rows or a constant outcome")
    g_client = pd.factorize(d[client])[0]
    g_time = pd.factorize(d[time])[0]
    names = [*exposures, *controls]
    raw = d[[outcome, *names]].to_numpy(dtype=float)
    z = fe.within(raw, g_client, g_time) if client_effects else fe.entity_demean(raw, g_time)
    y, X = z[:, 0], z[:, 1:]
    sd = X.std(axis=0, ddof=1)
    ok = sd > 1e-9 * (1 + np.abs(X).max(axis=0))
    dropped = [n for n, o in zip(names, ok) if not o]
    names = [n for n, o in zip(names, ok) if o]
    X, sd = X[:, ok], sd[ok]
    if not any(n in exposures for n in names):
        raise InputError(f"{outcome}: no exposure varies after removing the fixed effects")
    n, k = X.shape
    G, n_t = int(g_client.max()) + 1, int(g_time.max()) + 1
    xtx_inv = np.linalg.pinv(X.T @ X)
    beta = xtx_inv @ (X.T @ y)
    u = y - X @ beta
    scores = np.zeros((G, k))
    np.add.at(scores, g_client, X * u[:, None])
    meat = scores.T @ scores
    k_ssc = k + (n_t - 1 if client_effects else n_t)
    factor = G / (G - 1) * (n - 1) / (n - k_ssc)
    cov = factor * xtx_inv @ meat @ xtx_inv
    se = np.sqrt(np.diag(cov))
    stat = beta / se
    df = G - 1
    sd_y = y.std(ddof=1)
    scale = sd / sd_y if sd_y > 0 else np.full(k, np.nan)
    out = pd.DataFrame({
        "term": names, "role": ["exposure" if t in exposures else "control" for t in names],
        "estimate": beta, "std_error": se, "statistic": stat, "df": df,
        "p_unc": 2 * sps.t.sf(np.abs(stat), df), "n": n, "n_clients": G, "n_periods": n_t,
        "std_effect": beta * scale, "std_effect_se": se * scale,
        "small_sample": f"CR1 G/(G-1)*(N-1)/(N-K), K={k_ssc}, G={G}, N={n}; t(G-1)",
    })
    out.attrs.update(dropped=dropped, K=k_ssc, factor=factor, df=df)
    return out


def _variant_columns(a: PortfolioClientGrid, variants: pd.DataFrame | None,
                     cats: list[str]) -> tuple[list[str], dict[str, np.ndarray]]:
    """The rule variants without a client-level outcome's own signal: their ids and their
    ``member_<variant>`` columns (membership at t-1)."""
    var_ids: list[str] = []
    cols: dict[str, np.ndarray] = {}
    if variants is not None and len(variants):
        wanted = {f"{k}_without_{o}" for k in cats for o in CLIENT_OUTCOMES}
        var_ids = [v for v in dict.fromkeys(variants["category"].astype(str)) if v in wanted]
        vm = a.membership(variants[variants["category"].astype(str).isin(var_ids)],
                          var_ids) if var_ids else {}
        for v in var_ids:
            m, kn = vm[v]
            cols[member_column(v)] = np.where(shift_right(kn, 1, fill=False),
                                              shift_right(m.astype(float), 1), np.nan)
    return var_ids, cols


def period_slopes_regression(
    data: pd.DataFrame,
    *,
    outcome: str,
    exposures: Sequence[str],
    controls: Sequence[str] = (SIZE_CONTROL,),
    time: str = "period",
    client: str = "client_id",
    min_rows: int = 10,
    change: bool = False,
) -> pd.DataFrame:
    """One cross-sectional regression per period, averaged over periods (Fama and MacBeth, 1973).

    ``change=True`` (an outcome that is a change between consecutive periods: revenue growth, margin
    change): the variance of the mean slope takes the first autocovariance of the slopes too, with
    the Newey-West weight 1/2 — consecutive changes share a period with opposite signs, so their
    slopes are negatively correlated and the plain SE is too large (null rejection 0.016 instead of
    0.05 on lean worlds; with the correction 0.036). Levels keep the plain SE (the correction
    overshoots there: 0.104).

    Every period t gets its own least squares of the outcome on the exposures and controls with an
    intercept (so every client is compared with the others of the same period); the estimate is
    the mean of the period slopes and its standard error their standard deviation over √T, with
    t(T - 1). Clients of one kind share shocks within a period (a kind's demand moves together),
    which the client-clustered SE of the pooled regression treats as independent evidence; here
    each period counts once. A period where a term does not vary, or with fewer than ``min_rows``
    rows, gives no slope for that term.

    Returns
    -------
    pandas.DataFrame
        One row per term (exposures, then controls): ``term, role, estimate, std_error, statistic,
        df`` (periods with a slope - 1), ``p_unc, n, n_clients, n_periods`` (periods with a slope),
        ``std_effect, std_effect_se`` (per within-period SD of the term and of the outcome),
        ``small_sample`` (the method in words). Terms with fewer than 3 period slopes are left out
        (``attrs["dropped"]``). A term tied to others in a period (two kinds with identical members
        there) gets no slope in that period: ``attrs["collinear"]`` maps it to those periods.
    """
    cols = [client, time, outcome, *exposures, *controls]
    d = data[cols].dropna()
    if d[outcome].nunique() < 2 or len(d) < min_rows:
        raise InputError(f"{outcome}: fewer than {min_rows} usable rows or a constant outcome")
    names = [*exposures, *controls]
    # the periods of the whole table, not only those with a known outcome: a period whose outcome is
    # unknown for every client stays a hole on the time axis, so the periods either side of it are
    # not taken for neighbours by the Newey-West autocovariance below
    axis = pd.Index(data[time].dropna().unique()).sort_values()
    tim = axis.get_indexer(d[time])
    z = d[[outcome, *names]].to_numpy(dtype=float)
    counts = np.maximum(np.bincount(tim, minlength=len(axis)), 1)
    sums = np.stack([np.bincount(tim, weights=c, minlength=len(axis)) for c in z.T], axis=1)
    zc = z - (sums / counts[:, None])[tim]
    slopes = np.full((len(counts), len(names)), np.nan)
    collinear: dict[str, list[str]] = {}
    for t in range(len(counts)):
        rows = tim == t
        if rows.sum() < min_rows:
            continue
        X, y = zc[rows, 1:], zc[rows, 0]
        ok = X.std(axis=0) > 1e-9 * (1 + np.abs(X).max(axis=0))
        if not ok.any() or rows.sum() <= ok.sum() + 2:
            continue
        beta = np.linalg.lstsq(X[:, ok], y, rcond=None)[0]
        # terms tied to others in this period (two kinds with the very same members): least squares
        # would split one slope between them; they get no slope here (the others' are unique)
        tied = _tied_columns(X[:, ok])
        beta[tied] = np.nan
        for j in np.flatnonzero(ok)[tied]:
            collinear.setdefault(names[j], []).append(str(axis[t]))
        slopes[t, ok] = beta
    n_t = np.isfinite(slopes).sum(axis=0)
    keep = n_t >= 3
    dropped = [n for n, k in zip(names, keep) if not k]
    if not any(k for n, k in zip(names, keep) if n in exposures):
        raise InputError(f"{outcome}: no exposure varies within at least 3 periods")
    est = np.nanmean(np.where(keep, slopes, 0.0), axis=0)
    sd = np.array(
        [np.nanstd(slopes[:, j], ddof=1) if keep[j] else np.nan for j in range(len(names))])
    se = sd / np.sqrt(np.maximum(n_t, 1))
    if change:
        for j in np.flatnonzero(keep):
            c = slopes[:, j] - est[j]
            # consecutive periods that both have a slope
            pair = np.isfinite(c[1:]) & np.isfinite(c[:-1])
            g1 = float(np.sum(c[1:][pair] * c[:-1][pair])) / (n_t[j] - 1)
            # floored at a quarter of the plain variance (the SE at most halved): gamma0 + gamma1 is
            # never negative (Bartlett) but can come near 0 with few periods; a first difference of
            # white noise has gamma1 = -gamma0/2, so the floor binds only where the estimated
            # autocorrelation is below -0.75 (sampling noise), and it was in place when the rates
            # above were measured
            se[j] = np.sqrt(max(sd[j] ** 2 + g1, sd[j] ** 2 / 4) / n_t[j])
    df = np.maximum(n_t - 1, 1).astype(float)
    stat = est / se
    sd_y = zc[:, 0].std(ddof=1)
    scale = zc[:, 1:].std(axis=0, ddof=1) / sd_y if sd_y > 0 else np.full(len(names), np.nan)
    out = pd.DataFrame({
        "term": names, "role": ["exposure" if t in exposures else "control" for t in names],
        "estimate": est, "std_error": se, "statistic": stat, "df": df,
        "p_unc": 2 * sps.t.sf(np.abs(stat), df), "n": len(d), "n_clients": int(d[client].nunique()),
        "n_periods": n_t, "std_effect": est * scale, "std_effect_se": se * scale,
        "small_sample": ("one regression per period, mean slope, SE from the slopes' variance"
                         + (" and first autocovariance (Newey-West, 1 lag)" if change else "")
                         + " / T; t(T-1)"),
    })[keep].reset_index(drop=True)
    out.attrs.update(dropped=dropped, df=float(df[keep].min()), collinear=collinear)
    return out


def _tied_columns(x: np.ndarray) -> np.ndarray:
    """Columns of ``x`` that are linear combinations of others (each column scaled to unit norm;
    relative tolerance 1e-8): removing such a column leaves the rank unchanged."""
    z = x / np.maximum(np.linalg.norm(x, axis=0), 1e-300)
    tol = 1e-8 * max(z.shape)
    rank = np.linalg.matrix_rank(z, tol=tol)
    if rank == z.shape[1]:
        return np.zeros(z.shape[1], dtype=bool)
    return np.array([np.linalg.matrix_rank(np.delete(z, j, axis=1), tol=tol) == rank
                     for j in range(z.shape[1])])


def client_hypotheses(hypotheses: HypothesesArg = None) -> tuple[list[Hypothesis], HypothesisFile]:
    """The hypotheses of a file (or list) marked ``level: client``."""
    hf = as_hypothesis_file(hypotheses)
    return [h for h in hf.hypotheses if h.level == "client"], hf


# The sentences of :func:`sentence`: about clients of a kind compared with other clients, never
# about the company's growth.
#: "higher" / "lower" per language (the direction of a significant difference)
_MORE = {"en": ("higher", "lower"), "ru": ("выше", "ниже")}
_SENTENCE: dict[str, dict[str, str]] = {
    "en": {
        "next": "in the next period", "later": "{h} periods on", "no_data": "no data",
        "eff": "standardised difference {est}, 95 % CI {lo} to {hi}",
        "significant": "{lead}, the {out} of {kind} {when} was {more} than that of other clients "
                       "in the same period ({eff}). This compares clients with clients; it does "
                       "not say that having such clients makes the company grow.",
        "no_effect": "No difference worth noting: with 90 % confidence {kind} differ from other "
                     "clients in {out} by less than ±{m} SD ({eff}). This compares clients with "
                     "clients; it does not say that having such clients makes the company grow.",
        "inconclusive": "Inconclusive: the data can neither confirm nor rule out a difference of "
                        "at least ±{m} SD in {out} between {kind} and other clients ({eff}).",
        "not_testable": "Not testable: {diag}.",
    },
    "ru": {
        "next": "в следующем периоде", "later": "через {h} периода", "no_data": "нет данных",
        "eff": "стандартизованная разница {est}, 95 % ДИ от {lo} до {hi}",
        "significant": "{lead}, у клиентов вида «{kind}» показатель «{out}» {when} был {more}, чем "
                       "у других клиентов того же периода ({eff}). Это сравнение клиентов между "
                       "собой; оно не говорит, что такие клиенты заставляют расти компанию.",
        "no_effect": "Заметной разницы нет: с 90 % уверенностью клиенты вида «{kind}» отличаются "
                     "по показателю «{out}» меньше чем на {m} SD ({eff}). Это сравнение клиентов "
                     "между собой; оно не говорит, что такие клиенты заставляют расти компанию.",
        "inconclusive": "Вывода нет: данные не позволяют ни подтвердить, ни исключить разницу не "
                        "меньше {m} SD по показателю «{out}» у клиентов вида «{kind}» ({eff}).",
        "not_testable": "Проверить нельзя: {diag}.",
    },
}


def sentence(row: dict | pd.Series, lang: str = "en") -> str:
    """A plain sentence for a client-level result: about clients of a kind, never about the
    company's growth."""
    v = row["verdict"]
    i = 1 if lang == "ru" else 0
    lang_key = "ru" if i else "en"
    words = _SENTENCE[lang_key]
    if v not in ("supported", "contradicted", "no_effect", "inconclusive"):
        diag = row.get("diagnostics")
        if i:
            from analysis.i18n import dq

            diag = dq(diag, "ru")
        return words["not_testable"].format(diag=diag or words["no_data"])
    est = row.get("std_effect", np.nan)
    # signed, two decimals, decimal comma in Russian
    f = lambda x: format_signed(x, lang)  # noqa: E731 - a one-line formatter
    h = int(row["lag"])
    return words["significant" if v in LEADS else v].format(
        lead=LEADS.get(v, ("", ""))[i], kind=kind_words(row["category"])[i],
        out=registry.current().client_phrase(str(row["outcome"]))[i],
        when=words["next"] if h == 1 else words["later"].format(h=h),
        more=_MORE[lang_key][0 if est > 0 else 1],
        m=format_decimal(float(row["min_effect"]), lang),
        eff=words["eff"].format(est=f(est), lo=f(row["ci_low"]),
                                hi=f(row["ci_high"])) if np.isfinite(est) else "")


def reads_own_signal(rule_features: Sequence[str], outcome: str) -> list[str]:
    """The features of a kind's rule that read ``outcome``'s own signal at client level (sorted)."""
    signals = CLIENT_SIGNALS.get(outcome)
    if signals is None:
        signals = registry.current().outcome_signals().get(outcome, frozenset())
    return sorted(set(rule_features) & set(signals))


def _rtm_reason(category: str, outcome: str, features: Sequence[str]) -> str:
    """Why a kind whose rule reads the outcome's own signal is not tested at client level (the words
    of the ``dq.client_rtm`` catalogue entry)."""
    return (f"the rule of {category} reads the client's own {', '.join(features)} in the window, "
            f"which {outcome} measures afterwards: its members are picked on highs that revert "
            f"(regression to the mean), and no rule variant without those conditions is left; the "
            f"portfolio-level hypotheses test this kind")


def test_client_links(
    data: pd.DataFrame,
    hypotheses: HypothesesArg = None,
    *,
    alpha: float | None = None,
    power: float = POWER,
    client_effects: bool = False,
    rule_features: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """Test the client-level hypotheses (``level: client``) on :func:`client_panel`'s table.

    The default test is :func:`period_slopes_regression` (one cross-section per period, every kind
    jointly + :data:`CONTROLS`, the mean slope with t(T-1)); ``client_effects=True`` runs the pooled
    :func:`client_regression` with client and period effects instead (SEs clustered by client).
    Where a kind's rule reads the outcome's own signal (``rule_features``: kind → the features its
    rule reads; :data:`CLIENT_SIGNALS`), the test takes the rule variant without those conditions
    when ``data`` has it (``member_<k>_without_<outcome>``), else the hypothesis is not testable and
    ``diagnostics`` says why. Holm over the client-level set (its own family); verdicts as for the
    portfolio hypotheses; MDE = (t(df, 1-alpha/(2m)) + t(df, power)) × SE, the test's own df for
    both quantiles.

    Returns
    -------
    pandas.DataFrame
        One row per client-level hypothesis: ``id, category, outcome, lag, expected_sign, level``
        (``client``), ``test`` (the model in words), ``exposure`` (the membership column used: the
        kind's, or its rule variant's), ``n`` (client-periods used), ``n_clients``, ``n_periods``
        (periods with a slope; clusters with ``client_effects``), ``n_members`` (rows that are
        members), ``estimate`` (difference in outcome units), ``std_error``, ``std_effect``,
        ``std_effect_se``, ``ci_low, ci_high`` (95 %), ``ci90_low, ci90_high``, ``p_unc, p_adj,
        p_adjust_method`` (holm), ``df``, ``mde``, ``power``, ``min_effect``, ``verdict``,
        ``sentence_en``, ``sentence_ru``, ``diagnostics``.
    """
    hs, hf = client_hypotheses(hypotheses)
    alpha = hf.alpha if alpha is None else float(alpha)
    cats = data.attrs.get("categories") or [c[len("member_"):] for c in data.columns
                                            if c.startswith("member_") and "_without_" not in c]
    exposures = [member_column(k) for k in cats if member_column(k) in data.columns]
    controls = (SIZE_CONTROL,) if client_effects \
        else tuple(c for c in CONTROLS if c in data.columns)
    test_words = ("client level: period and client fixed effects, every kind jointly + log window "
                  "revenue, SEs clustered by client (CR1), t(G-1)" if client_effects else
                  "client level: one regression per period (every kind jointly + log window "
                  "revenue and activity in the window), mean slope over periods, t(T-1)")
    fits: dict[tuple, pd.DataFrame | str] = {}
    rows = []
    for h in hs:
        col = f"{h.outcome}_h{h.lag}"
        term = member_column(h.category)
        row = {c: np.nan for c in CLIENT_COLUMNS} | {
            "id": h.id, "category": h.category, "outcome": h.outcome, "lag": h.lag,
            "expected_sign": h.expected_sign,
            "level": "client", "test": test_words, "exposure": term, "p_adjust_method": "holm",
            "min_effect": h.min_effect, "diagnostics": "", "hypothesis_en": h.text_en,
            "hypothesis_ru": h.text_ru}
        if col not in data.columns:
            notes = data.attrs.get("notes")
            row["diagnostics"] = (f"{h.outcome} at lag {h.lag} is not in the client panel"
                                  + (f" ({'; '.join(notes)})" if notes else ""))
            rows.append(row)
            continue
        exps = list(exposures)
        own = reads_own_signal((rule_features or {}).get(h.category, ()), h.outcome)
        if own:
            variant = member_column(f"{h.category}_without_{h.outcome}")
            if variant not in data.columns or term not in exps:
                row["diagnostics"] = _rtm_reason(h.category, h.outcome, own)
                rows.append(row)
                continue
            exps[exps.index(term)] = term = row["exposure"] = variant
        key = (col, tuple(exps))
        if key not in fits:
            try:
                fits[key] = (client_regression(data, outcome=col, exposures=exps, controls=controls,
                                               client_effects=True) if client_effects else
                             period_slopes_regression(data, outcome=col, exposures=exps,
                                                      controls=controls,
                                                      change=h.outcome in CHANGE_OUTCOMES))
            except InputError as exc:
                fits[key] = str(exc)
        fit = fits[key]
        if isinstance(fit, str) or term not in set(fit["term"]):
            row["diagnostics"] = fit if isinstance(fit, str) else (
                f"membership of {h.category} does not vary (no member, or not computable)")
            rows.append(row)
            continue
        r = fit[fit["term"] == term].iloc[0]
        tied = fit.attrs.get("collinear", {}).get(term, [])
        if tied:
            more = ", …" if len(tied) > 3 else ""
            row["diagnostics"] = (f"no slope in {len(tied)} period(s) where its members were "
                                  f"exactly those of another kind ({', '.join(tied[:3])}{more})")
        used = data[[col, *controls, *exps]].dropna()
        row.update(n=int(r["n"]), n_clients=int(r["n_clients"]), n_periods=int(r["n_periods"]),
                   n_members=int(used[term].sum()), estimate=float(r["estimate"]),
                   std_error=float(r["std_error"]),
                   std_effect=float(r["std_effect"]), std_effect_se=float(r["std_effect_se"]),
                   p_unc=float(r["p_unc"]), df=float(r["df"]))
        rows.append(row)
    out = _decide(pd.DataFrame(rows, columns=CLIENT_COLUMNS), alpha=alpha, power=power)
    out.attrs.update(alpha=alpha, level="client", client_effects=client_effects)
    return out


def _decide(out: pd.DataFrame, *, alpha: float, power: float) -> pd.DataFrame:
    """Holm over the tested rows, the intervals, the MDE (:func:`t_mde`), verdicts and sentences."""
    ok = out["p_unc"].notna()
    m = int(ok.sum())
    if m:
        out.loc[ok, "p_adj"] = adjust_pvalues(out.loc[ok, "p_unc"].to_numpy(dtype=float),
                                              method="holm",
                                              alpha=alpha)["p_adj"].to_numpy()
    for i in out.index[ok]:
        df, se = float(out.at[i, "df"]), float(out.at[i, "std_effect_se"])
        est = float(out.at[i, "std_effect"])
        q95, q90 = sps.t.ppf(0.975, df), sps.t.ppf(0.95, df)
        out.loc[i, ["ci_low", "ci_high", "ci90_low", "ci90_high"]] = [
            est - q95 * se, est + q95 * se, est - q90 * se, est + q90 * se]
        out.at[i, "mde"] = t_mde(se, df, alpha=alpha, power=power, m=m)
    out["power"] = power
    out["verdict"] = [verdict(r.p_adj, r.std_effect, r.ci90_low, r.ci90_high,
                              expected_sign=r.expected_sign,
                              min_effect=r.min_effect, alpha=alpha) for r in out.itertuples()]
    out["sentence_en"] = [sentence(r, "en") for _, r in out.iterrows()]
    out["sentence_ru"] = [sentence(r, "ru") for _, r in out.iterrows()]
    return out


def t_mde(std_error: float, df: float, *, alpha: float = 0.05, power: float = 0.8,
          m: int = 1) -> float:
    """MDE of a t test with ``df`` degrees of freedom: (t(df, 1 - alpha/(2m)) + t(df, power)) × SE —
    the test's own t for the size and for the power (with few periods the normal quantile of the
    power would promise more than the test delivers)."""
    return float((sps.t.ppf(1 - alpha / (2 * m), df) + sps.t.ppf(power, df)) * std_error)


test_client_links.__test__ = False  # type: ignore[attr-defined]  # pytest reads it; not a test


def display(results: pd.DataFrame) -> pd.DataFrame:
    """The results as a page shows them: outcome ids marked as client-level (their labels say
    "own …", not the portfolio outcomes' "the other clients' …")."""
    out = results.copy()
    out["outcome"] = "client_" + out["outcome"].astype(str)
    return out


def client_links(panel: pd.DataFrame, membership: pd.DataFrame, hypotheses: HypothesesArg = None, *,
                 window: int = 4, client_effects: bool = False,
                 rulebook: Rulebook | str | Path | None = None,
                 variants: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`client_panel` then :func:`test_client_links` (tables/client_links.csv).

    ``rulebook`` (a :class:`analysis.categories.rules.Rulebook`, a path, or None for the default)
    says which features each kind's rule reads; ``variants`` (the study's rule variants) supply the
    kinds decided without an outcome's own signal."""
    from analysis.categories.rules import Rulebook, load_rulebook

    hs, _ = client_hypotheses(hypotheses)
    lags = sorted({h.lag for h in hs}) or [1]
    book = rulebook if isinstance(rulebook, Rulebook) else load_rulebook(rulebook)
    feats = {c.id: sorted({leaf.feature for leaf in c.rule.leaves()}) for c in book.categories}
    data = client_panel(panel, membership, window=window, lags=lags, variants=variants)
    return test_client_links(data, hypotheses, client_effects=client_effects, rule_features=feats)
