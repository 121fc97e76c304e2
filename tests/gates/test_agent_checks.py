"""The agent checks' decisions without I/O: reports, the shared false-fail budget, settings."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from gates.agent_checks import (
    SLO_CHECKS,
    AgentTrack,
    Amount,
    AmountCounts,
    agent_checks,
    decide_with_agent,
    split_criteria,
    usage_check,
    usage_verdicts,
)
from gates.decision import CODES, Proportion, Timing, Track
from settings.gates import AGENT_CHECK_NAMES, AgentGateChecks, SloGateCriteria

TIMING = Timing(3600, 600, 7200)
ALL = AgentGateChecks(enabled=list(AGENT_CHECK_NAMES), prices={"m": {"input_per_million": 1, "output_per_million": 2}})


def amount(per_request: float, requests_per_minute: int, minutes: int = 30, seed: int = 0) -> Amount:
    rng = np.random.default_rng(seed)
    requests = rng.poisson(requests_per_minute, minutes)
    amounts = [float(rng.gamma(max(n, 1) * 0.5, per_request / 0.5)) if n else 0.0 for n in requests]
    return Amount.from_units(amounts, [int(n) for n in requests])


def test_the_false_fail_budget_is_split_over_every_check() -> None:
    criteria = SloGateCriteria()
    split = split_criteria(criteria, ALL)
    per_slo_check = split.false_fail_rate / SLO_CHECKS
    assert per_slo_check == pytest.approx(criteria.false_fail_rate / (SLO_CHECKS + len(AGENT_CHECK_NAMES)))
    assert split.false_pass_rate == criteria.false_pass_rate
    assert split_criteria(criteria, AgentGateChecks()).false_fail_rate == criteria.false_fail_rate


def test_a_clear_token_regression_fails_and_an_equal_canary_passes_with_bounds_around_its_ratio() -> None:
    stable = amount(1500, 1900, seed=1)
    worse = usage_check("input_tokens_per_request", amount(3000, 100, seed=2), stable, 1.1, 1.3, 0.01, 0.005)
    assert worse.verdict == "fail", worse.reason
    assert worse.bounds is not None and worse.bounds[0] > 1.1
    equal = usage_check("input_tokens_per_request", amount(1500, 100, seed=3), stable, 1.1, 1.3, 0.01, 0.005)
    assert equal.verdict == "pass", equal.reason
    assert equal.bounds is not None and equal.bounds[0] < 1.0 < equal.bounds[1] < 1.3
    assert "tokens per request, ratio 1.0" in equal.reason


def test_too_few_canary_requests_hold_a_pass_and_say_how_many_more() -> None:
    stable = amount(1500, 1900, seed=1)
    canary = amount(1500, 100, seed=3)
    held = usage_check("input_tokens_per_request", canary, stable, 1.1, 1.3, 0.01, 0.005, min_requests=10**6)
    assert held.verdict == "inconclusive"
    assert held.more_requests == 10**6 - canary.requests and "a pass needs 1,000,000" in held.reason


def test_an_amount_check_without_evidence_is_an_error_never_a_pass() -> None:
    checks = agent_checks(AgentTrack(), AgentTrack(), SloGateCriteria(), ALL)
    assert [c.verdict for c in checks] == ["error"] * len(AGENT_CHECK_NAMES)


def test_the_gate_combines_the_agent_checks_with_the_slo_checks() -> None:
    minutes = 30
    requests = [2000] * minutes
    slo = Track.from_units(requests, [4] * minutes, [60] * minutes, [4] * minutes)
    tools = Proportion.from_units([80] * minutes, [4000] * minutes)
    tokens = amount(1500, 2000, minutes, seed=5)
    healthy = AgentTrack(tokens, tokens, tokens, tools, tools)
    worse_tools = AgentTrack(tokens, tokens, tokens, Proportion.from_units([400] * minutes, [4000] * minutes), tools)
    criteria = SloGateCriteria()
    decision = decide_with_agent(slo, slo, worse_tools, healthy, criteria, ALL, TIMING)
    assert decision.verdict == "fail" and "tool_failure_share" in decision.reason, decision.report("gate")
    names = [c.name for c in decision.checks]
    assert names[:SLO_CHECKS] == ["error_ratio", "error_slo", "latency_p95", "latency_p95_slo", "latency_p99_slo"]
    assert names[SLO_CHECKS:] == list(AGENT_CHECK_NAMES)
    off = decide_with_agent(slo, slo, worse_tools, healthy, criteria, AgentGateChecks(), TIMING)
    assert [c.name for c in off.checks] == names[:SLO_CHECKS]


def test_the_vectorised_verdicts_are_the_checks_own() -> None:
    """`usage_verdicts` (the simulations') gives every row what `usage_check` (the gate's) gives it."""
    settings = AgentGateChecks(enabled=["input_tokens_per_request"], usage_min_canary_requests=500)
    criteria = SloGateCriteria()
    rows = []
    for seed, factor in enumerate([1.0, 1.0, 1.2, 1.3, 2.0, 1.05, 0.9, 1.5]):
        rows.append((amount(1500 * factor, 20 + 40 * seed, seed=10 + seed), amount(1500, 1000, seed=50 + seed)))
    canary = AmountCounts(*(np.concatenate(x) for x in zip(*(_arrays(c) for c, _ in rows), strict=True)))
    stable = AmountCounts(*(np.concatenate(x) for x in zip(*(_arrays(s) for _, s in rows), strict=True)))
    codes = usage_verdicts([canary], [stable], settings, criteria, TIMING)
    alpha = criteria.false_fail_rate / (SLO_CHECKS + 1)
    one_by_one = [
        usage_check("input_tokens_per_request", c, s, 1.1, 1.3, criteria.false_pass_rate, alpha, "stable", 500).verdict
        for c, s in rows
    ]
    assert [CODES[int(c)] for c in codes] == one_by_one
    assert {"pass", "fail"} <= set(one_by_one)


def _arrays(a: Amount) -> tuple[np.ndarray, ...]:
    counts = AmountCounts.of(a)
    return counts.amount, counts.requests, counts.unit_amount, counts.unit_requests


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"enabled": ["cost_per_request"]}, "cost_per_request needs gates.agent.prices"),
        ({"usage_ratio_vs_stable": 1.3, "usage_regression_factor": 1.3}, "usage_regression_factor 1.3 must exceed"),
        ({"enabled": ["llm_5xx_share", "llm_5xx_share"]}, "lists a check twice"),
        ({"enabled": ["latency"]}, "input_tokens_per_request"),
    ],
)
def test_inconsistent_agent_check_settings_are_refused_with_the_fix(fields: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        AgentGateChecks.model_validate(fields)


def test_a_share_check_reports_the_bounds_of_its_rate_ratio() -> None:
    minutes = 30
    stable = Proportion.from_units([80] * minutes, [4000] * minutes)
    worse = agent_checks(
        AgentTrack(tool_failures=Proportion.from_units([240] * minutes, [4000] * minutes)),
        AgentTrack(tool_failures=stable),
        SloGateCriteria(),
        AgentGateChecks(enabled=["tool_failure_share"]),
    )[0]
    assert worse.verdict == "fail" and worse.bounds is not None
    assert 1.5 < worse.bounds[0] < 3.0 < worse.bounds[1], worse.reason
    assert "ratio 3.000 [" in worse.reason
