"""PostgresDatabase: one RDS PostgreSQL instance with the platform's safe defaults.

TLS is enforced by the parameter group, storage and Performance Insights use the stack's KMS key, the
master password is generated and kept by AWS in Secrets Manager (never an input, never in state), and
clients log in with IAM database authentication. In protected stacks the instance is also
`protect=True`, keeps a final snapshot and replicates its automated backups to the DR region, so
point-in-time recovery survives the loss of the primary region.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
from pydantic import Field

from components.base.aws import AwsConfig, service_trust
from components.base.values import Value
from conventions.identifiers import iam_role_name

PORT = 5432
MASTER_USERNAME = "platform_admin"
CA_CERTIFICATE = "rds-ca-rsa2048-g1"
PERFORMANCE_INSIGHTS_DAYS = 7


class PostgresInstance(Value):
    """How the instance is sized, kept and maintained."""

    engine_version: str
    instance_class: str
    allocated_storage_gb: int
    max_allocated_storage_gb: int
    multi_az: bool
    storage_encrypted: bool
    deletion_protection: bool
    final_snapshot: bool
    backup_retention_days: int
    backup_window: str
    maintenance_window: str
    cross_region_backups: bool
    performance_insights: bool
    monitoring_interval_seconds: int
    apply_immediately: bool
    log_min_duration_ms: int


class PostgresConfig(AwsConfig):
    identifier: str = Field(pattern=r"^[a-z][a-z0-9-]{0,62}$")
    instance: PostgresInstance
    kms_key_arn: Any = Field(description="pulumi.Input[str]")
    subnet_group_name: Any = Field(description="pulumi.Input[str]")
    security_group_id: Any = Field(description="pulumi.Input[str]")
    protect: bool = False
    dr_provider: Any = Field(None, description="aws.Provider of the DR region, for backup replication.")
    dr_kms_key_arn: Any = Field(None, description="pulumi.Input[str]: the DR region's key.")

    @property
    def family(self) -> str:
        return f"postgres{self.instance.engine_version.split('.')[0]}"

    def parameters(self) -> dict[str, str]:
        return {
            "rds.force_ssl": "1",
            "log_min_duration_statement": str(self.instance.log_min_duration_ms),
            "log_connections": "1",
            "log_disconnections": "1",
            "log_lock_waits": "1",
            "log_temp_files": "0",
            "log_autovacuum_min_duration": "1000",
        }


class PostgresDatabase(pulumi.ComponentResource):
    address: pulumi.Output[str]
    port: pulumi.Output[int]
    arn: pulumi.Output[str]
    resource_id: pulumi.Output[str]
    master_secret_arn: pulumi.Output[str]

    def __init__(self, name: str, config: PostgresConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("agent-platform:components:PostgresDatabase", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        pg = config.instance
        self.parameter_group = aws.rds.ParameterGroup(
            f"{name}-params",
            name=f"{config.identifier}-{config.family}",
            family=config.family,
            description=f"TLS and logging for {config.identifier}",
            parameters=[{"name": k, "value": v, "apply_method": "immediate"} for k, v in config.parameters().items()],
            tags=config.tags,
            opts=child,
        )
        monitoring_role_arn: pulumi.Output[str] | None = None
        monitoring_deps: list[pulumi.Resource] = []
        if pg.monitoring_interval_seconds:
            role = aws.iam.Role(
                f"{name}-monitoring",
                name=iam_role_name(f"{config.identifier}-rds-monitoring"),
                assume_role_policy=service_trust("monitoring.rds.amazonaws.com"),
                tags=config.tags,
                opts=child,
            )
            attachment = aws.iam.RolePolicyAttachment(
                f"{name}-monitoring-policy",
                role=role.name,
                policy_arn="arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole",
                opts=child,
            )
            monitoring_role_arn, monitoring_deps = role.arn, [attachment]
        self.instance = aws.rds.Instance(
            f"{name}-instance",
            identifier=config.identifier,
            engine="postgres",
            engine_version=pg.engine_version,
            auto_minor_version_upgrade=False,
            allow_major_version_upgrade=False,
            instance_class=pg.instance_class,
            allocated_storage=pg.allocated_storage_gb,
            max_allocated_storage=pg.max_allocated_storage_gb,
            storage_type="gp3",
            storage_encrypted=pg.storage_encrypted,
            kms_key_id=config.kms_key_arn if pg.storage_encrypted else None,
            username=MASTER_USERNAME,
            manage_master_user_password=True,
            master_user_secret_kms_key_id=config.kms_key_arn,
            iam_database_authentication_enabled=True,
            parameter_group_name=self.parameter_group.name,
            ca_cert_identifier=CA_CERTIFICATE,
            db_subnet_group_name=config.subnet_group_name,
            vpc_security_group_ids=[config.security_group_id],
            publicly_accessible=False,
            port=PORT,
            multi_az=pg.multi_az,
            backup_retention_period=pg.backup_retention_days,
            backup_window=pg.backup_window,
            maintenance_window=pg.maintenance_window,
            copy_tags_to_snapshot=True,
            delete_automated_backups=not config.protect,
            deletion_protection=pg.deletion_protection,
            skip_final_snapshot=not pg.final_snapshot,
            final_snapshot_identifier=f"{config.identifier}-final" if pg.final_snapshot else None,
            performance_insights_enabled=pg.performance_insights,
            performance_insights_kms_key_id=config.kms_key_arn if pg.performance_insights else None,
            performance_insights_retention_period=PERFORMANCE_INSIGHTS_DAYS if pg.performance_insights else None,
            monitoring_interval=pg.monitoring_interval_seconds,
            monitoring_role_arn=monitoring_role_arn,
            enabled_cloudwatch_logs_exports=["postgresql", "upgrade"],
            apply_immediately=pg.apply_immediately,
            tags=config.tags,
            opts=pulumi.ResourceOptions(
                parent=self, protect=config.protect, depends_on=[self.parameter_group, *monitoring_deps]
            ),
        )
        if pg.cross_region_backups:
            if config.dr_provider is None or config.dr_kms_key_arn is None:
                raise ValueError(f"{name}: cross_region_backups needs dr_provider and dr_kms_key_arn")
            aws.rds.InstanceAutomatedBackupsReplication(
                f"{name}-backups-dr",
                source_db_instance_arn=self.instance.arn,
                kms_key_id=config.dr_kms_key_arn,
                retention_period=pg.backup_retention_days,
                opts=pulumi.ResourceOptions(parent=self, provider=config.dr_provider, protect=config.protect),
            )
        self.address = self.instance.address
        self.port = self.instance.port
        self.arn = self.instance.arn
        self.resource_id = self.instance.resource_id
        self.master_secret_arn = self.instance.master_user_secrets.apply(lambda s: (s[0].secret_arn or "") if s else "")
        self.register_outputs(
            {
                "address": self.address,
                "port": self.port,
                "arn": self.arn,
                "resource_id": self.resource_id,
                "master_secret_arn": self.master_secret_arn,
            }
        )
