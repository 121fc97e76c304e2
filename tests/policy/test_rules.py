"""Each rule of the pack, through the pack's own validate functions: a compliant resource passes, a violating
one fails with its message under the rule's name."""

from __future__ import annotations

import copy
import datetime as dt
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from conventions.resource_types import ROLLOUT_STATE_TYPE
from planning.rollout import max_exposed
from policy import exceptions, stack_settings
from policy.offline import Violation, run_rules
from policy.pack import RULES
from settings.loader import settings_from_config
from tests.policy.records import deployment, record, slo_rule, urn

ROOT = Path(__file__).resolve().parents[2]
RULE_BY_NAME = {rule.name: rule for rule in RULES}
Records = list[dict[str, Any]]


def violations(rule: str, records: Records) -> list[Violation]:
    return run_rules(records, (RULE_BY_NAME[rule],))


def wrapped(kind: str, template_spec: dict[str, Any]) -> dict[str, Any]:
    """A CronJob or Pod around the pod spec of the compliant Deployment."""
    base = deployment()
    template = base["inputs"]["spec"]["template"]
    template["spec"] = template_spec
    if kind == "CronJob":
        spec = {"schedule": "0 * * * *", "jobTemplate": {"spec": {"template": template}}}
        return record(
            "kubernetes:batch/v1:CronJob", "cron", {"kind": "CronJob", "metadata": {"name": "c"}, "spec": spec}
        )
    inputs = {"kind": "Pod", "metadata": {"name": "p", **template["metadata"]}, "spec": template["spec"]}
    return record("kubernetes:core/v1:Pod", "pod", inputs)


def insecure_spec() -> dict[str, Any]:
    spec = copy.deepcopy(deployment()["inputs"]["spec"]["template"]["spec"])
    spec["containers"][0]["securityContext"] = {"privileged": True}
    return spec


def namespace_set(*, quota: bool = True, limits: bool = True, deny: tuple[str, ...] = ("Ingress", "Egress")) -> Records:
    ns = "acme-prod"
    found = [
        record(
            "kubernetes:core/v1:Namespace",
            "acme-ns",
            {"kind": "Namespace", "metadata": {"name": ns, "labels": {"tenant-id": "acme"}}},
        ),
        record(
            "kubernetes:networking.k8s.io/v1:NetworkPolicy",
            "acme-netpol-default-deny",
            {
                "kind": "NetworkPolicy",
                "metadata": {"name": "default-deny-all", "namespace": ns},
                "spec": {"podSelector": {}, "policyTypes": list(deny)},
            },
        ),
    ]
    if quota:
        found.append(record("kubernetes:core/v1:ResourceQuota", "acme-quota", {"metadata": {"namespace": ns}}))
    if limits:
        found.append(record("kubernetes:core/v1:LimitRange", "acme-limits", {"metadata": {"namespace": ns}}))
    return found


def rds(stack: str = "prod", protect: bool = True, **overrides: Any) -> dict[str, Any]:
    inputs = {
        "storageEncrypted": True,
        "deletionProtection": True,
        "backupRetentionPeriod": 30,
        "skipFinalSnapshot": False,
        "tags": {"environment": stack, "managed-by": "pulumi/agent-platform"},
        **overrides,
    }
    return record("aws:rds/instance:Instance", "db", inputs, stack=stack, protect=protect)


def redis(**overrides: Any) -> dict[str, Any]:
    inputs = {"atRestEncryptionEnabled": True, "snapshotRetentionLimit": 7, "tags": {"environment": "prod"}}
    return record("aws:elasticache/replicationGroup:ReplicationGroup", "cache", {**inputs, **overrides}, protect=True)


def storage_class(encrypted: str, provisioner: str = "ebs.csi.aws.com") -> dict[str, Any]:
    inputs = {"metadata": {"name": "gp3"}, "provisioner": provisioner, "parameters": {"encrypted": encrypted}}
    return record("kubernetes:storage.k8s.io/v1:StorageClass", "sc", inputs)


BUCKET = record("aws:s3/bucket:Bucket", "data", {"bucket": "data-bucket", "tags": {}}, protect=True)


def bucket_with(*, encryption: bool = True, block: dict[str, bool] | None = None, acl: str | None = None) -> Records:
    found = [BUCKET]
    if encryption:
        rules = [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]
        found.append(
            record(
                "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                "data-encryption",
                {"bucket": "(known after apply)", "rules": rules},
                dependencies=[BUCKET["urn"]],
            )
        )
    flags = {
        "blockPublicAcls": True,
        "blockPublicPolicy": True,
        "ignorePublicAcls": True,
        "restrictPublicBuckets": True,
    }
    if block is not None:
        found.append(
            record(
                "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
                "data-public-access",
                {"bucket": "data-bucket", **flags, **block},
            )
        )
    if acl:
        found.append(record("aws:s3/bucketAclV2:BucketAclV2", "data-acl", {"bucket": "data-bucket", "acl": acl}))
    return found


def ingress(cidr: str | None, from_port: int, to_port: int, protocol: str = "tcp") -> dict[str, Any]:
    inputs: dict[str, Any] = {"fromPort": from_port, "toPort": to_port, "ipProtocol": protocol}
    inputs |= {"cidrIpv4": cidr} if cidr else {"referencedSecurityGroupId": "sg-0123"}
    return record("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "in", inputs)


def role(name: str, tags: dict[str, str], parent: str | None = None) -> dict[str, Any]:
    return record("aws:iam/role:Role", name, {"assumeRolePolicy": "{}", "tags": tags}, parent=parent)


TAGS = {"environment": "prod", "managed-by": "pulumi/agent-platform"}
TENANT_NS = namespace_set()[:1]
IDENTITY = record("agent-platform:components:WorkloadIdentity", "acme-support-bot-identity", {})


def canaries(*tenants: str) -> Records:
    all_tenants = ["acme", "globex", "litware", "hooli", "stark", "wayne", "duff"]
    found = [deployment(tenant=t) for t in all_tenants]
    return found + [deployment(tenant=t, track="canary", replicas=1) for t in tenants] + [slo_rule("support-bot")]


def with_container(**fields: Any) -> Records:
    return [deployment(container=fields)]


CASES: list[tuple[str, str, Callable[[], Records], str | None]] = [
    # (id, rule, records, expected message fragment or None when compliant)
    ("restricted deployment passes", "pod-security-restricted", lambda: [deployment()], None),
    (
        "privileged container",
        "pod-security-restricted",
        lambda: with_container(
            securityContext={
                **deployment()["inputs"]["spec"]["template"]["spec"]["containers"][0]["securityContext"],
                "privileged": True,
            }
        ),
        "Privileged Containers",
    ),
    ("host network", "pod-security-restricted", lambda: [deployment(pod={"hostNetwork": True})], "Host Namespaces"),
    (
        "hostPath volume",
        "pod-security-restricted",
        lambda: [deployment(pod={"volumes": [{"name": "h", "hostPath": {"path": "/"}}]})],
        "HostPath Volumes",
    ),
    (
        "nfs volume",
        "pod-security-restricted",
        lambda: [deployment(pod={"volumes": [{"name": "n", "nfs": {"server": "x", "path": "/"}}]})],
        "Volume Types",
    ),
    (
        "no runAsNonRoot anywhere",
        "pod-security-restricted",
        lambda: [deployment(pod={"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}})],
        "Running as Non-root",
    ),
    (
        "runAsUser 0",
        "pod-security-restricted",
        lambda: [
            deployment(
                pod={
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 0,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    }
                }
            )
        ],
        "Running as Non-root user",
    ),
    (
        "no seccomp profile",
        "pod-security-restricted",
        lambda: [deployment(pod={"securityContext": {"runAsNonRoot": True}})],
        "Seccomp",
    ),
    (
        "unconfined seccomp",
        "pod-security-restricted",
        lambda: [deployment(pod={"securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "Unconfined"}}})],
        "Seccomp",
    ),
    (
        "privilege escalation allowed",
        "pod-security-restricted",
        lambda: with_container(securityContext={"capabilities": {"drop": ["ALL"]}}),
        "Privilege Escalation",
    ),
    (
        "capabilities not dropped",
        "pod-security-restricted",
        lambda: with_container(securityContext={"allowPrivilegeEscalation": False}),
        "must drop ALL",
    ),
    (
        "SYS_ADMIN added",
        "pod-security-restricted",
        lambda: with_container(
            securityContext={"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN"]}}
        ),
        "adds SYS_ADMIN",
    ),
    (
        "host port",
        "pod-security-restricted",
        lambda: with_container(ports=[{"containerPort": 8000, "hostPort": 8000}]),
        "Host Ports",
    ),
    (
        "unsafe sysctl",
        "pod-security-restricted",
        lambda: [
            deployment(
                pod={
                    "securityContext": {
                        "runAsNonRoot": True,
                        "seccompProfile": {"type": "RuntimeDefault"},
                        "sysctls": [{"name": "kernel.msgmax", "value": "1"}],
                    }
                }
            )
        ],
        "Sysctls",
    ),
    (
        "privileged CronJob",
        "pod-security-restricted",
        lambda: [wrapped("CronJob", insecure_spec())],
        "Privileged Containers",
    ),
    (
        "privileged bare Pod",
        "pod-security-restricted",
        lambda: [wrapped("Pod", insecure_spec())],
        "Privileged Containers",
    ),
    ("version tag passes", "images-pinned", lambda: [deployment()], None),
    ("digest passes", "images-pinned", lambda: with_container(image="repo/agent@sha256:" + "a" * 64), None),
    ("latest tag", "images-pinned", lambda: with_container(image="repo/agent:latest"), "uses the 'latest' tag"),
    ("no tag", "images-pinned", lambda: with_container(image="repo/agent"), "has no tag"),
    ("registry port but no tag", "images-pinned", lambda: with_container(image="registry:5000/agent"), "has no tag"),
    (
        "init container on latest",
        "images-pinned",
        lambda: [deployment(pod={"initContainers": [{"name": "init", "image": "busybox:latest"}]})],
        "init container",
    ),
    ("requests and limits pass", "container-resources", lambda: [deployment()], None),
    (
        "no limits",
        "container-resources",
        lambda: with_container(resources={"requests": {"cpu": "1", "memory": "1Gi"}}),
        "limits.cpu, limits.memory",
    ),
    (
        "no memory request",
        "container-resources",
        lambda: with_container(resources={"requests": {"cpu": "1"}, "limits": {"cpu": "1", "memory": "1Gi"}}),
        "requests.memory",
    ),
    ("agent with probes passes", "agent-probes", lambda: [deployment()], None),
    ("agent without readiness", "agent-probes", lambda: with_container(readinessProbe=None), "readinessProbe"),
    ("non-agent workload needs none", "agent-probes", lambda: [wrapped("CronJob", insecure_spec())], None),
    ("tenant namespace complete", "tenant-namespace-baseline", namespace_set, None),
    ("no ResourceQuota", "tenant-namespace-baseline", lambda: namespace_set(quota=False), "no a ResourceQuota"),
    ("no LimitRange", "tenant-namespace-baseline", lambda: namespace_set(limits=False), "LimitRange"),
    ("deny ingress only", "tenant-namespace-baseline", lambda: namespace_set(deny=("Ingress",)), "default-deny"),
    ("encrypted RDS passes", "storage-encryption", lambda: [rds()], None),
    ("unencrypted RDS", "storage-encryption", lambda: [rds(storageEncrypted=False)], "not encrypted at rest"),
    (
        "unencrypted Aurora cluster",
        "storage-encryption",
        lambda: [record("aws:rds/cluster:Cluster", "aurora", {"engine": "aurora-postgresql"})],
        "not encrypted at rest",
    ),
    ("unencrypted Redis", "storage-encryption", lambda: [redis(atRestEncryptionEnabled=False)], "ElastiCache"),
    (
        "unencrypted EBS volume",
        "storage-encryption",
        lambda: [record("aws:ebs/volume:Volume", "vol", {"size": 10})],
        "EBS volume",
    ),
    ("encrypted StorageClass passes", "storage-encryption", lambda: [storage_class("true")], None),
    ("unencrypted StorageClass", "storage-encryption", lambda: [storage_class("false")], "parameters.encrypted"),
    ("non-EBS StorageClass ignored", "storage-encryption", lambda: [storage_class("false", "efs.csi.aws.com")], None),
    ("bucket with SSE passes", "s3-bucket-encryption", lambda: bucket_with(), None),
    ("bucket without SSE", "s3-bucket-encryption", lambda: bucket_with(encryption=False), "no server-side"),
    ("blocked bucket passes", "s3-no-public-access", lambda: bucket_with(block={}), None),
    ("no public access block", "s3-no-public-access", lambda: bucket_with(), "no BucketPublicAccessBlock"),
    (
        "public policy allowed",
        "s3-no-public-access",
        lambda: bucket_with(block={"blockPublicPolicy": False}),
        "leaves blockPublicPolicy off",
    ),
    ("public-read ACL", "s3-no-public-access", lambda: bucket_with(block={}, acl="public-read"), "public-read"),
    ("protected prod RDS passes", "prod-data-protection", lambda: [rds()], None),
    (
        "prod RDS without deletion protection",
        "prod-data-protection",
        lambda: [rds(deletionProtection=False)],
        "deletionProtection",
    ),
    ("prod RDS without backups", "prod-data-protection", lambda: [rds(backupRetentionPeriod=0)], "backups are off"),
    ("prod RDS not protected", "prod-data-protection", lambda: [rds(protect=False)], "`protect`"),
    (
        "dev RDS may be deleted",
        "prod-data-protection",
        lambda: [rds("dev", protect=False, deletionProtection=False, backupRetentionPeriod=0)],
        None,
    ),
    ("prod Redis without snapshots", "prod-data-protection", lambda: [redis(snapshotRetentionLimit=0)], "snapshots"),
    ("SG-referenced ingress passes", "no-open-data-ports", lambda: [ingress(None, 5432, 5432)], None),
    ("open HTTPS is not a data port", "no-open-data-ports", lambda: [ingress("0.0.0.0/0", 443, 443)], None),
    (
        "PostgreSQL open to the internet",
        "no-open-data-ports",
        lambda: [ingress("0.0.0.0/0", 5432, 5432)],
        "5432 (PostgreSQL)",
    ),
    ("all ports open over IPv6", "no-open-data-ports", lambda: [ingress("::/0", -1, -1, "-1")], "6379 (Redis)"),
    (
        "inline SG ingress range",
        "no-open-data-ports",
        lambda: [
            record(
                "aws:ec2/securityGroup:SecurityGroup",
                "sg",
                {"ingress": [{"protocol": "tcp", "fromPort": 6000, "toPort": 7000, "cidrBlocks": ["0.0.0.0/0"]}]},
            )
        ],
        "6379 (Redis)",
    ),
    ("tagged role passes", "required-tags", lambda: [role("r", TAGS)], None),
    ("role without managed-by", "required-tags", lambda: [role("r", {"environment": "prod"})], "no 'managed-by'"),
    (
        "tenant role without tenant-id",
        "required-tags",
        lambda: [*TENANT_NS, IDENTITY, role("acme-support-bot-identity-role", TAGS, parent=IDENTITY["urn"])],
        "belongs to tenant 'acme'",
    ),
    (
        "tenant role with tenant-id passes",
        "required-tags",
        lambda: [
            *TENANT_NS,
            IDENTITY,
            role("acme-support-bot-identity-role", {**TAGS, "tenant-id": "acme"}, parent=IDENTITY["urn"]),
        ],
        None,
    ),
    (
        "unknown tenant-id",
        "required-tags",
        lambda: [*TENANT_NS, role("r", {**TAGS, "tenant-id": "nobody"})],
        "not a tenant of this stack",
    ),
    (
        "untaggable type needs none",
        "required-tags",
        lambda: [record("aws:iam/rolePolicy:RolePolicy", "p", {"policy": "{}"})],
        None,
    ),
    ("canary in one of seven tenants", "canary-tenant-exposure", lambda: canaries("acme"), None),
    (
        "canary in two of seven tenants",
        "canary-tenant-exposure",
        lambda: canaries("acme", "globex"),
        "at most 1 (5%, at least one)",
    ),
    (
        "scaled-to-zero canary does not count",
        "canary-tenant-exposure",
        lambda: [*canaries("acme"), deployment(tenant="globex", track="canary", replicas=0)],
        None,
    ),
    (
        "canary outside prod is not limited",
        "canary-tenant-exposure",
        lambda: [deployment(tenant=t, track="canary", stack="staging") for t in ("acme", "globex")],
        None,
    ),
    ("agent with SLO alerts passes", "agent-slo", lambda: [deployment(), slo_rule("support-bot")], None),
    ("agent without SLO", "agent-slo", lambda: [deployment(), slo_rule("invoice-extractor")], "without an SLO"),
    (
        "SLO without alerts",
        "agent-slo",
        lambda: [deployment(), slo_rule("support-bot", alerts=False)],
        "without an SLO",
    ),
    ("no SLO needed outside prod", "agent-slo", lambda: [deployment(stack="dev")], None),
    ("declared agent rolls back", "agent-rollback-policy", lambda: [deployment()], None),
    ("undeclared agent", "agent-rollback-policy", lambda: [deployment(agent="ghost-bot")], "not in the stack's agents"),
    ("declared agent has owner and on-call", "agent-oncall-owner", lambda: [deployment()], None),
    (
        "undeclared agent has no owner",
        "agent-oncall-owner",
        lambda: [deployment(agent="ghost-bot")],
        "without owner and oncall_receiver",
    ),
]


@pytest.mark.parametrize(("rule", "make", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule(rule: str, make: Callable[[], Records], expected: str | None) -> None:
    found = violations(rule, make())
    if expected is None:
        assert found == []
    else:
        assert found, f"{rule} reported nothing"
        assert {v.rule for v in found} == {rule}
        assert any(expected in v.message for v in found), [v.message for v in found]


def test_every_rule_has_a_passing_and_a_failing_case() -> None:
    passing = {c[1] for c in CASES if c[3] is None}
    failing = {c[1] for c in CASES if c[3] is not None}
    assert passing == failing == set(RULE_BY_NAME)


def prod_settings_with(rollout: dict[str, Any]) -> Any:
    config = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())["config"]
    config["agent-platform:agents"][0]["rollout"] = rollout
    return settings_from_config("prod", config)


@pytest.fixture
def prod_rollout(monkeypatch: pytest.MonkeyPatch) -> Callable[[dict[str, Any]], None]:
    """Swap support-bot's `rollout` in the prod settings the rollout rules read."""

    def apply(rollout: dict[str, Any]) -> None:
        settings = prod_settings_with(rollout)
        monkeypatch.setattr(stack_settings, "load", lambda stack: settings)

    return apply


def test_canary_may_widen_once_its_gated_stages_completed(prod_rollout: Callable[[dict[str, Any]], None]) -> None:
    last = len(prod_settings_with({}).canary.weights) - 1
    prod_rollout({"stage": last, "canary": {"version": "1.5.0"}})
    assert violations("canary-tenant-exposure", canaries("acme", "globex", "litware")) == []


def release_state(tenant: str, wave: int, after: dict[str, Any] | None) -> dict[str, Any]:
    inputs = {"agent_id": "support-bot", "tenant_id": tenant, "canary_version": "1.5.0", "wave": wave, "after": after}
    return record(ROLLOUT_STATE_TYPE, f"{tenant}-support-bot-release", inputs)


def test_an_automatic_release_may_run_its_later_waves_canaries_held_by_their_release_state() -> None:
    """A later wave's canary serves nothing until its previous wave promoted (planning.release.wave_gate)."""
    cohort = {"acme": {"version": "1.5.0", "phase": "progressing"}}
    waves = [release_state("acme", 0, None), *(release_state(t, 1, cohort) for t in ("globex", "litware"))]
    assert violations("canary-tenant-exposure", [*canaries("acme", "globex", "litware"), *waves]) == []
    # A second tenant in the first wave (no previous wave to wait for) is still over the cap.
    first = [release_state("acme", 0, None), release_state("globex", 0, None)]
    assert violations("canary-tenant-exposure", [*canaries("acme", "globex"), *first])
    unwired = [release_state("acme", 0, None), release_state("globex", 1, None)]
    assert violations("canary-tenant-exposure", [*canaries("acme", "globex"), *unwired])


def test_rolled_back_canary_counts_as_incomplete(prod_rollout: Callable[[dict[str, Any]], None]) -> None:
    prod_rollout({"stage": 3, "rollback": True, "canary": {"version": "1.5.0"}})
    assert violations("canary-tenant-exposure", canaries("acme", "globex"))


def test_block_policy_is_not_a_rollback_policy_in_prod(prod_rollout: Callable[[dict[str, Any]], None]) -> None:
    prod_rollout({"policy": "block"})
    (found,) = violations("agent-rollback-policy", [deployment()])
    assert "policy 'block'" in found.message


@pytest.mark.parametrize(
    ("tenants", "pct", "limit"),
    [(1, 5, 1), (7, 5, 1), (20, 5, 1), (40, 5, 2), (100, 5, 5), (10, 50, 5)],
    ids=lambda v: str(v),
)
def test_exposure_limit_is_the_share_rounded_down_but_at_least_one(tenants: int, pct: float, limit: int) -> None:
    assert max_exposed(tenants, pct) == limit


def exception(expires: dt.date) -> exceptions.RuleException:
    return exceptions.RuleException("images-pinned", "*::acme-*-stable", "vendor image", "team-support", expires)


@pytest.mark.parametrize(
    ("expires", "excepted"),
    [(dt.date.today() + dt.timedelta(days=30), True), (dt.date.today() - dt.timedelta(days=1), False)],
    ids=["unexpired exception covers", "expired exception does not"],
)
def test_recorded_exception(monkeypatch: pytest.MonkeyPatch, expires: dt.date, excepted: bool) -> None:
    monkeypatch.setattr(exceptions, "load", lambda: (exception(expires),))
    (found,) = violations("images-pinned", with_container(image="repo/agent:latest"))
    assert found.urn == urn("kubernetes:apps/v1:Deployment", "acme-support-bot-stable")
    assert (found.excepted_by == "vendor image") is excepted
    assert found.mandatory is not excepted


@pytest.mark.parametrize(
    "document",
    [{"exceptions": [{"rule": "images-pinned", "resource": "*"}]}, {"exceptions": {"rule": "x"}}],
    ids=["entry without reason, owner or expiry", "not a list"],
)
def test_malformed_exceptions_file_is_an_error(document: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="exceptions"):
        exceptions.parse(document)


def test_the_repository_exceptions_file_parses() -> None:
    assert all(e.reason and e.owner for e in exceptions.load())


def test_crossguard_entry_point_serves_the_pack_from_its_folder() -> None:
    """Pulumi runs `policy/__main__.py` from the pack's folder; it must import the rules and start serving."""
    process = subprocess.Popen(
        [sys.executable, "__main__.py"], cwd=ROOT / "policy", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        port = process.stdout.readline().strip()
        assert port.isdigit(), process.stderr.read() if process.poll() is not None else port
    finally:
        process.kill()
        process.wait()
