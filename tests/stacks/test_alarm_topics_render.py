"""The data-alarm SNS topics are encrypted with a key CloudWatch can use to publish to them.

https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services: an AWS
service that publishes to an encrypted topic (CloudWatch alarms among them) needs a customer managed key whose
policy allows its service principal `kms:Decrypt` and `kms:GenerateDataKey*`; with the AWS managed `aws/sns`
key, which cannot be given that grant, the alarm's publish fails and nobody is paged.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stacks.offline.computed import computed_outputs
from tests.conftest import STACKS, load_resources

Rendered = Callable[[str], Path]
CLOUDWATCH = "cloudwatch.amazonaws.com"
NEEDS = ("kms:Decrypt", "kms:GenerateDataKey")


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def publish_problems(key_id: Any, keys: dict[str, str]) -> list[str]:
    """`keys`: key ARN -> its policy. Why CloudWatch could not publish to a topic encrypted with `key_id`."""
    if not key_id:
        return ["the topic is not encrypted"]
    if key_id not in keys:
        return [f"{key_id} is not a customer managed key of this stack (aws/sns cannot grant {CLOUDWATCH})"]
    found = []
    for action in NEEDS:
        allowed = any(
            st.get("Effect") == "Allow"
            and CLOUDWATCH in _list((st.get("Principal") or {}).get("Service", []))
            and any(fnmatch.fnmatchcase(action, a) for a in _list(st.get("Action")))
            and not st.get("Condition")
            for st in json.loads(keys[key_id])["Statement"]
        )
        if not allowed:
            found.append(f"{key_id}: {CLOUDWATCH} may not {action}")
    return found


def test_the_rule_refuses_no_key_the_aws_managed_key_and_a_policy_without_the_service() -> None:
    arn = "arn:aws:kms:us-east-1:123456789012:key/k"
    closed = json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*"}]})
    assert publish_problems(None, {}) == ["the topic is not encrypted"]
    assert publish_problems("alias/aws/sns", {arn: closed})[0].startswith("alias/aws/sns is not a customer")
    assert len(publish_problems(arn, {arn: closed})) == 2
    open_ = json.dumps(
        {"Statement": [{"Effect": "Allow", "Principal": {"Service": CLOUDWATCH}, "Action": list(NEEDS)}]}
    )
    assert publish_problems(arn, {arn: open_}) == []


@pytest.mark.parametrize("stack", STACKS)
def test_cloudwatch_can_publish_to_every_encrypted_alarm_topic(rendered: Rendered, stack: str) -> None:
    resources = load_resources(rendered(stack))
    regions = {r["urn"]: r["inputs"]["region"] for r in resources if r["type"] == "pulumi:providers:aws"}
    keys = {
        computed_outputs(r["type"], r["name"], r["inputs"], regions[r["provider"]])["arn"]: r["inputs"]["policy"]
        for r in resources
        if r["type"] == "aws:kms/key:Key"
    }
    topics = [r for r in resources if r["type"] == "aws:sns/topic:Topic"]
    assert topics
    for topic in topics:
        key_id = topic["inputs"].get("kmsMasterKeyId")
        assert publish_problems(key_id, keys) == [], topic["name"]
        assert key_id.split(":")[3] == regions[topic["provider"]], "a topic's key is in its own region"
