"""The registry of kinds and outcomes: one place that declares what a kind of key client and an
outcome of growth are, for every module that names them.

- A **kind** (:class:`Kind`) is declared by a rulebook entry (``resources/rulebook.yaml`` or a
  user's own, :func:`analysis.categories.rules.load_rulebook`): id, label and sentence phrase in
  English and Russian, and its ``priority`` for the main kind of a client. ``synthetic_kinds`` in
  ``resources/registry.yaml`` says which kinds the synthetic generator plants as latent traits.
- An **outcome** (:class:`Outcome`) is declared in ``resources/registry.yaml``: family (growth or
  level), label, phrase and direction wording, the codebook description, whether it is measured on
  the clients outside a kind, the features that read its own signal, the ``compute`` function over
  the period arrays (:class:`analysis.growth.panel.PeriodArrays`) and the ``plant`` hook of the
  synthetic generator.

Modules ask :func:`current` at run time (never copy a list at import), so a test can swap in a
registry of its own with :func:`use`. The registry imports nothing of the package: every layer may
read it. Functions named in the YAML (``module:function``) are imported only when called.
"""

from __future__ import annotations

import contextlib
import importlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

RESOURCES = Path(__file__).resolve().parent / "resources"
REGISTRY_FILE = RESOURCES / "registry.yaml"
RULEBOOK_FILE = RESOURCES / "rulebook.yaml"
FAMILIES = ("growth", "level")
SOURCES = ("panel", "kpi")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


class RegistryError(ValueError):
    """A registry file that does not declare what it must (the message names the entry)."""


@dataclass(frozen=True)
class Words:
    """One text in the report's two languages."""

    en: str
    ru: str

    def __getitem__(self, lang: str) -> str:
        return self.ru if lang == "ru" else self.en


@dataclass(frozen=True)
class Kind:
    """A kind of key client as the rulebook declares it."""

    id: str
    label: Words
    phrase: Words
    priority: float
    synthetic: bool = False


@dataclass(frozen=True)
class Outcome:
    """An outcome of growth measured per portfolio and period (see the module docstring)."""

    id: str
    family: str
    source: str
    label: Words
    phrase: Words
    up: Words
    down: Words
    description: Words
    outside: str | None = None
    signals: frozenset[str] = frozenset()
    compute: str | Callable[..., Any] | None = None
    plant: str | Callable[..., Any] | None = None

    def compute_function(self) -> Callable[..., Any] | None:
        """The ``compute`` function, imported on first use (None for a KPI column)."""
        return _resolve(self.compute) if self.compute else None

    def plant_function(self) -> Callable[..., Any] | None:
        """The generator's ``plant`` hook, imported on first use (None: shift the series)."""
        return _resolve(self.plant) if self.plant else None


@dataclass(frozen=True)
class ClientOutcome:
    """An outcome of the client-level links, with its own ("own revenue growth") phrase."""

    id: str
    phrase: Words


@dataclass
class Registry:
    """Kinds and outcomes, in the order reports show them."""

    kinds: dict[str, Kind]
    outcomes: dict[str, Outcome]
    client_outcomes: dict[str, ClientOutcome] = field(default_factory=dict)
    synthetic_kinds: tuple[str, ...] = ()
    #: the kinds of the registry's own rulebook (a loaded rulebook may add ``custom`` ones)
    builtin_kinds: tuple[str, ...] = ()

    # -- kinds -----------------------------------------------------------------------------
    def kind_ids(self) -> tuple[str, ...]:
        return tuple(self.kinds)

    def priority(self) -> tuple[str, ...]:
        """Kind ids in the order the main kind of a client is picked (lowest ``priority`` first)."""
        order = {k: i for i, k in enumerate(self.kinds)}
        return tuple(sorted(self.kinds, key=lambda k: (self.kinds[k].priority, order[k])))

    def kind_label(self, kind: str, lang: str = "en") -> str | None:
        k = self.kinds.get(kind)
        return k.label[lang] if k else None

    def kind_phrase(self, kind: str) -> tuple[str, str]:
        """(English, Russian) phrase of a kind in a sentence; an unknown id reads as itself."""
        k = self.kinds.get(kind)
        return (k.phrase.en, k.phrase.ru) if k else (kind, kind)

    def declare_kinds(self, entries: Iterable[Mapping[str, Any]]) -> None:
        """Take the kinds of a loaded rulebook (its labels and phrases override the built-in
        ones; a new id becomes a kind of its own, after the built-in ones)."""
        for entry in entries:
            kind = _kind(entry, synthetic=False, base=self.kinds.get(str(entry.get("id"))))
            self.kinds[kind.id] = replace(kind, synthetic=kind.id in self.synthetic_kinds)

    # -- outcomes --------------------------------------------------------------------------
    def outcome_ids(self) -> tuple[str, ...]:
        return tuple(self.outcomes)

    def panel_outcomes(self) -> tuple[str, ...]:
        """Outcomes computed from the client × period panel (the others are KPI columns)."""
        return tuple(o for o, v in self.outcomes.items() if v.source == "panel")

    def family(self, outcome: str) -> str:
        """``growth`` or ``level``; a KPI column the registry does not know is a level."""
        o = self.outcomes.get(outcome)
        return o.family if o else "level"

    def outside(self) -> dict[str, str]:
        """Outcome → the kind whose clients it leaves out (outcomes on "the other clients")."""
        return {o: v.outside for o, v in self.outcomes.items() if v.outside}

    def outcome_signals(self) -> dict[str, frozenset[str]]:
        """Outcome → the features that read its own signal."""
        return {o: v.signals for o, v in self.outcomes.items() if v.signals}

    def outcome_words(self, outcome: str) -> tuple[str, str, str, str, str, str]:
        """(en phrase, ru phrase, en up, en down, ru up, ru down); a KPI column the registry does
        not know reads as its own name."""
        o = self.outcomes.get(outcome)
        if o is not None:
            return o.phrase.en, o.phrase.ru, o.up.en, o.down.en, o.up.ru, o.down.ru
        name = str(outcome).replace("_", " ")
        return (name, name, f"a higher {name}", f"a lower {name}",
                f"более высоким значением «{name}»", f"более низким значением «{name}»")

    def client_phrase(self, outcome: str) -> tuple[str, str]:
        c = self.client_outcomes.get(outcome)
        return (c.phrase.en, c.phrase.ru) if c else (outcome, outcome)


# ---------------------------------------------------------------------------------------------
# loading


def _words(entry: Mapping[str, Any], key: str, where: str) -> Words:
    v = entry.get(key)
    if (not isinstance(v, Mapping) or not isinstance(v.get("en"), str)
            or not isinstance(v.get("ru"), str)):
        raise RegistryError(
            f"{where}: `{key}` needs an English and a Russian text ({{en: ..., ru: ...}})"
        )
    return Words(v["en"], v["ru"])


def _kind(entry: Mapping[str, Any], *, synthetic: bool, base: Kind | None = None) -> Kind:
    kid = str(entry.get("id", ""))
    if not _ID.match(kid):
        raise RegistryError(f"kind {kid!r}: an id is lower-case letters, digits and _")
    where = f"kind {kid}"
    label = _words(entry, "label", where) if "label" in entry or base is None else base.label
    if "phrase" in entry:
        phrase = _words(entry, "phrase", where)
    elif base is not None:
        phrase = base.phrase
    else:
        raise RegistryError(
            f"{where}: a kind of your own needs `phrase: {{en: ..., ru: ...}}`, the words "
            "a sentence uses for its clients (e.g. en: image clients, ru: имиджевые)"
        )
    prio = entry.get("priority", base.priority if base is not None else float("inf"))
    if not isinstance(prio, (int, float)) or isinstance(prio, bool):
        raise RegistryError(
            f"{where}: `priority` must be a number (lower is picked first as the main kind)"
        )
    return Kind(kid, label, phrase, float(prio), synthetic)


def _outcome(entry: Mapping[str, Any], kinds: Iterable[str]) -> Outcome:
    oid = str(entry.get("id", ""))
    if not _ID.match(oid):
        raise RegistryError(f"outcome {oid!r}: an id is lower-case letters, digits and _")
    where = f"outcome {oid}"
    family, source = entry.get("family"), entry.get("source", "panel")
    if family not in FAMILIES:
        raise RegistryError(f"{where}: `family` must be one of {list(FAMILIES)}, got {family!r}")
    if source not in SOURCES:
        raise RegistryError(f"{where}: `source` must be one of {list(SOURCES)}, got {source!r}")
    compute = entry.get("compute")
    if source == "panel" and not compute:
        raise RegistryError(f"{where}: a panel outcome needs `compute: module:function`")
    outside = entry.get("outside")
    if outside is not None and outside not in set(kinds):
        raise RegistryError(
            f"{where}: `outside` names {outside!r}, which is not a kind ({', '.join(kinds)})"
        )
    return Outcome(
        id=oid, family=family, source=source,
        label=_words(entry, "label", where), phrase=_words(entry, "phrase", where),
        up=_words(entry, "up", where), down=_words(entry, "down", where),
        description=_words(entry, "description", where),
        outside=outside, signals=frozenset(entry.get("signals") or ()),
        compute=compute, plant=entry.get("plant"),
    )


def build(spec: Mapping[str, Any], rulebook: Mapping[str, Any]) -> Registry:
    """A registry from a registry mapping (outcomes, synthetic kinds) and a rulebook mapping
    (its ``categories`` declare the kinds)."""
    synthetic = tuple(spec.get("synthetic_kinds") or ())
    kinds: dict[str, Kind] = {}
    for entry in rulebook.get("categories") or []:
        kind = _kind(entry, synthetic=str(entry.get("id")) in synthetic)
        kinds[kind.id] = kind
    missing = [k for k in synthetic if k not in kinds]
    if missing:
        raise RegistryError(f"synthetic_kinds names {missing}, which the rulebook does not declare")
    outcomes: dict[str, Outcome] = {}
    for entry in spec.get("outcomes") or []:
        o = _outcome(entry, kinds)
        if o.id in outcomes:
            raise RegistryError(f"outcome {o.id} is declared twice")
        outcomes[o.id] = o
    clients = {
        str(e["id"]): ClientOutcome(str(e["id"]), _words(e, "phrase", f"client outcome {e['id']}"))
        for e in spec.get("client_outcomes") or []
    }
    return Registry(kinds=kinds, outcomes=outcomes, client_outcomes=clients,
                    synthetic_kinds=synthetic, builtin_kinds=tuple(kinds))


def _read(path: Path) -> dict:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


def load(path: str | Path = REGISTRY_FILE, rulebook: str | Path = RULEBOOK_FILE) -> Registry:
    """The registry declared by ``path`` and the kinds of ``rulebook`` (default: the built-in
    ones)."""
    return build(_read(Path(path)), _read(Path(rulebook)))


def _resolve(ref: str | Callable[..., Any]) -> Callable[..., Any]:
    if callable(ref):
        return ref
    module, _, name = ref.partition(":")
    if not module or not name:
        raise RegistryError(f"{ref!r}: a function is named as module:function")
    return getattr(importlib.import_module(module), name)


_ACTIVE: list[Registry] = []


def current() -> Registry:
    """The registry in use: the built-in one, unless a caller swapped in another with
    :func:`use`."""
    if not _ACTIVE:
        _ACTIVE.append(load())
    return _ACTIVE[-1]


@contextlib.contextmanager
def use(registry: Registry) -> Iterator[Registry]:
    """Use ``registry`` inside a ``with`` block (tests that add a kind or an outcome)."""
    current()
    _ACTIVE.append(registry)
    try:
        yield registry
    finally:
        _ACTIVE.remove(registry)


def declare_kinds(entries: Iterable[Mapping[str, Any]]) -> None:
    """Declare a loaded rulebook's kinds in the registry in use (see
    :meth:`Registry.declare_kinds`)."""
    current().declare_kinds(entries)
