"""The cluster's network and identity facts, from settings or from the cluster team's stack."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from settings.cluster import Cluster
from settings.errors import Problem, SettingsError

REFERENCED_FIELDS = ("vpc_id", "private_subnet_ids", "node_security_group_id", "oidc_provider_arn", "oidc_issuer")


@dataclass(frozen=True)
class ClusterConnection:
    kubeconfig: pulumi.Input[str] | None
    context: str | None
    vpc_id: pulumi.Input[str]
    private_subnet_ids: pulumi.Input[list[str]]
    node_security_group_id: pulumi.Input[str]
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]


def connect(stack: str, cluster: Cluster) -> ClusterConnection:
    """Explicit settings win; whatever is missing comes from the cluster stack's outputs of the same name."""
    reference = (
        pulumi.StackReference("cluster", stack_name=cluster.stack_reference) if cluster.stack_reference else None
    )
    values: dict[str, pulumi.Input[object]] = {}
    missing = []
    for name in REFERENCED_FIELDS:
        explicit = getattr(cluster, name)
        if explicit is not None:
            values[name] = explicit
        elif reference is not None:
            values[name] = reference.require_output(name)
        else:
            missing.append(Problem(f"cluster.{name}", "is required when cluster.stack_reference is not set"))
    if missing:
        raise SettingsError(stack, missing)

    kubeconfig: pulumi.Input[str] | None
    if cluster.kubeconfig is not None:
        kubeconfig = pulumi.Output.secret(cluster.kubeconfig)
    elif reference is not None and cluster.context is None:
        # Secret whether or not the cluster stack marked it: a plain kubeconfig would sit in this state in clear.
        kubeconfig = pulumi.Output.secret(reference.require_output("kubeconfig"))
    else:
        kubeconfig = None
    return ClusterConnection(kubeconfig=kubeconfig, context=cluster.context, **values)  # type: ignore[arg-type]
