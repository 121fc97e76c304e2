"""ReplicatedBucket: an S3 bucket that keeps every version, encrypted with our key, private, and copied to a replica.

Both buckets get versioning (replication needs it), SSE-KMS with the key of their region, a public access
block, owner-enforced object ownership and a policy refusing requests without TLS; the source replicates
every object and delete marker with its own IAM role. Only noncurrent versions may expire: current objects
are never removed by a rule. Each bucket writes server access logs to a log bucket beside it (same region
and account, as S3 requires); the replica can carry an Object Lock default retention.
"""

from __future__ import annotations

from typing import Any, Literal

import pulumi
import pulumi_aws as aws
from pydantic import BaseModel, ConfigDict, Field

from components.base.aws import AwsConfig, policy_json, service_trust
from conventions.identifiers import iam_role_name, log_bucket_name, replica_bucket_name


def replication_role_name(bucket: str) -> str:
    """Known before the role exists, so the KMS key policies can name it."""
    return iam_role_name(f"{bucket}-replication")


def tls_only_statement(bucket_arn: pulumi.Input[str]) -> dict[str, Any]:
    """Deny any request without TLS (https://docs.aws.amazon.com/AmazonS3/latest/userguide/
    security-best-practices.html, `aws:SecureTransport`); a Deny is not a public grant, so the public
    access block allows it."""
    arn = pulumi.Output.from_input(bucket_arn)
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn, arn.apply(lambda a: f"{a}/*")],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def log_delivery_statement(log_bucket_arn: pulumi.Input[str], source_arn: pulumi.Input[str]) -> dict[str, Any]:
    """S3's logging service may write only the source bucket's logs (https://docs.aws.amazon.com/AmazonS3/latest/
    userguide/enable-server-access-logging.html#grant-log-delivery-permissions-general: with BucketOwnerEnforced,
    a bucket policy for `logging.s3.amazonaws.com`, never ACLs)."""
    arn = pulumi.Output.from_input(log_bucket_arn)
    return {
        "Sid": "S3ServerAccessLogsPolicy",
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": arn.apply(lambda a: f"{a}/*"),
        "Condition": {"ArnLike": {"aws:SourceArn": source_arn}},
    }


class ObjectLock(BaseModel):
    """A default retention: every new object version stays undeletable for `days`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    mode: Literal["GOVERNANCE", "COMPLIANCE"]
    days: int = Field(ge=1)


class ReplicatedBucketConfig(AwsConfig):
    bucket: str = Field(
        pattern=r"^[a-z0-9][a-z0-9.-]{1,48}[a-z0-9]$", description="Replica adds `-replica`, log buckets `-logs`."
    )
    replica_region: str
    kms_key_arn: Any = Field(description="pulumi.Input[str]")
    replica_provider: Any = Field(description="aws.Provider of the replica region.")
    replica_kms_key_arn: Any = Field(description="pulumi.Input[str]: key in the replica region.")
    noncurrent_version_days: int | None = Field(None, ge=1)
    replica_object_lock: ObjectLock | None = Field(
        None,
        description="Object Lock on the replica only: it is written by S3 replication, not by clients that would "
        "need Content-MD5 on every PUT into a bucket with a default retention.",
    )
    access_log_days: int = Field(365, ge=1, description="Server access logs expire after this.")
    access_log_tags: dict[str, str] | None = Field(
        None, description="Tags of the log buckets (default: `tags`); leave out tags that select data for backup."
    )
    protect: bool = False

    @property
    def replica_bucket(self) -> str:
        return replica_bucket_name(self.bucket)


class ReplicatedBucket(pulumi.ComponentResource):
    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    replica_bucket_name: pulumi.Output[str]

    def __init__(self, name: str, config: ReplicatedBucketConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("agent-platform:components:ReplicatedBucket", name, None, opts)
        source, source_versioning = self._bucket(
            f"{name}-source", config.bucket, config.kms_key_arn, config, None, lock=None
        )
        replica, replica_versioning = self._bucket(
            f"{name}-replica",
            config.replica_bucket,
            config.replica_kms_key_arn,
            config,
            config.replica_provider,
            lock=config.replica_object_lock,
        )
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-replication",
            name=replication_role_name(config.bucket),
            assume_role_policy=service_trust("s3.amazonaws.com"),
            tags=config.tags,
            opts=child,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-replication-policy",
            role=role.id,
            policy=policy_json(
                [
                    {
                        "Effect": "Allow",
                        "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
                        "Resource": [source.arn],
                    },
                    {
                        "Effect": "Allow",
                        "Action": [
                            "s3:GetObjectVersionForReplication",
                            "s3:GetObjectVersionAcl",
                            "s3:GetObjectVersionTagging",
                        ],
                        "Resource": [source.arn.apply(lambda arn: f"{arn}/*")],
                    },
                    {
                        "Effect": "Allow",
                        "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                        "Resource": [replica.arn.apply(lambda arn: f"{arn}/*")],
                    },
                    {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [config.kms_key_arn]},
                    {"Effect": "Allow", "Action": ["kms:Encrypt"], "Resource": [config.replica_kms_key_arn]},
                ]
            ),
            opts=child,
        )
        aws.s3.BucketReplicationConfig(
            f"{name}-replication-config",
            bucket=source.id,
            role=role.arn,
            rules=[
                {
                    "id": "everything",
                    "status": "Enabled",
                    "priority": 1,
                    "filter": {},
                    "delete_marker_replication": {"status": "Enabled"},
                    "source_selection_criteria": {"sse_kms_encrypted_objects": {"status": "Enabled"}},
                    "destination": {
                        "bucket": replica.arn,
                        "storage_class": "STANDARD_IA",
                        "encryption_configuration": {"replica_kms_key_id": config.replica_kms_key_arn},
                    },
                }
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy, source_versioning, replica_versioning]),
        )
        self.bucket_name = source.bucket
        self.bucket_arn = source.arn
        self.replica_bucket_name = replica.bucket
        self.register_outputs(
            {
                "bucket_name": self.bucket_name,
                "bucket_arn": self.bucket_arn,
                "replica_bucket_name": self.replica_bucket_name,
            }
        )

    def _bucket(
        self,
        name: str,
        bucket: str,
        key_arn: Any,
        config: ReplicatedBucketConfig,
        provider: Any,
        lock: ObjectLock | None,
    ) -> tuple[aws.s3.Bucket, aws.s3.BucketVersioning]:
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        resource = aws.s3.Bucket(
            name,
            bucket=bucket,
            tags=config.tags,
            opts=pulumi.ResourceOptions(parent=self, provider=provider, protect=config.protect),
        )
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning", bucket=resource.id, versioning_configuration={"status": "Enabled"}, opts=child
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=resource.id,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {
                        "sse_algorithm": "aws:kms",
                        "kms_master_key_id": key_arn,
                    },
                    "bucket_key_enabled": True,
                }
            ],
            opts=child,
        )
        # S3 also answers plain HTTP; refuse every request that did not arrive over TLS.
        self._private(name, resource, provider, f"{name}-tls-only", [tls_only_statement(resource.arn)])
        logs = self._log_bucket(f"{name}-logs", log_bucket_name(bucket), resource.arn, config, provider)
        aws.s3.BucketLogging(
            f"{name}-logging",
            bucket=resource.id,
            target_bucket=logs.id,
            target_prefix=f"{bucket}/",
            opts=child,
        )
        if lock is not None:
            # Enabled on the existing bucket by this resource (PutObjectLockConfiguration), never by the
            # bucket's `objectLockEnabled`, which replaces the bucket. It cannot be turned off again.
            aws.s3.BucketObjectLockConfiguration(
                f"{name}-object-lock",
                bucket=resource.id,
                object_lock_enabled="Enabled",
                rule={"default_retention": {"mode": lock.mode, "days": lock.days}},
                opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[versioning]),
            )
        if config.noncurrent_version_days is not None:
            aws.s3.BucketLifecycleConfiguration(
                f"{name}-lifecycle",
                bucket=resource.id,
                rules=[
                    {
                        "id": "expire-old-versions",
                        "status": "Enabled",
                        "filter": {},
                        "noncurrent_version_expiration": {"noncurrent_days": config.noncurrent_version_days},
                        "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
                    }
                ],
                opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[versioning]),
            )
        return resource, versioning

    def _log_bucket(
        self, name: str, bucket: str, source_arn: pulumi.Output[str], config: ReplicatedBucketConfig, provider: Any
    ) -> aws.s3.Bucket:
        """Server access logs of one bucket. No Object Lock and SSE-S3 only: S3 delivers no logs into a bucket
        with either (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerLogs.html)."""
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        logs = aws.s3.Bucket(
            name,
            bucket=bucket,
            tags=config.tags if config.access_log_tags is None else config.access_log_tags,
            opts=pulumi.ResourceOptions(parent=self, provider=provider, protect=config.protect),
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=logs.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
            opts=child,
        )
        self._private(
            name,
            logs,
            provider,
            f"{name}-policy",
            [tls_only_statement(logs.arn), log_delivery_statement(logs.arn, source_arn)],
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=logs.id,
            rules=[
                {
                    "id": "expire-logs",
                    "status": "Enabled",
                    "filter": {},
                    "expiration": {"days": config.access_log_days},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
                }
            ],
            opts=child,
        )
        return logs

    def _private(
        self, name: str, bucket: aws.s3.Bucket, provider: Any, policy_name: str, statements: list[dict[str, Any]]
    ) -> None:
        """Public access blocked, ACLs off (BucketOwnerEnforced), and the bucket policy."""
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        public_access = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership", bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=child
        )
        aws.s3.BucketPolicy(
            policy_name,
            bucket=bucket.id,
            policy=policy_json(statements),
            # S3 refuses a policy change while the public access block is being written.
            opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[public_access]),
        )
