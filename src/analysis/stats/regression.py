"""Regressions of an outcome on category exposures: the panel model (many portfolios), the
autoregressive distributed-lag model (one portfolio) and the Granger F test."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
import statsmodels.api as sm
from linearmodels import PanelOLS
from linearmodels.panel.data import PanelData
from linearmodels.panel.results import PanelEffectsResults
from linearmodels.panel.utility import AbsorbingEffectError
from statsmodels.tsa.stattools import grangercausalitytests

from analysis.errors import InputError
from analysis.stats._panel import (
    assemble_fit,
    check_model_size,
    cr1_correction,
    few_clusters,
    t_columns,
    vifs,
)
from analysis.stats._validate import (
    as_list,
    check_choice,
    check_columns,
    check_confidence,
    check_numeric,
    warn,
)
from analysis.stats.cluster import INFERENCE_METHODS, ClusterInference, cluster_inference
from analysis.stats.fe import entity_demean, period_dummies
from analysis.stats.resampling import block_indices

PANEL_COV_TYPES = ("unadjusted", "robust", "clustered")
TS_COV_TYPES = ("hac", "unadjusted", "robust", "bootstrap")
SHORT_SERIES = 60


def _demean(frame: pd.DataFrame, group: str) -> pd.DataFrame:
    """Remove entity and/or period means. A balanced panel uses the closed form
    x - mean_i - mean_t + mean (fast, exact); otherwise linearmodels' dummy-variable demeaning."""
    if group == "none":
        return frame - frame.mean()
    ent = frame.index.get_level_values(0)
    tim = frame.index.get_level_values(1)
    if group == "entity":
        return frame - frame.groupby(ent).transform("mean")
    if group == "time":
        return frame - frame.groupby(tim).transform("mean")
    if len(frame) == ent.nunique() * tim.nunique():
        return (
            frame
            - frame.groupby(ent).transform("mean")
            - frame.groupby(tim).transform("mean")
            + frame.mean()
        )
    return PanelData(frame).demean("both").dataframe


def _cluster_design(
    frame: pd.DataFrame,
    outcome: str,
    regressors: list[str],
    entity_effects: bool,
    time_effects: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """The design ``U = [X, S]`` of :mod:`analysis.stats.cluster`: entity effects (nested in the
    entity clusters) absorbed by demeaning within entity; period effects as explicit dummies
    (the first dropped with entity effects; entity-demeaned like the rest); an intercept last
    without any effects. Rows in ``frame``'s order; slope columns in ``regressors`` order."""
    ent = frame.index.get_level_values(0).to_numpy()
    tim = frame.index.get_level_values(1).to_numpy()
    cols = [frame[regressors].to_numpy(dtype=float)]
    if time_effects:
        cols.append(period_dummies(tim, drop_first=entity_effects))
    elif not entity_effects:
        cols.append(np.ones((len(frame), 1)))
    u = np.hstack(cols)
    y = frame[outcome].to_numpy(dtype=float)
    if entity_effects:
        counts = np.bincount(ent)
        u, y = entity_demean(u, ent, counts), entity_demean(y, ent, counts)
    return u, y


class _Effects(NamedTuple):
    """The model's fixed effects; neither means pooled OLS with an intercept."""

    entity: bool
    time: bool

    @property
    def pooled(self) -> bool:
        return not self.entity and not self.time


def _panel_options(
    exposures: str | Sequence[str],
    controls: str | Sequence[str],
    cov_type: str,
    confidence: float,
    inference: str | None,
) -> tuple[list[str], list[str]]:
    """The exposures and controls as lists, the options of :func:`panel_regression` checked."""
    exposures_l = as_list("exposures", exposures)
    controls_l = as_list("controls", controls)
    if not exposures_l:
        raise InputError("`exposures` must name at least one column.")
    check_choice("cov_type", cov_type, PANEL_COV_TYPES)
    check_confidence(confidence)
    if inference is not None:
        check_choice("inference", inference, INFERENCE_METHODS)
        if cov_type != "clustered":
            raise InputError(
                f"`inference={inference!r}` needs cov_type='clustered', got {cov_type!r}."
            )
    return exposures_l, controls_l


def _complete_rows(
    data: pd.DataFrame, entity: str, time: str, outcome: str, regressors: list[str]
) -> tuple[pd.DataFrame, pd.Index, int, list[str]]:
    """The rows with every used column present, as floats indexed by (entity code, period code)
    in sorted-label order; the entity labels, the number of periods and the ``dropped_missing``
    diagnostic. Repeated (entity, period) pairs are an error."""
    diagnostics: list[str] = []
    df = data[[entity, time, outcome, *regressors]]
    complete = df.notna().all(axis=1)
    if not complete.all():
        diagnostics.append(f"dropped_missing: {int((~complete).sum())} rows")
        df = df[complete]
    df = df.astype({c: float for c in [outcome, *regressors]})
    ent_codes, ent_labels = pd.factorize(df[entity], sort=True)
    time_codes, time_labels = pd.factorize(df[time], sort=True)
    if pd.Series(list(zip(ent_codes, time_codes, strict=True))).duplicated().any():
        raise InputError(
            f"Columns {entity!r} and {time!r} must identify the rows, but some "
            f"({entity}, {time}) pairs occur twice. Aggregate to one row per entity and period."
        )
    frame = df[[outcome, *regressors]].set_axis(
        pd.MultiIndex.from_arrays([ent_codes, time_codes], names=["entity", "time"])
    )
    return frame, ent_labels, len(time_labels), diagnostics


def _fit_panel_ols(
    frame: pd.DataFrame, outcome: str, regressors: list[str], effects: _Effects, *, cov_type: str
) -> PanelEffectsResults:
    """linearmodels' ``PanelOLS`` fit; for ``clustered`` the raw cluster-robust covariance (no
    scaling at all: :func:`_covariance` applies the factor). Absorbed or collinear regressors are
    input errors."""
    x = frame[regressors]
    if effects.pooled:
        x = x.assign(const=1.0)
    try:
        model = PanelOLS(
            frame[outcome], x, entity_effects=effects.entity, time_effects=effects.time
        )
        if cov_type == "clustered":
            return model.fit(
                cov_type="clustered", cluster_entity=True, debiased=False,
                group_debias=False, auto_df=False, count_effects=False,
            )  # fmt: skip
        return model.fit(cov_type=cov_type, debiased=True)
    except AbsorbingEffectError as exc:
        raise InputError(
            f"A regressor does not vary once the fixed effects are removed, so its effect "
            f"cannot be estimated: {exc}. Drop it or the effects that absorb it."
        ) from exc
    except ValueError as exc:
        if "rank" in str(exc):
            raise InputError(
                f"The regressors {regressors} are perfectly collinear (after removing fixed "
                "effects). Drop one of the columns that are linear combinations of the others."
            ) from exc
        raise


def _covariance(
    res: PanelEffectsResults,
    cov_type: str,
    effects: _Effects,
    *,
    k: int,
    g: int,
    n: int,
    n_t: int,
    n_params: int,
) -> tuple[np.ndarray, float, int, int, str]:
    """Standard errors, the factor applied to the covariance, the t distribution's df, K and the
    ``small_sample`` text (see :func:`panel_regression`)."""
    if cov_type == "clustered":
        k_ssc = k + (n_t - 1 if effects.entity and effects.time else 0)
        k_ssc += n_t if effects.time and not effects.entity else 0
        k_ssc += 1 if effects.pooled else 0
        factor, small_sample = cr1_correction(k_ssc, g, n)
        cov = res.cov * factor
        return np.sqrt(np.diag(cov.to_numpy())), factor, g - 1, k_ssc, small_sample
    dof = int(res.df_resid)
    small_sample = (
        f"{'HC1, ' if cov_type == 'robust' else ''}residual df N-K={dof} with K={n_params} "
        f"(slopes + all fixed effects)"
    )
    return np.sqrt(np.diag(res.cov.to_numpy())), 1.0, dof, n_params, small_sample


def _panel_vifs(frame: pd.DataFrame, regressors: list[str], effects: _Effects) -> dict[str, float]:
    """VIF of each regressor as the model sees it (after its own demeaning)."""
    if len(regressors) < 2:
        return {t: 1.0 for t in regressors}
    group = (
        "both" if effects.entity and effects.time
        else "entity" if effects.entity else "time" if effects.time else "none"
    )  # fmt: skip
    return dict(zip(regressors, vifs(_demean(frame[regressors], group).to_numpy()), strict=True))


def _std_scale(
    frame: pd.DataFrame, outcome: str, regressors: list[str], terms: list[str], *, g: int, n_t: int
) -> np.ndarray:
    """sd(x~) / sd(y~) per term after the two-way within transformation (NaN for the intercept):
    the factor from an estimate to ``std_effect``."""
    within = _demean(frame[[outcome, *regressors]], "both" if g > 1 and n_t > 1 else "none")
    sd = within.std(ddof=1)
    return pd.Series(
        [sd[t] / sd[outcome] if t in regressors and sd[outcome] > 0 else np.nan for t in terms],
        index=terms,
    ).to_numpy()


def _few_cluster_inference(
    frame: pd.DataFrame,
    outcome: str,
    regressors: list[str],
    ent_labels: pd.Index,
    est: np.ndarray,
    effects: _Effects,
    *,
    method: str,
    cr1_factor: float,
    confidence: float,
    n_boot: int,
    seed: int | np.random.Generator | None,
) -> ClusterInference:
    """:func:`analysis.stats.cluster_inference` on the model's design, checked against the
    ``PanelOLS`` estimates ``est``."""
    u, yv = _cluster_design(frame, outcome, regressors, effects.entity, effects.time)
    inf_res = cluster_inference(
        u, yv, frame.index.get_level_values(0).to_numpy(), n_terms=len(est), method=method,
        cr1_factor=cr1_factor, confidence=confidence, n_boot=n_boot, seed=seed,
        cluster_labels=np.asarray(ent_labels),
    )  # fmt: skip
    if not np.allclose(inf_res.estimate, est, rtol=1e-6, atol=1e-9 * (1 + np.abs(est).max())):
        raise RuntimeError("cluster_inference refit disagrees with PanelOLS")  # a bug, not input
    return inf_res


def panel_regression(
    data: pd.DataFrame,
    *,
    outcome: str,
    exposures: str | Sequence[str],
    entity: str,
    time: str,
    controls: str | Sequence[str] = (),
    entity_effects: bool = True,
    time_effects: bool = False,
    cov_type: str = "clustered",
    confidence: float = 0.95,
    inference: str | None = None,
    n_boot: int = 999,
    seed: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Fixed-effects panel regression of an outcome on exposures (linearmodels ``PanelOLS``).

    Fits ``outcome ~ exposures + controls + entity effects + time effects`` by least squares
    on the rows with no missing value in the columns used. With neither kind of effect the
    model has an intercept (pooled OLS).

    Standard errors:

    - ``unadjusted``: classical, residual variance over N - K_all (K_all counts slopes and
      every fixed effect), t(N - K_all) inference — as R ``plm`` and Stata ``xtreg, fe``.
    - ``robust``: heteroskedasticity-robust HC1, N / (N - K_all), t(N - K_all) — as
      ``sandwich::vcovHC(type = "HC1")`` on the dummy-variable regression.
    - ``clustered``: clustered by entity (CR1), scaled by G/(G-1) * (N-1)/(N-K) where K counts
      the slopes plus the fixed effects not nested in the entity clusters, the nested entity
      effects not at all: K = slopes with entity effects only (R ``plm``'s ``type = "sss"``);
      slopes + T - 1 with entity and time effects; slopes + T with time effects only;
      slopes + 1 (the intercept) without effects. Inference uses t(G - 1). R's ``fixest``
      (and pyfixest, default ``ssc``) count nested effects as one parameter more, K + 1, so
      their SEs are larger by sqrt((N-K)/(N-K-1)) (checked in the tests against pyfixest).
      (linearmodels' own ``debiased=True, group_debias=True`` gives the same K with entity
      effects only but counts every effect with two-way effects, as Stata's ``areg``; hence
      the explicit factor.)

    Few-cluster inference (``inference=``, needs ``cov_type="clustered"``; see
    :mod:`analysis.stats.cluster` for the formulas): ``"cr1"`` (the SEs above, t(G-1));
    ``"cr2"`` (Bell–McCaffrey bias-reduced SEs, Satterthwaite df per coefficient as R's
    clubSandwich); ``"cv3"`` (leave-one-cluster-out jackknife, (G-1)/G scaling, centred on the
    full-sample estimate, t(G-1)); ``"wild"`` (restricted wild cluster bootstrap-t p-value,
    Rademacher weights, Webb's six-point weights below 12 clusters, every weight vector (2^G or
    6^G) when that is at most twice ``n_boot``; ``std_error`` is the bootstrap-t SE, CR1 SE *
    q*/t(G-1), so the interval is est ± q* * SE_CR1); ``"wild_cv3"`` (the same bootstrap of the
    CV3 t statistic: each bootstrap sample's slope over its own CV3 SE; ``std_error`` CV3 SE *
    q*/t(G-1)). The result then has the columns ``inference`` (the
    method) and ``identified`` (False when dropping some cluster leaves the coefficient
    unidentified: its CV3 SE and p are NaN and ``diagnostics`` names the clusters). With
    ``inference=None`` (default) nothing changes.

    ``std_effect`` is the change in the outcome, in standard deviations, per one standard
    deviation of the term, both measured after removing entity and period means (the two-way
    within transformation, whatever effects the model has): estimate * sd(x~) / sd(y~).

    Diagnostics (also issued as :class:`~analysis.stats.StatsWarning`): fewer than 30
    clusters; a term whose variance inflation factor among the demeaned regressors exceeds 10;
    rows dropped for missing values.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format, one row per entity and period.
    outcome : str
        Outcome column.
    exposures : str or sequence of str
        Exposure columns, estimated jointly.
    entity, time : str
        Columns identifying the entity (e.g. portfolio) and the period (any sortable labels).
    controls : str or sequence of str
        Further regressors (e.g. log portfolio revenue); reported with ``role="control"``.
    entity_effects, time_effects : bool
        Entity and period fixed effects.
    cov_type : {"clustered", "robust", "unadjusted"}
        Standard errors, see above.
    confidence : float
        Level of the confidence interval.
    inference : {None, "cr1", "cr2", "cv3", "wild", "wild_cv3"}
        Few-cluster inference, see above; None keeps the plain ``cov_type`` results.
    n_boot : int
        Wild bootstrap draws (at least 999).
    seed : int or numpy.random.Generator, optional
        Randomness of the wild bootstrap; the same seed gives the same p-values.

    Returns
    -------
    pandas.DataFrame
        One row per term (exposures, then controls, then ``const`` for pooled OLS):

        - ``term``: column name; ``role``: ``exposure``, ``control`` or ``intercept``.
        - ``estimate``, ``std_error``: coefficient and its standard error.
        - ``statistic``: t statistic; ``df``: degrees of freedom of its t distribution.
        - ``p_unc``: two-sided p-value (uncorrected).
        - ``ci_low``, ``ci_high``: two-sided confidence interval at ``confidence``.
        - ``n``, ``n_entities``, ``n_periods``: rows, entities and periods used.
        - ``std_effect``, ``std_effect_se``: estimate and standard error on the standardized
          scale described above (NaN for the intercept).
        - ``cov_type``: as passed; ``small_sample``: the correction used, in words, with K.
        - ``diagnostics``: ``;``-separated notes (empty string when none).

        ``DataFrame.attrs`` holds ``cov_type``, ``small_sample``, ``ssc_factor`` (the factor
        applied to the clustered covariance, 1 otherwise), ``df``, ``K``, ``n_clusters`` and
        the list ``diagnostics``.

    Raises
    ------
    analysis.errors.InputError
        Missing or non-numeric columns, unknown ``cov_type``, fewer rows than parameters plus
        two, fewer than 2 clusters, or a regressor that the fixed effects absorb or that is an
        exact linear combination of the others.

    Examples
    --------
    >>> import numpy as np, pandas as pd, warnings
    >>> from analysis.stats import panel_regression
    >>> rng = np.random.default_rng(7)
    >>> panel = pd.DataFrame(
    ...     [(p, t) for p in range(40) for t in range(8)], columns=["portfolio", "period"]
    ... )
    >>> panel["share"] = rng.uniform(size=len(panel))
    >>> panel["growth"] = 0.5 * panel["share"] + rng.normal(size=len(panel))
    >>> res = panel_regression(
    ...     panel, outcome="growth", exposures=["share"], entity="portfolio", time="period",
    ...     time_effects=True,
    ... )
    >>> res.loc[0, "term"], int(res.loc[0, "df"]), int(res.loc[0, "n"])
    ('share', 39, 320)

    The same model with the leave-one-cluster-out jackknife, or the wild cluster bootstrap:

    >>> cv3 = panel_regression(
    ...     panel, outcome="growth", exposures=["share"], entity="portfolio", time="period",
    ...     time_effects=True, inference="cv3",
    ... )
    >>> str(cv3.loc[0, "inference"]), bool(cv3.loc[0, "identified"])
    ('cv3', True)
    >>> wild = panel_regression(
    ...     panel, outcome="growth", exposures=["share"], entity="portfolio", time="period",
    ...     time_effects=True, inference="wild", seed=1,
    ... )
    >>> bool(0 <= wild.loc[0, "p_unc"] <= 1), wild.attrs["weights"], wild.attrs["n_boot"]
    (True, 'rademacher', 999)
    """
    exposures_l, controls_l = _panel_options(exposures, controls, cov_type, confidence, inference)
    regressors = exposures_l + controls_l
    check_columns(data, [entity, time, outcome, *regressors])
    check_numeric(data, [outcome, *regressors])
    frame, ent_labels, n_t, diagnostics = _complete_rows(data, entity, time, outcome, regressors)
    n, g, k = len(frame), len(ent_labels), len(regressors)
    effects = _Effects(entity=entity_effects, time=time_effects)
    n_params = k + (g if entity_effects else 0) + (n_t if time_effects else 0)
    n_params += 1 if effects.pooled else 0
    n_params -= 1 if entity_effects and time_effects else 0
    check_model_size(n, n_params, n_clusters=g if cov_type == "clustered" else None)

    res = _fit_panel_ols(frame, outcome, regressors, effects, cov_type=cov_type)
    terms = list(res.params.index)
    est = res.params.to_numpy()
    se, factor, dof, k_ssc, small_sample = _covariance(
        res, cov_type, effects, k=k, g=g, n=n, n_t=n_t, n_params=n_params
    )
    if cov_type == "clustered" and few_clusters(g):
        diagnostics.append(few_clusters(g))
    inf = None
    if inference is not None:
        inf = _few_cluster_inference(
            frame, outcome, regressors, ent_labels, est, effects, method=inference,
            cr1_factor=factor, confidence=confidence, n_boot=n_boot, seed=seed,
        )  # fmt: skip
    roles = [
        "exposure" if t in exposures_l else ("control" if t in controls_l else "intercept")
        for t in terms
    ]
    fit = assemble_fit(
        outcome=outcome, terms=terms, roles=roles, est=est, se=se, dof=dof, confidence=confidence,
        inf=inf, n=n, g=g, n_t=n_t,
        scale=_std_scale(frame, outcome, regressors, terms, g=g, n_t=n_t),
        vif=_panel_vifs(frame, regressors, effects), diagnostics=diagnostics, cov_type=cov_type,
        small_sample=small_sample, factor=factor, k_ssc=k_ssc,
        n_clusters=g if cov_type == "clustered" else None,
    )  # fmt: skip
    for message in fit.warnings:
        warn(message)
    return fit.frame()


def _lag_list(name: str, lags: int | Sequence[int]) -> list[int]:
    if isinstance(lags, (int, np.integer)):
        if lags < 1:
            raise InputError(f"`{name}` must be at least 1 (or a list of lags), got {lags}.")
        return list(range(1, int(lags) + 1))
    out = sorted({int(v) for v in lags})
    if not out or out[0] < 0:
        raise InputError(f"`{name}` must be a list of non-negative lags, got {lags!r}.")
    return out


def _ordered(data: pd.DataFrame, time: str | None) -> pd.DataFrame:
    if time is None:
        return data.reset_index(drop=True)
    check_columns(data, [time])
    if data[time].duplicated().any():
        raise InputError(f"Column {time!r} has repeated periods; one row per period is needed.")
    return data.sort_values(time, kind="stable").reset_index(drop=True)


def _adl_design(
    d: pd.DataFrame, outcome: str, exposures: list[str], lags: list[int], own_lags: int
) -> tuple[pd.Series, pd.DataFrame, dict[str, tuple[str, float]]]:
    """The outcome and the design ``[const, own lags, exposure lags]`` on the periods where every
    lag exists, and each lagged term's role and lag. Too few periods left is an input error."""
    cols: dict[str, pd.Series] = {}
    roles: dict[str, tuple[str, float]] = {}
    for j in range(1, own_lags + 1):
        cols[f"{outcome}.L{j}"] = d[outcome].shift(j)
        roles[f"{outcome}.L{j}"] = ("own_lag", j)
    for xcol in exposures:
        for lag in lags:
            cols[f"{xcol}.L{lag}"] = d[xcol].shift(lag)
            roles[f"{xcol}.L{lag}"] = ("exposure", lag)
    design = sm.add_constant(pd.DataFrame(cols).astype(float), has_constant="add")
    start = max([own_lags, *lags])
    yv = d[outcome].astype(float).iloc[start:]
    xv = design.iloc[start:]
    n, k = xv.shape
    if n < k + 3:
        raise InputError(
            f"Too few periods: {len(d)} periods leave {n} after lagging for {k} parameters."
        )
    return yv, xv, roles


def _block_bootstrap_se(
    xv: pd.DataFrame,
    yv: pd.Series,
    block_length: int,
    n_resamples: int,
    seed: int | np.random.Generator | None,
) -> np.ndarray:
    """Standard errors of the OLS coefficients from a moving-block bootstrap of the rows
    (resamples whose design loses rank are left out)."""
    k = xv.shape[1]
    idx = block_indices(
        len(xv), block_length, n_resamples, np.random.default_rng(seed), circular=False
    )
    xa, ya = xv.to_numpy(), yv.to_numpy()
    xb, yb = xa[idx], ya[idx]  # (n_resamples, n, k), (n_resamples, n)
    xtx = np.einsum("rnk,rnj->rkj", xb, xb)
    xty = np.einsum("rnk,rn->rk", xb, yb)
    ok = np.linalg.matrix_rank(xtx) == k
    betas = np.linalg.solve(xtx[ok], xty[ok][..., None])[..., 0]
    return betas.std(axis=0, ddof=1)


def _ts_fit(
    yv: pd.Series,
    xv: pd.DataFrame,
    cov_type: str,
    *,
    hac_lags: int | None,
    block_length: int | None,
    n_resamples: int,
    seed: int | np.random.Generator | None,
) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """OLS estimates, their standard errors by ``cov_type`` (see :func:`ts_regression`) and the
    extra column (``hac_lags`` or ``block_length``)."""
    n = len(yv)
    fit_model = sm.OLS(yv, xv)
    if cov_type == "hac":
        h = hac_lags if hac_lags is not None else int(math.floor(4 * (n / 100) ** (2 / 9)))
        res = fit_model.fit(
            cov_type="HAC", cov_kwds={"maxlags": h, "kernel": "bartlett", "use_correction": True}
        )
        return np.asarray(res.params), np.asarray(res.bse), {"hac_lags": h}
    if cov_type == "unadjusted":
        res = fit_model.fit()
        return np.asarray(res.params), np.asarray(res.bse), {}
    if cov_type == "robust":
        res = fit_model.fit(cov_type="HC1")
        return np.asarray(res.params), np.asarray(res.bse), {}
    res = fit_model.fit()
    b = block_length if block_length is not None else int(math.ceil(n ** (1 / 3)))
    return (
        np.asarray(res.params),
        _block_bootstrap_se(xv, yv, b, n_resamples, seed),
        {"block_length": b},
    )


def ts_regression(
    data: pd.DataFrame,
    *,
    outcome: str,
    exposures: str | Sequence[str],
    lags: int | Sequence[int] = 1,
    own_lags: int = 1,
    cov_type: str = "hac",
    time: str | None = None,
    hac_lags: int | None = None,
    block_length: int | None = None,
    n_resamples: int = 999,
    seed: int | np.random.Generator | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Autoregressive distributed-lag regression for one series (statsmodels ``OLS``).

    Fits ``y_t = c + sum_j a_j y_{t-j} + sum_x sum_l b_{x,l} x_{t-l} + e_t`` with
    ``j = 1..own_lags`` and ``l`` in ``lags``, on the periods where every lag exists.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per period, in time order (or give ``time``). No gaps are filled: rows are
        taken as consecutive periods.
    outcome : str
        Outcome column ``y``.
    exposures : str or sequence of str
        Exposure columns ``x``.
    lags : int or sequence of int
        Lags of the exposures: ``3`` means 1, 2, 3; a list gives the lags (0 allowed).
    own_lags : int
        Number of lags of the outcome (0 for none).
    cov_type : {"hac", "unadjusted", "robust", "bootstrap"}
        ``hac``: Newey-West with a Bartlett kernel and ``hac_lags`` lags, scaled by
        n/(n-k) (as ``sandwich::NeweyWest(lag=, prewhite=FALSE, adjust=TRUE)``);
        ``unadjusted``: classical; ``robust``: HC1; ``bootstrap``: standard errors from a
        moving-block bootstrap of the regression's rows (``block_length``, ``n_resamples``,
        ``seed``). All use t(n - k) for p-values and intervals.
    time : str, optional
        Column to sort the rows by.
    hac_lags : int, optional
        Newey-West truncation lag; default floor(4 (n/100)^(2/9)).
    block_length : int, optional
        Block length of the bootstrap; default ceil(n^(1/3)).
    n_resamples : int
        Bootstrap resamples.
    seed : int or numpy.random.Generator, optional
        Randomness of the bootstrap.
    confidence : float
        Level of the confidence interval.

    Returns
    -------
    pandas.DataFrame
        One row per term:

        - ``term``: ``{exposure}.L{lag}``, ``{outcome}.L{lag}`` or ``const``.
        - ``role``: ``exposure``, ``own_lag`` or ``intercept``; ``lag``: the lag (NaN for const).
        - ``estimate``, ``std_error``, ``statistic`` (t), ``df`` (n - k), ``p_unc``
          (two-sided), ``ci_low``, ``ci_high``.
        - ``n``: periods used (after dropping the first lags).
        - ``cov_type``; ``hac_lags`` (for ``hac``) or ``block_length`` (for ``bootstrap``).
        - ``diagnostics``: ``short_series`` below 60 periods (then also a
          :class:`~analysis.stats.StatsWarning`), empty string otherwise.

    Raises
    ------
    analysis.errors.InputError
        Missing or non-numeric columns, unknown ``cov_type``, missing values inside the series,
        too few periods for the lags.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from analysis.stats import ts_regression
    >>> rng = np.random.default_rng(3)
    >>> series = pd.DataFrame({"share": rng.uniform(size=80), "growth": rng.normal(size=80)})
    >>> res = ts_regression(series, outcome="growth", exposures="share", lags=2)
    >>> res["term"].tolist()
    ['const', 'growth.L1', 'share.L1', 'share.L2']
    """
    exposures_l = as_list("exposures", exposures)
    if not exposures_l:
        raise InputError("`exposures` must name at least one column.")
    check_choice("cov_type", cov_type, TS_COV_TYPES)
    check_confidence(confidence)
    check_columns(data, [outcome, *exposures_l])
    check_numeric(data, [outcome, *exposures_l])
    lag_l = _lag_list("lags", lags)
    if own_lags < 0:
        raise InputError(f"`own_lags` must be 0 or more, got {own_lags}.")
    d = _ordered(data, time)
    if d[[outcome, *exposures_l]].isna().any().any():
        raise InputError(
            f"The series {[outcome, *exposures_l]} have missing values; a lag model needs "
            "consecutive periods. Fill or trim the series first."
        )
    yv, xv, roles = _adl_design(d, outcome, exposures_l, lag_l, own_lags)
    n, k = xv.shape
    est, se, extra = _ts_fit(
        yv,
        xv,
        cov_type,
        hac_lags=hac_lags,
        block_length=block_length,
        n_resamples=n_resamples,
        seed=seed,
    )
    dof = n - k
    tstat, p, ci_low, ci_high = t_columns(est, se, dof, confidence)
    note = f"short_series: {n} periods < {SHORT_SERIES}" if n < SHORT_SERIES else ""
    if note:
        warn(f"ts_regression({outcome!r}): {note}; tests on short series are poorly calibrated")
    terms = list(xv.columns)
    out = pd.DataFrame(
        {
            "term": terms,
            "role": [roles.get(t, ("intercept", np.nan))[0] for t in terms],
            "lag": [roles.get(t, ("intercept", np.nan))[1] for t in terms],
            "estimate": est,
            "std_error": se,
            "statistic": tstat,
            "df": dof,
            "p_unc": p,
            "ci_low": ci_low,
            "ci_high": ci_high,
            "n": n,
            "cov_type": cov_type,
            **extra,
            "diagnostics": note,
        }
    )
    out.attrs.update(cov_type=cov_type, df=dof, diagnostics=[note] if note else [], **extra)
    return out


def granger(
    data: pd.DataFrame,
    *,
    cause: str,
    effect: str,
    maxlag: int,
    time: str | None = None,
) -> pd.DataFrame:
    """Granger-causality F test of ``cause`` on ``effect`` for lag orders 1..``maxlag``.

    For each order p, the unrestricted model regresses ``effect_t`` on a constant and p lags
    of both series, the restricted one drops the lags of ``cause``; the F test compares them
    on the same n - p periods (statsmodels ``grangercausalitytests``, ``ssr_ftest``; the same
    test as R's ``lmtest::grangertest(effect ~ cause, order = p)``). It tests incremental
    predictive content, not causation.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per period, in time order (or give ``time``).
    cause, effect : str
        Columns of the two series.
    maxlag : int
        Largest lag order tested.
    time : str, optional
        Column to sort the rows by.

    Returns
    -------
    pandas.DataFrame
        One row per lag order with columns ``cause``, ``effect``, ``lag``, ``statistic`` (F),
        ``df_num`` (= lag), ``df_denom``, ``p_unc``, ``n`` (periods used).

    Raises
    ------
    analysis.errors.InputError
        Missing or non-numeric columns, missing values, ``maxlag`` < 1 or too few periods.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from analysis.stats import granger
    >>> rng = np.random.default_rng(5)
    >>> x = rng.normal(size=60)
    >>> series = pd.DataFrame({"x": x, "y": np.r_[0.0, 0.8 * x[:-1]] + rng.normal(size=60)})
    >>> granger(series, cause="x", effect="y", maxlag=2)["lag"].tolist()
    [1, 2]
    """
    check_columns(data, [cause, effect])
    check_numeric(data, [cause, effect])
    if not isinstance(maxlag, (int, np.integer)) or maxlag < 1:
        raise InputError(f"`maxlag` must be a whole number of at least 1, got {maxlag!r}.")
    d = _ordered(data, time)[[effect, cause]].astype(float)
    if d.isna().any().any():
        raise InputError(f"The series {[effect, cause]} have missing values; fill or trim them.")
    if len(d) - maxlag < 2 * maxlag + 3:
        raise InputError(f"Too few periods ({len(d)}) for a Granger test with maxlag={maxlag}.")
    res = grangercausalitytests(d.to_numpy(), maxlag=int(maxlag))
    rows = []
    for lag in range(1, int(maxlag) + 1):
        f, p, df_denom, df_num = res[lag][0]["ssr_ftest"]
        rows.append(
            {
                "cause": cause,
                "effect": effect,
                "lag": lag,
                "statistic": float(f),
                "df_num": int(df_num),
                "df_denom": int(df_denom),
                "p_unc": float(p),
                "n": len(d) - lag,
            }
        )
    return pd.DataFrame(rows)
