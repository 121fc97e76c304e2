"""Service level objectives and the burn-rate alerting that defends them."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field

from settings.base import Settings
from settings.formats import DURATION_UNITS, Duration, matching

_UNITS = DURATION_UNITS


def seconds(duration: str) -> int:
    """A settings duration (`5m`, `1h`, `30d`) in seconds; the one parser every module uses."""
    match = re.fullmatch(r"(\d+)([smhdw])", duration)
    if not match:
        raise ValueError(f"{duration!r} is not a duration like 5m, 1h, 30d")
    return int(match.group(1)) * _UNITS[match.group(2)]


class LatencyObjective(Settings):
    name: Annotated[str, matching(r"[a-z0-9_]+", "a name of lower-case letters, digits and _ like p95")]
    threshold_seconds: float = Field(gt=0, description="Must be a bucket boundary of the request-duration histogram.")
    target: float = Field(gt=0, lt=1, description="Share of requests that must be faster than the threshold.")


class BurnRateAlert(Settings):
    severity: Annotated[str, matching(r"P[1-3]", "P1, P2 or P3")] = Field(
        description="P1 pages; P2 and P3 open tickets."
    )
    long_window: Duration
    short_window: Duration
    factor: float = Field(gt=0, description="Burn rate both windows must exceed (1 = spending exactly the budget).")


def _default_burn_rates() -> list[BurnRateAlert]:
    # The SRE workbook's table: 2% of a 30-day budget in 1h and 5% in 6h page; 10% in 3d and 100% in 30d
    # (the 3d window at 1x) open tickets.
    return [
        BurnRateAlert(severity="P1", long_window="1h", short_window="5m", factor=14.4),
        BurnRateAlert(severity="P1", long_window="6h", short_window="30m", factor=6),
        BurnRateAlert(severity="P3", long_window="1d", short_window="2h", factor=3),
        BurnRateAlert(severity="P3", long_window="3d", short_window="6h", factor=1),
    ]


class Slo(Settings):
    period: Duration = Field("30d", description="Error-budget period.")
    error_rate_objective: float = Field(0.005, gt=0, lt=1, description="Max share of failed requests.")
    latency: list[LatencyObjective] = Field(
        default_factory=lambda: [
            LatencyObjective(name="p50", threshold_seconds=0.1, target=0.5),
            LatencyObjective(name="p95", threshold_seconds=0.5, target=0.95),
            LatencyObjective(name="p99", threshold_seconds=2.0, target=0.99),
        ]
    )
    availability_target: float = Field(0.9999, gt=0, lt=1, description="Certified agents: share of good minutes.")
    burn_rates: list[BurnRateAlert] = Field(default_factory=_default_burn_rates, min_length=1)
    min_failed_requests_to_page: int = Field(
        5, ge=1, description="Low-traffic guard: a burn-rate alert needs this many bad events in the long window."
    )
    sli_windows: list[Duration] = Field(default_factory=lambda: ["5m", "30m", "1h", "2h", "6h", "1d", "3d"])
    capacity_rps: float = Field(
        1000, gt=0, description="Throughput the notes size for; recorded (1m rate) for capacity, never paged on."
    )
