"""A long page's own progress ("world 7/32"), read by the report runner for its heartbeat lines.

The runner gives each notebook's kernel a file (environment variable ``KEYCLIENTS_PROGRESS``);
:func:`step` replaces its content with one short line. Outside a report run it does nothing, so
package functions may call it freely.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV = "KEYCLIENTS_PROGRESS"


def step(text: str) -> None:
    """Say what the page is doing now (one short line, e.g. ``"world 7/32"``)."""
    path = os.environ.get(ENV)
    if not path:
        return
    tmp = f"{path}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(str(text).splitlines()[0] if str(text) else "")
        os.replace(tmp, path)  # the reader never sees half a line
    except OSError:  # progress is a courtesy: never fail a page over it
        pass


def read(path: str | Path) -> str:
    """The last line :func:`step` wrote to ``path`` ('' when none)."""
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError:
        return ""
