"""One call that every page starts with: read, aggregate, describe and classify a client base.

A report run prepares the study once (:func:`save_prepared`, Parquet files in the run's temporary
folder, stamped with a fingerprint of the inputs and parameters) and every page loads it through
``prepare(..., cache=folder)``: a page never reads or classifies the data again, and a prepared
study made for other inputs or parameters is refused rather than used.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis import categories as _categories
from analysis import progress
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
    _growth: pd.DataFrame | None = field(default=None, repr=False)
    _tested: dict = field(default_factory=dict, repr=False)

    @property
    def kw(self) -> dict:
        """Keyword arguments the categories functions share (window and the raw tables)."""
        b = self.base
        return dict(window=self.window, kpis=b.kpis, events=b.events, transactions=b.transactions)

    @property
    def synthetic(self) -> bool:
        return bool(self.base.synthetic)

    @property
    def growth_panel(self) -> pd.DataFrame:
        """The portfolio × period exposures and outcomes (:func:`analysis.growth.portfolio_panel`),
        computed once."""
        if self._growth is None:
            from analysis import growth

            self._growth = growth.portfolio_panel(self.panel, self.membership, window=self.window, kpis=self.base.kpis,
                                                  variants=self.variants)
        return self._growth

    def tested(self, hypotheses: str | Path | None = None, *, seed: int = 1) -> pd.DataFrame:
        """The confirmatory tests on :attr:`growth_panel` (:func:`analysis.hypotheses.test_hypotheses`
        with ``hypotheses`` and ``seed``), computed once per study: pages showing them share one fit."""
        key = _tested_key(hypotheses, seed)
        if key not in self._tested:
            from analysis import hypotheses as hyp

            self._tested[key] = hyp.test_hypotheses(self.growth_panel, hypotheses or None, seed=seed)
        return self._tested[key].copy()


def prepare(data_dir: str | Path = "", *, config: str | Path = "", rulebook: str | Path = "", window: int = 4,
            engine: str = "duckdb", portfolio: str = "", anonymize: bool = False, cache: str | Path = "") -> Study:
    """Read the client base (the bundled sample when ``data_dir`` is empty) and classify it.

    ``portfolio`` keeps that portfolio's clients only (the statistics then run in their
    one-portfolio mode); ``anonymize`` replaces client ids and names by keyed pseudonyms right
    after loading (key from ``KEYCLIENTS_ANON_KEY``), so nothing downstream sees a real one.
    ``cache`` is a folder written by :func:`save_prepared` (the report runner's): the study is
    loaded from it, after checking that it was made from the same inputs and parameters.

    Returns
    -------
    Study
        ``base`` (canonical tables), ``panel`` (client × period), ``features`` (client × period
        over the trailing window), ``membership`` (the membership table of DESIGN.md),
        ``rulebook``, ``window``, ``data_dir``, ``variants``
        (:func:`analysis.categories.classify_variants`, for the outcomes on "the other clients").
    """
    if cache:  # first, while locals() holds the arguments alone
        return load_prepared(cache, fingerprint(data_dir, **{k: v for k, v in locals().items()
                                                             if k not in ("data_dir", "cache")}))
    if not isinstance(window, int) or window < 1:
        raise InputError(f"window must be a whole number of periods ≥ 1, got {window!r}")
    folder = Path(data_dir) if data_dir else SAMPLE_DIR
    book = _categories.load_rulebook(rulebook or None)
    progress.step("reading the data")
    base = restrict(load(folder, config=config or None), portfolio=portfolio, anonymize=anonymize)
    if base.transactions is None:
        raise InputError(f"{folder}: the pages need order lines (transactions); none were found")
    progress.step("building the client × period panel")
    panel = client_period_panel(base, engine=engine)
    kw = dict(window=window, kpis=base.kpis, events=base.events, transactions=base.transactions)
    progress.step("computing client features")
    feats = client_features(panel, base.clients, **kw)
    progress.step("classifying clients")
    membership = _categories.classify(panel, base.clients, rulebook=book, features=feats, **kw)
    variants = _categories.classify_variants(panel, base.clients, rulebook=book, features=feats, **kw)
    progress.step("")
    return Study(base, panel, feats, membership, book, window, folder, variants)


MANIFEST = "study.json"


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _options(data_dir, options: dict) -> dict:
    """Every argument of :func:`prepare` with its default filled in (``cache`` left out)."""
    import inspect

    bound = inspect.signature(prepare).bind_partial(data_dir, **options)
    bound.apply_defaults()
    out = dict(bound.arguments)
    out.pop("cache", None)
    return out


def fingerprint(data_dir: str | Path = "", **options) -> str:
    """A checksum of everything :func:`prepare` reads and is given (``options``: its keyword
    arguments): the data folder's files, the config and rulebook files, every argument (defaults
    filled in), the package version and (hashed) the pseudonymisation key."""
    import os
    from importlib.metadata import version

    args = _options(data_dir, options)
    folder = Path(args.pop("data_dir") or SAMPLE_DIR)
    h = hashlib.sha256()
    key = os.environ.get("KEYCLIENTS_ANON_KEY", "") if args.get("anonymize") else ""
    h.update(json.dumps({**{k: str(v) for k, v in args.items()}, "version": version("keyclients"),
                         "key": hashlib.sha256(key.encode()).hexdigest() if key else ""}, sort_keys=True).encode())
    for f in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
        h.update(str(f.relative_to(folder)).encode() + b"\0" + _file_digest(f).encode())
    for name in ("config", "rulebook"):
        extra = args.get(name)
        h.update(_file_digest(Path(extra)).encode() if isinstance(extra, (str, Path)) and extra else b"-")
    return h.hexdigest()


def _tested_key(hypotheses, seed: int) -> str:
    text = _file_digest(Path(hypotheses)) if hypotheses else "built-in"
    return f"{text}-{int(seed)}"


def save_prepared(folder: str | Path, data_dir: str | Path = "", *, hypotheses: str | Path = "", seed: int = 1,
                  **options) -> Path:
    """Prepare the study once for a report run (``options``: :func:`prepare`'s keywords) and
    write it to ``folder``: its tables (the canonical ones, panel, features, memberships, the
    growth panel and the confirmatory tests with ``hypotheses`` and ``seed``) as Parquet, its
    other parts (rulebook, window…) pickled for this run only, and ``study.json`` with the
    :func:`fingerprint`.

    Returns the folder. Pages load it with ``prepare(..., cache=folder)``.
    """
    import dataclasses
    import pickle

    from analysis import progress

    s = prepare(data_dir, **options)
    progress.step("testing the hypotheses")
    tested_key = _tested_key(hypotheses or None, seed)
    s.tested(hypotheses or None, seed=seed)
    s.growth_panel  # noqa: B018 - computed once, saved below
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tables, rest = {}, {}
    for obj, prefix in ((s.base, "base."), (s, "")):
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if isinstance(value, pd.DataFrame):
                tables[prefix + f.name] = value
            elif prefix + f.name != "base":
                rest[prefix + f.name] = value
    tables["_growth"] = s._growth
    tables["_tested"] = s._tested[tested_key]
    rest.pop("_tested", None)
    rest.pop("_growth", None)
    for name, df in tables.items():
        df.to_parquet(folder / f"{name}.parquet", index=False)
    (folder / "rest.pickle").write_bytes(pickle.dumps(rest))
    meta = {"fingerprint": fingerprint(data_dir, **options), "tables": sorted(tables), "tested": tested_key}
    (folder / MANIFEST).write_text(json.dumps(meta, indent=1, ensure_ascii=False), encoding="utf-8")
    progress.step("")
    return folder


def load_prepared(folder: str | Path, expected: str) -> Study:
    """The study :func:`save_prepared` wrote to ``folder``; an :class:`InputError` when its
    fingerprint is not ``expected`` (it was made from other inputs or parameters)."""
    import pickle

    folder = Path(folder)
    try:
        meta = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise InputError(f"{folder}: no prepared study there (study.json missing); rerun the report") from None
    if meta.get("fingerprint") != expected:
        raise InputError(f"{folder}: the prepared study was made from other inputs or parameters than this page's; "
                         "rerun the report")
    parts = pickle.loads((folder / "rest.pickle").read_bytes())
    parts.update({name: pd.read_parquet(folder / f"{name}.parquet") for name in meta["tables"]})
    base = ClientBase(**{k[5:]: v for k, v in parts.items() if k.startswith("base.")})
    tested = parts.pop("_tested")
    s = Study(base=base, **{k: v for k, v in parts.items() if not k.startswith("base.")})
    s._tested[meta["tested"]] = tested
    return s


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
