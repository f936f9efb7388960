"""The sentences of the confirmatory results, in English and Russian.

Every sentence describes an association; none claims a cause. Kinds and outcomes are named by
their registry phrases (:mod:`analysis.registry`), shared with the client-level sentences.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import registry
from analysis.growth.fits import DEFAULT_INFERENCE, INFERENCE_NAMES, MIN_PERIODS, resolve_inference
from analysis.growth.verdicts import VERDICTS
from analysis.stats.cluster import bootstrap_p_floor


def kind_words(category: str) -> tuple[str, str]:
    """What a kind is called in a sentence (English, Russian): its rulebook ``phrase``, shared
    with client-level sentences (:mod:`analysis.registry`)."""
    return registry.current().kind_phrase(str(category))


def format_signed(x: float, lang: str) -> str:
    """A signed effect: ``+0.27`` / ``−0,11`` (never ``-0.00``)."""
    x = 0.0 if round(float(x), 2) == 0 else float(x)
    s = f"{x:+.2f}" if x else "0.00"
    return s.replace(".", ",").replace("-", "\u2212") if lang == "ru" else s


def format_decimal(x: float, lang: str) -> str:
    """Two decimals, with a decimal comma in Russian: ``0.20`` / ``0,20``."""
    s = f"{x:.2f}"
    return s.replace(".", ",") if lang == "ru" else s


def _outcome_words(outcome: str) -> tuple[str, str, str, str, str, str]:
    """(en noun, ru noun, en up, en down, ru up, ru down) of an outcome, from the registry; a KPI
    column the registry does not know reads as its own name."""
    return registry.current().outcome_words(outcome)


def _lag_words(h: int, lang: str) -> str:
    if lang == "ru":
        if h == 1:
            return "в следующем периоде"
        return f"через {h} {'периода' if h < 5 else 'периодов'}"
    return "in the next period" if h == 1 else f"{h} periods later"


def reason_sentence(row: dict | pd.Series, lang: str = "en") -> str:
    """Why one hypothesis was not testable, from its ``reason_code`` (and ``n_periods``,
    ``n_portfolios``, ``mode``), in English or Russian."""
    code = str(row.get("reason_code") or "")
    cat = kind_words(row["category"])
    en_out, ru_out = _outcome_words(row["outcome"])[:2]
    n_t = row.get("n_periods")
    n_t = int(n_t) if n_t is not None and np.isfinite(float(n_t)) else 0
    n_g = row.get("n_portfolios")
    n_g = int(n_g) if n_g is not None and np.isfinite(float(n_g)) else 0
    need = MIN_PERIODS.get(str(row.get("mode")), MIN_PERIODS["panel"])
    if lang == "ru":
        per = "период" if n_t % 10 == 1 and n_t % 100 != 11 else (
            "периода" if 2 <= n_t % 10 <= 4 and not 12 <= n_t % 100 <= 14 else "периодов")
        return "Проверить нельзя: " + {
            "kind_not_computable": f"вид «{cat[1]}» не определяется по этим данным — в них нет "
                                   f"признаков, которые читает его правило (см. страницу 2).",
            "outcome_missing": f"показатель «{ru_out}» нельзя посчитать по этим данным.",
            "too_few_periods": f"{n_t} {per} с данными, а модели нужно не меньше {need}.",
            "too_few_portfolios": f"портфелей с данными: {n_g}, а панельной модели нужно не меньше "
                                  f"2.",
            "exposure_constant": f"доля клиентов «{cat[1]}» не меняется внутри портфелей во "
                                 f"времени, модели не с чем сравнивать.",
            "one_portfolio_identifies": f"связь держится на одном портфеле: без него доля "
                                        f"клиентов «{cat[1]}» перестаёт меняться, и проверка с "
                                        f"поочерёдным исключением портфелей не может её оценить; "
                                        f"нужны ещё портфели, где эта доля меняется.",
            "too_few_rows": "строк «портфель × период» с данными слишком мало для модели, в "
                            "которой доля каждого вида и эффекты портфелей и периодов "
                            "оцениваются вместе (и для проверки с поочерёдным исключением "
                            "портфелей); нужно больше периодов или портфелей (например, "
                            "менеджеров) либо меньше видов в файле гипотез.",
        }.get(code, "модель не удалось оценить на этих данных.")
    per = "period" if n_t == 1 else "periods"
    return "Not testable: " + {
        "kind_not_computable": f"{cat[0]} cannot be identified in these data — they lack what the "
                               f"kind's rule reads (see page 2).",
        "outcome_missing": f"{en_out} cannot be measured from these data.",
        "too_few_periods": f"{n_t} usable {per}, and the model needs at least {need}.",
        "too_few_portfolios": f"{n_g} portfolio{'' if n_g == 1 else 's'} with usable data, and the "
                              f"panel model needs at least 2.",
        "exposure_constant": f"the share of {cat[0]} does not change within portfolios over time, "
                             f"so the model has nothing to compare.",
        "one_portfolio_identifies": f"the link rests on a single portfolio: without it the share "
                                    f"of {cat[0]} no longer varies, so the leave-one-portfolio-out "
                                    f"test cannot judge it; more portfolios in which this share "
                                    f"changes are needed.",
        "too_few_rows": "too few portfolio-periods with data for a model that estimates every "
                        "kind's share together with the portfolio and period effects (and leaves "
                        "out one portfolio at a time for its small-sample test); more periods, "
                        "more portfolios (e.g. managers) or fewer kinds in the hypotheses file "
                        "are needed.",
    }.get(code, "the model could not be fit on these data.")


#: How a significant verdict opens, in English and Russian (shared with client-level sentences).
LEADS = {"supported": ("As expected", "Как и ожидалось"),
         "contradicted": ("Contrary to the hypothesis", "Вопреки гипотезе")}
# The sentences of :func:`sentence`. Verdicts concern the kind as the rulebook decides it ("as the
# rules define them"), not the latent kind itself; ``_SHARE`` is (by revenue, by count).
_SHARE = {"en": ("revenue share", "share of clients"), "ru": ("выручки клиентов", "клиентов")}
_SENTENCE: dict[str, dict[str, str]] = {
    "en": {
        "eff": "standardised slope {est}, 95 % CI {lo} to {hi}",
        "significant": "{lead}, a larger {share} of {cat} (as the rules define them) went together "
                       "with {move} {lag} ({eff}). This is an association in the data, not proof "
                       "of cause.",
        "no_effect": "No association worth noting: with 90 % confidence the link between the share "
                     "of {cat} (as the rules define them) and {out} {lag} is smaller than ±{m} SD "
                     "({eff}).",
        "noisy": "Inconclusive (rule too noisy to rule out an effect): the link between the share "
                 "of {cat} (as the rules define them) and {out} {lag} is smaller than ±{m} SD, but "
                 "the rules see this kind with so much error that an effect of that size on the "
                 "kind itself is not ruled out ({eff}).",
        "inconclusive": "Inconclusive: the data can neither confirm nor rule out a link of at "
                        "least ±{m} SD between the share of {cat} (as the rules define them) and "
                        "{out} {lag} ({eff}).",
    },
    "ru": {
        "eff": "стандартизованный наклон {est}, 95 % ДИ от {lo} до {hi}",
        "significant": "{lead}, большая доля {share} категории «{cat}» (по определению правил) "
                       "сопровождалась {move} {lag} ({eff}). Это связь в данных, а не "
                       "доказательство причины.",
        "no_effect": "Заметной связи нет: с 90 % уверенностью связь доли клиентов «{cat}» (по "
                     "определению правил) с показателем «{out}» {lag} по модулю меньше {m} стд. "
                     "откл. ({eff}).",
        "noisy": "Вывода нет (правило слишком неточное, чтобы исключить эффект): для категории "
                 "«{cat}» (по определению правил) связь с показателем «{out}» {lag} меньше {m} "
                 "стд. откл., но правило видит этот вид клиентов с заметной ошибкой, и эффект на "
                 "самих клиентов этого вида не исключён ({eff}).",
        "inconclusive": "Вывода нет: данные не позволяют ни подтвердить, ни исключить связь не "
                        "слабее {m} стд. откл. между долей клиентов «{cat}» (по определению "
                        "правил) и показателем «{out}» {lag} ({eff}).",
    },
}


def sentence(row: dict | pd.Series, lang: str = "en") -> str:
    """A plain sentence for one result row (``verdict``, ``category``, ``outcome``, ``lag``,
    ``std_effect``, ``ci_low``, ``ci_high``, ``min_effect``; ``reason_code`` when not testable)
    in English or Russian.

    The direction is said with the outcome's own words ("more new clients", "steadier revenue"),
    and the wording describes an association only.

    Examples
    --------
    >>> sentence({"verdict": "supported", "category": "image", "outcome": "new_clients", "lag": 1,
    ...           "std_effect": 0.27, "ci_low": 0.09, "ci_high": 0.46, "min_effect": 0.2})[:70]
    'As expected, a larger revenue share of image clients (as the rules def'
    """
    v = row["verdict"]
    if v == "not_testable" or v not in VERDICTS:
        return reason_sentence(row, lang)
    i = 1 if lang == "ru" else 0
    words = _SENTENCE["ru" if i else "en"]
    out = _outcome_words(row["outcome"])  # (en noun, ru noun, en up, en down, ru up, ru down)
    est = float(row["std_effect"])
    by_count = row.get("measure") == "count_share"
    if v in LEADS:
        key = "significant"
    elif v == "no_effect":
        key = "no_effect"
    else:
        key = "noisy" if row.get("verdict_reason") == "rule_too_noisy" else "inconclusive"
    eff = words["eff"].format(est=format_signed(est, lang), lo=format_signed(row["ci_low"], lang),
                              hi=format_signed(row["ci_high"], lang))
    return words[key].format(
        lead=LEADS.get(v, ("", ""))[i], share=_SHARE["ru" if i else "en"][by_count],
        cat=kind_words(row["category"])[i],
        out=out[i], move=out[2 + 2 * i] if est > 0 else out[3 + 2 * i],
        lag=_lag_words(int(row["lag"]), lang),
        m=format_decimal(float(row["min_effect"]), lang), eff=eff)


def inference_sentence(results: pd.DataFrame, lang: str = "en") -> str:
    """One sentence naming the inference behind the confirmatory p-values, CIs and MDEs, and why
    it was chosen at this number of portfolios.

    Examples
    --------
    >>> res = pd.DataFrame({"mode": ["panel"], "inference": ["cv3"], "n_portfolios": [30],
    ...                     "df": [29.0]})
    >>> inference_sentence(res)  # doctest: +NORMALIZE_WHITESPACE
    'p-values, confidence intervals and MDEs use the leave-one-portfolio-out jackknife (CV3), t(G-1)
    over 30 portfolios, the default from 12 portfolios on, the method with the most power of those
    that kept the share of simulated worlds with a false positive near 5 % (7 % with 30 and with 50
    portfolios).'
    """
    tested = results[results["inference"].notna() & results["n_portfolios"].notna()]
    if "p_unc" in tested.columns:  # rows not testable carry the inference they would have used
        tested = tested[tested["p_unc"].notna()]
    if tested.empty:
        return ("No hypothesis could be tested, so no inference was run." if lang == "en" else
                "Ни одну гипотезу не удалось проверить, поэтому статистический вывод не "
                "выполнялся.")
    method = str(tested["inference"].iloc[0])
    if str(tested["mode"].iloc[0]) != "panel":
        return (f"One portfolio: p-values use the {method} test, the one whose rejection rate on "
                f"simulated independent series of this length was closest to the nominal "
                f"level." if lang == "en" else
                f"Один портфель: p-значения дает тест {method} — тот, чья доля отклонений на "
                f"смоделированных независимых рядах такой длины ближе всего к номинальному уровню.")
    g = int(tested["n_portfolios"].max())
    name = INFERENCE_NAMES[method][0 if lang == "en" else 1]
    extra = ""
    if method == "cr2":
        lo, hi = float(tested["df"].min()), float(tested["df"].max())
        extra = f" (df {lo:.1f}–{hi:.1f})" if lang == "en" \
            else f" (степеней свободы {lo:.1f}–{hi:.1f})".replace(".", ",")
    elif method in ("wild", "wild_cv3"):
        w = "Webb" if g < 12 else "Rademacher"
        floor = bootstrap_p_floor(g)
        n_vec = round((6 if g < 12 else 2) / floor) if floor else 0
        draws = (f"all {n_vec:,} weight vectors" if n_vec else "999 draws") if lang == "en" else \
            (f"все {n_vec:,} векторов весов".replace(",", "\u00a0") if n_vec else "999 повторов")
        extra = (f" ({w} weights, {draws}; its CIs and MDEs use the bootstrap-t standard error)"
                 if lang == "en"
                 else f" (веса {'Уэбба' if g < 12 else 'Радемахера'}, {draws}; ДИ и МОЭ — по "
                      f"бутстреп-t ошибке)")
    default = resolve_inference(DEFAULT_INFERENCE, g)
    if method == default == "wild_cv3":
        # benchmarks/inference_choice.md, sessions 5-6: 200 null worlds of 10 portfolios (two sets),
        # Holm family-wise CV3 0.010 / 0.030 with H2 unadjusted 0.015, the bootstrap of its t
        # 0.070 / 0.050 with every hypothesis 0.045-0.085 (the bands: 0.025-0.08, 0.02-0.09)
        why = ("the default below 12 portfolios: there the jackknife's own t test rejects too few "
               "true nulls (in simulated worlds with 10 portfolios 1–3 % had a false positive and "
               "single hypotheses were rejected in as few as 1.5 %, where 5 % is the aim) and this "
               "bootstrap of it kept both near 5 % (5–7 % of worlds); the MDEs are those this test "
               "reaches on the data's own design (simulated)" if lang == "en" else
               "метод по умолчанию при числе портфелей меньше 12: там обычный t-тест складного "
               "ножа отклоняет слишком мало верных нулевых гипотез (в смоделированных мирах с 10 "
               "портфелями ложное срабатывание было в 1–3 % миров, а отдельные гипотезы "
               "отклонялись лишь в 1,5 % при цели 5 %), а этот бутстреп удерживал обе доли около "
               "5 % (5–7 % миров); МОЭ — те, что этот тест достигает на структуре самих данных "
               "(по моделированию)")
    elif method == default == "cv3":
        # benchmarks/inference_choice.md and method_check_bar.md: Holm family-wise 0.070 at G = 30,
        # 0.07 at the sample design (50) (the band is 0.025-0.08)
        why = ("the default from 12 portfolios on, the method with the most power of those that "
               "kept the share of simulated worlds with a false positive near 5 % (7 % with 30 and "
               "with 50 portfolios)" if lang == "en" else
               "метод по умолчанию начиная с 12 портфелей: из методов, удержавших долю "
               "смоделированных миров с ложным срабатыванием около 5 % (7 % при 30 и при 50 "
               "портфелях), он самый мощный")
    else:
        dname = INFERENCE_NAMES[default][0 if lang == "en" else 1]
        why = (f"chosen in the analysis' settings instead of the default at {g} portfolios "
               f"({dname})" if lang == "en" else
               f"выбран в настройках анализа вместо метода по умолчанию при {g} портфелях "
               f"({dname})")
    m = int(tested["p_unc"].notna().sum()) if "p_unc" in tested else len(tested)
    floor_text = _p_floor_sentence(method, g, m, float(results.attrs.get("alpha", 0.05)), lang)
    if lang == "en":
        return (f"p-values, confidence intervals and MDEs use {name}{extra} over {g} portfolios, "
                f"{why}.{floor_text}")
    return (f"p-значения, доверительные интервалы и МОЭ рассчитаны методом: {name}{extra}, по {g} "
            f"портфелям — {why}.{floor_text}")


def _p_floor_sentence(method: str, g: int, m: int, alpha: float, lang: str) -> str:
    """With a handful of portfolios the wild bootstrap uses every weight vector and its p-value has
    a floor (:func:`analysis.stats.cluster.bootstrap_p_floor`); a sentence when that floor keeps
    Holm's strictest level alpha/m out of reach (so no hypothesis can be supported or contradicted
    whatever the data), else empty."""
    if method not in ("wild", "wild_cv3") or m < 1:
        return ""
    floor = bootstrap_p_floor(g)
    if floor * m < alpha:
        return ""
    vectors = round(6 / floor) if g < 12 else round(2 / floor)
    level = alpha / m
    if lang == "en":
        return (f" With {g} portfolios the bootstrap uses all {vectors:,} weight vectors, so no "
                f"p-value can fall below {floor:.3f}, and Holm's strictest level "
                f"({format_decimal(alpha, lang)}/{m} = {level:.4f}) is out of reach: no hypothesis "
                f"can be supported or contradicted with this few portfolios, whatever the data — "
                f"an inconclusive verdict here means the test could not tell.")
    ru = {"v": f"{vectors:,}".replace(",", "\u00a0"), "f": f"{floor:.3f}".replace(".", ","),
          "l": f"{level:.4f}".replace(".", ",")}
    return (f" При {g} портфелях бутстреп перебирает все {ru['v']} векторов весов, поэтому "
            f"p-значение не может быть меньше {ru['f']}, а самый строгий уровень Холма "
            f"({format_decimal(alpha, lang)}/{m} = {ru['l']}) недостижим: ни одна гипотеза не "
            f"может быть подтверждена или опровергнута при таком числе портфелей, какими бы ни "
            f"были данные — «не определено» здесь значит, что тест не мог решить.")



__all__ = ["LEADS", "format_decimal", "format_signed", "inference_sentence", "kind_words",
           "reason_sentence", "sentence"]
