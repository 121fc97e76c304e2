"""Simulated canary-vs-stable rollouts with known truth, evaluated by the gate's decision at each look."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from gates.decision import Timing, TrackCounts, verdicts
from settings.gates import SloGateCriteria

LOOK_SECONDS = 300
UNITS_PER_LOOK = 5  # the gate counts per minute


@dataclass(frozen=True)
class Truth:
    """Per-request rates of the stable track and the canary's multipliers on them."""

    error_rate: float = 0.003
    slow_share: float = 0.03
    very_slow_share: float = 0.003
    error_factor: float = 1.0
    slow_factor: float = 1.0
    very_slow_factor: float = 1.0
    burst_factor: float = 1.0  # > 1: in BURST_CHANCE of minutes a track fails this much more often, same mean


BURST_CHANCE = 0.05


def simulate(
    truth: Truth,
    canary_per_look: int,
    looks: list[int],
    rollouts: int,
    seed: int,
    canary_weight: float = 0.05,
    min_looks: int = 2,
    criteria: SloGateCriteria | None = None,
) -> Counter[str]:
    """Final verdict of each rollout: the first pass/fail at the listed look numbers, else the last verdict.

    Traffic is Poisson per minute; events are binomial thinning of it, summed from the start of the stage
    as the gate's `increase(...[stage])` queries see them and given per minute as its range queries do.
    All rollouts are judged at once by `gates.decision.verdicts` (what `decide` gives each one).
    """
    criteria = criteria or SloGateCriteria()
    rng = np.random.default_rng(seed)
    horizon = max(looks)
    canary_per_unit = canary_per_look / UNITS_PER_LOOK
    stable_per_unit = canary_per_unit * (1 - canary_weight) / canary_weight
    shape = (rollouts, horizon * UNITS_PER_LOOK)

    def track(mean: float, factors: tuple[float, float, float]) -> tuple[np.ndarray, ...]:
        requests = rng.poisson(mean, shape)
        burst = rng.random(shape) < BURST_CHANCE
        quiet = (1 - BURST_CHANCE * truth.burst_factor) / (1 - BURST_CHANCE)
        error_rate = truth.error_rate * factors[0] * np.where(burst, truth.burst_factor, quiet)
        rates = (np.clip(error_rate, 0, 1), truth.slow_share * factors[1], truth.very_slow_share * factors[2])
        events = [rng.binomial(requests, rate) for rate in rates]
        return (requests, *events)

    canary = track(canary_per_unit, (truth.error_factor, truth.slow_factor, truth.very_slow_factor))
    stable = track(stable_per_unit, (1.0, 1.0, 1.0))
    final = np.full(rollouts, "inconclusive", dtype=object)
    open_ = np.ones(rollouts, dtype=bool)
    for look in looks:
        t = look * UNITS_PER_LOOK
        timing = Timing(look * LOOK_SECONDS, min_looks * LOOK_SECONDS, horizon * LOOK_SECONDS)
        current = verdicts(_track(canary, t), _track(stable, t), criteria, timing)
        final[open_] = current[open_]
        open_ &= ~np.isin(current, ("pass", "fail"))
    return Counter(final.tolist())


def _track(arrays: tuple[np.ndarray, ...], units: int) -> TrackCounts:
    """Every rollout's first `units` minutes, in total and per minute."""
    return TrackCounts.from_units(*(a[:, :units] for a in arrays))
