"""KmsKey: the customer-managed key of one stack in one region, and the policy that says who may use it.

The policy admits the AWS services that encrypt our data (through `kms:ViaService` in this region only)
and the named roles that use the key directly (S3 replication, Velero, the EBS CSI driver). Roles are
matched by `aws:PrincipalArn` rather than as principals, so the key can be created before those roles exist.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
from pydantic import Field

from components.base.aws import AwsConfig, policy_json

USE_ACTIONS = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"]
GRANT_ACTIONS = ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]


class KmsKeyConfig(AwsConfig):
    alias: str = Field(pattern=r"^alias/[A-Za-z0-9/_-]+$")
    account_id: Any = Field(description="pulumi.Input[str]: the account that owns and administers the key.")
    services: list[str] = Field(min_length=1, description="Service prefixes, e.g. rds, elasticache, backup, s3.")
    role_arns: list[Any] = Field(default_factory=list, description="Roles that use the key directly.")
    publishers: list[str] = Field(
        default_factory=list,
        description="Service principals that publish to SNS topics encrypted with the key, e.g. "
        "cloudwatch.amazonaws.com for alarm actions.",
    )
    deletion_window_days: int = Field(30, ge=7, le=30)
    protect: bool = False


def key_policy(config: KmsKeyConfig) -> pulumi.Output[str]:
    account = pulumi.Output.from_input(config.account_id)
    statements: list[dict[str, Any]] = [
        {
            # Without this the key becomes unmanageable; IAM policies in the account still decide who acts.
            "Sid": "AccountAdministers",
            "Effect": "Allow",
            "Principal": {"AWS": account.apply(lambda a: f"arn:aws:iam::{a}:root")},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "ServicesInRegion",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": USE_ACTIONS + GRANT_ACTIONS,
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "kms:CallerAccount": account,
                    "kms:ViaService": [f"{service}.{config.region}.amazonaws.com" for service in config.services],
                }
            },
        },
    ]
    if config.publishers:
        # A service that publishes to an encrypted topic needs the key itself; the AWS managed aws/sns key
        # cannot grant it (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html
        # #compatibility-with-aws-services).
        statements.append(
            {
                "Sid": "ServicesPublishToEncryptedTopics",
                "Effect": "Allow",
                "Principal": {"Service": config.publishers},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
            }
        )
    if config.role_arns:
        statements.append(
            {
                "Sid": "NamedRoles",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": [*USE_ACTIONS, "kms:GenerateDataKeyWithoutPlaintext"],
                "Resource": "*",
                "Condition": {"ArnEquals": {"aws:PrincipalArn": config.role_arns}},
            }
        )
        statements.append(
            {
                # The EBS CSI driver attaches encrypted volumes through grants for the EC2 service.
                "Sid": "NamedRolesGrantForAwsResources",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": GRANT_ACTIONS,
                "Resource": "*",
                "Condition": {
                    "ArnEquals": {"aws:PrincipalArn": config.role_arns},
                    "Bool": {"kms:GrantIsForAWSResource": "true"},
                },
            }
        )
    return policy_json(statements)


class KmsKey(pulumi.ComponentResource):
    key_arn: pulumi.Output[str]
    key_id: pulumi.Output[str]
    alias_name: pulumi.Output[str]

    def __init__(self, name: str, config: KmsKeyConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("agent-platform:components:KmsKey", name, None, opts)
        self.key = aws.kms.Key(
            f"{name}-key",
            description=f"agent-platform data at rest ({config.tags['environment']}, {config.region})",
            enable_key_rotation=True,
            deletion_window_in_days=config.deletion_window_days,
            policy=key_policy(config),
            tags=config.tags,
            opts=pulumi.ResourceOptions(parent=self, protect=config.protect),
        )
        self.alias = aws.kms.Alias(
            f"{name}-alias", name=config.alias, target_key_id=self.key.key_id, opts=pulumi.ResourceOptions(parent=self)
        )
        self.key_arn = self.key.arn
        self.key_id = self.key.key_id
        self.alias_name = self.alias.name
        self.register_outputs({"key_arn": self.key_arn, "key_id": self.key_id, "alias_name": self.alias_name})
