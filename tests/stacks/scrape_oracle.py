"""Which labels Prometheus stores for a scraped series, from its scrape and relabelling rules.

https://prometheus.io/docs/prometheus/latest/configuration/configuration/#scrape_config, `honor_labels`: when
true, labels of the scraped data win over target labels; when false, a scraped label that clashes with a
target label is renamed `exported_<name>` and the target's value is stored. Target labels come from the
Prometheus Operator's ServiceMonitor: `job` (the Service), `namespace`, `service`, `endpoint`, then the
endpoint's `relabelings` (here: `replace` with a fixed `replacement` and no source labels, which always sets
the target label). The Pushgateway turns the grouping key of a push URL into labels of the pushed series
(https://github.com/prometheus/pushgateway#url), so what a pusher puts there is "scraped data".
"""

from __future__ import annotations

from typing import Any


def target_labels(namespace: str, service: str, endpoint: dict[str, Any]) -> dict[str, str]:
    labels = {"job": service, "namespace": namespace, "service": service, "endpoint": str(endpoint.get("port"))}
    for rule in endpoint.get("relabelings") or []:
        if rule.get("action", "replace") != "replace" or rule.get("sourceLabels"):
            raise ValueError(f"relabeling not modelled: {rule}")
        labels[rule["targetLabel"]] = rule.get("replacement", "$1")
    return labels


def stored(scraped: dict[str, str], target: dict[str, str], honor_labels: bool) -> dict[str, str]:
    if honor_labels:
        return {**target, **scraped}
    result = {name: value for name, value in scraped.items() if name not in target}
    result |= {f"exported_{name}": value for name, value in scraped.items() if name in target}
    return result | target
