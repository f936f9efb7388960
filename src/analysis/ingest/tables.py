"""From raw cells to one typed canonical table, and the checks across tables.

Each step adds what it finds to a :class:`~analysis.ingest.validation.Problems` list instead of
raising, so one run reports every failure.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis.ingest import parse
from analysis.ingest.dataconfig import TableSpec
from analysis.ingest.mapping import REQUIRED, SCHEMA, nearest, norm_header, propose, synonyms_for
from analysis.ingest.readers import RawTable, synonyms
from analysis.ingest.validation import Problems, run_schema


def _closest_header(headers: list[str], words: list[str], cutoff: float = 0.75) -> str | None:
    """The header most like one of ``words`` (a misspelling such as ``clinet_id``), if any is
    close."""
    best, score = None, cutoff
    for h in headers:
        for w in words:
            r = difflib.SequenceMatcher(None, norm_header(h), norm_header(w)).ratio()
            if r > score:
                best, score = h, r
    return best


def map_columns(raw: RawTable, table: str, spec: TableSpec, problems: Problems,
                hints: dict[str, str] | None = None) -> dict[str, str] | None:
    """Canonical → source column for ``raw``; ``None`` when a required column is missing.

    Without ``columns:`` in the config every canonical column is detected from the headers and
    values. With it, the config's map is the map: an optional column it leaves out is not detected
    behind the user's back (a note names what would have matched); only a required column it
    leaves out is still looked for, and the note says which header was taken.
    """
    label = raw.label
    headers = [h for h in raw.frame.columns if h not in set(spec.ignore)]
    mapping: dict[str, str] = {}
    ok = True
    for canon, source in spec.columns.items():
        if table != "kpis" and canon not in SCHEMA[table]:
            hint = nearest(canon, SCHEMA[table])
            problems.error(label, canon, "unknown canonical column in the config",
                           fix=(f"use one of {', '.join(SCHEMA[table])}"
                                + (f" (did you mean {hint!r}?)" if hint else "")))
            ok = False
            continue
        if source not in headers:
            hint = nearest(source, headers)
            what = ("is listed under `ignore:` too" if source in spec.ignore
                    else "is not in the file")
            problems.error(label, source, f"column named in the config for {canon} {what}",
                           fix=(f"the file has {', '.join(map(repr, headers[:12]))}"
                                + (f"; did you mean {hint!r}?" if hint else "")))
            ok = False
            continue
        mapping[canon] = source
    for canon, source in (hints or {}).items():  # decided from the content of several tables
        if canon not in mapping and source in headers and source not in mapping.values():
            mapping[canon] = source
    rest = [h for h in headers if h not in mapping.values()]
    auto = propose(rest, table, raw.frame.loc[:, rest].head(2000))
    if spec.columns:
        for canon in REQUIRED[table]:
            if canon not in mapping and canon in auto:
                mapping[canon] = auto[canon]
                raw.notes.append(f"{label}: the config maps no {canon} column; {auto[canon]!r} is "
                                 f"used (add `{canon}: {auto[canon]}` under columns to make it "
                                 "explicit)")
        unused = [f"{h!r} (looks like {c})" for c, h in auto.items() if c not in mapping
                  and h not in mapping.values()]
        if unused:
            raw.notes.append(f"{label}: not used, the config does not map them: "
                             f"{', '.join(unused[:8])}")
    else:
        for canon, source in auto.items():
            mapping.setdefault(canon, source)
    name_words = {norm_header(w) for w in synonyms()["columns"]["clients"]["name"]}
    if (table == "clients" and (hints or {}).get("client_id") == mapping.get("client_id")
        and "name" not in mapping
            and norm_header(mapping.get("client_id", "")) in name_words):
        mapping["name"] = mapping["client_id"]  # the ids found in the order lines are names
        problems.warning(label, mapping["name"], "no client id column: the names are used as ids",
                         fix="add an id column (e.g. ИНН) and map it to client_id, so renamed "
                         "clients stay one")
    if table == "clients" and "client_id" not in mapping and "name" in mapping:
        problems.warning(label, mapping["name"], "no client id column: the names are used as ids",
                         fix="add an id column (e.g. ИНН) and map it to client_id, so renamed "
                         "clients stay one")
        mapping["client_id"] = mapping["name"]
    if table == "transactions" and "client_id" not in mapping and "client_name" in mapping:
        mapping["client_id"] = mapping.pop("client_name")
    for canon in REQUIRED[table]:
        if canon not in mapping and _unparsed(raw, table, canon, spec, problems, headers, mapping):
            ok = False
            continue
        if canon not in mapping:
            hint = _closest_header([h for h in headers if h not in mapping.values()],
                                   [canon] + synonyms()["columns"].get(table, {}).get(canon, []))
            problems.error(label, canon, "required column missing",
                           fix=(f"the file has {', '.join(map(repr, headers[:12]))}; name the "
                                f"column holding {canon} under `tables: {{{table}: {{columns: "
                                f"{{{canon}: ...}}}}}}` in the config "
                                "(`keyclients init-config` proposes one)"
                                + (f"; is it {hint!r}?" if hint else "")))
            ok = False
    return mapping if ok else None


_PARSE_KINDS = {  # kind → (what the values should be, the fix)
    "date": ("dates",
             "write every date in one format (YYYY-MM-DD, DD.MM.YYYY, DD/MM/YYYY or YYYYMMDD) or "
             "set `date_format:` in the config"),
    "money": ("amounts",
              "remove text from the cells (units, notes) or set `decimal:`/`thousands:` in the "
              "config"),
    "period": ("periods", "write periods as 2024Q1, 2024-01, 2024 or as the period's first day"),
}


def _unparsed(raw: RawTable, table: str, canon: str, spec: TableSpec, problems: Problems,
              headers: list[str],
              mapping: dict[str, str]) -> bool:
    """A required column whose header names it (canonically or by a known synonym) but whose values
    do not read as its kind (``2024-13-45``, ``abc``): report that, with example cells and lines,
    instead of "column missing". True when reported."""
    kind = SCHEMA[table].get(canon)
    if kind not in _PARSE_KINDS:
        return False
    taken = set(mapping.values())
    names = {norm_header(w) for w in synonyms_for(table, canon)}
    source = next((h for h in headers if h not in taken and norm_header(h) == norm_header(canon)),
                  None) or \
        next((h for h in headers if h not in taken and norm_header(h) in names), None)
    if source is None:
        return False
    col = raw.frame[source]
    if isinstance(col, pd.DataFrame):  # a repeated header: its first column
        col = col.iloc[:, 0]
    filled = parse._filled(col)
    if not filled.any():
        return False
    if kind == "date":
        _, bad, _ = parse.date(col, fmt=spec.date_format)
    elif kind == "money":
        _, bad, _ = parse.money(col, decimal=spec.decimal, thousands=spec.thousands)
    else:
        _, bad, _ = parse.period(col)
    bad = bad.fillna(False).astype(bool) & filled
    if not bad.any():
        return False
    what, fix = _PARSE_KINDS[kind]
    # the texts have dq.unparsed_* / dq.fix_unparsed_* entries in the catalogue (the page's Russian)
    problems.mask("error", raw.label, source,
                  f"values do not parse as {what}: {int(bad.sum()):,} of {int(filled.sum()):,} "
                  "filled cells",
                  bad, line_word=raw.line_word, values=col,
                  fix=f"{fix}; if another column holds these values, map it as `{canon}:` under "
                  "the "
                      "table's `columns:`")
    return True


def normalize_ids(ids: pd.Series, spec: TableSpec) -> pd.Series:
    """Client ids as the config says: ``id_format: number`` drops leading zeros and a trailing
    ``.0`` (``00001``, ``1`` and ``1.0`` are one client); ``zero_pad: N`` pads ids of digits to
    N."""
    if spec.id_format == "text" and spec.zero_pad is None:
        return ids
    digits = ids.str.fullmatch(r"[0-9]+(?:\.0+)?").fillna(False).astype(bool)
    core = ids.where(~digits, ids.str.replace(r"\.0+$", "", regex=True))
    if spec.id_format == "number":
        core = core.where(~digits, core.str.lstrip("0").replace("", "0"))
    if spec.zero_pad:
        core = core.where(~digits, core.str.zfill(spec.zero_pad))
    return core.astype("str")


def _row_filter(raw: RawTable, table: str, spec: TableSpec, mapping: dict[str, str],
                problems: Problems
                ) -> pd.Series:
    """Rows the config's ``filter:`` drops (True = drop)."""
    frame = raw.frame
    drop = pd.Series(False, index=frame.index)
    for key, rule in spec.filter.items():
        column = key if key in frame.columns else mapping.get(key)
        if column is None or column not in frame.columns:
            problems.error(raw.label, key, "column named under `filter:` is not in the file",
                           fix=f"the file has {', '.join(map(repr, list(frame.columns)[:12]))}")
            continue
        vals = parse.text(frame[column]).fillna("").str.strip().str.lower()
        if rule.drop is not None:
            hit = vals.isin([str(v).strip().lower() for v in rule.drop])
        else:
            hit = pd.Series(False, index=frame.index)
        if rule.keep is not None:
            hit |= ~vals.isin([str(v).strip().lower() for v in rule.keep])
        raw.detected.setdefault("filters", []).append(
            {"column": column,
             "rule": ("drop " + ", ".join(rule.drop) if rule.drop is not None else "")
             + ("; " if rule.drop is not None and rule.keep is not None else "")
             + ("keep only " + ", ".join(rule.keep) if rule.keep is not None else ""),
             "mask": hit & ~drop})
        drop |= hit
    return drop


def _revenue_of(frame: pd.DataFrame, mapping: dict[str, str], spec: TableSpec) -> float:
    """Net revenue of raw order lines (what the typed table would hold), unreadable cells as 0."""
    if "revenue" not in mapping or frame.empty:
        return 0.0
    rev, _, _ = parse.money(frame[mapping["revenue"]], decimal=spec.decimal,
                            thousands=spec.thousands)
    if "vat_amount" in mapping:
        vat, _, _ = parse.money(frame[mapping["vat_amount"]], decimal=spec.decimal,
                                thousands=spec.thousands)
        rev = rev - vat.fillna(0)
    return round(float(rev.fillna(0).sum()), 2)


def build_table(raw: RawTable, table: str, spec: TableSpec, problems: Problems, *,
                freq: str | None = None,
                duplicates: str = "error", hints: dict[str, str] | None = None,
                keep: tuple[str, ...] = ()) -> pd.DataFrame | None:
    """Map, type and check one table; ``None`` when it cannot be built (problems say why).

    ``keep``: other columns kept as text under the name given (matched to a header ignoring case
    and punctuation), e.g. the column ``portfolio_by`` names.

    Rows the config's ``filter:`` drops are left out before typing; what was dropped (lines and
    revenue) goes to ``raw.detected["dropped"]``. Identical order lines are an error (a doubled
    export) unless ``duplicates="keep"``, or when they are under 1 % of the lines of one file (a
    warning); a line repeated across the files of a joined table is always an error.
    """
    label, lw = raw.label, raw.line_word
    missing = [c for c in spec.ignore if c not in raw.frame.columns]
    if missing:
        problems.warning(label, ", ".join(missing),
                         "column listed under `ignore:` is not in the file",
                         fix="remove it from `ignore:` or correct its name")
    _repeated_headers(raw)
    mapping = map_columns(raw, table, spec, problems, hints)
    if mapping is None:
        return None
    for name in keep:
        if name and name not in mapping:
            hit = next((h for h in raw.frame.columns if norm_header(h) == norm_header(name)
                        and h not in mapping.values()), None)
            if hit is not None:
                mapping[name] = hit
    raw.detected["mapping"] = dict(mapping)
    src = _source_rows(raw, table, spec, problems, mapping, duplicates)
    names = {canon: (f"{source} ({canon})" if source != canon else canon) for canon,
             source in mapping.items()}
    raw.detected["names"] = names  # how later checks name a column: as the file heads it
    out: dict[str, pd.Series] = {}
    kinds = dict(SCHEMA[table])
    for name in keep:
        kinds.setdefault(name, "text")
    if table == "kpis":
        for h in src.columns:
            if h not in mapping.values():
                mapping[h] = h
                names[h] = h
                kinds.setdefault(h, "number")
    for canon, source in mapping.items():
        col = src[source]
        if isinstance(col, pd.DataFrame):  # a header repeated in the file
            problems.error(label, source, "the header appears more than once",
                           fix="rename the duplicate columns or map one explicitly in the config")
            return None
        vals = _typed(col, canon, kinds[canon], names[canon], raw, table, spec, problems, freq=freq)
        if vals is not None:
            out[canon] = vals
    frame = pd.DataFrame(out, index=src.index)
    frame = frame[[c for c in kinds if c in frame.columns]]
    if table == "events" and "type" in frame:
        ignore = frame["type"] == "ignore"
        if ignore.any():
            raw.notes.append(f"{label}: dropped {int(ignore.sum())} event line(s) mapped to "
                             "`ignore`")
            frame = frame[~ignore]
    if table == "transactions":
        frame = _money_rules(frame, spec, problems, label, lw, names)
    returns = spec.returns
    run_schema(problems, frame, table, label, names, returns=returns, line_word=lw)
    return frame


def _source_rows(raw: RawTable, table: str, spec: TableSpec, problems: Problems,
                 mapping: dict[str, str],
                 duplicates: str) -> pd.DataFrame:
    """The file's rows the table is built from: ``ignore:`` columns removed, the config's filters
    applied (what they drop, with its revenue, goes to ``raw.detected["dropped"]``), doubled order
    lines handled by the ``duplicates`` policy."""
    label = raw.label
    src = raw.frame.drop(columns=[c for c in spec.ignore if c in raw.frame.columns])
    dropped = raw.detected.setdefault("dropped", [])
    if spec.filter:
        drop = _row_filter(raw, table, spec, mapping, problems)
        for f in raw.detected.pop("filters", []):
            m = f["mask"]
            dropped.append({"file": label, "reason": "filter",
                            "detail": f"{f['column']}: {f['rule']}",
                            "lines": int(m.sum()), "revenue": _revenue_of(src[m], mapping, spec)})
        src = src[~drop]
    if table == "transactions":
        src = _duplicates(src, raw, mapping, spec, problems, duplicates)
    return src


def _typed(col: pd.Series, canon: str, kind: str, name: str, raw: RawTable, table: str,
           spec: TableSpec,
           problems: Problems, *, freq: str | None) -> pd.Series | None:
    """One source column parsed as its kind (text, money/number, int, date, bool, a category,
    period); the cells that do not parse go to ``problems`` under the column's ``name``. What was
    detected (decimal mark, date format, period length) goes to ``raw.detected``."""
    label, lw, detected = raw.label, raw.line_word, raw.detected
    if kind == "text":
        vals = parse.text(col)
        if canon == "client_id":
            vals = normalize_ids(vals, spec)
        if spec.values.get(canon):  # a value map on a text column: exact labels, the rest kept
            vals = vals.replace({str(k): str(v) for k, v in spec.values[canon].items()})
        return vals
    if kind in ("money", "number"):
        fn = parse.money if kind == "money" else parse.number
        vals, bad, dec = fn(col, decimal=spec.decimal, thousands=spec.thousands)
        if (table == "kpis" and canon not in SCHEMA["kpis"]
                and bad.sum() > 0.5 * parse._filled(col).sum()):
            return parse.text(col)  # a text column in the KPI file: keep it as text
        detected.setdefault("decimal", dec)
        problems.mask("error", label, name, "not a number", bad, line_word=lw, values=col,
                      fix="remove text from the cells (units, notes) or set "
                      "`decimal:`/`thousands:` in the config")
        return vals
    if kind == "int":
        vals, bad = parse.integer(col, decimal=spec.decimal)
        problems.mask("error", label, name, "not a whole number", bad, line_word=lw, values=col,
                      fix="write whole numbers (e.g. a year as 2015)")
        return vals
    if kind == "date":
        vals, bad, fmt = parse.date(col, fmt=spec.date_format)
        detected["date_format"] = fmt
        problems.mask("error", label, name,
                      f"not a date in the column's format {fmt or '(none found)'}", bad,
                      line_word=lw, values=col,
                      fix="write every date in one format (YYYY-MM-DD, DD.MM.YYYY, DD/MM/YYYY or "
                          "YYYYMMDD) or set `date_format:` in the config")
        return vals
    if kind == "bool":
        vals, bad = parse.boolean(col, true_values=spec.true_values, false_values=spec.false_values,
                                  builtin=synonyms()["booleans"])
        problems.mask("error", label, name, "not a yes/no value", bad, line_word=lw, values=col,
                      fix="use Да/Нет, yes/no, true/false or 1/0, or list the words under "
                          "`true_values:`/`false_values:` in the config")
        return vals
    if kind in ("org_type", "event_type"):
        key = "org_type" if kind == "org_type" else "type"
        vals, bad, unknown = parse.categorical(col, config_map=spec.values.get(canon),
                                               builtin=synonyms()["values"][key])
        if kind == "org_type" and unknown:
            problems.mask("warning", label, name,
                          "organisation type not recognised (kept as written)", bad,
                          line_word=lw, values=col,
                          fix="map them under `values: {org_type: {...: "
                              "private|multinational|government|education|startup|sole_trader}}` "
                              "in the config")
        return vals
    if kind == "period":
        vals, bad, pkind = parse.period(col, freq=freq)
        detected["period_freq"] = pkind
        problems.mask("error", label, name, "not a period", bad, line_word=lw, values=col,
                      fix="write periods as 2024Q1, 2024-01, 2024 or as the period's first day")
        if pkind == "mixed":
            problems.error(label, name,
                           "periods of different lengths mixed (quarters, months, years)",
                           fix="use one period length in the file")
        return vals
    return None


def _repeated_headers(raw: RawTable) -> None:
    """Lines that repeat the header (two exports pasted into one file) are dropped, saying so."""
    frame = raw.frame
    if frame.empty or frame.shape[1] < 2:
        return
    same = pd.Series(True, index=frame.index)
    for c in frame.columns:
        same &= parse.text(frame[c]).fillna("") == str(c).strip()
        if not same.any():
            return
    lines = frame.index[same.to_numpy()].tolist()
    raw.notes.append(f"{raw.label}: the header is repeated at {raw.line_word} "
                     f"{', '.join(map(str, lines[:5]))} "
                     "(files joined?); those lines are skipped")
    raw.detected["repeated_header"] = lines
    raw.frame = frame[~same]


def _duplicates(src: pd.DataFrame, raw: RawTable, mapping: dict[str, str], spec: TableSpec,
                problems: Problems, policy: str) -> pd.DataFrame:
    """Identical order lines: a doubled or overlapping export unless the config keeps them."""
    if src.empty:
        return src
    cols = [c for c in src.columns if c not in set(spec.ignore)]
    keyed = src[cols].astype("str")
    dup = keyed.duplicated(keep="first")
    n = int(dup.sum())
    if not n:
        return src
    label, lw = raw.label, raw.line_word
    hashed = pd.util.hash_pandas_object(keyed, index=False)
    share_lines = n / len(src)
    rev_all = _revenue_of(src, mapping, spec)
    rev_dup = _revenue_of(src[dup], mapping, spec)
    share_rev = rev_dup / rev_all if rev_all else 0.0
    lines = src.index[dup.to_numpy()][:5].tolist()
    same = hashed.index[(hashed == hashed.loc[lines[0]]).to_numpy()][0]
    what = (f"identical order lines: {n:,} of {len(src):,} {lw}s repeat an earlier one "
            f"({share_lines:.1%} of the {lw}s, {share_rev:.1%} of revenue); first repeated at "
            f"{raw.where(lines[0])} (same as {raw.where(same)})")
    if raw.origin is not None:
        # a table joined from several files: the files holding the repeated lines (the first copy
        # and its repeats), and the first of those lines in each
        files = raw.origin["file"].loc[src.index[keyed.duplicated(keep=False).to_numpy()]]
        per = []
        for name in dict.fromkeys(files.tolist()):
            idx = files.index[(files == name).to_numpy()]
            first = ", ".join(str(int(raw.origin["line"].loc[i])) for i in idx[:3])
            share = _revenue_of(src.loc[idx], mapping, spec) / rev_all if rev_all else 0
            per.append(f"{name}: {len(idx):,} {lw}{'s' if len(idx) != 1 else ''} "
                       f"({share:.1%} of revenue), "
                       f"first at {lw}{'s' if len(idx) > 1 else ''} {first}")
        what += "; in " + "; ".join(per)
    if policy == "keep":
        raw.notes.append(f"{label}: {what}; kept (`duplicates: keep`)")
        return src
    fix = ("the same export loaded twice or overlapping files? export each period once; "
           "if these are real repeated lines, set `duplicates: keep` in the config")
    # Repeats within one file under 1 % of its lines may be real (a warning); a line repeated in
    # another file of the same table is an overlap between exports, an error whatever its share.
    across = False
    if raw.origin is not None:
        file_of = raw.origin["file"].loc[src.index]
        first_file = file_of.groupby(hashed.to_numpy()).transform("first")
        across = bool((dup.to_numpy() & (file_of.to_numpy() != first_file.to_numpy())).any())
    severity = "error" if share_lines >= 0.01 or across else "warning"
    problems.add(severity, label, "", what, count=n, lines=lines, fix=fix, line_word=lw)
    return src


def _money_rules(frame: pd.DataFrame, spec: TableSpec, problems: Problems, label: str, lw: str,
                 names: dict[str, str]) -> pd.DataFrame:
    """Cost from gross profit, currencies converted with the config's rates, VAT taken out.

    With a VAT amount column, revenue is net: the amount minus its VAT (each line, to the cent).
    """
    if "vat_amount" in frame and "revenue" in frame:
        vat = frame["vat_amount"]
        over = vat.notna() & frame["revenue"].notna() & (vat.abs() > frame["revenue"].abs())
        problems.mask("error", label, names["vat_amount"],
                      "VAT amount larger than the amount it is part of", over,
                      line_word=lw, values=vat,
                      fix="map the amount with VAT to revenue, or the right VAT column to "
                      "vat_amount")
        frame["revenue"] = (frame["revenue"] - vat.fillna(0)).round(2)
        frame = frame.drop(columns=["vat_amount"])
        if spec.vat is not None:
            problems.error(label, names["vat_amount"],
                           "both a VAT amount column and `vat:` are set",
                           fix="keep one: the VAT amount column already gives net revenue; remove "
                           "`vat:`")
            return frame
    if "gross_profit" in frame and "cost" not in frame and "revenue" in frame:
        frame["cost"] = (frame["revenue"] - frame["gross_profit"]).round(2)
    if "currency" in frame:
        cur = frame["currency"].str.upper().str.strip()
        found = sorted(cur.dropna().unique().tolist())
        if len(found) > 1 or (spec.currency and found and found != [spec.currency.base.upper()]):
            if spec.currency is None:
                problems.error(label, names["currency"],
                               f"several currencies ({', '.join(found[:6])}) and no rates",
                               count=len(frame),
                               fix=("add `currency: {base: RUB, rates: {USD: 92.5, ...}}` for "
                                    "transactions in the config (units of base per unit)"))
            else:
                base = spec.currency.base.upper()
                rates = {k.upper(): v for k, v in spec.currency.rates.items()}
                rates[base] = 1.0
                missing = [c for c in found if c not in rates]
                if missing:
                    problems.mask("error", label, names["currency"],
                                  f"no rate for {', '.join(missing)}",
                                  cur.isin(missing), line_word=lw,
                                  fix=f"add their rates under `currency: {{rates: {{...}}}}` "
                                  f"(units of {base} per unit)")
                else:
                    for c in ("revenue", "cost", "gross_profit"):
                        if c in frame:
                            frame[c] = exact_money(frame[c], cur.map(rates).fillna(1.0), "mul")
                    frame["currency"] = frame["currency"].where(frame["currency"].isna(), base)
    if spec.vat is not None and "revenue" in frame:
        inc = spec.vat.included
        if isinstance(inc, str):
            problems.error(label, "vat",
                           "`vat.included` names a column; map it as vat_included instead",
                           fix="use `columns: {vat_included: <column>}` and `vat: {rate: 0.2}`")
        elif inc:
            mask = (frame["vat_included"].fillna(True).astype(bool) if "vat_included" in frame
                    else True)
            net = exact_money(frame["revenue"], pd.Series(1 + spec.vat.rate, index=frame.index),
                              "div")
            frame["revenue"] = net.where(mask, frame["revenue"]) if mask is not True else net
            if "gross_profit" in frame and "cost" in frame:
                frame["gross_profit"] = (frame["revenue"] - frame["cost"]).round(2)
    elif "vat_included" in frame and frame["vat_included"].fillna(False).any():
        problems.warning(label, names["vat_included"],
                         "some revenue includes VAT and no rate is set",
                         count=int(frame["vat_included"].fillna(False).sum()),
                         fix="add `vat: {rate: 0.2}` for transactions in the config to get net "
                         "revenue")
    return frame


def exact_money(values: pd.Series, factor: pd.Series, op: str) -> pd.Series:
    """``values`` × or ÷ ``factor`` in decimal arithmetic, rounded half away from zero to cents.

    Floats would round 1,234,567.89 / 1.2 = 1,028,806.575 either way; Decimal does not. Computed
    once per distinct (value, factor) pair.
    """
    pairs = pd.DataFrame({"v": values, "f": factor})
    uniq = pairs.dropna().drop_duplicates()
    cent = Decimal("0.01")

    def one(v, f):
        d, k = Decimal(repr(float(v))), Decimal(repr(float(f)))
        return float((d * k if op == "mul" else d / k).quantize(cent, rounding=ROUND_HALF_UP))

    res = pd.Series([one(v, f) for v, f in zip(uniq["v"], uniq["f"])],
                    index=pd.MultiIndex.from_frame(uniq),
                    dtype="float64")
    out = pd.MultiIndex.from_frame(pairs.fillna({"f": 1.0})).map(res.to_dict().get)
    return pd.Series(out, index=values.index, dtype="float64").where(values.notna())


def cross_checks(frames: dict[str, pd.DataFrame], labels: dict[str, str], problems: Problems,
                 line_words: dict[str, str], names: dict | None = None,
                 specs: dict | None = None) -> None:
    """Checks across tables: unknown clients (and ids written two ways), clients without any order
    line, founded after the first order, empty periods.

    ``names`` maps table → canonical column → the column as the file heads it (for messages).
    """
    names = names or {}

    def name(table: str, column: str) -> str:
        return names.get(table, {}).get(column, column)

    clients = frames.get("clients")
    if clients is None or "client_id" not in clients:
        return
    known = pa.array(clients["client_id"].dropna().unique().astype(str), type=pa.string())
    for table in ("transactions", "events", "client_periods"):
        df = frames.get(table)
        if df is None or "client_id" not in df:
            continue
        ids = df["client_id"]
        # pyarrow's hash lookup: several times faster than Series.isin on a million ids
        found = pc.is_in(pa.array(ids.astype("str"), type=pa.string()), value_set=known)
        bad = ids.notna() & ~pd.Series(found.to_numpy(zero_copy_only=False),
                                       index=ids.index).fillna(False).astype(bool)
        if bad.any():
            from analysis.ingest.ids import two_ways

            tw = two_ways(clients["client_id"], ids[bad], master="clients", other=table)
            if tw is not None:
                eg = ", ".join(f"{a!r} here is {b!r} in {labels['clients']}"
                               for a, b in tw.examples)
                idx = ids.index[bad.to_numpy()]
                problems.add("error", labels[table], name(table, "client_id"),
                             f"client ids written two ways: {tw.matched_by_key:,} of the "
                             f"{tw.unmatched:,} ids not in the clients table are there with "
                             f"leading zeros or a .0 (e.g. {eg})",
                             count=int(bad.sum()), lines=idx[:5], line_word=line_words[table],
                             fix=tw.fix("clients", table))
                continue
        problems.mask("error", labels[table], name(table, "client_id"),
                      "client not in the clients table", bad,
                      line_word=line_words[table], values=ids,
                      fix=f"add those clients to {labels['clients']} or correct the ids")
    tx = frames.get("transactions")
    if (tx is not None and "client_id" in tx and len(clients)
            and not labels["clients"].endswith("(derived)")):
        buying = set(tx["client_id"].dropna().astype(str).unique())
        idle = ~clients["client_id"].astype(str).isin(buying)
        if idle.any():
            n = int(idle.sum())
            problems.mask("warning", labels["clients"], name("clients", "client_id"),
                          f"clients with no order line at all: {n:,} of {len(clients):,} "
                          f"({n / len(clients):.1%}); "
                          "they count in no period", idle, line_word=line_words["clients"],
                          values=clients["client_id"],
                          fix="fine if they never bought in the exported span; otherwise the order "
                              "lines are incomplete or their ids are written differently")
    kpis = frames.get("kpis")
    if kpis is not None and "portfolio" in kpis and "portfolio" in clients:
        portfolios = clients["portfolio"].dropna().unique()
        unknown = kpis["portfolio"].notna() & ~kpis["portfolio"].isin(portfolios)
        problems.mask("warning", labels["kpis"], name("kpis", "portfolio"),
                      "portfolio not among the clients' portfolios "
                      "(its KPIs will not join)", unknown, line_word=line_words["kpis"],
                      values=kpis["portfolio"],
                      fix="write portfolios the same way in both files, or map them under `values: "
                      "{portfolio: {...}}`")
    tx = frames.get("transactions")
    if tx is not None and "date" in tx and len(tx):
        _date_checks(tx, clients, labels, problems, line_words, name)


def _date_checks(tx: pd.DataFrame, clients: pd.DataFrame, labels: dict[str, str],
                 problems: Problems, line_words: dict[str, str],
                 name: Callable[[str, str], str]) -> None:
    """Clients founded after their first order; months without any order line."""
    if "founded_year" in clients:
        first = tx.groupby("client_id", sort=False)["date"].min().dt.year
        fy = clients.set_index("client_id")["founded_year"]
        fy = fy[~fy.index.duplicated()]
        joined = fy.reindex(first.index)
        late = (joined > first).fillna(False)
        if late.any():
            lines = clients.index[clients["client_id"].isin(late[late].index).to_numpy()]
            problems.add("warning", labels["clients"], name("clients", "founded_year"),
                         "founded after the client's first order",
                         count=int(late.sum()), lines=sorted(lines)[:5],
                         line_word=line_words["clients"],
                         fix="check those founding years")
    dates = tx["date"].dropna()
    if len(dates):
        months = pd.unique((dates.dt.year * 12 + dates.dt.month - 1).to_numpy())
        span = set(range(int(months.min()), int(months.max()) + 1))
        empty = [pd.Period(year=m // 12, month=m % 12 + 1, freq="M")
                 for m in sorted(span - set(months.tolist()))]
        if len(empty):
            problems.add("warning", labels["transactions"], name("transactions", "date"),
                         "months without any order line: "
                         + ", ".join(str(p) for p in empty[:6])
                         + (" …" if len(empty) > 6 else ""),
                         count=len(empty),
                         fix="check the export covers the whole period (a missing file or "
                         "filter?)")


def fill_portfolio(clients: pd.DataFrame,
                   tx: pd.DataFrame | None) -> tuple[pd.DataFrame, str | None]:
    """Clients without a portfolio get the one where they bought most (from the order lines)."""
    if tx is None or "portfolio" not in tx or tx["portfolio"].isna().all():
        return clients, None
    if "portfolio" in clients and clients["portfolio"].notna().all():
        return clients, None
    main = (tx.groupby(["client_id", "portfolio"], sort=True)["revenue"].sum().reset_index()
            .sort_values(["client_id", "revenue", "portfolio"], ascending=[True, False, True],
                         kind="stable")
            .drop_duplicates("client_id").set_index("client_id")["portfolio"])
    filled = clients["client_id"].map(main)
    if "portfolio" in clients:
        filled = clients["portfolio"].fillna(filled)
    clients = clients.assign(portfolio=filled.astype("str"))
    return clients, "clients without a portfolio take the one from their order lines (most revenue)"

