"""Set `rollback: true` for one agent in a stack file, touching nothing else:

    python .github/scripts/rollback.py --stack prod --agent support-bot

The edit is a targeted text change (comments, order and quoting stay as they are), checked afterwards by
parsing both versions: the only difference must be `agent-platform:agents[i].rollout.rollback`. Exit 0 when
the file was changed or already said so, 2 on bad input, 3 when the file's layout is one this edit does not
handle (then edit by hand).
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
AGENTS_KEY = "agent-platform:agents"
STACK_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
AGENT_PATTERN = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


class LayoutError(Exception):
    """The stack file is laid out in a way the targeted edit does not handle."""


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _block_end(lines: list[str], start: int, indent: int) -> int:
    """Index after the last line that belongs to the block opened at `start` (deeper-indented or blank)."""
    end = start + 1
    while end < len(lines) and (
        not lines[end].strip() or lines[end].lstrip().startswith("#") or _indent(lines[end]) > indent
    ):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return end


def _find_agent(lines: list[str], agent: str) -> tuple[int, int, int]:
    """(first line, end, key indent) of the agent's item in the agents list."""
    header = next((i for i, line in enumerate(lines) if line.strip() == f"{AGENTS_KEY}:"), None)
    if header is None:
        raise LayoutError(f"no block-style `{AGENTS_KEY}:` key")
    section_end = _block_end(lines, header, _indent(lines[header]))
    item = re.compile(rf"^(\s*)- id:\s*['\"]?{re.escape(agent)}['\"]?\s*(#.*)?$")
    for i in range(header + 1, section_end):
        match = item.match(lines[i])
        if match:
            dash = len(match.group(1))
            return i, _block_end(lines, i, dash), dash + 2
    raise LayoutError(f"no `- id: {agent}` item under `{AGENTS_KEY}:`")


def edit(text: str, agent: str) -> str:
    lines = text.splitlines(keepends=True)
    start, end, key_indent = _find_agent(lines, agent)
    pad = " " * key_indent
    rollout = next((i for i in range(start + 1, end) if re.match(rf"^{pad}rollout:\s*(#.*)?$", lines[i])), None)
    if rollout is None:
        if any(re.match(rf"^{pad}rollout:", lines[i]) for i in range(start + 1, end)):
            raise LayoutError("`rollout:` is written in flow style")
        newline = "\n" if lines[end - 1].endswith("\n") else ""
        if not newline:
            lines[end - 1] += "\n"
        lines[end:end] = [f"{pad}rollout:\n", f"{pad}  rollback: true\n"]
        return "".join(lines)
    rollout_end = _block_end(lines, rollout, key_indent)
    children = [
        i for i in range(rollout + 1, rollout_end) if lines[i].strip() and not lines[i].lstrip().startswith("#")
    ]
    child_pad = " " * (_indent(lines[children[0]]) if children else key_indent + 2)
    existing = next((i for i in children if re.match(rf"^{child_pad}rollback:", lines[i])), None)
    if existing is not None:
        lines[existing] = re.sub(r"^(\s*rollback:\s*)[^#\n]*?(\s*(#.*)?)$", r"\g<1>true\g<2>", lines[existing])
    else:
        lines.insert(rollout + 1, f"{child_pad}rollback: true\n")
    return "".join(lines)


def expected(document: dict[str, Any], agent: str) -> dict[str, Any]:
    want = copy.deepcopy(document)
    for item in want["config"][AGENTS_KEY]:
        if item.get("id") == agent:
            rollout = item.get("rollout") or {}
            item["rollout"] = {**rollout, "rollback": True}
    return want


def rollback(path: Path, agent: str) -> bool:
    """Edit the file in place; False when it already rolled the agent back."""
    text = path.read_text()
    before = yaml.safe_load(text)
    agents = (before.get("config") or {}).get(AGENTS_KEY) or []
    match = [a for a in agents if a.get("id") == agent]
    if not match:
        raise ValueError(f"{path.name} has no agent {agent!r} (agents: {', '.join(a.get('id', '?') for a in agents)})")
    if (match[0].get("rollout") or {}).get("rollback") is True:
        return False
    changed = edit(text, agent)
    if yaml.safe_load(changed) != expected(before, agent):
        raise LayoutError("the edit would change more than rollout.rollback")
    path.write_text(changed)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--agent", required=True)
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not STACK_PATTERN.match(args.stack) or not AGENT_PATTERN.match(args.agent):
        print("error: stack and agent must be DNS labels", file=sys.stderr)
        return 2
    path = args.root / f"Pulumi.{args.stack}.yaml"
    if not path.exists():
        print(f"error: no stack file {path.name}", file=sys.stderr)
        return 2
    try:
        changed = rollback(path, args.agent)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except LayoutError as error:
        print(f"error: {path.name}: {error}; set rollout.rollback: true by hand", file=sys.stderr)
        return 3
    print(f"{path.name}: {args.agent} rollout.rollback {'set to true' if changed else 'was already true'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
