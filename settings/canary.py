"""The stack's canary policy: stages, their durations and what a failing gate does."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from settings.base import Settings
from settings.formats import Duration


class CanaryPolicy(Settings):
    weights: list[int] = Field(
        default_factory=lambda: [5, 25, 50, 100],
        min_length=1,
        description="Canary traffic per stage; increasing, ending at 100. A leading 0 is the shadow stage.",
    )
    min_durations: list[Duration] = Field(
        default_factory=lambda: ["10m", "20m", "30m"],
        description="Minimum time per stage before its gate may pass (one per stage below 100).",
    )
    max_duration_factor: float = Field(4.0, ge=1, description="A stage times out (and holds) after factor x minimum.")
    shadow_duration: Duration = Field(
        "30m",
        description="Minimum time in the shadow stage (weight 0, requests mirrored to the canary) before the gate "
        "of the next stage may pass.",
    )
    policy: Literal["rollback", "block"] = "rollback"
    max_tenant_exposure_pct: float = Field(
        5.0, gt=0, le=100, description="Share of an agent's tenants running the canary before its gated stages pass."
    )
    blue_green_watch: Duration = Field(
        "10m",
        description="Blue-green: minimum time green serves alone, judged against blue, before the gate may pass "
        "and replace blue; it times out after max_duration_factor x this.",
    )
