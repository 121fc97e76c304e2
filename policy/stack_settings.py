"""The stack's settings as the program sees them, for rules that need what a resource cannot say (an agent's
owner, its rollout stage, the canary policy). Read through the project's one stack-file reader, so defaults,
environment overlays and `secure:` values are the same in CI, offline and under `pulumi up`."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from settings import SettingsError, StackSettings, stack_file


class SettingsUnavailableError(Exception):
    """The stack file is missing or invalid; rules that need it report this instead of guessing."""


@cache
def load(stack: str, root: Path = stack_file.PROJECT_ROOT) -> StackSettings:
    path = stack_file.path_of(stack, root)
    if not path.exists():
        raise SettingsUnavailableError(f"no stack file {path.name}")
    try:
        return stack_file.load(stack, root)
    except SettingsError as error:
        raise SettingsUnavailableError("; ".join(error.lines)) from None
