"""The SLO gate against a real Prometheus, one generated scenario per case."""

from __future__ import annotations

import pytest

from providers.decision import Decision
from providers.prometheus import Credentials
from providers.slo_gate import GateSpec, evaluate
from tests.gates.scenarios import (
    CANARY,
    EVALUATED_AT,
    NAMESPACE,
    SCENARIOS,
    STABLE,
    STAGE_LENGTH,
    TENANT,
    Scenario,
    stage_started_at,
)


def spec_for(url: str, agent_id: str, **overrides: object) -> GateSpec:
    fields = {
        "prometheus_url": url,
        "namespace": NAMESPACE,
        "agent_id": agent_id,
        "tenant_id": TENANT,
        "stable_version": STABLE,
        "canary_version": CANARY,
        "stage": 2,
        "weight": 25,
        "stage_started_at": stage_started_at(),
        "min_duration_seconds": 600,
        "max_duration_seconds": STAGE_LENGTH.total_seconds() * 2,
        "query_timeout_seconds": 5,
        "deadline_seconds": 20,
        "retries": 1,
    }
    return GateSpec.model_validate(fields | overrides)


def run(url: str, agent_id: str, **overrides: object) -> Decision:
    return evaluate(spec_for(url, agent_id, **overrides), EVALUATED_AT, Credentials())


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario_gives_its_verdict_and_reason(prometheus, scenario: Scenario) -> None:
    decision = run(prometheus.url, scenario.agent_id)
    report = decision.report("gate")
    assert decision.verdict == scenario.verdict, report
    assert scenario.reason in report
    failing = {c.name for c in decision.checks if c.verdict == "fail"}
    assert failing == set(scenario.failing), report
