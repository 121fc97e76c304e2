"""TenantPushgateway: the Pushgateway a tenant's synthetic sessions push to, in the tenant's own namespace.

A Pushgateway has no authentication and takes every label from the pusher's URL, so a shared one lets any
pusher write any tenant's series; no relabelling can tell pushers apart once their pushes are merged. One
per tenant namespace closes that: only the tenant's probe pods reach it (NetworkPolicy), and its
ServiceMonitor scrapes with `honorLabels: false` and sets the tenant label on the target, so Prometheus
renames any pushed tenant label to `exported_<label>` and every series it stores names this tenant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from components.base.kubernetes_object import KubernetesObject
from components.base.network_policy import namespace_selector, tcp
from conventions.labels import COMPONENT, MANAGED_BY, MANAGER, TENANT_ID
from conventions.labels import NAME as NAME_LABEL
from conventions.pods import SUPPORT_CONTAINER_RESOURCES
from conventions.ports import PUSHGATEWAY_PORT

NAME = "pushgateway"
PORT = PUSHGATEWAY_PORT
LABELS = {NAME_LABEL: NAME, COMPONENT: "synthetic-sessions"}
UID = 65534  # the image's `nobody`
MONITORING_API = "monitoring.coreos.com/v1"


def pushgateway_url(namespace: str) -> str:
    return f"http://{NAME}.{namespace}.svc:{PORT}"


@dataclass(frozen=True)
class TenantPushgatewayArgs:
    tenant_id: str
    namespace: str
    image: str
    pushers: dict[str, Any]
    """Label selector of the pods that may push (the tenant's probe pods)."""
    tenant_label: str
    """The metric label that names the tenant (`tenant_id`)."""
    monitoring_namespace: str
    service_monitor_labels: dict[str, str]
    scrape_interval: str
    depends_on: Sequence[pulumi.Resource] = ()
    """The tenant's namespace objects."""
    crd_installers: Sequence[pulumi.Resource] = ()
    """The release installing the Prometheus Operator's CRDs, when this stack installs it."""


class TenantPushgateway(pulumi.ComponentResource):
    url: pulumi.Output[str]

    def __init__(self, name: str, args: TenantPushgatewayArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("agent-platform:components:TenantPushgateway", name, None, opts)
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on))
        labels = {**LABELS, TENANT_ID: args.tenant_id, MANAGED_BY: MANAGER}

        def meta(extra: dict[str, str] | None = None) -> dict[str, Any]:
            return {"name": NAME, "namespace": args.namespace, "labels": {**labels, **(extra or {})}}

        KubernetesObject(
            f"{name}-netpol",
            api_version="networking.k8s.io/v1",
            kind="NetworkPolicy",
            metadata=meta(),
            spec={
                "podSelector": {"matchLabels": LABELS},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {"from": [{"podSelector": args.pushers}], "ports": tcp(PORT)},
                    {"from": [namespace_selector(args.monitoring_namespace)], "ports": tcp(PORT)},
                ],
            },
            opts=in_ns,
        )
        deployment = KubernetesObject(
            f"{name}-deployment",
            api_version="apps/v1",
            kind="Deployment",
            metadata=meta(),
            spec={
                "replicas": 1,
                "selector": {"matchLabels": LABELS},
                "template": {"metadata": {"labels": labels}, "spec": self.pod_spec(args.image)},
            },
            opts=in_ns,
        )
        service = KubernetesObject(
            f"{name}-service",
            api_version="v1",
            kind="Service",
            metadata=meta(),
            spec={
                "type": "ClusterIP",
                "selector": LABELS,
                "ports": [{"name": "http", "port": PORT, "targetPort": "http", "protocol": "TCP"}],
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[deployment]),
        )
        KubernetesObject(
            f"{name}-servicemonitor",
            api_version=MONITORING_API,
            kind="ServiceMonitor",
            metadata=meta(args.service_monitor_labels),
            spec=service_monitor_spec(args.namespace, args.tenant_label, args.tenant_id, args.scrape_interval),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*args.depends_on, *args.crd_installers, service]),
        )
        self.url = pulumi.Output.from_input(pushgateway_url(args.namespace))
        self.register_outputs({"url": self.url})

    @staticmethod
    def pod_spec(image: str) -> dict[str, Any]:
        probe = {"httpGet": {"path": "/-/ready", "port": "http"}, "periodSeconds": 10}
        return {
            "automountServiceAccountToken": False,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": UID,
                "runAsGroup": UID,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [
                {
                    "name": NAME,
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
                    "resources": {
                        "requests": dict(SUPPORT_CONTAINER_RESOURCES),
                        "limits": dict(SUPPORT_CONTAINER_RESOURCES),
                    },
                    "readinessProbe": probe,
                    "livenessProbe": {**probe, "httpGet": {"path": "/-/healthy", "port": "http"}},
                    "securityContext": {
                        "runAsNonRoot": True,
                        "allowPrivilegeEscalation": False,
                        "readOnlyRootFilesystem": True,
                        "privileged": False,
                        "capabilities": {"drop": ["ALL"]},
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                }
            ],
        }


def service_monitor_spec(namespace: str, tenant_label: str, tenant_id: str, interval: str) -> dict[str, Any]:
    return {
        "selector": {"matchLabels": LABELS},
        "namespaceSelector": {"matchNames": [namespace]},
        "endpoints": [
            {
                "port": "http",
                "path": "/metrics",
                "interval": interval,
                "scheme": "http",
                # Pushed labels that clash with target labels become exported_<name>: the tenant is ours.
                "honorLabels": False,
                "relabelings": [{"targetLabel": tenant_label, "replacement": tenant_id, "action": "replace"}],
            }
        ],
    }
