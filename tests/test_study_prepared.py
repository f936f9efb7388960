"""The study a report run prepares once: loaded by every page, equal to a direct preparation."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.errors import InputError
from analysis.growth import confirmatory
from analysis.growth import panel as growth
from analysis.report import study

ROOT = Path(__file__).resolve().parents[1]


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Equal values and dtypes; Parquet keeps a categorical's labels as str where pandas made them object."""
    fix = lambda df: df.assign(**{c: df[c].cat.rename_categories(lambda x: str(x)).astype(  # noqa: E731
        pd.CategoricalDtype(pd.Index(list(df[c].cat.categories), dtype=object)))
        for c in df.columns if isinstance(df[c].dtype, pd.CategoricalDtype)})
    pd.testing.assert_frame_equal(fix(a), fix(b))


def test_prepared_study_equals_a_direct_preparation(tmp_path):
    folder = study.save_prepared(tmp_path / "study", window=4)
    direct = study.prepare("", window=4)
    loaded = study.prepare("", window=4, cache=folder)
    for name in ("clients", "transactions", "events", "kpis"):
        pd.testing.assert_frame_equal(getattr(loaded.base, name), getattr(direct.base, name))
    assert loaded.base.client_periods is None and loaded.base.notes == direct.base.notes
    assert loaded.synthetic == direct.synthetic and loaded.window == direct.window
    for name in ("panel", "features", "membership", "variants"):
        _same(getattr(loaded, name), getattr(direct, name))
    # the growth panel and the confirmatory tests, against the functions called directly
    data = growth.portfolio_panel(direct.panel, direct.membership, window=4, kpis=direct.base.kpis,
                                  variants=direct.variants)
    assert loaded.growth_panel.attrs["others"] == data.attrs["others"] == {"new_product_share": "no_signal",
                                                                           "claims_rate": "no_signal"}
    pd.testing.assert_frame_equal(loaded.growth_panel, data)
    pd.testing.assert_frame_equal(loaded.tested(None, seed=1),
                                  confirmatory.test_hypotheses(data, None, seed=1, mde_by_design=True))


def test_a_prepared_study_for_other_parameters_is_refused(tmp_path):
    folder = study.save_prepared(tmp_path / "study", window=4)
    with pytest.raises(InputError, match="other inputs or parameters"):
        study.prepare("", window=3, cache=folder)
    with pytest.raises(InputError, match="no prepared study"):
        study.prepare("", window=4, cache=tmp_path / "nothing")


def _primary_reference(membership, priority):
    """``primary_category`` computed the direct way (sort, then per-group first/size/join)."""
    import numpy as np

    rank = {c: i for i, c in enumerate(priority)}
    membership = membership.astype({c: "str" for c in ("client_id", "portfolio", "period", "category", "status")})
    m = membership[membership["member"].fillna(False).astype(bool)].copy()
    m["_rank"] = m["category"].map(rank).fillna(len(rank))
    m = m.sort_values(["client_id", "period", "_rank"], kind="stable")
    held = m.groupby(["client_id", "period"], sort=False).agg(
        primary_category=("category", "first"), n_categories=("category", "size"), categories=("category", "+".join))
    keys = membership.groupby(["client_id", "period"], sort=False).agg(
        portfolio=("portfolio", "first"), decided=("status", lambda s: bool((s == "ok").any())))
    out = keys.join(held)
    out["n_categories"] = out["n_categories"].fillna(0).astype(int)
    out["primary_category"] = out["primary_category"].where(out["primary_category"].notna(),
                                                            np.where(out["decided"], "none", None))
    out["categories"] = out["categories"].fillna("")
    out = out.reset_index()[["client_id", "portfolio", "period", "primary_category", "n_categories", "categories"]]
    return out.sort_values(["client_id", "period"], kind="stable").reset_index(drop=True)


def test_primary_category_equals_the_direct_computation():
    from analysis.categories import rules as categories

    m = study.prepare("").membership
    m = m[m["client_id"].isin(m["client_id"].drop_duplicates().head(300))]  # the reference is slow
    for priority in (categories.PRIMARY_PRIORITY, ("key_revenue", "image")):  # a category outside the priority too
        pd.testing.assert_frame_equal(categories.primary_category(m, priority=priority), _primary_reference(m, priority))


@pytest.mark.parametrize("params", [{}, {"freq": "M", "window": 3, "portfolio_by": "account_manager"}])
def test_every_page_reads_one_prepared_study(params):
    # pages that differ in their defaults (page 5 once had window 4 and no freq / portfolio_by) would
    # each get a study of their own: the data prepared twice, and page 5 checking another design
    # (4 months instead of the 6-month monthly default; quarters when the run said --freq M)
    from analysis.report.runner import _known, _study_args, _study_key

    pages = [nb for nb in sorted((ROOT / "notebooks").glob("0*.ipynb")) if "study_dir" in _known(nb)]
    assert len(pages) >= 4
    keys = {nb.name: _study_key(nb, {k: v for k, v in params.items() if k in _known(nb)}) for nb in pages}
    assert len(set(keys.values())) == 1, keys
    for name in ("freq", "window", "portfolio_by"):
        assert all(name in _study_args(nb, params) for nb in pages), name
