"""Turns a stack's raw `agent-platform:` config into `StackSettings`, or one error listing every problem."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from settings.checks import check
from settings.errors import NAMESPACE, Problem, SettingsError, did_you_mean, problems_from_validation
from settings.secrets import credentials_in_plain_fields, plaintext_secrets
from settings.stack import StackSettings
from settings.tenancy import ENVIRONMENTS

# Config namespaces this program reads or the providers it uses read; any other is a misspelling that
# would silently drop the settings under it.
KNOWN_NAMESPACES = (NAMESPACE, "aws", "kubernetes", "pulumi")
# Top-level keys of a Pulumi stack file (https://www.pulumi.com/docs/iac/concepts/projects/stack-settings-file/).
STACK_FILE_KEYS = ("config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _format_key(path: tuple[Any, ...]) -> str:
    """`('config', 'agent-platform:tenants', 0, 'tier')` -> `agent-platform:tenants[0].tier`."""
    text = ""
    for part in path[1:] if path and path[0] == "config" else path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _duplicate_keys(node: yaml.Node, path: tuple[Any, ...] = ()) -> list[Problem]:
    """YAML loaders keep the last of two equal keys; Pulumi's refuses them, and so does this one."""
    problems: list[Problem] = []
    if isinstance(node, yaml.MappingNode):
        first: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            if key in first:
                problems.append(
                    Problem(
                        "",
                        f"is given twice (first on line {first[key]}); keep one",
                        line=key_node.start_mark.line + 1,
                        key=_format_key((*path, key)),
                    )
                )
            else:
                first[key] = key_node.start_mark.line + 1
            problems += _duplicate_keys(value_node, (*path, key))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            problems += _duplicate_keys(item, (*path, index))
    return problems


def read_stack_file(path: Path, stack: str) -> dict[str, Any]:
    """The `config:` mapping of a stack file, or SettingsError naming the file, the line and the fix."""
    text = path.read_text()
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        what = " ".join(str(part) for part in (error.context, error.problem) if part)
        raise SettingsError(
            stack,
            [
                Problem(
                    "",
                    f"is not valid YAML: {what}; fix the syntax (indent with spaces, close brackets)",
                    line=mark.line + 1 if mark else None,
                )
            ],
        ) from None
    problems = _duplicate_keys(node) if node is not None else []
    if problems:
        raise SettingsError(stack, problems)
    document = yaml.load(text, Loader=_LOADER) if node is not None else {}
    if not isinstance(document, dict):
        raise SettingsError(
            stack,
            [
                Problem(
                    "",
                    f"is a YAML {type(document).__name__}, not a mapping; a stack file must be `config:` "
                    f"followed by `{NAMESPACE}:<setting>: <value>` lines",
                )
            ],
        )
    problems = [
        Problem(
            "",
            f"unknown top-level key; {did_you_mean(str(key), STACK_FILE_KEYS)}allowed: {', '.join(STACK_FILE_KEYS)}",
            key=str(key),
        )
        for key in document
        if key not in STACK_FILE_KEYS
    ]
    config = document.get("config") or {}
    if not isinstance(config, dict):
        problems.append(
            Problem(
                "",
                f"is a YAML {type(config).__name__}; it must be a mapping of `{NAMESPACE}:<setting>: <value>`",
                key="config",
            )
        )
    if problems:
        raise SettingsError(stack, problems)
    # A key without a namespace belongs to the project, as the Pulumi CLI reads it.
    return {(key if ":" in str(key) else f"{NAMESPACE}:{key}"): value for key, value in config.items()}


def unknown_namespaces(config: dict[str, Any]) -> list[Problem]:
    problems = []
    for key in config:
        namespace = key.split(":", 1)[0]
        if namespace not in KNOWN_NAMESPACES:
            problems.append(
                Problem(
                    "",
                    f"unknown config namespace {namespace!r}, so nothing reads this setting; "
                    f"{did_you_mean(namespace, KNOWN_NAMESPACES)}allowed: {', '.join(KNOWN_NAMESPACES)}",
                    key=key,
                )
            )
    return problems


def parse_config_value(value: Any) -> Any:
    """Pulumi passes structured values as JSON text and plain values as text."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def settings_from_config(
    stack: str, config: dict[str, Any], secret_keys: set[str] | frozenset[str] = frozenset()
) -> StackSettings:
    """`config` maps full keys (`agent-platform:tenants`) to values as Pulumi holds them;
    `secret_keys` are the full keys Pulumi holds encrypted."""
    problems = unknown_namespaces(config)
    if problems:
        raise SettingsError(stack, problems)
    prefix = f"{NAMESPACE}:"
    raw = {key[len(prefix) :]: parse_config_value(value) for key, value in config.items() if key.startswith(prefix)}
    secrets = {key[len(prefix) :] for key in secret_keys if key.startswith(prefix)}
    return validate(stack, raw, secrets)


def validate(stack: str, raw: dict[str, Any], secret_keys: set[str] | frozenset[str] = frozenset()) -> StackSettings:
    plaintext = plaintext_secrets(raw, set(secret_keys)) + credentials_in_plain_fields(raw, set(secret_keys))
    if plaintext:
        raise SettingsError(stack, plaintext)
    try:
        settings = StackSettings.model_validate(raw)
    except ValidationError as error:
        raise SettingsError(stack, problems_from_validation(error, StackSettings)) from None
    problems: list[Problem] = check(settings)
    if stack in ENVIRONMENTS and settings.environment != stack:
        # Alone: the other environment's rules would only add noise.
        problems = [
            Problem(
                "environment",
                f"{settings.environment!r} in the stack file of {stack!r}: every name, namespace and data service "
                f"would be the {settings.environment} ones (replacing this stack's); set environment: {stack}",
            )
        ]
    if problems:
        raise SettingsError(stack, problems)
    return settings


def load_from_pulumi() -> StackSettings:
    """Read the running program's config (real engine or mocks alike)."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    # The SDK keeps the stack's config in this map; Config objects only read single keys, and
    # unknown keys must be reported, so the whole namespace is read from it.
    values = dict(runtime_config.get_config_env())
    values.update(runtime_config.CONFIG.get())
    secret_keys = {key for key in values if runtime_config.is_config_secret(key)}
    secret_keys.update(runtime_config.get_config_secret_keys_env())
    return settings_from_config(pulumi.get_stack(), values, secret_keys)
