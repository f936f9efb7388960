"""One call that every page starts with: read, aggregate, describe and classify a client base."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis import categories as _categories
from analysis.config import SAMPLE_DIR
from analysis.errors import InputError
from analysis.features import client_features
from analysis.ingest import ClientBase, load
from analysis.panel import client_period_panel


@dataclass
class Study:
    """A client base ready for the pages: its tables, the panel, features and memberships."""

    base: ClientBase
    panel: pd.DataFrame
    features: pd.DataFrame
    membership: pd.DataFrame
    rulebook: _categories.Rulebook
    window: int
    data_dir: Path
    variants: pd.DataFrame | None = None  # rule variants for outcomes on "the other clients"

    @property
    def kw(self) -> dict:
        """Keyword arguments the categories functions share (window and the raw tables)."""
        b = self.base
        return dict(window=self.window, kpis=b.kpis, events=b.events, transactions=b.transactions)

    @property
    def synthetic(self) -> bool:
        return bool(self.base.synthetic)


def prepare(data_dir: str | Path = "", *, config: str | Path = "", rulebook: str | Path = "", window: int = 4,
            engine: str = "duckdb", portfolio: str = "", anonymize: bool = False) -> Study:
    """Read the client base (the bundled sample when ``data_dir`` is empty) and classify it.

    ``portfolio`` keeps that portfolio's clients only (the statistics then run in their
    one-portfolio mode); ``anonymize`` replaces client ids and names by keyed pseudonyms right
    after loading (key from ``KEYCLIENTS_ANON_KEY``), so nothing downstream sees a real one.

    Returns
    -------
    Study
        ``base`` (canonical tables), ``panel`` (client × period), ``features`` (client × period
        over the trailing window), ``membership`` (the membership table of DESIGN.md),
        ``rulebook``, ``window``, ``data_dir``, ``variants``
        (:func:`analysis.categories.classify_variants`, for the outcomes on "the other clients").
    """
    if not isinstance(window, int) or window < 1:
        raise InputError(f"window must be a whole number of periods ≥ 1, got {window!r}")
    folder = Path(data_dir) if data_dir else SAMPLE_DIR
    book = _categories.load_rulebook(rulebook or None)
    base = restrict(load(folder, config=config or None), portfolio=portfolio, anonymize=anonymize)
    if base.transactions is None:
        raise InputError(f"{folder}: the pages need order lines (transactions); none were found")
    panel = client_period_panel(base, engine=engine)
    kw = dict(window=window, kpis=base.kpis, events=base.events, transactions=base.transactions)
    feats = client_features(panel, base.clients, **kw)
    membership = _categories.classify(panel, base.clients, rulebook=book, features=feats, **kw)
    variants = _categories.classify_variants(panel, base.clients, rulebook=book, features=feats, **kw)
    return Study(base, panel, feats, membership, book, window, folder, variants)


def restrict(base: ClientBase, *, portfolio: str = "", anonymize: bool = False) -> ClientBase:
    """``base`` cut to one portfolio's clients and/or with pseudonyms for client ids and names."""
    if portfolio:
        base = only_portfolio(base, portfolio)
    if anonymize:
        from analysis.anonymize import anonymize_base, key_from_env

        base = anonymize_base(base, key_from_env())
    return base


def portfolios(base: ClientBase) -> list[str]:
    """The portfolios of a client base, sorted (``["all"]`` when the clients carry none)."""
    if "portfolio" not in base.clients:
        return ["all"]
    return sorted(base.clients["portfolio"].dropna().astype(str).unique())


def only_portfolio(base: ClientBase, portfolio: str) -> ClientBase:
    """The clients of one portfolio with their order lines, events and KPIs."""
    import dataclasses

    if "portfolio" not in base.clients:
        if portfolio == "all":
            return base
        raise InputError(f"portfolio {portfolio!r}: the clients table has no portfolio column")
    keep = base.clients["portfolio"].astype(str) == str(portfolio)
    if not keep.any():
        raise InputError(f"portfolio {portfolio!r}: no client belongs to it; the data have "
                         f"{', '.join(portfolios(base)[:10])}")
    clients = base.clients[keep].reset_index(drop=True)
    ids = set(clients["client_id"].astype(str))
    changes: dict = {"clients": clients}
    for table in ("transactions", "events", "client_periods"):
        df = getattr(base, table)
        if df is not None:
            changes[table] = df[df["client_id"].astype(str).isin(ids)].reset_index(drop=True)
    if base.kpis is not None and "portfolio" in base.kpis:
        changes["kpis"] = base.kpis[base.kpis["portfolio"].astype(str) == str(portfolio)].reset_index(drop=True)
    return dataclasses.replace(base, **changes)
