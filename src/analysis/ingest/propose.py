"""``keyclients init-config``: propose a commented data config for a folder of exports.

Each file in the folder is read as the readers would (encoding, delimiter, header detected) and
matched to the table whose columns its headers map to best (file names such as «Продажи» or
"clients" break ties). The proposal writes out what was detected, the column mapping, the value
maps for organisation and event types, and marks with ``TODO`` what it could not map.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

import pandas as pd

from analysis.errors import InputError
from analysis.ingest import parse
from analysis.ingest.dataconfig import TableSpec
from analysis.ingest.mapping import REQUIRED, SCHEMA, norm_header, propose
from analysis.ingest.readers import read_table, synonyms

_NAME_HINTS = {
    "clients": ("client", "customer", "клиент", "контрагент", "покупател", "account"),
    "transactions": ("transaction", "sale", "order", "invoice", "продаж", "реализац", "заказ", "выручк", "отгруз"),
    "events": ("event", "claim", "событ", "журнал", "рекламац"),
    "client_periods": ("client_period", "period"),
    "kpis": ("kpi", "показател", "plan", "план"),
}
_EXTS = (".csv", ".gz", ".tsv", ".txt", ".xlsx", ".parquet")


def _q(value: str) -> str:
    """A YAML scalar, quoted when needed (JSON strings are valid YAML)."""
    s = str(value)
    if s and all(ch.isalnum() or ch in " _-." for ch in s) and not s[0].isdigit() and s.strip() == s \
            and s.lower() not in ("yes", "no", "true", "false", "on", "off", "null", "y", "n"):
        return s
    return json.dumps(s, ensure_ascii=False)


def _score(headers: list[str], table: str, name: str) -> float:
    mapped = propose(headers, table)
    req = sum(c in mapped for c in REQUIRED[table]) / len(REQUIRED[table])
    score = len(mapped) / len(SCHEMA[table]) + 2 * req
    if any(h in name.lower() for h in _NAME_HINTS[table]) or name.lower().startswith(table):
        score += 1.5
    return score if req == 1 else score - 3


def propose_config(data: str | Path) -> tuple[str, dict]:
    """A commented YAML data config for the files in ``data``, and a summary dict.

    Returns
    -------
    (str, dict)
        The YAML text, and ``{"tables": {table: file}, "todo": [what needs the user]}``.
    """
    folder = Path(data)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder; --data takes the folder holding the export files")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(_EXTS))
    if not files:
        raise InputError(f"{folder}: no .csv, .csv.gz, .tsv, .txt, .xlsx or .parquet files found")
    raws, unreadable = {}, []
    for path in files:
        try:
            raws[path] = read_table(path, TableSpec())
        except InputError as exc:
            unreadable.append(f"{path.name}: {str(exc).split(': ', 1)[-1]}")
    pairs = []
    for path, raw in raws.items():
        for table in SCHEMA:
            pairs.append((_score(list(raw.frame.columns), table, path.name), table, path))
    chosen: dict[str, Path] = {}
    for score, table, path in sorted(pairs, key=lambda x: -x[0]):
        if score <= 0 or table in chosen or path in chosen.values():
            continue
        if table == "client_periods" and "transactions" in chosen:
            continue
        chosen[table] = path
    todo: list[str] = []
    out = [f"# keyclients data config, proposed by `keyclients init-config` from {folder} "
           f"on {_dt.date.today().isoformat()}.",
           "# Check every line; TODO marks what could not be mapped. Reader settings below were detected:",
           "# delete one to let keyclients detect it again. Keys: see analysis.ingest.dataconfig.",
           "version: 1",
           f"data: {_q(str(folder.resolve()))}    # the folder the paths below are relative to (--data wins)"]
    freq = None
    order = [t for t in SCHEMA if t in chosen]
    out.append("tables:")
    for table in order:
        path = chosen[table]
        raw = raws[path]
        headers = list(raw.frame.columns)
        mapping = propose(headers, table)
        if table == "clients" and "client_id" not in mapping and "name" in mapping:
            mapping["client_id"] = mapping["name"]
            todo.append(f"{path.name}: no client id column; the names are used as ids")
        out.append(f"  {table}:")
        out.append(f"    path: {_q(path.name)}")
        d = raw.detected
        if raw.line_word == "line":
            out.append(f"    encoding: {_q(d['encoding'])}")
            out.append(f"    delimiter: {json.dumps(d['delimiter'])}")
        if d.get("sheet") is not None:
            out.append(f"    sheet: {_q(d['sheet'])}")
        out.append(f"    header_row: {d.get('header_row', 1)}" + ("          # title line(s) above are skipped"
                                                                   if d.get("header_row", 1) > 1 else ""))
        if d.get("total_rows"):
            out.append(f"    # total rows found and skipped at line(s) {d['total_rows'][:5]}")
        sample = raw.frame.head(2000)
        money_cols = [c for c in mapping if SCHEMA[table].get(c) in ("money", "number")]
        if money_cols:
            dec = parse.detect_decimal(pd.concat([sample[mapping[c]].astype("str") for c in money_cols]))
            out.append(f"    decimal: {json.dumps(dec)}")
        if "date" in mapping:
            fmt = parse.detect_date_format(sample[mapping["date"]].astype("str").str.replace(parse._TIME_RE, "", regex=True))
            if fmt:
                out.append(f"    date_format: {json.dumps(fmt)}")
        if "period" in mapping:
            _, _, kind = parse.period(sample[mapping["period"]])
            if kind in ("Q", "M", "Y"):
                freq = freq or kind
        out.append("    columns:")
        for canon in SCHEMA[table]:
            if canon in mapping:
                out.append(f"      {canon}: {_q(mapping[canon])}")
            elif canon in REQUIRED[table]:
                out.append(f"      # {canon}:    # TODO required: name the column that holds it")
                todo.append(f"{path.name}: required column {canon} not found")
            else:
                out.append(f"      # {canon}:    # not found (optional)")
        unmapped = [h for h in headers if h not in mapping.values()]
        if unmapped and table != "kpis":
            out.append("    # columns left unmapped: " + ", ".join(_q(h) for h in unmapped))
        for canon, key in (("org_type", "org_type"), ("type", "type")):
            if canon in mapping and canon in SCHEMA[table]:
                vals = parse.text(raw.frame[mapping[canon]]).dropna().unique().tolist()[:40]
                _, _, unknown = parse.categorical(pd.Series(vals, dtype="str"), builtin=synonyms()["values"][key])
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
        if table == "transactions" and "currency" in mapping:
            out.append("    # currency: {base: RUB, rates: {USD: 92.5}}   # needed when several currencies appear")
        if table == "transactions":
            out.append("    returns: false          # true: negative revenue lines are returns")
            out.append("    # vat: {included: true, rate: 0.2}   # revenue includes VAT: net it out")
    for table in ("clients", "transactions"):
        if table not in chosen and not (table == "transactions" and "client_periods" in chosen):
            todo.append(f"no file looks like the {table} table")
            out.append(f"  # {table}: {{path: ...}}    # TODO required: no file looked like it")
    out.insert(5, f"freq: {freq or 'Q'}                 # periods of the panel: Q, M or Y")
    for line in unreadable:
        out.append(f"# not read: {line}")
    for line in (f"{p.name}" for p in raws if p not in chosen.values()):
        out.append(f"# not used: {line}")
    return "\n".join(out) + "\n", {"tables": {t: p.name for t, p in chosen.items()}, "todo": todo}


def write_config(data: str | Path, out: str | Path, *, force: bool = False) -> dict:
    """Write :func:`propose_config`'s proposal to ``out``; never overwrite unless ``force``."""
    out = Path(out)
    if out.exists() and not force:
        raise InputError(f"{out}: already exists; pass --force to overwrite it or --out to write elsewhere")
    text, summary = propose_config(data)
    if out.parent and not out.parent.is_dir():
        raise InputError(f"{out.parent}: no such folder for --out")
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    return summary
