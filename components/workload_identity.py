"""WorkloadIdentity: one IAM role per agent per tenant, assumable only by that agent's ServiceAccount (IRSA)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.base.aws import irsa_trust
from conventions.identifiers import workload_role_name


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
        trust = irsa_trust(args.oidc_provider_arn, args.oidc_issuer, args.namespace, args.service_account)
        self.role = aws.iam.Role(
            f"{name}-role",
            name=workload_role_name(args.namespace, args.service_account),
            assume_role_policy=trust,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.role_arn = self.role.arn
        self.role_name = self.role.name
        self.register_outputs({"role_arn": self.role_arn, "role_name": self.role_name})
