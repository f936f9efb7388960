"""What the pages say in words, computed from this run's tables — never written in advance.

Every finding a page states comes from a function here and is shown only when its numbers exist:
a kind the data cannot give is named once, with what is missing (:func:`missing_kinds_line`),
and the sections about it are left out rather than drawn empty. Lists say what they leave out
(:func:`changes_to_act_on`).
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analysis import i18n, registry

if TYPE_CHECKING:  # IPython and matplotlib are imported when a page shows something
    from IPython.display import HTML
    from matplotlib.figure import Figure

#: Where a rule's missing feature comes from (``features.FEATURES``' source) → (en, ru) words.
_SOURCES = {
    "transactions.cost": ("a cost or gross profit column in the order lines",
                          "себестоимости или валовой прибыли в строках заказов"),
    "transactions.is_new_product": ("the new-product flag of the order lines",
                                    "признака новинки в строках заказов"),
    "transactions.account_manager": ("the account manager of the order lines",
                                     "менеджера в строках заказов"),
    "clients.founded_year": ("the clients' founding year", "года основания клиентов"),
    "kpis.plan_attainment": ("plan attainment in the KPI file",
                             "выполнения плана в файле показателей"),
}
_EVENT_TYPES = {"claim": "рекламации", "trial": "пробные заказы",
                "spec_requirement": "особые требования",
                "prepayment": "предоплаты", "prepayment amount": "суммы предоплат",
                "incident": "инциденты",
                "deferral_accepted": "согласия подождать"}


def _kind(cat: str, lang: str) -> str:
    """A kind's label inside a sentence (lower-case first letter)."""
    text = i18n.category(cat, lang)
    return text[:1].lower() + text[1:]


def kind_table(membership: pd.DataFrame) -> pd.DataFrame:
    """One row per kind: ``category, status`` (``ok`` or ``not_computable``), ``decided``
    (client-periods with a full window), ``members``, ``share`` (of decided), ``short_history``
    (client-periods before a full window), ``missing`` (what the data lack, empty when
    computable)."""
    from analysis.categories.rules import reason_texts

    texts = reason_texts(membership)
    rows = []
    present = set(membership["category"])
    kinds = registry.current().kind_ids()
    for cat in [c for c in kinds if c in present] + sorted(present - set(kinds)):
        m = membership[membership["category"] == cat]
        ok = m["status"] == "ok"
        nc = m["status"] == "not_computable"
        decided = int(ok.sum())
        members = int(m.loc[ok, "member"].astype("boolean").fillna(False).astype(bool).sum())
        rows.append({"category": cat,
                     "status": "not_computable" if nc.any() and not ok.any() else "ok",
                     "decided": decided, "members": members,
                     "share": members / decided if decided else np.nan,
                     "short_history": int((m["status"] == "short_history").sum()),
                     "missing": texts.get(int(m.loc[nc, "reason_code"].iloc[0]), "")
                     if nc.any() and not ok.any() else ""})
    return pd.DataFrame(rows, columns=["category", "status", "decided", "members", "share",
                                       "short_history", "missing"])


def computable(membership: pd.DataFrame) -> list[str]:
    """The kinds this client base can give (in the catalogue's order)."""
    k = kind_table(membership)
    return list(k.loc[k["status"] == "ok", "category"])


def missing_data(reason: str, lang: str = "en") -> str:
    """What a not-computable kind lacks, in words (from the rule's reason, e.g. ``the data lack
    gross_profit (from transactions.cost)``)."""
    sources = list(dict.fromkeys(re.findall(r"\(from ([^()]*(?:\([^()]*\))?[^()]*)\)",
                                            str(reason))))
    events, words = [], []
    for src in sources:
        ev = re.fullmatch(r"events \((.*)\)", src)
        if ev:
            events += [e.strip() for e in ev.group(1).split(",")]
        elif src in _SOURCES:
            words.append(_SOURCES[src][0 if lang == "en" else 1])
        else:
            words.append(src)
    events = list(dict.fromkeys(events))
    if events:
        words.append(("client events: " + ", ".join(e.replace("_", " ") for e in events))
                     if lang == "en"
                     else "событий клиентов: " + ", ".join(_EVENT_TYPES.get(e, e) for e in events))
    return "; ".join(dict.fromkeys(words))


def missing_kinds_line(membership: pd.DataFrame, lang: str = "en") -> str:
    """One sentence naming every kind the data cannot give and what it lacks; ``""`` when every
    kind is computable."""
    k = kind_table(membership)
    k = k[k["status"] == "not_computable"]
    if k.empty:
        return ""
    parts = [i18n.t("nc.item", lang, kind=_kind(r.category, lang),
                    missing=missing_data(r.missing, lang))
             for r in k.itertuples()]
    return i18n.t("nc.line", lang, items="; ".join(parts))


def note(text: str) -> HTML | None:
    """A computed line for a page (escaped), or nothing when ``text`` is empty."""
    from IPython.display import HTML

    return HTML(f'<p class="computed">{html.escape(text)}</p>') if text else None


def figure(fig: Figure | None, name: str, figures_dir: str | Path | None, *, empty: str = "",
           lang: str = "en") -> HTML | None:
    """Save and show a figure; when there is none (nothing to draw), show the one line ``empty``
    (a catalogue key) instead of empty axes."""
    import matplotlib.pyplot as plt
    from IPython.display import Image, display

    from analysis.report.runner import FIGURE_DPI, save_figure

    if fig is None:
        return note(i18n.t(empty, lang)) if empty else None
    png = save_figure(fig, name, figures_dir)
    if png is None:
        display(fig)
    else:  # the file's PNG, shown at the size the notebook would draw it (drawn once, not twice)
        width = int.from_bytes(png[16:20], "big")  # the PNG header's width
        display(Image(data=png, width=round(width * fig.dpi / FIGURE_DPI)))
    plt.close(fig)
    return None


def testable(results: pd.DataFrame) -> pd.DataFrame:
    """The hypotheses the model could test (a verdict other than not_testable)."""
    return results[results["verdict"] != "not_testable"]


def verdict_sentences(results: pd.DataFrame, membership: pd.DataFrame,
                      lang: str = "en") -> list[str]:
    """The sentences of the verdicts, each after its id and the hypothesis as the hypotheses file
    states it (``hypothesis_en`` / ``hypothesis_ru``, when given), the hypotheses about a kind the
    data cannot give left out (that kind is named once by :func:`missing_kinds_line`)."""
    gone = set(kind_table(membership).query("status == 'not_computable'")["category"])
    keep = results[~results["category"].isin(gone)]
    stated = keep[f"hypothesis_{lang}"] if f"hypothesis_{lang}" in keep.columns \
        else pd.Series("", index=keep.index)
    return [f"{i} — {h.strip()} {s}" if isinstance(h, str) and h.strip() else str(s)
            for i, h, s in zip(keep["id"], stated, keep[f"sentence_{lang}"])]


def only_computable(df: pd.DataFrame, membership: pd.DataFrame,
                    column: str = "category") -> pd.DataFrame:
    """Rows of ``df`` about a kind the data can give."""
    return df[df[column].isin(computable(membership))]


def drop_empty_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Columns with no value at all left out (a feature the data do not have)."""
    return df.loc[:, df.notna().any(axis=0)]


def change_counts(changes: pd.DataFrame, membership: pd.DataFrame, *,
                  period: str | None = None) -> pd.DataFrame:
    """Clients who entered and left each computable kind in the last period (zeros shown):
    ``category, entered, left``."""
    kinds = computable(membership)
    if not changes.empty:
        period = period or changes["period"].max()
        last = changes[changes["period"] == period]
    else:
        last = changes
    n = last.groupby(["category", "change"]).size().unstack(fill_value=0) if len(last) \
        else pd.DataFrame()
    out = pd.DataFrame({"category": kinds})
    for col in ("entered", "left"):
        out[col] = [int(n.at[k, col]) if col in n.columns and k in n.index else 0 for k in kinds]
    return out


def anchored(anchor: str, shown: HTML) -> HTML:
    """A displayed table wrapped in an element with the id ``anchor`` (the index links to it)."""
    from IPython.display import HTML

    return HTML(f'<div id="{html.escape(anchor)}">{shown.data}</div>')


def changes_to_act_on(changes: pd.DataFrame, features: pd.DataFrame, *, top: int = 20,
                      period: str | None = None) -> tuple[pd.DataFrame, int]:
    """Who entered or left a kind in the last period, every kind, sorted by revenue at stake
    (the client's revenue over the window), the ``top`` rows; and how many there are in all.

    Returns
    -------
    (pandas.DataFrame, int)
        ``client_id, portfolio, category, change, revenue, reason`` sorted by ``revenue``
        (largest first), and the number of changes of that period. ``reason`` is the text of the
        change's ``reason_code`` with the client's values
        (:func:`analysis.categories.rules.explain`).
    """
    from analysis.categories.rules import explain

    if changes.empty:
        return changes, 0
    period = period or changes["period"].max()
    last = changes[changes["period"] == period].copy()
    at = features[features["period"] == period].drop_duplicates("client_id")
    rev = at.set_index("client_id")["revenue"]
    last["revenue"] = last["client_id"].map(rev)
    last = last.sort_values(["revenue", "client_id"], ascending=[False, True], na_position="last")
    shown = last.head(top).copy()
    if "reason_code" in shown.columns:
        shown["reason"] = explain(shown, features, changes.attrs.get("reasons")).to_numpy()
    cols = [c for c in ("client_id", "portfolio", "category", "change", "revenue", "reason")
            if c in shown.columns]
    return shown[cols].reset_index(drop=True), len(last)


def changes_caption(shown: int, total: int, lang: str = "en") -> str:
    """``Top 20 of 2,434 changes, by revenue at stake — the full list is in
    tables/category_changes.csv``."""
    if total == 0:
        return i18n.t("changes.none", lang)
    key = "changes.all" if shown >= total else "changes.top"
    return i18n.t(key, lang, shown=i18n.integer(shown, lang), total=i18n.integer(total, lang))


def kinds_map_caption(features: pd.DataFrame, primary: pd.DataFrame, *, period: str | None = None,
                      lang: str = "en") -> str:
    """Where each main kind sits on the kinds map, computed: the median revenue rank (percentile
    among the clients shown) and, where the data have costs, the median gross margin, beside all
    clients'. The rule that picks the main kind is said first."""
    from analysis.categories.rules import main_kind_priority

    f, period = _map_frame(features, primary, period)
    priority = main_kind_priority()
    order = ", ".join(_kind(c, lang) for c in priority)
    parts = [i18n.t("map.rule", lang, order=order)]
    if f.empty:
        return parts[0]
    f["rank"] = f["revenue"].rank(pct=True)
    has_margin = "margin" in f and f["margin"].notna().any()
    bits = []
    for kind in [c for c in priority if c in set(f["kind"])]:
        g = f[f["kind"] == kind]
        text = i18n.t("map.kind", lang, kind=_kind(kind, lang),
                      clients=i18n.plural("n.clients", len(g), lang),
                      rank=i18n.integer(round(100 * g["rank"].median()), lang))
        if has_margin and g["margin"].notna().any():
            text += i18n.t("map.margin", lang, margin=i18n.percent(g["margin"].median(), lang))
        bits.append(text)
    parts.append(i18n.t("map.where", lang, period=period, kinds="; ".join(bits)))
    if has_margin:
        parts.append(i18n.t("map.all_margin", lang,
                            margin=i18n.percent(f["margin"].median(), lang)))
    return " ".join(parts)


def _map_frame(features: pd.DataFrame, primary: pd.DataFrame,
               period: str | None) -> tuple[pd.DataFrame, str]:
    complete = features["complete"].astype(bool) if "complete" in features \
        else pd.Series(True, index=features.index)
    period = period or features.loc[complete, "period"].max()
    f = features[(features["period"] == period) & (features["revenue"] > 0)]
    p = primary[primary["period"] == period][["client_id", "primary_category"]]
    d = f.merge(p, on="client_id", how="left")
    d["kind"] = d["primary_category"].fillna("none")
    return d, period


def takeaway(membership: pd.DataFrame, lang: str = "en") -> str:
    """How many decided clients of the last period hold one of the article's four kinds without
    being key by revenue — the clients a revenue ranking alone would not show; ``""`` when the
    data give neither."""
    ok = membership[membership["status"] == "ok"]
    if ok.empty or "key_revenue" not in set(ok["category"]):
        return ""
    last = ok[ok["period"] == ok["period"].max()]
    held = last[last["member"].astype("boolean").fillna(False).astype(bool)]
    four = [c for c in ("image", "demanding", "advanced", "understanding")
            if c in set(last["category"])]
    if not four:
        return ""
    clients = last["client_id"].nunique()
    key = set(held.loc[held["category"] == "key_revenue", "client_id"])
    other = set(held.loc[held["category"].isin(four), "client_id"]) - key
    return i18n.t("takeaway.hidden", lang, n=i18n.integer(len(other), lang),
                  total=i18n.integer(clients, lang),
                  share=i18n.percent(len(other) / clients, lang), nkey=i18n.integer(len(key), lang),
                  kinds=", ".join(_kind(c, lang) for c in four), period=last["period"].iloc[0])
