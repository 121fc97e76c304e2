"""Composition of the observability area: per agent an ObservabilityBundle, per tenant its alert routing."""

from __future__ import annotations

from typing import Any

import pulumi

from alerting.dashboards import agent_dashboard
from alerting.ops_rules import OpsContext, ops_groups
from alerting.slo_rules import Group, Workload, slo_groups
from components.observability_bundle import MONITORING_API, ObservabilityBundle, ObservabilityBundleArgs, TenantRules
from components.synthetic_session import PROBE_LABEL
from components.tenant_alert_routing import (
    ALERTMANAGER_CONFIG_API,
    ReceiverRef,
    TenantAlertRouting,
    TenantAlertRoutingArgs,
)
from components.tenant_pushgateway import TenantPushgateway, TenantPushgatewayArgs
from conventions import metrics as catalog
from settings import StackSettings
from settings.agents import Agent
from stacks.foundation import Foundation
from stacks.workloads import synthetic_session_on


def workload(s: StackSettings, agent: Agent, tenant_id: str) -> Workload:
    return Workload(
        agent_id=agent.id,
        tenant_id=tenant_id,
        namespace=s.namespace(tenant_id),
        certified=agent.certified,
        error_statuses=tuple(s.names.error_statuses),
        runbook_base_url=s.observability.runbook_base_url,
    )


def rule_groups(stack: str, s: StackSettings, agent: Agent, tenant_id: str) -> list[Group]:
    """Every rule group of one agent in one tenant namespace."""
    obs = s.observability
    ctx = OpsContext(
        stack=stack,
        canary_vs_stable=s.gates.slo.error_ratio_vs_stable,
        rollback_workflow=obs.rollback_workflow,
        synthetic_metric=s.names.synthetic_session_metric,
    )
    w = workload(s, agent, tenant_id)
    return [*slo_groups(w, s.slo, obs.rule_interval), *ops_groups(w, s.slo, obs.alerts, ctx, obs.rule_interval)]


def gate_contract(s: StackSettings) -> dict[str, Any]:
    """What the SLO gate queries: metric names, label names and which statuses are failures."""
    return {
        "requests_metric": catalog.REQUESTS.name,
        "duration_histogram": catalog.REQUEST_DURATION.name,
        "duration_bucket_series": catalog.REQUEST_DURATION.series[0],
        "duration_count_series": catalog.REQUEST_DURATION.series[1],
        "latency_buckets": list(catalog.LATENCY_BUCKETS),
        "labels": {
            "agent_id": catalog.AGENT_ID,
            "version": catalog.VERSION,
            "tenant_id": catalog.TENANT_ID,
            "status": catalog.STATUS,
            "track": catalog.TRACK,
            "namespace": catalog.NAMESPACE,
        },
        "error_statuses": list(s.names.error_statuses),
    }


def receivers(s: StackSettings, names: set[str]) -> list[ReceiverRef]:
    configured = s.observability.receivers
    refs = []
    for name in sorted(names):
        receiver = configured.get(name)
        refs.append(
            ReceiverRef(
                name=name,
                type=receiver.type if receiver else "webhook",
                secret_key=(receiver.secret_key if receiver and receiver.secret_key else name),
                value=receiver.value if receiver else None,
            )
        )
    return refs


def build_observability(platform: Foundation) -> dict[str, Any]:
    s = platform.settings
    obs = s.observability
    opts = pulumi.ResourceOptions(provider=platform.k8s_provider)
    agents: dict[str, Any] = {}
    for agent in s.agents:
        dashboard = agent_dashboard(agent.id, agent.tenants)
        bundle = ObservabilityBundle(
            f"{agent.id}-observability",
            ObservabilityBundleArgs(
                agent_id=agent.id,
                tenants=[
                    TenantRules(
                        tenant_id=tenant_id,
                        namespace=s.namespace(tenant_id),
                        groups=rule_groups(platform.stack, s, agent, tenant_id),
                        depends_on=[platform.tenants[tenant_id]],
                    )
                    for tenant_id in agent.tenants
                ],
                service_monitor_labels=obs.prometheus_selector,
                rule_labels=obs.rule_selector,
                scrape_interval=obs.scrape_interval,
                dashboard=dashboard,
                dashboard_namespace=s.cluster.monitoring_namespace,
                dashboard_folder=obs.grafana_folder,
                crd_installers=platform.crd_installers(MONITORING_API),
            ),
            opts=opts,
        )
        agents[agent.id] = {
            "dashboard": {
                "configmap": bundle.dashboard_name,
                "namespace": s.cluster.monitoring_namespace,
                "uid": dashboard["uid"],
                "title": dashboard["title"],
            },
            "service_monitors": bundle.service_monitors,
            "rules": bundle.rules,
            "gate": gate_contract(s),
        }
    for tenant in s.tenants:
        # Every tenant namespace gets its routing, so an agent added later pages from its first alert.
        oncall = {a.id: a.oncall_receiver for a in s.agents if tenant.id in a.tenants}
        names = set(oncall.values()) | set(obs.ticket_receivers.values())
        TenantAlertRouting(
            f"{tenant.id}-alert-routing",
            TenantAlertRoutingArgs(
                namespace=s.namespace(tenant.id),
                tenant_id=tenant.id,
                oncall=oncall,
                tickets={str(priority): receiver for priority, receiver in obs.ticket_receivers.items()},
                receivers=receivers(s, names),
                secret_name=obs.receiver_secret,
                labels=obs.alertmanager_config_selector,
                crd_installers=platform.crd_installers(ALERTMANAGER_CONFIG_API),
            ),
            opts=pulumi.ResourceOptions(provider=platform.k8s_provider, depends_on=[platform.tenants[tenant.id]]),
        )
        # Every tenant where sessions run, like the routing: an agent added later pushes from its first session.
        if any(synthetic_session_on(s, a) for a in s.agents):
            TenantPushgateway(
                f"{tenant.id}-pushgateway",
                TenantPushgatewayArgs(
                    tenant_id=tenant.id,
                    namespace=s.namespace(tenant.id),
                    image=obs.pushgateway_image,
                    pushers={"matchExpressions": [{"key": PROBE_LABEL, "operator": "Exists"}]},
                    tenant_label=s.names.metric_labels.tenant_id,
                    monitoring_namespace=s.cluster.monitoring_namespace,
                    service_monitor_labels=obs.prometheus_selector,
                    scrape_interval=obs.scrape_interval,
                    depends_on=[platform.tenants[tenant.id]],
                    crd_installers=platform.crd_installers(MONITORING_API),
                ),
                opts=opts,
            )
    return {"observability": {"agents": agents}}
