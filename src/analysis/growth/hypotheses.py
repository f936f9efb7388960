"""Confirmatory hypotheses with verdicts, the exploratory grid, and robustness.

docs/methods.md ("Statistics") sets the rules this module applies:

- **Panel mode** (two or more portfolios): each outcome at lag h is regressed on every
  category's exposure jointly plus the size control, with portfolio and period fixed effects
  and SEs clustered by portfolio (:func:`analysis.stats.panel_regression`). The confirmatory
  tests use the few-cluster inference ``DEFAULT_INFERENCE`` (chosen by simulation, see
  ``benchmarks/inference_choice.md``; ``inference=`` picks another: CR1, CR2 with
  Bell–McCaffrey df, the CV3 jackknife or the restricted wild cluster bootstrap); the
  exploratory grid uses CR1 with t(G-1). Effects are
  read on the ``std_effect`` scale (SD of outcome per SD of exposure, both after removing
  portfolio and period means).
- **Confirmatory verdicts**, Holm-adjusted over the hypothesis set at level alpha:
  ``supported`` (significant, expected sign), ``contradicted`` (significant, opposite sign),
  ``no_effect`` (not significant and the 90 % CI of ``std_effect`` inside ±min_effect: an
  equivalence test), ``inconclusive`` (neither); ``not_testable`` when the data cannot give the
  exposure or the outcome.
- **MDE**: (t(df, 1 - alpha/(2m)) + z(0.8)) × SE of ``std_effect`` (:func:`analysis.stats.mde`), with the
  test's own SE and df (G-1, or the Bell–McCaffrey df for CR2; the bootstrap-t SE for the wild bootstrap).
- **Exploratory grid**: every category × outcome × lag from the same model, Benjamini-Hochberg,
  pooled Pearson and Spearman correlations beside it.
- **One portfolio**: an autoregressive distributed-lag model (outcome on its own lag and the
  exposure) with three tests of the exposure's slope — Newey-West (HAC) SEs, a moving-block
  bootstrap and the classical F (Granger-style; one restriction, so F = t²). The deciding test
  is the one whose rejection rate on simulated independent AR(1) series of the data's length is
  closest to alpha (:func:`calibrate_single`). Short series carry a loud warning.
- **Robustness**: verdicts recomputed with every rule quantile shifted ±0.05 and with count
  shares; a verdict that changes is flagged.

Every sentence describes an association; none claims a cause.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from scipy import stats as sps

from analysis import registry
from analysis.config import PACKAGE_DIR
from analysis.errors import InputError
from analysis.growth import panel as growth
from analysis.stats import (
    StatsWarning,
    adjust_pvalues,
    fe,
    mde,
    ts_regression,
)
from analysis.stats.correlation import correlation_row as _correlation
from analysis.stats.multicomp import holm

DEFAULT_FILE = PACKAGE_DIR / "resources" / "hypotheses.yaml"
VERDICTS = ("supported", "contradicted", "no_effect", "inconclusive", "not_testable")
SINGLE_TESTS = ("hac", "bootstrap", "unadjusted")
SHORT_SERIES = 60
POWER = 0.8
#: Outcomes a client-level hypothesis (``level: client``) can name (see :mod:`analysis.growth.client_links`).
CLIENT_OUTCOMES = ("revenue_growth", "retention", "margin_change", "claims_rate")
# The confirmatory set's few-cluster inference, chosen by simulation
# (benchmarks/inference_choice.md: in-band family-wise rate with the best power at G = 30 and 10).
DEFAULT_INFERENCE = "cv3"
INFERENCE_NAMES = {
    "cr1": ("CR1 clustered SEs, t(G-1)", "кластерные ошибки CR1, t(G−1)"),
    "cr2": ("CR2 clustered SEs with Bell–McCaffrey degrees of freedom",
            "кластерные ошибки CR2 со степенями свободы Белла–Маккаффри"),
    "cv3": ("the leave-one-portfolio-out jackknife (CV3), t(G-1)",
            "складной нож с исключением по одному портфелю (CV3), t(G−1)"),
    "wild": ("the restricted wild cluster bootstrap", "ограниченный дикий кластерный бутстрап"),
}

RESULT_COLUMNS = [
    "id", "category", "outcome", "lag", "expected_sign", "measure", "exposure", "mode", "test", "inference", "n",
    "n_portfolios",
    "estimate", "std_effect", "std_effect_se", "ci_low", "ci_high", "ci90_low", "ci90_high",
    "p_unc", "p_adj", "p_adjust_method", "df", "mde", "power", "min_effect", "attenuation", "verdict",
    "verdict_reason", "sentence_en", "sentence_ru", "diagnostics", "n_periods", "reason_code",
]  # fmt: skip


# ---------------------------------------------------------------------------------------------
# the hypothesis file


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
    text_en: str = ""
    text_ru: str = ""

    @model_validator(mode="after")
    def _client_outcome(self) -> Hypothesis:
        if self.level == "client" and self.outcome not in CLIENT_OUTCOMES:
            raise ValueError(f"a client-level hypothesis takes one of the outcomes {list(CLIENT_OUTCOMES)}, "
                             f"got {self.outcome!r}")
        return self

    @field_validator("expected_sign", mode="before")
    @classmethod
    def _sign(cls, v: object) -> object:
        return {1: "+", -1: "-", "positive": "+", "negative": "-"}.get(v, v) if not isinstance(v, bool) else v

    @field_validator("category")
    @classmethod
    def _category(cls, v: str) -> str:
        kinds = registry.current().kind_ids()
        if v not in kinds:
            raise ValueError(f"unknown category {v!r}; use one of {list(kinds)} (a kind of your own: "
                             "declare it in a rulebook, and load that rulebook first)")
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
    if not p.is_file():
        raise InputError(f"{p}: hypotheses file not found; give a YAML file or leave it out for the defaults")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InputError(f"{p}: not valid YAML ({exc.__class__.__name__}); fix the file") from None
    if isinstance(raw, list):
        raw = {"hypotheses": raw}
    try:
        return HypothesisFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
        raise InputError(f"{p}: {problems}. Fix these fields (see the default file for the format).") from None


def as_hypothesis_file(hypotheses: HypothesisFile | Sequence[Hypothesis | dict] | str | Path | None) -> HypothesisFile:
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


# ---------------------------------------------------------------------------------------------
# verdicts and sentences


def verdict(
    p_adj: float,
    std_effect: float,
    ci90_low: float,
    ci90_high: float,
    *,
    expected_sign: str | int,
    min_effect: float,
    alpha: float = 0.05,
    attenuation: float = 1.0,
) -> str:
    """The verdict of one confirmatory test (docs/methods.md, "Statistics").

    ``supported`` when ``p_adj < alpha`` and the sign of ``std_effect`` is the expected one;
    ``contradicted`` when significant with the opposite sign; ``no_effect`` when not significant
    and the 90 % CI lies within ±``min_effect`` × ``attenuation``; ``inconclusive`` otherwise;
    ``not_testable`` when the p-value or the effect is missing.

    ``attenuation`` (0 < a ≤ 1, default 1) is how much smaller an effect on the kind's latent
    share looks through the rule's exposure (the slope measured by the method check): an effect of
    ``min_effect`` on the kind shows as ``a × min_effect`` on the rule-defined kind, so only a CI
    inside that narrower band rules it out. :func:`verdict_reason` tells why a test is
    inconclusive.

    Examples
    --------
    >>> verdict(0.01, 0.4, 0.2, 0.6, expected_sign="+", min_effect=0.2)
    'supported'
    >>> verdict(0.6, 0.02, -0.1, 0.14, expected_sign="+", min_effect=0.2)
    'no_effect'
    """
    sign = 1 if expected_sign in ("+", 1) else -1
    if not (np.isfinite(p_adj) and np.isfinite(std_effect)):
        return "not_testable"
    if p_adj < alpha:
        return "supported" if np.sign(std_effect) == sign else "contradicted"
    bound = min_effect * _attenuation(attenuation)
    if np.isfinite(ci90_low) and np.isfinite(ci90_high) and -bound < ci90_low and ci90_high < bound:
        return "no_effect"
    return "inconclusive"


def _attenuation(a: float | None) -> float:
    """An attenuation usable as a factor: 1 when unknown, clipped to [0, 1]."""
    try:
        a = float(a)
    except (TypeError, ValueError):
        return 1.0
    return float(np.clip(a, 0.0, 1.0)) if np.isfinite(a) else 1.0


#: Why a confirmatory test is inconclusive (``verdict_reason`` in ``hypotheses.csv``; empty otherwise).
VERDICT_REASONS = {
    "rule_too_noisy": "rule too noisy to rule out an effect",
    "ci_too_wide": "the confidence interval reaches beyond ±min_effect",
}


def verdict_reason(verdict_: str, ci90_low: float, ci90_high: float, *, min_effect: float,
                   attenuation: float = 1.0) -> str:
    """Why ``verdict_`` is ``inconclusive``: ``rule_too_noisy`` when the 90 % CI lies inside
    ±min_effect but not inside ±attenuation × min_effect (the data rule out an effect on the
    rule-defined kind, the noisy rule leaves one on the latent kind open), ``ci_too_wide``
    otherwise; empty for every other verdict."""
    if verdict_ != "inconclusive":
        return ""
    if np.isfinite(ci90_low) and np.isfinite(ci90_high) and -min_effect < ci90_low and ci90_high < min_effect \
            and _attenuation(attenuation) < 1.0:
        return "rule_too_noisy"
    return "ci_too_wide"


def kind_words(category: str) -> tuple[str, str]:
    """What a kind is called in a sentence (English, Russian): its rulebook ``phrase``, shared
    with client-level sentences (:mod:`analysis.registry`)."""
    return registry.current().kind_phrase(str(category))


#: Why a hypothesis could not be tested (``reason_code`` of :func:`test_hypotheses`).
REASON_CODES = ("kind_not_computable", "outcome_missing", "too_few_periods", "too_few_portfolios",
                "exposure_constant", "model_failed")
#: Periods with both exposure and outcome a model needs: the panel model (two-way fixed effects
#: and a size control) and the one-portfolio ADL model.
MIN_PERIODS = {"panel": 3, "single": 8}


def format_signed(x: float, lang: str) -> str:
    """A signed effect: ``+0.27`` / ``−0,11`` (never ``-0.00``)."""
    x = 0.0 if round(float(x), 2) == 0 else float(x)
    s = f"{x:+.2f}" if x else "0.00"
    return s.replace(".", ",").replace("-", "\u2212") if lang == "ru" else s


def _outcome_words(outcome: str) -> tuple[str, str, str, str, str, str]:
    """(en noun, ru noun, en up, en down, ru up, ru down) of an outcome, from the registry; a KPI
    column the registry does not know reads as its own name."""
    return registry.current().outcome_words(outcome)


def _lag_words(h: int, lang: str) -> str:
    if lang == "ru":
        return "в следующем периоде" if h == 1 else f"через {h} {'периода' if h < 5 else 'периодов'}"
    return "in the next period" if h == 1 else f"{h} periods later"


def reason_sentence(row: dict | pd.Series, lang: str = "en") -> str:
    """Why one hypothesis was not testable, from its ``reason_code`` (and ``n_periods``,
    ``n_portfolios``, ``mode``), in English or Russian."""
    code = str(row.get("reason_code") or "")
    cat = kind_words(row["category"])
    en_out, ru_out = _outcome_words(row["outcome"])[:2]
    n_t = row.get("n_periods")
    n_t = int(n_t) if n_t is not None and np.isfinite(float(n_t)) else 0
    n_g = row.get("n_portfolios")
    n_g = int(n_g) if n_g is not None and np.isfinite(float(n_g)) else 0
    need = MIN_PERIODS.get(str(row.get("mode")), MIN_PERIODS["panel"])
    if lang == "ru":
        per = "период" if n_t % 10 == 1 and n_t % 100 != 11 else (
            "периода" if 2 <= n_t % 10 <= 4 and not 12 <= n_t % 100 <= 14 else "периодов")
        return "Проверить нельзя: " + {
            "kind_not_computable": f"вид «{cat[1]}» не определяется по этим данным — в них нет признаков, "
                                   "которые читает его правило (см. страницу 2).",
            "outcome_missing": f"показатель «{ru_out}» нельзя посчитать по этим данным.",
            "too_few_periods": f"{n_t} {per} с данными, а модели нужно не меньше {need}.",
            "too_few_portfolios": f"портфелей с данными: {n_g}, а панельной модели нужно не меньше 2.",
            "exposure_constant": f"доля клиентов «{cat[1]}» не меняется внутри портфелей во времени, "
                                 "модели не с чем сравнивать.",
        }.get(code, "модель не удалось оценить на этих данных.")
    per = "period" if n_t == 1 else "periods"
    return "Not testable: " + {
        "kind_not_computable": f"{cat[0]} cannot be identified in these data — they lack what the kind's rule "
                               "reads (see page 2).",
        "outcome_missing": f"{en_out} cannot be measured from these data.",
        "too_few_periods": f"{n_t} usable {per}, and the model needs at least {need}.",
        "too_few_portfolios": f"{n_g} portfolio{'' if n_g == 1 else 's'} with usable data, and the panel model "
                              "needs at least 2.",
        "exposure_constant": f"the share of {cat[0]} does not change within portfolios over time, so the model "
                             "has nothing to compare.",
    }.get(code, "the model could not be fit on these data.")


def sentence(row: dict | pd.Series, lang: str = "en") -> str:
    """A plain sentence for one result row (``verdict``, ``category``, ``outcome``, ``lag``,
    ``std_effect``, ``ci_low``, ``ci_high``, ``min_effect``; ``reason_code`` when not testable)
    in English or Russian.

    The direction is said with the outcome's own words ("more new clients", "steadier revenue"),
    and the wording describes an association only.

    Examples
    --------
    >>> sentence({"verdict": "supported", "category": "image", "outcome": "new_clients", "lag": 1,
    ...           "std_effect": 0.27, "ci_low": 0.09, "ci_high": 0.46, "min_effect": 0.2})[:70]
    'As expected, a larger revenue share of image clients (as the rules def'
    """
    v = row["verdict"]
    if v == "not_testable" or v not in VERDICTS:
        return reason_sentence(row, lang)
    cat = kind_words(row["category"])
    en_out, ru_out, en_up, en_down, ru_up, ru_down = _outcome_words(row["outcome"])
    # verdicts concern the kind as the rulebook decides it, not the latent kind itself
    rule_en = " (as the rules define them)"
    rule_ru = " (по определению правил)"
    noisy = row.get("verdict_reason") == "rule_too_noisy"
    h = int(row["lag"])
    m = float(row["min_effect"])
    est = float(row["std_effect"])
    up = est > 0
    by_count = row.get("measure") == "count_share"
    lag = _lag_words(h, lang)
    if lang == "ru":
        eff = (f"стандартизованный наклон {format_signed(est, 'ru')}, 95 % ДИ от {format_signed(row['ci_low'], 'ru')} "
               f"до {format_signed(row['ci_high'], 'ru')}")
        tail = " Это связь в данных, а не доказательство причины."
        share = "клиентов" if by_count else "выручки клиентов"
        mm = f"{m:.2f}".replace(".", ",")
        if v in ("supported", "contradicted"):
            lead = "Как и ожидалось" if v == "supported" else "Вопреки гипотезе"
            return (f"{lead}, большая доля {share} категории «{cat[1]}»{rule_ru} сопровождалась "
                    f"{ru_up if up else ru_down} {lag} ({eff}).{tail}")
        if v == "no_effect":
            return (f"Заметной связи нет: с 90 % уверенностью связь доли клиентов «{cat[1]}»{rule_ru} с показателем "
                    f"«{ru_out}» {lag} по модулю меньше {mm} стд. откл. ({eff}).")
        if noisy:
            return (f"Вывода нет (правило слишком неточное, чтобы исключить эффект): для категории «{cat[1]}»"
                    f"{rule_ru} связь с показателем «{ru_out}» {lag} меньше {mm} стд. откл., но правило видит "
                    f"этот вид клиентов с заметной ошибкой, и эффект на самих клиентов этого вида не исключён ({eff}).")
        return (f"Вывода нет: данные не позволяют ни подтвердить, ни исключить связь не слабее {mm} стд. откл. "
                f"между долей клиентов «{cat[1]}»{rule_ru} и показателем «{ru_out}» {lag} ({eff}).")
    eff = f"standardised slope {format_signed(est, 'en')}, 95 % CI {format_signed(row['ci_low'], 'en')} to {format_signed(row['ci_high'], 'en')}"
    tail = " This is an association in the data, not proof of cause."
    share = "share of clients" if by_count else "revenue share"
    if v in ("supported", "contradicted"):
        lead = "As expected" if v == "supported" else "Contrary to the hypothesis"
        return (f"{lead}, a larger {share} of {cat[0]}{rule_en} went together with {en_up if up else en_down} "
                f"{lag} ({eff}).{tail}")
    if v == "no_effect":
        return (f"No association worth noting: with 90 % confidence the link between the share of {cat[0]}"
                f"{rule_en} and {en_out} {lag} is smaller than ±{m:.2f} SD ({eff}).")
    if noisy:
        return (f"Inconclusive (rule too noisy to rule out an effect): the link between the share of {cat[0]}"
                f"{rule_en} and {en_out} {lag} is smaller than ±{m:.2f} SD, but the rules see this kind with so "
                f"much error that an effect of that size on the kind itself is not ruled out ({eff}).")
    return (f"Inconclusive: the data can neither confirm nor rule out a link of at least ±{m:.2f} SD "
            f"between the share of {cat[0]}{rule_en} and {en_out} {lag} ({eff}).")


# ---------------------------------------------------------------------------------------------
# model fits


def _n_portfolios(data: pd.DataFrame) -> int:
    return int(data["portfolio"].nunique())


class _Arrays:
    """The analysis panel as numpy arrays, built once per call of :func:`test_hypotheses` or
    :func:`explore`: portfolio and period codes, float columns and within-SDs on demand (the
    fits are numpy; a pandas selection per model cost more than the model)."""

    def __init__(self, data: pd.DataFrame):
        self.data = data
        self.ent, self.ent_labels = fe.codes(data["portfolio"])
        self.per, self.per_labels = fe.codes(data["period"])
        self._cols: dict[str, np.ndarray] = {}
        self._sd: dict[str, float] = {}

    def col(self, name: str) -> np.ndarray:
        if name not in self._cols:
            self._cols[name] = self.data[name].to_numpy(dtype=float, na_value=np.nan)
        return self._cols[name]

    def known(self, name: str) -> int:
        return int(np.isfinite(self.col(name)).sum()) if name in self.data.columns else 0

    def within_sd(self, name: str, mask: np.ndarray | None = None) -> float:
        """:func:`within_sd` of a column on the rows where it is known (and ``mask``)."""
        if mask is None and name in self._sd:
            return self._sd[name]
        x = self.col(name) if mask is None else np.where(mask, self.col(name), np.nan)
        sd = fe.within_sd(x, self.ent, self.per)
        if mask is None:
            self._sd[name] = sd
        return sd


def _exposures_usable(arr: _Arrays, measure: str, categories: Sequence[str] | None) -> list[str]:
    data = arr.data
    cats = categories or data.attrs.get("categories") or [
        c[len("share_"):] for c in data.columns if c.startswith("share_")]
    cols = []
    for k in cats:
        col = growth.exposure_column(k, measure)
        if col not in data.columns or arr.known(col) < 3:
            continue
        if arr.within_sd(col) > 1e-9:
            cols.append(col)
    return cols


def usable_exposures(data: pd.DataFrame, *, measure: str = "share", categories: Sequence[str] | None = None) -> list[str]:
    """Exposure columns of ``measure`` that vary after removing portfolio and period means.

    A column that is empty, or constant within the two-way demeaned panel (e.g. presence when
    every portfolio always has such a client), cannot enter the model and is left out.
    """
    return _exposures_usable(_Arrays(data), measure, categories)


def _exposures_of(arr: _Arrays, outcome: str, exposure_cols: Sequence[str], measure: str
                  ) -> tuple[list[str], dict[str, str]]:
    data = arr.data
    swap = (data.attrs.get("variants") or {}).get(outcome, {})
    cats = data.attrs.get("categories") or [c[len("share_"):] for c in data.columns if c.startswith("share_")]
    term = {k: growth.exposure_column(swap.get(k, k), measure) for k in cats}
    cols = []
    for k in cats:
        full = growth.exposure_column(k, measure)
        if k in swap:
            col = term[k]
            if col in data.columns and arr.known(col) >= 3 and arr.within_sd(col) > 1e-9:
                cols.append(col)
        elif full in exposure_cols:
            cols.append(full)
    return cols, term


def model_exposures(data: pd.DataFrame, outcome: str, exposure_cols: Sequence[str], *,
                    measure: str = "share") -> tuple[list[str], dict[str, str]]:
    """The exposures of ``outcome``'s model and the column that stands for each category.

    For an outcome measured on "the other clients" every category whose rule reads the outcome's
    own signal enters through its rule variant (``data.attrs["variants"]``, see
    :func:`analysis.growth.panel.portfolio_panel`) instead of its full rule.

    Returns
    -------
    (list of str, dict)
        The exposure columns of the model, and ``{category: column}``.
    """
    return _exposures_of(_Arrays(data), outcome, exposure_cols, measure)


def within_sd(data: pd.DataFrame, column: str) -> float:
    """SD of a column after removing portfolio and period means (the exact two-way within
    transform, :func:`analysis.stats.fe.within`, on the rows where the column is known); with one
    portfolio, after removing the series' mean."""
    arr = _Arrays(data[["portfolio", "period", column]].dropna(subset=["portfolio", "period"]))
    return arr.within_sd(column)


def independent_exposures(data: pd.DataFrame, outcome_col: str, exposure_cols: Sequence[str], *,
                          keep: str) -> tuple[list[str], list[str]]:
    """``exposure_cols`` without the columns that are linear combinations of the others (with the
    size control) after removing portfolio and period means, on the rows the model uses.

    Two kinds' exposures can coincide in real data (every client key by revenue also key by
    profit, a kind held by the clients of one portfolio only): one collinear column would make the
    whole model fail and leave every hypothesis on that outcome untested. The hypothesis's own
    exposure ``keep`` is kept first, the size control next, then the others in their order (as
    R's fixest drops the later of collinear variables).

    Returns
    -------
    (list of str, list of str)
        The exposures kept (in their original order) and the ones left out.
    """
    return _independent(_Arrays(data), outcome_col, exposure_cols, keep)


def _independent(arr: _Arrays, outcome_col: str, exposure_cols: Sequence[str], keep: str
                 ) -> tuple[list[str], list[str]]:
    data = arr.data
    cols = [c for c in exposure_cols if c in data.columns]
    if len(cols) < 2 or keep not in cols or outcome_col not in data.columns:
        return list(exposure_cols), []
    ctrl = [growth.SIZE_CONTROL] if growth.SIZE_CONTROL in data.columns else []
    mask = (arr.ent >= 0) & (arr.per >= 0)
    for c in [outcome_col, *cols, *ctrl]:
        mask &= np.isfinite(arr.col(c))
    if mask.sum() < 3:
        return list(exposure_cols), []
    order = [keep, *ctrl, *(c for c in cols if c != keep)]
    ent = np.unique(arr.ent[mask], return_inverse=True)[1].ravel()
    per = np.unique(arr.per[mask], return_inverse=True)[1].ravel()
    xw = fe.within(np.column_stack([arr.col(c)[mask] for c in order]), ent, per)
    sd = xw.std(axis=0)
    z = xw / np.where(sd > 0, sd, 1.0)
    chosen: list[int] = []
    tol = 1e-8 * np.sqrt(len(z))
    for i in range(len(order)):
        if sd[i] > 0 and np.linalg.matrix_rank(z[:, [*chosen, i]], tol=tol) == len(chosen) + 1:
            chosen.append(i)
    dropped = [c for i, c in enumerate(order) if i not in chosen and c in cols and c != keep]
    return [c for c in exposure_cols if c not in dropped], dropped


def _fit_panel(data: pd.DataFrame, outcome_col: str, exposure_cols: list[str], inference: str | None = None,
               seed: int | None = None, arrays: _Arrays | None = None) -> pd.DataFrame:
    """One panel model; exposure rows with ``std_effect`` etc., or an empty frame when it cannot be fit.
    ``inference`` None: the plain CR1 fit (the exploratory grid); else the named few-cluster method.
    The model is :func:`analysis.stats.fe.twoway_fit` (numpy; equal to
    :func:`analysis.stats.panel_regression` with two-way effects, checked in tests/test_stats_fe.py)."""
    fit = _fit_twoway(arrays or _Arrays(data), outcome_col, exposure_cols, inference, seed)
    if fit is None:
        return pd.DataFrame()
    if isinstance(fit, pd.DataFrame):
        return fit
    res = fit.frame()
    res = res[res["role"] == "exposure"].copy()
    res["model_notes"] = _model_notes(fit)
    return res


def _model_notes(fit: fe.TwoWayFit) -> str:
    return "; ".join(sorted({m.split(": ", 1)[-1] for m in fit.warnings}))


def _fit_twoway(arr: _Arrays, outcome_col: str, exposure_cols: Sequence[str], inference: str | None,
                seed: int | None) -> fe.TwoWayFit | pd.DataFrame | None:
    """The model of :func:`_fit_panel`: None when it cannot be fit, a frame of ``term,
    diagnostics`` when the model refuses the data (the message), else the fit."""
    data = arr.data
    if outcome_col not in data.columns or not exposure_cols:
        return None
    cols = [outcome_col, *exposure_cols, growth.SIZE_CONTROL]
    mask = (arr.ent >= 0) & (arr.per >= 0)
    for c in cols:
        mask &= np.isfinite(arr.col(c))
    y = arr.col(outcome_col)[mask]
    if len(np.unique(y)) < 3:
        return None
    ent, per = arr.ent[mask], arr.per[mask]
    keep = [c for c in exposure_cols if fe.within_sd(arr.col(c)[mask], ent, per) > 1e-9]
    if not keep:
        return None
    terms = [*keep, growth.SIZE_CONTROL]
    x = np.column_stack([arr.col(c)[mask] for c in terms])
    try:
        return fe.twoway_fit(y, x, ent, per, entity_labels=arr.ent_labels, terms=terms,
                             roles=["exposure"] * len(keep) + ["control"], outcome=outcome_col,
                             inference=inference, seed=seed)
    except InputError as exc:
        return pd.DataFrame({"term": keep, "diagnostics": str(exc)})


@lru_cache(maxsize=64)
def _calibration_cached(n: int, alpha: float, n_sims: int, seed: int, rho: float) -> tuple[tuple[str, float], ...]:
    rng = np.random.default_rng(seed)
    rejections = dict.fromkeys(SINGLE_TESTS, 0)
    valid = dict.fromkeys(SINGLE_TESTS, 0)
    burn = 50
    for _ in range(n_sims):
        e = rng.normal(size=(2, n + burn))
        s = np.zeros_like(e)
        for t in range(1, n + burn):
            s[:, t] = rho * s[:, t - 1] + e[:, t]
        frame = pd.DataFrame({"x": s[0, burn:], "y": s[1, burn:]})
        for test in SINGLE_TESTS:
            row = _ts_slope(frame, "y", "x", test, rng)
            if row is not None and np.isfinite(row["p_unc"]):
                valid[test] += 1
                rejections[test] += int(row["p_unc"] < alpha)
    return tuple((t, rejections[t] / valid[t] if valid[t] else float("nan")) for t in SINGLE_TESTS)


def calibrate_single(n_periods: int, *, alpha: float = 0.05, n_sims: int = 200, seed: int = 1,
                     rho: float = 0.5) -> pd.DataFrame:
    """Measured null rejection rates of the one-portfolio tests at a series length.

    Simulates ``n_sims`` pairs of independent AR(1) series (coefficient ``rho`` in both, as
    docs/methods.md, "Validation") of length ``n_periods`` and runs each test of the exposure's slope
    in the ADL model used by :func:`test_hypotheses`.

    Returns
    -------
    pandas.DataFrame
        One row per test: ``test`` (``hac``, ``bootstrap``, ``unadjusted``), ``n_periods``,
        ``alpha``, ``rejection_rate``, ``n_sims``, ``deciding`` (True for the test whose rate
        is closest to ``alpha``).
    """
    if n_periods < 8:
        raise InputError(f"a single series needs at least 8 periods with exposures and outcomes, got {n_periods}")
    rates = dict(_calibration_cached(int(n_periods), float(alpha), int(n_sims), int(seed), float(rho)))
    out = pd.DataFrame({"test": list(rates), "n_periods": n_periods, "alpha": alpha,
                        "rejection_rate": list(rates.values()), "n_sims": n_sims})
    gap = (out["rejection_rate"] - alpha).abs().fillna(np.inf)
    out["deciding"] = False
    out.loc[gap.idxmin(), "deciding"] = True
    return out


def _ts_slope(frame: pd.DataFrame, y: str, x: str, test: str, rng: np.random.Generator | int | None,
              n_resamples: int = 199) -> dict | None:
    """The exposure's row in the ADL model ``y_t ~ y_{t-1} + x_t`` with one kind of SE."""
    cov = "bootstrap" if test == "bootstrap" else test
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatsWarning)
        try:
            res = ts_regression(frame, outcome=y, exposures=x, lags=[0], own_lags=1, cov_type=cov,
                                n_resamples=n_resamples, seed=rng)
        except InputError:
            return None
    row = res[res["role"] == "exposure"].iloc[0].to_dict()
    row["k"] = len(res)
    return row


def _fit_single(data: pd.DataFrame, outcome_col: str, exposure_col: str, deciding: str,
                seed: int) -> dict | None:
    d = data.sort_values("period")[["period", outcome_col, exposure_col]].dropna()
    if len(d) < 8 or d[exposure_col].std() == 0 or d[outcome_col].std() == 0:
        return None
    rows = {t: _ts_slope(d, outcome_col, exposure_col, t, seed, n_resamples=999 if t == deciding else 199)
            for t in SINGLE_TESTS}
    if rows[deciding] is None:
        return None
    r = dict(rows[deciding])
    scale = float(d[exposure_col].std() / d[outcome_col].std())
    r["std_effect"] = r["estimate"] * scale
    r["std_effect_se"] = r["std_error"] * scale
    r["p_by_test"] = {t: (rows[t] or {}).get("p_unc", np.nan) for t in SINGLE_TESTS}
    return r


# ---------------------------------------------------------------------------------------------
# confirmatory tests


def _mode(data: pd.DataFrame, mode: str) -> str:
    if mode not in ("auto", "panel", "single"):
        raise InputError(f"The value for `mode` must be one of ['auto', 'panel', 'single'], but {mode!r} was passed.")
    if mode != "auto":
        return mode
    return "panel" if _n_portfolios(data) >= 2 else "single"


def test_hypotheses(
    data: pd.DataFrame,
    hypotheses: HypothesisFile | Sequence[Hypothesis | dict] | str | Path | None = None,
    *,
    alpha: float | None = None,
    measure: str = "share",
    mode: str = "auto",
    power: float = POWER,
    seed: int = 1,
    n_calibration: int = 200,
    attenuation: Mapping[str, float] | None = None,
    sentences: bool = True,
    inference: str = DEFAULT_INFERENCE,
) -> pd.DataFrame:
    """Test the confirmatory hypotheses and give each a verdict.

    Parameters
    ----------
    data : pandas.DataFrame
        The analysis panel (:func:`analysis.growth.panel.portfolio_panel`).
    hypotheses : HypothesisFile, list, path or None
        The hypotheses (default: the package's file).
    alpha : float, optional
        Family-wise level (default: the file's, 0.05).
    measure : {"share", "count_share", "presence"}
        Which exposure enters the model.
    mode : {"auto", "panel", "single"}
        ``auto``: panel with two or more portfolios, else one-portfolio mode.
    power : float
        Power the MDE is computed for.
    seed : int
        Seed of the block bootstrap and the calibration (one-portfolio mode).
    n_calibration : int
        Simulated series used to choose the deciding test (one-portfolio mode).
    inference : {"cr1", "cr2", "cv3", "wild"}
        Panel mode: the few-cluster inference of the tests (:func:`analysis.stats.panel_regression`'s
        ``inference``); the default was chosen by simulation (``DEFAULT_INFERENCE``). The CIs,
        the 90 % equivalence CI and the MDE use the same standard errors and df (for ``wild``
        the bootstrap-t SE, CR1 SE * q*/t(G-1), with df G-1).
    attenuation : mapping, optional
        Per hypothesis id (or category): the slope of the rule's exposure on the kind's latent
        share, measured by :func:`analysis.report.method_check.run_worlds` on worlds of this design. A
        test is ``no_effect`` only when its 90 % CI lies inside ±attenuation × min_effect; one
        that rules out min_effect on the rule-defined kind but not on the latent kind is
        ``inconclusive`` with ``verdict_reason`` ``rule_too_noisy``. Default: 1 (not measured).
    sentences : bool
        False skips the sentences (the method check's many worlds do not read them).

    Returns
    -------
    pandas.DataFrame
        One row per hypothesis: ``id, category, outcome, lag, expected_sign, measure, mode,
        test`` (the model and the deciding test in words), ``inference`` (panel: ``cr1``, ``cr2``,
        ``cv3`` or ``wild``; one portfolio: the deciding test), ``n`` (rows used), ``n_portfolios``,
        ``estimate`` (slope per unit of exposure), ``std_effect``, ``std_effect_se``,
        ``ci_low, ci_high`` (95 % CI of ``std_effect``), ``ci90_low, ci90_high`` (its 90 % CI,
        the equivalence test), ``p_unc``, ``p_adj`` (Holm over the set), ``p_adjust_method``,
        ``df``, ``mde`` (on the ``std_effect`` scale), ``power`` (the power the MDE is for),
        ``min_effect``, ``attenuation`` (as used), ``verdict``, ``verdict_reason`` (why
        inconclusive: :data:`VERDICT_REASONS`), ``sentence_en``, ``sentence_ru``, ``diagnostics``,
        ``n_periods`` (periods with both exposure and outcome), ``reason_code`` (empty when
        tested; else why not: ``kind_not_computable``, ``outcome_missing``, ``too_few_periods``,
        ``too_few_portfolios``, ``exposure_constant``, ``model_failed``; the sentences say it in
        words, :func:`reason_sentence`). ``exposure`` names the column that entered for the
        category (its rule variant for an outcome on "the other clients"). Verdicts concern the
        kind as the rulebook defines it.

        ``DataFrame.attrs``: ``mode``, ``alpha``, ``warnings`` (list of strings, the short-series
        warning among them), ``calibration`` (one-portfolio mode: :func:`calibrate_single`'s
        table as records), ``small_sample`` (panel mode: the convention used).
    """
    hf = as_hypothesis_file(hypotheses)
    hf = hf.model_copy(update={"hypotheses": [h for h in hf.hypotheses if h.level == "portfolio"]})
    alpha = hf.alpha if alpha is None else float(alpha)
    if measure not in growth.EXPOSURES:
        raise InputError(f"The value for `measure` must be one of {list(growth.EXPOSURES)}, but {measure!r} was passed.")
    md = _mode(data, mode)
    if inference not in INFERENCE_NAMES:
        raise InputError(f"The value for `inference` must be one of {list(INFERENCE_NAMES)}, but {inference!r} was passed.")
    warn_list: list[str] = []
    attrs: dict = {"mode": md, "alpha": alpha, "measure": measure}
    rows = []
    if md == "panel":
        arr = _Arrays(data)
        exp_cols = _exposures_usable(arr, measure, None)
        fits: dict[tuple, fe.TwoWayFit | pd.DataFrame | None] = {}
        G = _n_portfolios(data)
        attrs["inference"] = inference
        if G < 30 and inference == "cr1":
            warn_list.append(f"few portfolios: G={G} < 30; clustered standard errors are then less reliable")
        for h in hf.hypotheses:
            col = growth.outcome_column(h.outcome, h.lag)
            cols_h, terms = _exposures_of(arr, h.outcome, exp_cols, measure)
            term = terms.get(h.category, growth.exposure_column(h.category, measure))
            cols_h, collinear = _independent(arr, col, cols_h, term)
            key = (col, tuple(cols_h))
            if key not in fits:
                fits[key] = _fit_twoway(arr, col, cols_h, inference, seed) if col in data.columns else None
            fit = fits[key]
            exp_cols_h = cols_h
            row = _blank(h, measure, md)
            row["exposure"] = term
            row["inference"] = inference
            row["test"] = f"panel: portfolio and period fixed effects, clustered by portfolio, {INFERENCE_NAMES[inference][0]}"
            if not isinstance(fit, fe.TwoWayFit) or term not in fit.terms[:-1]:
                why = "outcome not in the data" if col not in data.columns else (
                    "exposure does not vary after removing portfolio and period means or is missing"
                    if term not in exp_cols_h else "model could not be fit")
                if isinstance(fit, pd.DataFrame):
                    why = str(fit["diagnostics"].iloc[0])
                row["diagnostics"] = why
                row.update(_why_not_testable(data, col, term, md))
                rows.append(row)
                continue
            j = fit.terms.index(term)
            used = (arr.per >= 0) & np.isfinite(arr.col(term)) & np.isfinite(arr.col(col))
            row.update(n=int(fit.n), n_portfolios=int(fit.n_entities), estimate=float(fit.estimate[j]),
                       std_effect=float(fit.std_effect[j]), std_effect_se=float(fit.std_effect_se[j]),
                       p_unc=float(fit.p_unc[j]), df=float(fit.df[j]), n_periods=len(np.unique(arr.per[used])),
                       diagnostics="; ".join(s for s in (fit.diagnostics[j], _model_notes(fit)) if s))
            if not bool(fit.identified[j]):
                why = ("the exposure is identified by one portfolio: dropping it leaves the effect unidentified, "
                       "so the jackknife cannot test it")
                row["diagnostics"] = "; ".join(s for s in (why, row["diagnostics"]) if s)
                warn_list.append(f"{h.id}: not tested — {why}")
            if collinear:
                why = (f"left out of the model, collinear with the other exposures after removing portfolio and "
                       f"period means: {', '.join(collinear)}")
                row["diagnostics"] = "; ".join(s for s in (why, row["diagnostics"]) if s)
            attrs["small_sample"] = fit.small_sample
            rows.append(row)
    else:
        if _n_portfolios(data) > 1:
            raise InputError("one-portfolio mode needs data of a single portfolio; filter it first or use mode='panel'")
        n_obs = int(data[usable_exposures(data, measure=measure)[:1] or ["period"]].notna().sum().iloc[0]) \
            if usable_exposures(data, measure=measure) else len(data)
        n_cal = max(min(n_obs - 1, 10_000), 8)
        cal = calibrate_single(n_cal, alpha=alpha, n_sims=n_calibration, seed=seed)
        deciding = str(cal.loc[cal["deciding"], "test"].iloc[0])
        attrs["calibration"] = cal.to_dict("records")
        warn_list.append(
            f"ONE PORTFOLIO: {n_obs} periods. Tests on a single short series are poorly calibrated; "
            f"the deciding test ({deciding}) rejected {float(cal.loc[cal['deciding'], 'rejection_rate'].iloc[0]):.1%} "
            f"of simulated null series at this length (nominal {alpha:.0%})."
            + (f" Below {SHORT_SERIES} periods treat every verdict as tentative." if n_obs < SHORT_SERIES else ""))
        for h in hf.hypotheses:
            col = growth.outcome_column(h.outcome, h.lag)
            term = model_exposures(data, h.outcome, [], measure=measure)[1].get(
                h.category, growth.exposure_column(h.category, measure))
            row = _blank(h, measure, md)
            row["exposure"] = term
            row["inference"] = deciding
            row["test"] = f"one portfolio: ADL (own lag 1), deciding test {deciding} chosen by calibration"
            fit = _fit_single(data, col, term, deciding, seed) if col in data.columns and term in data.columns else None
            if fit is None:
                row["diagnostics"] = "too few periods, or the exposure or outcome is missing or constant"
                row.update(_why_not_testable(data, col, term, md))
                rows.append(row)
                continue
            pt = fit["p_by_test"]
            row.update(n=int(fit["n"]), n_portfolios=1, n_periods=int(fit["n"]), estimate=float(fit["estimate"]),
                       std_effect=float(fit["std_effect"]), std_effect_se=float(fit["std_effect_se"]),
                       p_unc=float(fit["p_unc"]), df=float(fit["df"]),
                       diagnostics="; ".join([f"p_{t}={pt[t]:.3g}" for t in SINGLE_TESTS]
                                             + ([str(fit["diagnostics"])] if fit.get("diagnostics") else [])))
            rows.append(row)
    out = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    att = dict(attenuation or {})
    out["attenuation"] = [float(att.get(i, att.get(c, 1.0))) for i, c in zip(out["id"], out["category"])]
    out = _decide(out, alpha=alpha, power=power, sentences=sentences)
    out.attrs.update(attrs, warnings=warn_list)
    return out


test_hypotheses.__test__ = False  # not a pytest test, despite the name


def _why_not_testable(data: pd.DataFrame, outcome_col: str, term: str, md: str) -> dict:
    """``reason_code`` (one of :data:`REASON_CODES`) of a hypothesis the model could not test,
    with the usable ``n_periods`` and ``n_portfolios`` it rests on (rows where both the exposure
    and the outcome are known)."""
    if term not in data.columns or data[term].notna().sum() == 0:
        return {"reason_code": "kind_not_computable"}
    if outcome_col not in data.columns or data[outcome_col].notna().sum() == 0:
        return {"reason_code": "outcome_missing"}
    d = data[["portfolio", "period", term, outcome_col]].dropna()
    n_t, n_g = int(d["period"].nunique()), int(d["portfolio"].nunique())
    counts = {"n_periods": n_t, "n_portfolios": n_g}
    if md == "panel" and n_g < 2:
        return {"reason_code": "too_few_portfolios", **counts}
    if n_t < MIN_PERIODS[md] or (md == "panel" and d[outcome_col].nunique() < 3):
        return {"reason_code": "too_few_periods", **counts}
    if within_sd(d, term) <= 1e-9:
        return {"reason_code": "exposure_constant", **counts}
    return {"reason_code": "model_failed", **counts}
def inference_sentence(results: pd.DataFrame, lang: str = "en") -> str:
    """One sentence naming the inference behind the confirmatory p-values, CIs and MDEs.

    Examples
    --------
    >>> res = pd.DataFrame({"mode": ["panel"], "inference": ["cv3"], "n_portfolios": [30], "df": [29.0]})
    >>> inference_sentence(res)
    'p-values, confidence intervals and MDEs use the leave-one-portfolio-out jackknife (CV3), t(G-1) over 30 portfolios, the method that kept the false-positive rate near 5 % in simulations with 10 and 30 portfolios.'
    """
    tested = results[results["inference"].notna() & results["n_portfolios"].notna()]
    if tested.empty:
        return ("No hypothesis could be tested, so no inference was run." if lang == "en" else
                "Ни одну гипотезу не удалось проверить, поэтому статистический вывод не выполнялся.")
    method = str(tested["inference"].iloc[0])
    if str(tested["mode"].iloc[0]) != "panel":
        return (f"One portfolio: p-values use the {method} test, the one whose rejection rate on simulated "
                f"independent series of this length was closest to the nominal level." if lang == "en" else
                f"Один портфель: p-значения дает тест {method} — тот, чья доля отклонений на смоделированных "
                f"независимых рядах такой длины ближе всего к номинальному уровню.")
    g = int(tested["n_portfolios"].max())
    name = INFERENCE_NAMES[method][0 if lang == "en" else 1]
    extra = ""
    if method == "cr2":
        lo, hi = float(tested["df"].min()), float(tested["df"].max())
        extra = f" (df {lo:.1f}–{hi:.1f})" if lang == "en" else f" (степеней свободы {lo:.1f}–{hi:.1f})".replace(".", ",")
    elif method == "wild":
        w = "Webb" if g < 12 else "Rademacher"
        extra = (f" ({w} weights, 999 draws; its CIs and MDEs use the bootstrap-t standard error)" if lang == "en"
                 else f" (веса {'Уэбба' if g < 12 else 'Радемахера'}, 999 повторов; ДИ и МОЭ — по бутстреп-t ошибке)")
    if lang == "en":
        return (f"p-values, confidence intervals and MDEs use {name}{extra} over {g} portfolios, the method that "
                f"kept the false-positive rate near 5 % in simulations with 10 and 30 portfolios.")
    return (f"p-значения, доверительные интервалы и МОЭ рассчитаны методом: {name}{extra}, по {g} портфелям — "
            f"он удерживал долю ложных срабатываний около 5 % в симуляциях с 10 и 30 портфелями.")


def _blank(h: Hypothesis, measure: str, md: str) -> dict:
    return {c: np.nan for c in RESULT_COLUMNS} | {
        "id": h.id, "category": h.category, "outcome": h.outcome, "lag": h.lag,
        "expected_sign": h.expected_sign, "measure": measure, "mode": md, "min_effect": h.min_effect,
        "p_adjust_method": "holm", "diagnostics": "", "test": "", "reason_code": "",
    }


def apply_attenuation(results: pd.DataFrame, attenuation: Mapping[str, float] | None) -> pd.DataFrame:
    """:func:`test_hypotheses`'s table with the verdicts re-decided for a measured ``attenuation``
    (per hypothesis id or category; see :func:`test_hypotheses`), without refitting: the
    ``attenuation``, ``verdict``, ``verdict_reason`` and sentence columns change, nothing else."""
    if not attenuation:
        return results
    out = results.copy()
    alpha = float(out.attrs.get("alpha", 0.05))
    att = dict(attenuation)
    out["attenuation"] = [float(att.get(i, att.get(c, 1.0))) for i, c in zip(out["id"], out["category"])]
    return _verdicts(out, alpha=alpha, sentences="sentence_en" in out.columns)


def _verdicts(out: pd.DataFrame, *, alpha: float, sentences: bool) -> pd.DataFrame:
    """``verdict``, ``verdict_reason`` and (with ``sentences``) the sentences of decided rows, in place."""
    out["verdict"] = [
        verdict(r.p_adj, r.std_effect, r.ci90_low, r.ci90_high, expected_sign=r.expected_sign,
                min_effect=r.min_effect, alpha=alpha, attenuation=r.attenuation)
        for r in out.itertuples()
    ]
    out["verdict_reason"] = [
        verdict_reason(r.verdict, r.ci90_low, r.ci90_high, min_effect=r.min_effect, attenuation=r.attenuation)
        for r in out.itertuples()
    ]
    if sentences:
        out["sentence_en"] = [sentence(r, "en") for _, r in out.iterrows()]
        out["sentence_ru"] = [sentence(r, "ru") for _, r in out.iterrows()]
    return out


def _decide(out: pd.DataFrame, *, alpha: float, power: float, sentences: bool = True) -> pd.DataFrame:
    """Holm adjustment, CIs, MDE, verdicts and sentences for a frame of confirmatory rows."""
    out = out.copy()
    ok = out["p_unc"].notna()
    m = int(ok.sum())
    if m:  # all rows at once; Holm in numpy (statsmodels' multipletests runs gc.collect() per call)
        out.loc[ok, "p_adj"] = holm(out.loc[ok, "p_unc"].to_numpy(dtype=float), alpha)[0]
        df = out.loc[ok, "df"].to_numpy(dtype=float)
        se = out.loc[ok, "std_effect_se"].to_numpy(dtype=float)
        est = out.loc[ok, "std_effect"].to_numpy(dtype=float)
        q95, q90 = sps.t.ppf(0.975, df), sps.t.ppf(0.95, df)
        out.loc[ok, "ci_low"], out.loc[ok, "ci_high"] = est - q95 * se, est + q95 * se
        out.loc[ok, "ci90_low"], out.loc[ok, "ci90_high"] = est - q90 * se, est + q90 * se
        out.loc[ok, "mde"] = mde(se, alpha=alpha, power=power, m=m, df=df)["mde"].to_numpy()
    out["power"] = power
    return _verdicts(out, alpha=alpha, sentences=sentences)


# ---------------------------------------------------------------------------------------------
# exploratory grid

EXPLORE_COLUMNS = [
    "category", "outcome", "lag", "measure", "mode", "n", "n_portfolios", "estimate", "std_effect",
    "std_effect_se", "ci_low", "ci_high", "p_unc", "p_adj", "p_adjust_method", "reject",
    "pearson_r", "pearson_ci_low", "pearson_ci_high", "spearman_r", "spearman_ci_low",
    "spearman_ci_high", "diagnostics",
]  # fmt: skip


def explore(
    data: pd.DataFrame,
    *,
    alpha: float = 0.05,
    measure: str = "share",
    outcomes: Sequence[str] | None = None,
    lags: Sequence[int] | None = None,
    mode: str = "auto",
    seed: int = 1,
    n_calibration: int = 200,
) -> pd.DataFrame:
    """Every category × outcome × lag from the same model, Benjamini-Hochberg over the grid.

    Returns
    -------
    pandas.DataFrame
        One row per cell: ``category, outcome, lag, measure, mode, n, n_portfolios, estimate,
        std_effect, std_effect_se, ci_low, ci_high`` (95 % CI of ``std_effect``), ``p_unc``,
        ``p_adj`` (BH over every cell with a p-value), ``p_adjust_method`` (``fdr_bh``),
        ``reject`` (FDR at ``alpha``), and the pooled correlations of exposure and outcome
        (raw values, every portfolio-period a point, so their p-values would be optimistic and
        are not shown) ``pearson_r, pearson_ci_low, pearson_ci_high, spearman_r,
        spearman_ci_low, spearman_ci_high``; ``diagnostics``.
    """
    md = _mode(data, mode)
    cats = data.attrs.get("categories") or [c[len("share_"):] for c in data.columns if c.startswith("share_")]
    outs = list(outcomes) if outcomes is not None else list(data.attrs.get("outcomes") or [
        o for o in registry.current().outcome_ids() if growth.outcome_column(o, 1) in data.columns])
    lag_l = list(lags) if lags is not None else list(data.attrs.get("lags") or growth.LAGS)
    arr = _Arrays(data)
    exp_cols = _exposures_usable(arr, measure, cats)
    rows = []
    deciding = "hac"
    if md == "single":
        n_cal = max(int(len(data)) - 1, 8)
        cal = calibrate_single(n_cal, alpha=alpha, n_sims=n_calibration, seed=seed)
        deciding = str(cal.loc[cal["deciding"], "test"].iloc[0])
    for o in outs:
        for h in lag_l:
            col = growth.outcome_column(o, h)
            if col not in data.columns:
                continue
            cols_o, terms = _exposures_of(arr, o, exp_cols, measure)
            # one model per outcome and lag, every exposure at once (one within transform)
            fit = _fit_twoway(arr, col, cols_o, None, None) if md == "panel" else None
            for k in cats:
                term = terms.get(k, growth.exposure_column(k, measure))
                row = {c: np.nan for c in EXPLORE_COLUMNS} | {
                    "category": k, "outcome": o, "lag": h, "measure": measure, "mode": md,
                    "p_adjust_method": "fdr_bh", "diagnostics": ""}
                if md == "panel":
                    if isinstance(fit, fe.TwoWayFit) and term in fit.terms[:-1]:
                        j = fit.terms.index(term)
                        q = sps.t.ppf(0.975, float(fit.df[j]))
                        eff, eff_se = float(fit.std_effect[j]), float(fit.std_effect_se[j])
                        row.update(n=int(fit.n), n_portfolios=int(fit.n_entities), estimate=float(fit.estimate[j]),
                                   std_effect=eff, std_effect_se=eff_se, ci_low=float(eff - q * eff_se),
                                   ci_high=float(eff + q * eff_se), p_unc=float(fit.p_unc[j]),
                                   diagnostics=fit.diagnostics[j])
                    else:
                        row["diagnostics"] = "not estimable (exposure or outcome missing or constant)"
                elif term in data.columns:
                    fit1 = _fit_single(data, col, term, deciding, seed)
                    if fit1 is not None:
                        q = sps.t.ppf(0.975, float(fit1["df"]))
                        row.update(n=int(fit1["n"]), n_portfolios=1, estimate=float(fit1["estimate"]),
                                   std_effect=fit1["std_effect"], std_effect_se=fit1["std_effect_se"],
                                   ci_low=fit1["std_effect"] - q * fit1["std_effect_se"],
                                   ci_high=fit1["std_effect"] + q * fit1["std_effect_se"],
                                   p_unc=float(fit1["p_unc"]), diagnostics=f"deciding test {deciding}")
                if term in data.columns:
                    xs, ys = arr.col(term), arr.col(col)
                    both = np.isfinite(xs) & np.isfinite(ys)
                    xs, ys = xs[both], ys[both]
                    if len(xs) >= 4 and len(np.unique(xs)) > 1 and len(np.unique(ys)) > 1:
                        for method, pre in (("pearson", "pearson"), ("spearman", "spearman")):
                            c = _correlation(xs, ys, method, "two-sided", 0.95)  # correlation()'s row
                            row.update({f"{pre}_r": float(c["estimate"]), f"{pre}_ci_low": float(c["ci_low"]),
                                        f"{pre}_ci_high": float(c["ci_high"])})
                rows.append(row)
    out = pd.DataFrame(rows, columns=EXPLORE_COLUMNS)
    ok = out["p_unc"].notna()
    out["reject"] = pd.array([pd.NA] * len(out), dtype="boolean")
    if ok.any():
        adj = adjust_pvalues(out.loc[ok, "p_unc"].to_numpy(dtype=float), method="fdr_bh", alpha=alpha)
        out.loc[ok, "p_adj"] = adj["p_adj"].to_numpy()
        out.loc[ok, "reject"] = adj["reject"].to_numpy()
    out.attrs.update(mode=md, alpha=alpha, measure=measure)
    return out


# ---------------------------------------------------------------------------------------------
# robustness

ROBUSTNESS_COLUMNS = [
    "id", "category", "outcome", "lag", "variant", "quantile_shift", "measure", "std_effect", "ci_low",
    "ci_high", "p_adj", "verdict", "baseline_verdict", "flipped",
]  # fmt: skip


def robustness(
    panel: pd.DataFrame,
    membership: Callable[[float], pd.DataFrame] | pd.DataFrame,
    hypotheses: HypothesisFile | Sequence[Hypothesis | dict] | str | Path | None = None,
    *,
    window: int = 4,
    kpis: pd.DataFrame | None = None,
    shifts: Sequence[float] = (-0.05, 0.05),
    alpha: float | None = None,
    mode: str = "auto",
    seed: int = 1,
    n_calibration: int = 200,
    variants: Callable[[float], pd.DataFrame] | pd.DataFrame | None = None,
    attenuation: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Confirmatory verdicts recomputed under other membership rules and exposure measures.

    Parameters
    ----------
    panel : pandas.DataFrame
        The client × period panel.
    membership : callable or DataFrame
        ``membership(quantile_shift) -> membership table``: the categories decided with every
        rule quantile shifted by ``quantile_shift`` (e.g. ``lambda s:
        classify(panel, clients, quantile_shift=s, ...)``). A fixed table gives the count-share
        variant only (the shifted variants are then reported as not computed).
    hypotheses, alpha, mode, seed, n_calibration
        As in :func:`test_hypotheses`.
    window, kpis
        As in :func:`analysis.growth.panel.portfolio_panel`.
    shifts : sequence of float
        Quantile shifts (docs/methods.md: ±0.05).
    variants : callable or DataFrame, optional
        Like ``membership``, for :func:`analysis.categories.rules.classify_variants` (the rule
        variants of the outcomes on "the other clients"), shifted alike.
    attenuation : mapping, optional
        As in :func:`test_hypotheses`.

    Returns
    -------
    pandas.DataFrame
        One row per hypothesis and variant (``baseline``, ``quantile_shift=-0.05``,
        ``quantile_shift=+0.05``, ``count_share``): ``id, category, outcome, lag, variant,
        quantile_shift, measure, std_effect, ci_low, ci_high, p_adj, verdict,
        baseline_verdict, flipped`` (True when the verdict differs from the baseline's).
        ``DataFrame.attrs["sensitivity"]``: membership counts per variant
        (:func:`membership_sensitivity`).
    """
    provider = membership if callable(membership) else None
    base_members = provider(0.0) if provider else membership

    def var_at(shift: float) -> pd.DataFrame | None:
        if callable(variants):
            return variants(shift)
        return variants if shift == 0.0 else None

    kw = dict(alpha=alpha, mode=mode, seed=seed, n_calibration=n_calibration, attenuation=attenuation)
    base_pp = growth.portfolio_panel(panel, base_members, window=window, kpis=kpis, variants=var_at(0.0))
    variants: list[tuple[str, float, str, pd.DataFrame]] = [("baseline", 0.0, "share", base_pp)]
    members = {0.0: base_members}
    if provider:
        for s in shifts:
            members[float(s)] = provider(float(s))
            pp = growth.portfolio_panel(panel, members[float(s)], window=window, kpis=kpis,
                                        variants=var_at(float(s)))
            variants.append((f"quantile_shift={s:+.2f}", float(s), "share", pp))
    variants.append(("count_share", 0.0, "count_share", base_pp))
    frames = []
    base_verdicts = None
    for name, s, measure, pp in variants:
        res = test_hypotheses(pp, hypotheses, measure=measure, **kw)
        if base_verdicts is None:
            base_verdicts = res.set_index("id")["verdict"]
        part = res[["id", "category", "outcome", "lag", "measure", "std_effect", "ci_low", "ci_high", "p_adj",
                    "verdict"]].copy()
        part["variant"] = name
        part["quantile_shift"] = s
        part["baseline_verdict"] = part["id"].map(base_verdicts)
        part["flipped"] = part["verdict"] != part["baseline_verdict"]
        frames.append(part)
    out = pd.concat(frames, ignore_index=True)[ROBUSTNESS_COLUMNS]
    out.attrs["sensitivity"] = membership_sensitivity(members)
    return out


def membership_sensitivity(memberships: dict[float, pd.DataFrame]) -> pd.DataFrame:
    """Membership counts per category and period under each quantile shift (``sensitivity.csv``).

    Returns
    -------
    pandas.DataFrame
        ``quantile_shift, category, period, members, decided`` (clients with a known
        membership), ``member_share``.
    """
    frames = []
    for s, m in memberships.items():
        d = m.assign(_known=m["member"].notna(), _in=m["member"].astype("boolean").fillna(False).astype(bool))
        g = d.groupby(["category", "period"], as_index=False).agg(members=("_in", "sum"), decided=("_known", "sum"))
        g.insert(0, "quantile_shift", float(s))
        frames.append(g)
    out = pd.concat(frames, ignore_index=True)
    out["member_share"] = out["members"] / out["decided"].where(out["decided"] > 0)
    return out.sort_values(["category", "period", "quantile_shift"]).reset_index(drop=True)


def growth_tables(
    panel: pd.DataFrame,
    clients: pd.DataFrame,
    *,
    membership: pd.DataFrame | None = None,
    window: int = 4,
    kpis: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    transactions: pd.DataFrame | None = None,
    rulebook: str | Path | None = None,
    hypotheses: HypothesisFile | Sequence[Hypothesis | dict] | str | Path | None = None,
    seed: int = 1,
    attenuation: Mapping[str, float] | None = None,
) -> dict[str, pd.DataFrame]:
    """The five growth tables of a report, from the client × period panel.

    Categories come from :func:`analysis.categories.rules.classify` (default rulebook unless
    ``rulebook``); ``membership`` skips that step for the baseline. Robustness reclassifies
    with every rule quantile shifted by ±0.05.

    Returns
    -------
    dict of pandas.DataFrame
        ``portfolio_panel`` (:func:`analysis.growth.panel.portfolio_panel`), ``codebook``,
        ``hypotheses`` (:func:`test_hypotheses`), ``exploratory`` (:func:`explore`),
        ``robustness`` (:func:`robustness`). ``hypotheses.attrs`` keeps the mode and warnings.

    Examples
    --------
    >>> from analysis.config import SAMPLE_DIR
    >>> from analysis.ingest import load
    >>> from analysis.ingest.panel import client_period_panel
    >>> base = load(SAMPLE_DIR)
    >>> t = growth_tables(client_period_panel(base), base.clients, kpis=base.kpis, events=base.events)
    >>> sorted(t)
    ['codebook', 'exploratory', 'hypotheses', 'portfolio_panel', 'robustness']
    """
    from analysis.categories.features import client_features
    from analysis.categories.rules import classify, classify_variants

    feats = client_features(panel, clients, window=window, kpis=kpis, events=events, transactions=transactions)

    def provider(shift: float) -> pd.DataFrame:
        if shift == 0.0 and membership is not None:
            return membership
        return classify(panel, clients, rulebook=rulebook, window=window, features=feats.copy(),
                        quantile_shift=shift)

    def var_provider(shift: float) -> pd.DataFrame:
        return classify_variants(panel, clients, rulebook=rulebook, window=window, features=feats.copy(),
                                 quantile_shift=shift)

    base_members = provider(0.0)
    base_variants = var_provider(0.0)
    pp = growth.portfolio_panel(panel, base_members, window=window, kpis=kpis, variants=base_variants)
    hf = as_hypothesis_file(hypotheses)
    conf = test_hypotheses(pp, hf, seed=seed, attenuation=attenuation)
    grid = explore(pp, alpha=hf.alpha, seed=seed)
    rob = robustness(panel, lambda s: base_members if s == 0.0 else provider(s), hf, window=window, kpis=kpis,
                     seed=seed, variants=lambda s: base_variants if s == 0.0 else var_provider(s),
                     attenuation=attenuation)
    return {"portfolio_panel": pp, "codebook": growth.codebook(pp), "hypotheses": conf, "exploratory": grid,
            "robustness": rob}


def mde_table(result: pd.DataFrame, attenuation: dict[str, float] | float | None = None) -> pd.DataFrame:
    """MDEs of the confirmatory tests, also divided by a measured attenuation (how much smaller
    an effect on the latent share appears through noisy rules): ``id, category, outcome, lag,
    std_effect_se, mde, attenuation, mde_latent``."""
    out = result[["id", "category", "outcome", "lag", "std_effect_se", "mde"]].copy()
    if attenuation is None:
        out["attenuation"] = 1.0
    elif isinstance(attenuation, dict):
        out["attenuation"] = out["category"].map(attenuation).fillna(1.0)
    else:
        out["attenuation"] = float(attenuation)
    out["mde_latent"] = out["mde"] / out["attenuation"]
    return out


__all__ = [
    "DEFAULT_FILE", "Hypothesis", "HypothesisFile", "VERDICTS", "calibrate_single", "explore", "growth_tables",
    "as_hypothesis_file", "format_signed",
    "load_hypotheses",
    "mde_table", "membership_sensitivity", "REASON_CODES", "reason_sentence", "robustness", "sentence", "test_hypotheses", "usable_exposures",
    "inference_sentence", "load_hypotheses",
    "mde_table", "membership_sensitivity", "robustness", "sentence", "test_hypotheses", "usable_exposures",
    "verdict", "within_sd",
]  # fmt: skip
