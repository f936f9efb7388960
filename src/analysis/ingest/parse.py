"""Turn raw cells into typed canonical values, detecting number and date formats per column.

Each parser takes a Series (raw text, or already typed from Excel/Parquet/SQL) and returns the
typed Series plus a mask of the cells that were filled but could not be read, so the caller can
report them by source line. Vectorised over unique values or whole columns: a million order lines
parse in a second or two.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import pandas as pd

#: Date formats tried, in order; a time part (``0:00:00``) is dropped first. The one reading most
#: values wins, a tie goes to the first: US ``mm/dd/yyyy`` only when some day is above 12.
DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%Y%m%d", "%d.%m.%y", "%Y/%m/%d", "%d-%m-%Y",
                "%m/%d/%Y")
_TIME_RE = r"(?:[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?)$"
_SPACES_RE = "[ \t\u00a0\u202f\u2009']"
_CURRENCY_RE = r"(?i)(?:руб\.?|р\.|₽|rub|usd|eur|\$|€)"


def text(col: pd.Series) -> pd.Series:
    """Cells as canonical text (``str`` dtype, missing for empty); integral floats lose their
    ``.0``."""
    if pd.api.types.is_float_dtype(col):
        out = col.map(lambda v: None if v != v
                      else (str(int(v)) if float(v).is_integer() else str(v)))
        return out.astype("str")
    if col.dtype == object:
        col = col.map(lambda v: None if v is None or (isinstance(v, float) and v != v)
                      else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)))
    out = col.astype("str").str.strip()
    return out.mask(out == "")


def _filled(col: pd.Series) -> pd.Series:
    if col.dtype == object or pd.api.types.is_string_dtype(col):
        return col.notna() & (col.astype("str").str.strip() != "")
    return col.notna()


def detect_decimal(values: pd.Series) -> str:
    """``","`` when some value ends in a comma and 1–2 or 4+ digits, or has a comma after its last
    dot."""
    s = values.dropna().astype("str")
    s = s[s != ""]
    if s.empty:
        return "."
    s = pd.Series(s.unique()[:5000]).str.replace(_SPACES_RE, "", regex=True)
    s = s.str.replace(r"[^0-9]+$", "", regex=True)
    comma_dec = s.str.contains(r",[0-9]{1,2}$|,[0-9]{4,}$",
                               regex=True) | s.str.contains(r"\.[0-9]{3},[0-9]+$", regex=True)
    dot_dec = s.str.contains(r"\.[0-9]{1,2}$|\.[0-9]{4,}$",
                             regex=True) | s.str.contains(r",[0-9]{3}\.[0-9]+$", regex=True)
    return "," if comma_dec.sum() > dot_dec.sum() else "."


def number(col: pd.Series, *, decimal: str | None = None,
           thousands: str | None = None) -> tuple[pd.Series, pd.Series, str]:
    """Numbers written with spaces/no-break spaces/commas as thousands and a dot or comma decimal.

    Returns the float Series, the mask of unreadable filled cells, and the decimal mark used.
    """
    if pd.api.types.is_bool_dtype(col):
        col = col.astype("float")
    if pd.api.types.is_numeric_dtype(col):
        out = col.astype("float64")
        return out, pd.Series(False, index=col.index), "."
    raw = col.astype("str").str.strip()
    raw = raw.mask(raw.isin(["", "nan", "None", "NaN"]))
    filled = raw.notna()
    if decimal in (None, ".") and not thousands:
        plain = raw.str.fullmatch(r"-?[0-9]+(?:\.[0-9]+)?")
        if bool((plain | ~filled).all()):  # already machine-readable: the common fast path
            return raw.astype("float64"), pd.Series(False, index=col.index), "."
    dec = decimal or detect_decimal(raw.dropna().iloc[:20000])
    s = raw.str.replace(_SPACES_RE, "", regex=True)
    if bool(s.str.contains(r"[^0-9.,+\-eE]", regex=True).any()):
        s = s.str.replace(_CURRENCY_RE, "", regex=True).str.replace("\u2212", "-", regex=False)
    if thousands and thousands not in (" ", "\u00a0"):
        s = s.str.replace(thousands, "", regex=False)
    if bool(s.str.startswith("(").any()):
        s = s.str.replace(r"^\((.*)\)$", r"-\1", regex=True)
    if bool(s.str.endswith("-").any()):
        s = s.str.replace(r"^(.*[0-9])-$", r"-\1", regex=True)
    if dec == ",":
        s = s.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        s = s.str.replace(",", "", regex=False)
    ok = (s.str.fullmatch(r"[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?").fillna(False)
          .astype(bool))
    out = pd.to_numeric(s.where(ok), errors="coerce").astype("float64")
    bad = filled & out.isna()
    return out, bad, dec


def money(col: pd.Series, **kw: Any) -> tuple[pd.Series, pd.Series, str]:
    """Like :func:`number`, rounded to cents (money is then summed exactly as DECIMAL(18,2))."""
    out, bad, dec = number(col, **kw)
    return out.round(2), bad, dec


def integer(col: pd.Series, **kw: Any) -> tuple[pd.Series, pd.Series]:
    out, bad, _ = number(col, **kw)
    frac = out.notna() & (out != out.round())
    return out.round().astype("Int64").where(~frac), bad | frac


def detect_date_format(values: pd.Series) -> str | None:
    s = pd.Series(values.dropna().unique()[:2000]).astype("str")
    if s.empty:
        return None
    best, best_n = None, 0
    for fmt in DATE_FORMATS:
        n = pd.to_datetime(s, format=fmt, errors="coerce").notna().sum()
        if n > best_n:
            best, best_n = fmt, n
    return best


_EXCEL_EPOCH = pd.Timestamp("1899-12-30")


def _date_cell(v):
    """A typed cell as date text: datetimes as ISO, Excel serial day numbers (10000–99999) as the
    date they count to, other integers (``20240131``) as written."""
    if v is None or (isinstance(v, float) and v != v):
        return None
    if hasattr(v, "strftime"):
        return v.strftime("%Y-%m-%d")
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if 10000 <= v < 100000:
            return (_EXCEL_EPOCH + pd.Timedelta(days=int(v))).strftime("%Y-%m-%d")
        return str(int(v)) if float(v).is_integer() else str(v)
    return v


def date(col: pd.Series, *, fmt: str | None = None) -> tuple[pd.Series, pd.Series, str | None]:
    """Dates (ISO, ``dd.mm.yyyy``, ``dd/mm/yyyy``, ``yyyymmdd``…; a time part is dropped) as
    datetime64.

    The format is detected once per column (the one that reads most values); cells in another
    format are reported, never guessed one by one.
    """
    if pd.api.types.is_datetime64_any_dtype(col):
        out = col.dt.tz_localize(None) if getattr(col.dt, "tz", None) is not None else col
        return out.dt.normalize().astype("datetime64[ns]"), pd.Series(False, index=col.index), None
    if (pd.api.types.is_integer_dtype(col) or pd.api.types.is_float_dtype(col)
            or col.dtype == object):
        col = col.map(_date_cell)
    raw = col.astype("str").str.strip()
    raw = raw.mask(raw.isin(["", "nan", "None", "NaT"]))
    uniq = pd.Series(raw.dropna().unique())
    cleaned = uniq.str.replace(_TIME_RE, "", regex=True)
    fmt = fmt or detect_date_format(cleaned)
    if fmt is None or uniq.empty:
        out = pd.Series(pd.NaT, index=col.index, dtype="datetime64[ns]")
        return out, raw.notna(), fmt
    parsed = pd.to_datetime(cleaned, format=fmt, errors="coerce")
    mapping = pd.Series(parsed.to_numpy(), index=uniq.to_numpy())
    out = raw.map(mapping).astype("datetime64[ns]")
    bad = raw.notna() & out.isna()
    return out, bad, fmt


def _norm(value: str) -> str:
    v = str(value).strip().lower().replace("ё", "е")
    return re.sub(r"[\s_\-.,;:«»\"'()/]+", " ", v).strip()


def boolean(col: pd.Series, *, true_values: Iterable[object] = (),
            false_values: Iterable[object] = (),
            builtin: dict | None = None) -> tuple[pd.Series, pd.Series]:
    """«Да/Нет», yes/no, true/false, 1/0 (and configured extras) as pandas ``boolean``."""
    if pd.api.types.is_bool_dtype(col):
        return col.astype("boolean"), pd.Series(False, index=col.index)
    builtin = builtin or {}
    table = {}
    for v in builtin.get("true", []) + list(true_values):
        table[_norm(v)] = True
    for v in builtin.get("false", []) + list(false_values):
        table[_norm(v)] = False
    raw = text(col)
    uniq = raw.dropna().unique()
    mapping = {u: table.get(_norm(u)) for u in uniq}
    mapped = raw.map(mapping)
    out = pd.Series(pd.array(mapped.to_numpy(dtype=object), dtype="boolean"), index=col.index)
    bad = raw.notna() & out.isna()
    return out, bad


def categorical(col: pd.Series, *, config_map: dict | None = None,
                builtin: dict | None = None) -> tuple[pd.Series, pd.Series, list]:
    """Values mapped to canonical codes: the config's map first, then the built-in synonyms.

    Returns the mapped Series (``"ignore"`` marks rows to drop), a mask of values neither knows
    (kept as written), and the list of those unknown values.
    """
    raw = text(col)
    exact = {str(k): str(v) for k, v in (config_map or {}).items()}
    normed = {_norm(k): str(v) for k, v in (config_map or {}).items()}
    syn = {}
    for canon, words in (builtin or {}).items():
        syn[_norm(canon)] = canon
        for w in words:
            syn.setdefault(_norm(w), canon)
    mapping = {}
    unknown = []
    for u in raw.dropna().unique():
        if u in exact:
            mapping[u] = exact[u]
        elif _norm(u) in normed:
            mapping[u] = normed[_norm(u)]
        elif _norm(u) in syn:
            mapping[u] = syn[_norm(u)]
        else:
            mapping[u] = u
            unknown.append(u)
    out = raw.map(mapping).astype("str")
    bad = raw.isin(unknown) if unknown else pd.Series(False, index=col.index)
    return out, bad, unknown


def _month(year: str, month: str) -> str | None:
    return f"{year}-{int(month):02d}" if 1 <= int(month) <= 12 else None


_PERIOD_RES = (
    (re.compile(r"^(\d{4})\s*[-/ ]?\s*[QqКк]([1-4])$"), lambda m: f"{m[1]}Q{m[2]}", "Q"),
    (re.compile(r"^[QqКк]([1-4])\s*[-/ ]?\s*(\d{4})$"), lambda m: f"{m[2]}Q{m[1]}", "Q"),
    (re.compile(r"^([1-4])\s*(?:кв|квартал|q)\.?\s*(\d{4})(?:\s*г\.?)?$", re.I),
     lambda m: f"{m[2]}Q{m[1]}", "Q"),
    (re.compile(r"^(\d{4})[-/.](\d{1,2})$"), lambda m: _month(m[1], m[2]), "M"),
    (re.compile(r"^(\d{1,2})[-/.](\d{4})$"), lambda m: _month(m[2], m[1]), "M"),
    (re.compile(r"^(\d{4})(?:\.0)?$"), lambda m: m[1], "Y"),
)


def period(col: pd.Series, *, freq: str | None = None) -> tuple[pd.Series, pd.Series, str | None]:
    """Period labels (``2024Q1``, ``2024-01``, ``2024``) from labels in common spellings or from
    dates.

    A column of dates (e.g. each period's first day, as 1C writes them) becomes labels at ``freq``,
    or at the frequency the dates imply (all Januaries: years; only Jan/Apr/Jul/Oct: quarters; else
    months).
    """
    raw = text(col)
    uniq = raw.dropna().unique()
    mapping, kinds = {}, set()
    for u in uniq:
        for pat, fmt, kind in _PERIOD_RES:
            m = pat.match(u)
            label = fmt(m) if m else None
            if label:
                mapping[u] = label
                kinds.add(kind)
                break
    rest = [u for u in uniq if u not in mapping]
    if rest:
        dates, dbad, _ = date(pd.Series(rest, dtype="str"))
        ok = dates.notna()
        if ok.any():
            d = dates[ok]
            f = freq
            if f is None:
                months = set(d.dt.month.tolist())
                f = "Y" if months == {1} else ("Q" if months <= {1, 4, 7, 10} else "M")
            labels = [str(p) for p in d.dt.to_period(f if f != "Y" else "Y")]
            for u, lab in zip(pd.Series(rest)[ok.to_numpy()].tolist(), labels):
                mapping[u] = lab
            kinds.add(f)
    out = raw.map(mapping).astype("str")
    bad = raw.notna() & out.isna()
    found = kinds.pop() if len(kinds) == 1 else (None if not kinds else "mixed")
    return out, bad, found
