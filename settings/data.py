"""Data services per stack: PostgreSQL, Redis, the agent data bucket, their regions and alarms.

Defaults are the cheap `dev` shape; `ENVIRONMENT_DEFAULTS` in `stack.py` raises them for `staging` and
`prod`, and `rules_data.py` refuses the unsafe combinations in `prod`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from settings.base import AwsRegion, SecretField, Settings
from settings.formats import (
    CacheNodeType,
    DailyWindow,
    EngineVersion,
    IamRoleName,
    ImageReference,
    Namespace,
    NonEmpty,
    PrivateCidr,
    RdsInstanceClass,
    SubnetId,
    VpcId,
    WeeklyWindow,
)

# RDS for PostgreSQL stores at most 64 TiB; RDS windows last at least 30 minutes, ElastiCache's 60.
RDS_MAX_STORAGE_GB = 65536
RDS_MIN_WINDOW = 30
CACHE_MIN_WINDOW = 60


class Postgres(Settings):
    engine_version: EngineVersion = Field("16.4", description="Pinned; minor upgrades are explicit.")
    instance_class: RdsInstanceClass = "db.t4g.medium"
    allocated_storage_gb: int = Field(50, ge=20, le=RDS_MAX_STORAGE_GB)
    max_allocated_storage_gb: int = Field(200, ge=20, le=RDS_MAX_STORAGE_GB, description="Storage autoscaling ceiling.")
    multi_az: bool = False
    storage_encrypted: bool = True
    deletion_protection: bool = False
    final_snapshot: bool = Field(False, description="Take a final snapshot when the instance is deleted.")
    backup_retention_days: int = Field(7, ge=0, le=35, description="Automated backups and point-in-time recovery.")
    backup_window: Annotated[str, DailyWindow(RDS_MIN_WINDOW)] = "02:00-03:00"
    maintenance_window: Annotated[str, WeeklyWindow(RDS_MIN_WINDOW)] = "sun:03:30-sun:04:30"
    cross_region_backups: bool = Field(False, description="Replicate automated backups to the DR region.")
    performance_insights: bool = True
    monitoring_interval_seconds: Literal[0, 1, 5, 10, 15, 30, 60] = Field(60, description="Enhanced monitoring.")
    apply_immediately: bool = True
    log_min_duration_ms: int = Field(1000, ge=-1, description="Statements slower than this are logged (-1: off).")


class Redis(Settings):
    engine_version: EngineVersion = "7.1"
    node_type: CacheNodeType = "cache.t4g.small"
    num_nodes: int = Field(1, ge=1, le=6, description="Nodes per shard: one primary plus replicas.")
    multi_az: bool = False
    cluster_mode: bool = Field(False, description="Sharded Redis for tenants that outgrow one primary.")
    num_shards: int = Field(1, ge=1, le=500)
    at_rest_encryption: bool = True
    transit_encryption: bool = True
    iam_auth: bool = True
    snapshot_retention_days: int = Field(7, ge=0, le=35)
    snapshot_window: Annotated[str, DailyWindow(CACHE_MIN_WINDOW)] = "03:00-04:00"
    maintenance_window: Annotated[str, WeeklyWindow(CACHE_MIN_WINDOW)] = "sun:05:00-sun:06:00"
    apply_immediately: bool = True


class RegionalNetwork(Settings):
    """Where the EU data services live: a VPC in `eu_region` reached from the cluster's VPC (peering or TGW)."""

    vpc_id: VpcId
    subnet_ids: list[SubnetId] = Field(min_length=2, description="Private data subnets in at least two AZs.")
    subnet_cidrs: list[PrivateCidr] = Field(
        min_length=1, description="CIDRs of those subnets; EU tenants' egress allows them."
    )
    client_cidrs: list[PrivateCidr] = Field(
        default_factory=list,
        description="CIDRs admitted to 5432/6379; default: the cluster's VPC CIDR (security groups cannot "
        "reference another region's groups).",
    )


class Alarms(Settings):
    """CloudWatch alarms on the data services, sent to one SNS topic per data site.

    SNS delivers to an HTTPS endpoint only after the endpoint confirms the subscription by fetching the
    `SubscribeURL` SNS posts to it. Alertmanager has no such endpoint; an on-call service's CloudWatch
    integration does (`settings/checks/data.py` lists the hosts known to).
    """

    subscription_endpoint: str | None = SecretField(
        description="HTTPS URL of an on-call integration that confirms SNS subscriptions itself, e.g. PagerDuty's "
        "Amazon CloudWatch integration `https://events.pagerduty.com/integration/<key>/enqueue`; secret (the URL "
        "holds the integration key). Without it the topics have no subscriber (docs/data-alarms.md)."
    )
    cpu_percent: float = Field(80, gt=0, le=100)
    free_storage_gb: float = Field(10, gt=0)
    connections: int = Field(400, gt=0)
    redis_memory_percent: float = Field(80, gt=0, le=100)
    redis_evictions: int = Field(100, ge=0, description="Evictions per 5 minutes.")
    redis_replication_lag_seconds: float = Field(5, gt=0)


class Migration(Settings):
    """Acknowledges a change that deletes, replaces or repoints something holding data (docs/data-changes.md)."""

    resource: NonEmpty = Field(description="The resource's name as the refusal gives it, e.g. umbrella-data.")
    plan: NonEmpty = Field(description="How the data moves (or why losing it is fine); kept for the review.")


class Data(Settings):
    postgres: Postgres = Postgres()
    redis: Redis = Redis()
    protect: bool = Field(False, description="`protect` on databases, caches, keys, vaults and buckets.")
    replication_region: AwsRegion = Field("us-west-2", description="DR region for backups and bucket replication.")
    eu_region: AwsRegion = Field("eu-west-1", description="Region for EU-resident tenants' data.")
    eu_replication_region: AwsRegion = Field("eu-central-1", description="DR region for EU-resident data.")
    eu_network: RegionalNetwork | None = Field(
        None, description="Required when EU-resident tenants exist and the primary region is not in the EU."
    )
    bootstrap_namespace: Namespace = Field(
        "agent-data", description="Namespace of the Job that creates database users."
    )
    bootstrap_image: ImageReference = Field("public.ecr.aws/docker/library/postgres:16.4-alpine3.20")
    aws_cli_image: ImageReference = Field("public.ecr.aws/aws-cli/aws-cli:2.22.35")
    ebs_csi_role_name: IamRoleName = Field(
        "AmazonEKS_EBS_CSI_DriverRole", description="IAM role of the EBS CSI driver."
    )
    alarms: Alarms = Alarms()
    migrations: list[Migration] = Field(
        default_factory=list, description="Acknowledged data moves; remove an entry once its change is deployed."
    )
