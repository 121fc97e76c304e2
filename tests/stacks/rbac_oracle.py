"""Kubernetes RBAC authorization over rendered Roles, ClusterRoles and their bindings.

Matching follows kubernetes/kubernetes `pkg/apis/rbac/v1/evaluation_helpers.go` (`VerbMatches`,
`APIGroupMatches`, `ResourceMatches`: `*`, an exact `resource/subresource`, or `*/subresource`) and
https://kubernetes.io/docs/reference/access-authn-authz/rbac/: a RoleBinding grants its Role or ClusterRole
inside its own namespace, a ClusterRoleBinding grants a ClusterRole everywhere, and an aggregated ClusterRole
holds the rules of every ClusterRole its `aggregationRule` selects. `resourceNames` are ignored, which can only
over-grant (a named Secret is still a Secret).

`ESCALATIONS` lists what lets a subject read a Secret or run code as a ServiceAccount of the namespace
(https://kubernetes.io/docs/concepts/security/rbac-good-practices/, "Privilege escalation risks"): reading
Secrets (list and watch return their data); "Workload creation": whoever can create or change a Pod or
anything that owns a pod template in a namespace can run it as any ServiceAccount of that namespace and mount
any of its Secrets, so every write on pods, Deployments, StatefulSets, ReplicaSets, DaemonSets,
ReplicationControllers, Jobs and CronJobs counts (a `patch` can rewrite the template's `serviceAccountName`
and image, so no write on those is a safe "restart"); exec/attach/ephemeral containers (code in a running
pod, with its token); "Token request": minting a ServiceAccount token (an IRSA role trusts any token for its
ServiceAccount); escalate/bind/impersonate; "Persistent volume creation", "Access to proxy subresource of
Nodes", "Control admission webhooks" and "Namespace modification" (Pod Security labels). Port-forward and
the pod/service proxies reach a pod's ports through the kubelet or API server, past every NetworkPolicy.
External Secrets objects act for the namespace's stores: a SecretStore authenticates as any ServiceAccount it
names and its providers read Secrets of the namespace for their credentials (the webhook provider sends them
to any URL), so writing ExternalSecret, SecretStore or PushSecret reads Secrets
(https://external-secrets.io/latest/guides/security-best-practices/, "Namespace Isolation": keep these
RBAC permissions to the minimum).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

WRITE = ("create", "update", "patch")
WORKLOADS = ("deployments", "statefulsets", "replicasets", "daemonsets")
EXTERNAL_SECRETS = ("externalsecrets", "secretstores", "pushsecrets", "clustersecretstores", "clusterexternalsecrets")
ESCALATIONS: tuple[tuple[str, str, str], ...] = (
    *((verb, "", "secrets") for verb in ("get", "list", "watch")),
    *((verb, "", "pods") for verb in WRITE),
    *((verb, "apps", resource) for verb in WRITE for resource in WORKLOADS),
    *((verb, "batch", resource) for verb in WRITE for resource in ("jobs", "cronjobs")),
    *((verb, "", "replicationcontrollers") for verb in WRITE),
    *((verb, "", sub) for verb in ("get", "create") for sub in ("pods/exec", "pods/attach")),
    *((verb, "", "pods/ephemeralcontainers") for verb in ("update", "patch")),
    *((verb, "", sub) for verb in ("get", "create") for sub in ("pods/portforward", "pods/proxy", "services/proxy")),
    ("create", "", "serviceaccounts/token"),
    *((verb, "external-secrets.io", r) for verb in WRITE for r in EXTERNAL_SECRETS),
    ("create", "", "persistentvolumes"),
    *((verb, "", "nodes/proxy") for verb in ("get", "create")),
    *((verb, "", "namespaces") for verb in ("update", "patch")),
    *(
        (verb, "admissionregistration.k8s.io", r)
        for verb in WRITE
        for r in ("mutatingwebhookconfigurations", "validatingwebhookconfigurations")
    ),
    *(("escalate", "rbac.authorization.k8s.io", r) for r in ("roles", "clusterroles")),
    *(("bind", "rbac.authorization.k8s.io", r) for r in ("roles", "clusterroles")),
    *(("impersonate", "", r) for r in ("users", "groups", "serviceaccounts")),
    ("impersonate", "authentication.k8s.io", "userextras/scopes"),
)


@dataclass(frozen=True)
class Grant:
    namespace: str | None
    """None: cluster-wide."""
    rule: dict[str, Any]
    via: str


def _matches(values: Iterable[str], wanted: str) -> bool:
    return any(v == "*" or v == wanted for v in values)


def resource_matches(resources: Iterable[str], resource: str) -> bool:
    sub = resource.split("/", 1)[1] if "/" in resource else ""
    return any(r in ("*", resource) or (sub and r == f"*/{sub}") for r in resources)


def _rules_of_cluster_role(role: dict[str, Any], cluster_roles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rules = list(role.get("rules") or [])
    for selector in (role.get("aggregationRule") or {}).get("clusterRoleSelectors") or []:
        wanted = selector.get("matchLabels") or {}
        for other in cluster_roles:
            labels = other["metadata"].get("labels") or {}
            if other is not role and all(labels.get(k) == v for k, v in wanted.items()):
                rules += other.get("rules") or []
    return rules


def grants(objects: Iterable[dict[str, Any]], groups: set[str], users: set[str] = frozenset()) -> Iterator[Grant]:
    """Every rule the users or groups hold, with where it applies."""
    items = list(objects)
    roles = {(o["metadata"]["namespace"], o["metadata"]["name"]): o for o in items if o["kind"] == "Role"}
    cluster_roles = [o for o in items if o["kind"] == "ClusterRole"]
    by_name = {o["metadata"]["name"]: o for o in cluster_roles}
    for binding in (o for o in items if o["kind"] in ("RoleBinding", "ClusterRoleBinding")):
        subjects = binding.get("subjects") or []
        if not any(
            (s["kind"] == "Group" and s["name"] in groups) or (s["kind"] == "User" and s["name"] in users)
            for s in subjects
        ):
            continue
        namespace = binding["metadata"].get("namespace") if binding["kind"] == "RoleBinding" else None
        ref = binding["roleRef"]
        if ref["kind"] == "Role":
            role = roles.get((namespace, ref["name"]))
            rules = list(role.get("rules") or []) if role else []
        else:
            role = by_name.get(ref["name"])
            rules = _rules_of_cluster_role(role, cluster_roles) if role else []
        via = f"{binding['kind']} {namespace or ''}/{binding['metadata']['name']} -> {ref['kind']} {ref['name']}"
        for rule in rules:
            yield Grant(namespace, rule, via)


def allowed(
    held: Iterable[Grant], verb: str, group: str, resource: str, namespace: str, name: str | None = None
) -> list[str]:
    """The bindings that allow the request (empty: denied). With `name`, `resourceNames` apply as RBAC applies
    them (`ResourceNameMatches`: an empty list matches every name)."""
    return [
        g.via
        for g in held
        if (g.namespace is None or g.namespace == namespace)
        and _matches(g.rule.get("verbs") or [], verb)
        and _matches(g.rule.get("apiGroups") or [], group)
        and resource_matches(g.rule.get("resources") or [], resource)
        and (name is None or not g.rule.get("resourceNames") or name in g.rule["resourceNames"])
    ]


def escalation_paths(held: Iterable[Grant], namespace: str) -> dict[str, list[str]]:
    """`verb group/resource` -> the bindings allowing it, for every escalation the subject holds."""
    rules = list(held)
    found = {}
    for verb, group, resource in ESCALATIONS:
        via = allowed(rules, verb, group, resource, namespace)
        if via:
            found[f"{verb} {group or 'core'}/{resource}"] = via
    return found
