"""Tags every AWS resource carries; the policy pack requires them."""

from __future__ import annotations

MANAGED_BY = "pulumi/agent-platform"


def tags(environment: str, tenant_id: str | None = None, **extra: str) -> dict[str, str]:
    values = {"environment": environment, "managed-by": MANAGED_BY, **extra}
    if tenant_id is not None:
        values["tenant-id"] = tenant_id
    return dict(sorted(values.items()))
