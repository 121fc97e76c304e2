"""Data services per stack: PostgreSQL, Redis, the agent data bucket, their regions and alarms.

Defaults are the cheap `dev` shape; `ENVIRONMENT_DEFAULTS` in `stack.py` raises them for `staging` and
`prod`, and `rules_data.py` refuses the unsafe combinations in `prod`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from settings.base import AwsRegion, SecretField, Settings

DAILY_WINDOW = r"^\d\d:\d\d-\d\d:\d\d$"
_DAY = "(mon|tue|wed|thu|fri|sat|sun)"
WEEKLY_WINDOW = rf"^{_DAY}:\d\d:\d\d-{_DAY}:\d\d:\d\d$"


class Postgres(Settings):
    engine_version: str = Field("16.4", pattern=r"^\d+\.\d+$", description="Pinned; minor upgrades are explicit.")
    instance_class: str = "db.t4g.medium"
    allocated_storage_gb: int = Field(50, ge=20)
    max_allocated_storage_gb: int = Field(200, ge=20, description="Storage autoscaling ceiling.")
    multi_az: bool = False
    storage_encrypted: bool = True
    deletion_protection: bool = False
    final_snapshot: bool = Field(False, description="Take a final snapshot when the instance is deleted.")
    backup_retention_days: int = Field(7, ge=0, le=35, description="Automated backups and point-in-time recovery.")
    backup_window: str = Field("02:00-03:00", pattern=DAILY_WINDOW)
    maintenance_window: str = Field("sun:03:30-sun:04:30", pattern=WEEKLY_WINDOW)
    cross_region_backups: bool = Field(False, description="Replicate automated backups to the DR region.")
    performance_insights: bool = True
    monitoring_interval_seconds: Literal[0, 1, 5, 10, 15, 30, 60] = Field(60, description="Enhanced monitoring.")
    apply_immediately: bool = True
    log_min_duration_ms: int = Field(1000, ge=-1, description="Statements slower than this are logged (-1: off).")


class Redis(Settings):
    engine_version: str = Field("7.1", pattern=r"^\d+\.\d+$")
    node_type: str = "cache.t4g.small"
    num_nodes: int = Field(1, ge=1, le=6, description="Nodes per shard: one primary plus replicas.")
    multi_az: bool = False
    cluster_mode: bool = Field(False, description="Sharded Redis for tenants that outgrow one primary.")
    num_shards: int = Field(1, ge=1, le=500)
    at_rest_encryption: bool = True
    transit_encryption: bool = True
    iam_auth: bool = True
    snapshot_retention_days: int = Field(7, ge=0, le=35)
    snapshot_window: str = Field("03:00-04:00", pattern=DAILY_WINDOW)
    maintenance_window: str = Field("sun:05:00-sun:06:00", pattern=WEEKLY_WINDOW)
    apply_immediately: bool = True


class RegionalNetwork(Settings):
    """Where the EU data services live: a VPC in `eu_region` reached from the cluster's VPC (peering or TGW)."""

    vpc_id: str = Field(pattern=r"^vpc-[0-9a-z]+$")
    subnet_ids: list[str] = Field(min_length=2, description="Private data subnets in at least two AZs.")
    subnet_cidrs: list[str] = Field(min_length=1, description="CIDRs of those subnets; EU tenants' egress allows them.")
    client_cidrs: list[str] = Field(
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
    bootstrap_namespace: str = Field("agent-data", description="Namespace of the Job that creates database users.")
    bootstrap_image: str = Field("public.ecr.aws/docker/library/postgres:16.4-alpine3.20")
    aws_cli_image: str = Field("public.ecr.aws/aws-cli/aws-cli:2.22.35")
    ebs_csi_role_name: str = Field("AmazonEKS_EBS_CSI_DriverRole", description="IAM role of the EBS CSI driver.")
    alarms: Alarms = Alarms()
