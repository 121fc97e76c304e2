"""The stack's canary policy: stages, their durations and what a failing gate does."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field

from settings.base import Settings
from settings.formats import Duration

PROD_COHORT_CAP_PCT = 5.0
"""The most of an agent's tenants (and of the canary feature-flag cohort) a prod canary reaches before its gates
pass: the production rollout checklist's max_tenant_exposure_pct. Staging keeps the runtime's 10% canary stage."""


class Widening(Settings):
    """`progression: automatic`: after the canary cohort, the agent's other tenants take the release in waves.

    Each widened tenant runs its own gated stages (`weights`, judged canary against stable in that tenant,
    like the cohort's); a wave starts only once every tenant of the previous wave is promoted.
    """

    waves: list[float] = Field(
        default_factory=lambda: [20.0, 50.0, 100.0],
        description="Cumulative share (%) of the agent's tenants outside the canary cohort per wave; increasing, "
        "ending at 100 (a wave that rounds to no new tenant is merged into the next). [] keeps them on stable "
        "until the stack file's `version` changes.",
    )
    weights: list[int] = Field(
        default_factory=lambda: [25, 100],
        min_length=2,
        description="Canary traffic per stage in a widened tenant; increasing, ending at 100.",
    )
    min_durations: list[Duration] = Field(
        default_factory=lambda: ["15m"],
        description="Minimum time per widened-tenant stage below 100 before its gate may pass.",
    )


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
    extended_max_duration: Duration = Field(
        "4h",
        description="Automatic releases: a stage still undecided after max_duration_factor x its minimum waits on, "
        "up to this long from its start, while the gate can weigh evidence (its tests stay valid however long "
        "it looks); then it ends as on_timeout says. At most the factor's maximum: no extension.",
    )
    shadow_duration: Duration = Field(
        "30m",
        description="Minimum time in the shadow stage (weight 0, requests mirrored to the canary) before the gate "
        "of the next stage may pass.",
    )
    policy: Literal["rollback", "block"] = "rollback"
    on_timeout: Literal["hold", "fail"] = Field(
        "hold",
        description="Automatic releases: a stage still undecided at its end (extended_max_duration, or "
        "max_duration_factor x its minimum when the gate cannot weigh evidence) ends `timed_out` (weight held, "
        "alert) with `hold`, or `failed` (weight 0) with `fail`.",
    )
    max_tenant_exposure_pct: float = Field(
        PROD_COHORT_CAP_PCT,
        gt=0,
        le=100,
        description="Share of an agent's tenants running the canary before its gated stages pass.",
    )
    widening: Widening = Field(default_factory=Widening)
    blue_green_watch: Duration = Field(
        "10m",
        description="Blue-green: minimum time green serves alone, judged against blue, before the gate may pass "
        "and replace blue; it times out after max_duration_factor x this.",
    )


def max_exposed(tenants: int, pct: float) -> int:
    """How many of `tenants` a canary capped at `pct` percent reaches: the share rounded down, but at least one.
    The rollout plan, the policy pack and the GA checklist all count exposure this way."""
    return max(1, math.floor(tenants * pct / 100 + 1e-9))


class ReleaseControl(Settings):
    """An operator's action on an automatic release, applied once at the next evaluation and recorded.

    Set without a pull request: `kubectl patch` of the stack's Pulumi Kubernetes Operator `Stack` object
    (`spec.config`), or `pulumi config set --path` where `up` runs by hand (docs/releasing.md).
    """

    action: Literal["promote", "abort", "retry", "pause", "resume"]
    by: str = Field(min_length=1, description="Who: recorded in the rollout's history.")
    at: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", description="When it was asked (UTC).")
    reason: str = ""
    stage: int | None = Field(None, ge=0, description="`promote` to this stage; refused unless it is the next one.")
