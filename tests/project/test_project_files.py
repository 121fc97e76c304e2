"""Pulumi.yaml and the stack files follow Pulumi's formats, so the real CLI reads them unchanged."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.conftest import ROOT, STACKS

CONFIG_KEY = re.compile(r"^[A-Za-z][\w-]*:[A-Za-z_][\w.]*$")


def test_project_file() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == "agent-platform"
    assert project["runtime"]["name"] == "python"
    assert project["runtime"]["options"]["virtualenv"] == ".venv"
    assert (ROOT / "__main__.py").exists()


@pytest.mark.parametrize("stack", STACKS)
def test_stack_file_holds_only_namespaced_config(stack: str) -> None:
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    assert set(document) == {"config"}
    bad = [key for key in document["config"] if not CONFIG_KEY.match(key)]
    assert bad == []
    assert document["config"]["agent-platform:environment"] == stack
    assert document["config"]["aws:region"] == document["config"]["agent-platform:primary_region"]
