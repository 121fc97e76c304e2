"""Data services per stack: PostgreSQL, Redis and the agent data bucket."""

from __future__ import annotations

from pydantic import Field

from stacks.settings.base import AwsRegion, Settings


class Postgres(Settings):
    engine_version: str = Field("16.4", pattern=r"^\d+\.\d+$")
    instance_class: str = "db.t4g.medium"
    allocated_storage_gb: int = Field(50, ge=20)
    max_allocated_storage_gb: int = Field(200, ge=20)
    multi_az: bool = False
    storage_encrypted: bool = True
    deletion_protection: bool = False
    backup_retention_days: int = Field(7, ge=0, le=35)
    backup_window: str = Field("02:00-03:00", pattern=r"^\d\d:\d\d-\d\d:\d\d$")
    maintenance_window: str = "sun:03:30-sun:04:30"
    cross_region_backups: bool = False
    performance_insights: bool = True
    monitoring_interval_seconds: int = Field(60, ge=0)
    apply_immediately: bool = True


class Redis(Settings):
    engine_version: str = Field("7.1", pattern=r"^\d+\.\d+$")
    node_type: str = "cache.t4g.small"
    num_nodes: int = Field(1, ge=1)
    multi_az: bool = False
    cluster_mode: bool = False
    num_shards: int = Field(1, ge=1)
    at_rest_encryption: bool = True
    transit_encryption: bool = True
    iam_auth: bool = True
    snapshot_retention_days: int = Field(7, ge=0)
    snapshot_window: str = "03:00-04:00"
    maintenance_window: str = "sun:05:00-sun:06:00"


class Data(Settings):
    postgres: Postgres = Postgres()
    redis: Redis = Redis()
    replication_region: AwsRegion = Field("us-west-2", description="DR region for backups and bucket replication.")
    eu_region: AwsRegion = Field("eu-west-1", description="Region for EU-resident tenants' data.")
    eu_replication_region: AwsRegion = "eu-central-1"
