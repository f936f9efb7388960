"""Kinds of key client, decided per client and period by an editable rulebook.

A rulebook (YAML, validated by pydantic) gives each category an id, EN/RU labels and
descriptions, and a rule: a tree of conditions on the features of
:mod:`analysis.categories.features`, combined with ``all``, ``any`` or ``at_least: k``
(``of: [...]``). A condition names a ``feature``, an ``op`` (``<`` ``<=`` ``>`` ``>=`` ``==`` ``!=``
``in`` ``not_in`` ``between``) and exactly one threshold:

* ``value`` — absolute (a number, a string, ``true``/``false``, a list for ``in``/``not_in``,
  ``[low, high]`` for ``between``);
* ``quantile`` — relative: the feature's quantile over the reference group;
* ``pareto_top`` — relative: the smallest value among the largest clients who together hold this
  share of the group's total (the Pareto/ABC "A" cut).

The reference group is pooled by default: all clients of all portfolios with a full window ending
at the same period (with one portfolio: all its client-periods, docs/data.md).
``per_portfolio=True`` computes it within each portfolio instead — which makes every portfolio's
share the same by construction, so it is for describing one portfolio, never for exposures. A
condition may be ``optional: true``: when its feature is absent from the data it is dropped
(``at_least`` is capped at what remains) instead of making the category not computable. Nothing in a
rulebook is evaluated as code.

Membership at period t is decided over the window t-W+1 … t.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Union

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from analysis import registry
from analysis.categories.features import FEATURES, client_features
from analysis.errors import InputError, read_yaml

OPERATORS = ("<", "<=", ">", ">=", "==", "!=", "in", "not_in", "between")
CATEGORICAL_FEATURES = frozenset({"org_type", "industry", "country", "abc_revenue", "abc_profit",
                                  "xyz_class"})
BOOLEAN_FEATURES = frozenset({"is_reference"})
#: Features that are shares in [0, 1]: a scaled absolute threshold is clipped to that range.
SHARE_FEATURES = frozenset({"revenue_share", "profit_share", "revenue_cum_share",
                            "profit_cum_share",
                            "new_product_share", "manager_continuity",
                            "manager_continuity_history"})
#: Order in which :func:`primary_category` picks one category for charts (the built-in kinds'
#: ``priority`` in the rulebook): the article's kinds, rarest signal first, before the two
#: money-based kinds (which many members of the others share). A rulebook's own kinds:
#: :func:`main_kind_priority`.
PRIMARY_PRIORITY = registry.current().priority()
MEMBERSHIP_COLUMNS = ["client_id", "portfolio", "period", "category", "member", "status", "score",
                      "reason_code"]


def main_kind_priority() -> tuple[str, ...]:
    """Kind ids in the order a client's main kind is picked, the loaded rulebooks' kinds
    included."""
    return registry.current().priority()


def default_rulebook_path() -> Path:
    """The rulebook that ships with the package (``analysis/resources/rulebook.yaml``)."""
    return Path(str(resources.files("analysis") / "resources" / "rulebook.yaml"))


# ------------------------------------------------------------------------------------------------
# the rulebook model


class Text(BaseModel):
    """A text in both report languages."""

    model_config = ConfigDict(extra="forbid")
    en: str = Field(min_length=1)
    ru: str = Field(min_length=1)


class Condition(BaseModel):
    """One test of a feature against an absolute or relative threshold."""

    model_config = ConfigDict(extra="forbid")
    feature: str
    op: str
    value: Any = None
    quantile: Union[float, list[float], None] = None
    pareto_top: Union[float, None] = None
    optional: bool = False

    @field_validator("feature")
    @classmethod
    def _known_feature(cls, v: str) -> str:
        if v not in FEATURES:
            raise ValueError(f"unknown feature {v!r}; features: {', '.join(FEATURES)}")
        return v

    @field_validator("op")
    @classmethod
    def _known_op(cls, v: str) -> str:
        if v not in OPERATORS:
            raise ValueError(f"unknown operator {v!r}; operators: {' '.join(OPERATORS)}")
        return v

    @model_validator(mode="after")
    def _check(self) -> "Condition":
        given = [k for k in ("value", "quantile", "pareto_top") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"{self.feature}: give exactly one of value, quantile, pareto_top "
                             f"(got {given or 'none'})")
        kind = feature_kind(self.feature)
        op = self.op
        if kind != "numeric" and given[0] != "value":
            raise ValueError(f"{self.feature} is {kind}: relative thresholds (quantile, "
                             "pareto_top) need a numeric feature")
        if kind == "boolean":
            if op not in ("==", "!=") or not isinstance(self.value, bool):
                raise ValueError(f"{self.feature} is yes/no: use == or != with true or false")
        if kind == "categorical" and op not in ("==", "!=", "in", "not_in"):
            raise ValueError(f"{self.feature} is a label: use ==, !=, in or not_in")
        if op in ("in", "not_in"):
            if given[0] != "value" or not isinstance(self.value, list) or not self.value:
                raise ValueError(f"{self.feature} {op}: value must be a non-empty list")
            if kind == "numeric" and not all(_is_number(x) for x in self.value):
                raise ValueError(f"{self.feature} {op}: {self.feature} is numeric, the list must "
                                 "hold numbers")
        elif op == "between":
            pair = self.value if given[0] == "value" else self.quantile
            if given[0] == "pareto_top":
                raise ValueError(f"{self.feature} between: use value: [low, high] or quantile: "
                                 "[low, high]")
            if not (isinstance(pair, list) and len(pair) == 2 and all(_is_number(x) for x in pair)):
                raise ValueError(f"{self.feature} between: needs [low, high], two numbers")
            if pair[0] > pair[1]:
                raise ValueError(f"{self.feature} between: low {pair[0]} is above high {pair[1]}; "
                                 "give [low, high]")
        else:
            if given[0] == "quantile" and not _is_number(self.quantile):
                raise ValueError(f"{self.feature} {op}: quantile must be one number in [0, 1]")
            if kind == "numeric" and given[0] == "value" and not _is_number(self.value):
                raise ValueError(f"{self.feature} {op}: value must be a number, got {self.value!r}")
            if kind == "categorical" and not isinstance(self.value, str):
                raise ValueError(f"{self.feature} {op}: value must be a label (text), got "
                                 f"{self.value!r}")
        for q in np.atleast_1d(self.quantile if self.quantile is not None else []):
            if not 0 <= q <= 1:
                raise ValueError(f"{self.feature}: quantile {q} is outside [0, 1]")
        if self.pareto_top is not None and not 0 < self.pareto_top <= 1:
            raise ValueError(f"{self.feature}: pareto_top {self.pareto_top} is outside (0, 1]")
        return self

    def leaves(self) -> list["Condition"]:
        return [self]

    def text(self) -> str:
        if self.value is not None:
            v = self.value
            shown = ("true" if v else "false") if isinstance(v, bool) else v
            return f"{self.feature} {self.op} {shown}"
        if self.quantile is not None:
            return f"{self.feature} {self.op} quantile {self.quantile}"
        return f"{self.feature} {self.op} the Pareto top {self.pareto_top:g} cut"


class Group(BaseModel):
    """Conditions combined: ``all`` (every one), ``any`` (one or more), ``at_least`` k ``of``."""

    model_config = ConfigDict(extra="forbid")
    all: list["Node"] | None = None
    any: list["Node"] | None = None
    at_least: int | None = None
    of: list["Node"] | None = None

    @model_validator(mode="after")
    def _one_combinator(self) -> "Group":
        kinds = [k for k in ("all", "any", "of") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("a group has exactly one of all: [...], any: [...] or at_least: k "
                             "with of: [...]")
        if (self.of is None) != (self.at_least is None):
            raise ValueError("at_least: k needs of: [...] (and of needs at_least)")
        if not self.children:
            raise ValueError("a group needs at least one condition")
        if (self.at_least is not None and self.of is not None
                and not 1 <= self.at_least <= len(self.of)):
            raise ValueError(f"at_least: {self.at_least} must lie between 1 and the {len(self.of)} "
                             "conditions listed")
        return self

    @property
    def children(self) -> list["Node"]:
        for kids in (self.all, self.any, self.of):
            if kids is not None:
                return kids
        return []  # not reached: the validator asks for exactly one of all, any, of

    @property
    def need(self) -> int:
        """How many children must hold: all of them, one (any) or ``at_least``."""
        if self.any is not None:
            return 1
        return self.at_least if self.at_least is not None else len(self.children)

    def leaves(self) -> list[Condition]:
        return [leaf for c in self.children for leaf in c.leaves()]


Node = Union[Condition, Group]
Group.model_rebuild()


class Category(BaseModel):
    """One kind of key client: id, texts in both languages, and its rule."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: Text
    description: Text
    rule: Node
    score: str | None = None  # a feature shown as the score; default: share of conditions held
    phrase: Text | None = None  # the words of a sentence ("image clients"); required for a new kind
    priority: float | None = None  # lower is picked first as a client's main kind
    custom: bool = False  # a kind of the user's own, not one of the built-in ones

    @model_validator(mode="after")
    def _custom_kind_phrase(self) -> "Category":
        if self.custom and self.phrase is None:
            raise ValueError(f"the kind {self.id!r} of your own needs `phrase: {{en: ..., ru: "
                             f"...}}`, "
                             "the words a sentence uses for its clients")
        return self

    @field_validator("score")
    @classmethod
    def _score_feature(cls, v: str | None) -> str | None:
        if v is not None and v not in FEATURES:
            raise ValueError(f"unknown score feature {v!r}; features: {', '.join(FEATURES)}")
        return v

    @field_validator("rule", mode="before")
    @classmethod
    def _node(cls, v):
        return _parse_node(v, "rule")


class Rulebook(BaseModel):
    """The categories and their rules (see the module docstring for the format)."""

    model_config = ConfigDict(extra="forbid")
    version: int = 1
    categories: list[Category]

    @model_validator(mode="after")
    def _unique(self) -> "Rulebook":
        ids = [c.id for c in self.categories]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"category listed twice: {', '.join(dup)}")
        if not ids:
            raise ValueError("the rulebook lists no category")
        return self

    def get(self, category: str) -> Category:
        for c in self.categories:
            if c.id == category:
                return c
        raise InputError(f"unknown category {category!r}; categories in the rulebook: "
                         f"{', '.join(c.id for c in self.categories)}")

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.categories]


def _parse_node(v, path: str):
    """Dicts to Condition/Group, choosing by key, with errors that name the condition's place."""
    if isinstance(v, (Condition, Group)):
        return v
    if not isinstance(v, dict):
        raise ValueError(f"{path}: a rule is a condition (feature, op, value) or a group "
                         f"(all/any/at_least); got {v!r}")
    if "feature" in v or "op" in v:
        try:
            return Condition.model_validate(v)
        except ValidationError as exc:
            msgs = "; ".join(dict.fromkeys(
                (".".join(str(x) for x in e["loc"]) + ": " if e["loc"] else "")
                + e["msg"].removeprefix("Value error, ")
                for e in exc.errors()))
            raise ValueError(f"{path} ({v.get('feature', '?')}): {msgs}") from None
    keys = set(v)
    if not keys & {"all", "any", "at_least", "of"}:
        raise ValueError(f"{path}: unknown rule keys {sorted(keys)}; a condition has feature, op "
                         "and "
                         "value/quantile/pareto_top; a group has all, any or at_least + of")
    out = dict(v)
    for k in ("all", "any", "of"):
        if k in out:
            if not isinstance(out[k], list):
                raise ValueError(f"{path}.{k}: must be a list of conditions")
            out[k] = [_parse_node(x, f"{path}.{k}[{i}]") for i, x in enumerate(out[k])]
    try:
        return Group.model_validate(out)
    except ValidationError as exc:
        msgs = "; ".join(dict.fromkeys(e["msg"].removeprefix("Value error, ")
                                       for e in exc.errors()))
        raise ValueError(f"{path}: {msgs}") from None


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def feature_kind(feature: str) -> Literal["numeric", "categorical", "boolean"]:
    """How a feature is compared: ``numeric``, ``categorical`` (labels) or ``boolean``."""
    if feature in BOOLEAN_FEATURES:
        return "boolean"
    if feature in CATEGORICAL_FEATURES:
        return "categorical"
    return "numeric"


def _format_error(exc: ValidationError, source: str) -> str:
    lines = []
    for err in exc.errors():
        loc = list(err["loc"])
        where = []
        if len(loc) >= 2 and loc[0] == "categories" and isinstance(loc[1], int):
            where.append(f"categories[{loc[1]}]")
            loc = loc[2:]
        where += [str(x) for x in loc if not str(x).startswith(("Condition", "Group", "function-"))]
        msg = err["msg"].removeprefix("Value error, ")
        if where and where[-1] == "rule" and msg.startswith("rule"):
            where.pop()  # the message names the place inside the rule itself
        lines.append(f"  {'.'.join(where) + ': ' if where else ''}{msg}")
    return f"{source}: the rulebook is not valid:\n" + "\n".join(dict.fromkeys(lines))


def parse_rulebook(data: object, *, source: str = "rulebook") -> Rulebook:
    """A :class:`Rulebook` from a mapping; :class:`InputError` naming each broken rule."""
    if not isinstance(data, dict):
        raise InputError(f"{source}: expected a mapping with `categories:`, got "
                         f"{type(data).__name__}")
    cats = data.get("categories")
    if isinstance(cats, list):
        known = registry.current().builtin_kinds
        for i, c in enumerate(cats):
            if (isinstance(c, dict) and "id" in c and c["id"] not in known
                    and c.get("custom") is not True):
                raise InputError(f"{source}: categories[{i}]: unknown category {c['id']!r}; "
                                 f"categories: {', '.join(known)}. A kind of your own says "
                                 "`custom: true` "
                                 "and has a phrase, label, description and rule")
    try:
        book = Rulebook.model_validate(data)
    except ValidationError as exc:
        # name the category of each error, not only its position
        msg = _format_error(exc, source)
        if isinstance(cats, list):
            for i, c in enumerate(cats):
                if isinstance(c, dict) and "id" in c:
                    msg = msg.replace(f"categories[{i}]", f"categories[{i}] ({c['id']})")
        raise InputError(msg) from None
    declare_kinds(book)
    return book


def declare_kinds(book: Rulebook) -> None:
    """Declare the rulebook's kinds in the registry in use (their labels, phrases and priority show
    on every page; a ``custom`` kind becomes a kind of its own). Loading a rulebook does it."""
    registry.declare_kinds(c.model_dump(include={"id", "label", "phrase", "priority"},
                                        exclude_none=True)
                           for c in book.categories)


def load_rulebook(path: str | Path | None = None) -> Rulebook:
    """Read and validate a rulebook (default: the one that ships with the package).

    Raises
    ------
    InputError
        The file is missing, is not YAML, or a rule names an unknown category, feature or
        operator, or has a threshold of the wrong type; the message lists what exists.
    """
    p = Path(path) if path is not None else default_rulebook_path()
    data = read_yaml(p,
                     missing=f"rulebook not found; `keyclients init-rulebook --out {p.name}` "
                     "writes the default one")
    return parse_rulebook(data, source=str(p))


def copy_default_rulebook(out: str | Path, *, force: bool = False) -> Path:
    """Copy the default rulebook to ``out`` for editing (refuses to overwrite unless ``force``)."""
    out = Path(out)
    if out.exists() and not force:
        raise InputError(f"{out} exists; pass --force to overwrite it")
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(default_rulebook_path(), out)
    return out


def without_features(rule: Node, drop: set[str]) -> Node | None:
    """The rule with every condition on a feature in ``drop`` removed (``at_least`` capped), or
    None when nothing is left. Used to test a claim about a feature without circularity."""
    if isinstance(rule, Condition):
        return None if rule.feature in drop else rule
    kids = [k for k in (without_features(c, drop) for c in rule.children) if k is not None]
    if not kids:
        return None
    if rule.all is not None:
        return Group(all=kids)
    if rule.any is not None:
        return Group(any=kids)
    return Group(at_least=min(rule.need, len(kids)), of=kids)


def variant_id(category: str, outcome: str) -> str:
    """Id of ``category``'s rule without the conditions that read ``outcome``'s own signal
    (``demanding_without_claims_rate``); its exposure columns are named after it."""
    return f"{category}_without_{outcome}"


def signal_id(category: str) -> str:
    """Id of "any condition of ``category``'s rule holds" (``demanding_any_signal``): the clients
    left out of "the others" when an outcome is measured outside ``category``."""
    return f"{category}_any_signal"


def outcome_variants(book: "Rulebook") -> dict[tuple[str, str], tuple[Node | None, list[str]]]:
    """Which rules read an outcome's own signal: ``(category, outcome)`` → (the rule without those
    conditions, or None when none is left; the features dropped), for every outcome of
    the registry (:meth:`analysis.registry.Registry.outcome_signals`) and every category whose
    rule reads it."""
    out = {}
    signals = registry.current().outcome_signals()
    for cat in book.categories:
        used = {leaf.feature for leaf in cat.rule.leaves()}
        for outcome, feats in signals.items():
            dropped = sorted(used & feats)
            if dropped:
                out[(cat.id, outcome)] = (without_features(cat.rule, set(feats)), dropped)
    return out


def classify_variants(panel: pd.DataFrame, clients: pd.DataFrame, *,
                      rulebook: "Rulebook | str | Path | None" = None,
                      window: int = 4, kpis: pd.DataFrame | None = None,
                      events: pd.DataFrame | None = None,
                      transactions: pd.DataFrame | None = None, quantile_shift: float = 0.0,
                      features: pd.DataFrame | None = None) -> pd.DataFrame:
    """The rule variants that keep the outcomes measured on "the other clients" free of selection.

    For every outcome measured outside a kind (the registry's ``outside``), two memberships:

    - ``<k>_without_<outcome>`` (:func:`variant_id`) for every category k whose rule reads the
      outcome's own signal (the registry's ``signals``): k's rule with those
      conditions removed (``at_least`` capped). The exposure paired with that outcome comes from it.
    - ``<k>_any_signal`` (:func:`signal_id`) for the kind k the outcome is measured outside: true
      when any condition of k's full rule holds. "The others" are the clients where it is false.

    Returns
    -------
    pandas.DataFrame
        A membership table (``client_id, portfolio, period, category, member, status, score,
        reason``, as :func:`classify`) with those ids as ``category``; ``attrs["variants"]``:
        ``{variant id: {"category", "outcome", "dropped"}}``.
    """
    book = rulebook if isinstance(rulebook, Rulebook) else load_rulebook(rulebook)
    if features is None:
        features = client_features(panel, clients, window=window, kpis=kpis, events=events,
                                   transactions=transactions, only=rule_features(book))
    ctx = RuleContext(features, window=window, per_portfolio=False, quantile_shift=quantile_shift,
                      value_scale=1.0)
    frames, info = [], {}
    reasons = _Reasons()
    ids = set(book.ids)
    for (k, outcome), (rule, dropped) in outcome_variants(book).items():
        vid = variant_id(k, outcome)
        info[vid] = {"category": k, "outcome": outcome, "dropped": dropped}
        cat = book.get(k).model_copy(update={"id": k, "score": None})
        if rule is None:
            n = len(features)
            why = (f"not computable: every condition of the {k} rule reads {outcome}'s own signal "
                   f"({', '.join(dropped)})")
            fr = pd.DataFrame({"client_id": features["client_id"].to_numpy(),
                               "portfolio": features["portfolio"].to_numpy(),
                               "period": features["period"].to_numpy(), "category": vid,
                               "member": pd.array([pd.NA] * n, dtype="boolean"),
                               "status": _status(np.full(n, STATUSES.index("not_computable"),
                                                         dtype=np.int8)),
                               "score": np.nan,
                               "reason_code": reasons.constant(vid, "not_computable", why, n)})
        else:
            fr = classify_one(cat, ctx, rule, category=vid, reasons=reasons)
        frames.append(fr)
    for outcome, k in registry.current().outside().items():
        if k not in ids:
            continue
        cat = book.get(k).model_copy(update={"score": None})
        sid = signal_id(k)
        if sid in info:
            continue
        info[sid] = {"category": k, "outcome": "", "dropped": []}
        frames.append(classify_one(cat, ctx, Group(any=[*cat.rule.leaves()]), category=sid,
                                   reasons=reasons))
    if not frames or not len(features):
        out = _empty_membership()
    else:
        for fr in frames:
            fr.attrs.clear()
        out = pd.concat(frames, ignore_index=True)[MEMBERSHIP_COLUMNS]
    out.attrs["reasons"] = reasons.table()
    out.attrs["variants"] = info
    return out


# ------------------------------------------------------------------------------------------------
# evaluation


class RuleContext:
    """Features plus the reference groups for relative thresholds; ``window`` is the number of
    periods the features were computed over (a reason for a short history names it)."""

    def __init__(self, feats: pd.DataFrame, *, window: int, per_portfolio: bool,
                 quantile_shift: float,
                 value_scale: float):
        if int(window) < 1:
            raise ValueError(f"window must be at least 1 period, got {window!r}")
        self.f = feats
        self.window = int(window)
        self.ok = feats["complete"].to_numpy(dtype=bool)
        single = feats["portfolio"].nunique() <= 1
        if per_portfolio and not single:
            key = feats["portfolio"].astype(str) + "\x1f" + feats["period"].astype(str)
        elif single:
            key = pd.Series("all", index=feats.index)  # one portfolio: pooled over its periods
        else:
            key = feats["period"]
        self.groups, labels = pd.factorize(key)
        self.groups = self.groups.astype(np.int64, copy=False)
        self.n_groups = len(labels)
        order = np.argsort(self.groups, kind="stable")
        self.members = np.split(order,
                                np.cumsum(np.bincount(self.groups, minlength=self.n_groups))[:-1])
        # the reference group of each group code, as the reasons table names it
        if per_portfolio and not single:
            pairs = [str(x).split("\x1f", 1) for x in labels]
            self.group_period = [p[1] for p in pairs]
            self.group_portfolio = [p[0] for p in pairs]
        elif single:
            self.group_period, self.group_portfolio = [""] * self.n_groups, [""] * self.n_groups
        else:
            self.group_period, self.group_portfolio = [str(x) for x in labels], [""] * self.n_groups
        self.shift, self.scale = quantile_shift, value_scale
        self.per_portfolio = per_portfolio
        self.scope = "per-portfolio" if per_portfolio and not single else "pooled"
        self.available = {c: bool(c in feats.columns and feats[c].notna().any()) for c in FEATURES}

    def group_quantile(self, x: np.ndarray, q: float) -> np.ndarray:
        """The ``q`` quantile of ``x`` over each group's complete rows: one value per group."""
        s = pd.Series(np.where(self.ok, x, np.nan))
        qs = s.groupby(self.groups).quantile(q)
        return qs.reindex(np.arange(self.n_groups)).to_numpy(dtype=float)

    def group_pareto(self, x: np.ndarray, p: float) -> np.ndarray:
        """Per group: the smallest value among the largest clients holding share p of the total."""
        v = np.where(self.ok & np.isfinite(x), np.clip(x, 0, None), 0.0)
        thr = np.full(self.n_groups, np.inf)
        for g, rows in enumerate(self.members):  # largest first within each group
            vs = np.sort(v[rows])[::-1]
            cs = np.cumsum(vs)
            before = cs - vs
            inside = (before < p * cs[-1]) & (vs > 0) if vs.size else np.zeros(0, bool)
            if inside.any():
                thr[g] = vs[inside].min()
        return thr


def _relative(q: float, shift: float) -> float:
    return float(np.clip(q + shift, 0.0, 1.0))


class _Leaf:
    """One evaluated condition: ``held`` per row and the text of its threshold — one text for
    an absolute threshold, one per reference group for a relative one (``text(g)``)."""

    def __init__(self, cond: Condition, held: np.ndarray, fixed: str | None = None,
                 per_group: tuple | None = None, how: str = ""):
        self.cond, self.held = cond, np.asarray(held, dtype=bool)
        self.fixed, self.per_group, self.how = fixed, per_group, how

    @property
    def relative(self) -> bool:
        return self.per_group is not None

    def threshold(self, g: int) -> str:
        if self.per_group is None:
            return self.fixed or ""
        if len(self.per_group) == 2:  # between: [low, high]
            lo, hi = self.per_group
            return f"[{_fmt_num(float(lo[g]))}, {_fmt_num(float(hi[g]))}] ({self.how})"
        return f"{_fmt_num(float(self.per_group[0][g]))} ({self.how})"

    def template(self, g: int) -> str:
        """The condition with a placeholder for the client's value:
        ``margin={value:margin} < 0.08``."""
        c = self.cond
        kind = feature_kind(c.feature)
        if kind == "boolean":
            shown = "true" if c.value else "false"
            return f"{c.feature}={shown}" if c.op == "==" else f"{c.feature}!={shown}"
        if kind == "categorical":
            return f"{c.feature}={{value:{c.feature}}}"
        op = "in" if c.op == "between" else c.op
        return f"{c.feature}={{value:{c.feature}}} {op} {self.threshold(g)}"


def _eval_condition(c: Condition, ctx: RuleContext) -> _Leaf:
    """Whether each row meets one condition, and its threshold's text."""
    col = ctx.f[c.feature]
    kind = feature_kind(c.feature)
    op = c.op
    if kind == "numeric":
        x = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        g = ctx.groups
        if op == "between":
            with np.errstate(invalid="ignore"):
                if isinstance(c.quantile, list):
                    qlo = _relative(c.quantile[0], -ctx.shift)
                    qhi = _relative(c.quantile[1], ctx.shift)
                    lo, hi = ctx.group_quantile(x, qlo), ctx.group_quantile(x, qhi)
                    held = (x >= lo[g]) & (x <= hi[g])
                    return _Leaf(c, held, per_group=(lo, hi), how=f"{ctx.scope} q{qlo:g}-q{qhi:g}")
                lo, hi = c.value[0] * (1 - (ctx.scale - 1)), c.value[1] * ctx.scale
                lo, hi = min(lo, hi), max(lo, hi)
                held = (x >= lo) & (x <= hi)
            return _Leaf(c, held, fixed=f"[{_fmt_num(float(lo))}, {_fmt_num(float(hi))}]")
        if op in ("in", "not_in"):
            held = np.isin(x, np.asarray(c.value, dtype=float))
            held = held if op == "in" else ~held & np.isfinite(x)
            return _Leaf(c, held, fixed=f"{{{', '.join(f'{v:g}' for v in c.value)}}}")
        relative: tuple[np.ndarray, str] | None = None
        if isinstance(c.quantile, float):  # one number (a pair only with between, checked on load)
            q = _relative(c.quantile, ctx.shift)
            relative = ctx.group_quantile(x, q), f"{ctx.scope} q{q:g}"
        elif c.pareto_top is not None:
            p = _relative(c.pareto_top, ctx.shift)
            relative = ctx.group_pareto(x, p), f"{ctx.scope} Pareto top {p:.0%}"
        if relative is not None:
            thr, how = relative
            with np.errstate(invalid="ignore"):
                held = _compare(x, op, thr[g])
            return _Leaf(c, held, per_group=(thr,), how=how)
        cut = float(c.value) * ctx.scale
        if c.feature in SHARE_FEATURES:
            cut = float(np.clip(cut, 0.0, 1.0))
        with np.errstate(invalid="ignore"):
            held = _compare(x, op, cut)
        return _Leaf(c, held, fixed=_fmt_num(cut))
    if kind == "boolean":
        x = col.astype("boolean")
        eq = (x == bool(c.value)).fillna(False).to_numpy(dtype=bool)
        known = x.notna().to_numpy()
        return _Leaf(c, eq if op == "==" else (~eq & known))
    vals = c.value if isinstance(c.value, list) else [c.value]
    known = col.notna().to_numpy()
    wanted = [str(v) for v in vals]
    labels = col if isinstance(col.dtype, pd.CategoricalDtype) and all(
        isinstance(c, str) for c in col.cat.categories) else col.astype(str)
    inside = labels.isin(wanted).to_numpy(dtype=bool) & known
    return _Leaf(c, inside if op in ("==", "in") else (~inside & known))


def _compare(x, op, thr):
    return {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
            "==": np.equal, "!=": np.not_equal}[op](x, thr)


def _fmt_num(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "NA"
    a = abs(v)
    if a >= 1e4:
        return f"{v:,.0f}"
    if a == int(a):
        return f"{int(v)}"
    return f"{v:.3g}"


def _eval_node(node: Node, ctx: RuleContext, leaves: list) -> np.ndarray:
    """Held per row; appends every evaluated leaf (:class:`_Leaf`) to ``leaves`` in rule order.
    Optional conditions whose feature is absent were removed before."""
    if isinstance(node, Condition):
        leaf = _eval_condition(node, ctx)
        leaves.append(leaf)
        return leaf.held
    res = np.vstack([_eval_node(c, ctx, leaves) for c in node.children])
    return res.sum(axis=0) >= node.need


def _held_from_mask(node: Node, mask: int, pos: list) -> bool:
    """The rule's verdict when exactly the leaves in ``mask`` (bit i: the i-th leaf) hold."""
    if isinstance(node, Condition):
        i = pos[0]
        pos[0] += 1
        return bool(mask >> i & 1)
    got = sum(_held_from_mask(c, mask, pos) for c in node.children)
    return got >= node.need


def _prune_optional(node: Node, available: dict[str, bool]) -> Node | None:
    if isinstance(node, Condition):
        return None if (node.optional and not available.get(node.feature, False)) else node
    kids = [k for k in (_prune_optional(c, available) for c in node.children) if k is not None]
    if not kids:
        return None
    if node.all is not None:
        return Group(all=kids)
    if node.any is not None:
        return Group(any=kids)
    return Group(at_least=min(node.need, len(kids)), of=kids)


# ------------------------------------------------------------------------------------------------
# reasons as codes

#: Columns of the reasons lookup table (``reasons.csv``): one row per reason code.
REASON_COLUMNS = ["reason_code", "category", "status", "member", "conditions", "period",
                  "portfolio",
                  "text_en", "text_ru"]
#: The reason of a ``category_changes`` row whose client was not active in the window any more.
INACTIVE_CODE = 0
INACTIVE_TEXT = "no purchase or event in the window ending this period"
#: Membership rows (client-periods × kinds) from which :func:`classify` evaluates the kinds on two
#: threads.
PARALLEL_ROWS = 2_000_000
#: ``status`` values, in the (alphabetical) order of their categorical codes.
STATUSES = ("not_computable", "ok", "short_history")
_PLACEHOLDER = re.compile(r"\{value:([a-z][a-z0-9_]*)\}")


class _Reasons:
    """The reason codes of one membership table and their texts (with ``{value:feature}``
    placeholders for the client's own values; thresholds are written in)."""

    def __init__(self) -> None:
        self.rows: list[dict] = [{"reason_code": INACTIVE_CODE, "category": "", "status": "",
                                  "member": None,
                                  "conditions": "", "period": "", "portfolio": "",
                                  "text_en": INACTIVE_TEXT}]
        self.next = INACTIVE_CODE + 1

    def constant(self, category: str, status: str, text: str, n: int) -> np.ndarray:
        """One code for every row of a category (not computable)."""
        code = self.next
        self.rows.append({"reason_code": code, "category": category, "status": status,
                          "member": None,
                          "conditions": "", "period": "", "portfolio": "", "text_en": text})
        self.next += 1
        return np.full(n, code, dtype=np.int32)

    def codes(self, category: str, keys: np.ndarray, describe) -> np.ndarray:
        """Codes for integer ``keys`` (one per row): equal keys share a code, numbered in key order;
        ``describe(key)`` gives the row of the lookup table."""
        top = int(keys.max()) + 1 if keys.size else 0
        if top <= max(4 * keys.size, 1 << 16):  # small key space: one counting pass, no sort
            seen = np.zeros(top, dtype=bool)
            seen[keys] = True
            uniq = np.flatnonzero(seen)
            rank = np.cumsum(seen, dtype=np.int64) - 1
            inv = rank[keys]
        else:
            uniq, inv = np.unique(keys, return_inverse=True)
        for i, key in enumerate(uniq.tolist()):
            self.rows.append({"reason_code": self.next + i, "category": category, **describe(key)})
        out = (inv + self.next).astype(np.int32)
        self.next += len(uniq)
        return out

    def table(self) -> dict[str, list]:
        """The lookup as columns (English texts; :func:`reasons_table` adds the Russian ones)."""
        return {c: [r.get(c) for r in self.rows] for c in REASON_COLUMNS if c != "text_ru"}


def reasons_table(membership: pd.DataFrame) -> pd.DataFrame:
    """The lookup of a membership table's ``reason_code`` (``reasons.csv``).

    Returns
    -------
    pandas.DataFrame
        ``reason_code`` (int), ``category``, ``status``, ``member`` (the decision the code stands
        for: true/false, empty for short history and not computable), ``conditions`` (the numbers
        of the rule's conditions that held, in the rulebook's order, joined by ``;``), ``period``
        and ``portfolio`` (the reference group whose relative thresholds the text quotes; empty when
        the text quotes none), ``text_en`` and ``text_ru``: the reason, with ``{value:FEATURE}``
        where the client's own value of FEATURE goes (:func:`explain` fills them in).
    """
    from analysis import i18n

    data = membership.attrs.get("reasons")
    if not data:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in REASON_COLUMNS})
    out = pd.DataFrame(data)
    out["text_ru"] = [i18n.reason(t, "ru") for t in out["text_en"]]
    out = out[REASON_COLUMNS]
    out["reason_code"] = out["reason_code"].astype(np.int64)
    out["member"] = out["member"].astype("boolean")
    return out


def reason_texts(membership: pd.DataFrame) -> dict[int, str]:
    """``reason_code`` → English text (with its placeholders) of a membership table."""
    data = membership.attrs.get("reasons") or {}
    return dict(zip(data.get("reason_code", []), data.get("text_en", [])))


def explain(rows: pd.DataFrame, features: pd.DataFrame,
            reasons: pd.DataFrame | dict | None = None) -> pd.Series:
    """The reason text of each row (``client_id, period, reason_code``), with the client's values.

    Only where a page shows reasons: the membership table keeps codes. ``reasons`` is the lookup
    (:func:`reasons_table`); default ``rows.attrs["reasons"]``. The text is English as in
    ``reasons.csv``; :func:`analysis.i18n.reason` shows it in Russian.

    Returns
    -------
    pandas.Series
        One text per row, aligned with ``rows``.
    """
    if reasons is None:
        texts = reason_texts(rows)
    elif isinstance(reasons, pd.DataFrame):
        texts = dict(zip(reasons["reason_code"].tolist(), reasons["text_en"].tolist()))
    else:
        texts = dict(zip(reasons["reason_code"], reasons["text_en"]))
    if rows.empty:
        return pd.Series([], index=rows.index, dtype=object)
    codes = pd.to_numeric(rows["reason_code"],
                          errors="coerce").fillna(INACTIVE_CODE).astype(np.int64).to_numpy()
    uniq, inv = np.unique(codes, return_inverse=True)
    templates = [texts.get(int(c), "") for c in uniq.tolist()]
    needed = sorted({f for t in templates for f in _PLACEHOLDER.findall(t)})
    values: dict[str, np.ndarray] = {}
    if needed:
        keys = pd.DataFrame({"client_id": rows["client_id"].astype(str).to_numpy(),
                             "period": rows["period"].astype(str).to_numpy()})
        f = features[["client_id", "period", *needed]].copy()
        f["client_id"], f["period"] = f["client_id"].astype(str), f["period"].astype(str)
        f = f.drop_duplicates(["client_id", "period"])
        got = keys.merge(f, on=["client_id", "period"], how="left")
        for name in needed:
            col = got[name]
            if feature_kind(name) == "numeric":
                x = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            else:
                x = col.astype(object).to_numpy()
            back, u = pd.factorize(x, use_na_sentinel=False)  # each distinct value formatted once
            shown = ([_fmt_num(v) for v in u.tolist()] if feature_kind(name) == "numeric"
                     else [str(v) for v in u])
            values[name] = np.asarray(shown, dtype=object)[back]
    out = np.empty(len(codes), dtype=object)
    for j, t in enumerate(templates):
        at = np.flatnonzero(inv == j)
        pieces = _PLACEHOLDER.split(t)  # literal, feature, literal, feature, ..., literal
        text = np.full(at.size, pieces[0], dtype=object)
        for i in range(1, len(pieces), 2):
            text = text + values[pieces[i]][at] + pieces[i + 1]
        out[at] = text
    return pd.Series(out, index=rows.index, dtype=object)


def with_reasons(rows: pd.DataFrame, features: pd.DataFrame,
                 reasons: pd.DataFrame | dict | None = None) -> pd.DataFrame:
    """``rows`` with a ``reason`` column (:func:`explain`) in place of ``reason_code``."""
    out = rows.copy()
    text = explain(rows, features, reasons)
    at = list(out.columns).index("reason_code")
    out = out.drop(columns="reason_code")
    out.insert(at, "reason", text.to_numpy())
    return out


# ------------------------------------------------------------------------------------------------
# classification


def _classify_arrays(cat: Category, ctx: RuleContext, reasons: _Reasons, rule: Node | None = None,
                     category: str | None = None) -> dict[str, np.ndarray]:
    """One category for every row of the features: ``member`` (bool), ``known`` (bool), ``status``
    (int8 code into :data:`STATUSES`), ``score`` (float), ``reason_code`` (int32, registered in
    ``reasons`` under ``category``, default the category's id)."""
    return _register(_evaluate(cat, ctx, rule, category), reasons)


def _register(a: dict, reasons: _Reasons) -> dict[str, np.ndarray]:
    """The reason codes of an evaluated category (:func:`_evaluate`), registered in ``reasons``."""
    if "constant" in a:
        a["reason_code"] = reasons.constant(a["name"], "not_computable", a.pop("constant"),
                                            a.pop("n"))
    else:
        a["reason_code"] = reasons.codes(a["name"], a.pop("keys"), a.pop("describe"))
    return a


def _evaluate(cat: Category, ctx: RuleContext, rule: Node | None = None,
              category: str | None = None) -> dict:
    """One category evaluated on every row, its reasons as integer keys not yet given codes (safe to
    run for several categories at once: it only reads ``ctx``)."""
    f = ctx.f
    n = len(f)
    name = category or cat.id
    rule = rule if rule is not None else cat.rule
    rule = _prune_optional(rule, ctx.available)
    missing = sorted({leaf.feature
                      for leaf in (rule.leaves() if rule is not None else cat.rule.leaves())
                      if not ctx.available.get(leaf.feature, False)})
    if rule is None or missing:
        need = "; ".join(f"{m} (from {FEATURES[m][1]})"
                         for m in missing) or "every condition's feature"
        return {"member": np.zeros(n, bool), "known": np.zeros(n, bool),
                "status": np.full(n, STATUSES.index("not_computable"), dtype=np.int8),
                "score": np.full(n, np.nan),
                "name": name, "constant": f"not computable: the data lack {need}", "n": n}
    leaves: list[_Leaf] = []
    held = _eval_node(rule, ctx, leaves)
    ok = ctx.ok
    if cat.score is not None and ctx.available.get(cat.score, False):
        score = pd.to_numeric(f[cat.score], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    else:
        score = np.zeros(n)
        for leaf in leaves:
            score += leaf.held
        score /= len(leaves)
    # reason keys: 0 short history; else 1 + (the leaves that held, as bits) × groups + the
    # reference group when a held leaf quotes a relative threshold (else 0)
    mask = np.zeros(n, dtype=np.int64)
    rel = np.zeros(n, dtype=bool)
    for i, leaf in enumerate(leaves):
        mask |= leaf.held.astype(np.int64) << i
        if leaf.relative:
            rel |= leaf.held
    G = max(ctx.n_groups, 1)
    keys = np.where(ok, 1 + mask * G + np.where(rel, ctx.groups, 0), 0)
    need = _need_text(rule)
    window = ctx.window

    def describe(key: int) -> dict:
        if key == 0:
            return {"status": "short_history", "member": None, "conditions": "", "period": "",
                    "portfolio": "",
                    "text_en": f"short history: fewer than {window} periods of data end here"}
        m, g = divmod(key - 1, G)
        on = [i for i in range(len(leaves)) if m >> i & 1]
        parts = "; ".join(leaves[i].template(g) for i in on)
        member = _held_from_mask(rule, m, [0])
        text = parts if member else (f"not met ({need}); held: {parts}" if parts else
                                     f"not met: no condition held ({need})")
        quotes = any(leaves[i].relative for i in on)
        return {"status": "ok", "member": member, "conditions": ";".join(str(i + 1) for i in on),
                "period": ctx.group_period[g] if quotes else "",
                "portfolio": ctx.group_portfolio[g] if quotes else "",
                "text_en": text}

    return {"member": held & ok, "known": ok.copy(),
            "status": np.where(ok, STATUSES.index("ok"),
                               STATUSES.index("short_history")).astype(np.int8),
            "score": score, "name": name, "keys": keys, "describe": describe}


def _status(codes: np.ndarray) -> pd.Categorical:
    return pd.Categorical.from_codes(codes, categories=list(STATUSES), ordered=True)


def classify_one(cat: Category, ctx: RuleContext, rule: Node | None = None, *,
                 category: str | None = None,
                 reasons: _Reasons | None = None) -> pd.DataFrame:
    """One category as a membership table (see :func:`classify`); its reasons in ``attrs``."""
    reasons = reasons if reasons is not None else _Reasons()
    a = _classify_arrays(cat, ctx, reasons, rule, category)
    f = ctx.f
    out = pd.DataFrame({"client_id": f["client_id"].to_numpy(),
                        "portfolio": f["portfolio"].to_numpy(),
                        "period": f["period"].to_numpy(), "category": category or cat.id,
                        "member": pd.arrays.BooleanArray(a["member"], ~a["known"]),
                        "status": _status(a["status"]), "score": a["score"],
                        "reason_code": a["reason_code"]})
    out.attrs["reasons"] = reasons.table()
    return out


def _need_text(rule: Node) -> str:
    if isinstance(rule, Condition):
        return "needs " + rule.text()
    if len(rule.children) == 1:
        return _need_text(rule.children[0])
    if rule.all is not None:
        return f"needs all {len(rule.children)} conditions"
    if rule.any is not None:
        return f"needs any of {len(rule.children)} conditions"
    return f"needs at least {rule.at_least} of {len(rule.children)}"


def _empty_membership() -> pd.DataFrame:
    out = pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
        MEMBERSHIP_COLUMNS, [object, object, object, object, "boolean", object, float, np.int32])})
    out.attrs["reasons"] = _Reasons().table()
    return out


def _arrow_codes(col: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """:func:`_codes` of an Arrow-backed text column without NA: Arrow's dictionary encoding, its
    distinct values sorted (UTF-8 byte order is code point order, as Python sorts text)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(col.array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    change = np.r_[True, pc.not_equal(arr[1:], arr[:-1]).to_numpy(zero_copy_only=False)]
    starts = np.flatnonzero(change)
    firsts = arr.take(pa.array(starts))
    # sorted runs (client ids)
    if len(firsts) < 2 or pc.all(pc.greater(firsts[1:], firsts[:-1])).as_py():
        return (np.cumsum(change) - 1).astype(np.int32), pd.Index(pd.array(firsts, dtype=col.dtype))
    enc = pc.dictionary_encode(arr)
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks()
    order = pc.array_sort_indices(enc.dictionary).to_numpy()
    rank = np.empty(len(order), dtype=np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    codes = rank[enc.indices.to_numpy(zero_copy_only=False)]
    return codes, pd.Index(pd.array(enc.dictionary.take(pa.array(order)), dtype=col.dtype))


def _codes(col: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer codes and sorted categories of a key column (cheap when it is categorical
    already)."""
    if isinstance(col.dtype, pd.CategoricalDtype) and col.cat.categories.is_monotonic_increasing \
            and not col.isna().any():
        return col.cat.codes.to_numpy(), col.cat.categories
    if isinstance(col.dtype, pd.StringDtype) and col.dtype.storage == "pyarrow" and len(col) \
            and not col.isna().any():  # text held by Arrow: hashed, distinct values sorted there
        return _arrow_codes(col)
    # runs of equal values in sorted order (client_features' client ids): one vectorised
    # comparison, no hashing
    if len(col) > 1 and not col.isna().any():
        a = col.iloc[1:].reset_index(drop=True)
        b = col.iloc[:-1].reset_index(drop=True)
        change = np.r_[True, (a != b).to_numpy(dtype=bool)]
        starts = np.flatnonzero(change)
        uniq = pd.Index(col.iloc[starts].to_numpy())
        if uniq.is_monotonic_increasing and uniq.is_unique:
            return (np.cumsum(change) - 1).astype(np.int32), uniq
    codes, uniq = pd.factorize(col, sort=True, use_na_sentinel=True)
    return codes, pd.Index(uniq)


def classify(panel: pd.DataFrame, clients: pd.DataFrame, *,
             rulebook: Rulebook | str | Path | None = None,
             window: int = 4, kpis: pd.DataFrame | None = None, events: pd.DataFrame | None = None,
             transactions: pd.DataFrame | None = None, quantile_shift: float = 0.0,
             per_portfolio: bool = False,
             value_scale: float = 1.0, features: pd.DataFrame | None = None,
             categories: list[str] | None = None) -> pd.DataFrame:
    """The membership table: every client active in the window × period × category.

    Parameters
    ----------
    panel, clients
        The client × period panel and the clients table.
    rulebook
        A :class:`Rulebook`, a path to one, or None for the default.
    window
        Periods in the trailing window; membership at t is decided over t-W+1 … t.
    kpis, events, transactions
        Passed to :func:`analysis.categories.features.client_features` (plan attainment, account
        managers).
    quantile_shift
        Added to every relative threshold (``quantile``, ``pareto_top``; clipped to [0, 1]) — the
        robustness check uses ±0.05. For ``between`` quantiles the interval widens by it.
    per_portfolio
        Relative thresholds within each portfolio instead of pooled (descriptive use only).
    value_scale
        Multiplies every absolute numeric threshold (sensitivity: 0.75 and 1.25).
    features
        Precomputed :func:`~analysis.categories.features.client_features` output (skips
        recomputation); only the columns the rules read are needed besides the keys and
        ``complete``.
    categories
        Only these category ids (default: all in the rulebook).

    Returns
    -------
    pandas.DataFrame
        ``client_id, portfolio, period, category, member, status, score, reason_code``; the keys,
        ``category`` and ``status`` are categoricals (categories sorted), so a million clients ×
        twelve periods × six kinds fit in memory. ``member`` is pandas ``boolean``: ``<NA>`` where
        ``status`` is ``short_history`` (the window starts before the data) or ``not_computable``
        (the data lack a feature the rule needs; the reason names it and its source). ``score`` is
        the rule's ``score`` feature if it names one (``revenue_share`` for key_revenue) or else the
        share of its conditions that held. ``reason_code`` (int32) looks the reason up in
        ``attrs["reasons"]`` (:func:`reasons_table`, written as ``reasons.csv``): the conditions
        that held, with the thresholds, and the client's values filled in by :func:`explain`.
        Sorted by client, period, category (the rulebook's order).

    Examples
    --------
    >>> from analysis.config import SAMPLE_DIR
    >>> from analysis.ingest import load
    >>> from analysis.ingest.panel import client_period_panel
    >>> base = load(SAMPLE_DIR)
    >>> m = classify(client_period_panel(base), base.clients, kpis=base.kpis)
    >>> sorted(m["category"].unique())[:2]
    ['advanced', 'demanding']
    """
    book = rulebook if isinstance(rulebook, Rulebook) else load_rulebook(rulebook)
    cats = [book.get(c) for c in categories] if categories is not None else book.categories
    if features is None:
        features = client_features(panel, clients, window=window, kpis=kpis, events=events,
                                   transactions=transactions, only=rule_features(cats))
    if not len(features):
        return _empty_membership()
    ctx = RuleContext(features, window=window, per_portfolio=per_portfolio,
                      quantile_shift=quantile_shift,
                      value_scale=value_scale)
    reasons = _Reasons()
    k, n = len(cats), len(features)
    member = np.empty(n * k, dtype=bool)
    known = np.empty(n * k, dtype=bool)
    status = np.empty(n * k, dtype=np.int8)
    score = np.empty(n * k, dtype=float)
    code = np.empty(n * k, dtype=np.int32)

    def fill(i: int) -> dict:  # rows: client × period, then category
        a = _evaluate(cats[i], ctx)
        member[i::k], known[i::k] = a["member"], a["known"]
        status[i::k], score[i::k] = a["status"], a["score"]
        return {key: a[key] for key in ("name", "keys", "describe", "constant", "n") if key in a}

    # the kinds on two threads (numpy and pandas release the GIL)
    if n * k >= PARALLEL_ROWS and k > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
            pending = list(pool.map(fill, range(k)))
    else:
        pending = [fill(i) for i in range(k)]
    for i, a in enumerate(pending):  # codes numbered in the rulebook's order whatever ran first
        code[i::k] = _register(a, reasons)["reason_code"]
    del pending
    ids = [c.id for c in cats]
    cat_order = sorted(ids)
    cat_codes = np.array([cat_order.index(c) for c in ids], dtype=np.int8)
    cols = {}
    for name in ("client_id", "portfolio", "period"):
        codes, uniq = _codes(features[name])
        cols[name] = pd.Categorical.from_codes(np.repeat(codes, k), categories=uniq, ordered=True)
    out = pd.DataFrame({
        **cols,
        "category": pd.Categorical.from_codes(np.tile(cat_codes, n), categories=cat_order,
                                              ordered=True),
        "member": pd.arrays.BooleanArray(member, ~known),
        "status": _status(status),
        "score": score,
        "reason_code": code,
    }, copy=False)
    out.attrs["reasons"] = reasons.table()
    return out


def rule_features(cats: Rulebook | Iterable[Category]) -> list[str]:
    """The features the rules of ``cats`` (categories, or a :class:`Rulebook`) read, scores
    included."""
    cats = cats.categories if isinstance(cats, Rulebook) else cats
    out = []
    for c in cats:
        out += [leaf.feature for leaf in c.rule.leaves()] + ([c.score] if c.score else [])
    return list(dict.fromkeys(out))


def status_summary(membership: pd.DataFrame) -> pd.DataFrame:
    """Per category: members, client-periods decided, share, and what could not be computed.

    Returns ``category, status, rows, members, share, reason`` (one reason per category and
    status, the first seen for not_computable — it names what is missing).
    """
    texts = reason_texts(membership)
    g = membership.groupby(["category", "status"], sort=False, observed=True)
    out = g.agg(rows=("member", "size"), members=("member", lambda s: int(s.fillna(False).sum())))
    out["share"] = out["members"] / out["rows"]
    first = g["reason_code"].first().map(lambda c: texts.get(int(c), ""))
    out["reason"] = first.where(out.index.get_level_values("status") == "not_computable", "")
    out = out.reset_index()
    for c in ("category", "status"):
        out[c] = out[c].astype(str)
    return out


# ------------------------------------------------------------------------------------------------
# derived tables


def primary_category(membership: pd.DataFrame, *,
                     priority: tuple[str, ...] | None = None) -> pd.DataFrame:
    """One category per client and period, for charts that need a single colour.

    The first category the client holds in ``priority`` order — by default the article's four
    kinds (image, advanced, demanding, understanding: the rarest signals first) before key_profit
    and key_revenue, since most clients in the article's kinds are not the largest ones and a chart
    coloured by revenue alone would hide them. ``"none"`` when the client holds no category;
    ``<NA>`` when nothing could be decided (short history).

    Returns
    -------
    pandas.DataFrame
        ``client_id, portfolio, period, primary_category, n_categories, categories`` (all held,
        joined by ``+`` in priority order).
    """
    # vectorised (one grouped pass over boolean columns, no Python per client-period): the per-group
    # lambda and string join this replaces took 18 s of page 4 on the sample under load
    cat = membership["category"].astype(str)
    present = [str(c) for c in cat.unique()]  # once: iterating an Arrow string column is slow
    priority = main_kind_priority() if priority is None else priority
    order = [c for c in priority if c in present] + [c for c in present if c not in set(priority)]
    held_cols = {f"_h{i}": (membership["member"].fillna(False).astype(bool) & cat.eq(c)).to_numpy()
                 for i, c in enumerate(order)}
    frame = pd.DataFrame({"client_id": membership["client_id"].to_numpy(),
                          "period": membership["period"].to_numpy(),
                          "portfolio": membership["portfolio"].to_numpy(),
                          "_ok": membership["status"].eq("ok").to_numpy(), **held_cols})
    g = frame.groupby(["client_id", "period"], sort=False)
    out = g.agg(portfolio=("portfolio", "first"), decided=("_ok", "any"),
                **{k: (k, "any") for k in held_cols})
    n = len(out)
    primary = np.full(n, None, dtype=object)
    joined = np.full(n, "", dtype=object)
    count = np.zeros(n, dtype=int)
    for i, c in enumerate(order):
        has = out[f"_h{i}"].to_numpy(dtype=bool)
        primary = np.where(has & (count == 0), c, primary)
        joined = np.where(has, np.where(joined == "", c, joined + "+" + c), joined)
        count += has
    decided = out["decided"].to_numpy(dtype=bool)
    out["primary_category"] = pd.array(np.where(count > 0, primary,
                                                np.where(decided, "none",
                                                         np.full(n, None, dtype=object))),
                                       dtype="str")
    out["n_categories"] = count
    out["categories"] = pd.array(joined, dtype="str")
    out = out.reset_index()[["client_id", "portfolio", "period", "primary_category", "n_categories",
                             "categories"]]
    return out.sort_values(["client_id", "period"], kind="stable").reset_index(drop=True)


def category_changes(membership: pd.DataFrame, *, periods: list[str] | None = None) -> pd.DataFrame:
    """Who entered or left each category since the previous period (``category_changes.csv``).

    A client counts as outside a category in a period where it was not active in the window (no
    row) once that period has a full window of data; periods with short history or a category that
    is not computable are not compared.

    Parameters
    ----------
    membership
        The output of :func:`classify`.
    periods
        All period labels in order (default: those in ``membership``, gaps filled).

    Returns
    -------
    pandas.DataFrame
        ``client_id, portfolio, period, previous_period, category, change`` (``entered`` or
        ``left``), ``score`` and ``reason_code`` (of the period's decision, looked up in the
        membership's reasons, which ``attrs["reasons"]`` carries on; for a client no longer active
        :data:`INACTIVE_CODE`, "no purchase or event in the window ending this period"). Sorted by
        period, category, change, client.
    """
    from analysis.ingest.periods import period_axis

    cols = ["client_id", "portfolio", "period", "previous_period", "category", "change", "score",
            "reason_code"]
    if membership.empty:
        empty = pd.DataFrame(columns=cols)
        empty.attrs["reasons"] = membership.attrs.get("reasons") or _Reasons().table()
        return empty
    periods = periods or period_axis(membership["period"].astype(str).unique())
    pos = {p: i for i, p in enumerate(periods)}
    m = membership.copy()
    m["t"] = m["period"].astype(str).map(pos)
    # periods where every row of the category is decided (full window, computable)
    decided = m[m["status"] == "ok"].groupby("category")["t"].agg(lambda s: set(s.unique()))
    m = m[m["status"] == "ok"]
    cur = m.assign(state=m["member"].astype(bool))
    prev = cur[["client_id", "category", "t", "state", "portfolio"]].assign(t=cur["t"] + 1)
    both = cur.merge(prev, on=["client_id", "category", "t"], how="outer", suffixes=("", "_prev"))
    both["portfolio"] = both["portfolio"].fillna(both["portfolio_prev"])
    cats = list(decided.index)
    dec = np.zeros((len(cats), len(periods) + 1), dtype=bool)
    for i, c in enumerate(cats):
        dec[i, sorted(decided[c])] = True
    ci = pd.Index(cats).get_indexer(both["category"])
    t = both["t"].to_numpy(dtype=np.int64)
    ok_t = (ci >= 0) & (t >= 1) & (t < len(periods))
    ok_t[ok_t] = dec[ci[ok_t], t[ok_t]] & dec[ci[ok_t], t[ok_t] - 1]
    both = both[ok_t]
    now = both["state"].astype("boolean").fillna(False).astype(bool)
    before = both["state_prev"].astype("boolean").fillna(False).astype(bool)
    both["change"] = np.where(now & ~before, "entered", np.where(~now & before, "left", ""))
    out = both[both["change"] != ""].copy()
    out["period"] = [periods[int(t)] for t in out["t"]]
    out["previous_period"] = [periods[int(t) - 1] for t in out["t"]]
    out["reason_code"] = out["reason_code"].fillna(INACTIVE_CODE).astype(np.int32)
    out["_c"] = out["change"].map({"entered": 0, "left": 1})
    out = out.sort_values(["t", "category", "_c", "client_id"], kind="stable")
    out = out[cols].reset_index(drop=True)
    for c in ("client_id", "portfolio", "category"):
        if isinstance(out[c].dtype, pd.CategoricalDtype):
            out[c] = out[c].astype(str)
    out.attrs["reasons"] = membership.attrs.get("reasons") or _Reasons().table()
    return out


def sensitivity(panel: pd.DataFrame, clients: pd.DataFrame, *,
                rulebook: Rulebook | str | Path | None = None,
                window: int = 4, kpis: pd.DataFrame | None = None,
                events: pd.DataFrame | None = None,
                transactions: pd.DataFrame | None = None,
                relative_shifts: Sequence[float] = (-0.05, 0.05),
                absolute_scales: Sequence[float] = (-0.25, 0.25),
                features: pd.DataFrame | None = None) -> pd.DataFrame:
    """Membership counts when thresholds move (``sensitivity.csv``).

    Every relative threshold (quantiles and the Pareto cut) shifted by each of ``relative_shifts``,
    and every absolute numeric threshold scaled by 1 + each of ``absolute_scales``, one kind of
    shift at a time; the row with ``shift = 0`` is the rulebook as written.

    Returns
    -------
    pandas.DataFrame
        ``category, threshold, shift, members, decided, share, change_vs_default`` — members summed
        over all decided client-periods (status ok), ``share = members / decided``,
        ``change_vs_default`` the relative change of ``members`` against the default rules.
    """
    book = rulebook if isinstance(rulebook, Rulebook) else load_rulebook(rulebook)
    if features is None:
        features = client_features(panel, clients, window=window, kpis=kpis, events=events,
                                   transactions=transactions,
                                   only=rule_features(book))
    # (threshold, shift, quantile_shift, value_scale); classify's defaults are 0.0 and 1.0
    runs = [("default", 0.0, 0.0, 1.0)]
    runs += [("relative", s, s, 1.0) for s in relative_shifts]
    runs += [("absolute", s, 0.0, 1 + s) for s in absolute_scales]
    rows = []
    for kind, s, qshift, vscale in runs:
        m = classify(panel, clients, rulebook=book, window=window, features=features,
                     quantile_shift=qshift, value_scale=vscale)
        ok = m[m["status"] == "ok"]
        g = ok.groupby("category",
                       sort=False)["member"].agg(members=lambda x: int(x.astype(bool).sum()),
                                                 decided="size")
        for c in book.ids:
            mem, dec = (int(g.loc[c, "members"]),
                        int(g.loc[c, "decided"])) if c in g.index else (0, 0)
            rows.append({"category": c, "threshold": kind, "shift": s, "members": mem,
                         "decided": dec,
                         "share": mem / dec if dec else np.nan})
    out = pd.DataFrame(rows)
    base = out[out["threshold"] == "default"].set_index("category")["members"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["change_vs_default"] = out["members"] / out["category"].map(base).replace(0, np.nan) - 1
    return out
