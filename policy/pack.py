"""The rules of the pack, named once: CrossGuard (`policy/__main__.py`) and the offline check
(`policy/offline.py`) both run exactly this list. Building these objects does not start the analyzer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ReportViolation,
    ResourceValidationPolicy,
    StackValidationPolicy,
)

from policy import exceptions, rules_aws, rules_kubernetes, rules_rollout

PACK_NAME = "agent-platform-guardrails"
PACK_VERSION = "1.0.0"


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    validate: Callable[[Any, ReportViolation], None]
    stack: bool = False
    """A stack rule sees every resource at once (StackValidationPolicy); otherwise one resource at a time."""


RULES: tuple[Rule, ...] = (
    Rule(
        "pod-security-restricted",
        "Workloads pass the Pod Security 'restricted' profile.",
        rules_kubernetes.pod_security_restricted,
    ),
    Rule(
        "images-pinned",
        "Container images carry a version tag other than latest, or a digest.",
        rules_kubernetes.images_pinned,
    ),
    Rule(
        "container-resources",
        "Every container sets cpu and memory requests and limits.",
        rules_kubernetes.container_resources,
    ),
    Rule("agent-probes", "Agent workloads have liveness and readiness probes.", rules_kubernetes.agent_probes),
    Rule(
        "tenant-namespace-baseline",
        "Tenant namespaces have a default-deny NetworkPolicy, a ResourceQuota and a LimitRange.",
        rules_kubernetes.tenant_namespace_baseline,
        stack=True,
    ),
    Rule(
        "storage-encryption",
        "RDS, ElastiCache, EBS volumes and EBS StorageClasses encrypt data at rest.",
        rules_aws.storage_encryption,
    ),
    Rule(
        "s3-bucket-encryption",
        "S3 buckets have a server-side encryption configuration.",
        rules_aws.s3_bucket_encryption,
        stack=True,
    ),
    Rule(
        "s3-no-public-access",
        "S3 buckets block every kind of public access.",
        rules_aws.s3_no_public_access,
        stack=True,
    ),
    Rule(
        "prod-data-protection", "Prod data stores keep deletion protection and backups.", rules_aws.prod_data_protection
    ),
    Rule(
        "no-open-data-ports", "No security group admits 0.0.0.0/0 or ::/0 on a data port.", rules_aws.no_open_data_ports
    ),
    Rule(
        "required-tags",
        "AWS resources carry environment, managed-by and (tenant-scoped) tenant-id tags.",
        rules_aws.required_tags,
        stack=True,
    ),
    Rule(
        "canary-tenant-exposure",
        "In prod a canary runs in at most 5% of the agent's tenants (at least one) until its gated stages complete.",
        rules_rollout.canary_tenant_exposure,
        stack=True,
    ),
    Rule("agent-slo", "Every agent in prod has an SLO with alerts.", rules_rollout.agent_slo, stack=True),
    Rule(
        "agent-rollback-policy",
        "Every agent in prod rolls back on a failed gate.",
        rules_rollout.agent_rollback_policy,
        stack=True,
    ),
    Rule(
        "agent-oncall-owner",
        "Every agent in prod has an owner and an on-call receiver.",
        rules_rollout.agent_oncall_owner,
        stack=True,
    ),
)


def honouring_exceptions(rule: Rule) -> Callable[[Any, ReportViolation], None]:
    """The rule's validate, minus violations an unexpired entry of policy/exceptions.yaml covers."""

    def validate(args: Any, report_violation: ReportViolation) -> None:
        def report(message: str, urn: str | None = None) -> None:
            target = urn or getattr(args, "urn", None)
            if exceptions.find(rule.name, target) is None:
                report_violation(message, urn)

        rule.validate(args, report)

    return validate


def policies() -> list[Policy]:
    built: list[Policy] = []
    for rule in RULES:
        kind = StackValidationPolicy if rule.stack else ResourceValidationPolicy
        built.append(
            kind(
                name=rule.name,
                description=rule.description,
                validate=honouring_exceptions(rule),
                enforcement_level=EnforcementLevel.MANDATORY,
                remediation_steps="See the violation message; docs/delivery.md explains exceptions.",
            )
        )
    return built
