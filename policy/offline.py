"""The pack's rules over a render, without the Pulumi CLI:

    python -m policy.offline build/prod

Reads `resources.json`, hands each record to every rule the way CrossGuard would (resource rules once per
resource, stack rules once with all of them, parents and dependencies linked) and prints the violations.
Exit status 1 when a mandatory violation is not covered by `policy/exceptions.yaml`, else 0.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)

from policy import exceptions
from policy.pack import RULES, Rule


@dataclass(frozen=True)
class Violation:
    rule: str
    message: str
    urn: str | None
    excepted_by: str | None = None
    """The reason of the exception that covers it; such a violation does not fail the check."""

    @property
    def mandatory(self) -> bool:
        return self.excepted_by is None


def _options(record: dict[str, Any]) -> PolicyResourceOptions:
    options = record.get("options") or {}
    timeouts = options.get("custom_timeouts") or {}

    def seconds(key: str) -> float:
        value = str(timeouts.get(key) or "0").rstrip("s")
        return float(value) if value.replace(".", "", 1).isdigit() else 0.0

    return PolicyResourceOptions(
        protect=bool(options.get("protect")),
        ignore_changes=list(options.get("ignore_changes") or []),
        delete_before_replace=options.get("delete_before_replace"),
        aliases=list(options.get("aliases") or []),
        custom_timeouts=PolicyCustomTimeouts(seconds("create"), seconds("update"), seconds("delete")),
        additional_secret_outputs=list(options.get("additional_secret_outputs") or []),
        parent=record.get("parent"),
    )


def policy_resources(records: list[dict[str, Any]]) -> list[PolicyResource]:
    """Records as CrossGuard's stack analysis builds them: parents and dependencies are the objects."""
    resources = {
        r["urn"]: PolicyResource(r["type"], r.get("inputs") or {}, r["urn"], r["name"], _options(r), None, None, [], {})
        for r in records
    }
    for record in records:
        resource = resources[record["urn"]]
        resource.parent = resources.get(record.get("parent") or "")
        resource.dependencies = [resources[d] for d in record.get("dependencies") or [] if d in resources]
    return list(resources.values())


def run_rules(records: list[dict[str, Any]], rules: tuple[Rule, ...] = RULES) -> list[Violation]:
    resources = policy_resources(records)
    found: list[Violation] = []
    for rule in rules:

        def report(message: str, urn: str | None = None, *, rule: Rule = rule, default: str | None = None) -> None:
            target = urn or default
            covered = exceptions.find(rule.name, target)
            found.append(Violation(rule.name, message, target, covered.reason if covered else None))

        if rule.stack:
            rule.validate(StackValidationArgs(resources), report)
            continue
        for resource in resources:
            args = ResourceValidationArgs(
                resource.resource_type, resource.props, resource.urn, resource.name, resource.opts, None
            )
            rule.validate(args, functools.partial(report, default=resource.urn))
    return found


def check(render_dir: Path) -> list[Violation]:
    """Every violation of the pack in `render_dir` (a `build/<stack>` folder)."""
    records = json.loads((Path(render_dir) / "resources.json").read_text())
    return run_rules(records)


def _short(urn: str | None) -> str:
    return urn.rsplit("::", 1)[-1] if urn else "(stack)"


def format(violations: list[Violation]) -> str:
    """One block per violation, mandatory ones first, then a count line."""
    if not violations:
        return f"Policy pack: no violations ({len(RULES)} rules)."
    ordered = sorted(violations, key=lambda v: (not v.mandatory, v.rule, v.urn or ""))
    lines = []
    for v in ordered:
        level = "mandatory" if v.mandatory else "excepted"
        lines.append(f"[{level}] {v.rule}: {_short(v.urn)}")
        lines.append(f"    {v.message}")
        if v.urn:
            lines.append(f"    urn: {v.urn}")
        if v.excepted_by:
            lines.append(f"    exception: {v.excepted_by}")
    mandatory = sum(v.mandatory for v in violations)
    lines.append(f"Policy pack: {mandatory} mandatory violation(s), {len(violations) - mandatory} excepted.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m policy.offline", description=__doc__.splitlines()[0])
    parser.add_argument("render_dir", type=Path, help="a render folder, e.g. build/prod")
    args = parser.parse_args(argv)
    if not (args.render_dir / "resources.json").exists():
        print(f"error: {args.render_dir}/resources.json not found; run python -m stacks.render first", file=sys.stderr)
        return 2
    violations = check(args.render_dir)
    print(format(violations))
    return 1 if any(v.mandatory for v in violations) else 0


if __name__ == "__main__":
    sys.exit(main())
