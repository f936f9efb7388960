"""The confirmatory tests: each hypothesis tested, Holm-adjusted and given a verdict.

docs/methods.md ("Statistics"): the models are :mod:`analysis.growth.fits` (panel mode with the
few-cluster inference ``DEFAULT_INFERENCE``, or the one-portfolio ADL model with its deciding
test); Holm over the hypothesis set at level alpha; the verdict rules are
:mod:`analysis.growth.verdicts`, the sentences :mod:`analysis.growth.wording`.

- **MDE**: (t(df, 1 - alpha/(2m)) + z(0.8)) × SE of ``std_effect`` (:func:`analysis.stats.mde`),
  with the test's own SE and df (G-1, or the Bell–McCaffrey df for CR2; the bootstrap-t SE for the
  wild bootstraps), on the pages × the design's simulated ratio (``mde_by_design``).
- Short one-portfolio series carry a loud warning.

Every sentence describes an association; none claims a cause.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis.errors import InputError
from analysis.growth import panel as growth
from analysis.growth.fits import (
    DEFAULT_INFERENCE,
    INFERENCE_CHOICES,
    INFERENCE_NAMES,
    MIN_PERIODS,
    SINGLE_TESTS,
    PortfolioArrays,
    calibrate_single,
    choose_mode,
    fit_single,
    fit_twoway,
    independent_exposures,
    model_exposures,
    model_notes,
    n_portfolios,
    resolve_inference,
    usable_exposures,
    within_sd,
)
from analysis.growth.spec import HypothesesArg, Hypothesis, HypothesisFile, as_hypothesis_file
from analysis.growth.verdicts import POWER, verdict, verdict_reason
from analysis.growth.wording import sentence
from analysis.stats import fe, mde
from analysis.stats.cluster import bootstrap_p_floor
from analysis.stats.multicomp import holm

SHORT_SERIES = 60

RESULT_COLUMNS = [
    "id", "category", "outcome", "lag", "expected_sign", "measure", "exposure", "mode", "test",
    "inference", "n",
    "n_portfolios",
    "estimate", "std_effect", "std_effect_se", "ci_low", "ci_high", "ci90_low", "ci90_high",
    "p_unc", "p_adj", "p_adjust_method", "df", "mde", "power", "min_effect", "attenuation",
    "verdict",
    "verdict_reason", "sentence_en", "sentence_ru", "diagnostics", "n_periods", "reason_code",
    "hypothesis_en", "hypothesis_ru",
]  # fmt: skip


def test_hypotheses(
    data: pd.DataFrame,
    hypotheses: HypothesesArg = None,
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
    mde_by_design: bool = False,
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
    inference : {"auto", "cr1", "cr2", "cv3", "wild", "wild_cv3"}
        Panel mode: the few-cluster inference of the tests
        (:func:`analysis.stats.panel_regression`'s ``inference``). The default ``auto``
        (``DEFAULT_INFERENCE``, chosen by simulation) is
        :func:`analysis.growth.fits.resolve_inference`:
        the restricted wild cluster bootstrap of the CV3 t (``wild_cv3``) below 12 portfolios, the
        CV3 jackknife with t(G-1) from 12 on; the ``inference`` column names the method used. The
        CIs, the 90 % equivalence CI and the MDE use the same standard errors and df (for ``wild``
        and ``wild_cv3`` the bootstrap-t SE, the CR1 or CV3 SE × q*/t(G-1) with q* the 95 % quantile
        of the bootstrap |t*|, with df G-1). The (t + z) MDE on a bootstrap-t SE overstates the
        bootstrap's power (``wild``: found with power 0.52 at it on lean worlds of 10 units × 19
        periods); ``mde_by_design`` calibrates it.
    attenuation : mapping, optional
        Per hypothesis id (or category): the slope of the rule's exposure on the kind's latent
        share, measured by :func:`analysis.report.method_check.run_worlds` on worlds of this design.
        A test is ``no_effect`` only when its 90 % CI lies inside ±attenuation × min_effect; one
        that rules out min_effect on the rule-defined kind but not on the latent kind is
        ``inconclusive`` with ``verdict_reason`` ``rule_too_noisy``. Default: 1 (not measured).
    sentences : bool
        False skips the sentences (the method check's many worlds do not read them).
    mde_by_design : bool
        CV3 and wild-bootstrap rows: the MDE column × the design's ratio of the row's model
        (:func:`analysis.growth.fits.cv3_mde_ratio`, :func:`analysis.growth.fits.wild_mde_ratio`:
        the test's simulated MDE on the model's own design over the (t + z) × SE formula of the
        same draws), so that the test finds an effect of that size with ``power`` (the formula
        alone: 0.83 for CV3 at 8 units, 0.52 for ``wild`` at 10); ``attrs["mde_ratio"]`` keeps the
        ratios. Off by default (a simulation per model; the method check's worlds do not read the
        MDE's calibration); the report's pages turn it on.

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
        ``too_few_portfolios``, ``exposure_constant``, ``one_portfolio_identifies`` (the
        jackknife loses the exposure without one portfolio), ``too_few_rows``, ``model_failed``; the
        sentences say it in words, :func:`reason_sentence`), ``hypothesis_en, hypothesis_ru`` (the
        hypothesis as the file states it, its ``text_en`` / ``text_ru``; empty when the file gives
        none). ``exposure`` names the column that entered for the category (its rule variant for an
        outcome on "the other clients"). Verdicts concern the kind as the rulebook defines it.

        ``DataFrame.attrs``: ``mode``, ``alpha``, ``warnings`` (list of strings, the short-series
        warning among them), ``calibration`` (one-portfolio mode: :func:`calibrate_single`'s
        table as records), ``small_sample`` (panel mode: the convention used).
    """
    hf = _portfolio_hypotheses(hypotheses)
    alpha = hf.alpha if alpha is None else float(alpha)
    _check_options(measure, inference)
    md = choose_mode(data, mode)
    inference = resolve_inference(inference, n_portfolios(data))
    warn_list: list[str] = []
    attrs: dict = {"mode": md, "alpha": alpha, "measure": measure}
    # id: the model's outcome, exposures, term
    models: dict[str, tuple[str, tuple[str, ...], str]] = {}
    if md == "panel":
        rows = _panel_rows(data, hf.hypotheses, measure=measure, inference=inference, seed=seed,
                           attrs=attrs,
                           warn_list=warn_list, models=models)
    else:
        rows = _single_rows(data, hf.hypotheses, measure=measure, alpha=alpha, seed=seed,
                            n_calibration=n_calibration, attrs=attrs, warn_list=warn_list)
    out = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    out["attenuation"] = _attenuations(out, attenuation)
    scale = _mde_ratios(data, out, models, alpha=alpha, power=power, seed=seed,
                        inference=inference) \
        if mde_by_design and md == "panel" and inference in ("cv3", "wild", "wild_cv3") else {}
    if scale:
        attrs["mde_ratio"] = scale
    out = _decide(out, alpha=alpha, power=power, sentences=sentences, mde_scale=scale)
    out.attrs.update(attrs, warnings=warn_list)
    return out


test_hypotheses.__test__ = False  # type: ignore[attr-defined]  # pytest reads it; not a test


def _portfolio_hypotheses(hypotheses: HypothesesArg) -> HypothesisFile:
    """The checked file with its portfolio-level hypotheses only (client level:
    :mod:`analysis.growth.client_links`)."""
    hf = as_hypothesis_file(hypotheses)
    return hf.model_copy(
        update={"hypotheses": [h for h in hf.hypotheses if h.level == "portfolio"]})


def _check_options(measure: str, inference: str) -> None:
    if measure not in growth.EXPOSURES:
        raise InputError(f"The value for `measure` must be one of {list(growth.EXPOSURES)}, but "
                         f"{measure!r} was passed.")
    if inference not in INFERENCE_CHOICES:
        raise InputError(f"The value for `inference` must be one of {list(INFERENCE_CHOICES)}, but "
                         f"{inference!r} was passed.")


def _attenuations(out: pd.DataFrame, attenuation: Mapping[str, float] | None) -> list[float]:
    """Each row's attenuation: by hypothesis id, else by category, else 1."""
    att = dict(attenuation or {})
    return [float(att.get(i, att.get(c, 1.0))) for i, c in zip(out["id"], out["category"])]


def _mde_ratios(data: pd.DataFrame, out: pd.DataFrame,
                models: Mapping[str, tuple[str, tuple[str, ...], str]], *,
                alpha: float, power: float, seed: int, inference: str = "cv3") -> dict[str, float]:
    """``{id: ratio}`` of :func:`analysis.growth.fits.cv3_mde_ratio` (``wild``:
    :func:`analysis.growth.fits.wild_mde_ratio`, with the fit's bootstrap weights) for the tested
    rows (one simulation per model, m = the tested rows)."""
    from analysis.growth.fits import cv3_mde_ratio, wild_mde_ratio

    def ratio(arr, col, cols, m):
        if inference in ("wild", "wild_cv3"):
            return wild_mde_ratio(arr, col, cols, alpha=alpha, power=power, m=m, seed=seed,
                                  fit_seed=seed,
                                  statistic="cv3" if inference == "wild_cv3" else "cr1")
        return cv3_mde_ratio(arr, col, cols, alpha=alpha, power=power, m=m, seed=seed)

    tested = set(out.loc[out["p_unc"].notna(), "id"])
    arr, cache, res = PortfolioArrays(data), {}, {}
    for hid, (col, cols, term) in models.items():
        if hid not in tested:
            continue
        if (col, cols) not in cache:
            cache[(col, cols)] = ratio(arr, col, list(cols), len(tested))
        if term in cache[(col, cols)]:
            res[hid] = cache[(col, cols)][term]
    return res


def _panel_rows(data: pd.DataFrame, hypotheses: Sequence[Hypothesis], *, measure: str,
                inference: str, seed: int,
                attrs: dict, warn_list: list[str], models: dict) -> list[dict]:
    """Panel mode: one row per hypothesis from the two-way model of its outcome (one fit per
    outcome and set of exposures, shared by the hypotheses that need it)."""
    arr = PortfolioArrays(data)
    exp_cols = usable_exposures(arr, measure=measure)
    fits: dict[tuple, fe.TwoWayFit | pd.DataFrame | None] = {}
    G = n_portfolios(data)
    attrs["inference"] = inference
    if G < 30 and inference == "cr1":
        warn_list.append(
            f"few portfolios: G={G} < 30; clustered standard errors are then less reliable")
    rows = []
    for h in hypotheses:
        col = growth.outcome_column(h.outcome, h.lag)
        cols_h, terms = model_exposures(arr, h.outcome, exp_cols, measure=measure)
        term = terms.get(h.category, growth.exposure_column(h.category, measure))
        cols_h, collinear = independent_exposures(arr, col, cols_h, keep=term)
        key = (col, tuple(cols_h))
        if key not in fits:
            fits[key] = fit_twoway(arr, col, cols_h, inference, seed) if col in data.columns \
                else None
        row = _blank(h, measure, "panel")
        row["exposure"] = term
        row["inference"] = inference
        row["test"] = ("panel: portfolio and period fixed effects, clustered by portfolio, "
                       f"{INFERENCE_NAMES[inference][0]}")
        rows.append(_panel_row(row, fits[key], arr, col, term, cols_h, collinear, h.id, attrs,
                               warn_list))
        models[h.id] = (col, tuple(cols_h), term)
    return rows


def _panel_row(row: dict, fit: fe.TwoWayFit | pd.DataFrame | None, arr: PortfolioArrays, col: str,
               term: str,
               model_cols: Sequence[str], collinear: Sequence[str], hid: str, attrs: dict,
               warn_list: list[str]) -> dict:
    """``row`` filled from the fit's ``term`` (or with why it was not tested)."""
    data = arr.data
    if not isinstance(fit, fe.TwoWayFit) or term not in fit.terms[:-1]:
        why = "outcome not in the data" if col not in data.columns else (
            "exposure does not vary after removing portfolio and period means or is missing"
            if term not in model_cols else "model could not be fit")
        if isinstance(fit, pd.DataFrame):
            why = str(fit["diagnostics"].iloc[0])
        row["diagnostics"] = why
        row.update(_why_not_testable(data, col, term, "panel"))
        if (row["reason_code"] == "model_failed" and isinstance(fit, pd.DataFrame)
                and bool(fit["too_few_rows"].iloc[0])):
            row["reason_code"] = "too_few_rows"
        return row
    j = fit.terms.index(term)
    used = (arr.per >= 0) & np.isfinite(arr.col(term)) & np.isfinite(arr.col(col))
    row.update(n=int(fit.n), n_portfolios=int(fit.n_entities), estimate=float(fit.estimate[j]),
               std_effect=float(fit.std_effect[j]), std_effect_se=float(fit.std_effect_se[j]),
               p_unc=float(fit.p_unc[j]), df=float(fit.df[j]),
               n_periods=len(np.unique(arr.per[used])),
               diagnostics="; ".join(s for s in (fit.diagnostics[j], model_notes(fit)) if s))
    if not bool(fit.identified[j]):
        why = ("the exposure is identified by one portfolio: dropping it leaves the effect "
               "unidentified, so the jackknife cannot test it")
        row["diagnostics"] = "; ".join(s for s in (why, row["diagnostics"]) if s)
        row["reason_code"] = ("too_few_rows" if _loo_too_small(fit)
                              else "one_portfolio_identifies")
        warn_list.append(f"{hid}: not tested — {why}")
    if collinear:
        why = (f"left out of the model, collinear with the other exposures after removing "
               f"portfolio and period means: {', '.join(collinear)}")
        row["diagnostics"] = "; ".join(s for s in (why, row["diagnostics"]) if s)
    attrs["small_sample"] = fit.small_sample
    return row


def _loo_too_small(fit: fe.TwoWayFit) -> bool:
    """Whether leaving out one portfolio (of a balanced panel: ``n / G`` rows) leaves fewer rows
    than the model's parameters (slopes, the other portfolios' and the periods' effects) plus
    two: then no portfolio in particular identifies the exposure, the panel is too short for the
    jackknife."""
    g, k = fit.n_entities, len(fit.terms)
    return fit.n * (g - 1) / g < k + (g - 1) + (fit.n_periods - 1) + 2


def _deciding_test(data: pd.DataFrame, *, measure: str, alpha: float, seed: int, n_calibration: int,
                   attrs: dict, warn_list: list[str]) -> str:
    """One-portfolio mode: the test whose simulated null rejection rate at the series' length is
    closest to alpha (:func:`analysis.growth.fits.calibrate_single`), with the short-series
    warning."""
    n_obs = int(
        data[usable_exposures(data, measure=measure)[:1] or ["period"]].notna().sum().iloc[0]) \
        if usable_exposures(data, measure=measure) else len(data)
    n_cal = max(min(n_obs - 1, 10_000), 8)
    cal = calibrate_single(n_cal, alpha=alpha, n_sims=n_calibration, seed=seed)
    deciding = str(cal.loc[cal["deciding"], "test"].iloc[0])
    attrs["calibration"] = cal.to_dict("records")
    warn_list.append(
        f"ONE PORTFOLIO: {n_obs} periods. Tests on a single short series are poorly calibrated; "
        f"the deciding test ({deciding}) rejected "
        f"{float(cal.loc[cal['deciding'], 'rejection_rate'].iloc[0]):.1%} of simulated null series "
        f"at this length (nominal {alpha:.0%})."
        + (f" Below {SHORT_SERIES} periods treat every verdict as tentative."
           if n_obs < SHORT_SERIES else ""))
    return deciding


def _single_rows(data: pd.DataFrame, hypotheses: Sequence[Hypothesis], *, measure: str,
                 alpha: float, seed: int,
                 n_calibration: int, attrs: dict, warn_list: list[str]) -> list[dict]:
    """One-portfolio mode: one row per hypothesis from the ADL model and the deciding test."""
    if n_portfolios(data) > 1:
        raise InputError("one-portfolio mode needs data of a single portfolio; filter it first or "
                         "use mode='panel'")
    deciding = _deciding_test(data, measure=measure, alpha=alpha, seed=seed,
                              n_calibration=n_calibration,
                              attrs=attrs, warn_list=warn_list)
    rows = []
    for h in hypotheses:
        col = growth.outcome_column(h.outcome, h.lag)
        term = model_exposures(data, h.outcome, [], measure=measure)[1].get(
            h.category, growth.exposure_column(h.category, measure))
        row = _blank(h, measure, "single")
        row["exposure"] = term
        row["inference"] = deciding
        row["test"] = (f"one portfolio: ADL (own lag 1), deciding test {deciding} chosen by "
                       "calibration")
        fit = fit_single(data, col, term, deciding, seed) \
            if col in data.columns and term in data.columns else None
        if fit is None:
            row["diagnostics"] = ("too few periods, or the exposure or outcome is missing or "
                                  "constant")
            row.update(_why_not_testable(data, col, term, "single"))
            rows.append(row)
            continue
        pt = fit["p_by_test"]
        row.update(n=int(fit["n"]), n_portfolios=1, n_periods=int(fit["n"]),
                   estimate=float(fit["estimate"]),
                   std_effect=float(fit["std_effect"]), std_effect_se=float(fit["std_effect_se"]),
                   p_unc=float(fit["p_unc"]), df=float(fit["df"]),
                   diagnostics="; ".join([f"p_{t}={pt[t]:.3g}" for t in SINGLE_TESTS]
                                         + ([str(fit["diagnostics"])] if fit.get("diagnostics")
                                            else [])))
        rows.append(row)
    return rows


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


def _blank(h: Hypothesis, measure: str, md: str) -> dict:
    return {c: np.nan for c in RESULT_COLUMNS} | {
        "id": h.id, "category": h.category, "outcome": h.outcome, "lag": h.lag,
        "expected_sign": h.expected_sign, "measure": measure, "mode": md,
        "min_effect": h.min_effect,
        "p_adjust_method": "holm", "diagnostics": "", "test": "", "reason_code": "",
        "hypothesis_en": h.text_en, "hypothesis_ru": h.text_ru,
    }


def apply_attenuation(results: pd.DataFrame, attenuation: Mapping[str, float] | None, *,
                      alpha: float | None = None) -> pd.DataFrame:
    """:func:`test_hypotheses`'s table with the verdicts re-decided for a measured ``attenuation``
    (per hypothesis id or category; see :func:`test_hypotheses`), without refitting: the
    ``attenuation``, ``verdict``, ``verdict_reason`` and sentence columns change, nothing else.

    ``alpha``: the level the verdicts are decided at; default the one :func:`test_hypotheses`
    recorded (``results.attrs["alpha"]``). A table that lost it (read back from a file) needs
    ``alpha`` given: guessing 0.05 would re-decide a file of another level silently.

    Raises
    ------
    analysis.errors.InputError
        ``alpha`` neither given nor recorded in ``results.attrs``.
    """
    if not attenuation:
        return results
    out = results.copy()
    if alpha is None:
        if "alpha" not in out.attrs:
            raise InputError("apply_attenuation: the results carry no level alpha (attrs['alpha'] "
                             "is missing, e.g. a table read back from hypotheses.csv); pass alpha= "
                             "(the hypotheses file's).")
        alpha = out.attrs["alpha"]
    alpha = float(alpha)
    out["attenuation"] = _attenuations(out, attenuation)
    return _verdicts(out, alpha=alpha, sentences="sentence_en" in out.columns)


def _verdicts(out: pd.DataFrame, *, alpha: float, sentences: bool) -> pd.DataFrame:
    """``verdict``, ``verdict_reason`` and (with ``sentences``) the sentences of decided rows, in
    place."""
    out["verdict"] = [
        verdict(r.p_adj, r.std_effect, r.ci90_low, r.ci90_high, expected_sign=r.expected_sign,
                min_effect=r.min_effect, alpha=alpha, attenuation=r.attenuation)
        for r in out.itertuples()
    ]
    out["verdict_reason"] = [
        verdict_reason(r.verdict, r.ci90_low, r.ci90_high, min_effect=r.min_effect,
                       attenuation=r.attenuation)
        for r in out.itertuples()
    ]
    if not holm_reachable(out, alpha):  # never a silent non-rejection
        out.loc[out["verdict"] == "inconclusive", "verdict_reason"] = "p_floor"
    if sentences:
        out["sentence_en"] = [sentence(r, "en") for _, r in out.iterrows()]
        out["sentence_ru"] = [sentence(r, "ru") for _, r in out.iterrows()]
    return out


def holm_reachable(results: pd.DataFrame, alpha: float) -> bool:
    """Whether the tested rows' p-values can reach Holm's strictest level alpha/m at all. With 3
    portfolios the wild bootstrap enumerates all 216 Webb vectors and its p-value cannot fall below
    6/216 (:func:`analysis.stats.cluster.bootstrap_p_floor`): no hypothesis can then be supported
    or contradicted, whatever the data, and the inconclusive rows say so (``verdict_reason``
    ``p_floor``). True for every other inference."""
    tested = results[results["p_unc"].notna() & results["inference"].isin(["wild", "wild_cv3"])]
    if tested.empty or (results["mode"] != "panel").any():
        return True
    floor = bootstrap_p_floor(int(tested["n_portfolios"].max()))
    return floor * int(results["p_unc"].notna().sum()) < alpha


def _decide(out: pd.DataFrame, *, alpha: float, power: float, sentences: bool = True,
            mde_scale: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Holm adjustment, CIs, MDE (× ``mde_scale`` by id where given), verdicts and sentences for a
    frame of confirmatory rows."""
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
        if mde_scale:
            scale = out.loc[ok, "id"].map(dict(mde_scale)).fillna(1.0)
            out.loc[ok, "mde"] *= scale.to_numpy(dtype=float)
    out["power"] = power
    return _verdicts(out, alpha=alpha, sentences=sentences)



def mde_table(result: pd.DataFrame,
              attenuation: dict[str, float] | float | None = None) -> pd.DataFrame:
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


__all__ = ["RESULT_COLUMNS", "SHORT_SERIES", "apply_attenuation", "holm_reachable", "mde_table",
           "test_hypotheses"]
