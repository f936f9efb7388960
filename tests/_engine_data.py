"""Small canonical client bases for the engine-path tests (test_engine, test_spark)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from analysis.config import SAMPLE_DIR


def mixed_managers(folder: Path) -> Path:
    """The sample's files with kpis, every 5th order line handled by a second manager (several
    managers in a client's period, so manager continuity is not one manager per row) and one
    line without a manager."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("clients.csv", "transactions.csv", "events.csv", "kpis.csv"):
        shutil.copy(SAMPLE_DIR / name, folder / name)
    tx = pd.read_csv(folder / "transactions.csv", dtype=str, keep_default_na=False)
    tx.loc[tx.index % 5 == 0, "account_manager"] = "Zoe Second"
    tx.loc[[1], "account_manager"] = ""
    tx.to_csv(folder / "transactions.csv", index=False)
    return folder
