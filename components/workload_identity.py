"""WorkloadIdentity: one IAM role per agent per tenant, assumable only by that agent's ServiceAccount (IRSA)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class WorkloadIdentityArgs:
    namespace: str
    service_account: str
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    tags: dict[str, str]


class WorkloadIdentity(pulumi.ComponentResource):
    role_arn: pulumi.Output[str]
    role_name: pulumi.Output[str]

    def __init__(self, name: str, args: WorkloadIdentityArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("agent-platform:components:WorkloadIdentity", name, None, opts)
        subject = f"system:serviceaccount:{args.namespace}:{args.service_account}"
        trust = pulumi.Output.all(args.oidc_provider_arn, args.oidc_issuer).apply(
            lambda v: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Federated": v[0]},
                            "Action": "sts:AssumeRoleWithWebIdentity",
                            # Exact match on the subject: no other ServiceAccount may assume this role.
                            "Condition": {"StringEquals": {f"{v[1]}:sub": subject, f"{v[1]}:aud": "sts.amazonaws.com"}},
                        }
                    ],
                },
                sort_keys=True,
            )
        )
        self.role = aws.iam.Role(
            f"{name}-role",
            name=f"{args.namespace}-{args.service_account}"[:64],
            assume_role_policy=trust,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.role_arn = self.role.arn
        self.role_name = self.role.name
        self.register_outputs({"role_arn": self.role_arn, "role_name": self.role_name})
