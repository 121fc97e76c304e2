"""Reading resource properties the same way whether CrossGuard or the offline check hands them over.

Properties arrive camelCase as the provider receives them. In a preview CrossGuard raises on an unknown
value; the offline render writes it as "(known after apply)". Rules treat both as "cannot tell yet" and
never report a violation for a value nobody knows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy.proxy import UnknownValueError

UNKNOWN = "(known after apply)"
SECRET = "[secret]"

WORKLOAD_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod", "Rollout"})
"""Kinds whose pod spec a rule reads; `Rollout` is Argo Rollouts' Deployment equivalent."""


def is_unknown(value: Any) -> bool:
    return isinstance(value, str) and value == UNKNOWN


def get(mapping: Any, *path: str | int, default: Any = None) -> Any:
    """Walk `path` through mappings and lists; `default` where any step is missing or not a container,
    UNKNOWN where CrossGuard says a step is not known yet (so one unknown value does not stop a stack rule)."""
    current = mapping
    try:
        for key in path:
            if isinstance(key, int):
                if not is_sequence(current) or key >= len(current):
                    return default
                current = current[key]
            else:
                if not isinstance(current, Mapping) or key not in current:
                    return default
                current = current[key]
    except UnknownValueError:
        return UNKNOWN
    return default if current is None else current


def is_sequence(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str)


def items(value: Any) -> list[Any]:
    """The elements of a list property; none when it is missing or unknown."""
    if not is_sequence(value):
        return []
    found = []
    for index in range(len(value)):
        try:
            found.append(value[index])
        except UnknownValueError:
            found.append(UNKNOWN)
    return found


def stack_of(urn: str) -> str:
    """`urn:pulumi:<stack>::<project>::<type>::<name>` -> stack."""
    return urn.split("::", 1)[0].rsplit(":", 1)[-1]


def kubernetes_kind(resource_type: str) -> str | None:
    """`kubernetes:apps/v1:Deployment` -> `Deployment`; None for anything not a Kubernetes object."""
    if not resource_type.startswith("kubernetes:") or resource_type.startswith("kubernetes:helm.sh/"):
        return None
    return resource_type.rsplit(":", 1)[-1]


def is_workload(resource_type: str) -> bool:
    return kubernetes_kind(resource_type) in WORKLOAD_KINDS


def pod_template(resource_type: str, props: Mapping[str, Any]) -> Mapping[str, Any]:
    """The pod template ({metadata, spec}) of a workload; a Pod is its own template."""
    kind = kubernetes_kind(resource_type)
    if kind == "Pod":
        return {"metadata": get(props, "metadata", default={}), "spec": get(props, "spec", default={})}
    if kind == "CronJob":
        return get(props, "spec", "jobTemplate", "spec", "template", default={})
    return get(props, "spec", "template", default={})


def pod_spec(resource_type: str, props: Mapping[str, Any]) -> Mapping[str, Any]:
    return get(pod_template(resource_type, props), "spec", default={})


def pod_labels(resource_type: str, props: Mapping[str, Any]) -> Mapping[str, str]:
    return get(pod_template(resource_type, props), "metadata", "labels", default={})


def containers(spec: Mapping[str, Any], *, init: bool = True) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(field, container) for regular, init and ephemeral containers (the latter two when `init`)."""
    fields = ("containers", "initContainers", "ephemeralContainers") if init else ("containers",)
    for field in fields:
        for container in items(get(spec, field)):
            if isinstance(container, Mapping):
                yield field, container


def container_ref(field: str, container: Mapping[str, Any]) -> str:
    kind = {"containers": "container", "initContainers": "init container"}.get(field, "ephemeral container")
    return f"{kind} '{container.get('name', '?')}'"


def metadata(props: Mapping[str, Any]) -> Mapping[str, Any]:
    return get(props, "metadata", default={})


def object_ref(resource_type: str, props: Mapping[str, Any]) -> str:
    meta = metadata(props)
    namespace = meta.get("namespace")
    name = meta.get("name", "?")
    return f"{kubernetes_kind(resource_type)} {namespace + '/' if namespace else ''}{name}"


def tags_of(props: Mapping[str, Any]) -> Mapping[str, str] | None:
    """An AWS resource's tags; None when the provider has not been given any."""
    tags = get(props, "tags")
    return tags if isinstance(tags, Mapping) else None


def environment_of(urn: str, props: Mapping[str, Any]) -> str:
    """The `environment` tag the resource carries, else its stack's name (stack name = environment here)."""
    tags = tags_of(props) or {}
    value = tags.get("environment")
    return value if isinstance(value, str) and not is_unknown(value) else stack_of(urn)
