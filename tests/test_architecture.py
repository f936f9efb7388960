"""The package's architecture, checked (docs/architecture.md): the import contracts of
pyproject.toml hold, and no function grows past 80 lines (its docstring not counted) beyond the
ones still waiting to be split."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "analysis"
LINT = Path(sys.executable).parent / "lint-imports"
MAX_LINES = 80
#: Functions (by name) over MAX_LINES not split yet (issue 17: split when the engineers working on
#: them have merged). The list may only shrink: a new long function fails the test.
NOT_YET_SPLIT = {
    "test_hypotheses",  # hypotheses: phase 2 of issue 17
    "client_features",  # features: perf16 reworks it for memory this session; split after their merge
    "plan", "build_table", "validate", "_render", "make_proposal",
    "run",
}


def _lint(config: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), "--config", str(config), "--no-cache"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, check=False)


def test_import_contracts_hold():
    out = _lint(ROOT / "pyproject.toml")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout


def test_a_broken_contract_is_reported(tmp_path):
    # the checker sees the package's real imports: growth does import the registry
    cfg = tmp_path / "contracts.toml"
    cfg.write_text('[tool.importlinter]\nroot_package = "analysis"\n\n[[tool.importlinter.contracts]]\n'
                   'name = "growth without the registry"\ntype = "forbidden"\n'
                   'source_modules = ["analysis.growth.panel"]\nforbidden_modules = ["analysis.registry"]\n',
                   encoding="utf-8")
    out = _lint(cfg)
    assert out.returncode != 0 and "BROKEN" in out.stdout and "analysis.growth.panel -> analysis.registry" in out.stdout


def _long_functions() -> dict[str, int]:
    found = {}
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                doc = node.body[0] if node.body else None
                if isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant) and isinstance(doc.value.value, str):
                    n -= doc.end_lineno - doc.lineno + 1  # the docstring documents; it is not a step
                if n > MAX_LINES:
                    found[f"{path.relative_to(SRC).as_posix()}:{node.name}"] = n
    return found


def test_no_new_function_over_80_lines():
    long = _long_functions()
    new = {k: v for k, v in long.items() if k.rpartition(":")[2] not in NOT_YET_SPLIT}
    assert not new, f"functions over {MAX_LINES} lines (split them into named steps): {new}"
