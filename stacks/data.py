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

from components.aws_backup_plan import AwsBackupConfig, AwsBackupPlan, BackupSchedule
from components.base.aws import BACKUP_TAG, role_arn
from components.base.secrets import AgentSecretKeys
from components.data_alarms import AlarmThresholds, DataAlarms, DataAlarmsConfig
from components.data_network import DataNetwork, DataNetworkConfig
from components.database_users import BootstrapTarget, DatabaseUsers, DatabaseUsersConfig, Grant
from components.encrypted_storage_class import EncryptedStorageClass, EncryptedStorageClassArgs
from components.kms_key import KmsKey, KmsKeyConfig
from components.postgres_database import PostgresConfig, PostgresDatabase, PostgresInstance
from components.redis_cache import RedisCache, RedisConfig, RedisGroup
from components.replicated_bucket import ReplicatedBucket, ReplicatedBucketConfig, replication_role_name
from components.tenant_data_access import ESO_API, DatabaseLogin, RedisLogin, TenantDataAccess, TenantDataConfig
from components.velero_backups import API_VERSION as VELERO_API_VERSION
from components.velero_backups import VeleroBackups, VeleroConfig, VeleroLocation, VeleroServer
from conventions.identifiers import (
    BUCKET_PURPOSES,
    bootstrap_target_name,
    bucket_name,
    database_name,
    elasticache_user_id,
    rds_identifier,
    site_prefix,
)
from conventions.labels import TENANT_ID
from conventions.tags import tags
from settings import StackSettings
from settings.base import is_eu_region
from settings.tenancy import Tenant
from stacks.cluster_connection import ClusterConnection
from stacks.foundation import Foundation

PRIMARY, EU = "primary", "eu"
SITE_SERVICES = ["rds", "elasticache", "backup", "s3", "secretsmanager", "ec2"]
ALARM_PUBLISHER = "cloudwatch.amazonaws.com"
"""Publishes the data alarms to the site's topic, encrypted with the site's key."""
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
    base = site_prefix(s.environment)
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


def data_region(settings: StackSettings, tenant: Tenant) -> str:
    """The region of the tenant's database: its pods verify the server certificate with that region's CAs."""
    return settings.data.eu_region if in_eu_site(settings, tenant) else settings.primary_region


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


@dataclass(frozen=True)
class SiteKeys:
    """A site's KMS keys: `key` in its region for everything stored there, `dr_key` in its DR region for
    the copies."""

    key: KmsKey
    dr_key: KmsKey


@dataclass(frozen=True)
class SiteDatabases:
    """A site's PostgreSQL instances: the shared one, and one per tenant whose tier has dedicated data."""

    shared: PostgresDatabase
    owners: dict[str, tuple[PostgresDatabase, list[Tenant]]]
    """RDS identifier -> the instance and the tenants whose databases it holds."""
    dedicated_tenants: list[Tenant]
    targets: list[BootstrapTarget]
    """What the database-user Job creates: one target per instance that holds any tenant's database."""

    def of(self, tenant_id: str) -> PostgresDatabase:
        return next(db for db, tenants in self.owners.values() if any(t.id == tenant_id for t in tenants))


@dataclass(frozen=True)
class SiteCache:
    cache: RedisCache
    node_ids: list[str]


@dataclass(frozen=True)
class SiteData:
    """Everything one data site created, and what the cluster-wide and tenant steps read of it."""

    site: Site
    keys: SiteKeys
    databases: SiteDatabases
    cache: SiteCache
    backup: AwsBackupPlan
    bucket: ReplicatedBucket
    alarms: DataAlarms

    def outputs(self) -> dict[str, Any]:
        redis = self.cache.cache
        backup = self.backup
        return {
            "region": self.site.region,
            "dr_region": self.site.dr_region,
            "kms_key_arn": self.keys.key.key_arn,
            "dr_kms_key_arn": self.keys.dr_key.key_arn,
            "postgres": _postgres_outputs(self.databases.shared),
            "redis": {"endpoint": redis.endpoint, "reader_endpoint": redis.reader_endpoint, "port": redis.port},
            "agent_data_bucket": self.bucket.bucket_name,
            "agent_data_replica_bucket": self.bucket.replica_bucket_name,
            "backup": {
                "vault_name": backup.vault_name,
                "vault_arn": backup.vault_arn,
                "plan_id": backup.plan_id,
                "dr_vault_arn": backup.dr_vault_arn,
            },
            "alarm_topic_arn": self.alarms.topic_arn,
            "dedicated_postgres": {
                t.id: _postgres_outputs(self.databases.of(t.id)) for t in self.databases.dedicated_tenants
            },
        }


@dataclass(frozen=True)
class TenantData:
    site: SiteData
    access: TenantDataAccess


@dataclass(frozen=True)
class DataResult:
    """What the data part created: per site, the cluster-wide backup and bootstrap services, and each
    tenant's data access."""

    sites: list[SiteData]
    storage_class: EncryptedStorageClass
    velero: VeleroBackups
    database_users: DatabaseUsers
    tenants: dict[str, TenantData]

    def outputs(self) -> dict[str, Any]:
        return {
            "data": {
                "sites": {data.site.key: data.outputs() for data in self.sites},
                "tenants": {
                    tenant_id: {
                        "data_site": tenant.site.site.key,
                        "region": tenant.site.site.region,
                        "database_url": tenant.access.database_url,
                        "redis_url": tenant.access.redis_url,
                        "llm_secret_arns": tenant.access.llm_secret_arns,
                    }
                    for tenant_id, tenant in self.tenants.items()
                },
                "storage_class": self.storage_class.name,
                "velero": {
                    "role_arn": self.velero.role_arn,
                    "bucket_names": self.velero.bucket_names,
                    "schedules": self.velero.schedule_names,
                },
                "database_users": {"role_arn": self.database_users.role_arn, "jobs": self.database_users.job_names},
            }
        }


def build_data(platform: Foundation) -> DataResult:
    """Per site the encryption keys, network, databases, cache, backups, bucket and alarms; then the
    cluster-wide StorageClass, Velero and database-user Job; then each tenant's data access."""
    s = platform.settings
    account = account_of(platform.cluster)
    sites = [build_site(s, site, account) for site in plan_sites(platform, Providers(platform))]
    storage_class = build_storage_class(s, platform, sites[0])
    velero = build_velero(s, platform, sites)
    users = build_database_users(s, platform, sites)
    site_of = {t.id: data for data in sites for t in data.site.tenants}
    tenants = {
        t.id: TenantData(site_of[t.id], build_tenant_access(s, platform, t, site_of[t.id], account)) for t in s.tenants
    }
    return DataResult(sites, storage_class, velero, users, tenants)


def build_site(s: StackSettings, site: Site, account: pulumi.Input[str]) -> SiteData:
    site_tags = tags(s.environment, **{BACKUP_TAG: site.prefix, "data-site": site.key})
    keys = build_keys(s, site, account, site_tags)
    network = build_network(site, site_tags)
    databases = build_databases(s, site, keys, network, site_tags)
    cache = build_cache(s, site, keys, network, site_tags)
    backup = build_backup(s, site, keys, site_tags)
    bucket = build_bucket(s, site, keys, site_tags)
    alarms = build_alarms(s, site, keys, databases, cache, site_tags)
    return SiteData(site, keys, databases, cache, backup, bucket, alarms)


def build_keys(s: StackSettings, site: Site, account: pulumi.Input[str], site_tags: dict[str, str]) -> SiteKeys:
    """The roles that replicate the site's buckets use both keys; Velero and (in the cluster's region) the
    EBS CSI driver use the site's own."""
    env = s.environment
    replicators = [replication_role_name(bucket_name(env, p, site.region)) for p in BUCKET_PURPOSES]
    key_users = [*replicators, velero_role_name(env)] + ([s.data.ebs_csi_role_name] if site.key == PRIMARY else [])
    key = KmsKey(
        f"{site.prefix}-kms",
        KmsKeyConfig(
            region=site.region,
            tags=site_tags,
            alias=s.names.kms_alias_for(env, site.region),
            account_id=account,
            services=SITE_SERVICES,
            publishers=[ALARM_PUBLISHER],
            role_arns=[role_arn(account, name) for name in key_users],
            protect=s.data.protect,
        ),
        opts=pulumi.ResourceOptions(provider=site.provider),
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
            protect=s.data.protect,
        ),
        opts=pulumi.ResourceOptions(provider=site.dr_provider),
    )
    return SiteKeys(key, dr_key)


def build_network(site: Site, site_tags: dict[str, str]) -> DataNetwork:
    return DataNetwork(
        f"{site.prefix}-data",
        DataNetworkConfig(
            region=site.region,
            tags=site_tags,
            vpc_id=site.vpc_id,
            subnet_ids=site.subnet_ids,
            client_security_group_id=site.client_security_group_id,
            client_cidrs=site.client_cidrs,
        ),
        opts=pulumi.ResourceOptions(provider=site.provider),
    )


def build_databases(
    s: StackSettings, site: Site, keys: SiteKeys, network: DataNetwork, site_tags: dict[str, str]
) -> SiteDatabases:
    shared_tenants = [t for t in site.tenants if not s.tier(t.tier).dedicated_data]
    dedicated_tenants = [t for t in site.tenants if s.tier(t.tier).dedicated_data]
    pg = _PostgresFactory(PostgresInstance.of(s.data.postgres), site, keys.key, keys.dr_key, network, s.data.protect)
    shared = pg(site.prefix, site_tags)
    owners = {site.prefix: (shared, shared_tenants)}
    for tenant in dedicated_tenants:
        identifier = rds_identifier(s.environment, tenant.id)
        owners[identifier] = (pg(identifier, {**site_tags, TENANT_ID: tenant.id}), [tenant])
    targets = [
        BootstrapTarget(
            name=bootstrap_target_name(identifier),
            region=site.region,
            host=database.address,
            port=5432,
            master_secret_arn=database.master_secret_arn,
            kms_key_arn=keys.key.key_arn,
            grants=[Grant(database=db_name(t.id), user=db_name(t.id)) for t in tenants],
            depends_on=[database],
        )
        for identifier, (database, tenants) in owners.items()
        if tenants
    ]
    return SiteDatabases(shared, owners, dedicated_tenants, targets)


def build_cache(
    s: StackSettings, site: Site, keys: SiteKeys, network: DataNetwork, site_tags: dict[str, str]
) -> SiteCache:
    """One replication group per site, with one Redis user per tenant."""
    env = s.environment
    config = RedisConfig(
        region=site.region,
        tags=site_tags,
        replication_group_id=f"agents-{env}{'-eu' if site.key == EU else ''}",
        group=RedisGroup.of(s.data.redis),
        kms_key_arn=keys.key.key_arn,
        subnet_group_name=network.cache_subnet_group_name,
        security_group_id=network.security_group_ids["redis"],
        users={elasticache_user_id(t.id, env): t.id for t in site.tenants},
        protect=s.data.protect,
    )
    cache = RedisCache(f"{site.prefix}-redis", config, opts=pulumi.ResourceOptions(provider=site.provider))
    return SiteCache(cache, config.node_ids())


def build_backup(s: StackSettings, site: Site, keys: SiteKeys, site_tags: dict[str, str]) -> AwsBackupPlan:
    """AWS Backup of the site's tagged resources, with a copy of each recovery point in the DR region."""
    return AwsBackupPlan(
        f"{site.prefix}-backup",
        AwsBackupConfig(
            region=site.region,
            tags=site_tags,
            plan_name=site.prefix,
            schedule=BackupSchedule.of(s.backups.aws_backup),
            kms_key_arn=keys.key.key_arn,
            dr_provider=site.dr_provider,
            dr_kms_key_arn=keys.dr_key.key_arn,
            protect=s.data.protect,
        ),
        opts=pulumi.ResourceOptions(provider=site.provider),
    )


def build_bucket(s: StackSettings, site: Site, keys: SiteKeys, site_tags: dict[str, str]) -> ReplicatedBucket:
    return ReplicatedBucket(
        f"{site.prefix}-agent-data",
        ReplicatedBucketConfig(
            region=site.region,
            tags=site_tags,
            bucket=bucket_name(s.environment, "agent-data", site.region),
            access_log_tags={k: v for k, v in site_tags.items() if k != BACKUP_TAG},
            replica_region=site.dr_region,
            kms_key_arn=keys.key.key_arn,
            replica_provider=site.dr_provider,
            replica_kms_key_arn=keys.dr_key.key_arn,
            noncurrent_version_days=None,
            protect=s.data.protect,
        ),
        opts=pulumi.ResourceOptions(provider=site.provider),
    )


def build_alarms(
    s: StackSettings,
    site: Site,
    keys: SiteKeys,
    databases: SiteDatabases,
    cache: SiteCache,
    site_tags: dict[str, str],
) -> DataAlarms:
    return DataAlarms(
        f"{site.prefix}-alarms",
        DataAlarmsConfig(
            region=site.region,
            tags=site_tags,
            topic_name=f"{site.prefix}-data-alarms",
            kms_key_arn=keys.key.key_arn,
            thresholds=AlarmThresholds.of(s.data.alarms),
            databases=list(databases.owners),
            redis_nodes=cache.node_ids,
        ),
        opts=pulumi.ResourceOptions(provider=site.provider),
    )


def build_storage_class(s: StackSettings, platform: Foundation, primary: SiteData) -> EncryptedStorageClass:
    """The cluster's volumes, encrypted with the primary site's key and backed up by its plan."""
    return EncryptedStorageClass(
        "storage-class",
        EncryptedStorageClassArgs(
            name=s.names.storage_class,
            kms_key_arn=primary.keys.key.key_arn,
            retain=s.data.protect,
            backup_plan=primary.site.prefix,
        ),
        opts=pulumi.ResourceOptions(provider=platform.k8s_provider),
    )


def build_velero(s: StackSettings, platform: Foundation, sites: list[SiteData]) -> VeleroBackups:
    """One backup location per site that holds tenants, each backing up that site's tenant namespaces."""
    env = s.environment
    return VeleroBackups(
        "velero",
        VeleroConfig(
            region=s.primary_region,
            tags=tags(env, **{"data-site": PRIMARY}),
            server=VeleroServer.of(s.backups.velero),
            role_name=velero_role_name(env),
            crd_installers=platform.crd_installers(VELERO_API_VERSION),
            oidc_provider_arn=platform.cluster.oidc_provider_arn,
            oidc_issuer=platform.cluster.oidc_issuer,
            protect=s.data.protect,
            locations=[
                VeleroLocation(
                    name=data.site.prefix.removeprefix("agent-platform-"),
                    region=data.site.region,
                    replica_region=data.site.dr_region,
                    bucket=bucket_name(env, "velero", data.site.region),
                    provider=data.site.provider,
                    replica_provider=data.site.dr_provider,
                    kms_key_arn=data.keys.key.key_arn,
                    replica_kms_key_arn=data.keys.dr_key.key_arn,
                    namespaces=[t.namespace(env) for t in data.site.tenants],
                    tags=tags(env, **{"data-site": data.site.key}),
                    # EBS snapshots stay in the cluster's region; other sites get file-system copies.
                    snapshot_volumes=s.backups.velero.snapshot_volumes and data.site.region == s.primary_region,
                )
                for data in sites
                if data.site.tenants
            ],
        ),
        opts=_cluster_opts(platform),
    )


def build_database_users(s: StackSettings, platform: Foundation, sites: list[SiteData]) -> DatabaseUsers:
    """The in-cluster Job that creates each tenant's database and login on every instance that holds one."""
    return DatabaseUsers(
        "database-users",
        DatabaseUsersConfig(
            region=s.primary_region,
            tags=tags(s.environment, **{"data-site": PRIMARY}),
            namespace=s.data.bootstrap_namespace,
            database_cidrs=sorted(
                {cidr for data in sites if data.site.tenants for cidr in site_data_cidrs(s, data.site)}
            ),
            vpc_cidr=s.cluster.vpc_cidr,
            aws_api_cidrs=s.cluster.aws_api_cidrs,
            role_name=f"agent-platform-{s.environment}-db-bootstrap",
            oidc_provider_arn=platform.cluster.oidc_provider_arn,
            oidc_issuer=platform.cluster.oidc_issuer,
            image=s.data.bootstrap_image,
            aws_cli_image=s.data.aws_cli_image,
            pod_security_version=s.cluster.kubernetes_version,
            targets=[target for data in sites for target in data.databases.targets],
        ),
        opts=_cluster_opts(platform),
    )


def build_tenant_access(
    s: StackSettings, platform: Foundation, tenant: Tenant, data: SiteData, account: pulumi.Input[str]
) -> TenantDataAccess:
    """The tenant's secrets, its database and Redis logins and its agents' access, all in its own site."""
    env = s.environment
    site = data.site
    database, redis = data.databases.of(tenant.id), data.cache.cache
    user = elasticache_user_id(tenant.id, env)
    return TenantDataAccess(
        f"{tenant.id}-data",
        TenantDataConfig(
            crd_installers=platform.crd_installers(ESO_API),
            region=site.region,
            tags=tags(env, tenant.id, **{"data-site": site.key}),
            tenant_id=tenant.id,
            namespace=tenant.namespace(env),
            account_id=account,
            kms_key_arn=data.keys.key.key_arn,
            secret_prefix=f"agent-platform/{env}/{tenant.id}/",
            secret_name=s.names.agent_secret,
            secret_keys=AgentSecretKeys.of(s.names.agent_secret_keys),
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
                user=user,
                user_arn=redis.user_arns[user],
                group_arn=redis.arn,
                replication_group_id=redis.replication_group_id,
            ),
            data_bucket_arn=data.bucket.bucket_arn,
            agent_role_names={
                agent_id: identity.role_name
                for (tenant_id, agent_id), identity in platform.identities.items()
                if tenant_id == tenant.id
            },
            recovery_window_days=PROTECTED_RECOVERY_DAYS if s.data.protect else NOT_PROTECTED_RECOVERY_DAYS,
            replica_region=site.dr_region,
            replica_kms_key_arn=data.keys.dr_key.key_arn,
        ),
        opts=pulumi.ResourceOptions(
            providers=[site.provider, platform.k8s_provider], depends_on=[platform.tenants[tenant.id]]
        ),
    )


def _cluster_opts(platform: Foundation) -> pulumi.ResourceOptions:
    """Cluster-wide data services create AWS resources in the primary region and Kubernetes objects."""
    return pulumi.ResourceOptions(providers=[platform.aws_provider, platform.k8s_provider])


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

    instance: PostgresInstance
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
                instance=self.instance,
                kms_key_arn=self.key.key_arn,
                subnet_group_name=self.network.db_subnet_group_name,
                security_group_id=self.network.security_group_ids["postgres"],
                protect=self.protect,
                dr_provider=self.site.dr_provider,
                dr_kms_key_arn=self.dr_key.key_arn,
            ),
            opts=pulumi.ResourceOptions(provider=self.site.provider),
        )
