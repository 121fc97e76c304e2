"""What a change does to rollouts, from two versions of the stack files:

    python .github/scripts/canary_changes.py stacks BASE_REF          # stacks whose canary stage changes
    python .github/scripts/canary_changes.py agents BASE_REF STACK    # agents whose settings change

BASE_REF is a git revision (the pull request's base, or the push's previous commit); the current checkout
is the other side. A stack file missing at BASE_REF counts as empty.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

from settings import stack_file

ROOT = Path(__file__).resolve().parents[2]
ROLLOUT_FIELDS = ("stage", "canary", "rollback", "strategy")


def agents_at(text: str | None) -> dict[str, dict[str, Any]]:
    config = stack_file.document(text)
    return {a["id"]: a for a in config.get("agent-platform:agents") or [] if isinstance(a, dict) and "id" in a}


def file_at(ref: str, path: str) -> str | None:
    result = subprocess.run(["git", "show", f"{ref}:{path}"], cwd=ROOT, capture_output=True, text=True)
    return result.stdout if result.returncode == 0 else None


def rollout_of(agent: dict[str, Any] | None) -> dict[str, Any]:
    rollout = (agent or {}).get("rollout") or {}
    return {field: rollout.get(field) for field in ROLLOUT_FIELDS}


def canary_changed(base: str | None, head: str | None) -> list[str]:
    """Agents whose rollout stage, canary track, rollback flag or strategy differ."""
    old, new = agents_at(base), agents_at(head)
    return sorted(a for a in old.keys() | new.keys() if rollout_of(old.get(a)) != rollout_of(new.get(a)))


def settings_changed(base: str | None, head: str | None) -> list[str]:
    """Agents present now whose settings differ from the base (new agents included)."""
    old, new = agents_at(base), agents_at(head)
    return sorted(a for a in new if old.get(a) != new[a])


def stacks() -> list[str]:
    return stack_file.stacks(ROOT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["stacks", "agents"])
    parser.add_argument("base_ref")
    parser.add_argument("stack", nargs="?")
    args = parser.parse_args(argv)
    if args.what == "stacks":
        changed = [s for s in stacks() if canary_changed(file_at(args.base_ref, f"Pulumi.{s}.yaml"), _head(s))]
    else:
        if args.stack not in stacks():
            parser.error(f"unknown stack {args.stack!r}")
        changed = settings_changed(file_at(args.base_ref, f"Pulumi.{args.stack}.yaml"), _head(args.stack))
    print(" ".join(changed))
    return 0


def _head(stack: str) -> str:
    return (ROOT / f"Pulumi.{stack}.yaml").read_text()


if __name__ == "__main__":
    sys.exit(main())
