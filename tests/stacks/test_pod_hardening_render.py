"""Namespaces and pods of the rendered stacks: Pod Security pinned, no unused API token, explicit high IDs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conventions.labels import POD_SECURITY, POD_SECURITY_MODES, TENANT_ID
from tests.conftest import STACKS, load_manifests
from tests.stacks import pod_oracle
from tests.stacks.conftest import stack_settings
from tests.stacks.pss_oracle import pod_specs

Rendered = Callable[[str], Path]
NEEDS_THE_API: set[tuple[str, str]] = set()
"""(namespace, workload) of pods that call the Kubernetes API: none the program renders does."""


def _manifests(rendered: Rendered, stack: str) -> list[dict[str, Any]]:
    return list(load_manifests(rendered(stack)).values())


@pytest.mark.parametrize("stack", STACKS)
def test_every_namespace_pins_pod_security_in_every_mode(rendered: Rendered, stack: str) -> None:
    """Pod Security admission reads `<mode>-version`, default `latest`: unpinned, an upgrade of the control plane
    changes what `enforce` refuses (https://kubernetes.io/docs/concepts/security/pod-security-admission/
    #pod-security-admission-labels-for-namespaces). `audit` and `warn` report what `enforce` would refuse."""
    version = f"v{stack_settings(stack).cluster.kubernetes_version}"
    namespaces = [m for m in _manifests(rendered, stack) if m["kind"] == "Namespace"]
    assert any(m["metadata"]["name"] == stack_settings(stack).data.bootstrap_namespace for m in namespaces)
    for ns in namespaces:
        labels = ns["metadata"].get("labels", {})
        for mode in POD_SECURITY_MODES:
            assert labels.get(f"{POD_SECURITY}/{mode}") == "restricted", (ns["metadata"]["name"], mode)
            assert labels.get(f"{POD_SECURITY}/{mode}-version") == version, (ns["metadata"]["name"], mode)


def test_the_token_rule_mounts_unless_the_pod_or_its_account_opts_out() -> None:
    accounts = {"quiet": {"automountServiceAccountToken": False}, "plain": {}}
    assert pod_oracle.api_token_mounted({}, accounts)
    assert pod_oracle.api_token_mounted({"serviceAccountName": "plain"}, accounts)
    assert not pod_oracle.api_token_mounted({"serviceAccountName": "quiet"}, accounts)
    assert pod_oracle.api_token_mounted({"serviceAccountName": "quiet", "automountServiceAccountToken": True}, accounts)
    assert not pod_oracle.api_token_mounted({"automountServiceAccountToken": False}, accounts)


@pytest.mark.parametrize("stack", STACKS)
def test_no_pod_gets_an_api_token_it_does_not_use(rendered: Rendered, stack: str) -> None:
    """CKV_K8S_38. IRSA pods keep their AWS identity: the EKS Pod Identity webhook injects its own projected
    token volume (`aws-iam-token`), independent of the API token automount."""
    manifests = _manifests(rendered, stack)
    accounts: dict[str | None, dict[str, dict[str, Any]]] = {}
    for m in manifests:
        if m["kind"] == "ServiceAccount":
            accounts.setdefault(m["metadata"].get("namespace"), {})[m["metadata"]["name"]] = m
    mounted = [
        (m["metadata"].get("namespace"), m["metadata"]["name"])
        for m in manifests
        for pod in pod_specs(m)
        if pod_oracle.api_token_mounted(pod, accounts.get(m["metadata"].get("namespace"), {}))
    ]
    assert any(m["kind"] == "Job" for m in manifests)
    assert set(mounted) == NEEDS_THE_API


def test_the_identity_rule_refuses_the_images_user_a_low_uid_and_the_root_group() -> None:
    assert pod_oracle.identity_problems({"containers": [{"name": "a"}]}) == [
        "a: no runAsUser, runs as the image's USER",
        "a: primary group is root (runAsGroup None)",
    ]
    low = {"securityContext": {"runAsUser": 10001, "runAsGroup": 10001}}
    low["containers"] = [{"name": "b", "securityContext": {"runAsUser": 1000}}]
    assert pod_oracle.identity_problems(low) == ["b: runAsUser 1000 is below 10000"]


@pytest.mark.parametrize("stack", STACKS)
def test_every_container_runs_as_an_explicit_high_uid_and_a_non_root_group(rendered: Rendered, stack: str) -> None:
    """CKV_K8S_40 and the kubelet's defaults (see pod_oracle): the Job that reads every master secret included."""
    failures = {
        f"{m['metadata'].get('namespace')}/{m['metadata']['name']}": found
        for m in _manifests(rendered, stack)
        for pod in pod_specs(m)
        if (found := pod_oracle.identity_problems(pod))
    }
    assert failures == {}


@pytest.mark.parametrize("stack", STACKS)
def test_every_service_account_in_a_tenant_namespace_names_its_tenant(rendered: Rendered, stack: str) -> None:
    tenants = {t.namespace(stack_settings(stack).environment): t.id for t in stack_settings(stack).tenants}
    accounts = [
        m
        for m in _manifests(rendered, stack)
        if m["kind"] == "ServiceAccount" and m["metadata"]["namespace"] in tenants
    ]
    assert any(m["metadata"]["name"] == "secrets-reader" for m in accounts)
    for m in accounts:
        labels = m["metadata"].get("labels", {})
        assert labels.get(TENANT_ID) == tenants[m["metadata"]["namespace"]], m["metadata"]
