"""Typed stack settings read from `Pulumi.<stack>.yaml`."""

from stacks.settings.errors import Problem, SettingsError
from stacks.settings.loader import load_from_pulumi, settings_from_config, validate
from stacks.settings.stack import StackSettings

__all__ = ["Problem", "SettingsError", "StackSettings", "load_from_pulumi", "settings_from_config", "validate"]
