"""The preview identity's grant allows every request a pull request's `pulumi preview` and gate report make,
as Kubernetes authorizes them, and nothing it does not need.

The requests, from Kubernetes' rules (cited in stacks/preview_access.py): a server-side dry-run is authorized
as the real request; an apply is a `patch`, also a `create` when it creates the object, after a `get` of the
live object; a Role's dry-run passes the `escalate` check on its name, a binding's the `bind` check on the
role it names; a Helm release's preview reads Helm's storage Secrets of its namespace (`get`, `list`); the
gate report `get`s Prometheus's `services/proxy`. Resource names are the API's own plurals (discovery), not
the grant's guess."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from settings.stack_file import load
from stacks.preview_access import GROUP, grant
from tests.conftest import STACKS, load_resources
from tests.stacks.rbac_oracle import allowed, grants

RBAC = "rbac.authorization.k8s.io"
# kind -> (group, resource) as the API server serves them (`kubectl api-resources`, the CRDs' spec.names.plural)
SERVED = {
    "ConfigMap": ("", "configmaps"),
    "LimitRange": ("", "limitranges"),
    "Namespace": ("", "namespaces"),
    "ResourceQuota": ("", "resourcequotas"),
    "Service": ("", "services"),
    "ServiceAccount": ("", "serviceaccounts"),
    "Deployment": ("apps", "deployments"),
    "StatefulSet": ("apps", "statefulsets"),
    "HorizontalPodAutoscaler": ("autoscaling", "horizontalpodautoscalers"),
    "VerticalPodAutoscaler": ("autoscaling.k8s.io", "verticalpodautoscalers"),
    "Job": ("batch", "jobs"),
    "CronJob": ("batch", "cronjobs"),
    "ExternalSecret": ("external-secrets.io", "externalsecrets"),
    "SecretStore": ("external-secrets.io", "secretstores"),
    "PrometheusRule": ("monitoring.coreos.com", "prometheusrules"),
    "ServiceMonitor": ("monitoring.coreos.com", "servicemonitors"),
    "AlertmanagerConfig": ("monitoring.coreos.com", "alertmanagerconfigs"),
    "Ingress": ("networking.k8s.io", "ingresses"),
    "NetworkPolicy": ("networking.k8s.io", "networkpolicies"),
    "PodDisruptionBudget": ("policy", "poddisruptionbudgets"),
    "Role": (RBAC, "roles"),
    "RoleBinding": (RBAC, "rolebindings"),
    "ClusterRole": (RBAC, "clusterroles"),
    "ClusterRoleBinding": (RBAC, "clusterrolebindings"),
    "StorageClass": ("storage.k8s.io", "storageclasses"),
    "ClusterIssuer": ("cert-manager.io", "clusterissuers"),
    "Certificate": ("cert-manager.io", "certificates"),
    "BackupStorageLocation": ("velero.io", "backupstoragelocations"),
    "VolumeSnapshotLocation": ("velero.io", "volumesnapshotlocations"),
    "Schedule": ("velero.io", "schedules"),
}
Request = tuple[str, str, str, str, str | None]  # verb, group, resource, namespace, name


def preview_requests(records: list[dict[str, Any]], stack: str) -> Iterator[Request]:
    for record in records:
        inputs = record["inputs"]
        if record["type"] == "kubernetes:helm.sh/v3:Release":
            yield from (
                ("get", "", "secrets", inputs["namespace"], None),
                ("list", "", "secrets", inputs["namespace"], None),
            )
            continue
        if not record["type"].startswith("kubernetes:") or record["type"] == "pulumi:providers:kubernetes":
            continue
        group, resource = SERVED[inputs["kind"]]
        namespace, name = inputs["metadata"].get("namespace", ""), inputs["metadata"]["name"]
        for verb in ("get", "patch", "create"):
            yield verb, group, resource, namespace, name
        if inputs["kind"] in ("Role", "ClusterRole"):
            yield "escalate", RBAC, resource, namespace, name
        if inputs["kind"] in ("RoleBinding", "ClusterRoleBinding"):
            ref = inputs["roleRef"]
            yield "bind", RBAC, SERVED[ref["kind"]][1], namespace, ref["name"]
    url = str(load(stack).gates.prometheus.url)  # http://<service>.<namespace>.svc:<port>
    service, namespace = url.split("//")[1].split(".")[:2]
    port = url.rsplit(":", 1)[1]
    yield "get", "", "services/proxy", namespace, f"http:{service}:{port}"


def denied(objects: list[dict[str, Any]], requests: list[Request]) -> list[Request]:
    held = list(grants(objects, {GROUP}))
    return [r for r in requests if not allowed(held, r[0], r[1], r[2], r[3], r[4])]


@pytest.fixture(scope="module")
def cases(rendered: Callable[[str], Path]) -> dict[str, tuple[list[dict[str, Any]], list[Request]]]:
    out = {}
    for stack in STACKS:
        records = load_resources(rendered(stack))
        out[stack] = (grant(records, load(stack)), sorted(set(preview_requests(records, stack)), key=str))
    return out


@pytest.mark.parametrize("stack", STACKS)
def test_the_grant_allows_every_request_of_the_preview(cases: dict, stack: str) -> None:
    objects, requests = cases[stack]
    assert requests and denied(objects, requests) == []


@pytest.mark.parametrize("stack", STACKS)
def test_every_verb_and_resource_of_the_grant_is_needed(cases: dict, stack: str) -> None:
    """Take any one verb, resource or name away and some request of this stack's preview is refused."""
    objects, requests = cases[stack]
    for o, obj in enumerate(objects):
        for r, rule in enumerate(obj.get("rules") or []):
            for field in ("verbs", "resources", "resourceNames"):
                for value in rule.get(field) or []:
                    narrowed = copy.deepcopy(objects)
                    narrowed[o]["rules"][r][field] = [v for v in rule[field] if v != value]
                    if not narrowed[o]["rules"][r][field]:
                        del narrowed[o]["rules"][r]
                    where = f"{obj['kind']} {obj['metadata']['name']}: {field} {value}"
                    assert denied(narrowed, requests), f"{stack}: {where} is not needed"


@pytest.mark.parametrize("stack", STACKS)
def test_the_grant_never_deletes_reads_secrets_widely_or_impersonates(cases: dict, stack: str) -> None:
    objects, _ = cases[stack]
    held = list(grants(objects, {GROUP}))
    for verb in ("delete", "deletecollection", "update", "watch", "impersonate", "*"):
        assert not [g for g in held if verb in g.rule["verbs"]], verb
    assert not [g for g in held if "*" in g.rule["resources"] or "*" in g.rule["apiGroups"]]
    for verb, resource in (("get", "secrets"), ("create", "pods/exec"), ("create", "serviceaccounts/token")):
        assert not [g for g in held if g.namespace is None and allowed([g], verb, "", resource, "any")], resource
