"""The agent checks against a real Prometheus: a regression, a healthy canary and a missing series for each."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gates.decision import Decision
from gates.prometheus import Credentials
from gates.slo_gate import evaluate
from settings.gates import AGENT_CHECK_NAMES
from testing.prometheus_server import PrometheusServer
from tests.gates.agent_scenarios import PRICES, SCENARIOS, AgentScenario, openmetrics
from tests.gates.scenarios import EVALUATED_AT
from tests.gates.test_slo_gate_scenarios import spec_for

AGENT_CHECKS = {"enabled": list(AGENT_CHECK_NAMES), "prices": PRICES}


@pytest.fixture(scope="module")
def agent_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    server = PrometheusServer(tmp_path_factory.mktemp("agent-prometheus"), openmetrics(SCENARIOS))
    server.start()
    yield server
    server.stop()


def run(url: str, agent_id: str, **overrides: object) -> Decision:
    spec = spec_for(url, agent_id, **({"agent_checks": AGENT_CHECKS} | overrides))
    return evaluate(spec, EVALUATED_AT, Credentials())


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_agent_scenario_gives_its_verdict_and_reason(agent_prometheus, scenario: AgentScenario) -> None:
    decision = run(agent_prometheus.url, scenario.agent_id)
    report = decision.report("gate")
    assert decision.verdict == scenario.verdict, report
    assert scenario.reason in report
    failing = {c.name for c in decision.checks if c.verdict == "fail"}
    assert failing == set(scenario.failing), report


def test_a_healthy_canary_passes_every_agent_check_with_its_estimate_and_bounds(agent_prometheus) -> None:
    decision = run(agent_prometheus.url, "agent-healthy")
    checks = {c.name: c for c in decision.checks}
    assert set(AGENT_CHECK_NAMES) <= set(checks), decision.report("gate")
    for name in AGENT_CHECK_NAMES:
        assert checks[name].verdict == "pass", checks[name].reason
    tokens = checks["input_tokens_per_request"]
    assert tokens.bounds is not None and tokens.bounds[0] < 1.0 < tokens.bounds[1], tokens.reason
    assert "tokens per request, ratio" in tokens.reason
    assert any('token_type="input"' in q for q in tokens.queries)
    assert tokens.as_dict()["canary"]["requests"] > 0


def test_with_the_checks_off_the_agent_series_are_not_read(agent_prometheus) -> None:
    """A canary without any agent series passes the SLO gate when no agent check is on."""
    decision = run(agent_prometheus.url, "agent-no-tokens", agent_checks={"enabled": []})
    assert decision.verdict == "pass", decision.report("gate")
    assert not {c.name for c in decision.checks} & set(AGENT_CHECK_NAMES)


def test_a_stage_too_short_for_the_usage_floor_holds_and_says_how_many_requests_it_needs(agent_prometheus) -> None:
    floor = 200_000
    decision = run(
        agent_prometheus.url, "agent-healthy", agent_checks=AGENT_CHECKS | {"usage_min_canary_requests": floor}
    )
    assert decision.verdict == "inconclusive", decision.report("gate")
    tokens = next(c for c in decision.checks if c.name == "input_tokens_per_request")
    assert tokens.verdict == "inconclusive" and f"a pass needs {floor:,} canary requests" in tokens.reason
    assert tokens.more_requests == floor - tokens.as_dict()["canary"]["requests"]
