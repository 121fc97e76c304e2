"""The stack's settings as the program sees them, for rules that need what a resource cannot say (an agent's
owner, its rollout stage, the canary policy). Read from `Pulumi.<stack>.yaml` next to the pack's folder with
the program's own models, so defaults and environment overlays are the same in CI and offline."""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:  # CrossGuard runs the pack from its own folder
    sys.path.insert(0, str(PROJECT_ROOT))

from settings import SettingsError, StackSettings  # noqa: E402
from settings.loader import settings_from_config  # noqa: E402


class SettingsUnavailableError(Exception):
    """The stack file is missing or invalid; rules that need it report this instead of guessing."""


def _placeholder(value: Any) -> Any:
    # Encrypted values are never decrypted here: no rule reads a secret.
    return "[secret]" if isinstance(value, dict) and set(value) == {"secure"} else value


@cache
def load(stack: str, root: Path = PROJECT_ROOT) -> StackSettings:
    path = root / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise SettingsUnavailableError(f"no stack file {path.name}")
    config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
    secret_keys = {key for key, value in config.items() if _placeholder(value) != value}
    try:
        return settings_from_config(stack, {k: _placeholder(v) for k, v in config.items()}, secret_keys)
    except SettingsError as error:
        raise SettingsUnavailableError("; ".join(error.lines)) from None
