"""ReplicatedBucket: an S3 bucket that keeps every version, encrypted with our key, private, and copied to a replica.

Both buckets get versioning (replication needs it), SSE-KMS with the key of their region, a public access
block, owner-enforced object ownership and a policy refusing requests without TLS; the source replicates
every object and delete marker with its own IAM role. Only noncurrent versions may expire: current objects
are never removed by a rule.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
from pydantic import Field

from components.base.aws import AwsConfig, policy_json, service_trust
from settings.names import REPLICA_SUFFIX


def replication_role_name(bucket: str) -> str:
    """Known before the role exists, so the KMS key policies can name it."""
    return f"{bucket}-replication"[:64]


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


class ReplicatedBucketConfig(AwsConfig):
    bucket: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,54}[a-z0-9]$", description="Replica adds `-replica`.")
    replica_region: str
    kms_key_arn: Any = Field(description="pulumi.Input[str]")
    replica_provider: Any = Field(description="aws.Provider of the replica region.")
    replica_kms_key_arn: Any = Field(description="pulumi.Input[str]: key in the replica region.")
    noncurrent_version_days: int | None = Field(None, ge=1)
    protect: bool = False

    @property
    def replica_bucket(self) -> str:
        return f"{self.bucket}{REPLICA_SUFFIX}"


class ReplicatedBucket(pulumi.ComponentResource):
    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    replica_bucket_name: pulumi.Output[str]

    def __init__(self, name: str, config: ReplicatedBucketConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("agent-platform:components:ReplicatedBucket", name, None, opts)
        source, source_versioning = self._bucket(f"{name}-source", config.bucket, config.kms_key_arn, config, None)
        replica, replica_versioning = self._bucket(
            f"{name}-replica", config.replica_bucket, config.replica_kms_key_arn, config, config.replica_provider
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
        self, name: str, bucket: str, key_arn: Any, config: ReplicatedBucketConfig, provider: Any
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
        public_access = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=resource.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership", bucket=resource.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=child
        )
        # S3 also answers plain HTTP; refuse every request that did not arrive over TLS.
        aws.s3.BucketPolicy(
            f"{name}-tls-only",
            bucket=resource.id,
            policy=policy_json([tls_only_statement(resource.arn)]),
            # S3 refuses a policy change while the public access block is being written.
            opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[public_access]),
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
