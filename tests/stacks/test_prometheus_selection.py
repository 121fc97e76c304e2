"""Where a stack installs kube-prometheus-stack, its Prometheus must load every rule we render and scrape every
series those rules read: the selection model is in `prometheus_selection.py` (chart and operator sources)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from components.tenant_pushgateway import NAME as TENANT_PUSHGATEWAY
from conventions import metrics as catalog
from tests.alerting.promql import series_names
from tests.conftest import STACKS
from tests.stacks.conftest import Rendered, stack_settings
from tests.stacks.prometheus_selection import (
    KPS_CHART,
    MODELLED,
    PUSHGATEWAY_CHART,
    Monitor,
    PrometheusSelection,
    alertmanager_config_selection,
    chart_monitors,
    prometheus_selection,
    pushgateway_monitors,
)

RELEASE = "kubernetes:helm.sh/v3:Release"
INSTALLING = [s for s in STACKS if stack_settings(s).cluster.install_addons]


def test_some_stack_installs_the_monitoring_addons() -> None:
    assert INSTALLING, "no stack installs the add-ons: the selection tests below would check nothing"


def _release(r: Rendered, chart: str) -> dict[str, Any]:
    (release,) = [x["inputs"] for x in r.of_type(RELEASE) if x["inputs"]["chart"] == chart]
    assert release["version"] == MODELLED[chart], f"model {chart} {release['version']} in prometheus_selection.py"
    return release


def _selection(r: Rendered) -> tuple[PrometheusSelection, list[Monitor]]:
    kps = _release(r, KPS_CHART)
    push = _release(r, PUSHGATEWAY_CHART)
    selection = prometheus_selection(kps["name"], kps["namespace"], kps["values"])
    monitors = chart_monitors(kps["name"], kps["namespace"], kps["values"])
    monitors += pushgateway_monitors(push["name"], push["values"])
    for m in r.kinds("ServiceMonitor"):
        meta = m["metadata"]
        # Each tenant's own Pushgateway (TenantPushgateway) is where its synthetic sessions push.
        source = "pushgateway" if meta["name"] == TENANT_PUSHGATEWAY else "runtime"
        monitors.append(Monitor(meta["name"], meta["namespace"], meta.get("labels", {}), source))
    return selection, monitors


@pytest.mark.parametrize("stack", INSTALLING)
def test_prometheus_loads_every_rendered_rule_and_monitor(data_render: Callable[[str], Rendered], stack: str) -> None:
    r = data_render(stack)
    selection, monitors = _selection(r)
    rules = r.kinds("PrometheusRule")
    assert rules
    for rule in rules:
        meta = rule["metadata"]
        assert selection.selects_rule(meta.get("labels", {}), meta["namespace"]), (
            f"PrometheusRule {meta['namespace']}/{meta['name']} {meta.get('labels')} not selected by {selection.rules}"
        )
    for monitor in monitors:
        if monitor.source == "runtime":
            assert selection.selects_monitor(monitor), (
                f"ServiceMonitor {monitor.namespace}/{monitor.name} {monitor.labels} not selected by "
                f"{selection.service_monitors}"
            )


@pytest.mark.parametrize("stack", INSTALLING)
def test_every_series_the_rules_read_is_scraped(data_render: Callable[[str], Rendered], stack: str) -> None:
    """Each series an alert or recording rule reads is either recorded by a rule or scraped by a selected
    monitor of its catalog source that keeps it: the agent's own ServiceMonitor in the rule's namespace for
    runtime series, the chart's kubelet and kube-state-metrics monitors, the Pushgateway's."""
    r = data_render(stack)
    selection, monitors = _selection(r)
    known = catalog.known_series()
    missing: dict[str, list[str]] = {}
    for rule in r.kinds("PrometheusRule"):
        meta = rule["metadata"]
        agent = meta["labels"]["agent-id"]
        groups = rule["spec"]["groups"]
        recorded = {x["record"] for g in groups for x in g["rules"] if "record" in x}
        read = {name for g in groups for x in g["rules"] for name in series_names(x["expr"])} - recorded
        for series in sorted(read):
            assert series in known, f"{series} is in no catalog entry"
            source = known[series].source
            if source == "prometheus":
                continue
            scrapers = [
                m
                for m in monitors
                if m.source == source
                and selection.selects_monitor(m)
                and m.keeps(series)
                and (source != "runtime" or (m.namespace == meta["namespace"] and m.name == agent))
            ]
            if not scrapers:
                missing.setdefault(f"{series} ({source})", []).append(f"{meta['namespace']}/{meta['name']}")
    assert not missing, "no selected scrape source:\n" + "\n".join(
        f"{series}, read by {len(rules)} rules such as {rules[0]}" for series, rules in sorted(missing.items())
    )


@pytest.mark.parametrize("stack", INSTALLING)
def test_alertmanager_loads_every_tenant_routing(data_render: Callable[[str], Rendered], stack: str) -> None:
    r = data_render(stack)
    kps = _release(r, KPS_CHART)
    selection = alertmanager_config_selection(kps["namespace"], kps["values"])
    configs = r.kinds("AlertmanagerConfig")
    assert len(configs) == len(r.settings.tenants)
    for config in configs:
        meta = config["metadata"]
        assert selection.selects_rule(meta.get("labels", {}), meta["namespace"]), f"{meta['namespace']} not selected"
