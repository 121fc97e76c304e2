"""Tenant isolation of the rendered stacks, judged by the rules of the systems that enforce it.

Each oracle encodes another system's behaviour from its source or docs (see its module docstring); each has a
test showing it refuses the shape that breaks isolation, so a clean render cannot pass by accident.
"""

from __future__ import annotations

import copy
import ipaddress
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from components.agent_service import HTTP_PORT
from components.synthetic_session import PROBE_LABEL
from conventions.labels import INSTANCE
from settings.checks.workloads import LETS_ENCRYPT_PER_REGISTERED_DOMAIN, registered_domain
from tests.conftest import STACKS, load_manifests, load_resources
from tests.stacks import (
    iam_oracle,
    ingress_oracle,
    netpol_oracle,
    rbac_oracle,
    redis_acl_oracle,
    scrape_oracle,
    service_oracle,
)
from tests.stacks.conftest import stack_settings
from tests.stacks.prometheus_selection import PUSHGATEWAY_CHART, pushgateway_monitors
from tests.stacks.redis_acl_oracle import CATEGORIES

Rendered = Callable[[str], Path]
LETS_ENCRYPT_PER_EXACT_SET = 5
"""https://letsencrypt.org/docs/rate-limits/: "New Certificates per Exact Set of Identifiers", 5 per 7 days."""


def kinds(rendered: Rendered, stack: str, kind: str) -> list[dict[str, Any]]:
    return [m for m in load_manifests(rendered(stack)).values() if m["kind"] == kind]


def _ingress(namespace: str, name: str, host: str, *, canary: bool = False) -> dict[str, Any]:
    annotations = {ingress_oracle.CANARY: "true"} if canary else {}
    return {
        "metadata": {"namespace": namespace, "name": name, "annotations": annotations},
        "spec": {
            "rules": [
                {
                    "host": host,
                    "http": {
                        "paths": [
                            {"path": "/api", "pathType": "Prefix", "backend": {"service": {"name": name}}},
                        ]
                    },
                }
            ]
        },
    }


def test_the_admission_rule_refuses_one_host_and_path_in_two_namespaces() -> None:
    first = _ingress("acme-prod", "bot", "bot.example.com")
    second = _ingress("globex-prod", "bot", "bot.example.com")
    assert ingress_oracle.admission_refusals([first, second]) == [
        'globex-prod/bot: host "bot.example.com" and path "/api" is already defined in ingress acme-prod/bot'
    ]
    two_canaries = [
        first,
        _ingress("acme-prod", "bot-canary", "bot.example.com", canary=True),
        _ingress("globex-prod", "bot-canary", "bot.example.com", canary=True),
    ]
    assert len(ingress_oracle.admission_refusals(two_canaries)) == 1
    canary = _ingress("globex-prod", "bot-canary", "bot.example.com", canary=True)
    assert ingress_oracle.admission_refusals([first, canary]) == []
    # The canary passes the webhook and joins the other tenant's server: the isolation break B1 describes.
    assert ingress_oracle.canary_primaries([first, canary]) == {"globex-prod/bot-canary": {"acme-prod/bot"}}


@pytest.mark.parametrize("stack", STACKS)
def test_ingress_nginx_admits_every_ingress(rendered: Rendered, stack: str) -> None:
    ingresses = kinds(rendered, stack, "Ingress")
    assert stack == "dev" or ingresses
    assert ingress_oracle.admission_refusals(ingresses) == []


def test_some_stack_renders_a_weighted_canary_behind_an_ingress(rendered: Rendered) -> None:
    """The canary checks below must have something to judge."""
    weighted = [
        (stack, agent_id, tenant_id)
        for stack in STACKS
        for agent_id, agent in json.loads((rendered(stack) / "outputs.json").read_text())["agents"].items()
        for tenant_id, tenant in agent["tenants"].items()
        if agent["strategy"] == "canary" and agent["canary_version"] and tenant["weight"] > 0
    ]
    assert weighted
    assert any(ingress_oracle.canary_primaries(kinds(rendered, stack, "Ingress")) for stack, _, _ in weighted)


@pytest.mark.parametrize("stack", STACKS)
def test_every_canary_ingress_joins_only_its_own_tenants_primary(rendered: Rendered, stack: str) -> None:
    ingresses = kinds(rendered, stack, "Ingress")
    merged = ingress_oracle.canary_primaries(ingresses)
    for canary, primaries in merged.items():
        namespace, name = canary.split("/")
        assert primaries == {f"{namespace}/{name.removesuffix('-canary')}"}, canary


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_each_tenant_gets_its_own_host(rendered: Rendered, stack: str) -> None:
    hosts: dict[str, set[str]] = {}
    for ingress in kinds(rendered, stack, "Ingress"):
        for location in ingress_oracle.locations(ingress):
            hosts.setdefault(location.host, set()).add(ingress["metadata"]["namespace"])
    assert hosts and all(len(namespaces) == 1 for namespaces in hosts.values()), hosts


def test_certificates_stay_within_lets_encrypt_limits(rendered: Rendered) -> None:
    """All stacks share one ACME account and registered domain, so the limits apply to their sum."""
    certificates = [
        c for stack in STACKS for c in ingress_oracle.requested_certificates(kinds(rendered, stack, "Ingress"))
    ]
    assert certificates
    per_exact_set = Counter(c.hosts for c in certificates)
    assert max(per_exact_set.values()) <= LETS_ENCRYPT_PER_EXACT_SET, per_exact_set.most_common(3)
    per_domain = Counter(registered_domain(host) for c in certificates for host in sorted(c.hosts)[:1])
    assert max(per_domain.values()) <= LETS_ENCRYPT_PER_REGISTERED_DOMAIN, per_domain


def _role(rules: list[dict[str, Any]], *, cluster: bool = False) -> dict[str, Any]:
    kind = "ClusterRole" if cluster else "Role"
    meta: dict[str, Any] = {"name": "r", "labels": {}}
    if not cluster:
        meta["namespace"] = "acme-prod"
    return {"kind": kind, "metadata": meta, "rules": rules}


def _binding(role_kind: str, group: str, *, cluster: bool = False, name: str = "r") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "b"} if cluster else {"name": "b", "namespace": "acme-prod"}
    return {
        "kind": "ClusterRoleBinding" if cluster else "RoleBinding",
        "metadata": meta,
        "roleRef": {"kind": role_kind, "name": name},
        "subjects": [{"kind": "Group", "name": group}],
    }


def test_the_rbac_evaluator_finds_pod_template_and_secret_paths() -> None:
    jobs_and_patch = [
        _role(
            [
                {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create"]},
                {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["patch"]},
            ]
        ),
        _binding("Role", "acme-admins"),
    ]
    found = rbac_oracle.escalation_paths(rbac_oracle.grants(jobs_and_patch, {"acme-admins"}), "acme-prod")
    assert set(found) == {"create batch/jobs", "patch apps/deployments"}
    assert rbac_oracle.escalation_paths(rbac_oracle.grants(jobs_and_patch, {"globex-admins"}), "acme-prod") == {}
    # `*/exec` and an aggregated ClusterRole bound cluster-wide to every authenticated user.
    aggregated = {
        "kind": "ClusterRole",
        "metadata": {"name": "agg"},
        "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"aggregate": "yes"}}]},
    }
    exec_role = _role([{"apiGroups": [""], "resources": ["*/exec"], "verbs": ["create"]}], cluster=True)
    exec_role["metadata"]["labels"] = {"aggregate": "yes"}
    cluster_wide = [aggregated, exec_role, _binding("ClusterRole", "system:authenticated", cluster=True, name="agg")]
    found = rbac_oracle.escalation_paths(rbac_oracle.grants(cluster_wide, {"system:authenticated"}), "acme-prod")
    assert set(found) == {"create core/pods/exec"}
    secrets = [_role([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["list"]}]), _binding("Role", "acme-admins")]
    found = rbac_oracle.escalation_paths(rbac_oracle.grants(secrets, {"acme-admins"}), "acme-prod")
    assert set(found) == {"list core/secrets"}


@pytest.mark.parametrize("escalation", rbac_oracle.ESCALATIONS, ids=" ".join)
def test_the_rbac_evaluator_finds_each_escalation_on_its_own(escalation: tuple[str, str, str]) -> None:
    verb, group, resource = escalation
    objects = [
        _role([{"apiGroups": [group], "resources": [resource], "verbs": [verb]}]),
        _binding("Role", "acme-admins"),
    ]
    found = rbac_oracle.escalation_paths(rbac_oracle.grants(objects, {"acme-admins"}), "acme-prod")
    assert set(found) == {f"{verb} {group or 'core'}/{resource}"}


# What README ("RBAC") and docs/onboarding.md ("Administrators") promise a tenant's administrators: read
# workloads, logs and events, restart by deleting pods. Each kubectl command as the API requests it makes
# (https://kubernetes.io/docs/reference/access-authn-authz/authorization/#determine-the-request-verb):
# `logs` is a get of pods/log after resolving its pod (a workload's through its selector); `describe` lists the
# object's core/v1 events; `rollout status` watches the workload; `delete pod` deletes, and its controller starts
# a fresh pod from the template `up` wrote.
READ_KINDS = {
    "": ("pods", "services", "endpoints", "configmaps", "persistentvolumeclaims", "events"),
    "apps": ("deployments", "statefulsets", "replicasets"),
    "autoscaling": ("horizontalpodautoscalers",),
    "batch": ("jobs", "cronjobs"),
    "networking.k8s.io": ("ingresses", "networkpolicies"),
    "policy": ("poddisruptionbudgets",),
}
TENANT_ADMIN_TASKS: dict[str, list[tuple[str, str, str]]] = {
    **{
        f"kubectl get {resource} [-w]": [(verb, group, resource) for verb in ("get", "list", "watch")]
        for group, resources in READ_KINDS.items()
        for resource in resources
    },
    "kubectl logs <pod> --previous": [("get", "", "pods"), ("get", "", "pods/log")],
    "kubectl logs deploy/<agent> -f": [("get", "apps", "deployments"), ("list", "", "pods"), ("get", "", "pods/log")],
    "kubectl describe pod <pod>": [("get", "", "pods"), ("list", "", "events")],
    "kubectl rollout status sts/<agent>": [("get", "apps", "statefulsets"), ("watch", "apps", "statefulsets")],
    "kubectl delete pod <pod> (restart)": [("delete", "", "pods"), ("get", "", "pods"), ("watch", "", "pods")],
}


def _tenant_admin_cases(rendered: Rendered, stack: str) -> list[tuple[str, list[dict[str, Any]], set[str]]]:
    """(namespace, the render's RBAC objects, the groups an administrator of that tenant is in) per tenant."""
    settings = stack_settings(stack)
    objects = [m for m in load_manifests(rendered(stack)).values() if "rbac.authorization.k8s.io" in m["apiVersion"]]
    return [
        (tenant.namespace(settings.environment), objects, {tenant.admin_group_name, "system:authenticated"})
        for tenant in settings.tenants
    ]


def _namespaces(rendered: Rendered, stack: str) -> set[str]:
    manifests = load_manifests(rendered(stack)).values()
    named = {m["metadata"]["name"] for m in manifests if m["kind"] == "Namespace"}
    return named | {m["metadata"]["namespace"] for m in manifests if m["metadata"].get("namespace")}


def _refused_tasks(objects: list[dict[str, Any]], groups: set[str], namespace: str) -> list[str]:
    held = list(rbac_oracle.grants(objects, groups))
    return [
        task
        for task, requests in TENANT_ADMIN_TASKS.items()
        if not all(rbac_oracle.allowed(held, verb, group, resource, namespace) for verb, group, resource in requests)
    ]


@pytest.mark.parametrize("stack", STACKS)
def test_tenant_admin_cannot_read_secrets_or_run_pods_as_an_agent(rendered: Rendered, stack: str) -> None:
    """The tenant's admin group (plus every authenticated user) holds no escalation in any namespace of the
    render (its own, another tenant's, `agent-data`, the add-ons'), and reads nothing outside its own."""
    namespaces = _namespaces(rendered, stack)
    for namespace, objects, groups in _tenant_admin_cases(rendered, stack):
        held = list(rbac_oracle.grants(objects, groups))
        for other in namespaces:
            assert rbac_oracle.escalation_paths(held, other) == {}, (namespace, other)
            if other != namespace:
                assert not rbac_oracle.allowed(held, "get", "", "pods", other), (namespace, other)


@pytest.mark.parametrize("stack", STACKS)
def test_tenant_admin_can_do_every_documented_task(rendered: Rendered, stack: str) -> None:
    for namespace, objects, groups in _tenant_admin_cases(rendered, stack):
        assert _refused_tasks(objects, groups, namespace) == [], namespace


@pytest.mark.parametrize("stack", STACKS)
def test_every_verb_and_resource_of_tenant_admin_serves_a_documented_task(rendered: Rendered, stack: str) -> None:
    """Take any one verb or resource away from the Role and some documented task is refused: the Role grants
    the tasks and nothing beside them."""
    namespace, objects, groups = _tenant_admin_cases(rendered, stack)[0]
    role = next(o for o in objects if o["kind"] == "Role" and o["metadata"]["namespace"] == namespace)
    for r, rule in enumerate(role["rules"]):
        for field in ("verbs", "resources", "apiGroups"):
            for value in rule[field]:
                narrowed_role = copy.deepcopy(role)
                narrowed_role["rules"][r][field] = [v for v in rule[field] if v != value]
                narrowed = [narrowed_role if o is role else o for o in objects]
                assert _refused_tasks(narrowed, groups, namespace), f"{stack}: {field} {value!r} of rule {r}"


def _workload(namespace: str, track: str, replicas: int) -> dict[str, Any]:
    labels = {"app": "bot", "agent-id": "bot", "tenant-id": "acme", "track": track, INSTANCE: f"bot-{track}"}
    return {
        "kind": "Deployment",
        "metadata": {"namespace": namespace, "name": f"bot-{track}"},
        "spec": {"replicas": replicas, "template": {"metadata": {"labels": labels}}},
    }


def test_the_service_oracle_counts_both_tracks_behind_a_selector_without_the_instance_label() -> None:
    objects = [_workload("acme-prod", "stable", 3), _workload("acme-prod", "canary", 3)]
    pods = service_oracle.pods(objects)
    both = {"metadata": {"namespace": "acme-prod"}, "spec": {"selector": {"app": "bot", "agent-id": "bot"}}}
    assert service_oracle.share(both, pods, "track", "canary") == (3, 6)
    stable = {"metadata": {"namespace": "acme-prod"}, "spec": {"selector": {"app": "bot", INSTANCE: "bot-stable"}}}
    assert service_oracle.share(stable, pods, "track", "canary") == (0, 3)
    elsewhere = {"metadata": {"namespace": "globex-prod"}, "spec": {"selector": {"app": "bot"}}}
    assert service_oracle.share(elsewhere, pods, "track", "canary") == (0, 0)


@pytest.mark.parametrize("stack", STACKS)
def test_in_cluster_callers_never_reach_a_weighted_canary(rendered: Rendered, stack: str) -> None:
    """The client Service (the `url` output, the synthetic session) selects the stable track only while the
    Ingress carries the stage weight; blue-green switches it whole; the replica-ratio split (no Ingress, no
    HPA) is the weight to within one replica."""
    objects = list(load_manifests(rendered(stack)).values())
    pods = service_oracle.pods(objects)
    settings = stack_settings(stack)
    out = json.loads((rendered(stack) / "outputs.json").read_text())["agents"]
    for agent in settings.agents:
        for tenant_id, tenant_out in out[agent.id]["tenants"].items():
            service = next(
                o
                for o in objects
                if o["kind"] == "Service"
                and o["metadata"]["namespace"] == tenant_out["namespace"]
                and o["metadata"]["name"] == tenant_out["service_name"]
            )
            canary, total = service_oracle.share(service, pods, "track", "canary")
            assert total > 0, f"{tenant_out['namespace']}/{tenant_out['service_name']} selects no pods"
            where = f"{agent.id} in {tenant_id}: {canary} of {total} endpoints are canary"
            if agent.rollout.strategy == "blue_green":
                assert canary in (0, total), where
            elif agent.ingress is not None:
                assert canary == 0, where
            else:
                assert abs(canary / total - tenant_out["weight"] / 100) <= 1 / total, where


def _policy(namespace: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "NetworkPolicy", "metadata": {"namespace": namespace, "name": name}, "spec": spec}


def test_the_network_policy_evaluator_needs_egress_and_ingress_for_a_pod_to_pod_call() -> None:
    a = netpol_oracle.Pod("acme-prod", "a", {"agent-id": "a"}, {"http": 8000})
    b = netpol_oracle.Pod("acme-prod", "b", {"agent-id": "b"}, {"http": 8000})
    other = netpol_oracle.Pod("globex-prod", "c", {"agent-id": "c"}, {"http": 8000})
    deny = _policy("acme-prod", "deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})
    ingress = _policy(
        "acme-prod",
        "in",
        {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [{"podSelector": {}}]}]},
    )
    cluster = netpol_oracle.Cluster([deny, ingress])
    assert not cluster.allowed(a, b, 8000), "ingress-only: the caller's egress is still denied"
    egress = _policy(
        "acme-prod",
        "out",
        {"podSelector": {}, "egress": [{"to": [{"podSelector": {}}], "ports": [{"port": "http"}]}]},
    )
    cluster = netpol_oracle.Cluster([deny, ingress, egress])
    assert cluster.allowed(a, b, 8000)
    assert not cluster.allowed(a, b, 9000), "the named port is 8000"
    assert not cluster.allowed(a, other, 8000), "a bare podSelector stays in the policy's namespace"
    assert not cluster.allowed(a, "169.254.169.254", 80)
    assert netpol_oracle.Cluster([]).allowed(a, "169.254.169.254", 80), "no policy: nothing is isolated"


def _agent_pods(cluster: netpol_oracle.Cluster, namespace: str) -> list[netpol_oracle.Pod]:
    return [p for p in cluster.pods if p.namespace == namespace and "track" in p.labels]


@pytest.mark.parametrize("stack", STACKS)
def test_agents_of_one_tenant_reach_each_other_and_no_other_tenant(rendered: Rendered, stack: str) -> None:
    settings = stack_settings(stack)
    cluster = netpol_oracle.Cluster(load_manifests(rendered(stack)).values())
    namespaces = [t.namespace(settings.environment) for t in settings.tenants]
    pods = {ns: _agent_pods(cluster, ns) for ns in namespaces}
    assert any(len({p.labels["agent-id"] for p in found}) > 1 for found in pods.values()), "no two agents share"
    for namespace, found in pods.items():
        for source in found:
            for target in found:
                assert cluster.allowed(source, target, HTTP_PORT), f"{namespace}: {source.name} -> {target.name}"
            for other_namespace, others in pods.items():
                for target in others if other_namespace != namespace else []:
                    assert not cluster.allowed(source, target, HTTP_PORT), f"{source.name} -> {other_namespace}"


def test_the_acl_evaluator_lets_the_old_access_string_scan_every_tenant_and_flush_scripts() -> None:
    old = redis_acl_oracle.parse("on ~acme:* &acme:* +@all -@dangerous")
    assert {"scan", "randomkey", "dbsize", "script|flush", "function|flush", "pubsub|channels"} <= {
        command for command in redis_acl_oracle.GLOBAL if old.allows(command)
    }
    assert not old.allows("flushall") and not old.allows("keys")
    assert not redis_acl_oracle.parse("off ~acme:* +@all").allows("get")


@pytest.mark.parametrize("stack", STACKS)
def test_each_tenants_redis_user_is_confined_to_its_key_prefix(rendered: Rendered, stack: str) -> None:
    users = [r for r in load_resources(rendered(stack)) if r["type"] == "aws:elasticache/user:User"]
    tenant_users = [u for u in users if u["inputs"]["userName"] != "default"]
    assert len(tenant_users) == len(stack_settings(stack).tenants)
    for user in tenant_users:
        tenant = user["inputs"]["tags"]["tenant-id"]
        access = redis_acl_oracle.parse(user["inputs"]["accessString"])
        assert access.key_patterns == (f"{tenant}:*",) and access.channel_patterns == (f"{tenant}:*",)
        assert sorted(c for c in redis_acl_oracle.GLOBAL if access.allows(c)) == [], user["inputs"]["userName"]
        assert all(access.allows(c) for c in redis_acl_oracle.TENANT_COMMANDS), user["inputs"]["userName"]
    for user in users:
        if user["inputs"]["userName"] == "default":
            assert not any(redis_acl_oracle.parse(user["inputs"]["accessString"]).allows(c) for c in CATEGORIES)


PLAIN_HTTP = {"aws:SecureTransport": "false"}
TLS = {"aws:SecureTransport": "true"}


def test_the_deny_evaluator_reads_the_secure_transport_condition() -> None:
    policy = json.dumps(
        {
            "Statement": [
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ]
        }
    )
    assert iam_oracle.explicitly_denied(policy, "s3:GetObject", "arn:aws:s3:::b/k", PLAIN_HTTP)
    assert not iam_oracle.explicitly_denied(policy, "s3:GetObject", "arn:aws:s3:::b/k", TLS)
    assert not iam_oracle.explicitly_denied(policy, "s3:GetObject", "arn:aws:s3:::other/k", PLAIN_HTTP)


@pytest.mark.parametrize("stack", STACKS)
def test_every_bucket_refuses_requests_without_tls(rendered: Rendered, stack: str) -> None:
    resources = load_resources(rendered(stack))
    buckets = [r["inputs"]["bucket"] for r in resources if r["type"] == "aws:s3/bucket:Bucket"]
    policies = [r["inputs"]["policy"] for r in resources if r["type"] == "aws:s3/bucketPolicy:BucketPolicy"]
    assert buckets
    for bucket in buckets:
        arn = f"arn:aws:s3:::{bucket}"
        for action, resource in (("s3:GetObject", f"{arn}/k"), ("s3:PutObject", f"{arn}/k"), ("s3:ListBucket", arn)):
            assert any(iam_oracle.explicitly_denied(p, action, resource, PLAIN_HTTP) for p in policies), (
                f"{bucket}: {action} over plain HTTP"
            )
            assert not any(iam_oracle.explicitly_denied(p, action, resource, TLS) for p in policies), bucket


@pytest.mark.parametrize("stack", STACKS)
def test_the_database_bootstrap_namespace_reaches_its_databases_and_never_the_metadata_endpoint(
    rendered: Rendered, stack: str
) -> None:
    settings = stack_settings(stack)
    cluster = netpol_oracle.Cluster(load_manifests(rendered(stack)).values())
    jobs = [p for p in cluster.pods if p.namespace == settings.data.bootstrap_namespace]
    assert jobs
    kube_dns = netpol_oracle.Pod("kube-system", "coredns", {"k8s-app": "kube-dns"}, {"dns": 53})
    databases = [*settings.cluster.data_subnet_cidrs]
    if settings.data.eu_network is not None and any(t.data_residency == "eu" for t in settings.tenants):
        databases += settings.data.eu_network.subnet_cidrs
    for job in jobs:
        assert not cluster.allowed(job, "169.254.169.254", 80), f"{job.name} reaches the instance metadata endpoint"
        assert not cluster.allowed(job, "169.254.169.254", 443)
        assert cluster.allowed(job, kube_dns, 53, "UDP")
        assert cluster.allowed(job, "52.94.236.248", 443), "Secrets Manager, STS and the RDS CA over public HTTPS"
        assert not cluster.allowed(job, "52.94.236.248", 80)
        for cidr in databases:
            address = str(next(ipaddress.ip_network(cidr).hosts()))
            assert cluster.allowed(job, address, 5432), f"{job.name} -> {address}:5432"
            assert not cluster.allowed(job, address, 6379)


def test_the_scrape_model_renames_a_pushed_label_that_clashes_with_a_target_label() -> None:
    endpoint = {"port": "http", "relabelings": [{"targetLabel": "tenant_id", "replacement": "acme"}]}
    target = scrape_oracle.target_labels("acme-prod", "pushgateway", endpoint)
    forged = {"tenant_id": "globex", "agent_id": "bot", "job": "synthetic-session"}
    assert scrape_oracle.stored(forged, target, honor_labels=True)["tenant_id"] == "globex"
    kept = scrape_oracle.stored(forged, target, honor_labels=False)
    assert (kept["tenant_id"], kept["exported_tenant_id"], kept["agent_id"]) == ("acme", "globex", "bot")


def _pushgateways(rendered: Rendered, stack: str) -> list[tuple[netpol_oracle.Pod, dict[str, Any], bool]]:
    """(pod, target labels, honor_labels) of every Pushgateway: the tenants' and the shared add-on's."""
    manifests = list(load_manifests(rendered(stack)).values())
    found = []
    for monitor in (m for m in manifests if m["kind"] == "ServiceMonitor" and m["metadata"]["name"] == "pushgateway"):
        namespace, endpoint = monitor["metadata"]["namespace"], monitor["spec"]["endpoints"][0]
        pod = netpol_oracle.Pod(namespace, "pushgateway", dict(monitor["spec"]["selector"]["matchLabels"]))
        found.append(
            (pod, scrape_oracle.target_labels(namespace, "pushgateway", endpoint), endpoint.get("honorLabels", False))
        )
    # The add-on (installed by the stack or beforehand): honor_labels as its values say, else as the
    # Pushgateway's README requires (true).
    settings = stack_settings(stack)
    honor = True
    for release in load_resources(rendered(stack)):
        if release["type"] == "kubernetes:helm.sh/v3:Release" and release["inputs"]["chart"] == PUSHGATEWAY_CHART:
            monitors = pushgateway_monitors(release["inputs"]["name"], release["inputs"].get("values") or {})
            honor = all(m.honor_labels for m in monitors) if monitors else True
    shared_ns = settings.cluster.monitoring_namespace
    shared = netpol_oracle.Pod(shared_ns, "shared", {"app.kubernetes.io/name": PUSHGATEWAY_CHART})
    found.append((shared, scrape_oracle.target_labels(shared_ns, PUSHGATEWAY_CHART, {"port": "http"}), honor))
    return found


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_a_tenants_pushes_are_stored_as_that_tenants_series_only(rendered: Rendered, stack: str) -> None:
    """A probe pod pushes a forged tenant label to every Pushgateway it can reach; Prometheus must store each
    such series under the pusher's own tenant."""
    settings = stack_settings(stack)
    cluster = netpol_oracle.Cluster(load_manifests(rendered(stack)).values())
    tenant_label = settings.names.metric_labels.tenant_id
    pushgateways = _pushgateways(rendered, stack)
    probes = [p for p in cluster.pods if PROBE_LABEL in p.labels and p.name.startswith("CronJob/")]
    assert probes
    for probe in probes:
        tenant = probe.labels["tenant-id"]
        reachable = [(pod, target, honor) for pod, target, honor in pushgateways if cluster.allowed(probe, pod, 9091)]
        assert reachable, f"{probe.namespace}/{probe.name} reaches no Pushgateway"
        for pod, target, honor in reachable:
            forged = {tenant_label: "another-tenant", "agent_id": probe.labels[PROBE_LABEL]}
            kept = scrape_oracle.stored(forged, target, honor)
            assert kept[tenant_label] == tenant, f"{probe.namespace}/{probe.name} -> {pod.namespace}: {kept}"
