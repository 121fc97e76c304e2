"""Field-level difference between two renders' `resources.json`, for reviewers and pull-request comments."""

from __future__ import annotations

import difflib
import json
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


def _json_container(value: Any) -> Any:
    """A string holding a JSON object or array (an IAM policy, a Helm value), parsed; else MISSING."""
    if not isinstance(value, str) or not value.lstrip().startswith(("{", "[")):
        return MISSING
    try:
        parsed = json.loads(value)
    except ValueError:
        return MISSING
    return parsed if isinstance(parsed, dict | list) else MISSING


def _names(items: list[Any]) -> list[str] | None:
    """The `name` of every item when each is a mapping with a distinct one (containers, env, ports, volumes)."""
    names = [item.get("name") if isinstance(item, dict) else None for item in items]
    if all(isinstance(n, str) for n in names) and len(set(names)) == len(names):
        return names  # type: ignore[return-value]
    return None


def _leaves(value: Any, path: str, old: bool, out: list[Change]) -> None:
    for leaf, item in flatten(value, path).items():
        out.append(Change(leaf, item, MISSING) if old else Change(leaf, MISSING, item))


def _compare(before: Any, after: Any, path: str, out: list[Change]) -> None:
    """Changes from `before` to `after`, by identity where lists have one: list items by `name`, else by
    their content (an item added in the middle is one addition, not a change of every later index)."""
    if before == after:
        return
    if isinstance(before, dict) and isinstance(after, dict):
        keys = sorted(before.keys() | after.keys(), key=str)
        _compare_keyed(before, after, [(key, f"{path}.{key}" if path else str(key)) for key in keys], out)
        return
    if isinstance(before, list) and isinstance(after, list):
        _compare_lists(before, after, path, out)
        return
    parsed_before, parsed_after = _json_container(before), _json_container(after)
    if parsed_before is not MISSING and parsed_after is not MISSING:
        _compare(parsed_before, parsed_after, f"{path}(json)", out)
        return
    out.append(Change(path, before, after))


def _compare_keyed(
    before: dict[Any, Any], after: dict[Any, Any], keys: list[tuple[Any, str]], out: list[Change]
) -> None:
    for key, path in keys:
        if key not in after:
            _leaves(before[key], path, True, out)
        elif key not in before:
            _leaves(after[key], path, False, out)
        else:
            _compare(before[key], after[key], path, out)


def _compare_lists(before: list[Any], after: list[Any], path: str, out: list[Change]) -> None:
    old_names, new_names = _names(before), _names(after)
    if before and after and old_names is not None and new_names is not None:
        old_by, new_by = dict(zip(old_names, before, strict=True)), dict(zip(new_names, after, strict=True))
        names = [*old_names, *(n for n in new_names if n not in old_by)]
        _compare_keyed(old_by, new_by, [(name, f"{path}[name={name}]") for name in names], out)
        if old_names != new_names and set(old_names) == set(new_names):
            out.append(Change(f"{path}(order)", old_names, new_names))
        return
    keys = [json.dumps(item, sort_keys=True) for item in before], [json.dumps(item, sort_keys=True) for item in after]
    matcher = difflib.SequenceMatcher(a=keys[0], b=keys[1], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        if op == "replace" and i2 - i1 == j2 - j1:
            for offset in range(i2 - i1):
                _compare(before[i1 + offset], after[j1 + offset], f"{path}[{j1 + offset}]", out)
            continue
        for index in range(i1, i2):
            _leaves(before[index], f"{path}[{index}]", True, out)
        for index in range(j1, j2):
            _leaves(after[index], f"{path}[{index}]", False, out)


def diff_resources(old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]) -> RenderDiff:
    """`old`/`new` map URN -> resource record as written in resources.json. An index in a change's path is
    the item's place in the new list (in the old one for a removal)."""
    changed: dict[str, list[Change]] = {}
    for urn in sorted(old.keys() & new.keys()):
        changes: list[Change] = []
        _compare(old[urn], new[urn], "", changes)
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
