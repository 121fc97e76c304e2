"""What every later part of a stack hangs off: the connection, the add-on releases and the tenancy. Built
once by `stacks.compose` and then only read, so the data, workload and observability parts can run in any
order and each returns its own result."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.cluster_addons import ClusterAddons
from components.tenant_namespace import TenantNamespace
from components.workload_identity import WorkloadIdentity
from planning.feature_flags import TenantFlags
from settings.stack import StackSettings
from stacks.cluster_connection import ClusterConnection

INGRESS_CHART = "ingress-nginx"


@dataclass(frozen=True)
class Tenancy:
    tenants: Mapping[str, TenantNamespace]
    flags: Mapping[str, TenantFlags]
    identities: Mapping[tuple[str, str], WorkloadIdentity]
    """(tenant id, agent id) -> the agent's IAM role in that tenant."""


@dataclass(frozen=True)
class Foundation:
    stack: str
    settings: StackSettings
    cluster: ClusterConnection
    k8s_provider: k8s.Provider
    aws_provider: aws.Provider
    addons: ClusterAddons | None
    """The add-on releases, when this stack installs them (`cluster.install_addons`)."""
    tenancy: Tenancy

    @property
    def tenants(self) -> Mapping[str, TenantNamespace]:
        return self.tenancy.tenants

    @property
    def flags(self) -> Mapping[str, TenantFlags]:
        return self.tenancy.flags

    @property
    def identities(self) -> Mapping[tuple[str, str], WorkloadIdentity]:
        return self.tenancy.identities

    def crd_installers(self, api_version: str) -> list[pulumi.Resource]:
        """What an object of `api_version` must wait for: the release installing its CRDs, if this stack owns it."""
        return self.addons.installers(api_version) if self.addons is not None else []

    def ingress_controller(self) -> list[pulumi.Resource]:
        """The ingress-nginx release, if this stack owns it: its validating webhook (failurePolicy Fail) must be
        serving before any Ingress is created or changed."""
        return self.addons.releases_of(INGRESS_CHART) if self.addons is not None else []
