"""RedisCache: an ElastiCache Redis replication group reached only with TLS and IAM authentication.

Access goes through an RBAC user group: one IAM-authenticated user per tenant, limited to the tenant's
key prefix, and a disabled `default` user (ElastiCache requires one). There is no auth token: a token is a
resource input and would land in state. With two or more nodes the group fails over automatically, and
in Multi-AZ stacks it is created that way from the first `up`, since a single-node group cannot be made
highly available later without replacement.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
from pydantic import Field, model_validator

from components.base.aws import AwsConfig
from components.base.values import Value
from conventions.labels import TENANT_ID

PORT = 6379
# Key patterns only bind commands that name keys. These act on every tenant's keys or on server-wide state
# whatever `~<prefix>:*` says (SCAN, RANDOMKEY, DBSIZE list others' keys; SCRIPT and FUNCTION flush or replace
# the shared script cache and libraries; PUBSUB lists others' channels); -@dangerous already takes KEYS,
# FLUSHALL, FLUSHDB, SWAPDB, CLIENT, CONFIG, DEBUG, INFO and MONITOR.
KEYSPACE_WIDE = ("scan", "randomkey", "dbsize", "script", "function", "pubsub")


def tenant_access_string(prefix: str) -> str:
    """ElastiCache RBAC access string confining a user to `<prefix>:` keys and channels."""
    denied = " ".join(f"-{command}" for command in KEYSPACE_WIDE)
    return f"on ~{prefix}:* &{prefix}:* +@all -@dangerous {denied}"


class RedisGroup(Value):
    """How the replication group is shaped, secured and kept."""

    engine_version: str
    node_type: str
    num_nodes: int
    multi_az: bool
    cluster_mode: bool
    num_shards: int
    at_rest_encryption: bool
    transit_encryption: bool
    iam_auth: bool
    snapshot_retention_days: int
    snapshot_window: str
    maintenance_window: str
    apply_immediately: bool


class RedisConfig(AwsConfig):
    replication_group_id: str = Field(pattern=r"^[a-z][a-z0-9-]{0,39}$")
    group: RedisGroup
    kms_key_arn: Any = Field(description="pulumi.Input[str]")
    subnet_group_name: Any = Field(description="pulumi.Input[str]")
    security_group_id: Any = Field(description="pulumi.Input[str]")
    users: dict[str, str] = Field(
        default_factory=dict, description="User name -> key prefix it may use (`~<prefix>:*`)."
    )
    protect: bool = False

    @model_validator(mode="after")
    def _safe(self) -> RedisConfig:
        if self.group.iam_auth and not self.group.transit_encryption:
            raise ValueError("IAM authentication needs transit encryption")
        if self.group.multi_az and self.group.num_nodes < 2:
            raise ValueError("Multi-AZ needs at least two nodes")
        return self

    @property
    def major(self) -> str:
        return self.group.engine_version.split(".")[0]

    def node_ids(self) -> list[str]:
        """Member cluster ids as ElastiCache names them; the alarms address nodes by these."""
        r = self.group
        if r.cluster_mode:
            return [
                f"{self.replication_group_id}-{shard:04d}-{node:03d}"
                for shard in range(1, r.num_shards + 1)
                for node in range(1, r.num_nodes + 1)
            ]
        return [f"{self.replication_group_id}-{node:03d}" for node in range(1, r.num_nodes + 1)]


class RedisCache(pulumi.ComponentResource):
    endpoint: pulumi.Output[str]
    reader_endpoint: pulumi.Output[str]
    port: pulumi.Output[int]
    arn: pulumi.Output[str]
    replication_group_id: pulumi.Output[str]
    user_arns: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, config: RedisConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("agent-platform:components:RedisCache", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        r = config.group
        group_id = config.replication_group_id
        default_user = aws.elasticache.User(
            f"{name}-default-user",
            user_id=f"{group_id}-default",
            user_name="default",
            engine="redis",
            access_string="off -@all",
            authentication_mode={"type": "no-password-required"},
            tags=config.tags,
            opts=child,
        )
        users = [default_user]
        self.user_arns = {}
        for user_name, prefix in sorted(config.users.items()):
            # IAM authentication requires the user id to equal the user name.
            user = aws.elasticache.User(
                f"{name}-user-{user_name}",
                user_id=user_name,
                user_name=user_name,
                engine="redis",
                access_string=tenant_access_string(prefix),
                authentication_mode={"type": "iam" if r.iam_auth else "no-password-required"},
                tags={**config.tags, TENANT_ID: prefix},
                opts=child,
            )
            users.append(user)
            self.user_arns[user_name] = user.arn
        self.user_group = aws.elasticache.UserGroup(
            f"{name}-users",
            user_group_id=f"{group_id}-users",
            engine="redis",
            user_ids=[user.user_id for user in users],
            tags=config.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=users),
        )
        shape: dict[str, Any] = (
            {
                "cluster_mode": "enabled",
                "num_node_groups": r.num_shards,
                "replicas_per_node_group": r.num_nodes - 1,
                "parameter_group_name": f"default.redis{config.major}.cluster.on",
            }
            if r.cluster_mode
            else {
                "cluster_mode": "disabled",
                "num_cache_clusters": r.num_nodes,
                "parameter_group_name": f"default.redis{config.major}",
            }
        )
        self.group = aws.elasticache.ReplicationGroup(
            f"{name}-group",
            replication_group_id=group_id,
            description=f"agent-platform Redis ({config.tags['environment']}, {config.region})",
            engine="redis",
            engine_version=r.engine_version,
            auto_minor_version_upgrade=False,
            node_type=r.node_type,
            port=PORT,
            automatic_failover_enabled=r.num_nodes >= 2 or r.cluster_mode,
            multi_az_enabled=r.multi_az,
            at_rest_encryption_enabled=r.at_rest_encryption,
            kms_key_id=config.kms_key_arn if r.at_rest_encryption else None,
            transit_encryption_enabled=r.transit_encryption,
            transit_encryption_mode="required" if r.transit_encryption else None,
            user_group_ids=[self.user_group.user_group_id],
            subnet_group_name=config.subnet_group_name,
            security_group_ids=[config.security_group_id],
            snapshot_retention_limit=r.snapshot_retention_days,
            snapshot_window=r.snapshot_window,
            maintenance_window=r.maintenance_window,
            final_snapshot_identifier=f"{group_id}-final" if config.protect else None,
            apply_immediately=r.apply_immediately,
            tags=config.tags,
            opts=pulumi.ResourceOptions(parent=self, protect=config.protect, depends_on=[self.user_group]),
            **shape,
        )
        address = self.group.configuration_endpoint_address if r.cluster_mode else self.group.primary_endpoint_address
        self.endpoint = address
        self.reader_endpoint = self.group.reader_endpoint_address if not r.cluster_mode else address
        self.port = self.group.port.apply(lambda p: p or PORT)
        self.arn = self.group.arn
        self.replication_group_id = self.group.replication_group_id
        self.register_outputs(
            {
                "replication_group_id": self.replication_group_id,
                "endpoint": self.endpoint,
                "reader_endpoint": self.reader_endpoint,
                "port": self.port,
                "arn": self.arn,
                "user_arns": self.user_arns,
            }
        )
