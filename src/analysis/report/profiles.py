"""Descriptive views of the categories: counts, overlap, profiles, ABC/XYZ, examples."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from analysis import registry

if TYPE_CHECKING:
    from analysis.report.study import Study


def _decided(membership: pd.DataFrame, period: str | None) -> pd.DataFrame:
    ok = membership[membership["status"] == "ok"]
    if period is None:
        period = ok["period"].max()
    return ok[ok["period"] == period]


def counts_by_period(membership: pd.DataFrame) -> pd.DataFrame:
    """Per period and category: ``members``, ``decided`` (clients with a full window), ``share``."""
    ok = membership[membership["status"] == "ok"]
    out = ok.groupby(["period", "category"], sort=True).agg(
        members=("member", lambda s: int(s.fillna(False).sum())),
        decided=("member", "size")).reset_index()
    out["share"] = out["members"] / out["decided"]
    return out


def overlap(membership: pd.DataFrame, *, period: str | None = None) -> pd.DataFrame:
    """Clients holding both categories (rows × columns) in ``period`` (default: the last one)."""
    cur = _decided(membership, period)
    wide = cur.pivot_table(index="client_id", columns="category", values="member", aggfunc="first")
    wide = wide.fillna(False).astype(int)
    kinds = registry.current().kind_ids()
    cats = [c for c in kinds if c in wide.columns] + [c for c in wide.columns if c not in kinds]
    wide = wide[cats]
    return wide.T @ wide


def profiles(membership: pd.DataFrame, features: pd.DataFrame, *, period: str | None = None,
             columns: tuple[str, ...] = ("revenue", "margin", "orders", "claims_per_100_orders",
                                         "trials", "prepayments", "deferrals_per_incident",
                                         "tenure", "client_age",
                                         "new_product_share", "brand_score")) -> pd.DataFrame:
    """Median of each feature for the members of each category and for all decided clients."""
    cur = _decided(membership, period)
    feats = features[
        features["period"] == cur["period"].iloc[0]] if len(cur) else features.iloc[0:0]
    cols = [c for c in columns if c in feats.columns]
    feats = feats.set_index("client_id")[cols].apply(pd.to_numeric, errors="coerce")
    rows = {}
    for cat, g in cur.groupby("category", sort=False):
        members = g.loc[g["member"].fillna(False).astype(bool), "client_id"]
        rows[cat] = feats.reindex(members).median()
        rows[cat]["clients"] = len(members)
    rows["all clients"] = feats.reindex(cur["client_id"].unique()).median()
    rows["all clients"]["clients"] = cur["client_id"].nunique()
    out = pd.DataFrame(rows).T
    return out[["clients", *cols]]


def abc_xyz(features: pd.DataFrame, *, period: str | None = None) -> pd.DataFrame:
    """Clients per ABC class (by revenue) × XYZ class (revenue variability) in ``period``."""
    f = features[features["complete"].astype(bool)] if "complete" in features else features
    period = period or f["period"].max()
    cur = f[f["period"] == period]
    return pd.crosstab(cur["abc_revenue"], cur["xyz_class"]).rename_axis(index="ABC", columns="XYZ")


def examples(membership: pd.DataFrame, clients: pd.DataFrame, features: pd.DataFrame, *,
             period: str | None = None,
             per_category: int = 3, seed: int = 1) -> pd.DataFrame:
    """A few member clients per category with the reason the rules give (a reproducible draw).

    ``reason`` is the text of the row's ``reason_code`` with the client's values from ``features``
    (:func:`analysis.categories.rules.explain`)."""
    from analysis.categories.rules import explain

    cur = _decided(membership, period)
    members = cur[cur["member"].fillna(False).astype(bool)]
    picks = members.sample(frac=1.0, random_state=seed) \
        .groupby("category", sort=False, observed=True).head(per_category)
    names = clients.set_index("client_id")["name"] if "name" in clients else None
    out = picks[["category", "client_id", "portfolio", "period"]].copy()
    for c in out.columns:
        out[c] = out[c].astype(str)
    out["reason"] = explain(picks, features, membership.attrs.get("reasons")).to_numpy()
    if names is not None:
        out.insert(2, "name", out["client_id"].map(names))
    order = {c: i for i, c in enumerate(registry.current().kind_ids())}
    return out.sort_values("category", key=lambda s: s.map(order)).reset_index(drop=True)


def facts(study: Study) -> dict:
    """Headline numbers of a client base: clients, portfolios, periods, first and last period."""
    panel = study.panel
    active = panel[panel["revenue"] > 0]
    return {
        "clients": int(active["client_id"].nunique()),
        "portfolios": int(active["portfolio"].nunique()),
        "periods": int(active["period"].nunique()),
        "first_period": str(active["period"].min()),
        "last_period": str(active["period"].max()),
        "order_lines": int(panel["orders"].sum()),
    }
