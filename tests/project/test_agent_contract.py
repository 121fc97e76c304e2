"""docs/agent-contract.md says what the render asks of an agent image: its generated tables are current, and
its environment table and ports, user and paths match the rendered agent containers of every stack."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from stacks.contract import generated_block
from tests.conftest import ROOT, STACKS, load_manifests
from tests.stacks.conftest import stack_settings

DOC = ROOT / "docs" / "agent-contract.md"


def test_the_generated_tables_are_current() -> None:
    assert generated_block() in DOC.read_text(), "run: python -m stacks.contract --write docs/agent-contract.md"


def documented_env() -> set[str]:
    section = DOC.read_text().split("## Environment", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z_]+)`", row)}


def agent_containers(folder: Path) -> list[tuple[dict, dict]]:
    found = []
    for m in load_manifests(folder).values():
        if m["kind"] in ("Deployment", "StatefulSet") and "agent-id" in m["metadata"].get("labels", {}):
            pod = m["spec"]["template"]["spec"]
            found += [(m, c) for c in pod["containers"] if c["name"] == "agent"]
    return found


@pytest.mark.parametrize("stack", STACKS)
def test_every_agent_container_gets_exactly_the_documented_environment(
    rendered: Callable[[str], Path], stack: str
) -> None:
    agents = {a.id: a for a in stack_settings(stack).agents}
    containers = agent_containers(rendered(stack))
    assert containers
    for workload, container in containers:
        agent = agents[workload["metadata"]["labels"]["agent-id"]]
        release = set(agent.env) | set(agent.model) | {k for c in [agent.rollout.canary] if c for k in c.env}
        names = {e["name"] for e in container["env"]} - release
        assert names == documented_env(), workload["metadata"]["name"]


@pytest.mark.parametrize("stack", STACKS)
def test_ports_user_and_paths_in_the_render_are_the_documented_ones(
    rendered: Callable[[str], Path], stack: str
) -> None:
    block = generated_block()
    for _, container in agent_containers(rendered(stack)):
        for port in container["ports"]:
            assert f"(`{port['name']}`" in block and f"`{port['containerPort']}`" in block
        assert f"`{container['securityContext']['runAsUser']}`" in block
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        for mount in container["volumeMounts"]:
            assert f"`{mount['mountPath']}" in block, mount
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            assert f"`GET {container[probe]['httpGet']['path']}` on the lifecycle port" in block


@pytest.mark.parametrize("stack", STACKS)
def test_every_runtime_name_the_render_uses_is_explained(rendered: Callable[[str], Path], stack: str) -> None:
    """Annotation keys under greenlang.io/ and HIVE_ variables are the runtime's names; the contract says so."""
    section = (ROOT / "docs" / "agent-contract.md").read_text().split("## Names that come from the runtime", 1)[1]
    section = section.split("<!-- agent-contract:start -->", 1)[0]
    text = "".join(path.read_text() for path in (rendered(stack) / "manifests").rglob("*.yaml"))
    used = set(re.findall(r"greenlang\.io/[a-z-]+", text)) | set(re.findall(r"HIVE_[A-Z_]+", text))
    assert used and {name for name in used if f"`{name}`" not in section} == set()
