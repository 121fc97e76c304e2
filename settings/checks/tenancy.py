"""Cross-tenant and cluster-wide holes: a tenant's namespace shared with a platform component, a tenant
admin group that is a Kubernetes system group, networks that do not fit the VPC."""

from __future__ import annotations

from collections.abc import Iterator

from settings.errors import Problem
from settings.formats import network_of
from settings.stack import StackSettings

# Namespaces Kubernetes itself owns; a tenant there would share them with the control plane's objects.
SYSTEM_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
SYSTEM_GROUP_PREFIX = "system:"


def platform_namespaces(s: StackSettings) -> dict[str, str]:
    """Setting path -> namespace of every platform component the stack configures."""
    found = {
        "cluster.ingress_namespace": s.cluster.ingress_namespace,
        "cluster.monitoring_namespace": s.cluster.monitoring_namespace,
        "backups.velero.namespace": s.backups.velero.namespace,
        "data.bootstrap_namespace": s.data.bootstrap_namespace,
        "gitops.argocd_namespace": s.gitops.argocd_namespace,
    }
    if s.cluster.install_addons:
        found |= {f"cluster.addons.{name}.namespace": addon.namespace for name, addon in s.cluster.addons.items()}
    return found


def tenant_namespaces_are_their_own(s: StackSettings) -> Iterator[Problem]:
    tenants = {t.namespace(s.environment): (i, t.id) for i, t in enumerate(s.tenants)}
    for path, namespace in platform_namespaces(s).items():
        if namespace in tenants:
            index, tenant_id = tenants[namespace]
            yield Problem(
                path,
                f"{namespace!r} is tenant {tenant_id!r}'s namespace (tenants[{index}]); a platform component there "
                "would share the tenant's RBAC, quota and network policy: use a namespace of its own",
            )
    for namespace, (index, _) in tenants.items():
        if namespace in SYSTEM_NAMESPACES:
            yield Problem(f"tenants[{index}].id", f"its namespace {namespace!r} is a Kubernetes system namespace")


def admin_groups_are_tenant_groups(s: StackSettings) -> Iterator[Problem]:
    for index, tenant in enumerate(s.tenants):
        group = tenant.admin_group
        if group is None:
            continue
        if not group.strip():
            yield Problem(
                f"tenants[{index}].admin_group", "is empty; remove it (default `<id>-admins`) or name a group"
            )
        elif group.startswith(SYSTEM_GROUP_PREFIX):
            yield Problem(
                f"tenants[{index}].admin_group",
                f"{group!r} is a Kubernetes system group (every authenticated user, node or admin is in one); "
                f"binding tenant-admin to it opens the namespace to them: use the tenant's own group, e.g. "
                f"{tenant.id}-admins",
            )


def networks_fit_the_vpc(s: StackSettings) -> Iterator[Problem]:
    vpc = network_of(s.cluster.vpc_cidr)
    for field in ("data_subnet_cidrs", "aws_api_cidrs"):
        for index, cidr in enumerate(getattr(s.cluster, field)):
            if not network_of(cidr).subnet_of(vpc):
                yield Problem(
                    f"cluster.{field}[{index}]",
                    f"{cidr} is outside cluster.vpc_cidr {s.cluster.vpc_cidr}; give the subnet's CIDR inside the "
                    "cluster's VPC",
                )
    network = s.data.eu_network
    if network is not None:
        for index, cidr in enumerate(network.subnet_cidrs):
            if network_of(cidr).overlaps(vpc):
                yield Problem(
                    f"data.eu_network.subnet_cidrs[{index}]",
                    f"{cidr} overlaps the cluster's VPC {s.cluster.vpc_cidr}; peered VPCs need disjoint ranges: give "
                    "the EU VPC's own subnet CIDRs",
                )


RULES = [tenant_namespaces_are_their_own, admin_groups_are_tenant_groups, networks_fit_the_vpc]
