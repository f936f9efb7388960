"""Two-way fixed-effects regressions in plain numpy: the confirmatory tests' fast path.

:func:`twoway_regression` fits ``y ~ x + entity effects + period effects`` with standard errors
clustered by entity and returns the same table as
:func:`analysis.stats.panel_regression` (``entity_effects=True, time_effects=True,
cov_type="clustered"``), without pandas or linearmodels inside: the panel model is small (tens of
entities × tens of periods), so building frames and a linearmodels model cost a hundred times the
arithmetic. Written by hand because the tests must run on hundreds of simulated worlds (a
``PanelOLS`` fit per hypothesis made a world cost seconds) and neither linearmodels nor pyfixest
returns the few-cluster inference of :mod:`analysis.stats.cluster`.

The arithmetic (one pass over the rows, all regressors at once):

- the design ``U = [X, D]`` (slopes, then the period dummies with the first dropped) and ``y``
  are demeaned within entity once (:func:`cluster_design`, the form in which
  :func:`analysis.stats.cluster.cluster_inference` keeps CV3, CR2 and the wild bootstrap exact
  on unbalanced panels);
- every standard error (CR1, CR2 + Bell–McCaffrey df, CV3, wild) comes from
  :func:`~analysis.stats.cluster.cluster_inference` on that design; CV3's leave-one-cluster-out
  refits are per-cluster downdates of ``U'U`` and ``U'y``, never a refit from the rows;
- the two-way within transform used for ``std_effect`` and the collinearity check is exact
  (:func:`within`: entity demeaning, then the residual on the entity-demeaned period dummies, as
  linearmodels' ``demean("both")``), so balanced and unbalanced panels are treated alike.

The tests (tests/test_stats_fe.py) hold it to :func:`~analysis.stats.panel_regression`
(linearmodels) and to pyfixest to 1e-10 on balanced and unbalanced panels, for every method.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import InputError
from analysis.stats._validate import check_choice, warn
from analysis.stats.cluster import INFERENCE_METHODS, cluster_inference

#: linearmodels' rule: a regressor with less than this fraction of its norm left after the fixed
#: effects (and the regressors before it) are removed is absorbed.
ABSORBED_TOL = 1e-5
MIN_CLUSTERS = 30
MAX_VIF = 10.0
PANEL_COLUMNS = [
    "term", "role", "estimate", "std_error", "statistic", "df", "p_unc", "ci_low", "ci_high",
    "n", "n_entities", "n_periods", "std_effect", "std_effect_se", "cov_type", "small_sample",
    "diagnostics",
]  # fmt: skip


def codes(values: Sequence | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes ``0..L-1`` of ``values`` in sorted-label order, and the labels
    (``pandas.factorize(..., sort=True)``; a missing value gets ``-1``)."""
    c, labels = pd.factorize(np.asarray(values), sort=True)
    return np.asarray(c, dtype=np.intp), np.asarray(labels)


def entity_demean(a: np.ndarray, ent: np.ndarray, counts: np.ndarray | None = None) -> np.ndarray:
    """``a`` (one column or several) minus its mean within each entity code."""
    if counts is None:
        counts = np.bincount(ent)
    if a.ndim == 1:
        return a - (np.bincount(ent, weights=a, minlength=len(counts)) / counts)[ent]
    if a.shape[1] == 0:
        return a.copy()
    means = np.stack([np.bincount(ent, weights=c, minlength=len(counts)) for c in a.T], axis=1) / counts[:, None]
    return a - means[ent]


def period_dummies(per: np.ndarray, n_periods: int | None = None, *, drop_first: bool = True) -> np.ndarray:
    """Dummies of the period codes (rows × periods), the first dropped by default."""
    t = int(per.max()) + 1 if n_periods is None else int(n_periods)
    d = (per[:, None] == np.arange(t)[None, :]).astype(float)
    return d[:, 1:] if drop_first else d


def within(a: np.ndarray, ent: np.ndarray, per: np.ndarray) -> np.ndarray:
    """The exact two-way within transform of ``a`` (rows × columns, or one column): the residual
    of a regression on entity and period dummies, computed as the entity-demeaned ``a`` minus its
    projection on the entity-demeaned period dummies (Frisch–Waugh; linearmodels'
    ``demean("both")`` does the same). Codes must be ``0..L-1`` without gaps."""
    counts = np.bincount(ent)
    ae = entity_demean(a, ent, counts)
    n_t = int(per.max()) + 1 if len(per) else 0
    if n_t < 2:
        return ae
    de = entity_demean(period_dummies(per, n_t), ent, counts)
    coef = np.linalg.lstsq(de, ae, rcond=None)[0]
    return ae - de @ coef


def within_sd(x: np.ndarray, ent: np.ndarray, per: np.ndarray) -> float:
    """SD (ddof 0) of ``x`` after removing entity and period means (:func:`within`); with one
    entity, after removing the mean. Rows with a missing ``x`` or code are left out; 0.0 when
    none is left."""
    x = np.asarray(x, dtype=float)
    ok = np.isfinite(x) & (ent >= 0) & (per >= 0)
    if not ok.any():
        return 0.0
    x, e, t = x[ok], ent[ok], per[ok]
    e = np.unique(e, return_inverse=True)[1].ravel()
    if e.max() < 1:
        return float(np.std(x - x.mean()))
    t = np.unique(t, return_inverse=True)[1].ravel()
    return float(np.std(within(x, e, t)))


def cluster_design(
    x: np.ndarray, y: np.ndarray, ent: np.ndarray, per: np.ndarray, n_periods: int
) -> tuple[np.ndarray, np.ndarray]:
    """``U = [X, D]`` and ``y``, both demeaned within entity: the design of
    :func:`analysis.stats.cluster.cluster_inference` for two-way effects clustered by entity
    (entity effects nested in the clusters absorbed; period effects as dummies, the first
    dropped). Codes must be ``0..L-1`` without gaps."""
    u = np.hstack([x, period_dummies(per, n_periods)])
    counts = np.bincount(ent)
    u = u - (np.stack([np.bincount(ent, weights=c) for c in u.T], axis=1) / counts[:, None])[ent]
    return u, y - (np.bincount(ent, weights=y) / counts)[ent]


def _vifs(xw: np.ndarray) -> np.ndarray:
    """Variance inflation factors of within-transformed regressors: the diagonal of the inverse
    correlation matrix (inf when it is singular)."""
    if xw.shape[1] < 2:
        return np.ones(xw.shape[1])
    corr = np.corrcoef(xw, rowvar=False)
    try:
        return np.diag(np.linalg.inv(corr))
    except np.linalg.LinAlgError:
        return np.full(xw.shape[1], np.inf)


def _check_identified(x: np.ndarray, xw: np.ndarray, terms: Sequence[str]) -> None:
    """linearmodels' checks: a regressor with less than ``ABSORBED_TOL`` of its norm left after
    the effects is absorbed; one left with that little after the regressors before it is
    collinear with them."""
    norms = np.sqrt(np.sum(x * x, axis=0))
    left = np.sqrt(np.sum(xw * xw, axis=0))
    absorbed = [t for t, a, b in zip(terms, left, norms, strict=True) if not a > ABSORBED_TOL * b]
    if absorbed:
        raise InputError(
            f"A regressor does not vary once the fixed effects are removed, so its effect cannot be "
            f"estimated: {absorbed} (less than {ABSORBED_TOL:g} of the column's norm is left). Drop it or the "
            "effects that absorb it."
        )
    r = np.linalg.qr(xw, mode="r")
    if np.any(np.abs(np.diag(r)) <= ABSORBED_TOL * norms):
        raise InputError(
            f"The regressors {list(terms)} are perfectly collinear (after removing fixed effects). Drop one "
            "of the columns that are linear combinations of the others."
        )


@dataclass
class TwoWayFit:
    """The result of :func:`twoway_fit`: arrays over the terms and the model's notes.

    ``frame()`` is the table of :func:`twoway_regression`; ``warnings`` the messages it issues.
    """

    terms: list[str]
    roles: list[str]
    estimate: np.ndarray
    std_error: np.ndarray
    statistic: np.ndarray
    df: np.ndarray
    p_unc: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    n: int
    n_entities: int
    n_periods: int
    std_effect: np.ndarray
    std_effect_se: np.ndarray
    small_sample: str
    diagnostics: list[str]
    inference: str | None
    identified: np.ndarray
    warnings: list[str]
    attrs: dict = field(default_factory=dict)

    def frame(self) -> pd.DataFrame:
        """One row per term, the columns of :func:`analysis.stats.panel_regression`."""
        out = pd.DataFrame(
            {
                "term": self.terms, "role": self.roles, "estimate": self.estimate, "std_error": self.std_error,
                "statistic": self.statistic, "df": self.df, "p_unc": self.p_unc, "ci_low": self.ci_low,
                "ci_high": self.ci_high, "n": self.n, "n_entities": self.n_entities, "n_periods": self.n_periods,
                "std_effect": self.std_effect, "std_effect_se": self.std_effect_se, "cov_type": "clustered",
                "small_sample": self.small_sample, "diagnostics": self.diagnostics,
            },
            columns=PANEL_COLUMNS,
        )  # fmt: skip
        if self.inference is not None:
            out["inference"] = self.inference
            out["identified"] = self.identified
        out.attrs.update(self.attrs)
        return out


def twoway_regression(
    y: np.ndarray,
    x: np.ndarray,
    entity: Sequence | np.ndarray,
    period: Sequence | np.ndarray,
    *,
    terms: Sequence[str],
    roles: Sequence[str] | None = None,
    outcome: str = "y",
    inference: str | None = None,
    confidence: float = 0.95,
    n_boot: int = 999,
    seed: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Two-way fixed-effects regression clustered by entity, in numpy (see the module docstring).

    The model and every column are those of :func:`analysis.stats.panel_regression` with
    ``entity_effects=True, time_effects=True, cov_type="clustered"``: CR1 scaled by
    G/(G-1) * (N-1)/(N-K) with K = slopes + periods - 1, t(G-1); ``inference`` one of
    ``"cr1"``, ``"cr2"``, ``"cv3"``, ``"wild"`` (:func:`analysis.stats.cluster_inference`), or
    None for the plain CR1 columns; ``std_effect`` on the two-way within scale; the same
    diagnostics and :class:`~analysis.stats.StatsWarning` messages (few clusters, VIF above 10,
    dropped rows, a leave-one-cluster-out fit that loses a coefficient).

    Parameters
    ----------
    y : array-like, shape (n,)
        Outcome.
    x : array-like, shape (n, k)
        Regressors (exposures and controls), one column per entry of ``terms``.
    entity, period : array-like, shape (n,)
        Entity (the cluster) and period of each row; any sortable labels.
    terms : sequence of str
        Names of the columns of ``x``.
    roles : sequence of str, optional
        ``role`` of each term (default ``exposure`` for all).
    outcome : str
        Name of the outcome in warnings.
    inference, confidence, n_boot, seed
        As in :func:`analysis.stats.panel_regression`.

    Returns
    -------
    pandas.DataFrame
        One row per term, the columns of :func:`analysis.stats.panel_regression` (``term, role,
        estimate, std_error, statistic, df, p_unc, ci_low, ci_high, n, n_entities, n_periods,
        std_effect, std_effect_se, cov_type, small_sample, diagnostics``; with ``inference`` also
        ``inference`` and ``identified``) and the same ``attrs``.

    Raises
    ------
    analysis.errors.InputError
        Repeated (entity, period) pairs, fewer rows than parameters plus two, fewer than 2
        entities, a regressor absorbed by the effects or collinear with the others, unknown
        ``inference``.

    Examples
    --------
    >>> import numpy as np
    >>> from analysis.stats.fe import twoway_regression
    >>> rng = np.random.default_rng(7)
    >>> ent, per = np.repeat(np.arange(40), 8), np.tile(np.arange(8), 40)
    >>> share = rng.uniform(size=320)
    >>> growth = 0.5 * share + rng.normal(size=320)
    >>> res = twoway_regression(growth, share[:, None], ent, per, terms=["share"], inference="cv3")
    >>> res.loc[0, "term"], int(res.loc[0, "df"]), int(res.loc[0, "n"]), bool(res.loc[0, "identified"])
    ('share', 39, 320, True)
    """
    fit = twoway_fit(y, x, entity, period, terms=terms, roles=roles, outcome=outcome, inference=inference,
                     confidence=confidence, n_boot=n_boot, seed=seed)
    for message in fit.warnings:
        warn(message)
    return fit.frame()


def twoway_fit(
    y: np.ndarray,
    x: np.ndarray,
    entity: Sequence | np.ndarray,
    period: Sequence | np.ndarray,
    *,
    terms: Sequence[str],
    roles: Sequence[str] | None = None,
    outcome: str = "y",
    inference: str | None = None,
    confidence: float = 0.95,
    n_boot: int = 999,
    seed: int | np.random.Generator | None = None,
    entity_labels: np.ndarray | None = None,
) -> TwoWayFit:
    """:func:`twoway_regression` without the table: a :class:`TwoWayFit` whose ``warnings`` are
    returned, not issued (the many fits of the method check build no frame). With
    ``entity_labels``, ``entity`` holds integer codes into it (sorted labels, as :func:`codes`
    gives), which saves factorizing the labels on every fit."""
    if inference is not None:
        check_choice("inference", inference, INFERENCE_METHODS)
    if not 0 < confidence < 1:
        raise InputError(f"`confidence` must be between 0 and 1, got {confidence!r}.")
    terms = list(terms)
    roles = ["exposure"] * len(terms) if roles is None else list(roles)
    yv = np.asarray(y, dtype=float)
    xv = np.asarray(x, dtype=float).reshape(len(yv), -1)
    if xv.shape[1] != len(terms) or not terms:
        raise InputError(f"`x` has {xv.shape[1]} columns for {len(terms)} terms; give one name per column.")
    ent_all, ent_labels_all = codes(entity)
    if entity_labels is not None:
        ent_labels_all = np.asarray(entity_labels)[ent_labels_all]
    per_all, per_labels_all = codes(period)
    diagnostics: list[str] = []
    complete = np.isfinite(yv) & np.isfinite(xv).all(axis=1) & (ent_all >= 0) & (per_all >= 0)
    if not complete.all():
        diagnostics.append(f"dropped_missing: {int((~complete).sum())} rows")
        yv, xv = yv[complete], xv[complete]
        ent_u, ent = np.unique(ent_all[complete], return_inverse=True)
        per_u, per = np.unique(per_all[complete], return_inverse=True)
        ent, per = ent.ravel(), per.ravel()
        ent_labels, n_t = ent_labels_all[ent_u], len(per_u)
    else:
        ent, per, ent_labels, n_t = ent_all, per_all, ent_labels_all, len(per_labels_all)
    n, g, k = len(yv), len(ent_labels), len(terms)
    if len(np.unique(ent * max(n_t, 1) + per)) < n:
        raise InputError(
            "The entity and period must identify the rows, but some (entity, period) pairs occur twice. "
            "Aggregate to one row per entity and period."
        )
    n_params = k + g + n_t - 1
    if n < n_params + 2:
        raise InputError(
            f"Too few rows for the model: {n} complete rows for {n_params} parameters "
            f"(slopes and fixed effects). Use fewer regressors or effects, or more data."
        )
    if g < 2:
        raise InputError(f"Clustered standard errors need at least 2 entities; got {g}.")

    # the two-way within transform of [y, X], all columns at once
    w = within(np.column_stack([yv, xv]), ent, per)
    yw, xw = w[:, 0], w[:, 1:]
    _check_identified(xv, xw, terms)

    k_ssc = k + n_t - 1
    factor = g / (g - 1) * (n - 1) / (n - k_ssc)
    small_sample = (
        f"G/(G-1)*(N-1)/(N-K) with K={k_ssc} (slopes + fixed effects not nested in the "
        f"entity clusters; fixest would count K+1), G={g}, N={n}; t(G-1)"
    )
    if g < MIN_CLUSTERS:
        diagnostics.append(f"few_clusters: G={g} < {MIN_CLUSTERS}")
    u, ye = cluster_design(xv, yv, ent, per, n_t)
    inf_res = cluster_inference(
        u, ye, ent, n_terms=k, method=inference or "cr1", cr1_factor=factor, confidence=confidence,
        n_boot=n_boot, seed=seed, cluster_labels=ent_labels,
    )  # fmt: skip
    est, se = inf_res.estimate, inf_res.std_error
    messages: list[str] = []
    if inference is None:
        dof = g - 1
        tstat = est / se
        p = 2 * stats.t.sf(np.abs(tstat), dof)
        q = stats.t.ppf(0.5 + confidence / 2, dof)
        ci_low, ci_high, dof_col = est - q * se, est + q * se, dof
    else:
        tstat, p = inf_res.statistic, inf_res.p_value
        ci_low, ci_high, dof_col = inf_res.ci_low, inf_res.ci_high, inf_res.df
        small_sample = f"{inf_res.label}; CR1 factor: {small_sample}"
        for term, note in zip(terms, inf_res.notes, strict=True):
            if note:
                messages.append(f"panel_regression({outcome!r}): {term}: {note}")

    term_notes = dict(zip(terms, inf_res.notes if inference is not None else [""] * k, strict=True))
    for term, v in zip(terms, _vifs(xw) if k > 1 else np.ones(k), strict=True):
        if v > MAX_VIF:
            note = f"collinear: VIF={v:.1f} > {MAX_VIF:g}"
            term_notes[term] = f"{term_notes[term]}; {note}" if term_notes[term] else note
    sd_y = float(np.std(yw, ddof=1))
    scale = np.std(xw, axis=0, ddof=1) / sd_y if sd_y > 0 else np.full(k, np.nan)

    messages += [f"panel_regression({outcome!r}): {note}" for note in diagnostics]
    collinear = [f"{t} ({m})" for t, m in term_notes.items() if m]
    if collinear:
        messages.append(f"panel_regression({outcome!r}): collinear regressors: {', '.join(collinear)}")
    model_notes = "; ".join(diagnostics)
    attrs = dict(
        cov_type="clustered", small_sample=small_sample, ssc_factor=factor,
        df=(g - 1) if inference is None else inf_res.df.tolist(), K=k_ssc, n_clusters=g,
        diagnostics=diagnostics + [f"{t}: {m}" for t, m in term_notes.items() if m],
    )  # fmt: skip
    if inference is not None:
        attrs = dict(inference=inference, inference_label=inf_res.label, **inf_res.details) | attrs
    return TwoWayFit(
        terms=terms, roles=roles, estimate=est, std_error=se, statistic=tstat,
        df=np.full(k, dof_col) if inference is None else dof_col, p_unc=p, ci_low=ci_low, ci_high=ci_high,
        n=n, n_entities=g, n_periods=n_t, std_effect=est * scale, std_effect_se=se * scale,
        small_sample=small_sample,
        diagnostics=["; ".join(s for s in (model_notes, term_notes[t]) if s) for t in terms],
        inference=inference, identified=inf_res.identified, warnings=messages, attrs=attrs,
    )  # fmt: skip


__all__ = ["TwoWayFit", "cluster_design", "codes", "entity_demean", "twoway_fit", "twoway_regression", "within",
           "within_sd"]
