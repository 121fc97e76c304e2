"""AwsBackupPlan: daily recovery points of every data resource of one region, and their copies in the DR region.

The plan selects by the `backup-plan` tag that every data component puts on its resources, so a new
database or bucket is covered without touching the plan. In protected stacks the vault is locked in
compliance mode: once the grace period passes, nobody (root included) can delete recovery points early.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
from pydantic import Field

from components.base.aws import BACKUP_TAG, AwsConfig, service_trust
from components.base.values import Value
from conventions.identifiers import iam_role_name

SERVICE_POLICIES = (
    "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
    "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
    "arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Backup",
    "arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Restore",
)
MAX_LOCKED_RETENTION_DAYS = 365


class BackupSchedule(Value):
    """When recovery points are taken, how long they are kept, and whether the vault is locked."""

    retention_days: int
    schedule: str
    start_window_minutes: int
    completion_window_minutes: int
    vault_lock: bool
    vault_lock_grace_days: int
    copy_to_dr: bool


class AwsBackupConfig(AwsConfig):
    plan_name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,50}$", description="Also the `backup-plan` tag value.")
    schedule: BackupSchedule
    kms_key_arn: Any = Field(description="pulumi.Input[str]")
    dr_provider: Any = Field(None, description="aws.Provider of the DR region.")
    dr_kms_key_arn: Any = Field(None, description="pulumi.Input[str]: the DR region's key.")
    protect: bool = False

    @property
    def role_name(self) -> str:
        return iam_role_name(f"{self.plan_name}-backup")


class AwsBackupPlan(pulumi.ComponentResource):
    vault_name: pulumi.Output[str]
    vault_arn: pulumi.Output[str]
    dr_vault_arn: pulumi.Output[str] | None
    plan_id: pulumi.Output[str]

    def __init__(self, name: str, config: AwsBackupConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("agent-platform:components:AwsBackupPlan", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        b = config.schedule
        kept = pulumi.ResourceOptions(parent=self, protect=config.protect)
        self.vault = aws.backup.Vault(
            f"{name}-vault", name=config.plan_name, kms_key_arn=config.kms_key_arn, tags=config.tags, opts=kept
        )
        self._lock(f"{name}-vault-lock", self.vault, b, kept)
        self.dr_vault_arn = None
        copy_actions: list[aws.backup.PlanRuleCopyActionArgsDict] = []
        if b.copy_to_dr:
            if config.dr_provider is None or config.dr_kms_key_arn is None:
                raise ValueError(f"{name}: copy_to_dr needs dr_provider and dr_kms_key_arn")
            dr_vault = aws.backup.Vault(
                f"{name}-dr-vault",
                name=f"{config.plan_name}-dr",
                kms_key_arn=config.dr_kms_key_arn,
                tags=config.tags,
                opts=pulumi.ResourceOptions(parent=self, provider=config.dr_provider, protect=config.protect),
            )
            self._lock(
                f"{name}-dr-vault-lock",
                dr_vault,
                b,
                pulumi.ResourceOptions(parent=self, provider=config.dr_provider, protect=config.protect),
            )
            self.dr_vault_arn = dr_vault.arn
            copy_actions = [{"destination_vault_arn": dr_vault.arn, "lifecycle": {"delete_after": b.retention_days}}]
        self.role = aws.iam.Role(
            f"{name}-role",
            name=config.role_name,
            assume_role_policy=service_trust("backup.amazonaws.com"),
            tags=config.tags,
            opts=child,
        )
        attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-role-{policy.rsplit('/', 1)[1]}", role=self.role.name, policy_arn=policy, opts=child
            )
            for policy in SERVICE_POLICIES
        ]
        daily: aws.backup.PlanRuleArgsDict = {
            "rule_name": "daily",
            "target_vault_name": self.vault.name,
            "schedule": b.schedule,
            "start_window": b.start_window_minutes,
            "completion_window": b.completion_window_minutes,
            "lifecycle": {"delete_after": b.retention_days},
            "copy_actions": copy_actions,
            "recovery_point_tags": config.tags,
        }
        self.plan = aws.backup.Plan(
            f"{name}-plan",
            name=config.plan_name,
            rules=[daily],
            tags=config.tags,
            opts=child,
        )
        aws.backup.Selection(
            f"{name}-selection",
            name=f"{config.plan_name}-tagged",
            plan_id=self.plan.id,
            iam_role_arn=self.role.arn,
            selection_tags=[{"type": "STRINGEQUALS", "key": BACKUP_TAG, "value": config.plan_name}],
            opts=pulumi.ResourceOptions(parent=self, depends_on=attachments),
        )
        self.vault_name = self.vault.name
        self.vault_arn = self.vault.arn
        self.plan_id = self.plan.id
        self.register_outputs(
            {
                "vault_name": self.vault_name,
                "vault_arn": self.vault_arn,
                "dr_vault_arn": self.dr_vault_arn,
                "plan_id": self.plan_id,
            }
        )

    @staticmethod
    def _lock(name: str, vault: aws.backup.Vault, b: BackupSchedule, opts: pulumi.ResourceOptions) -> None:
        if not b.vault_lock:
            return
        aws.backup.VaultLockConfiguration(
            name,
            backup_vault_name=vault.name,
            # Setting changeable_for_days makes it a compliance-mode lock once that grace period ends.
            changeable_for_days=b.vault_lock_grace_days,
            min_retention_days=b.retention_days,
            max_retention_days=max(b.retention_days, MAX_LOCKED_RETENTION_DAYS),
            opts=opts,
        )
