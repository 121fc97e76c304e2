"""Backups and buckets of the rendered stacks: every bucket logs its requests where S3 can deliver them, the DR
copy of the cluster backups is under Object Lock, enabled without replacing a bucket (rules in s3_oracle), and
Velero deletes only its own volume snapshots."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stacks import data_guard
from stacks.data_guard import Deployment
from tests.conftest import STACKS, load_resources
from tests.stacks import iam_oracle, s3_oracle
from tests.stacks.conftest import stack_settings

Rendered = Callable[[str], Path]
BUCKET = "aws:s3/bucket:Bucket"
LOGGING = "aws:s3/bucketLogging:BucketLogging"
LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
POLICY = "aws:s3/bucketPolicy:BucketPolicy"
ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
PROVIDER = "pulumi:providers:aws"


class Buckets:
    """The render's buckets by name, and what is attached to each (the offline engine's id is `<name>-id`)."""

    def __init__(self, resources: list[dict[str, Any]]) -> None:
        regions = {r["urn"]: r["inputs"]["region"] for r in resources if r["type"] == PROVIDER}
        self.by_id = {f"{r['name']}-id": r for r in resources if r["type"] == BUCKET}
        self.region = {r["inputs"]["bucket"]: regions[r["provider"]] for r in self.by_id.values()}
        self.attached: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for r in resources:
            bucket = self.by_id.get(str(r.get("inputs", {}).get("bucket")))
            if bucket is not None and r["type"] != BUCKET:
                self.attached.setdefault(bucket["inputs"]["bucket"], {}).setdefault(r["type"], []).append(r)

    def name(self, bucket_id: str) -> str:
        return str(self.by_id[bucket_id]["inputs"]["bucket"])

    def of(self, bucket: str, type_: str) -> list[dict[str, Any]]:
        return self.attached.get(bucket, {}).get(type_, [])


def _buckets(rendered: Rendered, stack: str) -> Buckets:
    return Buckets(load_resources(rendered(stack)))


def test_the_delivery_rules_refuse_kms_a_lock_another_region_and_an_unbound_grant() -> None:
    bound = json.dumps(
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "logging.s3.amazonaws.com"},
                    "Action": "s3:PutObject",
                    "Resource": "arn:aws:s3:::logs/*",
                    "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:s3:::data"}},
                }
            ]
        }
    )
    assert s3_oracle.log_delivery_problems("data", "r1", "logs", "r1", {"AES256"}, False, [bound], "data/") == []
    unbound = bound.replace(', "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:s3:::data"}}', "")
    problems = s3_oracle.log_delivery_problems("data", "r1", "logs", "r2", {"aws:kms"}, True, [unbound], "data/")
    assert problems == [
        "data (r1) logs to logs in r2",
        "logs has Object Lock: S3 delivers no access logs into it",
        "logs default encryption ['aws:kms']: log delivery needs SSE-S3 (AES256)",
        "logs: the logging service may write any bucket's logs (no aws:SourceArn)",
    ]
    assert s3_oracle.log_delivery_problems("data", "r1", "data", "r1", {"AES256"}, False, [bound], "data/")[0] == (
        "data logs into itself: every log write is logged again"
    )
    assert s3_oracle.log_delivery_problems("data", "r1", "logs", "r1", {"AES256"}, False, [], "data/") == [
        "logs: no policy lets logging.s3.amazonaws.com put data's logs"
    ]


@pytest.mark.parametrize("stack", STACKS)
def test_every_data_bucket_logs_its_requests_where_s3_can_deliver_them(rendered: Rendered, stack: str) -> None:
    buckets = _buckets(rendered, stack)
    targets = {buckets.name(lg["inputs"]["targetBucket"]) for b in buckets.region for lg in buckets.of(b, LOGGING)}
    sources = [b for b in buckets.region if b not in targets]
    assert sources and targets
    problems = []
    for source in sources:
        logging = buckets.of(source, LOGGING)
        assert len(logging) == 1, f"{source} has no server access logging"
        target, prefix = buckets.name(logging[0]["inputs"]["targetBucket"]), logging[0]["inputs"]["targetPrefix"]
        problems += s3_oracle.log_delivery_problems(
            source,
            buckets.region[source],
            target,
            buckets.region[target],
            {
                rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"]
                for e in buckets.of(target, ENCRYPTION)
                for rule in e["inputs"]["rules"]
            },
            bool(buckets.of(target, LOCK)),
            [p["inputs"]["policy"] for p in buckets.of(target, POLICY)],
            prefix,
        )
    assert problems == []


@pytest.mark.parametrize("stack", STACKS)
def test_the_dr_copy_of_the_backups_is_locked_at_least_until_it_may_expire(rendered: Rendered, stack: str) -> None:
    """Locked where only S3 replication writes (no client PUT needs Content-MD5), versioned, for as long as
    the lifecycle keeps old versions; compliance mode where the stack protects its data."""
    settings = stack_settings(stack)
    buckets = _buckets(rendered, stack)
    velero = [b for b in buckets.region if "-velero-" in b and not b.endswith("-logs")]
    assert velero
    for bucket in velero:
        locks = buckets.of(bucket, LOCK)
        if not bucket.endswith("-replica"):
            assert locks == [], f"{bucket}: Velero's uploads carry no Content-MD5"
            continue
        assert len(locks) == 1, f"{bucket} has no Object Lock"
        retention = locks[0]["inputs"]["rule"]["defaultRetention"]
        assert retention["days"] >= settings.backups.velero.noncurrent_version_days
        assert retention["mode"] == ("COMPLIANCE" if settings.data.protect else "GOVERNANCE")
        assert [v["inputs"]["versioningConfiguration"]["status"] for v in buckets.of(bucket, VERSIONING)] == ["Enabled"]
    assert not any("objectLockEnabled" in b["inputs"] for b in buckets.by_id.values())


def _bucket_record(**inputs: Any) -> dict[str, Any]:
    return {"type": BUCKET, "inputs": {"bucket": "agent-platform-prod-velero-us-east-1-replica", **inputs}}


def test_object_lock_set_on_the_bucket_itself_is_a_replacement_the_guard_refuses() -> None:
    urn = "urn:pulumi:prod::agent-platform::aws:s3/bucket:Bucket::velero-prod-replica"
    before = Deployment({urn: _bucket_record()})
    locked = Deployment({urn: _bucket_record(objectLockEnabled=True)})
    [change] = data_guard.data_changes(before, locked)
    assert (change.kind, change.resource) == ("replaces", "velero-prod-replica")
    lock_urn = f"{urn}-object-lock"
    configured = Deployment({urn: _bucket_record(), lock_urn: {"type": LOCK, "inputs": {"bucket": "x"}}})
    assert data_guard.data_changes(before, configured) == []


VELERO_TAGGED = {"aws:ResourceTag/velero.io/backup": "daily-20261203"}
SNAPSHOT = "arn:aws:ec2:us-east-1::snapshot/snap-0123456789abcdef0"


def test_the_allow_evaluator_reads_a_tag_presence_condition() -> None:
    policy = json.dumps(
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "ec2:DeleteSnapshot",
                    "Resource": "*",
                    "Condition": {"Null": {"aws:ResourceTag/velero.io/backup": "false"}},
                }
            ]
        }
    )
    assert iam_oracle.identity_allows(policy, "ec2:DeleteSnapshot", SNAPSHOT, VELERO_TAGGED)
    assert not iam_oracle.identity_allows(policy, "ec2:DeleteSnapshot", SNAPSHOT, {})
    assert not iam_oracle.identity_allows(policy, "ec2:CreateSnapshot", SNAPSHOT, VELERO_TAGGED)


@pytest.mark.parametrize("stack", STACKS)
def test_velero_deletes_only_the_snapshots_it_took(rendered: Rendered, stack: str) -> None:
    """Velero tags each snapshot `velero.io/backup: <backup>` (vmware-tanzu/velero pkg/backup/item_backupper.go,
    takePVSnapshot); EC2's DeleteSnapshot takes `aws:ResourceTag/${TagKey}` on the snapshot
    (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html). Every other
    snapshot in the account (AWS Backup's, another team's) stays out of the role's reach."""
    [policy] = [
        r["inputs"]["policy"]
        for r in load_resources(rendered(stack))
        if r["type"] == "aws:iam/rolePolicy:RolePolicy" and r["name"] == "velero-role-policy"
    ]
    assert iam_oracle.identity_allows(policy, "ec2:DeleteSnapshot", SNAPSHOT, VELERO_TAGGED)
    assert not iam_oracle.identity_allows(policy, "ec2:DeleteSnapshot", SNAPSHOT, {})
    assert not iam_oracle.identity_allows(
        policy, "ec2:DeleteSnapshot", SNAPSHOT, {"aws:ResourceTag/aws:backup:source-resource": "vol-1"}
    )
    for action in ("ec2:CreateSnapshot", "ec2:CreateVolume", "ec2:DescribeSnapshots", "ec2:CreateTags"):
        assert iam_oracle.identity_allows(policy, action, SNAPSHOT, {}), action
