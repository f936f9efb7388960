"""Growth by kind: each period's change in revenue and gross profit split among the kinds' clients.

Descriptive and exact. For every pair of consecutive periods (t-1, t) each client's change
``x(t) - x(t-1)`` goes to exactly one kind and one component:

- **won**: no revenue in t-1, revenue in t (new or returning clients);
- **lost**: revenue in t-1, none in t;
- **grown** / **shrunk**: revenue in both periods, the measure went up / down;
- **other**: revenue in neither (credit notes or returns without a sale).

*Which kind.* Clients hold several kinds at once, so a sum over kinds would count some clients
twice. Each client is attributed to its **main kind**: the first kind it holds in the priority
``image, advanced, demanding, understanding, key_profit, key_revenue`` (the article's four
kinds first, the rarest signals first — the rulebook's ``priority``,
:func:`analysis.categories.rules.main_kind_priority`), ``none`` when it holds no kind, ``undecided``
when its kinds could not be decided (the first W-1 periods of the data). The kind is the one held in
t-1 (the start of the step); a client with no decision in t-1 (a new client) takes the one it holds
in t.

*Exactness.* Money is turned into integer minor units (cents) before anything is added, so every
table sums to the company's change to the cent, whatever the order of summation; amounts are
returned as ``minor units / 100``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.categories.rules import main_kind_priority
from analysis.errors import InputError
from analysis.ingest.periods import period_axis

COMPONENTS = ("won", "lost", "grown", "shrunk", "other")
MEASURES = ("revenue", "gross_profit")
NONE, UNDECIDED = "none", "undecided"

DECOMPOSITION_COLUMNS = [
    "measure", "period", "prev_period", "kind", "prev_value", "value", *COMPONENTS, "kept",
    "change",
    "company_change", "share_of_change", "clients", "won_clients", "new_clients", "lost_clients",
]  # fmt: skip
SUMMARY_COLUMNS = [
    "measure", "kind", "start_period", "first_period", "last_period", "start_value", "change",
    "share_of_change", "gains",
    "share_of_gains", "losses", "share_of_losses", "lost", "share_of_lost", "new_clients",
    "share_of_new_clients", "share_of_start",
]  # fmt: skip


def to_minor(values: pd.Series | np.ndarray) -> np.ndarray:
    """Money as integer minor units (cents): ``round(x * 100)``; NaN counts as 0.

    The panel sums money exactly as DECIMAL(…, 2) and hands it over as float, so rounding
    recovers the exact cents (for amounts below 10^13).
    """
    x = np.nan_to_num(np.asarray(values, dtype=float), nan=0.0)
    if np.abs(x).max(initial=0.0) >= 1e13:
        raise InputError(
            "an amount of 10^13 or more cannot be kept exact to the cent; check the money columns")
    return np.rint(x * 100).astype(np.int64)


def main_kinds(membership: pd.DataFrame, *, priority: Sequence[str] | None = None) -> pd.DataFrame:
    """One main kind per client and period: ``client_id, period, kind``.

    ``kind`` is the first kind held in ``priority`` order, ``none`` when none is held and
    ``undecided`` when no kind could be decided (every row ``short_history`` or ``not_computable``).
    """
    need = {"client_id", "period", "category", "member"}
    missing = sorted(need - set(membership.columns))
    if missing:
        raise InputError(f"the membership table has no column(s) {missing}; build it with "
                         f"analysis.categories.rules.classify")
    m = membership[["client_id", "period", "category", "member"]].copy()
    m["client_id"] = m["client_id"].astype(str)
    m["period"] = m["period"].astype(str)
    rank = {c: i for i, c in enumerate(main_kind_priority() if priority is None else priority)}
    flag = m["member"].astype("boolean")
    m["_rank"] = np.where(flag.fillna(False).to_numpy(dtype=bool),
                          m["category"].map(rank).fillna(len(rank)).to_numpy(dtype=float), np.inf)
    m["_known"] = flag.notna().to_numpy()
    g = m.sort_values("_rank", kind="stable").groupby(["client_id", "period"], sort=True)
    first = g.first()
    known = g["_known"].any()
    kind = np.where(np.isfinite(first["_rank"].to_numpy()),
                    first["category"].astype(str).to_numpy(),
                    np.where(known.to_numpy(), NONE, UNDECIDED))
    return pd.DataFrame({"client_id": first.index.get_level_values(0),
                         "period": first.index.get_level_values(1),
                         "kind": kind})


def kind_order(kinds: Sequence[str], priority: Sequence[str] | None = None) -> list[str]:
    """Kinds in display order: the priority order, then ``none``, then ``undecided``."""
    priority = main_kind_priority() if priority is None else priority
    present = set(kinds)
    return [k for k in (*priority, NONE, UNDECIDED) if k in present] + sorted(
        present - {*priority, NONE, UNDECIDED})


def growth_by_kind(
    panel: pd.DataFrame,
    membership: pd.DataFrame,
    *,
    measures: Sequence[str] = MEASURES,
    priority: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Each period's change of the company's revenue and gross profit, by kind and component.

    Parameters
    ----------
    panel : pandas.DataFrame
        Client × period panel (:func:`analysis.ingest.panel.client_period_panel`): ``client_id,
        period, revenue`` and ``gross_profit`` when costs are known. Every portfolio together
        (the company); cut it to one portfolio first to decompose that portfolio alone.
    membership : pandas.DataFrame
        Membership table (``client_id, period, category, member``).
    measures : sequence of str
        ``revenue`` and/or ``gross_profit`` (left out when the panel has no gross profit).
    priority : sequence of str
        Order in which a client's kinds are read to choose its main kind.

    Returns
    -------
    pandas.DataFrame
        One row per measure, period t (from the second period on) and kind (every kind present
        in the data, ``none`` and ``undecided``): ``measure, period, prev_period, kind``,
        ``prev_value`` and ``value`` (the kind's clients' x(t-1) and x(t); value - prev_value =
        change), the components ``won, lost, grown, shrunk, other``, ``kept`` (= grown + shrunk),
        ``change`` (the kind's sum of all components), ``company_change`` (x(t) - x(t-1) of the
        company), ``share_of_change`` (change / company_change; NaN when the company did not
        change), ``clients`` (the kind's clients with revenue in t-1 or t), ``won_clients``,
        ``new_clients`` (won clients buying for the first time in the data), ``lost_clients``.
        Amounts are exact to the cent: the components of a row add up to ``change`` and the
        rows of a period add up to ``company_change``, in integer minor units.

        ``DataFrame.attrs``: ``priority``, ``measures``, ``notes``.

    Examples
    --------
    >>> from analysis.report import study
    >>> s = study.prepare()
    >>> t = growth_by_kind(s.panel, s.membership)
    >>> one = t[(t.measure == "revenue") & (t.period == "2024Q2")]
    >>> int(to_minor(one["change"]).sum()) == int(to_minor(one["company_change"].iloc[:1])[0])
    True
    """
    need = [c for c in ("client_id", "period", "revenue") if c not in panel.columns]
    if need:
        raise InputError(f"the client × period panel has no column(s) {need}; build it with "
                         "analysis.ingest.panel.client_period_panel")
    bad = [m for m in measures if m not in MEASURES]
    if bad:
        raise InputError(
            f"The value for `measures` must be among {list(MEASURES)}, but {bad} was passed.")
    notes: list[str] = []
    use = []
    for m in measures:
        if m in panel.columns and panel[m].notna().any():
            use.append(m)
        else:
            notes.append(f"{m}: not in the data (no cost or gross profit column); left out")
    periods = period_axis(panel["period"].astype(str).unique())
    if len(periods) < 2:
        raise InputError(f"growth by kind needs at least 2 periods; the data have {len(periods)}")
    ids = panel["client_id"].astype(str)
    clients = pd.Index(sorted(ids.unique()))
    ci = clients.get_indexer(ids)
    si = pd.Index(periods).get_indexer(panel["period"].astype(str))
    C, T = len(clients), len(periods)

    def matrix(col: str) -> np.ndarray:
        out = np.zeros((C, T), dtype=np.int64)
        np.add.at(out, (ci, si), to_minor(panel[col]))
        return out

    rev = matrix("revenue")
    active = rev > 0
    first = np.where(active.any(axis=1), active.argmax(axis=1), T)
    priority = main_kind_priority() if priority is None else priority
    kinds, code = _kind_codes(membership, clients, periods, priority)
    rows = []
    for m in use:
        rows += _component_rows(m, rev if m == "revenue" else matrix(m), active, first, code, kinds,
                                periods)
    out = pd.DataFrame(rows, columns=[c for c in DECOMPOSITION_COLUMNS if c != "share_of_change"])
    money = ["prev_value", "value", *COMPONENTS, "kept", "change", "company_change"]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(out["company_change"] != 0, out["change"] / out["company_change"].where(
            out["company_change"] != 0, 1), np.nan)
    for c in money:
        out[c] = out[c].astype(np.int64) / 100
    out["share_of_change"] = share
    out = out[DECOMPOSITION_COLUMNS]
    und_rows = out["kind"] == UNDECIDED
    if not (out.loc[und_rows, ["clients", *money[:-1]]] != 0).any().any():
        out = out[~und_rows].reset_index(drop=True)  # no client was ever undecided: an empty group
    out.attrs.update(priority=list(priority), measures=use, notes=notes)
    return out


def _kind_codes(membership: pd.DataFrame, clients: pd.Index, periods: list[str],
                priority: Sequence[str]
                ) -> tuple[list[str], np.ndarray]:
    """The kinds in display order and each client's main kind per period as codes into them
    (clients × periods; ``undecided`` where the membership says nothing)."""
    mk = main_kinds(membership, priority=priority)
    mk = mk[mk["client_id"].isin(clients)]
    kinds = kind_order([*mk["kind"].unique(), UNDECIDED], priority)
    code = np.full((len(clients), len(periods)), kinds.index(UNDECIDED), dtype=np.int64)
    mci = clients.get_indexer(mk["client_id"])
    msi = pd.Index(periods).get_indexer(mk["period"])
    ok = msi >= 0
    code[mci[ok], msi[ok]] = pd.Index(kinds).get_indexer(mk["kind"])[ok]
    return kinds, code


def _component_rows(measure: str, x: np.ndarray, active: np.ndarray, first: np.ndarray,
                    code: np.ndarray,
                    kinds: list[str], periods: list[str]) -> list[dict]:
    """One row per period t ≥ 1 and kind: the change of ``x`` (minor units, clients × periods) from
    t-1 to t split into won, lost, grown, shrunk and other; a client counts in its kind at t-1
    (at t when it was undecided then)."""
    und = kinds.index(UNDECIDED)
    rows = []
    for t in range(1, x.shape[1]):
        a, b = active[:, t - 1], active[:, t]
        d = x[:, t] - x[:, t - 1]
        kind_c = np.where(code[:, t - 1] != und, code[:, t - 1], code[:, t])
        comp = {
            "won": ~a & b,
            "lost": a & ~b,
            "grown": a & b & (d > 0),
            "shrunk": a & b & (d <= 0),
            "other": ~a & ~b,
        }
        company = int(d.sum())
        for j, k in enumerate(kinds):
            sel = kind_c == j
            vals = {c: int(d[sel & mask].sum()) for c, mask in comp.items()}
            rows.append({
                "measure": measure, "period": periods[t], "prev_period": periods[t - 1], "kind": k,
                "prev_value": int(x[sel, t - 1].sum()), "value": int(x[sel, t].sum()), **vals,
                "kept": vals["grown"] + vals["shrunk"], "change": sum(vals.values()),
                "company_change": company,
                "clients": int((sel & (a | b)).sum()),
                "won_clients": int((sel & comp["won"]).sum()),
                "new_clients": int((sel & comp["won"] & (first == t)).sum()),
                "lost_clients": int((sel & comp["lost"]).sum()),
            })
    return rows


def growth_shares(table: pd.DataFrame, *, since: str | None = None) -> pd.DataFrame:
    """Each kind's share of the company's growth, gains, losses, lost revenue and new clients.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`growth_by_kind`'s table.
    since : str, optional
        First period t to include (default: the first period in which some client's kind is
        decided, so the shares are not mostly ``undecided``).

    Returns
    -------
    pandas.DataFrame
        One row per measure and kind over the periods ``first_period`` … ``last_period`` (the
        steps into those periods): ``start_period`` (the period before ``first_period``),
        ``start_value`` (the kind's value in the period before
        ``first_period``, attributed like the changes), ``change`` and ``share_of_change`` (of the
        company's change over the span; NaN when the company's change is 0), ``gains`` (won +
        grown) and ``share_of_gains``, ``losses`` (lost + shrunk, ≤ 0) and ``share_of_losses``,
        ``lost`` (revenue of lost clients) and ``share_of_lost``, ``new_clients`` and
        ``share_of_new_clients``, ``share_of_start`` (the kind's share of the company's value in
        the period before ``first_period``, to compare the other shares with). Amounts exact to
        the cent.
    """
    if table.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    t = table
    if since is None:
        decided = t[(t["kind"] != UNDECIDED) & (t["clients"] > 0)]
        since = str(decided["period"].min()) if len(decided) else str(t["period"].min())
    t = t[t["period"].astype(str) >= since]
    rows = []
    for m, part in t.groupby("measure", sort=False):
        first_p, last_p = str(part["period"].min()), str(part["period"].max())
        minor = {c: part.groupby("kind", sort=False)[c].apply(lambda s: int(to_minor(s).sum()))
                 for c in ("won", "lost", "grown", "shrunk", "change")}
        new = part.groupby("kind", sort=False)["new_clients"].sum()
        head = part[part["period"] == first_p].set_index("kind")["prev_value"]
        start = {k: int(to_minor(pd.Series([v]))[0]) for k, v in head.items()}
        tot = {c: sum(v.values) for c, v in minor.items()}
        tot_new = int(new.sum())
        tot_start = sum(start.values()) if start else 0
        for k in kind_order(list(minor["change"].index)):
            gains = minor["won"][k] + minor["grown"][k]
            losses = minor["lost"][k] + minor["shrunk"][k]
            rows.append({
                "measure": m, "kind": k, "start_period": str(
                    part.loc[part["period"] == first_p, "prev_period"].iloc[0]),
                "first_period": first_p, "last_period": last_p,
                "start_value": start.get(k, 0) / 100,
                "change": minor["change"][k] / 100,
                "share_of_change": minor["change"][k] / tot["change"] if tot["change"] else np.nan,
                "gains": gains / 100,
                "share_of_gains": gains / (tot["won"] + tot["grown"])
                if tot["won"] + tot["grown"] else np.nan,
                "losses": losses / 100,
                "share_of_losses": losses / (tot["lost"] + tot["shrunk"])
                if tot["lost"] + tot["shrunk"] else np.nan,
                "lost": minor["lost"][k] / 100,
                "share_of_lost": minor["lost"][k] / tot["lost"] if tot["lost"] else np.nan,
                "new_clients": int(new[k]),
                "share_of_new_clients": int(new[k]) / tot_new if tot_new else np.nan,
                "share_of_start": start.get(k, 0) / tot_start if tot_start else np.nan,
            })
    out = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    empty = (out["kind"] == UNDECIDED) & (out[["start_value", "gains", "losses",
                                               "new_clients"]] == 0).all(axis=1)
    return out[~empty].reset_index(drop=True)


def shares_display(shares: pd.DataFrame, measure: str = "revenue") -> pd.DataFrame:
    """The shares of one measure as a page shows them: shares in per cent (``*_pct``), rounded only
    here (the CSV keeps them unrounded, as fractions)."""
    d = shares[shares["measure"] == measure]
    out = pd.DataFrame({"kind": d["kind"]})
    for col in ("share_of_start", "share_of_change", "share_of_gains", "share_of_lost",
                "share_of_new_clients"):
        out[f"{col}_pct"] = (100 * d[col]).round(1)
    out.insert(2, "change", d["change"])
    return out.reset_index(drop=True)


def shares_sentence(shares: pd.DataFrame, lang: str = "en", *, measure: str = "revenue") -> str:
    """One descriptive sentence about a measure's change over the span and the kind with the
    largest share of the gains (no causal wording)."""
    from analysis import i18n

    d = shares[(shares["measure"] == measure) & (shares["kind"] != UNDECIDED)]
    if d.empty or not d["share_of_gains"].notna().any():
        return i18n.t("decompose.none", lang)
    top = d.loc[d["share_of_gains"].idxmax()]
    start = float(shares.loc[shares["measure"] == measure, "start_value"].sum())
    change = float(shares.loc[shares["measure"] == measure, "change"].sum())
    return i18n.t("decompose.sentence", lang, measure=i18n.column(measure, lang),
                  first=top["start_period"],
                  last=top["last_period"], change=i18n.number(change, lang, 0),
                  pct=i18n.number(100 * change / start, lang, 1) if start else "—",
                  kind=i18n.label(top["kind"], lang),
                  gains=i18n.percent(top["share_of_gains"], lang),
                  start=i18n.percent(top["share_of_start"], lang)
                  if np.isfinite(top["share_of_start"]) else "—",
                  new=i18n.percent(top["share_of_new_clients"], lang)
                  if np.isfinite(top["share_of_new_clients"]) else "—")
