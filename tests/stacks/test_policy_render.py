"""The pack over the stacks' own renders: they pass, and a render broken by hand fails under the rule's name
through the entry point the render command uses."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from policy.offline import check
from policy.resources import is_workload, pod_spec
from tests.conftest import ROOT, STACKS


@pytest.mark.parametrize("stack", STACKS)
def test_stack_render_passes_the_pack(rendered: Callable[[str], Path], stack: str) -> None:
    mandatory = [v for v in check(rendered(stack)) if v.mandatory]
    assert mandatory == [], "\n".join(f"{v.rule}: {v.message}" for v in mandatory)


def break_first_image(folder: Path) -> str:
    """Point the first workload's first container at `:latest`; returns the workload's URN."""
    path = folder / "resources.json"
    records = json.loads(path.read_text())
    workload = next(r for r in records if is_workload(r["type"]) and pod_spec(r["type"], r["inputs"]).get("containers"))
    container = pod_spec(workload["type"], workload["inputs"])["containers"][0]
    container["image"] = container["image"].split("@")[0].rsplit(":", 1)[0] + ":latest"
    path.write_text(json.dumps(records, indent=2, sort_keys=True))
    return workload["urn"]


def test_latest_image_in_prod_fails_the_offline_check(rendered: Callable[[str], Path], tmp_path: Path) -> None:
    broken = tmp_path / "prod"
    shutil.copytree(rendered("prod"), broken)
    workload = break_first_image(broken)
    result = subprocess.run(
        [sys.executable, "-m", "policy.offline", str(broken)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"[mandatory] images-pinned: {workload.rsplit('::', 1)[-1]}" in result.stdout
    assert "uses the 'latest' tag" in result.stdout
    assert f"urn: {workload}" in result.stdout


def test_untouched_copy_exits_zero(rendered: Callable[[str], Path], tmp_path: Path) -> None:
    copy = tmp_path / "prod"
    shutil.copytree(rendered("prod"), copy)
    result = subprocess.run(
        [sys.executable, "-m", "policy.offline", str(copy)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no violations" in result.stdout
