"""Field-level difference between two renders' `resources.json`, for reviewers and pull-request comments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MISSING = object()


@dataclass(frozen=True)
class Change:
    path: str
    old: Any
    new: Any


@dataclass
class RenderDiff:
    added: list[str]
    removed: list[str]
    changed: dict[str, list[Change]]

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        if not value:
            return {prefix: {}}
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list):
        if not value:
            return {prefix: []}
        out = {}
        for index, item in enumerate(value):
            out.update(flatten(item, f"{prefix}[{index}]"))
        return out
    return {prefix: value}


def diff_resources(old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]) -> RenderDiff:
    """`old`/`new` map URN -> resource record as written in resources.json."""
    changed: dict[str, list[Change]] = {}
    for urn in sorted(old.keys() & new.keys()):
        before, after = flatten(old[urn]), flatten(new[urn])
        changes = [
            Change(path, before.get(path, MISSING), after.get(path, MISSING))
            for path in sorted(before.keys() | after.keys())
            if before.get(path, MISSING) != after.get(path, MISSING)
        ]
        if changes:
            changed[urn] = changes
    return RenderDiff(sorted(new.keys() - old.keys()), sorted(old.keys() - new.keys()), changed)


def _show(value: Any) -> str:
    return "(absent)" if value is MISSING else repr(value)


def format_diff(diff: RenderDiff) -> str:
    if diff.empty:
        return "No changes."
    lines = [f"{len(diff.added)} to add, {len(diff.changed)} to change, {len(diff.removed)} to delete"]
    lines += [f"+ {urn}" for urn in diff.added]
    lines += [f"- {urn}" for urn in diff.removed]
    for urn, changes in diff.changed.items():
        lines.append(f"~ {urn}")
        lines += [f"    {c.path}: {_show(c.old)} -> {_show(c.new)}" for c in changes]
    return "\n".join(lines)
