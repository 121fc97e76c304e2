"""CanaryRollout with `progression: automatic`: the weight, the mirror and promotion follow the RolloutState.

The mocks return what the RolloutState's provider would have stored (tests/gates/test_release_loop.py drives
that provider through whole releases); here: what the rest of the rollout does with each state, in `up` and
in `preview` (where the state's outputs are unknown until the provider has run).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from components.agent_service import Scale
from components.canary_rollout import CanaryRollout, CanaryRolloutArgs, GateWiring
from conventions.metrics import DEFAULT_ERROR_STATUSES
from conventions.resource_types import ROLLOUT_STATE_TYPE
from gates.slo_gate import SLO_GATE_TYPE
from gates.stage_clock import STAGE_CLOCK_TYPE
from planning.release import Control
from planning.rollout import plan_rollout
from settings.canary import CanaryPolicy
from settings.cluster import AgentNodes
from settings.gates import PrometheusConnection, SloGateCriteria
from settings.names import SharedNames
from settings.tenancy import RateLimits
from stacks.workloads import agent_ingress, agent_runtime, synthetic_probe
from testing.mocks import Recorder
from tests.components.test_canary_rollout import DEPLOYMENT, INGRESS, agent

NGINX = "nginx.ingress.kubernetes.io"


class ReleaseMocks(Recorder):
    """The RolloutState answers with the release state under test, as its provider's `create` would."""

    def __init__(self, state: dict[str, Any] | None) -> None:
        super().__init__()
        self.state = state

    def outputs(self, args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
        return dict(self.state) if args.typ == ROLLOUT_STATE_TYPE and self.state is not None else {}


def state(stage: int, weight: int, phase: str, **extra: Any) -> dict[str, Any]:
    return {
        "version": "1.5.0",
        "stage": stage,
        "weight": weight,
        "phase": phase,
        "stage_started_at": "2025-03-01T10:00:00Z",
        "verdict": extra.pop("verdict", "inconclusive"),
        "hold_reason": extra.pop("hold_reason", ""),
        "report": "gate report",
        "evaluated_at": "2025-03-01T10:05:00Z",
        "applied_control": "",
        "history": extra.pop("history", []),
        **extra,
    }


def run(
    release: dict[str, Any] | None,
    policy: CanaryPolicy | None = None,
    preview: bool = False,
    control: Control | None = None,
    env: dict[str, str] | None = None,
    cohort: str | None = None,
    wave_after: Any = None,
    **rollout: Any,
) -> tuple[ReleaseMocks, dict[str, Any]]:
    """`cohort`: another tenant is the canary cohort, so acme is a widened tenant (wave 1)."""
    policy = policy or CanaryPolicy()
    mocks = ReleaseMocks(release)
    pulumi.runtime.set_mocks(mocks, project="agent-platform", stack="prod", preview=preview)
    a = agent(progression="automatic", **rollout)
    if env:
        a = a.model_copy(update={"env": env})
    if cohort:
        a = a.model_copy(update={"tenants": [cohort, "acme"]})
    plan = plan_rollout(a, "prod", policy, lambda t: cohort is None or t == cohort).for_tenant("acme")
    args = CanaryRolloutArgs(
        runtime=agent_runtime(a),
        probe=synthetic_probe(a),
        lifecycle_stage=a.lifecycle_stage,
        tenant_id="acme",
        namespace="acme-prod",
        environment="prod",
        plan=plan,
        scale=Scale(hpa=True, min_replicas=3, max_replicas=50),
        canary_percentage=5.0,
        names=SharedNames(),
        nodes=AgentNodes(),
        ingress_class="nginx",
        rate_limits=RateLimits(rps=50, connections=20),
        synthetic_session=True,
        gates=GateWiring(SloGateCriteria(), PrometheusConnection(), DEFAULT_ERROR_STATUSES, SharedNames()),
        control=control,
        ingress=agent_ingress(a, "acme"),
        policy=a.rollout.policy,
        wave_after=wave_after,
    )
    outputs: dict[str, Any] = {}

    def build() -> pulumi.Output[Any]:
        r = CanaryRollout("acme-support-bot", args)
        return pulumi.Output.all(r.weight, r.promoted, r.rolled_back, r.stable_version, r.release).apply(
            lambda v: outputs.update(zip(("weight", "promoted", "rolled_back", "stable", "release"), v, strict=True))
        )

    pulumi.runtime.test(build)()
    return mocks, outputs


def annotations(mocks: ReleaseMocks, name: str) -> dict[str, str]:
    return mocks.of_type(INGRESS)[name]["metadata"]["annotations"]


def stable_container(mocks: ReleaseMocks) -> dict[str, Any]:
    return mocks.of_type(DEPLOYMENT)["acme-support-bot-stable-workload"]["spec"]["template"]["spec"]["containers"][0]


def test_the_weight_is_the_states_and_no_stage_gate_or_clock_is_registered() -> None:
    mocks, out = run(state(1, 25, "progressing", verdict="pass"))
    assert annotations(mocks, "acme-support-bot-canary-ingress")[f"{NGINX}/canary-weight"] == "25"
    assert out["weight"] == 25 and not out["rolled_back"] and not out["promoted"]
    assert mocks.of_type(SLO_GATE_TYPE) == {} and mocks.of_type(STAGE_CLOCK_TYPE) == {}
    release = mocks.of_type(ROLLOUT_STATE_TYPE)["acme-support-bot-release"]
    assert [s["weight"] for s in release["stages"]] == [5, 25, 50, 100]
    assert [s["min_seconds"] for s in release["stages"]] == [600, 1200, 1800, 0]
    assert release["gate"]["canary_version"] == "1.5.0" and release["gate"]["stable_version"] == "1.4.2"
    assert "stage" not in release["gate"] and "stage_started_at" not in release["gate"]
    assert out["release"]["phase"] == "progressing"


def test_a_hold_does_not_fail_the_up_and_another_change_in_the_same_up_applies() -> None:
    held = state(1, 25, "progressing", verdict="error", hold_reason="the gate could not evaluate: canary: timeout")
    mocks, out = run(held, env={"LOG_LEVEL": "debug"})
    assert out["weight"] == 25
    env = {e["name"]: e.get("value") for e in stable_container(mocks)["env"]}
    assert env["LOG_LEVEL"] == "debug", "the unrelated change in the same up is applied"
    assert out["release"]["hold_reason"].startswith("the gate could not evaluate")


@pytest.mark.parametrize("phase", ["failed", "aborted"])
def test_a_failed_or_aborted_release_sends_the_canary_nothing(phase: str) -> None:
    mocks, out = run(state(1, 0, phase, verdict="fail"))
    assert annotations(mocks, "acme-support-bot-canary-ingress")[f"{NGINX}/canary-weight"] == "0"
    assert out["rolled_back"] is True and stable_container(mocks)["image"].endswith(":1.4.2")


def test_promoted_in_the_state_hands_the_canary_release_to_stable() -> None:
    history = [{"at": "2025-03-01T11:30:00Z", "event": "promote", "stage": 3, "weight": 100}]
    mocks, out = run(state(3, 100, "promoted", verdict="pass", history=history))
    assert stable_container(mocks)["image"].endswith(":1.5.0")
    stable = mocks.of_type(DEPLOYMENT)["acme-support-bot-stable-workload"]
    assert stable["metadata"]["annotations"]["greenlang.io/promoted-at"] == "2025-03-01T11:30:00Z"
    assert out["promoted"] is True and out["stable"] == "1.5.0"


def test_the_rollback_setting_still_forces_weight_0() -> None:
    mocks, out = run(state(2, 50, "progressing", verdict="pass"), rollback=True)
    assert annotations(mocks, "acme-support-bot-canary-ingress")[f"{NGINX}/canary-weight"] == "0"
    assert out["rolled_back"] is True


def test_the_shadow_stage_mirrors_while_the_state_is_there_and_stops_after() -> None:
    shadowed = CanaryPolicy(weights=[0, 5, 25, 50, 100])
    mocks, _ = run(state(0, 0, "progressing"), policy=shadowed)
    assert f"{NGINX}/mirror-target" in annotations(mocks, "acme-support-bot-ingress")
    assert annotations(mocks, "acme-support-bot-canary-ingress")[f"{NGINX}/canary-weight"] == "0"
    mocks, _ = run(state(1, 5, "progressing"), policy=shadowed)
    assert f"{NGINX}/mirror-target" not in annotations(mocks, "acme-support-bot-ingress")
    mocks, _ = run(state(0, 0, "aborted"), policy=shadowed)
    assert f"{NGINX}/mirror-target" not in annotations(mocks, "acme-support-bot-ingress")


def test_an_operators_control_reaches_the_state_as_an_input() -> None:
    ctl = Control("abort", "alice@example.com", "2025-03-01T10:07:00Z", "pager")
    mocks, _ = run(state(1, 25, "progressing"), control=ctl)
    release = mocks.of_type(ROLLOUT_STATE_TYPE)["acme-support-bot-release"]
    assert release["control"] == {
        "action": "abort",
        "by": "alice@example.com",
        "at": "2025-03-01T10:07:00Z",
        "reason": "pager",
    }


def test_in_preview_the_weight_waits_for_the_state_and_nothing_raises() -> None:
    mocks, out = run(None, preview=True)
    assert "acme-support-bot-release" in mocks.of_type(ROLLOUT_STATE_TYPE)
    assert "acme-support-bot-stable-workload" in mocks.of_type(DEPLOYMENT)
    assert out == {}, "unknown until the provider has looked"


def test_a_widened_tenant_waits_on_its_previous_wave_with_its_canary_at_weight_0() -> None:
    after = {"globex": {"version": "1.5.0", "phase": "progressing"}}
    waiting = state(0, 0, "waiting", hold_reason="wave 1 waits for the canary cohort (globex progressing)")
    mocks, out = run(waiting, cohort="globex", wave_after=after)
    release = mocks.of_type(ROLLOUT_STATE_TYPE)["acme-support-bot-release"]
    assert (release["wave"], release["after"]) == (1, after)
    assert [s["weight"] for s in release["stages"]] == [25, 100], "the widening stages, not the cohort's"
    assert annotations(mocks, "acme-support-bot-canary-ingress")[f"{NGINX}/canary-weight"] == "0"
    assert f"{NGINX}/mirror-target" not in annotations(mocks, "acme-support-bot-ingress")
    assert (out["weight"], out["rolled_back"], out["promoted"]) == (0, False, False)
    # Its wave open, the state's weight applies like the cohort's.
    mocks, out = run(state(0, 25, "progressing"), cohort="globex", wave_after=after)
    assert annotations(mocks, "acme-support-bot-canary-ingress")[f"{NGINX}/canary-weight"] == "25"


def test_a_widened_tenant_without_its_previous_wave_is_refused() -> None:
    with pytest.raises(Exception, match="needs its previous wave's releases"):
        run(state(0, 0, "waiting"), cohort="globex")
