"""KubernetesObject: one Kubernetes object registered from its manifest fields (metadata, spec, data, ...).

The program writes every object as a dict with the Kubernetes API's own keys, which is what the provider
receives. The generated `pulumi_kubernetes` classes would walk those dicts against their typed Args and
output classes on every registration and response: at fleet scale that was the largest share of a render
spent outside the bare SDK (`benchmarks/render_scale.py`). This class registers the same type, inputs and
options (provider version, the typed classes' aliases for older API versions) without that walk; outputs
come back as plain dicts with the API's keys.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pulumi
from pulumi_kubernetes import _utilities

# The aliases the generated classes declare, so objects created under an older API version keep their state.
_PREVIOUS_TYPES: dict[str, tuple[str, ...]] = {
    "apps/v1:Deployment": ("apps/v1beta1", "apps/v1beta2", "extensions/v1beta1"),
    "apps/v1:StatefulSet": ("apps/v1beta1", "apps/v1beta2"),
    "autoscaling/v2:HorizontalPodAutoscaler": ("autoscaling/v1", "autoscaling/v2beta1", "autoscaling/v2beta2"),
    "batch/v1:CronJob": ("batch/v1beta1", "batch/v2alpha1"),
    "networking.k8s.io/v1:Ingress": ("extensions/v1beta1", "networking.k8s.io/v1beta1"),
    "networking.k8s.io/v1:NetworkPolicy": ("extensions/v1beta1",),
    "policy/v1:PodDisruptionBudget": ("policy/v1beta1",),
    "rbac.authorization.k8s.io/v1:Role": ("rbac.authorization.k8s.io/v1alpha1", "rbac.authorization.k8s.io/v1beta1"),
    "rbac.authorization.k8s.io/v1:RoleBinding": (
        "rbac.authorization.k8s.io/v1alpha1",
        "rbac.authorization.k8s.io/v1beta1",
    ),
    "storage.k8s.io/v1:StorageClass": ("storage.k8s.io/v1beta1",),
}


def type_token(api_version: str, kind: str) -> str:
    """The provider's type token: the core group is spelled `core` (`v1` -> `kubernetes:core/v1:Pod`)."""
    group_version = api_version if "/" in api_version else f"core/{api_version}"
    return f"kubernetes:{group_version}:{kind}"


class KubernetesObject(pulumi.CustomResource):
    if TYPE_CHECKING:
        # Only for type checkers: the SDK resolves a class's Output annotations on every registration.
        metadata: pulumi.Output[dict[str, Any]]

    def __init__(
        self,
        resource_name: str,
        api_version: str,
        kind: str,
        opts: pulumi.ResourceOptions | None = None,
        **fields: pulumi.Input[Any],
    ):
        """`fields` are the object's top-level keys as in its manifest (`metadata`, `spec`, `roleRef`, ...)."""
        token = type_token(api_version, kind)
        previous = _PREVIOUS_TYPES.get(f"{api_version}:{kind}", ())
        defaults = _utilities.get_resource_opts_defaults()
        if previous:
            defaults.aliases = [pulumi.Alias(type_=f"kubernetes:{version}:{kind}") for version in previous]
        props = {"apiVersion": api_version, "kind": kind, **fields}
        super().__init__(token, resource_name, props, pulumi.ResourceOptions.merge(defaults, opts))
