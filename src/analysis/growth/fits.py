"""The models behind the confirmatory tests, the exploratory grid and the robustness check.

Shared by :mod:`~analysis.growth.confirmatory`, :mod:`~analysis.growth.exploratory` and
:mod:`~analysis.growth.robustness` (docs/methods.md, "Statistics"):

- **Panel mode** (two or more portfolios): each outcome at lag h is regressed on every
  category's exposure jointly plus the size control, with portfolio and period fixed effects
  and SEs clustered by portfolio (:func:`fit_twoway`, numpy; equal to
  :func:`analysis.stats.panel_regression` with two-way effects). ``inference`` picks the
  few-cluster method (:data:`INFERENCE_NAMES`; the confirmatory default
  :data:`DEFAULT_INFERENCE` was chosen by simulation, see ``benchmarks/inference_choice.md``).
  Effects are read on the ``std_effect`` scale (SD of outcome per SD of exposure, both after
  removing portfolio and period means).
- **One portfolio**: an autoregressive distributed-lag model (outcome on its own lag and the
  exposure) with three tests of the exposure's slope — Newey-West (HAC) SEs, a moving-block
  bootstrap and the classical F (Granger-style; one restriction, so F = t²). The deciding test
  is the one whose rejection rate on simulated independent AR(1) series of the data's length is
  closest to alpha (:func:`calibrate_single`).

:class:`PortfolioArrays` is the analysis panel (one row per portfolio and period, as
:func:`analysis.growth.panel.portfolio_panel` builds it) as numpy columns with fixed-effect
codes; it is not :class:`analysis.growth.panel.PortfolioClientGrid`, the client × period matrices
the panel is summed from.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np
import pandas as pd

from analysis.errors import InputError, TooFewRowsError
from analysis.growth import panel as growth
from analysis.stats import StatsWarning, fe, ts_regression

SINGLE_TESTS = ("hac", "bootstrap", "unadjusted")
# The confirmatory set's few-cluster inference, chosen by simulation: in-band family-wise rate
# with the best power (benchmarks/inference_choice.md, "Session 5": every method on the same
# pipeline worlds). ``auto`` is resolved per panel by :func:`resolve_inference`.
DEFAULT_INFERENCE = "auto"
#: Below this many portfolios ``auto`` is the restricted wild cluster bootstrap of the CV3 t
#: statistic (Webb weights, the bootstrap's own switch below 12 clusters); from it on the CV3
#: jackknife with t(G-1). The issue's rule puts the band of family-wise rates (0.025-0.08) first,
#: then power. Measured on 200 null worlds of 10 portfolios × 24 quarters: CV3 with t(G-1) rejects
#: too few true nulls (Holm family-wise 0.010, its SE 1.06–1.22× the spread of the estimates), the
#: bootstrap of the same t holds the band (0.050-0.070 over two sets of worlds, every hypothesis
#: 0.045–0.085) although it finds fewer planted effects (Holm power 0.25 vs CV3's 0.31); at 50
#: portfolios CV3 is in band (0.070), at 30 on lean worlds too (0.070). Sessions 5-6 of
#: benchmarks/inference_choice.md.
WILD_BELOW = 12
INFERENCE_NAMES = {
    "cr1": ("CR1 clustered SEs, t(G-1)", "кластерные ошибки CR1, t(G−1)"),
    "cr2": ("CR2 clustered SEs with Bell–McCaffrey degrees of freedom",
            "кластерные ошибки CR2 со степенями свободы Белла–Маккаффри"),
    "cv3": ("the leave-one-portfolio-out jackknife (CV3), t(G-1)",
            "складной нож с исключением по одному портфелю (CV3), t(G−1)"),
    "wild": ("the restricted wild cluster bootstrap", "ограниченный дикий кластерный бутстрап"),
    "wild_cv3": ("the restricted wild cluster bootstrap of the jackknife (CV3) t statistic",
                 "ограниченный дикий кластерный бутстрап t-статистики складного ножа (CV3)"),
}
#: What ``inference=`` accepts: a method of :data:`INFERENCE_NAMES`, or ``auto``.
INFERENCE_CHOICES = (*INFERENCE_NAMES, "auto")


def resolve_inference(inference: str, n_portfolios: int) -> str:
    """The method ``inference`` stands for on a panel of ``n_portfolios``: ``auto`` is
    ``wild_cv3`` below :data:`WILD_BELOW` portfolios and ``cv3`` from it on; a named method is
    itself."""
    if inference != "auto":
        return inference
    return "wild_cv3" if n_portfolios < WILD_BELOW else "cv3"


#: Periods with both exposure and outcome a model needs: the panel model (two-way fixed effects
#: and a size control) and the one-portfolio ADL model.
MIN_PERIODS = {"panel": 3, "single": 8}


def n_portfolios(data: pd.DataFrame) -> int:
    """Portfolios in the analysis panel."""
    return int(data["portfolio"].nunique())


class PortfolioArrays:
    """The analysis panel (one row per portfolio and period) as numpy columns, built once per
    call of :func:`analysis.growth.confirmatory.test_hypotheses` or
    :func:`analysis.growth.exploratory.explore`: portfolio and period codes, float columns and
    within-SDs on demand (the fits are numpy; a pandas selection per model cost more than the
    model). Every function of this module that reads the panel takes it or its DataFrame."""

    def __init__(self, data: pd.DataFrame):
        self.data = data
        self.ent, self.ent_labels = fe.codes(data["portfolio"])
        self.per, self.per_labels = fe.codes(data["period"])
        self._cols: dict[str, np.ndarray] = {}
        self._sd: dict[str, float] = {}

    @classmethod
    def of(cls, data: pd.DataFrame | PortfolioArrays) -> PortfolioArrays:
        """``data`` as arrays (as it is when it already is)."""
        return data if isinstance(data, PortfolioArrays) else cls(data)

    def col(self, name: str) -> np.ndarray:
        """A column as floats (NaN where missing)."""
        if name not in self._cols:
            self._cols[name] = self.data[name].to_numpy(dtype=float, na_value=np.nan)
        return self._cols[name]

    def complete(self, cols: Sequence[str]) -> np.ndarray:
        """Rows with a portfolio, a period and every column of ``cols`` known (the model's rows)."""
        mask = (self.ent >= 0) & (self.per >= 0)
        for c in cols:
            mask &= np.isfinite(self.col(c))
        return mask

    def known(self, name: str) -> int:
        """Rows where the column is known (0 when it is absent)."""
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


def usable_exposures(data: pd.DataFrame | PortfolioArrays, *, measure: str = "share",
                     categories: Sequence[str] | None = None) -> list[str]:
    """Exposure columns of ``measure`` that vary after removing portfolio and period means.

    A column that is empty, or constant within the two-way demeaned panel (e.g. presence when
    every portfolio always has such a client), cannot enter the model and is left out.
    """
    arr = PortfolioArrays.of(data)
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


def model_exposures(data: pd.DataFrame | PortfolioArrays, outcome: str,
                    exposure_cols: Sequence[str], *,
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
    arr = PortfolioArrays.of(data)
    data = arr.data
    swap = (data.attrs.get("variants") or {}).get(outcome, {})
    cats = data.attrs.get("categories") or [
        c[len("share_"):] for c in data.columns if c.startswith("share_")]
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


def within_sd(data: pd.DataFrame, column: str) -> float:
    """SD of a column after removing portfolio and period means (the exact two-way within
    transform, :func:`analysis.stats.fe.within`, on the rows where the column is known); with one
    portfolio, after removing the series' mean."""
    arr = PortfolioArrays(
        data[["portfolio", "period", column]].dropna(subset=["portfolio", "period"]))
    return arr.within_sd(column)


def independent_exposures(data: pd.DataFrame | PortfolioArrays, outcome_col: str,
                          exposure_cols: Sequence[str], *,
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
    arr = PortfolioArrays.of(data)
    data = arr.data
    cols = [c for c in exposure_cols if c in data.columns]
    if len(cols) < 2 or keep not in cols or outcome_col not in data.columns:
        return list(exposure_cols), []
    ctrl = [growth.SIZE_CONTROL] if growth.SIZE_CONTROL in data.columns else []
    mask = arr.complete([outcome_col, *cols, *ctrl])
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


def fit_panel(data: pd.DataFrame, outcome_col: str, exposure_cols: list[str],
              inference: str | None = None,
              seed: int | None = None, arrays: PortfolioArrays | None = None) -> pd.DataFrame:
    """One panel model; exposure rows with ``std_effect`` etc., or an empty frame when it cannot be
    fit. ``inference`` None: the plain CR1 fit (the exploratory grid); else the named few-cluster
    method. The model is :func:`analysis.stats.fe.twoway_fit` (numpy; equal to
    :func:`analysis.stats.panel_regression` with two-way effects, checked in
    tests/test_stats_fe.py)."""
    fit = fit_twoway(arrays or PortfolioArrays(data), outcome_col, exposure_cols, inference, seed)
    if fit is None:
        return pd.DataFrame()
    if isinstance(fit, pd.DataFrame):
        return fit
    res = fit.frame()
    res = res[res["role"] == "exposure"].copy()
    res["model_notes"] = model_notes(fit)
    return res


def model_notes(fit: fe.TwoWayFit) -> str:
    """The fit's warnings, without their prefixes, sorted and joined."""
    return "; ".join(sorted({m.split(": ", 1)[-1] for m in fit.warnings}))


def fit_twoway(arr: PortfolioArrays, outcome_col: str, exposure_cols: Sequence[str],
               inference: str | None,
               seed: int | None) -> fe.TwoWayFit | pd.DataFrame | None:
    """The model of :func:`fit_panel`: None when it cannot be fit, a frame of ``term,
    diagnostics`` when the model refuses the data (the message), else the fit."""
    data = arr.data
    if outcome_col not in data.columns or not exposure_cols:
        return None
    cols = [outcome_col, *exposure_cols, growth.SIZE_CONTROL]
    mask = arr.complete(cols)
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
        return pd.DataFrame({"term": keep, "diagnostics": str(exc),
                             "too_few_rows": isinstance(exc, TooFewRowsError)})


def default_design_mde(design: np.ndarray, cluster: np.ndarray, *, n_terms: int, alpha: float,
                       power: float, m: int, n_sims: int, seed: int = 0) -> pd.DataFrame:
    """The simulated MDE of the test the default inference runs on a design with this many
    clusters (:func:`resolve_inference`): the CV3 test's
    (:func:`analysis.stats.power.cluster_design_mde`) from :data:`WILD_BELOW` clusters on, the wild
    bootstrap of the CV3 t's (:func:`analysis.stats.power.wild_design_mde`, ``statistic="cv3"``)
    below. Same design arguments and result columns (``mde`` per term) — for a planner that sizes
    a study by the test it will get."""
    from analysis.stats.power import cluster_design_mde, wild_design_mde

    g = len(np.unique(np.asarray(cluster)))
    if resolve_inference(DEFAULT_INFERENCE, g) == "wild_cv3":
        return wild_design_mde(design, cluster, n_terms=n_terms, alpha=alpha, power=power, m=m,
                               n_sims=n_sims, seed=seed, statistic="cv3")
    return cluster_design_mde(design, cluster, n_terms=n_terms, alpha=alpha, power=power, m=m,
                              n_sims=n_sims, seed=seed)


def cv3_mde_ratio(arr: PortfolioArrays, outcome_col: str, exposure_cols: Sequence[str], *,
                  alpha: float,
                  power: float, m: int, n_sims: int = 500, seed: int = 0) -> dict[str, float]:
    """Per exposure of :func:`fit_twoway`'s model of ``outcome_col``: the CV3 test's simulated MDE
    on the model's own design over the mean of the fitted formula (t(G-1, 1-alpha/(2m)) + z(power))
    × CV3 SE over the same draws (:func:`analysis.stats.power.cluster_design_mde`'s ``mde /
    mde_fitted``: errors drawn independent, the outcome not read).
    CV3's SE is noisy with few portfolios, so the formula's MDE is found with more than ``power``
    (0.83 at 8 units × 29 periods); the fitted MDE × this ratio is the one the test finds with
    ``power``. Empty when the design cannot be built."""
    from analysis.stats.power import cluster_design_mde

    return _design_mde_ratio(arr, outcome_col, exposure_cols, lambda u, ent, k: cluster_design_mde(
        u, ent, n_terms=k, alpha=alpha, power=power, m=m, n_sims=n_sims, seed=seed))


def wild_mde_ratio(arr: PortfolioArrays, outcome_col: str, exposure_cols: Sequence[str], *,
                   alpha: float, power: float, m: int, n_sims: int = 300, seed: int = 0,
                   fit_seed: int | None = None, statistic: str = "cr1") -> dict[str, float]:
    """:func:`cv3_mde_ratio` for the restricted wild cluster bootstrap (``statistic`` ``cr1``:
    ``wild``; ``cv3``: ``wild_cv3``): per exposure, the test's simulated MDE on the model's own
    design (:func:`analysis.stats.power.wild_design_mde`, with the bootstrap weights the fit drew
    from ``fit_seed``) over the mean fitted (t + z) × bootstrap-t SE of the same null draws. The
    (t + z) formula on the bootstrap-t SE says little about the bootstrap's power (``wild``: found
    with power 0.52 on lean worlds of 10 units × 19 periods, 0.78 at the scaled MDE); the fitted
    MDE × this ratio is the effect the test finds with ``power``. Empty when the design cannot be
    built."""
    from analysis.stats.power import wild_design_mde

    return _design_mde_ratio(arr, outcome_col, exposure_cols, lambda u, ent, k: wild_design_mde(
        u, ent, n_terms=k, alpha=alpha, power=power, m=m, n_sims=n_sims, seed=seed,
        boot_seed=fit_seed, statistic=statistic))


def _design_mde_ratio(arr: PortfolioArrays, outcome_col: str, exposure_cols: Sequence[str],
                      simulate: Callable[[np.ndarray, np.ndarray, int], pd.DataFrame],
                      ) -> dict[str, float]:
    """Per exposure, ``mde / mde_fitted`` of ``simulate(design, clusters, n_terms)`` (a design-MDE
    simulation of :mod:`analysis.stats.power`) on the model's own design; empty when the design
    cannot be built or the simulation refuses it."""
    built = _model_design(arr, outcome_col, exposure_cols)
    if built is None:
        return {}
    u, ent, keep = built
    try:
        out = simulate(u, ent, len(keep))
    except InputError:
        return {}
    ratio = out["mde"] / out["mde_fitted"]
    return {c: float(r) for c, r in zip(keep, ratio) if np.isfinite(r) and r > 0}


def _model_design(arr: PortfolioArrays, outcome_col: str,
                  exposure_cols: Sequence[str]) -> tuple[np.ndarray, np.ndarray, list[str]] | None:
    """:func:`fit_twoway`'s design ``U = [X, period dummies]`` (entity-demeaned), the portfolio
    codes and the exposures kept, on the model's complete rows; None when it cannot be built."""
    data = arr.data
    cols = [outcome_col, *exposure_cols, growth.SIZE_CONTROL]
    if any(c not in data.columns for c in cols):
        return None
    mask = arr.complete(cols)
    ent = np.unique(arr.ent[mask], return_inverse=True)[1].ravel()
    periods, per = np.unique(arr.per[mask], return_inverse=True)
    per, n_t = per.ravel(), len(periods)
    keep = [c for c in exposure_cols if fe.within_sd(arr.col(c)[mask], ent, per) > 1e-9]
    if not keep or ent.max() < 1 or n_t < 2:
        return None
    x = np.column_stack([arr.col(c)[mask] for c in [*keep, growth.SIZE_CONTROL]])
    u, _ = fe.cluster_design(x, np.zeros(len(x)), ent, per, n_t)
    return u, ent, keep


@lru_cache(maxsize=64)
def _calibration_cached(n: int, alpha: float, n_sims: int, seed: int,
                        rho: float) -> tuple[tuple[str, float], ...]:
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
    docs/methods.md, "Validation") of length ``n_periods`` and runs each test of the exposure's
    slope in the ADL model used by :func:`analysis.growth.confirmatory.test_hypotheses`.

    Returns
    -------
    pandas.DataFrame
        One row per test: ``test`` (``hac``, ``bootstrap``, ``unadjusted``), ``n_periods``,
        ``alpha``, ``rejection_rate``, ``n_sims``, ``deciding`` (True for the test whose rate
        is closest to ``alpha``).
    """
    if n_periods < 8:
        raise InputError(f"a single series needs at least 8 periods with exposures and outcomes, "
                         f"got {n_periods}")
    rates = dict(_calibration_cached(int(n_periods), float(alpha), int(n_sims), int(seed),
                                     float(rho)))
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


def fit_single(data: pd.DataFrame, outcome_col: str, exposure_col: str, deciding: str,
               seed: int, *, every_test: bool = True) -> dict | None:
    """The one-portfolio ADL model of an outcome on one exposure: the ``deciding`` test's row
    (999 bootstrap draws when it decides) with ``std_effect``, ``std_effect_se`` and every test's
    p-value (``p_by_test``); None when the series is too short or constant.
    ``every_test=False``: the deciding test only (``p_by_test`` holds its p alone; each test draws
    from its own generator seeded with ``seed``, so the deciding row is the same either way)."""
    d = data.sort_values("period")[["period", outcome_col, exposure_col]].dropna()
    if len(d) < 8 or d[exposure_col].std() == 0 or d[outcome_col].std() == 0:
        return None
    rows = {t: _ts_slope(d, outcome_col, exposure_col, t, seed,
                         n_resamples=999 if t == deciding else 199)
            for t in (SINGLE_TESTS if every_test else (deciding,))}
    best = rows[deciding]
    if best is None:
        return None
    r = dict(best)
    scale = float(d[exposure_col].std() / d[outcome_col].std())
    r["std_effect"] = r["estimate"] * scale
    r["std_effect_se"] = r["std_error"] * scale
    r["p_by_test"] = {t: (rows[t] or {}).get("p_unc", np.nan) for t in SINGLE_TESTS if t in rows}
    return r


def choose_mode(data: pd.DataFrame, mode: str) -> str:
    """``mode`` checked; ``auto`` is ``panel`` with two or more portfolios, else ``single``."""
    if mode not in ("auto", "panel", "single"):
        raise InputError(f"The value for `mode` must be one of ['auto', 'panel', 'single'], but "
                         f"{mode!r} was passed.")
    if mode != "auto":
        return mode
    return "panel" if n_portfolios(data) >= 2 else "single"


__all__ = [
    "DEFAULT_INFERENCE", "INFERENCE_CHOICES", "INFERENCE_NAMES", "WILD_BELOW", "resolve_inference",
    "MIN_PERIODS", "SINGLE_TESTS", "PortfolioArrays",
    "calibrate_single",
    "choose_mode", "cv3_mde_ratio", "default_design_mde", "wild_mde_ratio", "fit_panel",
    "fit_single", "fit_twoway",
    "independent_exposures",
    "model_exposures",
    "model_notes", "n_portfolios", "usable_exposures", "within_sd",
]  # fmt: skip
