"""Names the program derives from settings, checked against the naming rules of the service that gets them.

A tenant id becomes a namespace, a PostgreSQL database and user, an ElastiCache user id and (for tiers with
dedicated data) an RDS instance identifier; an agent id becomes a CronJob and, with its tenant's namespace,
an IAM role name; the data regions become S3 bucket names. Each rule is the service's own (cited where it is
defined here and in the tests), so `up` never fails on a name that settings accepted, and a component never
refuses a name the composition derived from valid settings.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from conventions.identifiers import (
    BOOTSTRAP_TARGET_NAME_MAX,
    BUCKET_PURPOSES,
    DNS1035_LABEL,
    DNS1035_LABEL_MAX,
    IAM_ROLE_NAME_MAX,
    SYNTHETIC_SESSION_SUFFIX,
    agent_track_name,
    bootstrap_target_name,
    bucket_name,
    database_name,
    elasticache_user_id,
    log_bucket_name,
    rds_identifier,
    replica_bucket_name,
    synthetic_session_cronjob,
    workload_role_full_name,
    workload_role_name,
)
from settings.base import is_eu_region
from settings.errors import Problem
from settings.stack import StackSettings

RDS_IDENTIFIER_MAX = 63
DATABASE_NAME_MAX = 63
ELASTICACHE_USER_ID = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]*$")
"""The CreateUser API's UserId pattern (https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/
API_CreateUser.html: `[a-zA-Z][a-zA-Z0-9\\-]*`, minimum length 1, stored lower-case; UserName: minimum length 1)."""
ELASTICACHE_ID_MAX = 40
"""ElastiCache replication group ids: 1 to 40 characters, no two consecutive hyphens, no trailing hyphen
(https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html). CreateUser
documents no maximum for UserId or UserName; the user id is held to the same 40, which refuses nothing AWS would
accept that a tenant id needs (a tenant id of up to 40 - len('-staging') characters)."""
S3_BUCKET_MAX = 63
"""S3 general purpose bucket names are 3 to 63 characters of lower-case letters, digits, '.' and '-'
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html)."""
CRONJOB_NAME_MAX = 52


def tenant_names(s: StackSettings) -> Iterator[Problem]:
    env = s.environment
    for index, tenant in enumerate(s.tenants):
        path = f"tenants[{index}].id"
        if s.tier(tenant.tier).dedicated_data:
            identifier = rds_identifier(env, tenant.id)
            if len(identifier) > RDS_IDENTIFIER_MAX:
                yield Problem(
                    path,
                    f"its dedicated RDS instance identifier {identifier!r} is {len(identifier)} characters; RDS "
                    f"allows at most {RDS_IDENTIFIER_MAX}: shorten the id to "
                    f"{RDS_IDENTIFIER_MAX - len(identifier) + len(tenant.id)} characters",
                )
            elif "--" in identifier:
                yield Problem(
                    path,
                    f"its dedicated RDS instance identifier {identifier!r} has two consecutive hyphens, which RDS "
                    "refuses; use single hyphens in the id",
                )
            job = bootstrap_target_name(identifier)
            if len(job) > BOOTSTRAP_TARGET_NAME_MAX:
                yield Problem(
                    path,
                    f"the database-user Job name {job!r} is {len(job)} characters; at most "
                    f"{BOOTSTRAP_TARGET_NAME_MAX} are allowed: shorten the id",
                )
        database = database_name(tenant.id)
        if len(database) > DATABASE_NAME_MAX:
            yield Problem(
                path,
                f"its PostgreSQL database and user {database!r} are {len(database)} characters; PostgreSQL allows "
                f"at most {DATABASE_NAME_MAX}: shorten the id to {DATABASE_NAME_MAX - len('tenant_')} characters",
            )
        user = elasticache_user_id(tenant.id, env)
        if not ELASTICACHE_USER_ID.match(user) or "--" in user:
            yield Problem(
                path,
                f"its ElastiCache user id {user!r} must start with a letter and have no two consecutive hyphens "
                "(ElastiCache's rule); rename the tenant",
            )
        elif len(user) > ELASTICACHE_ID_MAX:
            yield Problem(
                path,
                f"its ElastiCache user id {user!r} is {len(user)} characters; ElastiCache allows at most "
                f"{ELASTICACHE_ID_MAX}: shorten the id to {ELASTICACHE_ID_MAX - len(user) + len(tenant.id)} characters",
            )


def agent_names(s: StackSettings) -> Iterator[Problem]:
    for index, agent in enumerate(s.agents):
        cronjob = synthetic_session_cronjob(agent.id)
        if len(cronjob) > CRONJOB_NAME_MAX:
            longest = CRONJOB_NAME_MAX - len(SYNTHETIC_SESSION_SUFFIX)
            yield Problem(
                f"agents[{index}].id",
                f"its synthetic-session CronJob {cronjob!r} is {len(cronjob)} characters; Kubernetes allows at most "
                f"{CRONJOB_NAME_MAX} for a CronJob: shorten the id to {longest}",
            )


def agent_service_names(s: StackSettings) -> Iterator[Problem]:
    """An agent's Services are named after its id (the client Service `<id>`, the tracks' `<id>-stable` and
    `<id>-canary`); Kubernetes names Services by RFC 1035 labels, which start with a letter, where other
    objects (and the DNS-1123 label an id is) may start with a digit."""
    for index, agent in enumerate(s.agents):
        for name in (agent.id, agent_track_name(agent.id, "stable"), agent_track_name(agent.id, "canary")):
            if len(name) > DNS1035_LABEL_MAX or not DNS1035_LABEL.match(name):
                yield Problem(
                    f"agents[{index}].id",
                    f"its Service {name!r} is not an RFC 1035 label (Kubernetes Service names must start with a "
                    f"letter and have at most {DNS1035_LABEL_MAX} characters); rename the agent to start with a letter",
                )
                break


def iam_role_names_unique(s: StackSettings) -> Iterator[Problem]:
    """WorkloadIdentity names a role `<namespace>-<agent>` cut to IAM's 64 characters; two cut to one name
    would be one role for two agents."""
    seen: dict[str, str] = {}
    full_names: dict[str, str] = {}
    for t_index, tenant in enumerate(s.tenants):
        namespace = tenant.namespace(s.environment)
        for agent in s.agents:
            if tenant.id not in agent.tenants:
                continue
            full = workload_role_full_name(namespace, agent.id)
            role = workload_role_name(namespace, agent.id)
            if role in seen and full_names[role] != full:  # equal full names are duplicate ids, reported there
                yield Problem(
                    f"tenants[{t_index}].id",
                    f"the IAM roles of {seen[role]} and {namespace}/{agent.id} are both {role!r} once cut to IAM's "
                    f"{IAM_ROLE_NAME_MAX} characters; shorten the tenant or agent id",
                )
            seen[role], full_names[role] = f"{namespace}/{agent.id}", full


def bucket_names(s: StackSettings) -> Iterator[Problem]:
    """Each data site's buckets (their `-replica` copies and both access-log buckets, the longest name
    `<bucket>-replica-logs`) are named after the site's region: the primary region's site always, the EU
    site's when an EU-resident tenant's data leaves a non-EU primary region."""
    regions = [("primary_region", s.primary_region)]
    if not is_eu_region(s.primary_region) and any(t.data_residency == "eu" for t in s.tenants):
        regions.append(("data.eu_region", s.data.eu_region))
    for path, region in regions:
        for purpose in BUCKET_PURPOSES:
            replica = log_bucket_name(replica_bucket_name(bucket_name(s.environment, purpose, region)))
            if len(replica) > S3_BUCKET_MAX:
                yield Problem(
                    path,
                    f"{region!r} makes the replica's log bucket {replica!r} {len(replica)} characters; S3 allows "
                    f"at most {S3_BUCKET_MAX}: use a real AWS region name (at most "
                    f"{S3_BUCKET_MAX - len(replica) + len(region)} characters here)",
                )
                break


RULES = [tenant_names, agent_names, agent_service_names, iam_role_names_unique, bucket_names]
