"""The foundation: the sample regenerates byte for byte, the CLI works from any folder, packaging."""

from __future__ import annotations

import json
import re
import shlex
import sys
import tomllib
import zipfile

import pytest
import yaml

from conftest import ROOT, SAMPLE, run_cli


def test_sample_regenerates_identically(tmp_path):
    readme = (SAMPLE / "README.md").read_text(encoding="utf-8")
    (command,) = re.findall(r"^ +(keyclients synth .*)$", readme, flags=re.M)
    truth = json.loads((SAMPLE / "truth.json").read_text(encoding="utf-8"))
    assert truth["command"] == command
    proc = run_cli(*shlex.split(command)[1:], "--out", tmp_path / "again", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for name in ("clients.csv", "transactions.csv", "events.csv", "kpis.csv", "truth.json"):
        assert (tmp_path / "again" / name).read_bytes() == (SAMPLE / name).read_bytes(), name


def test_sample_is_small():
    assert sum(p.stat().st_size for p in SAMPLE.iterdir()) <= 5 * 2**20


def test_cli_help_lists_every_command():
    proc = run_cli("--help")
    assert proc.returncode == 0
    for cmd in ("synth", "run"):
        assert cmd in proc.stdout
        sub = run_cli(cmd, "--help")
        assert sub.returncode == 0 and "Usage" in sub.stdout


def test_synth_from_a_temporary_folder(tmp_path):
    proc = run_cli("synth", "--out", "world", "--portfolios", "3", "--periods", "6", "--clients", "10", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert {p.name for p in (tmp_path / "world").iterdir()} == {
        "clients.csv", "transactions.csv", "events.csv", "kpis.csv", "truth.json"}


@pytest.mark.parametrize("args, words", [
    (("synth", "--out", "w", "--freq", "W"), "--freq"),
    (("synth", "--out", "w", "--effects", "nothing.yaml"), "nothing.yaml"),
    (("synth", "--out", "w", "--flavor", "sap"), "--flavor"),
    (("run",), "--sample or --data"),
    (("run", "--data", "no-such-folder"), "no-such-folder"),
])
def test_bad_usage_exits_2_with_one_message(tmp_path, args, words):
    proc = run_cli(*args, cwd=tmp_path)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert words in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "w").exists()


def test_environment_yml_python_agrees_with_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    major_minor = python.split("=")[1]
    spec = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["requires-python"]
    from packaging.specifiers import SpecifierSet

    assert SpecifierSet(spec).contains(major_minor + ".0"), (spec, major_minor)
    pip = next(d for d in env["dependencies"] if isinstance(d, dict))["pip"]
    assert "-e ." in pip


def test_lock_pins_every_dependency():
    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    pinned = {line.split("==")[0].lower().replace("_", "-") for line in lock.splitlines() if "==" in line}
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    names = {re.split(r"[<>=\[ ;]", d)[0].lower().replace("_", "-") for d in deps}
    assert names <= pinned, names - pinned


@pytest.mark.slow
def test_wheel_ships_notebooks_and_sample(tmp_path):
    import subprocess

    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w",
                           str(tmp_path), str(ROOT)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    (wheel,) = tmp_path.glob("keyclients-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "analysis/_resources/sample/transactions.csv" in names
    for name in ("transactions.csv", "keyclients.yaml", "truth.json"):  # the second sample, with its config
        assert f"analysis/_resources/sample-one-company/{name}" in names
    assert any(n.startswith("analysis/_resources/notebooks/") and n.endswith(".ipynb") for n in names)
