"""The SloGate resource and provider: what each verdict does, what the state holds, what is pickled."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pulumi
import pytest

from gates.pickling import serialize_provider
from gates.slo_gate import SLO_GATE_TYPE, GateBlockedError, SloGate, SloGateArgs, SloGateProvider
from gates.stage_clock import STAGE_CLOCK_TYPE, FixedClock, StageClock, StageClockArgs, format_time
from settings.gates import PrometheusConnection
from testing.mocks import Recorder
from tests.gates.scenarios import EVALUATED_AT
from tests.gates.test_slo_gate_scenarios import spec_for

SECRET = "bearer-secret-from-stack-config"


def provider() -> SloGateProvider:
    return SloGateProvider(FixedClock(format_time(EVALUATED_AT)))


def props(url: str, agent_id: str, **overrides: Any) -> dict[str, Any]:
    return spec_for(url, agent_id, **overrides).model_dump()


@pytest.mark.parametrize(
    ("agent_id", "policy", "verdict"),
    [
        pytest.param("healthy", "rollback", "pass", id="pass is stored"),
        pytest.param("healthy", "block", "pass", id="pass is stored under block"),
        pytest.param("error-regression", "rollback", "fail", id="fail under rollback is stored"),
    ],
)
def test_verdicts_that_let_the_up_proceed(prometheus, agent_id: str, policy: str, verdict: str) -> None:
    result = provider().create(props(prometheus.url, agent_id, policy=policy))
    assert result.outs["verdict"] == verdict
    assert result.outs["passed_at"] == (format_time(EVALUATED_AT) if verdict == "pass" else "")
    assert {c["name"] for c in result.outs["checks"]} >= {"error_ratio", "latency_p95"}


@pytest.mark.parametrize(
    ("agent_id", "policy", "shown"),
    [
        pytest.param("error-regression", "block", "FAIL", id="fail under block"),
        pytest.param("low-traffic", "rollback", "INCONCLUSIVE", id="inconclusive"),
        pytest.param("no-canary", "rollback", "ERROR", id="error never rolls back"),
    ],
)
def test_verdicts_that_fail_the_up_with_the_report(prometheus, agent_id: str, policy: str, shown: str) -> None:
    with pytest.raises(GateBlockedError) as blocked:
        provider().create(props(prometheus.url, agent_id, policy=policy))
    assert f"SLO gate {agent_id}/acme 25%: {shown}" in str(blocked.value)


def test_the_pickled_provider_holds_no_session_and_is_stable() -> None:
    first = serialize_provider(provider())
    assert first == serialize_provider(provider())
    assert b"Session" not in __import__("base64").b64decode(first)


def test_importing_the_providers_has_no_side_effects() -> None:
    code = "import gates.slo_gate, gates.stage_clock, gates.ga_gate; print('ok')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout == "ok\n"
    assert done.stderr == ""


class GateMocks(Recorder):
    def outputs(self, args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
        return {
            STAGE_CLOCK_TYPE: {"applied_at": "2025-01-06T10:00:00Z"},
            SLO_GATE_TYPE: {"verdict": "pass", "report": "ok", "checks": [], "passed_at": "2025-01-06T10:40:00Z"},
        }[args.typ]


@pulumi.runtime.test
def test_under_mocks_no_secret_is_an_input_and_outputs_are_attributes() -> None:
    mocks = GateMocks()
    pulumi.runtime.set_mocks(mocks, project="agent-platform", stack="dev", preview=False)
    clock = StageClock("support-bot-acme-clock", StageClockArgs("support-bot", 1, "1.5.0", "acme"))
    gate = SloGate(
        "support-bot-acme-gate-2",
        SloGateArgs(
            namespace="acme-dev",
            agent_id="support-bot",
            tenant_id="acme",
            stable_version="1.4.2",
            canary_version="1.5.0",
            stage=2,
            weight=25,
            stage_started_at=clock.applied_at,
            min_duration_seconds=600,
            max_duration_seconds=2400,
            connection=PrometheusConnection(bearer_token=SECRET, username="gate", password=SECRET),
        ),
    )

    def check(values: list[Any]) -> None:
        verdict, passed_at = values
        assert (verdict, passed_at) == ("pass", "2025-01-06T10:40:00Z")
        assert SECRET not in repr(mocks.last_of_each_type()[SLO_GATE_TYPE])
        assert mocks.last_of_each_type()[SLO_GATE_TYPE]["stage_started_at"] == "2025-01-06T10:00:00Z"

    return pulumi.Output.all(gate.verdict, gate.passed_at).apply(check)
