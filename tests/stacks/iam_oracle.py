"""Whether an explicit Deny in a resource policy applies to a request, from IAM policy evaluation logic.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html: an explicit Deny
overrides every Allow. A statement applies when its Principal, Action and Resource match the request (`*` and
`?` wildcards, actions case-insensitive) and every condition holds
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html: `Bool`
compares "true"/"false"; `Null` "false" holds when the key is in the request, "true" when it is absent; the
values of one key are ORed, keys and operators ANDed). An operator not modelled here counts as not holding,
so the oracle never credits a Deny or an Allow it cannot read.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _principal_is_anyone(principal: Any) -> bool:
    return principal == "*" or (isinstance(principal, dict) and "*" in _as_list(principal.get("AWS", [])))


def _conditions_hold(conditions: dict[str, Any], context: dict[str, str]) -> bool:
    for operator, pairs in conditions.items():
        if operator == "Null":
            for key, values in pairs.items():
                absent = str(_as_list(values)[0]).lower() == "true"
                if (key not in context) != absent:
                    return False
            continue
        if operator != "Bool":
            return False
        for key, values in pairs.items():
            if key not in context or context[key].lower() not in [str(v).lower() for v in _as_list(values)]:
                return False
    return True


def identity_allows(policy: str, action: str, resource: str, context: dict[str, str]) -> bool:
    """Whether an identity policy (no Principal) allows the request and no statement of it denies it."""
    allowed = False
    for statement in json.loads(policy)["Statement"]:
        if _applies(statement, action, resource, context):
            if statement.get("Effect") == "Deny":
                return False
            allowed = True
    return allowed


def explicitly_denied(policy: str, action: str, resource: str, context: dict[str, str]) -> bool:
    for statement in json.loads(policy)["Statement"]:
        if statement.get("Effect") != "Deny" or not _principal_is_anyone(statement.get("Principal")):
            continue
        if _applies(statement, action, resource, context):
            return True
    return False


def _applies(statement: dict[str, Any], action: str, resource: str, context: dict[str, str]) -> bool:
    actions = [a.lower() for a in _as_list(statement.get("Action", []))]
    return (
        any(fnmatch.fnmatchcase(action.lower(), a) for a in actions)
        and any(fnmatch.fnmatchcase(resource, r) for r in _as_list(statement.get("Resource", [])))
        and _conditions_hold(statement.get("Condition") or {}, context)
    )
