"""Canary-vs-stable traffic scenarios written as OpenMetrics, for TSDB blocks a real Prometheus serves.

Every scenario is its own agent id in one TSDB, so one Prometheus answers all of them. Counters are
cumulative from before the stage began (as a long-running stable's are), scraped every 15 seconds.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from conventions.metrics import REQUESTS
from gates.stage_clock import format_time
from testing import openmetrics as om

NAMESPACE = "acme-prod"
TENANT = "acme"
STABLE = "1.4.2"
CANARY = "1.5.0"
STAGE_START = datetime(2025, 1, 6, 10, 0, tzinfo=UTC)
STAGE_LENGTH = timedelta(minutes=40)
EVALUATED_AT = STAGE_START + STAGE_LENGTH
HISTORY = timedelta(minutes=10)
STEP_SECONDS = 15
CAPABILITIES = ("answer", "escalate")
# Cumulative share of requests at or below each bucket boundary (Python client spelling of `le`).
LATENCY = {"0.1": 0.5, "0.25": 0.8, "0.5": 0.97, "1.0": 0.99, "2.0": 0.997, "5.0": 0.999}


@dataclass(frozen=True)
class Traffic:
    """One track: requests per second, failed share, and the shares slower than 0.5 s and 2 s."""

    rps: float
    error_rate: float = 0.003
    slow_factor: float = 1.0
    noise: float = 0.0
    reset_at: timedelta | None = None
    errors_total: int | None = None  # exact failed requests over the stage, for sparse cases
    burst: tuple[int, int] | None = None  # (minute of the stage, extra failed requests within that minute)

    def bucket_shares(self) -> dict[str, float]:
        shares = {}
        for le, below in LATENCY.items():
            shares[le] = 1 - min(1.0, (1 - below) * self.slow_factor)
        return shares


@dataclass(frozen=True)
class Scenario:
    name: str
    agent_id: str
    canary: Traffic | None
    stable: Traffic | None
    verdict: str
    reason: str
    failing: tuple[str, ...] = field(default_factory=tuple)
    independent_verdict: str | None = None  # the verdict if the requests were taken as independent


SCENARIOS = [
    Scenario("healthy canary", "healthy", Traffic(20), Traffic(60), "pass", "every check passed"),
    Scenario(
        "error regression",
        "error-regression",
        Traffic(20, error_rate=0.012),
        Traffic(60),
        "fail",
        "error_ratio",
        ("error_ratio", "error_slo"),
    ),
    Scenario(
        "latency regression",
        "latency-regression",
        Traffic(20, slow_factor=2.5),
        Traffic(60),
        "fail",
        "latency_p95",
        ("latency_p95", "latency_p95_slo"),
    ),
    Scenario(
        "both tracks noisy but equal",
        "noisy-equal",
        Traffic(20, error_rate=0.002, noise=0.8),
        Traffic(60, error_rate=0.002, noise=0.8),
        "pass",
        "every check passed",
    ),
    Scenario("low traffic", "low-traffic", Traffic(0.2), Traffic(0.6), "inconclusive", "not enough evidence"),
    Scenario("canary with no series", "no-canary", None, Traffic(60), "error", "canary: no series"),
    Scenario("stable with no series", "no-stable", Traffic(20), None, "error", "stable: no series"),
    Scenario(
        "counter reset in the window",
        "counter-reset",
        Traffic(20, reset_at=timedelta(minutes=20)),
        Traffic(60),
        "pass",
        "every check passed",
    ),
    Scenario(
        "sparse errors: 3 in 200 requests vs 0.3% stable",
        "sparse-errors",
        Traffic(200 / STAGE_LENGTH.total_seconds(), errors_total=3),
        Traffic(3800 / STAGE_LENGTH.total_seconds()),
        "inconclusive",
        "not enough evidence",
    ),
    Scenario(
        "clear regression at high traffic",
        "high-traffic-regression",
        Traffic(200, error_rate=0.006),
        Traffic(600),
        "fail",
        "error_ratio",
        ("error_ratio", "error_slo"),
    ),
    Scenario(
        "one burst in a healthy canary: 300 failures in one minute",
        "canary-burst",
        Traffic(20, burst=(20, 300)),
        Traffic(60),
        "inconclusive",
        "bursty",
        independent_verdict="fail",
    ),
    Scenario(
        "a burst in stable hides a canary failing twice as often",
        "stable-burst",
        Traffic(20, error_rate=0.002),
        Traffic(60, error_rate=0.001, burst=(15, 3000)),
        "inconclusive",
        "bursty",
        independent_verdict="pass",
    ),
]


def _times() -> Iterator[tuple[int, float]]:
    """(unix time, seconds since the stage began) for every scrape from the history to the evaluation."""
    start = int((STAGE_START - HISTORY).timestamp())
    end = int(EVALUATED_AT.timestamp())
    for ts in range(start, end + 1, STEP_SECONDS):
        yield ts, ts - STAGE_START.timestamp()


def _cumulative(traffic: Traffic, seed: str) -> list[tuple[int, float, float]]:
    """(time, requests so far, noise-adjusted weight) per scrape; noise moves traffic, not the rates."""
    rng = random.Random(seed)
    out, total = [], 0.0
    for ts, since in _times():
        factor = max(0.0, 1 + traffic.noise * (rng.random() * 2 - 1))
        total += traffic.rps * STEP_SECONDS * factor
        out.append((ts, since, total))
    return out


def _labels(agent_id: str, version: str, **extra: str) -> str:
    return om.labels(NAMESPACE, TENANT, agent_id, version, **extra)


def _samples(name: str, labels: str, points: list[tuple[int, float, float]], value, reset_at) -> list[str]:
    """A counter's lines; after `reset_at` (a restarted pod) it counts again from zero."""
    values = [math.floor(value(total, since)) for _, since, total in points]
    if reset_at is not None:
        cut = next(i for i, (_, since, _) in enumerate(points) if since >= reset_at.total_seconds())
        values = values[:cut] + [v - values[cut - 1] for v in values[cut:]]
    return [f"{name}{labels} {v} {ts}" for v, (ts, _, _) in zip(values, points, strict=True)]


def track_lines(agent_id: str, version: str, traffic: Traffic) -> tuple[list[str], list[str]]:
    """OpenMetrics sample lines for the request counter and the duration histogram of one track."""
    counters: list[str] = []
    histogram: list[str] = []
    points = _cumulative(traffic, f"{agent_id}/{version}")
    per_capability = 1 / len(CAPABILITIES)
    sparse = traffic.errors_total is not None

    def errors_so_far(total: float, since: float) -> float:
        if not sparse:
            return total * traffic.error_rate + burst_so_far(since)
        # Sparse: exactly `errors_total` failures over the stage, all in one series so none round away.
        return traffic.errors_total * min(1.0, max(0.0, since) / STAGE_LENGTH.total_seconds())

    def burst_so_far(since: float) -> float:
        if traffic.burst is None:
            return 0.0
        minute, extra = traffic.burst
        return extra * min(1.0, max(0.0, (since - 60 * minute) / 60))

    def counter(labels: str, value) -> list[str]:
        return _samples(REQUESTS.name, labels, points, value, traffic.reset_at)

    for capability in CAPABILITIES:
        split = {
            "error": (1.0 if capability == CAPABILITIES[0] else 0.0) if sparse else 0.7 * per_capability,
            "timeout": 0.0 if sparse else 0.3 * per_capability,
        }
        failed = sum(split.values())
        counters += counter(
            _labels(agent_id, version, capability=capability, status="ok"),
            lambda total, since, failed=failed: total * per_capability - errors_so_far(total, since) * failed,
        )
        for status, weight in split.items():
            counters += counter(
                _labels(agent_id, version, capability=capability, status=status),
                lambda total, since, weight=weight: errors_so_far(total, since) * weight,
            )
        for le, share in [*traffic.bucket_shares().items(), ("+Inf", 1.0)]:
            histogram += _samples(
                om.BUCKET,
                _labels(agent_id, version, capability=capability, le=le),
                points,
                lambda total, _since, share=share: total * per_capability * share,
                traffic.reset_at,
            )
        histogram += _samples(
            om.COUNT,
            _labels(agent_id, version, capability=capability),
            points,
            lambda total, _since: total * per_capability,
            traffic.reset_at,
        )
    return counters, histogram


def openmetrics(scenarios: list[Scenario]) -> str:
    counters, histogram = [], []
    for scenario in scenarios:
        for version, traffic in ((CANARY, scenario.canary), (STABLE, scenario.stable)):
            if traffic is not None:
                c, h = track_lines(scenario.agent_id, version, traffic)
                counters += c
                histogram += h
    return om.slo_document(counters, histogram)


def stage_started_at() -> str:
    return format_time(STAGE_START)
