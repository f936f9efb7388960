"""Does the method find what is there, and only that? Size, power, false "no effect" and
attenuation on synthetic worlds shaped like the data being analysed.

A :class:`Design` holds what a world copies from the study (:func:`design_from_study`): portfolios,
periods and their frequency, clients per portfolio, the share of each article kind, the event
rates and the window. :func:`run_worlds` generates worlds of that design — *null* worlds (every
dynamic, no effect), *planted* worlds (the default effects, or any list) and *min_effect* worlds
(each hypothesis planted at its ``min_effect`` with the expected sign) — and sends each through the
same rules (:func:`analysis.categories.rules.classify` and
:func:`~analysis.categories.rules.classify_variants`) and the same models
(:func:`analysis.growth.confirmatory.test_hypotheses`) as the user's data. It takes the lean path:
the client × period panel is aggregated in memory (:func:`analysis.synth.world_panel`, checked
against the engine's panel by a test), no file and no report is written.

Attenuation (docs/methods.md, "Method check"): per hypothesis, the correlation and the slope of the
rule's exposure on the kind's latent revenue share over the same window, both after removing
portfolio and period means. An effect planted on the latent share shows through the rule at about
``correlation`` times its size; :func:`attenuation_map` turns the measured correlations into the
``attenuation`` that :func:`analysis.growth.confirmatory.test_hypotheses` needs so that "no effect"
is declared only where the rule could have seen an effect of ``min_effect``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis.config import ARTICLE_KINDS, EVENT_TYPES, OUTCOMES
from analysis.errors import InputError
from analysis.growth import panel as growth
from analysis.growth.confirmatory import test_hypotheses
from analysis.growth.fits import model_exposures
from analysis.growth.spec import HypothesesArg, as_hypothesis_file
from analysis.report import progress

if TYPE_CHECKING:
    from analysis.categories.rules import Rulebook
    from analysis.report.study import Study

#: What the generator takes as effects (:func:`analysis.synth.load_effects`)
EffectsArg: TypeAlias = "str | Path | list | None"
#: A rulebook, its file, or None for the built-in one
RulebookArg: TypeAlias = "Rulebook | str | Path | None"

KINDS_OF_WORLD = ("null", "planted", "min_effect")
RUN_COLUMNS = [
    "world", "kind", "seed", "id", "category", "outcome", "lag", "planted", "exposure",
    "std_effect", "std_effect_se", "ci_low", "ci_high", "ci90_low", "ci90_high", "p_unc", "p_adj",
    "mde", "verdict", "verdict_reason", "rejected", "latent_corr", "latent_slope",
]  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Design:
    """The shape of the worlds: what they copy from the data analysed.

    ``kind_shares`` and ``event_scale`` are tuples of (name, value) pairs so that a design is
    hashable and pickles as plain data (the worlds may run in a process pool).
    """

    portfolios: int = 30
    periods: int = 12
    clients: int = 40
    freq: str = "Q"
    window: int = 4
    kind_shares: tuple[tuple[str, float], ...] = ()
    event_scale: tuple[tuple[str, float], ...] = ()
    source: str = "default"

    def __post_init__(self) -> None:
        if self.freq not in ("Q", "M"):
            raise InputError(f"design: freq must be Q or M, got {self.freq!r}")
        if self.portfolios < 2:
            raise InputError("design: the method check needs worlds of at least 2 portfolios (the "
                             "generator plants effects across portfolios)")
        if self.periods < self.window + 3:
            raise InputError(
                f"design: {self.periods} periods leave too few after a window of {self.window}")

    def as_dict(self) -> dict:
        """The design as plain values (for a table or a manifest)."""
        d = dataclasses.asdict(self)
        d["kind_shares"] = dict(self.kind_shares)
        d["event_scale"] = dict(self.event_scale)
        return d


def design_from_study(s: Study, *, reference_seed: int = 0) -> Design:
    """The design of a :class:`analysis.report.study.Study`: its portfolios, periods and frequency,
    mean active clients per portfolio and period, the member share of each article kind (among
    decided client-periods), the window, and event rates as multipliers of the generator's own
    (measured on one reference world of the same shape, seeded by ``reference_seed``).

    A study with one portfolio, or yearly periods, has no world of its shape (the generator needs
    two or more portfolios; quarters or months): the design then keeps the study's periods and
    clients with 2 portfolios and quarters, and ``source`` says so.
    """
    from analysis.ingest.periods import period_axis, period_freq

    panel = s.panel
    periods = period_axis(panel["period"].unique())
    freq = period_freq(periods)
    notes = []
    if freq not in ("Q", "M"):
        notes.append(f"frequency {freq} simulated as quarters")
        freq = "Q"
    P = int(panel["portfolio"].nunique())
    if P < 2:
        notes.append("one portfolio simulated as 2")
        P = 2
    active = panel[panel["revenue"] > 0]
    per = active.groupby(["portfolio", "period"])["client_id"].nunique()
    clients = max(5, int(round(float(per.mean())))) if len(per) else 5
    m = s.membership
    shares = []
    for k in ARTICLE_KINDS:
        part = m.loc[(m["category"] == k) & m["member"].notna(), "member"]
        if len(part):
            shares.append((k, float(np.clip(part.astype(bool).mean(), 0.02, 0.6))))
    window = int(s.window)
    T = max(len(periods), window + 3)
    base = Design(portfolios=P, periods=T, clients=clients, freq=freq, window=window,
                  kind_shares=tuple(shares),
                  source="study" + (f" ({'; '.join(notes)})" if notes else ""))
    return dataclasses.replace(base, event_scale=_event_scale(panel, base, reference_seed))


def override(design: Design, *, portfolios: int = 0, periods: int = 0, clients: int = 0) -> Design:
    """``design`` with the given sizes where they are not 0 (a page's parameters: smaller or larger
    worlds than the data)."""
    given = (("portfolios", portfolios), ("periods", periods), ("clients", clients))
    change = {k: int(v) for k, v in given if v}
    if not change:
        return design
    return dataclasses.replace(design, portfolios=change.get("portfolios", design.portfolios),
                               periods=change.get("periods", design.periods),
                               clients=change.get("clients", design.clients),
                               source=f"{design.source}; sizes set by hand: {change}")


def _event_rates(panel: pd.DataFrame) -> dict[str, float]:
    act = panel[panel["revenue"] > 0]
    n = max(len(act), 1)
    return {e: float(act[e].sum()) / n for e in EVENT_TYPES
            if e in act.columns and act[e].notna().any()}


def _event_scale(panel: pd.DataFrame, design: Design, seed: int) -> tuple[tuple[str, float], ...]:
    """Multipliers that bring the generator's event rates per active client-period to the data's."""
    from analysis.synth import generate, world_panel

    target = _event_rates(panel)
    if not target:
        return ()
    w = generate(portfolios=min(design.portfolios, 10), periods=design.periods,
                 clients=design.clients,
                 freq=design.freq, seed=seed, effects="none", kind_shares=dict(design.kind_shares))
    own = _event_rates(world_panel(w, freq=design.freq))
    out = []
    for e, rate in target.items():
        if own.get(e, 0) > 0:
            out.append((e, float(np.clip(rate / own[e], 0.05, 20.0))))
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# one world, the lean path


def _within(x: np.ndarray, e: np.ndarray, t: np.ndarray, iters: int = 50) -> np.ndarray:
    ne, nt = np.bincount(e), np.bincount(t)
    x = x.astype(float).copy()
    for _ in range(iters):
        x -= (np.bincount(e, weights=x) / np.maximum(ne, 1))[e]
        x -= (np.bincount(t, weights=x) / np.maximum(nt, 1))[t]
        if np.abs(np.bincount(e, weights=x)).max() < 1e-10 * (1 + np.abs(x).sum()):
            break
    return x


def latent_attenuation(data: pd.DataFrame, latent: pd.DataFrame, column: str,
                       category: str) -> tuple[float, float]:
    """Correlation and slope of ``data[column]`` (a rule exposure) on the kind's latent share,
    both after removing portfolio and period means (rows where both are known)."""
    lat = latent[latent["category"] == category][["portfolio", "period", "latent_share"]]
    if column not in data.columns or lat.empty:
        return float("nan"), float("nan")
    d = data[["portfolio", "period", column]].merge(lat, on=["portfolio", "period"],
                                                    how="inner").dropna()
    if len(d) < 6 or d["portfolio"].nunique() < 2:
        return float("nan"), float("nan")
    e = pd.factorize(d["portfolio"])[0]
    t = pd.factorize(d["period"])[0]
    x = _within(d["latent_share"].to_numpy(), e, t)
    y = _within(d[column].to_numpy(), e, t)
    sx, sy = x.std(), y.std()
    if sx <= 0 or sy <= 0:
        return float("nan"), float("nan")
    cov = float((x * y).mean())
    return cov / (sx * sy), cov / (sx * sx)


def _attenuations(data: pd.DataFrame, latent: pd.DataFrame,
                  pairs: Sequence[tuple]) -> list[tuple[float, float]]:
    """:func:`latent_attenuation` of each (column, category) pair, with one table of the latent
    shares per world instead of a merge per pair (the same rows, the same arithmetic)."""
    wide = latent.pivot_table(index=["portfolio", "period"], columns="category",
                              values="latent_share",
                              aggfunc="first", sort=False) if len(latent) else pd.DataFrame()
    keys = pd.MultiIndex.from_arrays([data["portfolio"], data["period"]])
    aligned = {k: wide[k].reindex(keys).to_numpy(dtype=float) for k in wide.columns}
    e_all = pd.factorize(data["portfolio"])[0]
    out = []
    for col, cat in pairs:
        if not isinstance(col, str) or col not in data.columns or cat not in aligned:
            out.append((float("nan"), float("nan")))
            continue
        y_all = data[col].to_numpy(dtype=float, na_value=np.nan)
        ok = np.isfinite(aligned[cat]) & np.isfinite(y_all)
        if ok.sum() < 6 or len(np.unique(e_all[ok])) < 2:
            out.append((float("nan"), float("nan")))
            continue
        d = data.loc[ok, ["portfolio", "period"]]
        e = pd.factorize(d["portfolio"])[0]
        t = pd.factorize(d["period"])[0]
        x = _within(aligned[cat][ok], e, t)
        y = _within(y_all[ok], e, t)
        sx, sy = x.std(), y.std()
        if sx <= 0 or sy <= 0:
            out.append((float("nan"), float("nan")))
            continue
        cov = float((x * y).mean())
        out.append((cov / (sx * sy), cov / (sx * sx)))
    return out


def _min_effect_effects(hf) -> list[dict]:
    """Every hypothesis planted at its min_effect with the expected sign (those the generator can
    plant; several on one outcome are scaled down together to stay a valid world)."""
    out = [{"category": h.category, "outcome": h.outcome, "lag": int(h.lag),
            "size": float(h.min_effect) * (1 if h.expected_sign in ("+", 1) else -1)}
           for h in hf.hypotheses if h.outcome in OUTCOMES]
    return _within_generator_limit(out)



def _within_generator_limit(effects: list[dict]) -> list[dict]:
    """Scale the sizes planted on one outcome so that their squares sum below 0.8: the generator
    adds the planted effects to an outcome of unit variance and needs room for its noise."""
    by: dict[str, list[dict]] = {}
    for e in effects:
        by.setdefault(e["outcome"], []).append(e)
    for group in by.values():
        tot = sum(e["size"] ** 2 for e in group)
        if tot >= 0.8:
            for e in group:
                e["size"] *= math.sqrt(0.79 / tot)
    return effects

def effects_at_mde(runs: pd.DataFrame, factor: float = 1.5, *,
                   hypotheses: HypothesesArg = None) -> list[dict]:
    """Effects planting every hypothesis at ``factor`` × its mean MDE measured in ``runs`` (null
    worlds of the design: :func:`run_worlds`), with the expected sign, on the kind's latent share.

    An effect of ``factor`` × MDE on the latent kind shows through a rule whose exposure correlates
    ``r`` with it at about ``r × factor`` × MDE, so at ``factor`` 1.5 a rule with ``r ≥ 0.7`` should
    find it at least as often as the MDE promises (80 %). Sizes stay inside what the generator can
    plant (|size| ≤ 0.85, squares on one outcome summing below 0.8, scaled down together).

    Returns
    -------
    list of dict
        ``category, outcome, lag, size`` per hypothesis (for ``run_worlds(effects=...)``).
    """
    hf = as_hypothesis_file(hypotheses)
    mde = runs.groupby("id")["mde"].mean()
    out = []
    for h in hf.hypotheses:
        if h.level != "portfolio" or h.outcome not in OUTCOMES \
                or not np.isfinite(mde.get(h.id, np.nan)):
            continue
        sign = 1 if h.expected_sign in ("+", 1) else -1
        size = float(np.clip(factor * mde[h.id], 0.0, 0.85)) * sign
        out.append({"category": h.category, "outcome": h.outcome, "lag": int(h.lag), "size": size})
    return _within_generator_limit(out)


def one_world(design: Design, seed: int, effects: EffectsArg, *,
              hypotheses: HypothesesArg = None, rulebook: RulebookArg = None,
              attenuation: Mapping[str, float] | None = None,
              test_kwargs: Mapping | None = None) -> pd.DataFrame:
    """One world of ``design`` through the rules and the confirmatory tests (no files, no report).

    Returns
    -------
    pandas.DataFrame
        :func:`analysis.growth.confirmatory.test_hypotheses`'s rows (sentences skipped) plus
        ``latent_corr`` and ``latent_slope`` (the rule exposure used on the kind's latent share).
    """
    w, data = _world_data(design, seed, effects, rulebook)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = test_hypotheses(data, hypotheses, seed=int(seed), sentences=False,
                              attenuation=attenuation,
                                  **dict(test_kwargs or {}))
    att = _attenuations(data, w.latent_shares, list(zip(res["exposure"], res["category"])))
    res["latent_corr"] = [a[0] for a in att]
    res["latent_slope"] = [a[1] for a in att]
    return res


def run_worlds(design: Design, n_worlds: int, seed: int, *, effects: EffectsArg = "default",
               kinds: Sequence[str] = ("null", "planted"), hypotheses: HypothesesArg = None,
               rulebook: RulebookArg = None,
               attenuation: Mapping[str, float] | None = None, inference: str | None = None,
               start: int = 0, log: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Worlds ``start`` … ``start + n_worlds - 1`` of ``design``, each kind in ``kinds``.

    Pure and picklable: everything a world needs is in the arguments (plain data), world ``i`` uses
    seed ``seed * 1000 + i`` whatever else runs, and the worlds of one ``i`` share everything but
    the effects. A process pool may split ``range(n_worlds)`` with ``start``.

    Parameters
    ----------
    design : Design
        :func:`design_from_study`, or a Design built by hand.
    effects
        The planted worlds' effects: ``"default"`` (the generator's), a list of ``{category,
        outcome, lag, size}``, or a path.
    kinds : sequence of {"null", "planted", "min_effect"}
        Which worlds to run: ``min_effect`` plants every hypothesis at its ``min_effect``.
    hypotheses, rulebook
        As for the analysis (default: the package's files).
    attenuation : mapping, optional
        Passed to :func:`analysis.growth.confirmatory.test_hypotheses` (see
        :func:`attenuation_map`).
    inference : str, optional
        The confirmatory SEs (``test_hypotheses(inference=...)``; None: its default).
    log : callable, optional
        Told after each world (default: :func:`analysis.report.progress.step`, the report's
        heartbeat).

    Returns
    -------
    pandas.DataFrame
        One row per world, kind and hypothesis: ``world, kind, seed, id, category, outcome, lag,
        planted`` (the size planted on that hypothesis, 0 when none), ``exposure, std_effect,
        std_effect_se, ci_low, ci_high, ci90_low, ci90_high, p_unc, p_adj, mde, verdict,
        verdict_reason, rejected`` (significant after Holm), ``latent_corr, latent_slope``.
    """
    bad = [k for k in kinds if k not in KINDS_OF_WORLD]
    if bad:
        raise InputError(
            f"The value for `kinds` must be among {list(KINDS_OF_WORLD)}, but {bad} was passed.")
    from analysis.categories.rules import Rulebook, load_rulebook
    from analysis.synth import load_effects

    hf = as_hypothesis_file(hypotheses)
    # once, not per world
    book = rulebook if isinstance(rulebook, Rulebook) else load_rulebook(rulebook or None)
    spec = {"null": "none", "planted": effects, "min_effect": _min_effect_effects(hf)}
    sizes = {
        k: {(e.category, e.outcome, e.lag): e.size for e in load_effects(spec[k])} for k in kinds}
    test_kwargs = {"inference": inference} if inference else {}
    rows = []
    for i in range(int(start), int(start) + int(n_worlds)):
        world_seed = int(seed) * 1000 + i
        for kind in kinds:
            res = one_world(design, world_seed, spec[kind], hypotheses=hf, rulebook=book,
                            attenuation=attenuation, test_kwargs=test_kwargs)
            res = res.assign(world=i, kind=kind, seed=world_seed)
            res["planted"] = [sizes[kind].get((c, o, int(lag)), 0.0)
                              for c, o, lag in zip(res["category"], res["outcome"], res["lag"])]
            rows.append(res)
            done = (i - int(start)) * len(kinds) + list(kinds).index(kind) + 1
            (log or progress.step)(f"world {done}/{int(n_worlds) * len(kinds)} ({kind}) done")
    out = pd.concat(rows, ignore_index=True)
    out["rejected"] = out["p_adj"] < hf.alpha
    out = out[RUN_COLUMNS]
    # the hypotheses file's level and nothing else: a world's own test notes (warnings, its G)
    # differ between worlds, and pd.concat keeps attrs only where every part has the same (the
    # pool's parts)
    out.attrs = {"alpha": hf.alpha}
    return out


# ---------------------------------------------------------------------------------------------
# how many worlds by default, and worlds run by the report runner's pool

#: Phases of the page's worlds: null worlds first (their mean latent correlations give the
#: attenuation), then the planted and min_effect worlds tested with that attenuation.
PHASES = {"null": ("null",), "planted": ("planted", "min_effect")}
#: Default worlds of each kind: never fewer than this (on large data, where a world shaped like
#: it costs much, the rates then carry wide intervals; ``-p n_worlds=N`` asks for more)…
MIN_WORLDS = 2
#: … nor more (a larger count is asked for with ``-p n_worlds=N``).
MAX_WORLDS = 12
#: Cost model, in CPU seconds of the machine it was measured on (benchmarks/notes.md, "Default
#: world count, session 6": ``benchmarks/world_cost.py`` on five designs from 4 × 8 × 72 to
#: 80 × 7 × 118, and the rest of the report in three report runs). One world of kind ``k`` costs
#: ``a + b × periods + c × client-periods`` (portfolios × periods × clients) with ``(a, b, c) =
#: WORLD_COST[k]``: the planted and min_effect worlds cost about twice a null world (the
#: generator sizes their effects against the world's own noise), fitted on the five designs and
#: raised to cover the dearest (the sample's). The wild cluster bootstrap, the tests' inference
#: below ``fits.WILD_BELOW`` portfolios, adds ``WILD_PER_CELL`` × portfolio-periods a world.
WORLD_COST = {"null": (0.30, 0.006, 2.0e-5), "planted": (0.40, 0.024, 3.6e-5),
              "min_effect": (0.80, 0.023, 3.4e-5)}
WILD_PER_CELL = 8e-4
#: The plan (the study read back, its design, a reference world) before the first world.
WORLDS_FIXED = 1.5
#: The rest of the report: ``REPORT_FIXED + REPORT_PER_ROW`` × the data's client × period rows,
#: at the low end of what was measured (55.5 s on the export-shaped world, 65–69 s on the sample:
#: five pages, the study and the runner hardly grow with the rows at these sizes), so that the
#: count errs towards fewer worlds. Only the ratio of the two models matters, so the machine's
#: speed cancels out.
REPORT_FIXED, REPORT_PER_ROW = 57.0, 5.0e-5
#: The worlds' share of the whole report's CPU time aimed at by default: under the third the
#: issue allows, leaving room for the cost model's error (measured 0.2–0.3).
WORLDS_SHARE = 0.3


def worlds_inference(design: Design) -> str:
    """The confirmatory inference the worlds of ``design`` are tested with (the tests' default
    at the design's number of portfolios)."""
    from analysis.growth import fits

    return fits.resolve_inference(fits.DEFAULT_INFERENCE, design.portfolios)


def world_cost(design: Design, kind: str = "null", inference: str | None = None) -> float:
    """Estimated CPU seconds of one world of ``kind`` of ``design`` tested with ``inference``
    (None: :func:`worlds_inference`) — the cost model above."""
    a, b, c = WORLD_COST[kind]
    cells = design.portfolios * design.periods
    cost = a + b * design.periods + c * cells * design.clients
    if (inference or worlds_inference(design)) in ("wild", "wild_cv3"):
        cost += WILD_PER_CELL * cells
    return cost


def worlds_cost(design: Design, n_worlds: int, kinds: Sequence[str] = KINDS_OF_WORLD) -> float:
    """Estimated CPU seconds of the method check's ``n_worlds`` worlds of each of ``kinds``."""
    inference = worlds_inference(design)
    return WORLDS_FIXED + int(n_worlds) * sum(world_cost(design, k, inference) for k in kinds)


def report_rest_cost(rows: int) -> float:
    """Estimated CPU seconds of the report without its worlds, on ``rows`` client × period rows."""
    return REPORT_FIXED + REPORT_PER_ROW * max(int(rows), 0)


def default_worlds(design: Design, rows: int, kinds: Sequence[str] = KINDS_OF_WORLD) -> int:
    """Worlds of each kind that keep the method check within :data:`WORLDS_SHARE` of the
    report's time on data of ``rows`` client × period rows, worlds shaped by ``design``: the
    largest ``n`` with ``worlds_cost(n) ≤ share / (1 - share) · report_rest_cost``, between
    :data:`MIN_WORLDS` and :data:`MAX_WORLDS`. Deterministic: the same data and design always give
    the same count (the tables must not depend on the machine's speed)."""
    budget = WORLDS_SHARE / (1 - WORLDS_SHARE) * report_rest_cost(rows)
    per_world = worlds_cost(design, 1, kinds) - WORLDS_FIXED
    n = int((budget - WORLDS_FIXED) // per_world)
    return int(min(max(n, MIN_WORLDS), MAX_WORLDS))


def design_from_dict(d: Mapping) -> Design:
    """The :class:`Design` of :meth:`Design.as_dict` (e.g. read back from JSON)."""
    d = dict(d)
    for key in ("kind_shares", "event_scale"):
        d[key] = tuple((str(k), float(v)) for k, v in dict(d.get(key) or {}).items())
    return Design(**d)


def _check_count(n_worlds: int) -> int:
    """``n_worlds`` as a count of worlds of each kind, at least 1 (a page's ``n_worlds``
    parameter)."""
    if int(n_worlds) < 1:
        raise InputError(f"n_worlds = {int(n_worlds)}: give a number of worlds of each kind of at "
                         f"least 1 (-p n_worlds=N), or 0 for the default count")
    return int(n_worlds)


def save_plan(folder: str | Path, design: Design, n_worlds: int) -> None:
    """Write the worlds' design and count to ``folder/plan.json`` (the report runner's pool)."""
    n_worlds = _check_count(n_worlds)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"design": design.as_dict(), "n_worlds": int(n_worlds)}, ensure_ascii=False,
                      indent=1)
    (folder / "plan.json").write_text(text, encoding="utf-8")


def check_worlds(design: Design, n_worlds: int, seed: int, *, hypotheses: HypothesesArg = None,
                 rulebook: RulebookArg = None) -> pd.DataFrame:
    """The method-check page's worlds: ``n_worlds`` null worlds, their mean latent correlations as
    the attenuation (:func:`attenuation_map`), then as many planted and min_effect worlds tested
    with it (:func:`run_worlds`); the rows of all three kinds. The report runner computes the same
    rows in its process pool (:func:`save_plan`, :func:`run_part`, :func:`load_worlds`)."""
    n_worlds = _check_count(n_worlds)
    null = run_worlds(design, n_worlds, seed, kinds=PHASES["null"], hypotheses=hypotheses,
                      rulebook=rulebook)
    attenuation = attenuation_map(null.groupby("id", as_index=False)["latent_corr"].mean())
    planted = run_worlds(design, n_worlds, seed, kinds=PHASES["planted"], hypotheses=hypotheses,
                         rulebook=rulebook, attenuation=attenuation)
    return pd.concat([null, planted], ignore_index=True)


def run_part(folder: str | Path, phase: str, start: int, count: int, seed: int, *,
             hypotheses: HypothesesArg = None, rulebook: RulebookArg = None) -> float:
    """Worlds ``start`` … ``start + count - 1`` of ``phase`` (:data:`PHASES`) of the plan in
    ``folder`` (:func:`save_plan`), written to ``folder/<phase>-<start>.parquet``; the planted
    phase takes its attenuation from every null part (all present by then). Returns its CPU seconds.
    The same rows as :func:`run_worlds` over the whole range: world ``i`` depends on ``i`` alone."""
    import time

    t0 = time.process_time()
    folder = Path(folder)
    plan = json.loads((folder / "plan.json").read_text(encoding="utf-8"))
    design = design_from_dict(plan["design"])
    attenuation = None
    if phase != "null":
        attenuation = attenuation_map(_null_runs(folder, int(plan["n_worlds"]))
                                      .groupby("id", as_index=False)["latent_corr"].mean())
    runs = run_worlds(design, count, seed, kinds=PHASES[phase], hypotheses=hypotheses,
                      rulebook=rulebook,
                      attenuation=attenuation, start=start, log=lambda _: None)
    tmp = folder / f".{phase}-{start}.parquet"
    runs.to_parquet(tmp, index=False)
    os.replace(tmp, folder / f"{phase}-{start}.parquet")
    return time.process_time() - t0


def _parts(folder: Path, phase: str, n_worlds: int) -> pd.DataFrame:
    starts = sorted(int(p.stem.split("-", 1)[1]) for p in folder.glob(f"{phase}-*.parquet"))
    frames = [pd.read_parquet(folder / f"{phase}-{i}.parquet") for i in starts]
    got = sum(f["world"].nunique() for f in frames)
    if got != n_worlds:
        raise InputError(f"{folder.name}: {got} of the {n_worlds} {phase} worlds were computed; "
                         f"rerun the report")
    return pd.concat(frames, ignore_index=True)


def _null_runs(folder: Path, n_worlds: int) -> pd.DataFrame:
    return _parts(folder, "null", n_worlds)


def load_worlds(folder: str | Path) -> tuple[Design, pd.DataFrame]:
    """The design and every world's rows that the report runner's pool computed into ``folder``
    (:func:`save_plan`, :func:`run_part`): the same table as :func:`run_worlds` of the null worlds
    followed by the planted and min_effect worlds. Raises :class:`InputError` with the reason when
    the worlds did not finish (a worker that failed or died writes ``error.txt``)."""
    folder = Path(folder)
    if (folder / "error.txt").is_file():
        raise InputError("the method check's worlds did not finish: "
                         + (folder / "error.txt").read_text(encoding="utf-8").strip())
    try:
        plan = json.loads((folder / "plan.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise InputError(f"{folder.name}: the method check's worlds were not planned (plan.json "
                         f"missing); rerun the report") from None
    n = int(plan["n_worlds"])
    runs = pd.concat([_parts(folder, phase, n) for phase in PHASES], ignore_index=True)
    for col in ("world", "seed", "lag"):
        runs[col] = runs[col].astype("int64")
    return design_from_dict(plan["design"]), runs


def _world_data(design: Design, seed: int, effects, rulebook=None):
    from analysis.categories.features import client_features
    from analysis.categories.rules import (
        Rulebook,
        classify,
        classify_variants,
        load_rulebook,
        rule_features,
    )
    from analysis.synth import generate, world_panel

    w = generate(portfolios=design.portfolios, periods=design.periods, clients=design.clients,
                 freq=design.freq,
                 seed=int(seed), effects=effects, kind_shares=dict(design.kind_shares),
                 event_scale=dict(design.event_scale), names=False)
    panel = world_panel(w, freq=design.freq)
    book = rulebook if isinstance(rulebook, Rulebook) else load_rulebook(rulebook or None)
    W = design.window
    # only the features the rules read (17 of 50 with the default rulebook): a world shows no
    # profile
    feats = client_features(panel, w.clients, window=W, kpis=w.kpis, transactions=w.transactions,
                            only=rule_features(book))
    members = classify(panel, w.clients, rulebook=book, window=W, features=feats, kpis=w.kpis)
    variants = classify_variants(panel, w.clients, rulebook=book, window=W, features=feats)
    # a world shows no reasons, and pandas deep-copies attrs (the reasons lookup) on every operation
    members.attrs.clear()
    variants.attrs = {"variants": variants.attrs.get("variants", {})}
    return w, growth.portfolio_panel(panel, members, window=W, kpis=w.kpis, variants=variants)


def measure_attenuation(design: Design, n_worlds: int = 3, seed: int = 7, *,
                        hypotheses: HypothesesArg = None,
                        rulebook: RulebookArg = None) -> pd.DataFrame:
    """Attenuation per hypothesis from ``n_worlds`` null worlds of ``design``: only the rules
    matter, so no model is fit (a few seconds a world). Returns ``id, category, exposure,
    latent_corr, latent_slope, worlds``; :func:`attenuation_map` makes it the ``attenuation`` of
    :func:`analysis.growth.confirmatory.test_hypotheses`."""
    hf = as_hypothesis_file(hypotheses)
    rows = []
    for i in range(int(n_worlds)):
        w, data = _world_data(design, int(seed) * 1000 + i, "none", rulebook)
        for h in hf.hypotheses:
            col = model_exposures(data, h.outcome, [])[1].get(h.category,
                                                              growth.exposure_column(h.category))
            corr, slope = latent_attenuation(data, w.latent_shares, col, h.category)
            rows.append({"id": h.id, "category": h.category, "exposure": col, "world": i,
                         "latent_corr": corr, "latent_slope": slope})
    runs = pd.DataFrame(rows)
    g = runs.groupby(["id", "category", "exposure"], sort=False)
    return g.agg(latent_corr=("latent_corr", "mean"), latent_slope=("latent_slope", "mean"),
                 worlds=("world", "nunique")).reset_index()


def study_attenuation(s: Study, n_worlds: int, seed: int, *, hypotheses: HypothesesArg = None,
                      rulebook: RulebookArg = None,
                      worlds_dir: str | Path = "") -> dict[str, float] | None:
    """The growth pages' attenuation: :func:`attenuation_map` of :func:`measure_attenuation` over
    ``n_worlds`` null worlds of the study's design (None for 0 worlds). ``worlds_dir``: the
    method check's worlds, computed by the report runner's pool, which passes it only when its
    null worlds are these (same design, seed, hypotheses and rulebook: world ``i`` is seeded
    ``seed * 1000 + i`` in both); their latent correlations are then read, not simulated again
    (the same numbers for the hypotheses the confirmatory tests decide, the portfolio-level ones;
    the worlds test no client-level hypothesis). Without the first ``n_worlds`` of them there,
    they are measured here."""
    if not int(n_worlds):
        return None
    folder = Path(worlds_dir) if worlds_dir else None
    if folder is not None and not (folder / "error.txt").is_file():
        frames = [pd.read_parquet(p, columns=["world", "id", "latent_corr"])
                  for p in folder.glob("null-*.parquet")]
        runs = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        if len(runs):
            runs = runs[runs["world"] < int(n_worlds)]
        if len(runs) and set(runs["world"]) == set(range(int(n_worlds))):
            # world by world, as measure_attenuation averages them
            runs = runs.sort_values("world", kind="stable")
            return attenuation_map(runs.groupby("id", sort=False, as_index=False)["latent_corr"]
                                   .mean())
    return attenuation_map(measure_attenuation(design_from_study(s), n_worlds, seed,
                                               hypotheses=hypotheses, rulebook=rulebook))


def attenuation_map(table: pd.DataFrame) -> dict[str, float]:
    """``{hypothesis id: attenuation}`` for :func:`analysis.growth.confirmatory.test_hypotheses`:
    the mean correlation of the rule's exposure with the latent share (an effect of size b on the
    latent share shows as about corr × b on the rule's standardised exposure)."""
    col = "latent_corr" if "latent_corr" in table.columns else "mean_latent_corr"
    return {str(i): float(np.clip(a, 0.0, 1.0)) for i,
            a in zip(table["id"], table[col]) if np.isfinite(a)}


# ---------------------------------------------------------------------------------------------
# rates with binomial CIs


def rate_ci(k: int, n: int, level: float = 0.95) -> tuple[float, float, float]:
    """Rate and exact (Clopper-Pearson) CI of ``k`` successes in ``n``; NaNs when ``n`` is 0."""
    if n <= 0:
        return float("nan"), float("nan"), float("nan")
    ci = sps.binomtest(int(k), int(n)).proportion_ci(confidence_level=level, method="exact")
    return k / n, float(ci.low), float(ci.high)


def rate_text(k: int, n: int, level: float = 0.95, lang: str = "en") -> str:
    """``"3/16 (0.19, 95 % CI 0.04–0.46)"``, ``"0/16 (0.00, 95 % CI 0.00–0.21)"``: the count first,
    never ``< 0.001``; Russian with ДИ and decimal commas."""
    if n <= 0:
        return "0/0"
    r, lo, hi = rate_ci(k, n, level)
    pct = f"{round(100 * level)} %"
    if lang == "ru":
        return f"{k}/{n} ({r:.2f}, {pct} ДИ {lo:.2f}–{hi:.2f})".replace(".", ",")
    return f"{k}/{n} ({r:.2f}, {pct} CI {lo:.2f}–{hi:.2f})"


def _rate_cols(prefix: str, flags: pd.Series, lang: str = "en") -> dict:
    k, n = int(flags.sum()), int(flags.size)
    r, lo, hi = rate_ci(k, n)
    return {f"{prefix}": r, f"{prefix}_ci_low": lo, f"{prefix}_ci_high": hi, f"{prefix}_k": k,
            f"{prefix}_n": n,
            f"{prefix}_text": rate_text(k, n, lang=lang)}


def rate_texts(table: pd.DataFrame, lang: str = "en") -> pd.DataFrame:
    """``table`` (:func:`summary`'s) with every ``<rate>_text`` column written anew in ``lang`` from
    its ``<rate>_k`` and ``<rate>_n`` (:func:`rate_text`). The saved table keeps the texts in
    English whatever the report's language — tables are data (docs/data.md, ``method_check.csv``);
    the page shows them in its own language with this."""
    out = table.copy()
    for col in [c for c in out.columns if c.endswith("_text")]:
        prefix = col[: -len("_text")]
        if f"{prefix}_k" in out.columns and f"{prefix}_n" in out.columns:
            out[col] = [rate_text(int(k), int(n), lang=lang)
                        for k, n in zip(out[f"{prefix}_k"], out[f"{prefix}_n"])]
    return out


def level(runs: pd.DataFrame) -> float:
    """The level α the worlds were tested at (the hypotheses file's, set by :func:`run_worlds`)."""
    if "alpha" not in runs.attrs:
        raise ValueError(
            "these runs carry no level α: make them with run_worlds (pd.concat keeps it)")
    return float(runs.attrs["alpha"])


def summary(runs: pd.DataFrame, lang: str = "en") -> pd.DataFrame:
    """Per hypothesis, with exact binomial 95 % CIs (``<rate>``, ``_ci_low``, ``_ci_high``, ``_k``,
    ``_n`` and ``_text``, e.g. ``"0/16 (0.00, 95 % CI 0.00–0.21)"``):

    - ``size``: rejections (Holm) in null worlds where the hypothesis was tested (a world whose
      test refused it, ``not_testable``, is no evidence that the test holds its level);
      ``size_unadjusted``: p_unc < α there (the hypotheses file's level, :func:`level`).
    - ``power_planted``: rejections with the expected sign in planted worlds where this hypothesis
      carries an effect; ``power_min_effect``: the same in min_effect worlds.
    - ``false_no_effect``: ``no_effect`` verdicts where an effect was planted (planted and
      min_effect worlds together).
    - ``planted``, ``mean_std_effect_null``, ``mean_std_effect_planted``, ``mean_mde``,
      ``latent_corr``, ``latent_slope`` (attenuation, mean over worlds), ``attenuation_measured``
      (mean measured effect ÷ planted size in planted worlds).
    """
    alpha = level(runs)
    out = []
    for (hid, cat, outc, lag), g in runs.groupby(["id", "category", "outcome", "lag"], sort=False):
        row = {"id": hid, "category": cat, "outcome": outc, "lag": lag}
        null = g[g["kind"] == "null"]
        pl = g[(g["kind"] == "planted") & (g["planted"] != 0)]
        me = g[(g["kind"] == "min_effect") & (g["planted"] != 0)]
        eff = g[(g["kind"] != "null") & (g["planted"] != 0)]
        null = null[null["p_unc"].notna()]  # a world the test refused cannot show its size
        row.update(_rate_cols("size", null["rejected"].astype(bool), lang))
        row.update(_rate_cols("size_unadjusted", null["p_unc"] < alpha, lang))

        def hit(d: pd.DataFrame) -> pd.Series:
            return d["rejected"].astype(bool) & (np.sign(d["std_effect"]) == np.sign(d["planted"]))

        row.update(_rate_cols("power_planted", hit(pl), lang))
        row.update(_rate_cols("power_min_effect", hit(me), lang))
        row.update(_rate_cols("false_no_effect", eff["verdict"] == "no_effect", lang))
        row["planted"] = float(pl["planted"].iloc[0]) if len(pl) else 0.0
        row["mean_std_effect_null"] = float(null["std_effect"].mean()) if len(null) else np.nan
        row["mean_std_effect_planted"] = float(pl["std_effect"].mean()) if len(pl) else np.nan
        row["mean_mde"] = float(g["mde"].mean())
        row["latent_corr"] = float(g["latent_corr"].mean())
        row["latent_slope"] = float(g["latent_slope"].mean())
        row["attenuation_measured"] = (
            row["mean_std_effect_planted"] / row["planted"]) if row["planted"] else np.nan
        out.append(row)
    return pd.DataFrame(out)


def familywise(runs: pd.DataFrame) -> dict:
    """Family-wise rate in null worlds (any hypothesis rejected after Holm) with its exact 95 % CI:
    ``rate, ci_low, ci_high, k, n, text`` and ``warn`` (True when the whole CI lies above 0.10).
    Only worlds where at least one hypothesis was tested count: where the tests refused every
    hypothesis (too few portfolios or periods) nothing could be rejected, and counting such a
    world as one without a false positive would claim a level the tests never ran at (``n`` 0:
    no null world was tested)."""
    tested = runs["p_unc"].notna() if "p_unc" in runs else pd.Series(True, index=runs.index)
    null = runs[(runs["kind"] == "null") & tested]
    flags = null.groupby("world")["rejected"].any() if len(null) else pd.Series(dtype=bool)
    k, n = int(flags.sum()), int(flags.size)
    r, lo, hi = rate_ci(k, n)
    return {"rate": r, "ci_low": lo, "ci_high": hi, "k": k, "n": n, "text": rate_text(k, n),
            "warn": bool(n and lo > 0.10)}


def familywise_sentence(fw: Mapping, alpha: float, lang: str = "en") -> str:
    """Page 5's sentence on :func:`familywise`'s ``fw`` at level ``alpha``: the rate and the level
    the design holds it at, or, where no null world was tested (``n`` 0), that these worlds say
    nothing about it."""
    from analysis import i18n

    if not int(fw["n"]):
        return i18n.t("fwer_untested", lang)
    rate, low, high = (i18n.number(fw[k], lang, 2) for k in ("rate", "ci_low", "ci_high"))
    return i18n.t("fwer", lang, count=f"{fw['k']}/{fw['n']}", rate=rate, low=low, high=high,
                  alpha=i18n.level(alpha, lang))


def familywise_error(runs: pd.DataFrame) -> float:
    """Share of null worlds in which at least one confirmatory hypothesis was rejected."""
    return float(familywise(runs)["rate"])


# ---------------------------------------------------------------------------------------------
# how well the rules see the kinds


def rule_quality(membership: pd.DataFrame, truth: Mapping,
                 categories: Sequence[str] = ARTICLE_KINDS) -> pd.DataFrame:
    """Precision and recall of the rules per client-period against a synthetic world's latent kinds.

    Parameters
    ----------
    membership : pandas.DataFrame
        :func:`analysis.categories.rules.classify`'s table for the world.
    truth : mapping
        The world's ``truth`` (``truth.json``): ``clients → {kinds}``.

    Returns
    -------
    pandas.DataFrame
        One row per category: ``category, decided`` (client-periods with a known membership),
        ``latent`` (of them, clients of the kind), ``members``, ``true_positives``, ``precision``,
        ``recall``.
    """
    kinds = {str(c): set(v["kinds"]) for c, v in truth["clients"].items()}
    rows = []
    for k in categories:
        m = membership[(membership["category"] == k) & membership["member"].notna()]
        pred = m["member"].astype(bool).to_numpy()
        real = np.array([k in kinds.get(str(c), ()) for c in m["client_id"]], dtype=bool)
        tp = int((pred & real).sum())
        rows.append({"category": k, "decided": int(len(m)), "latent": int(real.sum()),
                     "members": int(pred.sum()),
                     "true_positives": tp, "precision": tp / pred.sum() if pred.sum() else np.nan,
                     "recall": tp / real.sum() if real.sum() else np.nan})
    return pd.DataFrame(rows)


def world_rule_quality(seed: int, *, portfolios: int = 30, periods: int = 12, clients: int = 40,
                       freq: str = "Q",
                       rulebook: RulebookArg = None, window: int = 0) -> pd.DataFrame:
    """:func:`rule_quality` on one null world generated with ``seed`` (the default rulebook unless
    given), classified over ``window`` periods (0: the frequency's default window)."""
    from analysis.categories.rules import classify
    from analysis.config import FREQUENCIES
    from analysis.synth import generate, world_panel

    w = generate(portfolios=portfolios, periods=periods, clients=clients, freq=freq, seed=int(seed),
                 effects="none")
    window = int(window) or FREQUENCIES[freq][2]
    panel = world_panel(w, freq=freq)
    m = classify(panel, w.clients, rulebook=rulebook, window=window, kpis=w.kpis,
                 transactions=w.transactions,
                 categories=list(ARTICLE_KINDS))
    return rule_quality(m, w.truth).assign(seed=int(seed), freq=freq)
