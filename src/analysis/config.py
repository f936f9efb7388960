"""Paths, period labels and the built-in kinds and outcomes: the defaults every module shares."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis import registry

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

# The kinds and outcomes are declared once, in analysis.registry (outcomes: resources/registry.yaml;
# kinds: the rulebook). The names below are the built-in registry's, for code and tests that want
# the defaults; code that must see a user's own kinds or a swapped-in registry asks
# ``registry.current()`` at run time.
_BUILT_IN = registry.load()

#: Outcome id → (family, description): ``growth`` outcomes are measured between t+h-1 and t+h,
#: ``level`` outcomes in period t+h-1 (docs/methods.md, "Statistics").
OUTCOMES: dict[str, tuple[str, str]] = {
    o.id: (o.family, o.description.en) for o in _BUILT_IN.outcomes.values()
}
#: The six kinds of key client, in the order reports show them.
CATEGORIES = _BUILT_IN.kind_ids()
#: The four kinds the article adds to the usual two; the generator plants them as latent traits.
ARTICLE_KINDS = _BUILT_IN.synthetic_kinds
#: Outcomes measured on "the other clients": outcome → the kind whose clients are left out.
OUTSIDE: dict[str, str] = _BUILT_IN.outside()
#: Features that read an outcome's own signal. A rule that uses one of them to pick clients would
#: select on the outcome (lucky highs revert afterwards), so an exposure paired with that outcome
#: comes from the rule without these conditions (docs/methods.md, "The other clients").
OUTCOME_SIGNALS: dict[str, frozenset[str]] = _BUILT_IN.outcome_signals()

EVENT_TYPES = ("claim", "trial", "spec_requirement", "prepayment", "deferral_accepted", "incident")

#: The client × period panel's columns in their order (docs/data.md), as the readers build it and
#: the synthetic worlds write it.
CLIENT_PERIOD_COLUMNS = ("client_id", "portfolio", "period", "revenue", "cost", "gross_profit",
                         "orders", "new_product_revenue", *EVENT_TYPES, "prepayment_amount")


def period_range(start: str, periods: int, freq: str = "Q") -> pd.PeriodIndex:
    """The ``periods`` consecutive periods from ``start`` (e.g. ``"2023Q1"``) at ``freq``."""
    return pd.period_range(start=pd.Period(start, freq=FREQUENCIES[freq][0]), periods=periods)


def period_label(periods: pd.PeriodIndex | pd.Series) -> np.ndarray:
    """Labels as used everywhere: ``2024Q1`` (quarters), ``2024-01`` (months), ``2024`` (years)."""
    return np.asarray([str(p) for p in periods], dtype=object)
