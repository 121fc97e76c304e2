"""The effective value of a stack's settings and where each comes from.

    python -m settings.explain prod data.postgres.multi_az
    python -m settings.explain staging agents[0].scaling

A value comes from the stack file, else the environment's default (`ENVIRONMENT_DEFAULTS`), else the tier
table (`tiers.*`), else the model's default; docs/settings.md lists the defaults, this says what applies.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from settings.base import PLACEHOLDER_PREFIX
from settings.errors import NAMESPACE, SettingsError
from settings.loader import parse_config_value
from settings.reference import ENVIRONMENT_OVERRIDES
from settings.stack_file import PROJECT_ROOT, load, read

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _leaves(value: Any, path: str) -> dict[str, Any]:
    if isinstance(value, dict) and value:
        return {k: v for key, item in value.items() for k, v in _leaves(item, f"{path}.{key}" if path else key).items()}
    if isinstance(value, list) and value and any(isinstance(item, dict | list) for item in value):
        return {k: v for i, item in enumerate(value) for k, v in _leaves(item, f"{path}[{i}]").items()}
    return {path: value}


def _has(document: Any, path: str) -> bool:
    node = document
    for name, index in _STEP.findall(path):
        if name and isinstance(node, dict) and name in node:
            node = node[name]
        elif index and isinstance(node, list) and int(index) < len(node):
            node = node[int(index)]
        else:
            return False
    return True


def _source(stack: str, environment: str, written: dict[str, Any], path: str) -> str:
    if _has(written, path):
        return f"Pulumi.{stack}.yaml"
    if path in ENVIRONMENT_OVERRIDES.get(environment, {}):
        return f"{environment} default (ENVIRONMENT_DEFAULTS)"
    if path.startswith("tiers."):
        return f"tier table ({environment})"
    return "default"


def _shown(value: Any) -> str:
    if isinstance(value, str) and value.startswith(PLACEHOLDER_PREFIX):
        return "[secret]"
    return json.dumps(value)


def explain(stack: str, key: str = "", root: Path = PROJECT_ROOT) -> list[str]:
    """`path = value  (source)` for every setting at or under `key`; no line when nothing matches."""
    settings = load(stack, root)
    prefix = f"{NAMESPACE}:"
    config = read(stack, root).values
    written = {k[len(prefix) :]: parse_config_value(v) for k, v in config.items() if k.startswith(prefix)}
    effective = _leaves(settings.model_dump(mode="json"), "")
    matching = [p for p in effective if not key or p == key or p.startswith((f"{key}.", f"{key}["))]
    return [f"{p} = {_shown(effective[p])}  ({_source(stack, settings.environment, written, p)})" for p in matching]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m settings.explain", description=__doc__.splitlines()[0])
    parser.add_argument("stack")
    parser.add_argument("key", nargs="?", default="", help="a dotted setting path, e.g. data.postgres.multi_az")
    args = parser.parse_args(argv)
    try:
        lines = explain(args.stack, args.key)
    except SettingsError as error:
        print("\n".join(error.lines), file=sys.stderr)
        return 1
    if not lines:
        print(f"error: Pulumi.{args.stack}.yaml has no setting {args.key!r}; see docs/settings.md", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
