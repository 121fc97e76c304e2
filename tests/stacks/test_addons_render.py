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
