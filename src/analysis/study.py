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

    @property
    def kw(self) -> dict:
        """Keyword arguments the categories functions share (window and the raw tables)."""
        b = self.base
        return dict(window=self.window, kpis=b.kpis, events=b.events, transactions=b.transactions)

    @property
    def synthetic(self) -> bool:
        return bool(self.base.synthetic)


def prepare(data_dir: str | Path = "", *, config: str | Path = "", rulebook: str | Path = "", window: int = 4,
            engine: str = "duckdb") -> Study:
    """Read the client base (the bundled sample when ``data_dir`` is empty) and classify it.

    Returns
    -------
    Study
        ``base`` (canonical tables), ``panel`` (client × period), ``features`` (client × period
        over the trailing window), ``membership`` (the membership table of DESIGN.md),
        ``rulebook``, ``window``, ``data_dir``.
    """
    if not isinstance(window, int) or window < 1:
        raise InputError(f"window must be a whole number of periods ≥ 1, got {window!r}")
    folder = Path(data_dir) if data_dir else SAMPLE_DIR
    book = _categories.load_rulebook(rulebook or None)
    base = load(folder, config=config or None)
    if base.transactions is None:
        raise InputError(f"{folder}: the pages need order lines (transactions); none were found")
    panel = client_period_panel(base, engine=engine)
    kw = dict(window=window, kpis=base.kpis, events=base.events, transactions=base.transactions)
    feats = client_features(panel, base.clients, **kw)
    membership = _categories.classify(panel, base.clients, rulebook=book, features=feats, **kw)
    return Study(base, panel, feats, membership, book, window, folder)
