"""Typed stack settings read from `Pulumi.<stack>.yaml`.

The whole-stack model and its loader load on first use (PEP 562), so a library user importing one model
(`settings.agents.Agent`) does not pull in the stack settings."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from settings.errors import Problem, SettingsError

if TYPE_CHECKING:
    from settings.loader import load_from_pulumi, settings_from_config, validate
    from settings.stack import StackSettings

_LAZY = {
    "StackSettings": "settings.stack",
    "load_from_pulumi": "settings.loader",
    "settings_from_config": "settings.loader",
    "validate": "settings.loader",
}

__all__ = ["Problem", "SettingsError", "StackSettings", "load_from_pulumi", "settings_from_config", "validate"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'settings' has no attribute {name!r}")
