"""A tiny notebook for runner tests: one code cell, optionally after a tagged parameters cell."""

from __future__ import annotations

from pathlib import Path

import nbformat


def tiny_notebook(folder: Path, name: str, source: str, parameters: str = "") -> Path:
    """Write ``folder/<name>.ipynb`` running ``source`` (after ``parameters``, tagged for papermill)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source)]
    if parameters:
        nb.cells.insert(0, nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]}))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = Path(folder) / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path
