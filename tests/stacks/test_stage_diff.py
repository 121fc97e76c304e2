"""A pull request that only moves the canary stage changes exactly the canary weight and the gate."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from tests.conftest import render_stack
from tests.stacks.test_render import edit_stack, project_copy

GATE_TYPES = ("pulumi-python:dynamic/agent-platform:SloGate", "pulumi-python:dynamic/agent-platform:StageClock")
WEIGHT_PATH = "inputs.metadata.annotations.nginx.ingress.kubernetes.io/canary-weight"


def parse(text: str) -> tuple[list[str], list[str], dict[str, list[str]]]:
    """The `--diff` report: `+ urn`, `- urn`, `~ urn` followed by `    path: old -> new` lines."""
    added: list[str] = []
    removed: list[str] = []
    changed: dict[str, list[str]] = {}
    for line in text.split("Changes against", 1)[1].splitlines():
        if line.startswith("+ "):
            added.append(line[2:])
        elif line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("~ "):
            changed[line[2:]] = []
        elif line.startswith("    ") and changed:
            changed[list(changed)[-1]].append(line.strip())
    return added, removed, changed


def test_moving_support_bot_from_25_to_50_changes_only_the_weight_and_the_gate(
    rendered: Callable[[str], Path], tmp_path: Path
) -> None:
    project = project_copy(tmp_path)

    def next_stage(config: dict) -> None:
        (bot,) = [a for a in config["agent-platform:agents"] if a["id"] == "support-bot"]
        assert bot["rollout"]["stage"] == 1
        bot["rollout"]["stage"] = 2

    edit_stack(project, "staging", next_stage)
    result = render_stack("staging", tmp_path / "out", "--diff", str(rendered("staging")), cwd=project)
    assert result.returncode == 0, result.stderr
    added, removed, changed = parse(result.stdout)

    assert all(urn.split("::")[-2].endswith(GATE_TYPES) for urn in added + removed), added + removed
    assert any(urn.endswith("-gate-2") for urn in added) and any(urn.endswith("-gate-1") for urn in removed)
    weights = []
    for urn, lines in changed.items():
        if urn.split("::")[-2].endswith(GATE_TYPES):
            continue
        assert urn.endswith("-support-bot-canary-ingress"), urn
        for line in lines:
            path = line.split(": ", 1)[0]
            assert path == WEIGHT_PATH or re.fullmatch(r"dependencies\[\d+\]", path), line
        weights += [line for line in lines if line.startswith(WEIGHT_PATH)]
    assert weights and set(weights) == {f"{WEIGHT_PATH}: '25' -> '50'"}
