"""Settings problems, reported one per line as `<file>: agent-platform:<path>: <what is wrong>`."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi.errors import RunError
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """`did you mean 'x'? ` for the closest known word, or nothing."""
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""


NAMESPACE = "agent-platform"


@dataclass(frozen=True)
class Problem:
    path: str
    """Path under `agent-platform:` (`tenants[2].tier`); empty for a problem of the file itself."""
    message: str
    line: int | None = None
    """1-based line in the stack file, when the problem is found while reading it."""
    key: str | None = None
    """A full config key outside `agent-platform:` (`agent-platfrom:backups`), or a key of the file itself."""

    @property
    def where(self) -> str | None:
        if self.key is not None:
            return self.key
        return f"{NAMESPACE}:{self.path}" if self.path else None


class SettingsError(RunError):
    """Raised before any resource is registered; its lines are what the operator reads. A RunError, so
    `pulumi up` prints the lines without a Python traceback."""

    def __init__(self, stack: str, problems: Sequence[Problem]):
        self.stack = stack
        self.problems = list(problems)
        super().__init__("\n".join(self.lines))

    @property
    def file(self) -> str:
        return f"Pulumi.{self.stack}.yaml"

    @property
    def lines(self) -> list[str]:
        lines = []
        for p in self.problems:
            location = f"{self.file}:{p.line}" if p.line else self.file
            lines.append(f"{location}: {p.where}: {p.message}" if p.where else f"{location}: {p.message}")
        return lines


def format_path(loc: Iterable[Any]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _fields_at(model: type[BaseModel], loc: Sequence[Any]) -> list[str]:
    """Field names of the model that holds `loc[-1]`, for "unknown field" messages."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int) or not (isinstance(current, type) and issubclass(current, BaseModel)):
            continue
        field = current.model_fields.get(part)
        if field is None:
            return []
        current = _model_in(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _message(error: ErrorDetails, model: type[BaseModel]) -> str:
    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "literal_error":
        allowed = ctx.get("expected", "").replace("'", "").replace(" or ", ", ")
        return f"{value!r} is not one of {allowed}"
    if kind == "missing":
        return "is required but missing"
    if kind == "extra_forbidden":
        allowed = ", ".join(_fields_at(model, error["loc"]))
        return f"unknown field (allowed: {allowed})"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return f"{value!r}: {error['msg'][0].lower()}{error['msg'][1:]}"


def problems_from_validation(error: ValidationError, model: type[BaseModel]) -> list[Problem]:
    problems = []
    for item in error.errors(include_url=False):
        loc = [part for part in item["loc"] if not (isinstance(part, str) and part.startswith("function-"))]
        # Union members show up as extra path segments; drop the type tags pydantic adds.
        loc = [part for part in loc if part not in {"str", "int", "float", "none"}]
        problems.append(Problem(format_path(loc), _message(item, model)))
    return problems
