"""The whole stack configuration: one typed model for everything under `agent-platform:`."""

from __future__ import annotations

from typing import Any, NamedTuple

from pydantic import Field, model_validator

from conventions.overlay import deep_merge
from settings.agents import DEFAULT_REPLICAS, Agent
from settings.backups import Backups
from settings.base import AwsRegion, Settings
from settings.canary import PROD_COHORT_CAP_PCT, CanaryPolicy, ReleaseControl
from settings.cluster import Cluster, GitOps
from settings.data import Data
from settings.gates import Gates
from settings.names import SharedNames
from settings.observability import Observability
from settings.release_loop import ReleaseLoop
from settings.slo import Slo
from settings.tenancy import (
    ENVIRONMENTS,
    TIERS,
    Environment,
    FeatureFlags,
    Tenant,
    Tier,
    TierName,
    default_tier,
)


class ReplicaBounds(NamedTuple):
    """An agent's replicas in one tenant: the HPA's bounds, or the fixed count without an HPA."""

    hpa: bool
    minimum: int
    maximum: int
    replicas: int

    @property
    def most(self) -> int:
        return self.maximum if self.hpa else self.replicas


# Environment-specific defaults, applied under whatever the stack file says.
ENVIRONMENT_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {"release_loop": {"resync_seconds": 600}},
    "staging": {
        "release_loop": {"resync_seconds": 300},
        "data": {"postgres": {"multi_az": True}, "redis": {"num_nodes": 2, "multi_az": True}},
    },
    "prod": {
        "release_loop": {"resync_seconds": 120},
        "feature_flags": {"canary_percentage": PROD_COHORT_CAP_PCT},
        "data": {
            "postgres": {
                "multi_az": True,
                "deletion_protection": True,
                "final_snapshot": True,
                "backup_retention_days": 30,
                "cross_region_backups": True,
                "apply_immediately": False,
            },
            "redis": {"num_nodes": 2, "multi_az": True, "apply_immediately": False},
            "protect": True,
        },
        "backups": {"aws_backup": {"retention_days": 30, "vault_lock": True, "copy_to_dr": True}},
    },
}


class StackSettings(Settings):
    environment: Environment
    primary_region: AwsRegion
    cluster: Cluster
    gitops: GitOps = GitOps()
    names: SharedNames = SharedNames()
    tiers: dict[TierName, Tier] = Field(default_factory=dict, description="Per-tier overrides of the defaults table.")
    feature_flags: FeatureFlags = FeatureFlags()
    tenants: list[Tenant] = Field(min_length=1)
    agents: list[Agent] = Field(default_factory=list)
    slo: Slo = Slo()
    canary: CanaryPolicy = CanaryPolicy()
    release_loop: ReleaseLoop = ReleaseLoop()
    releases: dict[str, ReleaseControl] = Field(
        default_factory=dict, description="Operator controls of automatic releases, by agent id (docs/releasing.md)."
    )
    observability: Observability = Observability()
    data: Data = Data()
    backups: Backups = Backups()
    gates: Gates = Gates()

    @model_validator(mode="before")
    @classmethod
    def _apply_environment_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("environment") not in ENVIRONMENTS:
            return data
        environment = data["environment"]
        merged = deep_merge(ENVIRONMENT_DEFAULTS[environment], data)
        overrides = merged.get("tiers") or {}
        if isinstance(overrides, dict):
            merged["tiers"] = {
                tier: deep_merge(default_tier(environment, tier).model_dump(), overrides.get(tier, {}))
                for tier in TIERS
            } | {k: v for k, v in overrides.items() if k not in TIERS}
        return merged

    def tier(self, name: TierName) -> Tier:
        return self.tiers[name]

    def tenant(self, tenant_id: str) -> Tenant:
        return next(t for t in self.tenants if t.id == tenant_id)

    def namespace(self, tenant_id: str) -> str:
        return self.tenant(tenant_id).namespace(self.environment)

    def replica_bounds(self, agent: Agent, tenant_id: str) -> ReplicaBounds:
        """Settings first, then the environment's minimum and the tenant tier's maximum."""
        scaling = agent.scaling
        minimum = scaling.min_replicas or DEFAULT_REPLICAS[self.environment]
        maximum = scaling.max_replicas or self.tier(self.tenant(tenant_id).tier).max_replicas
        if not scaling.enabled:
            return ReplicaBounds(False, minimum, maximum, agent.replicas or minimum)
        return ReplicaBounds(True, minimum, max(minimum, maximum), max(minimum, maximum))

    def synthetic_sessions_on(self, agent: Agent) -> bool:
        enabled = agent.synthetic_session.enabled
        return self.environment in ("staging", "prod") if enabled is None else enabled
