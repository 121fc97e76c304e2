"""How ingress-nginx and cert-manager treat a set of Ingresses, encoded from their source and docs.

ingress-nginx, `internal/ingress/controller/controller.go` (kubernetes/ingress-nginx):
- `checkOverlap` (the validating webhook, via `CheckIngress`): for each rule (host "" -> "_") and each path with
  a service backend (path "" -> "/"), `ingressForHostPath` finds the Ingresses already serving that host and path
  in *any* namespace (servers are keyed by host name only). The new Ingress is refused with
  `host "<host>" and path "<path>" is already defined in ingress <ns>/<name>` when both carry
  `nginx.ingress.kubernetes.io/canary: "true"` or neither does; the same object, or exactly one canary, passes.
- `mergeAlternativeBackends`: a canary Ingress's backend becomes an alternative of the primary backend of every
  location with the same host, path and pathType, whichever namespace that primary lives in; with none, the
  canary backend is deleted. Without the webhook, `getBackendServers` keeps the oldest Ingress's location.

cert-manager ingress-shim (https://cert-manager.io/docs/usage/ingress/): an Ingress annotated with
`cert-manager.io/cluster-issuer` gets one Certificate per `spec.tls` entry, named after its `secretName`, for
that entry's hosts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

CANARY = "nginx.ingress.kubernetes.io/canary"
CLUSTER_ISSUER = "cert-manager.io/cluster-issuer"
DEFAULT_SERVER = "_"
ROOT_LOCATION = "/"


@dataclass(frozen=True)
class Location:
    host: str
    path: str
    path_type: str
    service: str


def key(ingress: dict[str, Any]) -> str:
    return f"{ingress['metadata']['namespace']}/{ingress['metadata']['name']}"


def is_canary(ingress: dict[str, Any]) -> bool:
    """`parser.GetBoolAnnotation("canary", ing)`: only a parseable "true" counts."""
    return str((ingress["metadata"].get("annotations") or {}).get(CANARY, "")).lower() == "true"


def locations(ingress: dict[str, Any]) -> Iterator[Location]:
    for rule in ingress["spec"].get("rules") or []:
        host = rule.get("host") or DEFAULT_SERVER
        for path in (rule.get("http") or {}).get("paths") or []:
            service = (path.get("backend") or {}).get("service")
            if service is None:
                continue
            yield Location(host, path.get("path") or ROOT_LOCATION, path.get("pathType", "Prefix"), service["name"])


def admission_refusals(ingresses: Iterable[dict[str, Any]]) -> list[str]:
    """Create the Ingresses one after another through the webhook; the refusals, in order."""
    accepted: list[dict[str, Any]] = []
    refusals: list[str] = []
    for ingress in ingresses:
        refusal = _check_overlap(ingress, accepted)
        if refusal is None:
            accepted.append(ingress)
        else:
            refusals.append(f"{key(ingress)}: {refusal}")
    return refusals


def _check_overlap(ingress: dict[str, Any], accepted: list[dict[str, Any]]) -> str | None:
    for location in locations(ingress):
        existing = [
            other
            for other in accepted
            if any(o.host == location.host and o.path == location.path for o in locations(other))
        ]
        if not existing:
            continue
        if any(key(other) == key(ingress) for other in existing):
            return None
        for other in existing:
            if is_canary(ingress) == is_canary(other):
                return f'host "{location.host}" and path "{location.path}" is already defined in ingress {key(other)}'
        return None  # upstream returns after the first overlapping path that passes
    return None


def canary_primaries(ingresses: Iterable[dict[str, Any]]) -> dict[str, set[str]]:
    """Canary Ingress -> the primary Ingresses whose backends it joins (empty: its backend is deleted)."""
    items = list(ingresses)
    primaries = [i for i in items if not is_canary(i)]
    merged: dict[str, set[str]] = {}
    for canary in (i for i in items if is_canary(i)):
        targets = merged.setdefault(key(canary), set())
        for location in locations(canary):
            for primary in primaries:
                if any(
                    (p.host, p.path, p.path_type) == (location.host, location.path, location.path_type)
                    for p in locations(primary)
                ):
                    targets.add(key(primary))
    return merged


@dataclass(frozen=True)
class Certificate:
    namespace: str
    secret_name: str
    hosts: frozenset[str]


def requested_certificates(ingresses: Iterable[dict[str, Any]]) -> set[Certificate]:
    """The Certificates ingress-shim creates (one per namespace and secret name)."""
    found: set[Certificate] = set()
    for ingress in ingresses:
        if not (ingress["metadata"].get("annotations") or {}).get(CLUSTER_ISSUER):
            continue
        for tls in ingress["spec"].get("tls") or []:
            found.add(Certificate(ingress["metadata"]["namespace"], tls["secretName"], frozenset(tls["hosts"])))
    return found
