"""What a pull request's `pulumi preview` and gate report need from a stack's cluster, and nothing more.

    python -m stacks.render prod && python -m stacks.preview_access prod build/prod | kubectl apply -f -

The Kubernetes provider runs with server-side apply, so a preview asks the API server for a server-side
dry-run of every object: the same PATCH (apply) a real `up` sends, with `dryRun=All`. Kubernetes authorizes a
dry-run exactly as the real request ("Authorization for dry-run and non-dry-run requests is identical",
https://kubernetes.io/docs/reference/using-api/api-concepts/#dry-run). So the preview identity needs, per kind
the stack manages: `patch` (the apply), `create` (an apply that creates the object is authorized as a create
too: apiserver `endpoints/handlers/patch.go`, `createAuthorizerAttributes`) and `get` (the provider reads the
live object). Dry-runs of Roles and RoleBindings also pass RBAC's escalation checks: `escalate` on the Roles
it writes and `bind` on the roles its bindings name
(https://kubernetes.io/docs/reference/access-authn-authz/rbac/#privilege-escalation-prevention-and-bootstrapping),
limited here to those names. A Helm release's preview reads the release from Helm's storage, Secrets in the
release's namespace (Helm's `storage/driver/secrets.go`: `get`, and `list` by label): those namespaces only.
The gate report reads Prometheus through the API server's service proxy: `get` on that one `services/proxy`.

This is write access: a dry-run is authorized as the write it simulates, so whoever can change the preview
job can make the writes for real. No `delete`, `update`, `watch`, `deletecollection`, `impersonate` or `*`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from gates.transport import TransportError, chosen_access, proxy_path
from settings import SettingsError, StackSettings
from settings.stack_file import load

GROUP = "agent-platform:preview"
NAME = "agent-platform-preview"
RBAC = "rbac.authorization.k8s.io"
DRY_RUN_VERBS = ["create", "get", "patch"]
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
NOT_API_OBJECTS = (HELM_RELEASE, "pulumi:providers:kubernetes")


def resource_of(kind: str) -> str:
    """The resource name of a kind, as Kubernetes guesses it (apimachinery `meta.UnsafeGuessKindToResource`,
    which every kind this program manages follows): lower case, `-s` → `-ses`, `-y` → `-ies`, else `+s`."""
    lower = kind.lower()
    if lower.endswith("s"):
        return lower + "es"
    if lower.endswith("y"):
        return lower[:-1] + "ies"
    return lower + "s"


def group_and_kind(type_token: str) -> tuple[str, str]:
    """`kubernetes:apps/v1:Deployment` -> ("apps", "Deployment"); the core group is ""."""
    _, group_version, kind = type_token.split(":")
    group = group_version.rsplit("/", 1)[0] if "/" in group_version else ""
    return ("" if group == "core" else group), kind


def _kubernetes_objects(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r["type"].startswith("kubernetes:") and r["type"] not in NOT_API_OBJECTS]


def _binding(kind: str, name: str, role_kind: str, namespace: str | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {
        "apiVersion": f"{RBAC}/v1",
        "kind": kind,
        "metadata": metadata,
        "roleRef": {"apiGroup": RBAC, "kind": role_kind, "name": name},
        "subjects": [{"apiGroup": RBAC, "kind": "Group", "name": GROUP}],
    }


def _role(kind: str, name: str, rules: list[dict[str, Any]], namespace: str | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": f"{RBAC}/v1", "kind": kind, "metadata": metadata, "rules": rules}


def grant(records: Iterable[dict[str, Any]], settings: StackSettings) -> list[dict[str, Any]]:
    """RBAC objects for the group GROUP: a ClusterRole (kinds are cluster-wide; a pull request may add a
    namespace), Roles in each Helm release's namespace and in Prometheus's."""
    records = list(records)
    resources: dict[str, set[str]] = defaultdict(set)
    escalate: set[str] = set()
    bind: dict[str, set[str]] = defaultdict(set)
    for record in _kubernetes_objects(records):
        group, kind = group_and_kind(record["type"])
        resources[group].add(resource_of(kind))
        inputs = record["inputs"]
        if group == RBAC and kind in ("Role", "ClusterRole"):
            escalate.add(inputs["metadata"]["name"])
        if group == RBAC and kind in ("RoleBinding", "ClusterRoleBinding"):
            bind[resource_of(inputs["roleRef"]["kind"])].add(inputs["roleRef"]["name"])
    rules: list[dict[str, Any]] = [
        {"apiGroups": [group], "resources": sorted(names), "verbs": list(DRY_RUN_VERBS)}
        for group, names in sorted(resources.items())
    ]
    if escalate:
        rules.append(
            {"apiGroups": [RBAC], "resources": ["roles"], "verbs": ["escalate"], "resourceNames": sorted(escalate)}
        )
    rules += [
        {"apiGroups": [RBAC], "resources": [resource], "verbs": ["bind"], "resourceNames": sorted(names)}
        for resource, names in sorted(bind.items())
    ]
    objects = [_role("ClusterRole", NAME, rules), _binding("ClusterRoleBinding", NAME, "ClusterRole")]
    helm_namespaces = sorted({r["inputs"]["namespace"] for r in records if r["type"] == HELM_RELEASE})
    for namespace in helm_namespaces:
        secrets = [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}]
        objects += [
            _role("Role", f"{NAME}-helm", secrets, namespace),
            _binding("RoleBinding", f"{NAME}-helm", "Role", namespace),
        ]
    prometheus = str(settings.gates.prometheus.url)
    if chosen_access(prometheus, settings.gates.prometheus.access) == "kubernetes_proxy":
        parts = proxy_path(prometheus).split("/")  # /api/v1/namespaces/<ns>/services/<name>/proxy...
        namespace, service = parts[4], parts[6]
        proxy = [{"apiGroups": [""], "resources": ["services/proxy"], "verbs": ["get"], "resourceNames": [service]}]
        objects += [
            _role("Role", f"{NAME}-gates", proxy, namespace),
            _binding("RoleBinding", f"{NAME}-gates", "Role", namespace),
        ]
    return objects


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stacks.preview_access", description=__doc__.splitlines()[0])
    parser.add_argument("stack")
    parser.add_argument("build", type=Path, help="the stack's render (python -m stacks.render <stack>)")
    args = parser.parse_args(argv)
    try:
        settings = load(args.stack)
        records = json.loads((args.build / "resources.json").read_text())
        objects = grant(records, settings)
    except SettingsError as error:
        print("\n".join(error.lines), file=sys.stderr)
        return 2
    except (OSError, ValueError, TransportError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(yaml.safe_dump_all(objects, sort_keys=False), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
