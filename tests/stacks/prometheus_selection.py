"""Which scrape objects and rules the kube-prometheus-stack Prometheus selects, and which series survive.

A model of other systems' rules, for the pinned chart versions, taken from their sources:

- kube-prometheus-stack 70.4.2, `templates/prometheus/prometheus.yaml`: a non-empty
  `prometheusSpec.<kind>Selector` is used as given; otherwise, with `<kind>SelectorNilUsesHelmValues`
  (default true) the selector is `matchLabels: {release: <release name>}`; otherwise `{}`. A namespace
  selector is the value if non-empty, else `{}`.
- prometheus-operator, `pkg/apis/monitoring/v1/prometheus_types.go`: "An empty label selector matches all
  objects. A null label selector matches no objects"; for namespace selectors "An empty label selector
  matches all namespaces. A null label selector (default value) matches the current namespace only."
- Kubernetes `metav1.LabelSelector`: every `matchLabels` pair and every `matchExpressions` requirement must hold.
- The chart's own ServiceMonitors and their labels: kubelet (`templates/exporters/kubelet/servicemonitor.yaml`,
  labels `kube-prometheus-stack.labels`, which include `release` and `commonLabels`), the kube-state-metrics
  5.31 and prometheus-node-exporter 4.45 subcharts (labels include `release` when `releaseLabel`, which the
  parent chart's values set true, plus `prometheus.monitor.additionalLabels`). The kubelet's cAdvisor endpoint
  applies `cAdvisorMetricRelabelings`, whose defaults drop among others `container_spec.*`.
- prometheus-pushgateway 3.0.0 `templates/servicemonitor.yaml`: only with `serviceMonitor.enabled` (default
  false), labelled with the chart's default labels (no `release`) plus `serviceMonitor.additionalLabels`.
- Prometheus relabelling: `action: drop` with `sourceLabels: [__name__]` drops series whose name fully matches
  `regex` (RE2, anchored).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from conventions.overlay import deep_merge

KPS_CHART = "kube-prometheus-stack"
PUSHGATEWAY_CHART = "prometheus-pushgateway"
MODELLED = {KPS_CHART: "70.4.2", PUSHGATEWAY_CHART: "3.0.0"}

# kube-prometheus-stack 70.4.2 values.yaml, the keys this model reads.
KPS_DEFAULTS: dict[str, Any] = {
    "commonLabels": {},
    "kubernetesServiceMonitors": {"enabled": True},
    "kubelet": {
        "enabled": True,
        "namespace": "kube-system",
        "serviceMonitor": {
            "enabled": True,
            "cAdvisor": True,
            "additionalLabels": {},
            "cAdvisorMetricRelabelings": [
                {
                    "sourceLabels": ["__name__"],
                    "action": "drop",
                    "regex": r"container_cpu_(cfs_throttled_seconds_total|load_average_10s|system_seconds_total|"
                    r"user_seconds_total)",
                },
                {
                    "sourceLabels": ["__name__"],
                    "action": "drop",
                    "regex": r"container_fs_(io_current|io_time_seconds_total|io_time_weighted_seconds_total|"
                    r"reads_merged_total|sector_reads_total|sector_writes_total|writes_merged_total)",
                },
                {"sourceLabels": ["__name__"], "action": "drop", "regex": r"container_memory_(mapped_file|swap)"},
                {
                    "sourceLabels": ["__name__"],
                    "action": "drop",
                    "regex": r"container_(file_descriptors|tasks_state|threads_max)",
                },
                {
                    "sourceLabels": ["__name__", "scope"],
                    "action": "drop",
                    "regex": r"container_memory_failures_total;hierarchy",
                },
                {
                    "sourceLabels": ["__name__", "interface"],
                    "action": "drop",
                    "regex": r"container_network_.*;(cali|cilium|cni|lxc|nodelocaldns|tunl).*",
                },
                {"sourceLabels": ["__name__"], "action": "drop", "regex": r"container_spec.*"},
                {"sourceLabels": ["id", "pod"], "action": "drop", "regex": r".+;"},
            ],
        },
    },
    "kubeStateMetrics": {"enabled": True},
    "kube-state-metrics": {"releaseLabel": True, "prometheus": {"monitor": {"enabled": True, "additionalLabels": {}}}},
    "nodeExporter": {"enabled": True},
    "prometheus-node-exporter": {
        "releaseLabel": True,
        "prometheus": {"monitor": {"enabled": True, "additionalLabels": {}}},
    },
    "prometheus": {
        "prometheusSpec": {
            "serviceMonitorSelectorNilUsesHelmValues": True,
            "serviceMonitorSelector": {},
            "serviceMonitorNamespaceSelector": {},
            "podMonitorSelectorNilUsesHelmValues": True,
            "podMonitorSelector": {},
            "podMonitorNamespaceSelector": {},
            "ruleSelectorNilUsesHelmValues": True,
            "ruleSelector": {},
            "ruleNamespaceSelector": {},
        }
    },
}
# prometheus-pushgateway 3.0.0 values.yaml.
PUSHGATEWAY_DEFAULTS: dict[str, Any] = {
    "serviceMonitor": {"enabled": False, "namespace": "monitoring", "additionalLabels": {}, "honorLabels": True}
}

Selector = dict[str, Any] | None


@dataclass(frozen=True)
class Monitor:
    """A ServiceMonitor as the Prometheus Operator sees it, and which catalog source it scrapes."""

    name: str
    namespace: str
    labels: dict[str, str]
    source: str
    drops: tuple[str, ...] = ()
    """Regexes of `drop` relabellings on `__name__` alone."""
    honor_labels: bool = False

    def keeps(self, series: str) -> bool:
        return not any(re.fullmatch(regex, series) for regex in self.drops)


@dataclass(frozen=True)
class PrometheusSelection:
    namespace: str
    service_monitors: Selector
    service_monitor_namespaces: Selector
    rules: Selector
    rule_namespaces: Selector
    namespace_labels: dict[str, dict[str, str]] = field(default_factory=dict)

    def selects_monitor(self, monitor: Monitor) -> bool:
        return matches(self.service_monitors, monitor.labels) and self._in(
            self.service_monitor_namespaces, monitor.namespace
        )

    def selects_rule(self, labels: dict[str, str], namespace: str) -> bool:
        return matches(self.rules, labels) and self._in(self.rule_namespaces, namespace)

    def _in(self, selector: Selector, namespace: str) -> bool:
        if selector is None:
            return namespace == self.namespace
        return matches(selector, self.namespace_labels.get(namespace, {"kubernetes.io/metadata.name": namespace}))


def matches(selector: Selector, labels: dict[str, str]) -> bool:
    """`metav1.LabelSelector` semantics, with the operator's rule that a null selector matches nothing."""
    if selector is None:
        return False
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for req in selector.get("matchExpressions") or []:
        key, op, values = req["key"], req["operator"], req.get("values") or []
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def _selector(spec: dict[str, Any], kind: str, release: str) -> Selector:
    value = spec.get(f"{kind}Selector")
    if value:
        return value
    if spec.get(f"{kind}SelectorNilUsesHelmValues"):
        return {"matchLabels": {"release": release}}
    return {}


def prometheus_selection(release: str, namespace: str, values: dict[str, Any]) -> PrometheusSelection:
    spec = deep_merge(KPS_DEFAULTS, values)["prometheus"]["prometheusSpec"]
    return PrometheusSelection(
        namespace=namespace,
        service_monitors=_selector(spec, "serviceMonitor", release),
        service_monitor_namespaces=spec.get("serviceMonitorNamespaceSelector") or {},
        rules=_selector(spec, "rule", release),
        rule_namespaces=spec.get("ruleNamespaceSelector") or {},
    )


def alertmanager_config_selection(namespace: str, values: dict[str, Any]) -> PrometheusSelection:
    """templates/alertmanager/alertmanager.yaml: `alertmanagerConfigSelector` and `...NamespaceSelector` are the
    values when non-empty, else `{}` (every AlertmanagerConfig, every namespace). Only the selectors are set."""
    spec = deep_merge({"alertmanager": {"alertmanagerSpec": {}}}, values)["alertmanager"]["alertmanagerSpec"]
    return PrometheusSelection(
        namespace=namespace,
        service_monitors=None,
        service_monitor_namespaces=None,
        rules=spec.get("alertmanagerConfigSelector") or {},
        rule_namespaces=spec.get("alertmanagerConfigNamespaceSelector") or {},
    )


def _name_drops(relabelings: list[dict[str, Any]]) -> tuple[str, ...]:
    return tuple(
        r.get("regex", "(.*)")
        for r in relabelings
        if r.get("action") == "drop" and r.get("sourceLabels") == ["__name__"]
    )


def chart_monitors(release: str, namespace: str, values: dict[str, Any]) -> list[Monitor]:
    """The ServiceMonitors kube-prometheus-stack itself installs that the catalog's external sources come from."""
    v = deep_merge(KPS_DEFAULTS, values)
    base = {"release": release, **v["commonLabels"]}
    monitors = []
    kubelet = v["kubelet"]
    sm = kubelet["serviceMonitor"]
    if kubelet["enabled"] and sm["enabled"] and v["kubernetesServiceMonitors"]["enabled"] and sm["cAdvisor"]:
        monitors.append(
            Monitor(
                f"{release}-kubelet",
                namespace,
                {"app": f"{KPS_CHART}-kubelet", **sm["additionalLabels"], **base},
                "cadvisor",
                _name_drops(sm.get("cAdvisorMetricRelabelings") or []),
                honor_labels=True,
            )
        )
    for toggle, chart, source in (
        ("kubeStateMetrics", "kube-state-metrics", "kube-state-metrics"),
        ("nodeExporter", "prometheus-node-exporter", "node-exporter"),
    ):
        sub = v[chart]
        monitor = sub["prometheus"]["monitor"]
        if v[toggle]["enabled"] and monitor["enabled"]:
            labels = {"app.kubernetes.io/name": chart, **({"release": release} if sub["releaseLabel"] else {})}
            monitors.append(Monitor(f"{release}-{chart}", namespace, {**labels, **monitor["additionalLabels"]}, source))
    return monitors


def pushgateway_monitors(release: str, values: dict[str, Any]) -> list[Monitor]:
    sm = deep_merge(PUSHGATEWAY_DEFAULTS, values)["serviceMonitor"]
    if not sm["enabled"]:
        return []
    labels = {"app.kubernetes.io/name": PUSHGATEWAY_CHART, "app.kubernetes.io/instance": release}
    return [
        Monitor(
            release,
            sm["namespace"],
            {**labels, **sm["additionalLabels"]},
            "pushgateway",
            honor_labels=bool(sm["honorLabels"]),
        )
    ]
