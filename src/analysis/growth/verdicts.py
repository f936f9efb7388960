"""The verdict rules of a confirmatory test (docs/methods.md, "Statistics").

Holm-adjusted at level alpha over the hypothesis set: ``supported`` (significant, expected
sign), ``contradicted`` (significant, opposite sign), ``no_effect`` (not significant and the 90 %
CI of ``std_effect`` inside ±min_effect: an equivalence test), ``inconclusive`` (neither);
``not_testable`` when the data cannot give the exposure or the outcome. The same rules decide the
portfolio-level (:mod:`analysis.growth.confirmatory`) and client-level
(:mod:`analysis.growth.client_links`) hypotheses.
"""

from __future__ import annotations

import numpy as np

VERDICTS = ("supported", "contradicted", "no_effect", "inconclusive", "not_testable")
#: The power an MDE is computed for (portfolio and client level).
POWER = 0.8


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
    if a is None:
        return 1.0
    try:
        a = float(a)
    except (TypeError, ValueError):
        return 1.0
    return float(np.clip(a, 0.0, 1.0)) if np.isfinite(a) else 1.0


#: Why a confirmatory test is inconclusive (``verdict_reason`` in ``hypotheses.csv``; empty
#: otherwise).
VERDICT_REASONS = {
    "rule_too_noisy": "rule too noisy to rule out an effect",
    "ci_too_wide": "the confidence interval reaches beyond ±min_effect",
    "p_floor": "too few portfolios: the bootstrap's p-value cannot reach Holm's level",
}


def verdict_reason(verdict_: str, ci90_low: float, ci90_high: float, *, min_effect: float,
                   attenuation: float = 1.0) -> str:
    """Why ``verdict_`` is ``inconclusive``: ``rule_too_noisy`` when the 90 % CI lies inside
    ±min_effect but not inside ±attenuation × min_effect (the data rule out an effect on the
    rule-defined kind, the noisy rule leaves one on the latent kind open), ``ci_too_wide``
    otherwise; empty for every other verdict."""
    if verdict_ != "inconclusive":
        return ""
    if np.isfinite(ci90_low) and np.isfinite(ci90_high) and -min_effect < ci90_low \
            and ci90_high < min_effect and _attenuation(attenuation) < 1.0:
        return "rule_too_noisy"
    return "ci_too_wide"


#: Why a hypothesis could not be tested (``reason_code`` of
#: :func:`analysis.growth.confirmatory.test_hypotheses`).
REASON_CODES = ("kind_not_computable", "outcome_missing", "too_few_periods", "too_few_portfolios",
                "exposure_constant", "one_portfolio_identifies", "too_few_rows",
                "model_failed")


__all__ = ["POWER", "REASON_CODES", "VERDICTS", "VERDICT_REASONS", "verdict", "verdict_reason"]
