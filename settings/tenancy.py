"""Tenants, their service tiers and per-tenant feature flags.

Tier defaults are a table (environment x tier) so a tenant entry is three lines; a stack may
override any tier field under `agent-platform:tiers`.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Literal

from pydantic import Field

from settings.base import DnsLabel, Settings
from settings.formats import FlagName
from settings.quantity import GIB, Quantity, format_bytes, format_cpu, parse_quantity

Environment = Literal["dev", "staging", "prod"]
TierName = Literal["standard", "premium", "enterprise"]
DataResidency = Literal["us", "eu"]
TIERS: tuple[TierName, ...] = ("standard", "premium", "enterprise")
ENVIRONMENTS: tuple[Environment, ...] = ("dev", "staging", "prod")


class Quota(Settings):
    requests_cpu: Quantity
    requests_memory: Quantity
    limits_cpu: Quantity
    limits_memory: Quantity
    pods: int = Field(gt=0)
    services: int = Field(gt=0)
    configmaps: int = Field(gt=0)
    secrets: int = Field(gt=0)
    persistentvolumeclaims: int = Field(gt=0)
    requests_storage: Quantity

    def hard(self) -> dict[str, str]:
        return {
            "requests.cpu": str(self.requests_cpu),
            "requests.memory": str(self.requests_memory),
            "limits.cpu": str(self.limits_cpu),
            "limits.memory": str(self.limits_memory),
            "pods": str(self.pods),
            "services": str(self.services),
            "configmaps": str(self.configmaps),
            "secrets": str(self.secrets),
            "persistentvolumeclaims": str(self.persistentvolumeclaims),
            "requests.storage": str(self.requests_storage),
        }


class CpuMemory(Settings):
    cpu: Quantity
    memory: Quantity


class LimitRange(Settings):
    container_default: CpuMemory = CpuMemory(cpu="2000m", memory="2Gi")
    container_default_request: CpuMemory = CpuMemory(cpu="500m", memory="512Mi")
    container_max: CpuMemory = CpuMemory(cpu="8000m", memory="16Gi")
    container_min: CpuMemory = CpuMemory(cpu="100m", memory="128Mi")
    pod_max: CpuMemory = CpuMemory(cpu="16000m", memory="32Gi")
    pvc_min: Quantity = "1Gi"
    pvc_max: Quantity = "100Gi"


class RateLimits(Settings):
    """ingress-nginx limits per client IP."""

    rps: int = Field(gt=0)
    connections: int = Field(gt=0)


class Tier(Settings):
    quota: Quota
    limit_range: LimitRange = LimitRange()
    rate_limits: RateLimits
    dedicated_data: bool = Field(False, description="Tenant gets its own RDS instance.")
    max_replicas: int = Field(gt=0, description="Upper bound for an agent's HPA in this tier.")
    feature_flags: dict[FlagName, bool] = Field(default_factory=dict)


# The architecture notes' quota for a premium tenant in production; other cells scale it.
_PREMIUM_PROD: dict[str, str | int] = {
    "requests_cpu": "100",
    "requests_memory": "200Gi",
    "limits_cpu": "200",
    "limits_memory": "400Gi",
    "pods": 500,
    "services": 50,
    "configmaps": 100,
    "secrets": 100,
    "persistentvolumeclaims": 50,
    "requests_storage": "1Ti",
}
TIER_FACTOR: dict[TierName, Decimal] = {
    "standard": Decimal("0.25"),
    "premium": Decimal(1),
    "enterprise": Decimal(2),
}
ENVIRONMENT_FACTOR: dict[Environment, Decimal] = {
    "dev": Decimal("0.2"),
    "staging": Decimal("0.5"),
    "prod": Decimal(1),
}
_MIN_OBJECTS = 10
_RATE_LIMITS: dict[TierName, RateLimits] = {
    "standard": RateLimits(rps=50, connections=20),
    "premium": RateLimits(rps=200, connections=100),
    "enterprise": RateLimits(rps=500, connections=250),
}
_MAX_REPLICAS: dict[Environment, dict[TierName, int]] = {
    "dev": {"standard": 2, "premium": 2, "enterprise": 2},
    "staging": {"standard": 5, "premium": 5, "enterprise": 10},
    "prod": {"standard": 12, "premium": 50, "enterprise": 100},
}


def _scaled_quota(factor: Decimal) -> Quota:
    """Scale the notes' quota; CPU rounds up to whole cores and sizes to whole Gi so the table reads well."""

    def cpu(key: str) -> str:
        return format_cpu(Decimal(math.ceil(parse_quantity(str(_PREMIUM_PROD[key])) * factor)))

    def size(key: str) -> str:
        return format_bytes(Decimal(math.ceil(parse_quantity(str(_PREMIUM_PROD[key])) * factor / GIB)) * GIB)

    def count(key: str) -> int:
        return max(_MIN_OBJECTS, int(Decimal(str(_PREMIUM_PROD[key])) * factor))

    return Quota(
        requests_cpu=cpu("requests_cpu"),
        requests_memory=size("requests_memory"),
        limits_cpu=cpu("limits_cpu"),
        limits_memory=size("limits_memory"),
        pods=count("pods"),
        services=count("services"),
        configmaps=count("configmaps"),
        secrets=count("secrets"),
        persistentvolumeclaims=count("persistentvolumeclaims"),
        requests_storage=size("requests_storage"),
    )


def default_tier(environment: Environment, tier: TierName) -> Tier:
    return Tier(
        quota=_scaled_quota(TIER_FACTOR[tier] * ENVIRONMENT_FACTOR[environment]),
        rate_limits=_RATE_LIMITS[tier],
        dedicated_data=tier == "enterprise",
        max_replicas=_MAX_REPLICAS[environment][tier],
    )


class FeatureFlags(Settings):
    """How a tenant's flags resolve: defaults, then tier, then beta, then canary cohort, then the tenant."""

    defaults: dict[FlagName, bool] = Field(default_factory=dict)
    beta: list[FlagName] = Field(default_factory=list, description="Flags turned on for beta-enrolled tenants.")
    canary: list[FlagName] = Field(default_factory=list, description="Flags turned on for the canary cohort.")
    canary_percentage: float = Field(
        10.0,
        ge=0,
        le=100,
        description="Share of tenants in the canary cohort; the agents get it as AGENT_RUNTIME_CANARY_PERCENTAGE.",
    )


class Tenant(Settings):
    id: DnsLabel
    tier: TierName = "standard"
    data_residency: DataResidency = "us"
    beta: bool = False
    feature_flags: dict[FlagName, bool] = Field(default_factory=dict)
    admin_group: str | None = Field(None, description="Group bound to tenant-admin; default `<id>-admins`.")

    def namespace(self, environment: Environment) -> str:
        return f"{self.id}-{environment}"

    @property
    def admin_group_name(self) -> str:
        return self.admin_group or f"{self.id}-admins"
