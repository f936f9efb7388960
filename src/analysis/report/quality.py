"""What the data-quality page shows: what was read and skipped, the checks, coverage."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.config import SAMPLE_DIR
from analysis.errors import InputError
from analysis.ingest import ValidationReport, validate
from analysis.ingest.panel import client_period_panel


def check(data_dir: str | Path = "", *, config: str | Path = "", portfolio: str = "",
          anonymize: bool = False, freq: str = "") -> ValidationReport:
    """Read and check the client base (the sample when ``data_dir`` is empty); stop on errors.

    ``portfolio`` keeps one portfolio's clients; ``anonymize`` replaces client ids and names
    (in the tables and in every note and problem text) by keyed pseudonyms; ``freq`` (Q or M;
    empty: the data config's) sets the periods of KPI files. A folder of company folders is
    checked company by company (:mod:`analysis.ingest.companies`).
    """
    import dataclasses

    from analysis.ingest.companies import company_folders, validate_companies
    from analysis.report.study import only_portfolio, settings

    folder = Path(data_dir) if data_dir else SAMPLE_DIR
    folders = company_folders(folder)
    if folders:
        report = validate_companies(folders, config=config or None, freq=freq or None)
    else:
        given = settings(folder, config=config, freq=freq).config if freq else (config or None)
        report = validate(folder, config=given)
    if not report.ok:
        raise InputError(report.message())
    if anonymize:
        from analysis.ingest.anonymize import anonymize_report, key_from_env

        report = anonymize_report(report, key_from_env())
    if portfolio and report.base is not None:  # (no errors: the base is there)
        report = dataclasses.replace(report, base=only_portfolio(report.base, portfolio))
    return report


def notes_table(report: ValidationReport) -> pd.DataFrame:
    """One row per note: ``file`` and ``note`` (how it was read, what was skipped)."""
    rows = []
    for note in report.notes:
        file, _, text = note.partition(": ")
        rows.append({"file": file, "note": text or file})
    return pd.DataFrame(rows, columns=["file", "note"])


def counts_table(report: ValidationReport, *, portfolio: str = "") -> pd.DataFrame:
    """From the lines read to the lines in the panel (:meth:`ValidationReport.counts`): the same
    numbers ``keyclients validate`` prints, a row for every difference (filters, partial periods,
    clients without orders). With ``portfolio``, the rows of the whole files (lines read, dropped
    by filters) are left out: they are not attributed to one portfolio."""
    out = report.counts()
    if portfolio:
        out = out[~out["step"].isin(["dq_lines_read", "dq_dropped_by_filter"])]
    return out.reset_index(drop=True)


def problems_table(report: ValidationReport) -> pd.DataFrame:
    """Warnings and errors: ``severity, file, column, check, count, lines, fix``."""
    return report.problems.reset_index(drop=True)


def panel(report: ValidationReport, *, engine: str = "duckdb", freq: str = "") -> pd.DataFrame:
    """The client × period panel of the checked base, at ``freq`` (Q or M; empty: the frequency
    the base was checked at). The base's tables are in this process already, so ``spark`` builds
    it with DuckDB in process too (the same panel, tested): Spark would start a JVM in the page's
    kernel only to copy every order line into it."""
    if report.base is None:  # a report with errors has no tables (check() stops on them)
        raise InputError(report.message())
    engine = "duckdb" if engine == "spark" else engine
    return client_period_panel(report.base, engine=engine, freq=freq or report.freq)


def coverage(panel: pd.DataFrame) -> pd.DataFrame:
    """Per portfolio and period: ``active_clients`` (with revenue), ``new_clients`` (first
    period in the data), ``revenue`` and ``orders``; every combination present (zeros filled)."""
    first = panel[panel["revenue"] > 0].groupby("client_id")["period"].min()
    active = panel[panel["revenue"] > 0].assign(
        new=lambda d: d["client_id"].map(first) == d["period"])
    out = active.groupby(["portfolio", "period"]).agg(active_clients=("client_id", "nunique"),
                                                      new_clients=("new", "sum"),
                                                      revenue=("revenue", "sum"),
                                                      orders=("orders", "sum"))
    full = pd.MultiIndex.from_product([sorted(panel["portfolio"].unique()),
                                       sorted(panel["period"].unique())],
                                      names=["portfolio", "period"])
    return out.reindex(full, fill_value=0).reset_index()


def coverage_summary(coverage: pd.DataFrame) -> pd.DataFrame:
    """Per portfolio: periods with data, first and last period, median active clients, revenue
    share."""
    with_data = coverage[coverage["active_clients"] > 0]
    g = with_data.groupby("portfolio")
    out = pd.DataFrame({
        "periods_with_data": g.size(),
        "first_period": g["period"].min(),
        "last_period": g["period"].max(),
        "median_active_clients": g["active_clients"].median(),
        "revenue_share": g["revenue"].sum() / coverage["revenue"].sum(),
    }).reindex(sorted(coverage["portfolio"].unique()))
    out["periods_with_data"] = out["periods_with_data"].fillna(0).astype(int)
    return out.reset_index()
