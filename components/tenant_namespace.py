"""TenantNamespace: everything one tenant gets in one environment before any agent runs there.

The namespace, its Pod Security labels, quota and limit range by tier, the network policies
(default deny plus the few allowed paths), the tenant-admin RBAC, one ServiceAccount per agent
for IRSA, and the tenant's resolved feature flags.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi

from components.base.aws import IRSA_ANNOTATION
from components.base.kubernetes_object import KubernetesObject
from components.base.network_policy import (
    ALL_PODS,
    cidr_egress,
    default_deny,
    dns_egress,
    namespace_selector,
    public_https_egress,
    tcp,
)
from components.base.values import Value
from conventions.labels import (
    DATA_RESIDENCY,
    ENVIRONMENT,
    MANAGED_BY,
    MANAGER,
    SLA_TIER,
    TENANT_ID,
    pod_security_labels,
)
from conventions.ports import HTTP_PORT, METRICS_PORT
from planning.feature_flags import TenantFlags

FLAGS_CONFIGMAP = "feature-flags"
FLAGS_FILE = "flags.json"


@dataclass(frozen=True)
class TenantNetwork:
    data_subnet_cidrs: list[str]
    vpc_cidr: str
    aws_api_cidrs: list[str]
    ingress_namespace: str
    monitoring_namespace: str


class CpuMemory(Value):
    cpu: str | int | float
    memory: str | int | float


class LimitRange(Value):
    """The namespace's LimitRange: container defaults and bounds, pod and claim bounds."""

    container_default: CpuMemory
    container_default_request: CpuMemory
    container_max: CpuMemory
    container_min: CpuMemory
    pod_max: CpuMemory
    pvc_min: str | int | float
    pvc_max: str | int | float


@dataclass(frozen=True)
class TenantNamespaceArgs:
    tenant_id: str
    sla_tier: str
    """The `sla-tier` label's value."""
    data_residency: str
    """The `data-residency` label's value: where the tenant's data may live."""
    admin_group: str
    """The group bound to the namespace's tenant-admin Role."""
    quota: Mapping[str, str]
    """The ResourceQuota's `spec.hard`: resource name -> quantity."""
    limit_range: LimitRange
    namespace: str
    """The namespace to create; the stack names it `<tenant>-<environment>`, a library user as it likes."""
    environment: str
    """The `environment` label's value."""
    flags: TenantFlags
    network: TenantNetwork
    pod_security_version: str
    lifecycle_ports: list[int]
    service_accounts: dict[str, pulumi.Input[str] | None] = field(default_factory=dict)
    """Agent id -> IAM role ARN for IRSA (None: no AWS access)."""


class TenantNamespace(pulumi.ComponentResource):
    namespace: pulumi.Output[str]
    service_account_names: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: TenantNamespaceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("agent-platform:components:TenantNamespace", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self._args = args
        ns_name = args.namespace

        self.ns = KubernetesObject(
            f"{name}-ns",
            api_version="v1",
            kind="Namespace",
            metadata={"name": ns_name, "labels": self.labels()},
            opts=child,
        )
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[self.ns])
        meta = self._meta

        quota = args.quota
        KubernetesObject(
            f"{name}-quota",
            api_version="v1",
            kind="ResourceQuota",
            metadata=meta(f"{ns_name}-quota"),
            spec={"hard": dict(quota)},
            opts=in_ns,
        )
        lr = args.limit_range
        KubernetesObject(
            f"{name}-limits",
            api_version="v1",
            kind="LimitRange",
            metadata=meta(f"{ns_name}-limits"),
            spec={
                "limits": [
                    {
                        "type": "Container",
                        "default": _cpu_mem(lr.container_default),
                        "defaultRequest": _cpu_mem(lr.container_default_request),
                        "max": _cpu_mem(lr.container_max),
                        "min": _cpu_mem(lr.container_min),
                    },
                    {"type": "Pod", "max": _cpu_mem(lr.pod_max), "min": _cpu_mem(lr.container_min)},
                    {
                        "type": "PersistentVolumeClaim",
                        "min": {"storage": str(lr.pvc_min)},
                        "max": {"storage": str(lr.pvc_max)},
                    },
                ]
            },
            opts=in_ns,
        )
        for policy_name, spec in self.network_policies().items():
            KubernetesObject(
                f"{name}-netpol-{policy_name}",
                api_version="networking.k8s.io/v1",
                kind="NetworkPolicy",
                metadata=meta(policy_name),
                spec=spec,
                opts=in_ns,
            )

        role = KubernetesObject(
            f"{name}-admin-role",
            api_version="rbac.authorization.k8s.io/v1",
            kind="Role",
            metadata=meta("tenant-admin"),
            rules=_ADMIN_RULES,
            opts=in_ns,
        )
        KubernetesObject(
            f"{name}-admin-binding",
            api_version="rbac.authorization.k8s.io/v1",
            kind="RoleBinding",
            metadata=meta("tenant-admin"),
            roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "tenant-admin"},
            subjects=[{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": args.admin_group}],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role]),
        )

        self.service_account_names = {}
        for agent_id, role_arn in sorted(args.service_accounts.items()):
            annotations = {IRSA_ANNOTATION: role_arn} if role_arn is not None else {}
            sa = KubernetesObject(
                f"{name}-sa-{agent_id}",
                api_version="v1",
                kind="ServiceAccount",
                metadata={**meta(agent_id), "annotations": annotations},
                # The IRSA webhook projects its own token; the API token stays unmounted unless a pod asks.
                automountServiceAccountToken=False,
                opts=in_ns,
            )
            self.service_account_names[agent_id] = sa.metadata.apply(lambda m: m["name"])

        KubernetesObject(
            f"{name}-flags",
            api_version="v1",
            kind="ConfigMap",
            metadata=meta(FLAGS_CONFIGMAP),
            data={
                FLAGS_FILE: json.dumps(args.flags.flags, sort_keys=True),
                "canary-cohort": str(args.flags.canary_cohort).lower(),
            },
            opts=in_ns,
        )

        self.namespace = self.ns.metadata.apply(lambda m: m["name"])
        self.register_outputs(
            {
                "namespace": self.namespace,
                "service_account_names": self.service_account_names,
            }
        )

    def labels(self) -> dict[str, str]:
        a = self._args
        labels = {
            TENANT_ID: a.tenant_id,
            ENVIRONMENT: a.environment,
            SLA_TIER: a.sla_tier,
            DATA_RESIDENCY: a.data_residency,
            MANAGED_BY: MANAGER,
        }
        return {**labels, **pod_security_labels("restricted", a.pod_security_version)}

    def _meta(self, name: str) -> dict[str, object]:
        return {
            "name": name,
            "namespace": self._args.namespace,
            "labels": {TENANT_ID: self._args.tenant_id, MANAGED_BY: MANAGER},
        }

    def network_policies(self) -> dict[str, dict[str, object]]:
        """Default deny both ways, then only the paths agents need."""
        net = self._args.network
        internal_ports = sorted({HTTP_PORT, METRICS_PORT, *self._args.lifecycle_ports})
        return {
            "default-deny-all": default_deny(),
            "allow-from-ingress-controller": {
                "podSelector": ALL_PODS,
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [namespace_selector(net.ingress_namespace)], "ports": tcp(HTTP_PORT)}],
            },
            "allow-within-namespace": {
                "podSelector": ALL_PODS,
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"podSelector": ALL_PODS}], "ports": tcp(*internal_ports)}],
            },
            # Default deny covers egress too: without this, agents of the tenant could not call each other.
            "allow-egress-within-namespace": {
                "podSelector": ALL_PODS,
                "policyTypes": ["Egress"],
                "egress": [{"to": [{"podSelector": ALL_PODS}], "ports": tcp(*internal_ports)}],
            },
            "allow-monitoring-scrape": {
                "podSelector": ALL_PODS,
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [namespace_selector(net.monitoring_namespace)], "ports": tcp(METRICS_PORT)}],
            },
            "allow-dns-egress": dns_egress(),
            "allow-data-egress": cidr_egress(net.data_subnet_cidrs, [5432, 6379]),
            "allow-https-egress": public_https_egress(net.vpc_cidr, net.aws_api_cidrs),
        }


def _cpu_mem(value: CpuMemory) -> dict[str, str]:
    return {"cpu": str(value.cpu), "memory": str(value.memory)}


_READ = ["get", "list", "watch"]
# Read and restart only. Creating Jobs or patching a pod template would run any image as any ServiceAccount
# of the namespace (its IRSA role) with any Secret mounted; deleting a pod makes its controller start a fresh
# one from the template `up` wrote.
_ADMIN_RULES = [
    {
        "apiGroups": [""],
        "resources": ["pods", "pods/log", "services", "endpoints", "configmaps", "persistentvolumeclaims", "events"],
        "verbs": _READ,
    },
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["delete"]},
    {"apiGroups": ["apps"], "resources": ["deployments", "statefulsets", "replicasets"], "verbs": _READ},
    {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"], "verbs": _READ},
    {"apiGroups": ["batch"], "resources": ["jobs", "cronjobs"], "verbs": _READ},
    {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses", "networkpolicies"], "verbs": _READ},
    {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": _READ},
]
