"""Composition of one stack: which components exist, how they connect, and what the stack exports."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.base.aws import IRSA_ANNOTATION, role_arn
from components.cluster_addons import AcmeIssuer, Addon, ClusterAddons, ClusterAddonsArgs
from components.gitops_application import ARGO_API_VERSION, GitOpsApplication, GitOpsApplicationArgs
from components.release_loop import ReleaseLoop, ReleaseLoopArgs
from components.tenant_namespace import LimitRange, TenantNamespace, TenantNamespaceArgs, TenantNetwork
from components.workload_identity import WorkloadIdentity, WorkloadIdentityArgs
from conventions.labels import AGENT_ID
from conventions.tags import tags
from planning.feature_flags import TenantFlags, resolve_flags
from settings import StackSettings
from stacks.cluster_connection import ClusterConnection, connect
from stacks.data import account_of, build_data, data_subnet_cidrs, velero_role_name
from stacks.foundation import Foundation, Tenancy
from stacks.observability import build_observability
from stacks.outputs import SCHEMA_VERSION
from stacks.workloads import build_workloads

PUSHGATEWAY_CHART = "prometheus-pushgateway"


def build_providers(settings: StackSettings, cluster: ClusterConnection) -> tuple[k8s.Provider, aws.Provider]:
    # A provider that renders YAML never reaches a cluster; the Kubernetes provider refuses a kubeconfig or
    # context beside renderYamlToDirectory, so the cluster connection goes to the Argo CD applier only.
    rendering = settings.gitops.render_yaml_to is not None
    k8s_provider = k8s.Provider(
        "k8s",
        kubeconfig=None if rendering else cluster.kubeconfig,
        context=None if rendering else cluster.context,
        render_yaml_to_directory=settings.gitops.render_yaml_to,
        enable_server_side_apply=True,
    )
    aws_provider = aws.Provider("aws-primary", region=settings.primary_region)
    return k8s_provider, aws_provider


def build_tenancy(
    s: StackSettings, cluster: ClusterConnection, k8s_provider: k8s.Provider, aws_provider: aws.Provider
) -> Tenancy:
    k8s_opts = pulumi.ResourceOptions(provider=k8s_provider)
    aws_opts = pulumi.ResourceOptions(provider=aws_provider)
    tenants: dict[str, TenantNamespace] = {}
    flags_of: dict[str, TenantFlags] = {}
    identities: dict[tuple[str, str], WorkloadIdentity] = {}
    network = TenantNetwork(
        data_subnet_cidrs=s.cluster.data_subnet_cidrs,
        vpc_cidr=s.cluster.vpc_cidr,
        aws_api_cidrs=s.cluster.aws_api_cidrs,
        ingress_namespace=s.cluster.ingress_namespace,
        monitoring_namespace=s.cluster.monitoring_namespace,
    )
    for tenant in s.tenants:
        namespace = tenant.namespace(s.environment)
        agents = [a for a in s.agents if tenant.id in a.tenants]
        roles: dict[str, pulumi.Input[str] | None] = {}
        for agent in agents:
            identity = WorkloadIdentity(
                f"{tenant.id}-{agent.id}-identity",
                WorkloadIdentityArgs(
                    namespace=namespace,
                    service_account=agent.id,
                    oidc_provider_arn=cluster.oidc_provider_arn,
                    oidc_issuer=cluster.oidc_issuer,
                    tags=tags(s.environment, tenant.id, **{AGENT_ID: agent.id}),
                ),
                opts=aws_opts,
            )
            identities[(tenant.id, agent.id)] = identity
            roles[agent.id] = identity.role_arn
        tier = s.tier(tenant.tier)
        flags = resolve_flags(tenant, tier, s.feature_flags)
        flags_of[tenant.id] = flags
        tenants[tenant.id] = TenantNamespace(
            tenant.id,
            TenantNamespaceArgs(
                tenant_id=tenant.id,
                sla_tier=tenant.tier,
                data_residency=tenant.data_residency,
                admin_group=tenant.admin_group_name,
                quota=tier.quota.hard(),
                limit_range=LimitRange.of(tier.limit_range),
                namespace=tenant.namespace(s.environment),
                environment=s.environment,
                flags=flags,
                network=replace(network, data_subnet_cidrs=data_subnet_cidrs(s, tenant)),
                pod_security_version=s.cluster.kubernetes_version,
                lifecycle_ports=sorted({a.lifecycle_port for a in agents}),
                service_accounts=roles,
            ),
            opts=k8s_opts,
        )
    return Tenancy(tenants, flags_of, identities)


def build_addons(s: StackSettings, cluster: ClusterConnection, k8s_provider: k8s.Provider) -> ClusterAddons | None:
    """Install the add-ons first: every object of a kind they define depends on them (`Foundation.crd_installers`)."""
    if not s.cluster.install_addons:
        return None
    # Velero's server assumes the role the data part creates later; its ARN follows from the account and the
    # role's fixed name, so the release need not wait for the role (the server retries until it exists).
    annotation = {IRSA_ANNOTATION: role_arn(account_of(cluster), velero_role_name(s.environment))}
    velero: dict[str, Any] = {"serviceAccount": {"server": {"annotations": annotation}}}
    taint = s.cluster.agent_nodes.taint
    if taint is not None:
        # The node agent copies volumes from the node their pod runs on, so it runs on the agent nodes too.
        velero["nodeAgent"] = {
            "tolerations": [{"key": taint.key, "operator": "Equal", "value": taint.value, "effect": taint.effect}]
        }
    overlays: dict[str, dict[str, Any]] = {"velero": velero}
    for name, addon in s.cluster.addons.items():
        if addon.chart == PUSHGATEWAY_CHART:
            # The synthetic sessions push here; its ServiceMonitor (off by default) carries the labels the
            # stack's Prometheus selects by, and honours the pushed agent and tenant labels.
            overlays[name] = {
                "serviceMonitor": {
                    "enabled": True,
                    "namespace": addon.namespace,
                    "additionalLabels": dict(s.observability.prometheus_selector),
                    "honorLabels": True,
                }
            }
    return ClusterAddons(
        "addons",
        ClusterAddonsArgs(
            addons={name: Addon.of(addon) for name, addon in s.cluster.addons.items()},
            value_overlays=overlays,
            cluster_issuers={name: AcmeIssuer.of(i) for name, i in s.cluster.cluster_issuers.items()},
            ingress_class=s.cluster.ingress_class,
        ),
        opts=pulumi.ResourceOptions(provider=k8s_provider),
    )


def build_gitops(platform: Foundation) -> None:
    s = platform.settings
    if s.gitops.render_yaml_to and s.gitops.repo_url:
        # The Application itself must reach the cluster, so it uses a provider that applies.
        applier = k8s.Provider("k8s-argocd", kubeconfig=platform.cluster.kubeconfig, context=platform.cluster.context)
        GitOpsApplication(
            "gitops",
            GitOpsApplicationArgs(
                environment=s.environment,
                repo_url=s.gitops.repo_url,
                path=s.gitops.render_yaml_to,
                target_revision=s.gitops.target_revision,
                argocd_namespace=s.gitops.argocd_namespace,
                crd_installers=platform.crd_installers(ARGO_API_VERSION),
            ),
            opts=pulumi.ResourceOptions(provider=applier),
        )


def build_release_loop(platform: Foundation) -> None:
    """The in-cluster engine that runs `up` again every resync interval: one look per automatic release."""
    s = platform.settings
    if s.release_loop.engine == "kubernetes_operator":
        ReleaseLoop(
            "release-loop",
            ReleaseLoopArgs(stack=platform.stack, loop=s.release_loop),
            opts=pulumi.ResourceOptions(provider=platform.k8s_provider),
        )


def tenant_outputs(platform: Foundation) -> dict[str, Any]:
    return {
        tenant.id: {
            "namespace": platform.tenants[tenant.id].namespace,
            "tier": tenant.tier,
            "data_residency": tenant.data_residency,
            "canary_cohort": platform.flags[tenant.id].canary_cohort,
            "flags_enabled": platform.flags[tenant.id].enabled,
        }
        for tenant in platform.settings.tenants
    }


def build_stack(stack: str, settings: StackSettings) -> dict[str, Any]:
    """Create every resource of the stack and return the outputs to export (the contract in the README)."""
    cluster = connect(stack, settings.cluster)
    k8s_provider, aws_provider = build_providers(settings, cluster)
    addons = build_addons(settings, cluster, k8s_provider)
    tenancy = build_tenancy(settings, cluster, k8s_provider, aws_provider)
    platform = Foundation(stack, settings, cluster, k8s_provider, aws_provider, addons, tenancy)
    data = build_data(platform).outputs()
    build_gitops(platform)
    build_release_loop(platform)
    workloads = build_workloads(platform)
    observability = build_observability(platform)
    return {
        "schema_version": SCHEMA_VERSION,
        "environment": settings.environment,
        "tenants": tenant_outputs(platform),
        **data,
        **workloads,
        **observability,
    }
