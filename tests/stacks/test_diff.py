"""The `--diff` report names each change once, by the identity of list items rather than their index."""

from __future__ import annotations

import json
from typing import Any

from stacks.diff import diff_resources, format_diff

URN = "urn:pulumi:staging::agent-platform::kubernetes:apps/v1:Deployment::support-bot"


def lines(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return format_diff(diff_resources({URN: old}, {URN: new})).splitlines()[2:]


def test_one_dependency_added_in_the_middle_is_one_line() -> None:
    old = {"dependencies": ["urn:a", "urn:b", "urn:d", "urn:e"]}
    new = {"dependencies": ["urn:a", "urn:b", "urn:c", "urn:d", "urn:e"]}
    assert lines(old, new) == ["    dependencies[2]: (absent) -> 'urn:c'"]


def test_a_first_dependency_is_an_addition_not_a_vanished_empty_list() -> None:
    assert lines({"dependencies": []}, {"dependencies": ["urn:a"]}) == ["    dependencies[0]: (absent) -> 'urn:a'"]


def test_named_items_are_matched_by_name() -> None:
    """Kubernetes merges containers, env, ports and volumes by `name` (strategic merge keys); an env var
    inserted before others changes only itself."""
    old = {"env": [{"name": "A", "value": "1"}, {"name": "C", "value": "3"}]}
    new = {"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}, {"name": "C", "value": "4"}]}
    assert lines(old, new) == [
        "    env[name=C].value: '3' -> '4'",
        "    env[name=B].name: (absent) -> 'B'",
        "    env[name=B].value: (absent) -> '2'",
    ]


def test_a_json_policy_in_a_string_diffs_by_its_fields() -> None:
    def policy(resources: list[str]) -> str:
        return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": resources}]})

    old = {"inputs": {"policy": policy(["arn:aws:kms:eu-west-1:1:key/a"])}}
    new = {"inputs": {"policy": policy(["arn:aws:kms:eu-west-1:1:key/a", "arn:aws:kms:eu-west-1:1:key/b"])}}
    assert lines(old, new) == [
        "    inputs.policy(json).Statement[0].Resource[1]: (absent) -> 'arn:aws:kms:eu-west-1:1:key/b'"
    ]


def test_a_scalar_change_keeps_its_path() -> None:
    old = {"inputs": {"spec": {"hard": {"pods": "25", "services": "10"}}}}
    new = {"inputs": {"spec": {"hard": {"pods": "40", "services": "10"}}}}
    assert lines(old, new) == ["    inputs.spec.hard.pods: '25' -> '40'"]
