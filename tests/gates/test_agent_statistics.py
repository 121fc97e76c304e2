"""Error rates of the tokens-per-request and cost-per-request checks on simulated heavy-tailed rollouts.

The traffic and the judging are `benchmarks/agent_gate.py`'s (log-normal tokens per request with 3% of
requests at 10x, traffic and long-prompt bursts per minute in both tracks), at 50, 500, 5,000 and 50,000
canary requests per 5 minutes, one look at the minimum duration or looks every 5 minutes for an hour. The
benchmark runs 2,000 rollouts per cell (`benchmarks/results/agent_gate.md`); here 400 keep the suite fast,
and the bound is the budget plus three standard errors at 400.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks import agent_gate
from gates import agent_checks
from gates.decision import comparison

ROLLOUTS = 400
CRITERIA = agent_gate.CRITERIA
REGRESSIONS = [t for t in agent_gate.TRUTHS if t.regression]
EQUAL = next(t for t in agent_gate.TRUTHS if not t.regression)


def allowed(rate: float) -> float:
    return rate + 3 * math.sqrt(rate * (1 - rate) / ROLLOUTS)


@pytest.fixture(scope="module")
def rollouts() -> dict[tuple[str, int], agent_gate.Rollouts]:
    return {
        (truth.name, level): agent_gate.draw(truth, level, ROLLOUTS, seed=17 * (i + 1) + level)
        for i, truth in enumerate(agent_gate.TRUTHS)
        for level in agent_gate.LEVELS
    }


@pytest.mark.parametrize("schedule", list(agent_gate.SCHEDULES))
@pytest.mark.parametrize("level", agent_gate.LEVELS)
def test_a_13x_regression_passes_at_most_the_false_pass_rate(rollouts, level: int, schedule: str) -> None:
    for truth in REGRESSIONS:
        outcome = agent_gate.judge(rollouts[(truth.name, level)], agent_gate.SCHEDULES[schedule])
        assert outcome.passed <= allowed(CRITERIA.false_pass_rate), (truth.name, outcome)


@pytest.mark.parametrize("schedule", list(agent_gate.SCHEDULES))
@pytest.mark.parametrize("level", agent_gate.LEVELS)
def test_an_equal_canary_fails_at_most_the_false_fail_rate(rollouts, level: int, schedule: str) -> None:
    outcome = agent_gate.judge(rollouts[(EQUAL.name, level)], agent_gate.SCHEDULES[schedule])
    assert outcome.failed <= allowed(CRITERIA.false_fail_rate), outcome


def test_with_enough_traffic_the_checks_decide(rollouts) -> None:
    every = agent_gate.SCHEDULES["every 5m"]
    assert agent_gate.judge(rollouts[(EQUAL.name, 5_000)], every).passed >= 0.95
    for truth in REGRESSIONS:
        assert agent_gate.judge(rollouts[(truth.name, 5_000)], every).failed >= 0.95, truth.name


def test_the_static_threshold_promotes_most_13x_regressions(rollouts) -> None:
    """The baseline the benchmark compares with: 1.3x is under its 1.5x bar, so it passes."""
    outcome = agent_gate.judge(rollouts[(REGRESSIONS[0].name, 5_000)], agent_gate.SCHEDULES["once"], "static")
    assert outcome.passed > 0.5


def test_taken_as_independent_requests_the_amounts_would_decide_wrongly(rollouts, monkeypatch) -> None:
    """The per-minute dispersion is what keeps the rates: without it, a token is an independent event."""

    def independent(canary, stable, tolerance, regression, false_pass, false_fail, min_requests=0):
        c, s = canary.as_counts(), stable.as_counts()
        ones = np.ones(c.total.shape)
        return comparison(c, s, tolerance, regression, false_pass, false_fail, ones)

    monkeypatch.setattr(agent_checks, "usage_comparison", independent)
    outcome = agent_gate.judge(rollouts[(EQUAL.name, 500)], agent_gate.SCHEDULES["every 5m"])
    assert outcome.failed > allowed(CRITERIA.false_fail_rate), outcome


def test_without_the_request_floor_low_traffic_passes_regressions(rollouts, monkeypatch) -> None:
    """A canary with few requests has not met its tail yet and looks cheaper than it is: at 50 requests per 5
    minutes the floor holds every regression (measured without it at 1,000 rollouts: up to 3.2% passed)."""
    every = agent_gate.SCHEDULES["every 5m"]
    assert max(agent_gate.judge(rollouts[(t.name, 50)], every).passed for t in REGRESSIONS) == 0
    monkeypatch.setattr(agent_gate, "CHECKS", agent_gate.CHECKS.model_copy(update={"usage_min_canary_requests": 0}))
    assert max(agent_gate.judge(rollouts[(t.name, 50)], every).passed for t in REGRESSIONS) > 0
