"""Simulated canary-vs-stable rollouts with known truth, evaluated by the gate's decision at each look."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from providers.decision import Proportion, Timing, Track, decide
from stacks.settings.gates import SloGateCriteria

LOOK_SECONDS = 300


@dataclass(frozen=True)
class Truth:
    """Per-request rates of the stable track and the canary's multipliers on them."""

    error_rate: float = 0.003
    slow_share: float = 0.03
    very_slow_share: float = 0.003
    error_factor: float = 1.0
    slow_factor: float = 1.0
    very_slow_factor: float = 1.0


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

    Traffic is Poisson per 5-minute look; events are binomial thinning of it, accumulated from the start
    of the stage as the gate's `increase(...[stage])` queries see them, and given per look as the gate's
    per-unit counts are (independent traffic: the over-dispersion check must cost next to nothing here).
    """
    criteria = criteria or SloGateCriteria()
    rng = np.random.default_rng(seed)
    horizon = max(looks)
    stable_per_look = canary_per_look * (1 - canary_weight) / canary_weight
    shape = (rollouts, horizon)

    def track(mean: float, factors: tuple[float, float, float]) -> tuple[np.ndarray, ...]:
        requests = rng.poisson(mean, shape)
        rates = (truth.error_rate * factors[0], truth.slow_share * factors[1], truth.very_slow_share * factors[2])
        events = [rng.binomial(requests, rate) for rate in rates]
        return (requests, *events)

    canary = track(canary_per_look, (truth.error_factor, truth.slow_factor, truth.very_slow_factor))
    stable = track(stable_per_look, (1.0, 1.0, 1.0))
    outcomes: Counter[str] = Counter()
    for i in range(rollouts):
        verdict = "inconclusive"
        for look in looks:
            t = look - 1
            timing = Timing(look * LOOK_SECONDS, min_looks * LOOK_SECONDS, horizon * LOOK_SECONDS)
            decision = decide(_track(canary, i, t), _track(stable, i, t), criteria, timing, bounds=False)
            verdict = decision.verdict
            if verdict in ("pass", "fail"):
                break
        outcomes[verdict] += 1
    return outcomes


def _track(arrays: tuple[np.ndarray, ...], i: int, t: int) -> Track:
    """Counts up to look `t`, in total and per look."""
    requests, errors, slow, very_slow = (a[i, : t + 1].tolist() for a in arrays)

    def proportion(events: list[int]) -> Proportion:
        return Proportion(sum(events), sum(requests), units=tuple(zip(events, requests, strict=True)))

    return Track(proportion(errors), proportion(slow), proportion(very_slow))
