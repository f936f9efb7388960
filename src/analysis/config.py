"""Paths, period labels and the outcome registry: the defaults every module shares."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

PACKAGE_DIR = Path(__file__).resolve().parent
_RESOURCES = PACKAGE_DIR / "_resources"


def _first_existing(*candidates: Path) -> Path:
    for path in candidates:
        if path.exists():
            return path
    return candidates[-1]


#: Notebooks and the sample data ship inside the package (``_resources`` links to the repository
#: folders in a clone and holds copies in a wheel), so every command finds them from any folder.
NOTEBOOKS_DIR = _first_existing(_RESOURCES / "notebooks", PACKAGE_DIR.parents[1] / "notebooks")
SAMPLE_DIR = _first_existing(_RESOURCES / "sample", PACKAGE_DIR.parents[1] / "data" / "sample")
#: The second sample: one company, 36 months, 8 account managers (``run --sample one-company``).
SAMPLE_ONE_COMPANY_DIR = _first_existing(_RESOURCES / "sample-one-company",
                                         PACKAGE_DIR.parents[1] / "data" / "sample-one-company")
#: The bundled samples by name (``keyclients run --sample NAME``; ``--sample`` alone: panel).
SAMPLES = {"panel": SAMPLE_DIR, "one-company": SAMPLE_ONE_COMPANY_DIR}

#: Period frequencies: code → (pandas frequency, periods per year, default window).
#: Months take a 6-month window: one company's export of two or three years keeps most of its
#: periods usable (a 12-month window spends the first year on the window alone).
FREQUENCIES = {"Q": ("Q", 4, 4), "M": ("M", 12, 6), "Y": ("Y", 1, 3)}


def default_window(freq: str) -> int:
    """The trailing window in periods when none is given: 4 quarters, 6 months, 3 years."""
    return FREQUENCIES[freq][2]

#: The outcome registry shared by the generator (``synth``) and the statistics (``growth``).
#: Value: (kind, description). ``kind`` tells how lag h maps to periods: ``growth`` outcomes are
#: measured between t+h-1 and t+h, ``level`` outcomes in period t+h-1 (docs/methods.md, "Statistics").
OUTCOMES: dict[str, tuple[str, str]] = {
    "revenue_growth": ("growth", "log change of the portfolio's revenue into period t+h"),
    "profit_growth": ("growth", "log change of the portfolio's gross profit into period t+h"),
    "new_clients": ("level", "clients buying for the first time in t+h-1 per 100 clients active in the window"),
    "new_client_size": ("level", "log mean revenue in t+h-1 of the clients new in that period"),
    "new_product_share": ("level", "new-product share of revenue in t+h-1, clients with no `advanced` signal at t-1"),
    "claims_rate": ("level", "claims per 100 orders in t+h-1, clients with no `demanding` signal at t-1"),
    "revenue_volatility": ("growth", "absolute deviation of revenue growth at lag h from the portfolio's mean growth"),
    "retention": ("level", "share of the window's active clients still buying in t+h-1"),
    "plan_attainment": ("level", "KPI: plan attainment in t+h-1 (1 = plan met)"),
    "defect_rate": ("level", "KPI: share of defective deliveries in t+h-1"),
}

#: The six kinds of key client, in the order reports show them.
CATEGORIES = ("key_revenue", "key_profit", "image", "demanding", "advanced", "understanding")
#: The four kinds the article adds to the usual two; the generator plants them as latent traits.
ARTICLE_KINDS = ("image", "demanding", "advanced", "understanding")

#: Outcomes measured on "the other clients": outcome → the kind whose clients are left out.
OUTSIDE: dict[str, str] = {"new_product_share": "advanced", "claims_rate": "demanding"}
#: Features that read an outcome's own signal. A rule that uses one of them to pick clients would
#: select on the outcome (lucky highs revert afterwards), so an exposure paired with that outcome
#: comes from the rule without these conditions (docs/methods.md, "The other clients").
OUTCOME_SIGNALS: dict[str, frozenset[str]] = {
    "claims_rate": frozenset({"claims", "claims_per_100_orders", "claims_per_100_orders_history",
                              "claims_per_incident", "claims_per_incident_history"}),
    "new_product_share": frozenset({"new_product_share"}),
}

EVENT_TYPES = ("claim", "trial", "spec_requirement", "prepayment", "deferral_accepted", "incident")


def period_range(start: str, periods: int, freq: str = "Q") -> pd.PeriodIndex:
    """The ``periods`` consecutive periods from ``start`` (e.g. ``"2023Q1"``) at ``freq``."""
    return pd.period_range(start=pd.Period(start, freq=FREQUENCIES[freq][0]), periods=periods)


def period_label(periods: pd.PeriodIndex | pd.Series) -> np.ndarray:
    """Labels as used everywhere: ``2024Q1`` (quarters), ``2024-01`` (months), ``2024`` (years)."""
    return np.asarray([str(p) for p in periods], dtype=object)
