"""Print the sha256 of every file under a report's tables/ folder (default: reports/sample/tables).

Used to check that a refactor leaves every table byte-identical:

    .venv/bin/python benchmarks/tables_digest.py > /tmp/before.txt
    # change the code, re-render the sample report (`make report`)
    .venv/bin/python benchmarks/tables_digest.py | diff /tmp/before.txt -

tables.xlsx is skipped: the xlsx container stores a write time, so its bytes differ between runs
with identical content (its sheets are the CSVs listed here).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path


def digests(folder: Path) -> list[tuple[str, str]]:
    """Return (relative path, sha256 hex) for every file under ``folder``, sorted by path."""
    out = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.suffix == ".xlsx":
            continue
        out.append((path.relative_to(folder).as_posix(), hashlib.sha256(path.read_bytes()).hexdigest()))
    return out


def main(argv: list[str]) -> int:
    folder = Path(argv[1]) if len(argv) > 1 else Path("reports/sample/tables")
    if not folder.is_dir():
        print(f"no tables folder at {folder}: render a report first (make report)", file=sys.stderr)
        return 2
    for rel, digest in digests(folder):
        print(f"{digest}  {rel}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
