"""Client ids across tables: which column of the clients file is the id, and ids written two ways.

The id of a clients file is decided by content: the column whose values are found best among the
order lines' client ids (a 1C file «Контрагент;Наименование» holds codes in the first column and
names in the second; the codes are what the order lines carry). The same client written two ways
(``00001`` in one file, ``1`` or ``1.0`` in another) is recognised by comparing ids without leading
zeros and a trailing ``.0``, and the fix (``zero_pad`` or ``id_format``) is named.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis.ingest import parse


def id_key(ids: pd.Series) -> pd.Series:
    """Ids as compared across files: digits without leading zeros or a trailing ``.0``, text as
    written."""
    s = parse.text(ids)
    digits = s.str.fullmatch(r"[0-9]+(?:\.0+)?").fillna(False).astype(bool)
    core = s.str.replace(r"\.0+$", "", regex=True).str.lstrip("0").replace("", "0")
    return s.where(~digits, core)


@dataclass
class Overlap:
    """How many distinct values of a column are found among other ids, as written and as keys."""

    column: str
    distinct: int
    found: int
    found_key: int

    @property
    def share(self) -> float:
        return self.found / self.distinct if self.distinct else 0.0

    @property
    def share_key(self) -> float:
        return self.found_key / self.distinct if self.distinct else 0.0

    def evidence(self, other: str) -> str:
        text = f"{self.column}: {self.found:,} of {self.distinct:,} values found in {other}"
        if self.found_key > self.found:
            text += f" ({self.found_key:,} when leading zeros are ignored)"
        return text


def overlap(values: pd.Series, others: pd.Series, column: str = "") -> Overlap:
    """Distinct filled ``values`` found among ``others``, as written and with :func:`id_key`."""
    v = pd.Series(parse.text(values).dropna().unique(), dtype="str")
    o = parse.text(others).dropna()
    found = int(v.isin(set(o.unique())).sum())
    found_key = int(id_key(v).isin(set(id_key(o).dropna().unique())).sum())
    return Overlap(column, len(v), found, found_key)


def id_candidates(frame: pd.DataFrame) -> list[str]:
    """Columns that could be a client id: filled in 90 % of rows and unique in 95 % of them."""
    out = []
    for c in frame.columns:
        s = parse.text(frame[c])
        filled = s.dropna()
        if len(filled) < 0.9 * max(len(s), 1) or filled.empty:
            continue
        if filled.nunique() >= 0.95 * len(filled):
            out.append(c)
    return out


def best_id_column(clients: pd.DataFrame, tx_ids: pd.Series, candidates: list[str] | None = None
                   ) -> tuple[str | None, list[Overlap]]:
    """The clients column whose values match the order lines' ids best, with every candidate's
    overlap.

    ``None`` when no candidate has half of its values among the order lines (even ignoring
    leading zeros).
    """
    cands = candidates if candidates is not None else id_candidates(clients)
    scored = [overlap(clients[c], tx_ids, c) for c in cands]
    scored.sort(key=lambda o: (-max(o.share, o.share_key), -o.share, cands.index(o.column)))
    if not scored or max(scored[0].share, scored[0].share_key) < 0.5:
        return None, scored
    return scored[0].column, scored


@dataclass
class TwoWays:
    """Ids that are the same clients written two ways, and the fix."""

    examples: list[tuple[str, str]]
    unmatched: int
    matched_by_key: int
    fix_table: str | None
    zero_pad: int | None

    def fix(self, master: str, other: str) -> str:
        if self.zero_pad and self.fix_table:
            return (f"add `zero_pad: {self.zero_pad}` under `tables: {{{self.fix_table}: ...}}` in "
                    f"the config (ids of digits are padded to {self.zero_pad} digits), or set "
                    f"`id_format: number` for both {master} and {other}; `keyclients init-config` "
                    "writes it")
        return (f"set `id_format: number` for both {master} and {other} in the config (leading "
                "zeros and a "
                "trailing .0 are dropped from ids of digits), or export the ids as text the same "
                "way")


def two_ways(master_ids: pd.Series, other_ids: pd.Series, *, master: str,
             other: str) -> TwoWays | None:
    """Ids of ``other`` not found among ``master_ids`` as written but found once leading zeros and
    ``.0`` are ignored (most of them): ``None`` when that is not the case."""
    m = parse.text(master_ids).dropna()
    o = pd.Series(parse.text(other_ids).dropna().unique(), dtype="str")
    if o.empty or m.empty:
        return None
    m_set = set(m.unique())
    missing = o[~o.isin(m_set)]
    if missing.empty:
        return None
    key_to_master = dict(zip(id_key(pd.Series(list(m_set), dtype="str")), list(m_set)))
    keys = id_key(missing)
    hit = keys.isin(set(key_to_master))
    if hit.sum() < 0.5 * len(missing):
        return None
    examples = [(mi, key_to_master[k]) for mi,
                k in zip(missing[hit.to_numpy()][:3], keys[hit.to_numpy()][:3])]
    fix_table, pad = None, None
    m_digits = m[m.str.fullmatch(r"[0-9]+").fillna(False).astype(bool)]
    o_digits = o[o.str.fullmatch(r"[0-9]+(?:\.0+)?").fillna(False).astype(bool)]
    widths = m_digits.str.len().unique()
    if len(widths) == 1 and m_digits.str.startswith("0").any():
        fix_table, pad = other, int(widths[0])
    else:
        o_clean = o_digits.str.replace(r"\.0+$", "", regex=True)
        w2 = o_clean.str.len().unique()
        if len(w2) == 1 and o_clean.str.startswith("0").any():
            fix_table, pad = master, int(w2[0])
    return TwoWays(examples, len(missing), int(hit.sum()), fix_table, pad)
