"""Simulated canary-vs-stable rollouts with known truth, evaluated by the gate's decision at each look."""

from __future__ import annotations

from collections import Counter

import numpy as np

from gates.decision import Timing, TrackCounts, verdicts
from settings.gates import SloGateCriteria
from testing.traffic import Profile, Truth, draw_rollouts

LOOK_SECONDS = 300
UNITS_PER_LOOK = 5  # the gate counts per minute


HEALTHY = Profile(error_rate=0.003, slow_share=0.03, very_slow_share=0.003)


def simulate(
    truth: Truth,
    canary_per_look: int,
    looks: list[int],
    rollouts: int,
    seed: int,
    canary_weight: float = 0.05,
    min_looks: int = 2,
    criteria: SloGateCriteria | None = None,
    profile: Profile = HEALTHY,
) -> Counter[str]:
    """Final verdict of each rollout: the first pass/fail at the listed look numbers, else the last verdict.

    Traffic is `testing.traffic`'s (Poisson per minute, binomial events), summed from the start of the stage
    as the gate's `increase(...[stage])` queries see them and given per minute as its range queries do.
    All rollouts are judged at once by `gates.decision.verdicts` (what `decide` gives each one).
    """
    criteria = criteria or SloGateCriteria()
    rng = np.random.default_rng(seed)
    horizon = max(looks)
    shape = (rollouts, horizon * UNITS_PER_LOOK)
    canary, stable = draw_rollouts(rng, truth, profile, canary_per_look / UNITS_PER_LOOK, canary_weight, shape)
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
