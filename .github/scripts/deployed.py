"""Check out the commit a stack runs, with the rollbacks it runs plus one more, for the rollback's `up`:

    pulumi stack history --json --stack <org>/<stack> > history.json
    python .github/scripts/deployed.py history.json --stack prod --agent support-bot --main origin/main

A rollback must deploy nothing that has not gone out already: `main` can hold changes merged but still
waiting for the `prod` environment's reviewers, or that failed staging's smoke checks. So the rollback runs
on the commit of the stack's last update (the CLI records it as `git.head` in every update's environment)
with `rollout.rollback: true` for the agent and for every agent that update already ran rolled back (the
update's `config`), and nothing else. Prints `commit=<sha>` for $GITHUB_OUTPUT.

`--keeps-rollbacks` (for a deploy, on its own checkout): exit 4 when the stack runs an agent rolled back
and the stack file has no `rollout.rollback` for it, which would restore the canary unasked.

Exit 0 when checked out, 2 when the commit cannot be known or is not on main (then set the canary weight
to 0 by hand, docs/releasing.md "break-glass"), 75 when an update is in progress (wait and run again).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import rollback  # the targeted edit of the stack file, beside this script
import yaml

BUSY = 75  # EX_TEMPFAIL
# Keys of an update's environment, pkg/backend/updates.go (backend.GitHead, backend.GitDirty).
GIT_HEAD = "git.head"
GIT_DIRTY = "git.dirty"
# Messages the rollback's own updates carry: they run on a recorded commit with flags set in the working copy.
ROLLBACK_MESSAGE = "rollback "


class UnknownError(Exception):
    """What the stack runs cannot be reproduced from its history."""


class BusyError(Exception):
    """An update of the stack is in progress."""


@dataclass(frozen=True)
class Deployed:
    commit: str
    rolled_back: tuple[str, ...]


def last_update(history: list[dict[str, Any]]) -> dict[str, Any]:
    """The newest `update` (previews and refreshes change nothing; a failed update ran approved code too).

    `pulumi stack history --json` prints updateInfoJSON objects (pkg/cmd/pulumi/stack/stack_history.go):
    `version`, `kind`, `message`, `environment`, `config`, `result` ("in-progress", "succeeded", "failed")."""
    updates = [u for u in history if u.get("kind") == "update"]
    if not updates:
        raise UnknownError("the stack has no update in its history")
    newest = max(updates, key=lambda u: int(u.get("version") or 0))
    if newest.get("result") == "in-progress":
        raise BusyError(f"update {newest.get('version')} is in progress")
    return newest


def rolled_back(update: dict[str, Any]) -> tuple[str, ...]:
    """Agents the update ran with `rollout.rollback: true` (object config values arrive as `objectValue`)."""
    agents = ((update.get("config") or {}).get(rollback.AGENTS_KEY) or {}).get("objectValue") or []
    return tuple(
        sorted(
            a["id"]
            for a in agents
            if isinstance(a, dict) and isinstance(a.get("rollout"), dict) and a["rollout"].get("rollback") is True
        )
    )


def deployed(history: list[dict[str, Any]]) -> Deployed:
    update = last_update(history)
    environment = update.get("environment") or {}
    commit = environment.get(GIT_HEAD, "").strip()
    if not commit:
        raise UnknownError(f"update {update.get('version')} recorded no commit ({GIT_HEAD})")
    if environment.get(GIT_DIRTY) == "true" and not str(update.get("message", "")).startswith(ROLLBACK_MESSAGE):
        raise UnknownError(f"update {update.get('version')} ran {commit[:12]} with uncommitted changes")
    return Deployed(commit, rolled_back(update))


def unrecorded(history: list[dict[str, Any]], stack_text: str) -> list[str]:
    """Agents the stack runs rolled back (or a rollback running now is rolling back) whose entry in this
    stack file has no `rollout.rollback` at all: neither kept (`true`) nor lifted (`false`). Deploying it
    would put the canary back without anyone having decided so (the rollback could not record its flag)."""
    updates = [u for u in history if u.get("kind") == "update"]
    if not updates:
        return []
    running = rolled_back(max(updates, key=lambda u: int(u.get("version") or 0)))
    agents = (yaml.safe_load(stack_text).get("config") or {}).get(rollback.AGENTS_KEY) or []
    by_id = {a.get("id"): a for a in agents if isinstance(a, dict)}
    return [a for a in running if a in by_id and "rollback" not in (by_id[a].get("rollout") or {})]


def git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)


def check_out(repo: Path, stack: str, agent: str, target: Deployed, main: str) -> list[str]:
    """Detach at the deployed commit (only one on `main`) and set the flags; the agents flagged."""
    if git(repo, "merge-base", "--is-ancestor", target.commit, main).returncode != 0:
        raise UnknownError(f"the stack runs {target.commit[:12]}, which is not on {main}")
    result = git(repo, "checkout", "--force", "--detach", target.commit)
    if result.returncode != 0:
        raise UnknownError(f"cannot check out {target.commit[:12]}: {result.stderr.strip()}")
    path = repo / f"Pulumi.{stack}.yaml"
    flagged = sorted({*target.rolled_back, agent})
    for each in flagged:
        rollback.rollback(path, each)
    return flagged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("history", type=Path, help="`pulumi stack history --json` output")
    parser.add_argument("--stack", required=True)
    parser.add_argument("--agent", default="")
    parser.add_argument("--main", default="origin/main", help="the branch the commit must be on")
    parser.add_argument("--repo", type=Path, default=Path.cwd())
    parser.add_argument(
        "--keeps-rollbacks",
        action="store_true",
        help="for a deploy: exit 4 when the checked-out stack file drops a rollback the stack runs",
    )
    args = parser.parse_args(argv)
    if not rollback.STACK_PATTERN.match(args.stack):
        print("error: the stack must be a DNS label", file=sys.stderr)
        return 2
    if args.keeps_rollbacks:
        path = args.repo / f"Pulumi.{args.stack}.yaml"
        dropped = unrecorded(json.loads(args.history.read_text()), path.read_text())
        if dropped:
            print(
                f"error: {args.stack} runs {', '.join(dropped)} rolled back, and {path.name} says nothing of "
                f"it: set rollout.rollback to true (keep) or false (lift) for each before deploying",
                file=sys.stderr,
            )
            return 4
        return 0
    if not rollback.AGENT_PATTERN.match(args.agent):
        print("error: the agent must be a DNS label", file=sys.stderr)
        return 2
    try:
        target = deployed(json.loads(args.history.read_text()))
        flagged = check_out(args.repo, args.stack, args.agent, target, args.main)
    except BusyError as error:
        print(f"{args.stack}: {error}; run again when it ends", file=sys.stderr)
        return BUSY
    except (UnknownError, ValueError, rollback.LayoutError) as error:
        print(
            f"error: {args.stack}: {error}; set the canary weight to 0 by hand "
            f"(docs/releasing.md, break-glass) and run the rollback again once it can tell",
            file=sys.stderr,
        )
        return 2
    print(f"{args.stack} runs {target.commit[:12]}; rollback true for {', '.join(flagged)}", file=sys.stderr)
    print(f"commit={target.commit}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
