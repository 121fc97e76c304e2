"""In prod, a `ga` agent's workloads sit behind its GA readiness gate; other agents and stacks have none."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from gates.ga_gate import GA_GATE_TYPE
from tests.conftest import ROOT, STACKS, load_resources


@pytest.mark.parametrize("stack", STACKS)
def test_ga_gate_guards_exactly_the_ga_agents_in_prod(rendered: Callable[[str], Path], stack: str) -> None:
    resources = load_resources(rendered(stack))
    agents = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]["agent-platform:agents"]
    expected = {a["id"] for a in agents if stack == "prod" and a.get("lifecycle_stage") == "ga"}
    gates = {r["inputs"]["agent_id"]: r["urn"] for r in resources if r["type"] == GA_GATE_TYPE}
    assert set(gates) == expected
    for agent_id, gate_urn in gates.items():
        rollouts = [
            r
            for r in resources
            if r["type"] == "agent-platform:components:CanaryRollout" and r["name"].endswith(f"-{agent_id}")
        ]
        assert rollouts and all(gate_urn in r["dependencies"] for r in rollouts)
    if stack == "prod":
        assert expected, "the prod stack should exercise the GA gate"
