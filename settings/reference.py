"""The settings reference and tier table (docs/settings.md), generated from the models so they cannot drift.

python -m settings.reference --write docs/settings.md
"""

from __future__ import annotations

import argparse
import re
import sys
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from settings.base import SECRET_MARK
from settings.stack import ENVIRONMENT_DEFAULTS, StackSettings
from settings.tenancy import ENVIRONMENTS, TIERS, default_tier

START, END = "<!-- settings-reference:start -->", "<!-- settings-reference:end -->"


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(repr(a) for a in args)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, __import__("types").UnionType):
        return " \\| ".join(_type_name(a) for a in args)
    if origin in (list, dict):
        return f"{origin.__name__}[{', '.join(_type_name(a) for a in args)}]"
    if annotation is type(None):
        return "null"
    return getattr(annotation, "__name__", str(annotation))


def _nested_model(annotation: Any) -> tuple[type[BaseModel] | None, str]:
    """The model a field holds, and the path suffix for its elements (`[]` list, `.<key>` map)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, ""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is list and args:
        model, _ = _nested_model(args[0])
        return model, "[]"
    if origin is dict and len(args) == 2:
        model, _ = _nested_model(args[1])
        return model, ".<key>"
    for arg in args:
        model, suffix = _nested_model(arg)
        if model is not None:
            return model, suffix
    return None, ""


def _default(field: Any) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "required"
    value = field.default_factory() if field.default_factory is not None else field.default
    if isinstance(value, BaseModel):
        return "(see fields)"
    if isinstance(value, list) and value and isinstance(value[0], BaseModel):
        return "(see fields)"
    if isinstance(value, dict) and value and isinstance(next(iter(value.values())), BaseModel):
        return f"{len(value)} entries"
    return f"`{value!r}`".replace("|", "\\|")


def _environment_defaults(value: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        path = f"{prefix}{key}"
        out.update(_environment_defaults(item, f"{path}.") if isinstance(item, dict) else {path: item})
    return out


ENVIRONMENT_OVERRIDES: dict[str, dict[str, Any]] = {
    env: _environment_defaults(defaults) for env, defaults in ENVIRONMENT_DEFAULTS.items()
}
"""Per environment, the dotted setting paths whose default `ENVIRONMENT_DEFAULTS` replaces."""


def _environment_default(path: str) -> str:
    """`; staging `True`, prod `True`` for a default that an environment replaces."""
    parts = [
        f"{env} `{ENVIRONMENT_OVERRIDES[env][path]!r}`" for env in ENVIRONMENTS if path in ENVIRONMENT_OVERRIDES[env]
    ]
    return ("; " + ", ".join(parts)).replace("|", "\\|") if parts else ""


def rows(model: type[BaseModel], prefix: str = "") -> list[str]:
    lines = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        secret = " **secret**" if extra.get(SECRET_MARK) else ""
        description = (field.description or "").replace("|", "\\|")
        default = _default(field) + _environment_default(path)
        lines.append(f"| `{path}` | {_type_name(field.annotation)} | {default} | {description}{secret} |")
        nested, suffix = _nested_model(field.annotation)
        if nested is not None:
            lines += rows(nested, f"{path}{suffix}.")
    return lines


def settings_reference() -> str:
    header = [
        "Keys under `agent-platform:` in `Pulumi.<stack>.yaml`. Where an environment has its own default",
        "(`ENVIRONMENT_DEFAULTS` in `settings/stack.py`) the default column names it after the model's; the stack",
        "file's value wins over both. Tier fields default to the tier table above.",
        "",
        "| key | type | default | notes |",
        "|---|---|---|---|",
    ]
    return "\n".join(header + rows(StackSettings))


def tier_table() -> str:
    keys = list(default_tier("prod", "premium").quota.hard())
    lines = [
        "| environment | tier | " + " | ".join(keys) + " | rps / connections | HPA max |",
        "|---|---|" + "---|" * len(keys) + "---|---|",
    ]
    for env in ENVIRONMENTS:
        for tier_name in TIERS:
            tier = default_tier(env, tier_name)
            hard = tier.quota.hard()
            limits = f"{tier.rate_limits.rps} / {tier.rate_limits.connections}"
            lines.append(
                f"| {env} | {tier_name} | " + " | ".join(hard[k] for k in keys) + f" | {limits} | {tier.max_replicas} |"
            )
    return "\n".join(lines)


def generated_block() -> str:
    return "\n".join(
        [
            START,
            "### Tier defaults (ResourceQuota per tenant namespace)",
            "",
            tier_table(),
            "",
            "### All settings",
            "",
            settings_reference(),
            END,
        ]
    )


def replace_block(text: str) -> str:
    return replace_marked(text, START, END, generated_block())


def replace_marked(text: str, start: str, end: str, block: str) -> str:
    """`text` with the part from marker `start` to marker `end` replaced by `block` (which carries both)."""
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"markers {start} ... {end} not found")
    return pattern.sub(lambda _: block, text)


def write_main(prog: str, block: Callable[[], str], start: str, end: str, argv: list[str] | None) -> int:
    """`--write FILE` replaces the generated block in FILE; without it the block is printed."""
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("--write", type=Path, help="replace the generated block in this file")
    args = parser.parse_args(argv)
    if args.write:
        args.write.write_text(replace_marked(args.write.read_text(), start, end, block()))
    else:
        print(block())
    return 0


def main(argv: list[str] | None = None) -> int:
    return write_main("python -m settings.reference", generated_block, START, END, argv)


if __name__ == "__main__":
    sys.exit(main())
