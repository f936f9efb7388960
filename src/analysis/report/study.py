"""One call that every page starts with: read, aggregate, describe and classify a client base.

A report run prepares the study once (:func:`save_prepared`, Parquet files in the run's temporary
folder, stamped with a fingerprint of the inputs and parameters) and every page loads it through
``prepare(..., cache=folder)``: a page never reads or classifies the data again, and a prepared
study made for other inputs or parameters is refused rather than used.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict, Unpack

import pandas as pd

from analysis.categories import rules as _categories
from analysis.categories.features import client_features
from analysis.config import FREQUENCIES, SAMPLE_DIR, default_window
from analysis.errors import InputError
from analysis.ingest import ClientBase, DataConfig, load, read_config
from analysis.ingest.panel import client_period_panel
from analysis.report import progress

if TYPE_CHECKING:
    from IPython.display import HTML

    from analysis.ingest.units import Units


class CategoryInputs(TypedDict):
    """The keyword arguments the categories functions share (:attr:`Study.kw`)."""

    window: int
    kpis: pd.DataFrame | None
    events: pd.DataFrame | None
    transactions: pd.DataFrame | None


class PrepareOptions(TypedDict, total=False):
    """:func:`prepare`'s keywords but ``cache`` (:func:`fingerprint`, :func:`save_prepared`)."""

    config: str | Path
    rulebook: str | Path
    window: int
    engine: str
    portfolio: str
    anonymize: bool
    freq: str
    portfolio_by: str
    per_portfolio: bool


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
    freq: str = "Q"
    units: Units | None = None  # when the panel runs over the company's own units
    companies: pd.DataFrame | None = None  # one row per company folder (analysis.ingest.companies)
    variants: pd.DataFrame | None = None  # rule variants for outcomes on "the other clients"
    #: order lines counted per client, period and manager (``--engine spark``: the order lines
    #: themselves stay in the engine and ``base.transactions`` is None)
    managers: pd.DataFrame | None = None
    _growth: pd.DataFrame | None = field(default=None, repr=False)
    _tested: dict = field(default_factory=dict, repr=False)

    @property
    def kw(self) -> CategoryInputs:
        """Keyword arguments the categories functions share (window and the raw tables)."""
        b = self.base
        tx = self.managers if self.managers is not None else b.transactions
        return CategoryInputs(window=self.window, kpis=b.kpis, events=b.events, transactions=tx)

    @property
    def synthetic(self) -> bool:
        return bool(self.base.synthetic)

    @property
    def growth_panel(self) -> pd.DataFrame:
        """The portfolio × period exposures and outcomes
        (:func:`analysis.growth.panel.portfolio_panel`), computed once."""
        if self._growth is None:
            from analysis.growth import panel as growth

            self._growth = growth.portfolio_panel(self.panel, self.membership, window=self.window,
                                                  kpis=self.base.kpis,
                                                  variants=self.variants)
        return self._growth

    def tested(self, hypotheses: str | Path | None = None, *, seed: int = 1) -> pd.DataFrame:
        """The confirmatory tests on :attr:`growth_panel`
        (:func:`analysis.growth.confirmatory.test_hypotheses` with ``hypotheses`` and ``seed``),
        computed once per study: pages showing them share one fit."""
        key = _tested_key(hypotheses, seed)
        if key not in self._tested:
            from analysis.growth.confirmatory import test_hypotheses

            # the MDE column calibrated on the data's own design (CV3 rows), as the pages show it
            self._tested[key] = test_hypotheses(self.growth_panel, hypotheses or None, seed=seed,
                                                mde_by_design=True,
                                                **inference_options(self.growth_panel))
        return self._tested[key].copy()


@dataclass(frozen=True)
class Settings:
    """How the panel is cut: ``freq`` (Q, M or Y), ``window`` (periods), ``portfolio_by`` ("" for
    the data's own portfolios) and the data ``config`` (:class:`DataConfig`) they came from."""

    freq: str
    window: int
    portfolio_by: str
    config: DataConfig


def settings(data_dir: str | Path = "", *, config: str | Path | DataConfig = "", freq: str = "",
             window: int = 0, portfolio_by: str = "") -> Settings:
    """Resolve the period frequency, the window and the units: the argument when given, else the
    data config's key (``--config``, or ``keyclients.yaml`` beside the data; with a folder of
    company folders, the first company's), else the defaults (quarters; 4 quarters, 6 months).
    """
    from analysis.ingest.companies import company_folders

    folder = Path(data_dir) if data_dir else SAMPLE_DIR
    if isinstance(config, DataConfig):
        cfg = config
    else:
        path = Path(config) if config else None
        if path is None:
            folders = company_folders(folder) or [folder]
            beside = folders[0] / "keyclients.yaml"
            path = beside if beside.is_file() else None
        cfg = read_config(path) if path is not None else DataConfig()
    freq = str(freq or cfg.freq or "Q").strip().upper()
    if freq not in FREQUENCIES:
        raise InputError(f"freq must be Q (quarters) or M (months), got {freq!r}")
    if window in (None, ""):
        window = 0
    if not isinstance(window, (int,)) or isinstance(window, bool) or window < 0:
        raise InputError(f"window must be a whole number of periods ≥ 1, got {window!r}")
    window = int(window or cfg.window or default_window(freq))
    by = str(portfolio_by or cfg.portfolio_by or "").strip()
    if by == "portfolio":
        by = ""
    return Settings(freq, window, by, cfg.model_copy(update={"freq": freq, "window": window,
                                                               "portfolio_by": by or None}))


def prepare(data_dir: str | Path = "", *, config: str | Path = "", rulebook: str | Path = "",
            window: int = 0,
            engine: str = "duckdb", portfolio: str = "", anonymize: bool = False, freq: str = "",
            portfolio_by: str = "", per_portfolio: bool = False, cache: str | Path = "") -> Study:
    """Read the client base (the bundled sample when ``data_dir`` is empty) and classify it.

    ``freq`` (``Q`` or ``M``), ``window`` (periods; 0: the default of the frequency, 4 quarters or
    6 months) and ``portfolio_by`` (a client or order column whose values become the portfolios,
    see :mod:`analysis.ingest.units`) fall back on the data config's keys of the same names.
    ``data_dir`` may be a folder of company folders (:mod:`analysis.ingest.companies`): each company
    is then one portfolio. ``portfolio`` keeps that portfolio's clients only (the statistics then
    run in their one-portfolio mode); ``anonymize`` replaces client ids and names by keyed
    pseudonyms right after loading (key from ``KEYCLIENTS_ANON_KEY``), so nothing downstream sees a
    real one. ``per_portfolio`` takes relative thresholds within each portfolio (descriptive use
    only). ``cache`` is a folder written by :func:`save_prepared` (the report runner's): the study
    is loaded from it, after checking that it was made from the same inputs and parameters.

    Returns
    -------
    Study
        ``base`` (canonical tables), ``panel`` (client × period), ``features`` (client × period
        over the trailing window), ``membership`` (the membership table of docs/data.md),
        ``rulebook``, ``window``, ``data_dir``, ``freq``, ``units`` (the unit assignment and moves
        with ``portfolio_by``, else None), ``companies`` (one row per company folder, else None),
        ``variants`` (:func:`analysis.categories.rules.classify_variants`, for the outcomes on "the
        other clients").
    """
    if cache:  # first, while locals() holds the arguments alone
        return load_prepared(cache, fingerprint(data_dir, **{k: v for k, v in locals().items()
                                                             if k not in ("data_dir", "cache")}))
    from analysis.ingest import companies as _companies
    from analysis.ingest.periods import period_axis

    folder = Path(data_dir) if data_dir else SAMPLE_DIR
    st = settings(folder, config=config, freq=freq, window=window, portfolio_by=portfolio_by)
    book = _categories.load_rulebook(rulebook or None)
    folders = _companies.company_folders(folder)
    table = None
    progress.step("reading the data")
    in_engine = None
    if engine == "spark" and not (folders or st.portfolio_by or anonymize):
        in_engine = _read_in_engine(folder, st, engine, portfolio)
    if in_engine is not None:
        base, panel, managers = in_engine
    else:
        base, panel, table, managers = _read_in_pandas(folder, folders, st, config, freq,
                                                       portfolio_by, portfolio, anonymize, engine)
    units = None
    if st.portfolio_by:
        from analysis.ingest import units as _units

        base, panel, units = _units.apply(base, panel, by=st.portfolio_by, window=st.window,
                                          freq=st.freq,
                                          periods=period_axis(panel["period"].unique()))
        if anonymize:
            base, panel, units = _units.pseudonymise(base, panel, units)
    # the pages get the panel, not the order lines
    if managers is not None or in_engine is not None:
        base = dataclasses.replace(base, transactions=None, events=None)
    tx = managers if managers is not None else base.transactions
    kw = CategoryInputs(window=st.window, kpis=base.kpis, events=base.events, transactions=tx)
    progress.step("computing client features")
    feats = client_features(panel, base.clients, **kw)
    if units is not None:  # the unit of each client-period, not the client's first
        feats["portfolio"] = units.unit_of(feats).to_numpy()
    progress.step("classifying clients")
    membership = _categories.classify(panel, base.clients, rulebook=book, features=feats,
                                      per_portfolio=per_portfolio, **kw)
    variants = _categories.classify_variants(panel, base.clients, rulebook=book, features=feats,
                                             **kw)
    progress.step("")
    return Study(base, panel, feats, membership, book, st.window, folder, st.freq, units, table,
                 variants, managers=managers)


def _in_engine(folder: Path, st: Settings) -> bool:
    """Whether the engine may read the folder itself: no config naming or mapping files, no
    ``client_periods`` table (and :func:`analysis.ingest.engine.scan` may still refuse)."""
    from analysis.ingest.readers import find_file

    cfg = st.config
    return not (
        cfg.tables or cfg.data or not folder.is_dir() or find_file(folder, "client_periods"))


def check_in_engine(folder: str | Path, st: Settings, engine: str, stage: str | Path = "") -> bool:
    """Check canonical files in ``engine`` (:func:`analysis.ingest.engine.check_in_engine`): an
    :class:`InputError` listing every error; False when they need
    :func:`analysis.ingest.validate`. ``stage`` (Spark): a folder that keeps the converted files
    and the outcome of the checks, for :func:`prepare` to read them without checking again (it
    looks in :data:`analysis.ingest.engine.STAGE_ENV`)."""
    from analysis.ingest import engine as _engine

    folder = Path(folder)
    if not _in_engine(folder, st):
        return False
    try:
        _engine.check_in_engine(folder, freq=st.freq, engine=engine,
                                duplicates=st.config.duplicates, stage=stage)
    except _engine.NotScannable:
        return False
    return True


def _read_in_engine(folder: Path, st: Settings, engine: str,
                    portfolio: str) -> tuple[ClientBase, pd.DataFrame, pd.DataFrame | None] | None:
    """The base, panel and manager counts of canonical files checked and aggregated in the engine
    (:func:`analysis.ingest.engine.load_in_engine`): the order lines never come into this process.
    Files a ``keyclients run`` has checked already (its staging folder, named in
    :data:`analysis.ingest.engine.STAGE_ENV`) are not checked again. None when the files or the
    config need the tolerant pandas readers."""
    from analysis.ingest import engine as _engine

    cfg = st.config
    if not _in_engine(folder, st):
        return None
    try:
        got = _engine.load_in_engine(folder, freq=st.freq, engine=engine, portfolio=portfolio,
                                     partial_periods=cfg.partial_periods, duplicates=cfg.duplicates,
                                     stage=_engine.stage_from_env())
    except _engine.NotScannable:
        return None
    base = ClientBase(clients=got.clients, kpis=got.kpis, source=folder, notes=got.notes,
                      synthetic=(folder / "truth.json").is_file(),
                      partial_periods=cfg.partial_periods)
    return base, got.panel, got.managers


def _read_in_pandas(folder: Path, folders: list[Path] | None, st: Settings, config: str | Path,
                    freq: str, portfolio_by: str, portfolio: str, anonymize: bool, engine: str
                    ) -> tuple[ClientBase, pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None]:
    """The base read by the tolerant readers (:func:`analysis.ingest.load`, or one per company
    folder), restricted and pseudonymised as asked, its panel built by ``engine``, the company
    table (several company folders) and, on Spark, the order lines counted per client, period and
    manager (:func:`analysis.ingest.panel.manager_orders_of`, what the pages get instead of
    them)."""
    from analysis.ingest import companies as _companies

    table = None
    if folders:
        if st.portfolio_by:
            raise InputError(f"{folder}: portfolio_by ({st.portfolio_by}) works on one company's "
                             "data; with several company folders each company is one portfolio")
        base, table = _companies.load_companies(folders, config=config or None, freq=st.freq)
    else:
        # the config as given when no argument overrides it (so the load notes name its file)
        base = load(folder, config=st.config if freq or portfolio_by else (config or None))
    base = restrict(base, portfolio=portfolio, anonymize=anonymize)
    if base.transactions is None:
        raise InputError(f"{folder}: the pages need order lines (transactions); none were found")
    progress.step("building the client × period panel")
    if engine != "spark":
        return base, client_period_panel(base, freq=st.freq, engine=engine), table, None
    from analysis.ingest.backends import spark_active, spark_session
    from analysis.ingest.panel import manager_orders_of

    owned = not spark_active()
    session = spark_session()  # one session for both queries, stopped here when started here
    try:
        managers = manager_orders_of(base, freq=st.freq, engine=engine)
        return base, client_period_panel(base, freq=st.freq, engine=engine), table, managers
    finally:
        if owned:
            session.stop()


MANIFEST = "study.json"


def file_digest(path: Path) -> str:
    """The sha256 (hex) of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _options(data_dir: str | Path, options: PrepareOptions) -> dict[str, object]:
    """Every argument of :func:`prepare` with its default filled in (``cache`` left out)."""
    import inspect

    bound = inspect.signature(prepare).bind_partial(data_dir, **options)
    bound.apply_defaults()
    out = dict(bound.arguments)
    out.pop("cache", None)
    return out


def fingerprint(data_dir: str | Path = "", **options: Unpack[PrepareOptions]) -> str:
    """A checksum of everything :func:`prepare` reads and is given (``options``: its keyword
    arguments): the data folder's files, the config and rulebook files, every argument (defaults
    filled in), the package version and (hashed) the pseudonymisation key."""
    import os
    from importlib.metadata import version

    args = _options(data_dir, options)
    given = args.pop("data_dir")
    folder = Path(given) if isinstance(given, (str, Path)) and given else SAMPLE_DIR
    h = hashlib.sha256()
    key = os.environ.get("KEYCLIENTS_ANON_KEY", "") if args.get("anonymize") else ""
    h.update(json.dumps({**{k: str(v) for k, v in args.items()}, "version": version("keyclients"),
                         "key": hashlib.sha256(key.encode()).hexdigest() if key else ""},
                        sort_keys=True).encode())
    for f in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
        h.update(str(f.relative_to(folder)).encode() + b"\0" + file_digest(f).encode())
    for name in ("config", "rulebook"):
        extra = args.get(name)
        h.update(
            file_digest(Path(extra)).encode() if isinstance(extra, (str, Path)) and extra else b"-")
    return h.hexdigest()


def _tested_key(hypotheses, seed: int) -> str:
    text = file_digest(Path(hypotheses)) if hypotheses else "built-in"
    return f"{text}-{int(seed)}"


def save_prepared(folder: str | Path, data_dir: str | Path = "", *, hypotheses: str | Path = "",
                  seed: int = 1, **options: Unpack[PrepareOptions]) -> Path:
    """Prepare the study once for a report run (``options``: :func:`prepare`'s keywords) and
    write it to ``folder``: its tables (the canonical ones, panel, features, memberships, the
    growth panel and the confirmatory tests with ``hypotheses`` and ``seed``) as Parquet, its
    other parts (rulebook, window…) pickled for this run only, and ``study.json`` with the
    :func:`fingerprint`.

    Returns the folder. Pages load it with ``prepare(..., cache=folder)``.
    """
    import dataclasses
    import pickle

    from analysis.report import progress

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
    meta = {"fingerprint": fingerprint(data_dir, **options), "tables": sorted(tables),
            "tested": tested_key}
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
        raise InputError(
            f"{folder}: no prepared study there (study.json missing); rerun the report") from None
    if meta.get("fingerprint") != expected:
        raise InputError(f"{folder}: the prepared study was made from other inputs or parameters "
                         f"than this page's; rerun the report")
    parts = pickle.loads((folder / "rest.pickle").read_bytes())
    parts.update({name: pd.read_parquet(folder / f"{name}.parquet") for name in meta["tables"]})
    base = ClientBase(**{k[5:]: v for k, v in parts.items() if k.startswith("base.")})
    tested = parts.pop("_tested")
    s = Study(base=base, **{k: v for k, v in parts.items() if not k.startswith("base.")})
    s._tested[meta["tested"]] = tested
    # this page's labels of the study's kinds (a user rulebook's)
    _categories.declare_kinds(s.rulebook)
    return s


def restrict(base: ClientBase, *, portfolio: str = "", anonymize: bool = False) -> ClientBase:
    """``base`` cut to one portfolio's clients and/or with pseudonyms for client ids and names."""
    if portfolio:
        base = only_portfolio(base, portfolio)
    if anonymize:
        from analysis.ingest.anonymize import anonymize_base, key_from_env

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
        changes["kpis"] = base.kpis[
            base.kpis["portfolio"].astype(str) == str(portfolio)].reset_index(drop=True)
    return dataclasses.replace(base, **changes)


#: Below this many clusters, clustered standard errors are too small (the page says so).
SMALL_G = 10
_PERIOD_WORDS = {"Q": "n.quarters", "M": "n.months", "Y": "n.years"}


def design(s: Study, data: pd.DataFrame | None = None) -> dict:
    """Which panel design the study runs: ``design`` (``companies``, ``units``, ``portfolios`` or
    ``single``), ``g`` (portfolios), ``t`` (periods), ``by``, ``moves``, ``moved`` (clients)."""
    frame = data if data is not None else s.panel
    g = int(frame["portfolio"].nunique())
    t = int(s.panel["period"].nunique())
    out = {"g": g, "t": t, "by": "", "moves": 0, "moved": 0, "freq": s.freq, "window": s.window}
    if s.companies is not None:
        out["design"] = "companies"
    elif s.units is not None:
        out.update(design="units", by=s.units.by, moves=int(len(s.units.moves)),
                   moved=int(s.units.moves["client_id"].nunique()))
    else:
        out["design"] = "portfolios" if g > 1 else "single"
    return out


def design_sentence(s: Study, data: pd.DataFrame | None = None, lang: str = "en") -> str:
    """Page 3's statement of the design and of what an estimate means under it (with the
    small-cluster caveat when fewer than 10 portfolios carry the panel)."""
    from analysis import i18n
    from analysis.ingest.companies import REFERENCE

    d = design(s, data)
    words = _PERIOD_WORDS.get(s.freq, "n.periods")
    values = dict(g=d["g"], t=i18n.plural(words, d["t"], lang),
                  w=i18n.plural(words, s.window, lang))
    if d["design"] == "units":
        text = i18n.t("design.units", lang, by=d["by"], moves=i18n.integer(d["moves"], lang),
                      moved=i18n.plural("n.moved_clients", d["moved"], lang), **values)
    elif d["design"] == "companies":
        text = i18n.t("design.companies", lang, ref=i18n.integer(REFERENCE, lang), **values)
    else:
        text = i18n.t(f"design.{d['design']}", lang, **values)
    if 1 < d["g"] < SMALL_G:
        clusters = i18n.plural("n.clusters", d["g"], lang)
        method = inference_options(d["g"]).get("inference")
        if method:
            from analysis.growth.fits import INFERENCE_NAMES

            name = INFERENCE_NAMES[method][0 if lang == "en" else 1]
            text += " " + i18n.t("design.small_g_inference", lang, clusters=clusters, method=name)
        else:
            text += " " + i18n.t("design.small_g", lang, clusters=clusters)
    return text


#: The few-cluster inference of the confirmatory tests below SMALL_G clusters when the statistics'
#: default is plain CR1: the cluster jackknife CV3, measured to hold the family-wise rate at
#: 10 portfolios with the best power of the few-cluster methods (benchmarks/inference_choice.md).
SMALL_G_INFERENCE = "cv3"


def inference_options(g: int | pd.DataFrame) -> dict:
    """Keyword arguments for :func:`analysis.growth.confirmatory.test_hypotheses`: with fewer than
    10 portfolios (``g``, or a portfolio panel to count them in), a few-cluster inference — the
    statistics' default when it is one, else :data:`SMALL_G_INFERENCE`; otherwise none."""
    from analysis.growth import fits

    if isinstance(g, pd.DataFrame):
        g = int(g["portfolio"].nunique()) if "portfolio" in g else 1
    names = getattr(fits, "INFERENCE_NAMES", None)
    if names is None or not 1 < g < SMALL_G:
        return {}
    default = getattr(fits, "DEFAULT_INFERENCE", "cr1")
    resolve = getattr(fits, "resolve_inference", None)
    default = resolve(default, g) if resolve else default  # ``auto``: the method at this G
    method = default if default != "cr1" else SMALL_G_INFERENCE
    return {"inference": method} if method in names else {}


def unit_moves(s: Study) -> pd.DataFrame:
    """Every move of a client between units (:func:`analysis.ingest.units.moves`); empty without
    units."""
    if s.units is None:
        return pd.DataFrame(columns=["client_id", "period", "previous_period", "from_unit",
                                     "to_unit"])
    return s.units.moves


def moves_by_period(s: Study) -> pd.DataFrame:
    """Per period: clients assigned to units, clients moved and the moved share (empty without
    units)."""
    from analysis.ingest.periods import period_axis
    from analysis.ingest.units import moves_summary

    if s.units is None:
        return pd.DataFrame(columns=["period", "clients", "moved", "moved_share"])
    return moves_summary(s.units, period_axis(s.panel["period"].unique()))


def companies_table(s: Study) -> pd.DataFrame:
    """One row per company folder (:func:`analysis.ingest.companies.load_companies`); empty
    otherwise."""
    if s.companies is None:
        return pd.DataFrame(columns=["company", "folder", "currency", "vat", "clients",
                                     "order_lines", "first_period", "last_period",
                                     "median_client_period_revenue", "scale"])
    return s.companies


def design_tables(s: Study) -> dict[str, pd.DataFrame]:
    """The tables page 3 shows beside the design: ``unit_moves_by_period`` and ``unit_moves`` with
    units, ``companies`` with company folders; none for the data's own portfolios."""
    out: dict[str, pd.DataFrame] = {}
    if s.units is not None:
        out["unit_moves_by_period"] = moves_by_period(s)
        out["unit_moves"] = unit_moves(s)
    if s.companies is not None:
        out["companies"] = companies_table(s)
    return out


def show_design_tables(s: Study, lang: str = "en", tables_dir: str | Path | None = None) -> HTML:
    """Save :func:`design_tables` into ``tables_dir`` and show the short ones (moves per period,
    companies) as one HTML block; empty for the data's own portfolios."""
    from IPython.display import HTML

    from analysis import i18n
    from analysis.report.runner import save_table

    parts = []
    for name, table in design_tables(s).items():
        save_table(table, name, tables_dir)
        if name != "unit_moves":  # the full list is long: in the CSV only
            parts.append(i18n.show(table, lang).data)
    return HTML("".join(parts))
