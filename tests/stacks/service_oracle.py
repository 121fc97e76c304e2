"""Which Pods a Service sends traffic to, from Kubernetes Service semantics.

https://kubernetes.io/docs/concepts/services-networking/service/: the EndpointSlice controller adds every Pod of
the Service's namespace whose labels contain all `spec.selector` pairs (equality only, ANDed); kube-proxy then
spreads connections over those endpoints uniformly (iptables mode picks one at random, IPVS round-robins), so a
track's share of in-cluster traffic is its share of the selected Pods.

Pods come from the rendered workloads' templates: `spec.replicas`, or without it the `minReplicas` of the HPA
that scales the workload (the count it starts from), or 1, the Deployment/StatefulSet default.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

WORKLOADS = {"Deployment", "StatefulSet"}


@dataclass(frozen=True)
class Pods:
    namespace: str
    workload: str
    labels: dict[str, str]
    count: int


def pods(objects: Iterable[dict[str, Any]]) -> list[Pods]:
    items = list(objects)
    hpa_min = {
        (o["metadata"]["namespace"], o["spec"]["scaleTargetRef"]["name"]): o["spec"].get("minReplicas", 1)
        for o in items
        if o["kind"] == "HorizontalPodAutoscaler"
    }
    found = []
    for o in items:
        if o["kind"] not in WORKLOADS:
            continue
        namespace, name = o["metadata"]["namespace"], o["metadata"]["name"]
        count = o["spec"].get("replicas", hpa_min.get((namespace, name), 1))
        found.append(Pods(namespace, name, o["spec"]["template"]["metadata"].get("labels") or {}, count))
    return found


def selects(service: dict[str, Any], pod: Pods) -> bool:
    selector = service["spec"].get("selector") or {}
    return (
        bool(selector)
        and pod.namespace == service["metadata"]["namespace"]
        and all(pod.labels.get(k) == v for k, v in selector.items())
    )


def share(service: dict[str, Any], all_pods: Iterable[Pods], label: str, value: str) -> tuple[int, int]:
    """(Pods with `label: value`, all Pods) among the endpoints of the Service."""
    chosen = [p for p in all_pods if selects(service, p)]
    return sum(p.count for p in chosen if p.labels.get(label) == value), sum(p.count for p in chosen)
