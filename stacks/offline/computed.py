"""Values the cloud would compute (ids, ARNs, endpoints), made up deterministically for the offline render.

A type that needs particular outputs registers a function here; everything else echoes its inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Computed = Callable[[str, dict[str, Any]], dict[str, Any]]
ACCOUNT = "123456789012"
_COMPUTED: dict[str, Computed] = {}


def computes(type_token: str) -> Callable[[Computed], Computed]:
    def register(fn: Computed) -> Computed:
        _COMPUTED[type_token] = fn
        return fn

    return register


def computed_outputs(type_token: str, name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    """Outputs a real `up` would fill in; ARNs follow AWS's format so consumers parse them."""
    if type_token in _COMPUTED:
        return _COMPUTED[type_token](name, inputs)
    if type_token.startswith("aws:"):
        service = type_token.split(":")[1].split("/")[0]
        physical = inputs.get("name") or inputs.get("identifier") or name
        return {"arn": f"arn:aws:{service}:{region}:{ACCOUNT}:{physical}"}
    return {}


@computes("aws:iam/role:Role")
def _iam_role(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    role = inputs.get("name") or name
    return {"arn": f"arn:aws:iam::{ACCOUNT}:role/{role}", "name": role}
