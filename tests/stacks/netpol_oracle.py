"""Whether a connection is allowed under the rendered NetworkPolicies, from Kubernetes NetworkPolicy semantics.

https://kubernetes.io/docs/concepts/services-networking/network-policies/:
- A pod is isolated for ingress (egress) when a policy of its namespace selects it (`podSelector`) and lists
  `Ingress` (`Egress`) in `policyTypes`; without `policyTypes`, `Ingress` always, `Egress` when there are egress
  rules. A non-isolated direction allows everything.
- An isolated direction allows what the union of the selecting policies' rules allows. A rule matches when one
  of its peers matches (no `from`/`to`: every peer) and one of its ports matches (no `ports`: every port).
- Peers: `podSelector` alone selects pods of the policy's own namespace; `namespaceSelector` alone every pod of
  the selected namespaces; both in one element, the selected pods in the selected namespaces; `ipBlock` a CIDR
  minus its `except` ranges (for traffic leaving the cluster; pod IPs are not modelled).
- Ports: `protocol` defaults to TCP; `port` is a number or a container port name; `endPort` makes a range.
- A connection between two pods needs the source's egress and the destination's ingress to allow it.
Label selectors are `metav1.LabelSelector` (`prometheus_selection.matches`); `{}` selects all.
Every namespace carries `kubernetes.io/metadata.name: <name>` (set by the API server).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tests.stacks.prometheus_selection import matches as selector_matches

POD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}


@dataclass(frozen=True)
class Pod:
    namespace: str
    name: str
    labels: dict[str, str]
    ports: dict[str, int] = field(default_factory=dict)
    """Container port name -> number."""


def pod_templates(objects: Iterable[dict[str, Any]]) -> list[Pod]:
    found = []
    for o in objects:
        kind = o.get("kind")
        if kind == "CronJob":
            template = o["spec"]["jobTemplate"]["spec"]["template"]
        elif kind in POD_KINDS:
            template = o["spec"]["template"]
        else:
            continue
        ports = {
            p["name"]: p["containerPort"]
            for c in template["spec"].get("containers") or []
            for p in c.get("ports") or []
            if "name" in p
        }
        labels = (template.get("metadata") or {}).get("labels") or {}
        found.append(Pod(o["metadata"]["namespace"], f"{kind}/{o['metadata']['name']}", labels, ports))
    return found


class Cluster:
    def __init__(self, objects: Iterable[dict[str, Any]]):
        items = list(objects)
        self.policies = [o for o in items if o.get("kind") == "NetworkPolicy"]
        self.namespace_labels: dict[str, dict[str, str]] = {}
        for o in items:
            if o.get("kind") == "Namespace":
                name = o["metadata"]["name"]
                self.namespace_labels[name] = {
                    **(o["metadata"].get("labels") or {}),
                    "kubernetes.io/metadata.name": name,
                }
        self.pods = pod_templates(items)

    def labels_of_namespace(self, namespace: str) -> dict[str, str]:
        return self.namespace_labels.get(namespace, {"kubernetes.io/metadata.name": namespace})

    def _selecting(self, pod: Pod, direction: str) -> list[dict[str, Any]]:
        chosen = []
        for policy in self.policies:
            if policy["metadata"]["namespace"] != pod.namespace:
                continue
            spec = policy["spec"]
            types = spec.get("policyTypes") or (["Ingress"] + (["Egress"] if spec.get("egress") else []))
            if direction in types and selector_matches(spec.get("podSelector", {}), pod.labels):
                chosen.append(policy)
        return chosen

    def _peer_matches(self, policy: dict[str, Any], peer: dict[str, Any], other: Pod | str) -> bool:
        if isinstance(other, str):
            block = peer.get("ipBlock")
            if block is None:
                return False
            address = ipaddress.ip_address(other)
            if address not in ipaddress.ip_network(block["cidr"]):
                return False
            return not any(address in ipaddress.ip_network(e) for e in block.get("except") or [])
        if "ipBlock" in peer:
            return False
        pod_selector, ns_selector = peer.get("podSelector"), peer.get("namespaceSelector")
        if ns_selector is None:
            in_namespace = other.namespace == policy["metadata"]["namespace"]
        else:
            in_namespace = selector_matches(ns_selector, self.labels_of_namespace(other.namespace))
        return in_namespace and (pod_selector is None or selector_matches(pod_selector, other.labels))

    @staticmethod
    def _port_matches(rule_port: dict[str, Any], target: Pod | None, port: int, protocol: str) -> bool:
        if rule_port.get("protocol", "TCP") != protocol:
            return False
        wanted = rule_port.get("port")
        if wanted is None:
            return True
        if isinstance(wanted, str):
            return target is not None and target.ports.get(wanted) == port
        return wanted <= port <= rule_port.get("endPort", wanted)

    def _allows(self, pod: Pod, direction: str, other: Pod | str, target: Pod | None, port: int, proto: str) -> bool:
        selecting = self._selecting(pod, direction)
        if not selecting:
            return True
        key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
        for policy in selecting:
            for rule in policy["spec"].get(key) or []:
                peers = rule.get(peers_key)
                ports = rule.get("ports")
                peer_ok = not peers or any(self._peer_matches(policy, p, other) for p in peers)
                port_ok = not ports or any(self._port_matches(p, target, port, proto) for p in ports)
                if peer_ok and port_ok:
                    return True
        return False

    def allowed(self, source: Pod, destination: Pod | str, port: int, protocol: str = "TCP") -> bool:
        """A connection from a pod to another pod, or to an address outside the cluster."""
        target = destination if isinstance(destination, Pod) else None
        if not self._allows(source, "Egress", destination, target, port, protocol):
            return False
        return target is None or self._allows(target, "Ingress", source, target, port, protocol)
