"""Per-tenant feature flags and the canary cohort.

Cohort rule (the agent runtime must use the same one so both agree on who is in the cohort):
``bucket = int.from_bytes(sha256(tenant_id.encode("utf-8")).digest()[:8], "big") % 10000``;
the tenant is in the cohort when ``bucket < canary_percentage * 100``. The bucket depends only on
the id, so a tenant in the cohort at 5% stays in it at 10%.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from settings.tenancy import FeatureFlags, Tenant, Tier

BUCKETS = 10_000


def cohort_bucket(tenant_id: str) -> int:
    digest = hashlib.sha256(tenant_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def in_canary_cohort(tenant_id: str, canary_percentage: float) -> bool:
    return cohort_bucket(tenant_id) < canary_percentage * BUCKETS / 100


@dataclass(frozen=True)
class TenantFlags:
    canary_cohort: bool
    flags: dict[str, bool]

    @property
    def enabled(self) -> list[str]:
        return sorted(name for name, on in self.flags.items() if on)


def resolve_flags(tenant: Tenant, tier: Tier, settings: FeatureFlags) -> TenantFlags:
    """Later sources win: stack defaults, tier, beta enrollment, canary cohort, the tenant's own entries."""
    cohort = in_canary_cohort(tenant.id, settings.canary_percentage)
    flags = dict(settings.defaults)
    flags.update(tier.feature_flags)
    if tenant.beta:
        flags.update(dict.fromkeys(settings.beta, True))
    if cohort:
        flags.update(dict.fromkeys(settings.canary, True))
    flags.update(tenant.feature_flags)
    return TenantFlags(canary_cohort=cohort, flags=dict(sorted(flags.items())))
