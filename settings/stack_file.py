"""The one reader of `Pulumi.<stack>.yaml` outside the engine: the offline render, the policy pack, the gate
CLI, CI scripts, tests and benchmarks all read a stack file through here, so they agree on what it says.

The Pulumi CLI hands a program its config as text per top-level key (structured values as JSON) and marks a
key secret when it or anything nested under it is `secure:` (`pulumi config set --secret --path` writes a
nested `secure:`). This module does the same, replacing each encrypted value by a marked placeholder:
nothing here decrypts, and no reader needs a secret's value to check or render the stack.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from settings.base import PLACEHOLDER_PREFIX
from settings.loader import read_stack_file, settings_from_config
from settings.stack import StackSettings

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def path_of(stack: str, root: Path = PROJECT_ROOT) -> Path:
    return root / f"Pulumi.{stack}.yaml"


def stacks(root: Path = PROJECT_ROOT) -> list[str]:
    """The stacks that have a stack file in `root`."""
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))


def placeholder(path: str) -> str:
    return f"{PLACEHOLDER_PREFIX}{path}: set with pulumi config set --secret>"


@dataclass(frozen=True)
class StackConfig:
    """A stack's config as the CLI passes it to the program."""

    values: dict[str, str]
    secret_keys: frozenset[str]


def document(text: str | None) -> dict[str, Any]:
    """The `config:` mapping of a stack file's text, as written (None or empty text: no config)."""
    loaded = yaml.safe_load(text) if text else None
    config = (loaded or {}).get("config") if isinstance(loaded, dict) else None
    return config or {}


def raw_config(stack: str, root: Path = PROJECT_ROOT, path: Path | None = None) -> dict[str, Any]:
    """The config of `path` (default: the stack's file in `root`); a file that is not a stack file, or not YAML,
    is refused with its line (`settings.loader.read_stack_file`)."""
    return read_stack_file(path or path_of(stack, root), stack)


def config_of(raw: dict[str, Any]) -> StackConfig:
    values: dict[str, str] = {}
    secret_keys: set[str] = set()
    for key, value in raw.items():
        replaced, had_secret = _replace_secure(value, key)
        if had_secret:
            secret_keys.add(key)
        values[key] = replaced if isinstance(replaced, str) else json.dumps(replaced)
    return StackConfig(values, frozenset(secret_keys))


def read(stack: str, root: Path = PROJECT_ROOT, path: Path | None = None) -> StackConfig:
    return config_of(raw_config(stack, root, path))


def load(stack: str, root: Path = PROJECT_ROOT) -> StackSettings:
    """The validated settings, exactly as the program validates them (raises `SettingsError`)."""
    config = read(stack, root)
    return settings_from_config(stack, config.values, config.secret_keys)


def _replace_secure(value: Any, path: str) -> tuple[Any, bool]:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return placeholder(path), True
        found = False
        result = {}
        for key, item in value.items():
            result[key], had = _replace_secure(item, f"{path}.{key}")
            found = found or had
        return result, found
    if isinstance(value, list):
        pairs = [_replace_secure(item, f"{path}[{i}]") for i, item in enumerate(value)]
        return [p[0] for p in pairs], any(p[1] for p in pairs)
    return value, False
