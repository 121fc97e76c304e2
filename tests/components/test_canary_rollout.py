"""CanaryRollout and AgentService under Pulumi's mocks: each gate verdict in turn, stages, promotion, blue-green."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from components.agent_service import Scale
from components.canary_rollout import CanaryRollout, CanaryRolloutArgs, GateWiring
from conventions.metrics import DEFAULT_ERROR_STATUSES
from gates.slo_gate import SLO_GATE_TYPE
from gates.stage_clock import STAGE_CLOCK_TYPE
from planning.rollout import GateHeldError, plan_rollout
from settings.agents import Agent
from settings.canary import CanaryPolicy
from settings.cluster import AgentNodes
from settings.gates import PrometheusConnection, SloGateCriteria
from settings.names import SharedNames
from settings.tenancy import RateLimits
from stacks.workloads import agent_ingress, agent_runtime, synthetic_probe
from testing.mocks import Recorder

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
SERVICE = "kubernetes:core/v1:Service"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
CLOCK_TIME = "2025-03-01T10:00:00Z"
PASSED_AT = "2025-03-01T10:40:00Z"


class GateMocks(Recorder):
    """Echoes inputs; the SLO gate reports the verdict under test, as its provider's `create` would."""

    def __init__(self, verdict: str) -> None:
        super().__init__()
        self.verdict = verdict

    def outputs(self, args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
        if args.typ == STAGE_CLOCK_TYPE:
            return {"applied_at": CLOCK_TIME}
        if args.typ == SLO_GATE_TYPE:
            passed = PASSED_AT if self.verdict == "pass" else ""
            return {"verdict": self.verdict, "report": f"gate says {self.verdict}", "passed_at": passed}
        return {}


def agent(**rollout: Any) -> Agent:
    return Agent.model_validate(
        {
            "id": "support-bot",
            "image": "111111111111.dkr.ecr.us-east-1.amazonaws.com/agents/support-bot",
            "version": "1.4.2",
            "tenants": ["acme"],
            "owner": "team-support",
            "oncall_receiver": "support-oncall",
            "model": {"OPENAI_MODEL": "gpt-4o-mini"},
            "ingress": {"domain": "agents.example.com"},
            "rollout": {"canary": {"version": "1.5.0", "env": {"OPENAI_MODEL": "gpt-4o"}}, **rollout},
        }
    )


def run(
    a: Agent,
    verdict: str = "pass",
    policy: CanaryPolicy | None = None,
    mocks: GateMocks | None = None,
    scale: Scale | None = None,
) -> tuple[GateMocks, dict[str, Any]]:
    policy = policy or CanaryPolicy()
    mocks = mocks or GateMocks(verdict)
    pulumi.runtime.set_mocks(mocks, project="agent-platform", stack="prod", preview=False)
    plan = plan_rollout(a, "prod", policy, lambda t: True).for_tenant("acme")
    args = CanaryRolloutArgs(
        runtime=agent_runtime(a),
        probe=synthetic_probe(a),
        lifecycle_stage=a.lifecycle_stage,
        tenant_id="acme",
        namespace="acme-prod",
        environment="prod",
        plan=plan,
        scale=scale or Scale(hpa=True, min_replicas=3, max_replicas=50),
        canary_percentage=5.0,
        names=SharedNames(),
        nodes=AgentNodes(),
        ingress_class="nginx",
        rate_limits=RateLimits(rps=50, connections=20),
        synthetic_session=True,
        gates=GateWiring(SloGateCriteria(), PrometheusConnection(), DEFAULT_ERROR_STATUSES, SharedNames()),
        ingress=agent_ingress(a, "acme"),
        policy=a.rollout.policy,
    )
    outputs: dict[str, Any] = {}

    def build() -> pulumi.Output[Any]:
        r = CanaryRollout("acme-support-bot", args)
        return pulumi.Output.all(r.weight, r.rolled_back, r.promoted, r.stable_version, r.canary_version).apply(
            lambda v: outputs.update(zip(("weight", "rolled_back", "promoted", "stable", "canary"), v, strict=True))
        )

    pulumi.runtime.test(build)()
    return mocks, outputs


def weight_of(mocks: GateMocks) -> str | None:
    ingress = mocks.of_type(INGRESS).get("acme-support-bot-canary-ingress")
    return None if ingress is None else ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary-weight"]


def test_a_passing_gate_applies_the_next_weight_with_evidence_from_the_previous_stage_clock() -> None:
    mocks, out = run(agent(stage=2))
    assert weight_of(mocks) == "50" and out["weight"] == 50 and not out["rolled_back"]
    gate = mocks.of_type(SLO_GATE_TYPE)["acme-support-bot-gate-2"]
    assert (gate["stage"], gate["weight"], gate["stage_started_at"]) == (2, 50, CLOCK_TIME)
    assert (gate["min_duration_seconds"], gate["max_duration_seconds"]) == (20 * 60, 80 * 60)
    assert (gate["stable_version"], gate["canary_version"], gate["policy"]) == ("1.4.2", "1.5.0", "rollback")
    assert set(mocks.of_type(STAGE_CLOCK_TYPE)) == {"acme-support-bot-clock-1", "acme-support-bot-clock-2"}


def test_a_failing_gate_under_policy_rollback_sends_the_canary_no_traffic_and_says_so() -> None:
    mocks, out = run(agent(stage=2), verdict="fail")
    assert weight_of(mocks) == "0"
    assert out["weight"] == 0 and out["rolled_back"] is True


@pytest.mark.parametrize(
    ("verdict", "rollout"),
    [("fail", {"stage": 2, "policy": "block"}), ("inconclusive", {"stage": 2}), ("error", {"stage": 2})],
    ids=["fail under block", "inconclusive holds", "error never rolls back"],
)
def test_a_gate_that_holds_fails_the_up_and_nothing_depending_on_it_is_registered(
    verdict: str, rollout: dict[str, Any]
) -> None:
    mocks = GateMocks(verdict)
    with pytest.raises(GateHeldError, match=f"reported '{verdict}'"):
        run(agent(**rollout), mocks=mocks)
    assert "acme-support-bot-canary-ingress" not in mocks.of_type(INGRESS)
    assert "acme-support-bot-clock-2" not in mocks.of_type(STAGE_CLOCK_TYPE)
    assert "acme-support-bot-stable-workload" in mocks.of_type(DEPLOYMENT), "what does not depend on it is kept"


def test_the_rollback_setting_forces_weight_zero_without_a_gate() -> None:
    mocks, out = run(agent(stage=2, rollback=True))
    assert weight_of(mocks) == "0" and out["rolled_back"] is True
    assert mocks.of_type(SLO_GATE_TYPE) == {}


def test_the_shadow_stage_mirrors_requests_to_the_canary_and_gives_it_no_user_traffic() -> None:
    mocks, out = run(agent(stage=0), policy=CanaryPolicy(weights=[0, 5, 25, 50, 100]))
    ingresses = mocks.of_type(INGRESS)
    assert set(ingresses) == {"acme-support-bot-ingress"}
    mirror = ingresses["acme-support-bot-ingress"]["metadata"]["annotations"][
        "nginx.ingress.kubernetes.io/mirror-target"
    ]
    assert mirror == "http://support-bot-canary.acme-prod.svc.cluster.local$request_uri"
    assert out["weight"] == 0 and "acme-support-bot-canary-workload" in mocks.of_type(DEPLOYMENT)


def test_the_first_stage_after_shadow_is_gated_for_the_shadow_duration_and_later_gates_use_their_own_minimum() -> None:
    shadowed = CanaryPolicy(weights=[0, 5, 25, 50, 100], shadow_duration="30m")
    mocks, _ = run(agent(stage=1), policy=shadowed)
    assert mocks.of_type(SLO_GATE_TYPE)["acme-support-bot-gate-1"]["min_duration_seconds"] == 30 * 60
    assert weight_of(mocks) == "5"
    mocks, _ = run(agent(stage=2), policy=shadowed)
    assert mocks.of_type(SLO_GATE_TYPE)["acme-support-bot-gate-2"]["min_duration_seconds"] == 10 * 60


def test_promotion_to_100_hands_the_canary_release_to_stable_and_removes_the_canary_track() -> None:
    mocks, out = run(agent(stage=3))
    deployments = mocks.of_type(DEPLOYMENT)
    assert set(deployments) == {"acme-support-bot-stable-workload"}
    stable = deployments["acme-support-bot-stable-workload"]
    container = stable["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert container["image"].endswith("support-bot:1.5.0") and env["OPENAI_MODEL"] == "gpt-4o"
    assert stable["metadata"]["annotations"]["greenlang.io/promoted-at"] == PASSED_AT
    # No gap: stable rolls (surge 1, none unavailable) and the canary is gone only after, as a delete.
    assert stable["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    assert set(mocks.of_type(INGRESS)) == {"acme-support-bot-ingress"}
    assert mocks.of_type(HPA).keys() == {"acme-support-bot-stable-hpa"}
    assert out == {"weight": 100, "rolled_back": False, "promoted": True, "stable": "1.5.0", "canary": None}


def test_a_failed_promotion_under_rollback_keeps_stable_on_its_release() -> None:
    mocks, out = run(agent(stage=3), verdict="fail")
    container = mocks.of_type(DEPLOYMENT)["acme-support-bot-stable-workload"]["spec"]["template"]["spec"]["containers"][
        0
    ]
    assert container["image"].endswith("support-bot:1.4.2")
    assert out["rolled_back"] is True and out["stable"] == "1.4.2"


def client_selector(mocks: GateMocks) -> dict[str, str]:
    return mocks.of_type(SERVICE)["acme-support-bot-client"]["spec"]["selector"]


def test_blue_green_switches_the_client_service_to_green_after_its_smoke_check() -> None:
    mocks, out = run(agent(stage=0, strategy="blue_green"))
    assert client_selector(mocks)["app.kubernetes.io/instance"] == "support-bot-canary"
    (job,) = mocks.of_type("kubernetes:batch/v1:Job").values()
    assert job["metadata"]["name"] == "support-bot-smoke-1-5-0"
    env = {e["name"]: e["value"] for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["LIFECYCLE"] == "http://support-bot-canary.acme-prod.svc.cluster.local:8080"
    assert mocks.of_type(SLO_GATE_TYPE) == {} and out["weight"] == 100
    backend = mocks.of_type(INGRESS)["acme-support-bot-ingress"]["spec"]["rules"][0]["http"]["paths"][0]["backend"]
    assert backend["service"]["name"] == "support-bot"


@pytest.mark.parametrize(("verdict", "image"), [("pass", "1.5.0"), ("fail", "1.4.2")])
def test_blue_green_judges_green_then_promotes_or_switches_back(verdict: str, image: str) -> None:
    mocks, out = run(agent(stage=1, strategy="blue_green"), verdict=verdict)
    gate = mocks.of_type(SLO_GATE_TYPE)["acme-support-bot-gate-1"]
    assert gate["mode"] == "blue_green" and gate["min_duration_seconds"] == 10 * 60
    assert client_selector(mocks)["app.kubernetes.io/instance"] == "support-bot-stable"
    container = mocks.of_type(DEPLOYMENT)["acme-support-bot-stable-workload"]["spec"]["template"]["spec"]["containers"][
        0
    ]
    assert container["image"].endswith(f"support-bot:{image}")
    assert out["rolled_back"] is (verdict == "fail")


def test_an_hpa_scaled_workload_never_carries_replicas_so_a_second_up_leaves_the_scale_alone() -> None:
    first, _ = run(agent(stage=1))
    second, _ = run(agent(stage=1))
    for mocks in (first, second):
        for workload in mocks.of_type(DEPLOYMENT).values():
            assert "replicas" not in workload["spec"]
    assert first.of_type(DEPLOYMENT) == second.of_type(DEPLOYMENT)


def test_without_an_ingress_or_hpa_the_canary_weight_is_a_replica_ratio() -> None:
    a = agent(stage=1).model_copy(
        update={"ingress": None, "replicas": 4, "scaling": agent().scaling.model_copy(update={"enabled": False})}
    )
    mocks = GateMocks("pass")
    pulumi.runtime.set_mocks(mocks, project="agent-platform", stack="prod", preview=False)
    plan = plan_rollout(a, "prod", CanaryPolicy(), lambda t: True)
    args = CanaryRolloutArgs(
        agent_runtime(a),
        synthetic_probe(a),
        a.lifecycle_stage,
        "acme",
        "acme-prod",
        "prod",
        plan,
        Scale(hpa=False, min_replicas=3, max_replicas=3, replicas=4),
        5.0,
        SharedNames(),
        AgentNodes(),
        "nginx",
        RateLimits(rps=50, connections=20),
        False,
        GateWiring(SloGateCriteria(), PrometheusConnection(), ("error",), SharedNames()),
    )
    pulumi.runtime.test(lambda: CanaryRollout("acme-support-bot", args).weight)()
    replicas = {n: d["spec"]["replicas"] for n, d in mocks.of_type(DEPLOYMENT).items()}
    assert replicas == {"acme-support-bot-stable-workload": 3, "acme-support-bot-canary-workload": 1}
    assert mocks.of_type(HPA) == {}


def test_the_client_service_keeps_in_cluster_callers_on_stable_while_the_ingress_weighs_the_canary() -> None:
    mocks, _ = run(agent(stage=1))
    selector = mocks.of_type(SERVICE)["acme-support-bot-client"]["spec"]["selector"]
    assert selector["app.kubernetes.io/instance"] == "support-bot-stable"
    assert weight_of(mocks) == "25"


def test_without_an_ingress_the_client_service_selects_both_tracks_split_by_replicas() -> None:
    a = agent(stage=2).model_copy(update={"ingress": None})
    mocks, _ = run(a, scale=Scale(hpa=False, min_replicas=4, max_replicas=4, replicas=4))
    selector = mocks.of_type(SERVICE)["acme-support-bot-client"]["spec"]["selector"]
    assert "app.kubernetes.io/instance" not in selector
    replicas = {name: d["spec"]["replicas"] for name, d in mocks.of_type(DEPLOYMENT).items()}
    assert replicas == {"acme-support-bot-stable-workload": 2, "acme-support-bot-canary-workload": 2}
