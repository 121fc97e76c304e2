"""The add-on releases and what depends on them, as the charts and controllers they drive behave."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import STACKS
from tests.stacks.conftest import Rendered, stack_settings

RELEASE = "kubernetes:helm.sh/v3:Release"
INSTALLING = [s for s in STACKS if stack_settings(s).cluster.install_addons]
ISSUER_ANNOTATION = "cert-manager.io/cluster-issuer"


def release(r: Rendered, chart: str) -> dict[str, Any]:
    (found,) = [x for x in r.of_type(RELEASE) if x["inputs"]["chart"] == chart]
    return found


def test_some_stack_installs_the_addons() -> None:
    assert INSTALLING


@pytest.mark.parametrize("stack", INSTALLING)
def test_cert_manager_installs_its_crds_and_every_ingress_issuer_exists(
    data_render: Callable[[str], Rendered], stack: str
) -> None:
    """cert-manager v1.17.1's chart installs its CRDs only with `crds.enabled` (values.yaml: default false).
    Its ingress-shim turns an Ingress annotated `cert-manager.io/cluster-issuer: <name>` into a Certificate
    issued by the ClusterIssuer of that name; with no such ClusterIssuer the Certificate never becomes Ready
    (cert-manager docs, "Annotated Ingress resource")."""
    r = data_render(stack)
    values = release(r, "cert-manager")["inputs"]["values"]
    assert values.get("crds", {}).get("enabled") is True
    issuers = {m["metadata"]["name"] for m in r.kinds("ClusterIssuer")}
    named = {
        m["metadata"]["annotations"][ISSUER_ANNOTATION]
        for m in r.kinds("Ingress")
        if ISSUER_ANNOTATION in m["metadata"].get("annotations", {})
    }
    assert named, "no Ingress asks cert-manager for a certificate: nothing checked"
    assert named <= issuers, f"Ingresses name {sorted(named - issuers)}, which no ClusterIssuer of {stack} is"
    for issuer in r.kinds("ClusterIssuer"):
        (solver,) = issuer["spec"]["acme"]["solvers"]
        assert solver["http01"]["ingress"]["ingressClassName"] == stack_settings(stack).cluster.ingress_class


@pytest.mark.parametrize("stack", INSTALLING)
def test_ingresses_wait_for_the_ingress_controller(data_render: Callable[[str], Rendered], stack: str) -> None:
    """ingress-nginx 4.12.1 registers a ValidatingWebhookConfiguration for Ingress CREATE/UPDATE with
    `controller.admissionWebhooks.failurePolicy: Fail` (chart values.yaml): until its controller serves the
    webhook, the API server refuses every Ingress, so the first `up` on an empty cluster fails without the wait."""
    r = data_render(stack)
    controller = release(r, "ingress-nginx")["urn"]
    ingresses = r.of_type("kubernetes:networking.k8s.io/v1:Ingress")
    assert ingresses
    late = [x["name"] for x in ingresses if controller not in x["dependencies"]]
    assert not late, f"{len(late)} Ingresses do not wait for {controller}, such as {late[0]}"


def tolerates(tolerations: list[dict[str, Any]], taint: dict[str, str]) -> bool:
    """Kubernetes toleration matching (core/v1 Toleration): an empty key with `Exists` tolerates every taint;
    otherwise keys must be equal, `Equal` (the default) also compares values, and an empty effect matches all."""
    for t in tolerations:
        operator = t.get("operator", "Equal")
        if t.get("effect") not in (None, "", taint["effect"]):
            continue
        if not t.get("key"):
            if operator == "Exists":
                return True
            continue
        if t["key"] != taint["key"]:
            continue
        if operator == "Exists" or t.get("value", "") == taint["value"]:
            return True
    return False


def test_toleration_model() -> None:
    taint = {"key": "workload-type", "value": "agents", "effect": "NoSchedule"}
    assert tolerates([{"operator": "Exists"}], taint)
    assert tolerates([{"key": "workload-type", "operator": "Exists"}], taint)
    assert not tolerates([{"key": "workload-type", "value": "batch"}], taint)
    assert not tolerates([{"key": "workload-type", "value": "agents", "effect": "NoExecute"}], taint)
    assert not tolerates([], taint)


@pytest.mark.parametrize("stack", INSTALLING)
def test_velero_node_agent_runs_on_the_agent_nodes(data_render: Callable[[str], Rendered], stack: str) -> None:
    """File-system backup reads a volume through the node agent on the node its pod runs on. The velero 9.1.0
    chart's node-agent DaemonSet takes its tolerations from `nodeAgent.tolerations` only
    (templates/node-agent-daemonset.yaml; default `[]`), so without one it never runs on tainted agent nodes."""
    taint = stack_settings(stack).cluster.agent_nodes.taint
    assert taint is not None
    values = release(data_render(stack), "velero")["inputs"]["values"]
    assert values["deployNodeAgent"] is True
    tolerations = values.get("nodeAgent", {}).get("tolerations", [])
    assert tolerates(tolerations, taint.model_dump())


# vmware-tanzu/helm-charts `velero-9.1.0` Chart.yaml: appVersion 1.16.0. The plugin's compatibility table
# (vmware-tanzu/velero-plugin-for-aws README): plugin v1.12.x for Velero v1.16.x, v1.11.x for v1.15.x.
VELERO_OF_CHART = {"9.1.0": "1.16"}
AWS_PLUGIN_OF_VELERO = {"1.15": "1.11", "1.16": "1.12"}


@pytest.mark.parametrize("stack", INSTALLING)
def test_velero_aws_plugin_matches_the_server(data_render: Callable[[str], Rendered], stack: str) -> None:
    inputs = release(data_render(stack), "velero")["inputs"]
    (plugin,) = [c for c in inputs["values"]["initContainers"] if c["name"] == "velero-plugin-for-aws"]
    tag = plugin["image"].rpartition(":v")[2]
    assert tag.rpartition(".")[0] == AWS_PLUGIN_OF_VELERO[VELERO_OF_CHART[inputs["version"]]], plugin["image"]
