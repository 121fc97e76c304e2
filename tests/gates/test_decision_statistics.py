"""The gate's error rates, measured on simulated rollouts with known truth, looked at once and repeatedly.

A cell passes when its measured rate is within the configured rate plus three standard errors.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from benchmarks import gate_grid
from gates.decision import MIN_EVENTS, Proportion, Track, compare, decide
from settings.gates import SloGateCriteria
from testing.traffic import Profile, Truth
from tests.gates.simulation import HEALTHY, simulate

ROLLOUTS = 2000
CRITERIA = SloGateCriteria()
TRAFFIC = [50, 500, 5000, 50000]  # canary requests per 5 minutes at 5% weight
SCHEDULES = {"once at the minimum duration": [2], "every 5 minutes for an hour": list(range(1, 13))}

REGRESSIONS = {
    "errors 1.5x stable": (Truth(error_factor=1.5), HEALTHY),
    "share slower than 0.5s 1.5x stable": (Truth(slow_factor=1.5), HEALTHY),
    "error rate at the 0.5% SLO limit": (Truth(), replace(HEALTHY, error_rate=0.005)),
    "share slower than 2s at the 1% SLO limit": (Truth(), replace(HEALTHY, very_slow_share=0.01)),
}
HEALTHY_CANARIES = {
    "equal to stable": (Truth(), HEALTHY),
    "at the tolerance (errors 1.1x, slow 1.2x)": (Truth(error_factor=1.1, slow_factor=1.2), HEALTHY),
}


def allowed(rate: float) -> float:
    return rate + 3 * math.sqrt(rate * (1 - rate) / ROLLOUTS)


def cells(truths: dict[str, tuple[Truth, Profile]]) -> list:
    return [
        pytest.param(truth, profile, level, looks, id=f"{name}, {level} canary requests per 5m, {schedule}")
        for name, (truth, profile) in truths.items()
        for level in TRAFFIC
        for schedule, looks in SCHEDULES.items()
    ]


@pytest.mark.parametrize(("truth", "profile", "level", "looks"), cells(REGRESSIONS))
def test_a_regression_passes_at_most_the_false_pass_rate(
    truth: Truth, profile: Profile, level: int, looks: list[int]
) -> None:
    outcomes = simulate(truth, level, looks, ROLLOUTS, seed=level, profile=profile)
    assert outcomes["pass"] / ROLLOUTS <= allowed(CRITERIA.false_pass_rate), outcomes


@pytest.mark.parametrize(("truth", "profile", "level", "looks"), cells(HEALTHY_CANARIES))
def test_a_healthy_canary_fails_at_most_the_false_fail_rate(
    truth: Truth, profile: Profile, level: int, looks: list[int]
) -> None:
    outcomes = simulate(truth, level, looks, ROLLOUTS, seed=level + 1, profile=profile)
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


# --- clustered failures, a shifting baseline, one tenant's regression (benchmarks/gate_grid.py) ----------

# Cells measured over the budget (plus three standard errors) in benchmarks/results/gate_grid.md, with why:
# small heavy-tailed clusters in the canary alone hide in per-minute counts of 10-20 minutes (docs/gates.md,
# "Clustered failures"). Strict: the cell fails the suite once it meets its budget, so the list stays true.
OVER_BUDGET = {("clusters in canary (mean 2), errors 1.5x", 100_000)}


def grid_cells() -> list:
    out = []
    for cell in gate_grid.cells():
        for level in gate_grid.LEVELS:
            marks = []
            if (cell.name, level) in OVER_BUDGET:
                marks = [pytest.mark.xfail(strict=True, reason="over budget; see docs/gates.md")]
            out.append(pytest.param(cell, level, id=f"{cell.name}, {level:,} canary requests per hour", marks=marks))
    return out


@pytest.mark.parametrize(("cell", "level"), grid_cells())
def test_error_rates_hold_on_production_traffic_shapes(cell: gate_grid.Cell, level: int) -> None:
    """2,000 rollouts, judged once at the minimum duration and every 5 minutes up to the maximum."""
    results = gate_grid.run([cell], (level,), ROLLOUTS)
    ours = [r for r in results if r.method == "ours"]
    assert ours and all(r.ok for r in ours), [(r.schedule, r.wrong, r.rollouts) for r in ours]


def test_one_gate_over_all_tenants_would_pass_a_tenant_regression() -> None:
    """The baseline the tenant cell stands against: summed over five tenants, a 3x regression in one passes."""
    cell = next(c for c in gate_grid.cells() if c.tenant)
    results = gate_grid.run([cell], (100_000,), ROLLOUTS)
    aggregate = [r for r in results if r.method == "ours, one gate over all tenants" and r.schedule == "every 5m"]
    assert aggregate[0].passed / ROLLOUTS > 0.2


@pytest.mark.parametrize(
    "cell",
    [
        gate_grid.Cell("independent", 1.2),
        gate_grid.Cell("clusters in both", 1.5, "both", 10),
        gate_grid.Cell("clusters in stable", 1.0, "stable", 50),
        gate_grid.Cell("shift", 1.5, shift=True),
    ],
    ids=lambda c: c.name,
)
def test_the_vectorised_verdicts_are_the_gates_own(cell: gate_grid.Cell) -> None:
    """`verdicts` (what the simulations measure) gives every rollout what `decide` (what the gate runs) gives."""
    canary, stable = gate_grid.generate(cell, 20_000, 150, seed=5)
    for minute in (5, 20, 40):
        batch = gate_grid.judge("ours", canary, stable, minute, 0)
        for i in range(len(canary)):
            one = decide(track(canary[i, :minute]), track(stable[i, :minute]), CRITERIA, gate_grid._timing(minute))
            assert one.verdict == batch[i], (minute, i, one.report("gate"))


def track(units) -> Track:
    return Track.from_units(*(units[:, k].tolist() for k in range(4)))


def test_a_canary_with_too_few_events_of_its_own_does_not_pass_and_says_why() -> None:
    check = compare(
        "error_ratio",
        Proportion.from_units([0] * 40, [1000] * 40),
        Proportion.from_units([60] * 40, [19000] * 40),
        1.1,
        1.5,
        0.01,
        0.01,
    )
    assert check.verdict == "inconclusive"
    assert f"a pass needs {MIN_EVENTS} of its own" in check.reason
    assert check.more_requests and check.more_requests > 0


def test_a_stable_with_too_few_events_of_its_own_does_not_fail_the_canary_and_says_why() -> None:
    check = compare(
        "error_ratio",
        Proportion.from_units([3] * 40, [1000] * 40),
        Proportion.from_units([0] * 39 + [5], [19000] * 40),
        1.1,
        1.5,
        0.01,
        0.01,
    )
    assert check.verdict == "inconclusive"
    assert f"a failure needs {MIN_EVENTS} of stable's own" in check.reason
