"""AWS Backup and Velero."""

from __future__ import annotations

from pydantic import Field

from stacks.settings.base import Settings


class AwsBackup(Settings):
    retention_days: int = Field(7, ge=1)
    schedule: str = "cron(0 2 * * ? *)"
    vault_lock: bool = False
    vault_lock_grace_days: int = Field(3, ge=3)
    copy_to_dr: bool = False


class Velero(Settings):
    schedule: str = "0 */6 * * *"
    ttl: str = Field("720h", pattern=r"^\d+h$")
    snapshot_volumes: bool = True


class Backups(Settings):
    aws_backup: AwsBackup = AwsBackup()
    velero: Velero = Velero()
