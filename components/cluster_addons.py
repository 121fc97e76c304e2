"""ClusterAddons: the add-ons the platform's objects rely on, as pinned Helm releases."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from conventions.overlay import deep_merge
from settings.cluster import Addon


@dataclass(frozen=True)
class ClusterAddonsArgs:
    addons: dict[str, Addon]
    value_overlays: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per add-on values merged over the settings' values; may hold Outputs of other components."""


class ClusterAddons(pulumi.ComponentResource):
    release_names: pulumi.Output[list[str]]
    releases: dict[str, k8s.helm.v3.Release]

    def __init__(self, name: str, args: ClusterAddonsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("agent-platform:components:ClusterAddons", name, None, opts)
        self._addons = args.addons
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
        self.register_outputs({"release_names": self.release_names})

    def installers(self, api_version: str) -> list[pulumi.Resource]:
        """The releases that install the CRDs of `api_version`'s group: an object of that kind must wait for them,
        or the first `pulumi up` on a fresh cluster fails with "no matches for kind"."""
        group = api_version.rpartition("/")[0]
        return [self.releases[n] for n, addon in sorted(self._addons.items()) if group in addon.crd_groups]
