"""Design-based power: the sample size an effect needs, and the smallest effect a design detects."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import optimize, stats
from statsmodels.stats.power import TTestIndPower, TTestPower

from analysis.errors import InputError
from analysis.stats._validate import as_vector, check_choice
from analysis.stats.fe import entity_demean

TESTS = ("correlation", "one_sample_t", "two_sample_t")
ALTERNATIVES = ("two-sided", "one-sided")


def _check_levels(alpha: float, power: float, m: int) -> None:
    if not 0 < alpha < 1:
        raise InputError(f"`alpha` must be between 0 and 1, got {alpha!r}.")
    if not 0 < power < 1:
        raise InputError(f"`power` must be between 0 and 1, got {power!r}.")
    if not isinstance(m, (int, np.integer)) or m < 1:
        raise InputError(f"`m` (number of tests) must be a whole number of at least 1, got {m!r}.")


def _correlation_power(r: float, n: float, alpha: float, two_sided: bool) -> float:
    """Power of the test of a correlation, Cohen (1988, ch. 3) as R's ``pwr::pwr.r.test``:
    critical r from t(n-2), Fisher z with the bias term r/(2(n-1)). Written out because
    statsmodels has no power function for a correlation."""
    a = alpha / 2 if two_sided else alpha
    t_crit = stats.t.isf(a, n - 2)
    z_crit = math.atanh(math.sqrt(t_crit**2 / (t_crit**2 + n - 2)))
    z_r = math.atanh(r) + r / (2 * (n - 1))
    s = math.sqrt(n - 3)
    upper = stats.norm.cdf((z_r - z_crit) * s)
    return upper + stats.norm.cdf((-z_r - z_crit) * s) if two_sided else upper


def required_n(
    effect: float | Sequence[float] | np.ndarray,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    m: int = 1,
    test: str = "correlation",
    alternative: str = "two-sided",
) -> pd.DataFrame:
    """Sample size needed to detect an effect with the given power.

    ``test="correlation"`` treats ``effect`` as a correlation, which is also the scale of
    ``std_effect`` for a single exposure (the correlation of the within-transformed outcome and
    exposure), so it gives the number of independent observations that design would need; the
    t tests treat ``effect`` as Cohen's d. ``alpha`` is divided by ``m`` (Holm's strictest
    step, or Bonferroni).

    Parameters
    ----------
    effect : float or array-like
        Effect size(s), correlation in (-1, 1) or Cohen's d; one row each.
    alpha : float
        Significance level of one test before dividing by ``m``.
    power : float
        Desired power.
    m : int
        Number of tests the level is shared by.
    test : {"correlation", "one_sample_t", "two_sample_t"}
        ``correlation``: Cohen (1988, ch. 3) approximation as R's ``pwr.r.test``;
        ``one_sample_t`` (also paired) and ``two_sample_t`` (equal groups): noncentral t,
        as R's ``power.t.test`` (statsmodels ``TTestPower`` / ``TTestIndPower``).
    alternative : {"two-sided", "one-sided"}
        One-sided assumes the effect's sign is the one tested.

    Returns
    -------
    pandas.DataFrame
        One row per effect: ``effect``, ``test``, ``alpha``, ``m``, ``power``, ``alternative``,
        ``n_exact`` (the real-valued solution), ``n`` (rounded up; per group for
        ``two_sample_t``).

    Raises
    ------
    analysis.errors.InputError
        Unknown test or alternative, an effect of 0 (or |r| >= 1), levels outside (0, 1).

    Examples
    --------
    >>> from analysis.stats import required_n
    >>> required_n([0.3, 0.5], test="correlation")["n"].tolist()
    [85, 29]
    """
    check_choice("test", test, TESTS)
    check_choice("alternative", alternative, ALTERNATIVES)
    _check_levels(alpha, power, m)
    effects = np.atleast_1d(as_vector("effect", np.atleast_1d(effect)))
    a = alpha / m
    two_sided = alternative == "two-sided"
    rows = []
    for e in effects:
        if not np.isfinite(e) or e == 0 or (test == "correlation" and abs(e) >= 1):
            raise InputError(
                f"`effect` must be non-zero{' and inside (-1, 1)' if test == 'correlation' else ''}"
                f", got {e!r}."
            )
        if test == "correlation":
            r = abs(float(e))
            n_exact = optimize.brentq(
                lambda n, r=r: _correlation_power(r, n, a, two_sided) - power,
                4.0 + 1e-9, 1e9, xtol=1e-12, rtol=1e-14,
            )
        else:
            kwargs = {
                "effect_size": abs(float(e)), "alpha": a, "power": power,
                "alternative": "two-sided" if two_sided else "larger",
            }  # fmt: skip
            if test == "one_sample_t":
                n_exact = float(TTestPower().solve_power(nobs=None, **kwargs))
            else:
                n_exact = float(TTestIndPower().solve_power(nobs1=None, ratio=1.0, **kwargs))
        rows.append(
            {
                "effect": float(e), "test": test, "alpha": alpha, "m": int(m), "power": power,
                "alternative": alternative, "n_exact": n_exact, "n": int(math.ceil(n_exact - 1e-9)),
            }  # fmt: skip
        )
    return pd.DataFrame(rows)


def mde(
    std_error: float | Sequence[float] | np.ndarray,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    m: int = 1,
    df: float | Sequence[float] | np.ndarray | None = None,
) -> pd.DataFrame:
    """Minimum detectable effect of a two-sided test with a known standard error.

    ``mde = (q(1 - alpha / (2 m)) + z(power)) * std_error`` with q the t(df) quantile (normal
    when ``df`` is None) and z the normal quantile: with m tests under Holm, the strictest step
    alpha/m is used, so an effect of this size is found with about the stated power at any
    step (docs/methods.md "Statistics", MDE). Give ``std_error`` on the scale you want the MDE on
    (e.g. ``std_effect_se`` for the standardized scale).

    Parameters
    ----------
    std_error : float or array-like
        Standard error(s) of the estimate; one row each.
    alpha : float
        Two-sided level of one test before dividing by ``m``.
    power : float
        Desired power.
    m : int
        Number of tests (Holm's strictest step alpha/m).
    df : float or array-like, optional
        Degrees of freedom of the t critical value (G - 1 for clustered panels); an array gives
        one per standard error.

    Returns
    -------
    pandas.DataFrame
        One row per standard error: ``std_error``, ``alpha``, ``power``, ``m``, ``df``,
        ``critical_value`` (q), ``z_power``, ``mde``.

    Raises
    ------
    analysis.errors.InputError
        Negative standard errors, ``df`` <= 0, levels outside (0, 1), ``m`` < 1.

    Examples
    --------
    >>> from analysis.stats import mde
    >>> round(float(mde(0.1)["mde"].iloc[0]), 4)
    0.2802
    >>> round(float(mde(0.1, m=4, df=29)["mde"].iloc[0]), 4)
    0.3505
    """
    _check_levels(alpha, power, m)
    se = np.atleast_1d(as_vector("std_error", np.atleast_1d(std_error)))
    if np.any(se[~np.isnan(se)] < 0):
        raise InputError("`std_error` must not be negative.")
    dfa = None if df is None else np.asarray(df, dtype=float)
    if dfa is not None and not np.all(dfa > 0):
        raise InputError(f"`df` must be positive, got {df!r}.")
    p = 1 - alpha / (2 * m)
    crit: float | np.ndarray
    if dfa is None or dfa.ndim == 0:
        crit = float(stats.norm.ppf(p) if dfa is None else stats.t.ppf(p, dfa))
    else:  # one df per standard error
        crit = stats.t.ppf(p, dfa)
    z = float(stats.norm.ppf(power))
    return pd.DataFrame(
        {
            "std_error": se,
            "alpha": alpha,
            "power": power,
            "m": int(m),
            "df": np.nan if dfa is None else (dfa if dfa.ndim else float(dfa)),
            "critical_value": crit,
            "z_power": z,
            "mde": (crit + z) * se,
        }
    )


def design_mde(
    rows: float | Sequence[float] | np.ndarray,
    *,
    params: float = 0,
    df: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    m: int = 1,
) -> pd.DataFrame:
    """MDE of a design before any data are fitted, on the standardized (``std_effect``) scale.

    With ``rows`` usable rows and ``params`` parameters the rows must also pay for (fixed
    effects, other regressors), the standard error of a standardized slope is about
    ``1 / sqrt(rows - params)`` when the rows are independent after the fixed effects and the
    exposure is uncorrelated with the other regressors — a lower bound: clustering and
    correlated exposures raise it, and the fitted model's own MDE (:func:`mde` on its SE) is the
    one to trust once the data are fitted. The MDE is then :func:`mde` of that standard error:
    ``(q(1 - alpha/(2m)) + z(power)) / sqrt(rows - params)``, q from t(``df``) (default
    ``rows - params``; G - 1 for SEs clustered over G units).

    Returns
    -------
    pandas.DataFrame
        One row per value of ``rows``: ``rows``, ``params``, ``residual_rows`` (rows - params),
        ``df``, ``std_error``, ``critical_value``, ``mde`` (NaN when residual_rows < 1 or
        df ≤ 0: not estimable).

    Examples
    --------
    >>> from analysis.stats.power import design_mde
    >>> round(float(design_mde(200, params=36, df=29, m=7)["mde"].iloc[0]), 3)
    0.292
    """
    _check_levels(alpha, power, m)
    n = np.atleast_1d(np.asarray(rows, dtype=float))
    resid = n - float(params)
    dfs = resid if df is None else np.full_like(resid, float(df))
    ok = (resid >= 1) & (dfs > 0)
    se = np.where(ok, 1 / np.sqrt(np.where(ok, resid, 1.0)), np.nan)
    q = np.where(ok, stats.t.ppf(1 - alpha / (2 * m), np.where(ok, dfs, 1.0)), np.nan)
    z = float(stats.norm.ppf(power))
    return pd.DataFrame({"rows": n, "params": float(params), "residual_rows": resid, "df": dfs,
                         "std_error": se, "critical_value": q, "mde": (q + z) * se})


def cluster_design_mde(
    design: np.ndarray,
    cluster: np.ndarray,
    *,
    n_terms: int,
    alpha: float = 0.05,
    power: float = 0.8,
    m: int = 1,
    n_sims: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """MDE of the CV3 cluster-jackknife test on a panel design, by simulation; std_effect scale.

    The design is the one :func:`analysis.stats.cluster_inference` takes (``U = [X, S]``: the
    ``n_terms`` slopes first, then the period dummies, entity effects already removed by demeaning
    within the clusters), built from the data's own exposures — no outcome is read. Outcomes are
    drawn as the model plus independent normal errors; because every leave-one-cluster-out slope is
    linear in the outcome, the jackknife deviations and hence the CV3 standard error do not depend
    on the planted slope, so one set of ``n_sims`` error draws gives the power of every effect size:
    a standardized effect ``d`` (SD of the outcome per SD of the exposure, both after the fixed
    effects; the effect explains ``d²`` of the outcome's within variance) is rejected in a draw when
    ``|b + err| / se_CV3 > t(G-1, 1 - alpha/(2m))`` with
    ``b = d / sqrt(1 - d²) · sd(e_w) / sd(x_w)``.
    The MDE is the smallest ``d`` with simulated power ``power`` (bisection on the same draws).

    This is what the formula MDE (:func:`design_mde`: independent rows, known variance) leaves out
    and what matters with few clusters: the exposures' correlation with each other and with the
    period effects, leverage concentrated in a few clusters, CV3's conservative and noisy standard
    error, and t(G-1) with a small G. ``mde_formula`` (``(q + z) ×`` the root-mean-square CV3 SE,
    what the fitted test's MDE column shows on average) and ``power_at_formula`` (the simulated
    power at it) are given beside it.

    Parameters
    ----------
    design : ndarray, shape (n, p)
        ``[X, S]`` as above.
    cluster : ndarray, shape (n,)
        Cluster (entity) of each row.
    n_terms : int
        How many leading columns get an MDE.
    alpha, power, m
        Level before Holm's division by ``m``, the power the MDE is for, hypotheses in the family.
    n_sims : int
        Error draws (Monte Carlo SE of the power about ``sqrt(0.16 / n_sims)``).
    seed : int
        Seed of the draws: the same design and seed give the same MDE.

    Returns
    -------
    pandas.DataFrame
        One row per term: ``term`` (column index), ``n``, ``n_clusters``, ``df`` (G - 1),
        ``critical_value``, ``std_error`` (root-mean-square CV3 SE of ``std_effect`` at the null),
        ``mde`` (simulated; NaN when a leave-one-cluster-out fit cannot identify the term, where
        CV3 cannot test it), ``power_at_mde``, ``mde_formula``, ``power_at_formula``,
        ``mde_fitted`` (the mean over the draws of ``(q + z) ×`` each draw's CV3 SE: what a fitted
        test's MDE column shows on average — smaller than ``mde_formula``, the mean SE being below
        the root mean square), ``n_sims``.

    Examples
    --------
    >>> import numpy as np
    >>> from analysis.stats.power import cluster_design_mde
    >>> rng = np.random.default_rng(0)
    >>> g = np.repeat(np.arange(8), 20)
    >>> x = rng.normal(size=160)
    >>> u = np.column_stack([x - np.bincount(g, x)[g] / 20])
    >>> out = cluster_design_mde(u, g, n_terms=1, n_sims=400)
    >>> bool(out["mde"].iloc[0] > out["mde_formula"].iloc[0] * 0.9)
    True
    """
    _check_levels(alpha, power, m)
    if n_sims < 100:
        raise InputError(f"`n_sims` must be at least 100, got {n_sims}.")
    u = np.asarray(design, dtype=float)
    n, p = u.shape
    k = int(n_terms)
    codes = np.unique(np.asarray(cluster), return_inverse=True)[1].ravel()
    groups = [np.flatnonzero(codes == c) for c in range(int(codes.max()) + 1)]
    g = len(groups)
    if g < 2:
        raise InputError(f"The CV3 test needs at least 2 clusters; got {g}.")
    rng = np.random.default_rng(seed)
    e = rng.normal(size=(n, int(n_sims)))
    e = entity_demean(e, codes)
    b, se, identified = _cv3_many(u, e, groups, k)
    # within SDs: the slopes' and the errors' residuals on the period dummies (two-way within scale)
    s = u[:, k:]
    if s.shape[1]:
        proj = np.linalg.pinv(s)
        xw = u[:, :k] - s @ (proj @ u[:, :k])
        ew = e - s @ (proj @ e)
    else:
        xw, ew = u[:, :k], e
    sd_x = xw.std(axis=0, ddof=1)
    sd_e = ew.std(axis=0, ddof=1)
    q = float(stats.t.ppf(1 - alpha / (2 * m), g - 1))
    zp = float(stats.norm.ppf(power))

    def power_at(d: float, j: int) -> float:
        slope = d / math.sqrt(1 - d * d) * sd_e / sd_x[j]
        return float(np.mean(np.abs(slope + b[j]) > q * se[j]))

    rows = []
    for j in range(k):
        rms = float(np.sqrt(np.mean((se[j] * sd_x[j] / sd_e) ** 2)))
        mean_se = float(np.mean(se[j] * sd_x[j] / sd_e))
        formula = (q + zp) * rms
        row = {"term": j, "n": n, "n_clusters": g, "df": g - 1, "critical_value": q}
        if not identified[j] or not np.isfinite(rms) or sd_x[j] <= 0:
            nan = np.nan
            rows.append(row | {"std_error": nan, "mde": nan, "power_at_mde": nan,
                               "mde_formula": nan, "power_at_formula": nan, "mde_fitted": nan,
                               "n_sims": int(n_sims)})
            continue
        lo, hi = 0.0, 0.999
        if power_at(hi, j) < power:
            d = np.nan
        else:
            for _ in range(40):
                mid = (lo + hi) / 2
                lo, hi = (mid, hi) if power_at(mid, j) < power else (lo, mid)
            d = hi
        rows.append(row | {"std_error": rms, "mde": d,
                           "power_at_mde": power_at(d, j) if np.isfinite(d) else np.nan,
                           "mde_formula": formula,
                           "power_at_formula": power_at(min(formula, 0.999), j),
                           "mde_fitted": (q + zp) * mean_se,
                           "n_sims": int(n_sims)})
    return pd.DataFrame(rows)


def wild_design_mde(
    design: np.ndarray,
    cluster: np.ndarray,
    *,
    n_terms: int,
    alpha: float = 0.05,
    power: float = 0.8,
    m: int = 1,
    n_sims: int = 300,
    n_boot: int = 999,
    weights: str = "auto",
    seed: int = 0,
    boot_seed: int | None = None,
    confidence: float = 0.95,
    cr1_factor: float | None = None,
    statistic: str = "cr1",
) -> pd.DataFrame:
    """MDE of the restricted wild cluster bootstrap-t test on a panel design, by simulation;
    std_effect scale. The wild-bootstrap counterpart of :func:`cluster_design_mde` (same design,
    same error model: the model plus independent normal errors, no outcome read).

    The test is :func:`analysis.stats.cluster_inference`'s ``wild`` (restricted residuals, CR1 t,
    symmetric p-value) with the bootstrap weights it draws from ``boot_seed`` (the fit's ``seed``,
    the fit's ``(G, B)`` weights; None: from ``seed``). Unlike CV3's SE, the bootstrap distribution
    depends on the planted slope ``d``: the restricted residuals are ``M_(-j) y = d M_(-j) u_j +
    M_(-j) e``, so every bootstrap numerator is linear and every squared bootstrap SE quadratic in
    ``d`` (the observed CR1 SE does not depend on it). Each draw's p-value at any ``d`` is then
    exact from five ``B``-vectors, and the power curve over ``d`` is found by bisection on the
    same draws, as for CV3.

    Returns
    -------
    pandas.DataFrame
        One row per term: ``term``, ``n``, ``n_clusters``, ``mde`` (the smallest standardized
        effect rejected at ``alpha/m`` in ``power`` of the draws; NaN when not reached below
        0.999), ``power_at_mde``, ``mde_fitted`` (the mean over the null draws of
        ``(t(G-1, 1 - alpha/(2m)) + z(power)) ×`` the fitted test's bootstrap-t SE, CR1 SE ×
        q*/t(G-1, (1 + confidence)/2): what a fitted test's MDE column shows on average),
        ``size`` (the draws' rejection rate at ``d = 0``, level ``alpha/m``), ``weights``,
        ``n_boot``, ``n_sims``.

    Examples
    --------
    >>> import numpy as np
    >>> from analysis.stats.power import wild_design_mde
    >>> rng = np.random.default_rng(0)
    >>> g = np.repeat(np.arange(10), 20)
    >>> x = rng.normal(size=200) + np.repeat(rng.normal(size=10), 20)
    >>> u = np.column_stack([x - np.bincount(g, x)[g] / 20])
    >>> out = wild_design_mde(u, g, n_terms=1, n_sims=100)
    >>> bool(0 < out["mde"].iloc[0] < 0.999), out["weights"].iloc[0]
    (True, 'webb')
    """
    from analysis.stats.cluster import MIN_DRAWS, WEBB_BELOW, bootstrap_weights

    _check_levels(alpha, power, m)
    if n_sims < 100:
        raise InputError(f"`n_sims` must be at least 100, got {n_sims}.")
    if n_boot < MIN_DRAWS:
        raise InputError(f"`n_boot` must be at least {MIN_DRAWS}, got {n_boot}.")
    check_choice("weights", weights, ("auto", "rademacher", "webb"))
    u = np.asarray(design, dtype=float)
    (n, p), k = u.shape, int(n_terms)
    codes = np.unique(np.asarray(cluster), return_inverse=True)[1].ravel()
    groups = [np.flatnonzero(codes == c) for c in range(int(codes.max()) + 1)]
    g = len(groups)
    if g < 2:
        raise InputError(f"The wild cluster bootstrap needs at least 2 clusters; got {g}.")
    wname = ("webb" if g < WEBB_BELOW else "rademacher") if weights == "auto" else weights
    boot_rng = np.random.default_rng((int(seed), 1) if boot_seed is None else boot_seed)
    v, _ = bootstrap_weights(g, int(n_boot), wname, boot_rng)
    rng = np.random.default_rng(seed)
    e = entity_demean(rng.normal(size=(n, int(n_sims))), codes)
    check_choice("statistic", statistic, ("cr1", "cv3"))
    parts = _wild_parts(u, groups, v, e, k, statistic)
    factor = g / (g - 1) * (n - 1) / (n - p) if cr1_factor is None else float(cr1_factor)
    if statistic == "cv3":
        factor = 1.0  # the CV3 variance carries its own (G-1)/G
    s = u[:, k:]
    if s.shape[1]:
        proj = np.linalg.pinv(s)
        xw = u[:, :k] - s @ (proj @ u[:, :k])
        ew = e - s @ (proj @ e)
    else:
        xw, ew = u[:, :k], e
    sd_x = xw.std(axis=0, ddof=1)
    sd_e = ew.std(axis=0, ddof=1)
    crit = alpha / m
    q = float(stats.t.ppf(1 - alpha / (2 * m), g - 1))
    zp = float(stats.norm.ppf(power))
    level_q = float(stats.t.ppf(0.5 + confidence / 2, g - 1))
    rows = []
    for j in range(k):
        pj = parts[j]

        def power_at(d: float, pj: dict = pj, sx: float = float(sd_x[j])) -> float:
            slope = d / math.sqrt(1 - d * d) * sd_e / sx
            return float(np.mean(_wild_p(pj, slope) < crit))

        n0, q00, var_obs = pj["n0"], pj["q00"], pj["var_obs"]
        # the fitted test's bootstrap-t SE at the null draws, std_effect scale
        tstar = np.sqrt(n0**2 / np.where(q00 > 0, factor * q00, np.nan))
        qstar = _row_quantile(tstar, confidence)
        se_fit = np.sqrt(factor * var_obs) * qstar / level_q * sd_x[j] / sd_e
        row = {"term": j, "n": n, "n_clusters": g, "size": power_at(0.0),
               "mde_fitted": float((q + zp) * np.nanmean(se_fit)), "weights": wname,
               "n_boot": int(v.shape[1]), "n_sims": int(n_sims)}
        if sd_x[j] <= 0 or power_at(0.999) < power:
            rows.append(row | {"mde": np.nan, "power_at_mde": np.nan})
            continue
        lo, hi = 0.0, 0.999
        for _ in range(30):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if power_at(mid) < power else (lo, mid)
        rows.append(row | {"mde": hi, "power_at_mde": power_at(hi)})
    return pd.DataFrame(rows)


def _row_quantile(x: np.ndarray, q: float) -> np.ndarray:
    """``np.nanquantile(x, q, axis=1)``: one vectorised ``np.quantile`` when no entry is NaN
    (nanquantile goes row by row; the numbers are the same)."""
    return np.quantile(x, q, axis=1) if not np.isnan(x).any() else np.nanquantile(x, q, axis=1)


def _wild_parts(u: np.ndarray, groups: list[np.ndarray], v: np.ndarray, e: np.ndarray,
                k: int, statistic: str = "cr1") -> list[dict]:
    """Per term j of the first ``k``: the pieces of the restricted wild bootstrap-t test of
    :func:`analysis.stats.cluster_inference` (factor-free; the CR1 factor cancels) for outcomes
    ``slope × u_j + e`` of every error column of ``e`` (n, S) and weights ``v`` (G, B):
    ``b0`` (S,) the OLS slope of ``e``; ``var_obs`` (S,) its CR1 variance; ``n0`` (S, B), ``n1``
    (B,) the bootstrap numerators' parts; ``q00`` (S, B), ``q01`` (S, B), ``q11`` (B,) the squared
    bootstrap SEs' (see :func:`_wild_p`). ``statistic="cv3"``: the same for the bootstrap of the
    CV3 t (``wild_cv3``), whose jackknife deviations are linear in the outcome as well."""
    if statistic == "cv3":
        return _wild_cv3_parts(u, groups, v, e, k)
    p = u.shape[1]
    uu = u.T @ u
    mm = np.linalg.pinv(uu, hermitian=True)
    coef = mm @ (u.T @ e)  # (p, S)
    cross = np.stack([u[ix].T @ u[ix] for ix in groups])  # (G, p, p)

    def gsum(r: np.ndarray) -> np.ndarray:  # (n, S) -> (G, p, S): U_g' r_g
        return np.stack([u[ix].T @ r[ix] for ix in groups])

    sc = gsum(e - u @ coef)
    out = []
    for j in range(k):
        cj = mm[j]
        var_obs = np.sum(np.einsum("gps,p->gs", sc, cj) ** 2, axis=0)
        keep = np.arange(p) != j
        uk = u[:, keep]
        pk = np.linalg.pinv(uu[np.ix_(keep, keep)], hermitian=True)
        r1 = u[:, j] - uk @ (pk @ (uk.T @ u[:, j]))  # M_(-j) u_j
        r0 = e - uk @ (pk @ (uk.T @ e))  # M_(-j) e, (n, S)
        z1 = gsum(r1[:, None])[..., 0]  # (G, p)
        z0 = gsum(r0)  # (G, p, S)
        a1, a0 = z1 @ cj, np.einsum("gps,p->gs", z0, cj)
        w = np.einsum("q,gqr,rs->gs", cj, cross, mm)  # (G, p)
        n1, n0 = a1 @ v, a0.T @ v  # (B,), (S, B)
        s1 = a1[:, None] * v - (w @ z1.T) @ v  # (G, B)
        q01, q00 = np.empty_like(n0), np.empty_like(n0)
        for c in range(0, e.shape[1], 50):  # draws in chunks: (S, G, B) at once is large
            sl = slice(c, c + 50)
            k0 = np.einsum("gp,hps->sgh", w, z0[..., sl])  # (S, G, G)
            s0 = a0.T[sl, :, None] * v[None] - k0 @ v  # (S, G, B)
            q01[sl] = np.einsum("sgb,gb->sb", s0, s1)
            q00[sl] = np.sum(s0 * s0, axis=1)
        out.append({"b0": coef[j], "var_obs": var_obs, "n0": n0, "n1": n1, "q00": q00,
                    "q01": q01, "q11": np.sum(s1 * s1, axis=0)})
    return out


def _wild_cv3_parts(u: np.ndarray, groups: list[np.ndarray], v: np.ndarray, e: np.ndarray,
                    k: int) -> list[dict]:
    """:func:`_wild_parts` for the bootstrap of the CV3 t statistic
    (:func:`analysis.stats.cluster._wild_cv3`): the observed CV3 variance does not depend on the
    slope (every jackknife deviation loses it); the bootstrap slopes without each cluster are
    linear in it, so their squared deviations are quadratic."""
    g, p = len(groups), u.shape[1]
    uu = u.T @ u
    mm = np.linalg.pinv(uu, hermitian=True)
    coef = mm @ (u.T @ e)  # (p, S)
    cross = np.stack([u[ix].T @ u[ix] for ix in groups])  # (G, p, p)
    loo = np.linalg.pinv(uu[None] - cross, hermitian=True)  # (G, p, p)
    scale = (g - 1) / g

    def gsum(r: np.ndarray) -> np.ndarray:  # (n, S) -> (G, p, S): U_g' r_g
        return np.stack([u[ix].T @ r[ix] for ix in groups])

    ue = gsum(e)  # (G, p, S)
    out = []
    for j in range(k):
        cj, rows = mm[j], loo[:, j, :]  # (p,), (G, p)
        jack_e = np.einsum("gp,gps->gs", rows, ue.sum(axis=0)[None] - ue)  # (G, S)
        var_obs = scale * np.sum((jack_e - coef[j][None]) ** 2, axis=0)
        keep = np.arange(p) != j
        uk = u[:, keep]
        pk = np.linalg.pinv(uu[np.ix_(keep, keep)], hermitian=True)
        r1 = u[:, j] - uk @ (pk @ (uk.T @ u[:, j]))  # restricted residuals: d r1 + r0
        r0 = e - uk @ (pk @ (uk.T @ e))
        z1, z0 = gsum(r1[:, None])[..., 0], gsum(r0)  # (G, p), (G, p, S)
        c1, c0 = gsum((u[:, j] - r1)[:, None])[..., 0], gsum(e - r0)  # the restricted fit's
        al1 = np.einsum("gp,gp->g", rows, c1.sum(axis=0)[None] - c1)
        al0 = np.einsum("gp,gps->gs", rows, c0.sum(axis=0)[None] - c0)
        k1 = rows @ z1.T  # (G, G)
        a1, a0 = z1 @ cj, np.einsum("gps,p->gs", z0, cj)
        n1, n0 = a1 @ v, a0.T @ v  # (B,), (S, B)
        d1 = al1[:, None] + k1 @ v - np.diag(k1)[:, None] * v - n1[None]  # (G, B)
        q01, q00 = np.empty_like(n0), np.empty_like(n0)
        for c in range(0, e.shape[1], 50):
            sl = slice(c, c + 50)
            k0 = np.einsum("gp,hps->sgh", rows, z0[..., sl])  # (S, G, G)
            diag = np.einsum("sgg->sg", k0)
            d0 = (al0.T[sl, :, None] + k0 @ v - diag[..., None] * v[None]
                  - n0[sl, None, :])  # (S, G, B)
            q01[sl] = scale * np.einsum("sgb,gb->sb", d0, d1)
            q00[sl] = scale * np.sum(d0 * d0, axis=1)
        out.append({"b0": coef[j], "var_obs": var_obs, "n0": n0, "n1": n1, "q00": q00,
                    "q01": q01, "q11": scale * np.sum(d1 * d1, axis=0)})
    return out


def _wild_p(parts: dict, slope: float) -> np.ndarray:
    """Per draw, the wild bootstrap p-value of the term with ``slope`` planted: the share of
    bootstrap |t*| at least the observed |t|, i.e. ``(n0 + d n1)² var_obs ≥ (d + b0)² (q00 + 2 d
    q01 + d² q11)`` (the unrestricted residuals, hence the observed CR1 SE, do not depend on the
    slope; the restricted ones move by ``d M_(-j) u_j``)."""
    d = np.broadcast_to(np.asarray(slope, dtype=float), parts["b0"].shape)[:, None]
    num = (parts["n0"] + d * parts["n1"]) ** 2 * parts["var_obs"][:, None]
    den = (parts["q00"] + 2 * d * parts["q01"] + d * d * parts["q11"]) \
        * (d + parts["b0"][:, None]) ** 2
    return np.mean(num >= den * (1 - 2e-10), axis=1)


def _cv3_many(
    u: np.ndarray, y: np.ndarray, groups: list[np.ndarray], k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """OLS slopes and CV3 standard errors (centred on the estimate, (G-1)/G) of the first ``k``
    columns of ``u`` for every column of ``y`` at once — :func:`analysis.stats.cluster_inference`'s
    ``cv3`` vectorised over outcomes (checked against it in tests/test_stats_power.py); and whether
    every leave-one-cluster-out fit identifies each slope."""
    g = len(groups)
    uu = u.T @ u
    ue = u.T @ y
    b = (np.linalg.pinv(uu, hermitian=True) @ ue)[:k]
    var = np.zeros_like(b)
    identified = np.ones(k, dtype=bool)
    for ix in groups:
        ug = u[ix]
        a = uu - ug.T @ ug
        mg = np.linalg.pinv(a, hermitian=True)
        identified &= np.abs(np.diag(mg @ a)[:k] - 1) < 1e-6
        var += ((mg @ (ue - ug.T @ y[ix]))[:k] - b) ** 2
    return b, np.sqrt((g - 1) / g * var), identified
