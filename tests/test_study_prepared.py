"""The study a report run prepares once: loaded by every page, equal to a direct preparation."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import growth, study
from analysis import hypotheses as hyp
from analysis.errors import InputError


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
    for name in ("panel", "features", "membership"):
        _same(getattr(loaded, name), getattr(direct, name))
    # the growth panel and the confirmatory tests, against the functions called directly
    data = growth.portfolio_panel(direct.panel, direct.membership, window=4, kpis=direct.base.kpis)
    pd.testing.assert_frame_equal(loaded.growth_panel, data)
    pd.testing.assert_frame_equal(loaded.tested(None, seed=1), hyp.test_hypotheses(data, None, seed=1))


def test_a_prepared_study_for_other_parameters_is_refused(tmp_path):
    folder = study.save_prepared(tmp_path / "study", window=4)
    with pytest.raises(InputError, match="other inputs or parameters"):
        study.prepare("", window=3, cache=folder)
    with pytest.raises(InputError, match="no prepared study"):
        study.prepare("", window=4, cache=tmp_path / "nothing")
