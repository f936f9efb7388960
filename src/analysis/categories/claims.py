"""The article's descriptive claims about each kind, tested at client level
(``article_claims.csv``).

The article says image clients buy little at a thin margin, demanding ones file more claims and
ask for more trials, advanced ones are young and small at first, and understanding ones prepay
(above all when the supplier is behind plan) and forgive incidents. Each claim compares members of
a category with the other clients on one feature.

Circularity: if the rule that decides membership reads the tested feature (or one of its
relatives, e.g. claims per 100 orders over the window and over the history), the comparison would
confirm the rule, not the article. Each claim is therefore tested with the category's rule *without*
those features (``at_least`` capped at what remains); when nothing remains the claim is reported
as not testable.

Unit: one row per client — its latest period with a full window (for "small at first": the first
full window of clients who arrived after the data begin). Test: Mann–Whitney U (two-sided), effect
size the rank-biserial correlation r = 2·AUC − 1 (positive: members higher), 95 % CI from the
Hanley–McNeil standard error of the AUC. scipy gives U and p; the CI is three lines, written here.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from analysis.categories.features import client_features
from analysis.categories.rules import (
    Rulebook,
    RuleContext,
    classify_one,
    load_rulebook,
    reason_texts,
    without_features,
)


@dataclass(frozen=True)
class Claim:
    id: str
    category: str
    feature: str
    expected: str  # "higher" or "lower" for members
    excluded: tuple[str, ...]  # features left out of the rule when testing
    en: str
    ru: str
    unit: str = "latest"  # "latest" full window, or "first" full window of entrants


def load_claims(path: str | Path | None = None) -> tuple[Claim, ...]:
    """The claims declared in ``resources/claims.yaml`` (or ``path``), each with its excluded group
    of features spelt out."""
    default = resources.files("analysis") / "resources" / "claims.yaml"
    path = Path(path) if path else Path(str(default))
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    groups = {name: tuple(features) for name, features in spec["groups"].items()}
    return tuple(Claim(**{**c, "excluded": groups[c["excluded"]]}) for c in spec["claims"])


CLAIMS_LIST: tuple[Claim, ...] = load_claims()

COLUMNS = ["claim", "category", "feature", "expected", "statement_en", "statement_ru", "membership",
           "n_members", "n_others", "median_members", "median_others", "effect_size", "effect_type",
           "ci_low", "ci_high", "p_value", "p_holm", "verdict", "agrees"]


def rank_biserial(members: np.ndarray, others: np.ndarray) -> tuple[float, float, float, float]:
    """Rank-biserial r (members vs others), its 95 % CI (Hanley–McNeil) and the Mann–Whitney p."""
    n1, n2 = len(members), len(others)
    res = stats.mannwhitneyu(members, others, alternative="two-sided", method="asymptotic")
    auc = res.statistic / (n1 * n2)  # P(member > other) + ties/2
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    se = np.sqrt(max(auc * (1 - auc) + (n1 - 1) * (q1 - auc**2) + (n2 - 1) * (q2 - auc**2),
                     0) / (n1 * n2))
    z = stats.norm.ppf(0.975)
    lo, hi = max(auc - z * se, 0.0), min(auc + z * se, 1.0)
    return 2 * auc - 1, 2 * lo - 1, 2 * hi - 1, float(res.pvalue)


def _rows(feats: pd.DataFrame, unit: str, window: int) -> np.ndarray:
    """Positions of one row per client: its latest full-window row, or its first full window."""
    ok = feats["complete"].to_numpy(dtype=bool)
    idx = np.flatnonzero(ok)
    f = feats.iloc[idx]
    if unit == "first":
        first_t = feats.groupby("client_id")["period_index"].transform("min").to_numpy()[idx]
        tenure = f["tenure"].to_numpy()
        keep = (first_t > 0) & (tenure == window)  # arrived after the data began, first full window
        idx, f = idx[keep], f[keep]
        return idx
    last = f.groupby("client_id", sort=False)["period_index"].transform("max").to_numpy()
    return idx[f["period_index"].to_numpy() == last]


def article_claims(panel: pd.DataFrame, clients: pd.DataFrame, *,
                   rulebook: Rulebook | str | None = None,
                   window: int = 4, kpis: pd.DataFrame | None = None,
                   events: pd.DataFrame | None = None,
                   transactions: pd.DataFrame | None = None, features: pd.DataFrame | None = None,
                   claims: tuple[Claim, ...] = CLAIMS_LIST, alpha: float = 0.05,
                   min_n: int = 5) -> pd.DataFrame:
    """Test the article's descriptive claims, never with a membership that reads the tested feature.

    Returns
    -------
    pandas.DataFrame
        One row per claim: ``claim, category, feature, expected`` (members ``higher``/``lower``),
        ``statement_en, statement_ru``, ``membership`` (which rule decided the groups: the full rule
        when it does not read the tested features, else the rule without them), ``n_members,
        n_others`` (clients), ``median_members, median_others``, ``effect_size`` (rank-biserial r,
        members vs others), ``effect_type``, ``ci_low, ci_high`` (95 %), ``p_value``
        (Mann–Whitney, two-sided), ``p_holm`` (Holm over the tested claims), ``verdict``
        (``agrees``: significant at ``alpha`` after Holm in the expected direction;
        ``contradicts``: significant the other way; ``inconclusive``; ``not_testable`` with the
        reason in ``membership``) and ``agrees`` (boolean, empty unless tested and significant).
    """
    book = rulebook if isinstance(rulebook, Rulebook) else load_rulebook(rulebook)
    if features is None:
        features = client_features(panel, clients, window=window, kpis=kpis, events=events,
                                   transactions=transactions)
    features = features.reset_index(drop=True)
    ctx = RuleContext(features, window=window, per_portfolio=False, quantile_shift=0.0,
                      value_scale=1.0)
    rows: list[dict[str, object]] = []
    for c in claims:
        row: dict[str, object] = {"claim": c.id, "category": c.category, "feature": c.feature,
                                  "expected": c.expected,
               "statement_en": c.en, "statement_ru": c.ru, "effect_type": "rank_biserial"}
        rows.append(row)
        if c.category not in book.ids:
            row.update(verdict="not_testable",
                       membership=f"the rulebook has no category {c.category}")
            continue
        cat = book.get(c.category)
        used = {leaf.feature for leaf in cat.rule.leaves()}
        drop = set(c.excluded) | {c.feature}
        reduced = without_features(cat.rule, drop)
        if reduced is None:
            row.update(verdict="not_testable",
                       membership="not testable: the rule reads only "
                       f"{', '.join(sorted(used & drop))}, the tested features")
            continue
        row["membership"] = membership = (f"rule without {', '.join(sorted(used & drop))} (they "
                                          "are what is tested)"
                             if used & drop else "full rule (it does not read the tested feature)")
        if not ctx.available.get(c.feature, False):
            row.update(verdict="not_testable",
                       membership=f"not testable: the data lack {c.feature}")
            continue
        m = classify_one(cat, ctx, rule=reduced)
        if (m["status"] == "not_computable").all():
            row.update(verdict="not_testable",
                       membership=f"not testable: {reason_texts(m)[int(m['reason_code'].iloc[0])]}")
            continue
        pick = _rows(features, c.unit, window)
        member = m["member"].to_numpy(dtype=object)[pick]
        value = pd.to_numeric(features[c.feature], errors="coerce").to_numpy(dtype=float)[pick]
        good = np.isfinite(value) & np.array([x is not pd.NA and x is not None for x in member])
        mem = np.array([bool(x) for x in member[good]], dtype=bool)
        v = value[good]
        a, b = v[mem], v[~mem]
        row.update(n_members=int(a.size), n_others=int(b.size),
                   median_members=float(np.median(a)) if a.size else np.nan,
                   median_others=float(np.median(b)) if b.size else np.nan)
        if a.size < min_n or b.size < min_n:
            row.update(verdict="not_testable", membership=membership
                       + f"; fewer than {min_n} clients in a group")
            continue
        r, lo, hi, p = rank_biserial(a, b)
        row.update(effect_size=r, ci_low=lo, ci_high=hi, p_value=p)
    out = pd.DataFrame(rows).reindex(columns=COLUMNS)
    tested = out["p_value"].notna()
    if tested.any():
        from statsmodels.stats.multitest import multipletests

        out.loc[tested, "p_holm"] = multipletests(out.loc[tested, "p_value"], method="holm")[1]
    sign = np.where(out["expected"] == "higher", 1.0, -1.0)
    sig = tested & (out["p_holm"] < alpha)
    right = np.sign(out["effect_size"].fillna(0)) == sign
    out["verdict"] = np.where(~tested, out["verdict"].fillna("not_testable"),
                              np.where(sig & right, "agrees",
                                       np.where(sig, "contradicts", "inconclusive")))
    out["agrees"] = pd.array([True if v == "agrees" else False if v == "contradicts" else pd.NA
                              for v in out["verdict"]], dtype="boolean")
    for col in ("n_members", "n_others"):
        out[col] = out[col].astype("Int64")
    return out
