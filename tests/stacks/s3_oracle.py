"""What S3 accepts for server access logging and Object Lock, from its documentation.

- https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerLogs.html: the destination bucket must be in the
  same Region and account as the source; "S3 buckets with Object Lock can't be used as destination buckets
  for server access logs"; default encryption of the destination "only if you use server-side encryption with
  Amazon S3 managed keys (SSE-S3)"; with BucketOwnerEnforced, permission is a bucket policy for the
  `logging.s3.amazonaws.com` principal (enable-server-access-logging.html), ideally bound by `aws:SourceArn`.
- https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html: Object Lock needs versioning and
  cannot be disabled; `PutObjectLockConfiguration` enables it on an existing versioned bucket, while the
  bucket's own `objectLockEnabled` is fixed at creation (the provider replaces the bucket).
- object-lock-managing.html#object-lock-put-object: "The Content-MD5 header is required for any request to
  upload an object with a retention period configured using Object Lock".
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any

LOGGING_SERVICE = "logging.s3.amazonaws.com"


def log_delivery_problems(
    source: str,
    source_region: str,
    target: str,
    target_region: str,
    target_algorithms: set[str],
    target_locked: bool,
    target_policies: list[str],
    prefix: str,
) -> list[str]:
    found = []
    if target == source:
        found.append(f"{source} logs into itself: every log write is logged again")
    if target_region != source_region:
        found.append(f"{source} ({source_region}) logs to {target} in {target_region}")
    if target_locked:
        found.append(f"{target} has Object Lock: S3 delivers no access logs into it")
    if target_algorithms != {"AES256"}:
        found.append(f"{target} default encryption {sorted(target_algorithms)}: log delivery needs SSE-S3 (AES256)")
    key = f"arn:aws:s3:::{target}/{prefix}2026-12-03-00-00-00-ABCDEF"
    if not any(_allows_delivery(p, key, f"arn:aws:s3:::{source}") for p in target_policies):
        found.append(f"{target}: no policy lets {LOGGING_SERVICE} put {source}'s logs")
    if any(_allows_delivery(p, key, "arn:aws:s3:::someone-elses-bucket") for p in target_policies):
        found.append(f"{target}: the logging service may write any bucket's logs (no aws:SourceArn)")
    return found


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _allows_delivery(policy: str, key: str, source_arn: str) -> bool:
    for st in json.loads(policy).get("Statement", []):
        principal = st.get("Principal") or {}
        services = _list(principal.get("Service")) if isinstance(principal, dict) else []
        if st.get("Effect") != "Allow" or LOGGING_SERVICE not in services:
            continue
        if not any(fnmatch.fnmatchcase("s3:PutObject", a) for a in _list(st.get("Action"))):
            continue
        if not any(fnmatch.fnmatchcase(key, r) for r in _list(st.get("Resource"))):
            continue
        arn_like = (st.get("Condition") or {}).get("ArnLike", {}).get("aws:SourceArn")
        if arn_like is None or any(fnmatch.fnmatchcase(source_arn, a) for a in _list(arn_like)):
            return True
    return False
