"""prod widening as the offline render shows it: an automatic release in prod, its cohort at the first stage
and the other tenants in waves, each wave's RolloutState waiting on the releases of the wave before it.

A wave's `after` input is the previous wave's RolloutState outputs of this same `up`: the SDK registers a
resource only once its input Outputs resolve, and records the resources behind them as its dependencies
(pulumi/pulumi sdk/python/lib/pulumi/runtime/resource.py, `prepare_resource`: `rpc.serialize_properties`
collects them into `property_dependencies`, merged into `dependencies`). So a wave is evaluated after the
wave before it and sees its new phases.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conventions.resource_types import ROLLOUT_STATE_TYPE
from tests.conftest import load_manifests, load_resources, render_stack
from tests.stacks.test_break_glass import make_automatic
from tests.stacks.test_render import edit_stack, project_copy


@pytest.fixture(scope="module")
def prod_render(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    tmp = tmp_path_factory.mktemp("waves")
    project = project_copy(tmp)
    edit_stack(project, "prod", make_automatic)
    result = render_stack("prod", tmp / "out", cwd=project)
    assert result.returncode == 0, result.stderr + result.stdout
    return tmp / "out" / "prod", result.stdout


def states(folder: Path) -> dict[str, dict[str, Any]]:
    return {
        r["inputs"]["tenant_id"]: r
        for r in load_resources(folder)
        if r["type"] == ROLLOUT_STATE_TYPE and r["inputs"]["agent_id"] == "support-bot"
    }


def test_the_other_tenants_widen_in_waves_after_the_cohort(prod_render: tuple[Path, str]) -> None:
    folder, _ = prod_render
    agent = json.loads((folder / "outputs.json").read_text())["agents"]["support-bot"]
    cohort, waves = agent["tenants_exposed"], agent["tenant_waves"]
    assert len(cohort) == 1 and len(waves) >= 2
    assert sorted([*cohort, *(t for w in waves for t in w)]) == sorted(agent["tenants"])
    found = states(folder)
    for index, wave in enumerate(waves, start=1):
        previous = waves[index - 2] if index > 1 else cohort
        for tenant in wave:
            state = found[tenant]
            assert state["inputs"]["wave"] == index
            assert sorted(state["inputs"]["after"]) == sorted(previous)
            waits_on = {found[t]["urn"] for t in previous}
            assert waits_on <= set(state["dependencies"]), "a wave is evaluated after the wave before it"
            release = agent["tenants"][tenant]["release"]
            assert (release["phase"], release["weight"], agent["tenants"][tenant]["weight"]) == ("waiting", 0, 0)
    for tenant in cohort:
        assert found[tenant]["inputs"]["wave"] == 0 and agent["tenants"][tenant]["release"]["phase"] == "progressing"


def test_every_wave_tenant_runs_a_canary_track_at_weight_0_and_prod_policy_passes(
    prod_render: tuple[Path, str],
) -> None:
    folder, summary = prod_render
    manifests = load_manifests(folder)
    agent = json.loads((folder / "outputs.json").read_text())["agents"]["support-bot"]
    for wave in agent["tenant_waves"]:
        for tenant in wave:
            namespace = agent["tenants"][tenant]["namespace"]
            ingress = manifests[Path(namespace) / "ingress-support-bot-canary.yaml"]
            assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary-weight"] == "0"
            assert (
                "nginx.ingress.kubernetes.io/mirror-target"
                not in manifests[Path(namespace) / "ingress-support-bot.yaml"]["metadata"]["annotations"]
            ), "a waiting tenant mirrors nothing"
    # The canary-tenant-exposure rule counts only the cohort: the later waves wait on their release states.
    assert "Policy pack: no violations" in summary
