"""The SLO gate against a real Prometheus, one generated scenario per case."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gates.decision import Decision, Proportion, Timing, Track, decide
from gates.prometheus import Credentials
from gates.slo_gate import GateSpec, evaluate
from settings.gates import SloGateCriteria
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


def _as_independent(decision: Decision) -> tuple[Track, Track]:
    """The same counts the gate queried, without their split per unit of time."""
    checks = {c.name: c for c in decision.checks}

    def bare(p: Proportion | None) -> Proportion:
        assert p is not None
        return replace(p, units=())

    errors, slow, very_slow = checks["error_ratio"], checks["latency_p95"], checks["latency_p99_slo"]
    canary = Track(bare(errors.canary), bare(slow.canary), bare(very_slow.canary))
    # The p99 SLO check weighs the canary alone (its report has no stable side), so stable's third
    # proportion is never read: any value stands in for it.
    stable = Track(bare(errors.stable), bare(slow.stable), bare(slow.stable))
    return canary, stable


BURSTS = [s for s in SCENARIOS if s.independent_verdict]


@pytest.mark.parametrize("scenario", BURSTS, ids=[s.name for s in BURSTS])
def test_a_burst_would_decide_if_requests_were_independent(prometheus, scenario: Scenario) -> None:
    """The burst scenarios hold only because of the per-minute counts: the totals alone decide wrongly."""
    decision = run(prometheus.url, scenario.agent_id)
    assert decision.verdict == "inconclusive", decision.report("gate")
    assert any(c.dispersion > 5 for c in decision.checks), decision.report("gate")
    assert all(len(p.units) == 40 for c in decision.checks for p in (c.canary, c.stable) if p is not None)
    canary, stable = _as_independent(decision)
    timing = Timing(STAGE_LENGTH.total_seconds(), 600, STAGE_LENGTH.total_seconds() * 2)
    assert decide(canary, stable, SloGateCriteria(), timing).verdict == scenario.independent_verdict
