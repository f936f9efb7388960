"""Figures shared by the pages: seaborn, readable labels, one colour per category everywhere."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import matplotlib.ticker
import pandas as pd
import seaborn as sns

from analysis.config import CATEGORIES

#: Colour-blind-safe palette (seaborn "colorblind"), one fixed colour per category.
CATEGORY_COLORS = dict(zip(CATEGORIES, sns.color_palette("colorblind", len(CATEGORIES)).as_hex()))


def coverage_heatmap(coverage: pd.DataFrame, *, value: str = "active_clients", title: str | None = None):
    """Portfolio × period heatmap of ``value`` (active clients by default)."""
    wide = coverage.pivot(index="portfolio", columns="period", values=value)
    height = max(3.0, 0.22 * len(wide) + 1.5)
    fig, ax = plt.subplots(figsize=(min(14, 1.0 + 0.6 * wide.shape[1]), height))
    sns.heatmap(wide, cmap="viridis", ax=ax, cbar_kws={"label": value.replace("_", " ")},
                annot=wide.shape[0] * wide.shape[1] <= 400, fmt=".0f", annot_kws={"size": 7})
    ax.set(xlabel="period", ylabel="portfolio", title=title or f"{value.replace('_', ' ').capitalize()} by portfolio and period")
    fig.tight_layout()
    return fig


def revenue_trend(panel: pd.DataFrame):
    """Total revenue and active clients per period (two panels sharing the period axis)."""
    per = panel[panel["revenue"] > 0].groupby("period").agg(revenue=("revenue", "sum"),
                                                            clients=("client_id", "nunique")).reset_index()
    fig, (a, b) = plt.subplots(2, 1, figsize=(9, 5.5), sharex=True)
    sns.barplot(data=per, x="period", y="revenue", ax=a, color=sns.color_palette("colorblind")[0])
    a.set(ylabel="revenue", xlabel="", title="Revenue and active clients per period")
    sns.lineplot(data=per, x="period", y="clients", ax=b, marker="o", color=sns.color_palette("colorblind")[1])
    b.set(ylabel="active clients", xlabel="period")
    b.tick_params(axis="x", rotation=45)
    fig.tight_layout()
    return fig


def category_shares(counts: pd.DataFrame):
    """Share of decided clients in each category, per period, one colour per category."""
    fig, ax = plt.subplots(figsize=(9, 4.5))
    sns.lineplot(data=counts, x="period", y="share", hue="category", palette=CATEGORY_COLORS, marker="o", ax=ax,
                 hue_order=[c for c in CATEGORY_COLORS if c in set(counts["category"])])
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set(xlabel="period", ylabel="share of clients", title="How many clients each kind holds")
    ax.tick_params(axis="x", rotation=45)
    ax.legend(title="kind of key client", bbox_to_anchor=(1.02, 1), loc="upper left")
    fig.tight_layout()
    return fig


def overlap_heatmap(matrix: pd.DataFrame):
    """Clients in both kinds (diagonal: clients in the kind) as a heatmap."""
    fig, ax = plt.subplots(figsize=(6.5, 5.2))
    sns.heatmap(matrix, annot=True, fmt="d", cmap="Blues", ax=ax, cbar=False)
    ax.set(xlabel="", ylabel="", title="Clients holding two kinds at once")
    fig.tight_layout()
    return fig
