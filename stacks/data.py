"""Composition of the data services: per data site (the primary region, plus an EU region for EU-resident
tenants when the primary region is not in the EU) a KMS key, network, PostgreSQL, Redis, AWS Backup, the
agent data bucket and alarms; then, across sites, Velero, the StorageClass, the database-user Job and each
tenant's wiring. An EU-resident tenant's database, cache, bucket, secrets and backups exist only in EU regions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.aws_backup_plan import AwsBackupConfig, AwsBackupPlan
from components.base.aws import BACKUP_TAG, role_arn
from components.data_alarms import DataAlarms, DataAlarmsConfig
from components.data_network import DataNetwork, DataNetworkConfig
from components.database_users import BootstrapTarget, DatabaseUsers, DatabaseUsersConfig, Grant
from components.encrypted_storage_class import EncryptedStorageClass, EncryptedStorageClassArgs
from components.kms_key import KmsKey, KmsKeyConfig
from components.postgres_database import PostgresConfig, PostgresDatabase
from components.redis_cache import RedisCache, RedisConfig
from components.replicated_bucket import ReplicatedBucket, ReplicatedBucketConfig, replication_role_name
from components.tenant_data_access import ESO_API, DatabaseLogin, RedisLogin, TenantDataAccess, TenantDataConfig
from components.velero_backups import API_VERSION as VELERO_API_VERSION
from components.velero_backups import VeleroBackups, VeleroConfig, VeleroLocation
from conventions.labels import TENANT_ID
from conventions.tags import tags
from settings import StackSettings
from settings.base import is_eu_region
from settings.checks.identifiers import database_name, rds_identifier
from settings.data import Postgres
from settings.tenancy import Tenant
from stacks.cluster_connection import ClusterConnection
from stacks.foundation import Foundation

PRIMARY, EU = "primary", "eu"
SITE_SERVICES = ["rds", "elasticache", "backup", "s3", "secretsmanager", "ec2"]
DR_SERVICES = ["rds", "backup", "s3", "secretsmanager"]
NOT_PROTECTED_RECOVERY_DAYS = 7
PROTECTED_RECOVERY_DAYS = 30


@dataclass
class Site:
    """One region's set of data services and the tenants whose data lives there."""

    key: str
    region: str
    dr_region: str
    provider: aws.Provider
    dr_provider: aws.Provider
    tenants: list[Tenant]
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[list[str]]
    client_security_group_id: pulumi.Input[str] | None
    client_cidrs: list[str]
    prefix: str
    """`agent-platform-<env>` plus `-eu` for the EU site: names of this site's resources."""
    outputs: dict[str, Any] = field(default_factory=dict)


class Providers:
    """One explicit provider per extra region, shared by everything in that region."""

    def __init__(self, platform: Foundation):
        self._by_region: dict[str, aws.Provider] = {platform.settings.primary_region: platform.aws_provider}

    def get(self, region: str) -> aws.Provider:
        if region not in self._by_region:
            self._by_region[region] = aws.Provider(f"aws-{region}", region=region)
        return self._by_region[region]


def plan_sites(platform: Foundation, providers: Providers) -> list[Site]:
    s = platform.settings
    base = f"agent-platform-{s.environment}"
    eu_tenants = [t for t in s.tenants if in_eu_site(s, t)]
    primary_tenants = [t for t in s.tenants if not in_eu_site(s, t)]
    sites = [
        Site(
            key=PRIMARY,
            region=s.primary_region,
            dr_region=s.data.replication_region,
            provider=platform.aws_provider,
            dr_provider=providers.get(s.data.replication_region),
            tenants=primary_tenants,
            vpc_id=platform.cluster.vpc_id,
            subnet_ids=platform.cluster.private_subnet_ids,
            client_security_group_id=platform.cluster.node_security_group_id,
            client_cidrs=[],
            prefix=base,
        )
    ]
    if eu_tenants:
        network = s.data.eu_network
        assert network is not None, "rules_data.eu_data_stays_in_eu requires data.eu_network"
        sites.append(
            Site(
                key=EU,
                region=s.data.eu_region,
                dr_region=s.data.eu_replication_region,
                provider=providers.get(s.data.eu_region),
                dr_provider=providers.get(s.data.eu_replication_region),
                tenants=eu_tenants,
                vpc_id=network.vpc_id,
                subnet_ids=network.subnet_ids,
                client_security_group_id=None,
                client_cidrs=network.client_cidrs or [s.cluster.vpc_cidr],
                prefix=f"{base}-eu",
            )
        )
    return sites


def in_eu_site(settings: StackSettings, tenant: Tenant) -> bool:
    """Whether the tenant's data lives in the separate EU site rather than the primary region."""
    return tenant.data_residency == "eu" and not is_eu_region(settings.primary_region)


def site_data_cidrs(settings: StackSettings, site: Site) -> list[str]:
    """The data subnets of a site: its databases and caches live there."""
    if site.key == EU and settings.data.eu_network is not None:
        return settings.data.eu_network.subnet_cidrs
    return settings.cluster.data_subnet_cidrs


def data_subnet_cidrs(settings: StackSettings, tenant: Tenant) -> list[str]:
    """Where the tenant's pods may open 5432/6379: its own site's data subnets, never another site's."""
    if in_eu_site(settings, tenant) and settings.data.eu_network is not None:
        return settings.data.eu_network.subnet_cidrs
    return settings.cluster.data_subnet_cidrs


def account_of(cluster: ClusterConnection) -> pulumi.Output[str]:
    """The account that runs the cluster, read from its OIDC provider's ARN (arn:aws:iam::<account>:...)."""
    return pulumi.Output.from_input(cluster.oidc_provider_arn).apply(lambda arn: arn.split(":")[4])


def velero_role_name(environment: str) -> str:
    """Fixed, so the Velero release can name the role before the data part creates it."""
    return f"agent-platform-{environment}-velero"


def db_name(tenant_id: str) -> str:
    return database_name(tenant_id)


def _bucket(site: Site, purpose: str) -> str:
    return f"{site.prefix.removesuffix('-eu')}-{purpose}-{site.region}"


def build_data(platform: Foundation) -> dict[str, Any]:
    s = platform.settings
    env = s.environment
    providers = Providers(platform)
    account = account_of(platform.cluster)
    sites = plan_sites(platform, providers)
    protect = s.data.protect
    velero_role = velero_role_name(env)
    site_of: dict[str, Site] = {}
    databases: dict[str, PostgresDatabase] = {}
    targets: list[BootstrapTarget] = []
    redis_of: dict[str, RedisCache] = {}
    bucket_of: dict[str, ReplicatedBucket] = {}
    keys: dict[str, tuple[KmsKey, KmsKey]] = {}

    for site in sites:
        site_tags = tags(env, **{BACKUP_TAG: site.prefix, "data-site": site.key})
        opts = pulumi.ResourceOptions(provider=site.provider)
        dr_opts = pulumi.ResourceOptions(provider=site.dr_provider)
        replicators = [replication_role_name(_bucket(site, p)) for p in ("agent-data", "velero")]
        key_users = [*replicators, velero_role] + ([s.data.ebs_csi_role_name] if site.key == PRIMARY else [])
        alias = s.names.kms_alias_for(env, site.region)
        key = KmsKey(
            f"{site.prefix}-kms",
            KmsKeyConfig(
                region=site.region,
                tags=site_tags,
                alias=alias,
                account_id=account,
                services=SITE_SERVICES,
                role_arns=[role_arn(account, name) for name in key_users],
                protect=protect,
            ),
            opts=opts,
        )
        dr_key = KmsKey(
            f"{site.prefix}-dr-kms",
            KmsKeyConfig(
                region=site.dr_region,
                tags=site_tags,
                alias=s.names.kms_alias_for(env, site.dr_region),
                account_id=account,
                services=DR_SERVICES,
                role_arns=[role_arn(account, name) for name in replicators],
                protect=protect,
            ),
            opts=dr_opts,
        )
        keys[site.key] = (key, dr_key)
        network = DataNetwork(
            f"{site.prefix}-data",
            DataNetworkConfig(
                region=site.region,
                tags=site_tags,
                vpc_id=site.vpc_id,
                subnet_ids=site.subnet_ids,
                client_security_group_id=site.client_security_group_id,
                client_cidrs=site.client_cidrs,
            ),
            opts=opts,
        )

        shared_tenants = [t for t in site.tenants if not s.tier(t.tier).dedicated_data]
        dedicated_tenants = [t for t in site.tenants if s.tier(t.tier).dedicated_data]
        pg = _PostgresFactory(s.data.postgres, site, key, dr_key, network, protect)
        shared = pg(site.prefix, site_tags)
        site_dbs = {site.prefix: (shared, shared_tenants)}
        for tenant in dedicated_tenants:
            identifier = rds_identifier(env, tenant.id)
            site_dbs[identifier] = (pg(identifier, {**site_tags, TENANT_ID: tenant.id}), [tenant])
        for identifier, (database, owners) in site_dbs.items():
            for tenant in owners:
                databases[tenant.id] = database
            if owners:
                targets.append(
                    BootstrapTarget(
                        name=identifier.removeprefix("agent-platform-"),
                        region=site.region,
                        host=database.address,
                        port=5432,
                        master_secret_arn=database.master_secret_arn,
                        kms_key_arn=key.key_arn,
                        grants=[Grant(database=db_name(t.id), user=db_name(t.id)) for t in owners],
                        depends_on=[database],
                    )
                )
        redis_config = RedisConfig(
            region=site.region,
            tags=site_tags,
            replication_group_id=f"agents-{env}{'-eu' if site.key == EU else ''}",
            settings=s.data.redis,
            kms_key_arn=key.key_arn,
            subnet_group_name=network.cache_subnet_group_name,
            security_group_id=network.security_group_ids["redis"],
            users={f"{t.id}-{env}": t.id for t in site.tenants},
            protect=protect,
        )
        redis = RedisCache(f"{site.prefix}-redis", redis_config, opts=opts)
        backup = AwsBackupPlan(
            f"{site.prefix}-backup",
            AwsBackupConfig(
                region=site.region,
                tags=site_tags,
                plan_name=site.prefix,
                settings=s.backups.aws_backup,
                kms_key_arn=key.key_arn,
                dr_provider=site.dr_provider,
                dr_kms_key_arn=dr_key.key_arn,
                protect=protect,
            ),
            opts=opts,
        )
        bucket = ReplicatedBucket(
            f"{site.prefix}-agent-data",
            ReplicatedBucketConfig(
                region=site.region,
                tags=site_tags,
                bucket=_bucket(site, "agent-data"),
                replica_region=site.dr_region,
                kms_key_arn=key.key_arn,
                replica_provider=site.dr_provider,
                replica_kms_key_arn=dr_key.key_arn,
                noncurrent_version_days=None,
                protect=protect,
            ),
            opts=opts,
        )
        alarms = DataAlarms(
            f"{site.prefix}-alarms",
            DataAlarmsConfig(
                region=site.region,
                tags=site_tags,
                topic_name=f"{site.prefix}-data-alarms",
                settings=s.data.alarms,
                databases=list(site_dbs),
                redis_nodes=redis_config.node_ids(),
            ),
            opts=opts,
        )
        for tenant in site.tenants:
            site_of[tenant.id] = site
            redis_of[tenant.id] = redis
            bucket_of[tenant.id] = bucket
        site.outputs = {
            "region": site.region,
            "dr_region": site.dr_region,
            "kms_key_arn": key.key_arn,
            "dr_kms_key_arn": dr_key.key_arn,
            "postgres": _postgres_outputs(shared),
            "redis": {"endpoint": redis.endpoint, "reader_endpoint": redis.reader_endpoint, "port": redis.port},
            "agent_data_bucket": bucket.bucket_name,
            "agent_data_replica_bucket": bucket.replica_bucket_name,
            "backup": {
                "vault_name": backup.vault_name,
                "vault_arn": backup.vault_arn,
                "plan_id": backup.plan_id,
                "dr_vault_arn": backup.dr_vault_arn,
            },
            "alarm_topic_arn": alarms.topic_arn,
            "dedicated_postgres": {t.id: _postgres_outputs(databases[t.id]) for t in dedicated_tenants},
        }

    k8s_and_primary = pulumi.ResourceOptions(providers=[platform.aws_provider, platform.k8s_provider])
    cluster_tags = tags(env, **{"data-site": PRIMARY})
    storage_class = EncryptedStorageClass(
        "storage-class",
        EncryptedStorageClassArgs(
            name=s.names.storage_class,
            kms_key_arn=keys[PRIMARY][0].key_arn,
            retain=protect,
            backup_plan=sites[0].prefix,
        ),
        opts=pulumi.ResourceOptions(provider=platform.k8s_provider),
    )
    velero = VeleroBackups(
        "velero",
        VeleroConfig(
            region=s.primary_region,
            tags=cluster_tags,
            settings=s.backups.velero,
            role_name=velero_role,
            crd_installers=platform.crd_installers(VELERO_API_VERSION),
            oidc_provider_arn=platform.cluster.oidc_provider_arn,
            oidc_issuer=platform.cluster.oidc_issuer,
            protect=protect,
            locations=[
                VeleroLocation(
                    name=site.prefix.removeprefix("agent-platform-"),
                    region=site.region,
                    replica_region=site.dr_region,
                    bucket=_bucket(site, "velero"),
                    provider=site.provider,
                    replica_provider=site.dr_provider,
                    kms_key_arn=keys[site.key][0].key_arn,
                    replica_kms_key_arn=keys[site.key][1].key_arn,
                    namespaces=[t.namespace(env) for t in site.tenants],
                    tags=tags(env, **{"data-site": site.key}),
                    # EBS snapshots stay in the cluster's region; other sites get file-system copies.
                    snapshot_volumes=s.backups.velero.snapshot_volumes and site.region == s.primary_region,
                )
                for site in sites
                if site.tenants
            ],
        ),
        opts=k8s_and_primary,
    )
    users = DatabaseUsers(
        "database-users",
        DatabaseUsersConfig(
            region=s.primary_region,
            tags=cluster_tags,
            namespace=s.data.bootstrap_namespace,
            database_cidrs=sorted({cidr for site in sites if site.tenants for cidr in site_data_cidrs(s, site)}),
            vpc_cidr=s.cluster.vpc_cidr,
            aws_api_cidrs=s.cluster.aws_api_cidrs,
            role_name=f"agent-platform-{env}-db-bootstrap",
            oidc_provider_arn=platform.cluster.oidc_provider_arn,
            oidc_issuer=platform.cluster.oidc_issuer,
            image=s.data.bootstrap_image,
            aws_cli_image=s.data.aws_cli_image,
            targets=targets,
        ),
        opts=k8s_and_primary,
    )
    tenant_outputs: dict[str, Any] = {}
    for tenant in s.tenants:
        site = site_of[tenant.id]
        key = keys[site.key][0]
        database, redis = databases[tenant.id], redis_of[tenant.id]
        access = TenantDataAccess(
            f"{tenant.id}-data",
            TenantDataConfig(
                crd_installers=platform.crd_installers(ESO_API),
                region=site.region,
                tags=tags(env, tenant.id, **{"data-site": site.key}),
                tenant_id=tenant.id,
                namespace=tenant.namespace(env),
                account_id=account,
                kms_key_arn=key.key_arn,
                secret_prefix=f"agent-platform/{env}/{tenant.id}/",
                secret_name=s.names.agent_secret,
                secret_keys=s.names.agent_secret_keys,
                oidc_provider_arn=platform.cluster.oidc_provider_arn,
                oidc_issuer=platform.cluster.oidc_issuer,
                database=DatabaseLogin(
                    host=database.address,
                    port=5432,
                    database=db_name(tenant.id),
                    user=db_name(tenant.id),
                    resource_id=database.resource_id,
                ),
                redis=RedisLogin(
                    host=redis.endpoint,
                    port=6379,
                    user=f"{tenant.id}-{env}",
                    user_arn=redis.user_arns[f"{tenant.id}-{env}"],
                    group_arn=redis.arn,
                    replication_group_id=redis.replication_group_id,
                ),
                data_bucket_arn=bucket_of[tenant.id].bucket_arn,
                agent_role_names={
                    agent_id: identity.role_name
                    for (tenant_id, agent_id), identity in platform.identities.items()
                    if tenant_id == tenant.id
                },
                recovery_window_days=PROTECTED_RECOVERY_DAYS if protect else NOT_PROTECTED_RECOVERY_DAYS,
                replica_region=site.dr_region,
                replica_kms_key_arn=keys[site.key][1].key_arn,
            ),
            opts=pulumi.ResourceOptions(
                providers=[site.provider, platform.k8s_provider], depends_on=[platform.tenants[tenant.id]]
            ),
        )
        tenant_outputs[tenant.id] = {
            "data_site": site.key,
            "region": site.region,
            "database_url": access.database_url,
            "redis_url": access.redis_url,
            "llm_secret_arns": access.llm_secret_arns,
        }
    return {
        "data": {
            "sites": {site.key: site.outputs for site in sites},
            "tenants": tenant_outputs,
            "storage_class": storage_class.name,
            "velero": {
                "role_arn": velero.role_arn,
                "bucket_names": velero.bucket_names,
                "schedules": velero.schedule_names,
            },
            "database_users": {"role_arn": users.role_arn, "jobs": users.job_names},
        }
    }


def _postgres_outputs(database: PostgresDatabase) -> dict[str, Any]:
    return {
        "endpoint": database.address,
        "port": database.port,
        "master_secret_arn": database.master_secret_arn,
        "resource_id": database.resource_id,
    }


@dataclass(frozen=True)
class _PostgresFactory:
    """The shared and the dedicated instances of a site differ only in identifier and tags."""

    settings: Postgres
    site: Site
    key: KmsKey
    dr_key: KmsKey
    network: DataNetwork
    protect: bool

    def __call__(self, identifier: str, db_tags: dict[str, str]) -> PostgresDatabase:
        return PostgresDatabase(
            identifier,
            PostgresConfig(
                region=self.site.region,
                tags=db_tags,
                identifier=identifier,
                settings=self.settings,
                kms_key_arn=self.key.key_arn,
                subnet_group_name=self.network.db_subnet_group_name,
                security_group_id=self.network.security_group_ids["postgres"],
                protect=self.protect,
                dr_provider=self.site.dr_provider,
                dr_kms_key_arn=self.dr_key.key_arn,
            ),
            opts=pulumi.ResourceOptions(provider=self.site.provider),
        )
