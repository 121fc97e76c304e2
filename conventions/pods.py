"""Sizes of the pods the platform itself runs in a tenant namespace, which the tenant's quota must also admit."""

from __future__ import annotations

SUPPORT_CONTAINER_RESOURCES: dict[str, str] = {"cpu": "100m", "memory": "128Mi"}
"""Requests and limits of the tenant's Pushgateway and of each synthetic-session probe (all they need)."""

AGENT_DEPLOYMENT_MAX_SURGE = 1
"""Extra pods a stateless agent's Deployment creates during a rolling update (maxUnavailable 0)."""

SUPPORT_DEPLOYMENT_SURGE = 1
"""The Pushgateway's one replica under the Deployment default of 25% maxSurge, rounded up."""


def restricted_security_context(uid: int) -> dict[str, object]:
    """A container's securityContext under the `restricted` Pod Security profile, with a read-only root."""
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
