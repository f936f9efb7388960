"""What the two panel estimators share — :func:`analysis.stats.panel_regression` (linearmodels)
and :func:`analysis.stats.fe.twoway_fit` (numpy) return the same table, so its columns, the
diagnostics' thresholds and wording, the model-size checks, the CR1 small-sample correction and
the t columns live here once and the two tables cannot drift apart."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import InputError, TooFewRowsError
from analysis.stats.cluster import ClusterInference

MIN_CLUSTERS = 30
MAX_VIF = 10.0
PANEL_COLUMNS = [
    "term", "role", "estimate", "std_error", "statistic", "df", "p_unc", "ci_low", "ci_high",
    "n", "n_entities", "n_periods", "std_effect", "std_effect_se", "cov_type", "small_sample",
    "diagnostics",
]  # fmt: skip


@dataclass
class PanelFit:
    """A panel model's results as arrays over the terms, and the model's notes.

    ``frame()`` is the table of :func:`analysis.stats.panel_regression`; ``warnings`` the messages
    it issues (returned, not issued, so that many fits need not build a frame).
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
    cov_type: str
    small_sample: str
    diagnostics: list[str]
    inference: str | None
    identified: np.ndarray
    warnings: list[str]
    attrs: dict[str, object] = field(default_factory=dict)

    def frame(self) -> pd.DataFrame:
        """One row per term, the columns of :func:`analysis.stats.panel_regression`."""
        out = pd.DataFrame(
            {
                "term": self.terms, "role": self.roles, "estimate": self.estimate,
                "std_error": self.std_error, "statistic": self.statistic, "df": self.df,
                "p_unc": self.p_unc, "ci_low": self.ci_low, "ci_high": self.ci_high, "n": self.n,
                "n_entities": self.n_entities, "n_periods": self.n_periods,
                "std_effect": self.std_effect, "std_effect_se": self.std_effect_se,
                "cov_type": self.cov_type,
                "small_sample": self.small_sample, "diagnostics": self.diagnostics,
            },
            columns=PANEL_COLUMNS,
        )  # fmt: skip
        if self.inference is not None:
            out["inference"] = self.inference
            out["identified"] = self.identified
        out.attrs.update(self.attrs)
        return out


def check_model_size(n: int, n_params: int, *, n_clusters: int | None) -> None:
    """Raise :class:`InputError` when ``n`` rows cannot fit ``n_params`` parameters (at least two
    residual degrees of freedom), or when standard errors clustered by entity
    (``n_clusters`` given) have fewer than 2 clusters."""
    if n < n_params + 2:
        raise TooFewRowsError(
            f"Too few rows for the model: {n} complete rows for {n_params} parameters "
            f"(slopes and fixed effects). Use fewer regressors or effects, or more data."
        )
    if n_clusters is not None and n_clusters < 2:
        raise InputError(f"Clustered standard errors need at least 2 entities; got {n_clusters}.")


def cr1_correction(k_ssc: int, g: int, n: int) -> tuple[float, str]:
    """The CR1 factor G/(G-1) * (N-1)/(N-K) applied to the raw clustered covariance, and its
    description for the ``small_sample`` column (K counts the slopes and the fixed effects not
    nested in the entity clusters)."""
    factor = g / (g - 1) * (n - 1) / (n - k_ssc)
    text = (
        f"G/(G-1)*(N-1)/(N-K) with K={k_ssc} (slopes + fixed effects not nested in the "
        f"entity clusters; fixest would count K+1), G={g}, N={n}; t(G-1)"
    )
    return factor, text


def few_clusters(g: int) -> str:
    """The diagnostic for fewer than :data:`MIN_CLUSTERS` clusters (empty string otherwise)."""
    return f"few_clusters: G={g} < {MIN_CLUSTERS}" if g < MIN_CLUSTERS else ""


def t_columns(
    est: np.ndarray, se: np.ndarray, dof: float, confidence: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """t statistic, two-sided p-value and the confidence interval's ends from t(``dof``)."""
    tstat = est / se
    p = 2 * stats.t.sf(np.abs(tstat), dof)
    q = stats.t.ppf(0.5 + confidence / 2, dof)
    return tstat, p, est - q * se, est + q * se


def vifs(xw: np.ndarray) -> np.ndarray:
    """Variance inflation factors of demeaned regressors: the diagonal of the inverse correlation
    matrix (inf when it is singular; statsmodels' VIF regresses on a constant, which demeaned data
    lack)."""
    if xw.shape[1] < 2:
        return np.ones(xw.shape[1])
    corr = np.corrcoef(xw, rowvar=False)
    try:
        return np.diag(np.linalg.inv(corr))
    except np.linalg.LinAlgError:
        return np.full(xw.shape[1], np.inf)


def term_notes(
    terms: Sequence[str], inference_notes: Sequence[str] | None, vif: dict[str, float]
) -> dict[str, str]:
    """Each term's note: the few-cluster inference's note (if any), then ``collinear`` when the
    term's VIF (``vif``, by term) exceeds :data:`MAX_VIF`."""
    notes = dict(
        zip(
            terms,
            inference_notes if inference_notes is not None else [""] * len(terms),
            strict=True,
        )
    )
    for term, v in vif.items():
        if v > MAX_VIF:
            note = f"collinear: VIF={v:.1f} > {MAX_VIF:g}"
            notes[term] = f"{notes[term]}; {note}" if notes[term] else note
    return notes


def model_messages(
    outcome: str,
    terms: Sequence[str],
    inference_notes: Sequence[str] | None,
    diagnostics: Sequence[str],
    notes: dict[str, str],
) -> list[str]:
    """The warnings of a fit, in order: each term's few-cluster inference note, the model's
    diagnostics, then the collinear regressors."""
    name = f"panel_regression({outcome!r})"
    messages = []
    if inference_notes is not None:
        messages = [f"{name}: {t}: {m}" for t, m in zip(terms, inference_notes, strict=True) if m]
    messages += [f"{name}: {note}" for note in diagnostics]
    collinear = [f"{t} ({m})" for t, m in notes.items() if m]
    if collinear:
        messages.append(f"{name}: collinear regressors: {', '.join(collinear)}")
    return messages


def row_diagnostics(
    diagnostics: Sequence[str], notes: dict[str, str], terms: Sequence[str]
) -> list[str]:
    """The ``diagnostics`` column: the model's notes, then the term's own, ``;``-separated."""
    model_notes = "; ".join(diagnostics)
    return ["; ".join(s for s in (model_notes, notes[t]) if s) for t in terms]


def assemble_fit(
    *,
    outcome: str,
    terms: list[str],
    roles: list[str],
    est: np.ndarray,
    se: np.ndarray,
    dof: int,
    confidence: float,
    inf: ClusterInference | None,
    n: int,
    g: int,
    n_t: int,
    scale: np.ndarray,
    vif: dict[str, float],
    diagnostics: list[str],
    cov_type: str,
    small_sample: str,
    factor: float,
    k_ssc: int,
    n_clusters: int | None,
) -> PanelFit:
    """The :class:`PanelFit` of a fitted panel model: t columns from t(``dof``) with ``se``, or
    the few-cluster inference ``inf`` when given; ``std_effect`` = estimate * ``scale``; the
    collinearity notes from ``vif``; the table's ``attrs`` and the warnings."""
    if inf is None:
        tstat, p, ci_low, ci_high = t_columns(est, se, dof, confidence)
        dof_col, inference_notes = np.full(len(terms), dof), None
    else:
        se, tstat, p, ci_low, ci_high = (
            inf.std_error,
            inf.statistic,
            inf.p_value,
            inf.ci_low,
            inf.ci_high,
        )
        dof_col, inference_notes = inf.df, inf.notes
        small_sample = f"{inf.label}; CR1 factor: {small_sample}"
    notes = term_notes(terms, inference_notes, vif)
    attrs: dict[str, object] = {}
    if inf is not None:
        attrs.update(inference=inf.method, inference_label=inf.label, **inf.details)
    attrs.update(
        cov_type=cov_type, small_sample=small_sample, ssc_factor=factor,
        df=dof if inf is None else inf.df.tolist(), K=k_ssc, n_clusters=n_clusters,
        diagnostics=diagnostics + [f"{t}: {m}" for t, m in notes.items() if m],
    )  # fmt: skip
    return PanelFit(
        terms=terms, roles=roles, estimate=est, std_error=se, statistic=tstat, df=dof_col, p_unc=p,
        ci_low=ci_low, ci_high=ci_high, n=n, n_entities=g, n_periods=n_t, std_effect=est * scale,
        std_effect_se=se * scale, cov_type=cov_type, small_sample=small_sample,
        diagnostics=row_diagnostics(diagnostics, notes, terms),
        inference=None if inf is None else inf.method,
        identified=np.ones(len(terms), dtype=bool) if inf is None else inf.identified,
        warnings=model_messages(outcome, terms, inference_notes, diagnostics, notes), attrs=attrs,
    )  # fmt: skip
