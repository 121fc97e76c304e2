"""The pull request's one comment: per stack, the policy check and what changes against the base branch.

    python .github/scripts/render_report.py HEAD_BUILD BASE_BUILD [--gates FILE] > comment.md

The first line is the marker `upsert_comment.sh` finds the comment by. GitHub caps a comment at 65,536
characters, so each stack's diff is cut to its share and says so.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from policy.offline import check, format
from stacks.diff import diff_resources, format_diff
from stacks.render import load_resources

MARKER = "<!-- agent-platform:render-report -->"
LIMIT = 60_000
STACKS = ("dev", "staging", "prod")


def fenced(text: str, budget: int) -> str:
    if len(text) > budget:
        text = text[:budget] + "\n… cut to fit the comment; run the render locally for the rest"
    return f"```diff\n{text}\n```"


def stack_section(stack: str, head: Path, base: Path, budget: int) -> str:
    if not (head / stack / "resources.json").exists():
        return f"### `{stack}`\n\n:x: the render failed; see the job log."
    violations = check(head / stack)
    mandatory = sum(v.mandatory for v in violations)
    policy = ":white_check_mark: policy pack passes" if not mandatory else f":x: {mandatory} policy violation(s)"
    lines = [f"### `{stack}`", "", policy]
    if violations:
        lines += [
            "",
            "<details><summary>Policy report</summary>",
            "",
            fenced(format(violations), budget // 4),
            "</details>",
        ]
    if not (base / stack / "resources.json").exists():
        lines += ["", "No render of the base branch to compare with (new stack, or the base did not render)."]
    else:
        diff = diff_resources(load_resources(base / stack), load_resources(head / stack))
        if diff.empty:
            lines += ["", "No resource changes."]
        else:
            summary = f"+{len(diff.added)} / -{len(diff.removed)} / ~{len(diff.changed)} resources"
            lines += [
                "",
                f"<details><summary>Changes: {summary}</summary>",
                "",
                fenced(format_diff(diff), budget),
                "</details>",
            ]
    return "\n".join(lines)


def report(head: Path, base: Path, gates: str | None) -> str:
    budget = LIMIT // (len(STACKS) + (1 if gates else 0))
    parts = [MARKER, "## Render against the base branch", ""]
    parts += [stack_section(stack, head, base, budget) + "\n" for stack in STACKS]
    if gates:
        parts += ["## Promotion gates (read-only)", "", gates[:budget]]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("head", type=Path)
    parser.add_argument("base", type=Path)
    parser.add_argument("--gates", type=Path, help="markdown from `python -m gates.cli ... --markdown`")
    args = parser.parse_args(argv)
    gates = args.gates.read_text().strip() if args.gates and args.gates.exists() else None
    print(report(args.head, args.base, gates or None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
