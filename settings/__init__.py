"""Typed stack settings read from `Pulumi.<stack>.yaml`."""

from settings.errors import Problem, SettingsError
from settings.loader import load_from_pulumi, settings_from_config, validate
from settings.stack import StackSettings

__all__ = ["Problem", "SettingsError", "StackSettings", "load_from_pulumi", "settings_from_config", "validate"]
