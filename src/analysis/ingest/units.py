"""Sub-portfolios inside one company: the panel over the company's own units (``portfolio_by``).

A company with one client base still has units of its own — account managers, regions,
branches, sales channels. ``portfolio_by`` names the column (of the clients table or of the order
lines) whose values become the portfolios of the panel, so the statistics compare the company's
own teams over time instead of companies.

Assignment. A client belongs, at period t, to the unit that brought the most of its revenue over
the trailing window t-W+1 … t (the window that decides its kinds); a tie goes to the unit name
first in alphabetical order. A period whose window has no revenue keeps the last unit (before the
first one: the first). A column of the clients table gives every period of a client the same unit.
When the unit at t differs from the unit at the client's previous assigned period, the client
*moved*; :func:`moves` lists every move. A moved client leaves its old unit's retention and counts
as new to its new unit, as it would for the team that gains or loses it.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analysis.errors import InputError

if TYPE_CHECKING:  # the package imports this module: the types only for the checker
    from analysis.ingest import ClientBase

#: The unit of client-periods whose window names none (e.g. order lines without a manager).
UNASSIGNED = "unassigned"
#: Units suggested in messages; any column of the clients table or of the order lines works.
SUGGESTED = ("account_manager", "region", "branch", "channel")


@dataclasses.dataclass
class Units:
    """The unit of every client and period, and the moves between units.

    ``assignment``: ``client_id, period, portfolio`` (the unit), one row per client and period
    whose window has revenue; ``moves``: see :func:`moves`; ``by``: the column; ``source``:
    ``transactions`` or ``clients``.
    """

    by: str
    source: str
    assignment: pd.DataFrame
    moves: pd.DataFrame

    @property
    def names(self) -> list[str]:
        return sorted(self.assignment["portfolio"].unique())

    def unit_of(self, frame: pd.DataFrame) -> pd.Series:
        """The unit of each ``(client_id, period)`` row of ``frame`` (periods without revenue in the
        window take the last unit before them, else the first after them)."""
        return _lookup(self.assignment, frame)


def _period_labels(dates: pd.Series, freq: str) -> pd.Series:
    return pd.to_datetime(dates).dt.to_period(freq).astype(str)


def _columns_hint(base) -> str:
    tx = list(base.transactions.columns) if base.transactions is not None else []
    return (f"the clients table has {', '.join(map(str, base.clients.columns))}; the order lines "
            f"have {', '.join(map(str, tx)) or 'none'}")


def assign(base: ClientBase, *, by: str, window: int, freq: str, periods: list[str]) -> Units:
    """Assign every client-period to a unit of column ``by`` (see the module docstring).

    Parameters
    ----------
    base
        The client base (:class:`analysis.ingest.ClientBase`).
    by
        A column of the order lines (per period) or of the clients table (fixed per client).
    window
        W, periods in the trailing window.
    freq
        Period frequency of the panel (``Q``, ``M`` or ``Y``).
    periods
        The panel's period labels in order (gaps filled).

    Returns
    -------
    Units
    """
    by = str(by).strip()
    tx = base.transactions
    if tx is not None and by in tx.columns:
        source = "transactions"
        unit = tx[by].astype("str").where(tx[by].notna(),
                                          UNASSIGNED).str.strip().replace("", UNASSIGNED)
        lines = pd.DataFrame({"client_id": tx["client_id"].astype(str),
                              "period": _period_labels(tx["date"], freq),
                              "portfolio": unit,
                              "revenue": pd.to_numeric(tx["revenue"], errors="coerce").fillna(0.0)})
    elif by in base.clients.columns:
        source = "clients"
        cl = base.clients
        unit = cl[by].astype("str").where(cl[by].notna(),
                                          UNASSIGNED).str.strip().replace("", UNASSIGNED)
        fixed = pd.DataFrame({"client_id": cl["client_id"].astype(str), "portfolio": unit})
        if tx is not None:
            seen = pd.DataFrame({"client_id": tx["client_id"].astype(str),
                                 "period": _period_labels(tx["date"], freq)}).drop_duplicates()
        else:  # a loaded base has order lines or client periods (ingest.load checks it)
            assert base.client_periods is not None
            seen = base.client_periods[["client_id", "period"]].astype(str).drop_duplicates()
        assignment = seen.merge(fixed, on="client_id", how="inner")
        assignment = _order(assignment, periods)
        return Units(by, source, assignment, moves(assignment, periods))
    elif base.client_periods is not None and by in base.client_periods.columns:
        source = "client_periods"
        cp = base.client_periods
        unit = cp[by].astype("str").where(cp[by].notna(),
                                          UNASSIGNED).str.strip().replace("", UNASSIGNED)
        lines = pd.DataFrame({"client_id": cp["client_id"].astype(str),
                              "period": cp["period"].astype(str),
                              "portfolio": unit,
                              "revenue": pd.to_numeric(cp["revenue"], errors="coerce").fillna(0.0)})
    else:
        raise InputError(f"portfolio_by: {by!r} is a column of neither the clients table nor the "
                         f"order lines; {_columns_hint(base)}; give one of those (e.g. "
                         f"{', '.join(SUGGESTED)}) or map the "
                         "column in the data config")
    pos = pd.Index(periods).get_indexer(lines["period"])
    lines = lines.assign(t=pos)[pos >= 0]
    by_unit = lines.groupby(["client_id", "portfolio", "t"],
                            sort=False)["revenue"].sum().reset_index()
    # each period's revenue counts in the windows ending at t … t+W-1
    parts = [by_unit.assign(t=by_unit["t"] + k) for k in range(window)]
    win = pd.concat(parts, ignore_index=True)
    win = win[win["t"] < len(periods)]
    win = win.groupby(["client_id", "t", "portfolio"], sort=False)["revenue"].sum().reset_index()
    win = win[win["revenue"] > 0]
    # the unit with most window revenue; a tie goes to the name first in alphabetical order
    win = win.sort_values(["client_id", "t", "revenue", "portfolio"],
                          ascending=[True, True, False, True],
                          kind="stable")
    best = win.drop_duplicates(["client_id", "t"], keep="first")
    assignment = pd.DataFrame({"client_id": best["client_id"].to_numpy(),
                               "period": np.asarray(periods, dtype=object)[best["t"].to_numpy()],
                               "portfolio": best["portfolio"].to_numpy()})
    assignment = _order(assignment, periods)
    return Units(by, source, assignment, moves(assignment, periods))


def _order(assignment: pd.DataFrame, periods: list[str]) -> pd.DataFrame:
    t = pd.Index(periods).get_indexer(assignment["period"].astype(str))
    out = assignment.assign(_t=t)[t >= 0].sort_values(["client_id", "_t"], kind="stable")
    return out.drop(columns="_t").reset_index(drop=True).astype({"client_id": "str",
                                                                 "period": "str",
                                                                "portfolio": "str"})


def moves(assignment: pd.DataFrame, periods: list[str]) -> pd.DataFrame:
    """Every move of a client between units.

    Returns
    -------
    pandas.DataFrame
        ``client_id, period`` (the first period in the new unit), ``previous_period`` (the client's
        last period in the old unit), ``from_unit``, ``to_unit``; sorted by period and client.
    """
    a = assignment
    same = a["client_id"].eq(a["client_id"].shift())
    moved = same & a["portfolio"].ne(a["portfolio"].shift())
    out = pd.DataFrame({"client_id": a["client_id"][moved].to_numpy(),
                        "period": a["period"][moved].to_numpy(),
                        "previous_period": a["period"].shift()[moved].to_numpy(),
                        "from_unit": a["portfolio"].shift()[moved].to_numpy(),
                        "to_unit": a["portfolio"][moved].to_numpy()})
    t = pd.Index(periods).get_indexer(out["period"].astype(str))
    out = out.assign(_t=t).sort_values(["_t", "client_id"], kind="stable").drop(columns="_t")
    return out.reset_index(drop=True)


def moves_summary(units: Units, periods: list[str]) -> pd.DataFrame:
    """Per period: ``period, clients`` (assigned), ``moved`` (clients whose unit changed),
    ``moved_share``."""
    n = units.assignment.groupby("period").size()
    m = units.moves.groupby("period").size()
    out = pd.DataFrame({"period": [p for p in periods if p in n.index]})
    out["clients"] = out["period"].map(n).astype("int64")
    out["moved"] = out["period"].map(m).fillna(0).astype("int64")
    out["moved_share"] = out["moved"] / out["clients"]
    return out


def _lookup(assignment: pd.DataFrame, frame: pd.DataFrame) -> pd.Series:
    """Unit per ``(client_id, period)`` of ``frame``: exact, else the last before, else the first
    after."""
    periods = sorted(set(assignment["period"]) | set(frame["period"].astype(str)))
    order = {p: i for i, p in enumerate(_sorted_periods(periods))}
    left = pd.DataFrame({"client_id": frame["client_id"].astype(str).to_numpy(),
                         "_t": frame["period"].astype(str).map(order).to_numpy(dtype=np.int64),
                         "_row": np.arange(len(frame))})
    right = pd.DataFrame({"client_id": assignment["client_id"].to_numpy(),
                          "_t": assignment["period"].map(order).to_numpy(dtype=np.int64),
                          "unit": assignment["portfolio"].to_numpy()})
    left = left.sort_values("_t", kind="stable")
    right = right.sort_values("_t", kind="stable")
    back = pd.merge_asof(left, right, on="_t", by="client_id", direction="backward")
    fwd = pd.merge_asof(left, right, on="_t", by="client_id", direction="forward")
    unit = back["unit"].fillna(fwd["unit"]).fillna(UNASSIGNED)
    out = pd.Series(unit.to_numpy(), index=back["_row"].to_numpy()).sort_index()
    return pd.Series(out.to_numpy(), index=frame.index, dtype="str")


def _sorted_periods(labels: list[str]) -> list[str]:
    try:
        return [str(p) for p in sorted(pd.Period(x) for x in labels)]
    except (ValueError, TypeError):
        return sorted(labels)


def apply(base: ClientBase, panel: pd.DataFrame, *, by: str, window: int, freq: str,
          periods: list[str]) -> tuple[ClientBase, pd.DataFrame, Units]:
    """The panel over units: ``(base, panel, units)`` with ``portfolio`` replaced by the unit.

    ``base.clients`` gets the client's first unit as ``portfolio``; KPIs keep the rows of units
    (a ``portfolio`` column naming units, e.g. each manager's plan), or, when their portfolio names
    no unit, become company-level (the mean over their portfolios in each period).
    """
    units = assign(base, by=by, window=window, freq=freq, periods=periods)
    if units.assignment.empty:
        raise InputError(f"portfolio_by: {by!r}: no client-period with revenue names a unit; check "
                         "the column")
    panel = panel.assign(portfolio=units.unit_of(panel).to_numpy())
    first = units.assignment.drop_duplicates("client_id")[["client_id", "portfolio"]]
    clients = base.clients.drop(columns=["portfolio"], errors="ignore").merge(
        first, on="client_id", how="left")
    clients["portfolio"] = clients["portfolio"].fillna(UNASSIGNED).astype("str")
    changes = {"clients": clients}
    kpis = base.kpis
    if kpis is not None and "portfolio" in kpis.columns:
        if not kpis["portfolio"].astype(str).isin(units.names).any():
            num = [c for c in kpis.columns if c not in ("portfolio", "period")
                   and pd.api.types.is_numeric_dtype(kpis[c])
                   and not pd.api.types.is_bool_dtype(kpis[c])]
            changes["kpis"] = kpis.groupby("period", as_index=False)[num].mean()
    return dataclasses.replace(base, **changes), panel, units


def pseudonymise(
    base: ClientBase, panel: pd.DataFrame, units: Units
) -> tuple[ClientBase, pd.DataFrame, Units]:
    """Units renamed ``U01``, ``U02`` … in name order (account managers are people: with
    ``anonymize`` their names must not reach the pages); returns ``(base, panel, units)``."""
    mapping = {name: f"U{i + 1:02d}" for i, name in enumerate(units.names)}

    def rename(col: pd.Series) -> pd.Series:
        return col.astype(str).map(lambda v: mapping.get(v, v))

    assignment = units.assignment.assign(portfolio=rename(units.assignment["portfolio"]))
    mv = units.moves.assign(from_unit=rename(units.moves["from_unit"]),
                            to_unit=rename(units.moves["to_unit"]))
    changes = {"clients": base.clients.assign(portfolio=rename(base.clients["portfolio"]))}
    if base.kpis is not None and "portfolio" in base.kpis.columns:
        changes["kpis"] = base.kpis.assign(portfolio=rename(base.kpis["portfolio"]))
    tx = base.transactions
    if tx is not None and units.by in tx.columns:
        changes["transactions"] = tx.assign(**{units.by: rename(tx[units.by])})
    return (dataclasses.replace(base, **changes),
            panel.assign(portfolio=rename(panel["portfolio"])),
            dataclasses.replace(units, assignment=assignment, moves=mv))
