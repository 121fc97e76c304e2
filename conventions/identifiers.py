"""Names the components derive from ids: the one rule for each, used by the components that create the
objects and by the settings checks that refuse an id whose derived name the service would refuse
(`settings.checks.identifiers`)."""

from __future__ import annotations

import re

IAM_ROLE_NAME_MAX = 64
SYNTHETIC_SESSION_SUFFIX = "-synthetic-session"
REPLICA_SUFFIX = "-replica"
"""A replicated bucket's copy in the DR region is named after it with this suffix."""
ACCESS_LOG_SUFFIX = "-logs"
"""The bucket receiving a bucket's server access logs is named after it with this suffix."""
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
"""Service names (https://kubernetes.io/docs/concepts/overview/working-with-objects/names/#rfc-1035-label-names):
at most 63 lower-case letters, digits and '-', starting with a letter."""
DNS1035_LABEL_MAX = 63
BUCKET_PURPOSES = ("agent-data", "velero")
"""The replicated buckets of a data site, each named by `bucket_name`."""


def iam_role_name(name: str) -> str:
    """IAM allows 64 characters in a role name; a longer derived name is cut there."""
    return name[:IAM_ROLE_NAME_MAX]


def workload_role_full_name(namespace: str, service_account: str) -> str:
    """The role name of one agent in one tenant namespace before IAM's cut (two agents must not share one)."""
    return f"{namespace}-{service_account}"


def workload_role_name(namespace: str, service_account: str) -> str:
    """The IAM role of one agent (its ServiceAccount) in one tenant namespace (`WorkloadIdentity`)."""
    return iam_role_name(workload_role_full_name(namespace, service_account))


def synthetic_session_cronjob(agent_id: str) -> str:
    """The CronJob of an agent's synthetic session (`SyntheticSession`)."""
    return f"{agent_id}{SYNTHETIC_SESSION_SUFFIX}"


def agent_track_name(agent_id: str, track: str) -> str:
    """An agent track's workload and Service (`AgentService`); the agent's client Service is the bare id."""
    return f"{agent_id}-{track}"


def site_prefix(environment: str) -> str:
    """`agent-platform-<env>`: the names of a stack's data services start with it."""
    return f"agent-platform-{environment}"


def rds_identifier(environment: str, tenant_id: str) -> str:
    """A dedicated tenant's RDS instance (`PostgresDatabase`)."""
    return f"{site_prefix(environment)}-{tenant_id}"


BOOTSTRAP_TARGET_NAME_MAX = 40
"""The database-user Job `db-users-<target>-<8 hex digits>` stays within the 63 characters of its `job-name`
label value (https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set)."""


def bootstrap_target_name(identifier: str) -> str:
    """A database server's name in the database-user Jobs (`DatabaseUsers`): its identifier without the
    `agent-platform-` every identifier shares."""
    return identifier.removeprefix("agent-platform-")


def database_name(tenant_id: str) -> str:
    """A tenant's PostgreSQL database and login role."""
    return "tenant_" + tenant_id.replace("-", "_")


def elasticache_user_id(tenant_id: str, environment: str) -> str:
    """Also the user's name: IAM authentication requires the two to be equal."""
    return f"{tenant_id}-{environment}"


def bucket_name(environment: str, purpose: str, region: str) -> str:
    """A data site's bucket in `region`; its replica in the DR region adds REPLICA_SUFFIX."""
    return f"{site_prefix(environment)}-{purpose}-{region}"


def replica_bucket_name(bucket: str) -> str:
    return f"{bucket}{REPLICA_SUFFIX}"


def log_bucket_name(bucket: str) -> str:
    return f"{bucket}{ACCESS_LOG_SUFFIX}"
