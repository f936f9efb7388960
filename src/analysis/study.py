"""One call that every page starts with: read, aggregate, describe and classify a client base."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis import categories as _categories
from analysis.config import FREQUENCIES, SAMPLE_DIR, default_window
from analysis.errors import InputError
from analysis.features import client_features
from analysis.ingest import ClientBase, DataConfig, load, read_config
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
    freq: str = "Q"
    units: object = None  # analysis.units.Units when the panel runs over the company's own units
    companies: pd.DataFrame | None = None  # one row per company folder (analysis.companies)

    @property
    def kw(self) -> dict:
        """Keyword arguments the categories functions share (window and the raw tables)."""
        b = self.base
        return dict(window=self.window, kpis=b.kpis, events=b.events, transactions=b.transactions)

    @property
    def synthetic(self) -> bool:
        return bool(self.base.synthetic)


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
    from analysis.companies import company_folders

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


def prepare(data_dir: str | Path = "", *, config: str | Path = "", rulebook: str | Path = "", window: int = 0,
            engine: str = "duckdb", portfolio: str = "", anonymize: bool = False, freq: str = "",
            portfolio_by: str = "", per_portfolio: bool = False) -> Study:
    """Read the client base (the bundled sample when ``data_dir`` is empty) and classify it.

    ``freq`` (``Q`` or ``M``), ``window`` (periods; 0: the default of the frequency, 4 quarters or
    6 months) and ``portfolio_by`` (a client or order column whose values become the portfolios,
    see :mod:`analysis.units`) fall back on the data config's keys of the same names.
    ``data_dir`` may be a folder of company folders (:mod:`analysis.companies`): each company is
    then one portfolio. ``portfolio`` keeps that portfolio's clients only (the statistics then run
    in their one-portfolio mode); ``anonymize`` replaces client ids and names by keyed pseudonyms
    right after loading (key from ``KEYCLIENTS_ANON_KEY``), so nothing downstream sees a real one.
    ``per_portfolio`` takes relative thresholds within each portfolio (descriptive use only).

    Returns
    -------
    Study
        ``base`` (canonical tables), ``panel`` (client × period), ``features`` (client × period
        over the trailing window), ``membership`` (the membership table of DESIGN.md),
        ``rulebook``, ``window``, ``data_dir``, ``freq``, ``units`` (the unit assignment and moves
        with ``portfolio_by``, else None), ``companies`` (one row per company folder, else None).
    """
    from analysis import companies as _companies
    from analysis.growth import _period_axis

    folder = Path(data_dir) if data_dir else SAMPLE_DIR
    st = settings(folder, config=config, freq=freq, window=window, portfolio_by=portfolio_by)
    book = _categories.load_rulebook(rulebook or None)
    folders = _companies.company_folders(folder)
    table = None
    if folders:
        if st.portfolio_by:
            raise InputError(f"{folder}: portfolio_by ({st.portfolio_by}) works on one company's data; with "
                             "several company folders each company is one portfolio")
        base, table = _companies.load_companies(folders, config=config or None, freq=st.freq)
    else:
        # the config as given when no argument overrides it (so the load notes name its file)
        base = load(folder, config=st.config if freq or portfolio_by else (config or None))
    base = restrict(base, portfolio=portfolio, anonymize=anonymize)
    if base.transactions is None:
        raise InputError(f"{folder}: the pages need order lines (transactions); none were found")
    panel = client_period_panel(base, freq=st.freq, engine=engine)
    units = None
    if st.portfolio_by:
        from analysis import units as _units

        base, panel, units = _units.apply(base, panel, by=st.portfolio_by, window=st.window, freq=st.freq,
                                          periods=_period_axis(panel["period"].unique()))
        if anonymize:
            base, panel, units = _units.pseudonymise(base, panel, units)
    kw = dict(window=st.window, kpis=base.kpis, events=base.events, transactions=base.transactions)
    feats = client_features(panel, base.clients, **kw)
    if units is not None:  # the unit of each client-period, not the client's first
        feats["portfolio"] = units.unit_of(feats).to_numpy()
    membership = _categories.classify(panel, base.clients, rulebook=book, features=feats,
                                      per_portfolio=per_portfolio, **kw)
    return Study(base, panel, feats, membership, book, st.window, folder, st.freq, units, table)


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
    from analysis.companies import REFERENCE

    d = design(s, data)
    words = _PERIOD_WORDS.get(s.freq, "n.periods")
    values = dict(g=d["g"], t=i18n.plural(words, d["t"], lang), w=i18n.plural(words, s.window, lang))
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
            from analysis.hypotheses import INFERENCE_NAMES

            name = INFERENCE_NAMES[method][0 if lang == "en" else 1]
            text += " " + i18n.t("design.small_g_inference", lang, clusters=clusters, method=name)
        else:
            text += " " + i18n.t("design.small_g", lang, clusters=clusters)
    return text


#: The few-cluster inference of the confirmatory tests below SMALL_G clusters: the restricted
#: wild cluster bootstrap (with Webb weights below 12 clusters, where it is made for few clusters).
SMALL_G_INFERENCE = "wild"


def inference_options(g: int | pd.DataFrame) -> dict:
    """Keyword arguments for :func:`analysis.hypotheses.test_hypotheses`: with fewer than 10
    portfolios (``g``, or a portfolio panel to count them in), the few-cluster inference
    ``inference=SMALL_G_INFERENCE`` where the statistics offer it; else none (their default)."""
    from analysis import hypotheses as _hyp

    if isinstance(g, pd.DataFrame):
        g = int(g["portfolio"].nunique()) if "portfolio" in g else 1
    names = getattr(_hyp, "INFERENCE_NAMES", None)
    if names is None or not 1 < g < SMALL_G or SMALL_G_INFERENCE not in names:
        return {}
    return {"inference": SMALL_G_INFERENCE}


def unit_moves(s: Study) -> pd.DataFrame:
    """Every move of a client between units (:func:`analysis.units.moves`); empty without units."""
    if s.units is None:
        return pd.DataFrame(columns=["client_id", "period", "previous_period", "from_unit", "to_unit"])
    return s.units.moves


def moves_by_period(s: Study) -> pd.DataFrame:
    """Per period: clients assigned to units, clients moved and the moved share (empty without units)."""
    from analysis.growth import _period_axis
    from analysis.units import moves_summary

    if s.units is None:
        return pd.DataFrame(columns=["period", "clients", "moved", "moved_share"])
    return moves_summary(s.units, _period_axis(s.panel["period"].unique()))


def companies_table(s: Study) -> pd.DataFrame:
    """One row per company folder (:func:`analysis.companies.load_companies`); empty otherwise."""
    if s.companies is None:
        return pd.DataFrame(columns=["company", "folder", "currency", "vat", "clients", "order_lines",
                                     "first_period", "last_period", "median_client_period_revenue", "scale"])
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


def show_design_tables(s: Study, lang: str = "en", tables_dir: str | Path | None = None):
    """Save :func:`design_tables` into ``tables_dir`` and show the short ones (moves per period,
    companies) as one HTML block; empty for the data's own portfolios."""
    from IPython.display import HTML

    from analysis import i18n
    from analysis.report import save_table

    parts = []
    for name, table in design_tables(s).items():
        save_table(table, name, tables_dir)
        if name != "unit_moves":  # the full list is long: in the CSV only
            parts.append(i18n.show(table, lang).data)
    return HTML("".join(parts))
