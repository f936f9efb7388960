"""Canonical tables and columns, and the mapping of source headers onto them.

A header maps to a canonical column when the data config names it, else when it matches a
built-in synonym (``resources/synonyms.yaml``, English and Russian) after normalising case,
``ё`` and punctuation. Within one canonical column the first synonym listed wins.
"""

from __future__ import annotations

import difflib
import re

from analysis.config import EVENT_TYPES
from analysis.ingest.readers import synonyms

#: Canonical columns of each table and how their values are read.
SCHEMA: dict[str, dict[str, str]] = {
    "clients": {"client_id": "text", "name": "text", "portfolio": "text", "org_type": "org_type",
                "industry": "text", "country": "text", "founded_year": "int", "is_reference": "bool",
                "brand_score": "number", "innovation_score": "number"},
    "transactions": {"order_id": "text", "client_id": "text", "date": "date", "revenue": "money",
                     "portfolio": "text", "cost": "money", "gross_profit": "money", "is_new_product": "bool",
                     "account_manager": "text", "currency": "text", "vat_included": "bool"},
    "events": {"client_id": "text", "date": "date", "type": "event_type", "amount": "money"},
    "client_periods": {"client_id": "text", "period": "period", "revenue": "money", "portfolio": "text",
                       "cost": "money", "gross_profit": "money", "orders": "int", "new_product_revenue": "money",
                       **{t: "int" for t in EVENT_TYPES}, "prepayment_amount": "money", "account_manager": "text"},
    "kpis": {"period": "period", "portfolio": "text", "plan_attainment": "number", "defect_rate": "number"},
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "clients": ("client_id",),
    "transactions": ("client_id", "date", "revenue"),
    "events": ("client_id", "date", "type"),
    "client_periods": ("client_id", "period", "revenue"),
    "kpis": ("period",),
}
TABLES = tuple(SCHEMA)


def norm_header(name: str) -> str:
    """Header as compared with synonyms: lower case, ``ё``→``е``, punctuation and spaces → one space."""
    v = str(name).strip().lower().replace("ё", "е")
    return re.sub(r"[\s_\-.,;:«»\"'()/№#]+", " ", v).strip()


def synonyms_for(table: str, column: str) -> list[str]:
    words = synonyms()["columns"].get(table, {}).get(column, [])
    return [column] + list(words)


def propose(headers: list[str], table: str) -> dict[str, str]:
    """Canonical column → source header, from the built-in synonyms (exact canonical names first)."""
    normed = {}
    for h in headers:
        normed.setdefault(norm_header(h), h)
    used: set[str] = set()
    out: dict[str, str] = {}
    for col in SCHEMA[table]:  # exact canonical names win over any synonym
        if col in headers:
            out[col] = col
            used.add(col)
    for col in SCHEMA[table]:
        if col in out:
            continue
        for word in synonyms_for(table, col):
            h = normed.get(norm_header(word))
            if h is not None and h not in used:
                out[col] = h
                used.add(h)
                break
    return out


def nearest(word: str, choices) -> str | None:
    hit = difflib.get_close_matches(norm_header(word), [norm_header(c) for c in choices], n=1, cutoff=0.6)
    if not hit:
        return None
    for c in choices:
        if norm_header(c) == hit[0]:
            return c
    return None
