"""Which settings are secret, and whether a stack file holds one of them in plain text."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from settings.base import SECRET_MARK
from settings.errors import Problem, format_path
from settings.stack import StackSettings


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def secret_values(
    raw: Any, model: type[BaseModel] = StackSettings, loc: tuple[Any, ...] = ()
) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Yield (location, value) for every secret field present in raw (unvalidated) settings."""
    if not isinstance(raw, dict):
        return
    for name, field in model.model_fields.items():
        if name not in raw or raw[name] is None:
            continue
        value = raw[name]
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        if extra.get(SECRET_MARK):
            yield (*loc, name), value
            continue
        inner = _model_of(field.annotation)
        if inner is None:
            continue
        if isinstance(value, list):
            for index, item in enumerate(value):
                yield from secret_values(item, inner, (*loc, name, index))
        elif isinstance(value, dict) and getattr(field.annotation, "__origin__", None) is dict:
            for key, item in value.items():
                yield from secret_values(item, inner, (*loc, name, key))
        else:
            yield from secret_values(value, inner, (*loc, name))


def plaintext_secrets(raw: dict[str, Any], secret_keys: set[str]) -> list[Problem]:
    """A secret field is only acceptable inside a top-level key Pulumi holds encrypted (`secure:`)."""
    return [
        Problem(
            format_path(loc),
            f"is a secret but is stored in plain text; remove it from the stack file and run "
            f"`pulumi config set --secret --path 'agent-platform:{format_path(loc)}' <value>`",
        )
        for loc, _ in secret_values(raw)
        if loc[0] not in secret_keys
    ]
