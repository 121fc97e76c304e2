"""The IAM trust policy of every role the workflows assume, from the workflows themselves:

    python .github/scripts/trust_policies.py --repo acme/agent-platform --account 111111111111
    python .github/scripts/trust_policies.py --write docs/ci-setup.md     # the generated section, placeholders

Each role trusts GitHub's OIDC provider only for the `sub` claims of the jobs that assume it and only for the
audience `sts.amazonaws.com` (aws-actions/configure-aws-credentials asks for that audience by default).
GitHub builds `sub` from the job (docs.github.com/en/actions/reference/security/oidc, "Example subject
claims"): `repo:<owner>/<repo>:environment:<name>` when the job names an environment, whatever the event;
otherwise `repo:<owner>/<repo>:pull_request` for pull_request events and `repo:<owner>/<repo>:ref:<ref>`
for the others. Branch-triggered and scheduled runs of this repository run on `main`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
ISSUER = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
MAIN = "refs/heads/main"
BEGIN = "<!-- trust-policies:begin (generated: python .github/scripts/trust_policies.py --write docs/ci-setup.md) -->"
END = "<!-- trust-policies:end -->"
ROLE_VARIABLE = re.compile(r"^\$\{\{ vars\.(\w+) \}\}$")
EXPRESSION = re.compile(r"\$\{\{[^}]*\}\}")


@dataclass(frozen=True)
class Assumption:
    """A job that assumes a role: where it runs and the subject GitHub gives its token."""

    workflow: str
    job: str
    role: str  # the repository or environment variable that holds the role ARN, with its stack when per environment
    subject: str  # without the `repo:<owner>/<repo>:` prefix


def _events(workflow: dict[str, Any]) -> dict[str, Any]:
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` key as True
    return {on: None} if isinstance(on, str) else dict(on or {})


def _choices(workflow: dict[str, Any]) -> list[str]:
    """The values of the dispatch input `stack` (what `${{ needs.validate.outputs.stack }}` can be)."""
    inputs = (_events(workflow).get("workflow_dispatch") or {}).get("inputs") or {}
    return list((inputs.get("stack") or {}).get("options") or [])


def environments(workflow: dict[str, Any], job: dict[str, Any]) -> list[str]:
    environment = job.get("environment")
    if isinstance(environment, dict):
        environment = environment.get("name")
    if not environment:
        return []
    if EXPRESSION.search(environment):
        return [EXPRESSION.sub(choice, environment) for choice in _choices(workflow)]
    return [environment]


def subjects(workflow: dict[str, Any], job: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(subject, environment) for every way the job runs."""
    names = environments(workflow, job)
    if names:
        return [(f"environment:{name}", name) for name in names]
    out: list[tuple[str, str | None]] = []
    for event in _events(workflow):
        out.append(("pull_request" if event == "pull_request" else f"ref:{MAIN}", None))
    return sorted(set(out), key=str)


def _stack_of(environment: str | None) -> str | None:
    return environment.removeprefix("rollback-") if environment else None


def assumptions(workflows: Path = WORKFLOWS) -> list[Assumption]:
    out = []
    for path in sorted(workflows.glob("*.yml")):
        workflow = yaml.safe_load(path.read_text())
        for name, job in workflow["jobs"].items():
            for step in job.get("steps") or []:
                if not step.get("uses", "").startswith("aws-actions/configure-aws-credentials@"):
                    continue
                match = ROLE_VARIABLE.match(str(step["with"]["role-to-assume"]))
                if not match:
                    raise ValueError(f"{path.name}:{name}: role-to-assume is not a ${{{{ vars.NAME }}}}")
                for subject, environment in subjects(workflow, job):
                    # A per-environment variable is a role per stack (docs/delivery.md, repository setup).
                    per_stack = match[1] == "AWS_DEPLOY_ROLE_ARN"
                    role = f"{match[1]} ({_stack_of(environment)})" if per_stack else match[1]
                    out.append(Assumption(path.name, name, role, subject))
    return out


def policies(repo: str, account: str, workflows: Path = WORKFLOWS) -> dict[str, dict[str, Any]]:
    by_role: dict[str, set[str]] = defaultdict(set)
    for each in assumptions(workflows):
        by_role[each.role].add(f"repo:{repo}:{each.subject}")
    return {
        role: {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": f"arn:aws:iam::{account}:oidc-provider/{ISSUER}"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {f"{ISSUER}:aud": AUDIENCE, f"{ISSUER}:sub": sorted(subs)},
                    },
                }
            ],
        }
        for role, subs in sorted(by_role.items())
    }


def section(repo: str = "<owner>/<repo>", account: str = "<account-id>") -> str:
    used = defaultdict(list)
    for each in assumptions():
        used[each.role].append(f"`{each.workflow}` `{each.job}`")
    lines = [BEGIN]
    for role, policy in policies(repo, account).items():
        lines += ["", f"**{role}**, assumed by {', '.join(sorted(set(used[role])))}:", "", "```json"]
        lines += [json.dumps(policy, indent=2), "```"]
    return "\n".join([*lines, END])


def write(path: Path) -> None:
    text = path.read_text()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    path.write_text(text[:start] + section() + text[end:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", default="<owner>/<repo>")
    parser.add_argument("--account", default="<account-id>")
    parser.add_argument("--write", type=Path, help="replace the generated section of this file")
    args = parser.parse_args(argv)
    if args.write:
        write(args.write)
        return 0
    print(json.dumps(policies(args.repo, args.account), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
