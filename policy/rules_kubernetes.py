"""Kubernetes rules: what every workload and every tenant namespace must look like.

Each function is a CrossGuard validate callback: it filters on the type token, checks one thing and reports
what is wrong and how to fix it. Helm releases are out of reach here (their objects are rendered by Helm,
not by this program); the charts' values set the same guarantees.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, StackValidationArgs

from conventions.labels import AGENT_ID, TENANT_ID
from policy import pod_security
from policy.resources import (
    container_ref,
    containers,
    get,
    is_unknown,
    is_workload,
    items,
    kubernetes_kind,
    metadata,
    object_ref,
    pod_labels,
    pod_spec,
    pod_template,
)

AGENT_LABEL = AGENT_ID
TENANT_LABEL = TENANT_ID
RESOURCE_KEYS = ("cpu", "memory")


def pod_security_restricted(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if not is_workload(args.resource_type):
        return
    for problem in pod_security.violations(pod_template(args.resource_type, args.props)):
        report_violation(
            f"{object_ref(args.resource_type, args.props)} breaks Pod Security 'restricted': {problem}. "
            "Set the pod's securityContext (runAsNonRoot, seccompProfile RuntimeDefault) and each container's "
            "(allowPrivilegeEscalation: false, capabilities.drop: [ALL]); use only the restricted volume types.",
            args.urn,
        )


def image_problem(image: Any) -> str | None:
    """Why an image reference is not pinned, or None. A digest pins; otherwise a tag other than `latest`."""
    if not isinstance(image, str) or is_unknown(image):
        return None
    if "@sha256:" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "has no tag"
    if last.rsplit(":", 1)[1] in ("", "latest"):
        return "uses the 'latest' tag"
    return None


def images_pinned(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if not is_workload(args.resource_type):
        return
    for field, container in containers(pod_spec(args.resource_type, args.props)):
        image = get(container, "image")
        problem = image_problem(image)
        if problem:
            report_violation(
                f"{object_ref(args.resource_type, args.props)}: {container_ref(field, container)} image "
                f"{image!r} {problem}. Pin a released version tag or, better, a digest (image@sha256:...).",
                args.urn,
            )


def container_resources(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if not is_workload(args.resource_type):
        return
    for field, container in containers(pod_spec(args.resource_type, args.props)):
        if field == "ephemeralContainers":
            continue  # the API forbids resources on ephemeral (debug) containers
        missing = [
            f"{kind}.{key}"
            for kind in ("requests", "limits")
            for key in RESOURCE_KEYS
            if get(container, "resources", kind, key) in (None, "")
        ]
        if missing:
            report_violation(
                f"{object_ref(args.resource_type, args.props)}: {container_ref(field, container)} has no "
                f"{', '.join(missing)}. Set cpu and memory requests and limits (the tier's LimitRange defaults "
                "are a floor, not a plan).",
                args.urn,
            )


def agent_probes(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """Agent workloads (pod label `agent-id`) need liveness and readiness probes on every container:
    rollouts and the load balancer decide on readiness, and a hung model call is only caught by liveness."""
    if not is_workload(args.resource_type) or not get(pod_labels(args.resource_type, args.props), AGENT_LABEL):
        return
    for field, container in containers(pod_spec(args.resource_type, args.props), init=False):
        missing = [probe for probe in ("livenessProbe", "readinessProbe") if not get(container, probe)]
        if missing:
            report_violation(
                f"{object_ref(args.resource_type, args.props)}: {container_ref(field, container)} of agent "
                f"'{get(pod_labels(args.resource_type, args.props), AGENT_LABEL)}' has no {' or '.join(missing)}. "
                "Probe the lifecycle port (/health/live, /health/ready) as the agent's `probes` settings describe.",
                args.urn,
            )


def _is_default_deny(props: Mapping[str, Any], direction: str) -> bool:
    """An empty pod selector, the direction in policyTypes and no rule for it: nothing is admitted."""
    selector = get(props, "spec", "podSelector", default={})
    selects_all = not get(selector, "matchLabels") and not get(selector, "matchExpressions")
    types = {str(t) for t in items(get(props, "spec", "policyTypes"))}
    return selects_all and direction in types and not items(get(props, "spec", direction.lower()))


def tenant_namespace_baseline(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    tenant_namespaces: dict[str, str] = {}
    deny: dict[str, set[str]] = {}
    quotas: set[str] = set()
    limit_ranges: set[str] = set()
    for resource in args.resources:
        kind = kubernetes_kind(resource.resource_type)
        meta = metadata(resource.props)
        if kind == "Namespace" and get(meta, "labels", TENANT_LABEL):
            tenant_namespaces[str(get(meta, "name"))] = resource.urn
        namespace = get(meta, "namespace")
        if kind == "NetworkPolicy":
            for direction in ("Ingress", "Egress"):
                if _is_default_deny(resource.props, direction):
                    deny.setdefault(namespace, set()).add(direction)
        elif kind == "ResourceQuota":
            quotas.add(namespace)
        elif kind == "LimitRange":
            limit_ranges.add(namespace)
    for namespace, urn in sorted(tenant_namespaces.items()):
        missing = []
        if deny.get(namespace, set()) != {"Ingress", "Egress"}:
            missing.append("a default-deny NetworkPolicy (podSelector {}, policyTypes [Ingress, Egress], no rules)")
        if namespace not in quotas:
            missing.append("a ResourceQuota")
        if namespace not in limit_ranges:
            missing.append("a LimitRange")
        if missing:
            report_violation(
                f"tenant namespace {namespace} has no {', no '.join(missing)}. Create the namespace through "
                "TenantNamespace, which adds all three from the tenant's tier.",
                urn,
            )
