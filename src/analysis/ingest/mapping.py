"""Canonical tables and columns, and the mapping of source headers onto them.

A header maps to a canonical column when the data config names it, else when it matches a
built-in synonym (``resources/synonyms.yaml``, English and Russian) after normalising case,
``ё`` and punctuation, and its values fit: a money column must hold numbers, a date column dates,
a yes/no flag yes/no words. Within one canonical column the first synonym listed wins. Money
headers outside the list («Сумма, руб.», ``revenue_usd``) are found by their words; a money column
whose header says VAT is the VAT amount (``vat_amount``), never the yes/no flag ``vat_included``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from analysis.config import EVENT_TYPES
from analysis.ingest.readers import synonyms

if TYPE_CHECKING:  # pandas is imported where a sample is read
    import pandas as pd

#: Canonical columns of each table and how their values are read.
SCHEMA: dict[str, dict[str, str]] = {
    "clients": {"client_id": "text", "name": "text", "portfolio": "text", "org_type": "org_type",
                "industry": "text", "country": "text", "founded_year": "int",
                "is_reference": "bool",
                "brand_score": "number", "innovation_score": "number"},
    "transactions": {"order_id": "text", "client_id": "text", "client_name": "text", "date": "date",
                     "revenue": "money", "vat_amount": "money",
                     "portfolio": "text", "cost": "money", "gross_profit": "money",
                     "is_new_product": "bool",
                     "account_manager": "text", "currency": "text", "vat_included": "bool"},
    "events": {"client_id": "text", "date": "date", "type": "event_type", "amount": "money"},
    "client_periods": {"client_id": "text", "period": "period", "revenue": "money",
                       "portfolio": "text",
                       "cost": "money", "gross_profit": "money", "orders": "int",
                       "new_product_revenue": "money",
                       **{t: "int" for t in EVENT_TYPES}, "prepayment_amount": "money",
                       "account_manager": "text"},
    "kpis": {"period": "period", "portfolio": "text", "plan_attainment": "number",
             "defect_rate": "number"},
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
    """Header as compared with synonyms: lower case, ``ё``→``е``, punctuation and spaces → one
    space."""
    v = str(name).strip().lower().replace("ё", "е")
    return re.sub(r"[\s_\-.,;:«»\"'()/№#]+", " ", v).strip()


def synonyms_for(table: str, column: str) -> list[str]:
    words = synonyms()["columns"].get(table, {}).get(column, [])
    return [column] + list(words)


_VAT_WORDS = {"ндс", "vat", "tax", "налог"}
_NET_WORDS = {"без", "excl", "excluding", "net", "нетто", "w o"}
_GROSS_WORDS = {"с", "incl", "including", "gross", "with", "брутто", "вкл"}
_MONEY_WORDS = {"сумма", "выручка", "стоимость", "revenue", "sales", "amount", "value", "turnover",
                "total",
                "оборот", "продажи", "sum"}
_NO_MONEY_STEMS = ("цен", "price", "qty", "quantit", "количеств", "кол", "себестоим", "cost",
                   "margin", "маржа",
                   "маржи", "прибыл", "profit", "discount", "скидк", "rate", "ставк", "процент",
                   "percent", "pct",
                   "вес", "weight", "units", "шт")


def _words(header: str) -> set[str]:
    return set(norm_header(header).split()) | set(re.split(r"[_\s]+", str(header).lower()))


def vat_words(header: str) -> bool:
    """The header speaks of VAT («НДС», ``vat``, ``tax``)."""
    w = _words(header)
    return bool(w & _VAT_WORDS) or "ндс" in norm_header(header) or "в т ч" in norm_header(header)


def net_of_vat(header: str) -> bool:
    """The header says the amount is without VAT («Сумма без НДС», ``net_sales``, "Amount excl.
    VAT")."""
    w = _words(header)
    return bool(w & _NET_WORDS)


def money_header(header: str) -> bool:
    """A header that names an amount of money rather than a price, a quantity or a rate."""
    w = _words(header)
    n = norm_header(header)
    return bool(w & _MONEY_WORDS
                or any(n.startswith(x) for x in ("сумм", "выручк", "стоимост"))) and not any(
        t.startswith(_NO_MONEY_STEMS) for t in w) and "%" not in str(header)


def values_fit(values: pd.Series | None, kind: str, tolerance: float = 0.05) -> bool:
    """Filled cells of a sample read as ``kind`` (money, number, int, date, bool), all but
    ``tolerance`` of them."""
    import pandas as pd

    from analysis.ingest import parse
    from analysis.ingest.readers import synonyms as _syn

    if values is None:
        return True
    col = values.head(500)
    filled = parse._filled(col)
    if not filled.any():
        return kind not in ("money", "number", "date")
    col = col[filled]
    if kind in ("money", "number", "int"):
        out, bad, _ = parse.number(col)
        return float(bad.mean()) <= tolerance
    if kind == "date":
        out, bad, _ = parse.date(col)
        return float(bad.mean()) <= tolerance and not pd.api.types.is_float_dtype(col)
    if kind == "bool":
        out, bad = parse.boolean(col, builtin=_syn()["booleans"])
        return float(bad.mean()) <= tolerance
    return True


def propose(headers: list[str], table: str, frame: pd.DataFrame | None = None, *,
            evidence: dict | None = None) -> dict[str, str]:
    """Canonical column → source header, from the built-in synonyms (exact canonical names first).

    With ``frame`` (the raw cells), a candidate whose values do not fit the column (text under a
    money synonym, an amount under a yes/no flag) is passed over, money and VAT columns are also
    found by the words of their header, and ``evidence`` (when given) collects, per canonical
    column, why the header was chosen.
    """
    normed: dict[str, str] = {}
    for header in headers:
        normed.setdefault(norm_header(header), header)
    # a header repeated: judge its first column
    if frame is not None and frame.columns.duplicated().any():
        frame = frame.loc[:, ~frame.columns.duplicated()]
    kinds = SCHEMA[table]
    used: set[str] = set()
    out: dict[str, str] = {}
    why = evidence if evidence is not None else {}

    def fits(h, canon):
        # a header that names the column is taken when most values fit (the rest are reported as
        # unreadable cells); a wrong column (names under a money header) is passed over
        return frame is None or h not in frame.columns or values_fit(frame[h], kinds[canon],
                                                                     tolerance=0.5)

    for col in kinds:  # exact canonical names win over any synonym
        if col in headers and fits(col, col):
            out[col] = col
            used.add(col)
            why[col] = "canonical name"
    if table == "transactions" and frame is not None:
        _money_roles(headers, frame, out, used, why)
    for col in kinds:
        if col in out:
            continue
        for word in synonyms_for(table, col):
            h = normed.get(norm_header(word))
            if h is None or h in used:
                continue
            if col == "vat_amount" and frame is not None and h in frame.columns and _flag(frame[h]):
                continue  # yes/no values: the flag vat_included, not an amount
            if not fits(h, col):  # e.g. a VAT amount is not the yes/no flag vat_included
                continue
            out[col] = h
            used.add(h)
            why.setdefault(col, f"header {h!r} is a known name")
            break
    if "date" in kinds and "date" not in out and frame is not None:  # any column of dates
        for h in headers:
            if (h not in used and not _looks_numeric(frame[h]) and values_fit(frame[h], "date")
                    and parse_filled(frame[h])):
                out["date"] = h
                used.add(h)
                why["date"] = f"{h!r} holds dates"
                break
    return out


def parse_filled(col: pd.Series) -> bool:
    from analysis.ingest import parse

    return bool(parse._filled(col.head(500)).any())


def _looks_numeric(col) -> bool:
    from analysis.ingest import parse

    out, bad, _ = parse.number(col.head(200))
    filled = parse._filled(col.head(200))
    if not filled.any() or bad[filled].any():
        return False
    return not col.head(200).astype("str").str.contains(r"[./-].*[./-]", regex=True).any()


def _money_roles(headers: list[str], frame, out: dict, used: set, why: dict) -> None:
    """Revenue and the VAT amount of order lines, from headers and values.

    Revenue: a net amount («Сумма без НДС», ``net_sales``) first, else a known money header, else
    any header naming an amount whose values are money. A money column whose header speaks of VAT
    and is not itself an amount with or without VAT is the VAT amount; with a net revenue column
    there is nothing to take out, so the VAT column is left unmapped.
    """
    money = [h for h in headers if h not in used and values_fit(frame[h], "money")
             and parse_filled(frame[h])]
    vat_amount = [h for h in money if vat_words(h)
                  and not (money_header(h) and (net_of_vat(h) or _gross(h)))
                  and not _flag(frame[h])]
    amounts = [h for h in money if h not in vat_amount
               and (money_header(h) or norm_header(h) in _known("revenue"))]
    if "revenue" not in out and amounts:
        net = [h for h in amounts if net_of_vat(h)]
        known = sorted((h for h in amounts if norm_header(h) in _known("revenue")),
                       key=lambda h: _known("revenue").index(norm_header(h)))
        pick = (net or known or amounts)[0]
        out["revenue"] = pick
        used.add(pick)
        why["revenue"] = (f"{pick!r}: an amount without VAT" if pick in net
                          else f"{pick!r} holds money")
    if "vat_amount" not in out and vat_amount and "revenue" in out:
        rev = out["revenue"]
        if net_of_vat(rev):
            why["vat_amount"] = (f"{vat_amount[0]!r} left unmapped: revenue {rev!r} is already "
                                 "without VAT")
            used.add(vat_amount[0])
        else:
            out["vat_amount"] = vat_amount[0]
            used.add(vat_amount[0])
            why["vat_amount"] = (f"{vat_amount[0]!r} holds money and its header says VAT: "
                                 f"net revenue = {rev!r} − {vat_amount[0]!r}")


def _flag(col) -> bool:
    """Values that read as yes/no and are not all zero: the ``vat_included`` flag, not an amount."""
    from analysis.ingest import parse

    if not values_fit(col, "bool"):
        return False
    out, _, _ = parse.number(col.head(500))
    return bool((out.fillna(0) != 0).any()) or not pd_numeric(col)


def pd_numeric(col: pd.Series) -> bool:
    from analysis.ingest import parse

    out, bad, _ = parse.number(col.head(500))
    return not bool(bad.any())


def _gross(header: str) -> bool:
    return bool(_words(header) & _GROSS_WORDS)


def _known(column: str) -> list[str]:
    return [norm_header(w) for w in synonyms_for("transactions", column)]


def nearest(word: str, choices: Iterable[str]) -> str | None:
    hit = difflib.get_close_matches(norm_header(word), [norm_header(c) for c in choices], n=1,
                                    cutoff=0.6)
    if not hit:
        return None
    for c in choices:
        if norm_header(c) == hit[0]:
            return c
    return None
