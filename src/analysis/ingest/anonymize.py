"""Keyed pseudonyms for client names and ids, applied to the canonical tables right after loading.

A pseudonym is an HMAC-SHA256 of the client id under a secret key: the same key gives the same
pseudonym in every run (reports can be compared), nobody without the key can recompute it from a
guessed name or ИНН (an ИНН is public, so a plain hash would be reversible by lookup). Everything
downstream — pages, tables, figures, executed notebooks — only ever sees the pseudonyms.

The key reaches the notebooks' kernels through the environment (``KEYCLIENTS_ANON_KEY``), never
through a notebook parameter, so it is written neither into the executed notebooks nor into the
manifest.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable
from typing import TYPE_CHECKING

import pandas as pd

from analysis.errors import InputError

if TYPE_CHECKING:  # the package imports this module: the types only for the checker
    from analysis.ingest import ClientBase, ValidationReport

ENV_KEY = "KEYCLIENTS_ANON_KEY"
#: Hex digits of the HMAC kept: 48 bits, so a million clients collide with probability ~0.2 %;
#: a collision is detected and the pseudonyms of the whole base are lengthened.
DIGITS = 12
#: Tables of a ClientBase that carry a ``client_id`` column.
ID_TABLES = ("clients", "transactions", "events", "client_periods")


def new_key() -> str:
    """A random key (32 hex digits) for a run whose pseudonyms need not be stable."""
    return secrets.token_hex(16)


def key_from_env() -> str:
    """The key the report runner put in the environment; an error when there is none."""
    key = os.environ.get(ENV_KEY, "")
    if not key:
        raise InputError(f"anonymize is on but no key was given: set {ENV_KEY} or pass --anon-key")
    return key


def pseudonyms(ids: Iterable[object], key: str, *, digits: int = DIGITS) -> dict[str, str]:
    """Real client id → pseudonym (``C`` + upper-case hex of the keyed hash), one per distinct id.

    Returns
    -------
    dict
        ``{real_id: pseudonym}``; pseudonyms are unique (lengthened on a collision).
    """
    k = key.encode("utf-8")
    distinct = pd.unique(pd.Series(ids, dtype="object").dropna().astype(str))
    full = {i: hmac.new(k, b"client\0" + i.encode("utf-8"), hashlib.sha256).hexdigest().upper()
            for i in distinct}
    while True:
        out = {i: "C" + h[:digits] for i, h in full.items()}
        if len(set(out.values())) == len(out) or digits >= 64:
            return out
        digits += 4


def name_of(pseudonym: str) -> str:
    """The display name standing for a pseudonymised client (``Client 3F2A…``)."""
    return f"Client {pseudonym[1:]}"


def anonymize_base(base: ClientBase, key: str) -> ClientBase:
    """A copy of a :class:`~analysis.ingest.ClientBase` whose client ids and names are pseudonyms.

    Every table's ``client_id`` is mapped (ids found only in order lines or events too); the
    clients' ``name`` becomes ``Client <hash>``; notes (how files were read) are scrubbed of any
    real id or name they quote.
    """
    ids = pd.concat([getattr(base, t)["client_id"].astype("string") for t in ID_TABLES
                     if getattr(base, t, None) is not None and "client_id" in getattr(base, t)],
                    ignore_index=True)
    mapping = pseudonyms(ids, key)
    changes = {}
    for table in ID_TABLES:
        df = getattr(base, table, None)
        if df is None or "client_id" not in df:
            continue
        df = df.copy()
        df["client_id"] = _map(df["client_id"], mapping)
        if table == "clients" and "name" in df:
            df["name"] = df["client_id"].map(lambda p: name_of(p) if isinstance(p, str) else p)
        changes[table] = df
    real = _real_texts(base, mapping)
    changes["notes"] = [scrub(n, real) for n in (base.notes or [])]
    return dataclasses.replace(base, **changes)


def anonymize_report(report: ValidationReport, key: str) -> ValidationReport:
    """A :class:`~analysis.ingest.ValidationReport` with its base and texts anonymised."""
    if report.base is None:
        return report
    mapping = pseudonyms(pd.concat([getattr(report.base, t)["client_id"].astype("string")
                                    for t in ID_TABLES
                                    if getattr(report.base, t, None) is not None],
                                   ignore_index=True), key)
    real = _real_texts(report.base, mapping)
    problems = report.problems.copy()
    for col in problems.columns:
        if problems[col].dtype == object or pd.api.types.is_string_dtype(problems[col]):
            problems[col] = problems[col].map(lambda v: scrub(v, real) if isinstance(v, str) else v)
    return dataclasses.replace(report, base=anonymize_base(report.base, key), problems=problems,
                               notes=[scrub(n, real) for n in report.notes])


def _map(col: pd.Series, mapping: dict) -> pd.Series:
    s = col.astype("string")
    return s.map(mapping).astype("string").where(s.notna(), pd.NA)


def _real_texts(base, mapping: dict) -> dict[str, str]:
    """Real id or name → what replaces it in free text (longest first, so a name that contains an
    id is replaced whole)."""
    real = dict(mapping)
    clients = base.clients
    if "name" in clients:
        for cid, name in zip(clients["client_id"].astype("string"),
                             clients["name"].astype("string")):
            if isinstance(name, str) and len(name) >= 3 and isinstance(cid, str) and cid in mapping:
                real[name] = name_of(mapping[cid])
    return dict(sorted(real.items(), key=lambda kv: -len(kv[0])))


def scrub(text: str, real: dict[str, str]) -> str:
    """``text`` with every real id or name it quotes replaced by its pseudonym."""
    if not text:
        return text
    for value, alias in real.items():
        if value and value in text:
            text = text.replace(value, alias)
    return text
