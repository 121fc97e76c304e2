"""VeleroBackups: cluster backups of the tenant namespaces, stored where each tenant's data may live.

One location per data site: a ReplicatedBucket in the site's region (replicated to its DR region), a
`BackupStorageLocation`, and a `Schedule` covering exactly that site's namespaces. EU-resident tenants'
volumes are copied by file-system backup into the EU bucket rather than snapshotted, because an EBS
snapshot stays in the cluster's region. The Velero server's IAM role is assumable only by its
ServiceAccount and reaches only these buckets and keys.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
from pydantic import BaseModel, ConfigDict, Field

from components.base.aws import AwsConfig, irsa_trust, policy_json
from components.base.kubernetes_object import KubernetesObject
from components.base.values import Value
from components.replicated_bucket import ObjectLock, ReplicatedBucket, ReplicatedBucketConfig

API_VERSION = "velero.io/v1"
SNAPSHOT_ACTIONS = [
    "ec2:DescribeVolumes",
    "ec2:DescribeSnapshots",
    "ec2:CreateTags",
    "ec2:CreateVolume",
    "ec2:CreateSnapshot",
]
BACKUP_TAG = "velero.io/backup"
"""Velero tags every volume snapshot it takes with the backup's name (pkg/backup/item_backupper.go,
takePVSnapshot): the role may delete only those, never another team's or AWS Backup's snapshots."""


class VeleroLocation(BaseModel):
    """One site: its bucket, the namespaces whose backups must stay there, and how volumes are copied."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    name: str = Field(pattern=r"^[a-z0-9-]+$")
    region: str
    replica_region: str
    bucket: str
    provider: Any = Field(description="aws.Provider of the site's region.")
    replica_provider: Any
    kms_key_arn: Any
    replica_kms_key_arn: Any
    namespaces: list[str] = Field(min_length=1)
    tags: dict[str, str] = Field(default_factory=dict, description="Tags of the site's bucket, over the config's.")
    snapshot_volumes: bool = Field(description="EBS snapshots (cluster region) instead of file-system backup.")


class VeleroServer(Value):
    """Where the Velero server runs and how often and how long it keeps cluster backups."""

    schedule: str
    ttl: str
    namespace: str
    service_account: str
    noncurrent_version_days: int


class VeleroConfig(AwsConfig):
    server: VeleroServer
    role_name: str
    oidc_provider_arn: Any
    oidc_issuer: Any
    locations: list[VeleroLocation] = Field(min_length=1)
    protect: bool = False
    crd_installers: list[Any] = Field(
        default_factory=list, description="Releases installing Velero's CRDs; the Velero objects wait for them."
    )


class VeleroBackups(pulumi.ComponentResource):
    role_arn: pulumi.Output[str]
    bucket_names: dict[str, pulumi.Output[str]]
    schedule_names: list[str]

    def __init__(self, name: str, config: VeleroConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("agent-platform:components:VeleroBackups", name, None, opts)
        v = config.server
        child = pulumi.ResourceOptions(parent=self)
        buckets = {
            loc.name: ReplicatedBucket(
                f"{name}-{loc.name}",
                ReplicatedBucketConfig(
                    region=loc.region,
                    tags={**config.tags, **loc.tags},
                    bucket=loc.bucket,
                    replica_region=loc.replica_region,
                    kms_key_arn=loc.kms_key_arn,
                    replica_provider=loc.replica_provider,
                    replica_kms_key_arn=loc.replica_kms_key_arn,
                    noncurrent_version_days=v.noncurrent_version_days,
                    # The DR copy of the backups: no version can be removed before it could expire. Compliance
                    # (not even the root user shortens it) where the data is protected, governance elsewhere.
                    replica_object_lock=ObjectLock(
                        mode="COMPLIANCE" if config.protect else "GOVERNANCE", days=v.noncurrent_version_days
                    ),
                    protect=config.protect,
                ),
                opts=pulumi.ResourceOptions(parent=self, providers={"aws": loc.provider}),
            )
            for loc in config.locations
        }
        self.role = aws.iam.Role(
            f"{name}-role",
            name=config.role_name,
            assume_role_policy=irsa_trust(config.oidc_provider_arn, config.oidc_issuer, v.namespace, v.service_account),
            tags=config.tags,
            opts=child,
        )
        arns = [b.bucket_arn for b in buckets.values()]
        aws.iam.RolePolicy(
            f"{name}-role-policy",
            role=self.role.id,
            policy=policy_json(
                [
                    {"Effect": "Allow", "Action": SNAPSHOT_ACTIONS, "Resource": "*"},
                    {
                        "Effect": "Allow",
                        "Action": ["ec2:DeleteSnapshot"],
                        "Resource": "*",
                        "Condition": {"Null": {f"aws:ResourceTag/{BACKUP_TAG}": "false"}},
                    },
                    {
                        "Effect": "Allow",
                        "Action": [
                            "s3:GetObject",
                            "s3:DeleteObject",
                            "s3:PutObject",
                            "s3:AbortMultipartUpload",
                            "s3:ListMultipartUploadParts",
                        ],
                        "Resource": [arn.apply(lambda a: f"{a}/*") for arn in arns],
                    },
                    {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": arns},
                    {
                        "Effect": "Allow",
                        "Action": [
                            "kms:Decrypt",
                            "kms:Encrypt",
                            "kms:GenerateDataKey*",
                            "kms:DescribeKey",
                            "kms:CreateGrant",
                            "kms:ReEncrypt*",
                        ],
                        "Resource": [loc.kms_key_arn for loc in config.locations],
                    },
                ]
            ),
            opts=child,
        )
        self.schedule_names = []
        custom_kind = pulumi.ResourceOptions(parent=self, depends_on=config.crd_installers)
        for loc in config.locations:
            bucket = buckets[loc.name]
            KubernetesObject(
                f"{name}-{loc.name}-bsl",
                api_version=API_VERSION,
                kind="BackupStorageLocation",
                metadata=_meta(v, loc.name),
                spec={
                    "provider": "aws",
                    "default": loc is config.locations[0],
                    "objectStorage": {"bucket": bucket.bucket_name},
                    "config": {"region": loc.region, "kmsKeyId": loc.kms_key_arn},
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=[bucket, *config.crd_installers]),
            )
            template: dict[str, Any] = {
                "includedNamespaces": loc.namespaces,
                "storageLocation": loc.name,
                "ttl": v.ttl,
                "snapshotVolumes": loc.snapshot_volumes,
                "defaultVolumesToFsBackup": not loc.snapshot_volumes,
            }
            if loc.snapshot_volumes:
                KubernetesObject(
                    f"{name}-{loc.name}-vsl",
                    api_version=API_VERSION,
                    kind="VolumeSnapshotLocation",
                    metadata=_meta(v, loc.name),
                    spec={"provider": "aws", "config": {"region": loc.region}},
                    opts=custom_kind,
                )
                template["volumeSnapshotLocations"] = [loc.name]
            schedule_name = f"{loc.name}-namespaces"
            KubernetesObject(
                f"{name}-{loc.name}-schedule",
                api_version=API_VERSION,
                kind="Schedule",
                metadata=_meta(v, schedule_name),
                spec={"schedule": v.schedule, "useOwnerReferencesInBackup": False, "template": template},
                opts=custom_kind,
            )
            self.schedule_names.append(schedule_name)
        self.role_arn = self.role.arn
        self.bucket_names = {loc: b.bucket_name for loc, b in buckets.items()}
        self.register_outputs(
            {"role_arn": self.role_arn, "bucket_names": self.bucket_names, "schedule_names": self.schedule_names}
        )


def _meta(v: VeleroServer, object_name: str) -> dict[str, str]:
    return {"name": object_name, "namespace": v.namespace}
