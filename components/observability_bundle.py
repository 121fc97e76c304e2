"""ObservabilityBundle: how one agent is watched. Per tenant namespace it runs in, a ServiceMonitor for
the agent's per-track Services and a PrometheusRule with its SLO rules and alerts; once per agent, a
Grafana dashboard ConfigMap the Grafana sidecar picks up.

Rule groups and dashboard JSON are computed by pure functions (`alerting/slo_rules.py`,
`alerting/ops_rules.py`, `alerting/dashboards.py`); this component only places them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from components.base.kubernetes_object import KubernetesObject
from conventions import metrics
from conventions.labels import AGENT_ID, APP, TENANT_ID, TRACK, VERSION

METRICS_PORT_NAME = "metrics"
METRICS_PATH = "/metrics"
DASHBOARD_LABEL = "grafana_dashboard"
FOLDER_ANNOTATION = "grafana_folder"
MONITORING_API = "monitoring.coreos.com/v1"


def discovered_label(key: str) -> str:
    """A pod label's name in Prometheus' Kubernetes service discovery (`__meta_kubernetes_pod_label_<name>`):
    every character outside [a-zA-Z0-9_] becomes `_`."""
    return re.sub(r"[^a-zA-Z0-9_]", "_", key)


# Pod label -> target label. `track` is added so canary and stable series can be told apart.
RELABELED_POD_LABELS = {
    discovered_label(pod_label): series_label
    for pod_label, series_label in (
        (AGENT_ID, metrics.AGENT_ID),
        (VERSION, metrics.VERSION),
        (TENANT_ID, metrics.TENANT_ID),
        (TRACK, metrics.TRACK),
    )
}


@dataclass(frozen=True)
class TenantRules:
    tenant_id: str
    namespace: str
    groups: list[dict[str, Any]]
    depends_on: list[pulumi.Resource]
    """The tenant's namespace objects: the monitors and rules go in after them."""


@dataclass(frozen=True)
class ObservabilityBundleArgs:
    agent_id: str
    tenants: list[TenantRules]
    service_monitor_labels: dict[str, str]
    rule_labels: dict[str, str]
    scrape_interval: str
    dashboard: dict[str, Any]
    dashboard_namespace: str
    dashboard_folder: str
    crd_installers: Sequence[pulumi.Resource] = ()
    """The release installing the Prometheus Operator's CRDs (and its namespace), when this stack installs it."""


def service_monitor_spec(agent_id: str, namespace: str, interval: str) -> dict[str, Any]:
    relabelings = [
        {"sourceLabels": [f"__meta_kubernetes_pod_label_{source}"], "targetLabel": target, "action": "replace"}
        for source, target in RELABELED_POD_LABELS.items()
    ]
    relabelings.append(
        {"sourceLabels": ["__meta_kubernetes_namespace"], "targetLabel": "namespace", "action": "replace"}
    )
    return {
        # Only the per-track Services carry `track`: the client-facing Service would scrape every pod twice.
        "selector": {
            "matchLabels": {AGENT_ID: agent_id},
            "matchExpressions": [{"key": TRACK, "operator": "Exists"}],
        },
        "namespaceSelector": {"matchNames": [namespace]},
        "endpoints": [
            {
                "port": METRICS_PORT_NAME,
                "path": METRICS_PATH,
                "interval": interval,
                "scheme": "http",
                "relabelings": relabelings,
            }
        ],
    }


class ObservabilityBundle(pulumi.ComponentResource):
    service_monitors: dict[str, pulumi.Output[str]]
    """tenant id -> ServiceMonitor name."""
    rules: dict[str, pulumi.Output[str]]
    """tenant id -> PrometheusRule name."""
    dashboard_name: pulumi.Output[str]

    def __init__(self, name: str, args: ObservabilityBundleArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("agent-platform:components:ObservabilityBundle", name, None, opts)
        self.service_monitors = {}
        self.rules = {}
        for tenant in args.tenants:
            child = pulumi.ResourceOptions(parent=self, depends_on=[*tenant.depends_on, *args.crd_installers])
            labels = {APP: args.agent_id, AGENT_ID: args.agent_id, TENANT_ID: tenant.tenant_id}
            monitor = KubernetesObject(
                f"{name}-{tenant.tenant_id}-servicemonitor",
                api_version=MONITORING_API,
                kind="ServiceMonitor",
                metadata={
                    "name": args.agent_id,
                    "namespace": tenant.namespace,
                    "labels": {**labels, **args.service_monitor_labels},
                },
                spec=service_monitor_spec(args.agent_id, tenant.namespace, args.scrape_interval),
                opts=child,
            )
            rule = KubernetesObject(
                f"{name}-{tenant.tenant_id}-rules",
                api_version=MONITORING_API,
                kind="PrometheusRule",
                metadata={
                    "name": f"{args.agent_id}-slo",
                    "namespace": tenant.namespace,
                    "labels": {**labels, **args.rule_labels},
                },
                spec={"groups": tenant.groups},
                opts=child,
            )
            self.service_monitors[tenant.tenant_id] = monitor.metadata.apply(lambda m: m["name"])
            self.rules[tenant.tenant_id] = rule.metadata.apply(lambda m: m["name"])
        uid = args.dashboard["uid"]
        self.dashboard = KubernetesObject(
            f"{name}-dashboard",
            api_version="v1",
            kind="ConfigMap",
            metadata={
                "name": f"agent-dashboard-{args.agent_id}",
                "namespace": args.dashboard_namespace,
                "labels": {DASHBOARD_LABEL: "1", APP: args.agent_id, AGENT_ID: args.agent_id},
                "annotations": {FOLDER_ANNOTATION: args.dashboard_folder},
            },
            data={f"{uid}.json": json.dumps(args.dashboard, indent=2, sort_keys=True)},
            # The monitoring namespace is the operator release's too.
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.crd_installers)),
        )
        self.dashboard_name = self.dashboard.metadata.apply(lambda m: m["name"])
        self.register_outputs(
            {"service_monitors": self.service_monitors, "rules": self.rules, "dashboard_name": self.dashboard_name}
        )
