"""Figures shared by the pages: seaborn, readable labels, one colour per category everywhere."""

from __future__ import annotations

import contextlib

import matplotlib
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from analysis import i18n, registry

#: The Okabe–Ito palette (distinct for the common colour-vision deficiencies), each colour with its
#: own marker and line style so that the kinds stay apart in greyscale; kinds take them in registry
#: order (a rulebook's own kinds after the built-in six, cycling past eight).
_COLORS = ["#0072B2", "#56B4E9", "#D55E00", "#CC79A7", "#009E73", "#E69F00", "#F0E442", "#000000"]
_MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
_DASHES = ["", (4, 1.5), (1, 1), (3, 1, 1, 1), (6, 2), (2, 2, 6, 2), (1, 2), (5, 1, 1, 1, 1, 1)]


def _by_kind(styles: list) -> dict:
    kinds = registry.current().kind_ids()
    return {k: styles[i % len(styles)] for i, k in enumerate(kinds)}


def kind_colors() -> dict[str, str]:
    """One fixed colour per kind, the same on every figure."""
    return _by_kind(_COLORS)


def kind_markers() -> dict[str, str]:
    return _by_kind(_MARKERS)


def kind_dashes() -> dict[str, object]:
    return _by_kind(_DASHES)


def money(v: float, lang: str = "en") -> str:
    """A money tick: thousands grouped, millions and billions shortened (``12.5 M`` / ``12,5
    млн``)."""
    for div, key in ((1e9, "fig.bn"), (1e6, "fig.mn"), (1e3, "fig.th")):
        if abs(v) >= div:
            x = v / div
            digits = 0 if abs(x) >= 10 or x == round(x) else 1
            return f"{i18n.number(x, lang, digits)} {i18n.t(key, lang)}"
    return i18n.number(v, lang, 0)


def _money_axis(axis, lang: str) -> None:
    axis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _pos: money(v, lang)))


def _decimal_comma(fig, lang: str) -> None:
    """Russian figures: tick labels of numeric axes with a decimal comma (no locale needed)."""
    if lang != "ru":
        return
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            fmt = axis.get_major_formatter()
            if isinstance(fmt, matplotlib.ticker.ScalarFormatter):
                axis.set_major_formatter(matplotlib.ticker.FuncFormatter(_ru_tick))
            elif isinstance(fmt, matplotlib.ticker.PercentFormatter):
                axis.set_major_formatter(matplotlib.ticker.FuncFormatter(
                    lambda v, _pos: f"{100 * v:.0f} %".replace("-", "\u2212")))


def _ru_tick(v: float, _pos=None) -> str:
    text = i18n.integer(round(v), "ru") if abs(v) >= 1000 else f"{v:.6g}".replace(".", ",")
    return text.replace("-", "\u2212")


def _legend(ax, lang: str, title: str, **kw) -> None:
    """Legend entries (category ids, verdicts, kinds) shown as labels in ``lang``."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, [i18n.label(x, lang) for x in labels], title=title, **kw)


MAX_PERIOD_TICKS = 12


def period_ticks(labels: list[str], max_ticks: int = MAX_PERIOD_TICKS) -> list[int]:
    """Positions of the period labels to show on a crowded axis: all up to ``max_ticks``; else
    months at quarter starts (01, 04, 07, 10; January only when even those are too many), quarters
    at Q1, and any other labels every n-th, so 36 months show 12 readable labels in either
    language."""
    n = len(labels)
    if n <= max_ticks:
        return list(range(n))
    months = [int(x[5:7]) for x in labels if len(x) == 7 and x[4] == "-" and x[5:7].isdigit()]
    if len(months) == n:  # every label a month
        for every in (3, 6, 12):
            keep = [i for i, m in enumerate(months) if (m - 1) % every == 0]
            if len(keep) <= max_ticks:
                return keep
        return keep
    if all(len(x) == 6 and x[4] == "Q" for x in labels):
        keep = [i for i, x in enumerate(labels) if x.endswith("Q1")]
        if 2 <= len(keep) <= max_ticks:
            return keep
    step = -(-n // max_ticks)
    return list(range(0, n, step))


def _thin_period_axis(ax, labels: list[str]) -> None:
    """Show only :func:`period_ticks` of a categorical period axis (positions 0 … n-1 in ``labels``
    order)."""
    keep = period_ticks(labels)
    ax.set_xticks(keep, [labels[i] for i in keep])


def coverage_heatmap(coverage: pd.DataFrame, *, value: str = "active_clients",
                     title: str | None = None,
                     lang: str = "en") -> Figure:
    """Portfolio × period heatmap of ``value`` (active clients by default)."""
    wide = coverage.pivot(index="portfolio", columns="period", values=value)
    height = max(3.0, 0.22 * len(wide) + 1.5)
    fig, ax = plt.subplots(figsize=(min(14, 1.0 + 0.6 * wide.shape[1]), height))
    sns.heatmap(wide, cmap="viridis", ax=ax, cbar_kws={"label": i18n.column(value, lang)},
                annot=wide.shape[0] * wide.shape[1] <= 400, fmt=".0f", annot_kws={"size": 7})
    ax.set(xlabel=i18n.t("fig.period", lang), ylabel=i18n.t("fig.portfolio", lang),
           title=title or (i18n.t("fig.coverage_title", lang) if value == "active_clients"
                           else i18n.column(value, lang).capitalize()))
    fig.tight_layout()
    return fig


def revenue_trend(panel: pd.DataFrame, *, lang: str = "en") -> Figure:
    """Total revenue and active clients per period (two panels sharing the period axis)."""
    per = panel[panel["revenue"] > 0].groupby("period").agg(
        revenue=("revenue", "sum"), clients=("client_id", "nunique")).reset_index()
    per["period"] = per["period"].astype(str)
    per = per.sort_values("period", kind="stable").reset_index(drop=True)
    fig, (a, b) = plt.subplots(2, 1, figsize=(9, 5.5), sharex=True)
    sns.barplot(data=per, x="period", y="revenue", ax=a, color=sns.color_palette("colorblind")[0],
                order=per["period"].tolist())
    a.set(ylabel=i18n.t("fig.revenue", lang), xlabel="", title=i18n.t("fig.trend_title", lang))
    _money_axis(a.yaxis, lang)
    b.plot(range(len(per)), per["clients"], marker="o", color=sns.color_palette("colorblind")[1])
    b.set(ylabel=i18n.t("fig.active_clients", lang), xlabel=i18n.t("fig.period", lang))
    _thin_period_axis(b, per["period"].tolist())
    b.tick_params(axis="x", rotation=45)
    _decimal_comma(fig, lang)
    fig.tight_layout()
    return fig


def category_shares(counts: pd.DataFrame, *, lang: str = "en") -> Figure | None:
    """Share of decided clients in each category, per period, one colour per category."""
    if counts.empty:
        return None
    fig, ax = plt.subplots(figsize=(9, 4.5))
    order = [c for c in kind_colors() if c in set(counts["category"])]
    periods = sorted(counts["period"].astype(str).unique())
    data = counts.assign(
        period_pos=counts["period"].astype(str).map({p: i for i, p in enumerate(periods)}))
    sns.lineplot(data=data, x="period_pos", y="share", hue="category", palette=kind_colors(), ax=ax,
                 hue_order=order, style="category", style_order=order, markers=kind_markers(),
                 dashes=kind_dashes())
    _thin_period_axis(ax, periods)
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=0))
    ax.set(xlabel=i18n.t("fig.period", lang), ylabel=i18n.t("fig.share_of_clients", lang),
           title=i18n.t("fig.shares_title", lang))
    ax.tick_params(axis="x", rotation=45)
    _legend(ax, lang, i18n.t("fig.kind", lang), bbox_to_anchor=(1.02, 1), loc="upper left")
    _decimal_comma(fig, lang)
    fig.tight_layout()
    return fig


def overlap_heatmap(matrix: pd.DataFrame, *, lang: str = "en") -> Figure | None:
    """Clients in both kinds (diagonal: clients in the kind) as a heatmap."""
    if matrix.empty:
        return None
    fig, ax = plt.subplots(figsize=(6.5, 5.2))
    shown = matrix.rename(index=lambda c: i18n.category(c, lang),
                          columns=lambda c: i18n.category(c, lang))
    sns.heatmap(shown, annot=True, fmt="d", cmap="Blues", ax=ax, cbar=False)
    ax.set(xlabel="", ylabel="", title=i18n.t("fig.overlap_title", lang))
    fig.tight_layout()
    return fig


def forest(results: pd.DataFrame, *, label: str = "id", lang: str = "en") -> Figure | None:
    """Standardised effects with 95 % CIs, one row per hypothesis, and the ±min_effect band."""
    df = results.dropna(subset=["std_effect"]).reset_index(drop=True)
    if df.empty:
        return None
    fig, ax = plt.subplots(figsize=(10, 0.75 * max(len(df), 2) + 1.6))
    band = float(df["min_effect"].max()) if "min_effect" in df and len(df) else 0.2
    ax.axvspan(-band, band, color="0.92", zorder=0)
    ax.axvline(0, color="0.4", lw=0.8)
    y = range(len(df))[::-1]
    for yi, (_, row) in zip(y, df.iterrows()):
        color = kind_colors().get(row["category"], "0.3")
        ax.plot([row["ci_low"], row["ci_high"]], [yi, yi], color=color, lw=2.2)
        ax.plot(row["std_effect"], yi, "o", color=color, ms=7)
    labels = [f"{r[label]}: {i18n.category(r['category'], lang)} → "
              f"{i18n.outcome(r['outcome'], lang)}\n"
              f"({i18n.t('fig.lag', lang, lag=r['lag'])}) — "
              f"{i18n.verdict(r.get('verdict', ''), lang)}"
              for _, r in df.iterrows()]
    ax.set_yticks(list(y), labels)
    ax.set(xlabel=i18n.t("fig.forest_x", lang), title=i18n.t("fig.forest_title", lang))
    # the band's legend is written on the band itself, above the first row, where no estimate sits
    ax.set_ylim(-0.6, len(df) - 0.1)
    ax.text(0, len(df) - 0.35, i18n.t("fig.band", lang, band=i18n.number(band, lang)), ha="center",
            va="center",
            fontsize=9.5, color="0.25")
    _decimal_comma(fig, lang)
    fig.tight_layout()
    return fig


def grid_heatmap(grid: pd.DataFrame, *, lag: int | None = None, lang: str = "en") -> Figure | None:
    """The exploratory grid: standardised effect of each category on each outcome at each lag.

    One small heatmap per kind (outcomes × lags), sized for a page; kinds and outcomes with no
    estimate are left out, and ``None`` comes back when nothing was estimated. Cells whose
    Benjamini–Hochberg-adjusted p is below the level α of the exploration (``grid.attrs["alpha"]``,
    the hypotheses file's; :func:`analysis.growth.exploratory.explore` sets it) are marked with a
    star.
    """
    if "alpha" not in grid.attrs:
        raise ValueError("the grid carries no level α: make it with growth.exploratory.explore")
    alpha = float(grid.attrs["alpha"])
    g = grid.dropna(subset=["std_effect"]).copy()
    if lag is not None:
        g = g[g["lag"] == lag]
    if g.empty:
        return None
    kinds = [c for c in kind_colors() if c in set(g["category"])]
    outs = list(dict.fromkeys(g["outcome"]))
    lags = sorted(g["lag"].unique())
    lim = max(0.3, float(g["std_effect"].abs().max()))
    ncols = min(3, len(kinds))
    nrows = -(-len(kinds) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.0 * ncols + 2.2,
                                                    0.34 * len(outs) * nrows + 1.6 * nrows + 0.6),
                             squeeze=False, sharey=True)
    for ax, kind in zip(axes.ravel(), kinds):
        part = g[g["category"] == kind]
        wide = part.pivot_table(index="outcome", columns="lag", values="std_effect",
                                aggfunc="first").reindex(
            index=outs, columns=lags)
        stars = part.pivot_table(index="outcome", columns="lag", values="reject",
                                 aggfunc="first").reindex(
            index=outs, columns=lags)
        annot = wide.map(
            lambda v: "" if pd.isna(v) else i18n.number(v, lang).replace("-", "\u2212")
        ) + stars.map(lambda v: "*" if v is True else "")
        wide = wide.rename(index=lambda o: i18n.outcome(o, lang))
        sns.heatmap(wide, cmap="vlag", center=0, vmin=-lim, vmax=lim, annot=annot, fmt="", ax=ax,
                    cbar=False,
                    annot_kws={"size": 9}, linewidths=0.5, linecolor="white")
        ax.set_title(i18n.category(kind, lang), fontsize=11)
        ax.set(xlabel=i18n.t("fig.lag_axis", lang), ylabel="")
        ax.tick_params(axis="y", labelsize=9, rotation=0)
    for ax in axes.ravel()[len(kinds):]:
        ax.set_visible(False)
    mappable = axes.ravel()[0].collections[0]
    fig.suptitle(i18n.t("fig.grid_title", lang, alpha=i18n.level(alpha, lang)), fontsize=12)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    cax = fig.add_axes((0.3, 0.025, 0.4, 0.018))
    bar = fig.colorbar(mappable, cax=cax, orientation="horizontal")
    bar.set_label(i18n.t("fig.std_effect", lang), fontsize=9)
    _decimal_comma(fig, lang)
    return fig


def scatter_fits(data: pd.DataFrame, results: pd.DataFrame, *, max_panels: int = 8,
                 lang: str = "en") -> Figure | None:
    """For each hypothesis: exposure vs outcome after removing portfolio and period means, with a
    fit."""
    from analysis.growth.panel import exposure_column, outcome_column

    rows = results.dropna(subset=["std_effect"]).head(max_panels)
    if rows.empty:
        return None
    n = len(rows)
    cols = min(n, 3) or 1
    nrows = max(1, -(-n // cols))
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 3.6 * nrows), squeeze=False)
    for ax, (_, r) in zip(axes.ravel(), rows.iterrows()):
        x = exposure_column(r["category"], r.get("measure", "share"))
        y = outcome_column(r["outcome"], int(r["lag"]))
        if x not in data or y not in data:
            ax.set_visible(False)
            continue
        d = data[["portfolio", "period", x, y]].dropna()
        for col in (x, y):
            d[col] = (d[col] - d.groupby("portfolio")[col].transform("mean")
                      - d.groupby("period")[col].transform("mean") + d[col].mean())
        sns.regplot(data=d, x=x, y=y, ax=ax, color=kind_colors().get(r["category"], "0.3"), seed=0,
                    scatter_kws={"alpha": 0.45, "s": 14}, line_kws={"lw": 1.5})
        ax.set(xlabel=i18n.t("fig.within_share", lang, category=i18n.category(r["category"], lang)),
               ylabel=i18n.t("fig.within_outcome", lang, outcome=i18n.outcome(r["outcome"], lang),
                             lag=int(r["lag"])),
               title=f"{r['id']}: {i18n.verdict(r.get('verdict', ''), lang)}")
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    _decimal_comma(fig, lang)
    fig.tight_layout()
    return fig


@contextlib.contextmanager
def _seeded_jitter(seed: int = 0):
    """seaborn's strip plots jitter with numpy's global generator: seed it for the plot and put the
    caller's state back, so the same inputs draw the same figure."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def method_check(runs: pd.DataFrame, *, lang: str = "en") -> Figure:
    """Estimates in null and planted worlds per hypothesis, with the planted size marked."""
    fig, ax = plt.subplots(figsize=(9, 0.5 * runs["id"].nunique() + 1.8))
    with _seeded_jitter():
        sns.stripplot(data=runs, y="id", x="std_effect", hue="kind", dodge=True, ax=ax, alpha=0.7,
                      palette={"null": "0.55", "planted": sns.color_palette("colorblind")[2],
                               "min_effect": sns.color_palette("colorblind")[0]})
    planted = runs[runs["planted"] != 0].drop_duplicates("id")
    order = list(dict.fromkeys(runs["id"]))
    for _, r in planted.iterrows():
        y = order.index(r["id"])
        ax.plot([r["planted"]] * 2, [y - 0.4, y + 0.4], color="black", lw=1.5)
    ax.axvline(0, color="0.4", lw=0.8)
    ax.set(xlabel=i18n.t("fig.method_x", lang), ylabel="", title=i18n.t("fig.method_title", lang))
    _legend(ax, lang, i18n.t("fig.world", lang))
    _decimal_comma(fig, lang)
    fig.tight_layout()
    return fig


def kinds_map(features: pd.DataFrame, primary: pd.DataFrame, *, period: str | None = None,
              lang: str = "en") -> Figure | None:
    """Clients of one period by window revenue (log scale) and gross margin, coloured and shaped by
    main kind (:func:`analysis.categories.rules.primary_category`). Without costs in the data the
    margin axis gives way to one row per main kind. ``None`` when no client has revenue."""
    period = period or features.loc[features["complete"].astype(bool), "period"].max()
    f = features[(features["period"] == period) & (features["revenue"] > 0)]
    if f.empty:
        return None
    p = primary[primary["period"] == period][["client_id", "primary_category"]]
    d = f.merge(p, on="client_id", how="left")
    # "none" (decided, in no kind) and a missing decision both show as the grey "none of the six"
    d["kind"] = d["primary_category"].replace({"none": "none of the six"}).fillna("none of the six")
    palette = {**kind_colors(), "none of the six": "#b0b0b0"}
    markers = {**kind_markers(), "none of the six": "."}
    order = ["none of the six", *[c for c in kind_colors() if c in set(d["kind"])]]
    has_margin = "margin" in d and d["margin"].notna().any()
    fig, ax = plt.subplots(figsize=(8.5, 5 if has_margin else 0.5 * len(order) + 1.6))
    if has_margin:
        sns.scatterplot(data=d, x="revenue", y="margin", hue="kind", hue_order=order,
                        palette=palette, s=22,
                        style="kind", style_order=order, markers=markers, alpha=0.8, ax=ax,
                        linewidth=0)
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=0))
        ax.set(ylabel=i18n.t("fig.gross_margin", lang),
               title=i18n.t("fig.kinds_title", lang, period=period))
        _legend(ax, lang, i18n.t("fig.main_kind", lang), bbox_to_anchor=(1.02, 1), loc="upper left")
    else:
        d["row"] = d["kind"].map(lambda k: i18n.label(k, lang))
        with _seeded_jitter():
            sns.stripplot(data=d, x="revenue", y="row", hue="kind", hue_order=order,
                          palette=palette, size=3.5,
                          order=[i18n.label(k, lang) for k in order[::-1]], alpha=0.7, ax=ax,
                          jitter=0.25,
                          legend=False, log_scale=True)
        ax.set(ylabel="", title=i18n.t("fig.kinds_title_no_margin", lang, period=period))
    ax.set_xscale("log")
    _money_axis(ax.xaxis, lang)
    ax.set(xlabel=i18n.t("fig.kinds_x", lang))
    _decimal_comma(fig, lang)
    fig.tight_layout()
    return fig


def growth_waterfall(shares: pd.DataFrame, *, measure: str = "revenue", lang: str = "en") -> Figure:
    """Waterfall of a measure from the period before the span to its last period, one bar per
    main kind (its clients' net change over the span); from
    :func:`analysis.growth.decompose.growth_shares`."""
    from analysis.growth import decompose

    d = shares[shares["measure"] == measure]
    d = d[(d["change"] != 0) | (d["kind"] != decompose.UNDECIDED)]
    if d.empty:
        fig, ax = plt.subplots(figsize=(6, 2))
        ax.axis("off")
        ax.text(0.5, 0.5, i18n.t("empty", lang), ha="center", va="center")
        return fig
    start = float(d["start_value"].sum())
    end = start + float(d["change"].sum())
    labels = [i18n.t("fig.waterfall_start", lang, period=d["start_period"].iloc[0])]
    labels += [i18n.label(k, lang) for k in d["kind"]]
    labels += [i18n.t("fig.waterfall_end", lang, period=d["last_period"].iloc[0])]
    fig, ax = plt.subplots(figsize=(max(7.0, 0.9 * len(labels) + 2), 4.2))
    ax.bar(0, start, color="0.55")
    level = start
    for i, (k, ch) in enumerate(zip(d["kind"], d["change"]), start=1):
        ax.bar(i, ch, bottom=level, color=kind_colors().get(k, "0.75"), edgecolor="0.3",
               linewidth=0.5)
        pct = ch / abs(start) * 100 if start else float("nan")
        ax.text(i, level + max(ch, 0), ("+" if pct > 0 else "") + i18n.number(pct, lang, 1) + " %",
                ha="center", va="bottom", fontsize=8)
        level += ch
    ax.bar(len(labels) - 1, end, color="0.35")
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set(ylabel=i18n.column(measure, lang),
           title=i18n.t("fig.waterfall_title", lang, measure=i18n.column(measure, lang)))
    low = min(start, end, *(start + d["change"].cumsum()))
    ax.set_ylim(bottom=max(0.0, low - 0.15 * (max(start, end) - low)) if low > 0 else None)
    _decimal_comma(fig, lang)
    fig.tight_layout()
    return fig
