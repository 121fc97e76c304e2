"""Canary-vs-stable traffic with known truth, per minute, for the gate-quality benchmark (the model is
`testing.traffic`'s, with this benchmark's healthy profile).

Each rollout is one agent id (`rollout-<n>`), so thousands of rollouts live in one TSDB as distinct label
values. Counts are drawn per minute (Poisson requests, binomial events), which is what both evaluation
paths read: the in-process path sums them directly, the Prometheus path reads them back with `increase()`
from counters scraped once a minute, aligned with the stage start so neither side extrapolates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from conventions.metrics import REQUESTS
from gates.stage_clock import format_time
from testing import openmetrics as om
from testing.traffic import BURST_CHANCE as BURST_CHANCE
from testing.traffic import Profile, Truth, draw_rollouts

NAMESPACE = "bench-prod"
TENANT = "bench"
STABLE = "1.0.0"
CANARY = "1.1.0"
STAGE_START = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
HISTORY_MINUTES = 5
# The healthy profile: 0.3% errors; p99 just under 0.5 s (0.6% slower), so the static baseline's
# p99 < 500 ms can pass a healthy canary at all; 0.1% slower than 2 s.
ERROR_RATE = 0.003
SLOW_SHARE = 0.006
VERY_SLOW_SHARE = 0.001
HEALTHY = Profile(ERROR_RATE, SLOW_SHARE, VERY_SLOW_SHARE)
EVENTS = ("requests", "errors", "slow", "very_slow")


def _slow(name: str, factor: float) -> Truth:
    """The slow tail moves as a whole: the share slower than 2 s grows with the share slower than 0.5 s."""
    return Truth(name, slow_factor=factor, very_slow_factor=factor)


TRUTHS: tuple[Truth, ...] = (
    Truth("healthy"),
    Truth("errors 1.2x", error_factor=1.2),
    Truth("errors 1.5x", error_factor=1.5),
    Truth("errors 2x", error_factor=2.0),
    Truth("errors 5x", error_factor=5.0),
    _slow("slow share 1.3x", 1.3),
    _slow("slow share 2x", 2.0),
    _slow("slow share 5x", 5.0),
    Truth("healthy, 10x error bursts", burst_factor=10.0),
    Truth("errors 2x, 10x error bursts", error_factor=2.0, burst_factor=10.0),
    Truth("healthy, 3x error bursts", burst_factor=3.0),
    Truth("errors 2x, 3x error bursts", error_factor=2.0, burst_factor=3.0),
    Truth("canary series missing", missing="canary"),
    Truth("stable series missing", missing="stable"),
)


@dataclass(frozen=True)
class Rollouts:
    """Per-minute counts, shape (rollouts, minutes, 4) with EVENTS along the last axis; None = no series."""

    truth: Truth
    canary_per_5m: int
    canary: np.ndarray | None
    stable: np.ndarray | None

    def cumulative(self, track: str, minute: int) -> np.ndarray | None:
        """Counts from the stage start to `minute`, shape (rollouts, 4)."""
        counts = self.canary if track == "canary" else self.stable
        return None if counts is None else counts[:, :minute, :].sum(axis=1)


def generate(
    truth: Truth, canary_per_5m: int, rollouts: int, minutes: int, seed: int, canary_weight: float
) -> Rollouts:
    """`rollouts` independent rollouts of `minutes` minutes with the canary at `canary_weight` of traffic."""
    rng = np.random.default_rng(seed)
    canary, stable = draw_rollouts(rng, truth, HEALTHY, canary_per_5m / 5, canary_weight, (rollouts, minutes))
    return Rollouts(
        truth,
        canary_per_5m,
        None if truth.missing == "canary" else np.stack(canary, axis=-1),
        None if truth.missing == "stable" else np.stack(stable, axis=-1),
    )


def _labels(agent_id: str, version: str, **extra: str) -> str:
    return om.labels(NAMESPACE, TENANT, agent_id, version, **extra)


def _series(name: str, labels: str, cumulative: np.ndarray) -> list[str]:
    """One counter, scraped every minute: zero through the history, then the running total."""
    start = int(STAGE_START.timestamp())
    lines = [f"{name}{labels} 0 {start + 60 * m}" for m in range(-HISTORY_MINUTES, 1)]
    lines += [f"{name}{labels} {int(v)} {start + 60 * (m + 1)}" for m, v in enumerate(cumulative)]
    return lines


def track_lines(agent_id: str, version: str, counts: np.ndarray) -> tuple[list[str], list[str]]:
    """Request counter (status ok/error) and duration histogram (le 0.5, 2.0, +Inf) of one rollout's track."""
    total = np.cumsum(counts, axis=0)
    requests, errors, slow, very_slow = (total[:, i] for i in range(4))
    counters = _series(REQUESTS.name, _labels(agent_id, version, status="ok"), requests - errors)
    counters += _series(REQUESTS.name, _labels(agent_id, version, status="error"), errors)
    histogram = []
    for le, value in (("0.5", requests - slow), ("2.0", requests - very_slow), ("+Inf", requests)):
        histogram += _series(om.BUCKET, _labels(agent_id, version, le=le), value)
    histogram += _series(om.COUNT, _labels(agent_id, version), requests)
    return counters, histogram


def openmetrics(batches: list[tuple[Rollouts, list[str]]]) -> str:
    """Every listed rollout (its agent id beside it) of every batch, as one OpenMetrics text."""
    counters: list[str] = []
    histogram: list[str] = []
    for rollouts, agent_ids in batches:
        for i, agent_id in enumerate(agent_ids):
            for version, counts in ((CANARY, rollouts.canary), (STABLE, rollouts.stable)):
                if counts is not None:
                    c, h = track_lines(agent_id, version, counts[i])
                    counters += c
                    histogram += h
    return om.slo_document(counters, histogram)


def at_minute(minute: int) -> datetime:
    return STAGE_START + timedelta(minutes=minute)


def stage_started_at() -> str:
    return format_time(STAGE_START)
