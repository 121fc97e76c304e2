"""ClusterAddons: the add-ons the platform's objects rely on, as pinned Helm releases, and the cert-manager
ClusterIssuers the Ingresses name (an Ingress asking for an issuer that does not exist never gets TLS)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.base.kubernetes_object import KubernetesObject
from components.base.values import Value
from conventions.overlay import deep_merge

CERT_MANAGER_API = "cert-manager.io/v1"


class Addon(Value):
    """A Helm release: chart, where it comes from, its version and namespace, its values, and the API groups
    whose CRDs it installs (the platform's objects of those groups wait for it)."""

    chart: str
    repository: str
    version: str
    namespace: str
    values: dict[str, object]
    crd_groups: list[str]


class AcmeIssuer(Value):
    """An ACME ClusterIssuer solving HTTP-01 through the cluster's ingress class."""

    server: str
    email: str | None


@dataclass(frozen=True)
class ClusterAddonsArgs:
    addons: dict[str, Addon]
    value_overlays: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per add-on values merged over the settings' values; may hold Outputs of other components."""
    cluster_issuers: dict[str, AcmeIssuer] = field(default_factory=dict)
    ingress_class: str = "nginx"
    """The class whose controller serves the HTTP-01 challenges."""


class ClusterAddons(pulumi.ComponentResource):
    release_names: pulumi.Output[list[str]]
    releases: dict[str, k8s.helm.v3.Release]

    def __init__(self, name: str, args: ClusterAddonsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("agent-platform:components:ClusterAddons", name, None, opts)
        self._addons = args.addons
        self._name = name
        self.releases = {}
        for addon_name, addon in sorted(args.addons.items()):
            self.releases[addon_name] = k8s.helm.v3.Release(
                f"{name}-{addon_name}",
                name=addon_name,
                chart=addon.chart,
                version=addon.version,
                namespace=addon.namespace,
                create_namespace=True,
                repository_opts={"repo": addon.repository},
                values=deep_merge(addon.values, args.value_overlays.get(addon_name, {})),
                atomic=True,
                timeout=600,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.release_names = pulumi.Output.all(*[r.name for r in self.releases.values()])
        self.issuers = [
            self._issuer(name, issuer, args.ingress_class) for name, issuer in sorted(args.cluster_issuers.items())
        ]
        self.register_outputs({"release_names": self.release_names, "cluster_issuers": sorted(args.cluster_issuers)})

    def _issuer(self, issuer_name: str, issuer: AcmeIssuer, ingress_class: str) -> KubernetesObject:
        acme: dict[str, Any] = {
            "server": issuer.server,
            "privateKeySecretRef": {"name": f"{issuer_name}-account-key"},
            "solvers": [{"http01": {"ingress": {"ingressClassName": ingress_class}}}],
        }
        if issuer.email:
            acme["email"] = issuer.email
        return KubernetesObject(
            f"{self._name}-issuer-{issuer_name}",
            api_version=CERT_MANAGER_API,
            kind="ClusterIssuer",
            metadata={"name": issuer_name},
            spec={"acme": acme},
            opts=pulumi.ResourceOptions(parent=self, depends_on=self.installers(CERT_MANAGER_API)),
        )

    def releases_of(self, chart: str) -> list[pulumi.Resource]:
        """The releases of `chart` (for objects a chart's admission webhook must accept, such as Ingresses)."""
        return [self.releases[n] for n, addon in sorted(self._addons.items()) if addon.chart == chart]

    def installers(self, api_version: str) -> list[pulumi.Resource]:
        """The releases that install the CRDs of `api_version`'s group: an object of that kind must wait for them,
        or the first `pulumi up` on a fresh cluster fails with "no matches for kind"."""
        group = api_version.rpartition("/")[0]
        return [self.releases[n] for n, addon in sorted(self._addons.items()) if group in addon.crd_groups]
