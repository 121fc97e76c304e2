"""TenantNamespace under Pulumi's mocks: each object present with the right fields."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from components.tenant_namespace import LimitRange, TenantNamespace, TenantNamespaceArgs, TenantNetwork
from planning.feature_flags import resolve_flags
from settings.tenancy import FeatureFlags, Tenant, default_tier
from testing.mocks import Recorder


@pytest.fixture
def recorder() -> Recorder:
    """Build the component under mocks; `pulumi.runtime.test` returns once every registration finished."""
    mocks = Recorder()
    pulumi.runtime.set_mocks(mocks, project="agent-platform", stack="prod", preview=False)
    namespaces: list[str] = []
    pulumi.runtime.test(lambda: build().namespace.apply(namespaces.append))()
    assert namespaces == ["globex-prod"]
    return mocks


TENANT = Tenant(id="globex", tier="premium", data_residency="eu", beta=True, feature_flags={"agent_pools": False})
FLAGS = FeatureFlags(defaults={"agent_pools": True, "streaming": False}, beta=["streaming"], canary_percentage=5)
NETWORK = TenantNetwork(
    data_subnet_cidrs=["10.30.32.0/24", "10.30.33.0/24"],
    vpc_cidr="10.30.0.0/16",
    aws_api_cidrs=["10.30.40.0/24"],
    ingress_namespace="ingress-nginx",
    monitoring_namespace="monitoring",
)


def build() -> TenantNamespace:
    tier = default_tier("prod", "premium")
    return TenantNamespace(
        "globex",
        TenantNamespaceArgs(
            tenant_id=TENANT.id,
            sla_tier=TENANT.tier,
            data_residency=TENANT.data_residency,
            admin_group=TENANT.admin_group_name,
            quota=tier.quota.hard(),
            limit_range=LimitRange.of(tier.limit_range),
            namespace="globex-prod",
            environment="prod",
            flags=resolve_flags(TENANT, tier, FLAGS),
            network=NETWORK,
            pod_security_version="1.31",
            lifecycle_ports=[8080],
            service_accounts={"support-bot": "arn:aws:iam::123456789012:role/globex-prod-support-bot", "docs": None},
        ),
    )


def get(recorder: Recorder, type_: str, name: str) -> dict[str, Any]:
    return recorder.resources[f"{type_}::{name}"]


def test_namespace_labels_and_pod_security(recorder: Recorder) -> None:
    metadata = get(recorder, "kubernetes:core/v1:Namespace", "globex-ns")["metadata"]
    assert metadata["name"] == "globex-prod"
    labels = metadata["labels"]
    assert labels["tenant-id"] == "globex"
    assert labels["environment"] == "prod"
    assert labels["sla-tier"] == "premium"
    assert labels["data-residency"] == "eu"
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
        assert labels[f"pod-security.kubernetes.io/{mode}-version"] == "v1.31"


def test_quota_and_limit_range_follow_the_tier(recorder: Recorder) -> None:
    quota = get(recorder, "kubernetes:core/v1:ResourceQuota", "globex-quota")
    assert quota["metadata"]["namespace"] == "globex-prod"
    assert quota["spec"]["hard"] == default_tier("prod", "premium").quota.hard()
    limits = {
        item["type"]: item for item in get(recorder, "kubernetes:core/v1:LimitRange", "globex-limits")["spec"]["limits"]
    }
    assert limits["Container"]["default"] == {"cpu": "2000m", "memory": "2Gi"}
    assert limits["Container"]["defaultRequest"] == {"cpu": "500m", "memory": "512Mi"}
    assert limits["Container"]["max"] == {"cpu": "8000m", "memory": "16Gi"}
    assert limits["Container"]["min"] == {"cpu": "100m", "memory": "128Mi"}
    assert limits["Pod"]["max"] == {"cpu": "16000m", "memory": "32Gi"}
    assert limits["PersistentVolumeClaim"] == {
        "type": "PersistentVolumeClaim",
        "min": {"storage": "1Gi"},
        "max": {"storage": "100Gi"},
    }


def test_network_policies_deny_by_default_and_allow_only_the_listed_paths(recorder: Recorder) -> None:
    policies = {
        name.removeprefix("kubernetes:networking.k8s.io/v1:NetworkPolicy::globex-netpol-"): spec["spec"]
        for name, spec in recorder.resources.items()
        if name.startswith("kubernetes:networking.k8s.io/v1:NetworkPolicy::")
    }
    assert policies["default-deny-all"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    ingress_from = policies["allow-from-ingress-controller"]["ingress"][0]
    assert ingress_from["from"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "ingress-nginx"
    }
    assert ingress_from["ports"] == [{"protocol": "TCP", "port": 8000}]
    assert [p["port"] for p in policies["allow-within-namespace"]["ingress"][0]["ports"]] == [8000, 8080, 9090]
    assert policies["allow-monitoring-scrape"]["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 9090}]
    dns = policies["allow-dns-egress"]["egress"][0]
    assert {(p["protocol"], p["port"]) for p in dns["ports"]} == {("UDP", 53), ("TCP", 53)}
    data = policies["allow-data-egress"]["egress"][0]
    assert [t["ipBlock"]["cidr"] for t in data["to"]] == NETWORK.data_subnet_cidrs
    assert [p["port"] for p in data["ports"]] == [5432, 6379]
    https = policies["allow-https-egress"]["egress"][0]
    public = https["to"][0]["ipBlock"]
    assert public["cidr"] == "0.0.0.0/0"
    assert "10.0.0.0/8" in public["except"] and "172.16.0.0/12" in public["except"]
    assert https["to"][1] == {"ipBlock": {"cidr": "10.30.40.0/24"}}
    assert https["ports"] == [{"protocol": "TCP", "port": 443}]
    assert set(policies) == {
        "default-deny-all",
        "allow-from-ingress-controller",
        "allow-within-namespace",
        "allow-egress-within-namespace",
        "allow-monitoring-scrape",
        "allow-dns-egress",
        "allow-data-egress",
        "allow-https-egress",
    }


def test_rbac_service_accounts_and_flags(recorder: Recorder) -> None:
    binding = get(recorder, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "globex-admin-binding")
    assert binding["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "globex-admins"}]
    assert binding["roleRef"]["name"] == "tenant-admin"
    rules = get(recorder, "kubernetes:rbac.authorization.k8s.io/v1:Role", "globex-admin-role")["rules"]
    assert not any("secrets" in rule["resources"] for rule in rules)
    sa = get(recorder, "kubernetes:core/v1:ServiceAccount", "globex-sa-support-bot")
    assert sa["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/globex-prod-support-bot"
    }
    assert sa["automountServiceAccountToken"] is False
    assert get(recorder, "kubernetes:core/v1:ServiceAccount", "globex-sa-docs")["metadata"]["annotations"] == {}
    flags = get(recorder, "kubernetes:core/v1:ConfigMap", "globex-flags")["data"]
    # defaults, then beta enrollment, then the tenant's own entry wins
    assert flags["flags.json"] == '{"agent_pools": false, "streaming": true}'
    assert flags["canary-cohort"] in ("true", "false")
