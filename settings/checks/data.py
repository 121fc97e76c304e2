"""Rules for the data services: what `prod` refuses, what no stack may combine, and where EU data lives."""

from __future__ import annotations

from collections.abc import Iterator

from settings.base import is_eu_region, is_placeholder
from settings.canary import PROD_COHORT_CAP_PCT
from settings.errors import Problem
from settings.formats import overlaps
from settings.stack import StackSettings

PROD = "prod"
MIN_PROD_RETENTION_DAYS = 7


def prod_refuses_unsafe_data(s: StackSettings) -> Iterator[Problem]:
    if s.environment != PROD:
        return
    pg, redis, backup = s.data.postgres, s.data.redis, s.backups.aws_backup
    off = "is off; prod requires it (allowed: true)"
    for path, on, what in (
        ("data.postgres.deletion_protection", pg.deletion_protection, "deletion protection"),
        ("data.postgres.multi_az", pg.multi_az, "Multi-AZ"),
        ("data.redis.multi_az", redis.multi_az, "Multi-AZ"),
        ("data.protect", s.data.protect, "`protect` on data resources"),
        ("data.postgres.final_snapshot", pg.final_snapshot, "the final snapshot on deletion"),
        ("data.redis.iam_auth", redis.iam_auth, "IAM authentication on Redis"),
        ("data.redis.transit_encryption", redis.transit_encryption, "encryption in transit"),
    ):
        if not on:
            yield Problem(path, f"{what} {off}")
    for path, days in (
        ("data.postgres.backup_retention_days", pg.backup_retention_days),
        ("data.redis.snapshot_retention_days", redis.snapshot_retention_days),
        ("backups.aws_backup.retention_days", backup.retention_days),
    ):
        if days < MIN_PROD_RETENTION_DAYS:
            yield Problem(
                path, f"backup retention {days} days is under {MIN_PROD_RETENTION_DAYS}; prod requires 7 to 35"
            )
    if redis.num_nodes < 2:
        yield Problem(
            "data.redis.num_nodes",
            f"{redis.num_nodes} is a single-node Redis; prod requires at least 2 (primary and replica)",
        )
    # The DR runbook's region-loss recovery (docs/disaster-recovery.md) restores from these copies: without
    # them a lost primary region loses the backups with it, and without the lock they can be deleted.
    for path, on, what in (
        ("data.postgres.cross_region_backups", pg.cross_region_backups, "automated-backup replication to DR"),
        ("backups.aws_backup.copy_to_dr", backup.copy_to_dr, "the copy of each recovery point to the DR region"),
        ("backups.aws_backup.vault_lock", backup.vault_lock, "the compliance-mode vault lock"),
    ):
        if not on:
            yield Problem(path, f"{what} {off}")
    if s.data.replication_region == s.primary_region:
        yield Problem(
            "data.replication_region",
            f"{s.data.replication_region!r} is the primary region; prod requires a different region for DR copies",
        )


def storage_is_encrypted(s: StackSettings) -> Iterator[Problem]:
    """In every stack, as the policy pack's storage-encryption rule requires of the resources: refused here,
    before anything registers or is written, and the rule stays as a second line."""
    for path, on, what in (
        ("data.postgres.storage_encrypted", s.data.postgres.storage_encrypted, "PostgreSQL storage"),
        ("data.redis.at_rest_encryption", s.data.redis.at_rest_encryption, "Redis storage and snapshots"),
    ):
        if not on:
            yield Problem(
                path,
                f"false leaves {what} unencrypted at rest; every stack requires encryption with the stack's KMS "
                "key: set it to true (allowed: true)",
            )


def prod_keeps_the_cohort_cap(s: StackSettings) -> Iterator[Problem]:
    if s.environment != PROD:
        return
    for path, value in (
        ("canary.max_tenant_exposure_pct", s.canary.max_tenant_exposure_pct),
        ("feature_flags.canary_percentage", s.feature_flags.canary_percentage),
        (
            "gates.ga.checklist.rollout_mode.max_tenant_exposure_pct",
            s.gates.ga.checklist.rollout_mode.max_tenant_exposure_pct,
        ),
    ):
        if value > PROD_COHORT_CAP_PCT:
            yield Problem(
                path,
                f"{value:g}% is above prod's cohort cap of {PROD_COHORT_CAP_PCT:g}%: a canary reaches more tenants "
                f"before its gates pass; allowed: at most {PROD_COHORT_CAP_PCT:g}",
            )


def backup_window_clears_maintenance(s: StackSettings) -> Iterator[Problem]:
    pg = s.data.postgres
    if overlaps(pg.backup_window, pg.maintenance_window):
        yield Problem(
            "data.postgres.maintenance_window",
            f"{pg.maintenance_window} overlaps backup_window {pg.backup_window}; RDS refuses overlapping windows: "
            "move one of them",
        )
    redis = s.data.redis
    if overlaps(redis.snapshot_window, redis.maintenance_window):
        yield Problem(
            "data.redis.maintenance_window",
            f"{redis.maintenance_window} overlaps snapshot_window {redis.snapshot_window}; ElastiCache refuses "
            "overlapping windows: move one of them",
        )


def redis_failover_needs_replicas(s: StackSettings) -> Iterator[Problem]:
    redis = s.data.redis
    if redis.multi_az and redis.num_nodes < 2:
        yield Problem(
            "data.redis.num_nodes",
            f"{redis.num_nodes} node with multi_az true; Multi-AZ failover needs at least 2 nodes",
        )
    if redis.num_shards > 1 and not redis.cluster_mode:
        yield Problem(
            "data.redis.num_shards", f"{redis.num_shards} shards need cluster_mode true (allowed without it: 1)"
        )


def redis_iam_needs_tls(s: StackSettings) -> Iterator[Problem]:
    redis = s.data.redis
    if redis.iam_auth and not redis.transit_encryption:
        yield Problem(
            "data.redis.transit_encryption",
            "is false but iam_auth is true; IAM authentication requires encryption in transit (allowed: true)",
        )


def eu_data_stays_in_eu(s: StackSettings) -> Iterator[Problem]:
    """EU-resident tenants' data services are in the primary region if it is in the EU, else in `eu_region`."""
    eu = [(index, t) for index, t in enumerate(s.tenants) if t.data_residency == "eu"]
    if not eu:
        return
    site, source = (
        (s.primary_region, "primary_region") if is_eu_region(s.primary_region) else (s.data.eu_region, "data.eu_region")
    )
    replica, replica_source = (
        (s.data.replication_region, "data.replication_region")
        if is_eu_region(s.primary_region)
        else (s.data.eu_replication_region, "data.eu_replication_region")
    )
    for index, tenant in eu:
        if not is_eu_region(site):
            yield Problem(
                f"tenants[{index}].data_residency",
                f"tenant {tenant.id!r} is EU-resident but its data services would be in {site} ({source}); "
                "allowed: an eu-* region",
            )
        if not is_eu_region(replica):
            yield Problem(
                f"tenants[{index}].data_residency",
                f"tenant {tenant.id!r} is EU-resident but its backups would be copied to {replica} "
                f"({replica_source}); allowed: an eu-* region",
            )
    if not is_eu_region(s.primary_region) and s.data.eu_network is None:
        yield Problem(
            "data.eu_network",
            f"is required: tenants {', '.join(t.id for _, t in eu)} are EU-resident and the primary region "
            f"{s.primary_region} is not in the EU (give vpc_id and subnet_ids in {s.data.eu_region})",
        )
    if replica == site:
        yield Problem(replica_source, f"{replica!r} equals the EU data region; DR copies need another EU region")


def eu_session_volumes_stay_in_eu(s: StackSettings) -> Iterator[Problem]:
    """EU tenants' pods run in the one cluster, in `primary_region`; a persistent-session agent's volumes are
    EBS volumes there, snapshotted there and copied to its DR region. Outside the EU that is refused."""
    if is_eu_region(s.primary_region):
        return
    eu = {t.id for t in s.tenants if t.data_residency == "eu"}
    for a_index, agent in enumerate(s.agents):
        if not agent.persistent:
            continue
        for t_index, tenant_id in enumerate(agent.tenants):
            if tenant_id in eu:
                yield Problem(
                    f"agents[{a_index}].tenants[{t_index}]",
                    f"tenant {tenant_id!r} is EU-resident, but agent {agent.id!r} keeps session volumes, which "
                    f"would be EBS volumes in the cluster's region {s.primary_region} backed up outside the EU; "
                    "allowed: only stateless agents for EU tenants while the cluster is outside the EU",
                )


# On-call integrations that confirm an SNS subscription themselves (their CloudWatch integration docs).
SNS_CONFIRMING_HOSTS = ("events.pagerduty.com", "events.eu.pagerduty.com", "api.opsgenie.com", "api.eu.opsgenie.com")


def alarm_subscription_can_confirm(s: StackSettings) -> Iterator[Problem]:
    endpoint = s.data.alarms.subscription_endpoint
    if endpoint is None or is_placeholder(endpoint):
        return
    scheme, _, rest = endpoint.partition("://")
    host = rest.split("/", 1)[0].split(":", 1)[0].lower()
    if scheme != "https" or host not in SNS_CONFIRMING_HOSTS:
        yield Problem(
            "data.alarms.subscription_endpoint",
            f"{scheme}://{host}/... cannot confirm an SNS subscription (Alertmanager has no SNS endpoint), so no "
            f"alarm would be delivered; allowed: an https URL on {', '.join(SNS_CONFIRMING_HOSTS)}",
        )


RULES = [
    alarm_subscription_can_confirm,
    storage_is_encrypted,
    prod_refuses_unsafe_data,
    prod_keeps_the_cohort_cap,
    backup_window_clears_maintenance,
    redis_failover_needs_replicas,
    redis_iam_needs_tls,
    eu_data_stays_in_eu,
    eu_session_volumes_stay_in_eu,
]
