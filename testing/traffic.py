"""Canary-vs-stable traffic with known truth, drawn per minute: the one model the gate's statistical tests
(`tests/gates/simulation.py`) and the gate-quality benchmark (`benchmarks/traffic.py`) both judge.

Requests are Poisson per minute; failed, slow and very slow requests are binomial thinnings of them (very
slow ones a subset of the slow ones, as in a histogram). With `burst_factor` > 1 a track fails that much
more often in BURST_CHANCE of its minutes and less in the others, so its mean rate stays the same.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BURST_CHANCE = 0.05


@dataclass(frozen=True)
class Profile:
    """Per-request rates of a healthy track."""

    error_rate: float
    slow_share: float
    """Slower than the latency SLO's threshold (0.5 s)."""
    very_slow_share: float
    """Slower than 2 s; at most `slow_share`."""


@dataclass(frozen=True)
class Truth:
    """What the canary really is, relative to stable."""

    name: str = ""
    error_factor: float = 1.0
    slow_factor: float = 1.0
    very_slow_factor: float = 1.0
    burst_factor: float = 1.0
    """> 1: errors come in bursts (see BURST_CHANCE), in both tracks independently."""
    missing: str | None = None
    """"canary" or "stable": that track has no series at all."""

    @property
    def bursty(self) -> bool:
        return self.burst_factor > 1

    @property
    def healthy(self) -> bool:
        return self.error_factor == 1.0 and self.slow_factor == 1.0 and self.missing is None

    @property
    def regression(self) -> float:
        """The larger of the two multipliers: ≥ 1.5 is a regression the gate must catch."""
        return max(self.error_factor, self.slow_factor)


Counts = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""(requests, errors, slow, very slow) per rollout and minute."""


def draw_track(
    rng: np.random.Generator,
    per_minute: float,
    shape: tuple[int, int],
    profile: Profile,
    factors: tuple[float, float, float] = (1.0, 1.0, 1.0),
    burst_factor: float = 1.0,
) -> Counts:
    """One track of `shape` (rollouts, minutes), its (error, slow, very slow) rates `factors` x the profile's."""
    error_factor, slow_factor, very_slow_factor = factors
    requests = rng.poisson(per_minute, shape)
    if burst_factor > 1:
        burst = rng.random(shape) < BURST_CHANCE
        quiet = (1 - BURST_CHANCE * burst_factor) / (1 - BURST_CHANCE)
        error_rate = profile.error_rate * error_factor * np.where(burst, burst_factor, quiet)
    else:
        error_rate = np.full(shape, profile.error_rate * error_factor)
    errors = rng.binomial(requests, np.clip(error_rate, 0, 1))
    slow = rng.binomial(requests, profile.slow_share * slow_factor)
    very_slow_of_slow = (profile.very_slow_share / profile.slow_share) * (very_slow_factor / slow_factor)
    very_slow = rng.binomial(slow, min(1.0, very_slow_of_slow))
    return requests, errors, slow, very_slow


def draw_rollouts(
    rng: np.random.Generator,
    truth: Truth,
    profile: Profile,
    canary_per_minute: float,
    canary_weight: float,
    shape: tuple[int, int],
) -> tuple[Counts, Counts]:
    """(canary, stable) of `shape[0]` independent rollouts, the canary at `canary_weight` of the traffic."""
    stable_per_minute = canary_per_minute * (1 - canary_weight) / canary_weight
    factors = (truth.error_factor, truth.slow_factor, truth.very_slow_factor)
    canary = draw_track(rng, canary_per_minute, shape, profile, factors, truth.burst_factor)
    stable = draw_track(rng, stable_per_minute, shape, profile, burst_factor=truth.burst_factor)
    return canary, stable
