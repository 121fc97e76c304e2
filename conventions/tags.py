"""Tags every AWS resource carries; the policy pack requires them."""

from __future__ import annotations

from conventions.labels import TENANT_ID

MANAGED_BY = "pulumi/agent-platform"


def tags(environment: str, tenant_id: str | None = None, **extra: str) -> dict[str, str]:
    values = {"environment": environment, "managed-by": MANAGED_BY, **extra}
    if tenant_id is not None:
        values[TENANT_ID] = tenant_id
    return dict(sorted(values.items()))
