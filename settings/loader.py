"""Turns a stack's raw `agent-platform:` config into `StackSettings`, or one error listing every problem."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from settings.checks import check
from settings.errors import NAMESPACE, Problem, SettingsError, problems_from_validation
from settings.secrets import plaintext_secrets
from settings.stack import StackSettings


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
    prefix = f"{NAMESPACE}:"
    raw = {key[len(prefix) :]: parse_config_value(value) for key, value in config.items() if key.startswith(prefix)}
    secrets = {key[len(prefix) :] for key in secret_keys if key.startswith(prefix)}
    return validate(stack, raw, secrets)


def validate(stack: str, raw: dict[str, Any], secret_keys: set[str] | frozenset[str] = frozenset()) -> StackSettings:
    plaintext = plaintext_secrets(raw, set(secret_keys))
    if plaintext:
        raise SettingsError(stack, plaintext)
    try:
        settings = StackSettings.model_validate(raw)
    except ValidationError as error:
        raise SettingsError(stack, problems_from_validation(error, StackSettings)) from None
    problems: list[Problem] = check(settings)
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
