"""Every IAM role the workflows assume trusts exactly the OIDC tokens of the jobs that assume it.

GitHub's `sub` claim (docs.github.com/en/actions/reference/security/oidc, "Example subject claims"):
`repo:<owner>/<repo>:environment:<name>` for a job that references an environment; else
`repo:<owner>/<repo>:pull_request` for the pull_request event; else `repo:<owner>/<repo>:ref:<git ref>`.
`aud` is what the requester asks for; aws-actions/configure-aws-credentials asks for its `audience` input,
default `sts.amazonaws.com` (its action.yml); GitHub's own default is the owner's URL. IAM (`StringEquals`,
docs.aws.amazon.com IAM "Condition operators" and "Creating a condition with multiple keys or values"): every
condition key must match, a key with several values matches any of them, a missing key never matches.
"""

from __future__ import annotations

from itertools import product
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT
from tests.project.test_delivery import WORKFLOWS, script

REPO = "acme/agent-platform"
ISSUER = "token.actions.githubusercontent.com"
trust = script("trust_policies")


def github_sub(repo: str, event: str, ref: str, environment: str | None) -> str:
    if environment:
        return f"repo:{repo}:environment:{environment}"
    if event == "pull_request":
        return f"repo:{repo}:pull_request"
    return f"repo:{repo}:ref:{ref}"


def iam_allows(policy: dict[str, Any], claims: dict[str, str]) -> bool:
    for statement in policy["Statement"]:
        if statement["Effect"] != "Allow" or statement["Action"] != "sts:AssumeRoleWithWebIdentity":
            continue
        if statement["Principal"] != {"Federated": f"arn:aws:iam::1:oidc-provider/{ISSUER}"}:
            continue
        assert set(statement["Condition"]) == {"StringEquals"}, "only exact matches"
        wanted = statement["Condition"]["StringEquals"]
        if all(
            key.startswith(f"{ISSUER}:") and claims.get(key.split(":", 1)[1]) in ([v] if isinstance(v, str) else v)
            for key, v in wanted.items()
        ):
            return True
    return False


def runs() -> list[tuple[str, str, str, str | None, str, str]]:
    """(workflow, job, event, environment, role, aud) for every way a job that assumes a role can run on main."""
    out = []
    for path in WORKFLOWS:
        workflow = yaml.safe_load(path.read_text())
        events = workflow.get("on", workflow.get(True))
        events = [events] if isinstance(events, str) else list(events)
        for name, job in workflow["jobs"].items():
            for step in job.get("steps") or []:
                if "configure-aws-credentials" not in step.get("uses", ""):
                    continue
                variable = step["with"]["role-to-assume"].split("vars.")[1].split()[0]
                aud = step["with"].get("audience", "sts.amazonaws.com")
                envs = trust.environments(workflow, job) or [None]
                for event, environment in product(events, envs):
                    stack = environment.removeprefix("rollback-") if environment else None
                    role = f"{variable} ({stack})" if variable == "AWS_DEPLOY_ROLE_ARN" else variable
                    out.append((path.name, name, event, environment, role, aud))
    return out


POLICIES = trust.policies(REPO, "1")


@pytest.mark.parametrize("run", runs(), ids=lambda r: f"{r[0]}:{r[1]}:{r[2]}:{r[3]}")
def test_each_job_can_assume_its_role_and_no_other(run: tuple) -> None:
    workflow, job, event, environment, role, aud = run
    claims = {"sub": github_sub(REPO, event, "refs/heads/main", environment), "aud": aud}
    assert iam_allows(POLICIES[role], claims), f"{workflow}:{job} cannot assume {role}"
    same_subject = {r[4] for r in runs() if github_sub(REPO, r[2], "refs/heads/main", r[3]) == claims["sub"]}
    for other, policy in POLICIES.items():
        if other not in same_subject:
            assert not iam_allows(policy, claims), f"{workflow}:{job} can assume {other} too"


@pytest.mark.parametrize("role", sorted(POLICIES))
def test_no_role_trusts_another_repository_branch_environment_or_audience(role: str) -> None:
    policy = POLICIES[role]
    strangers = [
        {"sub": f"repo:acme/other:{s.split(':', 2)[2]}", "aud": "sts.amazonaws.com"}
        for s in policy["Statement"][0]["Condition"]["StringEquals"][f"{ISSUER}:sub"]
    ]
    strangers += [
        {"sub": github_sub(REPO, "workflow_dispatch", "refs/heads/feature", None), "aud": "sts.amazonaws.com"},
        {"sub": github_sub(REPO, "push", "refs/tags/v1", None), "aud": "sts.amazonaws.com"},
        {"sub": github_sub(REPO, "push", "refs/heads/main", "preview"), "aud": "sts.amazonaws.com"},
    ]
    for sub in policy["Statement"][0]["Condition"]["StringEquals"][f"{ISSUER}:sub"]:
        strangers.append({"sub": sub, "aud": "https://github.com/acme"})  # GitHub's default audience
        strangers.append({"sub": sub + "*", "aud": "sts.amazonaws.com"})
    for claims in strangers:
        assert not iam_allows(policy, claims), claims


def test_deploy_roles_are_one_per_stack_and_never_trust_pull_requests() -> None:
    deploy = {r: p for r, p in POLICIES.items() if r.startswith("AWS_DEPLOY_ROLE_ARN")}
    assert set(deploy) == {f"AWS_DEPLOY_ROLE_ARN ({s})" for s in ("dev", "staging", "prod")}
    for policy in deploy.values():
        assert not iam_allows(policy, {"sub": f"repo:{REPO}:pull_request", "aud": "sts.amazonaws.com"})
    staging = {"sub": f"repo:{REPO}:environment:staging", "aud": "sts.amazonaws.com"}
    assert not iam_allows(deploy["AWS_DEPLOY_ROLE_ARN (prod)"], staging)


def test_the_documented_trust_policies_are_the_generated_ones() -> None:
    """Regenerate with: python .github/scripts/trust_policies.py --write docs/ci-setup.md"""
    text = (ROOT / "docs/ci-setup.md").read_text()
    start, end = text.index(trust.BEGIN), text.index(trust.END) + len(trust.END)
    assert text[start:end] == trust.section()
