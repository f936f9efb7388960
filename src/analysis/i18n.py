"""The report's two languages: a message catalogue with plural forms, number formats, table display.

Every word a page shows outside its markdown cells comes from ``resources/messages.yaml`` through
:func:`t` (or :func:`plural`); numbers go through :func:`number` (decimal comma and a narrow
no-break space between thousands in Russian). Tables written to CSV keep their English ids; only
the displayed copy (:func:`show`) is translated. Written by hand: the catalogue is a few hundred
short strings, and gettext's .po/.mo build step would be the only thing a new translation needs
that YAML does not give.
"""

from __future__ import annotations

import functools
import html
import math
import re
from numbers import Integral, Real
from typing import TYPE_CHECKING, SupportsFloat, SupportsInt

import pandas as pd
import yaml

from analysis import registry
from analysis.config import PACKAGE_DIR
from analysis.errors import InputError

if TYPE_CHECKING:  # IPython is imported when a page shows a table, not with the package
    from IPython.display import HTML

LANGS = ("en", "ru")
CATALOGUE = PACKAGE_DIR / "resources" / "messages.yaml"
_THIN = "\u202f"  # narrow no-break space: the Russian thousands separator


def check_lang(lang: str) -> str:
    """``lang`` if the reports speak it; otherwise an error naming the choices."""
    if lang not in LANGS:
        raise InputError(f"--lang must be one of {', '.join(LANGS)}, got {lang!r}")
    return lang


@functools.lru_cache(maxsize=1)
def messages() -> dict:
    """The catalogue: key → {en: text or plural forms, ru: ...}."""
    with open(CATALOGUE, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def has(key: str) -> bool:
    return key in messages()


def t(key: str, lang: str = "en", **values: object) -> str:
    """The catalogue text ``key`` in ``lang`` with ``{placeholders}`` filled."""
    entry = messages()[key][check_lang(lang)]
    if isinstance(entry, list):
        raise KeyError(f"{key} has plural forms: use plural()")
    return entry.format(**values) if values else entry


def plural_index(n: int, lang: str) -> int:
    """Which plural form ``n`` takes: English one/other; Russian one/few/many (CLDR rules)."""
    n = abs(int(n))
    if lang == "ru":
        if n % 10 == 1 and n % 100 != 11:
            return 0
        if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
            return 1
        return 2
    return 0 if n == 1 else 1


def plural(key: str, n: int, lang: str = "en", **values: object) -> str:
    """``n`` with the right word form, e.g. ``plural("n.clients", 21, "ru")`` → ``21 клиент``."""
    forms = messages()[key][check_lang(lang)]
    return forms[plural_index(n, lang)].format(n=integer(n, lang), **values)


def integer(n: SupportsInt, lang: str = "en") -> str:
    """A whole number with thousands grouping: ``12,345`` / ``12 345``."""
    text = f"{int(n):,}"
    return text.replace(",", _THIN) if lang == "ru" else text


def number(x: SupportsFloat | None, lang: str = "en", digits: int = 2) -> str:
    """A number for display: ``digits`` decimals (integers without), thousands grouped, decimal
    comma in Russian; NaN shows as an empty string."""
    if x is None or (isinstance(x, Real) and not isinstance(x, Integral) and math.isnan(x)):
        return ""
    if isinstance(x, bool):
        return t(f"value.{x}", lang)
    if isinstance(x, Integral):
        return integer(x, lang)
    x = float(x)
    if round(x, digits) == 0:
        x = 0.0  # never "-0.00"
    text = f"{x:,.{digits}f}"
    if lang == "ru":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", _THIN).replace("-", "\u2212")
    return text


def significant(x: SupportsFloat | None, lang: str = "en", digits: int = 3) -> str:
    """A number to ``digits`` significant figures (p-values, small effects)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    text = f"{float(x):.{digits}g}"
    return text.replace(".", ",") if lang == "ru" else text


def percent(x: SupportsFloat, lang: str = "en", digits: int = 0) -> str:
    """A share as a percentage: ``12 %``."""
    return f"{number(100 * float(x), lang, digits)} %"


def level(alpha: float, lang: str = "en") -> str:
    """A test's level α as a percentage with the digits it needs: ``5 %``, ``2.5 %`` (``2,5 %``)."""
    a = round(100 * float(alpha), 9)  # 100 * 0.07 is 7.000000000000001 in floating point
    return percent(alpha, lang, 0 if a == round(a) else 1 if a * 10 == round(a * 10) else 2)


def signed_percent(x: SupportsFloat, lang: str = "en") -> str:
    """A relative change as a signed percentage: ``+35 %``, ``−26 %``, ``0 %``."""
    text = percent(x, lang)
    return text if text.startswith(("-", "\u2212", "0 ")) else f"+{text}"


def _is_kind(text: str) -> bool:
    return text in registry.current().kinds


def category(cat: str, lang: str = "en") -> str:
    """The display label of a category id: the label of the rulebook that declared the kind (the
    built-in one, or a user's rulebook once loaded; :mod:`analysis.registry`)."""
    label = registry.current().kind_label(str(cat), check_lang(lang))
    if label is not None:
        return label
    key = f"category.{cat}"
    return t(key, lang) if has(key) else str(cat)


def outcome(name: str, lang: str = "en") -> str:
    """The display label of an outcome id (the registry's ``label``; a KPI column it does not
    know shows as its id)."""
    known = registry.current().outcomes.get(str(name))
    if known is not None:
        return known.label[check_lang(lang)]
    key = f"outcome.{name}"
    return t(key, lang) if has(key) else str(name)


def verdict(v: str, lang: str = "en") -> str:
    key = f"verdict.{v}"
    return t(key, lang) if has(key) else str(v)


def column(name: str, lang: str = "en") -> str:
    """A table header for display; unknown columns show their id with spaces."""
    key = f"col.{name}"
    return t(key, lang) if has(key) else str(name).replace("_", " ")


_P_COLUMNS = ("p_adj", "p_unc", "p_holm", "p_value")
#: Shares and rates shown as percentages (``0 %``, never ``< 0.001``).
_SHARE_COLUMNS = ("share", "revenue_share", "margin", "new_product_share", "member_share",
                  "false_positive_rate",
                  "rejection_rate_planted", "rejection_rate")
#: Relative changes shown as signed percentages.
_CHANGE_COLUMNS = ("change_vs_default",)
#: Money shown in whole units with thousands grouped.
_MONEY_COLUMNS = ("revenue", "gross_profit", "window_revenue", "prepayment_amount")


def label(value: object, lang: str = "en") -> str:
    """A text value as shown: category, outcome and verdict ids and a few status words get their
    label; anything else (names, reasons, periods) shows as it is."""
    text = str(value)
    if _is_kind(text):
        return category(text, lang)
    if text in registry.current().outcomes:
        return outcome(text, lang)
    for key in (f"outcome.{text}", f"verdict.{text}", f"value.{text}", f"category.{text}"):
        if has(key):
            return t(key, lang)
    return text


def header(name: object, lang: str = "en") -> str:
    """A column header as shown: a category id gets its label, a known column its name."""
    text = str(name)
    if _is_kind(text):
        return category(text, lang)
    return column(text, lang)


def cell(col: str, value: object, lang: str = "en") -> str:
    """One value as a table shows it (labels translated, numbers formatted), not yet escaped."""
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float)
                                                              and math.isnan(value)):
        return ""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return t(f"value.{bool(value)}", lang)
    if isinstance(value, Integral):
        return integer(value, lang)
    if isinstance(value, Real):
        if col in _P_COLUMNS:
            if 0 <= float(value) < 0.001:
                return f"< {number(0.001, lang, 3)}"
            return significant(value, lang)
        if col in _SHARE_COLUMNS:
            return percent(value, lang, 0 if value == 0 or abs(float(value)) >= 0.1 else 1)
        if col in _CHANGE_COLUMNS:
            return signed_percent(value, lang)
        if col in _MONEY_COLUMNS:
            return number(value, lang, 0)
        return number(value, lang)
    if col in ("reason",):
        return reason(value, lang)
    if col == "note":
        return note(value, lang)
    if col == "line_word" and has(f"dq.unit_{value}"):
        return t(f"dq.unit_{value}", lang)
    if col in ("file", "check", "fix") and lang != "en":
        out = dq(value, lang)
        return out if out != str(value) else label(value, lang)
    if col == "name" and lang == "ru":
        return re.sub(r"^Client (?=[0-9A-F]{6,}$)", "Клиент ", str(value))
    return label(value, lang)


def _all_whole(col: pd.Series) -> bool:
    """A float column whose values are all whole numbers (counts, medians of counts): shown without
    decimals."""
    if not pd.api.types.is_float_dtype(col):
        return False
    values = col.dropna()
    return (len(values) > 0 and bool(((values % 1) == 0).all())
            and bool((values.abs() < 2**53).all()))


def show(df: pd.DataFrame, lang: str = "en", *, index: bool = False, max_rows: int = 60) -> HTML:
    """A table for a page: headers, ids and numbers in ``lang``, every text HTML-escaped.

    ``index=True`` shows the index as the first column (category ids in it show as labels).
    Long tables are cut to ``max_rows`` rows (the CSV keeps them all).
    """
    from IPython.display import HTML

    d = df.reset_index() if index else df
    if index and d.columns[0] == "index":
        d = d.rename(columns={"index": ""})
    if len(d) == 0:
        return HTML(f"<p><em>{html.escape(t('empty', lang))}</em></p>")
    cols = [str(c) for c in d.columns]
    whole = {c for c, (_, col) in zip(cols, d.items())
             if _all_whole(col) and c not in _SHARE_COLUMNS and c not in _CHANGE_COLUMNS}
    text_cols = {c for c, (_, col) in zip(cols, d.items())
                 if not pd.api.types.is_numeric_dtype(col)}
    head = "".join(f'<th{" class=txt" if c in text_cols else ""}>'
                   f'{html.escape(header(c, lang))}</th>' for c in cols)
    rows = []
    for rec in d.head(max_rows).itertuples(index=False):
        cells = "".join(f'<td class="{html.escape(c)}{" txt" if isinstance(v, str) else ""}">'
                        f'{html.escape(cell(c, int(v) if c in whole and v == v else v, lang))}</td>'
                        for c, v in zip(cols, rec))
        rows.append(f"<tr>{cells}</tr>")
    more = ""
    if len(d) > max_rows:
        shown = t("show.more", lang, shown=integer(max_rows, lang), total=integer(len(d), lang))
        more = f"<p><em>{html.escape(shown)}</em></p>"
    return HTML(f'<div class="table-wrap"><table class="dataframe"><thead><tr>{head}</tr></thead>'
                f'<tbody>{"".join(rows)}</tbody></table></div>{more}')


def facts_sentence(facts: dict, lang: str = "en", *, portfolio: str = "") -> str:
    """The one-line description of a client base (from :func:`analysis.report.profiles.facts`)."""
    values = dict(clients=plural("n.clients", facts["clients"], lang),
                  periods=plural("n.periods", facts["periods"], lang),
                  first=facts["first_period"], last=facts["last_period"],
                  lines=plural("n.order_lines", facts["order_lines"], lang))
    if portfolio:
        return t("facts.sentence_one", lang, portfolio=portfolio, **values)
    return t("facts.sentence", lang, portfolios=plural("n.portfolios", facts["portfolios"], lang),
             **values)


_COND = re.compile(r"\b([a-z][a-z0-9_]*)(==|!=|>=|<=|=|>|<)([^;()]*?)(?: \((pooled|per-portfolio) "
                   r"(?:q([0-9.]+(?:-q[0-9.]+)?)|Pareto top ([0-9]+)%)\))?(?=;|$|\))")
_NUM = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?")


def _ru_number(text: str) -> str:
    return text.replace(",", _THIN).replace(".", ",").replace("-", "\u2212")


def _ru_value(text: str) -> str:
    v = text.strip()
    if v in ("true", "false"):
        return t(f"value.{v == 'true'}", "ru")
    if has(f"orgtype.{v}"):
        return t(f"orgtype.{v}", "ru")
    return _NUM.sub(lambda m: _ru_number(m.group(0)), text)


def reason(text: object, lang: str = "en") -> str:
    """A rule's reason as shown (``revenue=6,276,930 >= 5,765,104 (pooled Pareto top 80%)``): kept
    as it is in English, in Russian words and numbers (feature names, organisation types, yes/no,
    decimal commas, the kind of threshold)."""
    text = str(text)
    if lang == "en" or not text:
        return text
    if text == t("reason.inactive", "en"):
        return t("reason.inactive", "ru")
    short = re.fullmatch(r"short history: fewer than (\d+) periods of data end here", text)
    if short:
        return t("reason.short_history", "ru", w=short.group(1))
    if text.startswith(t("reason.not_computable", "en") + " "):
        return t("reason.not_computable", "ru") + text[len(t("reason.not_computable", "en")):]

    def cond(m: re.Match) -> str:
        feat, op, val, scope, q, p = m.groups()
        name = t(f"feat.{feat}", "ru") if has(f"feat.{feat}") else feat.replace("_", " ")
        out = f"{name} {op} {_ru_value(val)}" if op != "=" else f"{name}: {_ru_value(val)}"
        if scope:
            where = t(f"reason.{scope}", "ru")
            out += " (" + (t("reason.quantile", "ru", q=_ru_number(q).replace("q", ""),
                             scope=where) if q
                           else t("reason.pareto", "ru", p=f"{p} %", scope=where)) + ")"
        return out

    def need(m: re.Match) -> str:
        feat, op, rest = m.groups()
        name = t(f"feat.{feat}", "ru") if has(f"feat.{feat}") else feat.replace("_", " ")
        q = re.fullmatch(r"quantile ([0-9.]+)", rest)
        p = re.fullmatch(r"the Pareto top ([0-9.]+) cut", rest)
        thr = (t("reason.need_quantile", "ru", q=_ru_number(q.group(1))) if q else
               t("reason.need_pareto", "ru", p=percent(float(p.group(1)), "ru")) if p
               else _ru_value(rest))
        return t("reason.needs_one", "ru", cond=f"{name} {op} {thr}")

    text = re.sub(r"needs ([a-z][a-z0-9_]*) (==|!=|>=|<=|>|<|=) (quantile [0-9.]+|the Pareto top "
                  r"[0-9.]+ cut|[^;()]+)",
                  need, text)
    text = re.sub(r"needs all (\d+) conditions",
                  lambda m: t("reason.needs_all", "ru", n=m.group(1)), text)
    text = re.sub(r"needs any of (\d+) conditions",
                  lambda m: t("reason.needs_any", "ru", n=m.group(1)), text)
    text = re.sub(r"needs at least (\d+) of (\d+)",
                  lambda m: t("reason.needs_at_least", "ru", k=m.group(1), n=m.group(2)), text)
    text = text.replace("not met", t("reason.not_met", "ru"))
    text = text.replace("no condition held", t("reason.no_condition", "ru"))
    text = re.sub(r"\bheld: ", t("reason.held", "ru") + ": ", text)
    parts = [_COND.sub(cond, p) if p else p for p in re.split(r"(; )", text)]
    return "".join(parts)


def note(text: object, lang: str = "en") -> str:
    """An ingest note as shown: ``1,899 lines read (encoding='utf-8', delimiter=',' …)`` in
    Russian words in Russian; a note of another form stays as it is."""
    text = str(text)
    m = re.fullmatch(r"([\d,]+) lines read \((.*)\)", text)
    if lang == "en":
        return text
    if not m:
        return dq(text, lang)
    pairs = []
    for key, val in re.findall(r"(\w+)=('(?:[^']*)'|[^,]+)", m.group(2)):
        val = val.strip("'")
        label = t(f"note.{key}", "ru") if has(f"note.{key}") else key
        pairs.append(f"{label} «{val}»" if key in ("delimiter", "decimal") else f"{label} {val}")
    return t("note.lines_read", "ru", n=integer(int(m.group(1).replace(",", "")), "ru"),
             how=", ".join(pairs))


#: Parts of ingest texts that are themselves catalogue texts (``id only``, ``first``, ``kept in the
#: panel ...``): translated after the template around them matched.
_DQ_VALUES = ("dq.what_id_name", "dq.what_id_only", "dq.side_first", "dq.side_last", "dq.kept_keep",
              "dq.kept_few", "dq.left_out")
_DQ_WORDS = ("dq.line_word_many", "dq.line_word", "dq.row_word_many", "dq.row_word")


@functools.lru_cache(maxsize=1)
def _dq_patterns() -> list[tuple[re.Pattern, str]]:
    """The ``dq.*`` templates as patterns over the English text, longest first (a more specific
    template wins over a shorter one that also matches). ``{*}`` matches a word the Russian text
    does not carry over."""
    out = []
    for key, entry in messages().items():
        if not key.startswith("dq.") or key in _DQ_VALUES or key in _DQ_WORDS:
            continue
        parts = re.split(r"(\{[a-z_0-9*]+\})", entry["en"])
        # a word the Russian text does not repeat (``line``/``row``)
        rx = "".join(".+?" if p == "{*}" else
                     f"(?P<{p[1:-1]}>{'[^()]+?' if p == '{col}' else '.+?'})"
                     if re.fullmatch(r"\{[a-z_0-9]+\}", p)
                     else re.escape(p) for p in parts)
        out.append((re.compile(rx, re.DOTALL), key))
    return sorted(out, key=lambda pk: -len(messages()[pk[1]]["en"]))


def _dq_value(v: str) -> str:
    """A value inside an ingest text in Russian: a catalogue phrase, ``line 5, 7`` or a number."""
    for key in _DQ_VALUES:
        if v == t(key, "en"):
            return t(key, "ru")
    for key in _DQ_WORDS:
        head = messages()[key]["en"].split("{lines}")[0]
        m = re.fullmatch(re.escape(head) + "(.+)", v)
        if m:
            return t(key, "ru", lines=m.group(1))
    if re.fullmatch(r"-?[\d,]+(?:\.\d+)?%?", v):
        return _ru_number(v.rstrip("%")) + (" %" if v.endswith("%") else "")
    if "; " in v:  # several texts joined (the notes of a client panel)
        return "; ".join(_dq_value(p) for p in v.split("; "))
    return dq(v, "ru")  # a value that is itself an ingest text (the evidence of an id column)


def dq(text: object, lang: str = "en") -> str:
    """An ingest note, check or fix (or a file label) as the data-quality page shows it: as it is
    in English; in Russian from its ``dq.*`` catalogue entry, the values inside carried over (ids,
    file and column names as they are, numbers with decimal commas). A text no template matches
    stays as it is (a test scans the Russian pages for English words left)."""
    text = "" if text is None else str(text)
    if lang == "en" or not text:
        return text
    for rx, key in _dq_patterns():
        m = rx.fullmatch(text)
        if m and key != "dq.eg":
            return t(key, "ru", **{k: _dq_value(v) for k, v in m.groupdict().items()})
    # a check with examples (ingest.validation)
    eg = re.fullmatch(r"(.+) \(e\.g\. (.+)\)", text, re.DOTALL)
    if eg and dq(eg.group(1), lang) != eg.group(1):
        return t("dq.eg", "ru", check=dq(eg.group(1), lang), examples=eg.group(2))
    return text
