"""A release changes the image, the model or the config bundle, alone or together: the canary track runs the
changed dimension, stable the rest, and the rendered objects and the gate say what changed."""

from __future__ import annotations

from typing import Any

import pytest

from gates.slo_gate import SLO_GATE_TYPE, GateSpec
from planning.rollout import plan_rollout
from settings.agents import Agent, ConfigBundle
from settings.canary import CanaryPolicy
from tests.components.test_canary_rollout import DEPLOYMENT, run
from tests.settings.test_workload_checks import errors_of

CONFIGMAP = "kubernetes:core/v1:ConfigMap"
IMAGE = "111111111111.dkr.ecr.us-east-1.amazonaws.com/agents/support-bot"
DIGEST = "sha256:" + "a" * 64
BUNDLE_V1 = {"version": "v1", "files": {"instructions.md": "Be brief.", "permissions.yaml": "tools: [search]"}}
BUNDLE_V2 = {"version": "v2", "files": {"instructions.md": "Be brief and cite.", "permissions.yaml": "tools: [search]"}}


def agent(canary: dict[str, Any], stage: int = 1) -> Agent:
    return Agent.model_validate(
        {
            "id": "support-bot",
            "image": IMAGE,
            "version": "1.4.2",
            "digest": DIGEST,
            "tenants": ["acme"],
            "owner": "team-support",
            "oncall_receiver": "support-oncall",
            "model": {"OPENAI_MODEL": "gpt-4o-mini"},
            "config_bundle": BUNDLE_V1,
            "ingress": {"domain": "agents.example.com"},
            "rollout": {"canary": canary, "stage": stage},
        }
    )


def plan(canary: dict[str, Any]):
    return plan_rollout(agent(canary), "prod", CanaryPolicy(), lambda t: True)


@pytest.mark.parametrize(
    ("canary", "dimensions", "label"),
    [
        ({"version": "1.5.0"}, ("image",), "1.5.0"),
        ({"model": {"OPENAI_MODEL": "gpt-4o"}}, ("model",), "1.4.2_model."),
        ({"env": {"OPENAI_MODEL": "gpt-4o"}}, ("model",), "1.4.2_model."),
        ({"config_bundle": BUNDLE_V2}, ("config",), "1.4.2_config.v2."),
        ({"model": {"OPENAI_MODEL": "gpt-4o"}, "config_bundle": BUNDLE_V2}, ("model", "config"), "1.4.2_model."),
        ({"version": "1.5.0", "model": {"OPENAI_MODEL": "gpt-4o"}}, ("image", "model"), "1.5.0"),
        ({"env": {"LOG_LEVEL": "debug"}}, ("env",), "1.4.2_env."),
    ],
)
def test_each_dimension_alone_or_together_gives_its_own_release_label(
    canary: dict[str, Any], dimensions: tuple[str, ...], label: str
) -> None:
    p = plan(canary)
    assert p.canary is not None
    assert p.canary.dimensions == dimensions
    assert p.canary.version.startswith(label) and p.canary.version != p.stable.version
    assert len(p.canary.version) <= 63 and all(c.isalnum() or c in "._-" for c in p.canary.version)


def test_the_canary_runs_the_changed_dimension_and_stable_the_rest() -> None:
    p = plan({"model": {"OPENAI_MODEL": "gpt-4o"}})
    assert p.canary is not None
    # Same image, pinned digest included; stable's bundle; the new model.
    assert p.canary.image == p.stable.image == f"{IMAGE}:1.4.2@{DIGEST}"
    assert p.canary.bundle == p.stable.bundle
    assert (p.canary.env["OPENAI_MODEL"], p.stable.env["OPENAI_MODEL"]) == ("gpt-4o", "gpt-4o-mini")
    config = plan({"config_bundle": BUNDLE_V2}).canary
    assert config is not None and config.env == p.stable.env and config.image == p.stable.image
    assert config.bundle is not None and config.bundle.version == "v2"


def test_a_canary_that_changes_nothing_is_refused_naming_the_setting() -> None:
    def same_as_stable(raw: dict[str, Any]) -> None:
        bot = raw["agents"][0]
        bot["rollout"]["canary"] = {"version": bot["version"], "model": dict(bot.get("model", {}))}

    [line] = errors_of("staging", same_as_stable)
    assert line.startswith("Pulumi.staging.yaml: agent-platform:agents[0].rollout.canary: runs what stable runs (")
    assert line.endswith("change its version, model, config_bundle or env, or remove it")


def test_the_bundle_is_an_immutable_configmap_named_by_its_content_and_mounted_read_only() -> None:
    mocks, _ = run(agent({"config_bundle": BUNDLE_V2}, stage=1))
    bundles = {
        v["metadata"]["name"]: v for v in mocks.of_type(CONFIGMAP).values() if "-bundle-" in v["metadata"]["name"]
    }
    v1, v2 = ConfigBundle.model_validate(BUNDLE_V1), ConfigBundle.model_validate(BUNDLE_V2)
    assert set(bundles) == {
        f"support-bot-stable-bundle-{v1.content_hash}",
        f"support-bot-canary-bundle-{v2.content_hash}",
    }
    for found in bundles.values():
        assert found["immutable"] is True
    assert bundles[f"support-bot-canary-bundle-{v2.content_hash}"]["data"] == BUNDLE_V2["files"]
    canary = mocks.of_type(DEPLOYMENT)["acme-support-bot-canary-workload"]
    pod = canary["spec"]["template"]
    volume = next(v for v in pod["spec"]["volumes"] if v["name"] == "bundle")
    assert volume["configMap"]["name"] == f"support-bot-canary-bundle-{v2.content_hash}"
    container = pod["spec"]["containers"][0]
    mount = next(m for m in container["volumeMounts"] if m["name"] == "bundle")
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert mount["readOnly"] and env["AGENT_CONFIG_BUNDLE_DIR"] == mount["mountPath"]
    assert (env["AGENT_CONFIG_BUNDLE_VERSION"], env["AGENT_CONFIG_BUNDLE_HASH"]) == ("v2", v2.content_hash)
    # The rendered objects say what the canary changes; stable says nothing.
    assert canary["metadata"]["annotations"]["greenlang.io/canary-changes"] == "config"
    assert pod["metadata"]["labels"]["version"].startswith("1.4.2_config.v2.")
    stable = mocks.of_type(DEPLOYMENT)["acme-support-bot-stable-workload"]
    assert "greenlang.io/canary-changes" not in stable["metadata"]["annotations"]
    assert stable["spec"]["template"]["metadata"]["labels"]["version"] == "1.4.2"


def test_the_gate_compares_the_tracks_by_release_label_and_says_what_changed() -> None:
    mocks, _ = run(agent({"model": {"OPENAI_MODEL": "gpt-4o"}}, stage=2))
    gate = mocks.of_type(SLO_GATE_TYPE)["acme-support-bot-gate-2"]
    assert gate["stable_version"] == "1.4.2" and gate["canary_version"].startswith("1.4.2_model.")
    assert gate["dimensions"] == ["model"]
    spec = GateSpec.model_validate(
        {k: v for k, v in gate.items() if k in GateSpec.model_fields} | {"stage_started_at": "2025-03-01T10:00:00Z"}
    )
    assert spec.title.endswith("50% (model changed)")


def test_an_image_only_canary_keeps_the_gate_inputs_it_had() -> None:
    """Gates in existing state saw no `dimensions` input: an image release must not replace them."""
    mocks, _ = run(agent({"version": "1.5.0"}, stage=2))
    gate = mocks.of_type(SLO_GATE_TYPE)["acme-support-bot-gate-2"]
    assert "dimensions" not in gate and gate["canary_version"] == "1.5.0"
    both, _ = run(agent({"version": "1.5.0", "model": {"OPENAI_MODEL": "gpt-4o"}}, stage=2))
    assert both.of_type(SLO_GATE_TYPE)["acme-support-bot-gate-2"]["dimensions"] == ["image", "model"]
