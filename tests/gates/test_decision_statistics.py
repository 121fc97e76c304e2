"""The gate's error rates, measured on simulated rollouts with known truth, looked at once and repeatedly.

A cell passes when its measured rate is within the configured rate plus three standard errors.
"""

from __future__ import annotations

import math

import pytest

from settings.gates import SloGateCriteria
from tests.gates.simulation import Truth, simulate

ROLLOUTS = 2000
CRITERIA = SloGateCriteria()
TRAFFIC = [50, 500, 5000, 50000]  # canary requests per 5 minutes at 5% weight
SCHEDULES = {"once at the minimum duration": [2], "every 5 minutes for an hour": list(range(1, 13))}

REGRESSIONS = {
    "errors 1.5x stable": Truth(error_factor=1.5),
    "share slower than 0.5s 1.5x stable": Truth(slow_factor=1.5),
    "error rate at the 0.5% SLO limit": Truth(error_rate=0.005),
    "share slower than 2s at the 1% SLO limit": Truth(very_slow_share=0.01),
}
HEALTHY = {
    "equal to stable": Truth(),
    "at the tolerance (errors 1.1x, slow 1.2x)": Truth(error_factor=1.1, slow_factor=1.2),
}


def allowed(rate: float) -> float:
    return rate + 3 * math.sqrt(rate * (1 - rate) / ROLLOUTS)


def cells(truths: dict[str, Truth]) -> list:
    return [
        pytest.param(truth, level, looks, id=f"{name}, {level} canary requests per 5m, {schedule}")
        for name, truth in truths.items()
        for level in TRAFFIC
        for schedule, looks in SCHEDULES.items()
    ]


@pytest.mark.parametrize(("truth", "level", "looks"), cells(REGRESSIONS))
def test_a_regression_passes_at_most_the_false_pass_rate(truth: Truth, level: int, looks: list[int]) -> None:
    outcomes = simulate(truth, level, looks, ROLLOUTS, seed=level)
    assert outcomes["pass"] / ROLLOUTS <= allowed(CRITERIA.false_pass_rate), outcomes


@pytest.mark.parametrize(("truth", "level", "looks"), cells(HEALTHY))
def test_a_healthy_canary_fails_at_most_the_false_fail_rate(truth: Truth, level: int, looks: list[int]) -> None:
    outcomes = simulate(truth, level, looks, ROLLOUTS, seed=level + 1)
    assert outcomes["fail"] / ROLLOUTS <= allowed(CRITERIA.false_fail_rate), outcomes


def test_a_healthy_canary_with_enough_traffic_passes() -> None:
    outcomes = simulate(Truth(), 50000, SCHEDULES["every 5 minutes for an hour"], ROLLOUTS, seed=7)
    assert outcomes["pass"] / ROLLOUTS >= 0.95, outcomes


def test_a_large_regression_fails_quickly() -> None:
    outcomes = simulate(Truth(error_factor=5.0), 500, [1, 2, 3, 4], ROLLOUTS, seed=8)
    assert outcomes["fail"] / ROLLOUTS >= 0.9, outcomes


BURSTY_TRAFFIC = [5000, 50000]


@pytest.mark.parametrize("level", BURSTY_TRAFFIC)
def test_a_regression_hidden_by_bursts_in_stable_passes_at_most_the_false_pass_rate(level: int) -> None:
    """Errors come 10x in 5% of looks in both tracks; a burst in stable must not carry a 2x canary through."""
    truth = Truth(error_factor=2.0, burst_factor=10.0)
    outcomes = simulate(truth, level, SCHEDULES["every 5 minutes for an hour"], ROLLOUTS, seed=level + 2)
    assert outcomes["pass"] / ROLLOUTS <= allowed(CRITERIA.false_pass_rate), outcomes


@pytest.mark.parametrize("level", BURSTY_TRAFFIC)
def test_a_healthy_canary_with_its_own_bursts_fails_at_most_the_false_fail_rate(level: int) -> None:
    outcomes = simulate(Truth(burst_factor=10.0), level, SCHEDULES["every 5 minutes for an hour"], ROLLOUTS, seed=3)
    assert outcomes["fail"] / ROLLOUTS <= allowed(CRITERIA.false_fail_rate), outcomes
