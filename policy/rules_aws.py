"""AWS rules: data at rest is encrypted, nothing is public, prod data survives a mistaken delete, data ports
are not open to the internet, and every resource says whose it is."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from functools import cache
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

from conventions.labels import TENANT_ID
from policy.resources import environment_of, get, is_unknown, items, kubernetes_kind, metadata, tags_of

RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
REDIS = "aws:elasticache/replicationGroup:ReplicationGroup"
EBS_VOLUME = "aws:ebs/volume:Volume"
STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
BUCKETS = frozenset({"aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"})
BUCKET_ENCRYPTION = frozenset(
    {
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
    }
)
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_ACLS = frozenset({"aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2"})
PUBLIC_ACLS = frozenset({"public-read", "public-read-write", "authenticated-read"})
PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
EBS_PROVISIONERS = frozenset({"ebs.csi.aws.com", "kubernetes.io/aws-ebs"})
STATEFUL = frozenset({RDS_INSTANCE, RDS_CLUSTER, REDIS, EBS_VOLUME, *BUCKETS})
"""Resources whose deletion loses data: Pulumi's `protect` is their deletion protection in prod."""

DATA_PORTS = {
    1433: "SQL Server",
    1521: "Oracle",
    2049: "NFS/EFS",
    3306: "MySQL",
    5432: "PostgreSQL",
    5439: "Redshift",
    6379: "Redis",
    9042: "Cassandra",
    9200: "OpenSearch",
    11211: "Memcached",
    27017: "MongoDB",
}
OPEN_CIDRS = frozenset({"0.0.0.0/0", "::/0"})
ALL_PROTOCOLS = frozenset({"-1", "all"})
REQUIRED_TAGS = ("environment", "managed-by")
TENANT_TAG = TENANT_ID
TENANT_LABEL = TENANT_ID


def _is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def storage_encryption(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    t, props = args.resource_type, args.props
    if t in (RDS_INSTANCE, RDS_CLUSTER):
        # A read replica inherits its source's encryption and may not set it.
        if not _is_true(get(props, "storageEncrypted")) and not get(props, "replicateSourceDb"):
            report_violation(
                f"{t} '{args.name}' is not encrypted at rest. Set storageEncrypted: true with the "
                "stack's KMS key (kmsKeyId); an existing instance is re-created from an encrypted "
                "snapshot copy.",
                args.urn,
            )
    elif t == REDIS:
        if not _is_true(get(props, "atRestEncryptionEnabled")):
            report_violation(
                f"ElastiCache replication group '{args.name}' is not encrypted at rest. Set "
                "atRestEncryptionEnabled: true and kmsKeyId (forces a new group).",
                args.urn,
            )
    elif t == EBS_VOLUME:
        if not _is_true(get(props, "encrypted")):
            report_violation(f"EBS volume '{args.name}' is not encrypted. Set encrypted: true and kmsKeyId.", args.urn)
    elif t == STORAGE_CLASS and get(props, "provisioner") in EBS_PROVISIONERS:
        value = get(props, "parameters", "encrypted")
        if value != "true":
            report_violation(
                f"StorageClass '{get(metadata(props), 'name')}' provisions unencrypted EBS volumes "
                f'(parameters.encrypted is {value!r}). Set parameters.encrypted: "true" and '
                "parameters.kmsKeyId; claims must use the shared encrypted class.",
                args.urn,
            )


def _depends_on(resource: PolicyResource, target: PolicyResource) -> bool:
    if any(dep.urn == target.urn for dep in resource.dependencies):
        return True
    bucket = get(resource.props, "bucket")
    return isinstance(bucket, str) and not is_unknown(bucket) and bucket == get(target.props, "bucket")


def _attached(resources: list[PolicyResource], types: frozenset[str], bucket: PolicyResource) -> list[PolicyResource]:
    return [r for r in resources if r.resource_type in types and _depends_on(r, bucket)]


def s3_bucket_encryption(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    for bucket in args.resources:
        if bucket.resource_type not in BUCKETS:
            continue
        inline = items(get(bucket.props, "serverSideEncryptionConfiguration", "rules")) or items(
            get(bucket.props, "serverSideEncryptionConfigurations")
        )
        configs = _attached(args.resources, BUCKET_ENCRYPTION, bucket)
        rules = [*inline, *(rule for config in configs for rule in items(get(config.props, "rules")))]
        algorithms = {get(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm") for rule in rules}
        if not algorithms - {None}:
            report_violation(
                f"S3 bucket '{bucket.name}' has no server-side encryption configuration. Add a "
                "BucketServerSideEncryptionConfiguration with sseAlgorithm aws:kms and the stack's "
                "KMS key (ReplicatedBucket does).",
                bucket.urn,
            )


def s3_no_public_access(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    for bucket in args.resources:
        if bucket.resource_type not in BUCKETS:
            continue
        problems = []
        acls = [get(bucket.props, "acl")]
        acls += [get(acl.props, "acl") for acl in _attached(args.resources, BUCKET_ACLS, bucket)]
        problems += [f"canned ACL {acl!r}" for acl in acls if acl in PUBLIC_ACLS]
        blocks = _attached(args.resources, frozenset({PUBLIC_ACCESS_BLOCK}), bucket)
        if not blocks:
            problems.append("no BucketPublicAccessBlock")
        for block in blocks:
            off = [flag for flag in PUBLIC_ACCESS_FLAGS if not _is_true(get(block.props, flag))]
            problems += [f"{block.name} leaves {', '.join(off)} off"] if off else []
        if problems:
            report_violation(
                f"S3 bucket '{bucket.name}' may be public: {'; '.join(problems)}. Attach a "
                f"BucketPublicAccessBlock with {', '.join(PUBLIC_ACCESS_FLAGS)} all true and use "
                "private ACLs; share data through IAM roles.",
                bucket.urn,
            )


def prod_data_protection(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    t, props = args.resource_type, args.props
    if t not in STATEFUL or environment_of(args.urn, props) != "prod":
        return
    problems = []
    if not args.opts.protect:
        problems.append("the Pulumi `protect` option is off")
    if t in (RDS_INSTANCE, RDS_CLUSTER):
        if not _is_true(get(props, "deletionProtection")):
            problems.append("deletionProtection is not true")
        if _is_true(get(props, "skipFinalSnapshot")):
            problems.append("skipFinalSnapshot is true")
        retention = get(props, "backupRetentionPeriod", default=0)
        if not get(props, "replicateSourceDb") and not is_unknown(retention) and int(retention) < 1:
            problems.append(f"automated backups are off (backupRetentionPeriod {retention})")
    if t == REDIS:
        retention = get(props, "snapshotRetentionLimit", default=0)
        if not is_unknown(retention) and int(retention) < 1:
            problems.append(f"snapshots are off (snapshotRetentionLimit {retention})")
    if problems:
        report_violation(
            f"{t} '{args.name}' in prod: {'; '.join(problems)}. Prod data stores keep deletion "
            "protection, backups and a final snapshot (settings data.protect, "
            "data.postgres.deletion_protection/backup_retention_days, data.redis."
            "snapshot_retention_days).",
            args.urn,
        )


def _open_sources(rule: Mapping[str, Any]) -> list[str]:
    sources = [*items(get(rule, "cidrBlocks")), *items(get(rule, "ipv6CidrBlocks"))]
    sources += [get(rule, "cidrIpv4"), get(rule, "cidrIpv6")]
    return [s for s in sources if s in OPEN_CIDRS]


def _exposed_ports(rule: Mapping[str, Any]) -> list[int]:
    protocol = str(get(rule, "ipProtocol", default=get(rule, "protocol", default="tcp"))).lower()
    if protocol in ALL_PROTOCOLS:
        return sorted(DATA_PORTS)
    if protocol not in ("tcp", "6"):
        return []
    low, high = get(rule, "fromPort", default=0), get(rule, "toPort", default=65535)
    if is_unknown(low) or is_unknown(high):
        return []
    if int(low) < 0:  # -1 means every port
        low, high = 0, 65535
    return [port for port in sorted(DATA_PORTS) if int(low) <= port <= int(high)]


def no_open_data_ports(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    t, props = args.resource_type, args.props
    if t == "aws:ec2/securityGroup:SecurityGroup":
        rules = items(get(props, "ingress"))
    elif t == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule" or (
        t == "aws:ec2/securityGroupRule:SecurityGroupRule" and get(props, "type") == "ingress"
    ):
        rules = [props]
    else:
        return
    for rule in rules:
        sources, ports = _open_sources(rule), _exposed_ports(rule)
        if sources and ports:
            named = ", ".join(f"{port} ({DATA_PORTS[port]})" for port in ports)
            report_violation(
                f"{t} '{args.name}' admits {' and '.join(sources)} on data port(s) {named}. Admit "
                "only the cluster's node security group or the VPC's data subnets.",
                args.urn,
            )


@cache
def is_taggable(resource_type: str) -> bool:
    """Whether the AWS provider accepts `tags` on this type, read from the provider SDK's own signature."""
    try:
        module, name = resource_type.split(":")[1].split("/")[0], resource_type.rsplit(":", 1)[-1]
        cls = getattr(importlib.import_module(f"pulumi_aws.{module}"), name)
        return "tags" in inspect.signature(cls._internal_init).parameters
    except (ImportError, AttributeError, IndexError, ValueError):
        return True  # an unknown type is held to the rule; a false alarm is cheaper than an untagged resource


def _tenant_of(resource: PolicyResource, tenants: set[str]) -> str | None:
    """The tenant a resource belongs to: its own or an ancestor component's name is the tenant id or starts
    with `<tenant-id>-` (TenantNamespace, WorkloadIdentity and the tenant's data wiring are named so)."""
    node: PolicyResource | None = resource
    while node is not None:
        for tenant in tenants:
            if node.name == tenant or node.name.startswith(f"{tenant}-"):
                return tenant
        node = node.parent
    return None


def required_tags(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    tenants = {
        str(get(metadata(r.props), "labels", TENANT_LABEL))
        for r in args.resources
        if kubernetes_kind(r.resource_type) == "Namespace" and get(metadata(r.props), "labels", TENANT_LABEL)
    }
    for resource in args.resources:
        t = resource.resource_type
        if not t.startswith("aws:") or not is_taggable(t):
            continue
        tags = tags_of(resource.props) or {}
        problems = [f"no '{key}' tag" for key in REQUIRED_TAGS if not get(tags, key)]
        tenant = _tenant_of(resource, tenants)
        tagged = get(tags, TENANT_TAG)
        if tenant and tagged != tenant:
            problems.append(f"'{TENANT_TAG}' is {tagged!r}, the resource belongs to tenant '{tenant}'")
        elif tagged and tenants and not is_unknown(tagged) and tagged not in tenants:
            problems.append(f"'{TENANT_TAG}' {tagged!r} is not a tenant of this stack")
        if problems:
            report_violation(
                f"{t} '{resource.name}': {'; '.join(problems)}. Build tags with conventions.tags.tags("
                "environment, tenant_id) so every resource carries environment, managed-by and, "
                "when it serves one tenant, tenant-id.",
                resource.urn,
            )
