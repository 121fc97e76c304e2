"""Names the components derive from ids: the one rule for each, used by the components that create the
objects and by the settings checks that refuse an id whose derived name the service would refuse
(`settings.checks.identifiers`, which holds the names only the composition derives)."""

from __future__ import annotations

IAM_ROLE_NAME_MAX = 64
SYNTHETIC_SESSION_SUFFIX = "-synthetic-session"
REPLICA_SUFFIX = "-replica"
"""A replicated bucket's copy in the DR region is named after it with this suffix."""
ACCESS_LOG_SUFFIX = "-logs"
"""The bucket receiving a bucket's server access logs is named after it with this suffix."""


def iam_role_name(name: str) -> str:
    """IAM allows 64 characters in a role name; a longer derived name is cut there."""
    return name[:IAM_ROLE_NAME_MAX]


def workload_role_name(namespace: str, service_account: str) -> str:
    """The IAM role of one agent (its ServiceAccount) in one tenant namespace (`WorkloadIdentity`)."""
    return iam_role_name(f"{namespace}-{service_account}")


def synthetic_session_cronjob(agent_id: str) -> str:
    """The CronJob of an agent's synthetic session (`SyntheticSession`)."""
    return f"{agent_id}{SYNTHETIC_SESSION_SUFFIX}"
