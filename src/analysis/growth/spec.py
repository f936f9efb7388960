"""The hypothesis file: what the confirmatory tests test (docs/methods.md, "Statistics").

A hypothesis names a kind, an outcome at a lag and the expected sign; the file adds the
family-wise level ``alpha`` and a default ``min_effect`` (the smallest effect worth noting, the
equivalence bound of a ``no_effect`` verdict). ``level: client`` hypotheses are tested by
:mod:`analysis.growth.client_links`, the others by :mod:`analysis.growth.confirmatory`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from analysis import registry
from analysis.config import PACKAGE_DIR
from analysis.errors import InputError, read_yaml

DEFAULT_FILE = PACKAGE_DIR / "resources" / "hypotheses.yaml"
#: Outcomes a client-level hypothesis (``level: client``) can name (see
#: :mod:`analysis.growth.client_links`).
CLIENT_OUTCOMES = ("revenue_growth", "retention", "margin_change", "claims_rate")


class Hypothesis(BaseModel):
    """One confirmatory hypothesis: a category, an outcome at a lag, the expected sign."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    category: str
    outcome: str
    expected_sign: Literal["+", "-"]
    lag: int = Field(default=1, ge=1, le=4)
    min_effect: float | None = Field(default=None, gt=0, lt=1)
    #: ``portfolio`` (the portfolio panel) or ``client`` (client-level links, its own Holm family)
    level: Literal["portfolio", "client"] = "portfolio"
    #: the hypothesis in words (optional): shown before a portfolio-level verdict on page 3 and kept
    #: in hypotheses.csv / client_links.csv as ``hypothesis_en`` / ``hypothesis_ru``
    text_en: str = ""
    text_ru: str = ""

    @model_validator(mode="after")
    def _client_outcome(self) -> Hypothesis:
        if self.level == "client" and self.outcome not in CLIENT_OUTCOMES:
            raise ValueError(f"a client-level hypothesis takes one of the outcomes "
                             f"{list(CLIENT_OUTCOMES)}, got {self.outcome!r}")
        return self

    @field_validator("expected_sign", mode="before")
    @classmethod
    def _sign(cls, v: object) -> object:
        signs = {1: "+", -1: "-", "positive": "+", "negative": "-"}
        return signs.get(v, v) if not isinstance(v, bool) else v

    @field_validator("category")
    @classmethod
    def _category(cls, v: str) -> str:
        kinds = registry.current().kind_ids()
        if v not in kinds:
            raise ValueError(f"unknown category {v!r}; use one of {list(kinds)} (a kind of your "
                             f"own: declare it in a rulebook, and load that rulebook first)")
        return v

    @property
    def sign(self) -> int:
        return 1 if self.expected_sign == "+" else -1


class HypothesisFile(BaseModel):
    """The YAML file: ``alpha``, a default ``min_effect`` and the list of hypotheses."""

    model_config = ConfigDict(extra="forbid")

    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    min_effect: float = Field(default=0.2, gt=0, lt=1)
    hypotheses: list[Hypothesis] = Field(min_length=1)

    @model_validator(mode="after")
    def _fill(self) -> HypothesisFile:
        ids = [h.id for h in self.hypotheses]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"hypothesis ids must be unique; repeated: {dup}")
        for h in self.hypotheses:
            if h.min_effect is None:
                h.min_effect = self.min_effect
        return self


def load_hypotheses(path: str | Path | None = None) -> HypothesisFile:
    """Read and check a hypotheses YAML file (default: the package's ``resources/hypotheses.yaml``).

    Outcomes are checked against the registry later, when the data are known (a KPI column the
    user brings is a valid outcome).

    Raises
    ------
    analysis.errors.InputError
        Missing file, bad YAML, or a field that fails its check (the message names it).
    """
    p = Path(path) if path is not None else DEFAULT_FILE
    raw = read_yaml(
        p, missing="hypotheses file not found; give a YAML file or leave it out for the defaults")
    if isinstance(raw, list):
        raw = {"hypotheses": raw}
    try:
        return HypothesisFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
        raise InputError(
            f"{p}: {problems}. Fix these fields (see the default file for the format).") from None


#: What the functions that test hypotheses accept: a checked file, a list of hypotheses or dicts,
#: a path (None: the built-in file)
HypothesesArg: TypeAlias = HypothesisFile | Sequence[Hypothesis | dict] | str | Path | None


def as_hypothesis_file(hypotheses: HypothesesArg) -> HypothesisFile:
    """The hypotheses as a checked file: a path (None: the built-in file), a list of hypotheses or
    dicts, or a HypothesisFile as it is."""
    if hypotheses is None or isinstance(hypotheses, (str, Path)):
        return load_hypotheses(hypotheses)
    if isinstance(hypotheses, HypothesisFile):
        return hypotheses
    items = [h.model_dump() if isinstance(h, Hypothesis) else dict(h) for h in hypotheses]
    try:
        return HypothesisFile.model_validate({"hypotheses": items})
    except ValidationError as exc:
        raise InputError(f"hypotheses: {exc.errors()[0]['msg']}") from None



__all__ = ["CLIENT_OUTCOMES", "DEFAULT_FILE", "Hypothesis", "HypothesesArg", "HypothesisFile",
           "as_hypothesis_file", "load_hypotheses"]
