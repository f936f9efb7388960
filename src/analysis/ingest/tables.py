"""From raw cells to one typed canonical table, and the checks across tables.

Each step adds what it finds to a :class:`~analysis.ingest.validation.Problems` list instead of
raising, so one run reports every failure.
"""

from __future__ import annotations

import difflib
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis.ingest import parse
from analysis.ingest.dataconfig import TableSpec
from analysis.ingest.mapping import REQUIRED, SCHEMA, nearest, norm_header, propose
from analysis.ingest.readers import RawTable, synonyms
from analysis.ingest.validation import Problems, run_schema


def _closest_header(headers: list[str], words: list[str], cutoff: float = 0.75) -> str | None:
    """The header most like one of ``words`` (a misspelling such as ``clinet_id``), if any is close."""
    best, score = None, cutoff
    for h in headers:
        for w in words:
            r = difflib.SequenceMatcher(None, norm_header(h), norm_header(w)).ratio()
            if r > score:
                best, score = h, r
    return best


def map_columns(raw: RawTable, table: str, spec: TableSpec, problems: Problems) -> dict[str, str] | None:
    """Canonical → source column for ``raw``; ``None`` when a required column is missing."""
    label = raw.label
    headers = list(raw.frame.columns)
    mapping: dict[str, str] = {}
    ok = True
    for canon, source in spec.columns.items():
        if table != "kpis" and canon not in SCHEMA[table]:
            hint = nearest(canon, SCHEMA[table])
            problems.error(label, canon, "unknown canonical column in the config",
                           fix=(f"use one of {', '.join(SCHEMA[table])}" + (f" (did you mean {hint!r}?)" if hint else "")))
            ok = False
            continue
        if source not in headers:
            hint = nearest(source, headers)
            problems.error(label, source, f"column named in the config for {canon} is not in the file",
                           fix=(f"the file has {', '.join(map(repr, headers[:12]))}"
                                + (f"; did you mean {hint!r}?" if hint else "")))
            ok = False
            continue
        mapping[canon] = source
    auto = propose([h for h in headers if h not in mapping.values()], table)
    for canon, source in auto.items():
        mapping.setdefault(canon, source)
    if table == "clients" and "client_id" not in mapping and "name" in mapping:
        problems.warning(label, mapping["name"], "no client id column: the names are used as ids",
                         fix="add an id column (e.g. ИНН) and map it to client_id, so renamed clients stay one")
        mapping["client_id"] = mapping["name"]
    for canon in REQUIRED[table]:
        if canon not in mapping:
            hint = _closest_header([h for h in headers if h not in mapping.values()],
                                   [canon] + synonyms()["columns"].get(table, {}).get(canon, []))
            problems.error(label, canon, "required column missing",
                           fix=(f"the file has {', '.join(map(repr, headers[:12]))}; name the column holding {canon} "
                                f"under `tables: {{{table}: {{columns: {{{canon}: ...}}}}}}` in the config "
                                "(`keyclients init-config` proposes one)"
                                + (f"; is it {hint!r}?" if hint else "")))
            ok = False
    return mapping if ok else None


def build_table(raw: RawTable, table: str, spec: TableSpec, problems: Problems, *, freq: str | None = None,
                keep: tuple[str, ...] = ()) -> pd.DataFrame | None:
    """Map, type and check one table; ``None`` when it cannot be built (problems say why).

    ``keep``: other columns kept as text under the name given (matched to a header ignoring case
    and punctuation), e.g. the column ``portfolio_by`` names.
    """
    mapping = map_columns(raw, table, spec, problems)
    if mapping is None:
        return None
    for name in keep:
        if name and name not in mapping:
            hit = next((h for h in raw.frame.columns if norm_header(h) == norm_header(name)
                        and h not in mapping.values()), None)
            if hit is not None:
                mapping[name] = hit
    label, lw = raw.label, raw.line_word
    src = raw.frame
    names = {canon: (f"{source} ({canon})" if source != canon else canon) for canon, source in mapping.items()}
    raw.detected["names"] = names  # how later checks name a column: as the file heads it
    out: dict[str, pd.Series] = {}
    detected = raw.detected
    kinds = dict(SCHEMA[table])
    for name in keep:
        kinds.setdefault(name, "text")
    if table == "kpis":
        for h in src.columns:
            if h not in mapping.values():
                mapping[h] = h
                names[h] = h
                kinds.setdefault(h, "number")
    builtin_values = synonyms()["values"]
    for canon, source in mapping.items():
        kind = kinds[canon]
        col = src[source]
        if isinstance(col, pd.DataFrame):  # a header repeated in the file
            problems.error(label, source, "the header appears more than once",
                           fix="rename the duplicate columns or map one explicitly in the config")
            return None
        name = names[canon]
        if kind == "text":
            vals = parse.text(col)
            if spec.values.get(canon):  # a value map on a text column: exact labels, the rest kept
                vals = vals.replace({str(k): str(v) for k, v in spec.values[canon].items()})
            out[canon] = vals
        elif kind in ("money", "number"):
            fn = parse.money if kind == "money" else parse.number
            vals, bad, dec = fn(col, decimal=spec.decimal, thousands=spec.thousands)
            if table == "kpis" and canon not in SCHEMA["kpis"] and bad.sum() > 0.5 * parse._filled(col).sum():
                out[canon] = parse.text(col)  # a text column in the KPI file: keep it as text
                continue
            detected.setdefault("decimal", dec)
            problems.mask("error", label, name, "not a number", bad, line_word=lw, values=col,
                          fix="remove text from the cells (units, notes) or set `decimal:`/`thousands:` in the config")
            out[canon] = vals
        elif kind == "int":
            vals, bad = parse.integer(col, decimal=spec.decimal)
            problems.mask("error", label, name, "not a whole number", bad, line_word=lw, values=col,
                          fix="write whole numbers (e.g. a year as 2015)")
            out[canon] = vals
        elif kind == "date":
            vals, bad, fmt = parse.date(col, fmt=spec.date_format)
            detected["date_format"] = fmt
            problems.mask("error", label, name, f"not a date in the column's format {fmt or '(none found)'}", bad,
                          line_word=lw, values=col,
                          fix="write every date in one format (YYYY-MM-DD, DD.MM.YYYY, DD/MM/YYYY or YYYYMMDD) "
                              "or set `date_format:` in the config")
            out[canon] = vals
        elif kind == "bool":
            vals, bad = parse.boolean(col, true_values=spec.true_values, false_values=spec.false_values,
                                      builtin=synonyms()["booleans"])
            problems.mask("error", label, name, "not a yes/no value", bad, line_word=lw, values=col,
                          fix="use Да/Нет, yes/no, true/false or 1/0, or list the words under "
                              "`true_values:`/`false_values:` in the config")
            out[canon] = vals
        elif kind in ("org_type", "event_type"):
            key = "org_type" if kind == "org_type" else "type"
            vals, bad, unknown = parse.categorical(col, config_map=spec.values.get(canon),
                                                   builtin=builtin_values[key])
            if kind == "org_type" and unknown:
                problems.mask("warning", label, name, "organisation type not recognised (kept as written)", bad,
                              line_word=lw, values=col,
                              fix="map them under `values: {org_type: {...: private|multinational|government|"
                                  "education|startup|sole_trader}}` in the config")
            out[canon] = vals
        elif kind == "period":
            vals, bad, pkind = parse.period(col, freq=freq)
            detected["period_freq"] = pkind
            problems.mask("error", label, name, "not a period", bad, line_word=lw, values=col,
                          fix="write periods as 2024Q1, 2024-01, 2024 or as the period's first day")
            if pkind == "mixed":
                problems.error(label, name, "periods of different lengths mixed (quarters, months, years)",
                               fix="use one period length in the file")
            out[canon] = vals
    frame = pd.DataFrame(out, index=src.index)
    frame = frame[[c for c in kinds if c in frame.columns]]
    if table == "events" and "type" in frame:
        ignore = frame["type"] == "ignore"
        if ignore.any():
            raw.notes.append(f"{label}: dropped {int(ignore.sum())} event line(s) mapped to `ignore`")
            frame = frame[~ignore]
    if table == "transactions":
        frame = _money_rules(frame, spec, problems, label, lw, names)
    returns = spec.returns
    run_schema(problems, frame, table, label, names, returns=returns, line_word=lw)
    return frame


def _money_rules(frame: pd.DataFrame, spec: TableSpec, problems: Problems, label: str, lw: str,
                 names: dict[str, str]) -> pd.DataFrame:
    """Cost from gross profit, currencies converted with the config's rates, VAT taken out."""
    if "gross_profit" in frame and "cost" not in frame and "revenue" in frame:
        frame["cost"] = (frame["revenue"] - frame["gross_profit"]).round(2)
    if "currency" in frame:
        cur = frame["currency"].str.upper().str.strip()
        found = sorted(cur.dropna().unique().tolist())
        if len(found) > 1 or (spec.currency and found and found != [spec.currency.base.upper()]):
            if spec.currency is None:
                problems.error(label, names["currency"], f"several currencies ({', '.join(found[:6])}) and no rates",
                               count=len(frame), fix=("add `currency: {base: RUB, rates: {USD: 92.5, ...}}` for "
                                                      "transactions in the config (units of base per unit)"))
            else:
                base = spec.currency.base.upper()
                rates = {k.upper(): v for k, v in spec.currency.rates.items()}
                rates[base] = 1.0
                missing = [c for c in found if c not in rates]
                if missing:
                    problems.mask("error", label, names["currency"], f"no rate for {', '.join(missing)}",
                                  cur.isin(missing), line_word=lw,
                                  fix=f"add their rates under `currency: {{rates: {{...}}}}` (units of {base} per unit)")
                else:
                    for c in ("revenue", "cost", "gross_profit"):
                        if c in frame:
                            frame[c] = exact_money(frame[c], cur.map(rates).fillna(1.0), "mul")
                    frame["currency"] = frame["currency"].where(frame["currency"].isna(), base)
    if spec.vat is not None and "revenue" in frame:
        inc = spec.vat.included
        if isinstance(inc, str):
            problems.error(label, "vat", "`vat.included` names a column; map it as vat_included instead",
                           fix="use `columns: {vat_included: <column>}` and `vat: {rate: 0.2}`")
        elif inc:
            mask = frame["vat_included"].fillna(True).astype(bool) if "vat_included" in frame else True
            net = exact_money(frame["revenue"], pd.Series(1 + spec.vat.rate, index=frame.index), "div")
            frame["revenue"] = net.where(mask, frame["revenue"]) if mask is not True else net
            if "gross_profit" in frame and "cost" in frame:
                frame["gross_profit"] = (frame["revenue"] - frame["cost"]).round(2)
    elif "vat_included" in frame and frame["vat_included"].fillna(False).any():
        problems.warning(label, names["vat_included"], "some revenue includes VAT and no rate is set",
                         count=int(frame["vat_included"].fillna(False).sum()),
                         fix="add `vat: {rate: 0.2}` for transactions in the config to get net revenue")
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

    res = pd.Series([one(v, f) for v, f in zip(uniq["v"], uniq["f"])], index=pd.MultiIndex.from_frame(uniq),
                    dtype="float64")
    out = pd.MultiIndex.from_frame(pairs.fillna({"f": 1.0})).map(res.to_dict().get)
    return pd.Series(out, index=values.index, dtype="float64").where(values.notna())


def cross_checks(frames: dict[str, pd.DataFrame], labels: dict[str, str], problems: Problems,
                 line_words: dict[str, str], names: dict | None = None) -> None:
    """Checks across tables: unknown clients, founded after the first order, empty periods.

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
        bad = ids.notna() & ~pd.Series(found.to_numpy(zero_copy_only=False), index=ids.index).fillna(False).astype(bool)
        problems.mask("error", labels[table], name(table, "client_id"), "client not in the clients table", bad,
                      line_word=line_words[table], values=ids,
                      fix=f"add those clients to {labels['clients']} or correct the ids")
    kpis = frames.get("kpis")
    if kpis is not None and "portfolio" in kpis and "portfolio" in clients:
        unknown = kpis["portfolio"].notna() & ~kpis["portfolio"].isin(clients["portfolio"].dropna().unique())
        problems.mask("warning", labels["kpis"], name("kpis", "portfolio"), "portfolio not among the clients' portfolios "
                      "(its KPIs will not join)", unknown, line_word=line_words["kpis"], values=kpis["portfolio"],
                      fix="write portfolios the same way in both files, or map them under `values: {portfolio: {...}}`")
    tx = frames.get("transactions")
    if tx is not None and "date" in tx and len(tx):
        if "founded_year" in clients:
            first = tx.groupby("client_id", sort=False)["date"].min().dt.year
            fy = clients.set_index("client_id")["founded_year"]
            fy = fy[~fy.index.duplicated()]
            joined = fy.reindex(first.index)
            late = (joined > first).fillna(False)
            if late.any():
                lines = clients.index[clients["client_id"].isin(late[late].index).to_numpy()]
                problems.add("warning", labels["clients"], name("clients", "founded_year"), "founded after the client's first order",
                             count=int(late.sum()), lines=sorted(lines)[:5], line_word=line_words["clients"],
                             fix="check those founding years")
        dates = tx["date"].dropna()
        if len(dates):
            months = pd.unique((dates.dt.year * 12 + dates.dt.month - 1).to_numpy())
            span = set(range(int(months.min()), int(months.max()) + 1))
            empty = [pd.Period(year=m // 12, month=m % 12 + 1, freq="M") for m in sorted(span - set(months.tolist()))]
            if len(empty):
                problems.add("warning", labels["transactions"], name("transactions", "date"), "months without any order line: "
                             + ", ".join(str(p) for p in empty[:6]) + (" …" if len(empty) > 6 else ""),
                             count=len(empty), fix="check the export covers the whole period (a missing file or filter?)")


def fill_portfolio(clients: pd.DataFrame, tx: pd.DataFrame | None) -> tuple[pd.DataFrame, str | None]:
    """Clients without a portfolio get the one where they bought most (from the order lines)."""
    if tx is None or "portfolio" not in tx or tx["portfolio"].isna().all():
        return clients, None
    if "portfolio" in clients and clients["portfolio"].notna().all():
        return clients, None
    main = (tx.groupby(["client_id", "portfolio"], sort=True)["revenue"].sum().reset_index()
            .sort_values(["client_id", "revenue", "portfolio"], ascending=[True, False, True], kind="stable")
            .drop_duplicates("client_id").set_index("client_id")["portfolio"])
    filled = clients["client_id"].map(main)
    if "portfolio" in clients:
        filled = clients["portfolio"].fillna(filled)
    clients = clients.assign(portfolio=filled.astype("str"))
    return clients, "clients without a portfolio take the one from their order lines (most revenue)"

