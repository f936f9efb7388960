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
from typing import NamedTuple, Required, TypedDict, Unpack

import numpy as np
import pandas as pd

from analysis.errors import InputError
from analysis.stats._panel import (
    PanelFit,
    assemble_fit,
    check_model_size,
    cr1_correction,
    few_clusters,
    vifs,
)
from analysis.stats._validate import check_choice, check_confidence, warn
from analysis.stats.cluster import INFERENCE_METHODS, cluster_inference

#: linearmodels' rule: a regressor with less than this fraction of its norm left after the fixed
#: effects (and the regressors before it) are removed is absorbed.
ABSORBED_TOL = 1e-5


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
    means = (
        np.stack([np.bincount(ent, weights=c, minlength=len(counts)) for c in a.T], axis=1)
        / counts[:, None]
    )
    return a - means[ent]


def period_dummies(
    per: np.ndarray, n_periods: int | None = None, *, drop_first: bool = True
) -> np.ndarray:
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
    counts = np.bincount(ent)
    return entity_demean(
        np.hstack([x, period_dummies(per, n_periods)]), ent, counts
    ), entity_demean(y, ent, counts)


def _check_identified(x: np.ndarray, xw: np.ndarray, terms: Sequence[str]) -> None:
    """linearmodels' checks: a regressor with less than ``ABSORBED_TOL`` of its norm left after
    the effects is absorbed; one left with that little after the regressors before it is
    collinear with them."""
    norms = np.sqrt(np.sum(x * x, axis=0))
    left = np.sqrt(np.sum(xw * xw, axis=0))
    absorbed = [t for t, a, b in zip(terms, left, norms, strict=True) if not a > ABSORBED_TOL * b]
    if absorbed:
        raise InputError(
            f"A regressor does not vary once the fixed effects are removed, so its effect cannot "
            f"be estimated: {absorbed} (less than {ABSORBED_TOL:g} of the column's norm is left). "
            "Drop it or the effects that absorb it."
        )
    r = np.linalg.qr(xw, mode="r")
    if np.any(np.abs(np.diag(r)) <= ABSORBED_TOL * norms):
        raise InputError(
            f"The regressors {list(terms)} are perfectly collinear (after removing fixed effects). "
            "Drop one of the columns that are linear combinations of the others."
        )


#: The result of :func:`twoway_fit` (the name its callers know): arrays over the terms, the
#: model's notes, ``frame()`` the table of :func:`twoway_regression`.
TwoWayFit = PanelFit


class TwoWayOptions(TypedDict, total=False):
    """The options :func:`twoway_regression` passes on to :func:`twoway_fit` (defaults there)."""

    terms: Required[Sequence[str]]
    roles: Sequence[str] | None
    outcome: str
    inference: str | None
    confidence: float
    n_boot: int
    seed: int | np.random.Generator | None


def twoway_regression(
    y: np.ndarray,
    x: np.ndarray,
    entity: Sequence | np.ndarray,
    period: Sequence | np.ndarray,
    **options: Unpack[TwoWayOptions],
) -> pd.DataFrame:
    """Two-way fixed-effects regression clustered by entity, in numpy (see the module docstring).

    The model and every column are those of :func:`analysis.stats.panel_regression` with
    ``entity_effects=True, time_effects=True, cov_type="clustered"``: CR1 scaled by
    G/(G-1) * (N-1)/(N-K) with K = slopes + periods - 1, t(G-1); ``inference`` one of
    ``"cr1"``, ``"cr2"``, ``"cv3"``, ``"wild"``, ``"wild_cv3"``
    (:func:`analysis.stats.cluster_inference`), or
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
    >>> row = res.iloc[0]
    >>> row["term"], int(row["df"]), int(row["n"]), bool(row["identified"])
    ('share', 39, 320, True)
    """
    fit = twoway_fit(y, x, entity, period, **options)
    for message in fit.warnings:
        warn(message)
    return fit.frame()


class _Rows(NamedTuple):
    """The complete rows of a two-way fit, with entity and period codes ``0..L-1`` without gaps."""

    y: np.ndarray
    x: np.ndarray
    ent: np.ndarray
    per: np.ndarray
    ent_labels: np.ndarray
    n_periods: int
    diagnostics: list[str]


def _complete_rows(
    yv: np.ndarray,
    xv: np.ndarray,
    entity: Sequence | np.ndarray,
    period: Sequence | np.ndarray,
    entity_labels: np.ndarray | None,
) -> _Rows:
    """Drop the rows with a missing value or label (the ``dropped_missing`` diagnostic) and code the
    rest; repeated (entity, period) pairs are an input error."""
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
        rows = _Rows(
            yv, xv, ent.ravel(), per.ravel(), ent_labels_all[ent_u], len(per_u), diagnostics
        )
    else:
        rows = _Rows(yv, xv, ent_all, per_all, ent_labels_all, len(per_labels_all), diagnostics)
    if len(np.unique(rows.ent * max(rows.n_periods, 1) + rows.per)) < len(rows.y):
        raise InputError(
            "The entity and period must identify the rows, but some (entity, period) pairs occur "
            "twice. Aggregate to one row per entity and period."
        )
    return rows


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
    check_confidence(confidence)
    terms = list(terms)
    yv = np.asarray(y, dtype=float)
    xv = np.asarray(x, dtype=float).reshape(len(yv), -1)
    if xv.shape[1] != len(terms) or not terms:
        raise InputError(
            f"`x` has {xv.shape[1]} columns for {len(terms)} terms; give one name per column."
        )
    rows = _complete_rows(yv, xv, entity, period, entity_labels)
    n, g, k, n_t = len(rows.y), len(rows.ent_labels), len(terms), rows.n_periods
    check_model_size(n, k + g + n_t - 1, n_clusters=g)
    # the two-way within transform of [y, X], all columns at once
    w = within(np.column_stack([rows.y, rows.x]), rows.ent, rows.per)
    yw, xw = w[:, 0], w[:, 1:]
    _check_identified(rows.x, xw, terms)

    k_ssc = k + n_t - 1
    factor, small_sample = cr1_correction(k_ssc, g, n)
    diagnostics = rows.diagnostics + ([few_clusters(g)] if few_clusters(g) else [])
    u, ye = cluster_design(rows.x, rows.y, rows.ent, rows.per, n_t)
    inf = cluster_inference(
        u, ye, rows.ent, n_terms=k, method=inference or "cr1", cr1_factor=factor,
        confidence=confidence, n_boot=n_boot, seed=seed, cluster_labels=rows.ent_labels,
    )  # fmt: skip
    sd_y = float(np.std(yw, ddof=1))
    return assemble_fit(
        outcome=outcome, terms=terms, roles=["exposure"] * k if roles is None else list(roles),
        est=inf.estimate, se=inf.std_error, dof=g - 1, confidence=confidence,
        inf=inf if inference is not None else None, n=n, g=g, n_t=n_t,
        scale=np.std(xw, axis=0, ddof=1) / sd_y if sd_y > 0 else np.full(k, np.nan),
        vif=dict(zip(terms, vifs(xw), strict=True)), diagnostics=diagnostics, cov_type="clustered",
        small_sample=small_sample, factor=factor, k_ssc=k_ssc, n_clusters=g,
    )  # fmt: skip


__all__ = [
    "TwoWayFit",
    "TwoWayOptions",
    "cluster_design",
    "codes",
    "entity_demean",
    "twoway_fit",
    "twoway_regression",
    "within",
    "within_sd",
]
