"""``keyclients init-config``: propose a commented data config for a folder of exports.

Every file in the folder is read as the readers would (encoding, delimiter, header detected) and
its role is decided by what its columns hold, not by its name: one row per id with attributes →
clients; many rows per id with a date and money → transactions; a date and event types → events;
a period column and numeric company measures → KPIs (file names only break ties). Within a file,
each column's role is checked against its values (:func:`analysis.ingest.mapping.propose`); the
clients' id is the column whose values are found among the order lines' ids (overlap measured), ids
written two ways get ``zero_pad``/``id_format``, a status column with cancel-like values gets a
``filter:``. Each decision carries its evidence (:attr:`Proposal.evidence`), which
``init-config --dry-run`` prints.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.errors import InputError
from analysis.ingest import parse
from analysis.ingest.dataconfig import TableSpec
from analysis.ingest.mapping import REQUIRED, SCHEMA, norm_header, propose, values_fit
from analysis.ingest.readers import RawTable, read_table, synonyms

_NAME_HINTS = {
    "clients": ("client", "customer", "клиент", "контрагент", "покупател", "account"),
    "transactions": ("transaction", "sale", "order", "invoice", "продаж", "реализац", "заказ",
                     "выручк", "отгруз"),
    "events": ("event", "claim", "событ", "журнал", "рекламац"),
    "client_periods": ("client_period", "period"),
    "kpis": ("kpi", "показател", "plan", "план"),
}
_EXTS = (".csv", ".gz", ".tsv", ".txt", ".dat", ".xlsx", ".parquet")
_SAMPLE = 5000


def _q(value: str) -> str:
    """A YAML scalar, quoted when needed (JSON strings are valid YAML)."""
    s = str(value)
    if s and all(ch.isalnum() or ch in " _-."
                 for ch in s) and not s[0].isdigit() and s.strip() == s \
            and s.lower() not in ("yes", "no", "true", "false", "on", "off", "null", "y", "n"):
        return s
    return json.dumps(s, ensure_ascii=False)


def _samples(col: pd.Series, n: int = 3) -> str:
    vals = parse.text(col).dropna().unique()[:n]
    return ", ".join(repr(str(v))[:30] for v in vals)


@dataclass
class _File:
    path: Path
    raw: RawTable
    maps: dict[str, dict[str, str]] = field(default_factory=dict)
    why: dict[str, dict[str, str]] = field(default_factory=dict)
    scores: dict[str, tuple[float, str]] = field(default_factory=dict)


def _role_scores(f: _File) -> None:
    """How well the file fits each table, with the reason, from its content."""
    frame = f.raw.frame.head(_SAMPLE)
    n = len(frame)
    for table in SCHEMA:
        why: dict[str, str] = {}
        mapping = propose(list(frame.columns), table, frame, evidence=why)
        f.maps[table], f.why[table] = mapping, why
    name = f.path.name.lower()

    def hint(table):
        return 0.5 if any(h in name for h in _NAME_HINTS[table]) or name.startswith(table) else 0.0

    def repeats(col):
        s = parse.text(frame[col]).dropna()
        return s.nunique(), len(s)

    # events: a date and a type column whose values are event types
    m = f.maps["events"]
    if all(c in m for c in REQUIRED["events"]):
        _, _, unknown = parse.categorical(frame[m["type"]], builtin=synonyms()["values"]["type"])
        vals = parse.text(frame[m["type"]]).dropna()
        known = float((~vals.isin(unknown)).mean()) if len(vals) else 0.0
        if known >= 0.3:
            f.scores["events"] = (2.5 + 2 * known + hint("events"),
                                  f"{known:.0%} of {m['type']!r} are event types "
                                  f"({_samples(frame[m['type']])})")
    # transactions: an id that repeats, a date, money
    m = f.maps["transactions"]
    if "client_id" in m and "date" in m:
        d, k = repeats(m["client_id"])
        score = 3 + (1.5 if d < 0.9 * k
                     else 0) + hint("transactions") - (2 if "revenue" not in m else 0) - (
            2 if "events" in f.scores else 0)
        f.scores["transactions"] = (score,
                                    f"{k:,} rows, {d:,} distinct ids in {m['client_id']!r}, dates "
                                    f"in {m['date']!r}, "
                                    + (f"money in {m['revenue']!r}" if "revenue" in m
                                       else "no money column recognised"))
    # clients: one row per id, attributes, no money by date
    m = f.maps["clients"]
    idc = m.get("client_id") or m.get("name")
    if idc is not None:
        d, k = repeats(idc)
        attrs = [c for c in m if c not in ("client_id", "name")]
        per_id = d >= 0.98 * k
        tx_like = "transactions" in f.scores and not per_id
        score = (2 + (1.5 if per_id else -3) + 0.3 * len(attrs)
                 + hint("clients")) - (3 if tx_like else 0)
        f.scores["clients"] = (score, f"{k:,} rows, {d:,} distinct ids in {idc!r}"
                                      + (f", attributes {', '.join(attrs)}" if attrs else ""))
    # kpis: a period column and numeric measures, no client id
    m = f.maps["kpis"]
    if "period" in m:
        _, bad, kind = parse.period(frame[m["period"]])
        numeric = [c for c in frame.columns if c not in (m["period"], m.get("portfolio"))
                   and values_fit(frame[c], "number") and parse._filled(frame[c]).any()]
        if (not bad.any() and kind in ("Q", "M", "Y") and numeric
                and "client_id" not in f.maps["client_periods"]):
            f.scores["kpis"] = (2.5 + 0.2 * len(numeric) + hint("kpis"),
                                f"periods in {m['period']!r} ({kind}), measures "
                                f"{', '.join(map(repr, numeric[:5]))}")
    m = f.maps["client_periods"]
    if all(c in m for c in REQUIRED["client_periods"]):
        _, bad, kind = parse.period(frame[m["period"]])
        if not bad.any() and kind in ("Q", "M", "Y"):
            f.scores["client_periods"] = (3 + hint("client_periods"),
                                          f"one row per id and period ({kind}) with money in "
                                          f"{m['revenue']!r}")
    del n


def _cancel_filter(frame: pd.DataFrame,
                   mapping: dict[str, str]) -> tuple[str, list[str], pd.Series] | None:
    """A status column with cancel-like values: its name, those values and the rows holding them."""
    heads = {norm_header(h) for h in synonyms()["status_headers"]}
    words = [w.lower() for w in synonyms()["cancel_values"]]
    pattern = r"(?:^|\b)(?:" + "|".join(re.escape(w) for w in words) + r")"
    cands = [c for c in frame.columns if c not in mapping.values()]
    cands.sort(key=lambda c: norm_header(c) not in heads)
    for c in cands:
        s = parse.text(frame[c])
        distinct = s.dropna().unique()
        if not len(distinct) or len(distinct) > 30:
            continue
        hits = [v for v in distinct if re.search(pattern, str(v).lower().replace("ё", "е"))]
        if hits and (norm_header(c) in heads or len(hits) < len(distinct)):
            return c, sorted(hits), s.isin(hits)
    return None


@dataclass
class Proposal:
    """What init-config decided: ``text`` (the YAML), ``tables`` (table → file), ``todo`` (what
    needs the user) and ``evidence`` (one line per decision, with overlap and value samples)."""

    text: str
    tables: dict[str, str | list[str]]  # one file, or the files of a table split over several
    todo: list[str]
    evidence: list[str]


def _files(data: Path) -> tuple[Path, list[Path]]:
    if data.is_file():
        return data.parent, [data]
    if not data.is_dir():
        raise InputError(f"{data}: no such folder or file; --data takes the folder holding the "
                         "export files")
    files = sorted(p for p in data.iterdir() if p.is_file() and p.name.lower().endswith(_EXTS))
    if not files:
        raise InputError(f"{data}: no .csv, .csv.gz, .tsv, .txt, .dat, .xlsx or .parquet files "
                         "found")
    return data, files


def make_proposal(data: str | Path) -> Proposal:
    """Propose a data config for the export files in ``data`` (a folder, or one file of order
    lines)."""
    folder, paths = _files(Path(data))
    files, unreadable = [], []
    for path in paths:
        try:
            files.append(_File(path, read_table(path, TableSpec())))
        except InputError as exc:
            unreadable.append(f"{path.name}: {str(exc).split(': ', 1)[-1]}")
    for f in files:
        if not f.raw.frame.empty:
            _role_scores(f)
    evidence: list[str] = []
    pairs = sorted(((s, t, f) for f in files for t, s in f.scores.items()), key=lambda x: -x[0][0])
    chosen: dict[str, _File] = {}
    for (score, why), table, f in pairs:
        if score <= 0 or table in chosen or any(f is g for g in chosen.values()):
            continue
        if table == "client_periods" and "transactions" in chosen:
            continue
        chosen[table] = f
        evidence.append(f"{table} ← {f.path.name}: {why}")
    groups = _split_exports(chosen, files, evidence)
    todo: list[str] = []
    mappings = {t: dict(f.maps[t]) for t, f in chosen.items()}
    whys = {t: dict(f.why[t]) for t, f in chosen.items()}
    extra: dict[str, list[str]] = {t: [] for t in chosen}
    if "clients" in chosen and "transactions" in chosen and "client_id" in mappings["transactions"]:
        _clients_id_by_overlap(chosen, mappings, whys, extra, evidence)
    for t, f in chosen.items():
        for canon, why in whys[t].items():
            if canon in mappings[t]:
                evidence.append(f"{t}.{canon} ← {mappings[t][canon]!r}: {why}; values "
                                f"{_samples(f.raw.frame[mappings[t][canon]])}")
            else:
                evidence.append(f"{t}: {why}")
    filters = _cancel_filters(chosen, mappings, evidence)
    text = _render(folder, chosen, mappings, extra, filters, unreadable, files, todo, groups)
    return Proposal(text, {t: ([g.path.name for g in groups[t]] if t in groups else f.path.name)
                           for t, f in chosen.items()}, todo, evidence)


def _clients_id_by_overlap(chosen: dict, mappings: dict, whys: dict, extra: dict,
                           evidence: list[str]) -> None:
    """The clients' id column by overlap with the order lines' ids (and the name column when the
    one first taken for the id holds names); ids written two ways get ``zero_pad`` or
    ``id_format``."""
    from analysis.ingest.ids import best_id_column, id_candidates, two_ways

    cl, tx = chosen["clients"].raw.frame, chosen["transactions"].raw.frame
    tx_ids = tx[mappings["transactions"]["client_id"]]
    best, scored = best_id_column(cl, tx_ids, id_candidates(cl))
    for o in scored[:4]:
        evidence.append("clients id: " + o.evidence(chosen["transactions"].path.name))
    if best is not None:
        m = mappings["clients"]
        if m.get("client_id") != best:
            old = m.get("client_id")
            for k in [k for k, v in m.items() if v == best]:
                del m[k]
            m["client_id"] = best
            if old and old != best and "name" not in m and parse.text(cl[old]).str.contains(
                    r"[^\W\d_]", regex=True).mean() > 0.5:
                m["name"] = old  # the column first taken for the id holds names
            names = [c for c in cl.columns if c not in m.values()
                     and norm_header(c) in {norm_header(w)
                                            for w in synonyms()["columns"]["clients"]["name"]}]
            if "name" not in m and names:
                m["name"] = names[0]
        whys["clients"]["client_id"] = next(o for o in scored if o.column == best).evidence(
            chosen["transactions"].path.name)
    tw = two_ways(cl[mappings["clients"].get("client_id", best or cl.columns[0])], tx_ids,
                  master="clients", other="transactions")
    if tw is not None:
        eg = ", ".join(f"{a!r} ≡ {b!r}" for a, b in tw.examples)
        if tw.zero_pad and tw.fix_table:
            extra[tw.fix_table].append(f"zero_pad: {tw.zero_pad}            # ids written two ways "
                                       f"({eg}): digits padded to {tw.zero_pad}")
            evidence.append(f"ids written two ways ({tw.matched_by_key:,} ids match only without "
                            f"leading zeros, e.g. {eg}): zero_pad: {tw.zero_pad} for "
                            f"{tw.fix_table}")
        else:
            for t in ("clients", "transactions"):
                extra[t].append(f"id_format: number      # ids written two ways ({eg})")
            evidence.append(f"ids written two ways (e.g. {eg}): id_format: number for both tables")


def _cancel_filters(chosen: dict, mappings: dict,
                    evidence: list[str]) -> dict[str, tuple[str, list[str]]]:
    """Rows that did not happen: a status column of the order lines with cancel-like values."""
    filters: dict[str, tuple[str, list[str]]] = {}
    if "transactions" in chosen:
        frame = chosen["transactions"].raw.frame
        hit = _cancel_filter(frame, mappings["transactions"])
        if hit is not None:
            col, values, mask = hit
            filters["transactions"] = (col, values)
            m = mappings["transactions"]
            rev = parse.money(frame[m["revenue"]])[0] if "revenue" in m else None
            share = (float(rev[mask].sum() / rev.sum()) if rev is not None and rev.sum() else 0.0)
            evidence.append(f"transactions filter: {col!r} holds {', '.join(map(repr, values))} on "
                            f"{int(mask.sum()):,} of {len(frame):,} lines ({share:.1%} of "
                            "revenue): dropped")
    return filters


def _split_exports(chosen: dict, files: list, evidence: list[str]) -> dict[str, list]:
    """Files left over that hold the same table as a chosen one (an export split by period): the
    same role by content (a positive score for that table, none better), the same columns and the
    same reader settings. table → every file of it, in name order."""
    groups: dict[str, list] = {}
    used = [g for g in chosen.values()]
    for table, f in chosen.items():
        d0 = f.raw.detected
        same = [f]
        for g in files:
            if any(g is u for u in used) or g.raw.frame.empty or not g.scores:
                continue
            score = g.scores.get(table, (0.0, ""))[0]
            if score <= 0 or max(s for s, _ in g.scores.values()) > score:
                continue
            d = g.raw.detected
            if (set(g.raw.frame.columns) != set(f.raw.frame.columns)
                or g.raw.line_word != f.raw.line_word
                    or any(d.get(k) != d0.get(k)
                           for k in ("encoding", "delimiter", "header_row", "sheet"))):
                continue
            same.append(g)
            used.append(g)
        if len(same) > 1:
            same.sort(key=lambda x: x.path.name)
            groups[table] = same
            evidence.append(f"{table} split over {len(same)} files with the same columns and role: "
                            + ", ".join(x.path.name for x in same) + " (read alike and joined)")
    return groups


def _render(folder: Path, chosen: dict, mappings: dict, extra: dict, filters: dict,
            unreadable: list,
            files: list, todo: list, groups: dict | None = None) -> str:
    out = [f"# keyclients data config, proposed by `keyclients init-config` from {folder} "
           f"on {_dt.date.today().isoformat()}.",
           "# Check every line; TODO marks what could not be mapped. Reader settings below were "
           "detected:",
           "# delete one to let keyclients detect it again. A table's `columns:` is its whole "
           "mapping: a",
           "# column left out (or listed under `ignore:`) is not used. Keys: see "
           "analysis.ingest.dataconfig.",
           "version: 1",
           f"data: {_q(str(folder.resolve()))}    # the folder the paths below are relative to "
           "(--data wins)"]
    freq = None
    out.append("duplicates: error              # identical order lines stop validation; keep: they "
               "are real")
    out.append("partial_periods: drop          # a partial first/last period is left out of the "
               "panel; keep: kept")
    out.append("tables:")
    for table in [t for t in SCHEMA if t in chosen]:
        kind = _render_table(out, table, chosen[table], mappings[table], extra, filters, todo,
                             groups)
        freq = freq or kind
    for table in ("transactions",):
        if table not in chosen and "client_periods" not in chosen:
            todo.append(f"no file looks like the {table} table")
            out.append(f"  # {table}: {{path: ...}}    # TODO required: no file looked like it")
    if "clients" not in chosen and ("transactions" in chosen or "client_periods" in chosen):
        out.append("  # clients: no clients file; the clients are derived from the order lines (id "
                   "and name)")
    out.insert(6, f"freq: {freq or 'Q'}                        # periods of the panel: Q, M or Y")
    for line in unreadable:
        out.append(f"# not read: {line}")
    for f in files:
        if not any(f is g for g in chosen.values()) and not any(f is g
                                                                for gs in (groups or {}).values()
                                                                for g in gs):
            out.append(f"# not used: {f.path.name}")
    return "\n".join(out) + "\n"


def _render_table(out: list[str], table: str, f: _File, mapping: dict, extra: dict, filters: dict,
                  todo: list,
                  groups: dict | None) -> str | None:
    """Append one table's section to ``out``: its files and reader settings, its columns, filter
    and value maps. Returns the period length its ``period`` column shows (Q, M, Y) or None."""
    raw = f.raw
    path = f.path
    headers = list(raw.frame.columns)
    if table == "clients" and "client_id" not in mapping and "name" in mapping:
        mapping["client_id"] = mapping["name"]
        todo.append(f"{path.name}: no client id column; the names are used as ids")
    out.append(f"  {table}:")
    if groups and table in groups:
        out.append("    path: [" + ", ".join(_q(g.path.name) for g in groups[table]) + "]"
                   "    # one export split over files: read alike, joined")
    else:
        out.append(f"    path: {_q(path.name)}")
    freq = _render_reader(out, table, raw, mapping)
    for line in extra.get(table, []):
        out.append(f"    {line}")
    out.append("    columns:")
    for canon in SCHEMA[table]:
        if canon in mapping:
            note = ""
            if canon == "vat_amount":
                note = f"    # net revenue = {mapping['revenue']} − {mapping['vat_amount']}"
            out.append(f"      {canon}: {_q(mapping[canon])}{note}")
        elif canon in REQUIRED[table]:
            out.append(f"      # {canon}:    # TODO required: name the column that holds it")
            todo.append(f"{path.name}: required column {canon} not found")
        else:
            out.append(f"      # {canon}:    # not found (optional)")
    unmapped = [h for h in headers if h not in mapping.values()]
    if unmapped and table != "kpis":
        out.append("    # columns left unmapped (not used): " + ", ".join(_q(h) for h in unmapped))
    if table in filters:
        col, values = filters[table]
        out.append("    filter:                 # lines that did not happen are left out (reported "
                   "with revenue)")
        out.append(f"      {_q(col)}: {{drop: [{', '.join(_q(v) for v in values)}]}}")
    for canon, key in (("org_type", "org_type"), ("type", "type")):
        if canon in mapping and canon in SCHEMA[table]:
            _render_values(out, canon, key, raw, mapping, path, todo)
    if table == "transactions" and "currency" in mapping:
        out.append("    # currency: {base: RUB, rates: {USD: 92.5}}   # needed when several "
                   "currencies appear")
    if table == "transactions":
        out.append("    returns: false          # true: negative revenue lines are returns")
        if "vat_amount" not in mapping:
            out.append("    # vat: {included: true, rate: 0.2}   "
                       "# revenue includes VAT: net it out")
    return freq


def _render_reader(out: list[str], table: str, raw, mapping: dict) -> str | None:
    """The reader settings detected in a table's file (encoding, delimiter, sheet, header row,
    decimal mark, date format); returns the period length of its ``period`` column, if any."""
    d = raw.detected
    if raw.line_word == "line":
        out.append(f"    encoding: {_q(d['encoding'])}")
        out.append(f"    delimiter: {json.dumps(d['delimiter'])}")
    if d.get("sheet") is not None:
        out.append(f"    sheet: {_q(d['sheet'])}")
    out.append(f"    header_row: {d.get('header_row', 1)}"
               + ("          # title line(s) above are skipped" if d.get("header_row", 1) > 1
                  else ""))
    if d.get("total_rows"):
        out.append(f"    # total rows found and skipped at line(s) {d['total_rows'][:5]}")
    sample = raw.frame.head(2000)
    money_cols = [c for c in mapping if SCHEMA[table].get(c) in ("money", "number")]
    if money_cols:
        dec = parse.detect_decimal(pd.concat([sample[mapping[c]].astype("str")
                                              for c in money_cols]))
        out.append(f"    decimal: {json.dumps(dec)}")
    if "date" in mapping:
        dates = sample[mapping["date"]].astype("str").str.replace(parse._TIME_RE, "", regex=True)
        fmt = parse.detect_date_format(dates)
        if fmt:
            out.append(f"    date_format: {json.dumps(fmt)}")
    if "period" in mapping:
        _, _, kind = parse.period(sample[mapping["period"]])
        if kind in ("Q", "M", "Y"):
            return kind
    return None


def _render_values(out: list[str], canon: str, key: str, raw, mapping: dict, path: Path,
                   todo: list) -> None:
    """The value map of an organisation-type or event-type column: each value found, mapped to
    its canonical label, or a TODO where it is not recognised."""
    vals = parse.text(raw.frame[mapping[canon]]).dropna().unique().tolist()[:40]
    _, _, unknown = parse.categorical(pd.Series(vals, dtype="str"),
                                      builtin=synonyms()["values"][key])
    syn = {norm_header(w): c for c, ws in synonyms()["values"][key].items() for w in [c, *ws]}
    out.append("    values:")
    out.append(f"      {canon}:")
    for v in vals:
        if v in unknown:
            choices = ", ".join(synonyms()["values"][key]) + (", ignore" if key == "type" else "")
            out.append(f"        # {_q(v)}:    # TODO not recognised: one of {choices}")
            todo.append(f"{path.name}: {canon} value {v!r} not recognised")
        else:
            out.append(f"        {_q(v)}: {syn[norm_header(v)]}")


def propose_config(data: str | Path) -> tuple[str, dict]:
    """A commented YAML data config for the files in ``data``, and a summary dict.

    Returns
    -------
    (str, dict)
        The YAML text, and ``{"tables": {table: file}, "todo": [what needs the user],
        "evidence": [one line per decision]}``.
    """
    p = make_proposal(data)
    return p.text, {"tables": p.tables, "todo": p.todo, "evidence": p.evidence}


def write_config(data: str | Path, out: str | Path, *, force: bool = False) -> dict:
    """Write :func:`propose_config`'s proposal to ``out``; never overwrite unless ``force``."""
    out = Path(out)
    if out.exists() and not force:
        raise InputError(f"{out}: already exists; pass --force to overwrite it or --out to write "
                         "elsewhere")
    text, summary = propose_config(data)
    if out.parent and not out.parent.is_dir():
        raise InputError(f"{out.parent}: no such folder for --out")
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    return summary
