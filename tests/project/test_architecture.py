"""The import rule of docs/architecture.md, as the test command checks it (`lint-imports`, contracts in
pyproject.toml), and proof that each contract fails when the rule it states is broken."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("providers", "stacks", "components", "gates", "policy", "planning", "alerting", "settings", "conventions")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}  # ahead of the editable install, so `root`'s copy is read
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_project_keeps_every_import_contract() -> None:
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout[-3000:]


@pytest.fixture(scope="module")
def copy_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("layers")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


@pytest.mark.parametrize(
    ("files", "contract"),
    [
        ({"conventions/_upward.py": "import stacks.render\n"}, "Layers: imports only go down"),
        ({"planning/_sideways.py": "import alerting.slo_rules\n"}, "Layers: imports only go down"),
        ({"components/_settings.py": "import settings.stack\n"}, "Components take their Args"),
        (
            {"stacks/_cycle_a.py": "import stacks._cycle_b\n", "stacks/_cycle_b.py": "import stacks._cycle_a\n"},
            "No import cycles",
        ),
    ],
    ids=["upward", "between-siblings", "components-to-settings", "cycle"],
)
def test_a_broken_rule_fails_the_check(copy_root: Path, files: dict[str, str], contract: str) -> None:
    for name, source in files.items():
        (copy_root / name).write_text(source)
    try:
        done = lint_imports(copy_root)
    finally:
        for name in files:
            (copy_root / name).unlink()
    assert done.returncode != 0, done.stdout[-2000:]
    assert contract in done.stdout.split("Broken contracts")[-1], done.stdout[-2000:]
