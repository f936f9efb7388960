"""Issue 12's bar: the default method on worlds whose truth is known (slow).

Worlds of the sample's design (read from data/sample as page 5 reads a user's data:
:func:`analysis.report.method_check.design_from_study`) and of the same design with G = 10 portfolios go
through exactly what a report runs: the default rules, the rule variants and "others" groups of
the outcomes measured on the other clients, the two-way fixed-effects model with the default
small-cluster inference, Holm over the confirmatory set, and verdicts that take the rule's measured
attenuation into account (:func:`analysis.report.method_check.run_worlds`, the lean in-memory path).

- Null worlds (every dynamic, no effect): the family-wise rate lies in 0.025–0.08, each
  hypothesis's unadjusted rejection rate in 0.02–0.09, each mean ``std_effect`` within ±0.02.
- Planted worlds, every hypothesis at 1.5 × the MDE measured in the null worlds (on the kind's
  latent share): power ≥ 0.7 for each hypothesis whose rule exposure correlates ≥ 0.7 with the
  latent share, and no hypothesis called "no effect" in more than 10 % of the worlds.

One pool of worlds serves every assertion; they run in a process pool of two, world ``i`` seeded
``SEED * 1000 + i`` whatever the scheduling, null and planted worlds of one ``i`` sharing all but the
effects. Run with ``-s`` to see the measured rates with their exact binomial 95 % CIs.

In ``make test`` (slow): the sample design, 200 null and 80 planted worlds (≈ 300 CPU-s). What each
assertion can detect at that n (binomial; mean std_effect with its measured SE ≈ 0.004):
- family-wise in 0.025–0.08 (5–16 of 200): a method with a true rate of 0.05 fails it 5 % of the
  time; a true 0.12 passes 5 %, a true 0.15 (CR1's at these designs) 0.2 %.
- each unadjusted rate in 0.02–0.09 (4–18 of 200): a true 0.05 fails 1.5 % per hypothesis; a true
  0.13 passes 5 %, 0.15 passes 0.8 %.
- |mean std_effect| ≤ 0.02: a true bias of 0.03 passes 0.6 %; no bias fails < 10⁻⁶.
- power ≥ 0.7 (56 of 80): a true power of 0.55 passes 0.4 %, 0.6 passes 4 %; a true 0.8 fails 1 %,
  0.75 fails 12 %.
- false "no effect" ≤ 0.10 (8 of 80): a true 0.2 passes 1.3 %; a true 0.04 fails 0.5 %.
The whole bar — both designs, 200 null and 100 planted worlds each — runs with ``make method-bar``
(``KEYCLIENTS_METHOD_BAR=1``; ≈ 640 CPU-s).

Measured (benchmarks/method_check_bar.md). Before the generator of issue 12, planted worlds at 1.5 ×
MDE missed power (H1 0.21, H2 0.01) and false "no effect" (H1 0.44, H2 0.64, H7 0.15): effects were
planted on first-pass latent shares that the planted pass moved. With effects planted on the realised
window shares, the finite-mean size tail and the same revenue noise for every kind, at the sample
design (50 × 16 × 28, CV3, 200 null + 100 planted): family-wise 14/200 = 0.07, unadjusted 0.03–0.06,
|mean std_effect| ≤ 0.018 (H3 +0.018), no world not testable; power H1 0.96, H2 0.75, H3 0.87, H5
0.81, H6 0.89 (H4 0.54 and H7 0.60, whose rules correlate 0.56 and 0.67 with the kind, are not held to
0.7); false "no effect" ≤ 0.04. With the generator of session 5 (claims, new-product share and
volatility on link scales, profit growth and volatility sized against the noise the other planted
effects add; null worlds unchanged): family-wise 0.07 as before, power H1 0.92, H2 0.84, H3 0.86, H5
0.81, H6 0.91, false "no effect" ≤ 0.05.

G = 10 (on demand, ``make method-bar``; CV3, the default): null family-wise 2/200 = 0.01, below the
band (CV3 is conservative at 10 clusters; the wild_cv3 option measures 0.07), H1 −0.022 and H3
+0.027 mean std_effect (within their own noise of ±0.02); the planted half is not met (power H1
0.50, H6 0.57, H5 0.16, H3 0.10, H2 0.07, H7 0.03; with wild_cv3 0.02–0.63): revenue growth planted at 0.85 SD on the key share is self-reinforcing (portfolio
levels diverge by e^13 over 24 quarters), which makes the planted worlds' SEs up to 3 × the null
worlds' and the pooled rules misclassify, and volatility as |deviation| cannot carry more than about
0.6 SD. benchmarks/method_check_bar.md, session 5. Session 6: profit growth's noise no longer runs
away (a generator bug: H2 had power 0 at G = 10); grouping the effects into worlds that do not feed
each other (revenue growth, profit growth, the rest) gave H1 and H2 their size back at G = 10 but
broke the sample design's bar (H2 0.61, H3 0.65: Holm's step-down had carried them beside six true
effects) and was not kept; what blocks G = 10 is the planted world's own SE — with one effect of
0.6–0.85 SD planted, CV3's and wild_cv3's SEs are 1.4–2.2 × the null worlds' and 1.2–1.5 × the
estimates' spread (H3 alone: power CR1 0.85, CV3 0.55, wild_cv3 0.35), and volatility carries at most
0.57 SD. benchmarks/method_check_bar.md, session 6.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
import pytest

from analysis.report import method_check

pytestmark = pytest.mark.slow

#: ``make method-bar`` (KEYCLIENTS_METHOD_BAR=1): the whole bar — both designs, 200 null and 100
#: planted worlds each. ``make test``: the sample design with 200 null and 80 planted worlds.
FULL = bool(os.environ.get("KEYCLIENTS_METHOD_BAR"))
WORKERS = max(1, min(2, os.cpu_count() or 1))
SEED = 12
N_NULL = 200  # per design
N_PLANTED = 100 if FULL else 80  # per design
BLOCK = 10  # worlds per pool job
FACTOR = 1.5  # planted at FACTOR × MDE
STRONG_RULE = 0.7  # power is asserted where the rule correlates at least this much with the kind
#: Share of null worlds in which a hypothesis may be not_testable (the jackknife loses identification
#: when one portfolio alone identifies an exposure). With the finite-mean size tail no world of either
#: design was (with the old tail of index 0.91 one client held over 90 % of all revenue in 4 of 200
#: sample-design worlds); one in a hundred stays allowed, counted and never folded into a rate.
MAX_UNTESTED = 0.01


def _quiet(_: str) -> None:
    pass


def g10_design(sample):
    """The G = 10 design: the sample's clients, kind shares and event rates in 10 portfolios over 24
    quarters. With the sample's 16 quarters, 1.5 × the MDE of most hypotheses exceeds what the
    generator can plant (a standardised effect below 0.85), so power there could not be measured;
    24 quarters give every portfolio 19 usable periods and keep G = 10 clusters."""
    return dataclasses.replace(sample, portfolios=10, periods=24, source="sample, G = 10, 24 quarters")


def _block(args) -> pd.DataFrame:
    design, start, n, kinds, effects, attenuation = args
    warnings.simplefilter("ignore")
    return method_check.run_worlds(design, n, SEED, kinds=kinds, effects=effects, attenuation=attenuation,
                                   start=start, log=_quiet)


def _jobs(name: str, design, n: int, kinds, effects="default", attenuation=None) -> list[tuple]:
    return [(name, (design, s, min(BLOCK, n - s), kinds, effects, attenuation)) for s in range(0, n, BLOCK)]


def _pool_map(pool, jobs: list[tuple]) -> dict[str, pd.DataFrame]:
    """Run ``(name, args)`` jobs in the pool; one frame of runs per name."""
    parts = pool.map(_block, [a for _, a in jobs])
    out: dict[str, list[pd.DataFrame]] = {}
    for (name, _), part in zip(jobs, parts):
        out.setdefault(name, []).append(part)
    return {k: pd.concat(v, ignore_index=True) for k, v in out.items()}


def _show(name: str, design, null: pd.DataFrame, planted: pd.DataFrame, effects: list[dict]) -> None:
    fw = method_check.familywise(null)
    s = method_check.summary(null).set_index("id")
    p = method_check.summary(planted).set_index("id")
    by = null.groupby("id")["std_effect"]
    half = 1.96 * by.std() / np.sqrt(by.count())
    table = pd.DataFrame({
        "unadjusted": s["size_unadjusted_text"],
        "mean_std_effect": s["mean_std_effect_null"].map("{:+.4f}".format)
        + half.reindex(s.index).map(" ± {:.4f}".format),
        "latent_corr": s["latent_corr"].round(2),
        "mde": s["mean_mde"].round(3),
        "planted": pd.Series({e["category"] + ":" + e["outcome"]: e["size"] for e in effects}).pipe(
            lambda x: [round(x.get(f"{c}:{o}", 0.0), 3) for c, o in zip(s["category"], s["outcome"])]),
        "power": p["power_planted_text"].reindex(s.index),
        "false_no_effect": p["false_no_effect_text"].reindex(s.index),
    })
    print(f"\n== {name}: {design.portfolios} portfolios × {design.periods} periods × ~{design.clients} clients, "
          f"{null['world'].nunique()} null + {planted['world'].nunique()} planted worlds\n"
          f"family-wise {fw['text']}\n{table.to_string()}")


def compute_bar() -> dict:
    """Every design's null and planted worlds, in one process pool (run in the background while the
    other tests run: tests/_jobs.py ``method_bar``)."""
    from analysis.report import study

    sample = method_check.design_from_study(study.prepare())
    designs = {"sample": sample, "G10": g10_design(sample)} if FULL else {"sample": sample}
    with ProcessPoolExecutor(max_workers=WORKERS) as pool:
        null = _pool_map(pool, [j for k, d in designs.items() for j in _jobs(k, d, N_NULL, ("null",))])
        # what a report does: attenuation measured on null worlds of the design, then verdicts aware of it
        att = {k: method_check.attenuation_map(v.groupby("id", as_index=False)["latent_corr"].mean())
               for k, v in null.items()}
        effects = {k: method_check.effects_at_mde(v, FACTOR) for k, v in null.items()}
        planted = _pool_map(pool, [j for k, d in designs.items()
                                   for j in _jobs(k, d, N_PLANTED, ("planted",), effects[k], att[k])])
    return {k: {"design": designs[k], "null": null[k], "planted": planted[k], "effects": effects[k]}
            for k in designs}


@pytest.fixture(scope="module")
def bar(method_bar) -> dict:
    for k, b in method_bar.items():
        _show(k, b["design"], b["null"], b["planted"], b["effects"])
    return method_bar


DESIGNS = ["sample", pytest.param("G10", marks=pytest.mark.skipif(
    not FULL, reason="the G = 10 design runs with the whole bar, on demand: `make method-bar` (its "
    "planted half is not met: benchmarks/method_check_bar.md, sessions 5 and 6)"))]


@pytest.mark.parametrize("name", DESIGNS)
def test_null_worlds_family_wise_rate_is_in_band(bar, name):
    null = bar[name]["null"]
    assert null["world"].nunique() >= 200
    fw = method_check.familywise(null)
    assert 0.025 <= fw["rate"] <= 0.08, fw["text"]


@pytest.mark.parametrize("name", DESIGNS)
def test_null_worlds_each_unadjusted_rate_is_in_band(bar, name):
    null = bar[name]["null"]
    # a world where the jackknife cannot test a hypothesis says so (not_testable, no p-value): it is
    # counted and bounded, never folded into the rate as a silent non-rejection
    untested = null["p_unc"].isna()
    assert (null.loc[untested, "verdict"] == "not_testable").all()
    assert untested.groupby(null["id"]).mean().max() <= MAX_UNTESTED, null.loc[untested, ["world", "id"]]
    tested = null[~untested]
    rate = (tested["p_unc"] < 0.05).groupby(tested["id"]).mean()
    assert rate.between(0.02, 0.09).all(), rate.round(3).to_dict()


@pytest.mark.parametrize("name", DESIGNS)
def test_null_worlds_std_effect_is_unbiased(bar, name):
    null = bar[name]["null"]
    mean = null.groupby("id")["std_effect"].mean()
    assert (mean.abs() <= 0.02).all(), mean.round(4).to_dict()


@pytest.mark.parametrize("name", DESIGNS)
def test_planted_at_1_5_mde_found_where_the_rule_sees_the_kind(bar, name):
    null, planted = bar[name]["null"], bar[name]["planted"]
    corr = null.groupby("id")["latent_corr"].mean()
    strong = corr.index[corr >= STRONG_RULE]
    assert len(strong) >= 3, corr.round(2).to_dict()  # the key kinds, image and advanced at least
    s = method_check.summary(planted).set_index("id")
    assert (s["planted"].abs() > 0).all()
    power = s.loc[strong, "power_planted"]
    assert (power >= 0.7).all(), power.round(3).to_dict()


@pytest.mark.parametrize("name", DESIGNS)
def test_planted_effects_are_not_called_no_effect(bar, name):
    s = method_check.summary(bar[name]["planted"]).set_index("id")
    assert (s["false_no_effect_n"] >= N_PLANTED).all()
    assert (s["false_no_effect"] <= 0.10).all(), s["false_no_effect_text"].to_dict()
