"""Hours of canary and stable traffic, as OpenMetrics, for releases evaluated again and again as time passes.

Each agent id is one release's traffic; the canary's failed share can change at a known minute (a
regression). Evaluations at successive times see more data each time, as a live Prometheus would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from conventions.metrics import REQUESTS
from testing import openmetrics as om
from tests.gates.scenarios import LATENCY, NAMESPACE, TENANT

RELEASE_START = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
SPAN = timedelta(hours=4)
HISTORY = timedelta(minutes=10)
STEP_SECONDS = 15
STABLE = "2.0.0"
CANARY = "2.1.0"


@dataclass(frozen=True)
class Release:
    agent_id: str
    canary_rps: float
    stable_rps: float
    canary_error_rate: Callable[[float], float]
    """Failed share of the canary's requests at a minute since the release began."""
    stable_error_rate: float = 0.003
    tenant: str = TENANT


def regression_at(minute: float, factor: float, base: float = 0.003) -> Callable[[float], float]:
    return lambda m: base * factor if m >= minute else base


RELEASES = [
    Release("release-healthy", 20, 60, regression_at(10_000, 1)),
    # 5x more failures from minute 40 (by then the release is at 25% when evaluated every 5 minutes).
    Release("release-regression", 20, 60, regression_at(40, 5)),
    Release("release-quiet", 0.05, 0.15, regression_at(10_000, 1)),
    # One agent in three tenants (cohort, wave 1, wave 2); in the second, the canary fails 5x from the start
    # (a tenant-specific regression): the cohort promotes, the first wave must catch it.
    Release("release-waves", 20, 60, regression_at(10_000, 1)),
    Release("release-waves", 20, 60, regression_at(10_000, 1), tenant="globex"),
    Release("release-waves", 20, 60, regression_at(10_000, 1), tenant="initech"),
    Release("release-waves-regression", 20, 60, regression_at(10_000, 1)),
    Release("release-waves-regression", 20, 60, regression_at(0, 5), tenant="globex"),
    Release("release-waves-regression", 20, 60, regression_at(10_000, 1), tenant="initech"),
]


def _lines(
    agent_id: str, version: str, rps: float, error_rate: Callable[[float], float], tenant: str = TENANT
) -> tuple[list, list]:
    counters, histogram = [], []
    start = int((RELEASE_START - HISTORY).timestamp())
    end = int((RELEASE_START + SPAN).timestamp())
    requests = errors = 0.0

    def series(**extra: str) -> str:
        return om.labels(NAMESPACE, tenant, agent_id, version, capability="answer", **extra)

    for ts in range(start, end + 1, STEP_SECONDS):
        minute = (ts - RELEASE_START.timestamp()) / 60
        batch = rps * STEP_SECONDS
        requests += batch
        errors += batch * error_rate(minute)
        ok = int(requests) - int(errors)
        counters += [
            f"{REQUESTS.name}{series(status='ok')} {ok} {ts}",
            f"{REQUESTS.name}{series(status='error')} {int(errors)} {ts}",
        ]
        for le, below in [*LATENCY.items(), ("+Inf", 1.0)]:
            histogram.append(f"{om.BUCKET}{series(le=le)} {int(requests * below)} {ts}")
        histogram.append(f"{om.COUNT}{series()} {int(requests)} {ts}")
    return counters, histogram


def openmetrics(releases: list[Release]) -> str:
    counters: list[str] = []
    histogram: list[str] = []
    for r in releases:
        for version, rps, rate in (
            (CANARY, r.canary_rps, r.canary_error_rate),
            (STABLE, r.stable_rps, lambda _m, r=r: r.stable_error_rate),
        ):
            c, h = _lines(r.agent_id, version, rps, rate, r.tenant)
            counters += c
            histogram += h
    # OpenMetrics wants each metric family's samples together, in time order per series.
    counters.sort(key=lambda line: (line.rsplit(" ", 2)[0], int(line.rsplit(" ", 1)[1])))
    histogram.sort(key=lambda line: (line.rsplit(" ", 2)[0], int(line.rsplit(" ", 1)[1])))
    return om.slo_document(counters, histogram)
