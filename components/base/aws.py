"""Shared base of the data-service configs: region and tags are checked once, here (ol-infrastructure's AWSBase).

Every data resource carries the tags the policy pack requires plus `backup-plan`, the tag AWS Backup
selects by, so a resource a component creates cannot silently fall outside the plan.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
from pydantic import BaseModel, ConfigDict, field_validator

from conventions.regions import AWS_REGION
from conventions.tags import MANAGED_BY

REQUIRED_TAGS = ("environment", "managed-by")
BACKUP_TAG = "backup-plan"


class AwsConfig(BaseModel):
    """Base of every data-service config: a region and the tags its resources carry."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    region: str
    tags: dict[str, str]

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not AWS_REGION.match(value):
            raise ValueError(f"{value!r} is not an AWS region name")
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: dict[str, str]) -> dict[str, str]:
        missing = [key for key in REQUIRED_TAGS if key not in value]
        if missing:
            raise ValueError(f"tags {sorted(value)} lack {missing}; build them with conventions.tags.tags()")
        if value["managed-by"] != MANAGED_BY:
            raise ValueError(f"managed-by tag {value['managed-by']!r} is not {MANAGED_BY!r}")
        return value


def _distinct_resources(statement: dict[str, Any]) -> dict[str, Any]:
    listed = statement.get("Resource")
    if not isinstance(listed, list):
        return statement
    return {**statement, "Resource": list(dict.fromkeys(listed))}


def policy_json(statements: list[dict[str, Any]]) -> pulumi.Output[str]:
    """An IAM/KMS policy document from statements that may hold Outputs; keys sorted so diffs stay quiet, and a
    resource that several inputs resolve to (one key for two databases) listed once."""
    return pulumi.Output.from_input(statements).apply(
        lambda resolved: json.dumps(
            {"Version": "2012-10-17", "Statement": [_distinct_resources(s) for s in resolved]}, sort_keys=True
        )
    )


IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
"""The ServiceAccount annotation through which a pod assumes an IAM role (IRSA)."""


def role_arn(account_id: pulumi.Input[str], role_name: str) -> pulumi.Output[str]:
    return pulumi.Output.from_input(account_id).apply(lambda account: f"arn:aws:iam::{account}:role/{role_name}")


def irsa_trust(
    oidc_provider_arn: pulumi.Input[str], oidc_issuer: pulumi.Input[str], namespace: str, service_account: str
) -> pulumi.Output[str]:
    """Trust for exactly one ServiceAccount: an exact `sub` match, so no other account in the cluster can assume it."""
    subject = f"system:serviceaccount:{namespace}:{service_account}"
    return pulumi.Output.all(oidc_provider_arn, oidc_issuer).apply(
        lambda v: json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Federated": v[0]},
                        "Action": "sts:AssumeRoleWithWebIdentity",
                        "Condition": {"StringEquals": {f"{v[1]}:sub": subject, f"{v[1]}:aud": "sts.amazonaws.com"}},
                    }
                ],
            },
            sort_keys=True,
        )
    )


def service_trust(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        },
        sort_keys=True,
    )
