"""AWS Backup (data services) and Velero (cluster state and volumes)."""

from __future__ import annotations

from pydantic import Field

from settings.base import Settings
from settings.formats import AwsCron, Cron, GoDuration, Namespace, ObjectName

# AWS Backup keeps recovery points and vault-lock grace for at most 36500 days (100 years).
MAX_BACKUP_DAYS = 36500


class AwsBackup(Settings):
    retention_days: int = Field(
        7, ge=1, le=MAX_BACKUP_DAYS, description="Daily recovery points, in the vault and in the DR copy."
    )
    # After the RDS backup window (02:00-03:00) and the Redis snapshot window (03:00-04:00): AWS Backup
    # cannot snapshot an instance while its own automated backup runs.
    schedule: AwsCron = "cron(0 5 * * ? *)"
    start_window_minutes: int = Field(60, ge=60)
    completion_window_minutes: int = Field(360, ge=120)
    vault_lock: bool = Field(False, description="Vault lock in compliance mode: recovery points cannot be deleted.")
    vault_lock_grace_days: int = Field(
        3, ge=3, le=MAX_BACKUP_DAYS, description="Days the lock can still be removed after `up`."
    )
    copy_to_dr: bool = Field(False, description="Copy each recovery point to a vault in the DR region.")


class Velero(Settings):
    schedule: Cron = Field("0 */6 * * *", description="Cron (UTC) of the cluster backup.")
    ttl: GoDuration = "720h"
    snapshot_volumes: bool = Field(
        True, description="EBS snapshots of PersistentVolumes (EU namespaces use file-system backup)."
    )
    namespace: Namespace = "velero"
    service_account: ObjectName = Field(
        "velero-server", description="Velero server's ServiceAccount (Helm chart default)."
    )
    noncurrent_version_days: int = Field(30, ge=1, description="Old object versions in the bucket expire after this.")


class Backups(Settings):
    aws_backup: AwsBackup = AwsBackup()
    velero: Velero = Velero()
